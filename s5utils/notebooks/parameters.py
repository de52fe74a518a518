"""Notebook helpers: validate the papermill parameters cell and open the notebook's run directory."""

import importlib.util
import os
import shutil
import sys
import types
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

from s5utils.config import ConfigError, TrainConfig, make_config, unknown_parameter
from s5utils.data.mnist import default_data_root
from s5utils.data.provision import RAW_MD5, md5, raw_dir
from s5utils.notebooks.colab import in_colab, mount_drive, open_settings_run, run_settings
from s5utils.runs.records import new_run_dir
from s5utils.training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

# Parameters a notebook may set beyond TrainConfig's fields: the exact folder for this run's records
# (make run and the sweep pass the folder that also receives the executed notebook), on Colab whether the
# run folder goes to Google Drive, and whether to open TensorBoard in the notebook.
NOTEBOOK_PARAMETERS = {"run_dir": None, "save_to_drive": False, "open_tensorboard": "auto"}
# Names a notebook defines before its parameters cell that are not parameters: the Colab cell's constant,
# and IPython's own history variables.
NOT_PARAMETERS = {"REPO", "In", "Out"}


class NotebookConfigError(ConfigError):
    """A bad notebook parameter; IPython shows it as one line instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this hook instead of printing the frames: a student sees the fix, not our internals.
        return [f"ConfigError: {self}"]


def parameter_names(namespace: dict) -> list[str]:
    """The names in a notebook's globals that look like parameters: public plain values, not modules or functions.

    Globals keep the order in which names were first bound. A TrainConfig already in the namespace is the
    result of an earlier run of the config cell (a re-run in JupyterLab): names bound after it belong to
    later cells, so the scan stops there.
    """
    names = []
    for name, value in namespace.items():
        if isinstance(value, TrainConfig):
            break
        if (
            not name.startswith("_")
            and name not in NOT_PARAMETERS
            and not isinstance(value, (types.ModuleType, type))
            and not callable(value)
        ):
            names.append(name)
    return names


def config_from_globals(
    namespace: dict, extra_names: Iterable[str] = (), choices: dict[str, Iterable] | None = None
) -> TrainConfig:
    """Validate every parameter-like global (so a misspelt papermill -p name is an error) into a TrainConfig.

    Names that are TrainConfig fields go through make_config(); NOTEBOOK_PARAMETERS and extra_names
    (a notebook's own parameters) are accepted as they are, to be read and checked by the notebook;
    any other name is unknown. choices maps a notebook's own parameter to the values it may take.
    """
    known = [f.name for f in fields(TrainConfig)]
    choices = {name: list(values) for name, values in (choices or {}).items()}
    allowed = set(known) | set(NOTEBOOK_PARAMETERS) | set(extra_names) | set(choices)
    for name, values in choices.items():
        if name in namespace and namespace[name] not in values:
            raise NotebookConfigError(
                f"{name} must be one of {', '.join(map(repr, values))}, got {namespace[name]!r}", name
            )
    params = {}
    for name in parameter_names(namespace):
        if name not in allowed:
            raise NotebookConfigError(str(unknown_parameter(name, sorted(allowed))))
        if name in known:
            params[name] = namespace[name]
    run_dir = namespace.get("run_dir")
    if run_dir is not None and (not isinstance(run_dir, str) or not run_dir.strip()):
        raise NotebookConfigError(
            f"run_dir must be a folder path, or None for a new folder under out_dir, got {run_dir!r}"
        )
    check_save_to_drive(namespace.get("save_to_drive", False), run_dir)
    if namespace.get("open_tensorboard", "auto") not in ("auto", True, False):
        raise NotebookConfigError(
            f'open_tensorboard must be "auto", True or False, got {namespace["open_tensorboard"]!r}'
        )
    try:
        return make_config(**params)
    except ConfigError as exc:
        raise NotebookConfigError(str(exc)) from None


def check_save_to_drive(save_to_drive: object, run_dir: str | None = None) -> None:
    """Refuse save_to_drive unless it is a bool, and True only on Colab without an explicit run_dir."""
    if not isinstance(save_to_drive, bool):
        raise NotebookConfigError(f"save_to_drive must be True or False, got {save_to_drive!r}")
    if save_to_drive and not in_colab():
        raise NotebookConfigError(
            "save_to_drive=True works only on Google Colab (it mounts Google Drive); "
            "here set save_to_drive = False: runs go to out_dir and survive a restart"
        )
    if save_to_drive and run_dir is not None:
        raise NotebookConfigError("run_dir and save_to_drive=True both choose the run folder; set only one of them")


def person_is_looking() -> bool:
    """Whether a person runs this kernel (JupyterLab, Jupyter Notebook, Colab), not papermill, nbclient or CI.

    jupyter_server names the session of every kernel it starts (JPY_SESSION_NAME); papermill and nbclient
    start kernels without a server.
    """
    if os.environ.get("CI"):
        return False
    return in_colab() or bool(os.environ.get("JPY_SESSION_NAME"))


def wants_tensorboard(open_tensorboard: bool | str = "auto") -> bool:
    """The notebook's open_tensorboard parameter decided: "auto" is True where a person is looking.

    When True, the %tensorboard magic is pointed at this kernel's own tensorboard (see use_kernel_tensorboard);
    where there is none, one line says what to do and the answer is False.
    """
    wanted = person_is_looking() if open_tensorboard == "auto" else bool(open_tensorboard)
    if not wanted:
        return False
    problem = use_kernel_tensorboard()
    if problem:
        print(problem)
        return False
    return True


def kernel_tensorboard() -> str | None:
    """The tensorboard program beside this kernel's Python (its venv or conda env), else the one on PATH, else None."""
    name = "tensorboard.exe" if os.name == "nt" else "tensorboard"
    own = Path(sys.executable).parent / name
    return str(own) if own.is_file() else shutil.which("tensorboard")


def use_kernel_tensorboard() -> str | None:
    """Point the %tensorboard magic at kernel_tensorboard() through TENSORBOARD_BINARY; None, or the line to print.

    The magic runs `tensorboard` from PATH unless TENSORBOARD_BINARY names it, and JupyterLab started as
    `.venv/bin/jupyter lab` (the venv not activated) has no tensorboard on PATH. A TENSORBOARD_BINARY the
    user set is kept.
    """
    if importlib.util.find_spec("tensorboard") is None:
        return (
            "TensorBoard not opened: the tensorboard package is not installed for this kernel; "
            "run %pip install tensorboard, then this cell again"
        )
    if os.environ.get("TENSORBOARD_BINARY"):
        return None
    program = kernel_tensorboard()
    if program is None:
        return (
            f"TensorBoard not opened: no tensorboard program beside {Path(sys.executable).name} or on PATH; "
            "set os.environ['TENSORBOARD_BINARY'] to its path, then run this cell again"
        )
    os.environ["TENSORBOARD_BINARY"] = program
    return None


def tensorboard_hint(runs_folder: str | os.PathLike) -> str:
    """One line for a notebook that does not open TensorBoard: how to open it on runs_folder."""
    folder = os.path.relpath(runs_folder)
    return (
        f'TensorBoard not opened here (open_tensorboard="auto" opens it in JupyterLab and Colab). To see the '
        f"runs: `tensorboard --logdir {folder}` in a terminal, or %load_ext tensorboard then "
        f"%tensorboard --logdir {folder} in a cell"
    )


def data_checksums(root: str | os.PathLike | None = None) -> str:
    """One line per MNIST file: its name and md5, as read from disk now (they must equal torchvision's)."""
    folder = raw_dir(root if root is not None else default_data_root())
    return "\n".join(f"{name:<24} md5 {md5(folder / name)}" for name in RAW_MD5)


def open_run_dir(config: TrainConfig, run_dir: str | None = None, name: str = "S5") -> Path:
    """The folder that receives metrics.json and the plot: run_dir if given (created), else a new one under out_dir."""
    if run_dir:
        path = Path(run_dir).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return new_run_dir(config.out_dir, name).resolve()


def open_run(
    config: TrainConfig, run_dir: str | None = None, save_to_drive: bool = False, name: str = "S5"
) -> tuple[Path, Path | None]:
    """(run folder, checkpoint to continue or None): on Drive with save_to_drive, else open_run_dir()'s folder.

    On Drive the folder is named after the settings, so the same settings after a disconnect continue
    their unfinished run (see s5utils.notebooks.colab.open_settings_run). A given run_dir that holds an
    unfinished run of these settings continues it (a sweep's run retried after its worker left); any other
    run starts fresh.
    """
    check_save_to_drive(save_to_drive, run_dir)
    if save_to_drive:
        return open_settings_run(mount_drive(), config, name)
    path = open_run_dir(config, run_dir, name)
    return path, unfinished_run(path, config) if run_dir else None


def unfinished_run(folder: Path, config: TrainConfig) -> Path | None:
    """folder's checkpoint.pt if it holds a run of config's settings that has no model.pt yet; prints which epoch."""
    if (folder / "model.pt").exists():
        return None
    try:
        state = load_checkpoint(folder / CHECKPOINT_NAME)
    except CheckpointError:
        return None
    if run_settings(state["config"]) != run_settings(config):
        return None
    print(f"Run folder {folder}: continuing the unfinished run after epoch {state['epoch']} of its checkpoint")
    return folder / CHECKPOINT_NAME
