"""conftest for nbval runs of the notebooks (copied beside the notebook under test by test_notebooks.py)."""


def pytest_collectstart(collector):
    # tqdm's progress bars and warnings go to stderr and change every run: compare stdout and results only.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
