"""The benchmark script runs end to end and reports what the performance issue asks for (no timing asserted)."""

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from s5utils.training.precision import precision_choice

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def run_quick(script: str, mnist_root: Path, out: Path, *flags: str) -> None:
    """benchmarks/<script> --quick [flags] --out out, on the session's MNIST; it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name(script)), "--quick", *flags, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "S5UTILS_DATA": str(mnist_root)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


def test_bench_quick_writes_every_variant_the_floor_and_the_ratios(mnist_root, tmp_path):
    run_quick("bench.py", mnist_root, tmp_path, "--device", "cpu", "--batch-size", "64")
    results = json.loads((tmp_path / "results.json").read_text())
    assert [v["variant"] for v in results["variants"]] == ["seed", "kit-fp32", "kit-seed", "kit-fast"]
    assert [v["batch_size"] for v in results["variants"]] == [64] * 4  # the fast recipe's own 128 gives way
    seed, fp32, kit, fast = results["variants"]
    assert (seed["data_path"], seed["amp"], seed["channels_last"]) == ("loader", "off", False)
    assert (fp32["recipe"], fp32["data_path"], fp32["amp"], fp32["channels_last"]) == ("seed", "tensor", "off", True)
    assert (kit["recipe"], kit["data_path"], fast["recipe"]) == ("seed", "tensor", "fast")
    assert kit["precision"] == str(precision_choice("cpu"))  # amp auto: bf16 where the CPU has bf16 units
    assert all(v["train_images_per_s"] > 0 and v["peak_memory_mb"] > 0 for v in results["variants"])
    assert all(len(v["epochs"]) == 1 and len(v["epochs"][0]["loadavg"]) == 3 for v in results["variants"])
    measures = [f["measure"] for f in results["floor"]["floors"]]
    assert [m.split(" ", 2)[:2] for m in measures] == [
        ["fp32", "matmul"],
        ["fp32", "conv4"],
        ["bf16", "matmul"],
        ["bf16", "conv4"],
    ]
    assert all(f["floor_seconds"] > 0 for f in results["floor"]["floors"])
    assert 13.0 < results["floor"]["epoch_tflop"] < 13.8  # Net's forward + backward over 60,000 images
    report = (tmp_path / "RESULTS.md").read_text()
    assert report.startswith("# Benchmark results") and "Quick mode" in report
    assert "kit-seed vs seed, same recipe:" in report and "kit-seed vs kit-fp32, same recipe:" in report
    assert "- kit-fp32 (fp32): " in report and "x the fp32 floor** (" in report
    assert f"- kit-seed ({'fp32' if kit['amp'] == 'off' else kit['amp']}): " in report and "x goal" in report
    assert "CPU: " in report and " flags " in report  # the CPU model and its bf16-relevant flags
    assert "| kit-fast | fast | 64 | tensor |" in report


def test_bench_refuses_a_bad_value_before_measuring_anything():
    done = subprocess.run([sys.executable, str(BENCH), "--epochs", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "error: epochs must be an integer >= 1, got 0" in done.stderr
    assert "measuring" not in done.stdout


def test_bench_refuses_an_unknown_variant_with_the_choices():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--variants", "seed,turbo"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and (
        "unknown variants ['turbo']; choose from seed, kit-fp32, kit-seed, kit-fast" in done.stderr
    )


def test_cpu_epoch_options_quick_times_every_option_side_by_side(mnist_root, tmp_path):
    run_quick("cpu_epoch_options.py", mnist_root, tmp_path, "--batch-size", "64")
    table = (tmp_path / "options.md").read_text()
    for option in (
        "step eager bf16",
        "step eager fp32",
        "step 1 thread bf16",
        "fwd+bwd only bf16",
        "augment 64",
        "eval pass fp32",
        "eval pass bf16",
    ):
        assert f"| {option} | " in table
    assert "x the bf16 floor" in table and "CPU: " in table and "Load average" in table
    record = json.loads((tmp_path / "options.json").read_text())
    assert all(len(v) == 1 and v[0] > 0 for v in record["per_round_seconds"].values())


def test_cpu_bf16_accuracy_quick_pairs_bf16_with_float32_through_the_cli(mnist_root, tmp_path):
    run_quick("cpu_bf16_accuracy.py", mnist_root, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert "Quick mode" in readme and "Answer: over seeds 1 after 1 epoch, 1 batch per epoch" in readme
    assert "| 1 | " in readme and "CPU: " in readme and "`bf16: asked for (amp='bf16')" in readme
    for amp, dtype in (("off", None), ("bf16", "torch.bfloat16")):
        record = json.loads((tmp_path / f"seed-1-{amp}" / "metrics.json").read_text())
        assert (record["config"]["amp"], record["speed"]["amp_dtype"], record["config"]["seed"]) == (amp, dtype, 1)


def test_time_to_accuracy_quick_runs_the_fast_recipe_in_float32_and_auto(mnist_root, tmp_path):
    run_quick("time_to_accuracy.py", mnist_root, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert "Quick mode" in readme and "| `--amp off` | float32: asked for (amp='off') |" in readme
    assert f"| `--amp auto` | {precision_choice('cpu')} |" in readme and "CPU: " in readme
    for amp in ("off", "auto"):
        record = json.loads((tmp_path / f"amp-{amp}" / "metrics.json").read_text())
        assert (record["config"]["recipe"], record["config"]["amp"]) == ("fast", amp)


def test_seconds_to_sums_epochs_up_to_the_first_hit():
    spec = importlib.util.spec_from_file_location("time_to_accuracy", BENCH.with_name("time_to_accuracy.py"))
    sys.path.insert(0, str(BENCH.parent))
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH.parent))
    history = [
        {"seconds": 10.0, "test_acc": 98.9},
        {"seconds": 11.0, "test_acc": 99.0},
        {"seconds": 9.0, "test_acc": 99.5},
    ]
    assert module.seconds_to(history, 99.0) == 21.0 and module.seconds_to(history, 99.9) is None


def seed_run(folder: Path, seed: int, acc: float, data_path: str, amp_dtype=None, epochs=20, first=90.0) -> None:
    folder.mkdir(parents=True)
    record = {
        "status": "completed",
        "config": {"recipe": "seed", "epochs": epochs, "max_batches": None, "seed": seed},
        "speed": {"data_path": data_path, "amp_dtype": amp_dtype},
        "history": [{"test_acc": first}, {"test_acc": acc}],
    }
    (folder / "metrics.json").write_text(json.dumps(record))


def test_seed_recipe_paths_pairs_the_groups_by_seed_with_a_sign_test(tmp_path):
    for seed, acc in [(1, 98.4), (2, 98.5), (3, 98.3)]:
        seed_run(tmp_path / f"loader{seed}", seed, acc, "loader")
    for seed, acc in [(1, 98.1), (2, 98.2), (3, 98.6), (4, 98.9)]:
        seed_run(tmp_path / f"tensor{seed}", seed, acc, "tensor", "torch.bfloat16", first=11.35 if seed < 3 else 90.0)
    seed_run(tmp_path / "short", 5, 99.9, "tensor", "torch.bfloat16", epochs=6)  # not the seed recipe: left out
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("seed_recipe_paths.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| tensor, bfloat16 | 1, 2, 3, 4 | 98.40 |" in done.stdout  # median of four, seed 5 not counted
    assert "| loader, float32 | tensor, bfloat16 | 1, 2, 3 | 2 | 1 | 0 | +0.30 | 1.000 |" in done.stdout
    assert "| loader, float32 | tensor, bfloat16 | 3 | 4 | +0.00 | 1.000 |" in done.stdout  # unpaired: same median
    assert "| tensor, bfloat16 | 2 of 4 | 98.15 | 98.75 |" in done.stdout  # seeds 1 and 2 started slowly
    assert "| loader, float32 | 0 of 3 | - | 98.40 |" in done.stdout


def brute_force_rank_sum_p(a: list[float], b: list[float]) -> float:
    """The same two-sided test by listing every split of the pooled values (mid-ranks for ties)."""
    pooled = sorted(a + b)
    rank = {v: sum(i + 1 for i, w in enumerate(pooled) if w == v) / pooled.count(v) for v in pooled}
    ranks = [rank[v] for v in a + b]
    mean = len(a) * sum(ranks) / len(ranks)
    observed = abs(sum(ranks[: len(a)]) - mean)
    splits = [
        abs(sum(ranks[i] for i in chosen) - mean) >= observed - 1e-9
        for chosen in itertools.combinations(range(len(ranks)), len(a))
    ]
    return sum(splits) / len(splits)


def test_rank_sum_test_is_exact_with_ties():
    spec = importlib.util.spec_from_file_location("seed_recipe_paths", BENCH.with_name("seed_recipe_paths.py"))
    paths = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(paths)
    assert paths.rank_sum_test([1, 2, 3], [4, 5, 6]) == 2 / 20  # the two most extreme of C(6, 3) splits
    for a, b in [([1, 1, 2], [2, 3, 3, 3]), ([98.4, 98.5, 97.8], [98.1, 98.2, 98.5, 98.6, 98.0])]:
        assert abs(paths.rank_sum_test(a, b) - brute_force_rank_sum_p(a, b)) < 1e-12


def test_steps_to_target_counts_whole_epochs_of_steps_until_the_first_hit(tmp_path):
    for name, batch, accs in [("a", 512, [96.7, 98.6, 99.1]), ("b", 128, [98.0, 98.4])]:
        (tmp_path / name).mkdir()
        history = [{"epoch": i + 1, "test_acc": acc} for i, acc in enumerate(accs)]
        config = {"recipe": "fast", "batch_size": batch, "lr": 0.1, "epochs": len(accs), "seed": 1}
        (tmp_path / name / "metrics.json").write_text(json.dumps({"config": config, "history": history}))
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("steps_to_target.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| fast | 512 | 0.1 | 3 | 1 | 96.70, 98.60, 99.10 | 236 | 354 |" in done.stdout  # 118 steps per epoch
    assert "| fast | 128 | 0.1 | 2 | 1 | 98.00, 98.40 | - | - |" in done.stdout


def test_steps_to_target_says_when_the_folder_holds_no_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("steps_to_target.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and f"no */metrics.json under {tmp_path}" in done.stderr


def test_profile_step_splits_the_step_into_convolutions_and_the_rest(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH.with_name("profile_step.py")),
            "--batch-size",
            "8",
            "--steps",
            "1",
            "--rows",
            "40",
            "--amp",
            "off",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "profile.md").read_text()
    conv, rest = map(
        float, re.search(r"convolutions \(forward \+ backward\) ([\d.]+) %, everything else ([\d.]+) %", text).groups()
    )
    assert abs(conv + rest - 100) < 0.2 and 0 < conv < 100
    assert "| `aten::convolution_backward` | [8, 256, 8, 8]" in text and "autocast dtype None" in text
