"""Import the heavy libraries in the background once per server process.

``import sdv`` takes ~6 s (torch, SDMetrics). The Data page does not need them to paint,
so a daemon thread imports them while the user looks at the first screen; by the time a
dataset is loaded, schema detection finds them already imported.
"""

from __future__ import annotations

import threading

_started = threading.Event()


def _import_heavy() -> None:
    # Through the engine, which imports SDV under a lock: a page detecting a schema at the
    # same moment waits for this import instead of deadlocking with it.
    from core.engine.device import detect_device
    from core.engine.patches import load_libraries

    try:
        load_libraries()
    finally:
        detect_device()


def start() -> None:
    """Start the background import (idempotent)."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_import_heavy, name="studio-warmup", daemon=True).start()


def device_if_known() -> str | None:
    """The detected device's label without blocking, or None while still detecting."""
    from core.engine.device import detect_device

    info = detect_device.cache_info()
    if info.currsize:
        return detect_device().label
    return None
