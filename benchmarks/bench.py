"""Seed pipeline vs the kit's fast path, in one process on one machine: speed, time to accuracy, memory.

    python benchmarks/bench.py --quick                 # a few batches per variant: checks the script works
    python benchmarks/bench.py                         # the measurement: each recipe's own epochs (seed 20, fast 6)

First the compute floor of a training epoch is measured (compute_floor.py), then each variant trains
s5utils.models.Net, unchanged:
  seed       DataLoader + PIL transforms (num_workers), float32, SGD + StepLR: the S5 pipeline.
  kit-seed   the same seed recipe on the kit's path: MNIST on the device, batched augmentation,
             channels_last, autocast (--amp; auto = bf16 on CUDA and AMX CPUs), optional torch.compile.
  kit-fast   the kit's path with the fast recipe (OneCycle, Nesterov, label smoothing; s5utils/recipes.py).
Writes results.json and RESULTS.md (the table, the floors, and the ratios between variants).
"""
import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from compute_floor import TRAIN_IMAGES, measure_floor  # benchmarks/ is on sys.path when this script runs
from machine import peak_memory_mb  # benchmarks/ is on sys.path when this script runs
from s5utils.config import ConfigError, make_config
from s5utils.device import device_name, get_device, set_seed
from s5utils.experiment import build_loaders, compile_for
from s5utils.models import Net
from s5utils.recipes import build_recipe
from s5utils.speed import num_samples, resolve_speed, synchronize
from s5utils.train import evaluate, train_one_epoch

HERE = Path(__file__).resolve().parent
TARGETS = (98.55, 99.0)  # the seed README's final test accuracy, and 99 %
AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}


def run_variant(name: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Train one variant for args.epochs epochs (None: its recipe's own); per-epoch train and eval times measured apart."""
    kit = name != "seed"
    config = make_config(
        recipe="fast" if name == "kit-fast" else "seed", epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed,
        data_path="tensor" if kit else "loader", amp=args.amp if kit else "off",
        channels_last=args.channels_last if kit else "off", compile=args.compile if kit else "off",
        num_workers=args.num_workers, max_batches=args.max_batches, data_root=args.data_root)
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
        "train_seconds_per_epoch": sum(e["train_seconds"] for e in epochs) / len(epochs),
        "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
        "seconds_total": elapsed,
        "final_test_acc": epochs[-1]["test_acc"],
        **{f"seconds_to_{t}": reached.get(str(t)) for t in TARGETS},
        "peak_memory_mb": peak_memory_mb(device),
    }


def seconds(value: float | None, missing: str = "-") -> str:
    """Two decimals below 10 s (GPU epochs take fractions of a second), one above."""
    if value is None:
        return missing
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def comparisons(results: dict) -> list[str]:
    """The ratios the issue asks about, each from this run's own measurements."""
    by_name = {r["variant"]: r for r in results["variants"]}
    lines = []
    floors = results.get("floor", {}).get("floors", [])
    for name in ("kit-seed", "kit-fast"):
        if name in by_name and floors:
            train = TRAIN_IMAGES / by_name[name]["train_images_per_s"]  # a whole epoch, even in --quick mode
            ratios = ", ".join(f"{train / f['floor_seconds']:.2f}x the {f['measure']} floor "
                               f"({f['floor_seconds']:.3g} s)" for f in floors)
            amp = by_name[name]["amp"]
            own = "" if amp == "off" else f" It trains under {amp} autocast, so the {amp} floor is the one it can approach."
            lines.append(f"- {name}: {train:.3g} s per {TRAIN_IMAGES:,}-image training epoch = {ratios}.{own}")
    seed = by_name.get("seed")
    if seed and "kit-seed" in by_name:
        kit = by_name["kit-seed"]
        train_ratio = seed["train_seconds_per_epoch"] / kit["train_seconds_per_epoch"]
        epoch_ratio = seed["seconds_per_epoch"] / kit["seconds_per_epoch"]
        lines.append(f"- kit-seed vs seed, same recipe: {train_ratio:.2f}x faster training per epoch, {epoch_ratio:.2f}x "
                     f"per epoch with the test pass; final test {kit['final_test_acc']:.2f} % vs "
                     f"{seed['final_test_acc']:.2f} %.")
    if seed and "kit-fast" in by_name:
        target, fast = TARGETS[0], by_name["kit-fast"]
        fast_s, seed_s = fast[f"seconds_to_{target}"], seed[f"seconds_to_{target}"]
        if fast_s is None:
            lines.append(f"- kit-fast did not reach {target} % in its {len(fast['epochs'])} epochs.")
        elif seed_s is None:
            lines.append(f"- time to {target} %: kit-fast {fast_s:.1f} s; seed never reached it in its "
                         f"{len(seed['epochs'])} epochs ({seed['seconds_total']:.0f} s), so kit-fast is more than "
                         f"{seed['seconds_total'] / fast_s:.0f}x faster to it.")
        else:
            lines.append(f"- time to {target} %: kit-fast {fast_s:.1f} s vs seed {seed_s:.1f} s = "
                         f"{seed_s / fast_s:.1f}x faster.")
    return lines


def markdown(results: dict) -> str:
    """The results as a Markdown table, headed by the command, machine and versions."""
    env = results["environment"]
    lines = (["**Quick mode: 5 batches per variant, a check that the script works, not a measurement.**", ""]
             if results["quick"] else [])
    cudnn = (f", cudnn.benchmark {'on' if env['cudnn_benchmark'] else 'off'}"
             if env["device"].startswith("cuda") and "cudnn_benchmark" in env else "")  # absent in older results
    lines += [f"Command: `{results['command']}`  ", f"Device: {env['device_name']} ({env['device']}), "
              f"torch {env['torch']}, {env['threads']} threads{cudnn}, {results['when']}", ""]
    floor = results.get("floor")
    if floor:
        lines += [f"Compute floor, measured in this run: {floor['epoch_tflop']:.2f} TFLOP per training epoch "
                  "(forward + backward, torch.utils.flop_counter) at", ""]
        lines += [f"- {f['measure']}: {f['gflop_per_s']:,.1f} GFLOP/s -> {f['floor_seconds']:.3g} s per epoch"
                  for f in floor["floors"]]
        lines.append("")
    lines += ["| variant | recipe | batch | data | amp | channels_last | train img/s | train s/epoch | s/epoch | total s | "
              "compile s | "
              f"s to {TARGETS[0]} % | s to {TARGETS[1]} % | final test % | peak MB |",
              "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["variants"]:
        lines.append(f"| {r['variant']} | {r['recipe']} | {r['batch_size']} | {r['data_path']} | {r['amp']} | "
                     f"{r['channels_last']} | "
                     f"{r['train_images_per_s']:,.0f} | {seconds(r['train_seconds_per_epoch'])} | "
                     f"{seconds(r['seconds_per_epoch'])} | {seconds(r['seconds_total'])} | "
                     f"{seconds(r['compile_seconds'])} | {seconds(r[f'seconds_to_{TARGETS[0]}'], 'not reached')} | "
                     f"{seconds(r[f'seconds_to_{TARGETS[1]}'], 'not reached')} | {r['final_test_acc']:.2f} | "
                     f"{r['peak_memory_mb']:,.0f} |")
    lines += ["", "s/epoch includes the test pass; total s is all epochs with their test passes; times to accuracy "
              "add up whole epochs (training + test pass).", ""]
    lines += comparisons(results)
    lines += ["", "Peak memory: CUDA = torch.cuda.max_memory_allocated per variant; CPU = the process's peak RSS "
              "so far (ru_maxrss never resets, so later rows include earlier ones; DataLoader workers excluded)."]
    return "\n".join(lines) + "\n"


def write_report(out: Path, results: dict) -> str:
    """Write RESULTS.md (the Markdown report) into out; returns the report's body."""
    table = markdown(results)
    (out / "RESULTS.md").write_text("# Benchmark results\n\n" + table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 epoch of 5 batches per variant: a smoke check")
    parser.add_argument("--epochs", type=int, help="epochs for every variant (default: 1 with --quick, else each "
                        "recipe's own: seed 20, fast 6)")
    parser.add_argument("--batch-size", type=int, help="batch size for every variant (default: each recipe's own: "
                        "seed 512, fast 128)")
    parser.add_argument("--lr", type=float, help="learning rate for every variant, the OneCycle peak for the fast "
                        "recipe (default: each recipe's own)")
    parser.add_argument("--variants", default="seed,kit-seed,kit-fast", help="comma-separated, run in this order")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", default="auto", help="kit autocast: auto (bf16 on CUDA and AMX CPUs, else off), off, bf16, fp16")
    parser.add_argument("--compile", default="off", help="kit torch.compile mode, or off")
    parser.add_argument("--channels-last", default="auto", help="kit memory layout: auto (on except MPS), on, off")
    parser.add_argument("--cudnn-benchmark", choices=("on", "off"), default="off",
                        help="CUDA: let cuDNN time its conv algorithms for each shape (every variant); off is PyTorch's default")
    parser.add_argument("--num-workers", type=int, default=2, help="seed DataLoader workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the compute floor")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite RESULTS.md from the results.json already in --out")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=None, help="folder for results.json and RESULTS.md "
                        "(default: benchmarks/, or benchmarks/quick/ with --quick)")
    args = parser.parse_args(argv)
    if args.epochs is None and args.quick:
        args.epochs = 1
    try:  # before minutes of measuring: a bad value would otherwise stop the run at its first variant
        make_config(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, amp=args.amp,
                    channels_last=args.channels_last, compile=args.compile, device=args.device)
    except ConfigError as exc:
        parser.error(str(exc))
    args.max_batches = 5 if args.quick else None
    out = args.out or (HERE / "quick" if args.quick else HERE)
    if args.report_only:
        if not (out / "results.json").is_file():
            parser.error(f"--report-only rewrites {out / 'RESULTS.md'} from {out / 'results.json'}, which does not "
                         "exist; run the benchmark first")
        write_report(out, json.loads((out / "results.json").read_text()))
        return 0
    device = get_device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark == "on"

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(names) - {"seed", "kit-seed", "kit-fast"}
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from seed, kit-seed, kit-fast")
    name = device_name(device)
    results = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
               "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "environment": {"device": str(device), "device_name": name, "torch": torch.__version__,
                               "threads": torch.get_num_threads(), "python": platform.python_version(),
                               "cudnn_benchmark": torch.backends.cudnn.benchmark},
               "quick": args.quick, "variants": []}
    if not args.no_floor:
        print("measuring the compute floor ...", flush=True)
        results["floor"] = measure_floor(device, repeats=2 if args.quick else 5)
    for variant in names:
        print(f"{variant}:", flush=True)
        results["variants"].append(run_variant(variant, args, device))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = write_report(out, results)
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
