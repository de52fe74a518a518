"""Run notebooks over a grid of parameters as Dask tasks, and compare the runs in tables and a plot.

    folder, rows = sweep({"seed": [1, 2, 3, 4]}, {"epochs": 1, "max_batches": 2}, workers=2)

Each run is one Dask task (s5utils.sweep_task) that executes a notebook with papermill on a worker and
sends its files back; this process writes each run folder whole (a temporary name, then a rename), so a
run is never half-written nor written twice. sweep.json records the plan first: `resume_sweep(folder)`
runs only the runs without a folder. A local cluster of worker processes is made unless a scheduler
address or a Client is given.
"""
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigError, make_config
from .runs import new_run_dir, write_json_atomic
from .sweep_cluster import SweepError, default_workers, open_client, threads_per_run
from .sweep_report import plot_sweep, write_table
from .sweep_task import EVENT_TOPIC, run_notebook_task

SHORT = {"batch_size": "bs", "max_batches": "mb", "epochs": "ep", "momentum": "mom", "step_size": "step",
         "data_path": "", "channels_last": "cl"}
ATTEMPTS = 3  # a run survives ATTEMPTS - 1 deaths of its worker (on the local cluster)


def default_notebook() -> Path:
    """notebooks/S5.ipynb of the checkout this package was imported from."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "S5.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (s5utils is not running from a checkout); "
                                "pass the notebook's path with --notebook")
    return path


def find_notebooks(paths) -> list[Path]:
    """The notebooks named, a folder standing for every .ipynb in it (sorted); the default notebook if none."""
    if not paths:
        return [default_notebook()]
    found = []
    for path in [Path(p).expanduser().resolve() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
            if not inside:
                raise FileNotFoundError(f"no .ipynb notebooks in folder {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"notebook {path} not found; pass a notebook or a folder of notebooks")
    if len({p.name for p in found}) < len(found):
        raise ConfigError("two notebooks share a file name; give each notebook its own name")
    return found


def grid(axes: dict[str, list], fixed: dict | None = None, zipped: list[str] = ()) -> list[dict]:
    """Every combination of the axes' values (first axis slowest), each merged over the fixed values.

    Axes named in zipped advance together (one setting per position, so their lists must be equally long)
    instead of being crossed. Each setting is validated with make_config() first: a bad value stops the
    sweep before any run.
    """
    fixed = dict(fixed or {})
    zipped = [name for name in axes if name in set(zipped)]
    if len({len(axes[name]) for name in zipped}) > 1:
        lengths = ", ".join(f"{name} {len(axes[name])}" for name in zipped)
        raise ConfigError(f"axes advanced together need equally many values, got {lengths}", zipped[0])
    blocks = []  # each block: a list of {name: value} choices
    for name in axes:
        if name in zipped[1:]:
            continue
        if zipped and name == zipped[0]:
            blocks.append([dict(zip(zipped, values)) for values in zip(*(axes[n] for n in zipped))])
        else:
            blocks.append([{name: value} for value in axes[name]])
    settings = [{**fixed, **{k: v for part in parts for k, v in part.items()}} for parts in itertools.product(*blocks)]
    return [{name: getattr(make_config(**setting), name) for name in setting} for setting in settings]


def check_declared(notebook: Path, names) -> None:
    """Refuse a parameter the notebook's parameters cell does not set: papermill would only warn and run on."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    for name in names:
        if name not in declared:
            raise ConfigError(f"{notebook.name} has no parameter {name!r}: add a line `{name} = ...` to its "
                              f"parameters cell, or leave {name} out of the sweep", name)


def run_name(index: int, setting: dict, axes: list[str], notebook: str | None = None, repeat: int | None = None) -> str:
    """A folder name that says what varies, e.g. 03-lr0.02-bs128-seed1 (with the notebook and repeat if several)."""
    parts = [f"{SHORT.get(k, k)}{setting[k]}" for k in axes]
    head = [f"{index:02d}"] + ([Path(notebook).stem] if notebook else [])
    return "-".join([*head, *parts] + ([f"r{repeat}"] if repeat else [])).replace("/", "_")


def stable_run_id(notebook_sha256: str, parameters: dict, repeat: int) -> str:
    """The same notebook content, parameters and repeat index give the same id, on any machine."""
    key = json.dumps({"notebook": notebook_sha256, "parameters": parameters, "repeat": repeat}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plan_runs(notebooks: list[Path], axes: dict, settings: list[dict], repeats: int) -> list[dict]:
    """One entry per run: every notebook crossed with every setting, each repeated `repeats` times."""
    runs, several = [], len(notebooks) > 1
    for notebook in notebooks:
        sha = hashlib.sha256(notebook.read_bytes()).hexdigest()
        for setting in settings:
            for repeat in range(repeats):
                index = len(runs) + 1
                runs.append({"name": run_name(index, setting, list(axes), notebook.name if several else None,
                                              repeat + 1 if repeats > 1 else None),
                             "run_id": stable_run_id(sha, setting, repeat), "notebook": notebook.name,
                             "notebook_sha256": sha, "parameters": setting, "repeat": repeat})
    return runs


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


def failed_result(run: dict, error: str) -> dict:
    """The result of a run that never came back from a worker."""
    manifest = {**{k: run[k] for k in ("run_id", "name", "notebook", "notebook_sha256", "parameters", "repeat")},
                "status": "failed", "error": error, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
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
    return {**row, "status": manifest["status"], "error": manifest.get("error"), "attempts": manifest.get("attempts"),
            "worker": manifest.get("worker"), "wall_seconds": record.get("wall_seconds"),
            **{k: final.get(k) for k in ("test_acc", "test_loss", "train_acc", "train_loss")}}


def say(line: str) -> None:
    """The sweep's progress: one line per epoch of each run and one per finished run."""
    print(line, flush=True)


def execute_plan(client, folder: Path, runs: list[dict], notebooks: dict[str, bytes], options: dict) -> None:
    """Submit each run as one Dask task and write each folder as its result arrives."""
    from distributed import KilledWorker, as_completed

    names = {run["run_id"]: run["name"] for run in runs}
    starts: dict[str, list] = {run["run_id"]: [] for run in runs}

    def on_event(event) -> None:
        message = event[1]
        if message.get("run_id") not in names:
            return
        if message["kind"] == "start":
            starts[message["run_id"]].append(message.get("worker"))
        elif message["kind"] == "progress":
            say(f"{names[message['run_id']]}: {message['line']}")

    client.subscribe_topic(EVENT_TOPIC, on_event)
    resources = {"GPU": options["gpus_per_run"]} if options["gpus_per_run"] else None
    futures = {client.submit(run_notebook_task, run, notebooks[run["notebook"]], options["torch_threads"],
                             options["kernel_name"], gpu_slots=options["gpu_slots"],
                             key=f"s5utils-run-{run['name']}-{run['run_id']}", pure=False, resources=resources): run
               for run in runs}
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            run = futures[future]
            try:
                result = future.result()
            except KilledWorker:
                workers = starts[run["run_id"]]
                result = failed_result(run, f"KilledWorker: the worker died while running it, {len(workers)} time(s) "
                                            f"(last {workers[-1] if workers else 'unknown'}); Dask's allowed-failures "
                                            "limit was reached")
            except Exception as exc:  # a run that cannot come back is recorded, never lost
                result = failed_result(run, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
            attempts = max(1, len(starts[run["run_id"]]))
            written = write_run_folder(folder, result, attempts)
            accuracy = (json.loads(result["files"]["metrics.json"]).get("final") or {}).get("test_acc") \
                if "metrics.json" in result["files"] else None
            say(f"[{done}/{len(runs)}] {run['name']}: {result['status']}"
                + (f", test accuracy {accuracy:.2f}%" if accuracy is not None else "")
                + (f" ({result['error']})" if result["error"] else "")
                + f"; {attempts} attempt(s), worker {result['manifest'].get('worker') or '-'}"
                + ("" if written else "; a folder already held it, kept"))
    finally:
        client.unsubscribe_topic(EVENT_TOPIC)


def run_plan(folder: Path, plan: dict, client=None, scheduler: str | None = None, workers: int | None = None,
             gpus_per_run: int = 0, torch_threads: int | None = None, kernel_name: str | None = None) -> list[dict]:
    """Run the plan's runs that have no folder yet, on client, the scheduler, or a new LocalCluster; returns every row."""
    pending = [run for run in plan["runs"] if not (folder / run["name"]).exists()]
    notebooks = {name: (folder / "notebooks" / name).read_bytes() for name in plan["notebooks"]}
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") if client is None else None
    local = client is None and not scheduler
    if local:
        workers = workers or default_workers(len(pending))
        torch_threads = torch_threads or threads_per_run(workers)
    options = {"torch_threads": torch_threads, "kernel_name": kernel_name, "gpus_per_run": gpus_per_run,
               "gpu_slots": gpus_per_run if local else 0}
    if pending:
        say(f"Sweep {folder}: {len(pending)} of {len(plan['runs'])} runs to do, on "
            + (f"a local cluster of {workers} worker process(es), {torch_threads} torch thread(s) each" if local
               else f"the Dask cluster at {scheduler or client.scheduler.address}"))
        try:
            if client is not None:
                execute_plan(client, folder, pending, notebooks, options)
            else:
                with open_client(scheduler, workers or 1, ATTEMPTS - 1, gpus_per_run) as own:
                    execute_plan(own, folder, pending, notebooks, options)
        except KeyboardInterrupt:
            say(f"interrupted: finished runs are kept; run the rest with `python -m s5utils sweep --resume {folder}`")
            raise
    rows = [read_row(folder, run) for run in plan["runs"]]
    report(folder, plan, rows)
    return rows


def report(folder: Path, plan: dict, rows: list[dict]) -> None:
    """results.csv, results.md (and results_by_setting.csv with seeds repeated) and test_accuracy.png in folder."""
    axes = (["notebook"] if len(plan["notebooks"]) > 1 else []) + list(plan["axes"])
    names = [a for a in axes if a != "seed"]
    write_table(rows, axes, folder, names)
    plot_sweep(rows, names).savefig(folder / "test_accuracy.png", dpi=100)


def sweep(axes: dict[str, list], fixed: dict | None = None, out_dir: str = "runs", notebook=None,
          kernel_name: str | None = None, *, client=None, workers: int | None = None, scheduler: str | None = None,
          gpus_per_run: int = 0, torch_threads: int | None = None, repeats: int = 1, zipped: list[str] = ()
          ) -> tuple[Path, list[dict]]:
    """Run each notebook once per grid setting (and repeat) into out_dir/<time>-sweep/<NN-...>/; returns (folder, rows).

    notebook: a path, a folder of notebooks, or a list of either (default notebooks/S5.ipynb). client: an
    existing distributed.Client; else scheduler (or $DASK_SCHEDULER_ADDRESS); else a LocalCluster of
    `workers` processes (default: what fits). Each run folder holds the executed notebook, metrics.json,
    the plot and manifest.json; the sweep folder holds sweep.json, the notebooks, the tables and the plot.
    """
    notebooks = find_notebooks(notebook)
    settings = grid(axes, fixed, zipped)
    if repeats < 1:
        raise ConfigError(f"repeats must be an integer >= 1, got {repeats}", "repeats")
    for path in notebooks:
        check_declared(path, [*(fixed or {}), *axes, "run_dir"])
    folder = new_run_dir(out_dir, "sweep").resolve()
    (folder / "notebooks").mkdir()
    for path in notebooks:
        shutil.copyfile(path, folder / "notebooks" / path.name)
    plan = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "notebooks": [p.name for p in notebooks], "sources": [str(p) for p in notebooks], "axes": axes,
            "fixed": fixed or {}, "zipped": list(zipped), "repeats": repeats,
            "runs": plan_runs(notebooks, axes, settings, repeats)}
    write_json_atomic(folder / "sweep.json", plan)
    rows = run_plan(folder, plan, client, scheduler, workers, gpus_per_run, torch_threads, kernel_name)
    return folder, rows


def resume_sweep(folder, *, client=None, workers: int | None = None, scheduler: str | None = None,
                 gpus_per_run: int = 0, torch_threads: int | None = None, kernel_name: str | None = None
                 ) -> tuple[Path, list[dict]]:
    """Run only the runs of an interrupted sweep that have no folder yet, then rebuild its tables and plot."""
    folder = Path(folder).expanduser().resolve()
    try:
        plan = json.loads((folder / "sweep.json").read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(f"{folder} is not a sweep folder ({type(exc).__name__} reading sweep.json): "
                         "pass the folder a sweep printed") from None
    for stale in folder.glob(".*.tmp-*"):  # a folder half-written when the submitter was killed
        shutil.rmtree(stale, ignore_errors=True)
    rows = run_plan(folder, plan, client, scheduler, workers, gpus_per_run, torch_threads, kernel_name)
    return folder, rows
