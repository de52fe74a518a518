import torch
import torch.nn as nn

from s5utils import Net, summary

SEED_TABLE = """\
----------------------------------------------------------------
        Layer (type)               Output Shape         Param #
================================================================
            Conv2d-1           [-1, 32, 26, 26]             320
            Conv2d-2           [-1, 64, 24, 24]          18,496
            Conv2d-3          [-1, 128, 10, 10]          73,856
            Conv2d-4            [-1, 256, 8, 8]         295,168
            Linear-5                   [-1, 50]         204,850
            Linear-6                   [-1, 10]             510
================================================================
Total params: 593,200
Trainable params: 593,200
Non-trainable params: 0
----------------------------------------------------------------
"""


def test_net_has_the_seed_parameter_count():
    assert sum(p.numel() for p in Net().parameters()) == 593_200


def test_summary_prints_the_seed_table_row_for_row(capsys):
    summary(Net(), (1, 28, 28))
    assert capsys.readouterr().out == SEED_TABLE


def test_net_outputs_log_probabilities_for_ten_classes():
    out = Net()(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3), atol=1e-5)


def test_summary_counts_frozen_and_buffered_layers_of_any_module(capsys):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    model[0].requires_grad_(False)
    summary(model, (3, 8, 8))
    out = capsys.readouterr().out
    assert "BatchNorm2d-2" in out and "[-1, 4, 6, 6]" in out and "Linear-5" in out
    assert "Total params: 410" in out  # conv 112 + batch norm 8 + linear 290
    assert "Non-trainable params: 112" in out
