"""Seed pipeline vs the kit's fast path, in one process on one machine: speed, time to accuracy, memory.

    python benchmarks/bench.py --quick                 # a few batches per variant: checks the script works
    python benchmarks/bench.py                         # the measurement: each recipe's own epochs (seed 20, fast 4)

Variants (all train s5utils.models.Net, unchanged):
  seed       DataLoader + PIL transforms (num_workers), float32, SGD + StepLR: the S5 pipeline.
  kit-seed   the same seed recipe on the kit's path: MNIST on the device, batched augmentation,
             channels_last, autocast (--amp), optional torch.compile. Same work as `seed`, done faster.
  kit-fast   the kit's path with the fast recipe (OneCycle, Nesterov, label smoothing; s5utils/recipes.py).
"""
import argparse
import json
import platform
import resource
import shlex
import sys
import time
from pathlib import Path

import torch

from s5utils.config import make_config
from s5utils.device import get_device, set_seed
from s5utils.experiment import build_loaders, compile_for
from s5utils.models import Net
from s5utils.recipes import apply_recipe_defaults, build_recipe
from s5utils.speed import num_samples, resolve_speed, synchronize
from s5utils.train import evaluate, train_one_epoch

HERE = Path(__file__).resolve().parent
TARGETS = (98.55, 99.0)
AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}  # the seed README's final test accuracy, and 99 %


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model from /proc/cpuinfo where there is one."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak allocated since the last reset; CPU: the process's peak resident set size (never resets)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def run_variant(name: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Train one variant for args.epochs epochs; per-epoch train and eval times measured apart."""
    kit = name != "seed"
    config = apply_recipe_defaults(make_config(
        recipe="fast" if name == "kit-fast" else "seed", epochs=args.epochs or 20, seed=args.seed,
        data_path="tensor" if kit else "loader", amp=args.amp if kit else "off",
        channels_last=args.channels_last if kit else "off", compile=args.compile if kit else "off",
        num_workers=args.num_workers, max_batches=args.max_batches, data_root=args.data_root))
    speed = resolve_speed(config, device)
    set_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    train_loader, test_loader = build_loaders(config, device, speed.data_path)
    model = Net().to(device)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    steps = min(len(train_loader), config.max_batches or len(train_loader))
    recipe = build_recipe(config, model, steps)
    runner, compile_seconds = compile_for(model, speed, device, train_loader, test_loader)
    hooks = dict(amp_dtype=speed.amp_dtype, channels_last=speed.channels_last)
    epochs, elapsed, reached = [], 0.0, {}
    for epoch in range(1, config.epochs + 1):
        synchronize(device)
        start = time.perf_counter()
        train = train_one_epoch(runner, train_loader, recipe.optimizer, device, recipe.loss_fn, config.max_batches,
                                progress=False, batch_scheduler=recipe.batch_scheduler, **hooks)
        synchronize(device)
        train_seconds = time.perf_counter() - start
        test = evaluate(runner, test_loader, device, recipe.loss_fn, config.max_batches, **hooks)
        synchronize(device)
        seconds = time.perf_counter() - start
        if recipe.scheduler is not None:
            recipe.scheduler.step()
        elapsed += seconds
        images = min(steps * config.batch_size, num_samples(train_loader))
        epochs.append({"epoch": epoch, "train_seconds": train_seconds, "seconds": seconds,
                       "train_images_per_s": images / train_seconds, "test_acc": test["test_acc"],
                       "train_loss": train["train_loss"]})
        for target in TARGETS:
            if test["test_acc"] >= target and str(target) not in reached:
                reached[str(target)] = elapsed
        print(f"  {name} epoch {epoch}: {images / train_seconds:,.0f} train images/s, {seconds:.1f} s, "
              f"test {test['test_acc']:.2f}%", flush=True)
    return {
        "variant": name, "recipe": config.recipe, "data_path": speed.data_path, "amp": AMP_NAMES[speed.amp_dtype],
        "channels_last": speed.channels_last, "compile_seconds": compile_seconds, "batch_size": config.batch_size,
        "epochs": epochs,
        "train_images_per_s": sum(e["train_images_per_s"] for e in epochs) / len(epochs),
        "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
        "final_test_acc": epochs[-1]["test_acc"],
        **{f"seconds_to_{t}": reached.get(str(t)) for t in TARGETS},
        "peak_memory_mb": peak_memory_mb(device),
    }


def markdown(results: dict) -> str:
    """The results as a Markdown table, headed by the command, machine and versions."""
    env = results["environment"]
    fmt = lambda v, spec: "-" if v is None else format(v, spec)
    lines = (["**Quick mode: 5 batches per variant, a check that the script works, not a measurement.**", ""]
             if results["quick"] else [])
    lines += [f"Command: `{results['command']}`  ", f"Device: {env['device_name']} ({env['device']}), "
             f"torch {env['torch']}, {env['threads']} threads, {results['when']}", "",
             "| variant | recipe | data | amp | channels_last | train img/s | s/epoch | compile s | "
             f"s to {TARGETS[0]} % | s to {TARGETS[1]} % | final test % | peak MB |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["variants"]:
        lines.append(f"| {r['variant']} | {r['recipe']} | {r['data_path']} | {r['amp']} | {r['channels_last']} | "
                     f"{r['train_images_per_s']:,.0f} | {r['seconds_per_epoch']:.1f} | "
                     f"{fmt(r['compile_seconds'], '.1f')} | {fmt(r[f'seconds_to_{TARGETS[0]}'], '.1f')} | "
                     f"{fmt(r[f'seconds_to_{TARGETS[1]}'], '.1f')} | {r['final_test_acc']:.2f} | "
                     f"{r['peak_memory_mb']:,.0f} |")
    lines.append("")
    lines.append("Peak memory: CUDA = torch.cuda.max_memory_allocated per variant; CPU = the process's peak RSS "
                 "so far (ru_maxrss never resets, so later rows include earlier ones; DataLoader workers excluded).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 epoch of 5 batches per variant: a smoke check")
    parser.add_argument("--epochs", type=int, help="epochs for every variant (default: 1 with --quick, else each "
                        "recipe's own: seed 20, fast 4)")
    parser.add_argument("--variants", default="seed,kit-seed,kit-fast", help="comma-separated, run in this order")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", default="auto", help="kit autocast: auto (bf16 on CUDA, off on CPU), off, bf16, fp16")
    parser.add_argument("--compile", default="off", help="kit torch.compile mode, or off")
    parser.add_argument("--channels-last", default="auto", help="kit memory layout: auto (on except MPS), on, off")
    parser.add_argument("--num-workers", type=int, default=2, help="seed DataLoader workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=None, help="folder for results.json and RESULTS.md "
                        "(default: benchmarks/, or benchmarks/quick/ with --quick)")
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (1 if args.quick else None)
    args.max_batches = 5 if args.quick else None
    out = args.out or (HERE / "quick" if args.quick else HERE)
    device = get_device(args.device)

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(names) - {"seed", "kit-seed", "kit-fast"}
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from seed, kit-seed, kit-fast")
    name = device_name(device)
    results = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
               "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "environment": {"device": str(device), "device_name": name, "torch": torch.__version__,
                               "threads": torch.get_num_threads(), "python": platform.python_version()},
               "quick": args.quick, "variants": []}
    for variant in names:
        print(f"{variant}:", flush=True)
        results["variants"].append(run_variant(variant, args, device))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (out / "RESULTS.md").write_text("# Benchmark results\n\n" + table)
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
