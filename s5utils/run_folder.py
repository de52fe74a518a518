"""A run folder attached to fit() as one callback: checkpoint.pt and metrics.json after every epoch, the plot
and model.pt at the end, and how the run ended (completed, interrupted, failed) when it ends."""
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

import torch
import torch.nn as nn

from .checkpoint import CHECKPOINT_NAME, Checkpointer, atomic_save, load_checkpoint
from .config import TrainConfig
from .recipes import Recipe
from .runs import RunRecorder, claim_run_dir
from .speed import SpeedOptions
from .train import NonFiniteLossError, evaluate


class RunFolder:
    """fit()'s link to a run folder; use it as a context manager and pass it in fit's callbacks.

        with RunFolder(run_path, config, model, recipe, train_loader, device, speed) as run:
            history = fit(model, ..., callbacks=[run, EpochProgress(config.epochs)])

    After every epoch it writes checkpoint.pt (everything a bit-exact resume needs), then metrics.json.
    Leaving the block records how the run ended: completed (with training_plot.png and model.pt), or
    interrupted / failed, with a line on stderr saying what was kept and how to continue.
    """

    def __init__(self, run_dir: str | os.PathLike, config: TrainConfig, model: nn.Module, recipe: Recipe,
                 train_loader, device: torch.device | str, speed: SpeedOptions | None = None, *,
                 resume_from: str | os.PathLike | None = None, compile_seconds: float | None = None) -> None:
        # A fresh run never writes over another run's files (RunDirError says how to continue or replace it).
        self.run_dir = Path(run_dir) if resume_from is not None else claim_run_dir(run_dir)
        self.config, self.model, self.recipe = config, model, recipe
        self.device, self.speed = torch.device(device), speed or SpeedOptions()
        done = load_checkpoint(resume_from)["history"] if resume_from is not None else None
        self.recorder = RunRecorder(self.run_dir, config.to_dict(), self.device, history=done)
        self.record["speed"] = {**self.speed.record(), "compile_seconds": compile_seconds}
        schedule = recipe.scheduler or recipe.batch_scheduler  # whichever exists is checkpointed
        self.checkpointer = Checkpointer(self.run_dir / CHECKPOINT_NAME, model, recipe.optimizer, schedule,
                                         train_loader, config.to_dict())

    @property
    def record(self) -> dict:
        """What metrics.json holds (config, environment, speed, history, status...)."""
        return self.recorder.record

    def __call__(self, history: list[dict]) -> None:
        """After an epoch: the checkpoint first, so metrics.json never lists an epoch the checkpoint lacks."""
        with hold_interrupts():  # a ^C between the two would leave metrics.json an epoch behind the checkpoint
            self.checkpointer(history)
            self.recorder.epoch_end(history)

    def final_evaluation(self, runner: nn.Module, test_loader) -> dict | None:
        """The recipe's extra last evaluation (the fast recipe's test-time augmentation), recorded as final_tta."""
        if self.recipe.final_predict is None:
            return None
        result = evaluate(runner, test_loader, self.device, self.recipe.loss_fn, self.config.max_batches,
                          amp_dtype=self.speed.amp_dtype, channels_last=self.speed.channels_last,
                          predict=self.recipe.final_predict)
        self.record["final_tta"] = result
        return result

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        history = self.record["history"]
        if exc_type is None:
            self.recorder.finish("completed")
            atomic_save(self.model.state_dict(), self.run_dir / "model.pt")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.recorder.finish("interrupted", "KeyboardInterrupt")
            report(how_to_continue(self.run_dir, history, "Interrupted"))
        elif issubclass(exc_type, NonFiniteLossError):
            self.recorder.finish("failed", str(exc), stopped_at={"epoch": exc.epoch, "batch": exc.batch,
                                                                 "lr": exc.lr, "loss": str(exc.loss)})
            report(how_to_continue(self.run_dir, history, "Stopped on a non-finite loss", resume=False))
        else:
            self.recorder.finish("failed", f"{exc_type.__name__}: {exc}")
        return False  # the exception, if any, goes on


@contextlib.contextmanager
def hold_interrupts():
    """Delay a ^C (SIGINT) that arrives inside the block until the block has finished, then deliver it."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield  # only the main thread may set handlers; None: a handler set outside Python, which we cannot restore
        return
    held = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)  # now the restored handler acts on it, whatever it is


def how_to_continue(run_dir: Path, history: list[dict], what: str, resume: bool = True) -> str:
    """The line that says what a stopped run kept and, if it can, how to continue it."""
    if not history:
        return f"{what} before the first epoch finished: {run_dir} has no checkpoint yet; start the run again"
    kept = (f"{what}: {run_dir} keeps metrics.json, training_plot.png and {CHECKPOINT_NAME} "
            f"of epoch {len(history)}")
    if not resume:
        return kept + " (the last good epoch)"
    return f"{kept}; continue with `python -m s5utils resume {run_dir}` or s5utils.resume_run({str(run_dir)!r})"


def report(message: str) -> None:
    """The run's one status line, on stderr beside the progress bars."""
    print(message, file=sys.stderr, flush=True)
