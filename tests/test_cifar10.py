"""CIFAR-10 from a folder in its published on-disk format (read by torchvision's real reader), albumentations presets,
the norm switch and One Cycle; then a small colour model through fit, gallery, per_class_accuracy and GradCAM."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

import s5utils
from s5utils import (
    AlbumentationsTransform,
    DataError,
    cifar10_datasets,
    denormalize,
    norm_layer,
    one_cycle,
    s9_augmentation,
    s10_augmentation,
)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# Ten well-separated colours: the eight corners of the RGB cube, grey and orange.
COLOURS = np.array([[r, g, b] for r in (40, 215) for g in (40, 215) for b in (40, 215)] + [[128] * 3, [215, 128, 40]])


def batch(rng, n: int) -> dict:
    """n images as the published batches hold them: 3072 uint8 per row (R plane, G plane, B plane), labels a list.
    Each class is a colour with noise, so a small model can learn it."""
    labels = np.arange(n) % 10
    pixels = COLOURS[labels][:, :, None, None] + rng.integers(-20, 21, size=(n, 3, 32, 32))
    data = np.clip(pixels, 0, 255).astype(np.uint8).reshape(n, 3072)
    return {
        "batch_label": "generated",
        "labels": labels.tolist(),
        "data": data,
        "filenames": [f"{i}.png" for i in labels],
    }


def write_cifar_folder(root, per_batch: int = 20, n_test: int = 40):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, n in [*((f"data_batch_{i}", per_batch) for i in range(1, 6)), ("test_batch", n_test)]:
        (folder / name).write_bytes(pickle.dumps(batch(rng, n), protocol=2))
    meta = {"label_names": CLASSES, "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar_folder(root)
    return root


def test_the_published_format_reads_as_3x32x32_items_with_classes_and_computed_stats(cifar_root):
    train, test = cifar10_datasets(cifar_root, download=False, verify=False)
    assert len(train) == 100 and len(test) == 40
    assert train.classes == test.classes == CLASSES
    image, label = train[3]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and label == 3
    pixels = torch.from_numpy(train.data).permute(0, 3, 1, 2)
    assert np.allclose(train.mean, s5utils.channel_stats(pixels)[0]) and np.allclose(
        train.std, s5utils.channel_stats(pixels)[1]
    )
    assert np.allclose(denormalize(image, train.mean, train.std), pixels[3] / 255, atol=1e-5)


def test_a_missing_or_unverified_folder_is_one_line_naming_the_folder_and_the_fix(tmp_path, cifar_root):
    with pytest.raises(DataError) as missing:
        cifar10_datasets(tmp_path, download=False)
    with pytest.raises(DataError) as corrupt:  # a generated folder fails torchvision's md5 of the published files
        cifar10_datasets(cifar_root, download=False)
    for info in (missing, corrupt):
        message = str(info.value)
        assert "\n" not in message and "cifar-10-batches-py" in message and "download=True" in message
    assert str(tmp_path) in str(missing.value) and "verify=False" in str(corrupt.value)


def test_albumentations_takes_pil_or_arrays_and_gives_float_chw_tensors():
    A = pytest.importorskip("albumentations")
    transform = AlbumentationsTransform(A.Compose([A.HorizontalFlip(p=1.0)]))
    array = np.zeros((4, 6, 3), dtype=np.uint8)
    array[:, 0] = 255  # left column white
    for given in (array, Image.fromarray(array)):
        out = transform(given)
        assert out.shape == (3, 4, 6) and out.dtype == torch.float32
        assert out[:, :, -1].eq(1).all() and out[:, :, 0].eq(0).all()  # flipped, scaled to [0, 1]
    with pytest.raises(TypeError, match="PIL image"):
        transform("image.png")


@pytest.mark.parametrize("preset", [s9_augmentation, s10_augmentation])
def test_the_presets_fill_their_hole_with_the_mean_and_normalize(preset):
    pytest.importorskip("albumentations")
    mean, std = (0.5, 0.25, 0.75), (0.2, 0.2, 0.2)
    transform = preset(mean, std)
    names = [type(t).__name__ for t in transform.compose.transforms]
    assert "CoarseDropout" in names and names[-1] == "Normalize"
    dropout = transform.compose.transforms[names.index("CoarseDropout")]
    assert dropout.num_holes_range == (1, 1) and tuple(dropout.fill) == (127.5, 63.75, 191.25)
    out = transform(np.full((32, 32, 3), 128, dtype=np.uint8))
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32


def test_norm_layer_switches_bn_gn_ln_and_names_the_choices_otherwise():
    assert isinstance(norm_layer("bn", 8), nn.BatchNorm2d)
    gn, ln = norm_layer("gn", 8, groups=2), norm_layer("ln", 8)
    assert isinstance(gn, nn.GroupNorm) and gn.num_groups == 2 and ln.num_groups == 1
    x = torch.randn(2, 8, 4, 4) * 3 + 1
    y = ln(x)  # each image normalized over all its channels and pixels
    assert torch.allclose(y.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5)
    with pytest.raises(ValueError) as info:
        norm_layer("in", 8)
    assert str(info.value) == "unknown norm kind 'in'; choose one of 'bn', 'gn', 'ln'"
    with pytest.raises(ValueError, match="divisible"):
        norm_layer("gn", 6, groups=4)


@pytest.mark.parametrize("k", [1, 7])
def test_one_cycle_over_24_epochs_peaks_at_step_5k_and_falls_linearly(k):
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = one_cycle(optimizer, max_lr=0.4, epochs=24, steps_per_epoch=k, peak_epoch=5)
    lrs = []
    for _ in range(24 * k):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    lrs = np.array(lrs)
    assert lrs.argmax() == 5 * k and lrs.max() == pytest.approx(0.4) and lrs[0] == pytest.approx(0.4 / 25)
    assert np.allclose(np.diff(np.diff(lrs[5 * k :])), 0, atol=1e-12)  # two phases, each a straight line
    assert 0 < optimizer.param_groups[0]["lr"] < lrs[-1]  # fit's step after the last batch ends the cycle, no further
    with pytest.raises(ValueError, match="peak_epoch"):
        one_cycle(optimizer, 0.4, epochs=5, steps_per_epoch=k, peak_epoch=5)


class SmallColourNet(nn.Module):
    def __init__(self, norm: str = "bn") -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), norm_layer(norm, 8), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), norm_layer(norm, 16),
        )  # fmt: skip
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def test_a_colour_model_trains_on_the_folder_and_goes_through_the_study_tools(cifar_root):
    s5utils.set_seed(0)
    train, test = cifar10_datasets(cifar_root, download=False, verify=False)
    loaders = s5utils.make_loaders(train, test, 25, "cpu", seed=0)
    model = SmallColourNet("gn")
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = one_cycle(optimizer, 0.03, epochs=3, steps_per_epoch=len(loaders[0]), peak_epoch=1)
    state = s5utils.TrainingState(model, optimizer, *loaders, batch_scheduler=scheduler)
    history = s5utils.fit(state, 3, progress=False)
    assert history[-1]["test_acc"] >= 80  # one colour per class: learnable in a few steps

    preds = s5utils.predict(model, loaders[1])
    accuracy = s5utils.per_class_accuracy(preds, train.classes)
    assert list(accuracy) == CLASSES and np.mean(list(accuracy.values())) == pytest.approx(history[-1]["test_acc"])
    fig = s5utils.gallery(preds, n=10, cols=5, class_names=train.classes, mean=train.mean, std=train.std)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 10 and all(t.split("\n")[0][5:] in CLASSES for t in titles)
    assert np.asarray(fig.axes[0].get_images()[0].get_array()).shape == (32, 32, 3)
    cam = s5utils.gradcam_gallery(model, preds, "features.4", class_names=train.classes, mean=train.mean, std=train.std)
    assert len([ax for ax in cam.axes if ax.get_title()]) == 10
