"""Steady-state training-step throughput of Net for each memory layout and autocast dtype.

    python benchmarks/step_speed.py [--device auto] [--batch-size 256] [--steps 10] [--rounds 3]

One process, same random batch for every combination, warm-up steps excluded, median step time;
the combinations take turns for --rounds rounds and each keeps its best round, so a burst of load
from other processes hurts every combination alike: the measurement behind the `channels_last`
and `amp` defaults (s5utils/speed.py).
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from s5utils.device import device_name, get_device, set_seed
from s5utils.models import Net
from s5utils.speed import synchronize


def images_per_s(device: torch.device, batch_size: int, steps: int, channels_last: bool,
                 amp_dtype: torch.dtype | None) -> float:
    """Median training images/s over `steps` SGD steps, after 3 warm-up steps."""
    set_seed(0)
    model = Net().to(device)
    x = torch.randn(batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []
    for step in range(3 + steps):
        synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            out = model(x)
        F.cross_entropy(out.float(), y).backward()
        optimizer.step()
        synchronize(device)
        if step >= 3:
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    device = get_device(args.device)
    dtypes = {"off": None, "bf16": torch.bfloat16}
    if device.type == "cuda":
        dtypes["fp16"] = torch.float16
    combos = [(cl, name) for cl in (False, True) for name in dtypes]
    best = dict.fromkeys(combos, 0.0)
    for _ in range(args.rounds):
        for cl, name in combos:
            best[cl, name] = max(best[cl, name], images_per_s(device, args.batch_size, args.steps, cl, dtypes[name]))
    print(f"device: {device_name(device)} ({device}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"batch {args.batch_size}, best of {args.rounds} rounds of the median of {args.steps} steps")
    print("| channels_last | amp | train images/s |\n|---|---|---:|")
    for (cl, name), rate in best.items():
        print(f"| {cl} | {name} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
