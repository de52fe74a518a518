"""What a notebook shows while it trains and around it: live curves in place, whole epochs, the TensorBoard program."""

import os
import sys
from pathlib import Path

import pytest

from s5utils import EpochProgress, LiveCurves, plot_curves, plot_histories, plot_history
from s5utils.notebooks.parameters import kernel_tensorboard, use_kernel_tensorboard, wants_tensorboard


def row(epoch: int) -> dict:
    return {
        "epoch": epoch,
        "train_loss": 1 / epoch,
        "test_loss": 0.5 / epoch,
        "train_acc": 90 + epoch,
        "test_acc": 91 + epoch,
        "seconds": 2.0,
    }


def visible_ticks(ax) -> list[float]:
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_epoch_ticks_are_whole_numbers_however_short_the_run(epochs):
    history = [row(k) for k in range(1, epochs + 1)]
    for figure in (plot_curves(history), plot_history(history), plot_histories({"run": history})):
        ticks = visible_ticks(figure.axes[0])
        assert ticks and all(t == int(t) for t in ticks), ticks


def test_plot_curves_fixes_the_epoch_axis_to_the_run_even_before_epoch_1():
    assert visible_ticks(plot_curves([], 20).axes[0])[-1] == 20
    assert plot_curves([row(1)], 20).axes[1].get_xlim() == (0.5, 20.5)


class State:
    def __init__(self):
        self.history = []


def test_live_curves_head_the_output_before_epoch_1_and_are_redrawn_in_place(capsys):
    shell = pytest.importorskip("IPython.core.interactiveshell").InteractiveShell.instance()
    from IPython.utils.capture import capture_output

    state, progress = State(), EpochProgress(2)
    with capture_output() as shown:
        curves = LiveCurves(progress)
        for epoch in (1, 2):
            state.history.append(row(epoch))
            progress(state)
            curves(state)
    assert shell is not None
    published = shown.outputs
    assert "image/png" in published[0].data and published[1].data == {
        "text/plain": "Training: the curves appear here when an epoch ends"
    }
    ids = [out.transient["display_id"] for out in published[:2]]
    updates = published[2:]
    assert len(updates) == 4 and all(out.update for out in updates)
    assert [out.transient["display_id"] for out in updates] == ids * 2
    assert "image/png" in updates[2].data
    assert updates[3].data["text/plain"] == progress.line and progress.line.startswith("[epoch 2/2] ")
    assert "[epoch 1/2] " in shown.stdout and "[epoch 2/2] " in shown.stdout


def test_live_curves_show_nothing_outside_ipython(capsys, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    state = State()
    state.history.append(row(1))
    LiveCurves(EpochProgress(1))(state)
    assert capsys.readouterr().out == ""


@pytest.fixture
def no_tensorboard_env(monkeypatch):
    """A kernel started by `.venv/bin/jupyter lab` without the venv activated: no tensorboard on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p.rstrip("/") != venv_bin)
    monkeypatch.setenv("PATH", path)
    monkeypatch.delenv("TENSORBOARD_BINARY", raising=False)


def test_the_tensorboard_magic_is_pointed_at_the_kernels_own_tensorboard(no_tensorboard_env):
    own = Path(sys.executable).parent / "tensorboard"
    if not own.is_file():
        pytest.skip("this environment has no tensorboard program beside its python")
    assert kernel_tensorboard() == str(own)
    assert wants_tensorboard(True) is True
    assert os.environ["TENSORBOARD_BINARY"] == str(own)


def test_a_tensorboard_binary_the_user_chose_is_kept(no_tensorboard_env, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_BINARY", "/opt/tb/bin/tensorboard")
    assert use_kernel_tensorboard() is None
    assert os.environ["TENSORBOARD_BINARY"] == "/opt/tb/bin/tensorboard"


def test_without_a_tensorboard_program_the_cell_says_what_to_do_in_one_line(
    no_tensorboard_env, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert wants_tensorboard(True) is False
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and printed[0].startswith("TensorBoard not opened: no tensorboard program"), printed
    assert "TENSORBOARD_BINARY" in printed[0] and "TENSORBOARD_BINARY" not in os.environ


def test_open_tensorboard_false_touches_nothing(no_tensorboard_env, capsys):
    assert wants_tensorboard(False) is False
    assert "TENSORBOARD_BINARY" not in os.environ and capsys.readouterr().out == ""
