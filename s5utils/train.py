"""The training loop: one epoch of training, one evaluation, and fit() over many epochs.

Works for any nn.Module classifier whose output is logits or log-probabilities: cross-entropy
applies log_softmax, which leaves log-probabilities unchanged, so on the seed's log_softmax
output it equals the seed's nll_loss.
"""
import time
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

LossFn = Callable[..., torch.Tensor]


def _batches(loader, max_batches: int | None):
    for batch_idx, batch in enumerate(loader):
        if max_batches is not None and batch_idx >= max_batches:
            return
        yield batch_idx, batch


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, device: torch.device,
                    loss_fn: LossFn = F.cross_entropy, max_batches: int | None = None,
                    progress: bool = True) -> dict:
    """Train for one pass over loader; returns the per-sample mean loss and accuracy (%)."""
    model.train()
    total = min(len(loader), max_batches) if max_batches else len(loader)
    bar = tqdm(total=total, disable=not progress)
    loss_sum, correct, seen = 0.0, 0, 0
    for batch_idx, (x, y) in _batches(loader, max_batches):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        output = model(x)
        loss = loss_fn(output, y)
        loss.backward()
        optimizer.step()

        batch_loss = loss.item()
        loss_sum += batch_loss * y.size(0)
        correct += (output.argmax(dim=1) == y).sum().item()
        seen += y.size(0)
        bar.set_description(f"Train: Loss={batch_loss:0.4f} Batch_id={batch_idx} Accuracy={100 * correct / seen:0.2f}")
        bar.update()
    bar.close()
    return {"train_loss": loss_sum / seen, "train_acc": 100 * correct / seen}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device, loss_fn: LossFn = F.cross_entropy,
             max_batches: int | None = None) -> dict:
    """Per-sample mean loss (summed, then divided by the sample count) and accuracy (%) on loader."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for _, (x, y) in _batches(loader, max_batches):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        output = model(x)
        loss_sum += loss_fn(output, y, reduction="sum").item()
        correct += (output.argmax(dim=1) == y).sum().item()
        seen += y.size(0)
    return {"test_loss": loss_sum / seen, "test_acc": 100 * correct / seen, "test_correct": correct, "test_seen": seen}


def fit(model: nn.Module, train_loader: DataLoader, test_loader: DataLoader, optimizer: torch.optim.Optimizer,
        scheduler=None, epochs: int = 1, device: torch.device | str = "cpu", *,
        loss_fn: LossFn = F.cross_entropy, max_batches: int | None = None, history: list[dict] | None = None,
        on_epoch_end: Callable[[list[dict]], None] | None = None, progress: bool = True) -> list[dict]:
    """Train and evaluate for `epochs` epochs, printing the seed's lines; returns the per-epoch history.

    Pass the history of an earlier call to continue it; on_epoch_end(history) runs after every epoch.
    """
    device = torch.device(device)
    model.to(device)
    history = [] if history is None else history
    for epoch in range(len(history) + 1, epochs + 1):
        lrs = [group["lr"] for group in optimizer.param_groups]
        for i, lr in enumerate(lrs):
            print(f"Adjusting learning rate of group {i} to {lr:.4e}.")
        print(f"Epoch {epoch}", flush=True)
        start = time.perf_counter()
        train = train_one_epoch(model, train_loader, optimizer, device, loss_fn, max_batches, progress)
        test = evaluate(model, test_loader, device, loss_fn, max_batches)
        seconds = time.perf_counter() - start
        print(f"Test set: Average loss: {test['test_loss']:.4f}, "
              f"Accuracy: {test['test_correct']}/{test['test_seen']} ({test['test_acc']:.2f}%)\n", flush=True)
        if scheduler is not None:
            scheduler.step()
        history.append({"epoch": epoch, "lr": lrs[0], **train, **test, "seconds": seconds})
        if on_epoch_end is not None:
            on_epoch_end(history)
    return history
