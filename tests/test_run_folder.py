"""RunFolder: one fit() callback that keeps a run folder current, and records how the run ended."""

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from s5utils import (
    EpochProgress,
    RunDirError,
    RunFolder,
    SpeedOptions,
    TrainingState,
    fit,
    load_checkpoint,
    make_config,
    set_seed,
)


def tiny_run(run_dir, epochs=2, fail_after=None, resume_from=None):
    set_seed(0)
    data = TensorDataset(torch.randn(64, 1, 4, 4), torch.randint(0, 3, (64,)))
    loader = DataLoader(data, batch_size=16)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = TrainingState(
        model, optimizer, loader, loader, scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    )
    config = make_config(epochs=epochs)

    def stop(state):
        if state.epoch == fail_after:
            raise RuntimeError("disk full")

    if resume_from is not None:
        state.restore(resume_from)
    with RunFolder(run_dir, config, resume=resume_from is not None) as run:
        history = fit(state, epochs, callbacks=[run, stop, EpochProgress(epochs)], progress=False)
        run.final_evaluation(state)  # as the notebooks and resume_run do
    return history


def test_a_completed_run_folder_holds_metrics_checkpoint_plot_and_weights(tmp_path):
    history = tiny_run(tmp_path / "run")
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["status"] == "completed" and record["history"] == history and record["final"] == history[-1]
    assert record["speed"] == {**SpeedOptions().record(), "compile_seconds": None}
    assert load_checkpoint(tmp_path / "run")["epoch"] == 2
    assert (tmp_path / "run" / "training_plot.png").stat().st_size > 10_000
    assert set(torch.load(tmp_path / "run" / "model.pt", weights_only=True)) == {"1.weight", "1.bias"}
    assert len(list((tmp_path / "run").glob("events.out.tfevents.*"))) == 1  # one TensorBoard writer per run


def test_a_fresh_run_never_writes_over_an_earlier_one_but_a_resumed_run_continues_it(tmp_path):
    tiny_run(tmp_path / "run", epochs=1)
    with pytest.raises(RunDirError, match="already holds files"):
        tiny_run(tmp_path / "run", epochs=2)
    history = tiny_run(tmp_path / "run", epochs=2, resume_from=tmp_path / "run")
    assert [row["epoch"] for row in history] == [1, 2]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "completed"


def test_a_run_resumed_after_its_last_epoch_is_finished_with_its_speed_record_and_weights(tmp_path):
    tiny_run(tmp_path / "run", epochs=2)
    (tmp_path / "run" / "model.pt").unlink()  # killed after its last checkpoint, before the weights (a job's end)
    history = tiny_run(tmp_path / "run", epochs=2, resume_from=tmp_path / "run")
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2] and record["history"] == history
    assert record["status"] == "completed" and [r["after_epoch"] for r in record["resumed"]] == [2]
    assert record["speed"] == {**SpeedOptions().record(), "compile_seconds": None}
    assert (tmp_path / "run" / "model.pt").is_file()


def test_an_error_inside_the_block_is_recorded_and_raised_with_the_last_good_epoch_kept(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"):
        tiny_run(tmp_path / "run", epochs=3, fail_after=2)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error"] == "RuntimeError: disk full"
    assert len(record["history"]) == 2 and load_checkpoint(tmp_path / "run")["epoch"] == 2
    assert not (tmp_path / "run" / "model.pt").exists()


def test_the_old_name_run_seed_recipe_still_runs_a_recipe_and_says_its_new_name(mnist_root, tmp_path):
    import s5utils

    assert "run_seed_recipe" not in s5utils.__all__
    config = make_config(
        epochs=1, max_batches=1, batch_size=16, num_workers=0, data_root=str(mnist_root), out_dir=str(tmp_path)
    )
    with pytest.warns(DeprecationWarning, match="run_seed_recipe is now run_recipe"):
        run_dir, history = s5utils.run_seed_recipe(config)
    assert len(history) == 1 and json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"


def test_run_files_get_the_mode_the_umask_gives_new_files_so_others_on_a_shared_cluster_can_read_them(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        tiny_run(tmp_path / "run", epochs=1)
    finally:
        os.umask(previous)
    names = ["metrics.json", "checkpoint.pt", "model.pt", "training_plot.png"]
    names += [p.name for p in (tmp_path / "run").glob("events.out.tfevents.*")]
    modes = {name: stat.S_IMODE((tmp_path / "run" / name).stat().st_mode) for name in names}
    assert modes == dict.fromkeys(names, 0o644) and len(names) == 5


def test_wall_seconds_and_started_at_count_from_the_run_folder_not_from_the_end_of_epoch_one(tmp_path):
    set_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(32, 1, 4, 4), torch.randint(0, 3, (32,))), batch_size=16)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))

    def slow_loss(
        output, target, **options
    ):  # each batch takes 0.2 s, so the first epoch is long next to the folder's work
        time.sleep(0.2)
        return nn.functional.cross_entropy(output, target, **options)

    state = TrainingState(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loader, loss_fn=slow_loss)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with RunFolder(tmp_path / "run", make_config(epochs=2)) as run:
        history = fit(state, 2, callbacks=[run], progress=False)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert history[0]["seconds"] >= 0.4
    assert record["wall_seconds"] >= sum(row["seconds"] for row in history)
    assert datetime.fromisoformat(record["started_at"]) <= before + timedelta(seconds=1)
    assert datetime.fromisoformat(record["started_at"]) + timedelta(
        seconds=history[0]["seconds"]
    ) <= datetime.fromisoformat(record["finished_at"]) + timedelta(seconds=1)
