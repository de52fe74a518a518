"""An architecture picture drawn from the model itself: one block per leaf layer, with shapes and parameters."""

import torch.nn as nn
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from s5utils.study.summary import LayerRow, layer_rows

COLOURS = {
    "Conv2d": "#8ecae6",
    "Linear": "#ffb703",
    "BatchNorm2d": "#b7e4c7",
    "MaxPool2d": "#e5e5e5",
    "Dropout": "#f4acb7",
}


def block_label(row: LayerRow) -> str:
    """The text of one block: layer, its key settings, output shape and parameter count."""
    m = row.module
    if isinstance(m, nn.Conv2d):
        kind = f"Conv2d {m.in_channels}->{m.out_channels}, {m.kernel_size[0]}x{m.kernel_size[1]}"
    elif isinstance(m, nn.Linear):
        kind = f"Linear {m.in_features}->{m.out_features}"
    else:
        kind = type(m).__name__
    shape = "x".join(str(d) for d in row.output_shape[1:])
    return f"{kind}\nout {shape}   {row.params:,} params"


def draw_architecture(model: nn.Module, input_size: tuple[int, ...] = (1, 28, 28), device=None) -> Figure:
    """Blocks from input to output, one per layer the forward pass calls, labelled from layer_rows()."""
    rows = layer_rows(model, input_size, device)
    total = sum(p.numel() for p in model.parameters())
    labels = ["input\n" + "x".join(str(d) for d in input_size)] + [block_label(r) for r in rows]
    colours = ["#ffffff"] + [COLOURS.get(type(r.module).__name__, "#dddddd") for r in rows]
    height = 0.9 * len(labels) + 0.6
    fig = Figure(figsize=(5.2, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, height)
    ax.axis("off")
    step = 0.9
    for i, (label, colour) in enumerate(zip(labels, colours, strict=False)):
        y = height - 0.5 - i * step  # top of this block
        ax.add_patch(
            FancyBboxPatch((0.1, y - 0.6), 0.8, 0.6, boxstyle="round,pad=0.02", facecolor=colour, edgecolor="#333333")
        )
        ax.text(0.5, y - 0.3, label, ha="center", va="center", fontsize=9)
        if i + 1 < len(labels):
            ax.annotate(
                "", xy=(0.5, y - step), xytext=(0.5, y - 0.62), arrowprops=dict(arrowstyle="->", color="#333333")
            )
    ax.text(
        0.5,
        height - 0.2,
        f"{type(model).__name__}: {total:,} parameters",
        ha="center",
        va="center",
        fontsize=10,
        weight="bold",
    )
    return fig
