"""python -m s5utils app: a trained run served by a real Gradio server on 127.0.0.1, called with gradio_client,
drawn on in headless Chromium (Playwright), exported as a Space folder; bad input is one line and no server."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

pytest.importorskip("gradio", reason="the app is in the app extra: pip install -e '.[test]'")
from gradio_client import Client, handle_file  # noqa: E402
from servers import free_port, start_logged, stop_group, wait_until_up  # noqa: E402

from s5utils import CompactNet, Net, make_config, predict, run_recipe  # noqa: E402  # noqa: E402
from s5utils.app.loading import RunLoadError, load_run  # noqa: E402
from s5utils.app.preprocess import EmptyImageError, centre_of_mass, mnist_like, to_tensor  # noqa: E402
from s5utils.app.testset import mnist_test_digits  # noqa: E402
from s5utils.data.mnist import test_transforms as mnist_test_transforms  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("S5UTILS_ARTIFACTS", ROOT / "build" / "artifacts"))
# The exported Space runs in a venv of its own requirements only (no system site-packages), built once:
# make space-venv. Building it takes minutes and GBs (torch), so the suite reuses it and skips where it is not.
SPACE_VENV = Path(os.environ.get("S5UTILS_SPACE_VENV", Path.home() / ".cache" / "s5utils" / "space-venv"))
STARTUP_LIMIT = 60  # seconds: the "serves a page within 60 s"


@pytest.fixture(scope="module")
def run_dir(mnist_root, tmp_path_factory) -> Path:
    """A run folder trained for 20 batches: a model whose answers vary from digit to digit."""
    config = make_config(epochs=1, max_batches=20, batch_size=128, data_root=str(mnist_root), num_workers=0)
    folder, _ = run_recipe(config, tmp_path_factory.mktemp("app") / "run")
    return folder


@pytest.fixture(scope="module")
def app(run_dir, tmp_path_factory):
    """`python -m s5utils app RUN --port P` on 127.0.0.1: (url, seconds until the page answered); stopped by PID."""
    port, log = free_port(), tmp_path_factory.mktemp("app-log") / "app.log"
    server = start_logged(
        [sys.executable, "-m", "s5utils", "app", str(run_dir), "--host", "127.0.0.1", "--port", str(port)], log, ROOT
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        yield url, wait_until_up(url, server, log, STARTUP_LIMIT)
    finally:
        stop_group(server)
        with socket.socket() as s:  # nothing is left listening
            assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def digits(run_dir, tmp_path_factory) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """The first 20 test-set digits as PNG files, with their pixels and labels."""
    images, labels = mnist_test_digits(load_run(run_dir).data_root)
    folder = tmp_path_factory.mktemp("digits")
    paths = [folder / f"{i}.png" for i in range(20)]
    for path, image in zip(paths, images, strict=False):
        Image.fromarray(image).save(path)
    return paths, images[:20], labels[:20]


def test_a_28x28_test_digit_becomes_the_test_loaders_tensor(digits):
    _, images, _ = digits
    for image in images[:5]:
        expected = mnist_test_transforms()(Image.fromarray(image))
        assert torch.equal(to_tensor(mnist_like(image), 0.1307, 0.3081)[0], expected)


def test_a_large_drawing_is_cropped_scaled_into_20x20_and_centred_by_mass(digits):
    _, images, _ = digits
    page = Image.fromarray(255 - images[0]).resize((300, 420))  # dark ink on a light page, another shape
    digit = mnist_like(page.convert("RGB"))
    rows, cols = np.nonzero(digit > 0.1)
    assert digit.shape == (28, 28) and digit.max() == pytest.approx(1.0)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # the 20 px box, give or take the resampling's fringe
    assert np.allclose(centre_of_mass(digit), (14, 14), atol=1.0)
    transparent = np.zeros((280, 280, 4), dtype=np.uint8)  # a sketchpad: strokes opaque, the rest transparent
    transparent[60:220, 130:150, 3] = 255
    assert np.allclose(centre_of_mass(mnist_like(transparent)), (14, 14), atol=1.0)
    with pytest.raises(EmptyImageError):
        mnist_like(np.full((100, 100, 3), 255, dtype=np.uint8))


def test_the_model_class_comes_from_the_record_and_an_unfinished_run_serves_its_checkpoint(run_dir, tmp_path):
    assert json.loads((run_dir / "metrics.json").read_text())["model"] == {"class": "Net", "module": "s5utils.models"}
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished)
    (unfinished / "model.pt").unlink()
    from_checkpoint, finished = load_run(unfinished, "cpu"), load_run(run_dir, "cpu")
    assert from_checkpoint.model_file.name == "checkpoint.pt"
    for a, b in zip(from_checkpoint.model.state_dict().values(), finished.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for name, weights, recorded, expected in [
        (
            "compact",
            CompactNet().state_dict(),
            {"model": {"class": "CompactNet", "module": "s5utils.models"}},
            CompactNet,
        ),
        ("older", Net().state_dict(), {}, Net),  # recorded before runs named their class: Net
    ]:
        (tmp_path / name).mkdir()
        torch.save(weights, tmp_path / name / "model.pt")
        (tmp_path / name / "metrics.json").write_text(json.dumps(recorded))
        assert type(load_run(tmp_path / name, "cpu").model) is expected
    (tmp_path / "older" / "model.pt").write_bytes((tmp_path / "compact" / "model.pt").read_bytes())
    with pytest.raises(RunLoadError, match="does not fit Net"):
        load_run(tmp_path / "older", "cpu")


def test_the_app_serves_a_page_within_60_seconds(app):
    _, seconds = app
    assert seconds < STARTUP_LIMIT


def test_predict_answers_a_label_with_the_top_classes(app, digits):
    url, _ = app
    client = Client(url, verbose=False)
    answer = client.predict(handle_file(str(digits[0][0])), api_name="/predict")
    assert set(answer) == {"label", "confidences"} and len(answer["confidences"]) >= 3
    assert answer["label"] == answer["confidences"][0]["label"]
    top5 = client.predict(handle_file(str(digits[0][0])), 5, api_name="/predict")
    assert len(top5["confidences"]) == 5


def test_the_apps_top1_equals_s5utils_predict_for_20_test_digits(app, digits, run_dir):
    url, _ = app
    paths, images, labels = digits
    client = Client(url, verbose=False)
    answers = [client.predict(handle_file(str(p)), api_name="/predict") for p in paths]
    run = load_run(run_dir)  # the same model file, device and precision as the server's
    x = torch.stack([mnist_test_transforms()(Image.fromarray(image)) for image in images])
    loader = DataLoader(TensorDataset(x, torch.from_numpy(labels)), batch_size=20)
    reference = predict(run.model, loader, run.device, amp_dtype=run.amp_dtype, channels_last=run.channels_last)
    assert [int(a["label"]) for a in answers] == reference.predicted.tolist()
    confidences = [a["confidences"][0]["confidence"] for a in answers]
    assert np.allclose(confidences, reference.confidence.numpy(), atol=1e-4)
    assert len(set(reference.predicted.tolist())) > 1  # a model that answers, not a constant


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make browser installs it as root)")
def test_a_digit_drawn_in_chromium_is_answered(app):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    url, _ = app
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url, timeout=60_000)
            page.wait_for_selector("#sketchpad canvas", timeout=60_000)
            page.get_by_role("button", name="Brush").click()
            page.keyboard.press("Escape")
            box = page.locator("#sketchpad canvas").first.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            stroke = [(cx - 60, cy - 90), (cx + 60, cy - 90), (cx - 10, cy + 100)]  # a 7
            page.mouse.move(*stroke[0])
            page.mouse.down()
            for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
                for i in range(1, 16):
                    page.mouse.move(x0 + (x1 - x0) * i / 15, y0 + (y1 - y0) * i / 15)
            page.mouse.up()
            prediction = page.locator("#prediction")
            prediction.locator("text=%").first.wait_for(timeout=60_000)
            rows = prediction.inner_text().split()
            assert sum(r.endswith("%") for r in rows) == 3  # top 3 by default
            page.get_by_text("test images misclassified").wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "app.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "app.png").stat().st_size > 20_000


def test_no_such_run_is_one_line_and_a_non_zero_exit_without_a_server():
    done = subprocess.run(
        [sys.executable, "-m", "s5utils", "app", "/no/such/run"], cwd=ROOT, text=True, capture_output=True, timeout=180
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no run folder at /no/such/run: pass a run directory made by `python -m s5utils train` "
        "(it holds model.pt or checkpoint.pt)"
    ]
    assert "Serving" not in done.stdout


def test_no_model_a_damaged_model_and_a_busy_port_are_one_line_each(run_dir, tmp_path, capsys):
    from s5utils.cli import main  # in this process: the same code path as the command, without a torch import each

    truncated, garbage, empty = tmp_path / "truncated", tmp_path / "garbage", tmp_path / "empty"
    for folder in (truncated, garbage):
        shutil.copytree(run_dir, folder)
    weights = (run_dir / "model.pt").read_bytes()
    (truncated / "model.pt").write_bytes(weights[: len(weights) // 2])
    (garbage / "model.pt").write_bytes(b"not a model" * 100)
    empty.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = {
            (str(empty),): "holds no model.pt or checkpoint.pt",
            (str(truncated), "--port", str(free_port())): "is unreadable",
            (str(garbage), "--port", str(free_port())): "is unreadable",
            (str(run_dir), "--port", str(port)): f"cannot serve on 127.0.0.1:{port}",
        }
        for args, words in cases.items():
            assert main(["app", *args]) == 1, args
            out, err = capsys.readouterr()
            assert len(err.strip().splitlines()) == 1 and words in err, (args, err)
            assert "Serving" not in out, args


@pytest.mark.skipif(
    not (SPACE_VENV / "bin" / "python").exists(),
    reason=f"no Space venv at {SPACE_VENV}: `make space-venv` builds it once (minutes, GBs)",
)
def test_the_exported_space_starts_with_python_app_py_in_its_own_venv(app, run_dir, digits, tmp_path):
    out = tmp_path / "space"
    done = subprocess.run(
        [sys.executable, "-m", "s5utils", "app", "export", str(run_dir), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    for name in ["app.py", "requirements.txt", "README.md", "model.pt", "metrics.json", "mistakes.npz"]:
        assert (out / name).is_file(), name
    assert (out / "requirements.txt").read_text().split()[0] == "s5utils[app]==0.2.0"
    assert "sdk: gradio" in (out / "README.md").read_text()
    # s5utils from this checkout (a wheel), the rest as requirements.txt asks; the venv has no system site-packages.
    wheels = tmp_path / "wheels"
    pip = [str(SPACE_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    subprocess.run(
        [*pip, "--no-deps", "--force-reinstall", *map(str, wheels.glob("s5utils-*.whl"))], check=True, timeout=300
    )
    subprocess.run([*pip, "--find-links", str(wheels), "-r", str(out / "requirements.txt")], check=True, timeout=600)
    port, log = free_port(), tmp_path / "space.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
    server = start_logged([str(SPACE_VENV / "bin" / "python"), "app.py"], log, out, env)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url, server, log, STARTUP_LIMIT)
        space = Client(url, verbose=False).predict(handle_file(str(digits[0][0])), api_name="/predict")
        served = Client(app[0], verbose=False).predict(handle_file(str(digits[0][0])), api_name="/predict")
        assert space["label"] == served["label"]
    finally:
        stop_group(server)
