"""Import the modelling libraries ahead of a job, so its fit starts warm.

A job worker (local standby process or Ray task) calls :func:`import_libraries` while it
waits; the first fit then skips ~6 s of imports. The engine is the only package that
imports SDV and torch (docs/ARCHITECTURE.md), so this lives here.
"""

from __future__ import annotations

from core.engine.patches import load_libraries

__all__ = ["import_libraries"]


def import_libraries() -> None:
    """SDV with the studio's patches, torch, and what a deep model's first optimiser imports."""
    load_libraries()
    import sdv.single_table  # noqa: F401
    import torch._dynamo  # noqa: F401 - the first optimiser step imports it (2-3 s)
