"""Checkpoints inside an epoch (checkpoint_seconds): a run stopped mid-epoch, by an exception or a real SIGKILL,
continues that epoch from its next batch and ends bit for bit where an uninterrupted run ends."""

import json
import signal
import time

import pytest
import torch
import torch.nn as nn
from test_reliability_resume import numbers, run_cli, same_weights, scalars, start_cli

from s5utils import TrainingState, fit, make_config, set_seed
from s5utils.config import ConfigError
from s5utils.data.tensor_loader import make_tensor_loaders
from s5utils.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

BATCHES = 5  # an epoch of 5 batches of 64


def tensor_setup(root) -> TrainingState:
    """The tensor path (a seeded TensorLoader draws the order and the augmentation), a small CNN with dropout
    (the global RNG), SGD with momentum and OneCycleLR stepped every batch, so every state a step changes counts."""
    set_seed(3)
    train_loader, test_loader = make_tensor_loaders(root, 64, "cpu", seed=3)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.Dropout(0.25), nn.Flatten(), nn.Linear(4 * 13 * 13, 10)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=3 * BATCHES)
    return TrainingState(model, optimizer, train_loader, test_loader, batch_scheduler=one_cycle, max_batches=BATCHES)


class StopAtStep:
    """A fit() callback that checkpoints after optimizer step `step` and then stops the run, as a job's end does."""

    def __init__(self, path, step: int) -> None:
        self.path, self.step = path, step

    def checkpoint_if_due(self, state) -> None:
        if state.step == self.step:
            save_checkpoint(self.path, state)
            raise KeyboardInterrupt

    def __call__(self, state) -> None:
        pass


@pytest.mark.parametrize(
    "stop_step",
    [7, BATCHES * 2],  # inside epoch 2; after epoch 2's last batch, before its test pass
    ids=["mid-epoch", "before-the-test-pass"],
)
def test_a_run_stopped_inside_an_epoch_continues_it_bit_for_bit(mnist_root, tmp_path, stop_step):
    full = tensor_setup(mnist_root)
    fit(full, epochs=3, progress=False)

    stopped = tensor_setup(mnist_root)
    with pytest.raises(KeyboardInterrupt):
        fit(stopped, epochs=3, progress=False, callbacks=[StopAtStep(tmp_path / "ckpt.pt", stop_step)])
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)  # plain values and tensors only
    assert saved["epoch"] == 1 and saved["step"] == stop_step
    assert saved["partial"]["epoch"] == 2 and saved["partial"]["batches"] == stop_step - BATCHES

    resumed = tensor_setup(mnist_root)
    torch.rand(1000)  # a different RNG position than the stopped run had: the resume must restore it
    fit(resumed.restore(tmp_path / "ckpt.pt"), epochs=3, progress=False)
    assert numbers(resumed.history) == numbers(full.history) and resumed.step == full.step == 3 * BATCHES
    assert same_weights(resumed, full)
    assert resumed.batch_log == full.batch_log  # the last epoch's (step, loss, lr), as TensorBoard logs them


def test_an_epoch_checkpoint_holds_no_partial_epoch(mnist_root, tmp_path):
    state = tensor_setup(mnist_root)
    fit(state, epochs=1, progress=False)
    save_checkpoint(tmp_path / "ckpt.pt", state)
    assert load_checkpoint(tmp_path / "ckpt.pt")["partial"] is None


def test_a_dataloader_cannot_checkpoint_inside_an_epoch_and_says_so(mnist_root):
    with pytest.raises(ConfigError, match="checkpoint_seconds needs data_path 'tensor'"):
        make_config(checkpoint_seconds=30, data_path="loader")
    with pytest.raises(ConfigError, match="checkpoint_seconds must be a number of seconds > 0"):
        make_config(checkpoint_seconds=0)
    assert make_config(checkpoint_seconds="12.5").checkpoint_seconds == 12.5


TRAIN = ["train", "--epochs", "2", "--max-batches", "12", "--batch-size", "64", "--seed", "7"]


def wait_for_a_checkpoint_inside_epoch_1(run_dir, proc, timeout=300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if load_checkpoint(run_dir).get("partial"):
                return
        except CheckpointError:  # none yet
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise TimeoutError(f"no checkpoint inside an epoch in {run_dir}")


def test_a_run_killed_inside_an_epoch_resumes_from_its_last_batch_to_the_same_metrics(mnist_root, tmp_path):
    whole = run_cli(*TRAIN, "--run-dir", str(tmp_path / "whole"), data=mnist_root)
    assert whole.returncode == 0, whole.stderr

    killed_dir = tmp_path / "killed"
    proc = start_cli(*TRAIN, "--checkpoint-seconds", "0.001", "--run-dir", str(killed_dir), data=mnist_root)
    wait_for_a_checkpoint_inside_epoch_1(killed_dir, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    kept = load_checkpoint(killed_dir)
    assert kept["epoch"] == 0 and 1 <= kept["partial"]["batches"] <= 12, "killed inside epoch 1"

    resumed = run_cli("resume", str(killed_dir), data=mnist_root)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming epoch 1 after batch {kept['partial']['batches']} of 12" in resumed.stdout
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((killed_dir / "metrics.json").read_text())
    assert b["status"] == "completed" and len(a["history"]) == 2
    assert b["resumed"][0]["after_epoch"] == 0 and b["resumed"][0]["then_batches"] == kept["partial"]["batches"]
    assert numbers(b["history"]) == numbers(a["history"])
    weights_a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    weights_b = torch.load(killed_dir / "model.pt", weights_only=True)
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    curves_a, curves_b = scalars(tmp_path / "whole"), scalars(killed_dir)
    assert curves_b.keys() == curves_a.keys() and "Loss/train_batch" in curves_a
    for tag, points in curves_b.items():
        assert points == curves_a[tag] or tag.startswith("Time/"), tag
