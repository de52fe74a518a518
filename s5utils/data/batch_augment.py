"""The seed's augmentation for a whole batch at once, with random parameters drawn per sample.

Per image the seed does: with p=0.1 CenterCrop(22) then Resize(28) (bilinear), RandomRotation(+-15 deg,
nearest, fill 0), ToTensor, Normalize. torchvision's v2 transforms on a batch draw ONE angle for all
images; here every image gets its own crop coin and angle, and the batch is warped by one grid_sample.
"""

import math

import torch
import torch.nn.functional as F

from s5utils.data.mnist import MNIST_MEAN, MNIST_STD

CROP_P, CROP_SIZE, MAX_DEGREES = 0.1, 22, 15.0


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0-255 float) images -> float32 in the seed's normalization."""
    return (images.float() / 255 - MNIST_MEAN) / MNIST_STD


def draw_params(
    n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (crop mask (n,) bool, angle (n,) degrees), drawn like the seed's transforms."""
    crop = torch.rand(n, generator=generator, device=device) < CROP_P
    angles = (torch.rand(n, generator=generator, device=device) * 2 - 1) * MAX_DEGREES
    return crop, angles


def center_crop_resize(images: torch.Tensor, crop: torch.Tensor) -> torch.Tensor:
    """CenterCrop(22) + bilinear Resize(28) on the images where crop is True, rounded back to 0-255 like PIL."""
    out = images.float()
    size = images.shape[-1]
    top = int(round((size - CROP_SIZE) / 2.0))  # torchvision's centre-crop offset
    patch = out[..., top : top + CROP_SIZE, top : top + CROP_SIZE]
    resized = F.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    # Resize all, keep the cropped: a boolean index would make a GPU wait for the mask every batch.
    return torch.where(crop.view(-1, 1, 1, 1), resized.round().clamp(0, 255), out)


def rotate(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each image by its own angle (degrees, counter-clockwise) about the centre; nearest, fill 0."""
    rad = angles.to(images.dtype) * (math.pi / 180)
    cos, sin, zero = rad.cos(), rad.sin(), torch.zeros_like(rad)
    # The inverse map (output pixel -> input pixel) torchvision's F.rotate builds, in normalized coordinates.
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def seed_augment(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The seed's train transform for a uint8 batch (B, 1, H, W), fresh parameters per sample; returns float32."""
    crop, angles = draw_params(images.shape[0], generator, images.device)
    return normalize(rotate(center_crop_resize(images, crop), angles))


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    degrees: float = 10.0,
    shift: float = 2.0,
    scale: float = 0.1,
) -> torch.Tensor:
    """A uint8 batch rotated (+-degrees), shifted (+-shift pixels) and scaled (1 +- scale), each sample by its
    own draw, bilinear, fill 0; returns float32 normalized like the seed. The fast recipe's augmentation."""
    n, dev = images.shape[0], images.device
    uniform = lambda: torch.rand(n, generator=generator, device=dev) * 2 - 1  # noqa: E731 - U(-1, 1) per sample
    rad, zoom = uniform() * degrees * (math.pi / 180), 1 + uniform() * scale
    dx, dy = uniform() * shift * 2 / images.shape[-1], uniform() * shift * 2 / images.shape[-2]
    cos, sin = rad.cos() / zoom, rad.sin() / zoom
    theta = torch.stack([torch.stack([cos, -sin, dx], 1), torch.stack([sin, cos, dy], 1)], 1)  # output -> input
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return normalize(F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False))


def translate(images: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Shift a normalized batch by whole pixels (right dx, down dy), filling the vacated edge with black."""
    if dx == 0 and dy == 0:
        return images
    fill = -MNIST_MEAN / MNIST_STD  # black after Normalize
    out = torch.roll(images, shifts=(dy, dx), dims=(-2, -1))
    if dy > 0:
        out[..., :dy, :] = fill
    elif dy < 0:
        out[..., dy:, :] = fill
    if dx > 0:
        out[..., :, :dx] = fill
    elif dx < 0:
        out[..., :, dx:] = fill
    return out
