"""The house rules of core/ (docs/ARCHITECTURE.md), checked on the code's own imports.

Every import counts, including the lazy ones inside functions (they run too); only imports
under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Lowest first. A module may import its own layer or a lower one, never a higher one.
LAYERS: dict[str, int] = {
    "core.errors": 0, "core.progress": 0, "core.charts": 0,
    "core.store": 1,
    "core.data": 2,
    "core.engine": 3,
    "core.evaluation": 4,
    "core.workflow": 5,
    "core.comparison": 5,
    "core.privacy_sweep": 5,
    "core.related_workflow": 5,
    "core.jobs": 6,
    "core.__main__": 7, "core.cli": 7, "core.related_cli": 7,
}
#: Libraries only the engine may import (SDMetrics is evaluation's).
ENGINE_ONLY = {"sdv", "ctgan", "rdt", "copulas", "torch", "mostlyai"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules(*folders: str) -> dict[str, Path]:
    return {_module_name(path): path
            for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(path: Path, module: str) -> set[str]:
    """Dotted names of every module ``path`` imports when it runs (relative ones resolved)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            # "from core.data import loading" imports the submodule core.data.loading.
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (names that are not modules are dropped)."""
    return {name: {imported for imported in _imported_names(path, name)
                   if imported in modules and imported != name}
            for name, path in modules.items()}


def _layer(module: str) -> int | None:
    for prefix, rank in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return None


CORE = _modules("core")


def test_every_core_module_has_a_layer():
    assert [name for name in CORE if name != "core" and _layer(name) is None] == []


def test_no_core_module_imports_a_higher_layer():
    upward = sorted(
        f"{module} (layer {_layer(module)}) imports {imported} (layer {_layer(imported)})"
        for module, imports in _graph(CORE).items() for imported in imports
        if module != "core" and _layer(imported) is not None
        and _layer(imported) > _layer(module))
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_core_has_no_import_cycle():
    graph = _graph(CORE)
    # A package's __init__ re-exporting its own submodules is not a cycle of the design.
    graph = {module: {imported for imported in imports
                      if not (CORE[module].name == "__init__.py"
                              and imported.startswith(module + "."))}
             for module, imports in graph.items()}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("library", sorted(ENGINE_ONLY))
def test_only_the_engine_imports_the_modelling_libraries(library):
    outside = sorted(module for module, path in CORE.items()
                     if not module.startswith("core.engine")
                     and any(name == library or name.startswith(library + ".")
                             for name in _imported_names(path, module)))
    assert outside == []


def test_core_never_imports_the_ui():
    ui_names = {"streamlit", "ui", "app_pages"}
    offenders = sorted(module for module, path in CORE.items()
                       if {name.split(".")[0] for name in _imported_names(path, module)}
                       & ui_names)
    assert offenders == []


def test_the_ui_package_never_imports_a_page_script():
    ui = _modules("ui")
    offenders = sorted(module for module, path in ui.items()
                       if any(name.split(".")[0] == "app_pages"
                              for name in _imported_names(path, module)))
    assert offenders == []


def test_no_folder_named_pages_sits_beside_app_py():
    # Streamlit switches to its legacy auto-navigation when it finds one (deep links break).
    assert not (ROOT / "pages").exists()
