"""The Dask cluster a sweep runs on: a LocalCluster of worker processes, or a running scheduler's workers."""

import importlib.metadata
import logging
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager

CONNECT_TIMEOUT = 5  # seconds: a scheduler that does not answer by then is reported, not waited for
WORKER_TIMEOUT = 30  # seconds a running scheduler may take to show its first worker
CHECKED_PACKAGES = ("distributed", "torch", "s5utils", "papermill")


class SweepError(RuntimeError):
    """A sweep cannot start or go on: a scheduler that does not answer, mismatched versions, a bad sweep folder."""


def default_workers(runs: int, cores: int | None = None) -> int:
    """What fits this machine: one worker per core, no more workers than runs, at least one."""
    return max(1, min(cores or os.cpu_count() or 1, runs))


def threads_per_run(workers: int, cores: int | None = None) -> int:
    """torch threads for each of `workers` concurrent runs on this machine: its cores shared out, at least one."""
    return max(1, (cores or os.cpu_count() or 1) // workers)


def package_version(name: str) -> str | None:
    """name's installed version, None if absent; 'python' is the interpreter's version."""
    if name == "python":
        return platform.python_version()
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_versions(client) -> None:
    """Refuse workers whose Python, distributed, torch, s5utils or papermill differ from this process's, naming them."""
    mismatches = []
    for name in ("python", *CHECKED_PACKAGES):
        here = package_version(name)
        # client.run pickles the function by reference: package_version must exist on the workers, so stdlib only.
        there = (
            client.run(platform.python_version)
            if name == "python"
            else client.run(importlib.metadata.version, name, on_error="return")
        )
        for worker, version in sorted(there.items()):
            version = None if isinstance(version, BaseException) else version
            if version != here:
                mismatches.append(f"{name} {version or 'missing'} on {worker} (here {here or 'missing'})")
    if mismatches:
        raise SweepError(
            "workers differ from this machine: " + "; ".join(mismatches) + ": install the same versions on every worker"
        )


def connect(address: str, worker_timeout: float | None = None):
    """A Client of the scheduler at address, with at least one worker within worker_timeout (default
    WORKER_TIMEOUT) seconds; SweepError within seconds if no scheduler answers."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT} s ({type(exc).__name__}): "
            f"start one with `dask scheduler` and `dask worker {address}`, or leave out --scheduler "
            "(and DASK_SCHEDULER_ADDRESS) to run on this machine"
        ) from None
    worker_timeout = WORKER_TIMEOUT if worker_timeout is None else worker_timeout
    try:
        client.wait_for_workers(1, timeout=worker_timeout)
    except TimeoutError:
        client.close()
        raise SweepError(
            f"the scheduler at {address} has no workers after {worker_timeout:g} s: "
            f"start one with `dask worker {address} --nthreads 1`"
        ) from None
    return client


def check_gpus(client, gpus_per_run: int) -> None:
    """Refuse a GPU sweep when no worker offers that many GPU resources (the runs would wait forever)."""
    offers = [w.get("resources", {}).get("GPU", 0) for w in client.scheduler_info()["workers"].values()]
    if gpus_per_run and not any(offer >= gpus_per_run for offer in offers):
        raise SweepError(
            f"no worker offers {gpus_per_run} GPU(s): start each worker with "
            f"`CUDA_VISIBLE_DEVICES=N dask worker ADDRESS --nthreads 1 --resources GPU=1`"
        )


@contextmanager
def open_client(
    scheduler: str | None,
    workers: int,
    allowed_failures: int,
    gpus_per_run: int = 0,
    worker_timeout: float | None = None,
) -> Iterator:
    """Yield a Client: of the scheduler at `scheduler`, else of a new LocalCluster of `workers` one-thread processes.

    allowed_failures is how many worker deaths a run survives on the LocalCluster (Dask's
    distributed.scheduler.allowed-failures); a running scheduler keeps its own setting, and may take
    worker_timeout seconds (default WORKER_TIMEOUT) to show its first worker.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        client = connect(scheduler, worker_timeout)
        try:
            check_versions(client)
            check_gpus(client, gpus_per_run)
            yield client
        finally:
            client.close()
        return
    # Saturation 1.0: a worker holds only the run it executes, so a dying worker takes no queued run down with it.
    with dask.config.set(
        {"distributed.scheduler.allowed-failures": allowed_failures, "distributed.scheduler.worker-saturation": 1.0}
    ):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            resources={"GPU": gpus_per_run} if gpus_per_run else None,
        )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
