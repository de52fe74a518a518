"""Seed pipeline vs the kit's fast path, in one process on one machine: speed, time to accuracy, memory.

    python benchmarks/bench.py --quick                 # a few batches per variant: checks the script works
    python benchmarks/bench.py                         # the measurement: each recipe's own epochs (seed 20, fast 6)
    python benchmarks/bench.py --epochs 1 --variants seed,kit-fp32,kit-seed   # one epoch each: epoch times, floors

First the compute floors of a training epoch are measured (compute_floor.py: fp32 and bf16), then each variant
trains s5utils.models.Net, unchanged:
  seed       DataLoader + PIL transforms (num_workers), float32, SGD + StepLR: the S5 pipeline.
  kit-fp32   the same seed recipe on the kit's path in float32 (--amp off): MNIST on the device, batched
             augmentation, channels_last, optional torch.compile.
  kit-seed   the same, with autocast (--amp; auto = bf16 on CUDA 8.0+ and on CPUs with AMX or AVX512_BF16).
  kit-fast   the fast recipe (OneCycle, Nesterov, label smoothing; s5utils/training/recipes.py), --amp.
The variants take turns epoch by epoch (epoch 1 of each, then epoch 2 of each, ...), so a burst of load from
other processes falls on all of them alike. Writes results.json and RESULTS.md (the table, the floors, each
variant's training epoch against its precision's floor, and the ratios between variants).
"""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from compute_floor import TRAIN_IMAGES, measure_floor, precision_floors  # benchmarks/ is on sys.path when run
from machine import cpu_description, peak_memory_mb  # benchmarks/ is on sys.path when this script runs

from s5utils.config import ConfigError, make_config
from s5utils.device import device_name, get_device, set_seed
from s5utils.models import Net
from s5utils.runs.recipe_runner import build_loaders
from s5utils.training.loop import evaluate, train_one_epoch
from s5utils.training.recipes import build_recipe
from s5utils.training.speed import compile_for, num_samples, resolve_speed, synchronize

HERE = Path(__file__).resolve().parent
TARGETS = (98.55, 99.0)  # the seed README's final test accuracy, and 99 %
AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}
VARIANTS = ("seed", "kit-fp32", "kit-seed", "kit-fast")
GOAL = 1.3  # the kit's epoch within 1.3x of its precision's floor (issue 20)


class Variant:
    """One variant's model, loaders and recipe, trained one epoch per call of run_epoch()."""

    def __init__(self, name: str, args: argparse.Namespace, device: torch.device) -> None:
        kit = name != "seed"
        amp = ("off" if name == "kit-fp32" else args.amp) if kit else "off"
        self.name, self.device = name, device
        self.config = config = make_config(
            recipe="fast" if name == "kit-fast" else "seed",
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            data_path="tensor" if kit else "loader",
            amp=amp,
            channels_last=args.channels_last if kit else "off",
            compile=args.compile if kit else "off",
            num_workers=args.num_workers,
            max_batches=args.max_batches,
            data_root=args.data_root,
        )
        self.speed = speed = resolve_speed(config, device)
        set_seed(config.seed)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        self.train_loader, self.test_loader = build_loaders(config, device, speed.data_path)
        model = Net().to(device)
        if speed.channels_last:
            model.to(memory_format=torch.channels_last)
        self.steps = min(len(self.train_loader), config.max_batches or len(self.train_loader))
        self.recipe = build_recipe(config, model, self.steps)
        self.runner, self.compile_seconds = compile_for(model, speed, device, self.train_loader, self.test_loader)
        self.epochs, self.elapsed, self.reached = [], 0.0, {}

    @property
    def done(self) -> bool:
        return len(self.epochs) >= self.config.epochs

    def run_epoch(self) -> None:
        """Train one epoch and test; per-epoch train and eval times measured apart."""
        config, device, recipe, hooks = (
            self.config,
            self.device,
            self.recipe,
            dict(amp_dtype=self.speed.amp_dtype, channels_last=self.speed.channels_last),
        )
        epoch = len(self.epochs) + 1
        synchronize(device)
        start = time.perf_counter()
        train = train_one_epoch(
            self.runner,
            self.train_loader,
            recipe.optimizer,
            device,
            recipe.loss_fn,
            config.max_batches,
            progress=False,
            batch_scheduler=recipe.batch_scheduler,
            **hooks,
        )
        synchronize(device)
        train_seconds = time.perf_counter() - start
        test = evaluate(self.runner, self.test_loader, device, recipe.loss_fn, config.max_batches, **hooks)
        synchronize(device)
        seconds = time.perf_counter() - start
        if recipe.scheduler is not None:
            recipe.scheduler.step()
        self.elapsed += seconds
        images = min(self.steps * config.batch_size, num_samples(self.train_loader))
        self.epochs.append(
            {
                "epoch": epoch,
                "train_seconds": train_seconds,
                "seconds": seconds,
                "train_images_per_s": images / train_seconds,
                "test_acc": test["test_acc"],
                "train_loss": train["train_loss"],
                "loadavg": list(os.getloadavg()),
            }
        )
        for target in TARGETS:
            if test["test_acc"] >= target and str(target) not in self.reached:
                self.reached[str(target)] = self.elapsed
        print(
            f"  {self.name} epoch {epoch}: {images / train_seconds:,.0f} train images/s, {seconds:.1f} s, "
            f"test {test['test_acc']:.2f}%, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )

    def result(self) -> dict:
        epochs, config, speed = self.epochs, self.config, self.speed
        return {
            "variant": self.name,
            "recipe": config.recipe,
            "data_path": speed.data_path,
            "amp": AMP_NAMES[speed.amp_dtype],
            "precision": speed.precision,
            "channels_last": speed.channels_last,
            "compile_seconds": self.compile_seconds,
            "batch_size": config.batch_size,
            "epochs": epochs,
            "train_images_per_s": sum(e["train_images_per_s"] for e in epochs) / len(epochs),
            "train_seconds_per_epoch": sum(e["train_seconds"] for e in epochs) / len(epochs),
            "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
            "seconds_total": self.elapsed,
            "final_test_acc": epochs[-1]["test_acc"],
            **{f"seconds_to_{t}": self.reached.get(str(t)) for t in TARGETS},
            "peak_memory_mb": peak_memory_mb(self.device),
        }


def run_variants(names: list[str], args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Set every variant up, then train them in turns, one epoch each per turn; their results in names' order."""
    variants = []
    for name in names:
        print(f"{name}: setting up", flush=True)
        variants.append(Variant(name, args, device))
    while not all(v.done for v in variants):
        for variant in variants:
            if not variant.done:
                variant.run_epoch()
    return [v.result() for v in variants]


def seconds(value: float | None, missing: str = "-") -> str:
    """Two decimals below 10 s (GPU epochs take fractions of a second), one above."""
    if value is None:
        return missing
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def comparisons(results: dict) -> list[str]:
    """The ratios the issue asks about, each from this run's own measurements."""
    by_name = {r["variant"]: r for r in results["variants"]}
    lines = []
    floor = results.get("floor")
    own_floors = precision_floors(floor) if floor else {}
    for name in VARIANTS:
        if name in by_name and own_floors:
            variant = by_name[name]
            train = TRAIN_IMAGES / variant["train_images_per_s"]  # a whole epoch, even in --quick mode
            precision = "fp32" if variant["amp"] == "off" else variant["amp"]
            own = own_floors.get(precision)
            if own is None:
                continue
            ratio = train / own["floor_seconds"]
            goal = (
                (f"; within the {GOAL}x goal" if ratio <= GOAL else f"; {ratio / GOAL:.2f}x over the {GOAL}x goal")
                if name in ("kit-seed", "kit-fast")
                else ""
            )
            test = variant["seconds_per_epoch"] - variant["train_seconds_per_epoch"]
            lines.append(
                f"- {name} ({precision}): {train:.3g} s per {TRAIN_IMAGES:,}-image training epoch = "
                f"**{ratio:.2f}x the {precision} floor** ({own['floor_seconds']:.3g} s, {own['measure']}){goal}; "
                f"its test pass adds {test:.3g} s."
            )
    seed = by_name.get("seed")
    for slow, fast in (("seed", "kit-fp32"), ("seed", "kit-seed"), ("kit-fp32", "kit-seed")):
        if slow in by_name and fast in by_name:
            a, b = by_name[slow], by_name[fast]
            train_ratio = a["train_seconds_per_epoch"] / b["train_seconds_per_epoch"]
            epoch_ratio = a["seconds_per_epoch"] / b["seconds_per_epoch"]
            lines.append(
                f"- {fast} vs {slow}, same recipe: {train_ratio:.2f}x faster training per epoch, "
                f"{epoch_ratio:.2f}x per epoch with the test pass; final test {b['final_test_acc']:.2f} % vs "
                f"{a['final_test_acc']:.2f} %."
            )
    if seed and "kit-fast" in by_name:
        target, fast = TARGETS[0], by_name["kit-fast"]
        fast_s, seed_s = fast[f"seconds_to_{target}"], seed[f"seconds_to_{target}"]
        if fast_s is None:
            lines.append(f"- kit-fast did not reach {target} % in its {len(fast['epochs'])} epochs.")
        elif seed_s is None:
            lines.append(
                f"- time to {target} %: kit-fast {fast_s:.1f} s; seed never reached it in its "
                f"{len(seed['epochs'])} epochs ({seed['seconds_total']:.0f} s), so kit-fast is more than "
                f"{seed['seconds_total'] / fast_s:.0f}x faster to it."
            )
        else:
            lines.append(
                f"- time to {target} %: kit-fast {fast_s:.1f} s vs seed {seed_s:.1f} s = {seed_s / fast_s:.1f}x faster."
            )
    return lines


def markdown(results: dict) -> str:
    """The results as a Markdown table, headed by the command, machine and versions."""
    env = results["environment"]
    lines = (
        ["**Quick mode: 5 batches per variant, a check that the script works, not a measurement.**", ""]
        if results["quick"]
        else []
    )
    if results.get("max_batches") and not results["quick"]:
        lines += [
            f"**{results['max_batches']} training batches per epoch (--max-batches)**: seconds per training epoch "
            "and the floor ratios are scaled to a whole 60,000-image epoch from the measured images/s; test "
            "accuracies are those of these short epochs.",
            "",
        ]
    cudnn = (
        f", cudnn.benchmark {'on' if env['cudnn_benchmark'] else 'off'}"
        if env["device"].startswith("cuda") and "cudnn_benchmark" in env
        else ""
    )  # absent in older results
    lines += [
        f"Command: `{results['command']}`  ",
        f"Device: {env['device_name']} ({env['device']}), "
        f"torch {env['torch']}, {env['threads']} threads{cudnn}, {results['when']}  ",
    ]
    if env.get("cpu"):
        lines.append(f"CPU: {env['cpu']}  ")
    if results.get("loadavg"):
        lines.append(
            "Load average (1, 5, 15 min) at the start / end: "
            + " / ".join(", ".join(f"{x:.2f}" for x in results["loadavg"][k]) for k in ("start", "end"))
            + "  "
        )
    precisions = sorted({r["precision"] for r in results["variants"] if r.get("precision")})
    if precisions:
        lines.append("Precision: " + "; ".join(f"`{p}`" for p in precisions))
    lines.append("")
    floor = results.get("floor")
    if floor:
        lines += [
            f"Compute floor, measured in this run: {floor['epoch_tflop']:.2f} TFLOP per training epoch "
            "(forward + backward, torch.utils.flop_counter) at",
            "",
        ]
        lines += [
            f"- {f['measure']}: {f['gflop_per_s']:,.1f} GFLOP/s -> {f['floor_seconds']:.3g} s per epoch"
            for f in floor["floors"]
        ]
        lines.append("")
    lines += [
        "| variant | recipe | batch | data | amp | channels_last | train img/s | train s/epoch | s/epoch | total s | "
        "compile s | "
        f"s to {TARGETS[0]} % | s to {TARGETS[1]} % | final test % | peak MB |",
        "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["variants"]:
        lines.append(
            f"| {r['variant']} | {r['recipe']} | {r['batch_size']} | {r['data_path']} | {r['amp']} | "
            f"{r['channels_last']} | "
            f"{r['train_images_per_s']:,.0f} | {seconds(r['train_seconds_per_epoch'])} | "
            f"{seconds(r['seconds_per_epoch'])} | {seconds(r['seconds_total'])} | "
            f"{seconds(r['compile_seconds'])} | {seconds(r[f'seconds_to_{TARGETS[0]}'], 'not reached')} | "
            f"{seconds(r[f'seconds_to_{TARGETS[1]}'], 'not reached')} | {r['final_test_acc']:.2f} | "
            f"{r['peak_memory_mb']:,.0f} |"
        )
    lines += [
        "",
        "s/epoch includes the test pass; total s is all epochs with their test passes; times to accuracy "
        "add up whole epochs (training + test pass). The variants took turns epoch by epoch.",
        "",
    ]
    lines += comparisons(results)
    lines += [
        "",
        "Peak memory: CUDA = torch.cuda.max_memory_allocated per variant; CPU = the process's peak RSS "
        "so far (ru_maxrss never resets, so later rows include earlier ones; DataLoader workers excluded).",
    ]
    return "\n".join(lines) + "\n"


def write_report(out: Path, results: dict) -> str:
    """Write RESULTS.md (the Markdown report) into out; returns the report's body."""
    table = markdown(results)
    (out / "RESULTS.md").write_text("# Benchmark results\n\n" + table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 epoch of 5 batches per variant: a smoke check")
    parser.add_argument(
        "--epochs",
        type=int,
        help="epochs for every variant (default: 1 with --quick, else each recipe's own: seed 20, fast 6)",
    )
    parser.add_argument(
        "--batch-size", type=int, help="batch size for every variant (default: each recipe's own: seed 512, fast 128)"
    )
    parser.add_argument(
        "--lr",
        type=float,
        help="learning rate for every variant, the OneCycle peak for the fast recipe (default: each recipe's own)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated, set up in this order and trained in turns, one epoch each",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--amp",
        default="auto",
        help="kit-seed and kit-fast autocast: auto (bf16 on CUDA 8.0+ and on CPUs with AMX or AVX512_BF16, "
        "else off), off, bf16, fp16",
    )
    parser.add_argument("--compile", default="off", help="kit torch.compile mode, or off")
    parser.add_argument("--channels-last", default="auto", help="kit memory layout: auto (on except MPS), on, off")
    parser.add_argument(
        "--cudnn-benchmark",
        choices=("on", "off"),
        default="off",
        help="CUDA: let cuDNN time its conv algorithms for each shape (every variant); off is PyTorch's default",
    )
    parser.add_argument("--num-workers", type=int, default=2, help="seed DataLoader workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-batches",
        type=int,
        help="training (and test) batches per epoch for every variant "
        "(default all; 5 with --quick); images/s and the floor ratios stay per whole epoch",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the compute floor")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from the results.json already in --out",
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for results.json and RESULTS.md (default: benchmarks/, or benchmarks/quick/ with --quick)",
    )
    args = parser.parse_args(argv)
    if args.epochs is None and args.quick:
        args.epochs = 1
    try:  # before minutes of measuring: a bad value would otherwise stop the run at its first variant
        make_config(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            amp=args.amp,
            channels_last=args.channels_last,
            compile=args.compile,
            device=args.device,
            max_batches=args.max_batches,
        )
    except ConfigError as exc:
        parser.error(str(exc))
    if args.max_batches is None and args.quick:
        args.max_batches = 5
    out = args.out or (HERE / "quick" if args.quick else HERE)
    if args.report_only:
        if not (out / "results.json").is_file():
            parser.error(
                f"--report-only rewrites {out / 'RESULTS.md'} from {out / 'results.json'}, which does not "
                "exist; run the benchmark first"
            )
        write_report(out, json.loads((out / "results.json").read_text()))
        return 0
    device = get_device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark == "on"

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    name = device_name(device)
    results = {
        "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": {
            "device": str(device),
            "device_name": name,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            **({"cpu": cpu_description()} if device.type == "cpu" else {}),
        },
        "quick": args.quick,
        "max_batches": args.max_batches,
        "loadavg": {"start": list(os.getloadavg())},
        "variants": [],
    }
    if not args.no_floor:
        print("measuring the compute floor ...", flush=True)
        results["floor"] = measure_floor(device, repeats=2 if args.quick else 5)
    results["variants"] = run_variants(names, args, device)
    results["loadavg"]["end"] = list(os.getloadavg())
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = write_report(out, results)
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
