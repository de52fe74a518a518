"""Every notebook checks its parameters cell as S5 does: a bad name or value stops it with one line, no traceback.

The parameters cell (with a student's mistakes added) and the cell after it run in one namespace, as a kernel
runs them; IPython shows an exception that has _render_traceback_ as the lines that hook returns, no frames.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code_cells(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize(
    "mistake, named",
    [("epohcs = 3", "epohcs"), ("epochs = 0", "epochs"), ("max_batches = 'two'", "max_batches")],
    ids=["misspelt-name", "bad-value", "bad-type"],
)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_a_bad_parameter_stops_the_notebook_with_one_line_naming_it(notebook, mistake, named):
    code = code_cells(notebook)
    at = next(i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", []))
    namespace: dict = {}
    exec("".join(code[at]["source"]) + f"\n{mistake}\n", namespace)  # as a student edits the cell
    with pytest.raises(Exception) as raised:
        exec("".join(code[at + 1]["source"]), namespace)  # the cell after the parameters must check them
    render = getattr(raised.value, "_render_traceback_", None)
    assert render is not None, f"{notebook.name}: {mistake!r} gives a traceback: {raised.value!r}"
    lines = render()
    assert len(lines) == 1 and named in lines[0], lines
