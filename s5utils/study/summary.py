"""A torchsummary-style table of any nn.Module's leaf layers."""

from dataclasses import dataclass

import torch
import torch.nn as nn

RULE = "-" * 64
DOUBLE_RULE = "=" * 64


@dataclass
class LayerRow:
    """One leaf module as seen during a forward pass."""

    name: str  # e.g. "Conv2d-1", the torchsummary label
    module: nn.Module
    input_shape: list[int]
    output_shape: list[int]
    params: int
    trainable: int


def _shape(t) -> list[int]:
    t = t[0] if isinstance(t, (tuple, list)) else t
    return [-1, *t.shape[1:]]


@torch.no_grad()
def forward_with_hooks(model: nn.Module, hooks: dict[nn.Module, object], input_size, device=None) -> None:
    """One dummy batch of shape (2, *input_size) through model in eval mode with each forward hook attached to its
    module; the hooks are removed and the model's train/eval mode restored afterwards."""
    device = device or next(model.parameters()).device
    handles = [module.register_forward_hook(hook) for module, hook in hooks.items()]
    was_training = model.training
    try:
        model.eval()
        model(torch.zeros(2, *input_size, device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()


@torch.no_grad()
def layer_rows(model: nn.Module, input_size: tuple[int, ...], device=None) -> list[LayerRow]:
    """Run one dummy batch of shape (2, *input_size) and record every leaf module it calls."""
    device = device or next(model.parameters()).device
    rows: list[LayerRow] = []

    def record(module, inputs, output):
        own = list(module.parameters(recurse=False))
        rows.append(
            LayerRow(
                name=f"{type(module).__name__}-{len(rows) + 1}",
                module=module,
                input_shape=_shape(inputs),
                output_shape=_shape(output),
                params=sum(p.numel() for p in own),
                trainable=sum(p.numel() for p in own if p.requires_grad),
            )
        )

    leaves = [m for m in model.modules() if not list(m.children())]
    forward_with_hooks(model, dict.fromkeys(leaves, record), input_size, device)
    return rows


def format_summary(model: nn.Module, rows: list[LayerRow]) -> str:
    """The table text: one line per layer, then the parameter totals of the whole model."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines = [RULE, f"{'Layer (type)':>20}  {'Output Shape':>25} {'Param #':>15}", DOUBLE_RULE]
    for row in rows:
        lines.append(f"{row.name:>20}  {str(row.output_shape):>25} {row.params:>15,}")
    lines += [
        DOUBLE_RULE,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        RULE,
    ]
    return "\n".join(lines)


def summary(model: nn.Module, input_size: tuple[int, ...] = (1, 28, 28), device=None) -> None:
    """Print the torchsummary-style table (Layer (type) / Output Shape / Param #, totals)."""
    print(format_summary(model, layer_rows(model, input_size, device)))
