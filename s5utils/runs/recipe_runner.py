"""A recipe end to end (the seed one by default): data, Net, optimizer and schedule, fit with a recorded run folder."""

import os
import warnings
from pathlib import Path

import torch

from s5utils.config import RESUMABLE, ConfigError, TrainConfig, make_config
from s5utils.data.mnist import make_loaders, mnist_datasets
from s5utils.data.tensor_loader import make_tensor_loaders
from s5utils.device import get_device, set_deterministic, set_seed
from s5utils.models import Net
from s5utils.runs.folder import RunFolder
from s5utils.runs.progress import EpochProgress
from s5utils.runs.records import claim_run_dir, new_run_dir
from s5utils.training.checkpoint import checkpoint_path, load_checkpoint
from s5utils.training.loop import fit, steps_per_epoch
from s5utils.training.recipes import build_recipe, train_augmentation
from s5utils.training.speed import resolve_speed
from s5utils.training.state import TrainingState


def run_recipe(
    config: TrainConfig, run_dir: str | os.PathLike | None = None, *, overwrite: bool = False
) -> tuple[Path, list[dict]]:
    """Train Net with config.recipe (seed or fast) into a recorded run folder; returns (run directory, history).

    run_dir=None makes a new folder under config.out_dir. A given run_dir that already holds files is
    refused unless overwrite=True; to continue it, use resume_run(run_dir).
    """
    run_dir = claim_run_dir(run_dir, overwrite) if run_dir is not None else new_run_dir(config.out_dir, config.recipe)
    return _train(config, run_dir, resume_from=None)


def run_seed_recipe(
    config: TrainConfig, run_dir: str | os.PathLike | None = None, *, overwrite: bool = False
) -> tuple[Path, list[dict]]:
    """Deprecated name of run_recipe (it runs any recipe, not only the seed one)."""
    warnings.warn(
        "run_seed_recipe is now run_recipe (it runs any recipe); the old name will go", DeprecationWarning, stacklevel=2
    )
    return run_recipe(config, run_dir, overwrite=overwrite)


def resume_run(run_dir: str | os.PathLike, **overrides) -> tuple[Path, list[dict]]:
    """Continue a run from its checkpoint.pt (model, optimizer, scheduler, RNGs, history); returns (run_dir, history).

    overrides may change epochs (to train longer), num_workers, data_root, device or checkpoint_seconds; with none, the
    finished run matches an uninterrupted one bit for bit on the same device.
    """
    file = checkpoint_path(run_dir)
    state = load_checkpoint(file)
    for name in overrides:
        if name not in RESUMABLE:
            raise ConfigError(
                f"{name} cannot change when resuming (only {', '.join(RESUMABLE)} can); "
                "start a new run for other values",
                name,
            )
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


def _train(config: TrainConfig, run_dir: Path, resume_from: Path | None) -> tuple[Path, list[dict]]:
    # The same steps as the training cells of notebooks/S5.ipynb, in the same order (the same random numbers).
    set_seed(config.seed)
    if config.deterministic:
        set_deterministic(True)
    device = get_device(config.device)
    speed = resolve_speed(config, device)
    train_loader, test_loader = build_loaders(config, device, speed.data_path)
    model = Net().to(device)
    recipe = build_recipe(config, model, steps_per_epoch(train_loader, config.max_batches))
    state = TrainingState.from_recipe(
        recipe, model, train_loader, test_loader, device, speed=speed, max_batches=config.max_batches
    )
    if resume_from is not None:
        state.restore(resume_from)
    with RunFolder(run_dir, config, resume=resume_from is not None) as run:
        fit(state, config.epochs, callbacks=[run, EpochProgress(config.epochs)])
        run.final_evaluation(state)
    return run_dir, state.history
