"""Learning-rate schedules the course's recipes use: One Cycle with its peak at a chosen epoch."""

import torch
from torch.optim.lr_scheduler import OneCycleLR


def one_cycle(
    optimizer: torch.optim.Optimizer,
    max_lr: float,
    epochs: int,
    steps_per_epoch: int,
    peak_epoch: int = 5,
    *,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> OneCycleLR:
    """OneCycleLR (two phases, linear) reaching max_lr after peak_epoch epochs; step it after every batch.

    Take max_lr from the LR range test (`s5utils.lr_range_test(...).suggested_lr`, or the lr where its loss is
    lowest); the cycle starts at max_lr / div_factor and ends at that / final_div_factor (S10: 24 epochs, peak 5).
    Give it to TrainingState as batch_scheduler=.
    """
    if not 0 < peak_epoch < epochs:
        raise ValueError(f"peak_epoch must lie between 0 and epochs ({epochs}), got {peak_epoch}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    total = epochs * steps_per_epoch
    # OneCycleLR's first phase ends at step pct_start * total - 1; one more puts max_lr at step peak * steps.
    pct_start = (peak_epoch * steps_per_epoch + 1) / total
    defaults = optimizer.defaults
    return OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=total,
        pct_start=pct_start,
        anneal_strategy="linear",
        three_phase=False,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        cycle_momentum="momentum" in defaults and defaults["momentum"] > 0 or "betas" in defaults,
    )
