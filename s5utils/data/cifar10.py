"""CIFAR-10 from its published `cifar-10-batches-py` files, read by torchvision, and denormalize for display.

The folder is ROOT/cifar-10-batches-py with data_batch_1..5, test_batch and batches.meta (pickled, as
https://www.cs.toronto.edu/~kriz/cifar.html publishes them); torchvision checks each file's md5.
"""

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets, transforms

from s5utils.data.mnist import default_data_root
from s5utils.data.provision import DataError

FOLDER = datasets.CIFAR10.base_folder  # "cifar-10-batches-py"


class _CIFAR10(datasets.CIFAR10):
    """torchvision's CIFAR10; with verify=False a file only has to exist (a generated or re-packed copy)."""

    def __init__(self, root, *, verify: bool, **kwargs) -> None:
        if not verify:
            self.train_list = [[name, None] for name, _ in datasets.CIFAR10.train_list]
            self.test_list = [[name, None] for name, _ in datasets.CIFAR10.test_list]
            self.meta = {**datasets.CIFAR10.meta, "md5": None}
        super().__init__(root, **kwargs)


def _uint8_stats(data: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of (N, H, W, C) uint8 pixels scaled to [0, 1], in chunks (50,000 images as float64
    at once would take 1.2 GB)."""
    total = np.zeros(data.shape[-1])
    squares = np.zeros(data.shape[-1])
    for start in range(0, len(data), 5000):
        chunk = data[start : start + 5000].astype(np.float64) / 255
        total += chunk.sum(axis=(0, 1, 2))
        squares += (chunk**2).sum(axis=(0, 1, 2))
    n = data.shape[0] * data.shape[1] * data.shape[2]
    mean = total / n
    std = np.sqrt((squares - n * mean**2) / (n - 1))
    return tuple(mean.tolist()), tuple(std.tolist())


def cifar10_datasets(
    root: str | os.PathLike | None = None,
    *,
    train_transform: Callable | None = None,
    test_transform: Callable | None = None,
    download: bool = True,
    verify: bool = True,
) -> tuple[datasets.CIFAR10, datasets.CIFAR10]:
    """(train, test) CIFAR-10 from root/cifar-10-batches-py, md5-checked unless verify=False; each has .classes and
    the training set's .mean and .std (computed), which the default transform (ToTensor, Normalize) uses."""
    root = Path(root).expanduser() if root is not None else default_data_root()
    folder = root / FOLDER
    try:
        train = _CIFAR10(root, verify=verify, train=True, download=download)
        test = _CIFAR10(root, verify=verify, train=False, download=False)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fix = "connect to the internet and pass download=True, or copy the published cifar-10-batches-py there"
        if verify:
            fix += " (verify=False skips the md5 check for a copy of your own)"
        raise DataError(f"CIFAR-10 is missing or corrupt in {folder} ({reason}); {fix}") from None
    mean, std = _uint8_stats(train.data)
    normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    for dataset, given in ((train, train_transform), (test, test_transform)):
        dataset.mean, dataset.std = mean, std
        dataset.transform = given if given is not None else normalize
    return train, test


def denormalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo Normalize(mean, std) on (C, H, W) or (N, C, H, W) images, clipped to [0, 1] for display."""
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (C, H, W) or (N, C, H, W), got {tuple(images.shape)}")
    channels = images.shape[-3]
    if len(mean) != channels or len(std) != channels:
        raise ValueError(f"mean and std need one value per channel ({channels}), got {len(mean)} and {len(std)}")
    shape = (-1, 1, 1)
    mean_t = torch.tensor(mean, dtype=images.dtype, device=images.device).view(shape)
    std_t = torch.tensor(std, dtype=images.dtype, device=images.device).view(shape)
    return (images * std_t + mean_t).clamp(0, 1)
