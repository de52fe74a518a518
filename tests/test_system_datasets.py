"""Fashion-MNIST from where Debian's dataset-fashion-mnist installs it: unpacked into the folder torchvision reads."""

import gzip
import struct

import numpy as np
import pytest

from s5utils.data.system_datasets import IDX_FILES, place_system_copy, system_copy
from s5utils.notebooks.parameters import NotebookConfigError, config_from_globals


def write_idx_gz(folder, n: int = 12) -> None:
    """Four gzipped IDX files as the package ships them: n 28x28 images and n labels per split."""
    rng = np.random.default_rng(0)
    for name in IDX_FILES:
        if "images" in name:
            body = struct.pack(">IIII", 0x803, n, 28, 28) + rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes()
        else:
            body = struct.pack(">II", 0x801, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()
        with gzip.open(folder / f"{name}.gz", "wb") as f:
            f.write(body)


def test_the_system_copy_is_unpacked_where_torchvision_reads_fashion_mnist(tmp_path):
    datasets = pytest.importorskip("torchvision.datasets")
    system, root = tmp_path / "usr-share-datasets-fashion-mnist", tmp_path / "data"
    system.mkdir()
    write_idx_gz(system)
    assert system_copy("FashionMNIST", system) == system
    assert place_system_copy("FashionMNIST", root, system)
    train = datasets.FashionMNIST(root, train=True, download=False)  # torchvision's own reader, no download
    assert len(train) == 12 and train.targets.tolist() == [i % 10 for i in range(12)]
    assert train.classes[0] == "T-shirt/top"


def test_no_system_copy_means_false_and_nothing_written(tmp_path):
    assert system_copy("FashionMNIST", tmp_path) is None
    assert not place_system_copy("FashionMNIST", tmp_path / "data", tmp_path)
    assert not (tmp_path / "data").exists()


def test_a_notebooks_own_parameter_outside_its_choices_is_one_line():
    namespace = {"dataset": "CIFAR100", "epochs": 1}
    with pytest.raises(NotebookConfigError) as info:
        config_from_globals(namespace, choices={"dataset": ["FashionMNIST", "CIFAR10"]})
    assert str(info.value) == "dataset must be one of 'FashionMNIST', 'CIFAR10', got 'CIFAR100'"
    assert info.value._render_traceback_() == [f"ConfigError: {info.value}"]
    config_from_globals({"dataset": "CIFAR10", "epochs": 1}, choices={"dataset": ["FashionMNIST", "CIFAR10"]})
