"""layer_table's receptive field follows the tensors (branches, torch.cat, residual adds, strided shortcuts), and
each parameter is counted once however often forward calls its module. Every expected value is worked out by hand."""

import torch
import torch.nn as nn
import torchvision

from s5utils import layer_stats, layer_table
from s5utils.study.summary import format_summary, layer_rows


def fields(model, size):
    return {s.name: (s.rf, s.jump) for s in layer_stats(model, size)}


class TwoBranches(nn.Module):
    """stem 3x3 | branch a: 3x3 stride 2 | branch b: max-pool 2 then 1x1 | cat | 3x3."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)  # rf 3, jump 1
        self.a = nn.Conv2d(4, 4, 3, stride=2, padding=1)  # 3 + 2*1 = 5, jump 2
        self.pool = nn.MaxPool2d(2)  # 3 + 1*1 = 4, jump 2
        self.b = nn.Conv2d(4, 4, 1)  # 4, jump 2
        self.out = nn.Conv2d(8, 4, 3, padding=1)  # cat: max(5, 4) = 5, jump 2; then 5 + 2*2 = 9, jump 2

    def forward(self, x):
        x = self.stem(x)
        return self.out(torch.cat([self.a(x), self.b(self.pool(x))], dim=1))


class Residual(nn.Module):
    """stem 3x3 | main: 3x3 stride 2, 3x3 | shortcut: 1x1 stride 2 | add | 3x3 dilated 2."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)  # 3, jump 1
        self.main1 = nn.Conv2d(4, 4, 3, stride=2, padding=1)  # 5, jump 2
        self.main2 = nn.Conv2d(4, 4, 3, padding=1)  # 5 + 2*2 = 9, jump 2
        self.shortcut = nn.Conv2d(4, 4, 1, stride=2)  # 3, jump 2
        self.out = nn.Conv2d(4, 4, 3, padding=2, dilation=2)  # add: max(9, 3) = 9; 9 + 2*2*2 = 17, jump 2

    def forward(self, x):
        x = self.stem(x)
        return self.out(self.main2(self.main1(x)) + self.shortcut(x))


def test_branches_joined_by_cat_take_the_larger_field_not_the_sum_of_every_layer():
    f = fields(TwoBranches(), (3, 16, 16))
    assert f["Conv2d-2"] == (5, 2) and f["MaxPool2d-3"] == (4, 2) and f["Conv2d-4"] == (4, 2)
    assert f["Conv2d-5"] == (9, 2)  # called in order, the layers would give 15, jump 4


def test_a_residual_add_with_a_strided_shortcut_keeps_the_main_path_field():
    f = fields(Residual(), (3, 16, 16))
    assert f["Conv2d-3"] == (9, 2) and f["Conv2d-4"] == (3, 2)
    assert f["Conv2d-5"] == (17, 2)


def test_depthwise_separable_convs_grow_the_field_like_any_3x3():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3),  # 3, 1
        nn.Conv2d(8, 8, 3, groups=8, stride=2),  # depthwise: 3 + 2 = 5, jump 2
        nn.Conv2d(8, 16, 1),  # pointwise: 5, 2
        nn.Conv2d(16, 16, 3, dilation=3),  # 5 + 3*2*2 = 17, 2
        nn.AdaptiveAvgPool2d(1),  # 17 over 3x3 -> 17 + 2*2 = 21, jump 6
    )
    assert [(s.rf, s.jump) for s in layer_stats(model, (3, 21, 21))] == [(3, 1), (5, 2), (5, 2), (17, 2), (21, 6)]


def test_resnet18_at_224_ends_at_field_435_and_jump_32():
    stats = layer_stats(torchvision.models.resnet18(), (3, 224, 224))
    last_conv = [s for s in stats if s.name.startswith("Conv2d")][-1]
    assert (last_conv.rf, last_conv.jump) == (435, 32) and last_conv.output_shape == [-1, 512, 7, 7]


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)  # 3
        self.block = nn.Conv2d(8, 8, 3, padding=1)  # 5, then 7 on its second call
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = self.block(torch.relu(self.block(self.stem(x))))
        return self.head(x.mean(dim=(2, 3)))


def test_a_module_called_twice_counts_its_parameters_once_as_summary_does():
    model = Twice()
    stats = layer_stats(model, (1, 8, 8))
    total = sum(p.numel() for p in model.parameters())
    assert sum(s.params for s in stats) == total == 8 * 9 + 8 + 8 * 8 * 9 + 8 + 8 * 10 + 10
    assert f"Total params: {total:,}" in format_summary(model, layer_rows(model, (1, 8, 8)))
    assert f"Total params: {total:,}" in layer_table(model, (1, 8, 8))
    again = [s for s in stats if "(= Conv2d-2)" in s.name]
    assert len(again) == 1 and again[0].params == 0 and again[0].rf == 7
