"""The S5 seed network."""
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
        x = F.relu(self.conv1(x))                     # (B, 32, 26, 26)
        x = F.relu(F.max_pool2d(self.conv2(x), 2))    # (B, 64, 12, 12)
        x = F.relu(self.conv3(x))                     # (B, 128, 10, 10)
        x = F.relu(F.max_pool2d(self.conv4(x), 2))    # (B, 256, 4, 4)
        x = x.flatten(1)                              # (B, 4096)
        x = F.relu(self.fc1(x))                       # (B, 50)
        x = self.fc2(x)                               # (B, 10)
        return F.log_softmax(x, dim=1)
