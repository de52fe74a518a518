"""Run All, as a student does it: every committed notebook executes top to bottom with no papermill injection.

Only the values in each notebook's own parameters cell are shortened, in place (2 epochs of 2 batches of 64, the run
folders under a temporary folder); everything else runs exactly as committed, from notebooks/ (so relative
paths resolve as they do for a student), in a plain Jupyter kernel started by nbclient.
"""

import os
import re
from pathlib import Path

import pytest

from s5utils.data.system_datasets import system_copy

nbformat = pytest.importorskip("nbformat", reason="the notebook tools are in the test extra: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABSOLUTE = ("/root/", "/home/", "/tmp/", "/work/", "/content/", "C:\\")


def skip_without_its_data(notebook: Path) -> None:
    """S8 runs on Fashion-MNIST from Debian's dataset-fashion-mnist (no download in CI): skip where it is absent."""
    if notebook.name == "S8_normalization.ipynb" and system_copy("FashionMNIST") is None:
        pytest.skip("S8_normalization.ipynb needs Fashion-MNIST: apt-get install dataset-fashion-mnist")


def shortened(source: str, values: dict) -> str:
    """The parameters cell's source with each name's value replaced in its own line (its comment dropped)."""
    for name, value in values.items():
        source, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", source, count=1, flags=re.M)
        assert n == 1, f"the parameters cell has no line `{name} = ...`"
    return source


def run_all(notebook: Path, out_dir: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(notebook, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = shortened(params.source, {"epochs": 2, "max_batches": 2, "batch_size": 64, "out_dir": str(out_dir)})
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=900,
        coalesce_streams=True,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute()  # raises CellExecutionError at the first cell that fails, naming it
    return nb


def strip(line: str, paths) -> str:
    for path in paths:
        line = line.replace(path, "OUT_DIR")
    return line


def stream_text(cell, name: str = "stdout") -> str:
    return "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == name)


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def executed(request, mnist_root, tmp_path_factory):
    """(notebook path, the notebook after Run All, its out_dir), once per notebook."""
    skip_without_its_data(request.param)
    out_dir = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("S5UTILS_DATA", str(mnist_root))  # the kernel inherits it: MNIST is already there
        return request.param, run_all(request.param, out_dir), out_dir


def test_run_all_finishes_on_the_committed_notebook_and_prints_no_path_of_this_machine(executed):
    notebook, nb, out_dir = executed
    printed = [
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        for line in (out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))).splitlines()
    ]
    assert not [out for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"]
    # The run folders are where this test put them (out_dir); any other path of this machine is a leak.
    chosen = (os.path.relpath(out_dir, notebook.parent), str(out_dir))
    leaks = [line for line in printed if any(root in strip(line, chosen) for root in ABSOLUTE)]
    assert not leaks, f"a notebook prints a path of the machine that runs it: {leaks[:3]}"
    assert list(out_dir.glob("*/metrics.json")), "the run left no run folder under out_dir"


def test_s5_run_all_shows_the_seed_lines_in_order_and_one_live_figure(executed):
    notebook, nb, _ = executed
    if notebook.name != "S5.ipynb":
        pytest.skip("S5.ipynb's training cell")
    training = next(c for c in nb.cells if c.cell_type == "code" and "state.train_epoch(" in c.source)
    text = stream_text(training)
    assert re.search(
        r"^Precision: \S+: .+\nAdjusting learning rate of group 0 to 1\.0000e-02\.\nEpoch 1\n"
        r"Train: Loss=\d\.\d{4} Batch_id=1 Accuracy=\d+\.\d\d: 100%.*\n"
        r"Test set: Average loss: \d\.\d{4}, Accuracy: \d+/\d+ \(\d+\.\d\d%\)\n",
        text,
        re.M,
    ), text
    assert text.count("\nEpoch ") == 2 and text.count("\nTest set: ") == 2 and text.count("Train: Loss=") == 2
    assert "\r" not in text  # the bar's refreshes are resolved to its final state
    assert len(training.outputs) <= 4  # the figure, its line, stdout, and at most a stderr stream


def test_every_training_cell_heads_its_output_with_the_live_curves_and_the_latest_epoch_line(executed):
    """Shown before epoch 1 and redrawn in place: one figure and one line at the top, above the epochs' log."""
    notebook, nb, _ = executed
    training = [c for c in nb.cells if c.cell_type == "code" and "RunFolder(" in c.source]
    if not training:
        pytest.skip(f"{notebook.name} does not train")
    outputs = training[0].outputs
    assert [out.output_type for out in outputs[:2]] == ["display_data", "display_data"], outputs
    assert "image/png" in outputs[0].data  # the final figure, where the first one stood
    assert outputs[1].data["text/plain"].startswith("[epoch 2/2] "), outputs[1].data
    assert len([out for out in outputs if out.output_type == "display_data"]) == 2
    text = stream_text(training[0])
    assert "[epoch 1/2] " in text and "[epoch 2/2] " in text and "Epoch 1\n" in text  # the epochs' lines below
