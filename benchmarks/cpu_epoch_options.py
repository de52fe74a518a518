"""What else moves a CPU training epoch of the seed recipe? Paired, interleaved measurements in one process.

    python benchmarks/cpu_epoch_options.py            # 5 rounds of 8 steps per option, batch 512
    python benchmarks/cpu_epoch_options.py --quick    # 1 round of 2 steps, 1 eval batch, no compile: checks it

Every option runs the seed Net's training step (SGD, momentum 0.9, batch 512, channels_last, the kit's
train_one_epoch step: zero_grad, forward under autocast, float loss, backward, optimizer step) on the same
batch; the options take turns for --rounds rounds, each round timing --steps steps after a warm-up, so a burst
of load from other processes falls on all of them alike. Per option the median over rounds of the per-round
median step is reported, with the ratio to the kit's step (bf16 autocast where amp="auto" picks it, eager,
all threads). Options:
  step eager bf16 / fp32      the kit's step under bf16 autocast, and in float32
  step compiled bf16 / fp32   the same model under torch.compile (inductor's CPU backend; compile timed apart)
  step 1 thread bf16          torch.set_num_threads(1) for that option only
  fwd+bwd only bf16           the step without optimizer.step (what the optimizer costs)
  augment 512                 the tensor path's per-batch work: randperm slice + the seed's batched augmentation
  eval pass fp32 / bf16       s5utils.training.loop.evaluate over the 10,000 test images, batch 1000
Training epoch figures are per-step figures x 60,000 / batch. Writes a Markdown table to --out if given.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from compute_floor import TRAIN_IMAGES, measure_floor, precision_floors  # benchmarks/ is on sys.path when run
from machine import cpu_description  # benchmarks/ is on sys.path when this script runs

from s5utils.data.batch_augment import seed_augment
from s5utils.data.tensor_loader import TensorLoader, load_mnist_tensors
from s5utils.device import set_seed
from s5utils.models import Net
from s5utils.training.loop import evaluate
from s5utils.training.precision import autocast_dtype

CPU = torch.device("cpu")


def make_step(
    dtype: torch.dtype | None, compiled: bool, batch: tuple[torch.Tensor, torch.Tensor], optimizer_step: bool = True
):
    """A closure running one training step of a fresh Net (seed 0) on batch; returns (step, compile seconds)."""
    set_seed(0)
    model = Net().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    runner = torch.compile(model) if compiled else model
    x, y = batch

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            out = runner(x)
        loss = F.cross_entropy(out.float(), y)
        torch.stack([loss.detach().float(), (out.argmax(1) == y).sum().float()]).tolist()  # the kit's one sync
        loss.backward()
        if optimizer_step:
            optimizer.step()

    start = time.perf_counter()
    step()  # warm-up: the compile, when there is one
    return step, time.perf_counter() - start


def timed(fn, steps: int, threads: int | None = None) -> float:
    """Median seconds of `steps` calls of fn after one warm-up call, with torch's thread count set for them."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        fn()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 2 steps, 1 eval batch, no compile: a smoke check"
    )
    parser.add_argument("--rounds", type=int, default=None, help="default 5 (1 with --quick)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per option per round (default 8; 2)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile options")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown) and results.json here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 5)
    steps = args.steps or (2 if args.quick else 8)
    compile_too = not (args.quick or args.no_compile)
    auto = autocast_dtype(CPU)
    load_start = os.getloadavg()

    train_x, train_y, test_x, test_y = load_mnist_tensors(args.data_root, CPU)
    generator = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(train_x), generator=generator)[: args.batch_size]
    batch = (seed_augment(train_x[idx], generator).contiguous(memory_format=torch.channels_last), train_y[idx])
    # --quick: one test batch of --batch-size images (an emulated bf16 pass is slow); else the test set in 1000s
    test_loader = TensorLoader(test_x, test_y, args.batch_size if args.quick else 1000, train=False)
    eval_model = Net().to(memory_format=torch.channels_last).eval()

    def augment() -> None:
        order = torch.randperm(len(train_x), generator=generator)
        seed_augment(train_x[order[: args.batch_size]], generator).contiguous(memory_format=torch.channels_last)

    options, compile_seconds = {}, {}
    for name, dtype, compiled, opt in [
        ("step eager bf16", torch.bfloat16, False, True),
        ("step eager fp32", None, False, True),
        *(
            [("step compiled bf16", torch.bfloat16, True, True), ("step compiled fp32", None, True, True)]
            if compile_too
            else []
        ),
        ("fwd+bwd only bf16", torch.bfloat16, False, False),
    ]:
        print(f"setting up {name} ...", flush=True)
        options[name], compile_seconds[name] = make_step(dtype, compiled, batch, opt)
    options["step 1 thread bf16"] = options["step eager bf16"]
    options[f"augment {args.batch_size}"] = augment
    eval_batches = 1 if args.quick else None
    for name, dtype in (("eval pass fp32", None), ("eval pass bf16", torch.bfloat16)):
        options[name] = lambda dtype=dtype: evaluate(
            eval_model, test_loader, CPU, amp_dtype=dtype, channels_last=True, max_batches=eval_batches
        )

    per_round = {name: [] for name in options}
    for r in range(rounds):
        for name, fn in options.items():
            n = 1 if name.startswith("eval") else steps
            per_round[name].append(timed(fn, n, threads=1 if "1 thread" in name else None))
        print(
            f"round {r + 1}/{rounds}: "
            + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in per_round.items())
            + f"; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    floor = measure_floor(CPU, args.batch_size, repeats=2 if args.quick else 5)
    floors = precision_floors(floor)
    load_end = os.getloadavg()

    kit = "step eager bf16" if auto == torch.bfloat16 else "step eager fp32"
    median = {name: statistics.median(v) for name, v in per_round.items()}
    per_epoch = TRAIN_IMAGES / args.batch_size
    lines = [
        f"CPU: {cpu_description()}, torch {torch.__version__}  ",
        f'amp="auto" picks {"bf16" if auto else "float32"} here; batch {args.batch_size}, {rounds} rounds x '
        f"{steps} steps per option (eval: 1 pass per round), interleaved  ",
        "Load average (1, 5, 15 min) at the start / end: "
        + ", ".join(f"{x:.2f}" for x in load_start)
        + " / "
        + ", ".join(f"{x:.2f}" for x in load_end),
        "",
        "| option | median ms (per step, or per eval pass) | range over rounds, ms | x the kit's step "
        f"({kit}) | training epoch s (x {per_epoch:.1f} steps) | compile s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, value in median.items():
        epoch = f"{value * per_epoch:.1f}" if not name.startswith("eval") else "-"
        ratio = f"{value / median[kit]:.2f}" if not name.startswith("eval") else "-"
        comp = f"{compile_seconds[name]:.1f}" if "compiled" in name else "-"
        lines.append(
            f"| {name} | {value * 1000:.1f} | {min(per_round[name]) * 1000:.0f}-{max(per_round[name]) * 1000:.0f} | "
            f"{ratio} | {epoch} | {comp} |"
        )
    lines += [
        "",
        "Compute floors measured after the rounds, same process: "
        + "; ".join(
            f"{p} {row['floor_seconds']:.1f} s per training epoch ({row['measure']}, {row['gflop_per_s']:,.0f} GFLOP/s)"
            for p, row in floors.items()
        ),
    ]
    augment_s = median[f"augment {args.batch_size}"]
    for name in ("step eager bf16", "step compiled bf16", "step eager fp32", "step compiled fp32"):
        if name in median:
            p = "bf16" if "bf16" in name else "fp32"
            lines.append(
                f"- {name}: {median[name] * per_epoch:.1f} s per training epoch = "
                f"{median[name] * per_epoch / floors[p]['floor_seconds']:.2f}x the {p} floor; with the "
                f"augmentation ({augment_s * per_epoch:.1f} s per epoch) "
                f"{(median[name] + augment_s) * per_epoch / floors[p]['floor_seconds']:.2f}x."
            )
    table = "\n".join(lines) + "\n"
    print("\n" + table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "options.md").write_text(
            "# What moves a CPU epoch: paired step timings\n\nCommand: `python "
            + " ".join(["benchmarks/cpu_epoch_options.py", *(argv if argv is not None else sys.argv[1:])])
            + "`  \n"
            + table
        )
        (args.out / "options.json").write_text(
            json.dumps(
                {
                    "per_round_seconds": per_round,
                    "compile_seconds": compile_seconds,
                    "floor": floor,
                    "loadavg": {"start": load_start, "end": load_end},
                    "batch_size": args.batch_size,
                    "cpu": cpu_description(),
                    "torch": torch.__version__,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
