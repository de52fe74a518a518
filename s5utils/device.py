"""Pick the training device and seed every random number generator."""
import random

import numpy as np
import torch


def get_device(preferred: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; otherwise the named device, if this machine has it."""
    if preferred == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(preferred)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {preferred!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {preferred!r} was asked for but MPS is not available here; use 'auto' or 'cpu'")
    return device


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
