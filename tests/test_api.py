"""The public API: every name in s5utils.__all__ is documented in docs/api.md and has a docstring,
and every s5utils function the notebooks call is reachable from a public name."""

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

import s5utils

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", s5utils.__all__)
def test_every_public_name_has_a_docstring_and_a_line_in_docs_api(name):
    obj = getattr(s5utils, name)
    assert (inspect.getdoc(obj) or "").strip(), f"{name} has no docstring"
    assert f"| `{name}` |" in (ROOT / "docs" / "api.md").read_text(), f"docs/api.md does not list {name}"


def package_modules() -> set[str]:
    """The modules directly inside s5utils: its .py files and its subpackages (sweep)."""
    package = ROOT / "s5utils"
    return {p.stem for p in package.glob("*.py")} | {p.parent.name for p in package.glob("*/__init__.py")}


def notebook_calls(path: Path) -> set[str]:
    """Attribute names the notebook's code takes from s5utils or from its modules (s5utils.x, inspect.x ...)."""
    modules = {"s5utils"}
    names = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        # IPython magics become `pass` in place, so a block that holds only magics still parses.
        code = "\n".join(
            line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
            for line in lines
        )
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("s5utils"):
                for alias in node.names:
                    if node.module == "s5utils" and alias.name in package_modules():
                        modules.add(alias.asname or alias.name)
                    else:
                        names.add(alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                names.add(node.attr)
    return names


def test_the_notebook_reader_finds_calls_through_modules_too():
    calls = notebook_calls(ROOT / "notebooks" / "S5.ipynb")
    assert {"TrainingState", "announce_epoch", "predict", "gallery", "draw_architecture"} <= calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_function_a_notebook_calls_is_public(path):
    not_needed = {"__version__"}
    # Modules are namespaces, not functions; the Colab install cell imports its helper from s5utils.notebooks.colab.
    modules = package_modules()
    colab_only = {
        name for name in dir(__import__("s5utils.notebooks.colab", fromlist=["x"])) if not name.startswith("_")
    }
    missing = sorted(
        name
        for name in notebook_calls(path) - not_needed - modules - colab_only
        if name not in s5utils.__all__ and not re.match(r"_", name)
    )
    assert not missing, f"{path.name} calls s5utils names that are not in s5utils.__all__: {missing}"
