"""A recipe end to end (the seed one by default): data, Net, optimizer and schedule, fit, per-epoch checkpoints,
a recorded run directory."""
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

import torch
import torch.nn as nn

from .checkpoint import CHECKPOINT_NAME, Checkpointer, atomic_save, checkpoint_path, load_checkpoint
from .config import ConfigError, TrainConfig, make_config
from .data import make_loaders, mnist_datasets
from .device import get_device, set_deterministic, set_seed
from .fastdata import make_tensor_loaders
from .models import Net
from .recipes import build_recipe, train_augmentation
from .runs import RunRecorder, claim_run_dir, new_run_dir
from .speed import SpeedOptions, batch_sizes, compile_model, resolve_speed
from .train import NonFiniteLossError, evaluate, fit

# What may change when a run is resumed; everything else would make it a different run.
RESUMABLE = ("epochs", "num_workers", "data_root", "device")


def run_seed_recipe(config: TrainConfig, run_dir: str | os.PathLike | None = None, *,
                    overwrite: bool = False) -> tuple[Path, list[dict]]:
    """Train Net with config.recipe (the seed recipe by default); returns (run directory, history).

    run_dir=None makes a new folder under config.out_dir. A given run_dir that already holds files is
    refused unless overwrite=True; to continue it, use resume_run(run_dir).
    """
    run_dir = claim_run_dir(run_dir, overwrite) if run_dir is not None else new_run_dir(config.out_dir, config.recipe)
    return _train(config, run_dir, resume_from=None)


def resume_run(run_dir: str | os.PathLike, **overrides) -> tuple[Path, list[dict]]:
    """Continue a run from its checkpoint.pt (model, optimizer, scheduler, RNGs, history); returns (run_dir, history).

    overrides may change epochs (to train longer), num_workers, data_root or device; with none, the
    finished run matches an uninterrupted one bit for bit on the same device.
    """
    file = checkpoint_path(run_dir)
    state = load_checkpoint(file)
    for name in overrides:
        if name not in RESUMABLE:
            raise ConfigError(f"{name} cannot change when resuming (only {', '.join(RESUMABLE)} can); "
                              "start a new run for other values", name)
    known = TrainConfig.__dataclass_fields__
    saved = {k: v for k, v in state["config"].items() if k in known}
    config = make_config(**{**saved, **{k: v for k, v in overrides.items() if v is not None}})
    return _train(config, file.parent, resume_from=file)


def build_loaders(config: TrainConfig, device: torch.device, data_path: str) -> tuple:
    """config's (train, test) loaders on device: the tensor path, or the seed's DataLoader for "loader"."""
    tensor_augment, pil_transform = train_augmentation(config)
    if data_path == "tensor":
        return make_tensor_loaders(config.data_root, config.batch_size, device, config.seed, augment=tensor_augment)
    train_set, test_set = mnist_datasets(config.data_root, train_transform=pil_transform)
    return make_loaders(train_set, test_set, config.batch_size, device, config.num_workers, seed=config.seed)


def compile_for(model: nn.Module, speed: SpeedOptions, device: torch.device, train_loader, test_loader
                ) -> tuple[nn.Module, float | None]:
    """(runner, compile seconds): model compiled for every batch size the loaders yield, or model itself."""
    if not speed.compile_mode:
        return model, None  # the compiled wrapper, when there is one, runs; model keeps the plain names
    return compile_model(model, speed.compile_mode, device, batch_sizes(train_loader) + batch_sizes(test_loader),
                         speed.amp_dtype, speed.channels_last)


def _train(config: TrainConfig, run_dir: Path, resume_from: Path | None) -> tuple[Path, list[dict]]:
    set_seed(config.seed)
    if config.deterministic:
        set_deterministic(True)
    device = get_device(config.device)
    speed = resolve_speed(config, device)
    train_loader, test_loader = build_loaders(config, device, speed.data_path)
    model = Net().to(device)
    steps = min(len(train_loader), config.max_batches or len(train_loader))
    recipe = build_recipe(config, model, steps)
    runner, compile_seconds = compile_for(model, speed, device, train_loader, test_loader)

    done = load_checkpoint(resume_from)["history"] if resume_from is not None else None
    recorder = RunRecorder(run_dir, config.to_dict(), device, history=done)
    amp_dtype = str(speed.amp_dtype) if speed.amp_dtype else None   # None: no autocast, float32
    recorder.record["speed"] = {"data_path": speed.data_path, "amp_dtype": amp_dtype,
                                "channels_last": speed.channels_last, "compile_seconds": compile_seconds}
    schedule = recipe.scheduler or recipe.batch_scheduler
    save = Checkpointer(run_dir / CHECKPOINT_NAME, model, recipe.optimizer, schedule, train_loader, config.to_dict())

    def epoch_end(history: list[dict]) -> None:
        with hold_interrupts():  # a ^C here would leave metrics.json an epoch behind the checkpoint
            save(history)  # checkpoint first: metrics.json never lists an epoch the checkpoint lacks
            recorder.epoch_end(history)

    try:
        history = fit(runner, train_loader, test_loader, recipe.optimizer, recipe.scheduler, config.epochs, device,
                      max_batches=config.max_batches, on_epoch_end=epoch_end, resume_from=resume_from,
                      loss_fn=recipe.loss_fn, batch_scheduler=recipe.batch_scheduler, amp_dtype=speed.amp_dtype,
                      channels_last=speed.channels_last)
        if recipe.final_predict is not None:
            recorder.record["final_tta"] = evaluate(runner, test_loader, device, recipe.loss_fn, config.max_batches,
                                                    amp_dtype=speed.amp_dtype, channels_last=speed.channels_last,
                                                    predict=recipe.final_predict)
    except KeyboardInterrupt:
        recorder.finish("interrupted", "KeyboardInterrupt")
        _report(_how_to_continue(run_dir, recorder.record["history"], "Interrupted"))
        raise
    except NonFiniteLossError as exc:
        recorder.finish("failed", str(exc), stopped_at={"epoch": exc.epoch, "batch": exc.batch, "lr": exc.lr,
                                                         "loss": str(exc.loss)})
        _report(_how_to_continue(run_dir, recorder.record["history"], "Stopped on a non-finite loss", resume=False))
        raise
    except Exception as exc:
        recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    recorder.finish("completed")
    atomic_save(model.state_dict(), run_dir / "model.pt")
    return run_dir, history


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


def _how_to_continue(run_dir: Path, history: list[dict], what: str, resume: bool = True) -> str:
    if not history:
        return f"{what} before the first epoch finished: {run_dir} has no checkpoint yet; start the run again"
    kept = (f"{what}: {run_dir} keeps metrics.json, training_plot.png and {CHECKPOINT_NAME} "
            f"of epoch {len(history)}")
    if not resume:
        return kept + " (the last good epoch)"
    return f"{kept}; continue with `python -m s5utils resume {run_dir}` or s5utils.resume_run({str(run_dir)!r})"


def _report(message: str) -> None:
    """The run's one status line, on stderr beside the progress bars."""
    print(message, file=sys.stderr, flush=True)
