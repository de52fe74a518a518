"""Run notebooks over a grid of parameters as Dask tasks, and compare the runs in tables and a plot.

    folder, rows = sweep({"seed": [1, 2, 3, 4]}, {"epochs": 1, "max_batches": 2}, workers=2)

Each run is one Dask task (s5utils.sweep.task) that executes a notebook with papermill on a worker and
sends its files back; this process writes each run folder whole (a temporary name, then a rename), so a
run is never half-written nor written twice. sweep.json records the plan first: `resume_sweep(folder)`
runs only the runs without a folder. A local cluster of worker processes is made unless a scheduler
address or a Client is given.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from s5utils.config import ConfigError
from s5utils.runs.records import new_run_dir, write_json_atomic
from s5utils.runs.tensorboard_log import write_sweep_experiment
from s5utils.sweep.cluster import SweepError, check_versions, default_workers, open_client, threads_per_run
from s5utils.sweep.plan import check_declared, find_notebooks, grid, plan_runs
from s5utils.sweep.results import write_report
from s5utils.sweep.task import EVENT_TOPIC, attempt_folders, run_notebook_task
from s5utils.sweep.watch import as_finished, where

ATTEMPTS = 3  # a run survives ATTEMPTS - 1 deaths of its worker (on the local cluster)


def write_run_folder(folder: Path, result: dict, attempts: int) -> Path | None:
    """Write a run's files and manifest.json under a temporary name, then rename; None if it already exists."""
    final = folder / result["manifest"]["name"]
    if final.exists():  # Dask ran the task twice, or a resumed sweep: the first result stays
        return None
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{final.name}.tmp-"))
    try:
        for name, data in result["files"].items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        write_json_atomic(tmp / "manifest.json", {**result["manifest"], "attempts": attempts})
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def remove_attempts(folder: Path, name: str) -> None:
    """Delete the folders that attempts at run `name` wrote in the sweep folder (its own folder is written)."""
    for attempt in attempt_folders(folder, name):
        shutil.rmtree(attempt, ignore_errors=True)


def failed_result(run: dict, error: str) -> dict:
    """The result of a run that never came back from a worker."""
    manifest = {
        **{k: run[k] for k in ("run_id", "name", "notebook", "notebook_sha256", "parameters", "repeat")},
        "status": "failed",
        "error": error,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return {"status": "failed", "error": error, "manifest": manifest, "files": {}}


def read_row(folder: Path, run: dict) -> dict:
    """A run's table row from its folder (manifest.json and metrics.json); status 'missing' if it has none."""
    run_dir = folder / run["name"]
    row = {"run": run["name"], "notebook": run["notebook"], "run_dir": str(run_dir), **run["parameters"]}
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return {**row, "status": "missing"}
    record = {}
    if (run_dir / "metrics.json").is_file():
        record = json.loads((run_dir / "metrics.json").read_text())
    final = record.get("final") or (record["history"][-1] if record.get("history") else {})
    return {
        **row,
        "status": manifest["status"],
        "error": manifest.get("error"),
        "attempts": manifest.get("attempts"),
        "worker": manifest.get("worker"),
        "wall_seconds": record.get("wall_seconds"),
        **{k: final.get(k) for k in ("test_acc", "test_loss", "train_acc", "train_loss")},
    }


def say(line: str) -> None:
    """The sweep's progress: one line per epoch of each run and one per finished run."""
    print(line, flush=True)


def execute_plan(client, folder: Path, runs: list[dict], notebooks: dict[str, bytes], options: dict) -> None:
    """Submit each run as one Dask task and write each folder as its result arrives."""
    from distributed import KilledWorker

    names = {run["run_id"]: run["name"] for run in runs}
    starts: dict[str, list] = {run["run_id"]: [] for run in runs}  # the workers each run started on, in order
    checkpoints: dict[str, list] = {run["run_id"]: [] for run in runs}  # and the checkpoint each start began from

    def on_event(event) -> None:
        message = event[1]
        if message.get("run_id") not in names:
            return
        if message["kind"] == "start":
            starts[message["run_id"]].append(message.get("worker"))
            checkpoints[message["run_id"]].append(tuple(message.get("checkpoint") or (0, 0)))
        elif message["kind"] == "progress":
            say(f"{names[message['run_id']]}: {message['line']}")

    client.subscribe_topic(EVENT_TOPIC, on_event)
    resources = {"GPU": options["gpus_per_run"]} if options["gpus_per_run"] else None
    futures = {
        client.submit(
            run_notebook_task,
            run,
            notebooks[run["notebook"]],
            options["torch_threads"],
            options["kernel_name"],
            gpu_slots=options["gpu_slots"],
            sweep_dir=str(folder),
            key=f"s5utils-run-{run['name']}-{run['run_id']}",
            pure=False,
            resources=resources,
        ): run
        for run in runs
    }
    finished = as_finished(
        client, futures, starts, options.get("worker_timeout"), options.get("max_starts"), checkpoints
    )
    try:
        for done, (future, given_up) in enumerate(finished, start=1):
            run = futures[future]
            try:
                result = future.result() if given_up is None else failed_result(run, given_up)
            except KilledWorker as exc:
                last = getattr(exc.last_worker, "address", exc.last_worker)
                result = failed_result(
                    run,
                    f"KilledWorker: {exc.allowed_failures + 1} workers died while it was "
                    f"assigned to them (it started {len(starts[run['run_id']])} time(s); last "
                    f"{last}): Dask's allowed-failures limit",
                )
            except Exception as exc:  # a run that cannot come back is recorded, never lost
                result = failed_result(run, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
            # Let go of the result: a worker that leaves (a batch job's end) must not take it along, nor have it rerun.
            del futures[future]
            future.release()
            attempts = max(1, len(starts[run["run_id"]]))
            written = write_run_folder(folder, result, attempts)
            remove_attempts(folder, run["name"])
            accuracy = (
                (json.loads(result["files"]["metrics.json"]).get("final") or {}).get("test_acc")
                if "metrics.json" in result["files"]
                else None
            )
            say(
                f"[{done}/{len(runs)}] {run['name']}: {result['status']}"
                + (f", test accuracy {accuracy:.2f}%" if accuracy is not None else "")
                + (f" ({result['error']})" if result["error"] else "")
                + f"; {attempts} attempt(s), worker {result['manifest'].get('worker') or '-'}"
                + "".join(
                    f", resumed {where((r['after_epoch'], r.get('then_batches', 0)))}"
                    for r in result["manifest"].get("resumed", [])
                )
                + ("" if written else "; a folder already held it, kept")
            )
    finally:
        client.unsubscribe_topic(EVENT_TOPIC)


@contextmanager
def cluster_for(
    pending: int,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    gpus_per_run: int = 0,
    torch_threads: int | None = None,
    kernel_name: str | None = None,
    worker_timeout: float | None = None,
    max_starts: int | None = None,
) -> Iterator:
    """Yield (client, run options, a description): the given client, the scheduler's, or a new LocalCluster's.

    On a cluster (not the local one), worker_timeout and max_starts bound a sweep whose workers come and go
    (s5utils.sweep.watch); worker_timeout is also how long a scheduler may take to show its first worker.
    """
    scheduler = (scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")) if client is None else None
    local = client is None and not scheduler
    if local:
        workers = workers or default_workers(pending)
        torch_threads = torch_threads or threads_per_run(workers)
    options = {
        "torch_threads": torch_threads,
        "kernel_name": kernel_name,
        "gpus_per_run": gpus_per_run,
        "gpu_slots": gpus_per_run if local else 0,
        "worker_timeout": None if local else worker_timeout,
        "max_starts": None if local else max_starts,
    }
    if client is not None:
        check_versions(client)  # its workers may still be starting (a batch queue): those are not checked
        yield client, options, f"the Dask cluster of the given client ({client.scheduler.address})"
        return
    with open_client(scheduler, workers or 1, ATTEMPTS - 1, gpus_per_run, worker_timeout) as own:
        yield (
            own,
            options,
            (
                f"a local cluster of {workers} worker process(es), {torch_threads} torch thread(s) each"
                if local
                else f"the Dask cluster at {scheduler}"
            ),
        )


def run_plan(folder: Path, plan: dict, client, options: dict, where: str) -> list[dict]:
    """Run the plan's runs that have no folder yet on client, then rebuild the tables; returns every run's row."""
    pending = [run for run in plan["runs"] if not (folder / run["name"]).exists()]
    notebooks = {name: (folder / "notebooks" / name).read_bytes() for name in plan["notebooks"]}
    if pending:
        say(f"Sweep {folder}: {len(pending)} of {len(plan['runs'])} runs to do, on {where}")
        try:
            execute_plan(client, folder, pending, notebooks, options)
        except KeyboardInterrupt:
            say(f"interrupted: finished runs are kept; run the rest with `python -m s5utils sweep --resume {folder}`")
            raise
        except SweepError as exc:  # no worker left (s5utils.sweep.watch): the finished runs stay
            raise SweepError(
                f"{exc}; finished runs are kept: run the rest with `python -m s5utils sweep --resume {folder}`"
            ) from None
    rows = [read_row(folder, run) for run in plan["runs"]]
    report(folder, plan, rows)
    return rows


def report(folder: Path, plan: dict, rows: list[dict]) -> None:
    """results.csv, results.md (and results_by_setting.csv with seeds repeated) and test_accuracy.png in folder."""
    write_report(rows, (["notebook"] if len(plan["notebooks"]) > 1 else []) + list(plan["axes"]), folder)


def sweep(
    axes: dict[str, list],
    fixed: dict | None = None,
    out_dir: str = "runs",
    notebook=None,
    kernel_name: str | None = None,
    *,
    client=None,
    workers: int | None = None,
    scheduler: str | None = None,
    gpus_per_run: int = 0,
    torch_threads: int | None = None,
    repeats: int = 1,
    zipped: list[str] = (),
    worker_timeout: float | None = None,
    max_starts: int | None = None,
) -> tuple[Path, list[dict]]:
    """Run each notebook once per grid setting (and repeat) into out_dir/<time>-sweep/<NN-...>/; returns (folder, rows).

    notebook: a path, a folder of notebooks, or a list of either (default notebooks/S5.ipynb). client: an
    existing distributed.Client; else scheduler (or $DASK_SCHEDULER_ADDRESS); else a LocalCluster of
    `workers` processes (default: what fits). On a cluster, worker_timeout (seconds without any worker)
    and max_starts (times a run's worker may leave mid-run) bound a sweep on batch jobs. Each run folder
    holds the executed notebook, metrics.json, the plot and manifest.json; the sweep folder holds
    sweep.json, the notebooks, the tables and the plot.
    """
    notebooks = find_notebooks(notebook)
    settings = grid(axes, fixed, zipped)
    if repeats < 1:
        raise ConfigError(f"repeats must be an integer >= 1, got {repeats}", "repeats")
    for path in notebooks:
        check_declared(path, [*(fixed or {}), *axes, "run_dir"])
    runs = plan_runs(notebooks, axes, settings, repeats)
    # The cluster first: a scheduler that does not answer leaves no sweep folder behind.
    with cluster_for(
        len(runs), client, scheduler, workers, gpus_per_run, torch_threads, kernel_name, worker_timeout, max_starts
    ) as (
        dask_client,
        options,
        where,
    ):
        folder = new_run_dir(out_dir, "sweep").resolve()
        (folder / "notebooks").mkdir()
        for path in notebooks:
            shutil.copyfile(path, folder / "notebooks" / path.name)
        plan = {
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "notebooks": [p.name for p in notebooks],
            "sources": [str(p) for p in notebooks],
            "axes": axes,
            "fixed": fixed or {},
            "zipped": list(zipped),
            "repeats": repeats,
            "runs": runs,
            "torch_threads": options["torch_threads"],
        }
        write_json_atomic(folder / "sweep.json", plan)
        # TensorBoard's HParams table: the varied values and the metrics, declared once at the sweep's root.
        write_sweep_experiment(folder, axes)
        rows = run_plan(folder, plan, dask_client, options, where)
    return folder, rows


def resume_sweep(
    folder,
    *,
    client=None,
    workers: int | None = None,
    scheduler: str | None = None,
    gpus_per_run: int = 0,
    torch_threads: int | None = None,
    kernel_name: str | None = None,
    worker_timeout: float | None = None,
    max_starts: int | None = None,
) -> tuple[Path, list[dict]]:
    """Run only the runs of an interrupted sweep that have no folder yet (at its torch thread count), then rebuild
    its tables and plot."""
    folder = Path(folder).expanduser().resolve()
    try:
        plan = json.loads((folder / "sweep.json").read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(
            f"{folder} is not a sweep folder ({type(exc).__name__} reading sweep.json): pass the folder a sweep printed"
        ) from None
    for stale in folder.glob(".*.tmp-*"):  # a folder half-written when the submitter was killed
        shutil.rmtree(stale, ignore_errors=True)
    for run in plan["runs"]:  # the attempts of a run without a folder stay: its next attempt continues them
        if (folder / run["name"]).exists():
            remove_attempts(folder, run["name"])
    pending = sum(not (folder / run["name"]).exists() for run in plan["runs"])
    # The sweep's own thread count unless told otherwise: another count gives other numbers (docs/sweeps.md).
    torch_threads = torch_threads or plan.get("torch_threads")
    with cluster_for(
        pending, client, scheduler, workers, gpus_per_run, torch_threads, kernel_name, worker_timeout, max_starts
    ) as (
        dask_client,
        options,
        where,
    ):
        rows = run_plan(folder, plan, dask_client, options, where)
    return folder, rows
