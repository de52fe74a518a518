"""s5utils: the S5 MNIST course kit (model, data, training loop, plots, run records) in plain PyTorch."""
from .checkpoint import CheckpointError, load_checkpoint, restore_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig, make_config
from .data import default_data_root, make_loaders, mnist_datasets, test_transforms, train_transforms
from .device import get_device, set_deterministic, set_seed
from .experiment import resume_run, run_seed_recipe
from .models import Net
from .plots import plot_history
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
    # reliability: checkpoints, resume, determinism, guarded run directories
    "CheckpointError", "NonFiniteLossError", "RunDirError", "claim_run_dir", "load_checkpoint", "restore_checkpoint",
    "resume_run", "run_seed_recipe", "save_checkpoint", "set_deterministic",
]
