"""The notebook sweep: a validated grid, exact statistics over seeds, S5.ipynb run on a LocalCluster of 2 processes."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s5utils import ConfigError
from s5utils.sweep import sweep
from s5utils.sweep.plan import grid, plan_runs
from s5utils.sweep.results import plot_sweep, write_table
from s5utils.sweep.stats import comparisons, describe, grouped_table, rank_sum_test, sign_test

pytest.importorskip("distributed", reason="the sweep runs on Dask: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]


def test_grid_is_every_combination_validated_and_coerced():
    settings = grid({"lr": ["0.01", "0.05"], "seed": [1, 2]}, {"epochs": "1"})
    assert settings == [
        {"epochs": 1, "lr": 0.01, "seed": 1},
        {"epochs": 1, "lr": 0.01, "seed": 2},
        {"epochs": 1, "lr": 0.05, "seed": 1},
        {"epochs": 1, "lr": 0.05, "seed": 2},
    ]


def test_zipped_axes_advance_together_and_cross_the_others():
    settings = grid(
        {"seed": [1, 2], "data_path": ["loader", "tensor"], "amp": ["off", "bf16"]}, zipped=["data_path", "amp"]
    )
    assert [(s["seed"], s["data_path"], s["amp"]) for s in settings] == [
        (1, "loader", "off"),
        (1, "tensor", "bf16"),
        (2, "loader", "off"),
        (2, "tensor", "bf16"),
    ]
    with pytest.raises(ConfigError, match="equally many values, got data_path 2, amp 3"):
        grid({"data_path": ["loader", "tensor"], "amp": ["off", "bf16", "auto"]}, zipped=["data_path", "amp"])


def test_a_bad_grid_value_stops_the_sweep_before_any_run():
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1, got -4"):
        grid({"batch_size": ["64", "-4"]})


def test_a_parameter_the_notebook_lacks_stops_the_sweep_before_any_run(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    cell = nbformat.v4.new_code_cell("epochs = 20\nrun_dir = None", metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(
        cells=[cell, nbformat.v4.new_code_cell("print(epochs)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nb, notebook)
    with pytest.raises(ConfigError, match="tiny.ipynb has no parameter 'seed': add a line `seed = ...`"):
        sweep({"epochs": [1, 2]}, {"seed": 3}, str(tmp_path / "runs"), notebook)
    assert not (tmp_path / "runs").exists()


def test_run_ids_are_stable_and_differ_by_notebook_content_parameters_and_repeat(tmp_path):
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    a.write_text('{"cells": []}')
    b.write_text('{"cells": [], "x": 1}')
    settings = grid({"seed": [1, 2]})
    runs = plan_runs([a, b], {"seed": [1, 2]}, settings, repeats=2)
    assert [r["name"] for r in runs[:4]] == ["01-a-seed1-r1", "02-a-seed1-r2", "03-a-seed2-r1", "04-a-seed2-r2"]
    assert len({r["run_id"] for r in runs}) == 8
    assert [r["run_id"] for r in plan_runs([a, b], {"seed": [1, 2]}, settings, 2)] == [r["run_id"] for r in runs]


def test_sign_and_rank_sum_tests_are_exact():
    assert sign_test(7, 5) == pytest.approx(1586 / 2048)  # 2 * P(X <= 5), X ~ Binomial(12, 1/2)
    assert sign_test(6, 0) == pytest.approx(2 / 64) and sign_test(0, 0) == 1.0
    assert rank_sum_test([1, 2, 3], [4, 5, 6]) == pytest.approx(2 / 20)  # 2 of the C(6, 3) splits are this extreme
    assert rank_sum_test([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    summary = describe([98.0, 98.5, 99.0])
    assert (summary["n"], summary["mean"], summary["median"]) == (3, 98.5, 98.5)
    assert (summary["min"], summary["max"]) == (98.0, 99.0)
    assert summary["std"] == pytest.approx(0.5)


def rows_for(accuracies: dict[str, list[float]]) -> list[dict]:
    return [
        {
            "run": f"{path}-{seed}",
            "data_path": path,
            "seed": seed,
            "status": "completed",
            "test_acc": acc,
            "wall_seconds": 10.0 + seed,
        }
        for path, accs in accuracies.items()
        for seed, acc in enumerate(accs, 1)
    ]


def test_settings_repeated_over_seeds_get_a_grouped_table_and_a_paired_comparison(tmp_path):
    rows = rows_for({"loader": [98.4, 98.6, 98.1], "tensor": [98.2, 98.5, 98.3]})
    rows.append({"run": "x", "data_path": "tensor", "seed": 4, "status": "failed", "error": "boom"})
    (loader, tensor) = grouped_table(rows, ["data_path"])
    assert (loader["setting"], loader["seeds"], loader["test_acc_n"], loader["test_acc_median"]) == (
        "data_path=loader",
        "1, 2, 3",
        3,
        98.4,
    )
    assert tensor["test_acc_n"] == 3 and tensor["seconds_max"] == 13.0  # the failed run is not counted
    (pair,) = comparisons(rows, ["data_path"])
    assert (pair["a_higher"], pair["b_higher"], pair["tied"], pair["sign_p"]) == (2, 1, 0, 1.0)
    write_table(rows, ["data_path", "seed"], tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "| data_path=loader | 1, 2, 3 | 3 | 98.37 | 0.25 | 98.40 | 98.10 | 98.60 |" in text
    assert "| data_path=loader | data_path=tensor | 3 | 2 | 1 | 0 | +0.10 | 1.000 |" in text
    assert [r["setting"] for r in csv.DictReader((tmp_path / "results_by_setting.csv").open())] == [
        "data_path=loader",
        "data_path=tensor",
    ]


def test_without_repeated_seeds_there_is_no_grouped_table(tmp_path):
    write_table(rows_for({"loader": [98.4], "tensor": [98.2]}), ["data_path"], tmp_path)
    assert "By setting" not in (tmp_path / "results.md").read_text()
    assert not (tmp_path / "results_by_setting.csv").exists()


def test_the_plot_shows_every_run_as_a_point_and_failed_runs_as_failed():
    rows = rows_for({"loader": [98.4, 98.6, 98.1], "tensor": [98.2, 98.5]})
    rows.append({"run": "x", "data_path": "tensor", "seed": 3, "status": "failed"})
    ax = plot_sweep(rows, ["data_path"]).axes[0]
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert sorted(float(p.get_ydata()[0]) for p in points) == [98.1, 98.2, 98.4, 98.5, 98.6]
    assert [t.get_text() for t in ax.texts] == ["failed"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["data_path=loader", "data_path=tensor"]


def test_a_bad_grid_value_is_one_line_and_a_nonzero_exit_before_any_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "s5utils", "sweep", "--batch-size", "64", "-4", "--out", "runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "python -m s5utils sweep: error: argument --batch-size: batch_size must be an integer >= 1, got -4 "
        "(see `python -m s5utils sweep --help`)"
    ]
    assert not (tmp_path / "runs").exists()


def sweep_s5(
    tmp_path: Path, mnist_root: Path, *flags: str, seeds: tuple[str, ...] = ("1", "2")
) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / f"runs{len(list(tmp_path.glob('runs*')))}"
    env = dict(os.environ, S5UTILS_DATA=str(mnist_root), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "sweep",
            "--seed",
            *seeds,
            "--epochs",
            "1",
            "--max-batches",
            "2",
            "--batch-size",
            "64",
            "--num-workers",
            "0",
            "--out",
            str(out),
            *flags,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (folder,) = out.iterdir()
    return done, folder


def test_two_worker_processes_give_the_serial_sweeps_numbers_at_the_same_thread_count(mnist_root, tmp_path):
    # The thread count each kernel saw is read from its manifest; equal numbers then show that nothing else (seed,
    # data order, worker process) differs between a parallel and a serial sweep. The numbers alone would not show
    # the thread count: `python benchmarks/sweep_threads.py` found 1 and 2 threads equal after 4 batches of 512
    # and different after 10.
    parallel, folder = sweep_s5(tmp_path, mnist_root, "--workers", "2")
    # The serial reference is seed 2 alone: the seed a second worker process took, at half the cost of both.
    _, serial_folder = sweep_s5(tmp_path, mnist_root, "--workers", "1", "--torch-threads", "1", seeds=("2",))
    assert "on a local cluster of 2 worker process(es), 1 torch thread(s) each" in parallel.stdout
    for name in ("01-seed1", "02-seed2"):
        assert f"{name}: [epoch 1/1] train " in parallel.stdout  # one line per epoch, from the worker
        run_dir = folder / name
        assert {"S5.ipynb", "metrics.json", "training_plot.png", "manifest.json"} <= {p.name for p in run_dir.iterdir()}
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert (manifest["status"], manifest["attempts"], manifest["torch_threads"]) == ("completed", 1, 1)
        assert (
            manifest["kernel"]["torch"]
            and manifest["notebook_sha256"]
            == json.loads((folder / "sweep.json").read_text())["runs"][0]["notebook_sha256"]
        )
    serial_run = serial_folder / "01"  # one run: nothing varies to name it by
    assert json.loads((serial_run / "manifest.json").read_text())["torch_threads"] == 1
    assert json.loads((serial_run / "metrics.json").read_text())["config"]["seed"] == 2

    def numbers(run_dir: Path) -> list[dict]:
        history = json.loads((run_dir / "metrics.json").read_text())["history"]
        return [{k: v for k, v in row.items() if "seconds" not in k and "per_s" not in k} for row in history]

    assert numbers(folder / "02-seed2") == numbers(serial_run)
    assert numbers(folder / "01-seed1") != numbers(serial_run)  # the seeds differ, so the check can fail
    workers = {json.loads((folder / n / "manifest.json").read_text())["worker"] for n in ("01-seed1", "02-seed2")}
    assert len(workers) == 2  # both processes took a run
    assert "Sweep: 2 of 2 runs completed" in parallel.stdout
    assert "| all runs | 1, 2 | 2 |" in (folder / "results.md").read_text()


def record_run(folder: Path, seed: int, acc: float, config: dict, speed: dict | None, max_batches=None) -> None:
    folder.mkdir(parents=True)
    final = {"epoch": 20, "test_acc": acc, "test_loss": 0.05, "train_acc": 97.0, "train_loss": 0.09}
    record = {
        "status": "completed",
        "config": {"seed": seed, "epochs": 20, "max_batches": max_batches, **config},
        "history": [final],
        "final": final,
        "wall_seconds": 100.0 + seed,
    }
    if speed is not None:
        record["speed"] = speed
    (folder / "metrics.json").write_text(json.dumps(record))


def test_report_from_recorded_runs_matches_each_setting_to_what_ran_and_trains_nothing(tmp_path):
    recorded = tmp_path / "recorded"
    bf16 = {"data_path": "tensor", "amp_dtype": "torch.bfloat16", "channels_last": True}
    for seed, (loader_acc, tensor_acc) in enumerate([(98.4, 98.3), (98.6, 98.1), (98.2, 98.5)], start=1):
        record_run(recorded / f"a-pipeline-{seed}", seed, loader_acc, {"data_path": "loader", "amp": "off"}, None)
        record_run(recorded / f"b-default-{seed}", seed, tensor_acc, {"data_path": "auto", "amp": "auto"}, bf16)
    # Neither stands for a setting: a smoke run, and a run whose `auto` resolved to float32 on its machine.
    record_run(recorded / "0-smoke-1", 1, 11.0, {"data_path": "loader", "amp": "off"}, None, max_batches=2)
    record_run(
        recorded / "0-float32-1",
        1,
        12.0,
        {"data_path": "auto", "amp": "auto"},
        {"data_path": "tensor", "amp_dtype": None, "channels_last": True},
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "sweep",
            "--seed",
            "1",
            "2",
            "3",
            "--epochs",
            "20",
            "--data-path",
            "loader",
            "tensor",
            "--amp",
            "off",
            "bf16",
            "--zip",
            "data-path",
            "amp",
            "--report-from",
            str(recorded),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr
    assert "Report: 6 of 6 settings found among the runs recorded under" in done.stdout
    (folder,) = (tmp_path / "out").iterdir()
    rows = list(csv.DictReader((folder / "results.csv").open()))
    assert [(r["run"], r["test_acc"]) for r in rows] == [
        ("a-pipeline-1", "98.4"),
        ("b-default-1", "98.3"),
        ("a-pipeline-2", "98.6"),
        ("b-default-2", "98.1"),
        ("a-pipeline-3", "98.2"),
        ("b-default-3", "98.5"),
    ]
    settings = {r["setting"]: r for r in csv.DictReader((folder / "results_by_setting.csv").open())}
    assert settings["data_path=loader, amp=off"]["test_acc_median"] == "98.4"
    assert settings["data_path=tensor, amp=bf16"]["test_acc_median"] == "98.3"
    # loader higher on seeds 1 and 2, lower on 3: sign p = 1.0; ranks 4, 6, 2 vs 3, 1, 5: 14 of 20 splits as extreme
    assert "| 3 | 2 | 1 | 0 | +0.10 | 1.000 | +0.10 | 0.700 |" in (folder / "results.md").read_text()
    assert not list(folder.glob("0*"))  # nothing was run
