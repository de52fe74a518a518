"""Time to 99 % test accuracy of the fast recipe on this machine, float32 and amp="auto", in one run.

    python benchmarks/time_to_accuracy.py            # the fast recipe's own 6 epochs, seed 1, --amp off then auto
    python benchmarks/time_to_accuracy.py --quick    # 1 epoch of 2 batches each: checks the script (temp folder)

Each variant is the public command line, `python -m s5utils train --recipe fast --amp off|auto --seed 1`, in a
subprocess, one after the other. From each run's metrics.json: the time to 99 % is the sum of the history rows'
`seconds` (each epoch's training and test pass) up to and including the first epoch with test_acc >= 99; the
final accuracy is the last epoch's test accuracy and the fast recipe's test-time-augmented one (`final_tta`).
Writes README.md (the table, the CPU model and its bf16 flags, the command, the load average) and each run's
metrics.json and training plot into --out (default results/fast-recipe-cpu-time-to-99/).
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import cpu_description  # benchmarks/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parents[1]
TARGET = 99.0


def seconds_to(history: list[dict], target: float) -> float | None:
    """Cumulative history seconds up to the first epoch with test_acc >= target; None if never reached."""
    total = 0.0
    for row in history:
        total += row["seconds"]
        if row["test_acc"] >= target:
            return total
    return None


def sample_load(samples: list[float], stop: threading.Event, every: float = 10.0) -> None:
    """Append the 1-minute load average to samples every `every` seconds until stop is set."""
    while not stop.wait(every):
        samples.append(os.getloadavg()[0])


def train(amp: str, args: argparse.Namespace, out: Path) -> dict:
    """One `python -m s5utils train` run; returns its metrics.json with the command and load averages added."""
    command = [
        sys.executable,
        "-m",
        "s5utils",
        "train",
        "--recipe",
        "fast",
        "--amp",
        amp,
        "--seed",
        str(args.seed),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    if args.quick:
        command += ["--epochs", "1", "--max-batches", "2", "--num-workers", "0"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    load_before, samples, stop = os.getloadavg(), [], threading.Event()
    sampler = threading.Thread(target=sample_load, args=(samples, stop), daemon=True)
    sampler.start()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if done.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    (run_dir,) = [p.parent for p in out.glob("*/metrics.json")]
    record = json.loads((run_dir / "metrics.json").read_text())
    precision = next((line for line in done.stdout.splitlines() if line.startswith("Precision: ")), "")
    record["_bench"] = {
        "command": "python -m s5utils " + shlex.join(command[3:-2]),
        "run_dir": run_dir,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "process_seconds": wall,
        "load_samples": samples,
        "precision_line": precision,
    }
    return record


def row(amp: str, record: dict) -> str:
    history, bench = record["history"], record["_bench"]
    reached = seconds_to(history, TARGET)
    epoch = next((r["epoch"] for r in history if r["test_acc"] >= TARGET), None)
    tta = record.get("final_tta", {}).get("test_acc")
    load = (
        ", ".join(f"{x:.2f}" for x in bench["load_before"]) + " / " + ", ".join(f"{x:.2f}" for x in bench["load_after"])
    )
    if bench["load_samples"]:
        samples = bench["load_samples"]
        load += f" (1-min load every 10 s: mean {statistics.mean(samples):.2f}, max {max(samples):.2f})"
    return (
        f"| `--amp {amp}` | {bench['precision_line'].removeprefix('Precision: ')} | "
        + (f"{reached:.1f} (epoch {epoch})" if reached is not None else f"not reached in {len(history)} epochs")
        + f" | {sum(r['seconds'] for r in history):.1f} | {history[-1]['test_acc']:.2f} | "
        + (f"{tta:.2f}" if tta is not None else "-")
        + f" | {record['wall_seconds']:.1f} | "
        + f"{bench['process_seconds']:.1f} | {load} |"
    )


def answer(records: dict) -> str:
    """One sentence: each variant's time to the target and final accuracy, and the speed-up of auto over off."""
    parts = []
    for amp, record in records.items():
        reached = seconds_to(record["history"], TARGET)
        words = f"{reached:.1f} s" if reached is not None else "not reached"
        parts.append(f"`--amp {amp}` {words} to {TARGET:g} % (final {record['history'][-1]['test_acc']:.2f} %)")
    line = "Answer: " + "; ".join(parts) + "."
    if {"off", "auto"} <= records.keys():
        off, auto = (seconds_to(records[a]["history"], TARGET) for a in ("off", "auto"))
        if off and auto:
            line += f" auto reaches it {off / auto:.2f}x sooner than float32."
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 epoch of 2 batches per variant: a smoke check")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--amps", default="off,auto", help="comma-separated --amp values, run in this order")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for README.md and the runs (default: results/fast-recipe-cpu-time-to-99/, "
        "or a temporary folder with --quick)",
    )
    args = parser.parse_args(argv)
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="time-to-accuracy-"))
        if args.quick
        else ROOT / "results" / "fast-recipe-cpu-time-to-99"
    )
    out.mkdir(parents=True, exist_ok=True)
    cpu = cpu_description()
    print(f"CPU: {cpu}", flush=True)
    records = {}
    with tempfile.TemporaryDirectory() as scratch:
        for amp in [a.strip() for a in args.amps.split(",") if a.strip()]:
            print(f"--amp {amp} ...", flush=True)
            records[amp] = train(amp, args, Path(scratch) / amp)
            keep = out / f"amp-{amp}"
            shutil.rmtree(keep, ignore_errors=True)
            keep.mkdir()
            for name in ("metrics.json", "training_plot.png"):
                if (records[amp]["_bench"]["run_dir"] / name).is_file():
                    shutil.copy2(records[amp]["_bench"]["run_dir"] / name, keep / name)
            print(row(amp, records[amp]), flush=True)
    command = "python " + shlex.join(["benchmarks/time_to_accuracy.py", *(argv if argv is not None else sys.argv[1:])])
    lines = ['# The fast recipe\'s time to 99 % on this CPU, float32 and amp="auto"', ""]
    if args.quick:
        lines += [
            "**Quick mode: 1 epoch of 2 batches per variant, a check that the script works, not a measurement.**",
            "",
        ]
    lines += [
        "Question: how long does the fast recipe (`--recipe fast`, 6 epochs, seed "
        f"{args.seed}) take to reach {TARGET:g} % test accuracy on the CPU students train on, in float32 "
        "(`--amp off`) and with `--amp auto`, and where does it end?",
        "",
        f"Command: `{command}` (each variant is `python -m s5utils train --recipe fast --amp AMP --seed {args.seed} "
        "--device cpu`, run one after the other in subprocesses)  ",
        f"CPU: {cpu}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"| amp | precision the run printed | s to {TARGET:g} % | s all epochs | final test % "
        "| final test % with TTA | "
        "wall s (metrics.json) | command s | load avg before / after |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [row(amp, record) for amp, record in records.items()]
    lines += ["", answer(records)]
    lines += [
        "",
        f"s to {TARGET:g} %: the history rows' `seconds` (training + test pass of each epoch) summed up to the "
        f"first epoch whose test accuracy is >= {TARGET:g} %; wall s: the run's own `wall_seconds` "
        "(data loading, the final TTA pass and writing the run folder included); command s: from starting the "
        "command to its exit (Python and torch imports included), what a student waits. Load average: "
        "`os.getloadavg()` (1, 5, 15 min) just before and after each run.",
        "",
        "Each `amp-*/` folder holds that run's `metrics.json` and training plot.",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
