"""amp="auto" per device: bf16 from CUDA 8.0, fp16 with a GradScaler on 7.x, float32 below; AMX CPUs bf16.

There is no GPU here: the CUDA cards are faked by their capability and name, with is_bf16_supported()
returning True as it does on a real T4 (bf16 emulation), to show the decision does not rest on it.
"""
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from s5utils import SpeedOptions, autocast_dtype, fit, make_config, precision_choice, resolve_speed, set_seed
from s5utils.train import make_grad_scaler

CUDA = torch.device("cuda")


@pytest.fixture
def fake_gpu(monkeypatch):
    """fake_gpu(name, (major, minor)) makes torch.cuda describe that card."""
    def install(name: str, capability: tuple[int, int]) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    return install


@pytest.mark.parametrize("name, capability", [("NVIDIA A100-SXM4-40GB", (8, 0)), ("NVIDIA L4", (8, 9)),
                                              ("NVIDIA H100 80GB HBM3", (9, 0))])
def test_cuda_from_capability_8_0_autocasts_to_bf16(fake_gpu, name, capability):
    fake_gpu(name, capability)
    assert autocast_dtype(CUDA) == torch.bfloat16
    assert str(precision_choice(CUDA)) == (f"bf16: {name}, compute capability {capability[0]}.{capability[1]}, "
                                           "bf16 tensor cores")


@pytest.mark.filterwarnings("ignore:torch.cuda.amp.GradScaler is enabled, but CUDA is not available")
def test_a_t4_autocasts_to_fp16_with_a_grad_scaler_although_torch_says_bf16_is_supported(fake_gpu):
    fake_gpu("Tesla T4", (7, 5))
    assert torch.cuda.is_bf16_supported()  # True on a real T4 too: emulation
    choice = precision_choice(CUDA)
    assert choice.dtype == torch.float16
    assert str(choice).startswith("fp16: Tesla T4, compute capability 7.5, no bf16 tensor cores")
    speed = resolve_speed(make_config(), CUDA)
    assert (speed.amp_dtype, speed.tf32, speed.precision) == (torch.float16, False, str(choice))
    assert isinstance(make_grad_scaler(speed, CUDA), torch.amp.GradScaler)


def test_a_card_below_7_0_trains_in_float32(fake_gpu):
    fake_gpu("Tesla P4", (6, 1))
    assert autocast_dtype(CUDA) is None
    assert str(precision_choice(CUDA)) == "float32: Tesla P4, compute capability 6.1, no tensor cores"
    assert make_grad_scaler(resolve_speed(make_config(), CUDA), CUDA) is None


def test_bf16_asked_for_on_a_t4_runs_but_says_it_is_emulated(fake_gpu):
    fake_gpu("Tesla T4", (7, 5))
    speed = resolve_speed(make_config(amp="bf16"), CUDA)
    assert speed.amp_dtype == torch.bfloat16 and make_grad_scaler(speed, CUDA) is None
    assert "emulated there and slow (amp='auto' picks fp16)" in speed.precision


@pytest.mark.parametrize("capability, tf32", [((8, 0), True), ((9, 0), True), ((7, 5), False)])
def test_tf32_is_chosen_for_float32_matmuls_from_capability_8_0(fake_gpu, capability, tf32):
    fake_gpu("some card", capability)
    assert resolve_speed(make_config(amp="off"), CUDA).tf32 is tf32


def test_enable_tf32_sets_the_matmul_precision_without_breaking_the_legacy_getter():
    # In a fresh process: the setting is process-wide. torch.compile's autotuning reads the legacy getter.
    code = ("import torch; from s5utils.precision import enable_tf32; enable_tf32(); "
            "print(torch.backends.cuda.matmul.fp32_precision, torch.get_float32_matmul_precision())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tf32", "high"]


@pytest.mark.parametrize("amx, dtype", [(True, torch.bfloat16), (False, None)])
def test_a_cpu_autocasts_to_bf16_only_with_amx(monkeypatch, amx, dtype):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    choice = precision_choice("cpu")
    assert choice.dtype == dtype
    assert choice.reason.endswith("AMX bf16 units") and ("no AMX" in choice.reason) is not amx


def test_mps_keeps_float32_and_says_so():
    choice = precision_choice(torch.device("mps"))
    assert choice.dtype is None and "MPS" in str(choice) and "float32" in str(choice)


def test_fit_names_the_precision_first_and_trains_under_fp16_with_its_scaler(capsys):
    set_seed(0)
    data = TensorDataset(torch.randn(64, 1, 8, 8), torch.randint(0, 3, (64,)))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    speed = SpeedOptions(amp_dtype=torch.float16, precision="fp16: asked for (amp='fp16'), with a GradScaler")
    history = fit(model, DataLoader(data, batch_size=16), DataLoader(data, batch_size=32),
                  torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, speed=speed, progress=False)
    out = capsys.readouterr().out
    assert out.startswith("Precision: fp16: asked for (amp='fp16'), with a GradScaler\n")
    assert torch.isfinite(torch.tensor(history[0]["train_loss"]))
    assert all(p.dtype == torch.float32 for p in model.parameters())
