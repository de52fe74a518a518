"""What the app asks of a loaded run: class probabilities for one digit, the top k of them, and a GradCAM overlay."""

import numpy as np
import torch

from s5utils.app.loading import LoadedRun
from s5utils.app.preprocess import to_tensor
from s5utils.study.gradcam import gradcam_heatmaps, overlay_heatmap
from s5utils.training.loop import autocast_to, batch_to_device

CLASSES = [str(d) for d in range(10)]


@torch.no_grad()
def probabilities(run: LoadedRun, digit: np.ndarray) -> np.ndarray:
    """The model's class probabilities for a 28x28 MNIST-like digit, in the run's precision (as s5utils.predict)."""
    x = batch_to_device(to_tensor(digit, run.mean, run.std), run.device, run.channels_last)
    with autocast_to(run.device, run.amp_dtype):
        output = run.model(x)
    # softmax of log_softmax is the same probabilities, so logits (CompactNet) and log-probs (Net) both work
    return output.float().softmax(dim=1)[0].cpu().numpy()


def top_k(probs: np.ndarray, k: int) -> dict[str, float]:
    """The k most probable classes as {"7": 0.98, ...}, most probable first (what gr.Label shows)."""
    order = np.argsort(-probs, kind="stable")[: max(1, min(int(k), len(probs)))]
    return {CLASSES[i]: float(probs[i]) for i in order}


def enlarge(image: np.ndarray, factor: int = 8) -> np.ndarray:
    """A small image blown up by whole pixels (nearest neighbour), so 28x28 shows as crisp squares."""
    return np.kron(image, np.ones((factor, factor) + (1,) * (image.ndim - 2), dtype=image.dtype))


def gradcam_overlay(run: LoadedRun, digit: np.ndarray, layer: str, opacity: float, target: int | None = None):
    """The digit (28x28, [0, 1], shown dark on white) with the GradCAM heat map of `layer` for `target` (default:
    the top class) laid over it at `opacity`, as an H x W x 3 uint8 image."""
    x = to_tensor(digit, run.mean, run.std).to(run.device)
    heat = gradcam_heatmaps(run.model, x, layer, None if target is None else [target])[0]
    picture = overlay_heatmap(1.0 - digit, heat, float(opacity))  # dark ink on white, as it was drawn
    return (np.clip(picture, 0, 1) * 255).astype(np.uint8)
