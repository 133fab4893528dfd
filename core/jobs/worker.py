"""Running one job, wherever it runs; and the local worker process entry point.

``python -m core.jobs.worker JOB_DIR`` reads the job's inputs, fits with
:func:`core.engine.training.run_training`, and reports through ``status.json``. It registers the
finished model itself, so the result survives even if the app that started it has
restarted. SIGTERM (cancel) ends it promptly.

The job logic itself is shared with the Ray backend (:mod:`core.jobs.ray_backend`):
:class:`StatusReporter` turns fit and comparison progress into a :class:`JobStatus`, and
:func:`run_training_job` / :func:`run_compare_job` run a job and record how it ended. The
local worker publishes each status change to ``status.json``; a Ray actor keeps it in
memory and the app polls it.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jobs.runner import JobStatus, load_job_request, read_status, write_status

if TYPE_CHECKING:
    import pandas as pd

    from core.data.table import StudioTable
    from core.engine.device import DeviceInfo
    from core.engine.training import FitProgress, TrainingRequest
    from core.store.registry import ModelRecord, ModelRegistry
    from core.workflow import CandidateResult

__all__ = [
    "StatusReporter",
    "main",
    "run_compare",
    "run_compare_job",
    "run_training_job",
    "standby",
]

_LOG = logging.getLogger("studio.worker")
_FAILED_TRAINING = ("Training failed unexpectedly; the worker log has details. "
                    "Try another synthesizer or the Quick preset.")
_FAILED_COMPARE = "The comparison failed unexpectedly; the worker log has details."


class StatusReporter:
    """Keeps a job's :class:`JobStatus` current from progress callbacks (thread-safe).

    Every change is passed to ``publish`` under the reporter's lock: the local worker
    writes ``status.json``, the Ray actor publishes nothing and serves :meth:`snapshot`.

    Attributes:
        status: The live status (change it only through the reporter's methods).
    """

    def __init__(self, status: JobStatus,
                 publish: Callable[[JobStatus], None] | None = None) -> None:
        self.status = status
        self._publish = publish or (lambda status: None)
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._started = time.monotonic()

    def update(self, **changes: Any) -> None:
        """Set status fields and publish."""
        with self._lock:
            for name, value in changes.items():
                setattr(self.status, name, value)
            self._publish(self.status)

    def try_update(self, timeout: float = 1.0, **changes: Any) -> None:
        """Like :meth:`update`, but gives up on the lock after ``timeout`` (signal handlers)."""
        acquired = self._lock.acquire(timeout=timeout)
        try:
            for name, value in changes.items():
                setattr(self.status, name, value)
            self._publish(self.status)
        finally:
            if acquired:
                self._lock.release()

    def snapshot(self) -> JobStatus:
        """A copy of the current status (safe to hand to another thread or process)."""
        with self._lock:
            snapshot = copy.deepcopy(self.status)
        snapshot.updated_at = time.time()
        return snapshot

    def on_fit(self, progress: FitProgress) -> None:
        """Listener for :func:`core.engine.training.run_training`."""
        self.update(stage=progress.stage, epoch=progress.epoch,
                    total_epochs=progress.total_epochs,
                    losses={name: list(values) for name, values in progress.losses.items()},
                    elapsed=progress.elapsed, device=progress.device,
                    eta_seconds=progress.eta_seconds)

    def progress_callback(self, budget: float | None) -> Callable[[float, str], None]:
        """A ``progress(fraction, message)`` callback for a comparison with ``budget`` s."""
        self._started = time.monotonic()

        def on_progress(fraction: float, message: str) -> None:
            elapsed = time.monotonic() - self._started
            changes: dict[str, Any] = {"progress": fraction, "stage": message,
                                       "elapsed": elapsed}
            if budget:
                changes["eta_seconds"] = max(budget - elapsed, 0.0)
            self.update(**changes)

        return on_progress

    def start_heartbeat(self, interval: float = 1.0) -> None:
        """Keep elapsed/ETA moving while a model without epochs reports nothing."""
        self._started = time.monotonic()

        def beat() -> None:
            while not self._finished.wait(interval):
                with self._lock:
                    status = self.status
                    if status.state != "running":
                        return
                    status.elapsed = time.monotonic() - self._started
                    if not status.total_epochs and status.estimate_seconds:
                        status.eta_seconds = max(status.estimate_seconds - status.elapsed, 1.0)
                    self._publish(status)

        threading.Thread(target=beat, name="studio-heartbeat", daemon=True).start()

    def finish(self, state: str, message: str = "", model_id: str | None = None,
               elapsed: float | None = None) -> None:
        """Record how the job ended (stops the heartbeat)."""
        self._finished.set()
        with self._lock:
            status = self.status
            status.state, status.message, status.model_id = state, message, model_id
            if elapsed is not None:
                status.elapsed = elapsed
            if status.kind == "compare":
                status.progress = 1.0 if state == "done" else status.progress
                if state == "done":
                    status.stage = "Done"
            else:
                status.eta_seconds = 0.0 if state == "done" else None
                if state == "done":
                    status.stage = "Done"
            self._publish(status)


def run_training_job(
    reporter: StatusReporter,
    request: TrainingRequest,
    frame: pd.DataFrame,
    should_cancel: Callable[[], bool] | None = None,
    registry: ModelRegistry | None = None,
    device: DeviceInfo | None = None,
) -> ModelRecord | None:
    """Fit ``request`` and record the outcome in ``reporter``; the record if it is done.

    Cancellation, a user-facing :class:`~core.errors.StudioError` and any other failure
    end the job as "cancelled" or "failed" with a plain message (never an exception).
    """
    from core.engine.training import run_training
    from core.errors import StudioError, TrainingCancelled

    reporter.start_heartbeat()
    try:
        record = run_training(request, frame, listener=reporter.on_fit,
                              should_cancel=should_cancel, registry=registry, device=device)
    except TrainingCancelled:
        reporter.finish("cancelled", "Training was cancelled.")
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Training failed")
        reporter.finish("failed", _FAILED_TRAINING)
    else:
        reporter.finish("done", model_id=record.model_id, elapsed=record.fit_seconds)
        return record
    return None


def run_compare_job(
    reporter: StatusReporter,
    table: StudioTable,
    spec: dict[str, Any],
    registry: ModelRegistry | None = None,
) -> list[CandidateResult] | None:
    """Run a comparison described by ``spec`` (see :func:`core.jobs.runner.compare_spec`).

    Returns the candidates' results if it finished, else None (the reporter says why).
    """
    from core.data.splitting import SplitSpec
    from core.errors import StudioError
    from core.workflow import compare

    try:
        results = compare(table, [tuple(c) for c in spec["candidates"]], spec["budget"],
                          seed=spec["seed"], device=spec["device"],
                          split=SplitSpec(**spec["split"]), registry=registry,
                          progress=reporter.progress_callback(spec["budget"]))
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Comparison failed")
        reporter.finish("failed", _FAILED_COMPARE)
    else:
        reporter.finish("done")
        return results
    return None


def _reporter_for(job_dir: Path, status: JobStatus, stage: str,
                  cancelled_message: str) -> StatusReporter:
    """A reporter publishing to ``status.json``; SIGTERM marks the job cancelled and exits."""
    status.state, status.pid, status.stage = "running", os.getpid(), stage
    reporter = StatusReporter(status, lambda current: write_status(job_dir, current))
    reporter.update()

    def on_sigterm(signum: int, frame: object) -> None:
        reporter.try_update(state="cancelled", message=cancelled_message)
        os._exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)
    return reporter


def run_compare(job_dir: Path) -> int:
    """Run a comparison job; the leaderboard goes to ``result.json``."""
    status = read_status(job_dir) or JobStatus(job_id=job_dir.name, kind="compare")
    reporter = _reporter_for(job_dir, status, "Loading the libraries",
                             "The comparison was cancelled.")
    from core.jobs.runner import load_compare_request
    from core.workflow import leaderboard_rows

    table, spec = load_compare_request(job_dir)
    results = run_compare_job(reporter, table, spec)
    if results is None:
        return 1
    (job_dir / "result.json").write_text(json.dumps(leaderboard_rows(results)))
    return 0


def main(job_dir: Path) -> int:
    """Run the job in ``job_dir``; return the process exit code."""
    if (job_dir / "compare.json").exists():
        return run_compare(job_dir)
    status = read_status(job_dir) or JobStatus(job_id=job_dir.name)
    reporter = _reporter_for(job_dir, status, "Loading the training libraries",
                             "Training was cancelled.")
    request, frame = load_job_request(job_dir)
    record = run_training_job(reporter, request, frame,
                              should_cancel=lambda: (job_dir / "cancel").exists())
    return 0 if record is not None else 1


def standby() -> int:
    """Import the heavy libraries, then wait for a job directory on stdin.

    The app keeps one such warm worker ready, so a new fit starts in well under a second
    instead of spending ~6 s importing torch and SDV. End of input (the app is gone)
    ends the process.
    """
    # torch._dynamo: torch, plus what a deep model's first optimiser imports (2-3 s).
    import sdv.single_table  # noqa: F401
    import torch._dynamo  # noqa: F401

    from core.engine import patches as sdv_speedups

    sdv_speedups.apply()
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    return main(Path(line))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if sys.argv[1:] == ["--standby"]:
        sys.exit(standby())
    sys.exit(main(Path(sys.argv[1])))
