import pytest

from s5utils.data.provision import provision_mnist


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A data root provisioned once per test session, the way a user's first run does it."""
    root = tmp_path_factory.mktemp("data")
    provision_mnist(root, quiet=True)
    return root


# The files that take a minute or more, longest first (from `pytest --durations` on 2 cores). Collected first,
# they start first: with one file per test process (pytest-xdist, --dist loadfile --no-loadscope-reorder) the
# short files then fill the gaps at the end instead of one long file running alone after the rest.
SLOW_FILES = (
    "test_sweep.py",
    "test_sweep_cluster.py",
    "test_benchmarks.py",
    "test_slurm_sweep.py",
    "test_colab_like.py",
    "test_app.py",
    "test_jupyterlab.py",
    "test_sweep_tensorboard.py",
    "test_notebooks_as_committed.py",
    "test_reliability_resume.py",
    "test_docs.py",
    "test_fast_recipe.py",
    "test_notebook_exec.py",
    "test_precision.py",
    "test_notebooks.py",
    "test_papermill.py",
    "test_reliability_faults.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order
