"""The seed recipe's final test accuracy on each data path and precision, over every recorded seed.

    python benchmarks/seed_recipe_paths.py [results]

Reads every completed 20-epoch, full-epoch seed-recipe run (metrics.json) under the folder and groups
them by data path and autocast dtype. A seed run twice with the same settings is listed twice but
counted once (the first run, by path) in the summary: on a CPU a rerun gives the same weights.
It counts the slow starts (the first epoch left near chance) per group, and the final accuracy after them.
Then compares every two groups on the seeds both ran: how often each ended higher, and an exact
two-sided sign test (ties dropped) for whether that split could be chance. The two paths draw different
batches and augmentations for the same seed (only the initial weights are shared), so the pairing is
loose; an exact rank-sum (Mann-Whitney) test on all seeds of each group is printed beside it.
Both tests are the kit's (s5utils.sweep.stats), which a sweep's results.md uses too. The same comparison as
one sweep, its tables rebuilt from these recorded runs (nothing is trained; drop --report-from to re-run it):

    python -m s5utils sweep --seed 1 2 3 4 5 6 7 8 9 10 11 12 --epochs 20 --data-path loader tensor \
        --amp off bf16 --channels-last off on --zip data-path amp channels-last --report-from results/seed-variance
"""

import itertools
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from s5utils.sweep.stats import describe, rank_sum_test, sign_test

SEED_EPOCHS = 20
SLOW_START = 60.0  # epoch-1 test %: below it the first epoch mostly stayed near chance


def path_label(record: dict) -> str:
    """'loader, float32' and the like; records from before the speed options ran the DataLoader in float32."""
    speed = record.get("speed") or {}
    dtype = speed.get("amp_dtype")
    dtype = "float32" if dtype in (None, "None") else dtype.removeprefix("torch.")  # "None": older records
    return f"{speed.get('data_path', 'loader')}, {dtype}"


def seed_recipe_runs(root: Path) -> dict[str, dict[int, list[tuple[float, float, Path]]]]:
    """{path label: {seed: [(final test %, epoch-1 test %, metrics.json), ...]}} for the full seed-recipe runs."""
    groups: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("metrics.json")):
        record = json.loads(path.read_text())
        config = record["config"]
        if (
            record.get("status") != "completed"
            or config.get("recipe", "seed") != "seed"
            or config["epochs"] != SEED_EPOCHS
            or config.get("max_batches") is not None
        ):
            continue
        history = record["history"]  # epoch 1 too: the seed recipe's fate shows there
        groups[path_label(record)][config["seed"]].append((history[-1]["test_acc"], history[0]["test_acc"], path))
    return groups


def first_runs(seeds: dict[int, list[tuple[float, float, Path]]]) -> list[tuple[float, float, Path]]:
    """The first run of each seed, by seed: the one a group's summary and tests count."""
    return [runs[0] for _, runs in sorted(seeds.items())]


def median_text(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else "results")
    groups = seed_recipe_runs(root)
    if not groups:
        print(f"no completed {SEED_EPOCHS}-epoch seed-recipe runs under {root}", file=sys.stderr)
        return 1
    print(f"Completed {SEED_EPOCHS}-epoch seed-recipe runs under {root}:\n")
    print("| path, autocast | seed | epoch-1 test % | final test % | metrics.json |")
    print("|---|---:|---:|---:|---|")
    for label, seeds in sorted(groups.items()):
        for seed, runs in sorted(seeds.items()):
            for acc, first, path in runs:
                print(f"| {label} | {seed} | {first:.2f} | {acc:.2f} | {path.relative_to(root)} |")
    print("\n| path, autocast | seeds | median % | mean % | min % | max % | seeds >= 98.55 % |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, seeds in sorted(groups.items()):
        accs = [acc for acc, _, _ in first_runs(seeds)]
        summary = describe(accs)
        print(
            f"| {label} | {', '.join(map(str, sorted(seeds)))} | {summary['median']:.2f} | "
            f"{summary['mean']:.2f} | {summary['min']:.2f} | {summary['max']:.2f} | "
            f"{sum(a >= 98.55 for a in accs)} of {len(accs)} |"
        )
    print(
        f"\nBy the first epoch (a slow start, test accuracy < {SLOW_START:g} % after epoch 1, costs the recipe most):\n"
    )
    print("| path, autocast | slow starts | median final % after a slow start | median final % otherwise |")
    print("|---|---:|---:|---:|")
    for label, seeds in sorted(groups.items()):
        firsts = first_runs(seeds)
        slow = [acc for acc, first, _ in firsts if first < SLOW_START]
        rest = [acc for acc, first, _ in firsts if first >= SLOW_START]
        print(f"| {label} | {len(slow)} of {len(firsts)} | {median_text(slow)} | {median_text(rest)} |")
    print("\nPaired by seed (the first run of each):\n")
    print("| A | B | seeds run on both | A higher | B higher | tied | median A - B (points) | sign test p |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for (label_a, a), (label_b, b) in itertools.combinations(sorted(groups.items()), 2):
        shared = sorted(set(a) & set(b))
        if not shared:
            continue
        diffs = [a[seed][0][0] - b[seed][0][0] for seed in shared]
        wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
        print(
            f"| {label_a} | {label_b} | {', '.join(map(str, shared))} | {wins} | {losses} | "
            f"{len(diffs) - wins - losses} | {statistics.median(diffs):+.2f} | {sign_test(wins, losses):.3f} |"
        )
    print("\nEvery seed of each group, unpaired (the first run of each):\n")
    print("| A | B | seeds of A | seeds of B | median A - median B (points) | rank-sum p |")
    print("|---|---|---:|---:|---:|---:|")
    for (label_a, a), (label_b, b) in itertools.combinations(sorted(groups.items()), 2):
        accs_a, accs_b = [acc for acc, _, _ in first_runs(a)], [acc for acc, _, _ in first_runs(b)]
        print(
            f"| {label_a} | {label_b} | {len(accs_a)} | {len(accs_b)} | "
            f"{statistics.median(accs_a) - statistics.median(accs_b):+.2f} | {rank_sum_test(accs_a, accs_b):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
