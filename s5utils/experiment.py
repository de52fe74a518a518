"""The seed recipe end to end: data, Net, SGD + StepLR, fit, and a recorded run directory."""
from pathlib import Path

import torch
from torch import optim

from .config import TrainConfig
from .data import make_loaders, mnist_datasets
from .device import get_device, set_seed
from .models import Net
from .runs import RunRecorder, new_run_dir
from .train import fit


def run_seed_recipe(config: TrainConfig, run_dir: Path | None = None) -> tuple[Path, list[dict]]:
    """Train Net with the seed recipe under config; returns (run directory, history)."""
    set_seed(config.seed)
    device = get_device(config.device)
    train_set, test_set = mnist_datasets(config.data_root)
    train_loader, test_loader = make_loaders(train_set, test_set, config.batch_size, device,
                                             config.num_workers, seed=config.seed)
    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)

    run_dir = run_dir or new_run_dir(config.out_dir, "seed")
    recorder = RunRecorder(run_dir, config.to_dict(), device)
    try:
        history = fit(model, train_loader, test_loader, optimizer, scheduler, config.epochs, device,
                      max_batches=config.max_batches, on_epoch_end=recorder.epoch_end)
    except KeyboardInterrupt:
        recorder.finish("interrupted", "KeyboardInterrupt")
        raise
    except Exception as exc:
        recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    recorder.finish("completed")
    torch.save(model.state_dict(), run_dir / "model.pt")
    return run_dir, history
