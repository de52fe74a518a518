"""Data sets beyond MNIST: torchvision's MNIST-like sets and a user's own tensors, normalized with
statistics computed from their own training images (the seed's 0.1307/0.3081 fit MNIST only).
"""

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset
from torchvision import datasets, transforms

from s5utils.data.mnist import default_data_root, mnist_datasets
from s5utils.data.provision import DataError
from s5utils.data.system_datasets import place_system_copy

MNIST_LIKE = {
    "mnist": datasets.MNIST,
    "fashionmnist": datasets.FashionMNIST,
    "kmnist": datasets.KMNIST,
    "emnist": datasets.EMNIST,
}


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of (N, H, W) or (N, C, H, W) images; uint8 pixels are scaled to [0, 1]."""
    x = _as_nchw(images, "images")
    x = x.to(torch.float64)
    if images.dtype == torch.uint8:
        x = x / 255
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3))
    return tuple(mean.tolist()), tuple(std.tolist())


def _as_nchw(images: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(images).__name__}; convert with torch.as_tensor")
    if images.ndim == 3:
        return images.unsqueeze(1)
    if images.ndim == 4:
        return images
    raise ValueError(f"{what} must have shape (N, H, W) or (N, C, H, W), got {tuple(images.shape)}")


def _normalized(images: torch.Tensor, mean, std) -> torch.Tensor:
    x = _as_nchw(images, "images").to(torch.float32)
    if images.dtype == torch.uint8:
        x = x / 255
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x - mean_t) / std_t


def tensor_datasets(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
) -> tuple[TensorDataset, TensorDataset]:
    """(train, test) TensorDatasets from your own images and labels, both normalized with the train set's stats."""
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if not isinstance(y, torch.Tensor) or y.ndim != 1:
            raise ValueError(f"y_{split} must be a 1-D tensor of class indices, one per image")
        if len(x) != len(y):
            raise ValueError(f"x_{split} has {len(x)} images but y_{split} has {len(y)} labels; they must match")
        if y.is_floating_point():
            raise ValueError(f"y_{split} must hold integer class indices, got {y.dtype}; use y.long()")
    mean, std = channel_stats(x_train)
    if min(std) == 0:
        raise ValueError("x_train has a channel with zero variance; cannot normalize constant images")
    train = TensorDataset(_normalized(x_train, mean, std), y_train.long())
    test = TensorDataset(_normalized(x_test, mean, std), y_test.long())
    return train, test


def mnist_like_datasets(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = True,
    split: str = "balanced",
    train_augment: list | None = None,
) -> tuple[Dataset, Dataset]:
    """(train, test) of MNIST, FashionMNIST, KMNIST or EMNIST (split), normalized with stats computed from train.

    MNIST keeps the seed's transforms and its offline fallback; FashionMNIST comes from Debian's
    dataset-fashion-mnist where installed; the others need the internet once (or their files in place). Both sets
    carry the training set's .mean and .std.
    train_augment: PIL transforms applied to training images before ToTensor/Normalize.
    EMNIST images come transposed, as torchvision stores them; add a transpose to train_augment to view them.
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in MNIST_LIKE:
        raise ValueError(
            f"unknown data set {name!r}; choose one of {', '.join(c.__name__ for c in MNIST_LIKE.values())}"
            ", or wrap your own tensors with tensor_datasets()"
        )
    if key == "mnist":
        return mnist_datasets(root)
    cls = MNIST_LIKE[key]
    if cls is datasets.EMNIST and split not in datasets.EMNIST.splits:
        raise ValueError(f"unknown EMNIST split {split!r}; choose one of {', '.join(datasets.EMNIST.splits)}")
    root = Path(root).expanduser() if root is not None else default_data_root()
    extra = {"split": split} if cls is datasets.EMNIST else {}
    place_system_copy(cls.__name__, root)  # Debian's dataset-fashion-mnist, where installed: no download needed
    try:
        train = cls(root, train=True, download=download, **extra)
        test = cls(root, train=False, download=download, **extra)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not provision {cls.__name__} under {root} ({reason}). Only MNIST has an offline "
            f"fallback: connect to the internet once, or copy its raw files into "
            f"{root / cls.__name__ / 'raw'}"
        ) from exc
    mean, std = channel_stats(train.data)
    train.mean, train.std = test.mean, test.std = mean, std  # for denormalize and display
    normalize = [transforms.ToTensor(), transforms.Normalize(mean, std)]
    train.transform = transforms.Compose(list(train_augment or []) + normalize)
    test.transform = transforms.Compose(normalize)
    return train, test
