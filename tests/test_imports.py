"""The package's modules import each other without a circle (lazy imports inside functions included)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "s5utils"


def imported_modules(path: Path) -> set[str]:
    """The s5utils modules that path imports, anywhere in the file; the package itself is '__init__'."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import a, b: modules, or names of the package's __init__
                found |= {a.name if (PACKAGE / f"{a.name}.py").exists() else "__init__" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("s5utils"):
            parts = node.module.split(".")
            found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] if "." in a.name else "__init__" for a in node.names
                      if a.name.split(".")[0] == "s5utils"}
    return found


def import_graph() -> dict[str, set[str]]:
    return {path.stem: imported_modules(path) - {path.stem} for path in PACKAGE.glob("*.py")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, trail + [nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_reader_sees_a_circle_when_there_is_one():
    assert find_cycle({"config": {"device"}, "device": {"config"}}) == ["config", "device", "config"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_reader_finds_the_imports_of_a_real_module():
    assert {"checkpoint", "config", "train"} <= import_graph()["experiment"]


def test_no_module_of_s5utils_imports_itself_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)
