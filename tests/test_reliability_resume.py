"""A run survives being killed: checkpoints after every epoch, and a resume that repeats the run bit for bit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.utils.data import Subset

from s5utils import (
    Checkpointer,
    SpeedOptions,
    TrainingState,
    fit,
    make_config,
    make_loaders,
    mnist_datasets,
    run_recipe,
    set_seed,
)
from s5utils.runs.folder import hold_interrupts
from s5utils.runs.records import read_record
from s5utils.training.checkpoint import load_checkpoint

TIMING = ("seconds",)


def numbers(history):
    """The history without wall-clock fields, which no two runs share."""
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def small_setup(root, num_workers, speed=None):
    """A TrainingState: seeded MNIST subset with the seed's augmentation, a small CNN with dropout, SGD with
    momentum, StepLR, 4 batches an epoch."""
    set_seed(3)
    train, test = mnist_datasets(root)
    train_loader, test_loader = make_loaders(
        Subset(train, range(512)), Subset(test, range(128)), 64, torch.device("cpu"), num_workers, seed=3
    )
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.Dropout(0.25), nn.Flatten(), nn.Linear(4 * 13 * 13, 10)
    )  # dropout draws from the global RNG too
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return TrainingState(model, optimizer, train_loader, test_loader, scheduler=scheduler, speed=speed, max_batches=4)


def same_weights(a: TrainingState, b: TrainingState) -> bool:
    pairs = zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_fit_resumed_from_a_checkpoint_matches_an_uninterrupted_run(mnist_root, tmp_path, num_workers):
    full = small_setup(mnist_root, num_workers)
    fit(full, epochs=3, progress=False)

    fit(small_setup(mnist_root, num_workers), epochs=1, progress=False, callbacks=[Checkpointer(tmp_path / "ckpt.pt")])
    resumed = small_setup(mnist_root, num_workers)
    torch.rand(1000)  # a different RNG position than the interrupted run had: resume must restore it
    history = fit(resumed.restore(tmp_path / "ckpt.pt"), epochs=3, progress=False)

    assert numbers(history) == numbers(full.history) and resumed.step == full.step == 12
    assert same_weights(resumed, full)


def fp16():
    """float16 autocast with its GradScaler, as a T4 trains (CPU autocast runs float16 too in current torch)."""
    return SpeedOptions(amp_dtype=torch.float16, precision="fp16: asked for (amp='fp16'), with a GradScaler")


def test_fp16_with_its_grad_scaler_resumes_bit_for_bit_and_the_checkpoint_holds_the_scaler(mnist_root, tmp_path):
    def fast_growing(state):
        # A scale that doubles every step soon overflows float16, so steps are skipped and the scale backs off:
        # a resume that restarted the scaler at its default would skip other steps than the uninterrupted run.
        state.grad_scaler = torch.amp.GradScaler("cpu", growth_interval=1)
        return state

    full = fast_growing(small_setup(mnist_root, 0, fp16()))
    fit(full, epochs=3, progress=False)

    first = fast_growing(small_setup(mnist_root, 0, fp16()))
    fit(first, epochs=1, progress=False, callbacks=[Checkpointer(tmp_path / "ckpt.pt")])
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)["grad_scaler"]
    assert saved == first.grad_scaler.state_dict() and saved["growth_interval"] == 1

    resumed = small_setup(mnist_root, 0, fp16()).restore(tmp_path / "ckpt.pt")  # a default scaler, restored
    assert resumed.grad_scaler.get_scale() == first.grad_scaler.get_scale() != 65536.0
    fit(resumed, epochs=3, progress=False)
    assert numbers(resumed.history) == numbers(full.history)
    assert resumed.grad_scaler.state_dict() == full.grad_scaler.state_dict()
    assert same_weights(resumed, full)


def test_a_checkpoint_holds_the_whole_training_state_readable_with_weights_only(mnist_root, tmp_path):
    run = small_setup(mnist_root, 0)
    run.max_batches = 2
    history = fit(run, epochs=2, progress=False, callbacks=[Checkpointer(tmp_path / "ckpt.pt")])
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert state["epoch"] == 2 and numbers(state["history"]) == numbers(history) and state["step"] == 4
    assert state["scheduler"]["last_epoch"] == 2 and state["grad_scaler"] is None  # float32: no scaler
    assert all(torch.equal(v, run.model.state_dict()[k]) for k, v in state["model"].items())
    assert set(state["rng"]) == {"torch", "cuda", "numpy", "python", "loader"}
    assert torch.equal(state["rng"]["loader"], run.train_loader.generator.get_state())
    assert state["versions"]["torch"] == str(torch.__version__)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed, not left behind


def run_cli(*args, data):
    env = {**os.environ, "S5UTILS_DATA": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "s5utils", *args], capture_output=True, text=True, env=env, timeout=600
    )


def start_cli(*args, data):
    env = {**os.environ, "S5UTILS_DATA": str(data)}
    # A shell's background job ignores SIGINT and children inherit that; a terminal's ^C reaches the default.
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen(
        [sys.executable, "-m", "s5utils", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )


def wait_for_first_epoch(run_dir: Path, proc, timeout=300):
    """Poll until run_dir's metrics.json lists an epoch (written after that epoch's checkpoint), while proc runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_record(run_dir).get("history"):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise TimeoutError(f"no checkpoint in {run_dir}")


TRAIN = ["train", "--epochs", "3", "--max-batches", "4", "--batch-size", "64", "--num-workers", "0", "--seed", "7"]


def test_a_run_killed_after_an_epoch_resumes_to_the_same_metrics_bit_for_bit(mnist_root, tmp_path):
    whole = run_cli(*TRAIN, "--run-dir", str(tmp_path / "whole"), data=mnist_root)
    assert whole.returncode == 0, whole.stderr

    proc = start_cli(*TRAIN, "--run-dir", str(tmp_path / "killed"), data=mnist_root)
    wait_for_first_epoch(tmp_path / "killed", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    killed = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    kept = load_checkpoint(tmp_path / "killed")["epoch"]  # one ahead of metrics.json if killed between the two
    assert killed["status"] == "running" and 1 <= len(killed["history"]) <= kept < 3  # really died mid-run

    resumed = run_cli("resume", str(tmp_path / "killed"), data=mnist_root)
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert b["status"] == "completed" and b["resumed"][0]["after_epoch"] == kept
    assert numbers(b["history"]) == numbers(a["history"]) and len(a["history"]) == 3
    weights_a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    weights_b = torch.load(tmp_path / "killed" / "model.pt", weights_only=True)
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)

    # TensorBoard: the resumed run's curves hold one value per step, the same steps and values as the whole run's
    # (the resumed writer purges whatever the killed one logged after the checkpoint it resumed from).
    curves_a, curves_b = scalars(tmp_path / "whole"), scalars(tmp_path / "killed")
    assert len(list((tmp_path / "killed").glob("events.out.tfevents.*"))) == 2  # the killed writer's, the new one
    assert curves_b.keys() == curves_a.keys() and "Accuracy/test" in curves_a
    for tag, points in curves_b.items():
        steps = [step for step, _ in points]
        assert len(steps) == len(set(steps)), f"{tag} has a step twice after the resume: {steps}"
        assert points == curves_a[tag] or tag.startswith("Time/"), tag


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar curve of a run folder's event files as TensorBoard loads them: [(step, value), ...] per tag."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_ctrl_c_keeps_history_plot_and_checkpoint_and_says_how_to_resume(mnist_root, tmp_path):
    run_dir = tmp_path / "run"
    proc = start_cli(*TRAIN, "--epochs", "50", "--run-dir", str(run_dir), data=mnist_root)  # still running at ^C
    wait_for_first_epoch(run_dir, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert f"continue with `python -m s5utils resume {run_dir}`" in err
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "interrupted" and len(record["history"]) >= 1
    assert load_checkpoint(run_dir)["epoch"] == len(record["history"])
    assert (run_dir / "training_plot.png").stat().st_size > 10_000


def test_a_ctrl_c_during_the_epoch_end_save_waits_for_the_save_then_interrupts():
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with ^C ignored
    finished = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with hold_interrupts():
                signal.raise_signal(signal.SIGINT)
                finished.append("checkpoint and metrics.json written")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
    assert finished == ["checkpoint and metrics.json written"]


def recipe(root, out, seed):
    config = make_config(
        epochs=2, max_batches=3, batch_size=64, num_workers=0, seed=seed, data_root=str(root), out_dir=str(out)
    )
    return numbers(run_recipe(config)[1])


def test_same_seed_same_config_gives_identical_metrics_on_cpu(mnist_root, tmp_path):
    first, again, other = (
        recipe(mnist_root, tmp_path, 5),
        recipe(mnist_root, tmp_path, 5),
        recipe(mnist_root, tmp_path, 6),
    )
    assert first == again
    assert first != other  # the seed really drives the run
    assert len(list(tmp_path.iterdir())) == 3  # three runs, three directories
