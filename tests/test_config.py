import pytest

from s5utils import ConfigError, TrainConfig, make_config


def test_defaults_are_the_seed_recipe():
    c = make_config()
    assert (c.epochs, c.batch_size, c.lr, c.momentum, c.step_size, c.gamma) == (20, 512, 0.01, 0.9, 3, 0.1)
    assert c == TrainConfig()


def test_papermill_style_strings_are_coerced_losslessly():
    c = make_config(epochs="007", lr="1e-3", max_batches="None", batch_size=64.0)
    assert (c.epochs, c.lr, c.max_batches, c.batch_size) == (7, 0.001, None, 64)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"epoch": 3}, "unknown parameter 'epoch'; did you mean 'epochs'?"),
        ({"epochs": -3}, "epochs must be an integer >= 1, got -3"),
        ({"epochs": 2.5}, "epochs must be an integer >= 1, got 2.5"),
        ({"lr": "abc"}, "lr must be a number > 0, got 'abc'"),
        ({"lr": float("nan")}, "lr must be a number > 0, got nan"),
        ({"seed": True}, "seed must be an integer in [0, 2**32), got the boolean True"),
        ({"device": "gpu"}, "device must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"),
        ({"step_size": None}, "step_size must be an integer >= 1, got None"),
    ],
)
def test_bad_values_name_the_parameter(params, message):
    with pytest.raises(ConfigError) as info:
        make_config(**params)
    assert str(info.value) == message
