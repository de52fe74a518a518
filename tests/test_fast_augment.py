"""The batched augmentation reproduces the seed's per-image transforms, with parameters drawn per sample."""
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision import datasets

from s5utils.augment import center_crop_resize, draw_params, rotate, seed_augment, translate
from s5utils.data import MNIST_MEAN, MNIST_STD

N = 48


@pytest.fixture(scope="module")
def images(mnist_root):
    """The first N training digits as uint8 (N, 1, 28, 28)."""
    return datasets.MNIST(mnist_root, train=True, download=False).data[:N].unsqueeze(1)


@pytest.fixture(scope="module")
def params():
    """Every other image cropped; angles spread over the whole +-15 degree range."""
    return torch.arange(N) % 2 == 0, torch.linspace(-15, 15, N)


def per_image(images, crop, angles, to_image):
    """torchvision's own crop/resize/rotate, image by image, for the given parameters (0-255 floats)."""
    out = []
    for image, c, a in zip(images, crop, angles):
        img = to_image(image)
        if c:
            img = TF.center_crop(img, 22)
        img = TF.rotate(TF.resize(img, [28, 28]), a.item(), fill=0)
        out.append((TF.pil_to_tensor(img) if isinstance(img, Image.Image) else img).float())
    return torch.stack(out)


def test_batch_equals_torchvision_tensor_transforms_for_the_same_parameters(images, params):
    # Same sampling grid and same bilinear kernel as torchvision's tensor path: only float rounding may differ.
    expected = per_image(images, *params, to_image=lambda t: t)
    assert (rotate(center_crop_resize(images, params[0]), params[1]) - expected).abs().max() <= 1e-3


def test_batch_matches_the_seeds_pil_transforms_up_to_rounding_and_nearest_ties(images, params):
    # The seed's DataLoader runs PIL: its fixed-point bilinear resize may differ by one grey level, and its
    # nearest-neighbour rotation may pick the other neighbour where a sample point falls on a pixel border.
    crop, angles = params
    pil = lambda t: Image.fromarray(t[0].numpy())
    resized = center_crop_resize(images, torch.ones(N, dtype=torch.bool))
    assert (resized - per_image(images, torch.ones(N, dtype=torch.bool), torch.zeros(N), pil)).abs().max() <= 1
    different = (rotate(center_crop_resize(images, crop), angles) - per_image(images, crop, angles, pil)).abs() > 1
    assert different.float().mean() < 1e-3


def test_each_sample_gets_its_own_angle_and_crop_coin():
    crop, angles = draw_params(10_000, torch.Generator().manual_seed(0))
    assert angles.unique().numel() > 9_900 and -15 <= angles.min() < -14.9 and 14.9 < angles.max() <= 15
    assert 0.09 < crop.float().mean() < 0.11


def test_copies_of_one_digit_come_out_differently_and_normalized(images):
    batch = images[:1].repeat(16, 1, 1, 1)
    out = seed_augment(batch, torch.Generator().manual_seed(0))
    assert out.dtype == torch.float32 and out.shape == batch.shape
    # Angles within ~1 degree of each other can round to the same nearest-neighbour image.
    assert len({o.numpy().tobytes() for o in out}) >= 12
    assert out.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD)


def test_a_seeded_generator_repeats_the_augmentation(images):
    first = seed_augment(images, torch.Generator().manual_seed(3))
    assert torch.equal(first, seed_augment(images, torch.Generator().manual_seed(3)))


def test_translate_shifts_by_whole_pixels_and_fills_black():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    shifted = translate(x, dx=1, dy=0)
    assert torch.equal(shifted[..., 1:], x[..., :-1])
    assert (shifted[..., 0] == -MNIST_MEAN / MNIST_STD).all()
    assert torch.equal(translate(translate(x, 0, -1), 0, 1)[..., 1:, :], x[..., 1:, :])
