import json

import pytest
from matplotlib.figure import Figure

from s5utils import load_history, plot_curves, plot_histories


def history(offset):
    return [
        {
            "epoch": e,
            "train_loss": 1 / e + offset,
            "test_loss": 1.1 / e + offset,
            "train_acc": 90 + e,
            "test_acc": 89 + e - offset,
        }
        for e in (1, 2, 3)
    ]


def test_runs_come_from_lists_metrics_files_and_run_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.json").write_text(json.dumps({"status": "completed", "history": history(1)}))
    (tmp_path / "b.json").write_text(json.dumps({"history": history(2)}))
    assert load_history(tmp_path / "a") == history(1)
    assert load_history(str(tmp_path / "b.json")) == history(2)
    assert load_history(history(0)) == history(0)


def test_one_panel_per_metric_and_one_labelled_line_per_run(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"history": history(1)}))
    fig = plot_histories({"seed": history(0), "compact": tmp_path}, keys=("test_loss", "test_acc", "train_acc"))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert isinstance(fig, Figure) and len(visible) == 3
    assert all([line.get_label() for line in ax.lines] == ["seed", "compact"] for ax in visible)
    assert list(visible[1].lines[1].get_ydata()) == [r["test_acc"] for r in history(1)]


def test_a_missing_metrics_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics file at .*metrics.json"):
        plot_histories({"lost": tmp_path})


def test_the_live_figure_puts_train_and_test_of_each_quantity_on_one_panel():
    fig = plot_curves(history(0))
    loss, acc = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
    assert all([line.get_label() for line in ax.lines] == ["train", "test"] for ax in fig.axes)
    assert list(loss.lines[1].get_ydata()) == [r["test_loss"] for r in history(0)]
    assert list(acc.lines[0].get_ydata()) == [r["train_acc"] for r in history(0)]
    assert list(acc.lines[0].get_xdata()) == [1, 2, 3]
