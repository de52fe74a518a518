"""A sweep's report: results.csv/results.md (a row per run, then per setting, setting against setting) and a plot."""

import csv
import statistics
from pathlib import Path

from matplotlib.figure import Figure

from s5utils.sweep.stats import by_setting, comparisons, grouped_table, repeats_over_seeds, setting_label

RUN_COLUMNS = [
    "run",
    "status",
    "test_acc",
    "test_loss",
    "train_acc",
    "train_loss",
    "wall_seconds",
    "attempts",
    "worker",
    "error",
    "run_dir",
]
SETTING_COLUMNS = [
    "setting",
    "seeds",
    "test_acc_n",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_median",
    "test_acc_min",
    "test_acc_max",
    "seconds_mean",
    "seconds_std",
    "seconds_median",
    "seconds_min",
    "seconds_max",
]
COMPARISON_COLUMNS = [
    "a",
    "b",
    "paired_seeds",
    "a_higher",
    "b_higher",
    "tied",
    "median_diff",
    "sign_p",
    "median_a_minus_median_b",
    "rank_sum_p",
]


def cell(value, digits: str = ".6g") -> str:
    """A markdown table cell: numbers short, pipes escaped, one line."""
    if value is None:
        return ""
    text = format(value, digits) if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: list[dict], columns: list[str], formats: dict | None = None) -> list[str]:
    """A markdown table of rows under columns; formats maps a column to its number format."""
    formats = formats or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c), formats.get(c, ".6g")) for c in columns) + " |" for row in rows]
    return lines


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    """rows as a CSV file with a header line."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_table(
    rows: list[dict], axes: list[str], folder: Path, setting_names: list[str] | None = None
) -> tuple[Path, Path]:
    """results.csv and results.md: one line per run (the varied parameters first); with seeds repeated,
    results_by_setting.csv and the grouped and paired tables in results.md too."""
    names = [a for a in axes if a != "seed"] if setting_names is None else setting_names
    columns = RUN_COLUMNS[:1] + axes + RUN_COLUMNS[1:]
    csv_path, md_path = write_csv(folder / "results.csv", rows, columns), folder / "results.md"
    lines = ["## Runs", "", *markdown(rows, [c for c in columns if c != "run_dir"])]
    if repeats_over_seeds(rows, names):
        groups = grouped_table(rows, names)
        write_csv(folder / "results_by_setting.csv", groups, SETTING_COLUMNS)
        accuracy = {c: ".2f" for c in SETTING_COLUMNS if c.startswith("test_acc_") and c != "test_acc_n"}
        seconds = {c: ".1f" for c in SETTING_COLUMNS if c.startswith("seconds_")}
        lines += [
            "",
            "## By setting (completed runs; final test accuracy in %, wall time in seconds)",
            "",
            *markdown(groups, SETTING_COLUMNS, {**accuracy, **seconds}),
        ]
        pairs = comparisons(rows, names)
        if pairs:
            lines += [
                "",
                "## Setting against setting (sign test on the seeds both ran; rank-sum test on all seeds;"
                " both exact, two-sided)",
                "",
                *markdown(
                    pairs,
                    COMPARISON_COLUMNS,
                    {"median_diff": "+.2f", "sign_p": ".3f", "median_a_minus_median_b": "+.2f", "rank_sum_p": ".3f"},
                ),
            ]
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def write_report(rows: list[dict], axes: list[str], folder: Path) -> None:
    """results.csv, results.md (and results_by_setting.csv) and test_accuracy.png in folder; settings vary
    by every axis but the seed."""
    names = [a for a in axes if a != "seed"]
    write_table(rows, axes, folder, names)
    plot_sweep(rows, names).savefig(folder / "test_accuracy.png", dpi=100)


def plot_sweep(rows: list[dict], setting_names: list[str]) -> Figure:
    """Final test accuracy of every run as a point, one column per setting, with the setting's min-max and median.

    A failed run is a red x at the column's foot, labelled 'failed'.
    """
    labels = list(dict.fromkeys(setting_label(row, setting_names) for row in rows))
    groups = by_setting(rows, setting_names)
    fig = Figure(figsize=(max(6, 1.8 * len(labels) + 2), 4.5))
    ax = fig.subplots()
    done = [float(r["test_acc"]) for r in rows if r.get("status") == "completed" and r.get("test_acc") is not None]
    floor = min(done) - 0.5 if done else 0.0
    for x, label in enumerate(labels):
        members = [r for r in rows if setting_label(r, setting_names) == label]
        accs = [float(r["test_acc"]) for r in groups.get(label, {}).values()]
        offsets = [(i - (len(members) - 1) / 2) * min(0.05, 0.5 / len(members)) for i in range(len(members))]
        for offset, row in zip(offsets, members, strict=False):
            if row.get("status") == "completed" and row.get("test_acc") is not None:
                ax.plot(x + offset, float(row["test_acc"]), "o", color="tab:blue", alpha=0.8)
            else:
                ax.plot(x + offset, floor, "x", color="tab:red")
                ax.annotate("failed", (x + offset, floor), ha="center", va="bottom", fontsize=8, color="tab:red")
        if len(accs) > 1:
            ax.vlines(x + 0.36, min(accs), max(accs), color="gray", lw=2)
            ax.hlines(statistics.median(accs), x + 0.3, x + 0.42, color="black", lw=2)
    ax.set_xticks(range(len(labels)), [label.replace(", ", "\n") for label in labels], fontsize=8)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("Every run (points); per setting: min-max (bar), median (tick)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
