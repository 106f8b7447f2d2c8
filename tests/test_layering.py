"""The one-way data flow (docs/architecture.md#layering), enforced on the source: no layer imports a later one."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "dwm_gym"
ORDER = [
    "utils",
    "data",
    "world_model",
    "envs",
    "value_expansion",
    "evaluation",
    "agents",
    "sweep",
    "benchmarking",
    "render",
    "demo",
    "cli",
]
# envs and value_expansion are siblings: neither may import the other
SIBLINGS = {("envs", "value_expansion"), ("value_expansion", "envs")}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0].removesuffix(".py") if rel else ""


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) in ORDER)
ALL_SOURCES = sorted(PACKAGE.rglob("*.py"))
# the root: ``_version`` sits below every layer, ``__init__`` (which registers the envs) above ``envs``
ROOT_LAYERS = {"_version": -1, "__init__": ORDER.index("envs")}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_imports(path):
    layer = layer_of(path)
    for name in imported_modules(path):
        if not name.startswith("dwm_gym."):
            continue
        target = name.split(".")[1]
        if target not in ORDER:
            continue
        assert ORDER.index(target) <= ORDER.index(layer) and (layer, target) not in SIBLINGS, (
            f"{path.relative_to(PACKAGE)} ({layer}) imports {name} ({target}): data flows one way"
        )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_minari_only_in_data(path):
    if layer_of(path) != "data":
        assert not any(n == "minari" or n.startswith("minari.") for n in imported_modules(path))


SB3_LAYERS = {"envs", "value_expansion", "agents", "evaluation", "demo", "sweep", "cli"}
# Behaviour policies are trained with SB3 SAC; the exported actors load without SB3, so only the training
# module needs it. The adapter of SB3's private members sits in utils so that every layer using SB3 can reach it.
SB3_ALLOWED_FILES = {"data/behavior/sac_training.py", "utils/sb3_adapter.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_stable_baselines3_only_in_adapter_layers(path):
    if layer_of(path) in SB3_LAYERS or str(path.relative_to(PACKAGE)) in SB3_ALLOWED_FILES:
        return
    assert not any(n.startswith("stable_baselines3") for n in imported_modules(path))


@pytest.mark.parametrize("name", sorted(ROOT_LAYERS))
def test_root_modules_import_only_their_layers(name):
    for imported in imported_modules(PACKAGE / f"{name}.py"):
        if imported.startswith("dwm_gym."):
            target = imported.split(".")[1]
            rank = ROOT_LAYERS.get(target, ORDER.index(target) if target in ORDER else None)
            assert rank is not None and rank <= ROOT_LAYERS[name], f"dwm_gym/{name}.py imports {imported}"


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_in_the_package_imports_its_root(path):
    """``import dwm_gym`` registers the envs: modules read what they need from where it lives (``_version``...)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module != "dwm_gym", f"{path.relative_to(PACKAGE)} imports from the dwm_gym root"
        elif isinstance(node, ast.Import):
            assert "dwm_gym" not in {alias.name for alias in node.names}, f"{path.relative_to(PACKAGE)} imports dwm_gym"


def module_name(path: Path) -> str:
    parts = ("dwm_gym", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports when it runs (``if TYPE_CHECKING:`` blocks left out).

    ``from package import name`` counts as an import of ``package.name`` when that is a module.
    """
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} & modules or {node.module}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p) for p in ALL_SOURCES}
    return {module_name(p): runtime_imports(p, modules) - {module_name(p)} for p in ALL_SOURCES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as its list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) is None


def test_no_import_cycles_inside_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
