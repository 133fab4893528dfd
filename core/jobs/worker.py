"""The local worker process: ``python -m core.jobs.worker JOB_DIR``.

It reads the job's inputs from its folder (:mod:`core.jobs.specs`), imports the libraries
(stage "Importing the libraries", measured), resolves the device the user chose on this
machine, runs the job (:mod:`core.jobs.execution`) and reports through ``status.json``. A
fit registers the finished model itself, so the result survives even if the app that
started it has restarted; a sample or an evaluation writes its result to ``result.pkl``
for the app to take. SIGTERM (cancel) ends it promptly. However the job ends, the worker
deletes its copy of real rows before it exits; the app removes the rest of the folder.

``--standby`` imports the libraries first and then waits for a job folder on stdin (the
local runner keeps one such warm worker ready). It creates its ready marker
(:func:`core.jobs.folders.ready_marker`) once the libraries are in, so the app can tell a
warm worker from one still importing. Both kinds of start record how long starting took
(:func:`core.jobs.folders.record_startup`), from ``STUDIO_WORKER_LAUNCHED_AT``, the time
the app launched the process.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.comparison import leaderboard_rows
from core.engine.device import DeviceInfo, resolve_device
from core.engine.warmup import import_libraries
from core.errors import StudioError
from core.evaluation import import_libraries as import_evaluation_libraries
from core.jobs.execution import (
    StatusReporter,
    run_compare_job,
    run_evaluation_job,
    run_related_job,
    run_sample_job,
    run_sweep_job,
    run_training_job,
)
from core.jobs.folders import (
    CANCEL_FILE,
    LOG_FILE,
    OBJECT_RESULT_FILE,
    RESULT_FILE,
    discard_real_data,
    open_private_log,
    ready_marker,
    record_startup,
    write_private,
)
from core.jobs.specs import (
    job_kind,
    load_compare_request,
    load_inputs,
    load_job_request,
    load_related_request,
    load_sweep_request,
)
from core.jobs.status import (
    STAGE_IMPORTING,
    JobStatus,
    cancelled_message,
    read_status,
    write_status,
)
from core.store.registry import ModelRegistry

__all__ = ["main", "run_compare", "run_evaluation", "run_fit", "run_related", "run_sample",
           "run_sweep", "standby"]

_LOG = logging.getLogger("studio.worker")
#: Set by the app when it launches a worker: the Unix time of the launch.
LAUNCHED_AT_ENV = "STUDIO_WORKER_LAUNCHED_AT"


def _publisher(job_dir: Path) -> Callable[[JobStatus], None]:
    def publish(status: JobStatus) -> None:
        try:
            write_status(job_dir, status)
        except FileNotFoundError:  # the app already collected the ended job
            pass

    return publish


def _reporter_for(job_dir: Path, status: JobStatus) -> StatusReporter:
    """A reporter publishing to ``status.json``; SIGTERM marks the job cancelled and exits."""
    status.state, status.pid = "running", os.getpid()
    reporter = StatusReporter(status, _publisher(job_dir))
    reporter.update()

    def on_sigterm(signum: int, frame: object) -> None:
        discard_real_data(job_dir)
        reporter.try_update(state="cancelled", message=cancelled_message(status.kind),
                            eta_seconds=None)
        os._exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)
    return reporter


def _registry(workspace: str | None) -> ModelRegistry:
    """The registry of the job's workspace (the command line's when it names none)."""
    return ModelRegistry(workspace=workspace or None)


def _device(reporter: StatusReporter, preference: str) -> DeviceInfo | None:
    """The device for ``preference`` on this machine; None (and the job failed) if absent."""
    try:
        return resolve_device(preference)
    except StudioError as error:
        reporter.finish("failed", str(error))
        return None


def _deliver_object(job_dir: Path) -> Callable[[Any], None]:
    def deliver(result: Any) -> None:
        write_private(job_dir / OBJECT_RESULT_FILE, lambda handle: pickle.dump(
            result, handle, protocol=pickle.HIGHEST_PROTOCOL))

    return deliver


def run_compare(job_dir: Path, reporter: StatusReporter) -> int:
    """Run a comparison job; the leaderboard goes to ``result.json`` before "done"."""
    table, spec = load_compare_request(job_dir)
    device = _device(reporter, spec["device"])
    if device is None:
        return 1

    def deliver(results: list) -> None:
        write_private(job_dir / RESULT_FILE, json.dumps(leaderboard_rows(results)))

    results = run_compare_job(reporter, table, spec, device,
                              registry=_registry(reporter.status.workspace), deliver=deliver)
    return 0 if results is not None else 1


def run_sweep(job_dir: Path, reporter: StatusReporter) -> int:
    """Run a what-if sweep; its result goes to ``result.json`` before "done"."""
    table, spec = load_sweep_request(job_dir)
    device = _device(reporter, spec["device"])
    if device is None:
        return 1

    def deliver(result: Any) -> None:
        write_private(job_dir / RESULT_FILE, json.dumps(result.to_dict()))

    result = run_sweep_job(reporter, table, spec, device,
                           registry=_registry(reporter.status.workspace), deliver=deliver,
                           should_cancel=lambda: (job_dir / CANCEL_FILE).exists())
    return 0 if result is not None else 1


def run_fit(job_dir: Path, reporter: StatusReporter) -> int:
    """Run a training job; the worker registers the model itself."""
    request, frame = load_job_request(job_dir)
    device = _device(reporter, request.device)
    if device is None:
        return 1
    record = run_training_job(reporter, request, frame, device,
                              should_cancel=lambda: (job_dir / CANCEL_FILE).exists(),
                              registry=_registry(reporter.status.workspace))
    return 0 if record is not None else 1


def run_related(job_dir: Path, reporter: StatusReporter) -> int:
    """Run a related-tables fit; the worker registers the model itself."""
    request, frames = load_related_request(job_dir)
    device = _device(reporter, request.device)
    if device is None:
        return 1
    record = run_related_job(reporter, request, frames, device,
                             should_cancel=lambda: (job_dir / CANCEL_FILE).exists(),
                             registry=_registry(reporter.status.workspace))
    return 0 if record is not None else 1


def run_sample(job_dir: Path, reporter: StatusReporter) -> int:
    """Generate rows from a stored model; they go to ``result.pkl`` before "done"."""
    inputs = load_inputs(job_dir)
    sample = run_sample_job(reporter, inputs, registry=_registry(inputs.get("workspace")),
                            deliver=_deliver_object(job_dir))
    return 0 if sample is not None else 1


def run_evaluation(job_dir: Path, reporter: StatusReporter) -> int:
    """Evaluate rows; the result goes to ``result.pkl`` before "done"."""
    evaluation = run_evaluation_job(reporter, load_inputs(job_dir),
                                    deliver=_deliver_object(job_dir))
    return 0 if evaluation is not None else 1


_RUNS = {"train": run_fit, "compare": run_compare, "sample": run_sample,
         "evaluate": run_evaluation, "sweep": run_sweep, "related": run_related}


def _launched_at() -> float | None:
    try:
        return float(os.environ[LAUNCHED_AT_ENV])
    except (KeyError, ValueError):
        return None


def _import_and_measure(jobs_dir: Path) -> None:
    """Import the modelling and evaluation libraries; record how long this worker took."""
    import_libraries()
    import_evaluation_libraries()
    launched = _launched_at()
    if launched is not None:
        record_startup(jobs_dir, time.time() - launched)


def main(job_dir: Path, warm: bool = False) -> int:
    """Run the job in ``job_dir``; return the process exit code.

    Args:
        job_dir: The job's folder.
        warm: The libraries are already imported (a standby worker).
    """
    try:
        kind = job_kind(job_dir)
        status = read_status(job_dir) or JobStatus(job_id=job_dir.name, kind=kind)
        status.kind = kind
        reporter = _reporter_for(job_dir, status)
        if not warm and kind != "evaluate":  # evaluation needs neither SDV nor torch
            reporter.update(stage=STAGE_IMPORTING)
            _import_and_measure(job_dir.parent)
        return _RUNS[kind](job_dir, reporter)
    finally:
        discard_real_data(job_dir)


def _log_into(job_dir: Path) -> None:
    """Send this process's output to the job's own log (a standby started elsewhere)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open_private_log(job_dir / LOG_FILE) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())


def standby(jobs_dir: Path) -> int:
    """Import the heavy libraries, then wait for a job directory on stdin.

    The app keeps one such warm worker ready, so a new fit starts in well under a second
    instead of spending several seconds (tens on a busy machine) importing torch and SDV.
    End of input (the app is gone) ends the process.
    """
    _import_and_measure(jobs_dir)
    marker = ready_marker(jobs_dir, os.getpid())
    try:
        write_private(marker, b"", replace=True)
    except OSError:  # the app then takes this worker for a cold one
        pass
    try:
        line = sys.stdin.readline().strip()
    finally:
        marker.unlink(missing_ok=True)
    if not line:
        return 0
    job_dir = Path(line)
    _log_into(job_dir)
    return main(job_dir, warm=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if sys.argv[1:2] == ["--standby"]:
        sys.exit(standby(Path(sys.argv[2])))
    sys.exit(main(Path(sys.argv[1])))
