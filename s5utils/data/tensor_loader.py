"""MNIST held as one uint8 tensor on the training device; batches are randperm slices, augmented in one go."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torchvision import datasets

from s5utils.data.batch_augment import normalize, seed_augment
from s5utils.data.mnist import default_data_root
from s5utils.data.provision import provision_mnist


def load_mnist_tensors(
    root: str | os.PathLike | None = None, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train images uint8 (60000,1,28,28), train labels, test images, test labels) on device."""
    root = Path(root) if root is not None else default_data_root()
    provision_mnist(root)
    out = []
    for train in (True, False):
        split = datasets.MNIST(root, train=train, download=False)
        out += [split.data.unsqueeze(1).to(device), split.targets.to(device)]
    return tuple(out)


class TensorLoader:
    """Yields (x, y) batches from device-resident uint8 images: shuffled + seed-augmented for training.

    Iterating draws a new permutation (and new augmentation parameters) from `generator`, which must live
    on the images' device; a seeded generator gives the same batches run after run. Nothing leaves the device.
    `augment(uint8 batch, generator) -> normalized float batch` is the seed's transform unless given.
    A training loader knows where it is in its pass (state_dict()), so a checkpoint inside an epoch can continue
    that pass with the same batches (load_state_dict(), then iterate).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        train: bool,
        generator: torch.Generator | None = None,
        channels_last: bool = False,
        augment: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor] = seed_augment,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"images must be a uint8 tensor (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.train, self.generator, self.channels_last, self.augment = train, generator, channels_last, augment
        self._pass_start: torch.Tensor | None = None  # the generator's state when the current pass drew its order
        self._next_batch = 0  # the batch the current pass yields next
        self._continue: dict | None = None  # a pass to continue, from load_state_dict()

    def state_dict(self) -> dict:
        """Where the current training pass is: the generator's state before it drew the pass's order, the next
        batch and the generator's state now (after the last batch yielded was augmented)."""
        if self.generator is None:
            raise ValueError("a TensorLoader without a generator cannot say where its pass is: give it one")
        return {"pass_start": self._pass_start, "next_batch": self._next_batch, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Make the next iteration continue the pass state_dict() described, from its next batch."""
        self._continue = state

    def __len__(self) -> int:
        return (len(self.images) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, resume, self._continue = len(self.images), self._continue, None
        order, first = None, 0
        if self.train:
            if resume is not None:
                self.generator.set_state(resume["pass_start"])  # the same order as the interrupted pass
            self._pass_start = self.generator.get_state() if self.generator is not None else None
            order = torch.randperm(n, generator=self.generator, device=self.images.device)
            if resume is not None:
                self.generator.set_state(resume["generator"])  # the augmentation goes on where it stopped
                first = resume["next_batch"]
        for index, start in enumerate(range(first * self.batch_size, n, self.batch_size), first):
            if order is None:
                x, y = self.images[start : start + self.batch_size], self.labels[start : start + self.batch_size]
            else:
                idx = order[start : start + self.batch_size]
                x, y = self.images[idx], self.labels[idx]
            x = self.augment(x, self.generator) if self.train else normalize(x)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self._next_batch = index + 1
            yield x, y


def make_tensor_loaders(
    root: str | os.PathLike | None,
    batch_size: int,
    device: torch.device | str,
    seed: int | None = None,
    channels_last: bool = False,
    test_batch_size: int | None = None,
    augment: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor] = seed_augment,
) -> tuple[TensorLoader, TensorLoader]:
    """Train and test TensorLoaders on device; seed makes the shuffling and augmentation repeatable.

    The test batches have the training batch size unless test_batch_size is given, as on the DataLoader path, so
    max_batches caps the test pass at the same images on both paths.
    """
    device = torch.device(device)
    train_x, train_y, test_x, test_y = load_mnist_tensors(root, device)
    generator = torch.Generator(device=device)
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    train = TensorLoader(
        train_x, train_y, batch_size, train=True, generator=generator, channels_last=channels_last, augment=augment
    )
    test = TensorLoader(test_x, test_y, test_batch_size or batch_size, train=False, channels_last=channels_last)
    return train, test
