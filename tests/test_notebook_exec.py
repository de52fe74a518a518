"""execute_notebook: papermill runs S5.ipynb, and the one line per epoch reaches the caller while it runs."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from s5utils.notebooks.execute import ProgressWriter
from s5utils.runs.progress import EpochProgress, is_progress_line

pytest.importorskip("papermill", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(
    r"^\[epoch (\d+)/(\d+)\] train \d+\.\d\d%, test \d+\.\d\d%, \d+\.\d s; "
    r"(about \d+(\.\d)? (s|min|h) left|done)$"
)


def test_the_progress_line_has_its_fixed_shape_and_estimates_the_time_left(capsys):
    progress = EpochProgress(4)
    row = {"epoch": 1, "train_acc": 91.5, "test_acc": 97.25, "seconds": 30.0}
    progress(SimpleNamespace(history=[row]))  # a callback receives the TrainingState; this one reads its history
    progress(SimpleNamespace(history=[row, {**row, "epoch": 2}]))
    progress(SimpleNamespace(history=[row] * 4))
    first, second, last = capsys.readouterr().out.splitlines()
    assert first == "[epoch 1/4] train 91.50%, test 97.25%, 30.0 s; about 1.5 min left"  # 3 epochs of 30 s
    assert LINE.match(second) and second.startswith("[epoch 2/4]")
    assert last.endswith("; done") and all(map(is_progress_line, (first, second, last)))
    assert not is_progress_line("Epoch 1") and not is_progress_line("Test set: Average loss: 0.1")


def test_the_writer_passes_on_only_whole_progress_lines_even_when_they_arrive_in_pieces():
    got = []
    writer = ProgressWriter(got.append)
    writer.write("Adjusting learning rate of group 0 to 1.0000e-02.\nEpoch 1\n[epoch 1/2] train 9")
    assert got == []
    writer.write("0.00%, test 91.00%, 2.0 s; about 2 s left\nTest set: Average loss: 0.5\n[epoch 2/2] t")
    writer.write("rain 95.00%, test 96.00%, 2.0 s; done\n")
    assert got == [
        "[epoch 1/2] train 90.00%, test 91.00%, 2.0 s; about 2 s left",
        "[epoch 2/2] train 95.00%, test 96.00%, 2.0 s; done",
    ]


def test_execute_notebook_reports_each_epoch_while_the_notebook_keeps_the_seed_lines(mnist_root, tmp_path, monkeypatch):
    from s5utils.notebooks.execute import execute_notebook

    monkeypatch.setenv("S5UTILS_DATA", str(mnist_root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    output = tmp_path / "S5.ipynb"
    seen = []  # (line, whether the run had written its final weights yet: it does after the last epoch)
    execute_notebook(
        ROOT / "notebooks" / "S5.ipynb",
        output,
        {"epochs": 2, "max_batches": 2, "batch_size": 64, "run_dir": str(tmp_path / "run")},
        cwd=tmp_path,
        on_progress=lambda line: seen.append((line, (tmp_path / "run" / "model.pt").exists())),
    )
    lines = [line for line, _ in seen]
    assert [LINE.match(line).group(1, 2) for line in lines] == [("1", "2"), ("2", "2")]
    assert not seen[0][1]  # epoch 1 was reported while the notebook was still training
    cells = json.loads(output.read_text())["cells"]
    text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert text.count("Test set: Average loss: ") == 2 and "Adjusting learning rate of group 0" in text
    assert "Train: Loss=" in text and lines[-1] in text


def test_the_command_line_prints_the_epoch_lines_and_no_batch_bars(mnist_root, tmp_path):
    env = dict(
        os.environ,
        S5UTILS_DATA=str(mnist_root),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils.notebooks.run_notebook",
            str(ROOT / "notebooks" / "S5.ipynb"),
            str(tmp_path / "S5.ipynb"),
            "-p",
            "epochs",
            "1",
            "-p",
            "max_batches",
            "1",
            "-p",
            "batch_size",
            "64",
            "-p",
            "run_dir",
            str(tmp_path / "run"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [line for line in done.stdout.splitlines() if LINE.match(line)]
    assert len(done.stdout.splitlines()) == 1 and "Train: Loss=" not in done.stdout + done.stderr


def test_the_command_line_names_a_bad_parameter_in_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils.notebooks.run_notebook",
            str(ROOT / "notebooks" / "S5.ipynb"),
            str(tmp_path / "S5.ipynb"),
            "-p",
            "epochs",
            "-3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: the notebook stopped: NotebookConfigError: epochs must be an integer >= 1, got -3 "
        f"(the executed notebook {tmp_path / 'S5.ipynb'} shows where)"
    ]
