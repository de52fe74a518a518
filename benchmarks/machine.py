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


BF16_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")  # /proc/cpuinfo names


def cpu_description() -> str:
    """The CPU's model, family/model numbers and its bf16-relevant flags, e.g. 'AMD EPYC (family 25, model 17),
    flags avx2 avx512f avx512_bf16 avx512_vnni, no amx_tile amx_bf16' (Linux; platform's words elsewhere)."""
    import platform
    from pathlib import Path

    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    have = [f for f in BF16_FLAGS if f in flags]
    lack = [f for f in BF16_FLAGS if f not in flags]
    return (
        f"{fields.get('model name', platform.machine())} (family {fields.get('cpu family', '?')}, model "
        f"{fields.get('model', '?')}), {torch.get_num_threads()} threads, flags {' '.join(have) or 'none'}"
        + (f", no {' '.join(lack)}" if lack else "")
    )
