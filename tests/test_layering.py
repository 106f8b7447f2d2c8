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
# Behaviour policies are trained with SB3 SAC (issue: "train SB3 SAC on Hopper-v5"); the exported
# actors load without SB3, so only the training module needs it.
SB3_ALLOWED_FILES = {"data/behavior/sac_training.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_stable_baselines3_only_in_adapter_layers(path):
    if layer_of(path) in SB3_LAYERS or str(path.relative_to(PACKAGE)) in SB3_ALLOWED_FILES:
        return
    assert not any(n.startswith("stable_baselines3") for n in imported_modules(path))
