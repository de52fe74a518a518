import hashlib
import pickle
import shutil

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from s5utils import DataError, make_loaders, mnist_datasets, provision_mnist, verify_mnist
from s5utils.data.provision import load_pickled_splits, raw_dir, write_idx_files

# torchvision's md5s, as DEVELOPERS.md gives them.
CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


@pytest.fixture
def copied_root(mnist_root, tmp_path):
    shutil.copytree(raw_dir(mnist_root), raw_dir(tmp_path))
    return tmp_path


def test_provision_leaves_the_four_canonical_idx_files(mnist_root):
    for name, expected in CANONICAL_MD5.items():
        assert hashlib.md5((raw_dir(mnist_root) / name).read_bytes()).hexdigest() == expected
    assert sorted(p.name for p in raw_dir(mnist_root).iterdir()) == sorted(CANONICAL_MD5)


def test_datasets_have_the_canonical_sizes(mnist_root):
    train, test = mnist_datasets(mnist_root)
    assert (len(train), len(test)) == (60_000, 10_000)
    image, label = train[0]
    assert image.shape == (1, 28, 28) and isinstance(label, int)


def test_an_edited_byte_is_caught_on_use_and_named(copied_root):
    path = raw_dir(copied_root) / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte is corrupted.*python -m s5utils data"):
        mnist_datasets(copied_root)


def test_a_truncated_file_is_caught(copied_root):
    path = raw_dir(copied_root) / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte is corrupted"):
        verify_mnist(copied_root)


def test_repair_sets_the_bad_file_aside_and_restores_the_canonical_one(copied_root):
    path = raw_dir(copied_root) / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"not mnist")
    provision_mnist(copied_root, repair=True, quiet=True)
    assert hashlib.md5(path.read_bytes()).hexdigest() == CANONICAL_MD5[path.name]
    assert (path.parent / (path.name + ".corrupt")).read_bytes() == b"not mnist"


def test_idx_files_written_from_arrays_read_back_in_torchvision(tmp_path):
    rng = np.random.default_rng(0)
    split = lambda n: (rng.integers(0, 256, (n, 784)) / 256, rng.integers(0, 10, n))
    splits = (split(5), split(3), split(4))
    write_idx_files(splits, tmp_path)
    train = read_image_file(str(tmp_path / "train-images-idx3-ubyte"))
    assert train.shape == (8, 28, 28)
    assert torch.equal(train[:5].flatten(1), torch.from_numpy(np.rint(splits[0][0] * 256)).to(torch.uint8))
    assert read_label_file(str(tmp_path / "t10k-labels-idx1-ubyte")).tolist() == splits[2][1].tolist()


def test_the_fallback_unpickler_refuses_anything_but_arrays():
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # os.system("echo pwned")
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        load_pickled_splits(evil)
    arrays = pickle.dumps((np.arange(3), np.ones(2)), protocol=2)
    assert load_pickled_splits(arrays)[0].tolist() == [0, 1, 2]


def test_train_loader_shuffles_on_cpu_and_follows_the_seed(mnist_root):
    train, test = mnist_datasets(mnist_root)
    first = lambda seed: next(iter(make_loaders(train, test, 64, torch.device("cpu"), 0, seed)[0]))[1]
    in_order = torch.tensor([train.targets[i] for i in range(64)])
    assert not torch.equal(first(0), in_order)
    assert torch.equal(first(0), first(0))
    assert not torch.equal(first(0), first(1))
