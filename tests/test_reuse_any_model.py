"""A custom model on a non-MNIST data set (a user's own tensors) goes through fit, the plots and the study tools."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch.utils.data import DataLoader

import s5utils


def own_data(n, seed):
    """3 classes of 3x8x8 uint8 images: a bright square in a class-dependent corner."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randint(0, 60, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
    for cls, (r, c) in enumerate([(0, 0), (0, 4), (4, 2)]):
        x[y == cls, :, r : r + 4, c : c + 4] += 150
    return x, y


class SmallNet(nn.Module):
    """A custom classifier; log_probs=True ends in log_softmax like the seed Net, else it returns logits."""

    def __init__(self, log_probs: bool):
        super().__init__()
        self.log_probs = log_probs
        self.conv = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(8),
            nn.MaxPool2d(2),
            nn.Dropout(0.1),
            nn.Conv2d(8, 8, 3),
            nn.ReLU(),
        )
        self.fc = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):
        x = self.fc(self.conv(x).flatten(1))
        return F.log_softmax(x, dim=1) if self.log_probs else x


@pytest.fixture(scope="module")
def loaders():
    train, test = s5utils.tensor_datasets(*own_data(192, 0), *own_data(96, 1))
    g = torch.Generator().manual_seed(0)
    return DataLoader(train, batch_size=32, shuffle=True, generator=g), DataLoader(test, batch_size=48)


def test_cross_entropy_treats_logits_and_log_probabilities_alike():
    z, y = torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
    assert F.cross_entropy(F.log_softmax(z, dim=1), y) == pytest.approx(F.cross_entropy(z, y).item())
    assert F.cross_entropy(F.log_softmax(z, dim=1), y) == pytest.approx(F.nll_loss(F.log_softmax(z, dim=1), y).item())


@pytest.mark.parametrize("log_probs", [False, True], ids=["logits", "log-probabilities"])
def test_fit_learns_own_tensors_with_either_output(loaders, log_probs):
    s5utils.set_seed(0)
    model = SmallNet(log_probs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = s5utils.fit(s5utils.TrainingState(model, optimizer, *loaders), epochs=4, progress=False)
    assert history[-1]["test_acc"] > 95 and history[-1]["test_loss"] < history[0]["test_loss"]


def test_the_plots_and_study_tools_take_the_custom_model(loaders):
    s5utils.set_seed(0)
    histories = {}
    for log_probs in (False, True):
        model = SmallNet(log_probs)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        state = s5utils.TrainingState(model, optimizer, *loaders)
        histories[f"log_probs={log_probs}"] = s5utils.fit(state, epochs=2, progress=False)
    assert isinstance(s5utils.plot_history(histories["log_probs=True"]), Figure)
    assert len(s5utils.plot_histories(histories).axes[0].lines) == 2

    stats = s5utils.layer_stats(model, (3, 8, 8))
    assert [(s.rf, s.jump) for s in stats if s.rf is not None][-1] == (8, 2)  # 3, pool 4 (jump 2), 3x3: 8
    assert "Linear-8" in s5utils.layer_table(model, (3, 8, 8))

    result = s5utils.lr_range_test(model, loaders[0], optimizer, num_iter=24)
    assert isinstance(s5utils.plot_lr_finder(result), Figure) and result.lrs[0] < result.suggested_lr
