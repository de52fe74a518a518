"""The fast recipe, the speed options and the training-loop hooks they use."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from s5utils import ConfigError, Net, TrainingState, fit, make_config, set_seed
from s5utils.config import RECIPE_DEFAULTS, TrainConfig
from s5utils.data.batch_augment import random_affine, seed_augment
from s5utils.data.mnist import MNIST_MEAN, MNIST_STD
from s5utils.notebooks.parameters import config_from_globals
from s5utils.training.precision import autocast_dtype, precision_choice
from s5utils.training.recipes import FAST, build_recipe, predict_translated, train_augmentation
from s5utils.training.speed import SpeedOptions, compile_model, resolve_speed


def digits_like(n=64, seed=0):
    """Random 28x28 'images' with labels: enough to drive a few optimizer steps."""
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))


def test_the_seed_recipe_is_the_default_and_left_untouched():
    config = make_config()
    assert config.recipe == "seed" and config == TrainConfig(epochs=20, batch_size=512, lr=0.01, momentum=0.9)
    recipe = build_recipe(config, Net(), steps_per_epoch=10)
    assert isinstance(recipe.scheduler, torch.optim.lr_scheduler.StepLR) and recipe.batch_scheduler is None
    assert recipe.optimizer.defaults["lr"] == 0.01 and not recipe.optimizer.defaults["nesterov"]


def test_recipe_fast_alone_brings_its_own_epochs_batch_size_and_lr_but_keeps_explicit_ones():
    own = RECIPE_DEFAULTS["fast"]
    fast = make_config(recipe="fast")
    assert (fast.epochs, fast.batch_size, fast.lr) == (own["epochs"], own["batch_size"], own["lr"]) == (6, 128, 0.1)
    mine = make_config(recipe="fast", epochs=3, lr=0.02)
    assert (mine.epochs, mine.lr, mine.batch_size) == (3, 0.02, own["batch_size"])


def test_an_explicit_value_wins_even_when_it_equals_the_seed_default():
    # The seed's batch 512 asked for with the fast recipe must not turn into the fast recipe's 128.
    config = make_config(recipe="fast", batch_size=512, epochs=20, lr="0.01")
    assert (config.batch_size, config.epochs, config.lr) == (512, 20, 0.01)
    assert TrainConfig(recipe="fast", batch_size=512).batch_size == 512
    assert make_config(recipe="fast", batch_size=None).batch_size == 128  # None: the recipe's own


def test_an_unknown_recipe_is_named_before_anything_it_would_have_filled():
    with pytest.raises(ConfigError, match="recipe must be seed or fast, got 'fsat'"):
        make_config(recipe="fsat")


def test_the_fast_recipe_steps_onecycle_every_batch_up_to_its_peak_and_down():
    set_seed(0)
    config = make_config(recipe="fast", epochs=2)
    model = Net()
    recipe = build_recipe(config, model, steps_per_epoch=4)
    assert recipe.optimizer.defaults["nesterov"] and recipe.optimizer.defaults["weight_decay"] > 0
    loader = DataLoader(digits_like(), batch_size=16)
    lrs = []
    fit(
        TrainingState.from_recipe(recipe, model, loader, loader),
        epochs=2,
        progress=False,
        callbacks=[lambda state: lrs.append(state.history[-1]["lr"])],
    )
    assert lrs[0] < lrs[1] <= config.lr  # epoch 2 starts after the 2-step warm-up, above the start
    assert recipe.optimizer.param_groups[0]["lr"] < lrs[1] / 5  # annealed towards zero by the last step


def test_each_recipe_brings_its_augmentation_to_both_data_paths(mnist_root):
    from torchvision import datasets

    digits = datasets.MNIST(mnist_root, train=True, download=False)
    seed_tensor, seed_pil = train_augmentation(make_config())
    fast_tensor, fast_pil = train_augmentation(make_config(recipe="fast"))
    assert seed_tensor is seed_augment and "RandomRotation" in repr(seed_pil) and "RandomAffine" not in repr(seed_pil)
    assert fast_tensor.func is random_affine and fast_tensor.keywords == FAST["augment"]
    assert "RandomAffine" in repr(fast_pil)
    batch = fast_tensor(digits.data[:8].unsqueeze(1), torch.Generator().manual_seed(0))
    one = fast_pil(digits[0][0])
    assert batch.shape == (8, 1, 28, 28) and one.shape == (1, 28, 28)
    black = -MNIST_MEAN / MNIST_STD
    assert batch.min().item() == pytest.approx(black, abs=1e-4) and one.min().item() == pytest.approx(black, abs=1e-4)


def test_label_smoothing_charges_even_a_confident_correct_prediction():
    recipe = build_recipe(make_config(recipe="fast"), Net(), steps_per_epoch=1)
    logp = F.log_softmax(torch.tensor([[20.0] + [0.0] * 9]), dim=1)
    assert F.nll_loss(logp, torch.tensor([0])) < 1e-6 < recipe.loss_fn(logp, torch.tensor([0]))


def test_translated_prediction_returns_log_probabilities_and_without_shifts_is_the_model():
    set_seed(0)
    model, x = Net().eval(), digits_like(8)[:][0]
    with torch.no_grad():
        tta = predict_translated(model, x, FAST["tta_shifts"])
        plain = predict_translated(model, x, [(0, 0)])
        assert torch.allclose(tta.exp().sum(1), torch.ones(8), atol=1e-5)
        assert torch.allclose(plain, model(x), atol=1e-6)


@pytest.mark.parametrize("amx, amp_dtype", [(True, torch.bfloat16), (False, None)])
def test_speed_auto_on_cpu_means_tensor_data_channels_last_and_bf16_only_with_bf16_units(monkeypatch, amx, amp_dtype):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    speed = resolve_speed(make_config(), torch.device("cpu"))
    assert (speed.data_path, speed.channels_last, speed.amp_dtype, speed.compile_mode) == (
        "tensor",
        True,
        amp_dtype,
        None,
    )
    assert resolve_speed(make_config(amp="bf16", data_path="loader"), torch.device("cpu")).amp_dtype == torch.bfloat16
    assert resolve_speed(make_config(amp="off"), torch.device("cpu")).amp_dtype is None


def test_speed_auto_keeps_float32_when_torch_cannot_tell_about_bf16_units(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert resolve_speed(make_config(), torch.device("cpu")).amp_dtype is None


def test_fp16_off_cuda_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="amp 'fp16' needs CUDA.*use amp 'bf16' or 'off'"):
        resolve_speed(make_config(amp="fp16"), torch.device("cpu"))


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("recipe", "slow", "seed or fast"),
        ("data_path", "disk", "auto, tensor or loader"),
        ("amp", "fp8", "auto, off, bf16 or fp16"),
        ("channels_last", "yes", "auto, on or off"),
        ("compile", "max", "off, default, reduce-overhead or max-autotune"),
    ],
)
def test_bad_speed_and_recipe_values_name_what_is_allowed(name, value, allowed):
    with pytest.raises(ConfigError, match=f"{name} must be {allowed}, got '{value}'"):
        make_config(**{name: value})


def test_channels_last_and_bf16_autocast_train_net_with_float32_weights():
    set_seed(0)
    model = Net()
    loader = DataLoader(digits_like(), batch_size=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = fit(
        TrainingState(
            model, optimizer, loader, loader, speed=SpeedOptions(amp_dtype=torch.bfloat16, channels_last=True)
        ),
        1,
        progress=False,
    )
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(torch.tensor(history[0]["train_loss"]))


def test_channels_last_changes_memory_layout_not_results():
    set_seed(0)
    model, x = Net().eval(), digits_like(8)[:][0]
    with torch.no_grad():
        expected = model(x)
        model.to(memory_format=torch.channels_last)
        assert torch.allclose(model(x.contiguous(memory_format=torch.channels_last)), expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compile_warm_up_leaves_weights_and_gradients_untouched(mode):
    set_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    before = [p.detach().clone() for p in model.parameters()]
    compiled, seconds = compile_model(model, mode, torch.device("cpu"), [4])
    x = torch.randn(4, 1, 28, 28)
    assert seconds > 0 and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=False))
    assert torch.allclose(compiled(x), model(x), atol=1e-5)


@pytest.mark.parametrize("amp_flag", ["auto", "off"])
def test_cli_recipe_fast_smoke_run_records_the_speed_options_and_tta(mnist_root, tmp_path, amp_flag):
    env = {**os.environ, "S5UTILS_DATA": str(mnist_root)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "train",
            "--recipe",
            "fast",
            "--epochs",
            "1",
            "--max-batches",
            "2",
            "--amp",
            amp_flag,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Test accuracy with test-time augmentation: " in done.stdout
    (run_dir,) = tmp_path.iterdir()
    record = json.loads((run_dir / "metrics.json").read_text())
    assert (
        record["config"]["recipe"] == "fast" and record["config"]["batch_size"] == RECIPE_DEFAULTS["fast"]["batch_size"]
    )
    amp = (
        "torch.bfloat16" if amp_flag == "auto" and autocast_dtype("cpu") == torch.bfloat16 else None
    )  # JSON null: float32
    precision = str(precision_choice("cpu")) if amp_flag == "auto" else "float32: asked for (amp='off')"
    assert record["speed"] == {
        "data_path": "tensor",
        "amp_dtype": amp,
        "channels_last": True,
        "tf32": False,
        "precision": precision,
        "compile_seconds": None,
    }
    assert done.stdout.startswith(f"Precision: {precision}\n")
    assert record["final_tta"]["test_seen"] == 2 * RECIPE_DEFAULTS["fast"]["batch_size"]  # 2 test batches, as trained


@pytest.mark.parametrize(
    "injected, expected",
    [
        ({}, (20, 512, 0.01)),
        ({"recipe": "fast"}, (6, 128, 0.1)),
        ({"recipe": "fast", "batch_size": 512}, (6, 512, 0.1)),  # papermill -p batch_size 512 is kept
    ],
)
def test_the_notebook_parameters_cell_takes_each_recipe_s_own_values_unless_set(injected, expected):
    notebook = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "S5.ipynb").read_text())
    (cell,) = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    namespace = {}
    exec("".join(cell["source"]), namespace)
    namespace.pop("__builtins__")
    config = config_from_globals({**namespace, **injected})
    assert (config.epochs, config.batch_size, config.lr) == expected
