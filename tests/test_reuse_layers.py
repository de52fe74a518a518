import torch.nn as nn

from s5utils import CompactNet, Net, layer_stats, layer_table


def spatial(stats):
    """(name, rf, jump) of the layers that change the receptive field or the jump."""
    return [(s.name, s.rf, s.jump) for s in stats if s.name.startswith(("Conv2d", "max_pool2d", "MaxPool2d"))]


def test_seed_net_receptive_fields_and_jumps_match_the_hand_computed_values():
    # By hand: conv1 3, conv2 5, pool 6, conv3 10, conv4 14, pool 16; jumps 1, 1, 2, 2, 2, 4.
    assert spatial(layer_stats(Net())) == [
        ("Conv2d-1", 3, 1),
        ("Conv2d-2", 5, 1),
        ("max_pool2d (functional)", 6, 2),
        ("Conv2d-3", 10, 2),
        ("Conv2d-4", 14, 2),
        ("max_pool2d (functional)", 16, 4),
    ]


def test_seed_net_rows_carry_shapes_params_and_macs():
    stats = layer_stats(Net())
    conv1, fc1 = stats[0], stats[6]
    assert conv1.output_shape == [-1, 32, 26, 26] and conv1.params == 320
    assert conv1.macs == 26 * 26 * 32 * 9  # each output value: 1 channel x 3 x 3
    assert fc1.name == "Linear-5" and fc1.macs == 4096 * 50
    assert fc1.rf is None and fc1.jump is None  # flattened: no spatial receptive field
    assert sum(s.params for s in stats) == 593_200


def test_strides_dilation_and_module_pools_follow_the_rf_formula():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2),  # rf 3, jump 2
        nn.Conv2d(4, 4, 3, dilation=2),  # rf 3 + 2*2*2 = 11, jump 2
        nn.MaxPool2d(2),  # rf 11 + 1*2 = 13, jump 4
        nn.Conv2d(4, 4, 1),  # 1x1: unchanged
    )
    assert [(s.rf, s.jump) for s in layer_stats(model, (1, 32, 32))] == [(3, 2), (11, 2), (13, 4), (13, 4)]


def test_compact_net_sees_22_pixels_before_global_pooling():
    rfs = {s.name: s.rf for s in layer_stats(CompactNet())}
    assert rfs["Conv2d-22"] == 22 and rfs["AdaptiveAvgPool2d-26"] == 32  # GAP over 6x6 at jump 2


def test_table_text_lists_every_layer_and_the_totals():
    text = layer_table(Net())
    assert text.count("\n") == 2 + 8 + 2 - 1
    assert "max_pool2d (functional)" in text and "Total params: 593,200" in text
    assert "MACs per sample: 37,263,988" in text
