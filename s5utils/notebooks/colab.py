"""Google Colab: detect it, keep run folders on Google Drive, and continue a run that a disconnect cut short.

A run folder on Drive is named after the settings that define the run (S5-seed-1a2b3c4d), so running the
notebook again with the same settings finds it: an unfinished run continues from its checkpoint.pt, a
finished one is kept and the new run gets the next free name (S5-seed-1a2b3c4d-2).
"""

import hashlib
import json
import os
import sys
from pathlib import Path

from s5utils.config import RESUMABLE, TrainConfig
from s5utils.runs.records import claim_run_dir, read_record
from s5utils.training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

DRIVE_MOUNT = "/content/drive"  # where Colab mounts Google Drive
DRIVE_RUNS = "MyDrive/s5utils/runs"  # run folders, relative to the mount point
# Settings that do not change what a run computes or may change when it is resumed; the rest name the run.
NOT_IDENTITY = set(RESUMABLE) | {"out_dir"}


def in_colab() -> bool:
    """True inside a Google Colab runtime (Colab imports google.colab before the first cell runs)."""
    return "google.colab" in sys.modules


def mount_drive() -> Path:
    """Mount Google Drive (Colab asks for permission once) and return the folder that holds s5utils' runs.

    $S5UTILS_DRIVE_MOUNT replaces /content/drive as the mount point; the Colab-like test uses it.
    """
    from google.colab import drive

    mount_point = os.environ.get("S5UTILS_DRIVE_MOUNT", DRIVE_MOUNT)
    drive.mount(mount_point)
    runs = Path(mount_point) / DRIVE_RUNS
    runs.mkdir(parents=True, exist_ok=True)
    return runs


def run_settings(config: TrainConfig | dict) -> dict:
    """The config values that define a run: all but those resume_run() may change, and out_dir."""
    values = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    return {k: v for k, v in sorted(values.items()) if k not in NOT_IDENTITY}


def settings_name(config: TrainConfig, prefix: str = "S5") -> str:
    """A folder name that only these settings produce: prefix, recipe and 8 hex digits of their hash."""
    digest = hashlib.sha256(json.dumps(run_settings(config), sort_keys=True).encode()).hexdigest()
    return f"{prefix}-{config.recipe}-{digest[:8]}"


def _checkpoint(folder: Path) -> dict | None:
    """A folder's checkpoint, or None if it has no readable one."""
    try:
        return load_checkpoint(folder / CHECKPOINT_NAME)
    except CheckpointError:
        return None


def open_settings_run(base: str | os.PathLike, config: TrainConfig, prefix: str = "S5") -> tuple[Path, Path | None]:
    """(run folder, checkpoint to resume or None) for config under base; prints one line saying which.

    Tries base/<name>, then <name>-2, -3, ...: a missing folder starts a new run; an unfinished run whose
    checkpoint holds these very settings continues; a folder of these settings whose run never finished
    an epoch starts over; a finished run, or one with other settings, is left as it is.
    """
    base, name, settings = Path(base), settings_name(config, prefix), run_settings(config)
    kept = []  # (folder name, why it was not used)
    for n in range(1, 1000):
        folder = base / (name if n == 1 else f"{name}-{n}")
        record = read_record(folder)
        state = _checkpoint(folder) if folder.exists() else None
        if state is None:
            if folder.exists() and (record.get("history") or run_settings(record.get("config", config)) != settings):
                kept.append((folder.name, "not a run of these settings"))
                continue
            claim_run_dir(folder, overwrite=True)  # deletes only a run's own files: none finished an epoch
            print(f"Run folder {folder} (a new run" + "".join(f"; {k} is kept: {why}" for k, why in kept) + ")")
            return folder, None
        if record.get("status") == "completed" or (folder / "model.pt").exists():
            kept.append((folder.name, "finished"))
            continue
        if run_settings(state["config"]) != settings:
            kept.append((folder.name, "other settings"))
            continue
        print(f"Run folder {folder}: continuing the unfinished run after epoch {state['epoch']} of its checkpoint")
        return folder, folder / CHECKPOINT_NAME
    raise FileExistsError(f"no free run folder name for {name} under {base}")


def after_install(versions_before: dict[str, str]) -> bool:
    """After %pip install, one line: restart if it changed a package already imported, else where s5utils is.

    versions_before maps distribution names to versions, taken before the install. Returns True when a
    restart is needed.
    """
    from importlib.metadata import distributions, packages_distributions

    from s5utils.version import __version__

    now = {d.name: d.version for d in distributions()}
    owners = packages_distributions()
    imported = {dist for module in list(sys.modules) for dist in owners.get(module.partition(".")[0], ())}
    changed = sorted(d for d in imported if d in versions_before and now.get(d) != versions_before[d])
    if changed:
        print(
            f"The install changed {', '.join(changed)}, already imported here: restart the session "
            "(Runtime > Restart session), then run all again."
        )
    else:
        print(
            f"s5utils {__version__} is installed in {Path(__file__).parents[2]}; "
            "no restart needed, whatever %pip's note says"
        )
    return bool(changed)
