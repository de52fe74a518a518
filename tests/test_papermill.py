"""papermill runs of notebooks/S5.ipynb: bad parameters stop it with one line, any working directory works."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s5utils import ConfigError, TrainConfig
from s5utils.notebooks.parameters import config_from_globals, open_run_dir

pytest.importorskip("papermill", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "S5.ipynb"


def papermill(*args, cwd, data_root=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if data_root is not None:
        env["S5UTILS_DATA"] = str(data_root)
    return subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", str(NOTEBOOK), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def notebook_namespace(**params):
    """What a kernel's globals hold after the Colab, parameters and injected cells."""
    namespace = {
        "__name__": "__main__",
        "_i1": "...",
        "In": [""],
        "Out": {},
        "sys": sys,
        "REPO": "https://x",
        "get_ipython": lambda: None,
        "epochs": 20,
        "max_batches": None,
        "seed": 1,
        "run_dir": None,
    }
    namespace.update(params)
    return namespace


def test_config_from_globals_reads_the_parameters_and_coerces_them():
    config = config_from_globals(notebook_namespace(epochs="3", lr="0.05"))
    assert (config.epochs, config.lr, config.max_batches) == (3, 0.05, None)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"epoch": 3}, "unknown parameter 'epoch'; did you mean 'epochs'?"),
        ({"epochs": -3}, "epochs must be an integer >= 1, got -3"),
        ({"lr": "abc"}, "lr must be a number > 0, got 'abc'"),
        ({"run_dir": 5}, "run_dir must be a folder path"),
    ],
)
def test_config_from_globals_rejects_a_bad_parameter_by_name(params, message):
    with pytest.raises(ConfigError) as info:
        config_from_globals(notebook_namespace(**params))
    assert str(info.value).startswith(message)
    assert info.value._render_traceback_() == [f"ConfigError: {info.value}"]  # IPython shows this one line


def test_a_notebook_may_declare_its_own_extra_parameters():
    namespace = notebook_namespace(checkpoint="model.pt")
    with pytest.raises(ConfigError, match="unknown parameter 'checkpoint'"):
        config_from_globals(namespace)
    assert config_from_globals(namespace, extra_names=["checkpoint"]).epochs == 20


def test_a_rerun_of_the_config_cell_ignores_variables_of_later_cells():
    namespace = notebook_namespace()
    namespace["config"] = config_from_globals(namespace)
    namespace["history"] = [{"epoch": 1}]  # bound by a later cell, before the student re-runs the config cell
    assert config_from_globals(namespace) == namespace["config"]


def test_open_run_dir_uses_the_given_folder_or_makes_a_new_one(tmp_path):
    assert open_run_dir(TrainConfig(), str(tmp_path / "given")) == tmp_path / "given"
    made = open_run_dir(TrainConfig(out_dir=str(tmp_path / "runs")))
    assert made.parent == tmp_path / "runs" and made.name.endswith("-S5")


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "epochs", "-3"], "ConfigError: epochs must be an integer >= 1, got -3"),
        (["-p", "lr", "abc"], "ConfigError: lr must be a number > 0, got 'abc'"),
        (["-p", "epoch", "3"], "ConfigError: unknown parameter 'epoch'; did you mean 'epochs'?"),
    ],
)
def test_papermill_with_a_bad_parameter_fails_with_one_line_naming_it(args, message, tmp_path):
    done = papermill(str(tmp_path / "out.ipynb"), *args, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in done.stderr.split("Exception encountered at")[-1]  # the cell shows no frames
    assert not (tmp_path / "runs").exists(), "nothing ran past the config cell"


def test_papermill_runs_from_any_working_directory(mnist_root, tmp_path):
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    done = papermill(
        "out.ipynb",
        "-p",
        "epochs",
        "1",
        "-p",
        "max_batches",
        "2",
        "-p",
        "batch_size",
        "64",
        "-p",
        "num_workers",
        "0",
        cwd=elsewhere,
        data_root=mnist_root,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (elsewhere / "out.ipynb").is_file()
    (run_dir,) = (elsewhere / "runs").iterdir()  # out_dir "runs" follows the caller's cwd, like the CLI
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "completed" and record["config"]["max_batches"] == 2
    assert (run_dir / "training_plot.png").is_file()
