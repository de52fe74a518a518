"""amp="auto" per device: bf16 from CUDA 8.0, fp16 with a GradScaler on 7.x, float32 below; CPUs with AMX or
AVX512_BF16 bf16, other CPUs float32.

There is no GPU here: the CUDA cards are faked by their capability and name, with is_bf16_supported()
returning True as it does on a real T4 (bf16 emulation), to show the decision does not rest on it. The CPU's
units are faked the same way, through torch.cpu's private probes (_is_amx_tile_supported, _is_avx512_bf16_supported,
and _is_avx512_supported / _is_avx2_supported, which the decision must not rest on either).
"""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from s5utils import (
    SpeedOptions,
    TrainingState,
    autocast_dtype,
    fit,
    make_config,
    precision_choice,
    resolve_speed,
    set_seed,
)
from s5utils.training.loop import make_grad_scaler

CUDA = torch.device("cuda")


@pytest.fixture
def fake_gpu(monkeypatch):
    """fake_gpu(name, (major, minor)) makes torch.cuda describe that card."""

    def install(name: str, capability: tuple[int, int]) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)

    return install


@pytest.mark.parametrize(
    "name, capability", [("NVIDIA A100-SXM4-40GB", (8, 0)), ("NVIDIA L4", (8, 9)), ("NVIDIA H100 80GB HBM3", (9, 0))]
)
def test_cuda_from_capability_8_0_autocasts_to_bf16(fake_gpu, name, capability):
    fake_gpu(name, capability)
    assert autocast_dtype(CUDA) == torch.bfloat16
    assert str(precision_choice(CUDA)) == (
        f"bf16: {name}, compute capability {capability[0]}.{capability[1]}, bf16 tensor cores"
    )


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
    code = (
        "import torch; from s5utils.training.precision import enable_tf32; enable_tf32(); "
        "print(torch.backends.cuda.matmul.fp32_precision, torch.get_float32_matmul_precision())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tf32", "high"]


CPU_UNITS = {  # what torch.cpu's probes answer on each kind of CPU
    "AMX (Sapphire Rapids)": dict(amx=True, avx512_bf16=True, avx512=True, avx2=True),
    "AVX512_BF16 only (Zen 4, Cooper Lake)": dict(amx=False, avx512_bf16=True, avx512=True, avx2=True),
    "AVX-512 without bf16 (Skylake-SP)": dict(amx=False, avx512_bf16=False, avx512=True, avx2=True),
    "AVX2 only (Zen 3)": dict(amx=False, avx512_bf16=False, avx512=False, avx2=True),
}
PROBES = {
    "amx": "_is_amx_tile_supported",
    "avx512_bf16": "_is_avx512_bf16_supported",
    "avx512": "_is_avx512_supported",
    "avx2": "_is_avx2_supported",
}
NO_UNITS = "no AMX or AVX512_BF16 units (bf16 would be emulated)"


@pytest.fixture
def fake_cpu(monkeypatch):
    """fake_cpu(amx=..., avx512_bf16=..., ...) makes torch.cpu's probes answer so, and names the CPU 'Some CPU'."""

    def install(**units: bool) -> None:
        for unit, present in units.items():
            monkeypatch.setattr(torch.cpu, PROBES[unit], lambda present=present: present, raising=False)
        monkeypatch.setattr("s5utils.training.precision.device_name", lambda device: "Some CPU")

    return install


@pytest.mark.parametrize(
    "cpu, dtype, reason",
    [
        ("AMX (Sapphire Rapids)", torch.bfloat16, "Some CPU, AMX bf16 units"),
        ("AVX512_BF16 only (Zen 4, Cooper Lake)", torch.bfloat16, "Some CPU, AVX512_BF16 units"),
        ("AVX-512 without bf16 (Skylake-SP)", None, f"Some CPU, {NO_UNITS}"),
        ("AVX2 only (Zen 3)", None, f"Some CPU, {NO_UNITS}"),
    ],
)
def test_a_cpu_autocasts_to_bf16_with_amx_or_avx512_bf16_and_names_the_units(fake_cpu, cpu, dtype, reason):
    fake_cpu(**CPU_UNITS[cpu])
    choice = precision_choice("cpu")
    assert (choice.dtype, choice.reason) == (dtype, reason)
    assert autocast_dtype("cpu") == dtype
    assert resolve_speed(make_config(), torch.device("cpu")).precision == str(choice)


@pytest.mark.parametrize("missing", ["_is_amx_tile_supported", "_is_avx512_bf16_supported"])
def test_a_missing_private_probe_counts_as_no_such_unit(fake_cpu, monkeypatch, missing):
    fake_cpu(amx=False, avx512_bf16=True)
    monkeypatch.delattr(torch.cpu, missing, raising=False)  # an older or newer torch without it
    assert not hasattr(torch.cpu, missing)
    choice = precision_choice("cpu")
    if missing == "_is_avx512_bf16_supported":
        assert (choice.dtype, choice.reason) == (None, f"Some CPU, {NO_UNITS}")
    else:
        assert (choice.dtype, choice.reason) == (torch.bfloat16, "Some CPU, AVX512_BF16 units")


def test_both_probes_missing_keeps_float32(fake_cpu, monkeypatch):
    fake_cpu()
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        monkeypatch.delattr(torch.cpu, probe, raising=False)
    assert str(precision_choice("cpu")) == f"float32: Some CPU, {NO_UNITS}"


@pytest.mark.parametrize(
    "cpu, emulated", [("AVX2 only (Zen 3)", True), ("AVX512_BF16 only (Zen 4, Cooper Lake)", False)]
)
def test_bf16_asked_for_on_a_cpu_without_bf16_units_runs_but_says_it_is_emulated(fake_cpu, cpu, emulated):
    fake_cpu(**CPU_UNITS[cpu])
    speed = resolve_speed(make_config(amp="bf16"), torch.device("cpu"))
    assert speed.amp_dtype == torch.bfloat16
    assert ("bf16 is emulated there and slow (amp='auto' picks float32)" in speed.precision) is emulated
    assert speed.precision.startswith("bf16: asked for (amp='bf16')")


FAKE_AND_TRAIN = """import sys, torch
for probe, present in (("_is_amx_tile_supported", {amx}), ("_is_avx512_bf16_supported", {avx512_bf16})):
    setattr(torch.cpu, probe, lambda present=present: present)
from s5utils.cli import main
sys.exit(main(sys.argv[1:]))
"""
# 1 batch of 64: the precision line is what counts, and bf16 is emulated (slow) where the CPU has no bf16 units
TRAIN_ARGS = [
    "train",
    "--epochs",
    "1",
    "--max-batches",
    "1",
    "--batch-size",
    "64",
    "--num-workers",
    "0",
    "--device",
    "cpu",
]


def train_cli(code_or_module: list[str], mnist_root, out) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, *code_or_module, *TRAIN_ARGS, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "S5UTILS_DATA": str(mnist_root)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize(
    "amx, avx512_bf16, first",
    [(False, True, "Precision: bf16: "), (True, False, "Precision: bf16: "), (False, False, "Precision: float32: ")],
)
def test_train_prints_the_precision_and_the_units_it_found(mnist_root, tmp_path, amx, avx512_bf16, first):
    done = train_cli(["-c", FAKE_AND_TRAIN.format(amx=amx, avx512_bf16=avx512_bf16)], mnist_root, tmp_path)
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Precision: ")]
    assert line.startswith(first)
    units = "AMX bf16 units" if amx else "AVX512_BF16 units" if avx512_bf16 else NO_UNITS
    assert line.endswith(units)


@pytest.mark.skipif(
    not (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        and not getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    ),
    reason="this CPU has AMX or lacks AVX512_BF16 (the check is for a Zen 4 / Cooper Lake CPU)",
)
def test_on_an_avx512_bf16_cpu_python_m_s5utils_train_runs_bf16_and_says_why(mnist_root, tmp_path):
    done = train_cli(["-m", "s5utils"], mnist_root, tmp_path)
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Precision: ")]
    assert line.startswith("Precision: bf16: ") and line.endswith(", AVX512_BF16 units")


def test_mps_keeps_float32_and_says_so():
    choice = precision_choice(torch.device("mps"))
    assert choice.dtype is None and "MPS" in str(choice) and "float32" in str(choice)


def test_fit_names_the_precision_first_and_trains_under_fp16_with_its_scaler(capsys):
    set_seed(0)
    data = TensorDataset(torch.randn(64, 1, 8, 8), torch.randint(0, 3, (64,)))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    speed = SpeedOptions(amp_dtype=torch.float16, precision="fp16: asked for (amp='fp16'), with a GradScaler")
    state = TrainingState(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        DataLoader(data, batch_size=16),
        DataLoader(data, batch_size=32),
        speed=speed,
    )
    history = fit(state, epochs=1, progress=False)
    assert isinstance(state.grad_scaler, torch.amp.GradScaler)
    out = capsys.readouterr().out
    assert out.startswith("Precision: fp16: asked for (amp='fp16'), with a GradScaler\n")
    assert torch.isfinite(torch.tensor(history[0]["train_loss"]))
    assert all(p.dtype == torch.float32 for p in model.parameters())
