"""LiveCurves: a fit() callback that redraws one figure of the curves in place after every epoch.

It displays plot_curves' figure (loss and accuracy, train and test) once, then replaces it through the
same display id (IPython's update_display). JupyterLab and Colab redraw it where it stands; an executed
notebook (papermill, nbclient) keeps only the last version, so the saved notebook holds one final figure,
not one per epoch.
"""
from s5utils.study.plots import plot_curves


class LiveCurves:
    """Loss and accuracy, train and test, redrawn after every epoch in a notebook cell's output."""

    def __init__(self) -> None:
        self._handle = None

    def __call__(self, state) -> None:
        """After an epoch of state (a TrainingState): draw the history so far over the previous figure."""
        from IPython.display import display

        figure = plot_curves(state.history)  # a bare Figure, outside pyplot: the cell's end shows nothing more
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
