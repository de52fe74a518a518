"""The seed recipe end to end: data, Net, SGD + StepLR, fit, and a recorded run directory."""
from pathlib import Path

import torch

from .config import TrainConfig
from .data import make_loaders, mnist_datasets
from .device import get_device, set_seed
from .fastdata import make_tensor_loaders
from .models import Net
from .recipes import apply_recipe_defaults, build_recipe
from .runs import RunRecorder, new_run_dir
from .speed import batch_sizes, compile_model, resolve_speed
from .train import evaluate, fit


def run_seed_recipe(config: TrainConfig, run_dir: Path | None = None) -> tuple[Path, list[dict]]:
    """Train Net with config.recipe (the seed recipe by default); returns (run directory, history)."""
    config = apply_recipe_defaults(config)
    set_seed(config.seed)
    device = get_device(config.device)
    speed = resolve_speed(config, device)
    if speed.data_path == "tensor":
        train_loader, test_loader = make_tensor_loaders(config.data_root, config.batch_size, device, config.seed)
    else:
        train_set, test_set = mnist_datasets(config.data_root)
        train_loader, test_loader = make_loaders(train_set, test_set, config.batch_size, device,
                                                 config.num_workers, seed=config.seed)
    model = Net().to(device)
    steps = min(len(train_loader), config.max_batches or len(train_loader))
    recipe = build_recipe(config, model, steps)
    runner, compile_seconds = model, None  # runner: the compiled wrapper, if any; model keeps plain names
    if speed.compile_mode:
        runner, compile_seconds = compile_model(model, speed.compile_mode, device,
                                               batch_sizes(train_loader) + batch_sizes(test_loader),
                                               speed.amp_dtype, speed.channels_last)

    run_dir = run_dir or new_run_dir(config.out_dir, config.recipe)
    recorder = RunRecorder(run_dir, config.to_dict(), device)
    recorder.record["speed"] = {"data_path": speed.data_path, "amp_dtype": str(speed.amp_dtype),
                                "channels_last": speed.channels_last, "compile_seconds": compile_seconds}
    try:
        history = fit(runner, train_loader, test_loader, recipe.optimizer, recipe.scheduler, config.epochs, device,
                      max_batches=config.max_batches, on_epoch_end=recorder.epoch_end, loss_fn=recipe.loss_fn,
                      batch_scheduler=recipe.batch_scheduler, amp_dtype=speed.amp_dtype,
                      channels_last=speed.channels_last)
        if recipe.final_predict is not None:
            recorder.record["final_tta"] = evaluate(runner, test_loader, device, recipe.loss_fn, config.max_batches,
                                                    amp_dtype=speed.amp_dtype, channels_last=speed.channels_last,
                                                    predict=recipe.final_predict)
    except KeyboardInterrupt:
        recorder.finish("interrupted", "KeyboardInterrupt")
        raise
    except Exception as exc:
        recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    recorder.finish("completed")
    torch.save(model.state_dict(), run_dir / "model.pt")
    return run_dir, history
