"""Code written for s5utils 0.1.0: changed calls stop in one line naming what replaces them, moved modules still
import (with a FutureWarning), and the version and CHANGELOG say what changed."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import s5utils
from s5utils.compat import MOVED_MODULES

ROOT = Path(__file__).resolve().parents[1]


def tiny_loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,))), batch_size=4)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


def test_the_old_fit_call_names_training_state_in_one_line():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError) as caught:
        s5utils.fit(model, tiny_loader(), tiny_loader(), optimizer, None, 1, "cpu")
    line = one_line(caught.value)
    assert "TrainingState(model, optimizer, train_loader, test_loader" in line and "s5utils.fit(state, epochs)" in line


def test_the_old_fit_call_by_keyword_is_refused_too():
    with pytest.raises(TypeError, match="TrainingState"):
        s5utils.fit(model=torch.nn.Linear(2, 2), train_loader=tiny_loader(), epochs=1)


def test_the_new_fit_call_still_trains():
    model = torch.nn.Linear(2, 2)
    state = s5utils.TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), tiny_loader(), tiny_loader())
    history = s5utils.fit(state, 1, progress=False)
    assert [row["epoch"] for row in history] == [1]


@pytest.mark.parametrize(
    "old_call, new_call",
    [
        (lambda m, tmp: s5utils.save_checkpoint(tmp / "c.pt", m, None), "s5utils.save_checkpoint(path, state)"),
        (lambda m, tmp: s5utils.Checkpointer(tmp / "c.pt", m, None), "callbacks=[s5utils.Checkpointer(path)]"),
        (
            lambda m, tmp: s5utils.RunFolder(tmp / "run", s5utils.TrainConfig(), m, None, None, "cpu"),
            "with s5utils.RunFolder(run_dir, config) as run",
        ),
    ],
    ids=["save_checkpoint", "Checkpointer", "RunFolder"],
)
def test_every_changed_signature_refuses_its_old_call_in_one_line(old_call, new_call, tmp_path):
    with pytest.raises(TypeError) as caught:
        old_call(torch.nn.Linear(2, 2), tmp_path)
    line = one_line(caught.value)
    assert "0.2.0" in line and new_call in line
    assert not any(tmp_path.iterdir()), "a refused call wrote nothing"


def test_a_removed_name_says_what_replaces_it():
    with pytest.raises(AttributeError) as caught:
        s5utils.restore_checkpoint  # noqa: B018
    assert "state.restore(path)" in one_line(caught.value)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        s5utils.no_such_name  # noqa: B018


@pytest.mark.parametrize("old, new", sorted(MOVED_MODULES.items()))
def test_a_moved_module_imports_from_its_old_path_with_a_warning(old, new):
    moved = importlib.import_module(new)
    public = [name for name in dir(moved) if not name.startswith("_") and name in s5utils.__all__]
    if old in {"data", "runs"}:
        # s5utils/data.py and runs.py became packages: their names are forwarded from the package
        package = importlib.import_module(f"s5utils.{old}")
        with pytest.warns(FutureWarning, match=re.escape(new)):
            assert getattr(package, public[0]) is getattr(s5utils, public[0])
        return
    if old not in s5utils.__all__:  # s5utils.summary was the function in 0.1.0 too
        with pytest.warns(FutureWarning, match=re.escape(new)):
            # the form S5.ipynb used in 0.1.0: from s5utils import inspect, notebook
            assert getattr(s5utils, old) is moved
    if public:
        with pytest.warns(FutureWarning):
            old_module = importlib.import_module(f"s5utils.{old}")
        assert getattr(old_module, public[0]) is getattr(s5utils, public[0])


def test_the_0_1_0_module_imports_run_in_a_fresh_interpreter():
    code = (
        "import warnings; warnings.simplefilter('error', FutureWarning)\n"
        "try:\n    from s5utils.inspect import gallery\nexcept FutureWarning as w:\n    print(w)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == (
        "s5utils.inspect moved to s5utils.study.mistakes in s5utils 0.2.0; import the names from s5utils instead"
    )


def test_the_version_is_declared_once_past_0_1_0_and_the_changelog_names_it():
    declared = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert s5utils.__version__ == declared
    assert tuple(int(p) for p in declared.split(".")[:2]) > (0, 1)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{declared}]" in changelog and "TrainingState" in changelog
    assert not re.search(r'__version__ = "\d', (ROOT / "s5utils" / "version.py").read_text()), "declared twice"
