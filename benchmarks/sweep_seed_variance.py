"""The 12-seed study of the seed recipe on both data paths, as one sweep command; its tables from the recorded runs.

    python benchmarks/sweep_seed_variance.py [--out benchmarks/sweep_seed_variance]

results/seed-variance/ holds 20-epoch runs made by hand over weeks (python -m s5utils train, one seed at a
time). SWEEP is the one command that would run the same grid today; with --report-from it trains nothing
and rebuilds the grouped table and the paired tests from those recorded runs. Writes RESULTS.md (the
command and what it printed) and the report folder (results.md/csv, results_by_setting.csv, the plot).
"""

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SWEEP = (
    "python -m s5utils sweep --seed 1 2 3 4 5 6 7 8 9 10 11 12 --epochs 20 --data-path loader tensor "
    "--amp off bf16 --channels-last off on --zip data-path amp channels-last"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "sweep_seed_variance"), help="folder for RESULTS.md and the report")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = f"{SWEEP} --report-from results/seed-variance --out {out.relative_to(HERE.parent)}"
    done = subprocess.run([sys.executable, *shlex.split(command)[1:]], capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise SystemExit(f"the report failed ({done.returncode}): {done.stderr.strip()}")
    (folder,) = sorted(out.glob("*-report"))[-1:]
    runs = json.loads((folder / "report.json").read_text())["runs"]
    hours = sum(run.get("wall_seconds") or 0 for run in runs) / 3600
    report = [
        "# The seed-variance study as one sweep",
        "",
        f"Re-run it ({len(runs)} runs of 20 epochs; the recorded ones trained for {hours:.1f} h in all, "
        "one after another, on the machines their metrics.json name):",
        "",
        f"    {SWEEP}",
        "",
        "Its tables from the recorded runs, as this command printed them (nothing trained):",
        "",
        f"    {command}",
        "",
        done.stdout.replace(str(HERE.parent) + "/", ""),
    ]
    (out / "RESULTS.md").write_text("\n".join(report))
    print(done.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
