"""GradCAM through pytorch-grad-cam: heat maps where the evidence is, layers under 5 px refused, overlays, a gallery."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from matplotlib.figure import Figure

from s5utils import Net, Predictions, cam_layers, check_target_layer, gradcam_gallery, gradcam_heatmaps, overlay_heatmap


class Brightness(nn.Module):
    """Class 0's logit is the mean of an identity conv's output: GradCAM's map is the image itself."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0, 1, 1] = 1.0
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[1.0], [-1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def test_the_heat_map_lies_on_the_bright_patch_the_class_is_read_from():
    images = torch.zeros(2, 1, 12, 12)
    images[0, 0, 1:4, 7:11] = 1.0  # top right
    images[1, 0, 8:11, 2:5] = 1.0  # bottom left
    maps = gradcam_heatmaps(Brightness(), images, "conv", targets=[0, 0])
    assert maps.shape == (2, 12, 12) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    assert maps[0, 1:4, 7:11].min() > 0.9 and maps[0, 8:11, 2:5].max() < 0.1
    assert maps[1, 8:11, 2:5].min() > 0.9 and maps[1, 1:4, 7:11].max() < 0.1


def test_a_layer_by_name_or_module_gives_the_same_map_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    net = Net().train()
    images = torch.randn(3, 1, 28, 28)
    by_name = gradcam_heatmaps(net, images, "conv3")
    by_module = gradcam_heatmaps(net, images, net.conv3)
    assert np.allclose(by_name, by_module)
    assert net.training and all(p.grad is None for p in net.parameters())


def test_a_layer_under_5_px_is_refused_in_one_line_naming_it_and_its_size():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, stride=4), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(ValueError) as info:
        gradcam_heatmaps(net, torch.randn(1, 3, 16, 16), "1")
    message = str(info.value)
    assert "\n" not in message and "'1'" in message and "4x4" in message and "'0' (16x16)" in message
    assert check_target_layer(net, net[0], (3, 16, 16)) == "0"
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        check_target_layer(net, "conv9", (3, 16, 16))


def test_cam_layers_lists_the_convolutions_of_5_px_or_more_in_forward_order():
    assert cam_layers(Net(), (1, 28, 28)) == [
        ("conv1", (26, 26)),
        ("conv2", (24, 24)),
        ("conv3", (10, 10)),
        ("conv4", (8, 8)),
    ]
    assert [name for name, _ in cam_layers(Net(), (1, 28, 28), min_px=10)] == ["conv1", "conv2", "conv3"]


def test_overlay_blends_the_jet_colours_over_grey_or_colour_images():
    heat = np.zeros((4, 6), dtype=np.float32)
    heat[0, 0] = 1.0
    grey = overlay_heatmap(np.ones((4, 6)), heat, opacity=0.5)
    colour = overlay_heatmap(np.zeros((4, 6, 3)), heat, opacity=1.0)
    assert grey.shape == colour.shape == (4, 6, 3)
    assert 0 <= grey.min() and grey.max() <= 1
    assert colour[0, 0, 0] > 0.4 and colour[0, 0, 2] < 0.1  # jet's top is red
    assert colour[1, 1, 2] > 0.4 and colour[1, 1, 0] < 0.1  # and its bottom blue
    with pytest.raises(ValueError, match="opacity"):
        overlay_heatmap(np.ones((4, 6)), heat, opacity=2)


def test_the_gallery_titles_each_heat_map_with_true_and_predicted_class_names():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    targets, predicted = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 2, 0, 2])
    preds = Predictions(torch.randn(4, 3, 10, 10), targets, predicted, torch.rand(4))
    fig = gradcam_gallery(net, preds, net[0], n=3, cols=2, class_names=["cat", "dog", "ship"], mean=0.5, std=0.25)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert isinstance(fig, Figure) and len(titles) == 3
    assert titles[0].startswith("true cat\npred dog") and titles[2].startswith("true ship\npred cat")
    assert all(len(ax.get_images()) == 1 for ax in fig.axes if ax.get_title())
