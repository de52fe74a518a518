"""What a student does: JupyterLab started as the README says, each notebook opened in Chromium, Run All.

The server is `.venv/bin/jupyter lab` with the venv NOT activated (its bin folder off PATH, so `tensorboard` is
not on PATH either), serving a copy of notebooks/ (and the seed run S6 compares with), so Run All and saving
touch nothing in the repository. Playwright drives Debian's chromium, headless. Each notebook, in its own page
and all side by side: opened, it is not marked modified; its parameters cell gets a tiny run typed at its end
(epochs 1, max_batches 2, batch_size 64); Run > Run All Cells from the menu; then no error or stderr output, the
training cell's output starts with the live curves and the latest epoch's line, and S5's TensorBoard frame shows
TensorBoard serving this run.
"""

import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import pytest
from servers import free_port, start_logged, stop_group, wait_until_up

pytest.importorskip("jupyterlab", reason="the notebook tools are in the test extra: pip install -e '.[test]'")
playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is in the test extra: pip install -e '.[test]'"
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("S5UTILS_ARTIFACTS", ROOT / "build" / "artifacts"))
TOKEN = "s5utils-test-token"
TINY_RUN = "\nepochs = 1\nmax_batches = 2\nbatch_size = 64\n"  # typed at the end of each parameters cell
RUN_ALL_SECONDS = 600  # all notebooks run side by side
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (make test installs it as root with apt-get: apt-get install -y chromium)",
)


def as_the_readme_starts_it(env: dict) -> dict:
    """The environment of a shell where the venv is not activated: its bin folder off PATH, no VIRTUAL_ENV, no CI."""
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p.rstrip("/") != venv_bin)
    for name in ("VIRTUAL_ENV", "CI", "TENSORBOARD_BINARY", "JPY_SESSION_NAME"):
        env.pop(name, None)  # CI: a student's machine is not CI (the notebook opens TensorBoard only for a person)
    return env


def stop_tensorboards(tmp: Path) -> None:
    """Stop the TensorBoards the notebooks' %tensorboard started: the magic leaves them running after the kernel."""
    for info in (tmp / ".tensorboard-info").glob("pid-*.info"):
        try:
            os.kill(json.loads(info.read_text())["pid"], signal.SIGTERM)
        except (ProcessLookupError, ValueError, KeyError):
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory, mnist_root):
    """(base URL, the served folder): `.venv/bin/jupyter lab` on a copy of notebooks/; always stopped."""
    base = tmp_path_factory.mktemp("jupyterlab")
    served = base / "course"
    shutil.copytree(ROOT / "notebooks", served / "notebooks", ignore=shutil.ignore_patterns("runs", ".ipynb_*"))
    seed_run = Path("results") / "seed-variance" / "seed-recipe-cpu-seed1"  # S6's compare_with
    shutil.copytree(ROOT / seed_run, served / seed_run)
    home, tmp = base / "jupyter", base / "tmp"
    tmp.mkdir()
    env = as_the_readme_starts_it(dict(os.environ))
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_PATH="",
        S5UTILS_DATA=str(mnist_root),  # MNIST already there; the notebooks' data_root stays None
        TMPDIR=str(tmp),  # where %tensorboard records the servers it starts, so the test can stop them
    )
    venv_tensorboard = str(Path(sys.executable).parent / "tensorboard")
    assert shutil.which("tensorboard", path=env["PATH"]) != venv_tensorboard, "the venv's bin is still on PATH"
    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={served}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root; jupyter refuses that unless told
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get Jupyter news?" pop-up over the page
    server = start_logged(cmd, base / "jupyterlab.log", served, env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/api/status?token={TOKEN}", server, base / "jupyterlab.log", 120)
        yield url, served
    finally:
        stop_group(server, grace=30)
        stop_tensorboards(tmp)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def parameters_first_line(notebook: Path) -> str:
    """The first line of the notebook's cell tagged parameters: how the test finds that cell on the page."""
    cells = json.loads(notebook.read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return "".join(cell["source"]).splitlines()[0].strip()


def wait_for_run_all(page, seconds: float, name: str) -> None:
    """Until the kernel is idle and every code cell shows an execution count ([n]:), or a cell's error stopped
    Run All (the caller reports the error output). Past seconds: a full-page screenshot, and a failure naming the
    kernel's status and the cells' prompts."""
    try:
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
                const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
                const error = document.querySelector(".jp-OutputArea-output[data-mime-type$='jupyter.error']");
                const numbered = prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
                return idle && prompts.length && (error || numbered);
            }""",
            timeout=seconds * 1000,
            polling=1000,
        )
    except playwright.TimeoutError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{name}-unfinished.png"), full_page=True)
        status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        pytest.fail(f"Run All did not finish in {seconds} s: kernel status {status!r}, {prompts_and_status(page)}")


def tensorboard_runs(frame_url: str, seconds: float = 60) -> list[str]:
    """The runs the TensorBoard behind the frame lists (it loads them in the background: polled)."""
    deadline = time.monotonic() + seconds
    while True:
        with urllib.request.urlopen(urljoin(frame_url, "/data/runs"), timeout=10) as response:
            assert response.status == 200
            runs = json.loads(response.read())
        if runs or time.monotonic() > deadline:
            return runs
        time.sleep(1)


# The kernel as a student sees it before clicking Run All: idle in the notebook's toolbar and in the status bar
# ("Python 3 (ipykernel) | Idle"), both for 1.5 s on end. The toolbar alone is not enough: its indicator reads idle
# while the status bar still says "No Kernel | Initializing" or "Connecting", and a Run All clicked before a kernel
# is attached clears every cell and runs none of them, silently (what hung S8 in 2 of 5 full runs).
KERNEL_READY = """() => {
    const toolbar = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
    const bar = document.querySelector('#jp-main-statusbar');
    const idle = toolbar && bar && /\\|\\s*Idle/.test(bar.textContent);  // "Python 3 (ipykernel) | Idle"
    if (!idle) { window.s5IdleSince = null; return false; }
    window.s5IdleSince = window.s5IdleSince || Date.now();
    return Date.now() - window.s5IdleSince >= 1500;
}"""
# Run All queues every code cell at once: a cell shows [*]: (queued or running) right after the click.
RUN_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .some(p => p.textContent.trim() === '[*]:')"""


def prompts_and_status(page) -> str:
    """The cells' prompts and the status bar's text, for a failure message."""
    prompts = [p.strip() for p in page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()]
    return f"status bar {page.locator('#jp-main-statusbar').text_content()!r}, prompts {prompts}"


def open_and_run_all(page, url: str, notebook: Path) -> str | None:
    """Open notebook as a student does, set a tiny run, Run > Run All Cells; None, or what went wrong on opening."""
    # A workspace per notebook: the pages run side by side, each with its own tabs.
    page.goto(f"{url}/lab/workspaces/{notebook.stem}/tree/notebooks/{notebook.name}?reset&token={TOKEN}")
    page.wait_for_function(KERNEL_READY, timeout=120_000, polling=100)  # the kernel info reply has rewritten metadata
    if "jp-mod-dirty" in page.locator(".lm-TabBar-tab.jp-mod-current").get_attribute("class"):
        return (
            f"JupyterLab marks {notebook.name} modified as it opens it: compare its metadata with what "
            "JupyterLab writes (kernelspec display_name 'Python 3 (ipykernel)', language_info)"
        )
    if any(c.get("outputs") for c in json.loads(notebook.read_text())["cells"]):
        page.wait_for_selector(".jp-OutputArea-output", state="attached", timeout=30_000)  # committed outputs
    parameters = page.locator(".jp-Notebook .jp-CodeCell", has_text=parameters_first_line(notebook)).first
    parameters.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(TINY_RUN)
    page.wait_for_function(KERNEL_READY, timeout=60_000, polling=100)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    try:
        page.wait_for_function(RUN_STARTED, timeout=60_000, polling=100)
    except playwright.TimeoutError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{notebook.stem}-not-started.png"), full_page=True)
        return f"Run > Run All Cells queued no cell of {notebook.name} in 60 s: {prompts_and_status(page)}"
    return None


@pytest.fixture(scope="module")
def running(lab, browser):
    """{notebook name: (page, what went wrong on opening or None)}: every notebook opened and Run All started.

    They run side by side (one kernel each), so the waits of one (kernel start, imports, TensorBoard's start)
    overlap the work of the others.
    """
    url, _ = lab
    pages = {}
    for notebook in NOTEBOOKS:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            pages[notebook.name] = page, open_and_run_all(page, url, notebook)
        except playwright.Error as exc:
            pages[notebook.name] = page, f"opening {notebook.name} and starting Run All failed: {exc}"
    yield pages
    for page, _ in pages.values():
        page.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_run_all_in_jupyterlab_as_a_student_does(lab, running, notebook):
    url, served = lab
    page, problem = running[notebook.name]
    assert problem is None, problem
    try:
        wait_for_run_all(page, RUN_ALL_SECONDS, notebook.stem)

        bad = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
        )
        assert bad.count() == 0, f"error or stderr output after Run All: {bad.first.text_content()[-1500:]}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

        trains = page.locator(".jp-CodeCell", has_text="RunFolder(")
        if trains.count():  # a notebook that trains: the curves, then the latest epoch's line, then the log
            trains.first.evaluate("cell => cell.scrollIntoView()")
            page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{notebook.stem}-training.png"))
            outputs = trains.first.locator(".jp-OutputArea-output")
            assert "Epoch 1" in trains.first.locator(".jp-OutputArea").text_content()
            assert trains.first.locator(".jp-OutputArea-output img").count() == 1, "no live curves while it trains"
            assert outputs.nth(0).locator("img").count() == 1, "the training output does not start with the curves"
            assert outputs.nth(1).text_content().strip().startswith("[epoch 1/1] "), outputs.nth(1).text_content()

        if "%tensorboard" in notebook.read_text():
            element = page.wait_for_selector("iframe[id^='tensorboard-frame']", state="attached", timeout=60_000)
            frame = element.content_frame()
            frame.wait_for_selector("tb-webapp", state="attached", timeout=60_000)
            element.evaluate("frame => frame.scrollIntoView()")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{notebook.stem}-tensorboard.png"))
            assert frame.url.startswith("http://127.0.0.1:"), frame.url
            runs = tensorboard_runs(frame.url)
            new = [p.name for p in (served / "notebooks" / "runs").iterdir() if p.name.endswith("-S5")]
            assert new and set(new) <= set(runs), f"TensorBoard lists {runs}, this run is {new}"
    finally:
        shut_down_kernel(url, f"notebooks/{notebook.name}")


def shut_down_kernel(url: str, path: str) -> None:
    """As closing a notebook and shutting its kernel down does: the notebooks still running get the CPU."""
    with urllib.request.urlopen(f"{url}/api/sessions?token={TOKEN}", timeout=10) as response:
        sessions = json.loads(response.read())
    for session in sessions:
        if session["path"] == path:
            kernel = session["kernel"]["id"]
            request = urllib.request.Request(f"{url}/api/kernels/{kernel}?token={TOKEN}", method="DELETE")
            urllib.request.urlopen(request, timeout=60).close()
