"""What the notebook shows about a model: its architecture picture, its mistakes, its confusion matrix."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Subset

from s5utils import Net, mnist_datasets
from s5utils.study.architecture import draw_architecture
from s5utils.study.mistakes import Predictions, confusion_matrix, format_confusion, gallery, predict, take


class AlwaysThree(nn.Module):
    """Predicts class 3 for every image, with probability 0.5."""

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 10)
        logits[:, 3] = torch.log(torch.tensor(9.0))  # e^log9 / (e^log9 + 9) = 0.5
        return logits


def test_architecture_picture_is_drawn_from_the_model_layers():
    texts = [t.get_text() for t in draw_architecture(Net()).axes[0].texts if t.get_text()]  # arrows have none
    assert texts[0] == "input\n1x28x28"
    assert texts[1] == "Conv2d 1->32, 3x3\nout 32x26x26   320 params"
    assert texts[6] == "Linear 50->10\nout 10   510 params"
    assert texts[-1] == "Net: 593,200 parameters"
    other = nn.Sequential(nn.Conv2d(1, 4, 5), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 24 * 24, 2))
    assert [t.get_text().split("\n")[0] for t in draw_architecture(other).axes[0].texts if t.get_text()][1:5] == [
        "Conv2d 1->4, 5x5",
        "BatchNorm2d",
        "Flatten",
        "Linear 2304->2",
    ]


def test_predict_keeps_every_image_with_label_prediction_and_confidence(mnist_root):
    _, test = mnist_datasets(mnist_root)
    preds = predict(AlwaysThree(), DataLoader(Subset(test, range(20)), batch_size=8))
    assert len(preds) == 20 and preds.images.shape == (20, 1, 28, 28)
    assert preds.targets.tolist() == [int(test.targets[i]) for i in range(20)]
    assert set(preds.predicted.tolist()) == {3}
    assert torch.allclose(preds.confidence, torch.full((20,), 0.5))
    wrong = preds.wrong()
    assert len(wrong) == sum(t != 3 for t in preds.targets.tolist()) and 3 not in wrong.targets.tolist()


def test_predict_under_bf16_autocast_and_channels_last_keeps_the_images_as_the_loader_gave_them(mnist_root):
    _, test = mnist_datasets(mnist_root)
    loader = DataLoader(Subset(test, range(64)), batch_size=32)
    torch.manual_seed(0)
    model = Net().to(memory_format=torch.channels_last)
    full = predict(model, loader)
    half = predict(model, loader, amp_dtype=torch.bfloat16, channels_last=True)
    assert half.images.is_contiguous() and torch.equal(half.images, full.images)
    assert half.confidence.dtype == torch.float32 and torch.equal(half.targets, full.targets)
    # bf16 keeps 8 bits of mantissa: the same classes, probabilities within a few per cent
    assert (half.predicted == full.predicted).float().mean() >= 0.95
    assert torch.allclose(half.confidence, full.confidence, atol=0.03)
    assert not torch.equal(half.confidence, full.confidence)  # it did run in bf16


def test_wrong_puts_the_most_confident_mistakes_first():
    preds = Predictions(
        torch.zeros(4, 1, 2, 2),
        torch.tensor([1, 1, 2, 2]),
        torch.tensor([0, 1, 0, 0]),
        torch.tensor([0.6, 0.99, 0.4, 0.9]),
    )
    wrong = preds.wrong()
    assert wrong.predicted.tolist() == [0, 0, 0] and wrong.targets.tolist() == [2, 1, 2]
    assert torch.allclose(wrong.confidence, torch.tensor([0.9, 0.6, 0.4]))


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    counts = confusion_matrix(torch.tensor([0, 1, 1, 2, 2]), torch.tensor([0, 2, 1, 2, 2]), num_classes=3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert format_confusion(counts).splitlines()[2] == "        1      0     1     1   50.00%"


def test_gallery_titles_each_image_with_truth_prediction_and_confidence(mnist_root):
    train, _ = mnist_datasets(mnist_root)
    images, labels = take(train, 3)
    preds = Predictions(images, labels, torch.tensor([5, 9, 4]), torch.tensor([0.931, 0.5, 0.25]))
    titles = [ax.get_title() for ax in gallery(preds, n=3, cols=3).axes]
    assert labels.tolist() == [5, 0, 4]
    assert titles == ["true 5 / pred 5\n(93%)", "true 0 / pred 9\n(50%)", "true 4 / pred 4\n(25%)"]
