"""Sweeps: run notebooks over a grid of parameters as Dask tasks, and compare the runs in tables and a plot.

    from s5utils.sweep import sweep, resume_sweep
    folder, rows = sweep({"seed": [1, 2, 3, 4]}, {"epochs": 1, "max_batches": 2}, workers=2)

The modules, each by its job:

    run       sweep() and resume_sweep(): plan, submit the runs, write each run folder, report
    plan      what a sweep runs: notebooks crossed with a grid of validated settings, each with a stable id
    task      one run as a Dask task (what a worker imports: s5utils.sweep.task.run_notebook_task)
    cluster   the Dask cluster: a LocalCluster of worker processes, or a running scheduler's workers
    watch     runs as they finish on a cluster whose workers come and go (batch jobs): bounds on waiting
    results   results.csv, results.md and the plot of a sweep
    stats     statistics over seeds and exact tests between settings
    recorded  a sweep's tables from runs already recorded (--report-from), nothing trained
    cli       `python -m s5utils sweep`: its parser and the function that runs it
"""

from s5utils.sweep.cluster import SweepError, check_versions, default_workers, open_client, threads_per_run
from s5utils.sweep.plan import check_declared, find_notebooks, grid, plan_runs
from s5utils.sweep.results import write_report
from s5utils.sweep.run import (
    ATTEMPTS,
    ConfigError,
    cluster_for,
    execute_plan,
    failed_result,
    new_run_dir,
    read_row,
    report,
    resume_sweep,
    run_plan,
    say,
    sweep,
    write_json_atomic,
    write_run_folder,
)
from s5utils.sweep.task import EVENT_TOPIC, run_notebook_task

__all__ = [
    "sweep",
    "resume_sweep",
    "SweepError",
    "ATTEMPTS",
    "EVENT_TOPIC",
    "ConfigError",
    "check_declared",
    "check_versions",
    "cluster_for",
    "default_workers",
    "execute_plan",
    "failed_result",
    "find_notebooks",
    "grid",
    "new_run_dir",
    "open_client",
    "plan_runs",
    "read_row",
    "report",
    "run_notebook_task",
    "run_plan",
    "say",
    "threads_per_run",
    "write_json_atomic",
    "write_report",
    "write_run_folder",
]
