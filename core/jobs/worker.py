"""The local worker process: ``python -m core.jobs.worker JOB_DIR``.

It reads the job's inputs from its folder (:mod:`core.jobs.specs`), resolves the device
the user chose on this machine, runs the job (:mod:`core.jobs.execution`) and reports
through ``status.json``. It registers the finished model itself, so the result survives
even if the app that started it has restarted. SIGTERM (cancel) ends it promptly.
However the job ends, the worker deletes its copy of the user's table before it exits;
the app removes the rest of the folder once it has read the final status.

``--standby`` imports the libraries first and then waits for a job folder on stdin (the
local runner keeps one such warm worker ready).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from core.engine.device import DeviceInfo, resolve_device
from core.errors import StudioError
from core.jobs.execution import StatusReporter, run_compare_job, run_training_job
from core.jobs.folders import (
    CANCEL_FILE,
    LOG_FILE,
    RESULT_FILE,
    discard_real_data,
    open_private_log,
    write_private,
)
from core.jobs.specs import is_compare_job, load_compare_request, load_job_request
from core.jobs.status import JobStatus, read_status, write_status
from core.workflow import leaderboard_rows

__all__ = ["main", "run_compare", "run_fit", "standby"]

_LOG = logging.getLogger("studio.worker")


def _publisher(job_dir: Path) -> Callable[[JobStatus], None]:
    def publish(status: JobStatus) -> None:
        try:
            write_status(job_dir, status)
        except FileNotFoundError:  # the app already collected the ended job
            pass

    return publish


def _reporter_for(job_dir: Path, status: JobStatus, stage: str,
                  cancelled_message: str) -> StatusReporter:
    """A reporter publishing to ``status.json``; SIGTERM marks the job cancelled and exits."""
    status.state, status.pid, status.stage = "running", os.getpid(), stage
    reporter = StatusReporter(status, _publisher(job_dir))
    reporter.update()

    def on_sigterm(signum: int, frame: object) -> None:
        discard_real_data(job_dir)
        reporter.try_update(state="cancelled", message=cancelled_message)
        os._exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)
    return reporter


def _device(reporter: StatusReporter, preference: str) -> DeviceInfo | None:
    """The device for ``preference`` on this machine; None (and the job failed) if absent."""
    try:
        return resolve_device(preference)
    except StudioError as error:
        reporter.finish("failed", str(error))
        return None


def run_compare(job_dir: Path) -> int:
    """Run a comparison job; the leaderboard goes to ``result.json`` before "done"."""
    status = read_status(job_dir) or JobStatus(job_id=job_dir.name, kind="compare")
    reporter = _reporter_for(job_dir, status, "Loading the libraries",
                             "The comparison was cancelled.")
    table, spec = load_compare_request(job_dir)
    device = _device(reporter, spec["device"])
    if device is None:
        return 1

    def deliver(results: list) -> None:
        write_private(job_dir / RESULT_FILE, json.dumps(leaderboard_rows(results)))

    results = run_compare_job(reporter, table, spec, device, deliver=deliver)
    return 0 if results is not None else 1


def run_fit(job_dir: Path) -> int:
    """Run a training job; the worker registers the model itself."""
    status = read_status(job_dir) or JobStatus(job_id=job_dir.name)
    reporter = _reporter_for(job_dir, status, "Loading the training libraries",
                             "Training was cancelled.")
    request, frame = load_job_request(job_dir)
    device = _device(reporter, request.device)
    if device is None:
        return 1
    record = run_training_job(reporter, request, frame, device,
                              should_cancel=lambda: (job_dir / CANCEL_FILE).exists())
    return 0 if record is not None else 1


def main(job_dir: Path) -> int:
    """Run the job in ``job_dir``; return the process exit code."""
    try:
        return run_compare(job_dir) if is_compare_job(job_dir) else run_fit(job_dir)
    finally:
        discard_real_data(job_dir)


def _log_into(job_dir: Path) -> None:
    """Send this process's output to the job's own log (a standby started elsewhere)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open_private_log(job_dir / LOG_FILE) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())


def standby() -> int:
    """Import the heavy libraries, then wait for a job directory on stdin.

    The app keeps one such warm worker ready, so a new fit starts in well under a second
    instead of spending ~6 s importing torch and SDV. End of input (the app is gone)
    ends the process.
    """
    from core.engine.warmup import import_libraries

    import_libraries()
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    job_dir = Path(line)
    _log_into(job_dir)
    return main(job_dir)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if sys.argv[1:] == ["--standby"]:
        sys.exit(standby())
    sys.exit(main(Path(sys.argv[1])))
