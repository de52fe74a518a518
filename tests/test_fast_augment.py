"""The batched augmentation reproduces the seed's per-image transforms, with parameters drawn per sample."""

import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision import datasets

from s5utils.data.batch_augment import (
    center_crop_resize,
    draw_params,
    normalize,
    random_affine,
    rotate,
    seed_augment,
    translate,
)
from s5utils.data.mnist import MNIST_MEAN, MNIST_STD

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
    for image, c, a in zip(images, crop, angles, strict=False):
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


def test_a_crop_does_not_depend_on_the_rest_of_the_batch(images, params):
    # The whole batch is resized and the mask picks (no wait for the mask on a GPU): uncropped images come
    # back untouched, cropped ones exactly as when cropped alone.
    crop = params[0]
    out = center_crop_resize(images, crop)
    assert torch.equal(out[~crop], images[~crop].float())
    alone = [center_crop_resize(images[i : i + 1], torch.ones(1, dtype=torch.bool)) for i in crop.nonzero().flatten()]
    assert torch.equal(out[crop], torch.cat(alone))


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


def test_random_affine_with_zero_ranges_is_just_normalize(images):
    out = random_affine(images, torch.Generator().manual_seed(0), degrees=0, shift=0, scale=0)
    assert torch.allclose(out, normalize(images), atol=1e-4)


def test_random_affine_moves_each_copy_of_a_digit_its_own_way_within_bounds(images):
    batch = images[:1].repeat(16, 1, 1, 1)
    out = random_affine(batch, torch.Generator().manual_seed(0), degrees=10, shift=2, scale=0.1)
    assert out.dtype == torch.float32 and out.shape == batch.shape
    assert len({o.numpy().tobytes() for o in out}) == 16
    shifted = random_affine(batch, torch.Generator().manual_seed(1), degrees=0, shift=2, scale=0)
    moved = centre_of_mass(shifted * MNIST_STD + MNIST_MEAN) - centre_of_mass(normalize(batch) * MNIST_STD + MNIST_MEAN)
    assert moved.abs().max() <= 2.05 and moved.abs().max() > 1.0 and moved.std(0).min() > 0.3


def centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """(N, 2) intensity-weighted (x, y) centre of each image, in pixels."""
    weights = images.clamp(min=0).squeeze(1)
    coords = torch.arange(images.shape[-1], dtype=torch.float32)
    total = weights.sum((1, 2))
    return torch.stack([(weights.sum(1) * coords).sum(1) / total, (weights.sum(2) * coords).sum(1) / total], 1)
