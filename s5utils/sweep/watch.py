"""A sweep on a cluster whose workers come and go (batch jobs that reach their walltime or are preempted).

Dask moves a run whose worker left to another worker by itself; this module bounds the two ways that can go
on for ever: no worker at all for worker_timeout seconds (a queue that never schedules the next job) stops
the sweep, and a run whose worker left mid-run max_starts times in a row without getting it further (jobs too
short for a run, or for the stretch between two of its checkpoints) is failed.
"""

import time
from collections.abc import Iterator

from s5utils.sweep.cluster import SweepError

POLL_SECONDS = 1.0  # how often the scheduler is asked about its workers while runs are out


def starts_in_a_row(checkpoints: list) -> int:
    """How many of a run's last starts began from the same checkpoint as its latest (1 after any progress)."""
    count = 0
    for checkpoint in reversed(checkpoints):
        if checkpoint != checkpoints[-1]:
            break
        count += 1
    return count


def where(checkpoint: tuple[int, int]) -> str:
    """'from scratch', 'after epoch 2' or 'in epoch 3 after batch 40'."""
    epoch, batches = checkpoint
    if not epoch and not batches:
        return "from scratch"
    return f"in epoch {epoch + 1} after batch {batches}" if batches else f"after epoch {epoch}"


def as_finished(
    client,
    futures: dict,
    starts: dict[str, list],
    worker_timeout: float | None = None,
    max_starts: int | None = None,
    checkpoints: dict[str, list] | None = None,
) -> Iterator[tuple[object, str | None]]:
    """Yield (future, why it was given up or None) as each run's future finishes.

    futures maps each future to its run; starts maps a run id to the workers it started on, in order, and
    checkpoints to the (epoch, batches) each start began from: max_starts counts the starts in a row from one
    checkpoint (without checkpoints, every start). Without worker_timeout and max_starts this is distributed's
    as_completed, nothing polled.
    """
    from distributed import as_completed

    finished = as_completed(futures)
    if worker_timeout is None and max_starts is None:
        for future in finished:
            yield future, None
        return
    given_up: dict[str, str] = {}
    last_seen = time.monotonic()
    while not finished.is_empty():
        batch = finished.next_batch(block=False)
        for future in batch:
            yield future, given_up.get(future.key)
        if batch:
            continue
        workers = set(client.scheduler_info()["workers"])
        if workers:
            last_seen = time.monotonic()
        elif worker_timeout is not None and time.monotonic() - last_seen > worker_timeout:
            left = sum(not future.done() for future in futures)
            raise SweepError(
                f"no Dask worker has been connected for {worker_timeout:g} s while {left} run(s) remain "
                "(no batch job could start?)"
            )
        if max_starts:
            for future, run in futures.items():
                tried = starts[run["run_id"]]
                began = (checkpoints or {}).get(run["run_id"]) or []
                in_a_row = starts_in_a_row(began) if len(began) == len(tried) else len(tried)
                if tried and in_a_row >= max_starts and tried[-1] not in workers and not future.done():
                    since = f" {where(began[-1])}" if len(began) == len(tried) else ""
                    given_up[future.key] = (
                        f"its worker left mid-run {in_a_row} time(s) in a row{since}, the limit (--max-starts "
                        f"{max_starts}): do the jobs live long enough for a run, or for the time between two of its "
                        "checkpoints? (docs/sweeps.md)"
                    )
                    future.cancel()
        time.sleep(POLL_SECONDS)
