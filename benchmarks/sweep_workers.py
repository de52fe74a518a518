"""The same 8 smoke runs of S5.ipynb as one sweep, serially (--workers 1) and on 2 worker processes, side by side.

    python benchmarks/sweep_workers.py [--seeds 8] [--out benchmarks/sweep_workers]

Each sweep is `python -m s5utils sweep --workers N --seed 1 .. 8 --epochs 1 --max-batches 2`, timed from the
command's start to its exit (cluster start, kernel starts, data loading and the report included). The serial
sweep's one run at a time gets all cores as torch threads; the 2 workers get cores // 2 each. Then the runs'
numbers are compared seed by seed: equal numbers mean the thread count did not change them.
Writes results.json and RESULTS.md into --out.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMBERS = ("train_loss", "train_acc", "test_loss", "test_acc")


def timed_sweep(workers: int, seeds: int, out: Path) -> dict:
    """Run the sweep as a user would; its wall time, its runs' manifests and final numbers."""
    command = [
        sys.executable,
        "-m",
        "s5utils",
        "sweep",
        "--workers",
        str(workers),
        "--seed",
        *map(str, range(1, seeds + 1)),
        "--epochs",
        "1",
        "--max-batches",
        "2",
        "--out",
        str(out),
    ]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    (folder,) = out.iterdir()
    runs = []
    for manifest_path in sorted(folder.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        final = json.loads((manifest_path.parent / "metrics.json").read_text())["history"][-1]
        runs.append(
            {
                "run": manifest["name"],
                "seconds": manifest["seconds"],
                "worker": manifest["worker"],
                "torch_threads": manifest["torch_threads"],
                **{k: final[k] for k in NUMBERS},
            }
        )
    return {
        "workers": workers,
        "command": "python -m s5utils sweep " + " ".join(command[4:-2]),
        "seconds": seconds,
        "load_before": load,
        "runs": runs,
    }


def report(results: dict) -> str:
    """RESULTS.md: the two wall times, per-run seconds, and whether the numbers matched."""
    serial, parallel = results["sweeps"]
    pairs = zip(serial["runs"], parallel["runs"], strict=False)
    same = [a["run"] for a, b in pairs if all(a[k] == b[k] for k in NUMBERS)]
    gap = max(abs(a["test_acc"] - b["test_acc"]) for a, b in zip(serial["runs"], parallel["runs"], strict=False))
    lines = [
        f"# One sweep of {len(serial['runs'])} smoke runs: 1 worker vs 2 workers",
        "",
        f"`python benchmarks/sweep_workers.py` on {results['machine']}, {results['cores']} cores "
        f"(shared: 1-minute load average {serial['load_before']:.1f} before the first sweep, "
        f"{parallel['load_before']:.1f} before the second), {results['date']}.",
        "",
        "| sweep | workers x torch threads | wall seconds | mean seconds per run (inside its task) |",
        "|---|---|---:|---:|",
    ]
    for sweep in results["sweeps"]:
        mean = sum(r["seconds"] for r in sweep["runs"]) / len(sweep["runs"])
        lines.append(
            f"| `{sweep['command']}` | {sweep['workers']} x {sweep['runs'][0]['torch_threads']} | "
            f"{sweep['seconds']:.1f} | {mean:.1f} |"
        )
    lines += [
        "",
        f"2 workers took {parallel['seconds'] / serial['seconds']:.2f}x the serial wall time.",
        f"Final numbers (train/test loss and accuracy) identical in {len(same)} of {len(serial['runs'])} runs "
        f"between {serial['runs'][0]['torch_threads']} and {parallel['runs'][0]['torch_threads']} torch "
        f"thread(s); largest test-accuracy difference {gap:.2f} points.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="runs per sweep (seeds 1..N)")
    parser.add_argument("--out", default=str(HERE / "sweep_workers"), help="folder for results.json and RESULTS.md")
    args = parser.parse_args(argv)
    sweeps = []
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        for workers in (1, 2):
            sweeps.append(timed_sweep(workers, args.seeds, Path(tmp) / f"workers{workers}"))
            print(f"--workers {workers}: {sweeps[-1]['seconds']:.1f} s", flush=True)
    import torch

    from s5utils.device import device_name

    results = {
        "machine": device_name(torch.device("cpu")),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "sweeps": sweeps,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report(results))
    print(report(results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
