import pytest
import torch
import torch.nn as nn
from matplotlib.figure import Figure
from torch.utils.data import DataLoader, TensorDataset

from s5utils import lr_range_test, plot_lr_finder


def blobs(n=256, seed=0):
    """Four separable classes of 2x4x4 inputs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = torch.randn(n, 2, 4, 4, generator=g) + 2 * y.view(-1, 1, 1, 1).float()
    return TensorDataset(x, y)


def setup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    # One real step so the optimizer has momentum buffers worth restoring.
    x, y = blobs().tensors
    torch.nn.functional.cross_entropy(model(x[:32]), y[:32]).backward()
    optimizer.step()
    return model, optimizer, DataLoader(blobs(), batch_size=32, shuffle=True)


def test_range_test_restores_weights_buffers_optimizer_and_rng():
    model, optimizer, loader = setup()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    momentum = {i: s["momentum_buffer"].clone() for i, s in enumerate(optimizer.state.values())}
    rng = torch.get_rng_state()
    model.eval()

    lr_range_test(model, loader, optimizer, num_iter=30)

    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())  # incl. BN running stats
    assert all(torch.equal(momentum[i], s["momentum_buffer"]) for i, s in enumerate(optimizer.state.values()))
    assert [g["lr"] for g in optimizer.param_groups] == [0.01]
    assert torch.equal(torch.get_rng_state(), rng) and not model.training


def test_lrs_rise_exponentially_and_the_suggestion_lies_among_them():
    model, optimizer, loader = setup()
    result = lr_range_test(model, loader, optimizer, start_lr=1e-4, end_lr=1.0, num_iter=41)
    assert result.lrs[0] == pytest.approx(1e-4) and result.lrs[20] == pytest.approx(1e-2)
    assert result.suggested_lr in result.lrs
    assert result.losses[result.lrs.index(result.suggested_lr)] < result.losses[0]


def test_the_test_stops_once_the_loss_diverges():
    model, optimizer, loader = setup()
    result = lr_range_test(model, loader, optimizer, start_lr=1e-3, end_lr=1e4, num_iter=100)
    assert len(result.lrs) < 100


def test_bad_range_is_a_clear_error():
    model, optimizer, loader = setup()
    with pytest.raises(ValueError, match="need 0 < start_lr < end_lr"):
        lr_range_test(model, loader, optimizer, start_lr=1.0, end_lr=0.1)


def test_plot_marks_the_suggested_lr_on_a_log_axis():
    model, optimizer, loader = setup()
    result = lr_range_test(model, loader, optimizer, num_iter=20)
    fig = plot_lr_finder(result)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_xscale() == "log"
    assert ax.lines[1].get_xdata()[0] == result.suggested_lr
