"""Per run: the test accuracy after each epoch and the optimizer steps it took to first reach each target.

    python benchmarks/steps_to_target.py results/fast-recipe-short-schedules

Steps, not seconds: on a GPU a training step costs about the same at any of these batch sizes (it is
bound by launches, not arithmetic; benchmarks/cuda-h200/), so steps times the step time measured
there estimates a run's time to a target on that card.
"""

import json
import math
import sys
from pathlib import Path

from bench import TARGETS  # benchmarks/ is on sys.path when this script runs
from compute_floor import TRAIN_IMAGES


def steps_to(history: list[dict], target: float, steps_per_epoch: int) -> int | None:
    """Optimizer steps until the first epoch whose test accuracy is >= target, None if never."""
    for row in history:
        if row["test_acc"] >= target:
            return row["epoch"] * steps_per_epoch
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    paths = sorted(Path(argv[0]).glob("*/metrics.json"))
    if not paths:
        print(f"no */metrics.json under {argv[0]}", file=sys.stderr)
        return 1
    rows = []
    for path in paths:
        record = json.loads(path.read_text())
        config, history = record["config"], record["history"]
        per_epoch = math.ceil(TRAIN_IMAGES / config["batch_size"])
        rows.append(
            (
                config["recipe"],
                config["batch_size"],
                config["lr"],
                config["epochs"],
                config["seed"],
                ", ".join(f"{row['test_acc']:.2f}" for row in history),
                *(steps_to(history, t, per_epoch) for t in TARGETS),
            )
        )
    rows.sort(key=lambda r: r[:5])
    print(
        "| recipe | batch | peak lr | epochs | seed | test % after each epoch | "
        + " | ".join(f"steps to {t} %" for t in TARGETS)
        + " |"
    )
    print("|---|---:|---:|---:|---:|---|" + "---:|" * len(TARGETS))
    for *head, accs, s1, s2 in rows:
        cells = ["-" if s is None else f"{s:,}" for s in (s1, s2)]
        print("| " + " | ".join(str(v) for v in head) + f" | {accs} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
