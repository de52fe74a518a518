"""Servers the tests start as a user does (the app, JupyterLab): a free port on 127.0.0.1, wait for HTTP 200,
stop the whole process group by the server's PID."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_logged(cmd: list[str], log: Path, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """cmd in its own process group (stop_group ends it and its children), output into log."""
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float) -> float:
    """Seconds until url answers 200; fails the test, with the log's tail, if the server exits or takes longer."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if server.poll() is not None:
            pytest.fail(f"{server.args[0]} exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - began
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds} s: {log.read_text()[-2000:]}")


def stop_group(server: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the server's process group (a server shuts its kernels down), SIGKILL after `grace` seconds."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
