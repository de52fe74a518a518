"""LiveCurves: a fit() callback that keeps the curves and the latest epoch's line at the top of a cell's output.

Made before epoch 1, it displays plot_curves' figure (still empty) and a line of text under it; after every
epoch it replaces both through their display ids (IPython's update_display). JupyterLab and Colab redraw them
where they stand, above the lines the epochs print, so the latest epoch's line and the curves stay in view
together however long the log grows. An executed notebook (papermill, nbclient) keeps only the last version:
the saved notebook holds one final figure and one line, not one per epoch.
"""

import io

from s5utils.runs.progress import EpochProgress, progress_line
from s5utils.study.plots import plot_curves


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _png(figure) -> dict:
    """figure as the mimebundle Jupyter's inline backend would publish, without depending on its set-up."""
    import base64

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": repr(figure)}


class LiveCurves:
    """Loss and accuracy, train and test, and the latest epoch's line, redrawn in place after every epoch.

    progress: the run's EpochProgress, whose latest line (with the time left) shows under the figure; put
    LiveCurves after it in the callbacks. Outside IPython (the command line) it shows nothing.
    """

    def __init__(self, progress: EpochProgress | None = None) -> None:
        self.progress = progress
        self._figure = self._line = None
        if _in_ipython():
            from IPython.display import display

            # Displayed now, before epoch 1, so the figure heads the cell's output and the epochs print below it.
            self._figure = display(_png(plot_curves([], self._epochs())), raw=True, display_id=True)
            self._line = display(
                {"text/plain": "Training: the curves appear here when an epoch ends"}, raw=True, display_id=True
            )

    def _epochs(self) -> int | None:
        return self.progress.epochs if self.progress is not None else None

    def __call__(self, state) -> None:
        """After an epoch of state (a TrainingState): draw the history so far over the previous figure."""
        if self._figure is None:
            return
        history = state.history
        if self.progress is not None and self.progress.line is not None:
            line = self.progress.line
        else:
            line = progress_line(history[-1], self._epochs() or history[-1]["epoch"], None)
        self._figure.update(_png(plot_curves(history, self._epochs())), raw=True)
        self._line.update({"text/plain": line}, raw=True)
