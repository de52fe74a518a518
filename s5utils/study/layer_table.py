"""A per-layer study table: output shape, parameters, MACs, receptive field and jump.

The receptive field (RF) of a unit is the input square it sees; the jump is the input-pixel distance
between neighbouring units. A k x k layer with stride s and dilation d maps (rf, jump) to
(rf + d (k - 1) jump, jump s). Layers without a spatial kernel keep both; after a flatten they are "-".
Every tensor of the forward pass carries its own (rf, jump), so two branches joined by torch.cat or a residual
add give the larger of their fields, not the sum of every layer called. Pooling called functionally in forward
(F.max_pool2d, as in the seed Net) gets its own row.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from s5utils.study.summary import layer_rows

FUNCTIONAL_POOLS = {"max_pool2d", "avg_pool2d", "max_pool2d_with_indices"}
KERNEL_OPS = {"conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d"}
UNTRACED_OPS = {"conv_transpose2d", "grid_sample", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle"}


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
    return int(v[0]) if isinstance(v, (tuple, list, torch.Size)) else int(v)


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


def _tensors(values) -> list[torch.Tensor]:
    """The tensors among a call's arguments, inside lists and tuples too (torch.cat's first argument)."""
    found = []
    for v in values:
        if isinstance(v, torch.Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found += _tensors(v)
    return found


def _arg(args, kwargs, index: int, name: str, default):
    return args[index] if len(args) > index else kwargs.get(name, default)


Field = tuple[int, int] | None  # (rf, jump) of a (N, C, H, W) tensor; None once it is no longer a map


class _FieldTracer(TorchFunctionMode):
    """Follows every tensor of the forward pass with its receptive field and jump, op by op: through branches,
    torch.cat and residual adds, a joined tensor takes the largest field and jump of its inputs."""

    def __init__(self, depth: list[int]) -> None:
        super().__init__()
        self.depth = depth  # leaf modules running now: functional pools at 0 get their own row
        self.fields: dict[int, Field] = {}
        self.keep: list[torch.Tensor] = []  # keeps every traced tensor alive, so no id is reused
        self.events: list = []

    def field(self, t: torch.Tensor) -> Field:
        return self.fields.get(id(t), (1, 1) if t.ndim == 4 else None)

    def _joined(self, inputs: list[torch.Tensor]) -> Field:
        # The input batch, constants made in forward and the maps are (N, C, H, W); weights are Parameters and
        # buffers (batch norm's statistics) are smaller, so neither takes part.
        maps = [t for t in inputs if not isinstance(t, nn.Parameter) and (id(t) in self.fields or t.ndim == 4)]
        fields = [self.field(t) for t in maps]
        if not fields:
            return (1, 1)
        if any(f is None for f in fields):
            return None
        return max(f[0] for f in fields), max(f[1] for f in fields)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        outputs = _tensors(output if isinstance(output, (tuple, list)) else (output,))
        if not outputs:
            return output
        name = getattr(func, "__name__", "")
        inputs = _tensors(list(args) + list(kwargs.values()))
        first = outputs[0]
        if name in KERNEL_OPS:
            field = self.field(args[0])
            if field is not None:
                if name == "conv2d":
                    kernel = args[1].shape[-2]
                    stride = _first(_arg(args, kwargs, 3, "stride", 1))
                    dilation = _first(_arg(args, kwargs, 5, "dilation", 1))
                else:
                    kernel = _first(_arg(args, kwargs, 1, "kernel_size", None))
                    stride = _first(_arg(args, kwargs, 2, "stride", None) or kernel)
                    dilation = _first(_arg(args, kwargs, 4, "dilation", 1)) if "max" in name else 1
                field = (field[0] + dilation * (kernel - 1) * field[1], field[1] * stride)
        elif name in UNTRACED_OPS:
            field = None
        else:
            field = self._joined(inputs)
            maps_in = [t for t in inputs if t.ndim == 4 and not isinstance(t, nn.Parameter)]
            if field is not None and maps_in and first.ndim == 4:
                field = _resized(field, maps_in[0].shape[2], first.shape[2])
        if first.ndim != 4:
            field = None
        for t in outputs:
            self.fields[id(t)] = field
            self.keep.append(t)
        if self.depth[0] == 0 and name in FUNCTIONAL_POOLS:
            self.events.append(("pool", name.replace("_with_indices", ""), [-1, *first.shape[1:]], field))
        return output


def _resized(field: tuple[int, int], h_in: int, h_out: int) -> Field:
    """An op without a kernel that shrinks H by an integer step (adaptive pooling, a mean) pools step x step
    neighbours; one that enlarges it by a factor (nearest upsampling) divides the jump."""
    rf, jump = field
    if h_out == h_in:
        return field
    if h_out < h_in:
        step = h_in // h_out  # exact when the output size divides the input
        return rf + (step - 1) * jump, jump * step
    factor = h_out // h_in
    return (rf, jump // factor) if h_out % h_in == 0 and jump % factor == 0 else None


def layer_stats(model: nn.Module, input_size: tuple[int, ...] = (1, 28, 28), device=None) -> list[LayerStats]:
    """Output shape, parameters, MACs, receptive field and jump of every layer the forward pass runs.

    The field follows the tensors, so branches, torch.cat, residual adds and strided shortcuts are right; a module
    that forward calls again gets a row each time, its parameters counted in the first only.
    """
    leaves = [m for m in model.modules() if not list(m.children())]
    depth = [0]
    tracer = _FieldTracer(depth)

    def enter(module, inputs):
        depth[0] += 1

    def leave(module, inputs, output):
        depth[0] -= 1
        first = _tensors(output if isinstance(output, (tuple, list)) else (output,))
        tracer.events.append(("row", tracer.field(first[0]) if first else None))

    # Registered before layer_rows' own hooks, so each ("row", field) lines up with the row it appends.
    handles = [m.register_forward_pre_hook(enter) for m in leaves] + [m.register_forward_hook(leave) for m in leaves]
    try:
        with tracer:
            rows = iter(layer_rows(model, input_size, device))
    finally:
        for h in handles:
            h.remove()

    stats, seen_params, first_row = [], set(), {}
    for event in tracer.events:
        if event[0] == "pool":
            _, name, shape, field = event
            rf, jump = field if field else (None, None)
            stats.append(LayerStats(f"{name} (functional)", shape, 0, 0, rf, jump))
            continue
        row, field = next(rows), event[1]
        rf, jump = field if field and len(row.output_shape) == 4 else (None, None)
        own = [p for p in row.module.parameters(recurse=False) if id(p) not in seen_params]
        seen_params |= {id(p) for p in own}
        name = row.name
        if id(row.module) in first_row:
            name = f"{row.name} (= {first_row[id(row.module)]})"
        first_row.setdefault(id(row.module), row.name)
        params = sum(p.numel() for p in own)
        stats.append(LayerStats(name, row.output_shape, params, macs(row.module, row.output_shape), rf, jump))
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
