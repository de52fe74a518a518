"""Run `python -m s5utils sweep` on Slurm: dask-jobqueue submits the Dask workers as Slurm jobs, one GPU each.

    python tools/slurm_sweep.py --jobs 4 -- --seed 1 2 3 4 --epochs 20
    python tools/slurm_sweep.py --print-job-script        # the batch script each job runs; submits nothing

Everything after `--` is the sweep's own flags (docs/cli.md); this script adds --scheduler (its cluster's),
--gpus-per-run and --torch-threads. Needs the optional extra: pip install -e '.[slurm]'.
"""

import argparse
import sys


def slurm_cluster(args: argparse.Namespace):
    """A SLURMCluster whose jobs are one single-threaded worker each, offering its GPUs as a Dask resource."""
    import dask
    from dask_jobqueue import SLURMCluster

    # A worker holds only the run it executes, so a run is never queued behind another on one GPU.
    dask.config.set({"distributed.scheduler.worker-saturation": 1.0})
    gpus = [f"--gres=gpu:{args.gpus}"] if args.gpus else []
    return SLURMCluster(
        cores=1,
        processes=1,
        job_cpu=args.job_cpu,
        memory=args.memory,
        walltime=args.walltime,
        queue=args.partition,
        job_extra_directives=gpus,
        worker_extra_args=["--resources", f"GPU={args.gpus}"] if args.gpus else [],
    )


def main(argv: list[str] | None = None) -> int:
    """Start the cluster, scale it to --jobs, run the sweep through it; the sweep's exit code."""
    argv = sys.argv[1:] if argv is None else argv
    ours, sweep_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python tools/slurm_sweep.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="Slurm jobs, one Dask worker each (default 4)")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs per job; 0 for CPU jobs (default 1)")
    parser.add_argument("--job-cpu", type=int, default=4, help="CPUs per job = torch threads per run (default 4)")
    parser.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    parser.add_argument("--walltime", default="02:00:00", help="time limit per job (default 02:00:00)")
    parser.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    parser.add_argument("--print-job-script", action="store_true", help="print the batch script and stop")
    args = parser.parse_args(ours)
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        print("error: dask-jobqueue is not installed; install the extra: pip install -e '.[slurm]'", file=sys.stderr)
        return 2
    with slurm_cluster(args) as cluster:
        if args.print_job_script:
            print(cluster.job_script())
            return 0
        cluster.scale(jobs=args.jobs)
        from s5utils.cli import main as s5utils_main

        gpus = ["--gpus-per-run", "1"] if args.gpus else []
        return s5utils_main(
            [
                "sweep",
                "--scheduler",
                cluster.scheduler_address,
                *gpus,
                "--torch-threads",
                str(args.job_cpu),
                *sweep_args,
            ]
        )


if __name__ == "__main__":
    sys.exit(main())
