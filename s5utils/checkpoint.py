"""Checkpoints: everything a run needs to continue bit for bit, written atomically after every epoch.

A checkpoint holds only tensors and plain values, so torch.load(path, weights_only=True) reads it:
model, optimizer and scheduler state, the history, the config, every RNG state (torch, CUDA, NumPy,
Python, and the train DataLoader's generator, which decides the shuffling), and the library versions.
"""
import contextlib
import os
import pickle
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .version import __version__

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
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
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

    return {"s5utils": __version__, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "numpy": np.__version__, "python": sys.version.split()[0]}


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file beside path, then rename it over path: a kill leaves the old file whole."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
                    history: list[dict] | None = None, config: dict | None = None,
                    generator: torch.Generator | None = None) -> Path:
    """Write the full training state after an epoch; call it when the RNGs are where the next epoch starts."""
    history = list(history or [])
    state = {
        "format": FORMAT, "epoch": len(history), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None, "history": history,
        "config": dict(config or {}), "rng": rng_states(generator), "versions": versions(),
    }
    return atomic_save(state, path)


def checkpoint_path(path: str | os.PathLike) -> Path:
    """The checkpoint file itself, given either it or the run directory that holds it."""
    path = Path(path).expanduser()
    return path / CHECKPOINT_NAME if path.is_dir() else path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint (or a run directory's checkpoint.pt) with weights_only=True; CheckpointError if unusable."""
    given = Path(path).expanduser()
    if not given.exists() and not (given.name == CHECKPOINT_NAME and given.parent.is_dir()):
        raise CheckpointError(f"nothing at {path}: pass a run directory made by `python -m s5utils train` "
                              f"(or its {CHECKPOINT_NAME})")
    file = checkpoint_path(path)
    if not file.is_file():
        raise CheckpointError(f"no checkpoint at {file}: a run writes {CHECKPOINT_NAME} after its first finished "
                              "epoch, so this run has none to resume; start a new run instead")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"refusing to load {file}: it holds objects other than tensors and plain values "
                              f"({str(exc).splitlines()[0][:200]}); only load checkpoints written by s5utils") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"checkpoint {file} is unreadable, probably truncated or corrupted "
                              f"({str(exc).splitlines()[0][:200]}); start a new run") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED):
        raise CheckpointError(f"{file} is not an s5utils checkpoint (it lacks {', '.join(REQUIRED)}); "
                              "for bare weights use model.load_state_dict(torch.load(path, weights_only=True))")
    return state


def restore_checkpoint(state: dict, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
                       generator: torch.Generator | None = None) -> list[dict]:
    """Load model, optimizer, scheduler and every RNG state from a loaded checkpoint; returns its history."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    restore_rng_states(state["rng"], generator)
    return [dict(row) for row in state["history"]]


class Checkpointer:
    """A fit() callback: saves the full training state to path after every epoch."""

    def __init__(self, path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
                 train_loader=None, config: dict | None = None) -> None:
        self.path = Path(path)
        self.model, self.optimizer, self.scheduler, self.config = model, optimizer, scheduler, config
        self.generator = getattr(train_loader, "generator", None)

    def __call__(self, history: list[dict]) -> None:
        save_checkpoint(self.path, self.model, self.optimizer, self.scheduler, history, self.config, self.generator)
