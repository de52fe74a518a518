"""A sweep compares in TensorBoard: a real server on a real 3-seed sweep lists every run and an HParams row each."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard_server import fetch, session_groups, start_tensorboard, stop

pytest.importorskip("distributed", reason="the sweep runs on Dask: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (1, 2, 3)


def test_tensorboard_shows_a_3_seed_sweeps_runs_curves_and_one_hparams_row_per_run(mnist_root, tmp_path):
    env = dict(os.environ, S5UTILS_DATA=str(mnist_root), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s5utils",
            "sweep",
            "--workers",
            "2",
            "--seed",
            *map(str, SEEDS),
            "--epochs",
            "2",
            "--max-batches",
            "2",
            "--batch-size",
            "64",
            "--out",
            str(tmp_path / "runs"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (folder,) = (tmp_path / "runs").iterdir()
    names = [f"0{i}-seed{seed}" for i, seed in enumerate(SEEDS, 1)]
    final = {name: json.loads((folder / name / "metrics.json").read_text())["final"]["test_acc"] for name in names}
    # Each run's one event file came back from its worker with the run's other files.
    assert all(len(list((folder / name).glob("events.out.tfevents.*"))) == 1 for name in names)

    deadline = time.monotonic() + 90
    server, url = start_tensorboard(folder, tmp_path / "tensorboard.log", deadline)
    try:
        curves = {}
        while time.monotonic() < deadline:
            runs = fetch(f"{url}/data/runs")
            curves = {
                name: fetch(f"{url}/data/plugin/scalars/scalars?run={name}&tag=Accuracy/test")
                for name in names
                if name in runs
            }
            if len(curves) == 3 and all(len(points) == 2 for points in curves.values()):
                break
            time.sleep(0.5)
        assert set(names) <= set(runs), runs
        for name, points in curves.items():
            assert [step for _, step, _ in points] == [2, 4]  # global steps: 2 batches an epoch
            assert points[-1][2] == pytest.approx(final[name])
        experiment = fetch(f"{url}/data/plugin/hparams/experiment", {"experimentName": ""})
        assert "seed" in [info["name"] for info in experiment["hparamInfos"]]
        groups = session_groups(url)
        assert groups["totalSize"] == 3
        by_seed = {int(group["hparams"]["seed"]): group for group in groups["sessionGroups"]}
        assert sorted(by_seed) == list(SEEDS)
        for seed, name in zip(SEEDS, names, strict=False):
            values = {m["name"]["tag"]: m["value"] for m in by_seed[seed]["metricValues"]}
            assert values["Accuracy/test"] == pytest.approx(final[name])  # the final accuracy
            assert by_seed[seed]["sessions"][0]["status"] == "STATUS_SUCCESS"
    finally:
        stop(server)
