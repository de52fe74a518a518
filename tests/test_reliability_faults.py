"""Faults are caught and named: non-finite losses, bad data, bad checkpoints, and runs that would be overwritten."""

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import s5utils
from s5utils import (
    Checkpointer,
    CheckpointError,
    NonFiniteLossError,
    RunDirError,
    TrainingState,
    fit,
    load_checkpoint,
    make_config,
    new_run_dir,
    run_recipe,
    set_deterministic,
    set_seed,
    train_one_epoch,
    verify_mnist,
)
from s5utils.cli import main
from s5utils.data.provision import raw_dir


def blobs(n=96):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    return TensorDataset(torch.randn(n, 1, 4, 4, generator=g) + y.view(-1, 1, 1, 1), y)


def linear():
    set_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3))


def test_training_stops_at_the_first_non_finite_loss_and_keeps_the_last_good_checkpoint(tmp_path):
    model = linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # A broken schedule that makes the lr infinite in epoch 2: the loss turns nan there, not in epoch 1.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 if epoch == 0 else math.inf)
    after_epoch_1 = []
    loader = DataLoader(blobs(), batch_size=16)
    with pytest.raises(NonFiniteLossError) as info:
        fit(
            TrainingState(model, optimizer, loader, loader, scheduler=scheduler),
            epochs=3,
            progress=False,
            callbacks=[
                Checkpointer(tmp_path / "c.pt"),
                lambda state: after_epoch_1.append({k: v.clone() for k, v in model.state_dict().items()}),
            ],
        )
    error = info.value
    assert (error.epoch, error.lr) == (2, math.inf) and not math.isfinite(error.loss)
    assert re.match(r"training loss became (nan|inf) at epoch 2, batch \d+ \(lr inf\)", str(error))
    state = load_checkpoint(tmp_path / "c.pt")
    assert state["epoch"] == 1 and len(after_epoch_1) == 1
    assert all(torch.equal(state["model"][k], after_epoch_1[0][k]) for k in state["model"])


def test_a_nan_batch_never_reaches_the_weights():
    data = blobs(32)
    data.tensors[0][20] = float("nan")  # in the second batch of 16
    model = linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError, match="at batch 1"):
        train_one_epoch(model, DataLoader(data, batch_size=16), optimizer, "cpu", progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_diverging_cli_run_is_recorded_as_failed_with_one_error_line(mnist_root, tmp_path, capsys):
    rc = main(
        [
            "train",
            "--epochs",
            "2",
            "--max-batches",
            "3",
            "--batch-size",
            "32",
            "--lr",
            "1e30",
            "--num-workers",
            "0",
            "--data-root",
            str(mnist_root),
            "--run-dir",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert re.search(
        r"^error: training loss became nan at epoch 1, batch \d+ \(lr 1e\+30\).*lower the learning rate", err, re.M
    )
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["status"] == "failed" and record["stopped_at"]["epoch"] == 1 and record["stopped_at"]["lr"] == 1e30


def small_config(out, **kw):
    return make_config(epochs=1, max_batches=1, batch_size=16, num_workers=0, out_dir=str(out), **kw)


def test_an_existing_run_directory_is_never_overwritten_without_the_flag(mnist_root, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text('{"status": "completed"}')
    with pytest.raises(RunDirError, match="already holds files.*--overwrite"):
        run_recipe(small_config(tmp_path, data_root=str(mnist_root)), run_dir)
    assert (run_dir / "metrics.json").read_text() == '{"status": "completed"}'

    (run_dir / "my_notes.txt").write_text("keep me")
    (run_dir / "events.out.tfevents.1.earlier-run").write_bytes(b"")  # TensorBoard would mix its curves in
    run_recipe(small_config(tmp_path, data_root=str(mnist_root)), run_dir, overwrite=True)
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert (run_dir / "my_notes.txt").read_text() == "keep me"  # overwrite replaces run files only
    assert [p.name for p in run_dir.glob("events.out.tfevents.*")] != ["events.out.tfevents.1.earlier-run"]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1


def test_the_cli_refuses_an_existing_run_directory_in_one_line(tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("{}")
    assert main(["train", "--run-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: run directory {tmp_path} already holds files") and "\n" not in err
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_new_runs_in_the_same_second_get_their_own_directories(tmp_path):
    dirs = {new_run_dir(tmp_path, "seed") for _ in range(3)}
    assert len(dirs) == 3


def test_a_corrupted_idx_file_stops_the_cli_naming_the_file_and_the_fix_and_data_repairs_it(
    mnist_root, tmp_path, capsys
):
    shutil.copytree(raw_dir(mnist_root), raw_dir(tmp_path))
    bad = raw_dir(tmp_path) / "t10k-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-10])  # truncated
    rc = main(["train", "--data-root", str(tmp_path), "--out", str(tmp_path / "runs"), "--num-workers", "0"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err
    assert f"{bad} is corrupted" in err and f"python -m s5utils data --root {tmp_path}" in err

    assert main(["data", "--root", str(tmp_path)]) == 0
    verify_mnist(tmp_path)  # intact again


def test_a_truncated_checkpoint_is_named_and_resume_says_so_in_one_line(mnist_root, tmp_path, capsys):
    model = linear()
    loader = DataLoader(blobs(), batch_size=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(
        TrainingState(model, optimizer, loader, loader),
        1,
        progress=False,
        callbacks=[Checkpointer(tmp_path / "checkpoint.pt")],
    )
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=f"checkpoint {path} is unreadable, probably truncated"):
        load_checkpoint(path)
    assert main(["resume", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: checkpoint {path} is unreadable")


class Payload:
    """Any class at all: a checkpoint may hold tensors and plain values only."""


def test_a_checkpoint_holding_arbitrary_objects_is_refused(tmp_path):
    torch.save({"model": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refusing to load .*evil.pt: it holds objects other than tensors"):
        load_checkpoint(tmp_path / "evil.pt")


def test_the_package_never_loads_with_weights_only_false():
    package = Path(s5utils.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "weights_only=False" not in text, source
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (source, call)


def test_deterministic_sets_the_documented_pytorch_flags(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_a_deterministic_config_switches_the_flags_on_for_its_run(mnist_root, tmp_path):
    try:
        run_recipe(small_config(tmp_path, data_root=str(mnist_root), deterministic=True))
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        set_deterministic(False)


def test_resume_can_train_longer_but_not_change_the_recipe(mnist_root, tmp_path):
    run_dir, history = run_recipe(small_config(tmp_path, data_root=str(mnist_root)))
    with pytest.raises(s5utils.ConfigError, match="lr cannot change when resuming"):
        s5utils.resume_run(run_dir, lr=0.1)
    _, longer = s5utils.resume_run(run_dir, epochs=2)
    assert [row["epoch"] for row in longer] == [1, 2] and longer[0] == history[0]
    assert json.loads((run_dir / "metrics.json").read_text())["config"]["epochs"] == 2
