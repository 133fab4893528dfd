"""Start the studio with the pages' libraries already imported: ``python -m ui.serve``.

``make run`` uses this. It takes the same flags as ``streamlit run app.py``, which still
works. Plain ``streamlit run`` imports pandas, plotly and ``core/`` during the first
visitor's first script run (~0.9 s on 2 cores), after the browser has already spent ~1 s on
Streamlit's own bundle. Here they are imported before the server listens, so the first
visit paints as fast as any later one. Torch and SDV stay out: the pages never import them at
the top, and ``warmup.py`` imports them after the first page is drawn.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Streamlit's own modules are imported by the server anyway, and ours (ui, app_pages) create
# Streamlit caches at import, which must happen inside the running server.
_SKIP = {"__future__", "streamlit", "ui", "app_pages"}


def page_dependencies(root: Path = ROOT) -> list[str]:
    """Modules that app.py and the pages import at the top, except Streamlit and our own."""
    names: set[str] = set()
    scripts = [*sorted((root / "app_pages").glob("*.py")), *sorted((root / "ui").glob("*.py"))]
    for path in [root / "app.py", *scripts]:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                # "from core import datasets" names a submodule, not an attribute.
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(name for name in names if name.split(".")[0] not in _SKIP)


def preload(root: Path = ROOT) -> list[str]:
    """Import :func:`page_dependencies`; return the ones that are modules and were imported."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    imported = []
    for name in page_dependencies(root):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name or name.startswith(f"{error.name}."):
                continue  # "from X import name" named a class or function, not a module
            raise
        imported.append(name)
    return imported


def main(argv: list[str] | None = None) -> int:
    """Check the signing key, preload, then hand over to ``streamlit run app.py``."""
    from streamlit.web import cli

    from core.errors import ConfigurationError
    from core.store.settings import get_settings, load_or_create_secret

    try:
        load_or_create_secret(get_settings())  # refuse to serve with a weak key
    except ConfigurationError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    preload()
    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *args]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
