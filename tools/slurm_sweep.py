"""Run `python -m s5utils sweep` on Slurm: dask-jobqueue submits the Dask workers as Slurm jobs, one GPU each.

    python tools/slurm_sweep.py --jobs 4 --walltime 02:00:00 -- --seed 1 2 3 4 --epochs 20
    python tools/slurm_sweep.py --print-job-script        # the batch script each job runs; submits nothing

Everything after `--` is the sweep's own flags (docs/cli.md); this script adds --scheduler (its cluster's),
--gpus-per-run, --torch-threads, --worker-timeout and --max-starts (flags after `--` win). Each job's worker
leaves before the walltime (--lifetime) and a new job replaces it while runs remain; a run whose job ended
(walltime, preemption, scancel) runs again on another, from its last checkpoint: S5.ipynb checkpoints inside
its epochs too (--checkpoint-seconds, a quarter of a worker's life unless given), so jobs shorter than an epoch
still finish the run. Needs the optional extra: pip install -e '.[slurm]'.
"""

import argparse
import re
import shutil
import signal
import subprocess
import sys
import time

LOST_WORKER_SECONDS = 5  # a job whose worker left this long ago is replaced (Dask's default: 15 s)


def seconds(text: str) -> int:
    """Slurm's time formats in seconds: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a Slurm time: {text!r}; write HH:MM:SS, e.g. 02:00:00")
    days, first, second, third = (int(part) if part else None for part in match.groups())
    if days is None:
        parts = [p for p in (first, second, third) if p is not None]
        if len(parts) == 3:
            total = parts[0] * 3600 + parts[1] * 60 + parts[2]
        else:
            total = parts[0] * 60 + (parts[1] if len(parts) == 2 else 0)
    else:
        total = days * 86400 + first * 3600 + (second or 0) * 60 + (third or 0)
    if total < 1:
        raise argparse.ArgumentTypeError(f"a time limit must be positive, got {text!r}")
    return total


def lifetime(walltime_s: int) -> tuple[int, int]:
    """(lifetime, stagger) in seconds: a worker leaves lifetime +- stagger after it starts, well before walltime.

    A twentieth of the walltime either way (at most 5 min), and a tenth (at most 1 min) for the worker's start
    and close: 48 +- 3 s of a 1-minute job, 53 +- 3 min of a 1-hour one.
    """
    stagger = min(walltime_s // 20, 300)
    return max(1, walltime_s - 2 * stagger - min(walltime_s // 10, 60)), stagger


def checkpoint_every(life: int) -> int:
    """Seconds between checkpoints inside an epoch: a quarter of a worker's life (12 s of 48 s), at most 10 min,
    so a run loses at most that much training when its job ends."""
    return max(1, min(life // 4, 600))


# Sweep flags that rule out adding --checkpoint-seconds: given already, other notebooks (they may not declare it),
# or no grid at all.
OWN_CHECKPOINTS = ("--checkpoint-seconds", "--notebook", "--resume", "--report-from")


def duration(total: int) -> str:
    """Seconds as '48 s' or, from 2 minutes, '109 min'."""
    return f"{total} s" if total < 120 else f"{total / 60:.0f} min"


def slurm_cluster(args: argparse.Namespace):
    """A SLURMCluster whose jobs are one single-threaded worker each, offering its GPUs as a Dask resource."""
    import dask
    from dask_jobqueue import SLURMCluster

    # A worker holds only the run it executes, so a run is never queued behind another on one GPU, and a job
    # that ends takes only its own run with it.
    dask.config.set(
        {
            "distributed.scheduler.worker-saturation": 1.0,
            "distributed.deploy.lost-worker-timeout": f"{LOST_WORKER_SECONDS}s",
        }
    )
    life, stagger = args.lifetime
    gpus = [f"--gres=gpu:{args.gpus}"] if args.gpus else []
    return SLURMCluster(
        cores=1,
        processes=1,
        job_cpu=args.job_cpu,
        memory=args.memory,
        walltime=args.walltime,
        queue=args.partition,
        python=sys.executable,
        scheduler_options={"dashboard_address": ":0"},  # any free port: two sweeps on one login node do not clash
        job_extra_directives=gpus,
        worker_extra_args=[
            *(["--resources", f"GPU={args.gpus}"] if args.gpus else []),
            *["--lifetime", f"{life}s", "--lifetime-stagger", f"{stagger}s"],
            # torch and the task imported before the worker joins, not while it holds a run
            *["--preload", "s5utils.sweep.task"],
        ],
    )


def refusal(job_script: str) -> str | None:
    """Why Slurm would refuse the job script (`sbatch --test-only`: a bad partition, too much memory), or None."""
    if not shutil.which("sbatch"):
        return "sbatch is not on PATH: run this on a machine that submits to Slurm"
    done = subprocess.run(["sbatch", "--test-only"], input=job_script, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        return None
    return "Slurm refuses the job: " + "; ".join(line.strip() for line in done.stderr.splitlines() if line.strip())


def job_states(cluster) -> str:
    """The cluster's jobs as squeue shows them: 'job 123 PENDING (Priority)', comma-separated."""
    ids = [str(job.job_id) for job in cluster.workers.values() if getattr(job, "job_id", None)]
    if not ids:
        return "no job was submitted"
    done = subprocess.run(
        ["squeue", "-h", "-j", ",".join(ids), "-o", "job %i %T (%r)"], capture_output=True, text=True, timeout=60
    )
    return ", ".join(done.stdout.split("\n")[:-1]) or f"jobs {', '.join(ids)} not in squeue"


def parser() -> argparse.ArgumentParser:
    """The script's own flags (those before `--`)."""
    parser = argparse.ArgumentParser(prog="python tools/slurm_sweep.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="Slurm jobs at a time, one Dask worker each (default 4)")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs per job; 0 for CPU jobs (default 1)")
    parser.add_argument("--job-cpu", type=int, default=4, help="CPUs per job = torch threads per run (default 4)")
    parser.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    parser.add_argument("--walltime", default="02:00:00", help="time limit per job (default 02:00:00)")
    parser.add_argument(
        "--lifetime",
        type=seconds,
        help="how long each worker serves before it leaves and a new job replaces it (default: from --walltime, "
        "48 s of 00:01:00, 1:49 h of 02:00:00; a twentieth of the walltime either way, staggered)",
    )
    parser.add_argument(
        "--queue-timeout",
        type=int,
        default=600,
        metavar="SECONDS",
        help="give up when no job has run a worker for this long, at the start or later (default 600)",
    )
    parser.add_argument(
        "--max-starts",
        type=int,
        default=5,
        help="fail a run whose job ended mid-run this many times in a row without getting past its checkpoint "
        "(default 5)",
    )
    parser.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    parser.add_argument("--print-job-script", action="store_true", help="print the batch script and stop")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the cluster, keep --jobs jobs running while runs remain, run the sweep through it; its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    ours, sweep_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    flags = parser()
    args = flags.parse_args(ours)
    try:
        walltime = seconds(args.walltime)
    except argparse.ArgumentTypeError as exc:
        flags.error(f"argument --walltime: {exc}")
    if args.lifetime and args.lifetime >= walltime:
        flags.error(f"argument --lifetime: must be shorter than --walltime ({walltime} s), got {args.lifetime} s")
    args.lifetime = (args.lifetime, 0) if args.lifetime else lifetime(walltime)
    try:
        import dask_jobqueue  # noqa: F401
        from distributed import Client
    except ImportError:
        print("error: dask-jobqueue is not installed; install the extra: pip install -e '.[slurm]'", file=sys.stderr)
        return 2
    # A killed submitter still cancels its jobs: SystemExit unwinds through the cluster's close.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with slurm_cluster(args) as cluster:
        if args.print_job_script:
            print(cluster.job_script())
            return 0
        why = refusal(cluster.job_script())
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 1
        life, stagger = args.lifetime
        if not any(flag in sweep_args for flag in OWN_CHECKPOINTS):
            sweep_args = [*sweep_args, "--checkpoint-seconds", str(checkpoint_every(life))]
        print(
            f"Slurm: {args.jobs} job(s) at a time, walltime {args.walltime}; each worker leaves after {duration(life)}"
            + (f" +- {duration(stagger)}" if stagger else "")
            + f" and a new job replaces it while runs remain; {args.queue_timeout} s without one stops the sweep",
            flush=True,
        )
        if "--checkpoint-seconds" in sweep_args:
            every = sweep_args[sweep_args.index("--checkpoint-seconds") + 1]
            print(f"Runs also checkpoint every {every} s inside an epoch: a job's end loses at most that", flush=True)
        cluster.adapt(minimum_jobs=args.jobs, maximum_jobs=args.jobs)
        deadline = time.monotonic() + args.queue_timeout
        from s5utils.cli import main as s5utils_main  # while the jobs start: the sweep begins when a worker joins

        with Client(cluster) as client:
            try:
                client.wait_for_workers(1, timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                print(
                    f"error: no Slurm job started a worker within {args.queue_timeout} s ({job_states(cluster)}): "
                    "check the partition and your limits (`squeue --me`, `sinfo`), or raise --queue-timeout",
                    file=sys.stderr,
                )
                return 1
        gpus = ["--gpus-per-run", "1"] if args.gpus else []
        return s5utils_main(
            [
                "sweep",
                "--scheduler",
                cluster.scheduler_address,
                *gpus,
                "--torch-threads",
                str(args.job_cpu),
                "--worker-timeout",
                str(args.queue_timeout),
                "--max-starts",
                str(args.max_starts),
                *sweep_args,
            ]
        )


if __name__ == "__main__":
    sys.exit(main())
