"""Statistics over seeds: a summary per setting, and exact tests for whether two settings differ.

A setting is one combination of the sweep's varied values other than the seed (and the notebook, when a
sweep runs several); its runs over seeds are its sample. Two settings are compared on the seeds both ran
(the sign test) and on all their seeds (the rank-sum test). Both tests are exact: no normal approximation,
which small seed counts would not justify.
"""

import itertools
import math
import statistics
from collections import defaultdict

SUMMARY_FIELDS = ("n", "mean", "std", "median", "min", "max")


def describe(values: list[float]) -> dict:
    """n, mean, sample standard deviation (None below two values), median, min and max."""
    if not values:
        return {"n": 0, **{name: None for name in SUMMARY_FIELDS[1:]}}
    return {
        "n": len(values),
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven if either side wins half the time."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def rank_sum_test(a: list[float], b: list[float]) -> float:
    """Two-sided exact rank-sum (Mann-Whitney) test: the share of all ways to split the pooled values into
    groups of these sizes whose rank sum for the first is at least as far from its mean. Ties get mid-ranks."""
    pooled = sorted(a + b)
    first = {v: i for i, v in reversed(list(enumerate(pooled)))}
    last = {v: i for i, v in enumerate(pooled)}
    doubled_rank = {v: first[v] + last[v] + 2 for v in pooled}  # twice the 1-based mid-rank: stays an integer
    ranks, k = [doubled_rank[v] for v in pooled], len(a)
    ways = [defaultdict(int) for _ in range(k + 1)]  # ways[j][total]: subsets of j ranks summing to total
    ways[0][0] = 1
    for rank in ranks:
        for j in range(k, 0, -1):
            for total, count in list(ways[j - 1].items()):
                ways[j][total + rank] += count
    mean = k * sum(ranks) / len(ranks)
    observed = abs(sum(doubled_rank[v] for v in a) - mean)
    extreme = sum(count for total, count in ways[k].items() if abs(total - mean) >= observed - 1e-9)
    return extreme / math.comb(len(ranks), k)


def setting_label(row: dict, names: list[str]) -> str:
    """'data_path=loader, amp=off' for the given names; 'all runs' when nothing but the seed varies."""
    return ", ".join(f"{name}={row.get(name)}" for name in names) or "all runs"


def by_setting(rows: list[dict], names: list[str]) -> dict[str, dict[int, dict]]:
    """{setting label: {seed: row}} over completed runs, in the rows' order; a seed's first run counts."""
    groups: dict[str, dict] = {}
    for row in rows:
        if row.get("status") != "completed" or row.get("test_acc") is None:
            continue
        seeds = groups.setdefault(setting_label(row, names), {})
        seeds.setdefault(row.get("seed"), row)
    return groups


def grouped_table(rows: list[dict], names: list[str]) -> list[dict]:
    """One row per setting: its seeds, and n/mean/std/median/min/max of final test accuracy and of seconds."""
    table = []
    for label, seeds in by_setting(rows, names).items():
        runs = list(seeds.values())
        accs = describe([float(r["test_acc"]) for r in runs])
        times = describe([float(r["wall_seconds"]) for r in runs if r.get("wall_seconds") is not None])
        table.append(
            {
                "setting": label,
                "seeds": ", ".join(str(s) for s in seeds),
                **{f"test_acc_{k}": v for k, v in accs.items()},
                **{f"seconds_{k}": v for k, v in times.items() if k != "n"},
            }
        )
    return table


def comparisons(rows: list[dict], names: list[str]) -> list[dict]:
    """Every two settings: who ended higher on each seed both ran (sign test) and all seeds unpaired (rank-sum)."""
    table = []
    for (label_a, a), (label_b, b) in itertools.combinations(by_setting(rows, names).items(), 2):
        shared = [seed for seed in a if seed in b]
        diffs = [float(a[s]["test_acc"]) - float(b[s]["test_acc"]) for s in shared]
        wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
        accs_a = [float(r["test_acc"]) for r in a.values()]
        accs_b = [float(r["test_acc"]) for r in b.values()]
        table.append(
            {
                "a": label_a,
                "b": label_b,
                "paired_seeds": len(shared),
                "a_higher": wins,
                "b_higher": losses,
                "tied": len(diffs) - wins - losses,
                "median_diff": statistics.median(diffs) if diffs else None,
                "sign_p": sign_test(wins, losses) if diffs else None,
                "median_a_minus_median_b": statistics.median(accs_a) - statistics.median(accs_b),
                "rank_sum_p": rank_sum_test(accs_a, accs_b),
            }
        )
    return table


def repeats_over_seeds(rows: list[dict], names: list[str]) -> bool:
    """Whether some setting has completed runs on two or more seeds: then the statistics mean something."""
    return any(len(seeds) > 1 for seeds in by_setting(rows, names).values())
