"""The training loop: one epoch of training, one evaluation, and fit() over many epochs.

Works for any nn.Module classifier whose output is logits or log-probabilities: cross-entropy
applies log_softmax, which leaves log-probabilities unchanged, so on the seed's log_softmax
output it equals the seed's nll_loss.
"""
import contextlib
import math
import os
import time
import warnings
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

with warnings.catch_warnings():
    # Without ipywidgets, tqdm.auto uses the text bar (the seed's `Train: Loss=` lines, which papermill keeps) and
    # warns so in every notebook, with a path of this machine; with ipywidgets (Colab) it draws a widget.
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm

from .checkpoint import load_checkpoint, restore_checkpoint
from .precision import enable_tf32
from .speed import SpeedOptions

LossFn = Callable[..., torch.Tensor]
Callback = Callable[[list[dict]], None]  # called with the history after every epoch


class NonFiniteLossError(FloatingPointError):
    """The training loss became nan or inf; raised before that batch changes the weights."""

    def __init__(self, loss: float, batch: int, lr: float, epoch: int | None = None) -> None:
        self.loss, self.batch, self.lr, self.epoch = loss, batch, lr, epoch
        where = f"epoch {epoch}, batch {batch}" if epoch is not None else f"batch {batch}"
        super().__init__(f"training loss became {loss} at {where} (lr {lr:g}); training stopped before that "
                         "update. Fix: lower the learning rate, or check the inputs for nan/inf")


def _batches(loader, max_batches: int | None):
    for batch_idx, batch in enumerate(loader):
        if max_batches is not None and batch_idx >= max_batches:
            return
        yield batch_idx, batch


def steps_per_epoch(loader, max_batches: int | None = None) -> int:
    """How many batches (optimizer steps) one training epoch over loader takes, max_batches included."""
    return min(len(loader), max_batches) if max_batches else len(loader)


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    """Autocast to amp_dtype on device's type, or a no-op context when amp_dtype is None."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def _to_device(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, device: torch.device,
                    loss_fn: LossFn = F.cross_entropy, max_batches: int | None = None,
                    progress: bool = True, epoch: int | None = None, *, batch_scheduler=None,
                    amp_dtype: torch.dtype | None = None, channels_last: bool = False,
                    grad_scaler: torch.amp.GradScaler | None = None) -> dict:
    """Train for one pass over loader; returns the per-sample mean loss and accuracy (%).

    Raises NonFiniteLossError at the first nan/inf loss, before it reaches the weights.
    batch_scheduler.step() runs after every optimizer step (OneCycleLR); amp_dtype runs the forward pass
    under autocast; channels_last converts each batch; grad_scaler scales the loss (float16 autocast).
    """
    model.train()
    total = steps_per_epoch(loader, max_batches)
    loss_sum, correct, seen = 0.0, 0, 0
    # The with-block closes the bar on any exit (Ctrl-C included), so tqdm never closes it at shutdown.
    with tqdm(total=total, disable=not progress) as bar:
        for batch_idx, (x, y) in _batches(loader, max_batches):
            x, y = _to_device(x, device, channels_last), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, amp_dtype):
                output = model(x)
            loss = loss_fn(output.float(), y)
            batch_correct = (output.argmax(dim=1) == y).sum()
            # One wait for the device per batch, for both numbers; the loss is checked before it reaches the weights.
            batch_loss, batch_correct = torch.stack([loss.detach().float(), batch_correct.float()]).tolist()
            if not math.isfinite(batch_loss):
                raise NonFiniteLossError(batch_loss, batch_idx, optimizer.param_groups[0]["lr"], epoch)
            if grad_scaler is not None:
                grad_scaler.scale(loss).backward()
                grad_scaler.step(optimizer)
                grad_scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if batch_scheduler is not None:
                batch_scheduler.step()

            loss_sum += batch_loss * y.size(0)
            correct += int(batch_correct)
            seen += y.size(0)
            accuracy = 100 * correct / seen
            bar.set_description(f"Train: Loss={batch_loss:0.4f} Batch_id={batch_idx} Accuracy={accuracy:0.2f}")
            bar.update()
    return {"train_loss": loss_sum / seen, "train_acc": 100 * correct / seen}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device, loss_fn: LossFn = F.cross_entropy,
             max_batches: int | None = None, *, amp_dtype: torch.dtype | None = None, channels_last: bool = False,
             predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None) -> dict:
    """Per-sample mean loss (summed, then divided by the sample count) and accuracy (%) on loader.

    predict(model, x) replaces model(x), e.g. for test-time augmentation.
    """
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for _, (x, y) in _batches(loader, max_batches):
        x, y = _to_device(x, device, channels_last), y.to(device, non_blocking=True)
        with _autocast(device, amp_dtype):
            output = model(x) if predict is None else predict(model, x)
        output = output.float()
        loss_sum += loss_fn(output, y, reduction="sum").item()
        correct += (output.argmax(dim=1) == y).sum().item()
        seen += y.size(0)
    return {"test_loss": loss_sum / seen, "test_acc": 100 * correct / seen, "test_correct": correct, "test_seen": seen}


def make_grad_scaler(speed: SpeedOptions, device: torch.device | str) -> torch.amp.GradScaler | None:
    """The GradScaler float16 autocast needs (its small gradients would underflow), or None for other dtypes."""
    return torch.amp.GradScaler(torch.device(device).type) if speed.amp_dtype == torch.float16 else None


def fit(model: nn.Module, train_loader: DataLoader, test_loader: DataLoader, optimizer: torch.optim.Optimizer,
        scheduler=None, epochs: int = 1, device: torch.device | str = "cpu", *, loss_fn: LossFn = F.cross_entropy,
        batch_scheduler=None, speed: SpeedOptions | None = None, callbacks: Sequence[Callback] = (),
        resume_from: str | os.PathLike | None = None, history: list[dict] | None = None,
        max_batches: int | None = None, progress: bool = True) -> list[dict]:
    """Train and evaluate for `epochs` epochs, printing the seed's lines; returns the per-epoch history.

    scheduler steps after every epoch, batch_scheduler after every batch. speed: autocast dtype (fp16 brings
    a GradScaler), channels_last and TF32 (SpeedOptions; default plain float32). Each callback(history) runs
    after every epoch: checkpointing, recording, progress lines (s5utils.Checkpointer, RunFolder, EpochProgress).
    resume_from: a checkpoint (or run directory) to continue from; model, optimizer, scheduler, history and
    every RNG state are restored, so the remaining epochs match an uninterrupted run bit for bit. history:
    the history of an earlier call, to continue it in this process.
    """
    device = torch.device(device)
    if speed is not None:  # the run's first line says which precision it trains in, and why
        print(f"Precision: {speed.precision}" + (", TF32 float32 matmuls" if speed.tf32 else ""), flush=True)
    speed = speed or SpeedOptions()
    model.to(device)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    if speed.tf32 and device.type == "cuda":
        enable_tf32()
    grad_scaler = make_grad_scaler(speed, device)
    if resume_from is not None:
        schedule = scheduler or batch_scheduler  # whichever exists is checkpointed (the recipes use one)
        history = restore_checkpoint(load_checkpoint(resume_from), model, optimizer, schedule,
                                     getattr(train_loader, "generator", None))
        print(f"Resuming after epoch {len(history)} of {epochs} from {resume_from}", flush=True)
    history = [] if history is None else history
    for epoch in range(len(history) + 1, epochs + 1):
        lrs = [group["lr"] for group in optimizer.param_groups]
        for i, lr in enumerate(lrs):
            print(f"Adjusting learning rate of group {i} to {lr:.4e}.")
        print(f"Epoch {epoch}", flush=True)
        start = time.perf_counter()
        train = train_one_epoch(model, train_loader, optimizer, device, loss_fn, max_batches, progress, epoch,
                                batch_scheduler=batch_scheduler, amp_dtype=speed.amp_dtype,
                                channels_last=speed.channels_last, grad_scaler=grad_scaler)
        test = evaluate(model, test_loader, device, loss_fn, max_batches, amp_dtype=speed.amp_dtype,
                        channels_last=speed.channels_last)
        seconds = time.perf_counter() - start
        print(f"Test set: Average loss: {test['test_loss']:.4f}, "
              f"Accuracy: {test['test_correct']}/{test['test_seen']} ({test['test_acc']:.2f}%)\n", flush=True)
        if scheduler is not None:
            scheduler.step()
        history.append({"epoch": epoch, "lr": lrs[0], **train, **test, "seconds": seconds})
        for callback in callbacks:
            callback(history)
    return history
