"""What 0.1.0 code meets in 0.2.0: calls whose signature changed are refused in one line that names the new call,
and the modules that moved into the job groups are still found (with a FutureWarning naming the new place).

A basic of the package: it imports nothing of s5utils (the moved modules are found by name when asked for).
"""

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable

import torch.nn as nn

# The modules of 0.1.0 and where 0.2.0 keeps them (CHANGELOG.md lists them too).
MOVED_MODULES = {
    "architecture": "s5utils.study.architecture",
    "augment": "s5utils.data.batch_augment",
    "checkpoint": "s5utils.training.checkpoint",
    "colab": "s5utils.notebooks.colab",
    "data": "s5utils.data.mnist",
    "datasets": "s5utils.data.other_datasets",
    "experiment": "s5utils.runs.recipe_runner",
    "fastdata": "s5utils.data.tensor_loader",
    "inspect": "s5utils.study.mistakes",
    "layers": "s5utils.study.layer_table",
    "live_plot": "s5utils.runs.live_plot",
    "lr_finder": "s5utils.study.lr_finder",
    "notebook": "s5utils.notebooks.parameters",
    "notebook_exec": "s5utils.notebooks.execute",
    "plots": "s5utils.study.plots",
    "precision": "s5utils.training.precision",
    "progress": "s5utils.runs.progress",
    "provision": "s5utils.data.provision",
    "recipes": "s5utils.training.recipes",
    "run_folder": "s5utils.runs.folder",
    "runs": "s5utils.runs.records",
    "speed": "s5utils.training.speed",
    "state": "s5utils.training.state",
    "summary": "s5utils.study.summary",
    "tensorboard_log": "s5utils.runs.tensorboard_log",
    "train": "s5utils.training.loop",
}
# Names that left the package, and what replaces them.
REMOVED_NAMES = {
    "restore_checkpoint": "restore_checkpoint(state, model, optimizer, ...) was removed in s5utils 0.2.0: "
    "state = s5utils.TrainingState(model, optimizer, train_loader, test_loader, device); state.restore(path)",
}


def moved_module_warning(old: str, stacklevel: int) -> None:
    warnings.warn(
        f"s5utils.{old} moved to {MOVED_MODULES[old]} in s5utils 0.2.0; import the names from s5utils instead",
        FutureWarning,
        stacklevel=stacklevel + 1,
    )


def old_attribute(name: str):
    """`s5utils.<name>` for a 0.1.0 module name (the moved module, with a warning); else one-line AttributeError."""
    if name in MOVED_MODULES:
        moved_module_warning(name, stacklevel=3)  # the user's line, above s5utils.__getattr__
        return importlib.import_module(MOVED_MODULES[name])
    if name in REMOVED_NAMES:
        raise AttributeError(REMOVED_NAMES[name])
    raise AttributeError(f"module 's5utils' has no attribute {name!r}")


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import s5utils.inspect` / `from s5utils.inspect import gallery`: the module's new place, with a warning."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.partition(".")
        if package != "s5utils" or old not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        old = spec.name.partition(".")[2]
        moved_module_warning(old, stacklevel=2)
        return importlib.import_module(MOVED_MODULES[old])

    def exec_module(self, module) -> None:
        pass  # the moved module ran when it was imported


def install_moved_module_finder() -> None:
    """Find the 0.1.0 module paths (once per interpreter); the package's __init__ calls it."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())


def refuses_module_at(position: int, keyword: str, message: str) -> Callable:
    """A decorator: a call with an nn.Module as argument `position` (or as `keyword`=) was the 0.1.0 call;
    refuse it with TypeError(message), one line. Any other call goes through, signature unchanged."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def checked(*args, **kwargs):
            given = args[position] if len(args) > position else kwargs.get(keyword)
            if isinstance(given, nn.Module):
                raise TypeError(message)
            return function(*args, **kwargs)

        return checked

    return decorate


def forwarded(package: str, name: str):
    """`s5utils.data.X` / `s5utils.runs.X` for a name of the 0.1.0 module that the package replaced (data.py,
    runs.py), with a FutureWarning; AttributeError otherwise, so that submodules still import."""
    old_module = importlib.import_module(MOVED_MODULES[package])
    if name.startswith("__") or not hasattr(old_module, name):
        raise AttributeError(f"module 's5utils.{package}' has no attribute {name!r}")
    warnings.warn(
        f"s5utils.{package} is a package since s5utils 0.2.0: {name} lives in {MOVED_MODULES[package]}; "
        f"import it from s5utils",
        FutureWarning,
        stacklevel=3,
    )
    return getattr(old_module, name)
