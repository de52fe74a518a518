"""One validated configuration for every entry point: CLI, notebook parameters cell, papermill, Python."""
import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, fields


class ConfigError(ValueError):
    """A parameter has a wrong name, type or value; the message names it and says what is allowed."""


@dataclass(frozen=True)
class TrainConfig:
    """The seed recipe's hyperparameters and where a run reads and writes."""

    epochs: int = 20
    batch_size: int = 512
    lr: float = 0.01
    momentum: float = 0.9
    step_size: int = 3          # StepLR: epochs between decays
    gamma: float = 0.1          # StepLR: decay factor
    seed: int = 1
    device: str = "auto"        # auto = cuda, then mps, then cpu
    num_workers: int = 2        # DataLoader worker processes
    max_batches: int | None = None  # cap batches per epoch for smoke runs
    data_root: str | None = None    # None = $S5UTILS_DATA or the user cache
    out_dir: str = "runs"
    recipe: str = "seed"        # seed = SGD + StepLR as in S5; fast = see s5utils/recipes.py
    data_path: str = "auto"     # tensor = MNIST on the device + batched augmentation; loader = seed DataLoader
    amp: str = "auto"           # autocast dtype: auto = bf16 on CUDA, off elsewhere; off, bf16, fp16 (CUDA)
    channels_last: str = "auto" # auto = on (measured faster on CPU), on, off
    compile: str = "off"        # torch.compile mode: off, default, reduce-overhead, max-autotune

    def to_dict(self) -> dict:
        """Plain values, ready for JSON."""
        return dataclasses.asdict(self)


# name -> (check, what is allowed)
RANGES = {
    "epochs": (lambda v: v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "lr": (lambda v: 0 < v < math.inf, "a number > 0"),
    "momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "step_size": (lambda v: v >= 1, "an integer >= 1"),
    "gamma": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "seed": (lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)"),
    "device": (lambda v: re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v) is not None, "auto, cpu, cuda, cuda:N or mps"),
    "num_workers": (lambda v: v >= 0, "an integer >= 0"),
    "max_batches": (lambda v: v is None or v >= 1, "an integer >= 1, or None for whole epochs"),
    "data_root": (lambda v: v is None or v.strip() != "", "a folder path, or None for the default"),
    "out_dir": (lambda v: v.strip() != "", "a folder path"),
    "recipe": (lambda v: v in ("seed", "fast"), "seed or fast"),
    "data_path": (lambda v: v in ("auto", "tensor", "loader"), "auto, tensor or loader"),
    "amp": (lambda v: v in ("auto", "off", "bf16", "fp16"), "auto, off, bf16 or fp16"),
    "channels_last": (lambda v: v in ("auto", "on", "off"), "auto, on or off"),
    "compile": (lambda v: v in ("off", "default", "reduce-overhead", "max-autotune"),
                "off, default, reduce-overhead or max-autotune"),
}


def _coerce(name: str, value, kind: str):
    """Turn value into kind ('int', 'float', 'str'), accepting only lossless conversions."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be {RANGES[name][1]}, got the boolean {value}")
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        if isinstance(value, int):
            return value
    elif kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return str(value) if not isinstance(value, bytes) else value.decode()
    raise ConfigError(f"{name} must be {RANGES[name][1]}, got {value!r}")


def make_config(**params) -> TrainConfig:
    """Build a TrainConfig from keyword values, coercing safe types and rejecting bad names or values."""
    known = {f.name: f for f in fields(TrainConfig)}
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
            raise ConfigError(f"unknown parameter {name!r}{hint}")
    values = {}
    for name, value in params.items():
        annotation = str(known[name].type)
        optional = "None" in annotation
        if value is None or (optional and isinstance(value, str) and value.strip().lower() == "none"):
            if not optional:
                raise ConfigError(f"{name} must be {RANGES[name][1]}, got None")
            values[name] = None
            continue
        kind = next(k for k in ("int", "float", "str") if k in annotation)
        values[name] = _coerce(name, value, kind)
    config = TrainConfig(**values)
    for name, (ok, allowed) in RANGES.items():
        value = getattr(config, name)
        if not ok(value):
            raise ConfigError(f"{name} must be {allowed}, got {value!r}")
    return config
