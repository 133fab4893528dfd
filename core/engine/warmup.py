"""Import the modelling libraries ahead of a job, so its fit starts warm.

A job worker (local standby process or Ray task) calls :func:`import_libraries` while it
waits; the first fit then skips ~6 s of imports. The engine is the only package that
imports SDV and torch (docs/ARCHITECTURE.md), so this lives here.
"""

from __future__ import annotations

from core.engine.patches import load_libraries

__all__ = ["import_libraries"]


def import_libraries() -> None:
    """SDV with the studio's patches, torch, a first optimiser's imports, mostlyai-engine.

    The engine takes 1-13 s to import on 2 cores; a cold worker would spend that inside a
    TabularARGN fit's time limit.
    """
    load_libraries()
    import sdv.single_table  # noqa: F401
    import torch._dynamo  # noqa: F401 - the first optimiser step imports it (2-3 s)
    from mostlyai import engine  # noqa: F401
