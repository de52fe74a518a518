"""Batch-run a notebook over a grid of parameters with papermill, and compare the runs in a table and a plot."""
import csv
import itertools
import json
from pathlib import Path

from matplotlib.figure import Figure
from tqdm.auto import tqdm

from .config import ConfigError, make_config
from .runs import new_run_dir, write_json_atomic

COLUMNS = ["run", "status", "test_acc", "test_loss", "train_acc", "train_loss", "wall_seconds", "error", "run_dir"]
SHORT = {"batch_size": "bs", "max_batches": "mb", "epochs": "ep", "momentum": "mom", "step_size": "step"}


def default_notebook() -> Path:
    """notebooks/S5.ipynb of the checkout this package was imported from."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "S5.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (s5utils is not running from a checkout); "
                                "pass the notebook's path with --notebook")
    return path


def grid(axes: dict[str, list], fixed: dict | None = None) -> list[dict]:
    """Every combination of the axes' values (first axis slowest), each merged over the fixed values.

    Each combination is validated with make_config() first, so a bad value stops the sweep before any run.
    """
    fixed = dict(fixed or {})
    settings = [{**fixed, **dict(zip(axes, values))} for values in itertools.product(*axes.values())]
    return [{name: getattr(make_config(**setting), name) for name in setting} for setting in settings]


def check_declared(notebook: Path, names) -> None:
    """Refuse a parameter the notebook's parameters cell does not set: papermill would only warn and run on."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    for name in names:
        if name not in declared:
            raise ConfigError(f"{notebook.name} has no parameter {name!r}: add a line `{name} = ...` to its "
                              f"parameters cell, or leave {name} out of the sweep", name)


def run_name(index: int, setting: dict, axes: list[str]) -> str:
    """A folder name that says what varies, e.g. 03-lr0.02-bs128-seed1."""
    parts = [f"{SHORT.get(k, k)}{setting[k]}" for k in axes]
    return "-".join([f"{index:02d}", *parts]).replace("/", "_")


def run_one(notebook: Path, run_dir: Path, setting: dict, kernel_name: str | None = None) -> dict:
    """Execute notebook into run_dir with setting; returns a result row, status 'failed' (with the error) on any error."""
    import papermill as pm

    row = {"run": run_dir.name, "run_dir": str(run_dir), **setting}
    try:
        pm.execute_notebook(str(notebook), str(run_dir / notebook.name), parameters={**setting, "run_dir": str(run_dir)},
                            kernel_name=kernel_name, progress_bar=False, log_output=False, cwd=str(run_dir))
    except Exception as exc:  # one failed run must not stop the others: record it and go on
        error = f"{exc.ename}: {exc.evalue}" if hasattr(exc, "ename") else f"{type(exc).__name__}: {exc}"
        row.update(status="failed", error=error.strip().splitlines()[-1] if error.strip() else type(exc).__name__)
        return row
    metrics = run_dir / "metrics.json"
    if not metrics.is_file():
        row.update(status="failed", error=f"the notebook finished without writing {metrics.name}")
        return row
    record = json.loads(metrics.read_text())
    final = record.get("final") or (record["history"][-1] if record.get("history") else {})
    row.update(status=record.get("status", "unknown"), wall_seconds=record.get("wall_seconds"),
               **{k: final.get(k) for k in ("test_acc", "test_loss", "train_acc", "train_loss")})
    return row


def write_table(rows: list[dict], axes: list[str], folder: Path) -> tuple[Path, Path]:
    """results.csv and results.md: one line per run, the varied parameters first."""
    columns = COLUMNS[:1] + axes + COLUMNS[1:]
    csv_path, md_path = folder / "results.csv", folder / "results.md"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    def cell(value) -> str:
        if value is None:
            return ""
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    shown = [c for c in columns if c != "run_dir"]
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in shown) + " |" for row in rows]
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def plot_sweep(rows: list[dict]) -> Figure:
    """Final test accuracy per run as bars; a failed run is an empty slot labelled 'failed'."""
    fig = Figure(figsize=(max(6, 0.9 * len(rows) + 2), 4.5))
    ax = fig.subplots()
    names = [row["run"] for row in rows]
    accs = [row.get("test_acc") if row["status"] == "completed" else None for row in rows]
    bars = ax.bar(range(len(rows)), [a or 0 for a in accs], color="tab:blue")
    for bar, acc in zip(bars, accs):
        label = "failed" if acc is None else f"{acc:.2f}"
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8, color="tab:red" if acc is None else "black")
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Final test accuracy per run")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def sweep(axes: dict[str, list], fixed: dict | None = None, out_dir: str = "runs", notebook: Path | None = None,
          kernel_name: str | None = None) -> tuple[Path, list[dict]]:
    """Run notebook once per grid setting into out_dir/<time>-sweep/<NN-...>/; returns (sweep folder, rows).

    Each run folder holds the executed notebook, metrics.json and the training plot. The sweep folder holds
    results.csv, results.md, test_accuracy.png and sweep.json (kept current after every run).
    """
    notebook = Path(notebook).resolve() if notebook else default_notebook()
    settings = grid(axes, fixed)
    check_declared(notebook, [*(fixed or {}), *axes, "run_dir"])
    folder = new_run_dir(out_dir, "sweep").resolve()
    rows = []
    for index, setting in enumerate(tqdm(settings, desc="sweep", unit="run"), start=1):
        run_dir = folder / run_name(index, setting, list(axes))
        run_dir.mkdir()
        rows.append(run_one(notebook, run_dir, setting, kernel_name))
        tqdm.write(f"{rows[-1]['run']}: {rows[-1]['status']}"
                   + (f", test accuracy {rows[-1]['test_acc']:.2f}%" if rows[-1].get("test_acc") is not None else "")
                   + (f" ({rows[-1]['error']})" if rows[-1].get("error") else ""))
        write_json_atomic(folder / "sweep.json", {"notebook": str(notebook), "axes": axes, "fixed": fixed or {},
                                                  "runs": rows})
    write_table(rows, list(axes), folder)
    plot_sweep(rows).savefig(folder / "test_accuracy.png", dpi=100)
    return folder, rows
