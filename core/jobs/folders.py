"""A local job's folder, ``<data dir>/jobs/<id>/``: its files, private from the start.

The folder holds a full copy of the user's table (``frame.pkl``, or real rows in
``inputs.pkl``), so it is created 0700 and every file in it 0600 at creation (``os.open``
with a mode, never a chmod after the bytes are on disk).
:class:`core.jobs.local.LocalJobRunner` removes it when the job ends (docs/ARCHITECTURE.md,
"where state lives"); a finished sample or evaluation keeps only its ``result.pkl`` until
the app has taken it (an evaluation's result holds a few thousand real rows for its charts,
so it is as private as the rest).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "CANCEL_FILE",
    "COMPARE_FILE",
    "FRAME_FILE",
    "INPUTS_FILE",
    "LOG_FILE",
    "OBJECT_RESULT_FILE",
    "REQUEST_FILE",
    "RESULT_FILE",
    "STANDBY_DIR",
    "STARTUP_FILE",
    "STATUS_FILE",
    "create_private_dir",
    "discard_real_data",
    "is_job_id",
    "keep_only",
    "open_private_log",
    "read_startup",
    "ready_marker",
    "record_startup",
    "remove_folder",
    "write_private",
]

#: The training request (JSON), written by the app.
REQUEST_FILE = "request.json"
#: A comparison's settings (JSON), written by the app instead of the request.
COMPARE_FILE = "compare.json"
#: The user's table (pickled DataFrame): real data.
FRAME_FILE = "frame.pkl"
#: The job's :class:`~core.jobs.status.JobStatus` (JSON), rewritten by the worker.
STATUS_FILE = "status.json"
#: A sample's or an evaluation's inputs (pickled dict; real rows), written by the app.
INPUTS_FILE = "inputs.pkl"
#: A finished comparison's leaderboard rows (JSON), written by the worker.
RESULT_FILE = "result.json"
#: A finished sample's or evaluation's result (pickled), written by the worker.
OBJECT_RESULT_FILE = "result.pkl"
#: Present once the app asked the job to stop.
CANCEL_FILE = "cancel"
#: The worker's output.
LOG_FILE = "worker.log"
#: The warm standby worker's folder under the jobs folder (its log and ready marker).
STANDBY_DIR = "standby"
#: The last measured worker start (JSON ``{"seconds": ..., "measured_at": ...}``), in the
#: jobs folder: how long starting a worker and importing the libraries took here.
STARTUP_FILE = "startup.json"

_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


def is_job_id(name: str) -> bool:
    """True for a name the runner could have given a job (letters, digits, dashes)."""
    return bool(name) and name.replace("-", "").isalnum()


def create_private_dir(path: Path, exist_ok: bool = False) -> Path:
    """Create ``path`` with mode 0700 (its parents as usual); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, _PRIVATE_DIR)
    except FileExistsError:
        if not exist_ok:
            raise
    return path


def write_private(path: Path, write: bytes | str | Callable[[BinaryIO], object],
                  replace: bool = False) -> None:
    """Write a file that is 0600 from its first byte.

    Args:
        path: The file.
        write: Its content, or a function that writes to the open binary handle.
        replace: Truncate an existing file instead of failing (only for files this
            process created itself, e.g. a temporary file named after its pid).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    descriptor = os.open(path, flags, _PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        if callable(write):
            write(handle)
        else:
            handle.write(write.encode() if isinstance(write, str) else write)


def open_private_log(path: Path) -> BinaryIO:
    """Open ``path`` for appending, creating it 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE_FILE)
    return os.fdopen(descriptor, "ab")


def ready_marker(jobs_dir: Path, pid: int) -> Path:
    """The file a standby worker ``pid`` creates once its libraries are imported."""
    return jobs_dir / STANDBY_DIR / f"ready-{pid}"


def record_startup(jobs_dir: Path, seconds: float) -> None:
    """Remember how long a worker took to start and import the libraries here."""
    temporary = jobs_dir / f"{STARTUP_FILE}.tmp{os.getpid()}"
    try:
        write_private(temporary, json.dumps({"seconds": round(seconds, 3),
                                             "measured_at": time.time()}), replace=True)
        os.replace(temporary, jobs_dir / STARTUP_FILE)
    except OSError:  # a measurement only
        temporary.unlink(missing_ok=True)


def read_startup(jobs_dir: Path) -> float | None:
    """The last worker start measured here (seconds), or None if none was."""
    try:
        seconds = float(json.loads((jobs_dir / STARTUP_FILE).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seconds if seconds >= 0 else None


def discard_real_data(job_dir: Path) -> None:
    """Delete the job's copy of real rows (the worker, as soon as the job has ended)."""
    for name in (FRAME_FILE, INPUTS_FILE):
        (job_dir / name).unlink(missing_ok=True)


def keep_only(job_dir: Path, name: str) -> None:
    """Delete every file in ``job_dir`` but ``name`` (a result waiting to be taken)."""
    for path in job_dir.iterdir():
        if path.name != name:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def remove_folder(job_dir: Path) -> None:
    """Delete a job's folder and everything in it (nothing if it is already gone)."""
    shutil.rmtree(job_dir, ignore_errors=True)
