"""The package's modules import each other without a circle and never upward through the layers (lazy imports
inside functions included)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "s5utils"


def module_name(path: Path) -> str:
    """path's module inside s5utils, dotted: 'train', 'sweep.task'; a subpackage is its folder ('sweep'), the
    package itself '__init__'."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts) or "__init__"


def package_of(path: Path) -> list[str]:
    """The parts of the package that path's relative imports start from: [] for s5utils itself, ['sweep'] ..."""
    return list(path.relative_to(PACKAGE).parts[:-1])


def module_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts))


def imported_modules(path: Path) -> set[str]:
    """The s5utils modules that path imports, anywhere in the file (dotted as module_name names them); importing
    sweep.task from outside the subpackage imports sweep (its __init__) too."""
    known = {module_name(p) for p in module_files()}
    here = package_of(path)

    def resolve(module: list[str], name: str) -> str:
        """`from s5utils.<module> import name`: the module name when it is one, else the module."""
        return ".".join(module + [name]) if ".".join(module + [name]) in known else ".".join(module) or "__init__"

    targets = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else list(here)
            # from . import a, b: modules, or names of the package's __init__
            targets += [resolve(base + (node.module.split(".") if node.module else []), a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "s5utils":
            targets += [resolve(node.module.split(".")[1:], a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            targets += [
                ".".join(a.name.split(".")[1:]) or "__init__" for a in node.names if a.name.split(".")[0] == "s5utils"
            ]
    found = set()
    for target in targets:
        parts = target.split(".") if target != "__init__" else []
        found.add(target)
        # the packages above the target that path is not inside of run their __init__ first
        found |= {".".join(parts[:i]) for i in range(1, len(parts)) if parts[:i] != here[:i]}
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imported_modules(path) - {module_name(path)} for path in module_files()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt) :] + [nxt]
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
    assert {"training.checkpoint", "config", "training.loop"} <= import_graph()["runs.recipe_runner"]


def test_the_reader_follows_the_sweep_subpackage():
    graph = import_graph()
    assert {"config", "runs.records", "sweep.cluster", "sweep.plan", "sweep.results", "sweep.task"} <= graph[
        "sweep.run"
    ]
    assert {"sweep", "sweep.cli"} <= graph["cli"]
    assert "sweep.run" in graph["sweep"]


def test_no_module_of_s5utils_imports_itself_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


# The layers, lowest first: a module imports only its own layer and the layers below it.
BASICS = {"errors", "version", "device", "atomic", "compat", "config", "models"}
LAYERS = ["basics", "data", "training", "study", "runs", "notebooks", "sweep", "app", "top"]


def layer_of(module: str) -> str:
    """The layer of a dotted module name: a subpackage's name, 'basics', or 'top' (cli, __init__, __main__...)."""
    head = module.split(".")[0]
    if head in BASICS:
        return "basics"
    return head if head in LAYERS else "top"


def test_the_package_is_grouped_by_job_with_few_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    for group in ["data", "training", "study", "runs", "notebooks", "sweep"]:
        assert (PACKAGE / group / "__init__.py").is_file(), group


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module))
    ]
    assert not upward, "\n".join(upward)


def test_the_layer_check_sees_an_upward_import():
    assert layer_of("training.state") == "training" and layer_of("config") == "basics"
    assert LAYERS.index(layer_of("runs.folder")) > LAYERS.index(layer_of("training.loop"))
