"""Sweeps on a Dask cluster the test starts itself (`dask scheduler` + two `dask worker` processes on 127.0.0.1):
--scheduler, a notebook's own error, a kernel that fails to start, a worker killed mid-run, resume, no scheduler.

A tiny notebook stands in for S5.ipynb: it writes metrics.json at once, sleeps seed // 100 seconds first, and
fails for seeds ending in 13. It leaves a marker per execution (named by seed, holding its worker's pid) in
$S5_TEST_MARKERS, which is how the test finds the worker process to kill.
"""

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the sweep runs on Dask: pip install -e '.[test]'")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"
TINY_BODY = """\
import json, os, pathlib, time
markers = os.environ.get("S5_TEST_MARKERS")
if markers:
    pathlib.Path(markers, f"seed{seed}-pid{os.getpid()}").write_text(str(os.getppid()))
time.sleep(seed // 100)
if seed % 100 == 13:
    raise ValueError(f"seed {seed} is unlucky")
row = {"epoch": 1, "train_acc": 50.0 + seed % 100, "test_acc": 90.0 + seed % 100 / 10, "train_loss": 1.0,
       "test_loss": 0.5, "seconds": 0.1}
print(f"[epoch 1/{epochs}] train {row['train_acc']:.2f}%, test {row['test_acc']:.2f}%, 0.1 s; done")
environment = {"device": "cpu", "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "0"))}
record = {"status": "completed", "config": {"seed": seed, "epochs": epochs}, "history": [row], "final": row,
          "wall_seconds": 0.1, "environment": environment}
pathlib.Path(run_dir, "metrics.json").write_text(json.dumps(record))
"""
# Two epochs of a linear model on 64 random images through the kit's own resume path: s5utils.open_run continues
# an unfinished run in run_dir, RunFolder checkpoints after each epoch. After each epoch it leaves a marker
# (seed, epoch, kernel pid; holding its worker's pid), then sleeps seed // 100 seconds.
RESUMABLE_BODY = """\
import os, pathlib, time
import torch
import s5utils
config = s5utils.make_config(seed=seed, epochs=epochs, device="cpu")
run_path, resume_from = s5utils.open_run(config, run_dir)
s5utils.set_seed(seed)
images, labels = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
batches = [(images[i : i + 16], labels[i : i + 16]) for i in range(0, 64, 16)]
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
state = s5utils.TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, batches, "cpu")
if resume_from is not None:
    state.restore(resume_from)

def marker(state):
    name = f"seed{seed}-epoch{state.epoch}-pid{os.getpid()}"
    pathlib.Path(os.environ["S5_TEST_MARKERS"], name).write_text(str(os.getppid()))
    time.sleep(seed // 100)

with s5utils.RunFolder(run_path, config, resume=resume_from is not None) as run:
    s5utils.fit(state, epochs, callbacks=[run, s5utils.EpochProgress(epochs), marker], progress=False)
"""
# The same run on the tensor path with a checkpoint after every optimizer step (checkpoint_seconds): a marker per
# step (seed, step, kernel pid; holding its worker's pid) after the checkpoint, then seed // 100 seconds of sleep.
INSIDE_EPOCH_BODY = """\
import os, pathlib, time
import torch
import s5utils
from s5utils.data.tensor_loader import TensorLoader
config = s5utils.make_config(seed=seed, epochs=epochs, device="cpu", checkpoint_seconds=0.001)
run_path, resume_from = s5utils.open_run(config, run_dir)
s5utils.set_seed(seed)
data = torch.Generator().manual_seed(0)
images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=data)
labels = torch.randint(0, 10, (64,), generator=data)
train = TensorLoader(images, labels, 16, train=True, generator=torch.Generator().manual_seed(seed))
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
state = s5utils.TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), train,
                              TensorLoader(images, labels, 16, train=False), "cpu")
if resume_from is not None:
    state.restore(resume_from)

class Marker:
    def checkpoint_if_due(self, state):
        name = f"seed{seed}-step{state.step}-pid{os.getpid()}"
        pathlib.Path(os.environ["S5_TEST_MARKERS"], name).write_text(str(os.getppid()))
        time.sleep(seed // 100)

    def __call__(self, state):
        pass

with s5utils.RunFolder(run_path, config, resume=resume_from is not None) as run:
    s5utils.fit(state, epochs, callbacks=[run, s5utils.EpochProgress(epochs), Marker()], progress=False)
"""
# A kernel that dies before answering the first time it is started (as a ZMQ port clash or a start timeout
# would leave it), and starts normally after that.
FLAKY_KERNEL = """\
import os, sys
flag = os.path.join(os.path.dirname(os.path.abspath(__file__)), "failed-once")
if not os.path.exists(flag):
    open(flag, "w").close()
    sys.exit(1)
from ipykernel import kernelapp
kernelapp.launch_new_instance(argv=["-f", sys.argv[1]])
"""


def write_tiny_notebook(path: Path, body: str = TINY_BODY) -> Path:
    params = nbformat.v4.new_code_cell(
        "seed = 1\nepochs = 1\nmax_batches = None\nrun_dir = None", metadata={"tags": ["parameters"]}
    )
    nb = nbformat.v4.new_notebook(
        cells=[params, nbformat.v4.new_code_cell(body)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def write_flaky_kernel(jupyter_path: Path) -> None:
    folder = jupyter_path / "kernels" / "flaky"
    folder.mkdir(parents=True)
    (folder / "launch.py").write_text(FLAKY_KERNEL)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, str(folder / "launch.py"), "{connection_file}"],
                "display_name": "flaky",
                "language": "python",
            }
        )
    )


@contextmanager
def dask_cluster(base: Path, env: dict, workers: int = 2) -> Iterator[str]:
    """`dask scheduler` and `workers` one-thread `dask worker` processes on 127.0.0.1; yields the address."""
    from distributed import Client

    scheduler_file = base / "scheduler.json"
    processes = [
        subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            env=env,
            cwd=base,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(600):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(workers):
            processes.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{n + 1}",
                    ],
                    env=env,
                    cwd=base,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler (allowed-failures 1: a run survives one death of its worker) and two one-thread workers."""
    base = tmp_path_factory.mktemp("dask")
    (base / "markers").mkdir()
    write_flaky_kernel(base / "jupyter")
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        S5_TEST_MARKERS=str(base / "markers"),
        JUPYTER_PATH=str(base / "jupyter"),
        DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1",
        DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0",
    )  # as docs/sweeps.md advises
    with dask_cluster(base, env) as address:
        yield {"address": address, "markers": base / "markers", "notebook": write_tiny_notebook(base / "tiny.ipynb")}


def sweep_command(cluster, tmp_path, *flags, scheduler=True) -> list[str]:
    return [
        sys.executable,
        "-m",
        "s5utils",
        "sweep",
        "--notebook",
        str(cluster["notebook"]),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "runs"),
        *(["--scheduler", cluster["address"]] if scheduler else []),
        *flags,
    ]


def manifests(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(folder.glob("*/manifest.json"))}


def the_sweep_folder(tmp_path: Path) -> Path:
    (folder,) = (tmp_path / "runs").iterdir()
    return folder


def test_a_sweep_runs_on_a_running_scheduler_with_one_line_per_epoch(cluster, tmp_path):
    done = subprocess.run(
        sweep_command(cluster, tmp_path, "--seed", "11", "12"),
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert f"on the Dask cluster at {cluster['address']}" in done.stdout
    assert "01-seed11: [epoch 1/1] train 61.00%, test 91.10%, 0.1 s; done" in done.stdout
    folder = the_sweep_folder(tmp_path)
    found = manifests(folder)
    assert sorted(found) == ["01-seed11", "02-seed12"]
    for name, manifest in found.items():
        assert manifest["status"] == "completed" and manifest["worker"].startswith("tcp://127.0.0.1:")
        # No --torch-threads on a cluster: the worker's cores // its one thread, as the kernel saw it.
        assert manifest["torch_threads"] == manifest["torch_threads_requested"] == os.cpu_count()
        assert (
            manifest["kernel"]["python"] == f"{sys.version_info.major}.{sys.version_info.minor}."
            f"{sys.version_info.micro}"
        )
        assert {p.name for p in (folder / name).iterdir()} == {"tiny.ipynb", "metrics.json", "manifest.json"}
    assert len({m["run_id"] for m in found.values()}) == 2


def test_a_notebook_that_raises_is_failed_with_its_error_line_and_not_retried(cluster, tmp_path):
    from distributed import Client

    from s5utils.sweep import sweep

    with Client(cluster["address"], timeout=30) as client:  # the Python entry point, with a Client of one's own
        folder, rows = sweep(
            {"seed": [13, 14]}, {"epochs": 1}, str(tmp_path / "runs"), cluster["notebook"], client=client
        )
    assert [(r["run"], r["status"], r["error"]) for r in rows] == [
        ("01-seed13", "failed", "ValueError: seed 13 is unlucky"),
        ("02-seed14", "completed", None),
    ]
    failed = manifests(folder)["01-seed13"]
    assert (failed["attempts"], failed["kernel_start_tries"]) == (1, 1)
    assert "seed 13 is unlucky" in (folder / "01-seed13" / "tiny.ipynb").read_text()  # the traceback is kept


def test_a_kernel_that_fails_to_start_is_retried(cluster, tmp_path):
    done = subprocess.run(
        sweep_command(cluster, tmp_path, "--seed", "31", "--kernel", "flaky"),
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "01: kernel did not start (RuntimeError: Kernel died before replying to kernel_info" in done.stdout
    manifest = manifests(the_sweep_folder(tmp_path))["01"]  # one seed: nothing varies, the name is the index
    assert (manifest["status"], manifest["kernel_start_tries"], manifest["attempts"]) == ("completed", 2, 1)


def test_a_worker_killed_mid_run_retries_the_run_elsewhere_then_fails_it_with_the_reason(cluster, tmp_path):
    # seed 301 kills its worker every time it starts (so twice: the limit), 302 only the first time, 303 never.
    sweep_run = subprocess.Popen(
        sweep_command(cluster, tmp_path, "--seed", "301", "302", "303"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    killed, deadline = set(), time.monotonic() + 240
    while sweep_run.poll() is None and time.monotonic() < deadline:
        for marker in cluster["markers"].glob("seed30[12]-*"):
            if marker.name in killed or not marker.read_text():
                continue
            if marker.name.startswith("seed301") or not any(k.startswith("seed302") for k in killed):
                os.kill(int(marker.read_text()), signal.SIGKILL)  # the worker process running that kernel
                killed.add(marker.name)
        time.sleep(0.2)
    out, err = sweep_run.communicate(timeout=60)
    assert sweep_run.returncode == 1, out + err[-3000:]
    folder = the_sweep_folder(tmp_path)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "01-seed301",
        "02-seed302",
        "03-seed303",
        "notebooks",
    ]  # none missing, none twice
    found = manifests(folder)
    assert found["01-seed301"]["status"] == "failed" and found["01-seed301"]["attempts"] == 2
    assert found["01-seed301"]["error"].startswith(
        "KilledWorker: 2 workers died while it was assigned to them (it started 2 time(s); last tcp://127.0.0.1:"
    )
    assert (found["02-seed302"]["status"], found["02-seed302"]["attempts"]) == ("completed", 2)
    assert (found["03-seed303"]["status"], found["03-seed303"]["attempts"]) == ("completed", 1)
    assert sum(k.startswith("seed301") for k in killed) == 2 and sum(k.startswith("seed302") for k in killed) == 1


def sweep_with_one_kill(cluster, tmp_path, capsys, body: str, seed: int, marker: str):
    """One run of a notebook of body (seed, 2 epochs) on the cluster; the worker process whose kernel leaves the first
    marker matching `marker` is SIGKILLed. (sweep folder, rows, what it printed, the marker that got a kill)."""
    from distributed import Client

    from s5utils.sweep import sweep

    def kill_at_marker():  # the marker holds the pid of the worker process running its kernel
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for found in cluster["markers"].glob(marker):
                if found.read_text():
                    os.kill(int(found.read_text()), signal.SIGKILL)
                    killed.append(found.name)
            time.sleep(0.1)

    killed = []
    notebook = write_tiny_notebook(tmp_path / "resumable.ipynb", body)
    killer = threading.Thread(target=kill_at_marker)
    killer.start()
    with Client(cluster["address"], timeout=30) as client:
        folder, rows = sweep({"seed": [seed]}, {"epochs": 2}, str(tmp_path / "runs"), notebook, client=client)
    killer.join()
    return folder, rows, capsys.readouterr().out, killed


def completed_in_two_attempts(folder, rows, killed: list, name: str) -> dict:
    """Check that the run was killed once and completed its 2 epochs in its second attempt; its manifest."""
    assert killed, "the marker that triggers the kill never appeared"
    assert [(row["status"], row["attempts"]) for row in rows] == [("completed", 2)]
    record = json.loads((folder / name / "metrics.json").read_text())
    assert [row["epoch"] for row in record["history"]] == [1, 2] and record["status"] == "completed"
    return manifests(folder)[name]


def test_a_run_whose_worker_is_killed_after_epoch_1_continues_from_its_checkpoint(cluster, tmp_path, capsys):
    # seed 201: 2 s after each epoch
    body, marker = RESUMABLE_BODY, "seed201-epoch1-*"
    folder, rows, out, killed = sweep_with_one_kill(cluster, tmp_path, capsys, body, 201, marker)
    manifest = completed_in_two_attempts(folder, rows, killed, "01-seed201")
    assert [resumed["after_epoch"] for resumed in manifest["resumed"]] == [1]
    assert "01-seed201: retried with the checkpoint an earlier attempt wrote after epoch 1" in out
    assert f"; 2 attempt(s), worker {manifest['worker']}, resumed after epoch 1" in out
    # Epoch 1 ran once, in the killed worker's kernel; epoch 2 in another kernel.
    kernels = {m.name.split("-")[1]: m.name.split("-")[2] for m in cluster["markers"].glob("seed201-epoch*")}
    assert sorted(kernels) == ["epoch1", "epoch2"] and kernels["epoch1"] != kernels["epoch2"]
    assert {"model.pt", "checkpoint.pt"} <= {p.name for p in (folder / "01-seed201").iterdir()}
    assert not list(folder.glob(".*"))  # the attempts' folders are gone once the run's folder is written


def test_a_run_whose_worker_is_killed_inside_an_epoch_continues_from_its_next_batch(cluster, tmp_path, capsys):
    # seed 202: 2 s after each step; killed after the checkpoint of step 2 of 4 in epoch 1
    body, marker = INSIDE_EPOCH_BODY, "seed202-step2-*"
    folder, rows, out, killed = sweep_with_one_kill(cluster, tmp_path, capsys, body, 202, marker)
    manifest = completed_in_two_attempts(folder, rows, killed, "01-seed202")
    assert [(r["after_epoch"], r["then_batches"]) for r in manifest["resumed"]] == [(0, 2)]
    assert "01-seed202: retried with the checkpoint an earlier attempt wrote in epoch 1 after batch 2" in out
    # Steps 1 and 2 ran once, in the killed worker's kernel; steps 3 to 8 in another kernel.
    kernels = {}
    for marker in cluster["markers"].glob("seed202-step*"):
        kernels.setdefault(marker.name.split("-")[2], []).append(int(marker.name.split("-")[1][4:]))
    assert sorted(sorted(steps) for steps in kernels.values()) == [[1, 2], [3, 4, 5, 6, 7, 8]]


def test_resume_runs_only_the_runs_a_killed_sweep_did_not_finish(cluster, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_SCHEDULER_ADDRESS=cluster["address"])
    first = subprocess.Popen(
        sweep_command(cluster, tmp_path, "--seed", "221", "222", "223", "224", "--torch-threads", "1", scheduler=False),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/0?-seed*/manifest.json")):
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)  # the submitter dies with runs still to do
    first.wait(timeout=30)
    folder = the_sweep_folder(tmp_path)
    before = manifests(folder)
    assert 1 <= len(before) < 4
    done = subprocess.run(
        [sys.executable, "-m", "s5utils", "sweep", "--resume", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert f"{4 - len(before)} of 4 runs to do" in done.stdout
    after = manifests(folder)
    assert sorted(after) == ["01-seed221", "02-seed222", "03-seed223", "04-seed224"]
    assert all(after[name] == manifest for name, manifest in before.items())  # finished runs were not redone
    assert {m["torch_threads"] for m in after.values()} == {1}  # the sweep's thread count, resumed
    assert not list(folder.glob(".*"))  # no half-written folder left
    assert "| 04-seed224 | 224 | completed |" in (folder / "results.md").read_text()


def test_a_scheduler_that_does_not_answer_is_one_line_within_seconds(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "sweep",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
            "--seed",
            "1",
            "2",
            "--out",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 1 and time.monotonic() - start < 30
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: no Dask scheduler answered at tcp://127.0.0.1:{port} within 5 s")
    assert not (tmp_path / "runs").exists()


def test_a_worker_with_other_versions_is_refused_in_one_line_naming_them(tmp_path):
    other = tmp_path / "other"  # the worker sees s5utils 9.9.9 installed
    (other / "s5utils-9.9.9.dist-info").mkdir(parents=True)
    metadata = "Metadata-Version: 2.1\nName: s5utils\nVersion: 9.9.9\n"
    (other / "s5utils-9.9.9.dist-info" / "METADATA").write_text(metadata)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(other), str(ROOT)]))
    with dask_cluster(tmp_path, env, workers=1) as address:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "s5utils",
                "sweep",
                "--scheduler",
                address,
                "--seed",
                "1",
                "2",
                "--out",
                str(tmp_path / "runs"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: workers differ from this machine: s5utils 9.9.9 on tcp://127.0.0.1:")
    assert line.endswith(f"(here {importlib.metadata.version('s5utils')}): install the same versions on every worker")
    assert not (tmp_path / "runs").exists()


def test_a_gpu_sweep_on_workers_without_gpus_is_refused_before_any_run(cluster, tmp_path):
    done = subprocess.run(
        sweep_command(cluster, tmp_path, "--seed", "41", "42", "--gpus-per-run", "1"),
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no worker offers 1 GPU(s): start each worker with "
        "`CUDA_VISIBLE_DEVICES=N dask worker ADDRESS --nthreads 1 --resources GPU=1`"
    ]
    assert not (tmp_path / "runs").exists() and not list(cluster["markers"].glob("seed4[12]-*"))


def test_a_folder_of_notebooks_is_crossed_with_the_grid_and_repeats_are_separate_runs(cluster, tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for student in ("ada", "bob"):  # two submissions: the same cells, different content (a comment)
        notebook = nbformat.read(write_tiny_notebook(submissions / f"{student}.ipynb"), as_version=4)
        notebook.cells[1].source = f"# {student}\n" + notebook.cells[1].source
        nbformat.write(notebook, submissions / f"{student}.ipynb")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "sweep",
            "--scheduler",
            cluster["address"],
            "--notebook",
            str(submissions),
            "--seed",
            "51",
            "52",
            "--repeats",
            "2",
            "--out",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    folder = the_sweep_folder(tmp_path)
    found = manifests(folder)
    assert sorted(found) == [
        "01-ada-seed51-r1",
        "02-ada-seed51-r2",
        "03-ada-seed52-r1",
        "04-ada-seed52-r2",
        "05-bob-seed51-r1",
        "06-bob-seed51-r2",
        "07-bob-seed52-r1",
        "08-bob-seed52-r2",
    ]
    assert len({m["run_id"] for m in found.values()}) == 8 and len({m["notebook_sha256"] for m in found.values()}) == 2
    assert (folder / "05-bob-seed51-r1" / "bob.ipynb").is_file()
    table = (folder / "results.md").read_text()
    assert "| run | notebook | seed | status |" in table
    assert "| notebook=ada.ipynb | 51, 52 | 2 |" in table  # a repeat of a seed is run, but counted once
