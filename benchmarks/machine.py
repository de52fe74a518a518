"""The peak memory a benchmark used, on any device."""
import resource
import sys

import torch


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak allocated since the last reset; CPU: the process's peak resident set size (never resets)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
