"""The learning-rate range test: raise the lr exponentially batch by batch and watch the loss.

The model, the optimizer and torch's random state are put back afterwards, so the test can run
right before training without changing it (the loader's own shuffle generator does advance).
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch.utils.data import DataLoader


@dataclass
class LRFinderResult:
    """The lrs tried, the smoothed loss at each, and the suggested lr (steepest descent of the loss)."""

    lrs: list[float]
    losses: list[float]
    suggested_lr: float


def suggest_lr(lrs: list[float], losses: list[float]) -> float:
    """The lr where the smoothed loss falls fastest against log(lr), looking only before its minimum."""
    if len(lrs) < 3:
        raise ValueError(
            f"the range test recorded only {len(lrs)} losses; raise num_iter or end_lr must be larger than start_lr"
        )
    stop = int(np.argmin(losses)) + 1
    slopes = np.gradient(np.asarray(losses[: max(stop, 3)]), np.log(lrs[: max(stop, 3)]))
    return float(lrs[int(np.argmin(slopes))])


def lr_range_test(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    loss_fn: Callable[..., torch.Tensor] = F.cross_entropy,
    start_lr: float = 1e-5,
    end_lr: float = 1.0,
    num_iter: int = 100,
    smoothing: float = 0.05,
    diverge_factor: float = 4.0,
) -> LRFinderResult:
    """Train num_iter batches with lr rising from start_lr to end_lr; stop early once the loss diverges."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    device = torch.device(device)
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    was_training = model.training
    lrs, losses, avg, best = [], [], 0.0, math.inf
    try:
        model.to(device).train()
        batches = _cycle(loader)
        for i in range(num_iter):
            lr = start_lr * (end_lr / start_lr) ** (i / max(num_iter - 1, 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            # Exponential moving average with bias correction, as in Smith (2017) / fastai.
            avg = (1 - smoothing) * avg + smoothing * loss.item()
            smoothed = avg / (1 - (1 - smoothing) ** (i + 1))
            if not math.isfinite(smoothed) or smoothed > diverge_factor * best:
                break
            best = min(best, smoothed)
            lrs.append(lr)
            losses.append(smoothed)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        torch.set_rng_state(saved_rng)
        model.train(was_training)
    return LRFinderResult(lrs, losses, suggest_lr(lrs, losses))


def _cycle(loader):
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("the loader yields no batches; give lr_range_test a loader with data")


def plot_lr_finder(result: LRFinderResult) -> Figure:
    """Smoothed loss against lr (log axis), with the suggested lr marked."""
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    ax.plot(result.lrs, result.losses)
    ax.axvline(result.suggested_lr, color="tab:red", linestyle="--", label=f"suggested lr {result.suggested_lr:.2e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("smoothed training loss")
    ax.set_title("LR range test")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
