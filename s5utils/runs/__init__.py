"""Runs: the folder a run writes, its records, TensorBoard, the progress line, the live plot, the recipe runner.

    folder            RunFolder: checkpoint.pt, metrics.json and TensorBoard events after every epoch
    records           run directories, metrics.json and the training plot, never overwritten
    tensorboard_log   TensorBoard scalars, hyperparameters and mistakes of a run or a sweep
    progress          one line per epoch with the time left
    live_plot         the curves redrawn in place in a notebook
    recipe_runner     a recipe end to end: data, Net, optimizer, schedule, fit into a run folder; resume

Imports the basics, data, training and study, nothing above.
"""

from s5utils.compat import forwarded


def __getattr__(name: str):
    # 0.1.0 code imported names from the module s5utils/runs.py, which this package replaced.
    return forwarded("runs", name)
