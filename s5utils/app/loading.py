"""A run folder, ready to serve: its model (class as recorded, weights from model.pt or checkpoint.pt), its record,
the device and precision the kit picks, and the normalisation the model was trained with."""

import dataclasses
import importlib
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from s5utils.config import ConfigError, TrainConfig, make_config
from s5utils.data.mnist import MNIST_MEAN, MNIST_STD
from s5utils.device import get_device
from s5utils.runs.records import read_record
from s5utils.training.checkpoint import CHECKPOINT_NAME
from s5utils.training.speed import resolve_speed

MODEL_NAME = "model.pt"
DEFAULT_MODEL = {"class": "Net", "module": "s5utils.models"}  # runs recorded before the class name was


class RunLoadError(ValueError):
    """A run folder cannot be served: missing, without a model, or with an unreadable one; one line says which."""


@dataclass
class LoadedRun:
    """A trained model in eval mode on its device, with what the app shows beside it."""

    run_dir: Path
    model: nn.Module
    model_file: Path
    model_class: str  # "module:Class"
    record: dict  # metrics.json ({} if there is none)
    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype, None for float32
    channels_last: bool
    mean: float = MNIST_MEAN  # every run of the kit trains on MNIST normalised with these
    std: float = MNIST_STD

    @property
    def history(self) -> list[dict]:
        return self.record.get("history", [])

    @property
    def data_root(self) -> str | None:
        return self.record.get("config", {}).get("data_root")


def model_file(run_dir: str | os.PathLike) -> Path:
    """The weights a run folder serves: model.pt of a finished run, else checkpoint.pt of an unfinished one."""
    given = Path(run_dir).expanduser()
    if not given.is_dir():
        raise RunLoadError(
            f"no run folder at {run_dir}: pass a run directory made by `python -m s5utils train` "
            f"(it holds {MODEL_NAME} or {CHECKPOINT_NAME})"
        )
    for name in (MODEL_NAME, CHECKPOINT_NAME):
        if (given / name).is_file():
            return given / name
    raise RunLoadError(
        f"{run_dir} holds no {MODEL_NAME} or {CHECKPOINT_NAME}: a run writes {CHECKPOINT_NAME} after its first "
        "epoch; pass a run that trained at least one epoch"
    )


def read_weights(file: Path) -> dict:
    """A state_dict from model.pt, or the model part of checkpoint.pt, read with weights_only=True."""
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not zipfile.is_zipfile(file):  # torch.save writes a zip archive: anything else is damaged
            raise RunLoadError(
                f"model file {file} is unreadable, not a torch.save archive (truncated or corrupted); "
                "train the run again"
            ) from None
        raise RunLoadError(
            f"refusing to load {file}: it holds objects other than tensors; only serve runs written by s5utils"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise RunLoadError(
            f"model file {file} is unreadable, probably truncated or corrupted "
            f"({str(exc).splitlines()[0][:120]}); train the run again"
        ) from None
    if file.name == CHECKPOINT_NAME and isinstance(state, dict) and "model" in state:
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RunLoadError(f"{file} holds no model weights (a state_dict); train the run again")
    return state


def model_class(record: dict) -> type[nn.Module]:
    """The class the run recorded in metrics.json's "model" (module and class name), Net for older runs."""
    info = record.get("model") or DEFAULT_MODEL
    where = f"{info.get('module')}:{info.get('class')}"
    try:
        found = getattr(importlib.import_module(info["module"]), info["class"])
    except (ImportError, AttributeError, KeyError):
        raise RunLoadError(
            f"the run's model class {where} cannot be imported here; install the package that "
            "defines it, or move the class from the notebook into an importable module"
        ) from None
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        raise RunLoadError(f"the run's model class {where} is not a torch.nn.Module")
    return found


def serving_options(record: dict, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype, channels_last) as the run's config resolves on this device; amp "auto" if the run's own
    choice cannot run here (fp16 away from CUDA)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = {k: v for k, v in record.get("config", {}).items() if k in known}
    try:
        config = make_config(**saved)
    except ConfigError:
        config = TrainConfig()
    try:
        speed = resolve_speed(config, device)
    except ValueError:
        speed = resolve_speed(dataclasses.replace(config, amp="auto"), device)
    return speed.amp_dtype, speed.channels_last


def load_run(run_dir: str | os.PathLike, device: str = "auto") -> LoadedRun:
    """Load a run folder's model for inference; RunLoadError (one line) if it cannot be served."""
    file = model_file(run_dir)
    record = read_record(file.parent)
    cls = model_class(record)
    weights = read_weights(file)
    try:
        model = cls()
        model.load_state_dict(weights)
    except (RuntimeError, TypeError) as exc:
        raise RunLoadError(
            f"{file} does not fit {cls.__name__} ({str(exc).splitlines()[0][:120]}); "
            "the run's metrics.json names another model class than the one that trained"
        ) from None
    device = get_device(device)
    amp_dtype, channels_last = serving_options(record, device)
    model = model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return LoadedRun(
        run_dir=file.parent,
        model=model,
        model_file=file,
        model_class=f"{cls.__module__}:{cls.__name__}",
        record=record,
        device=device,
        amp_dtype=amp_dtype,
        channels_last=channels_last,
    )
