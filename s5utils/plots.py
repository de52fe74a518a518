"""Figures made from a training history (a list of per-epoch metric dicts)."""
from matplotlib.figure import Figure

PANELS = [("train_loss", "Training Loss"), ("train_acc", "Training Accuracy"),
          ("test_loss", "Test Loss"), ("test_acc", "Test Accuracy")]


def plot_history(history: list[dict]) -> Figure:
    """The 2x2 plot: train loss, train accuracy, test loss, test accuracy per epoch."""
    # A bare Figure: no pyplot state, so nothing leaks in loops and no GUI backend is needed.
    fig = Figure(figsize=(15, 10))
    axes = fig.subplots(2, 2)
    epochs = [row["epoch"] for row in history]
    for ax, (key, title) in zip(axes.flat, PANELS):
        ax.plot(epochs, [row[key] for row in history], marker="o")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)" if key.endswith("acc") else "loss")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
