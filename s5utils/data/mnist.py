"""MNIST datasets with the seed's transforms, and their DataLoaders."""

import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

from s5utils.data.provision import provision_mnist

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def default_data_root() -> Path:
    """$S5UTILS_DATA if set, else a per-user cache folder, so no path depends on the caller's cwd."""
    if env := os.environ.get("S5UTILS_DATA"):
        return Path(env).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "s5utils" / "data"


def train_transforms() -> transforms.Compose:
    """The seed's augmentation: 10% centre crop to 22 px, back to 28 px, rotate +-15 deg, normalize."""
    return transforms.Compose(
        [
            transforms.RandomApply([transforms.CenterCrop(22)], p=0.1),
            transforms.Resize((28, 28)),
            transforms.RandomRotation((-15.0, 15.0), fill=0),
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ]
    )


def affine_train_transforms(degrees: float, shift: float, scale: float) -> transforms.Compose:
    """The fast recipe's augmentation for the DataLoader path: rotate, shift (whole pixels, as torchvision
    rounds them) and scale each image by its own draw, bilinear, then normalize."""
    return transforms.Compose(
        [
            transforms.RandomAffine(
                degrees,
                translate=(shift / 28, shift / 28),
                scale=(1 - scale, 1 + scale),
                interpolation=transforms.InterpolationMode.BILINEAR,
                fill=0,
            ),
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ]
    )


def test_transforms() -> transforms.Compose:
    """Tensor conversion and the seed's normalization only."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])


def mnist_datasets(root: str | os.PathLike | None = None, train_transform=None) -> tuple[Dataset, Dataset]:
    """The (train, test) MNIST datasets, provisioned and md5-verified under root first.

    The train set uses the seed's transforms unless train_transform is given.
    """
    root = Path(root) if root is not None else default_data_root()
    provision_mnist(root)
    train = datasets.MNIST(root, train=True, download=False, transform=train_transform or train_transforms())
    test = datasets.MNIST(root, train=False, download=False, transform=test_transforms())
    return train, test


def make_loaders(
    train_set: Dataset,
    test_set: Dataset,
    batch_size: int,
    device: torch.device,
    num_workers: int = 2,
    seed: int | None = None,
) -> tuple[DataLoader, DataLoader]:
    """Train loader shuffled on every device (seeded when seed is given), test loader in order.

    The train loader's generator decides the shuffle and each worker's seed, so a checkpoint that stores
    its state lets a resumed run draw the same batches and augmentations.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    common = dict(batch_size=batch_size, num_workers=num_workers, pin_memory=torch.device(device).type == "cuda")
    # Fresh train workers every epoch: PyTorch seeds torch, random and numpy in each from the generator.
    # Persistent workers would carry augmentation RNG state across epochs that no checkpoint can capture.
    train = DataLoader(train_set, shuffle=True, generator=generator, persistent_workers=False, **common)
    # Its own generator, so starting its workers draws nothing from the global RNG a model may use (dropout).
    test_generator = torch.Generator().manual_seed(seed) if seed is not None else None
    test = DataLoader(test_set, shuffle=False, generator=test_generator, persistent_workers=num_workers > 0, **common)
    return train, test
