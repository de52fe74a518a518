"""Which autocast dtype a device runs fast, and why: the one place amp="auto" is decided.

CUDA: bf16 from compute capability 8.0 (A100, L4, H100: bf16 tensor cores); fp16 with a GradScaler on 7.x
(V100, T4: fp16 tensor cores only); float32 below. torch.cuda.is_bf16_supported() is not asked: it is True
on a T4 too, where bf16 is only emulated. CPU: bf16 with AMX tiles (Intel Sapphire Rapids and later) or
AVX512_BF16 (AMD Zen 4 and Zen 5, Intel Cooper Lake), else float32: a CPU with neither (AVX2 only, or AVX-512
without bf16) only emulates bf16. MPS: float32 (autocast there was never measured for this kit).
"""

from dataclasses import dataclass

import torch

from s5utils.device import device_name

DTYPE_NAMES = {torch.bfloat16: "bf16", torch.float16: "fp16", None: "float32"}


@dataclass(frozen=True)
class PrecisionChoice:
    """An autocast dtype (None: plain float32) and the reason, e.g. 'fp16: Tesla T4, compute capability 7.5, ...'."""

    dtype: torch.dtype | None
    reason: str

    @property
    def name(self) -> str:
        """bf16, fp16 or float32."""
        return DTYPE_NAMES[self.dtype]

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def cuda_capability(device: torch.device | str) -> tuple[int, int]:
    """(major, minor) compute capability of a CUDA device."""
    return tuple(torch.cuda.get_device_capability(torch.device(device)))


def _cuda_words(device: torch.device) -> str:
    major, minor = cuda_capability(device)
    return f"{torch.cuda.get_device_name(device)}, compute capability {major}.{minor}"


def _cpu_has(probe: str) -> bool:
    """torch.cpu.<probe>() where this torch has it (a private function); absent means no."""
    found = getattr(torch.cpu, probe, None)
    return bool(found and found())


def amx_bf16() -> bool:
    """Whether this CPU has AMX tiles (bf16 matrix units); False when torch cannot tell."""
    return _cpu_has("_is_amx_tile_supported")  # private, torch >= 2.3


def avx512_bf16() -> bool:
    """Whether this CPU has AVX512_BF16 (bf16 dot-product instructions); False when torch cannot tell."""
    return _cpu_has("_is_avx512_bf16_supported")  # private, torch >= 2.3


def cpu_bf16_units() -> str | None:
    """The CPU's bf16 units in words ('AMX bf16 units', 'AVX512_BF16 units'), or None where bf16 is emulated."""
    if amx_bf16():
        return "AMX bf16 units"
    if avx512_bf16():
        return "AVX512_BF16 units"
    return None


def precision_choice(device: torch.device | str) -> PrecisionChoice:
    """What amp="auto" runs on device, with the reason in words."""
    device = torch.device(device)
    if device.type == "cuda":
        major, _ = cuda_capability(device)
        where = _cuda_words(device)
        if major >= 8:
            return PrecisionChoice(torch.bfloat16, f"{where}, bf16 tensor cores")
        if major == 7:
            return PrecisionChoice(torch.float16, f"{where}, no bf16 tensor cores (fp16 with a GradScaler)")
        return PrecisionChoice(None, f"{where}, no tensor cores")
    if device.type == "cpu":
        units = cpu_bf16_units()
        if units:
            return PrecisionChoice(torch.bfloat16, f"{device_name(device)}, {units}")
        return PrecisionChoice(None, f"{device_name(device)}, no AMX or AVX512_BF16 units (bf16 would be emulated)")
    if device.type == "mps":
        return PrecisionChoice(None, "Apple MPS, autocast not measured there, so float32 is kept")
    return PrecisionChoice(None, f"{device.type}, no autocast choice known")


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype amp="auto" uses on device: torch.bfloat16, torch.float16, or None for float32."""
    return precision_choice(device).dtype


def asked_precision(dtype: torch.dtype | None, device: torch.device | str) -> PrecisionChoice:
    """An explicit amp choice with its reason; bf16 on a CUDA card below 8.0, or on a CPU without bf16 units,
    says it is emulated there."""
    device = torch.device(device)
    name = DTYPE_NAMES[dtype]
    if dtype == torch.bfloat16 and device.type == "cuda" and cuda_capability(device)[0] < 8:
        auto = precision_choice(device).name
        return PrecisionChoice(
            dtype,
            f"asked for (amp='bf16'); {_cuda_words(device)} has no bf16 tensor cores, "
            f"so bf16 is emulated there and slow (amp='auto' picks {auto})",
        )
    if dtype == torch.bfloat16 and device.type == "cpu" and cpu_bf16_units() is None:
        return PrecisionChoice(
            dtype,
            f"asked for (amp='bf16'); {device_name(device)} has no AMX or AVX512_BF16 "
            "units, so bf16 is emulated there and slow (amp='auto' picks float32)",
        )
    if dtype == torch.float16:
        return PrecisionChoice(dtype, "asked for (amp='fp16'), with a GradScaler")
    return PrecisionChoice(dtype, "asked for (amp='off')" if dtype is None else f"asked for (amp='{name}')")


def tf32_capable(device: torch.device | str) -> bool:
    """Whether float32 matmuls and convolutions on device may use TF32 tensor cores (CUDA 8.0 and up)."""
    device = torch.device(device)
    return device.type == "cuda" and cuda_capability(device)[0] >= 8


def enable_tf32() -> None:
    """Let float32 matmuls use TF32 tensor cores (process-wide; call it when a run starts on CUDA 8.0 and up).

    torch.set_float32_matmul_precision("high") also sets the per-backend fp32_precision="tf32" of torch >= 2.9.
    Setting only the per-backend value would make torch.get_float32_matmul_precision() raise ("mix of the
    legacy and new APIs"), and torch.compile's autotuning calls it. cuDNN convolutions use TF32 by default.
    """
    torch.set_float32_matmul_precision("high")
