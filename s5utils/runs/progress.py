"""One summary line per epoch, with an estimate of the time left: a fit() callback.

The line has a fixed shape, `[epoch k/N] ...`, so a program watching a notebook's output (make run, a sweep)
can pick it out of everything else the notebook prints; see s5utils.notebooks.execute.
"""

import re
import time

PROGRESS_LINE = re.compile(r"^\[epoch \d+/\d+\] ")


def is_progress_line(line: str) -> bool:
    """Whether line is one of EpochProgress's lines."""
    return PROGRESS_LINE.match(line) is not None


def duration(seconds: float) -> str:
    """'40 s', '3.7 min' or '1.2 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def progress_line(row: dict, epochs: int, seconds_left: float | None) -> str:
    """`[epoch 2/20] train 95.12%, test 98.01%, 12.3 s; about 3.7 min left` for one history row."""
    left = "done" if seconds_left is None else f"about {duration(seconds_left)} left"
    return (
        f"[epoch {row['epoch']}/{epochs}] train {row['train_acc']:.2f}%, test {row['test_acc']:.2f}%, "
        f"{row['seconds']:.1f} s; {left}"
    )


class EpochProgress:
    """A fit() callback that prints one line per epoch: accuracies, seconds, and the time left for `epochs` epochs.

    The estimate is the mean wall time between this callback's calls (the epoch's own time for the first),
    so checkpointing and recording are counted too.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self._last: float | None = None
        self._spent: list[float] = []
        self.line: str | None = None  # the latest line printed (LiveCurves shows it under the figure)

    def __call__(self, state) -> None:
        """After an epoch of state (a TrainingState): print its line."""
        history = state.history
        now = time.perf_counter()
        row = history[-1]
        self._spent.append(row["seconds"] if self._last is None else now - self._last)
        self._last = now
        remaining = self.epochs - len(history)
        seconds_left = sum(self._spent) / len(self._spent) * remaining if remaining > 0 else None
        self.line = progress_line(row, self.epochs, seconds_left)
        print(self.line, flush=True)
