"""s5utils: the S5 MNIST course kit (model, data, training loop, plots, run records) in plain PyTorch."""
from .architecture import draw_architecture
from .checkpoint import CheckpointError, Checkpointer, load_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig, make_config
from .data import default_data_root, make_loaders, mnist_datasets, test_transforms, train_transforms
from .datasets import channel_stats, mnist_like_datasets, tensor_datasets
from .device import get_device, set_deterministic, set_seed
from .experiment import build_loaders, resume_run, run_recipe, run_seed_recipe
from .inspect import Predictions, confusion_matrix, format_confusion, gallery, image_grid, plot_confusion, predict, take
from .layers import LayerStats, layer_stats, layer_table
from .live_plot import LiveCurves
from .lr_finder import LRFinderResult, lr_range_test, plot_lr_finder
from .models import CompactNet, Net
from .notebook import config_from_globals, data_checksums, open_run, tensorboard_hint, wants_tensorboard
from .notebook_exec import execute_notebook
from .plots import load_history, plot_curves, plot_histories, plot_history
from .precision import PrecisionChoice, autocast_dtype, precision_choice
from .progress import EpochProgress
from .provision import DataError, provision_mnist, verify_mnist
from .recipes import Recipe, build_recipe
from .run_folder import RunFolder
from .runs import RunDirError, RunRecorder, claim_run_dir, new_run_dir, read_record
from .speed import SpeedOptions, compile_for, resolve_speed
from .state import TrainingState
from .summary import layer_rows, summary
from .tensorboard_log import TensorBoardLogger
from .train import NonFiniteLossError, announce_epoch, evaluate, fit, report_test, steps_per_epoch, train_one_epoch
from .version import __version__

__all__ = [
    # Configuration and device: one validated config for CLI, notebook and papermill
    "ConfigError", "TrainConfig", "make_config", "config_from_globals", "get_device", "set_seed",
    # Data: MNIST provisioned and checked, loaders, transforms, other data sets
    "DataError", "default_data_root", "provision_mnist", "verify_mnist", "data_checksums", "mnist_datasets",
    "make_loaders", "build_loaders", "train_transforms", "test_transforms", "mnist_like_datasets",
    "tensor_datasets", "channel_stats",
    # Models and how they look
    "Net", "CompactNet", "summary", "layer_rows", "layer_table", "layer_stats", "LayerStats", "draw_architecture",
    # The training loop and its recipes
    "TrainingState", "fit", "announce_epoch", "report_test", "train_one_epoch", "evaluate", "steps_per_epoch",
    "NonFiniteLossError", "Recipe", "build_recipe",
    # Watching a run: a line per epoch, live curves in the notebook, TensorBoard
    "EpochProgress", "LiveCurves", "TensorBoardLogger",
    # Speed and precision on the device
    "SpeedOptions", "resolve_speed", "autocast_dtype", "precision_choice", "PrecisionChoice", "compile_for",
    # Run folders, checkpoints and resume
    "RunFolder", "RunRecorder", "RunDirError", "new_run_dir", "claim_run_dir", "read_record", "run_recipe",
    "resume_run", "Checkpointer", "CheckpointError", "save_checkpoint", "load_checkpoint",
    "set_deterministic",
    # Study tools: plots, mistakes, learning rates
    "plot_history", "plot_curves", "plot_histories", "load_history", "predict", "Predictions", "take", "image_grid",
    "gallery",
    "confusion_matrix", "format_confusion", "plot_confusion", "lr_range_test", "LRFinderResult", "plot_lr_finder",
    # Notebooks: the run folder of a notebook run, TensorBoard in it, and running notebooks (papermill underneath)
    "open_run", "execute_notebook", "wants_tensorboard", "tensorboard_hint",
]
