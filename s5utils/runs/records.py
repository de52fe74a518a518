"""Run directories: config, per-epoch metrics.json and the training plot, never overwritten."""

import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from s5utils.atomic import write_json_atomic
from s5utils.device import device_name
from s5utils.study.plots import plot_history
from s5utils.version import __version__

RUN_FILES = ("metrics.json", "training_plot.png", "checkpoint.pt", "model.pt")
EVENT_FILES = "events.out.tfevents.*"  # the run's TensorBoard log (s5utils.runs.tensorboard_log)


class RunDirError(FileExistsError):
    """A run directory would be overwritten, or a path meant for one is a file."""


def new_run_dir(base: str | os.PathLike, name: str = "run") -> Path:
    """Create and return a fresh folder base/<timestamp>-<name>[-N]; an existing one is never reused."""
    base = Path(base).expanduser()
    if base.exists() and not base.is_dir():
        raise RunDirError(f"output folder {base} is a file, not a folder; pass another --out / out_dir")
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = base / (f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run directory name under {base}")


def claim_run_dir(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Create path as a run directory; one that already holds a run's files is used only with overwrite=True.

    Other files are no run's (papermill's executed notebook, the user's notes) and stay. Overwriting
    deletes the previous run's own files (metrics.json, plot, checkpoint, weights, TensorBoard events), nothing else.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise RunDirError(f"run directory {path} is a file; pass a folder path")
    earlier = [path / name for name in RUN_FILES if (path / name).exists()] + sorted(path.glob(EVENT_FILES))
    if earlier:
        if not overwrite:
            raise RunDirError(
                f"run directory {path} already holds files and is never overwritten silently; "
                f"pass a new folder, continue it with `python -m s5utils resume {path}`, "
                "or replace it with --overwrite (overwrite=True)"
            )
        for file in earlier:
            file.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_record(run_dir: str | os.PathLike) -> dict:
    """A run directory's metrics.json as a dict; {} if it is missing or unreadable."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment(device: torch.device | None) -> dict:
    """What a result depends on: device name, library versions, platform (device None: not known yet)."""
    import torchvision

    return {
        "device": None if device is None else str(device),
        "device_name": None if device is None else device_name(device),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": sys.version.split()[0],
        "s5utils": __version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


class RunClock:
    """When this process's part of a run began: the wall-clock time for the record, and a monotonic start."""

    def __init__(self) -> None:
        self.at, self._start = _now(), time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._start


class RunRecorder:
    """Keeps metrics.json in run_dir current after every epoch, and writes the plot at the end."""

    def __init__(
        self,
        run_dir: Path,
        config: dict,
        device: torch.device | None,
        history: list[dict] | None = None,
        started: "RunClock | None" = None,
    ) -> None:
        """Start a record; pass the checkpoint's history to continue a resumed run's metrics.json, and the
        clock started when the run began if that was before this record (RunFolder opens it after epoch 1)."""
        self.run_dir = Path(run_dir)
        self.clock = started or RunClock()
        previous = read_record(run_dir) if history is not None else {}
        self.record = {
            "status": "running",
            "config": config,
            "environment": environment(device),
            "started_at": previous.get("started_at", self.clock.at),
            "wall_seconds": 0.0,
            "history": list(history or []),
        }
        if history is not None:
            self.record["resumed"] = previous.get("resumed", []) + [{"at": self.clock.at, "after_epoch": len(history)}]
        self._earlier_seconds = previous.get("wall_seconds", 0.0)
        self._save()

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.json"

    def epoch_end(self, history: list[dict]) -> None:
        """Record the history so far; a crash after this loses no finished epoch."""
        self.record["history"] = list(history)
        self._save()

    def finish(self, status: str = "completed", error: str | None = None, **details) -> Path:
        """Mark the run completed/failed/interrupted, save the plot, and return metrics.json's path."""
        self.record.update(status=status, finished_at=_now(), **details)
        if error:
            self.record["error"] = error
        if self.record["history"]:
            self.record["final"] = self.record["history"][-1]
            plot_history(self.record["history"]).savefig(self.run_dir / "training_plot.png", dpi=100)
        self._save()
        return self.metrics_path

    def _save(self) -> None:
        self.record["wall_seconds"] = round(self._earlier_seconds + self.clock.seconds(), 3)
        write_json_atomic(self.metrics_path, self.record)
