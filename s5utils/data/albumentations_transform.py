"""albumentations in any Dataset: AlbumentationsTransform, and the S9 and S10/S11 CIFAR-10 recipes as presets.

The presets use albumentations 2.x argument names (CoarseDropout's num_holes_range, hole_height_range,
hole_width_range, fill); albumentations is in the `assignments` extra and imported only when a preset is built.
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

NEEDED = "albumentations>=2.0,<3"


def _albumentations():
    """The albumentations module, if it is a 2.x release; else ImportError in one line saying which is needed."""
    try:
        import albumentations as A
    except ImportError:
        raise ImportError(f"the presets need albumentations 2.x: pip install '{NEEDED}'") from None
    major = int(A.__version__.split(".")[0])
    if major != 2:
        raise ImportError(
            f"the presets use albumentations 2.x argument names (num_holes_range, hole_height_range, fill); "
            f"installed is {A.__version__}: pip install '{NEEDED}'"
        )
    return A


class AlbumentationsTransform:
    """A torchvision-style transform from an albumentations Compose: PIL image or H x W x C uint8 array in, float
    C x H x W tensor out."""

    def __init__(self, compose: Callable) -> None:
        self.compose = compose

    def __call__(self, image) -> torch.Tensor:
        array = np.asarray(image) if isinstance(image, Image.Image) else image
        if not isinstance(array, np.ndarray):
            raise TypeError(f"expected a PIL image or an H x W x C numpy array, got {type(image).__name__}")
        out = self.compose(image=array)["image"]
        if isinstance(out, torch.Tensor):  # the Compose ended in ToTensorV2
            return out.float()
        scale = 255.0 if out.dtype == np.uint8 else 1.0  # no Normalize in the Compose: pixels to [0, 1]
        out = out[..., None] if out.ndim == 2 else out
        return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1))).float() / scale

    def __repr__(self) -> str:
        return f"AlbumentationsTransform({self.compose!r})"


def _pixels(mean: Sequence[float]) -> tuple[float, ...]:
    return tuple(255.0 * m for m in mean)


def s9_augmentation(mean: Sequence[float], std: Sequence[float], hole: int = 16) -> AlbumentationsTransform:
    """S9's training transform: HorizontalFlip, shift/scale/rotate (Affine; 2.x's replacement for ShiftScaleRotate),
    CoarseDropout of one hole x hole square filled with the data set's mean, Normalize(mean, std)."""
    A = _albumentations()
    return AlbumentationsTransform(
        A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.Affine(translate_percent=(-0.1, 0.1), scale=(0.9, 1.1), rotate=(-15, 15), fill=_pixels(mean), p=0.5),
                _one_hole(A, hole, mean),
                A.Normalize(mean=tuple(mean), std=tuple(std)),
            ]
        )
    )


def _one_hole(A, size: int, mean: Sequence[float]):
    """CoarseDropout of one size x size hole filled with the data set's mean (albumentations 2.x names), p=0.5."""
    return A.CoarseDropout(
        num_holes_range=(1, 1), hole_height_range=(size, size), hole_width_range=(size, size), fill=_pixels(mean), p=0.5
    )


def s10_augmentation(mean: Sequence[float], std: Sequence[float], cutout: int = 8) -> AlbumentationsTransform:
    """S10/S11's training transform: pad 4 and RandomCrop 32, flip, CutOut of one cutout x cutout square (8 in S10,
    16 in S11) filled with the mean, Normalize(mean, std)."""
    A = _albumentations()
    return AlbumentationsTransform(
        A.Compose(
            [
                A.PadIfNeeded(min_height=40, min_width=40, fill=_pixels(mean)),
                A.RandomCrop(height=32, width=32),
                A.HorizontalFlip(p=0.5),
                _one_hole(A, cutout, mean),
                A.Normalize(mean=tuple(mean), std=tuple(std)),
            ]
        )
    )
