"""Every notebook in notebooks/ re-executes with nbval and reproduces its stored, deterministic outputs.

The copy under test gets epochs=1, max_batches=2 injected by papermill (the shared notebook convention),
so a CI run is short; cells whose output depends on training carry the nbval-ignore-output tag.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from s5utils.data.system_datasets import system_copy

papermill = pytest.importorskip(
    "papermill", reason="the notebook tools are in the test extra: pip install -e '.[test]'"
)
pytest.importorskip("nbval", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CI_PARAMETERS = {"epochs": 1, "max_batches": 2}


def skip_without_its_data(notebook: Path) -> None:
    """S8 runs on Fashion-MNIST from Debian's dataset-fashion-mnist (no download in CI): skip where it is absent."""
    if notebook.name == "S8_normalization.ipynb" and system_copy("FashionMNIST") is None:
        pytest.skip("S8_normalization.ipynb needs Fashion-MNIST: apt-get install dataset-fashion-mnist")


def run_nbval(notebook: Path, workdir: Path, data_root: Path) -> subprocess.CompletedProcess:
    """Inject the CI parameters into a copy of notebook in workdir and run nbval on it in a subprocess."""
    copy = workdir / notebook.name
    papermill.execute_notebook(
        str(notebook), str(copy), parameters=CI_PARAMETERS, prepare_only=True, log_output=False, progress_bar=False
    )
    shutil.copy(HERE / "nbval_conftest.py", workdir / "conftest.py")
    env = dict(
        os.environ,
        S5UTILS_DATA=str(data_root),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(HERE / "nbval_sanitize.cfg"),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(workdir),
        "-q",
        str(copy),
    ]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1200)


def test_notebooks_folder_is_not_empty():
    assert [p.name for p in NOTEBOOKS if p.name == "S5.ipynb"], "notebooks/S5.ipynb is missing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_reproduces_its_stored_outputs(notebook, mnist_root, tmp_path):
    skip_without_its_data(notebook)
    done = run_nbval(notebook, tmp_path, mnist_root)
    assert done.returncode == 0, f"nbval failed on {notebook.name}:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_shared_conventions(notebook):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(notebook, as_version=4)
    # What JupyterLab writes when it opens a notebook on ipykernel: any other kernelspec marks it modified at once.
    assert nb.metadata.kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert nb.metadata.language_info.name == "python" and nb.metadata.language_info.codemirror_mode == {
        "name": "ipython",
        "version": 3,
    }
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[1] if "google.colab" in code[0].source else code[0]
    assert "parameters" in first.metadata.get("tags", []), (
        "the first code cell (after the Colab cell) is tagged parameters"
    )
    for name in ("epochs", "max_batches", "seed"):
        assert f"{name} =" in first.source, f"the parameters cell sets {name}"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "committed after one top-to-bottom run"
    assert any(c.outputs for c in code), "committed with its outputs, so nbval has something to compare"


def test_s5_declares_every_config_field_where_papermill_can_read_it():
    # papermill only warns about a -p name the cell lacks and skips a line it cannot parse (two '=' in it),
    # so a missing or unreadable line would vanish from --help-notebook and from the sweep's check.
    from dataclasses import fields

    from s5utils.config import TrainConfig

    declared = set(papermill.inspect_notebook(str(ROOT / "notebooks" / "S5.ipynb")))
    missing = {f.name for f in fields(TrainConfig)} - declared
    assert not missing, f"S5.ipynb's parameters cell does not declare (or papermill cannot parse) {sorted(missing)}"


def test_committed_s5_says_how_it_ran_and_prints_no_path_of_the_machine_that_ran_it():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(ROOT / "notebooks" / "S5.ipynb", as_version=4)
    # A run with papermill -p values would be a smoke run, not the notebook's own defaults.
    assert not nb.metadata.get("papermill", {}).get("parameters"), "S5.ipynb is committed from a run without -p"
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    texts = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for out in cell.outputs:
            texts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    absolute = [
        line
        for text in texts
        for line in text.splitlines()
        if any(root in line for root in ("/root/", "/home/", "/tmp/", "/work/", "/content/", "C:\\"))
    ]
    assert not absolute, f"outputs print paths of the machine that ran them: {absolute[:3]}"


def test_committed_s5_holds_what_a_person_sees_one_final_bar_per_epoch_and_one_final_figure():
    nbformat = pytest.importorskip("nbformat")
    path = ROOT / "notebooks" / "S5.ipynb"
    # 312 KB as committed, most of it five figures (data grid, architecture, curves, gallery, confusion
    # matrix); the 4,821 stream outputs of bar refreshes were 1.2 MB more.
    assert path.stat().st_size <= 400_000, f"S5.ipynb is {path.stat().st_size:,} bytes: progress frames stored?"
    nb = nbformat.read(path, as_version=4)
    training = next(c for c in nb.cells if c.cell_type == "code" and "state.train_epoch(" in c.source)
    epochs = nb.metadata.get("papermill", {}).get("parameters", {}).get("epochs") or 20
    # Streams merged as Jupyter shows them: about one output per stream, and one figure redrawn in place.
    assert len(training.outputs) <= 100
    # At the top, redrawn in place: the curves and the last epoch's line; the epochs' log below them.
    outputs = training.outputs
    assert [o.output_type for o in outputs[:2]] == ["display_data", "display_data"], outputs[:2]
    assert "image/png" in outputs[0].data
    assert outputs[1].data["text/plain"].startswith(f"[epoch {epochs}/{epochs}] "), outputs[1].data
    assert [o.output_type for o in outputs].count("display_data") == 2
    text = "".join(o.text for o in training.outputs if o.output_type == "stream" and o.name == "stdout")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Epoch ")]
    assert [lines[i] for i in starts] == [f"Epoch {k}" for k in range(1, epochs + 1)]
    for i in starts:  # each epoch: its bar's final state, then the test line
        assert lines[i + 1].startswith("Train: Loss=") and "100%" in lines[i + 1], lines[i + 1]
        assert lines[i + 2].startswith("Test set: Average loss: "), lines[i + 2]
    assert text.count("Train: Loss=") == epochs and "\r" not in text
    assert any(c.cell_type == "code" and "%tensorboard" in c.source for c in nb.cells)
