"""The S5 seed network, a compact CNN, and a norm switch (BatchNorm, GroupNorm, LayerNorm) for later models."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """The seed CNN: four 3x3 convs, two max-pools, two linear layers; 593,200 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.conv3 = nn.Conv2d(64, 128, kernel_size=3)
        self.conv4 = nn.Conv2d(128, 256, kernel_size=3)
        self.fc1 = nn.Linear(4096, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))  # (B, 32, 26, 26)
        x = F.relu(F.max_pool2d(self.conv2(x), 2))  # (B, 64, 12, 12)
        x = F.relu(self.conv3(x))  # (B, 128, 10, 10)
        x = F.relu(F.max_pool2d(self.conv4(x), 2))  # (B, 256, 4, 4)
        x = x.flatten(1)  # (B, 4096)
        x = F.relu(self.fc1(x))  # (B, 50)
        x = self.fc2(x)  # (B, 10)
        return F.log_softmax(x, dim=1)


class CompactNet(nn.Module):
    """A compact CNN with batch norm and dropout, 9,914 parameters (a 20,000 budget); returns logits.

    Six 3x3 conv blocks (conv, ReLU, batch norm, dropout), one max-pool, then global average pooling
    and a 1x1 conv head instead of large linear layers.
    """

    def __init__(self, dropout: float = 0.05) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, padding: int = 0) -> nn.Sequential:
            # The conv bias is dropped: batch norm's shift does the same job.
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=padding, bias=False),
                nn.ReLU(),
                nn.BatchNorm2d(c_out),
                nn.Dropout(dropout),
            )

        self.conv1 = block(1, 8)  # (B, 8, 26, 26)   RF 3
        self.conv2 = block(8, 12)  # (B, 12, 24, 24)  RF 5
        self.pool = nn.MaxPool2d(2)  # (B, 12, 12, 12)  RF 6
        self.conv3 = block(12, 16)  # (B, 16, 10, 10)  RF 10
        self.conv4 = block(16, 16)  # (B, 16, 8, 8)    RF 14
        self.conv5 = block(16, 16)  # (B, 16, 6, 6)    RF 18
        self.conv6 = block(16, 16, padding=1)  # (B, 16, 6, 6)    RF 22
        self.gap = nn.AdaptiveAvgPool2d(1)  # (B, 16, 1, 1)
        self.head = nn.Conv2d(16, 10, 1)  # (B, 10, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv2(self.conv1(x)))
        x = self.conv6(self.conv5(self.conv4(self.conv3(x))))
        x = self.head(self.gap(x))
        return x.flatten(1)  # (B, 10) logits


NORM_KINDS = ("bn", "gn", "ln")


def norm_layer(kind: str, channels: int, groups: int = 4) -> nn.Module:
    """BatchNorm2d ("bn"), GroupNorm of `groups` groups ("gn") or LayerNorm over (C, H, W) as GroupNorm(1) ("ln")."""
    key = kind.lower() if isinstance(kind, str) else kind
    if key == "bn":
        return nn.BatchNorm2d(channels)
    if key == "gn":
        if channels % groups:
            raise ValueError(f"GroupNorm needs channels divisible by groups: {channels} channels, {groups} groups")
        return nn.GroupNorm(groups, channels)
    if key == "ln":
        # One group normalizes each image over all its channels and pixels, with a scale and shift per channel.
        return nn.GroupNorm(1, channels)
    raise ValueError(f"unknown norm kind {kind!r}; choose one of {', '.join(map(repr, NORM_KINDS))}")
