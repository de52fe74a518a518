"""Does the torch thread count change a run's numbers on a CPU? One seed, swept at 1 thread twice and at 2 threads.

    python benchmarks/sweep_threads.py [--seed 1] [--max-batches 50] [--out benchmarks/sweep_threads]

Runs `python -m s5utils sweep --workers 1 --torch-threads T --seed S --epochs 1 --max-batches B` for T = 1, 1, 2
and compares the final numbers (train/test loss and accuracy, test correct count): the two 1-thread runs
show whether a run repeats exactly at one thread count, the 2-thread run whether another count changes it.
Writes results.json and RESULTS.md into --out.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMBERS = ("train_loss", "train_acc", "test_loss", "test_acc", "test_correct")


def run(threads: int, args: argparse.Namespace, out: Path) -> dict:
    """One sweep of one run at `threads` torch threads: its command, final numbers and the threads the kernel saw."""
    command = [
        "python",
        "-m",
        "s5utils",
        "sweep",
        "--workers",
        "1",
        "--torch-threads",
        str(threads),
        "--seed",
        str(args.seed),
        "--epochs",
        "1",
        "--max-batches",
        str(args.max_batches),
    ]
    done = subprocess.run(
        [sys.executable, *command[1:], "--out", str(out)], capture_output=True, text=True, cwd=HERE.parent
    )
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    (manifest_path,) = out.glob("*/*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    final = json.loads((manifest_path.parent / "metrics.json").read_text())["history"][-1]
    return {
        "command": " ".join(command),
        "torch_threads": manifest["torch_threads"],
        "seconds": manifest["seconds"],
        **{k: final[k] for k in NUMBERS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-batches", type=int, default=50)
    parser.add_argument("--out", default=str(HERE / "sweep_threads"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sweep-threads-") as tmp:
        runs = [run(threads, args, Path(tmp) / f"run{i}") for i, threads in enumerate((1, 1, 2))]
    repeat = [k for k in NUMBERS if runs[0][k] != runs[1][k]]
    differ = [k for k in NUMBERS if runs[0][k] != runs[2][k]]
    lines = [
        f"# Torch threads 1 vs 2: seed {args.seed}, 1 epoch of {args.max_batches} batches, on a CPU",
        "",
        f"`python benchmarks/sweep_threads.py --seed {args.seed} --max-batches {args.max_batches}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:",
        "",
        "| command | threads seen by the kernel | " + " | ".join(NUMBERS) + " |",
        "|---|---:|" + "---:|" * len(NUMBERS),
    ]
    lines += [
        f"| `{r['command']}` | {r['torch_threads']} | " + " | ".join(f"{r[k]:.10g}" for k in NUMBERS) + " |"
        for r in runs
    ]
    lines += [
        "",
        "The same thread count twice: " + ("identical." if not repeat else f"{', '.join(repeat)} differ."),
        "1 thread vs 2 threads: "
        + ("identical." if not differ else f"{', '.join(differ)} differ (float sums added in another order)."),
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(
            {
                "seed": args.seed,
                "max_batches": args.max_batches,
                "runs": runs,
                "same_count_differs": repeat,
                "other_count_differs": differ,
            },
            indent=2,
        )
        + "\n"
    )
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
