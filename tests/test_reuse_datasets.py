import pytest
import torch
from torchvision import datasets

from s5utils import DataError, channel_stats, mnist_like_datasets, tensor_datasets
from s5utils.data import system_datasets


def own_images(n, seed):
    """A user's own small data set: 3 classes of 8x8 RGB-like images with class-dependent brightness."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = (torch.rand(n, 3, 8, 8, generator=g) * 80 + 60 * y.view(-1, 1, 1, 1)).to(torch.uint8)
    return x, y


def test_channel_stats_are_computed_per_channel_on_the_0_1_scale():
    x, _ = own_images(60, 0)
    mean, std = channel_stats(x)
    scaled = x.double() / 255
    assert mean == pytest.approx([scaled[:, c].mean().item() for c in range(3)])
    assert std == pytest.approx([scaled[:, c].std().item() for c in range(3)])


def test_tensor_datasets_normalize_both_splits_with_the_train_stats():
    train, test = tensor_datasets(*own_images(90, 0), *own_images(30, 1))
    x_train, y_train = train.tensors
    assert x_train.shape == (90, 3, 8, 8) and x_train.dtype == torch.float32 and y_train.dtype == torch.long
    assert x_train.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert (x_train.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3
    raw_test, _ = own_images(30, 1)
    mean, std = channel_stats(own_images(90, 0)[0])
    expected = (raw_test[0, 0, 0, 0].item() / 255 - mean[0]) / std[0]
    assert test.tensors[0][0, 0, 0, 0].item() == pytest.approx(expected, rel=1e-5)


def test_grayscale_images_without_a_channel_axis_get_one():
    x, y = own_images(30, 0)
    train, _ = tensor_datasets(x[:, 0], y, x[:6, 0], y[:6])
    assert train.tensors[0].shape == (30, 1, 8, 8)


def test_mismatched_labels_are_a_clear_error():
    x, y = own_images(30, 0)
    with pytest.raises(ValueError, match="x_train has 30 images but y_train has 29 labels"):
        tensor_datasets(x, y[:29], x, y)


def test_unknown_data_set_names_the_choices():
    with pytest.raises(ValueError, match="unknown data set 'cifar'.*FashionMNIST, KMNIST, EMNIST"):
        mnist_like_datasets("cifar")


def test_fashion_mnist_offline_fails_with_a_clear_message(tmp_path, monkeypatch):
    # A closed local port stands in for "no internet", whatever network this machine has.
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    # ...and no Debian dataset-fashion-mnist, whether this machine has it installed or not.
    monkeypatch.setitem(system_datasets.SYSTEM_FOLDERS, "FashionMNIST", tmp_path / "not-installed")
    with pytest.raises(DataError, match="could not provision FashionMNIST .*Only MNIST has an offline fallback"):
        mnist_like_datasets("fashion-mnist", root=tmp_path)
    assert not list((tmp_path / "FashionMNIST" / "raw").glob("*-ubyte"))


def test_missing_files_without_download_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError, match=f"copy its raw files into {tmp_path / 'KMNIST' / 'raw'}"):
        mnist_like_datasets("KMNIST", root=tmp_path, download=False)


def test_mnist_keeps_the_seed_pipeline(mnist_root):
    train, test = mnist_like_datasets("MNIST", root=mnist_root)
    assert len(train) == 60_000 and len(test) == 10_000


def test_an_unknown_emnist_split_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown EMNIST split 'vowels'; choose one of byclass, bymerge"):
        mnist_like_datasets("EMNIST", root=tmp_path, split="vowels")
