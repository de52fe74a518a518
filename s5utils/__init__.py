"""s5utils: the S5 MNIST course kit (model, data, training loop, plots, run records) in plain PyTorch."""

from s5utils.compat import install_moved_module_finder, old_attribute
from s5utils.config import ConfigError, TrainConfig, make_config
from s5utils.data.albumentations_transform import AlbumentationsTransform, s9_augmentation, s10_augmentation
from s5utils.data.cifar10 import cifar10_datasets, denormalize
from s5utils.data.mnist import default_data_root, make_loaders, mnist_datasets, test_transforms, train_transforms
from s5utils.data.other_datasets import channel_stats, mnist_like_datasets, tensor_datasets
from s5utils.data.provision import DataError, provision_mnist, verify_mnist
from s5utils.device import get_device, set_deterministic, set_seed
from s5utils.models import CompactNet, Net, norm_layer
from s5utils.notebooks.execute import execute_notebook
from s5utils.notebooks.parameters import (
    config_from_globals,
    data_checksums,
    open_run,
    tensorboard_hint,
    wants_tensorboard,
)
from s5utils.runs.folder import RunFolder
from s5utils.runs.live_plot import LiveCurves
from s5utils.runs.progress import EpochProgress
from s5utils.runs.recipe_runner import build_loaders, resume_run, run_recipe
from s5utils.runs.recipe_runner import run_seed_recipe as run_seed_recipe  # refuses its 0.1.0 call in one line
from s5utils.runs.records import RunDirError, RunRecorder, claim_run_dir, new_run_dir, read_record
from s5utils.runs.tensorboard_log import TensorBoardLogger
from s5utils.study.architecture import draw_architecture
from s5utils.study.gradcam import cam_layers, check_target_layer, gradcam_gallery, gradcam_heatmaps, overlay_heatmap
from s5utils.study.layer_table import LayerStats, layer_stats, layer_table
from s5utils.study.lr_finder import LRFinderResult, lr_range_test, plot_lr_finder
from s5utils.study.mistakes import (
    Predictions,
    confusion_matrix,
    format_confusion,
    gallery,
    image_grid,
    per_class_accuracy,
    plot_confusion,
    predict,
    take,
)
from s5utils.study.plots import load_history, plot_curves, plot_histories, plot_history
from s5utils.study.summary import layer_rows, summary
from s5utils.training.checkpoint import Checkpointer, CheckpointError, load_checkpoint, save_checkpoint
from s5utils.training.loop import (
    NonFiniteLossError,
    announce_epoch,
    evaluate,
    fit,
    report_test,
    steps_per_epoch,
    train_one_epoch,
)
from s5utils.training.precision import PrecisionChoice, autocast_dtype, precision_choice
from s5utils.training.recipes import Recipe, build_recipe
from s5utils.training.schedules import one_cycle
from s5utils.training.speed import SpeedOptions, compile_for, resolve_speed
from s5utils.training.state import TrainingState
from s5utils.version import __version__ as __version__

# 0.1.0 code keeps finding the modules that moved into the job groups (with a FutureWarning), and a removed name
# says in one line what replaces it.
install_moved_module_finder()


def __getattr__(name: str):
    return old_attribute(name)


__all__ = [
    # Configuration and device: one validated config for CLI, notebook and papermill
    "ConfigError",
    "TrainConfig",
    "make_config",
    "config_from_globals",
    "get_device",
    "set_seed",
    # Data: MNIST provisioned and checked, loaders, transforms, other data sets
    "DataError",
    "default_data_root",
    "provision_mnist",
    "verify_mnist",
    "data_checksums",
    "mnist_datasets",
    "make_loaders",
    "build_loaders",
    "train_transforms",
    "test_transforms",
    "mnist_like_datasets",
    "tensor_datasets",
    "channel_stats",
    # CIFAR-10 and albumentations for the later assignments (S8-S11)
    "cifar10_datasets",
    "denormalize",
    "AlbumentationsTransform",
    "s9_augmentation",
    "s10_augmentation",
    # Models and how they look
    "Net",
    "CompactNet",
    "norm_layer",
    "summary",
    "layer_rows",
    "layer_table",
    "layer_stats",
    "LayerStats",
    "draw_architecture",
    # The training loop and its recipes
    "TrainingState",
    "fit",
    "announce_epoch",
    "report_test",
    "train_one_epoch",
    "evaluate",
    "steps_per_epoch",
    "NonFiniteLossError",
    "Recipe",
    "build_recipe",
    "one_cycle",
    # Watching a run: a line per epoch, live curves in the notebook, TensorBoard
    "EpochProgress",
    "LiveCurves",
    "TensorBoardLogger",
    # Speed and precision on the device
    "SpeedOptions",
    "resolve_speed",
    "autocast_dtype",
    "precision_choice",
    "PrecisionChoice",
    "compile_for",
    # Run folders, checkpoints and resume
    "RunFolder",
    "RunRecorder",
    "RunDirError",
    "new_run_dir",
    "claim_run_dir",
    "read_record",
    "run_recipe",
    "resume_run",
    "Checkpointer",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "set_deterministic",
    # Study tools: plots, mistakes, learning rates
    "plot_history",
    "plot_curves",
    "plot_histories",
    "load_history",
    "predict",
    "Predictions",
    "take",
    "image_grid",
    "gallery",
    "confusion_matrix",
    "format_confusion",
    "plot_confusion",
    "per_class_accuracy",
    "lr_range_test",
    "LRFinderResult",
    "plot_lr_finder",
    # GradCAM (pytorch-grad-cam underneath): where a layer looked, on layers of at least 5x5 px
    "gradcam_heatmaps",
    "gradcam_gallery",
    "check_target_layer",
    "cam_layers",
    "overlay_heatmap",
    # Notebooks: the run folder of a notebook run, TensorBoard in it, and running notebooks (papermill underneath)
    "open_run",
    "execute_notebook",
    "wants_tensorboard",
    "tensorboard_hint",
]
