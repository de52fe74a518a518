"""S5.ipynb as a student runs it on Colab: the install cell installs s5utils, save_to_drive survives a disconnect.

Colab is not here, so the test builds what Colab gives a notebook:
- a fresh virtual environment whose only packages are Colab's preinstalls (torch, torchvision, numpy,
  matplotlib, tqdm, ipykernel, tensorboard with their dependencies, and ipywidgets). To stay fast and offline for
  the 4 GB of torch, those come from this checkout's .venv through one .pth file listing a folder of
  links to exactly those distributions; s5utils is not among them, nor anything else;
- google.colab imported before the first cell (a stand-in package and an IPython startup file), whose
  drive.mount(path) creates path/MyDrive; $S5UTILS_DRIVE_MOUNT puts the mount point under tmp_path;
- the notebook's install cell pointed at a git clone of this checkout's HEAD (git+file://) instead of GitHub.
papermill executes the notebook with that environment's kernel. A disconnect is a SIGKILL of papermill
and of the kernel after the first finished epoch.
"""

import importlib.metadata as metadata
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement

pytest.importorskip("papermill", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
COLAB_PREINSTALLS = ("torch", "torchvision", "numpy", "matplotlib", "tqdm", "ipykernel", "tensorboard")
NOT_SHARED = {"pip", "s5utils"}
SHORT = ["-p", "max_batches", "2", "-p", "batch_size", "64", "-p", "num_workers", "0"]
SMOKE = ["-p", "epochs", "2", *SHORT]
DRIVE_RUN = ["-p", "epochs", "3", *SHORT, "-p", "save_to_drive", "True"]

STANDIN_DRIVE = '''"""Stand-in for Colab's google.colab.drive: mount(path) makes path/MyDrive, only under
$COLAB_LIKE_ROOT."""
import os
from pathlib import Path


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    root = Path(os.environ["COLAB_LIKE_ROOT"]).resolve()
    path = Path(mountpoint).resolve()
    if root not in path.parents:
        raise ValueError(f"the stand-in mounts Drive only under {root}, not at {path}")
    (path / "MyDrive").mkdir(parents=True, exist_ok=True)
    print(f"Mounted at {mountpoint}")
'''


def closure(names) -> list[metadata.Distribution]:
    """The installed distributions names need, with every dependency (extras included), from this environment."""
    found, todo = {}, [(name, set()) for name in names]
    while todo:
        name, extras = todo.pop()
        key = name.lower().replace("_", "-")
        if (key, frozenset(extras)) in found or key in NOT_SHARED:
            continue
        dist = metadata.distribution(name)
        found[key, frozenset(extras)] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((requirement.name, set(requirement.extras)))
    return list({dist.name: dist for dist in found.values()}.values())


def share_preinstalls(folder: Path, site_packages: Path) -> None:
    """Link the preinstalled distributions' files into folder and put folder on the venv's sys.path."""
    folder.mkdir()
    for dist in closure(COLAB_PREINSTALLS):
        base = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or []}:
            if top not in ("..", "__pycache__") and not (folder / top).exists() and (base / top).exists():
                (folder / top).symlink_to(base / top)
    (site_packages / "colab_preinstalls.pth").write_text(f"{folder}\n")


def colab_like_kernel(tmp_path: Path, data_root: Path) -> tuple[Path, dict]:
    """A fresh venv with Colab's preinstalls and google.colab, registered as kernel colab-like: (python, env)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The venv's own pip is too old for git+file:// URLs, its setuptools too old for torch; Colab's are recent.
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True)
    share_preinstalls(tmp_path / "preinstalled", site_packages)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "ipywidgets"], check=True)
    colab = site_packages / "google" / "colab"
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text(
        '"""Stand-in for Google Colab\'s google.colab package."""\nfrom . import drive\n'
    )
    (colab / "drive.py").write_text(STANDIN_DRIVE)
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # Colab's kernel has it imported before any cell\n")
    spec = tmp_path / "jupyter" / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab-like",
                "language": "python",
                "env": {"IPYTHONDIR": str(tmp_path / "ipython")},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(
        JUPYTER_PATH=str(tmp_path / "jupyter"),
        COLAB_LIKE_ROOT=str(tmp_path),
        S5UTILS_DRIVE_MOUNT=str(tmp_path / "content" / "drive"),
        S5UTILS_DATA=str(data_root),
    )
    return python, env


def notebook_installing_from(tmp_path: Path) -> tuple[Path, Path, str]:
    """A git clone of HEAD, and its S5.ipynb with the install cell pointed at git+file://clone@commit."""
    clone = tmp_path / "kit"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, check=True, capture_output=True, text=True
    ).stdout.strip()
    text, count = re.subn(
        r"git\+https://github\.com/[^\"\\]+",
        f"git+file://{clone}@{commit}",
        (clone / "notebooks" / "S5.ipynb").read_text(),
    )
    assert count == 1, "S5.ipynb has one install line"
    notebook = tmp_path / "S5-colab.ipynb"
    notebook.write_text(text)
    return clone, notebook, commit


def papermill(notebook: Path, out: Path, args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    """Start papermill in a process group of its own, its output to out's .log beside it."""
    with open(out.with_suffix(".log"), "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "papermill",
                "--no-progress-bar",
                "-k",
                "colab-like",
                str(notebook),
                str(out),
                *args,
            ],
            env=env,
            cwd=cwd,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log = out.with_suffix(".log")
    return process


def finish(process: subprocess.Popen) -> str:
    """Wait for papermill; its log, which must end in success."""
    process.wait(timeout=900)
    log = process.log.read_text()
    assert process.returncode == 0, log[-4000:]
    return log


def children(pid: int) -> list[int]:
    """The processes whose parent is pid, read from /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def disconnect(process: subprocess.Popen) -> None:
    """SIGKILL papermill and its kernel (which runs in a session of its own), as a lost Colab runtime does."""
    kernels = children(process.pid)
    assert kernels, "papermill's kernel process was not found"
    for kernel in kernels:
        os.killpg(kernel, signal.SIGKILL)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def output_lines(notebook: Path) -> list[str]:
    """Every line of text the executed notebook's cells printed."""
    cells = json.loads(notebook.read_text())["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])).splitlines()


def epochs_done(folder: Path) -> int:
    try:
        return len(json.loads((folder / "metrics.json").read_text())["history"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find the kernel of the killed papermill")
def test_s5_notebook_installs_itself_and_survives_a_disconnect_as_on_colab(mnist_root, tmp_path):
    python, env = colab_like_kernel(tmp_path, mnist_root)
    clone, notebook, commit = notebook_installing_from(tmp_path)
    work = tmp_path / "content"  # the kernel's working directory, as /content on Colab
    work.mkdir()

    # 1. A plain run: the install cell installs s5utils into the venv, then the notebook trains and completes.
    site_packages = python.parents[1] / "lib"
    before = {p.name for p in site_packages.glob("python*/site-packages/*")}
    finish(papermill(notebook, tmp_path / "plain.ipynb", SMOKE, env, work))
    added = {p.name for p in site_packages.glob("python*/site-packages/*")} - before
    assert {name.split("-")[0] for name in added} == {"s5utils"}, f"the install added {sorted(added)}"
    (installed,) = [line for line in output_lines(tmp_path / "plain.ipynb") if "is installed in" in line]
    assert installed.endswith("no restart needed, whatever %pip's note says")
    assert Path(installed.split(" is installed in ")[1].split(";")[0]).is_relative_to(site_packages)
    where = subprocess.run(
        [str(python), "-c", "import s5utils, torch; print(s5utils.__file__); print(torch.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(site_packages) and not Path(where[0]).is_relative_to(ROOT), where[0]
    assert Path(where[1]).is_relative_to(tmp_path / "preinstalled"), "the install left Colab's torch alone"
    (dist_info,) = site_packages.glob("python*/site-packages/s5utils-*.dist-info")
    origin = json.loads((dist_info / "direct_url.json").read_text())
    assert origin["url"] == f"file://{clone}" and origin["vcs_info"]["commit_id"] == commit
    (plain,) = (work / "runs").iterdir()
    record = json.loads((plain / "metrics.json").read_text())
    assert record["status"] == "completed" and [row["epoch"] for row in record["history"]] == [1, 2]

    # 2. save_to_drive=True: the run folder is on the stand-in Drive; the runtime dies after the first epoch.
    drive_runs = tmp_path / "content" / "drive" / "MyDrive" / "s5utils" / "runs"
    running = papermill(notebook, tmp_path / "drive-1.ipynb", DRIVE_RUN, env, work)
    deadline = time.monotonic() + 600
    while not any(epochs_done(f) for f in drive_runs.glob("*")) and running.poll() is None:
        assert time.monotonic() < deadline, "no epoch finished on Drive within 10 minutes"
        time.sleep(0.05)
    assert running.poll() is None, running.log.read_text()[-4000:]
    disconnect(running)
    (folder,) = drive_runs.iterdir()
    killed_after = torch.load(folder / "checkpoint.pt", weights_only=True)["epoch"]  # may be one ahead of metrics.json
    assert 1 <= killed_after < 3

    # 3. Run all again with the same settings: the same run continues from its checkpoint and completes.
    out = finish(papermill(notebook, tmp_path / "drive-2.ipynb", DRIVE_RUN, env, work))
    assert [f.name for f in drive_runs.iterdir()] == [folder.name]
    record = json.loads((folder / "metrics.json").read_text())
    assert record["status"] == "completed" and [row["epoch"] for row in record["history"]] == [1, 2, 3]
    assert [r["after_epoch"] for r in record["resumed"]] == [killed_after]
    assert any(
        f"{folder}: continuing the unfinished run after epoch {killed_after}" in line
        for line in output_lines(tmp_path / "drive-2.ipynb")
    ), out[-2000:]

    # 4. Once more: the finished run is kept as it is, and this run gets a folder of its own.
    finished = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    finish(papermill(notebook, tmp_path / "drive-3.ipynb", DRIVE_RUN, env, work))
    assert sorted(f.name for f in drive_runs.iterdir()) == [folder.name, f"{folder.name}-2"]
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == finished
    assert any(
        f"{folder.name}-2 (a new run; {folder.name} is kept: finished)" in line
        for line in output_lines(tmp_path / "drive-3.ipynb")
    )
    # The killed and continued run is the uninterrupted one, bit for bit: the same numbers at every epoch.
    fresh = json.loads((drive_runs / f"{folder.name}-2" / "metrics.json").read_text())["history"]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in record["history"]] == [
        {k: v for k, v in row.items() if k != "seconds"} for row in fresh
    ]
