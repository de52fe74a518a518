"""Pick the training device, seed every random number generator, and switch on deterministic kernels."""

import os
import platform
import random
from pathlib import Path

import numpy as np
import torch

from s5utils.errors import ConfigError


def device_name(device: torch.device | str) -> str:
    """The GPU's name, or the CPU's model from /proc/cpuinfo where there is one (platform's guess elsewhere)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def get_device(preferred: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; otherwise the named device, if this machine has it."""
    if preferred == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preferred)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps, got {preferred!r}", "device") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {preferred!r} was asked for but CUDA is not available here; "
                "use device 'auto' or 'cpu' (on Colab: Runtime > Change runtime type > GPU)",
                "device",
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {preferred!r} was asked for but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s); use 'cuda:0' or 'auto'",
                "device",
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"device {preferred!r} was asked for but MPS is not available here; use 'auto' or 'cpu'", "device"
        )
    return device


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool = True) -> None:
    """Switch PyTorch's documented reproducibility flags on (or back off).

    Sets torch.use_deterministic_algorithms, cudnn.deterministic and cudnn.benchmark=False, and
    CUBLAS_WORKSPACE_CONFIG=:4096:8, which cuBLAS reads when CUDA first starts in this process, so call
    this before the first CUDA operation. Ops without a deterministic kernel then raise instead of varying.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = False
