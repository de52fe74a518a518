"""Does bf16 autocast on this CPU cost the seed recipe accuracy? The same seeds in bf16 and float32, paired.

    python benchmarks/cpu_bf16_accuracy.py                # seeds 1-4, 2 epochs each, --amp bf16 and --amp off
    python benchmarks/cpu_bf16_accuracy.py --quick        # seed 1, 1 epoch of 1 batch of 64: checks the script

Each run is the public command line, `python -m s5utils train --amp bf16|off --epochs N --seed S`, in a
subprocess (the seed recipe on the kit's default path: tensor data, channels_last). Both runs of a seed draw the
same batches and augmentation (seeded), so the pair differs only in precision. The two runs of a seed follow
each other, the order alternating from seed to seed. Writes README.md (question, command, answer, the table,
the CPU model and its bf16 flags) and each run's metrics.json into --out (default results/cpu-bf16-accuracy/).
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
import time
from math import comb
from pathlib import Path

from machine import cpu_description  # benchmarks/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parents[1]


def sign_test(differences: list[float]) -> float:
    """Exact two-sided sign test p-value of the non-zero differences (1.0 when there are none)."""
    signs = [d for d in differences if d != 0]
    n, k = len(signs), sum(d > 0 for d in signs)
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def train(amp: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    """One `python -m s5utils train` run; returns its metrics.json, with the printed precision and load added."""
    flags = ["train", "--amp", amp, "--epochs", str(args.epochs), "--seed", str(seed), "--device", "cpu"]
    if args.max_batches:
        flags += ["--max-batches", str(args.max_batches)]
    if args.quick:  # a small batch: on a CPU without bf16 units, bf16 autocast is emulated and slow
        flags += ["--num-workers", "0", "--batch-size", "64"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    load = os.getloadavg()
    done = subprocess.run(
        [sys.executable, "-m", "s5utils", *flags, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"python -m s5utils {shlex.join(flags)} failed:\n{done.stderr[-3000:]}")
    (run_dir,) = [p.parent for p in out.glob("*/metrics.json")]
    record = json.loads((run_dir / "metrics.json").read_text())
    record["_bench"] = {
        "run_dir": run_dir,
        "load": load,
        "flags": flags,
        "precision": next(
            (line.removeprefix("Precision: ") for line in done.stdout.splitlines() if line.startswith("Precision: ")),
            "",
        ),
    }
    return record


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('ch') else 's'}"


def flags_of(record: dict) -> list[str]:
    return record["_bench"]["flags"]


def load_words(record: dict) -> str:
    load = record["_bench"].get("load")
    return f"{load[0]:.2f}" if load else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="seed 1, 1 epoch of 1 batch of 64: a smoke check")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 1 2 3 4 (1 with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default 2 (1 with --quick)")
    parser.add_argument("--max-batches", type=int, default=None, help="batches per epoch (default all; 1 with --quick)")
    parser.add_argument(
        "--out", type=Path, default=None, help="default results/cpu-bf16-accuracy/ (a temporary folder with --quick)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: rewrite README.md from the "
        "seed-S-AMP/metrics.json pairs already in --out (e.g. those an interrupted run finished)",
    )
    args = parser.parse_args(argv)
    args.seeds = args.seeds or ([1] if args.quick else [1, 2, 3, 4])
    args.epochs = args.epochs or (1 if args.quick else 2)
    args.max_batches = args.max_batches or (1 if args.quick else None)
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="cpu-bf16-accuracy-")) if args.quick else ROOT / "results" / "cpu-bf16-accuracy"
    )
    out.mkdir(parents=True, exist_ok=True)
    cpu = cpu_description()
    print(f"CPU: {cpu}", flush=True)
    started = time.perf_counter()
    runs: dict[tuple[int, str], dict] = {}
    if args.report_only:
        for seed in args.seeds:
            pair = {amp: out / f"seed-{seed}-{amp}" / "metrics.json" for amp in ("off", "bf16")}
            if all(path.is_file() for path in pair.values()):
                for amp, path in pair.items():
                    record = json.loads(path.read_text())
                    bench = (
                        json.loads((path.parent / "bench.json").read_text())
                        if (path.parent / "bench.json").is_file()
                        else {}
                    )
                    record["_bench"] = {
                        "load": bench.get("load"),
                        "precision": bench.get("precision", record.get("speed", {}).get("precision", "")),
                    }
                    runs[seed, amp] = record
        args.seeds = sorted({seed for seed, _ in runs})
        if not args.seeds:
            sys.exit(f"no seed-S-off / seed-S-bf16 pairs of metrics.json under {out}")
        config = next(iter(runs.values()))["config"]
        args.epochs, args.max_batches = config["epochs"], config["max_batches"]
    with tempfile.TemporaryDirectory() as scratch:
        for i, seed in enumerate([] if args.report_only else args.seeds):
            for amp in ("off", "bf16") if i % 2 == 0 else ("bf16", "off"):
                record = train(amp, seed, args, Path(scratch) / f"{amp}-{seed}")
                runs[seed, amp] = record
                keep = out / f"seed-{seed}-{amp}"
                shutil.rmtree(keep, ignore_errors=True)
                keep.mkdir()
                shutil.copy2(record["_bench"]["run_dir"] / "metrics.json", keep / "metrics.json")
                (keep / "bench.json").write_text(
                    json.dumps(
                        {
                            "load": record["_bench"]["load"],
                            "flags": flags_of(record),
                            "precision": record["_bench"]["precision"],
                        }
                    )
                    + "\n"
                )
                history = record["history"]
                print(
                    f"seed {seed} --amp {amp}: test "
                    + ", ".join(f"{r['test_acc']:.2f}" for r in history)
                    + f" %, {sum(r['seconds'] for r in history):.1f} s, load {record['_bench']['load'][0]:.2f}",
                    flush=True,
                )
    total = time.perf_counter() - started

    rows, diffs = [], []
    for seed in args.seeds:
        f32, bf16 = runs[seed, "off"], runs[seed, "bf16"]
        a, b = f32["history"][-1]["test_acc"], bf16["history"][-1]["test_acc"]
        diffs.append(b - a)
        per_epoch = lambda r: ", ".join(f"{x['test_acc']:.2f}" for x in r["history"])  # noqa: E731
        seconds = lambda r: sum(x["seconds"] for x in r["history"]) / len(r["history"])  # noqa: E731
        rows.append(
            f"| {seed} | {per_epoch(f32)} | {per_epoch(bf16)} | {b - a:+.2f} | {f32['history'][-1]['test_loss']:.4f} | "
            f"{bf16['history'][-1]['test_loss']:.4f} | {seconds(f32):.1f} | {seconds(bf16):.1f} | "
            f"{load_words(f32)} / {load_words(bf16)} |"
        )
    wins = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs), sum(d == 0 for d in diffs)
    p = sign_test(diffs)
    batches = f", {plural(args.max_batches, 'batch')} per epoch" if args.max_batches else ""
    command = "python " + shlex.join(["benchmarks/cpu_bf16_accuracy.py", *(argv if argv is not None else sys.argv[1:])])
    precisions = sorted({r["_bench"]["precision"] for r in runs.values()})
    answer = (
        f"Answer: over seeds {', '.join(map(str, args.seeds))} after {plural(args.epochs, 'epoch')}{batches}, "
        "bf16 minus "
        f"float32 test accuracy has median {statistics.median(diffs):+.2f} and mean {statistics.mean(diffs):+.2f} "
        f"points (range {min(diffs):+.2f} to {max(diffs):+.2f}); bf16 higher in {wins[0]}, lower in {wins[1]}, "
        f"equal in {wins[2]}; exact sign test p = {p:.3f}."
    )
    lines = ["# Seed recipe accuracy under CPU bf16 autocast, paired with float32 by seed", ""]
    if args.quick:
        lines += ["**Quick mode: 1 epoch of 1 batch of 64, a check that the script works, not a measurement.**", ""]
    lines += [
        f"Question: does bf16 autocast on this CPU (AVX512_BF16, no AMX) cost the seed recipe accuracy? The same seeds "
        f"train in bf16 (`--amp bf16`) and float32 (`--amp off`) for {plural(args.epochs, 'epoch')}{batches}; "
        "each pair draws the "
        "same batches and augmentation, so it differs only in precision.",
        "",
        f"Command: `{command}` (each run: `python -m s5utils train --amp bf16|off --epochs {args.epochs} --seed S "
        f"--device cpu`{' --max-batches ' + str(args.max_batches) if args.max_batches else ''}, a subprocess; a "
        "seed's two runs follow each other, the order alternating by seed)  ",
        f"CPU: {cpu}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        + ("" if args.report_only else f"; {total / 60:.1f} min for all runs")
        + "  ",
        "Precision lines the runs printed: " + "; ".join(f"`{x}`" for x in precisions),
        "",
        answer,
        "",
        "| seed | float32 test % by epoch | bf16 test % by epoch | bf16 - float32, last epoch | float32 test loss | "
        "bf16 test loss | float32 s/epoch | bf16 s/epoch | load avg (1 min) at start, float32 / bf16 |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "s/epoch: the history rows' `seconds` (training + test pass), averaged. The committed 20-epoch study over 12 "
        "seeds on an AMX CPU is in [../seed-variance/](../seed-variance/README.md). Each `seed-S-AMP/` folder holds "
        "that run's `metrics.json`.",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(answer)
    print(f"wrote {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
