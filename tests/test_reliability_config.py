"""Bad parameters are refused with one line naming the parameter and the fix, from Python and from the CLI."""

import numpy as np
import pytest
import torch

from s5utils import ConfigError, RunDirError, make_config
from s5utils.cli import main


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"epochs": "007"}, ("epochs", 7)),  # papermill -p epochs 007
        ({"epochs": 1e3}, ("epochs", 1000)),  # papermill turns 1e3 into a float
        ({"epochs": "1e3"}, ("epochs", 1000)),
        ({"epochs": np.int64(4)}, ("epochs", 4)),  # a value computed with numpy
        ({"lr": "1e-3"}, ("lr", 0.001)),
        ({"lr": np.float32(0.5)}, ("lr", 0.5)),
        ({"max_batches": "None"}, ("max_batches", None)),
        ({"deterministic": "true"}, ("deterministic", True)),
        ({"deterministic": 0}, ("deterministic", False)),
        ({"out_dir": 2024}, ("out_dir", "2024")),  # papermill -p out_dir 2024 arrives as an int
    ],
)
def test_safe_conversions_are_made(params, expected):
    name, value = expected
    got = getattr(make_config(**params), name)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"epoch": 3}, "unknown parameter 'epoch'; did you mean 'epochs'?"),
        ({"learning_rate": 0.1}, "unknown parameter 'learning_rate'"),
        ({"lr": float("inf")}, "lr must be a number > 0, got inf"),
        ({"lr": 0}, "lr must be a number > 0, got 0.0"),
        ({"momentum": 1.0}, "momentum must be a number in [0, 1), got 1.0"),
        ({"gamma": 0}, "gamma must be a number in (0, 1], got 0.0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"epochs": "2.5"}, "epochs must be an integer >= 1, got '2.5'"),
        ({"epochs": True}, "epochs must be an integer >= 1, got the boolean True"),
        ({"num_workers": -1}, "num_workers must be an integer >= 0, got -1"),
        ({"max_batches": 0}, "max_batches must be an integer >= 1, or None for whole epochs, got 0"),
        ({"seed": 2**32}, "seed must be an integer in [0, 2**32)"),
        ({"deterministic": "maybe"}, "deterministic must be True or False, got 'maybe'"),
        ({"device": 0}, "device must be auto, cpu, cuda, cuda:N or mps, got 0"),
        ({"out_dir": " "}, "out_dir must be a folder path"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(params, message):
    with pytest.raises(ConfigError) as info:
        make_config(**params)
    assert message in str(info.value)
    assert info.value.name == next(iter(params))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_is_refused_at_config_time():
    with pytest.raises(ConfigError, match="CUDA is not available here; use device 'auto' or 'cpu'"):
        make_config(device="cuda")


def one_line_error(capsys, argv, code):
    """Run the CLI in-process; it must exit with code, print exactly one stderr line and no traceback."""
    try:
        rc = main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--epochs", "0"], "argument --epochs: epochs must be an integer >= 1, got 0"),
        (["--epochs", "2.5"], "argument --epochs: epochs must be an integer >= 1, got '2.5'"),
        (["--lr", "abc"], "argument --lr: lr must be a number > 0, got 'abc'"),
        (["--lr", "-0.1"], "argument --lr: lr must be a number > 0, got -0.1"),
        (["--lr", "nan"], "argument --lr: lr must be a number > 0, got nan"),
        (["--batch-size", "-4"], "argument --batch-size: batch_size must be an integer >= 1"),
        (["--gamma", "1.5"], "argument --gamma: gamma must be a number in (0, 1]"),
        (["--momentum", "1"], "argument --momentum: momentum must be a number in [0, 1)"),
        (["--seed", "-1"], "argument --seed: seed must be an integer in [0, 2**32)"),
        (["--num-workers", "-1"], "argument --num-workers: num_workers must be an integer >= 0"),
        (["--max-batches", "0"], "argument --max-batches: max_batches must be an integer >= 1"),
        (["--device", "tpu"], "argument --device: device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
        (["--epoch", "3"], "unrecognized arguments: --epoch 3; did you mean --epochs?"),
        (["--overwrite"], "--overwrite needs --run-dir"),
    ],
)
def test_bad_train_flags_get_one_line_and_exit_2(capsys, args, reason):
    line = one_line_error(capsys, ["train", *args], 2)
    assert line.startswith("python -m s5utils train: error: ") and reason in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_flag_without_cuda_gets_one_line(capsys):
    line = one_line_error(capsys, ["train", "--device", "cuda"], 2)
    assert "argument --device: device 'cuda' was asked for but CUDA is not available here" in line


@pytest.mark.parametrize(
    "argv, reason",
    [
        ([], "the following arguments are required: COMMAND"),
        (["resume"], "the following arguments are required: RUN_DIR"),
        (["resume", "x", "--lr", "0.1"], "unrecognized arguments: --lr 0.1"),
    ],
)
def test_missing_or_foreign_arguments_get_one_line(capsys, argv, reason):
    assert reason in one_line_error(capsys, argv, 2)


def test_resuming_a_folder_without_checkpoint_gets_one_line(capsys, tmp_path):
    line = one_line_error(capsys, ["resume", str(tmp_path)], 1)
    assert line.startswith(f"error: no checkpoint at {tmp_path / 'checkpoint.pt'}") and "start a new run" in line


def test_out_pointing_at_a_file_gets_one_line(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    line = one_line_error(capsys, ["train", "--out", str(tmp_path / "notes.txt")], 1)
    assert "is a file, not a folder" in line


def test_debug_shows_the_real_exception(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(RunDirError):
        main(["--debug", "train", "--run-dir", str(tmp_path)])


def test_resuming_a_path_that_does_not_exist_gets_one_line(capsys, tmp_path):
    line = one_line_error(capsys, ["resume", str(tmp_path / "nowhere")], 1)
    assert line.startswith(f"error: nothing at {tmp_path / 'nowhere'}: pass a run directory")
