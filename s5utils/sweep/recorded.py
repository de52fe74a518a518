"""A sweep's tables from runs already recorded: each grid setting matched to a metrics.json, nothing trained.

    python -m s5utils sweep --seed 1 2 3 --data-path loader tensor --report-from results/seed-variance

A recorded run stands for a setting when every value of the setting equals the run's config, or what the
run actually used on its machine (metrics.json's `speed`: `auto` resolved to the data path, the autocast
dtype, channels_last). A setting that does not name max_batches takes full epochs only. Of several runs
that match, the first by path counts (on a CPU a rerun gives the same weights).
"""

import json
import os
from pathlib import Path

from s5utils.runs.records import new_run_dir, write_json_atomic
from s5utils.sweep.plan import grid
from s5utils.sweep.results import write_report

AMP_NAMES = {"torch.bfloat16": "bf16", "torch.float16": "fp16"}


def resolved(record: dict, name: str):
    """What a recorded run used for name where its config said `auto` (records without `speed`: DataLoader, float32)."""
    speed = record.get("speed") or {}
    if name == "data_path":
        return speed.get("data_path", "loader")
    if name == "amp":
        return AMP_NAMES.get(str(speed.get("amp_dtype")), "off")
    if name == "channels_last":
        return "on" if speed.get("channels_last") else "off"
    return None


def matches(record: dict, setting: dict) -> bool:
    """Whether a completed record ran setting: each value as configured or as resolved on its machine."""
    config = record.get("config") or {}
    if record.get("status") != "completed" or ("max_batches" not in setting and config.get("max_batches") is not None):
        return False
    return all(config.get(name) == value or resolved(record, name) == value for name, value in setting.items())


def recorded_rows(root: Path, settings: list[dict]) -> list[dict]:
    """One row per setting: its first matching recorded run under root, or status 'missing'."""
    records = []
    for path in sorted(root.rglob("metrics.json")):
        try:
            records.append((path, json.loads(path.read_text())))
        except ValueError:
            continue
    rows = []
    for index, setting in enumerate(settings, start=1):
        found = next(((path, record) for path, record in records if matches(record, setting)), None)
        row = {"run": f"{index:02d}", **setting, "status": "missing", "error": f"no recorded run under {root}"}
        if found:
            path, record = found
            final = record.get("final") or record["history"][-1]
            row.update(
                run=str(path.parent.relative_to(root)),
                status="completed",
                error=None,
                run_dir=os.path.relpath(path.parent),
                wall_seconds=record.get("wall_seconds"),
                **{k: final.get(k) for k in ("test_acc", "test_loss", "train_acc", "train_loss")},
            )
        rows.append(row)
    return rows


def report_recorded(
    root: str | os.PathLike, axes: dict, fixed: dict, zipped: list[str] = (), out_dir: str = "runs"
) -> tuple[Path, list[dict]]:
    """Write the sweep's tables and plot for the grid from runs recorded under root into out_dir/<time>-report/."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"--report-from {root}: no such folder")
    settings = grid(axes, fixed, zipped)
    rows = recorded_rows(root, settings)
    folder = new_run_dir(out_dir, "report").resolve()
    write_report(rows, list(axes), folder)
    write_json_atomic(
        folder / "report.json",
        {"recorded_under": os.path.relpath(root), "axes": axes, "fixed": fixed, "zipped": list(zipped), "runs": rows},
    )
    print((folder / "results.md").read_text(), end="", flush=True)
    return folder, rows
