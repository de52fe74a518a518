"""TensorBoard logging of a run: what the event files hold, a resume's purge, and what a real server shows."""

import copy
import time
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard_server import fetch, start_tensorboard, stop
from torch.utils.data import DataLoader, TensorDataset

from s5utils.runs.tensorboard_log import TensorBoardLogger, batch_stride, read_scalars, write_sweep_experiment
from s5utils.training.speed import SpeedOptions

CONFIG = {"lr": 0.1, "epochs": 2, "seed": 0, "max_batches": None, "amp": False, "kernel_sizes": [3, 3]}
EPOCH_TAGS = ["Loss/train", "Loss/test", "Accuracy/train", "Accuracy/test", "LR/epoch", "Time/epoch_seconds", "epoch"]


def tiny_state(seed: int = 0, labels: int | None = None) -> types.SimpleNamespace:
    """What fit hands its callbacks (TrainingState's attributes): a linear model, 4 train and 2 test batches of noise
    (random labels, or all `labels`)."""
    torch.manual_seed(seed)
    loaders = [
        DataLoader(
            TensorDataset(
                torch.randn(n, 1, 28, 28), torch.randint(0, 10, (n,)) if labels is None else torch.full((n,), labels)
            ),
            batch_size=8,
        )
        for n in (32, 16)
    ]
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    return types.SimpleNamespace(
        history=[],
        step=0,
        steps_per_epoch=len(loaders[0]),
        batch_log=[],
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        train_loader=loaders[0],
        test_loader=loaders[1],
        device=torch.device("cpu"),
        max_batches=None,
        speed=SpeedOptions(),
    )


def train(state, logger, until_epoch: int) -> None:
    """fit's loop: train an epoch (recording each batch), evaluate, append the history row, call the logger."""
    for epoch in range(len(state.history) + 1, until_epoch + 1):
        start, lr = time.perf_counter(), state.optimizer.param_groups[0]["lr"]
        state.batch_log, correct_train = [], 0
        state.model.train()
        for x, y in state.train_loader:
            out = state.model(x)
            loss = F.cross_entropy(out, y)
            state.optimizer.zero_grad()
            loss.backward()
            state.optimizer.step()
            state.step += 1
            state.batch_log.append((state.step, loss.item(), lr))
            correct_train += (out.argmax(1) == y).sum().item()
        state.model.eval()
        with torch.no_grad():
            x, y = state.test_loader.dataset.tensors
            out = state.model(x)
        correct = (out.argmax(1) == y).sum().item()
        seen = len(state.train_loader.dataset)
        state.history.append(
            {
                "epoch": epoch,
                "lr": lr,
                "train_loss": state.batch_log[-1][1],
                "train_acc": 100 * correct_train / seen,
                "test_loss": F.cross_entropy(out, y).item(),
                "test_acc": 100 * correct / len(y),
                "test_correct": correct,
                "test_seen": len(y),
                "seconds": time.perf_counter() - start,
            }
        )
        logger(state)


def accumulator(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def test_epochs_are_logged_at_the_global_step_in_one_event_file(tmp_path):
    state = tiny_state()
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=2)
    train(state, logger, 2)
    logger.close()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    scalars = read_scalars(tmp_path)
    assert set(EPOCH_TAGS) | {"Loss/train_batch", "LR/batch"} == set(scalars)
    assert [step for step, _ in scalars["Accuracy/test"]] == [4, 8]
    assert [v for _, v in scalars["Accuracy/test"]] == pytest.approx([r["test_acc"] for r in state.history])
    assert [v for _, v in scalars["epoch"]] == [1, 2]
    assert [step for step, _ in scalars["Loss/train_batch"]] == list(range(1, 9))  # 8 steps: no thinning
    assert scalars["Loss/train_batch"][-1][1] == pytest.approx(state.batch_log[-1][1])


def test_batch_tags_are_thinned_to_at_most_1000_points_on_steps_a_resume_would_pick_too(tmp_path):
    state = types.SimpleNamespace(history=[], step=0, steps_per_epoch=700)
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=3)
    for epoch in range(1, 4):
        state.batch_log = [(state.step + i, 1 / (state.step + i), 0.1) for i in range(1, 701)]
        state.step += 700
        state.history.append(
            {
                "epoch": epoch,
                "lr": 0.1,
                "train_loss": 1.0,
                "train_acc": 50.0,
                "test_loss": 1.0,
                "test_acc": 60.0 + epoch,
                "test_correct": 1,
                "test_seen": 2,
                "seconds": 1.0,
            }
        )
        logger(state)
    logger.close()
    scalars = read_scalars(tmp_path)
    assert batch_stride(3, 700) == 3
    for tag in ("Loss/train_batch", "LR/batch"):
        steps = [step for step, _ in scalars[tag]]
        assert len(steps) == 700 and steps == list(range(3, 2101, 3))
    assert [step for step, _ in scalars["Accuracy/test"]] == [700, 1400, 2100]


def test_finish_writes_the_hparams_records_and_the_mistakes_into_the_runs_own_file(tmp_path):
    state = tiny_state()
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=2)
    train(state, logger, 2)
    logger.finish(state, "completed")
    logger.close()  # finish closed it already: a second close is harmless
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []  # no add_hparams subfolder
    events = accumulator(tmp_path)
    content = events.PluginTagToContent("hparams")
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert set(start.hparams) == set(CONFIG)
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["amp"].WhichOneof("kind") == "bool_value"
    assert start.hparams["max_batches"].string_value == "None"
    assert start.hparams["kernel_sizes"].string_value == "[3, 3]"
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS
    assert metadata.EXPERIMENT_TAG not in content  # a run's own would compete with a sweep's
    assert events.Tags()["images"] == ["Mistakes/test"] and events.Images("Mistakes/test")[0].step == 8


def test_a_failed_run_has_no_session_end_record_and_a_logger_without_epochs_writes_nothing(tmp_path):
    state = tiny_state()
    logger = TensorBoardLogger(tmp_path / "failed", CONFIG, epochs=2)
    train(state, logger, 1)
    logger.finish(state, "failed")
    events = accumulator(tmp_path / "failed")
    content = events.PluginTagToContent("hparams")
    assert metadata.SESSION_END_INFO_TAG not in content and metadata.SESSION_START_INFO_TAG in content
    assert "Run/status/text_summary" in events.Tags()["tensors"] and events.Tags()["images"] == []
    idle = TensorBoardLogger(tmp_path / "idle", CONFIG, epochs=2)
    idle.finish(tiny_state(), "failed")
    idle.close()
    assert not (tmp_path / "idle").exists()


def test_a_run_without_mistakes_logs_no_mistakes_figure(tmp_path):
    state = tiny_state(labels=3)
    with torch.no_grad():  # every image predicted as 3
        state.model[1].weight.zero_()
        state.model[1].bias.copy_(torch.eye(10)[3])
    state.optimizer = torch.optim.SGD(state.model.parameters(), lr=0.0)
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=2)
    train(state, logger, 1)
    logger.finish(state, "completed")
    assert state.history[-1]["test_acc"] == 100.0
    assert accumulator(tmp_path).Tags()["images"] == []


class RecordsPrecision(nn.Module):
    """model's output, noting for each call whether CPU autocast was on and its dtype."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, []

    def forward(self, x):
        self.calls.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return self.model(x)


def test_the_mistakes_pass_runs_in_the_runs_precision(tmp_path):
    state = tiny_state()
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=2)
    train(state, logger, 1)
    state.model = RecordsPrecision(state.model)
    state.speed = SpeedOptions(amp_dtype=torch.bfloat16, channels_last=True)
    logger.finish(state, "completed")
    assert state.model.calls == [(True, torch.bfloat16)] * len(state.test_loader)
    assert accumulator(tmp_path).Tags()["images"] == ["Mistakes/test"]


def killed_then_resumed(state, logger: TensorBoardLogger) -> TensorBoardLogger:
    """Log one more epoch of made-up values (-1) as a process killed before its checkpoint would; leave state as
    the last checkpoint restores it; return the logger a new process starts for it."""
    killed = copy.deepcopy(state)
    killed.history.append({**killed.history[-1], "epoch": len(killed.history) + 1, "test_acc": -1.0})
    killed.batch_log = [(killed.step + i, -1.0, 0.1) for i in range(1, killed.steps_per_epoch + 1)]
    killed.step += killed.steps_per_epoch
    logger(killed)
    logger.close()
    time.sleep(1.05 - time.time() % 1)  # the new process's file sorts after the first (names hold seconds)
    return TensorBoardLogger(logger.log_dir, logger.hparams, logger.epochs)


def test_a_resumed_run_has_one_value_per_step_the_killed_process_values_purged(tmp_path):
    state = tiny_state()
    logger = TensorBoardLogger(tmp_path, CONFIG, epochs=3)
    train(state, logger, 1)
    resumed = killed_then_resumed(state, logger)
    train(state, resumed, 3)
    resumed.finish(state, "completed")
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    scalars = read_scalars(tmp_path)
    for tag, points in scalars.items():
        steps = [step for step, _ in points]
        assert steps == sorted(set(steps)), tag
    assert [step for step, _ in scalars["Accuracy/test"]] == [4, 8, 12]
    assert [v for _, v in scalars["Accuracy/test"]] == pytest.approx([r["test_acc"] for r in state.history])
    assert -1.0 not in [v for _, v in scalars["Accuracy/test"] + scalars["Loss/train_batch"]]
    assert [step for step, _ in scalars["Loss/train_batch"]] == list(range(1, 13))


def test_sweep_experiment_is_one_event_file_at_the_sweeps_root(tmp_path):
    path = write_sweep_experiment(tmp_path, {"seed": [2, 0, 1], "max_batches": [None, "None"], "amp": [True, False]})
    assert path.parent == tmp_path and list(tmp_path.glob("events.out.tfevents.*")) == [path]
    content = accumulator(tmp_path).PluginTagToContent("hparams")
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    infos = {info.name: info for info in experiment.hparam_infos}
    assert [v.number_value for v in infos["seed"].domain_discrete.values] == [0, 1, 2]
    assert [v.string_value for v in infos["max_batches"].domain_discrete.values] == ["None"]
    assert infos["amp"].type == api_pb2.DATA_TYPE_BOOL
    assert [m.name.tag for m in experiment.metric_infos] == ["Accuracy/test", "Loss/test"]


def test_a_tensorboard_server_shows_a_sweeps_runs_and_hparams_table(tmp_path):
    accuracies = {}
    for seed in (0, 1, 2):
        state = tiny_state(seed)
        logger = TensorBoardLogger(tmp_path / f"seed{seed}", {**CONFIG, "seed": seed}, epochs=2)
        train(state, logger, 1)
        if seed == 2:  # the server purges what the killed process logged
            logger = killed_then_resumed(state, logger)
        train(state, logger, 2)
        logger.finish(state, "completed")
        accuracies[seed] = [row["test_acc"] for row in state.history]
    write_sweep_experiment(tmp_path, {"seed": [0, 1, 2]})
    deadline = time.monotonic() + 60
    server, url = start_tensorboard(tmp_path, tmp_path.parent / "tensorboard.log", deadline)
    try:
        runs = []
        while time.monotonic() < deadline:
            runs = fetch(f"{url}/data/runs")
            ready = [
                fetch(f"{url}/data/plugin/scalars/scalars?run=seed{s}&tag=Accuracy/test") if f"seed{s}" in runs else []
                for s in (0, 1, 2)
            ]
            if all(len(points) == 2 for points in ready):
                break
            time.sleep(0.5)
        assert {"seed0", "seed1", "seed2"} <= set(runs)
        assert [[step for _, step, _ in points] for points in ready] == [[4, 8]] * 3
        for seed, points in enumerate(ready):
            assert [value for _, _, value in points] == pytest.approx(accuracies[seed])
        experiment = fetch(f"{url}/data/plugin/hparams/experiment", {"experimentName": ""})
        assert [info["name"] for info in experiment["hparamInfos"]] == ["seed"]  # the sweep's declaration
        groups = fetch(
            f"{url}/data/plugin/hparams/session_groups",
            {
                "startIndex": 0,
                "sliceSize": 100,
                "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            },
        )
        assert groups["totalSize"] == 3
        for group in groups["sessionGroups"]:
            accuracy = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}["Accuracy/test"]
            assert accuracy == pytest.approx(accuracies[int(group["hparams"]["seed"])][-1])  # the final one
            assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
    finally:
        stop(server)
