import pytest

from s5utils.data.provision import provision_mnist


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A data root provisioned once per test session, the way a user's first run does it."""
    root = tmp_path_factory.mktemp("data")
    provision_mnist(root, quiet=True)
    return root
