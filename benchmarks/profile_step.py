"""Where a training step's time goes: the seed Net's step under torch.profiler, grouped by op and input shape.

    python benchmarks/profile_step.py                       # batch 512, channels_last, amp auto, 4 profiled steps
    python benchmarks/profile_step.py --amp off --out DIR   # float32; also write DIR/profile.md

The step is the kit's: Net in channels_last, SGD with momentum, NLL loss, the forward pass under autocast when
--amp picks a dtype (auto: s5utils.training.precision, as training does). After warm-up steps, --steps steps
are profiled.
Prints and writes the ops with the most self CPU time, and the share of the step spent in convolutions (forward and
backward) against everything else (pooling, ReLU, casts, fills, the optimizer): the part no convolution kernel can
make faster.
"""

import argparse
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from machine import cpu_description  # benchmarks/ is on sys.path when this script runs
from torch.profiler import ProfilerActivity, profile

from s5utils.models import Net
from s5utils.training.precision import autocast_dtype

CONVOLUTION_OPS = ("aten::convolution_backward", "aten::mkldnn_convolution", "aten::_convolution")


def profiled_step(batch_size: int, dtype: torch.dtype | None, steps: int, warmup: int = 3):
    torch.manual_seed(0)
    model = Net().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(batch_size, 1, 28, 28).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (batch_size,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    return prof.key_averages(group_by_input_shape=True)


def report(events, steps: int, rows: int) -> list[str]:
    total = sum(e.self_cpu_time_total for e in events)
    convolution = sum(e.self_cpu_time_total for e in events if e.key in CONVOLUTION_OPS)
    lines = [
        f"Self CPU time per step: {total / steps / 1e3:.1f} ms; convolutions (forward + backward) "
        f"{100 * convolution / total:.1f} %, everything else {100 * (total - convolution) / total:.1f} %",
        "",
        "| op | input shapes | ms per step | share |",
        "|---|---|---:|---:|",
    ]
    for event in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]:
        shapes = ", ".join(str(list(s)) for s in event.input_shapes if s)
        lines.append(
            f"| `{event.key}` | {shapes} | {event.self_cpu_time_total / steps / 1e3:.1f} | "
            f"{100 * event.self_cpu_time_total / total:.1f} % |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument(
        "--amp",
        default="auto",
        choices=["auto", "off", "bf16", "fp16"],
        help="auto: the dtype training picks on this CPU",
    )
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None, help="also write profile.md here")
    args = parser.parse_args(argv)
    dtype = (
        autocast_dtype("cpu")
        if args.amp == "auto"
        else {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.amp]
    )
    load_before = os.getloadavg()
    events = profiled_step(args.batch_size, dtype, args.steps)
    lines = [
        "# Where the seed Net's training step spends its time",
        "",
        f"Command: `python benchmarks/profile_step.py --amp {args.amp} --batch-size {args.batch_size} "
        f"--steps {args.steps}`  ",
        f"CPU: {cpu_description()}, torch {torch.__version__}; autocast dtype {dtype}; batch {args.batch_size}, "
        f"channels_last; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
        "Load average (1, 5, 15 min) at the start / end: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + " / "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "",
    ]
    lines += report(events, args.steps, args.rows)
    print("\n".join(lines))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "profile.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
