"""Running one job, wherever it runs: progress reporting and how a job ends.

Both backends run a job through these functions: the local worker process
(:mod:`core.jobs.worker`) and the Ray task (:mod:`core.jobs.ray_task`).
:class:`StatusReporter` turns fit, comparison, sampling and evaluation progress into a
:class:`JobStatus`, and :func:`run_training_job`, :func:`run_compare_job`,
:func:`run_sweep_job` (the privacy-budget what-if sweep), :func:`run_sample_job` and
:func:`run_evaluation_job` run a job and record how it ended.
The local worker publishes each status change to ``status.json``; a Ray task posts it to
the app's status board.

Progress is honest: a fraction only for measured work (epochs, a comparison's steps, rows
generated, evaluation parts), an ETA only while it means something (a fit without epochs
past its estimate has none), and the time from leaving the queue to the job's own work
(``startup_seconds``) and to its end (``wall_seconds``) are measured.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.comparison import compare
from core.data.splitting import SplitSpec
from core.engine.models import load_synthesizer
from core.engine.training import run_training
from core.errors import StudioError, TrainingCancelled
from core.jobs.status import JobStatus
from core.privacy_sweep import FIT_SECONDS, run_sweep
from core.store.registry import ModelRegistry
from core.workflow import evaluate_sample, sample_model

if TYPE_CHECKING:
    import pandas as pd

    from core.comparison import CandidateResult
    from core.data.table import StudioTable
    from core.engine.device import DeviceInfo
    from core.engine.generation import GeneratedSample
    from core.engine.multi_table import RelatedRequest
    from core.engine.training import FitProgress, TrainingRequest
    from core.evaluation import EvaluationResult
    from core.privacy_sweep import SweepResult
    from core.store.registry import ModelRecord

__all__ = ["StatusReporter", "run_compare_job", "run_evaluation_job", "run_related_job",
           "run_sample_job", "run_sweep_job", "run_training_job"]

_LOG = logging.getLogger("studio.worker")
_FAILED_TRAINING = ("Training failed unexpectedly; the server's log has details. "
                    "Try another synthesizer or the Quick preset.")
_FAILED_COMPARE = "The comparison failed unexpectedly; the server's log has details."
_FAILED_SWEEP = "The what-if sweep failed unexpectedly; the server's log has details."
_FAILED_SAMPLE = "Generating rows failed unexpectedly; the server's log has details."
_FAILED_EVALUATION = "The evaluation failed unexpectedly; the server's log has details."
_FAILED_RELATED = ("Training the related tables failed unexpectedly; the server's log has "
                   "details. Try the other synthesizer or the Quick preset.")
#: Kinds whose progress is the ``progress`` field (a fit's is its epochs).
_STEPPED_KINDS = ("compare", "sweep", "sample", "evaluate", "related")


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

    def begin_work(self, stage: str | None = None) -> None:
        """The job's own work starts now: measure the startup, reset the work clock."""
        self._started = time.monotonic()
        changes: dict[str, Any] = {"elapsed": 0.0}
        if stage is not None:
            changes["stage"] = stage
        if self.status.kind == "train":  # the fit's own estimate from here on
            changes["eta_seconds"] = self.status.estimate_seconds
        if self.status.launched_at and self.status.startup_seconds is None:
            changes["startup_seconds"] = max(time.time() - self.status.launched_at, 0.0)
        self.update(**changes)

    def on_fit(self, progress: FitProgress) -> None:
        """Listener for :func:`core.engine.training.run_training`."""
        changes: dict[str, Any] = {
            "stage": progress.stage, "epoch": progress.epoch,
            "total_epochs": progress.total_epochs,
            "losses": {name: list(values) for name, values in progress.losses.items()},
            "elapsed": progress.elapsed, "device": progress.device}
        if progress.total_epochs:  # else the heartbeat keeps the estimate's countdown
            changes["eta_seconds"] = progress.eta_seconds
        self.update(**changes)

    def progress_callback(self, budget: float | None) -> Callable[[float, str], None]:
        """A ``progress(fraction, message)`` callback; a comparison has ``budget`` s."""
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
        """Keep elapsed (and a fit's ETA) moving while a model without epochs reports nothing.

        The ETA of a fit without epochs counts its estimate down and becomes None (unknown)
        once the fit has taken longer than estimated, instead of showing "1 s" for minutes.
        """
        self._started = time.monotonic()

        def beat() -> None:
            while not self._finished.wait(interval):
                with self._lock:
                    status = self.status
                    if status.state != "running":
                        return
                    status.elapsed = time.monotonic() - self._started
                    if not status.total_epochs and status.estimate_seconds:
                        left = status.estimate_seconds - status.elapsed
                        status.eta_seconds = left if left > 0 else None
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
            if status.launched_at:
                status.wall_seconds = max(time.time() - status.launched_at, 0.0)
            if status.kind in _STEPPED_KINDS:
                status.progress = 1.0 if state == "done" else status.progress
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
    reporter.begin_work()
    reporter.start_heartbeat()

    def fit() -> ModelRecord:
        return run_training(request, frame, listener=reporter.on_fit,
                            should_cancel=should_cancel, registry=registry, device=device)

    return _run_fit(reporter, fit, "Training was cancelled.", _FAILED_TRAINING, "Training")


def run_related_job(
    reporter: StatusReporter,
    request: RelatedRequest,
    frames: dict[str, pd.DataFrame],
    device: DeviceInfo,
    should_cancel: Callable[[], bool] | None = None,
    registry: ModelRegistry | None = None,
) -> ModelRecord | None:
    """Fit a related-tables model (:func:`core.engine.multi_table.run_related_training`).

    Progress is per table and step; cancel and the time limit as for fits.

    Returns:
        The model's record if the job is done, else None (the reporter says why).
    """
    from core.engine.multi_table import run_related_training

    reporter.begin_work()

    def fit() -> ModelRecord:
        return run_related_training(request, frames, registry=registry,
                                    progress=reporter.progress_callback(None),
                                    should_cancel=should_cancel, device=device)

    return _run_fit(reporter, fit, "Training the related tables was cancelled.",
                    _FAILED_RELATED, "Related training")


def _run_fit(reporter: StatusReporter, fit: Callable[[], ModelRecord], cancelled_message: str,
             failed_message: str, what: str) -> ModelRecord | None:
    """Run a fit and report how it ended (done with the model's id and fit time).

    Returns the record if the job is done, else None: a cancel ends it as "cancelled"
    with ``cancelled_message``, a ``StudioError`` is shown as it is, anything else as
    ``failed_message`` with the traceback in the server's log.
    """
    try:
        record = fit()
    except TrainingCancelled:
        reporter.finish("cancelled", cancelled_message)
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("%s failed", what)
        reporter.finish("failed", failed_message)
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
    reporter.begin_work()
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


def run_sweep_job(
    reporter: StatusReporter,
    table: StudioTable,
    spec: dict[str, Any],
    device: DeviceInfo,
    registry: ModelRegistry | None = None,
    deliver: Callable[[SweepResult], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> SweepResult | None:
    """Run a what-if sweep described by ``spec`` (:func:`core.jobs.specs.sweep_spec`).

    Args:
        reporter: Where progress ("Training ε = 3 (2 of 4)…") and the outcome go.
        table: The table to sweep on.
        spec: The sweep's settings.
        device: Where the models train.
        registry: Where models are stored and looked up (default: the configured registry).
        deliver: Called with the result before the job is marked done, so whoever sees
            "done" finds it (the local worker writes ``result.json`` here).
        should_cancel: Polled between points and at each epoch (a Ray task's cancel flag).

    Returns:
        The result if the sweep finished, else None (the reporter says why).
    """
    reporter.begin_work()
    try:
        result = run_sweep(table, [None if e is None else float(e) for e in spec["epsilons"]],
                           seed=spec["seed"], fit_seconds=spec.get("fit_seconds") or FIT_SECONDS,
                           delta=spec.get("delta"), epochs=spec.get("epochs"),
                           device=spec["device"],
                           split=SplitSpec(**spec["split"]), registry=registry,
                           resolved_device=device, progress=reporter.progress_callback(None),
                           should_cancel=should_cancel)
        if deliver is not None:
            deliver(result)
    except TrainingCancelled:
        reporter.finish("cancelled", "The what-if sweep was cancelled.")
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Sweep failed")
        reporter.finish("failed", _FAILED_SWEEP)
    else:
        reporter.finish("done")
        return result
    return None


def run_sample_job(
    reporter: StatusReporter,
    inputs: dict[str, Any],
    registry: ModelRegistry | None = None,
    deliver: Callable[[GeneratedSample], None] | None = None,
) -> GeneratedSample | None:
    """Load a model and generate rows from it (:func:`core.workflow.sample_model`).

    A related model (``record.shape == "related"``) generates its tables instead
    (:func:`core.related_workflow.sample_related_model`, inputs
    :func:`core.jobs.specs.related_sample_inputs`): the result is ``{table: rows}``.

    Args:
        reporter: Where progress and the outcome go.
        inputs: :func:`core.jobs.specs.sample_inputs`.
        registry: Where the model is (default: the configured registry; its signature is
            checked before it is loaded).
        deliver: Called with the rows before the job is marked done (the local worker
            writes ``result.pkl`` here).

    Returns:
        The rows if the job is done, else None (the reporter says why).
    """
    record: ModelRecord = inputs["record"]
    reporter.begin_work("Loading the model")
    if record.shape == "related":  # several tables: {name: rows}, keys intact
        from core.related_workflow import sample_related_model

        def related_work() -> dict[str, pd.DataFrame]:
            return sample_related_model(registry or ModelRegistry(), record,
                                        scale=inputs["scale"], seed=inputs["seed"],
                                        progress=reporter.progress_callback(None))

        return _run_to_result(reporter, record, related_work, "Saving the tables", deliver,
                              _FAILED_SAMPLE, "Sampling")

    def work() -> GeneratedSample:
        synthesizer = load_synthesizer(registry or ModelRegistry(), record.model_id)
        return sample_model(synthesizer, record, inputs["rows"], seed=inputs["seed"],
                            real_example=inputs["real_example"],
                            fixed_values=inputs["fixed_values"],
                            rebalance_column=inputs["rebalance_column"],
                            class_shares=inputs["class_shares"],
                            progress=reporter.progress_callback(None))

    return _run_to_result(reporter, record, work, "Saving the rows", deliver,
                          _FAILED_SAMPLE, "Sampling")


def run_evaluation_job(
    reporter: StatusReporter,
    inputs: dict[str, Any],
    deliver: Callable[[EvaluationResult], None] | None = None,
) -> EvaluationResult | None:
    """Evaluate rows against the real split (:func:`core.workflow.evaluate_sample`).

    A related model's tables get the multi-table evaluation
    (:func:`core.related_workflow.evaluate_related_sample`, inputs
    :func:`core.jobs.specs.related_evaluation_inputs`): the result is its
    :class:`~core.evaluation.multi_table.RelatedEvaluation`.

    Args:
        reporter: Where progress and the outcome go.
        inputs: :func:`core.jobs.specs.evaluation_inputs`.
        deliver: Called with the result before the job is marked done.

    Returns:
        The evaluation if the job is done, else None (the reporter says why).
    """
    record: ModelRecord = inputs["record"]
    reporter.begin_work("Evaluating")
    if record.shape == "related":  # the multi-table evaluation of several tables
        from core.related_workflow import evaluate_related_sample, related_request_of

        def related_work() -> Any:
            return evaluate_related_sample(related_request_of(record), inputs["frames"],
                                           inputs["tables"], seed=inputs["seed"],
                                           progress=reporter.progress_callback(None))

        return _run_to_result(reporter, record, related_work, "Saving the result", deliver,
                              _FAILED_EVALUATION, "Evaluation")

    def work() -> EvaluationResult:
        return evaluate_sample(record, inputs["sample"], inputs["real_train"],
                               inputs["holdout"], seed=inputs["seed"],
                               progress=reporter.progress_callback(None),
                               sensitive_columns=inputs.get("sensitive_columns"))

    return _run_to_result(reporter, record, work, "Saving the result", deliver,
                          _FAILED_EVALUATION, "Evaluation")


def _run_to_result(reporter: StatusReporter, record: ModelRecord, work: Callable[[], Any],
                   saving_stage: str, deliver: Callable[[Any], None] | None,
                   failed_message: str, what: str) -> Any:
    """Run a sample's or evaluation's ``work`` and report how it ended.

    Returns the result if the job is done, else None: a ``StudioError`` is shown as it
    is, anything else as ``failed_message`` with the traceback in the server's log.
    """
    try:
        result = work()
        reporter.update(stage=saving_stage)
        if deliver is not None:
            deliver(result)
    except StudioError as error:
        reporter.finish("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("%s failed", what)
        reporter.finish("failed", failed_message)
    else:
        reporter.finish("done", model_id=record.model_id)
        return result
    return None
