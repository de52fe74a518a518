"""Notebooks: the parameters cell and the run folder of a notebook, executing notebooks, Colab.

    parameters     validate a notebook's parameters cell and open its run folder; TensorBoard in the notebook
    execute        execute a notebook with papermill, passing on its one line per epoch
    run_notebook   `python -m s5utils.run_notebook IN OUT -p name value` (make run)
    colab          Colab: detect it, keep run folders on Google Drive, continue a cut run

Imports everything below it (data, training, study, runs), nothing above.
"""
