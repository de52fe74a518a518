"""Checkpoints: everything a run needs to continue bit for bit, written atomically after every epoch.

A checkpoint is a TrainingState's state_dict() (the raw model, optimizer, scheduler, GradScaler, history,
step count and every RNG state: torch, CUDA, NumPy, Python, and the train loader's generator, which decides
the shuffling) plus the config and the library versions. It holds only tensors and plain values, so
torch.load(path, weights_only=True) reads it.
"""

import os
import pickle
import random
import sys
from pathlib import Path

import numpy as np
import torch

from s5utils.atomic import atomic_save
from s5utils.compat import refuses_module_at
from s5utils.version import __version__

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 1
REQUIRED = ("format", "epoch", "model", "optimizer", "scheduler", "history", "config", "rng", "versions")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not one of ours; the message says which file and what to do."""


def rng_states(generator: torch.Generator | None = None) -> dict:
    """Every RNG state training draws from, as tensors and plain values (readable with weights_only=True)."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        # Only once CUDA is in use: querying it would otherwise start a CUDA context in a CPU run.
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {
            "name": np_name,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
        "loader": generator.get_state() if generator is not None else None,
    }


def restore_rng_states(states: dict, generator: torch.Generator | None = None) -> None:
    """Put every RNG (and the loader's generator, if given) back where rng_states() found it."""
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available() and torch.cuda.device_count() == len(states["cuda"]):
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = states["python"]
    random.setstate((p["version"], tuple(p["state"].tolist()), p["gauss"]))
    if generator is not None and states["loader"] is not None:
        generator.set_state(states["loader"])


def versions() -> dict:
    """Library versions a checkpoint was written with, as plain strings."""
    import torchvision

    return {
        "s5utils": __version__,
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


@refuses_module_at(
    1,
    "model",
    "save_checkpoint() takes a TrainingState since s5utils 0.2.0, not a model and optimizer: "
    "state = s5utils.TrainingState(model, optimizer, train_loader, test_loader, device, scheduler=scheduler); "
    "s5utils.save_checkpoint(path, state)",
)
def save_checkpoint(path: str | os.PathLike, state, config: dict | None = None) -> Path:
    """Write a TrainingState after an epoch (state.state_dict(), the config, the versions) atomically to path."""
    return atomic_save(
        {
            "format": FORMAT,
            "epoch": state.epoch,
            **state.state_dict(),
            "config": dict(config or {}),
            "versions": versions(),
        },
        path,
    )


def checkpoint_path(path: str | os.PathLike) -> Path:
    """The checkpoint file itself, given either it or the run directory that holds it."""
    path = Path(path).expanduser()
    return path / CHECKPOINT_NAME if path.is_dir() else path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint (or a run directory's checkpoint.pt) with weights_only=True; CheckpointError if unusable."""
    given = Path(path).expanduser()
    if not given.exists() and not (given.name == CHECKPOINT_NAME and given.parent.is_dir()):
        raise CheckpointError(
            f"nothing at {path}: pass a run directory made by `python -m s5utils train` (or its {CHECKPOINT_NAME})"
        )
    file = checkpoint_path(path)
    if not file.is_file():
        raise CheckpointError(
            f"no checkpoint at {file}: a run writes {CHECKPOINT_NAME} after its first finished "
            "epoch, so this run has none to resume; start a new run instead"
        )
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refusing to load {file}: it holds objects other than tensors and plain values "
            f"({str(exc).splitlines()[0][:200]}); only load checkpoints written by s5utils"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(
            f"checkpoint {file} is unreadable, probably truncated or corrupted "
            f"({str(exc).splitlines()[0][:200]}); start a new run"
        ) from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED):
        raise CheckpointError(
            f"{file} is not an s5utils checkpoint (it lacks {', '.join(REQUIRED)}); "
            "for bare weights use model.load_state_dict(torch.load(path, weights_only=True))"
        )
    return state


def checkpoint_progress(path: str | os.PathLike) -> tuple[int, int]:
    """(finished epochs, batches of the next one) a checkpoint or run folder holds; (0, 0) without a usable one."""
    try:
        saved = load_checkpoint(path)
    except CheckpointError:
        return 0, 0
    partial = saved.get("partial")  # a checkpoint inside an epoch (checkpoint_seconds)
    return saved["epoch"], partial["batches"] if partial else 0


class Checkpointer:
    """A fit() callback: saves the whole TrainingState to path after every epoch."""

    @refuses_module_at(
        2,
        "model",
        "Checkpointer(path, model, optimizer, ...) is Checkpointer(path) since s5utils 0.2.0: it saves the "
        "TrainingState fit() hands it: "
        "state = s5utils.TrainingState(model, optimizer, train_loader, test_loader, device, scheduler=scheduler); "
        "s5utils.fit(state, epochs, callbacks=[s5utils.Checkpointer(path)])",
    )
    def __init__(self, path: str | os.PathLike, config: dict | None = None) -> None:
        self.path, self.config = Path(path), config

    def __call__(self, state) -> None:
        save_checkpoint(self.path, state, self.config)
