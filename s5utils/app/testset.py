"""The test-set pictures the app shows: one example digit per class and the run's misclassified test images, taken
from the MNIST test set, or from the files an exported Space carries (examples/*.png, mistakes.npz)."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from s5utils.app.loading import LoadedRun
from s5utils.data.mnist import default_data_root
from s5utils.data.provision import DataError, verify_mnist
from s5utils.study.mistakes import predict

EXAMPLES_DIR, MISTAKES_FILE = "examples", "mistakes.npz"
KEPT = 100  # the most confident mistakes an exported Space carries


@dataclass
class Mistakes:
    """Misclassified test images (uint8, N x 28 x 28), most confident first, out of `total` test images."""

    images: np.ndarray
    targets: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    total: int

    def captions(self) -> list[str]:
        return [
            f"true {t} / predicted {p} ({100 * c:.0f}%)"
            for t, p, c in zip(self.targets, self.predicted, self.confidence, strict=True)
        ]


def mnist_test_digits(data_root: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The MNIST test set as (uint8 images N x 28 x 28, labels), or None where it is not on this machine."""
    from torchvision import datasets

    root = Path(data_root).expanduser() if data_root else default_data_root()
    try:
        verify_mnist(root)  # never a download here: an app starts from what the run trained on
    except DataError:
        return None
    split = datasets.MNIST(root, train=False, download=False)
    return split.data.numpy(), split.targets.numpy()


def write_examples(images: np.ndarray, labels: np.ndarray, folder: str | os.PathLike) -> list[Path]:
    """The first test image of each class as folder/digit-<class>.png; returns their paths, class 0 first."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for digit in range(10):
        index = int(np.flatnonzero(labels == digit)[0])
        paths.append(folder / f"digit-{digit}.png")
        Image.fromarray(images[index]).save(paths[-1])
    return paths


def find_mistakes(run: LoadedRun, images: np.ndarray, labels: np.ndarray) -> Mistakes:
    """The run's misclassified images among (images, labels), predicted as s5utils.predict does in the run's
    precision."""
    x = (torch.from_numpy(images).float().div(255).unsqueeze(1) - run.mean) / run.std
    loader = DataLoader(TensorDataset(x, torch.from_numpy(labels).long()), batch_size=1000)
    wrong = predict(run.model, loader, run.device, amp_dtype=run.amp_dtype, channels_last=run.channels_last).wrong()
    pixels = (wrong.images[:, 0] * run.std + run.mean).mul(255).round().clamp(0, 255).byte().numpy()
    return Mistakes(pixels, wrong.targets.numpy(), wrong.predicted.numpy(), wrong.confidence.numpy(), len(labels))


def save_mistakes(mistakes: Mistakes, path: str | os.PathLike, keep: int = KEPT) -> Path:
    """The `keep` most confident mistakes and the total, as an .npz an exported Space reads."""
    np.savez_compressed(
        path,
        images=mistakes.images[:keep],
        targets=mistakes.targets[:keep],
        predicted=mistakes.predicted[:keep],
        confidence=mistakes.confidence[:keep],
        total=mistakes.total,
        count=len(mistakes.targets),
    )
    return Path(path)


def load_mistakes(path: str | os.PathLike) -> tuple[Mistakes, int]:
    """(the mistakes an .npz holds, how many the run made in all)."""
    with np.load(path) as saved:
        kept = Mistakes(saved["images"], saved["targets"], saved["predicted"], saved["confidence"], int(saved["total"]))
        return kept, int(saved["count"])
