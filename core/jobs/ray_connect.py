"""Connecting this process to a Ray cluster without ever hanging.

``ray.init`` can wait for minutes on an address where nothing answers, so :func:`connect`
probes the port first and runs ``ray.init`` in a daemon thread with a time limit (10 s by
default). The app ships its own ``core`` package with every job
(``runtime_env={"py_modules": [...]}``), so the cluster's nodes need only this project's
requirements.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from core.errors import TrainingError
from core.store.settings import PROJECT_ROOT

__all__ = ["DEFAULT_RAY_CONNECT_TIMEOUT", "NAMESPACE", "RayUnavailableError", "connect"]

#: The Ray namespace of the studio's actors.
NAMESPACE = "synthetic-data-studio"
#: Seconds the app waits for a Ray cluster before it runs jobs on this machine instead.
DEFAULT_RAY_CONNECT_TIMEOUT = 10.0
#: How long the app's Ray driver waits for a lost GCS before Ray would end the process.
_DRIVER_PATIENCE_SECONDS = 365 * 24 * 3600


class RayUnavailableError(TrainingError):
    """The Ray cluster could not be reached (or Ray could not start) in time."""


class _Attempt(threading.Thread):
    """One ``ray.init`` call in a daemon thread; ``error`` is what it raised, if anything."""

    def __init__(self, address: str) -> None:
        super().__init__(name="studio-ray-connect", daemon=True)
        self.address = address
        self.error: BaseException | None = None

    def run(self) -> None:
        import ray

        try:
            ray.init(**_init_kwargs(self.address))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            self.error = error


_connect_lock = threading.Lock()
#: The last connection attempt; one that hangs is waited on, never started twice.
_attempt: _Attempt | None = None


def _split_address(address: str) -> tuple[str, int] | None:
    """(host, port) to probe for ``address``; None for "auto"/"local"."""
    if address in ("auto", "local"):
        return None
    scheme, _, target = address.rpartition("://")
    default_port = 10001 if scheme else 6379
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit():
        host, port = target, str(default_port)
    return (host.strip("[]") or "127.0.0.1", int(port))


def _check_port(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at the address (refused, unroutable, unknown host)."""
    target = _split_address(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=max(timeout, 0.1)):
            pass
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise RayUnavailableError(
            f"nothing answers at {target[0]}:{target[1]} ({reason})") from error


def _runtime_env() -> dict[str, Any]:
    """Ship this app's ``core`` package with every job; idle OpenMP threads sleep."""
    return {
        "py_modules": [str(PROJECT_ROOT / "core")],
        "excludes": ["__pycache__", "*.pyc"],
        "env_vars": {"OMP_WAIT_POLICY": "PASSIVE"},
    }


def _init_kwargs(address: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"address": address, "namespace": NAMESPACE,
                              "runtime_env": _runtime_env()}
    if "://" not in address:  # a driver of its own (Ray Client takes fewer options)
        kwargs.update(logging_level=logging.WARNING, log_to_driver=False,
                      ignore_reinit_error=True)
    return kwargs


def connect(address: str, timeout: float = DEFAULT_RAY_CONNECT_TIMEOUT) -> None:
    """Connect this process to the Ray cluster at ``address`` within ``timeout`` seconds.

    ``ray.init`` can wait for minutes on an address where nothing answers, so the port is
    probed first and ``ray.init`` runs in a daemon thread that is abandoned if it has not
    finished in time. Does nothing if Ray is already initialised in this process.

    Raises:
        RayUnavailableError: Nothing answers, Ray refused, or the time ran out.
    """
    global _attempt
    deadline = time.monotonic() + timeout
    try:
        import ray
    except ImportError as error:  # pragma: no cover - ray is a requirement
        raise RayUnavailableError(f"Ray is not installed ({error})") from error
    with _connect_lock:
        if ray.is_initialized():
            return
        if _attempt is None or not _attempt.is_alive():
            _check_port(address, min(3.0, deadline - time.monotonic()))
            if "://" not in address:
                # A Ray driver exits when the cluster's GCS has been gone for 60 s; the app
                # must outlive its cluster (jobs are then marked failed instead).
                os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s",
                                      str(_DRIVER_PATIENCE_SECONDS))
            _attempt = _Attempt(address)
            _attempt.start()
        attempt = _attempt
        attempt.join(max(deadline - time.monotonic(), 0.0))
        if attempt.is_alive():
            raise RayUnavailableError(f"no answer within {timeout:.0f} s")
        if attempt.error is not None:
            lines = str(attempt.error).strip().splitlines()
            text = lines[0] if lines else type(attempt.error).__name__
            raise RayUnavailableError(text[:300]) from attempt.error
        if not ray.is_initialized():
            raise RayUnavailableError("ray.init returned without a connection")
