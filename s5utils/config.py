"""One validated configuration for every entry point: CLI, notebook parameters cell, papermill, Python."""

import dataclasses
import difflib
import math
import numbers
import re
import types
import typing
from dataclasses import dataclass, fields

from s5utils.device import get_device
from s5utils.errors import ConfigError

# Each recipe's own epochs, batch size, lr and momentum. A field left at None takes its recipe's value, so
# recipe="fast" alone is the whole fast recipe, and a value given explicitly always wins.
RECIPE_DEFAULTS = {
    "seed": {"epochs": 20, "batch_size": 512, "lr": 0.01, "momentum": 0.9},
    "fast": {"epochs": 6, "batch_size": 128, "lr": 0.1, "momentum": 0.9},  # lr: OneCycleLR peak; Nesterov momentum
}

# What may change when a run is resumed; everything else would make it a different run.
RESUMABLE = ("epochs", "num_workers", "data_root", "device", "checkpoint_seconds")


@dataclass(frozen=True)
class TrainConfig:
    """A run's recipe and hyperparameters, the speed options, and where it reads and writes."""

    epochs: int | None = None  # None: the recipe's own (RECIPE_DEFAULTS)
    batch_size: int | None = None
    lr: float | None = None
    momentum: float | None = None
    step_size: int = 3  # StepLR: epochs between decays
    gamma: float = 0.1  # StepLR: decay factor
    seed: int = 1
    device: str = "auto"  # auto = cuda, then mps, then cpu
    deterministic: bool = False  # CUDA: deterministic kernels (slower); CPU runs are deterministic anyway
    num_workers: int = 2  # DataLoader worker processes
    max_batches: int | None = None  # cap batches per epoch for smoke runs
    data_root: str | None = None  # None = $S5UTILS_DATA or the user cache
    out_dir: str = "runs"
    recipe: str = "seed"  # seed = SGD + StepLR as in S5; fast = see s5utils/recipes.py
    data_path: str = "auto"  # tensor = MNIST on the device + batched augmentation; loader = seed DataLoader
    amp: str = "auto"  # autocast: auto = bf16 on CUDA, AMX or AVX512_BF16 CPUs, else off; bf16, fp16 (CUDA)
    channels_last: str = "auto"  # auto = on (measured faster on CPU), on, off
    compile: str = "off"  # torch.compile mode: off, default, reduce-overhead, max-autotune
    checkpoint_seconds: float | None = None  # also checkpoint inside an epoch this often (jobs shorter than an epoch)

    def __post_init__(self) -> None:
        for name, value in RECIPE_DEFAULTS.get(self.recipe, {}).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)  # frozen: filled once, here

    def to_dict(self) -> dict:
        """Plain values, ready for JSON."""
        return dataclasses.asdict(self)


# name -> (check, what is allowed). Fields without an entry are only type-checked.
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
    "compile": (
        lambda v: v in ("off", "default", "reduce-overhead", "max-autotune"),
        "off, default, reduce-overhead or max-autotune",
    ),
    "checkpoint_seconds": (
        lambda v: v is None or 0 < v < math.inf,
        "a number of seconds > 0, or None to checkpoint after each epoch only",
    ),
}
KIND_WORDS = {"bool": "True or False", "int": "an integer", "float": "a number", "str": "a string"}
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _kind(field: dataclasses.Field) -> tuple[str, bool]:
    """('bool' | 'int' | 'float' | 'str', whether None is allowed) from a field's annotation."""
    hint = typing.get_type_hints(TrainConfig)[field.name]
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    base = next(a for a in args if a is not type(None))
    return base.__name__, type(None) in args


def _allowed(name: str, kind: str) -> str:
    return RANGES[name][1] if name in RANGES else KIND_WORDS[kind]


def _coerce(name: str, value, kind: str):
    """Turn value into kind, accepting only lossless conversions (papermill's -p 007 -> 7, '1e-3' -> 0.001)."""
    fail = ConfigError(f"{name} must be {_allowed(name, kind)}, got {value!r}", name)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise fail
    if isinstance(value, bool):  # bool is an int subclass: True must not become epochs=1
        raise ConfigError(f"{name} must be {_allowed(name, kind)}, got the boolean {value}", name)
    if kind == "int":
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, str):
            try:
                value = float(value) if not re.fullmatch(r"\s*[+-]?\d+\s*", value) else int(value)
            except ValueError:
                raise fail from None
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            return int(value)
    elif kind == "float":
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return value.decode() if isinstance(value, bytes) else str(value)
    elif isinstance(value, numbers.Integral) and name != "device":  # papermill -p out_dir 2024 arrives as int
        return str(value)
    raise fail


def unknown_parameter(name: str, known) -> ConfigError:
    """The error for a name that is not a parameter, with the closest known one as a hint."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
    return ConfigError(f"unknown parameter {name!r}{hint}", name)


def make_config(**params) -> TrainConfig:
    """Build a TrainConfig from keyword values, coercing safe types and rejecting bad names or values."""
    known = {f.name: f for f in fields(TrainConfig)}
    for name in params:
        if name not in known:
            raise unknown_parameter(name, known)
    values = {}
    for name, value in params.items():
        kind, optional = _kind(known[name])
        if value is None or (optional and isinstance(value, str) and value.strip().lower() == "none"):
            if not optional:
                raise ConfigError(f"{name} must be {_allowed(name, kind)}, got None", name)
            values[name] = None
            continue
        values[name] = _coerce(name, value, kind)
    config = TrainConfig(**values)
    # recipe first: an unknown one leaves epochs, batch_size, lr and momentum unfilled.
    for name, (ok, allowed) in sorted(RANGES.items(), key=lambda item: item[0] != "recipe"):
        value = getattr(config, name)
        if not ok(value):
            raise ConfigError(f"{name} must be {allowed}, got {value!r}", name)
    if config.checkpoint_seconds is not None and config.data_path == "loader":
        raise ConfigError(
            "checkpoint_seconds needs data_path 'tensor' (or 'auto'): the DataLoader cannot say where it is in an "
            "epoch; leave checkpoint_seconds at None to checkpoint after each epoch",
            "checkpoint_seconds",
        )
    _check_device_exists(config.device)
    return config


def _check_device_exists(device: str) -> None:
    # Fail here, in the config cell, not minutes later when training starts.
    get_device(device)
