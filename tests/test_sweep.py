"""The notebook sweep: a grid of papermill runs, each recorded, compared in a table and a plot."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s5utils import ConfigError
from s5utils.sweep import grid, plot_sweep, sweep, write_table

pytest.importorskip("papermill", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
TINY = {"epochs": 1, "max_batches": 2, "num_workers": 0}


def test_grid_is_every_combination_validated_and_coerced():
    settings = grid({"lr": ["0.01", "0.05"], "seed": [1, 2]}, {"epochs": "1"})
    assert settings == [{"epochs": 1, "lr": 0.01, "seed": 1}, {"epochs": 1, "lr": 0.01, "seed": 2},
                        {"epochs": 1, "lr": 0.05, "seed": 1}, {"epochs": 1, "lr": 0.05, "seed": 2}]


def test_a_bad_grid_value_stops_the_sweep_before_any_run():
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1, got -4"):
        grid({"batch_size": ["64", "-4"]})


def test_a_parameter_the_notebook_lacks_stops_the_sweep_before_any_run(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    cell = nbformat.v4.new_code_cell("epochs = 20\nrun_dir = None", metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("print(epochs)")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}})
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nb, notebook)
    with pytest.raises(ConfigError, match="tiny.ipynb has no parameter 'seed': add a line `seed = ...`"):
        sweep({"epochs": [1, 2]}, {"seed": 3}, str(tmp_path / "runs"), notebook)
    assert not (tmp_path / "runs").exists()


def test_table_and_plot_show_failed_runs_as_failed(tmp_path):
    rows = [{"run": "01-lr0.01", "lr": 0.01, "status": "completed", "test_acc": 91.5, "run_dir": "x"},
            {"run": "02-lr0.05", "lr": 0.05, "status": "failed", "error": "ValueError: a | b", "run_dir": "y"}]
    csv_path, md_path = write_table(rows, ["lr"], tmp_path)
    read = list(csv.DictReader(csv_path.open()))
    assert [(r["run"], r["lr"], r["status"], r["test_acc"]) for r in read] == [
        ("01-lr0.01", "0.01", "completed", "91.5"), ("02-lr0.05", "0.05", "failed", "")]
    assert md_path.read_text().splitlines()[2:] == [
        "| 01-lr0.01 | 0.01 | completed | 91.5 |  |  |  |  |  |",
        "| 02-lr0.05 | 0.05 | failed |  |  |  |  |  | ValueError: a \\| b |"]
    texts = [t.get_text() for t in plot_sweep(rows).axes[0].texts]
    assert texts == ["91.50", "failed"]


def test_sweep_command_runs_four_settings_end_to_end(mnist_root, tmp_path):
    env = dict(os.environ, S5UTILS_DATA=str(mnist_root),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "s5utils", "sweep", "--lr", "0.01", "0.05", "--seed", "1", "2",
                           "--epochs", "1", "--max-batches", "2", "--num-workers", "0", "--out", "runs"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Sweep: 4 of 4 runs completed" in done.stdout
    (folder,) = (tmp_path / "runs").iterdir()
    rows = list(csv.DictReader((folder / "results.csv").open()))
    assert [(r["lr"], r["seed"], r["status"]) for r in rows] == [
        ("0.01", "1", "completed"), ("0.01", "2", "completed"), ("0.05", "1", "completed"), ("0.05", "2", "completed")]
    for row in rows:
        run_dir = Path(row["run_dir"])
        assert run_dir.parent == folder
        record = json.loads((run_dir / "metrics.json").read_text())
        assert record["config"]["lr"] == float(row["lr"]) and record["config"]["max_batches"] == 2
        assert float(row["test_acc"]) == pytest.approx(record["final"]["test_acc"])
        assert (run_dir / "S5.ipynb").is_file() and (run_dir / "training_plot.png").is_file()
    assert len((folder / "results.md").read_text().splitlines()) == 2 + 4
    assert (folder / "test_accuracy.png").stat().st_size > 5_000


def test_a_failed_run_is_recorded_with_its_error_and_the_others_go_on(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setenv("S5UTILS_DATA", str(mnist_root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # lr 1e30 passes the config check (lr > 0) but the loss overflows: the run itself fails.
    folder, rows = sweep({"lr": [1e30, 0.01]}, TINY, str(tmp_path))
    assert [row["status"] for row in rows] == ["failed", "completed"]
    assert "NonFiniteLossError" in rows[0]["error"] and "\n" not in rows[0]["error"]
    saved = json.loads((folder / "sweep.json").read_text())
    assert [run["status"] for run in saved["runs"]] == ["failed", "completed"]
    assert (Path(rows[0]["run_dir"]) / "S5.ipynb").is_file()   # the failed notebook is kept to read the error
