"""Study tools with class names and any channel count: gallery, confusion matrix, per-class accuracy."""

import numpy as np
import pytest
import torch

from s5utils import Predictions, confusion_matrix, format_confusion, gallery, per_class_accuracy, plot_confusion

NAMES = ["plane", "automobile", "bird"]


def preds_of(images):
    targets, predicted = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 2, 1, 2])
    return Predictions(images, targets, predicted, torch.tensor([0.9, 0.8, 0.55, 0.7]))


def test_colour_images_are_shown_in_colour_with_the_data_sets_normalize_undone():
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.1)
    pixels = torch.rand(4, 3, 6, 6)
    normalized = (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    fig = gallery(preds_of(normalized), n=4, cols=2, class_names=NAMES, mean=mean, std=std)
    shown = np.asarray(fig.axes[1].get_images()[0].get_array())
    assert shown.shape == (6, 6, 3)
    assert np.allclose(shown, pixels[1].permute(1, 2, 0).numpy(), atol=1e-5)
    assert fig.axes[1].get_title() == "true automobile\npred bird (80%)"


def test_s5s_call_still_shows_digits_undone_with_mnists_constants_and_numbers_in_titles():
    pixels = torch.rand(4, 1, 5, 5)
    fig = gallery(preds_of((pixels - 0.1307) / 0.3081), n=16)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 4 and len(fig.axes) == 8
    assert fig.axes[2].get_title() == "true 2 / pred 1\n(55%)"
    image = fig.axes[0].get_images()[0]
    assert image.get_cmap().name == "gray_r" and np.allclose(np.asarray(image.get_array()), pixels[0, 0], atol=1e-5)


def test_confusion_table_and_plot_are_labelled_with_class_names():
    preds = preds_of(torch.zeros(4, 3, 2, 2))
    counts = confusion_matrix(preds.targets, preds.predicted, class_names=NAMES)
    assert counts.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    lines = format_confusion(counts, NAMES).splitlines()
    assert lines[0].split() == ["true\\pred", *NAMES, "recall"]
    assert lines[2].split() == ["automobile", "0", "0", "1", "0.00%"]
    assert lines[3].split() == ["bird", "0", "1", "1", "50.00%"]
    ax = plot_confusion(counts, NAMES).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    with pytest.raises(ValueError, match="2 class names for a 3x3"):
        format_confusion(counts, NAMES[:2])


def test_per_class_accuracy_is_the_percent_of_each_class_predicted_right():
    preds = preds_of(torch.zeros(4, 1, 2, 2))
    assert per_class_accuracy(preds, NAMES) == {"plane": 100.0, "automobile": 0.0, "bird": 50.0}
    assert per_class_accuracy(preds) == {"0": 100.0, "1": 0.0, "2": 50.0}
    assert np.isnan(per_class_accuracy(preds, [*NAMES, "cat"])["cat"])
