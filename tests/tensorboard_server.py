"""A real TensorBoard server for tests: started on 127.0.0.1 and a free port, queried over HTTP, stopped by its PID."""

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def start_tensorboard(logdir: Path, log: Path, deadline: float) -> tuple[subprocess.Popen, str]:
    """A real TensorBoard server on 127.0.0.1 and a free port; returns it and its address once it serves."""
    exe = Path(sys.executable).parent / "tensorboard"
    with open(log, "w") as stderr:  # a file, not a pipe: nothing blocks when nobody reads it
        server = subprocess.Popen(
            [str(exe), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0", "--load_fast=false"],
            stderr=stderr,
            text=True,
        )
    while time.monotonic() < deadline and server.poll() is None:
        # TensorBoard 2.21.0 at http://127.0.0.1:PORT/ (Press CTRL+C to quit)
        found = re.search(r" at (http://127\.0\.0\.1:\d+)/", log.read_text())
        if found:
            return server, found.group(1)
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"tensorboard did not serve: {log.read_text()[-2000:]}")


def stop(server: subprocess.Popen) -> None:
    """Terminate the server by its PID; kill it if it does not exit within 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def fetch(url: str, body: dict | None = None):
    """GET url, or POST body to it as JSON; the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def session_groups(url: str) -> dict:
    """The HParams plugin's table: one group per distinct setting (without allowedStatuses it lists none)."""
    return fetch(
        f"{url}/data/plugin/hparams/session_groups",
        {"startIndex": 0, "sliceSize": 100, "allowedStatuses": ALL_STATUSES},
    )
