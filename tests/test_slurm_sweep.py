"""tools/slurm_sweep.py: the sweep on Slurm through dask-jobqueue, against a real single-node Slurm.

The `slurm` fixture starts munged, slurmctld and slurmd on this machine (tests/slurm_cluster.py; root and
Debian's slurm-wlm and munge, which `make slurm` installs) and skips with one line where it cannot. The batch
script and the time arithmetic are checked everywhere. A tiny notebook stands in for S5.ipynb where jobs are
cancelled: it sleeps seed // 100 seconds and leaves a marker per execution naming its Slurm job.
"""

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue", reason="the optional slurm extra: pip install -e '.[slurm]'")
nbformat = pytest.importorskip("nbformat")

from slurm_cluster import SlurmUnavailable, start_slurm  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "slurm_sweep.py"
CPU_JOBS = ["--jobs", "2", "--gpus", "0", "--job-cpu", "1", "--memory", "2GB"]
TINY_BODY = """\
import json, os, pathlib, time
markers = os.environ.get("S5_TEST_MARKERS")
if markers:
    pathlib.Path(markers, f"seed{seed}-job{os.environ.get('SLURM_JOB_ID')}-{time.time():.3f}").touch()
time.sleep(seed // 100)
row = {"epoch": 1, "train_acc": 50.0, "test_acc": 90.0 + seed % 100 / 10, "train_loss": 1.0, "test_loss": 0.5,
       "seconds": 0.1}
print(f"[epoch 1/{epochs}] train {row['train_acc']:.2f}%, test {row['test_acc']:.2f}%, 0.1 s; done")
record = {"status": "completed", "config": {"seed": seed, "epochs": epochs}, "history": [row], "final": row,
          "wall_seconds": 0.1, "environment": {"device": "cpu", "torch_threads": 1}}
pathlib.Path(run_dir, "metrics.json").write_text(json.dumps(record))
"""


def write_tiny_notebook(path: Path) -> Path:
    params = "seed = 1\nepochs = 1\nmax_batches = None\nrun_dir = None"
    cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(TINY_BODY)]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel}), path)
    return path


def load_tool():
    spec = importlib.util.spec_from_file_location("slurm_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job_script(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--print-job-script", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_slurm_job_is_one_single_threaded_worker_offering_its_gpu():
    script = job_script("--job-cpu", "6", "--walltime", "00:30:00")
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH --cpus-per-task=6" in script
    assert "#SBATCH -t 00:30:00" in script
    worker = next(line for line in script.splitlines() if "--nthreads" in line)  # the worker command
    assert "--nthreads 1" in worker and "--resources GPU=1" in worker
    assert f"{sys.executable} -m distributed.cli.dask_worker" in worker  # this environment's interpreter
    # leaves after 30 min - 2 * 90 s - 60 s = 1560 s, give or take 90 s, before the walltime ends the job
    assert "--lifetime 1560s --lifetime-stagger 90s" in worker


def test_cpu_jobs_ask_for_no_gpu():
    script = job_script("--gpus", "0")
    assert "--gres" not in script and "--resources" not in script


def test_only_starts_that_get_a_run_no_further_count_against_max_starts():
    from s5utils.sweep.watch import starts_in_a_row, where

    assert starts_in_a_row([(0, 0), (0, 9), (0, 20), (1, 5)]) == 1  # each start began further on
    assert starts_in_a_row([(0, 0), (1, 5), (1, 5), (1, 5)]) == 3
    assert [where(c) for c in [(0, 0), (1, 0), (1, 5)]] == ["from scratch", "after epoch 1", "in epoch 2 after batch 5"]
    tool = load_tool()
    assert [tool.checkpoint_every(tool.lifetime(w)[0]) for w in (60, 600, 7200)] == [12, 120, 600]


def test_slurm_times_and_the_worker_lifetime_they_give():
    tool = load_tool()
    assert [tool.seconds(t) for t in ("30", "1:30", "00:01:00", "02:00:00", "1-0", "1-01:02:03")] == [
        1800,
        90,
        60,
        7200,
        86400,
        90123,
    ]
    assert tool.lifetime(60) == (48, 3)  # 45-51 s of a 1-minute job
    assert tool.lifetime(3600) == (3180, 180)  # 50-56 min of an hour
    assert tool.lifetime(7200) == (6540, 300)
    too_long = ["--walltime", "00:01:00", "--lifetime", "00:02:00"]
    done = subprocess.run([sys.executable, str(SCRIPT), *too_long], capture_output=True, text=True)
    assert done.returncode == 2 and "--lifetime: must be shorter than --walltime (60 s)" in done.stderr


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A real single-node Slurm for this module (its SLURM_CONF in env), stopped by its daemons' PIDs."""
    try:
        node = start_slurm(tmp_path_factory.mktemp("slurm"))
    except SlurmUnavailable as exc:
        pytest.skip(f"no Slurm here: {exc}")
    try:
        yield node
    finally:
        node.stop()


def env_for(slurm, **extra) -> dict:
    return {**os.environ, "SLURM_CONF": str(slurm.conf), **extra}


def jobs_since(slurm, first: int) -> dict[int, tuple[str, int]]:
    """Job id -> (state, seconds it ran) of the jobs numbered first and up, finished ones included."""
    jobs = {}
    for line in slurm.run("squeue", "-h", "-t", "all", "-o", "%i %T %M").splitlines():
        job, state, elapsed = line.split()
        parts = [int(p) for p in re.split("[-:]", elapsed)]
        if int(job) >= first:
            jobs[int(job)] = (state, sum(p * f for p, f in zip(reversed(parts), (1, 60, 3600, 86400), strict=False)))
    return jobs


def next_job_id(slurm) -> int:
    return max([0, *(int(j) for j in slurm.run("squeue", "-h", "-t", "all", "-o", "%i").split())]) + 1


def test_the_documented_slurm_command_runs_a_sweep_of_s5(slurm, mnist_root, tmp_path):
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *CPU_JOBS, "--walltime", "00:10:00", "--", "--seed", "1", "2"]
        + ["--epochs", "1", "--max-batches", "2", "--batch-size", "64", "--data-root", str(mnist_root)]
        + ["--out", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env_for(slurm),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Slurm: 2 job(s) at a time, walltime 00:10:00" in done.stdout
    assert "Sweep: 2 of 2 runs completed" in done.stdout, done.stdout
    manifests = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("runs/*-sweep/*/manifest.json"))]
    assert [m["status"] for m in manifests] == ["completed", "completed"]
    assert all(m["host"].split(".")[0] == slurm.node for m in manifests)
    assert list(tmp_path.glob("slurm-*.out")), "the workers ran as Slurm jobs (their output files)"
    print(f"2 S5 smoke runs on Slurm: {time.perf_counter() - start:.1f} s")


def test_a_sweep_outlives_its_jobs_and_a_scancel(slurm, tmp_path):
    """1-minute jobs, one scancel'ed mid-run: every run completes, the cancelled run counts 2 attempts."""
    notebook = write_tiny_notebook(tmp_path / "tiny.ipynb")
    markers = tmp_path / "markers"
    markers.mkdir()
    first_job = next_job_id(slurm)
    seeds = ["1001", "1002", "1003", "1004", "1005", "1006"]  # 10 s each: 30 s of work for each of 2 workers
    start = time.perf_counter()
    sweep = subprocess.Popen(
        [sys.executable, str(SCRIPT), *CPU_JOBS, "--walltime", "00:01:00", "--"]
        + ["--notebook", str(notebook), "--seed", *seeds, "--out", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env_for(slurm, S5_TEST_MARKERS=str(markers)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(markers.iterdir()) and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.2)
        first = min(markers.iterdir(), key=lambda p: float(p.name.split("-")[-1]), default=None)
        assert first is not None, "no run started within 120 s"
        seed, job = re.match(r"seed(\d+)-job(\d+)-", first.name).groups()
        time.sleep(2)  # mid-run: it sleeps 10 s
        slurm.run("scancel", job)
        output, _ = sweep.communicate(timeout=420)
    finally:
        if sweep.poll() is None:
            sweep.terminate()
            sweep.wait(30)
    seconds = time.perf_counter() - start
    assert sweep.returncode == 0, output
    assert "Sweep: 6 of 6 runs completed" in output, output
    manifests = {
        m["parameters"]["seed"]: m
        for m in (json.loads(p.read_text()) for p in tmp_path.glob("runs/*-sweep/*/manifest.json"))
    }
    assert sorted(manifests) == [int(s) for s in seeds]
    assert all(m["status"] == "completed" for m in manifests.values())
    assert manifests[int(seed)]["attempts"] >= 2, f"the run on cancelled job {job} was retried and counted"
    jobs = jobs_since(slurm, first_job)
    assert len(jobs) >= 3, f"the cancelled job was replaced: {jobs}"
    assert jobs[int(job)][0] == "CANCELLED"
    # A job may still reach its walltime (TIMEOUT) where its worker was slow to start (a loaded machine);
    # the sweep survives that too. None is left running.
    assert not [j for j, (state, _) in jobs.items() if state in ("RUNNING", "PENDING")], jobs
    attempts = sum(m["attempts"] for m in manifests.values())
    print(f"6 runs on 1-minute jobs, job {job} cancelled: {jobs}, {attempts} attempts, {seconds:.1f} s")


def test_a_partition_that_refuses_jobs_is_one_line_at_once(slurm, tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *CPU_JOBS, "--partition", "nosuch", "--", "--seed", "1"],
        cwd=tmp_path,
        env=env_for(slurm),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: Slurm refuses the job: sbatch: error: invalid partition specified: nosuch; "
        "allocation failure: Invalid partition name specified"
    ]


def test_a_queue_that_never_starts_a_job_is_one_line_within_the_timeout(slurm, tmp_path):
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *CPU_JOBS, "--partition", "down", "--queue-timeout", "3", "--", "--seed", "1"],
        cwd=tmp_path,
        env=env_for(slurm),
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: no Slurm job started a worker within 3 s (job ")
    assert "PENDING (PartitionDown)" in line
    assert not list(tmp_path.glob("runs")), "no sweep folder"
    assert not [j for j in jobs_since(slurm, 1).values() if j[0] == "PENDING"], "its jobs were cancelled"
    assert seconds < 30, f"{seconds:.1f} s from the worker's leaving to the sweep's stop"


def test_workers_that_leave_for_good_fail_the_run_then_stop_the_sweep(tmp_path, monkeypatch):
    """Without Slurm: the only worker of a LocalCluster retires mid-run, as a job that ends and is not replaced."""
    from distributed import Client, LocalCluster

    from s5utils.sweep import SweepError, sweep

    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("S5_TEST_MARKERS", str(markers))  # the worker processes inherit it
    notebook = write_tiny_notebook(tmp_path / "tiny.ipynb")
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:

        def retire_when_a_run_starts():
            deadline = time.monotonic() + 120
            while not list(markers.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.1)
            client.retire_workers(workers=list(client.scheduler_info()["workers"]))  # busy or not
            retired.append(time.monotonic())

        retired = []
        retire = threading.Thread(target=retire_when_a_run_starts)
        retire.start()
        with pytest.raises(SweepError, match=r"no Dask worker has been connected for 3 s while 1 run\(s\) remain"):
            sweep(
                {"seed": [1001, 1002]},
                {"epochs": 1},
                str(tmp_path / "runs"),
                notebook,
                client=client,
                worker_timeout=3,
                max_starts=1,
            )
        seconds = time.monotonic() - retired[0]
        retire.join()
    [manifest] = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*-sweep/*/manifest.json")]
    assert manifest["status"] == "failed" and manifest["attempts"] == 1
    assert manifest["error"].startswith(
        "its worker left mid-run 1 time(s) in a row from scratch, the limit (--max-starts 1)"
    )
    assert seconds < 30, f"{seconds:.1f} s from the worker's leaving to the sweep's stop"
