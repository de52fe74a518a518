"""GradCAM through pytorch-grad-cam: heat maps of where a layer looked, overlays, and a gallery of mistakes.

The target layer's output must be at least 5x5 px (ResNet18's layer4 is 4x4 on 32x32 images: too coarse to say
anything); `cam_layers` lists the convolutions that qualify. pytorch-grad-cam (the `grad-cam` package, in the
`assignments` extra) is imported only when a heat map is computed.
"""

from collections.abc import Sequence

import matplotlib
import numpy as np
import torch
import torch.nn as nn
from matplotlib.figure import Figure

from s5utils.study.mistakes import Predictions, display_images, mistake_title
from s5utils.study.summary import forward_with_hooks

MIN_PX = 5


def _resolve(model: nn.Module, layer: nn.Module | str) -> tuple[str, nn.Module]:
    """(dotted name, module) of a layer given as a module of model or as its dotted name."""
    if isinstance(layer, str):
        try:
            return layer, model.get_submodule(layer)
        except AttributeError:
            message = f"model has no layer {layer!r}; cam_layers(model, input_shape) lists the choices"
            raise ValueError(message) from None
    for name, module in model.named_modules():
        if module is layer:
            return name, module
    raise ValueError(f"target layer {type(layer).__name__} is not a module of model; pass one of its layers or names")


@torch.no_grad()
def _output_sizes(model: nn.Module, modules: dict[str, nn.Module], input_shape: Sequence[int]) -> dict[str, tuple]:
    """The (H, W) each named module outputs on one zero batch of input_shape (C, H, W); first call wins."""
    sizes: dict[str, tuple] = {}

    def hook_for(name):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            if name not in sizes and isinstance(out, torch.Tensor) and out.ndim == 4:
                sizes[name] = (int(out.shape[2]), int(out.shape[3]))

        return hook

    forward_with_hooks(model, {m: hook_for(name) for name, m in modules.items()}, input_shape)
    return sizes


def cam_layers(model: nn.Module, input_shape: Sequence[int], min_px: int = MIN_PX) -> list[tuple[str, tuple[int, int]]]:
    """(name, (H, W)) of every Conv2d whose output is at least min_px on both sides, in forward order."""
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    sizes = _output_sizes(model, convs, input_shape)
    return [(name, size) for name, size in sizes.items() if min(size) >= min_px]


def check_target_layer(model: nn.Module, layer: nn.Module | str, input_shape: Sequence[int]) -> str:
    """The layer's dotted name; ValueError in one line if its output is under 5x5 px on input_shape (C, H, W)."""
    name, module = _resolve(model, layer)
    size = _output_sizes(model, {name: module}, input_shape).get(name)
    if size is None:
        raise ValueError(f"layer {name!r} gives no (N, C, H, W) output on {tuple(input_shape)}; pick a conv layer")
    if min(size) < MIN_PX:
        good = cam_layers(model, input_shape)
        hint = f", e.g. {good[-1][0]!r} ({good[-1][1][0]}x{good[-1][1][1]})" if good else ""
        raise ValueError(
            f"GradCAM layer {name!r} outputs {size[0]}x{size[1]} px on {tuple(input_shape)} input, under "
            f"{MIN_PX}x{MIN_PX}: too coarse; choose a layer of at least {MIN_PX}x{MIN_PX}{hint}"
        )
    return name


def _grad_cam_class():
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError:
        raise ImportError(
            "GradCAM needs pytorch-grad-cam: pip install 'grad-cam>=1.5' (or s5utils[assignments])"
        ) from None
    return GradCAM, ClassifierOutputTarget


def gradcam_heatmaps(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: nn.Module | str,
    targets: Sequence[int] | torch.Tensor | None = None,
) -> np.ndarray:
    """GradCAM heat maps (N, H, W) in [0, 1] of images (N, C, H, W) at target_layer, for class targets (else the
    predicted class)."""
    if images.ndim == 3:
        images = images.unsqueeze(0)
    name = check_target_layer(model, target_layer, tuple(images.shape[1:]))
    layer = model.get_submodule(name)
    grad_cam, classifier_target = _grad_cam_class()
    device = next(model.parameters()).device
    had_grad = {p: p.grad for p in model.parameters()}
    was_training = model.training
    cam_targets = None if targets is None else [classifier_target(int(t)) for t in targets]
    try:
        with torch.enable_grad(), grad_cam(model=model, target_layers=[layer]) as cam:
            maps = cam(input_tensor=images.to(device).float(), targets=cam_targets)
    finally:
        model.train(was_training)
        for p, grad in had_grad.items():  # GradCAM's backward pass must not leave gradients behind
            p.grad = grad
    return np.clip(np.asarray(maps, dtype=np.float32), 0.0, 1.0)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.4) -> np.ndarray:
    """The heat map (H, W, [0, 1]) in the jet colours over image (H, W or H, W, 3 in [0, 1]): H x W x 3 in [0, 1]."""
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must lie in [0, 1], got {opacity}")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[:2] != heatmap.shape:
        raise ValueError(f"heat map {heatmap.shape} and image {image.shape[:2]} must have the same height and width")
    colours = matplotlib.colormaps["jet"](np.clip(heatmap, 0, 1))[..., :3].astype(np.float32)
    return np.clip((1 - opacity) * image + opacity * colours, 0.0, 1.0)


def gradcam_gallery(
    model: nn.Module,
    preds: Predictions,
    target_layer: nn.Module | str,
    n: int = 10,
    cols: int = 5,
    class_names: Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    opacity: float = 0.4,
) -> Figure:
    """The first n images of preds (pass preds.wrong() for the mistakes) with GradCAM of the predicted class over
    each, titled true / predicted."""
    n = min(n, len(preds))
    if n == 0:
        raise ValueError("preds holds no images; nothing to show (did the model make no mistakes?)")
    images = preds.images[:n]
    maps = gradcam_heatmaps(model, images, target_layer, targets=preds.predicted[:n])
    shown = display_images(images, mean, std)
    grey = shown.ndim == 3
    rows = -(-n // cols)
    fig = Figure(figsize=(1.8 * cols, 2.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        # MNIST-style images are shown dark on light (gray_r) elsewhere; the overlay inverts them the same way.
        base = 1 - shown[i] if grey else shown[i]
        ax.imshow(overlay_heatmap(base, maps[i], opacity))
        ax.set_title(mistake_title(preds, i, class_names), fontsize=9)
    fig.suptitle(f"GradCAM at {_resolve(model, target_layer)[0]}", fontsize=10)
    fig.tight_layout()
    return fig
