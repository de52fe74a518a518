import os
import re
import subprocess
import sys
from pathlib import Path

import s5utils

REPO = Path(__file__).resolve().parents[1]
SETTINGS = "EPOCHS, MAX_BATCHES, LR_TEST_BATCHES = 15, None, 100"


def readme_example() -> str:
    """The docs/api.md example: its first python block (the README links to it)."""
    return re.search(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(), re.S).group(1)


def test_the_readme_example_runs_as_written_with_smoke_settings(mnist_root, tmp_path):
    code = readme_example()
    assert code.count(SETTINGS) == 1
    (tmp_path / "example.py").write_text(code.replace(SETTINGS, "EPOCHS, MAX_BATCHES, LR_TEST_BATCHES = 1, 2, 5"))
    env = {**os.environ, "S5UTILS_DATA": str(mnist_root), "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Epoch 1" in done.stdout and "Jump" in done.stdout
    assert all((tmp_path / name).stat().st_size > 0 for name in ("lr_finder.png", "history.png", "compare.png"))


def test_every_public_name_exists_and_has_a_docstring():
    for name in s5utils.__all__:
        obj = getattr(s5utils, name)
        assert (obj.__doc__ or "").strip(), f"s5utils.{name} has no docstring"


def test_public_functions_are_type_hinted():
    for name in s5utils.__all__:
        obj = getattr(s5utils, name)
        if callable(obj) and not isinstance(obj, type):
            assert "return" in obj.__annotations__, f"s5utils.{name} lacks a return type hint"
