import pytest

from s5utils.data.provision import provision_mnist


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A data root provisioned once per test session, the way a user's first run does it."""
    root = tmp_path_factory.mktemp("data")
    provision_mnist(root, quiet=True)
    return root


# The files that take minutes, longest first (as `pytest --durations` measured them). Collected first, they start
# first: with one file per test process (pytest-xdist, --dist loadfile) the short files then fill the gaps at the
# end instead of one long file running alone after the rest.
SLOW_FILES = (
    "test_sweep.py",
    "test_sweep_cluster.py",
    "test_slurm_sweep.py",
    "test_colab_like.py",
    "test_app.py",
    "test_benchmarks.py",
    "test_jupyterlab.py",
    "test_sweep_tensorboard.py",
    "test_notebooks_as_committed.py",
    "test_reliability_resume.py",
    "test_precision.py",
    "test_notebook_exec.py",
    "test_docs.py",
    "test_notebooks.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order
