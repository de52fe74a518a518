"""The tensor loader: whole MNIST on the device, seeded randperm batches, the seed's augmentation."""

import pytest
import torch
import torch.nn.functional as F

from s5utils import Net, TrainingState, fit, set_seed
from s5utils.data.batch_augment import normalize
from s5utils.data.mnist import MNIST_MEAN, MNIST_STD
from s5utils.data.tensor_loader import TensorLoader, load_mnist_tensors, make_tensor_loaders


@pytest.fixture(scope="module")
def tensors(mnist_root):
    return load_mnist_tensors(mnist_root)


def small_loader(tensors, seed, n=1000, batch_size=128):
    train_x, train_y = tensors[0][:n], tensors[1][:n]
    return TensorLoader(train_x, train_y, batch_size, train=True, generator=torch.Generator().manual_seed(seed))


def test_mnist_is_held_as_uint8_tensors_of_the_canonical_sizes(tensors):
    train_x, train_y, test_x, test_y = tensors
    assert train_x.shape == (60_000, 1, 28, 28) and test_x.shape == (10_000, 1, 28, 28)
    assert train_x.dtype == torch.uint8 and train_y.shape == (60_000,) and test_y.shape == (10_000,)


def test_an_epoch_visits_every_training_image_once_in_shuffled_batches(tensors):
    loader = small_loader(tensors, seed=0, n=1000, batch_size=128)
    labels = torch.cat([y for _, y in loader])
    assert len(loader) == 8 and labels.numel() == 1000
    assert torch.equal(labels.sort().values, tensors[1][:1000].sort().values)
    assert not torch.equal(labels, tensors[1][:1000])


def test_a_seeded_generator_repeats_the_batches_and_each_epoch_differs(tensors):
    first, again = small_loader(tensors, seed=5), small_loader(tensors, seed=5)
    x1, y1 = next(iter(first))
    x2, y2 = next(iter(again))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, y3 = next(iter(first))  # second epoch of the same loader
    assert not torch.equal(y1, y3)


def test_test_batches_are_in_order_and_only_normalized(tensors):
    test = TensorLoader(tensors[2], tensors[3], 1000, train=False)
    x, y = next(iter(test))
    assert torch.equal(y, tensors[3][:1000]) and torch.equal(x, normalize(tensors[2][:1000]))
    assert x.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD)


def test_channels_last_batches_hold_the_same_values(tensors):
    loader = TensorLoader(tensors[2][:64], tensors[3][:64], 64, train=False, channels_last=True)
    x, _ = next(iter(loader))
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, normalize(tensors[2][:64]))


def test_non_uint8_images_are_refused_with_the_fix(tensors):
    with pytest.raises(ValueError, match="images must be a uint8 tensor"):
        TensorLoader(tensors[0][:8].float(), tensors[1][:8], 4, train=True)


def test_fit_trains_net_from_the_tensor_loaders_unchanged(mnist_root):
    set_seed(0)
    train, test = make_tensor_loaders(mnist_root, batch_size=64, device="cpu", seed=0)
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # SGD at the seed's lr starts too slowly to see
    state = TrainingState(model, optimizer, train, test, loss_fn=F.nll_loss, max_batches=30)
    history = fit(state, epochs=1, progress=False)
    assert history[0]["test_seen"] == 30 * 64 and history[0]["test_acc"] > 50  # test batches of the train size
