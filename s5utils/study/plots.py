"""Figures made from a training history (a list of per-epoch metric dicts)."""

import json
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PANELS = [
    ("train_loss", "Training Loss"),
    ("train_acc", "Training Accuracy"),
    ("test_loss", "Test Loss"),
    ("test_acc", "Test Accuracy"),
]


def whole_epochs(ax) -> None:
    """Epoch ticks at whole numbers only (one or two epochs would get 0.95 ... 1.05)."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def plot_history(history: list[dict]) -> Figure:
    """The 2x2 plot: train loss, train accuracy, test loss, test accuracy per epoch."""
    # A bare Figure: no pyplot state, so nothing leaks in loops and no GUI backend is needed.
    fig = Figure(figsize=(15, 10))
    axes = fig.subplots(2, 2)
    epochs = [row["epoch"] for row in history]
    for ax, (key, title) in zip(axes.flat, PANELS, strict=False):
        ax.plot(epochs, [row[key] for row in history], marker="o")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        whole_epochs(ax)
        ax.set_ylabel("accuracy (%)" if key.endswith("acc") else "loss")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_curves(history: list[dict], epochs: int | None = None) -> Figure:
    """Two panels side by side: loss and accuracy per epoch, train and test on the same axes (LiveCurves draws it).

    epochs: the run's length, to fix the epoch axis from 1 to epochs while the curves grow (also when empty).
    """
    fig = Figure(figsize=(10, 3.4))
    done = [row["epoch"] for row in history]
    for ax, (what, unit) in zip(fig.subplots(1, 2), [("loss", "loss"), ("acc", "accuracy (%)")], strict=False):
        for split in ("train", "test"):
            ax.plot(done, [row[f"{split}_{what}"] for row in history], marker="o", label=split)
        ax.set_title("Loss" if what == "loss" else "Accuracy")
        ax.set_xlabel("epoch")
        whole_epochs(ax)
        if epochs:
            ax.set_xlim(0.5, max(epochs, 1) + 0.5)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def load_history(source) -> list[dict]:
    """A history from a list of per-epoch dicts, or from a run's metrics.json (its "history" list)."""
    if isinstance(source, list):
        return source
    path = Path(source)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"no metrics file at {path}; pass a history list, a metrics.json or its run folder")
    return json.loads(path.read_text())["history"]


def plot_histories(runs: dict, keys: tuple[str, ...] = ("train_loss", "test_loss", "train_acc", "test_acc")) -> Figure:
    """One panel per metric, one line per run: runs maps a label to a history list or a metrics.json path."""
    histories = {label: load_history(source) for label, source in runs.items()}
    if not histories:
        raise ValueError("plot_histories needs at least one run, e.g. {'seed': history}")
    titles = dict(PANELS)
    cols = min(len(keys), 2)
    rows = -(-len(keys) // cols)
    fig = Figure(figsize=(7.5 * cols, 5 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        for label, history in histories.items():
            ax.plot([r["epoch"] for r in history], [r[key] for r in history], marker="o", label=label)
        ax.set_title(titles.get(key, key))
        ax.set_xlabel("epoch")
        whole_epochs(ax)
        ax.set_ylabel("accuracy (%)" if key.endswith("acc") else key)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
