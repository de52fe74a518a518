"""s5utils: the S5 MNIST course kit (model, data, training loop, plots, run records) in plain PyTorch."""
from .checkpoint import CheckpointError, load_checkpoint, restore_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig, make_config
from .data import default_data_root, make_loaders, mnist_datasets, test_transforms, train_transforms
from .datasets import channel_stats, mnist_like_datasets, tensor_datasets
from .device import get_device, set_deterministic, set_seed
from .experiment import resume_run, run_seed_recipe
from .layers import LayerStats, layer_stats, layer_table
from .lr_finder import LRFinderResult, lr_range_test, plot_lr_finder
from .models import CompactNet, Net
from .plots import load_history, plot_histories, plot_history
from .provision import DataError, provision_mnist, verify_mnist
from .runs import RunDirError, RunRecorder, claim_run_dir, new_run_dir
from .summary import layer_rows, summary
from .train import NonFiniteLossError, evaluate, fit, train_one_epoch

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DataError", "Net", "RunRecorder", "TrainConfig", "default_data_root", "evaluate", "fit",
    "get_device", "layer_rows", "make_config", "make_loaders", "mnist_datasets", "new_run_dir", "plot_history",
    "provision_mnist", "set_seed", "summary", "test_transforms", "train_one_epoch", "train_transforms",
    "verify_mnist",
    # Reuse in later assignments: any model, any data set, study tools.
    "CompactNet", "LRFinderResult", "LayerStats", "channel_stats", "layer_stats", "layer_table", "load_history",
    "lr_range_test", "mnist_like_datasets", "plot_histories", "plot_lr_finder", "tensor_datasets",
    # Reliability: checkpoints, resume, determinism, guarded run directories
    "CheckpointError", "NonFiniteLossError", "RunDirError", "claim_run_dir", "load_checkpoint", "restore_checkpoint",
    "resume_run", "run_seed_recipe", "save_checkpoint", "set_deterministic",
]
