"""The compute floor of one training epoch of Net on this machine: FLOPs / measured throughput.

    python benchmarks/compute_floor.py [--device cpu] [--batch-size 512] [--repeats 5]

FLOPs are counted by torch.utils.flop_counter (forward + backward of one batch, scaled to 60,000 images),
throughput is measured four ways: a large square matmul and Net's own largest conv (conv4, forward+backward,
channels_last as the kit runs it), each in fp32 and in bf16 (the best case under bf16 autocast, on AMX,
AVX512_BF16 or a GPU). The floor is the time an epoch would take at that throughput, with no data loading,
no optimizer, no Python overhead; a precision's floor is the fastest of its measures (`precision_floors`).
bench.py measures the same floors in its own run.
"""

import argparse
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from s5utils.device import device_name, get_device
from s5utils.models import Net
from s5utils.training.precision import autocast_dtype
from s5utils.training.speed import synchronize

TRAIN_IMAGES = 60_000


def training_flops_per_image(model: nn.Module, device: torch.device, batch_size: int) -> float:
    """Forward + backward FLOPs of model for one 28x28 image, counted on one batch."""
    x = torch.randn(batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch_size


def best_seconds(fn, device: torch.device, repeats: int) -> float:
    """Fastest of `repeats` timed calls of fn, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_flops_per_s(device: torch.device, repeats: int, n: int = 2048, dtype: torch.dtype = torch.float32) -> float:
    """Throughput of an n x n matmul in dtype."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n**3 / best_seconds(lambda: a @ b, device, repeats)


def conv_flops_per_s(device: torch.device, repeats: int, batch_size: int, dtype: torch.dtype = torch.float32) -> float:
    """Throughput of Net's conv4 (128 -> 256 channels, 3x3, on 10x10 maps) in dtype, forward + backward,
    channels_last."""
    conv = nn.Conv2d(128, 256, 3).to(device, dtype=dtype, memory_format=torch.channels_last)
    x = torch.randn(batch_size, 128, 10, 10, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        conv(x).sum().backward()
    return counter.get_total_flops() / best_seconds(lambda: conv(x).sum().backward(), device, repeats)


def measure_floor(device: torch.device, batch_size: int = 512, repeats: int = 5) -> dict:
    """Net's training FLOPs per epoch and, per throughput measured, the epoch's floor in seconds."""
    epoch_flops = training_flops_per_image(Net().to(device), device, batch_size) * TRAIN_IMAGES
    # A CPU without AMX or AVX512_BF16 emulates bf16 (a 2048^3 matmul took 66 s on an AVX2-only EPYC): a smaller
    # matmul gives its (meaningless for training, which stays in float32 there) rate in about a second.
    bf16_n = 2048 if device.type != "cpu" or autocast_dtype(device) == torch.bfloat16 else 256
    rates = {
        "fp32 matmul 2048^3": matmul_flops_per_s(device, repeats),
        f"fp32 conv4 fwd+bwd, batch {batch_size}, channels_last": conv_flops_per_s(device, repeats, batch_size),
        f"bf16 matmul {bf16_n}^3": matmul_flops_per_s(device, repeats, n=bf16_n, dtype=torch.bfloat16),
        f"bf16 conv4 fwd+bwd, batch {batch_size}, channels_last": conv_flops_per_s(
            device, repeats, batch_size, torch.bfloat16
        ),
    }
    return {
        "epoch_tflop": epoch_flops / 1e12,
        "floors": [
            {"measure": label, "gflop_per_s": rate / 1e9, "floor_seconds": epoch_flops / rate}
            for label, rate in rates.items()
        ],
    }


def precision_floors(floor: dict) -> dict[str, dict]:
    """{'fp32': row, 'bf16': row}: per precision, the measure with the shortest epoch (the lowest floor)."""
    best = {}
    for row in floor["floors"]:
        precision = row["measure"].split(" ", 1)[0]
        if precision not in best or row["floor_seconds"] < best[precision]["floor_seconds"]:
            best[precision] = row
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    device = get_device(args.device)
    floor = measure_floor(device, args.batch_size, args.repeats)
    print(f"device: {device_name(device)} ({device}), torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"Net training FLOPs: {floor['epoch_tflop']:.2f} TFLOP per epoch of {TRAIN_IMAGES:,} images "
        "(forward + backward)"
    )
    for row in floor["floors"]:
        print(
            f"{row['measure']}: {row['gflop_per_s']:,.1f} GFLOP/s -> floor {row['floor_seconds']:,.1f} s per epoch, "
            f"{TRAIN_IMAGES / row['floor_seconds']:,.0f} images/s at most"
        )
    for precision, row in precision_floors(floor).items():
        print(f"{precision} floor: {row['floor_seconds']:,.1f} s per epoch ({row['measure']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
