import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from s5utils import Net, TrainingState, evaluate, fit, mnist_datasets, set_seed, train_one_epoch


class TinyMLP(nn.Module):
    """A custom model that returns logits, not log-probabilities."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, x):
        return self.net(x)


def blobs(n=96, seed=0):
    """Three separable classes of 4x4 'images'."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.eye(3).repeat_interleave(6, dim=1)[:, :16].view(3, 1, 4, 4) * 3
    x = torch.randn(n, 1, 4, 4, generator=g) * 0.5 + centres[y]
    return TensorDataset(x, y)


def test_a_few_steps_on_one_real_batch_lower_the_loss(mnist_root):
    set_seed(0)
    train, _ = mnist_datasets(mnist_root)
    x, y = next(iter(DataLoader(train, batch_size=64)))
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # SGD at the seed's lr starts too slowly to see
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2


def test_fit_trains_any_module_and_prints_the_seed_lines(capsys):
    set_seed(0)
    model = TinyMLP()
    loader = DataLoader(blobs(), batch_size=16, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    seen = []
    state = TrainingState(
        model, optimizer, loader, DataLoader(blobs(seed=1), batch_size=32), "cpu", scheduler=scheduler, max_batches=4
    )
    history = fit(state, epochs=3, callbacks=[lambda s: seen.append((s.epoch, s.step))], progress=False)

    assert [row["epoch"] for row in history] == [1, 2, 3] and seen == [(1, 4), (2, 8), (3, 12)]
    assert [step for step, _, _ in state.batch_log] == [9, 10, 11, 12]  # the last epoch's batches, numbered
    assert [row["lr"] for row in history] == [0.1, 0.05, 0.025]
    assert history[-1]["test_acc"] > 90
    out = capsys.readouterr().out
    assert out.startswith("Precision: float32")
    assert "Adjusting learning rate of group 0 to 5.0000e-02.\nEpoch 2\n" in out
    assert (
        f"Test set: Average loss: {history[-1]['test_loss']:.4f}, Accuracy: {history[-1]['test_correct']}/96 (" in out
    )


def test_fit_continues_the_state_it_is_given():
    model = TinyMLP()
    loader = DataLoader(blobs(), batch_size=32)
    state = TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loader)
    fit(state, epochs=1, progress=False)
    history = fit(state, epochs=3, progress=False)
    assert [row["epoch"] for row in history] == [1, 2, 3] and state.step == 3 * len(loader)


def test_test_loss_is_the_per_sample_mean_even_with_a_short_last_batch():
    set_seed(0)
    model = TinyMLP()
    data = blobs(n=10)
    result = evaluate(model, DataLoader(data, batch_size=4), "cpu")  # batches of 4, 4, 2
    x, y = data.tensors
    with torch.no_grad():
        expected = F.cross_entropy(model(x), y).item()
    assert abs(result["test_loss"] - expected) < 1e-6
    assert result["test_seen"] == 10


def test_train_one_epoch_reports_per_sample_metrics():
    model = TinyMLP()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no update: metrics equal an evaluation
    data = blobs(n=10)
    train = train_one_epoch(model, DataLoader(data, batch_size=4), optimizer, "cpu", progress=False)
    test = evaluate(model, DataLoader(data, batch_size=10), "cpu")
    assert abs(train["train_loss"] - test["test_loss"]) < 1e-6
    assert train["train_acc"] == test["test_acc"]
