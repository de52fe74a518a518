"""Learning-rate schedules the course's recipes use: One Cycle with its peak at a chosen epoch."""

import torch
from torch.optim.lr_scheduler import OneCycleLR


def one_cycle(
    optimizer: torch.optim.Optimizer,
    max_lr: float,
    epochs: int,
    steps_per_epoch: int,
    peak_epoch: float = 5,
    *,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> OneCycleLR:
    """OneCycleLR (two phases, linear) reaching max_lr after peak_epoch epochs; step it after every batch.

    max_lr is the lr of step peak_epoch * steps_per_epoch (counted from 0; peak_epoch may be fractional). Take
    max_lr from the LR range test (`s5utils.lr_range_test(...).suggested_lr`, or the lr where its loss is lowest);
    the cycle starts at max_lr / div_factor and ends at that / final_div_factor (S10: 24 epochs, peak 5). Give it
    to TrainingState as batch_scheduler=.
    """
    if not 0 < peak_epoch < epochs:
        raise ValueError(f"peak_epoch must lie between 0 and epochs ({epochs}), got {peak_epoch}")
    total = epochs * steps_per_epoch
    if steps_per_epoch < 1 or total < 2:
        raise ValueError(f"one cycle needs at least 2 steps, got {epochs} epochs of {steps_per_epoch} steps")
    peak = min(max(round(peak_epoch * steps_per_epoch), 1), total - 1)
    # OneCycleLR's first phase ends at step pct_start * total_steps - 1. One step more than training takes:
    # fit steps the schedule after the last batch too, which must land on the end of the cycle, not past it.
    pct_start = (peak + 1) / (total + 1)
    defaults = optimizer.defaults
    return OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=total + 1,
        pct_start=pct_start,
        anneal_strategy="linear",
        three_phase=False,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        cycle_momentum="momentum" in defaults and defaults["momentum"] > 0 or "betas" in defaults,
    )
