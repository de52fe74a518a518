"""What a sweep runs: notebooks crossed with a grid of validated settings and repeats, each named, with a stable id."""

import hashlib
import itertools
import json
from pathlib import Path

from s5utils.config import ConfigError, make_config

SHORT = {
    "batch_size": "bs",
    "max_batches": "mb",
    "epochs": "ep",
    "momentum": "mom",
    "step_size": "step",
    "data_path": "",
    "channels_last": "cl",
}


def default_notebook() -> Path:
    """notebooks/S5.ipynb of the checkout this package was imported from."""
    path = Path(__file__).resolve().parents[2] / "notebooks" / "S5.ipynb"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found (s5utils is not running from a checkout); pass the notebook's path with --notebook"
        )
    return path


def find_notebooks(paths) -> list[Path]:
    """The notebooks named, a folder standing for every .ipynb in it (sorted); the default notebook if none."""
    if not paths:
        return [default_notebook()]
    found = []
    for path in [Path(p).expanduser().resolve() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
            if not inside:
                raise FileNotFoundError(f"no .ipynb notebooks in folder {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"notebook {path} not found; pass a notebook or a folder of notebooks")
    if len({p.name for p in found}) < len(found):
        raise ConfigError("two notebooks share a file name; give each notebook its own name")
    return found


def grid(axes: dict[str, list], fixed: dict | None = None, zipped: list[str] = ()) -> list[dict]:
    """Every combination of the axes' values (first axis slowest), each merged over the fixed values.

    Axes named in zipped advance together (one setting per position, so their lists must be equally long)
    instead of being crossed. Each setting is validated with make_config() first: a bad value stops the
    sweep before any run.
    """
    fixed = dict(fixed or {})
    zipped = [name for name in axes if name in set(zipped)]
    if len({len(axes[name]) for name in zipped}) > 1:
        lengths = ", ".join(f"{name} {len(axes[name])}" for name in zipped)
        raise ConfigError(f"axes advanced together need equally many values, got {lengths}", zipped[0])
    blocks = []  # each block: a list of {name: value} choices
    for name in axes:
        if name in zipped[1:]:
            continue
        if zipped and name == zipped[0]:
            columns = zip(*(axes[n] for n in zipped), strict=True)
            blocks.append([dict(zip(zipped, values, strict=True)) for values in columns])
        else:
            blocks.append([{name: value} for value in axes[name]])
    settings = [{**fixed, **{k: v for part in parts for k, v in part.items()}} for parts in itertools.product(*blocks)]
    return [{name: getattr(make_config(**setting), name) for name in setting} for setting in settings]


def check_declared(notebook: Path, names) -> None:
    """Refuse a parameter the notebook's parameters cell does not set: papermill would only warn and run on."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    for name in names:
        if name not in declared:
            raise ConfigError(
                f"{notebook.name} has no parameter {name!r}: add a line `{name} = ...` to its "
                f"parameters cell, or leave {name} out of the sweep",
                name,
            )


def run_name(index: int, setting: dict, axes: list[str], notebook: str | None = None, repeat: int | None = None) -> str:
    """A folder name that says what varies, e.g. 03-lr0.02-bs128-seed1 (with the notebook and repeat if several)."""
    parts = [f"{SHORT.get(k, k)}{setting[k]}" for k in axes]
    head = [f"{index:02d}"] + ([Path(notebook).stem] if notebook else [])
    return "-".join([*head, *parts] + ([f"r{repeat}"] if repeat else [])).replace("/", "_")


def stable_run_id(notebook_sha256: str, parameters: dict, repeat: int) -> str:
    """The same notebook content, parameters and repeat index give the same id, on any machine."""
    key = json.dumps({"notebook": notebook_sha256, "parameters": parameters, "repeat": repeat}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plan_runs(notebooks: list[Path], axes: dict, settings: list[dict], repeats: int) -> list[dict]:
    """One entry per run: every notebook crossed with every setting, each repeated `repeats` times."""
    runs, several = [], len(notebooks) > 1
    for notebook in notebooks:
        sha = hashlib.sha256(notebook.read_bytes()).hexdigest()
        for setting in settings:
            for repeat in range(repeats):
                index = len(runs) + 1
                runs.append(
                    {
                        "name": run_name(
                            index,
                            setting,
                            list(axes),
                            notebook.name if several else None,
                            repeat + 1 if repeats > 1 else None,
                        ),
                        "run_id": stable_run_id(sha, setting, repeat),
                        "notebook": notebook.name,
                        "notebook_sha256": sha,
                        "parameters": setting,
                        "repeat": repeat,
                    }
                )
    return runs
