"""A run folder attached to fit() as one callback: checkpoint.pt, metrics.json and TensorBoard events after every
epoch, the plot and model.pt at the end, and how the run ended (completed, interrupted, failed) when it ends."""

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from s5utils.atomic import atomic_save
from s5utils.compat import refuses_module_at
from s5utils.config import TrainConfig
from s5utils.runs.records import RunClock, RunRecorder, claim_run_dir
from s5utils.runs.tensorboard_log import TensorBoardLogger
from s5utils.training.checkpoint import CHECKPOINT_NAME, Checkpointer, checkpoint_progress, load_checkpoint
from s5utils.training.loop import NonFiniteLossError


class RunFolder:
    """fit()'s link to a run folder, built from its path and the config; the rest comes from the TrainingState.

        with RunFolder(run_path, config) as run:
            history = fit(state, config.epochs, callbacks=[run, EpochProgress(config.epochs)])

    After every epoch it logs the epoch to TensorBoard (events.out.tfevents.*), writes checkpoint.pt
    (state.state_dict(): everything a bit-exact resume needs), then metrics.json. Leaving the block records
    how the run ended: completed (with training_plot.png and model.pt), or interrupted / failed, with a line
    on stderr saying what was kept and how to continue. resume=True continues the folder's earlier run (its
    state restored from the folder's checkpoint); otherwise a folder that holds a run's files is refused.
    With config.checkpoint_seconds, checkpoint_if_due(state), called after every optimizer step, also saves
    the epoch under way (fit() calls it; a loop of one's own passes it to state.train_epoch(after_step=...)).
    """

    @refuses_module_at(
        3,
        "model",
        "RunFolder(run_dir, config, model, recipe, ...) is RunFolder(run_dir, config) since s5utils 0.2.0; the model "
        "and the rest come from the TrainingState: "
        "state = s5utils.TrainingState(model, optimizer, train_loader, test_loader, device, scheduler=scheduler); "
        "with s5utils.RunFolder(run_dir, config) as run: "
        "s5utils.fit(state, epochs, callbacks=[run])",
    )
    def __init__(self, run_dir: str | os.PathLike, config: TrainConfig, *, resume: bool = False) -> None:
        # A fresh run never writes over another run's files (RunDirError says how to continue or replace it).
        self.run_dir = Path(run_dir).expanduser() if resume else claim_run_dir(run_dir)
        self.config, self.resume = config, resume
        self.checkpointer = Checkpointer(self.run_dir / CHECKPOINT_NAME, config.to_dict())
        self.tensorboard = TensorBoardLogger(self.run_dir, config.to_dict(), config.epochs)
        self.clock = RunClock()  # metrics.json's started_at and wall_seconds count from here, not epoch 1's end
        self.recorder: RunRecorder | None = None
        self.state = None  # the TrainingState, from the first epoch on
        self.saved_at = time.monotonic()  # when the last checkpoint was written (or this folder opened)
        self.saved_inside: tuple[int, int] | None = None  # (epoch, batches) of the last checkpoint inside an epoch
        # Batches into an epoch where the checkpoint this run continues from stopped: metrics.json's "resumed" says so.
        self.resumed_batches = checkpoint_progress(self.run_dir)[1] if resume else 0

    @property
    def record(self) -> dict:
        """What metrics.json holds (config, environment, speed, history, status...); {} before the first epoch."""
        return self.recorder.record if self.recorder is not None else {}

    def _open(self, state, trained_here: int = 1) -> None:
        # A resumed run continues the folder's metrics.json: the epochs before this process's first one.
        earlier = state.history[: len(state.history) - trained_here] if self.resume else None
        self.state = state
        self.recorder = RunRecorder(
            self.run_dir, self.config.to_dict(), state.device, history=earlier, started=self.clock
        )
        if self.resumed_batches:
            self.record["resumed"][-1]["then_batches"] = self.resumed_batches
        self.record["speed"] = {**state.speed.record(), "compile_seconds": state.compile_seconds}
        # Which class the weights fit, so `python -m s5utils app` can rebuild the model (older runs: Net).
        self.record["model"] = {"class": type(state.model).__name__, "module": type(state.model).__module__}

    def __call__(self, state) -> None:
        """After an epoch: TensorBoard, then the checkpoint, so metrics.json never lists an epoch the checkpoint
        lacks, and a resume's purge drops any events of an epoch the checkpoint never saw."""
        if self.recorder is None:
            self._open(state)
        with hold_interrupts():  # a ^C between them would leave metrics.json an epoch behind the checkpoint
            self.tensorboard(state)
            self.checkpointer(state)
            self.recorder.epoch_end(state.history)
        self.saved_at, self.saved_inside = time.monotonic(), None

    def checkpoint_if_due(self, state) -> None:
        """After an optimizer step, with config.checkpoint_seconds: checkpoint the epoch under way when that long
        has passed since the last checkpoint, and once its training pass is done (before the test pass), so a job
        that ends inside an epoch loses at most that much training; the resumed run continues it bit for bit."""
        every = self.config.checkpoint_seconds
        if every is None or state.partial is None:
            return
        pass_done = state.partial.batches >= state.steps_per_epoch
        if not pass_done and time.monotonic() - self.saved_at < every:
            return
        with hold_interrupts():
            self.checkpointer(state)
        self.saved_at, self.saved_inside = time.monotonic(), (state.partial.epoch, state.partial.batches)

    def final_evaluation(self, state) -> dict | None:
        """The recipe's extra last evaluation (the fast recipe's test-time augmentation), recorded as final_tta."""
        if self.recorder is None and self.resume:  # resumed after its last epoch: none here, but the state is known
            self._open(state, trained_here=0)
        if state.final_predict is None:
            return None
        result = state.evaluate(predict=state.final_predict)
        self.record["final_tta"] = result
        return result

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self.recorder is None:  # ended before its first epoch here: the record says how, with what is known
            earlier = load_checkpoint(self.run_dir)["history"] if self.resume else None
            self.recorder = RunRecorder(self.run_dir, self.config.to_dict(), None, history=earlier, started=self.clock)
        history = self.record["history"]
        status = (
            "completed" if exc_type is None else "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
        )
        try:
            if exc_type is None:
                self.recorder.finish(status)
                if self.state is not None:
                    atomic_save(self.state.model.state_dict(), self.run_dir / "model.pt")
            elif status == "interrupted":
                self.recorder.finish(status, "KeyboardInterrupt")
                report(how_to_continue(self.run_dir, history, "Interrupted", inside=self.saved_inside))
            elif issubclass(exc_type, NonFiniteLossError):
                self.recorder.finish(
                    status,
                    str(exc),
                    stopped_at={"epoch": exc.epoch, "batch": exc.batch, "lr": exc.lr, "loss": str(exc.loss)},
                )
                report(how_to_continue(self.run_dir, history, "Stopped on a non-finite loss", resume=False))
            else:
                self.recorder.finish(status, f"{exc_type.__name__}: {exc}")
            if self.state is not None:
                self.tensorboard.finish(self.state, status)
        finally:
            self.tensorboard.close()
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


def how_to_continue(
    run_dir: Path, history: list[dict], what: str, resume: bool = True, inside: tuple[int, int] | None = None
) -> str:
    """The line that says what a stopped run kept and, if it can, how to continue it; inside: (epoch, batches) of
    a checkpoint taken inside an epoch after the last finished one."""
    if inside is not None and resume:
        kept = f"{what}: {run_dir} keeps {CHECKPOINT_NAME} of epoch {inside[0]} after batch {inside[1]}"
    elif not history:
        return f"{what} before the first epoch finished: {run_dir} has no checkpoint yet; start the run again"
    else:
        kept = f"{what}: {run_dir} keeps metrics.json, training_plot.png and {CHECKPOINT_NAME} of epoch {len(history)}"
    if not resume:
        return kept + " (the last good epoch)"
    return f"{kept}; continue with `python -m s5utils resume {run_dir}` or s5utils.resume_run({str(run_dir)!r})"


def report(message: str) -> None:
    """The run's one status line, on stderr beside the progress bars."""
    print(message, file=sys.stderr, flush=True)
