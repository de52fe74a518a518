"""Colab: badges and install cells in every notebook, make colab, Drive run folders that a re-run continues."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import torch
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import s5utils
from s5utils import ConfigError, TrainingState, make_config
from s5utils.notebooks.colab import after_install, open_settings_run, settings_name
from s5utils.notebooks.parameters import check_save_to_drive, config_from_globals, open_run
from s5utils.runs.records import RunRecorder
from s5utils.training.checkpoint import CHECKPOINT_NAME, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BADGE = re.compile(
    r"https://colab\.research\.google\.com/github/([^/\s()]+/[^/\s()]+)/blob/([^\s()]+?)/notebooks/([^\s()]+\.ipynb)"
)
INSTALL = re.compile(r'%pip install --quiet "s5utils @ git\+https://github\.com/([^/\s"]+/[^@\s"]+)@([^\s"]+)"')
# What a Colab runtime preinstalls, at the oldest versions we support there (torch 2.8 pairs with torchvision 0.23).
COLAB_OLDEST = {"torch": "2.8.0", "torchvision": "0.23.0", "numpy": "2.0.0", "matplotlib": "3.10.0", "tqdm": "4.67.0"}


def cell_text(notebook: Path, cell_type: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == cell_type]


def links(root: Path) -> tuple[list[tuple], list[tuple]]:
    """(badges, install lines) found in root's notebooks, README and docs as (repo, ref[, notebook]) tuples."""
    texts = [
        p.read_text() for p in [*sorted(root.glob("notebooks/*.ipynb")), root / "README.md", *root.glob("docs/*.md")]
    ]
    return (
        [m.groups() for t in texts for m in BADGE.finditer(t)],
        [m.groups() for t in texts for m in INSTALL.finditer(t.replace('\\"', '"'))],
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_has_a_colab_badge_and_an_install_cell_first(notebook):
    badges = [m.groups() for text in cell_text(notebook, "markdown") for m in BADGE.finditer(text)]
    assert badges and all(name == notebook.name for _, _, name in badges), "a badge that opens this very notebook"
    install = cell_text(notebook, "code")[0]
    assert 'if "google.colab" in sys.modules:' in install, "the first code cell installs only on Colab"
    assert INSTALL.search(install), "it installs s5utils pinned to a repository and ref"
    assert "after_install" in install
    assert "--upgrade" not in install and "torch" not in install.split("%pip", 1)[1].split("\n")[0]


def test_s5utils_dependencies_accept_what_colab_preinstalls():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SpecifierSet(project["requires-python"]).contains("3.12") and SpecifierSet(
        project["requires-python"]
    ).contains("3.13")
    for line in project["dependencies"]:
        requirement = Requirement(line)
        assert not any(spec.operator in ("<", "<=", "==", "~=", "===") for spec in requirement.specifier), (
            f"{line}: an upper pin would make pip replace Colab's own {requirement.name}"
        )
        if requirement.name in COLAB_OLDEST:
            assert requirement.specifier.contains(COLAB_OLDEST[requirement.name]), line


@pytest.fixture
def clone(tmp_path):
    """A git clone of this checkout's HEAD, the way an instructor's fork starts."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tmp_path / "kit")], check=True)
    return tmp_path / "kit"


def make_colab(clone: Path, *variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "colab", *variables, f"PYTHON={sys.executable}"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_colab_points_every_badge_and_install_line_at_the_repo_and_ref(clone):
    subprocess.run(["git", "tag", "v1"], cwd=clone, check=True)
    done = make_colab(clone, "REPO=acme/course", "REF=v1")
    assert done.returncode == 0, done.stderr
    assert "OWNER" not in (clone / "README.md").read_text()
    for notebook in clone.glob("notebooks/*.ipynb"):
        assert "OWNER" not in notebook.read_text(), notebook.name
        json.loads(notebook.read_text())  # still a notebook
    badges, installs = links(clone)
    assert len(badges) >= len(NOTEBOOKS) and len(installs) >= len(NOTEBOOKS)
    assert {(repo, ref) for repo, ref, _ in badges} == {("acme/course", "v1")}
    assert set(installs) == {("acme/course", "v1")}
    assert "fragile" not in done.stdout and "branch" not in done.stdout  # a tag is what it should be
    assert "every file already did" in make_colab(clone, "REPO=acme/course", "REF=v1").stdout  # idempotent


def test_a_link_inside_markdown_code_or_brackets_keeps_its_punctuation():
    sys.path.insert(0, str(ROOT / "tools"))
    from colab_links import rewrite_line

    line = '(`%pip install "s5utils @ git+https://github.com/a/b@main"`, [x](https://colab.research.google.com/github/a/b/blob/main/notebooks/S5.ipynb))'
    assert rewrite_line(line, "acme/course", "v1") == (
        '(`%pip install "s5utils @ git+https://github.com/acme/course@v1"`, '
        "[x](https://colab.research.google.com/github/acme/course/blob/v1/notebooks/S5.ipynb))"
    )


def test_make_colab_says_a_branch_moves_and_refuses_a_bad_repo_changing_nothing(clone):
    branch = make_colab(clone, "REPO=acme/course", "REF=main")
    assert branch.returncode == 0 and "main is a branch" in branch.stdout
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "links"], cwd=clone, check=True
    )
    for bad in ("REPO=acme", "REPO=https://github.com/acme/course", "REPO=acme/course/x"):
        done = make_colab(clone, bad, "REF=v1")
        assert done.returncode != 0
        assert done.stderr.splitlines()[0].startswith("REPO must be owner/name")
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""


def test_save_to_drive_is_refused_off_colab_with_one_line():
    assert "google.colab" not in sys.modules
    namespace = {"epochs": 1, "max_batches": 2, "run_dir": None, "save_to_drive": True}
    with pytest.raises(ConfigError) as info:
        config_from_globals(namespace)
    assert str(info.value).startswith("save_to_drive=True works only on Google Colab")
    assert "save_to_drive = False" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="save_to_drive must be True or False, got 'yes'"):
        check_save_to_drive("yes")
    assert config_from_globals(dict(namespace, save_to_drive=False)).epochs == 1


def test_open_run_without_drive_keeps_the_explicit_run_dir(tmp_path):
    assert open_run(make_config(), str(tmp_path / "given")) == (tmp_path / "given", None)


def test_the_folder_name_depends_on_the_settings_that_define_the_run_only():
    base = make_config(seed=3, lr=0.02)
    assert settings_name(base) == settings_name(
        make_config(seed=3, lr=0.02, epochs=40, device="cpu", num_workers=0, data_root="/elsewhere", out_dir="other")
    )
    assert settings_name(base) != settings_name(make_config(seed=4, lr=0.02))
    assert re.fullmatch(r"S5-seed-[0-9a-f]{8}", settings_name(base))


def fake_run(folder: Path, config, epochs_done: int, finished: bool) -> None:
    """A run folder as training leaves it: a real checkpoint and metrics.json after epochs_done epochs."""
    folder.mkdir(parents=True, exist_ok=True)
    model = torch.nn.Linear(2, 2)
    history = [
        {"epoch": e, "train_loss": 1.0, "test_loss": 1.0, "train_acc": 50.0, "test_acc": 50.0, "lr": 0.1}
        for e in range(1, epochs_done + 1)
    ]
    state = TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), [], [])
    state.history = history
    save_checkpoint(folder / CHECKPOINT_NAME, state, config.to_dict())
    recorder = RunRecorder(folder, config.to_dict(), torch.device("cpu"))
    recorder.epoch_end(history)
    if finished:
        recorder.finish("completed")


def test_same_settings_continue_an_unfinished_run_and_leave_a_finished_one(tmp_path, capsys):
    config = make_config(seed=2, epochs=3, max_batches=2)
    folder, resume_from = open_settings_run(tmp_path, config)
    assert folder == tmp_path / settings_name(config) and resume_from is None and folder.is_dir()

    fake_run(folder, config, epochs_done=1, finished=False)  # the runtime disconnected after epoch 1
    again = make_config(seed=2, epochs=3, max_batches=2, device="cpu")  # the device may differ after reconnecting
    assert open_settings_run(tmp_path, again) == (folder, folder / CHECKPOINT_NAME)
    assert "continuing the unfinished run after epoch 1" in capsys.readouterr().out

    fake_run(folder, config, epochs_done=3, finished=True)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())
    new_folder, resume_from = open_settings_run(tmp_path, config)
    assert new_folder == tmp_path / f"{settings_name(config)}-2" and resume_from is None
    assert f"(a new run; {folder.name} is kept: finished)" in capsys.readouterr().out
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()) == before, "the finished run is untouched"


def test_other_settings_never_resume_a_run_even_in_a_folder_of_the_same_name(tmp_path, capsys):
    config = make_config(seed=2, epochs=3)
    other = make_config(seed=9, epochs=3)
    folder = tmp_path / settings_name(config)
    fake_run(folder, other, epochs_done=1, finished=False)  # a folder renamed by hand, or a hash collision
    new_folder, resume_from = open_settings_run(tmp_path, config)
    assert (new_folder, resume_from) == (tmp_path / f"{settings_name(config)}-2", None)
    assert f"{folder.name} is kept: other settings" in capsys.readouterr().out
    assert (folder / CHECKPOINT_NAME).is_file()


def test_an_explicit_run_dir_continues_only_an_unfinished_run_of_the_same_settings(tmp_path, capsys):
    config = make_config(seed=2, epochs=3)
    fake_run(tmp_path / "retried", config, epochs_done=1, finished=False)  # a sweep's run whose worker left
    assert open_run(config, str(tmp_path / "retried")) == (tmp_path / "retried", tmp_path / "retried" / CHECKPOINT_NAME)
    assert "continuing the unfinished run after epoch 1 of its checkpoint" in capsys.readouterr().out
    fake_run(tmp_path / "other", make_config(seed=9, epochs=3), epochs_done=1, finished=False)
    assert open_run(config, str(tmp_path / "other")) == (tmp_path / "other", None)  # RunFolder then refuses it
    fake_run(tmp_path / "finished", config, epochs_done=3, finished=True)
    torch.save({}, tmp_path / "finished" / "model.pt")
    assert open_run(config, str(tmp_path / "finished")) == (tmp_path / "finished", None)
    assert capsys.readouterr().out == ""


def test_a_run_that_never_finished_an_epoch_starts_over_in_its_folder(tmp_path):
    config = make_config(seed=2, epochs=3)
    folder = tmp_path / settings_name(config)
    folder.mkdir()
    RunRecorder(folder, config.to_dict(), torch.device("cpu"))  # metrics.json with no epoch, no checkpoint
    assert open_settings_run(tmp_path, config) == (folder, None)
    assert not (folder / "metrics.json").exists()


def test_the_install_cell_says_where_s5utils_is_or_to_restart_when_an_imported_package_changed(capsys):
    from importlib.metadata import distributions

    now = {d.name: d.version for d in distributions()}
    assert after_install(now) is False
    assert (
        capsys.readouterr().out
        == f"s5utils {s5utils.__version__} is installed in {ROOT}; no restart needed, whatever %pip's note says\n"
    )
    assert "numpy" in sys.modules
    assert after_install(dict(now, numpy="1.0.0")) is True
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "numpy" in out and "Runtime > Restart session" in out
