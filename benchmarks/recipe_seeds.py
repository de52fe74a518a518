"""Summarize the fast recipe's seed runs: final test accuracy per seed, with and without TTA, and the medians.

python benchmarks/recipe_seeds.py [results/fast-recipe]
"""

import json
import statistics
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else "results/fast-recipe")
    rows = []
    for path in sorted(root.glob("seed-*/metrics.json")):
        record = json.loads(path.read_text())
        history = record["history"]
        tta = record.get("final_tta", {}).get("test_acc")
        rows.append(
            (
                record["config"]["seed"],
                record["status"],
                len(history),
                history[-1]["test_acc"],
                tta,
                sum(row["seconds"] for row in history),
            )
        )
    if not rows:
        print(f"no seed-*/metrics.json under {root}", file=sys.stderr)
        return 1
    print("| seed | status | epochs | test % | test % with TTA | train+eval s |")
    print("|---:|---|---:|---:|---:|---:|")
    for seed, status, epochs, acc, tta, seconds in rows:
        print(f"| {seed} | {status} | {epochs} | {acc:.2f} | {'-' if tta is None else f'{tta:.2f}'} | {seconds:.0f} |")
    print(
        f"\nmedian test accuracy: {statistics.median(r[3] for r in rows):.2f} % "
        f"(with TTA: {statistics.median(r[4] for r in rows if r[4] is not None):.2f} %), {len(rows)} seeds"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
