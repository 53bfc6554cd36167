"""The package's layers import one way only (docs/architecture.md, "Layers")."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "mssim"

# Each layer may import only the layers listed before it (and itself).
ORDER = [
    "errors",
    "files",
    "registry",
    "config",
    "model",
    "trial",
    "montecarlo",
    "literature",
    "outputs",
    "views",
    "commands",
]
# Imports that the order allows but the design forbids: the trial layer reads
# the model's outcome types, never the engine that produces them.
FORBIDDEN = {"trial": {"mssim.model.engine"}}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside mssim."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[str]:
    """Every mssim module imported by a file, at any depth in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mssim":
                found += [f"mssim.{alias.name}" for alias in node.names]
            elif node.module.startswith("mssim."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("mssim.")]
    return found


def files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_file_belongs_to_a_known_layer():
    for path in files():
        rel = path.relative_to(PACKAGE)
        name = rel.parts[0].removesuffix(".py")
        assert name in ORDER or name == "__init__", f"{rel} is in no layer of {ORDER}"


@pytest.mark.parametrize("path", files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    rel = path.relative_to(PACKAGE)
    here = rel.parts[0].removesuffix(".py")
    if here == "__init__":
        return
    allowed = set(ORDER[: ORDER.index(here) + 1]) | {"__version__"}
    for module in imports_of(path):
        there = layer_of(module)
        assert there in allowed, f"{rel} (layer {here}) imports {module} (layer {there})"
        assert module not in FORBIDDEN.get(here, set()), f"{rel} must not import {module}"


def test_the_check_catches_a_backward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from mssim.commands.cli import main\nimport mssim.outputs.report\n")
    assert imports_of(bad) == ["mssim.commands.cli", "mssim.outputs.report"]
    assert layer_of("mssim.commands.cli") not in ORDER[: ORDER.index("model") + 1]
