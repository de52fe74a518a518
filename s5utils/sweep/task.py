"""One sweep run as a Dask task: execute a notebook in a folder of its own and return its files as bytes.

The worker needs no filesystem shared with the submitter: the notebook travels as bytes, and the executed
notebook, metrics.json, plot and a manifest travel back. Where the worker sees the sweep folder (this
machine, or a shared filesystem), each attempt at a run writes in a hidden folder there as it goes
(.NAME.attempt-XXXX); a later attempt starts from a copy of the furthest checkpoint.pt an earlier one left, so
a notebook that continues an unfinished run in its run_dir (S5.ipynb, through s5utils.open_run) resumes
instead of starting over. Elsewhere the run goes in a temporary folder, and a retry starts from scratch.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from s5utils.notebooks.execute import execute_notebook
from s5utils.sweep.cluster import threads_per_run
from s5utils.sweep.watch import where
from s5utils.training.checkpoint import CHECKPOINT_NAME, checkpoint_progress

EVENT_TOPIC = "s5utils-sweep"
# A kernel that never got going (papermill's ZMQ port race, a slow start under load) is worth another try;
# a notebook's own exception is not.
KERNEL_START_FAILURES = ("Address already in use", "Kernel didn't respond", "Kernel died before replying")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # torch sizes its CPU thread pool from these
PROBE = (
    "import importlib.metadata as m, json, platform\n"
    "def v(name):\n"
    "    try:\n        return m.version(name)\n"
    "    except m.PackageNotFoundError:\n        return None\n"
    "print(json.dumps({'python': platform.python_version(), "
    "**{n: v(n) for n in ('torch', 'torchvision', 'numpy', 's5utils', 'papermill')}}))"
)


def now() -> str:
    """UTC time, to the second, as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def emit(kind: str, run_id: str, **fields) -> None:
    """Send one event to the submitter through Dask's event log; a no-op outside a Dask worker."""
    try:
        from distributed import get_worker

        get_worker().log_event(EVENT_TOPIC, {"kind": kind, "run_id": run_id, **fields})
    except ValueError:  # not running on a worker (called directly): nobody to tell
        pass


def error_line(exc: BaseException) -> str:
    """The last line of a notebook's error (papermill's ename: evalue) or of any other exception."""
    text = f"{exc.ename}: {exc.evalue}" if hasattr(exc, "ename") else f"{type(exc).__name__}: {exc}"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def is_kernel_start_failure(exc: BaseException) -> bool:
    """Whether exc says the kernel never started (retry), as opposed to the notebook failing (do not)."""
    if hasattr(exc, "ename"):  # PapermillExecutionError: a cell raised
        return False
    return isinstance(exc, TimeoutError) or any(text in str(exc) for text in KERNEL_START_FAILURES)


def kernel_versions(kernel_name: str | None) -> dict:
    """Python and library versions as the kernel's own interpreter sees them (it may differ from the worker's)."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        python = KernelSpecManager().get_kernel_spec(kernel_name or "python3").argv[0]
        if python in ("python", "python3"):
            import sys

            python = sys.executable
        done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60)
        return json.loads(done.stdout)
    except Exception as exc:  # the manifest says why instead of failing a finished run
        return {"error": error_line(exc)}


def notebook_kernel(notebook_bytes: bytes) -> str | None:
    """The kernel a notebook names in its metadata (what papermill starts when no kernel is given)."""
    try:
        return json.loads(notebook_bytes)["metadata"]["kernelspec"]["name"]
    except (ValueError, KeyError, TypeError):
        return None


def worker_identity(gpu_slots: int) -> dict:
    """Host, worker address and the GPUs this run may use; with gpu_slots, a local worker N takes GPUs N*k..N*k+k-1."""
    identity = {"host": socket.gethostname(), "worker": None}
    try:
        from distributed import get_worker

        worker = get_worker()
        identity["worker"] = worker.address
        if gpu_slots and "CUDA_VISIBLE_DEVICES" not in os.environ and isinstance(worker.name, int):
            first = worker.name * gpu_slots
            identity["assign_gpus"] = ",".join(str(i) for i in range(first, first + gpu_slots))
    except ValueError:
        pass
    return identity


def attempt_folders(sweep_dir: str | os.PathLike, name: str) -> list[Path]:
    """The folders that attempts at run `name` left in the sweep folder."""
    return sorted(Path(sweep_dir).glob(f".{name}.attempt-*"))


def new_attempt(sweep_dir: str | os.PathLike | None, name: str) -> Path | None:
    """A new folder for this attempt in the sweep folder; None where this worker cannot see or write it."""
    if not sweep_dir or not Path(sweep_dir).is_dir():
        return None
    try:
        return Path(tempfile.mkdtemp(dir=sweep_dir, prefix=f".{name}.attempt-"))
    except OSError:
        return None


def carry_over(attempt: Path, name: str) -> tuple[int, int] | None:
    """Copy the run folder of the earlier attempt that got furthest (its checkpoint's epoch, then batches into the
    next) into attempt, less its model.pt and executed notebook; returns that progress, None when no earlier
    attempt left a readable checkpoint."""
    furthest, progress = None, (0, 0)
    for folder in attempt_folders(attempt.parent, name):
        if folder == attempt:
            continue
        if (saved := checkpoint_progress(folder / CHECKPOINT_NAME)) > progress:
            furthest, progress = folder, saved
    if furthest is None:
        return None
    # Without model.pt the run counts as unfinished, so a run killed after its last epoch is finished again;
    # ".*" leaves out temporary files of atomic writes still under way.
    leave_out = shutil.ignore_patterns("model.pt", "*.ipynb", ".*")
    try:
        shutil.copytree(furthest, attempt, ignore=leave_out, dirs_exist_ok=True)
    except OSError:  # the earlier attempt's files changed under the copy: this attempt starts from scratch
        shutil.rmtree(attempt)
        attempt.mkdir()
        return None
    return progress


def run_notebook_task(
    run: dict,
    notebook_bytes: bytes,
    torch_threads: int | None = None,
    kernel_name: str | None = None,
    start_attempts: int = 3,
    backoff_seconds: float = 2.0,
    gpu_slots: int = 0,
    sweep_dir: str | None = None,
) -> dict:
    """Execute run["notebook"] with run["parameters"] in a folder of its own; returns {status, error, manifest, files}.

    Never raises for a failed notebook: a failure is a result. Kernel start failures are retried with
    back-off (start_attempts in all); torch_threads (None: this machine's cores // this worker's threads)
    reaches torch through OMP_NUM_THREADS in the kernel's environment. With sweep_dir (the sweep folder, if
    this worker sees it) the run folder is an attempt folder there, given the furthest earlier checkpoint.
    """
    identity = worker_identity(gpu_slots)
    if torch_threads is None:
        try:
            from distributed import get_worker

            torch_threads = threads_per_run(get_worker().state.nthreads)
        except ValueError:
            torch_threads = threads_per_run(1)
    started, start_clock = now(), time.perf_counter()
    status, error, files, tries = "failed", None, {}, 0
    saved_env = {name: os.environ.get(name) for name in (*THREAD_VARIABLES, "CUDA_VISIBLE_DEVICES")}
    with tempfile.TemporaryDirectory(prefix=f"s5sweep-{run['run_id']}-") as tmp:
        source, run_dir = Path(tmp) / run["notebook"], new_attempt(sweep_dir, run["name"])
        source.write_bytes(notebook_bytes)
        progress = None
        if run_dir is None:
            run_dir = Path(tmp) / "run"
            run_dir.mkdir()
        else:
            progress = carry_over(run_dir, run["name"])
        # where this start begins: the submitter fails a run whose starts stop getting further (--max-starts)
        emit("start", run["run_id"], worker=identity["worker"], checkpoint=list(progress or (0, 0)))
        if progress is not None:
            emit(
                "progress",
                run["run_id"],
                line=f"retried with the checkpoint an earlier attempt wrote {where(progress)}",
            )
        # The kernel inherits this process's environment; Dask workers run one task each (threads=1).
        os.environ.update({name: str(torch_threads) for name in THREAD_VARIABLES})
        if identity.get("assign_gpus"):
            os.environ["CUDA_VISIBLE_DEVICES"] = identity["assign_gpus"]
        try:
            for tries in range(1, start_attempts + 1):
                try:
                    # papermill's cwd is process-wide: fine here, where a worker runs one task at a time.
                    execute_notebook(
                        source,
                        run_dir / run["notebook"],
                        {**run["parameters"], "run_dir": str(run_dir)},
                        kernel_name=kernel_name,
                        cwd=run_dir,
                        on_progress=lambda line: emit("progress", run["run_id"], line=line),
                    )
                    status, error = "completed", None
                    break
                except Exception as exc:
                    error = error_line(exc)
                    if not is_kernel_start_failure(exc) or tries == start_attempts:
                        break
                    emit("progress", run["run_id"], line=f"kernel did not start ({error}); retrying")
                    time.sleep(backoff_seconds * 2 ** (tries - 1))
        finally:
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        files = {
            path.relative_to(run_dir).as_posix(): path.read_bytes()
            for path in sorted(run_dir.rglob("*"))
            if path.is_file()
        }
    record = json.loads(files["metrics.json"]) if "metrics.json" in files else {}
    if status == "completed":
        status = record.get("status", "completed") if record else "failed"
        error = record.get("error") if record else "the notebook finished without writing metrics.json"
    environment = record.get("environment", {})
    manifest = {
        **{k: run[k] for k in ("run_id", "name", "notebook", "notebook_sha256", "parameters", "repeat")},
        "status": status,
        "error": error,
        "started_at": started,
        "finished_at": now(),
        "seconds": round(time.perf_counter() - start_clock, 3),
        "kernel_start_tries": tries,
        "host": identity["host"],
        "worker": identity["worker"],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", identity.get("assign_gpus")),
        "device": environment.get("device"),
        "device_name": environment.get("device_name"),
        "torch_threads_requested": torch_threads,
        "torch_threads": environment.get("torch_threads"),
        "resumed": record.get("resumed", []),  # each time the run continued from a checkpoint, after which epoch
        "kernel": kernel_versions(kernel_name or notebook_kernel(notebook_bytes)),
        "kernel_environment": environment,  # metrics.json's own record, written inside the kernel
    }
    return {"status": status, "error": error, "manifest": manifest, "files": files}
