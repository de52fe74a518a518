"""Optimizer, schedulers, loss and test-time prediction for each training recipe of Net.

seed: SGD(lr, momentum) + StepLR(step_size, gamma), cross-entropy on log-probabilities (= nll_loss), as in S5.
fast: SGD with Nesterov momentum and weight decay, OneCycleLR stepped per batch, label smoothing, a random
      rotate/shift/scale augmentation in place of the seed's, and a translate-only test-time augmentation
      for the final evaluation.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from s5utils.config import TrainConfig
from s5utils.data.batch_augment import random_affine, seed_augment, translate
from s5utils.data.mnist import affine_train_transforms, train_transforms

# The fast recipe's values besides its epochs, batch size, lr and momentum (config.RECIPE_DEFAULTS).
# Chosen on seed 1 from a handful of 6-epoch trials (results/fast-recipe/README.md lists them).
FAST = {
    "weight_decay": 5e-4,
    "label_smoothing": 0.1,
    "pct_start": 0.25,  # fraction of the steps spent warming up
    "augment": {"degrees": 10.0, "shift": 2.0, "scale": 0.1},  # random_affine, per sample
    "tta_shifts": [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],  # (dx, dy) pixels
}


@dataclass
class Recipe:
    """What fit() needs besides the model and the data."""

    optimizer: torch.optim.Optimizer
    scheduler: object | None = None  # stepped once per epoch
    batch_scheduler: object | None = None  # stepped once per batch
    loss_fn: Callable[..., torch.Tensor] = F.cross_entropy
    final_predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None  # extra final evaluation


def train_augmentation(config: TrainConfig) -> tuple[Callable, Callable]:
    """config.recipe's train augmentation as (batched tensor version, PIL transform for the DataLoader path)."""
    if config.recipe == "fast":
        return partial(random_affine, **FAST["augment"]), affine_train_transforms(**FAST["augment"])
    return seed_augment, train_transforms()


def build_recipe(config: TrainConfig, model: nn.Module, steps_per_epoch: int) -> Recipe:
    """The optimizer, schedulers and loss of config.recipe for model."""
    if config.recipe == "seed":
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
        return Recipe(optimizer, scheduler=scheduler)
    if config.recipe == "fast":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=True, weight_decay=FAST["weight_decay"]
        )
        onecycle = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            pct_start=FAST["pct_start"],
        )
        loss_fn = partial(F.cross_entropy, label_smoothing=FAST["label_smoothing"])
        return Recipe(
            optimizer,
            batch_scheduler=onecycle,
            loss_fn=loss_fn,
            final_predict=partial(predict_translated, shifts=FAST["tta_shifts"]),
        )
    raise ValueError(f"unknown recipe {config.recipe!r}; use 'seed' or 'fast'")


def predict_translated(model: nn.Module, x: torch.Tensor, shifts: list[tuple[int, int]]) -> torch.Tensor:
    """Log of the mean class probability over whole-pixel translations of x (test-time augmentation)."""
    logps = torch.stack([F.log_softmax(model(translate(x, dx, dy)).float(), dim=1) for dx, dy in shifts])
    return torch.logsumexp(logps, dim=0) - torch.log(torch.tensor(float(len(shifts)), device=x.device))
