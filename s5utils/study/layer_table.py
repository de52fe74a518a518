"""A per-layer study table: output shape, parameters, MACs, receptive field and jump.

The receptive field (RF) of a unit is the input square it sees; the jump is the input-pixel distance
between neighbouring units. A k x k layer with stride s and dilation d maps (rf, jump) to
(rf + d (k - 1) jump, jump s). Layers without a spatial kernel keep both; after a flatten they are "-".
Pooling called functionally in forward (F.max_pool2d, as in the seed Net) gets its own row.
"""

from dataclasses import dataclass

import torch.nn as nn
from torch.overrides import TorchFunctionMode

from s5utils.study.summary import layer_rows

FUNCTIONAL_POOLS = {"max_pool2d", "avg_pool2d"}
KERNEL_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
ADAPTIVE_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass
class LayerStats:
    """One row of the study table."""

    name: str
    output_shape: list[int]
    params: int
    macs: int  # multiply-accumulates for one input sample
    rf: int | None  # receptive field side in input pixels; None once the map is flattened
    jump: int | None  # input-pixel distance between neighbouring output units


def _first(v) -> int:
    # Kernel sizes may be ints or (h, w) tuples; the table follows the height axis.
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def macs(module: nn.Module, output_shape: list[int]) -> int:
    """Multiply-accumulates one sample costs in a Conv2d or Linear layer; 0 for every other layer."""
    out = 1
    for d in output_shape[1:]:
        out *= d
    if isinstance(module, nn.Conv2d):
        k_h, k_w = module.kernel_size
        return out * (module.in_channels // module.groups) * k_h * k_w
    if isinstance(module, nn.Linear):
        return out * module.in_features
    return 0


class _FunctionalPools(TorchFunctionMode):
    """Records pooling calls made outside any leaf module, in order with the modules' completions."""

    def __init__(self, events: list, depth: list[int]) -> None:
        super().__init__()
        self.events, self.depth = events, depth

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if self.depth[0] == 0 and name in FUNCTIONAL_POOLS:
            kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
            stride = args[2] if len(args) > 2 else kwargs.get("stride")
            first = output[0] if isinstance(output, tuple) else output
            self.events.append(("pool", name, _first(kernel), _first(stride or kernel), [-1, *first.shape[1:]]))
        return output


def layer_stats(model: nn.Module, input_size: tuple[int, ...] = (1, 28, 28), device=None) -> list[LayerStats]:
    """Output shape, parameters, MACs, receptive field and jump of every layer the forward pass runs."""
    leaves = [m for m in model.modules() if not list(m.children())]
    events: list = []
    depth = [0]

    def enter(module, inputs):
        depth[0] += 1

    def leave(module, inputs, output):
        depth[0] -= 1
        events.append(("row",))

    # Registered before layer_rows' own hooks, so each ("row",) lines up with the row it appends.
    handles = [m.register_forward_pre_hook(enter) for m in leaves] + [m.register_forward_hook(leave) for m in leaves]
    try:
        with _FunctionalPools(events, depth):
            rows = iter(layer_rows(model, input_size, device))
    finally:
        for h in handles:
            h.remove()

    stats, rf, jump = [], 1, 1
    for event in events:
        if event[0] == "pool":
            _, name, kernel, stride, shape = event
            rf, jump = rf + (kernel - 1) * jump, jump * stride
            stats.append(LayerStats(f"{name} (functional)", shape, 0, 0, rf, jump))
            continue
        row = next(rows)
        m = row.module
        if len(row.output_shape) != 4:
            rf = jump = None
        elif rf is not None and isinstance(m, KERNEL_LAYERS):
            kernel, stride = _first(m.kernel_size), _first(m.stride or m.kernel_size)
            dilation = _first(getattr(m, "dilation", 1))
            rf, jump = rf + dilation * (kernel - 1) * jump, jump * stride
        elif rf is not None and isinstance(m, ADAPTIVE_POOLS):
            step = row.input_shape[2] // row.output_shape[2]  # exact when the output size divides the input
            rf, jump = rf + (step - 1) * jump, jump * step
        stats.append(LayerStats(row.name, row.output_shape, row.params, macs(m, row.output_shape), rf, jump))
    return stats


def format_layer_table(stats: list[LayerStats]) -> str:
    """The table text, one line per layer, then total parameters and MACs."""

    def dash(v: int | None) -> str:
        return "-" if v is None else str(v)

    lines = [f"{'Layer':>26} {'Output Shape':>18} {'Params':>9} {'MACs':>11} {'RF':>4} {'Jump':>5}", "=" * 78]
    for s in stats:
        lines.append(
            f"{s.name:>26} {str(s.output_shape):>18} {s.params:>9,} {s.macs:>11,} {dash(s.rf):>4} {dash(s.jump):>5}"
        )
    lines += [
        "=" * 78,
        f"Total params: {sum(s.params for s in stats):,}   MACs per sample: {sum(s.macs for s in stats):,}",
    ]
    return "\n".join(lines)


def layer_table(model: nn.Module, input_size: tuple[int, ...] = (1, 28, 28), device=None) -> str:
    """The per-layer study table (shape, params, MACs, RF, jump) as text, ready to print."""
    return format_layer_table(layer_stats(model, input_size, device))
