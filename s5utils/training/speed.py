"""Resolve the speed options of a TrainConfig for a device: data path, autocast dtype, channels_last, compile."""

import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from s5utils.config import TrainConfig
from s5utils.training.precision import asked_precision, precision_choice, tf32_capable

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}


@dataclass(frozen=True)
class SpeedOptions:
    """How fit() runs on its device: autocast dtype, memory format, TF32, compile; `auto` values already decided.

    SpeedOptions() is plain float32 in eager mode. A float16 amp_dtype brings a GradScaler with it.
    """

    data_path: str = "loader"  # "tensor" or "loader" (which loaders build_loaders makes)
    amp_dtype: torch.dtype | None = None  # None = full float32
    channels_last: bool = False
    compile_mode: str | None = None  # None = eager
    tf32: bool = False  # float32 matmuls may use TF32 (CUDA 8.0 and up)
    precision: str = "float32"  # the autocast choice and its reason, printed when fit starts

    def describe(self) -> str:
        """The run's first line: `Precision: bf16: <why>`, and TF32 when float32 matmuls may use it."""
        return f"Precision: {self.precision}" + (", TF32 float32 matmuls" if self.tf32 else "")

    def record(self) -> dict:
        """The options as plain values, for metrics.json's `speed` section."""
        return {
            "data_path": self.data_path,
            "amp_dtype": str(self.amp_dtype) if self.amp_dtype else None,
            "channels_last": self.channels_last,
            "tf32": self.tf32,
            "precision": self.precision,
        }


def resolve_speed(config: TrainConfig, device: torch.device) -> SpeedOptions:
    """Decide every `auto` for device; a choice the device cannot run raises ValueError naming the fix."""
    device = torch.device(device)
    data_path = "tensor" if config.data_path == "auto" else config.data_path
    if config.amp == "auto":
        choice = precision_choice(device)
    else:
        choice = asked_precision(AMP_DTYPES[config.amp], device)
    if choice.dtype == torch.float16 and device.type != "cuda":
        raise ValueError(f"amp 'fp16' needs CUDA (this run is on {device.type}); use amp 'bf16' or 'off'")
    # channels_last was faster for Net on CPU in benchmarks/step_speed.py; auto leaves MPS (patchy support) alone.
    channels_last = config.channels_last == "on" or (config.channels_last == "auto" and device.type != "mps")
    compile_mode = None if config.compile == "off" else config.compile
    return SpeedOptions(data_path, choice.dtype, channels_last, compile_mode, tf32_capable(device), str(choice))


def num_samples(loader) -> int:
    """How many samples one pass over a DataLoader or TensorLoader yields."""
    return len(loader.dataset) if hasattr(loader, "dataset") else len(loader.images)


def batch_sizes(loader) -> list[int]:
    """The batch sizes a DataLoader or TensorLoader yields: the full one and the last, shorter one if any."""
    n = num_samples(loader)
    return [loader.batch_size] + ([n % loader.batch_size] if n % loader.batch_size else [])


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so a timer that stops next measures it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def compile_model(
    model: nn.Module,
    mode: str,
    device: torch.device,
    batch_sizes: list[int],
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    image_shape: tuple[int, ...] = (1, 28, 28),
) -> tuple[nn.Module, float]:
    """torch.compile(model) and warm it up on zero batches of each size; returns (compiled, seconds).

    The warm-up runs forward+backward in train mode and forward in eval mode, then clears the
    gradients, so the weights are unchanged and the compile time stays out of the epoch timings.
    """
    device = torch.device(device)
    start = time.perf_counter()
    compiled = torch.compile(model, mode=mode)
    autocast = torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)
    was_training = model.training
    for n in dict.fromkeys(batch_sizes):
        x = torch.zeros(n, *image_shape, device=device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        compiled.train()
        with autocast:
            out = compiled(x)
        F.cross_entropy(out.float(), torch.zeros(n, dtype=torch.long, device=device)).backward()
        # As in a training step, drop the gradients before the next forward: in CUDA-graph modes they live in
        # memory the next call reuses, and reduce-overhead crashed on CUDA when the warm-up accumulated into them.
        model.zero_grad(set_to_none=True)
        compiled.eval()
        with torch.no_grad(), autocast:
            compiled(x)
    model.train(was_training)
    synchronize(device)
    return compiled, time.perf_counter() - start


def compile_for(
    model: nn.Module, speed: SpeedOptions, device: torch.device, train_loader, test_loader
) -> tuple[nn.Module, float | None]:
    """(runner, compile seconds): model compiled for every batch size the loaders yield, or model itself."""
    if not speed.compile_mode:
        return model, None  # the compiled wrapper, when there is one, runs; model keeps the plain names
    return compile_model(
        model,
        speed.compile_mode,
        device,
        batch_sizes(train_loader) + batch_sizes(test_loader),
        speed.amp_dtype,
        speed.channels_last,
    )
