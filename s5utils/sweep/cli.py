"""`python -m s5utils sweep`: the parser of the sweep subcommand and the function that runs it."""

import argparse
import dataclasses
from pathlib import Path

from s5utils.config import TrainConfig

DEBUG = dict(action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")


def positive_int(text: str, least: int = 1) -> int:
    """An argparse type: an integer >= least (1 unless said)."""
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {text!r}")
    return value


def count(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return positive_int(text, least=0)


def add_sweep_parser(commands, default_text) -> argparse.ArgumentParser:
    """`sweep`: run the notebook once per combination of the listed values, as Dask tasks."""
    sweep = commands.add_parser(
        "sweep", allow_abbrev=False, help="execute notebooks/S5.ipynb with papermill over a grid of parameters, on Dask"
    )
    for field in dataclasses.fields(TrainConfig):
        flag = "--out" if field.name == "out_dir" else "--" + field.name.replace("_", "-")  # as in `train`
        sweep.add_argument(
            flag,
            dest=field.name,
            nargs="+",
            metavar=field.name.upper(),
            help=f"one or more values (default: {default_text(field.name)})",
        )
    sweep.add_argument(
        "--notebook",
        nargs="+",
        help="notebooks or folders of notebooks, each crossed with the grid "
        "(default: notebooks/S5.ipynb of this checkout)",
    )
    sweep.add_argument(
        "--zip",
        nargs="+",
        metavar="NAME",
        default=[],
        help="these axes advance together (equally many values) instead of being crossed",
    )
    sweep.add_argument("--repeats", type=positive_int, default=1, help="runs of each setting (default: 1)")
    sweep.add_argument(
        "--workers", type=positive_int, help="local worker processes (default: one per core, at most one per run)"
    )
    sweep.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="a running Dask scheduler instead of a local cluster (default: $DASK_SCHEDULER_ADDRESS)",
    )
    sweep.add_argument(
        "--gpus-per-run",
        type=count,
        default=0,
        help="GPUs each run needs: Dask resources GPU=N, which workers offer with --resources GPU=1",
    )
    sweep.add_argument(
        "--torch-threads",
        type=positive_int,
        help="torch CPU threads per run (default: local cores // workers; on a cluster, the worker's "
        "cores // its threads)",
    )
    sweep.add_argument(
        "--worker-timeout",
        type=positive_int,
        metavar="SECONDS",
        help="on a cluster: stop (finished runs kept) when no worker has been connected for this long "
        "(default: 30 s for the first worker, then wait for ever)",
    )
    sweep.add_argument(
        "--max-starts",
        type=positive_int,
        metavar="N",
        help="on a cluster: fail a run whose worker left mid-run N times in a row without getting it past its "
        "checkpoint, as batch jobs too short for a run would make it (default: no limit)",
    )
    sweep.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's own)")
    sweep.add_argument("--resume", metavar="SWEEP_DIR", help="run only the runs of this sweep that have no folder yet")
    sweep.add_argument(
        "--report-from",
        metavar="FOLDER",
        help="train nothing: build the tables from the runs recorded under FOLDER that match the grid",
    )
    sweep.add_argument("--debug", **DEBUG)
    return sweep


def run_sweep_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Validate the grid, run it (or resume one, or report recorded runs), say where the tables are; 1 if any failed."""
    from s5utils.config import ConfigError
    from s5utils.sweep.run import resume_sweep, sweep

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    for name in ("data_root", "out_dir"):  # the notebooks run in their own folders: pin paths to this cwd
        if name in given:
            given[name] = [str(Path(v).expanduser().resolve()) for v in given[name]]
    out_dir = given.pop("out_dir", [TrainConfig().out_dir])
    if len(out_dir) > 1:
        parser.error("argument --out: give one folder")
    axes = {name: values for name, values in given.items() if len(values) > 1}
    fixed = {name: values[0] for name, values in given.items() if len(values) == 1}
    zipped = [name.lstrip("-").replace("-", "_") for name in args.zip]
    for name in zipped:
        if name not in axes:
            raise ConfigError(
                f"argument --zip: {name} is not an axis of this sweep; name flags given two or more values"
            )
    cluster = dict(
        workers=args.workers,
        scheduler=args.scheduler,
        gpus_per_run=args.gpus_per_run,
        torch_threads=args.torch_threads,
        kernel_name=args.kernel,
        worker_timeout=args.worker_timeout,
        max_starts=args.max_starts,
    )
    if args.resume:
        if given or args.notebook or args.report_from:
            parser.error("--resume takes the grid from the sweep folder: give no grid flags with it")
        folder, rows = resume_sweep(args.resume, **cluster)
    elif args.report_from:
        from s5utils.sweep.recorded import report_recorded

        folder, rows = report_recorded(args.report_from, axes, fixed, zipped, out_dir[0])
        missing = sum(row["status"] == "missing" for row in rows)
        print(
            f"Report: {len(rows) - missing} of {len(rows)} settings found among the runs recorded under "
            f"{args.report_from}; table {folder / 'results.md'}, plot {folder / 'test_accuracy.png'}"
        )
        return 1 if missing else 0
    else:
        folder, rows = sweep(axes, fixed, out_dir[0], args.notebook, repeats=args.repeats, zipped=zipped, **cluster)
    failed = sum(row["status"] != "completed" for row in rows)
    print(
        f"Sweep: {len(rows) - failed} of {len(rows)} runs completed; table {folder / 'results.md'}, "
        f"plot {folder / 'test_accuracy.png'}"
    )
    return 1 if failed else 0
