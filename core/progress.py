"""A tiny progress protocol shared by every slow core function.

Core never draws anything: slow functions accept an optional ``progress`` callable
``progress(fraction, message)`` with ``fraction`` in [0, 1]. Pages pass one that updates
``st.progress``; the command line passes one that writes to stderr.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "null_progress", "scaled"]

ProgressCallback = Callable[[float, str], None]


def null_progress(fraction: float, message: str) -> None:  # noqa: ARG001
    """Ignore progress (the default)."""


def scaled(progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback:
    """Map a sub-task's 0..1 progress into the ``start..stop`` part of ``progress``."""
    outer = progress or null_progress

    def report(fraction: float, message: str) -> None:
        outer(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    return report
