"""tools/slurm_sweep.py: the sweep on Slurm through dask-jobqueue. No Slurm here, so the batch script is checked."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue", reason="the optional slurm extra: pip install -e '.[slurm]'")

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "slurm_sweep.py"


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


def test_cpu_jobs_ask_for_no_gpu():
    script = job_script("--gpus", "0")
    assert "--gres" not in script and "--resources" not in script
