"""The package's layers: no import circles (type-only ones included); lower layers never call up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "target_adobe_s3"
ROOT = "target_adobe_s3"

LEAVES = frozenset(
    {"target_adobe_s3.errors", "target_adobe_s3.jsontypes", "target_adobe_s3.memory"}
)
"""Top-level modules any layer may use: they import nothing of the package."""

LAYERS: dict[str, frozenset[str]] = {
    "openpgp": frozenset(),
    "naming": frozenset(),
    "formats": frozenset({"rows"}),
    "rows": frozenset(),
    "intake": frozenset({"rows"}),
    "files": frozenset({"openpgp", "formats"}),
    "s3": frozenset(),
}
"""Each subpackage and the other subpackages it may import (the data flow, read downwards)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every package module the file imports, at run time or for type checking only."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(ROOT))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(ROOT):
            found.add(node.module)
            for alias in node.names:  # `from pkg import module`
                candidate = f"{node.module}.{alias.name}"
                if module_path(candidate) is not None:
                    found.add(candidate)
    return found


def module_path(name: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


def test_no_import_circle_between_modules() -> None:
    assert cycle(graph()) is None


def test_no_import_circle_between_layers() -> None:
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        for target in targets:
            a, b = layer(module) or module, layer(target) or target
            if a != b:
                edges.setdefault(a, set()).add(b)
    assert cycle(edges) is None


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_lower_layers_do_not_call_up(package: str) -> None:
    allowed = LAYERS[package] | {package}
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        if layer(module) == package
        for target in targets
        if target not in LEAVES and layer(target) not in allowed
    )
    assert wrong == []


def test_the_checker_finds_a_circle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
