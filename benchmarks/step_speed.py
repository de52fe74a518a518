"""Steady-state training-step throughput of Net for each memory layout and autocast dtype.

    python benchmarks/step_speed.py [--device auto] [--batch-size 256] [--steps 10] [--rounds 3] [--compile MODE]

One process, same random batch for every combination, warm-up steps excluded, median step time;
the combinations take turns for --rounds rounds and each keeps its best round, so a burst of load
from other processes hurts every combination alike: the measurement behind the `channels_last`
and `amp` defaults (s5utils/training/speed.py). With --compile, each combination also runs torch.compile'd
(that mode), its first step (the compile) timed apart.
"""

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from s5utils.device import device_name, get_device, set_seed
from s5utils.models import Net
from s5utils.training.speed import synchronize


def images_per_s(
    device: torch.device,
    batch_size: int,
    steps: int,
    channels_last: bool,
    amp_dtype: torch.dtype | None,
    compile_mode: str | None = None,
) -> tuple[float, float]:
    """(median training images/s over `steps` SGD steps after 3 warm-up steps, seconds of the first step)."""
    set_seed(0)
    model = Net().to(device)
    x = torch.randn(batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    forward = torch.compile(model, mode=compile_mode) if compile_mode else model
    times = []
    for _ in range(3 + steps):
        synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            out = forward(x)
        F.cross_entropy(out.float(), y).backward()
        optimizer.step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times[3:]), times[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--compile",
        metavar="MODE",
        help="also time each combination under torch.compile(mode=MODE), e.g. default, reduce-overhead, max-autotune",
    )
    args = parser.parse_args(argv)
    device = get_device(args.device)
    dtypes = {"off": None, "bf16": torch.bfloat16}
    if device.type == "cuda":
        dtypes["fp16"] = torch.float16
    modes = [None, args.compile] if args.compile else [None]
    combos = [(cl, name, mode) for cl in (False, True) for name in dtypes for mode in modes]
    best, first = dict.fromkeys(combos, 0.0), {}
    for _ in range(args.rounds):
        for cl, name, mode in combos:
            rate, first_step = images_per_s(device, args.batch_size, args.steps, cl, dtypes[name], mode)
            best[cl, name, mode] = max(best[cl, name, mode], rate)
            first.setdefault((cl, name, mode), first_step)  # round 1: later rounds hit the compile cache
    print(
        f"device: {device_name(device)} ({device}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"batch {args.batch_size}, best of {args.rounds} rounds of the median of {args.steps} steps"
    )
    print("| channels_last | amp | compile | train images/s | first step s |\n|---|---|---|---:|---:|")
    for (cl, name, mode), rate in best.items():
        print(f"| {cl} | {name} | {mode or 'off'} | {rate:,.0f} | {first[cl, name, mode]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
