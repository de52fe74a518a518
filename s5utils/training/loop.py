"""The training loop: one epoch of training, one evaluation, and fit() over many epochs of a TrainingState.

Works for any nn.Module classifier whose output is logits or log-probabilities: cross-entropy
applies log_softmax, which leaves log-probabilities unchanged, so on the seed's log_softmax
output it equals the seed's nll_loss.
"""

import contextlib
import dataclasses
import itertools
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from s5utils.compat import refuses_module_at

with warnings.catch_warnings():
    # Without ipywidgets, tqdm.auto uses the text bar (the seed's `Train: Loss=` lines, which papermill keeps) and
    # warns so in every notebook, with a path of this machine; with ipywidgets (Colab) it draws a widget.
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm

LossFn = Callable[..., torch.Tensor]
Callback = Callable[
    ..., None
]  # callback(state): called with the run's TrainingState (s5utils.training.state) after every epoch


class NonFiniteLossError(FloatingPointError):
    """The training loss became nan or inf; raised before that batch changes the weights."""

    def __init__(self, loss: float, batch: int, lr: float, epoch: int | None = None) -> None:
        self.loss, self.batch, self.lr, self.epoch = loss, batch, lr, epoch
        where = f"epoch {epoch}, batch {batch}" if epoch is not None else f"batch {batch}"
        super().__init__(
            f"training loss became {loss} at {where} (lr {lr:g}); training stopped before that "
            "update. Fix: lower the learning rate, or check the inputs for nan/inf"
        )


@dataclasses.dataclass
class EpochSoFar:
    """A training pass's running totals: what a checkpoint inside epoch `epoch` keeps to finish it unchanged."""

    epoch: int
    lrs: list = dataclasses.field(default_factory=list)  # each parameter group's lr when the pass began
    batches: int = 0  # optimizer steps taken in this pass
    loss_sum: float = 0.0  # per-sample losses, summed
    correct: int = 0
    seen: int = 0
    batch_log: list = dataclasses.field(default_factory=list)  # [loss, lr] of each batch

    def result(self) -> dict:
        """The pass's per-sample mean loss and accuracy (%), as train_one_epoch returns them."""
        return {"train_loss": self.loss_sum / self.seen, "train_acc": 100 * self.correct / self.seen}


def _batches(loader, max_batches: int | None, first: int = 0):
    """(index, batch) from index `first` on; no batch past max_batches is made (making one draws random numbers)."""
    return enumerate(itertools.islice(loader, None if max_batches is None else max(0, max_batches - first)), first)


def steps_per_epoch(loader, max_batches: int | None = None) -> int:
    """How many batches (optimizer steps) one training epoch over loader takes, max_batches included."""
    return min(len(loader), max_batches) if max_batches else len(loader)


def autocast_to(device: torch.device, amp_dtype: torch.dtype | None):
    """Autocast to amp_dtype on device's type, or a no-op context when amp_dtype is None."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def batch_to_device(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """x on device (without waiting for the copy), in channels_last memory format if asked."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    loss_fn: LossFn = F.cross_entropy,
    max_batches: int | None = None,
    progress: bool = True,
    epoch: int | None = None,
    *,
    batch_scheduler=None,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    grad_scaler: torch.amp.GradScaler | None = None,
    batch_log: list | None = None,
    so_far: EpochSoFar | None = None,
    after_step: Callable[[], None] | None = None,
) -> dict:
    """Train for one pass over loader; returns the per-sample mean loss and accuracy (%).

    Raises NonFiniteLossError at the first nan/inf loss, before it reaches the weights.
    batch_scheduler.step() runs after every optimizer step (OneCycleLR); amp_dtype runs the forward pass
    under autocast; channels_last converts each batch; grad_scaler scales the loss (float16 autocast);
    batch_log, a list, receives (loss, lr) of every batch. so_far holds the running totals: given, the pass
    continues from its batch count (loader positioned there) and it is kept current; after_step() runs after
    every optimizer step, with the totals updated (a checkpoint there continues the pass unchanged).
    """
    model.train()
    total = steps_per_epoch(loader, max_batches)
    so_far = so_far if so_far is not None else EpochSoFar(epoch or 0)
    if so_far.batches >= total:  # a pass a checkpoint saved as done: nothing left to train
        return so_far.result()
    # The bar goes to stdout with the seed's other lines, so a notebook keeps them in one stream, in order.
    # The with-block closes the bar on any exit (Ctrl-C included), so tqdm never closes it at shutdown.
    with tqdm(total=total, initial=so_far.batches, disable=not progress, file=sys.stdout) as bar:
        for batch_idx, (x, y) in _batches(loader, max_batches, so_far.batches):
            x, y = batch_to_device(x, device, channels_last), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with autocast_to(device, amp_dtype):
                output = model(x)
            loss = loss_fn(output.float(), y)
            batch_correct = (output.argmax(dim=1) == y).sum()
            # One wait for the device per batch, for both numbers; the loss is checked before it reaches the weights.
            batch_loss, batch_correct = torch.stack([loss.detach().float(), batch_correct.float()]).tolist()
            lr = optimizer.param_groups[0]["lr"]
            if not math.isfinite(batch_loss):
                raise NonFiniteLossError(batch_loss, batch_idx, lr, epoch)
            if grad_scaler is not None:
                grad_scaler.scale(loss).backward()
                grad_scaler.step(optimizer)
                grad_scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if batch_scheduler is not None:
                batch_scheduler.step()
            if batch_log is not None:
                batch_log.append((batch_loss, lr))

            so_far.batches = batch_idx + 1
            so_far.loss_sum += batch_loss * y.size(0)
            so_far.correct += int(batch_correct)
            so_far.seen += y.size(0)
            so_far.batch_log.append([batch_loss, lr])
            accuracy = 100 * so_far.correct / so_far.seen
            bar.set_description(f"Train: Loss={batch_loss:0.4f} Batch_id={batch_idx} Accuracy={accuracy:0.2f}")
            bar.update()
            if after_step is not None:
                after_step()
    return so_far.result()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    loss_fn: LossFn = F.cross_entropy,
    max_batches: int | None = None,
    *,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> dict:
    """Per-sample mean loss (summed, then divided by the sample count) and accuracy (%) on loader.

    predict(model, x) replaces model(x), e.g. for test-time augmentation.
    """
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for _, (x, y) in _batches(loader, max_batches):
        x, y = batch_to_device(x, device, channels_last), y.to(device, non_blocking=True)
        with autocast_to(device, amp_dtype):
            output = model(x) if predict is None else predict(model, x)
        output = output.float()
        loss_sum += loss_fn(output, y, reduction="sum").item()
        correct += (output.argmax(dim=1) == y).sum().item()
        seen += y.size(0)
    return {"test_loss": loss_sum / seen, "test_acc": 100 * correct / seen, "test_correct": correct, "test_seen": seen}


def make_grad_scaler(speed, device: torch.device | str) -> torch.amp.GradScaler | None:
    """The GradScaler float16 autocast needs (its small gradients would underflow), or None for other dtypes."""
    return torch.amp.GradScaler(torch.device(device).type) if speed.amp_dtype == torch.float16 else None


def announce_epoch(optimizer, epoch: int) -> float:
    """Print the seed's `Adjusting learning rate of group i to …` and `Epoch k` lines; returns group 0's lr.

    optimizer may be a TrainingState: one that continues epoch `epoch` from a checkpoint inside it announces the
    lrs that epoch began with (a per-batch schedule has moved them since), as the uninterrupted run did.
    """
    partial = getattr(optimizer, "partial", None)
    if partial is not None and partial.epoch == epoch and partial.lrs:
        lrs = list(partial.lrs)
    else:
        lrs = [group["lr"] for group in getattr(optimizer, "optimizer", optimizer).param_groups]
    for i, lr in enumerate(lrs):
        print(f"Adjusting learning rate of group {i} to {lr:.4e}.")
    print(f"Epoch {epoch}", flush=True)
    return lrs[0]


def report_test(test: dict) -> None:
    """Print the seed's `Test set: Average loss: …, Accuracy: …` line for an evaluate() result."""
    print(
        f"Test set: Average loss: {test['test_loss']:.4f}, "
        f"Accuracy: {test['test_correct']}/{test['test_seen']} ({test['test_acc']:.2f}%)\n",
        flush=True,
    )


@refuses_module_at(
    0,
    "model",
    "fit() takes a TrainingState since s5utils 0.2.0, not a model: "
    "state = s5utils.TrainingState(model, optimizer, train_loader, test_loader, device, scheduler=scheduler); "
    "history = s5utils.fit(state, epochs)",
)
def fit(state, epochs: int, callbacks: Sequence[Callback] = (), progress: bool = True) -> list[dict]:
    """Train and evaluate state until it has `epochs` epochs, printing the seed's lines; returns state.history.

    The loop notebooks/S5.ipynb writes out: for each epoch not yet done (a restored state continues after its
    last), train one epoch, evaluate, step the epoch scheduler, append the history row, then call each
    callback(state): checkpoint and records (RunFolder), progress line (EpochProgress), live figure (LiveCurves).
    A callback with a checkpoint_if_due(state) method (RunFolder) is also called after every optimizer step.
    """
    print(state.speed.describe(), flush=True)
    due = [callback.checkpoint_if_due for callback in callbacks if hasattr(callback, "checkpoint_if_due")]

    def after_step(state) -> None:
        for checkpoint_if_due in due:
            checkpoint_if_due(state)

    for epoch in range(state.epoch + 1, epochs + 1):
        lr = announce_epoch(state, epoch)
        start = time.perf_counter()
        train = state.train_epoch(progress, after_step=after_step if due else None)
        test = state.evaluate()
        report_test(test)
        if state.scheduler is not None:
            state.scheduler.step()
        state.history.append({"epoch": epoch, "lr": lr, **train, **test, "seconds": time.perf_counter() - start})
        for callback in callbacks:
            callback(state)
    return state.history
