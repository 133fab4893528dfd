"""Running one job, wherever it runs: progress reporting and how a job ends.

Both backends run a job through these functions: the local worker process
(:mod:`core.jobs.worker`) and the Ray task (:mod:`core.jobs.ray_task`).
:class:`StatusReporter` turns fit and comparison progress into a :class:`JobStatus`, and
:func:`run_training_job` / :func:`run_compare_job` run a job on the device they are given
and record how it ended. The local worker publishes each status change to
``status.json``; a Ray task posts it to the app's status board.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.data.splitting import SplitSpec
from core.engine.training import run_training
from core.errors import StudioError, TrainingCancelled
from core.jobs.status import JobStatus
from core.workflow import compare

if TYPE_CHECKING:
    import pandas as pd

    from core.data.table import StudioTable
    from core.engine.device import DeviceInfo
    from core.engine.training import FitProgress, TrainingRequest
    from core.store.registry import ModelRecord, ModelRegistry
    from core.workflow import CandidateResult

__all__ = ["StatusReporter", "run_compare_job", "run_training_job"]

_LOG = logging.getLogger("studio.worker")
_FAILED_TRAINING = ("Training failed unexpectedly; the server's log has details. "
                    "Try another synthesizer or the Quick preset.")
_FAILED_COMPARE = "The comparison failed unexpectedly; the server's log has details."


class StatusReporter:
    """Keeps a job's :class:`JobStatus` current from progress callbacks (thread-safe).

    Every change is passed to ``publish`` under the reporter's lock: the local worker
    writes ``status.json``, a Ray task posts to the app's status board.

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
    device: DeviceInfo,
    should_cancel: Callable[[], bool] | None = None,
    registry: ModelRegistry | None = None,
) -> ModelRecord | None:
    """Fit ``request`` on ``device`` and record the outcome in ``reporter``.

    Cancellation, a user-facing :class:`~core.errors.StudioError` and any other failure
    end the job as "cancelled" or "failed" with a plain message (never an exception).

    Returns:
        The model's record if the job is done, else None.
    """
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
    device: DeviceInfo,
    registry: ModelRegistry | None = None,
    deliver: Callable[[list[CandidateResult]], None] | None = None,
) -> list[CandidateResult] | None:
    """Run a comparison described by ``spec`` (:func:`core.jobs.specs.compare_spec`).

    Args:
        reporter: Where progress and the outcome go.
        table: The table to compare on.
        spec: The comparison's settings.
        device: Where the candidates train.
        registry: Where models go (default: the configured registry).
        deliver: Called with the results before the job is marked done, so whoever sees
            "done" finds them (the local worker writes ``result.json`` here).

    Returns:
        The candidates' results if it finished, else None (the reporter says why).
    """
    try:
        results = compare(table, [tuple(c) for c in spec["candidates"]], spec["budget"],
                          seed=spec["seed"], device=spec["device"],
                          split=SplitSpec(**spec["split"]), registry=registry,
                          progress=reporter.progress_callback(spec["budget"]),
                          resolved_device=device)
        if deliver is not None:
            deliver(results)
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Comparison failed")
        reporter.finish("failed", _FAILED_COMPARE)
    else:
        reporter.finish("done")
        return results
    return None
