"""CIFAR-10 from its published `cifar-10-batches-py` files, read by torchvision, and denormalize for display."""

from collections.abc import Sequence

import torch


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
