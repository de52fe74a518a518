"""Execute a notebook with papermill and pass on its one-line-per-epoch progress while it runs.

It is papermill.execute_notebook underneath, with papermill's own progress bar and cell logging off: the
notebook's stdout goes to a small writer that keeps only the `[epoch k/N] ...` lines of EpochProgress
(s5utils.runs.progress), so a terminal or a sweep's log shows one line per epoch and no per-batch bars. The
executed notebook holds what a person sees in Jupyter: each cell's stream messages merged per stream with
carriage returns resolved (nbclient's coalesce_streams), so a progress bar keeps its final state, not every
refresh.
"""

import os
from collections.abc import Callable

from s5utils.runs.progress import is_progress_line

ProgressHandler = Callable[[str], None]
# The kernel's own start-up log (a warning that its local TCP sockets are unencrypted) is not the run's news.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


class ProgressWriter:
    """A file-like object for papermill's stdout_file: hands each complete progress line to on_progress.

    papermill writes every stdout message of the kernel here as it arrives; a line may come in pieces.
    """

    def __init__(self, on_progress: ProgressHandler) -> None:
        self.on_progress = on_progress
        self._partial = ""

    def write(self, text: str) -> int:
        """Take a chunk of the notebook's stdout; complete progress lines in it go to on_progress."""
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            line = line.rstrip("\r")
            if is_progress_line(line):
                self.on_progress(line)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered but an unfinished line."""


def print_progress(line: str) -> None:
    """The default on_progress: the line on this process's stdout, at once."""
    print(line, flush=True)


def execute_notebook(
    notebook: str | os.PathLike,
    output: str | os.PathLike,
    parameters: dict | None = None,
    *,
    kernel_name: str | None = None,
    cwd: str | os.PathLike | None = None,
    on_progress: ProgressHandler | None = None,
) -> dict:
    """papermill.execute_notebook(notebook -> output, parameters); each epoch's progress line goes to on_progress.

    on_progress(line) is called while the notebook runs (default: print it). Returns the executed notebook
    (papermill's NotebookNode, a dict); a failing cell raises papermill's PapermillExecutionError, as papermill does.
    Note that papermill's cwd changes the working directory of this whole process while it runs.
    """
    import papermill as pm

    writer = ProgressWriter(on_progress or print_progress)
    return pm.execute_notebook(
        str(notebook),
        str(output),
        parameters=dict(parameters or {}),
        kernel_name=kernel_name,
        cwd=None if cwd is None else str(cwd),
        progress_bar=False,
        log_output=False,
        stdout_file=writer,
        extra_arguments=QUIET_KERNEL,
        coalesce_streams=True,
    )
