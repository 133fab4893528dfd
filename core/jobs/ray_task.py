"""What runs on the Ray cluster: a job's task, its in-memory registry, the status board.

Each job is one Ray task (:func:`run_job`) running the same job code as the local worker
(:mod:`core.jobs.execution`) on the device Ray gave it: a fit, a comparison, a sample or
an evaluation. It posts its
:class:`~core.jobs.status.JobStatus` to the app's status board (:class:`JobBoard`, a Ray
actor with 0 CPUs) at most five times a second and polls the board for a cancel request.
It fits into a :class:`MemoryRegistry` and returns each model's bytes and record; the app
stores and signs them (:mod:`core.jobs.ray_backend`). Nothing is written to the node's
disk, and no secret is needed there.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, replace
from typing import Any, cast

import pandas as pd

from core.comparison import leaderboard_rows
from core.engine.device import DeviceInfo, probe_device
from core.engine.training import TrainingRequest
from core.engine.warmup import import_libraries
from core.errors import ModelFileError
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
from core.jobs.specs import table_from_compare_spec
from core.jobs.status import STAGE_IMPORTING, JobStatus
from core.store.registry import ModelRecord, ModelRegistry

__all__ = ["JobBoard", "MemoryRegistry", "run_job", "warm_up"]

_LOG = logging.getLogger("studio.ray")


class MemoryRegistry:
    """The registry a cluster node fits into: records and model bytes in memory.

    It has the parts of :class:`~core.store.registry.ModelRegistry` that
    :func:`core.engine.training.run_training` and :func:`core.comparison.compare` use. Nothing is
    written to the node's disk or signed there; the app stores and signs the models.
    """

    def __init__(self) -> None:
        self.records: dict[str, ModelRecord] = {}
        self.payloads: dict[str, bytes] = {}

    def get(self, model_id: str) -> ModelRecord | None:
        """The record of a model fitted in this job, or None."""
        return self.records.get(model_id)

    def list_for_data(self, data_fingerprint: str, shape: str = "table") -> list[ModelRecord]:
        """Models of ``shape`` of this job trained on the data with this fingerprint."""
        return [r for r in self.records.values()
                if r.data_fingerprint == data_fingerprint and r.shape == shape]

    def add(self, record: ModelRecord, model_bytes: bytes) -> ModelRecord:
        """Keep a fitted model's bytes and record."""
        self.records[record.model_id] = record
        self.payloads[record.model_id] = model_bytes
        return record

    def update_scores(self, model_id: str, scores: dict[str, float]) -> ModelRecord | None:
        """Merge evaluation scores into a record."""
        record = self.records.get(model_id)
        if record is None:
            return None
        self.records[model_id] = replace(record, scores={**record.scores, **scores})
        return self.records[model_id]

    def verified_model_bytes(self, model_id: str) -> bytes:
        """The bytes of a model this process fitted itself (nothing to verify)."""
        if model_id not in self.payloads:
            raise ModelFileError(f"Model {model_id} was not fitted in this job.")
        return self.payloads[model_id]

    def models(self) -> list[tuple[str, bytes]]:
        """(record JSON, model bytes) of every model, for the app to store."""
        return [(self.records[key].to_json(), self.payloads[key]) for key in self.records]


def _node_device(use_gpu: bool, cpus: int) -> DeviceInfo:
    """The device of this job: the GPU Ray gave it, else ``cpus`` CPU threads."""
    import ray

    node = ray.util.get_node_ip_address()
    if use_gpu:
        found = probe_device()
        if found.is_gpu:
            return DeviceInfo(kind=found.kind, label=f"{found.label} on Ray node {node}",
                              cpu_threads=cpus)
    return DeviceInfo(kind="cpu", cpu_threads=cpus,
                      label=f"CPU · {cpus} core{'s' if cpus != 1 else ''} on Ray node {node}")


class JobBoard:
    """The status board of one app's jobs (a Ray actor with 0 CPUs).

    Running jobs post their :class:`~core.jobs.status.JobStatus` here; the app reads all of them
    in one call and posts cancel requests, which the jobs poll.
    """

    def __init__(self) -> None:
        self._statuses: dict[str, dict[str, Any]] = {}
        self._cancelled: set[str] = set()

    def post(self, job_id: str, status: dict[str, Any]) -> None:
        """Keep ``status`` unless a newer one is already here."""
        current = self._statuses.get(job_id)
        if current is None or status["updated_at"] >= current["updated_at"]:
            self._statuses[job_id] = status

    def statuses(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The latest status of each job that has posted one."""
        return {job_id: self._statuses[job_id] for job_id in job_ids
                if job_id in self._statuses}

    def cancel(self, job_id: str) -> None:
        """Ask ``job_id`` to stop."""
        self._cancelled.add(job_id)

    def is_cancelled(self, job_id: str) -> bool:
        """True once the app asked ``job_id`` to stop."""
        return job_id in self._cancelled

    def forget(self, job_id: str) -> None:
        """Drop a finished job."""
        self._statuses.pop(job_id, None)
        self._cancelled.discard(job_id)


class _BoardLink:
    """A job's connection to the board: throttled status posts and a cancel flag."""

    def __init__(self, board: Any, job_id: str) -> None:
        self.board, self.job_id = board, job_id
        self.cancelled = threading.Event()
        self._done = threading.Event()
        self._last = (0.0, "", "")

    def publish(self, status: JobStatus) -> None:
        """Post at most ~5 times a second, at once when the state or stage changes."""
        now = time.monotonic()
        if (now - self._last[0] < 0.2 and (status.state, status.stage) == self._last[1:]
                and status.state in ("queued", "running")):
            return
        self._last = (now, status.state, status.stage)
        status.updated_at = time.time()
        try:
            self.board.post.remote(self.job_id, asdict(status))
        except Exception:  # noqa: BLE001 - progress is best effort; the result is not
            _LOG.debug("Could not post the status of %s", self.job_id, exc_info=True)

    def watch_cancel(self, interval: float = 0.3) -> None:
        """Poll the board's cancel flag in a thread until :meth:`close`."""
        import ray

        def watch() -> None:
            while not self._done.wait(interval):
                try:
                    if ray.get(self.board.is_cancelled.remote(self.job_id), timeout=5):
                        self.cancelled.set()
                        return
                except Exception:  # noqa: BLE001 - the app kills the task after a grace
                    _LOG.debug("Could not read the cancel flag", exc_info=True)

        threading.Thread(target=watch, name="studio-cancel-watch", daemon=True).start()

    def close(self) -> None:
        """Stop watching."""
        self._done.set()


def run_job(kind: str, status: dict[str, Any], payload: Any,
            frame: pd.DataFrame | dict[str, pd.DataFrame] | None,
            board: Any, cpus: int, use_gpu: bool) -> dict[str, Any]:
    """The body of a job's Ray task: fit, compare, sweep, sample, evaluate or fit related tables.

    The job runs on this task's device (the GPU Ray gave it, else ``cpus`` CPU threads),
    handed to the job functions; a comparison's "auto" means that device too. A sample's
    payload carries the model's bytes, verified by the app; an evaluation's, the rows; a
    sweep's, the stored models of its points (reused here, not returned).

    Returns:
        ``{"status": JobStatus fields, "models": [(record JSON, model bytes), ...],
        "rows": leaderboard rows, a sweep's result dict or None, "result": a sample's rows
        or an evaluation, or None}``. Models are never stored on the node.
    """
    link = _BoardLink(board, status["job_id"])
    reporter = StatusReporter(JobStatus(**status), link.publish)
    device = _node_device(use_gpu, max(int(cpus), 1))
    registry = MemoryRegistry()
    rows, result = None, None
    link.watch_cancel()
    try:
        reporter.update(state="running", device=device.label, stage=STAGE_IMPORTING)
        if kind != "evaluate":
            import_libraries()  # at once on a worker Ray reused
        if kind == "compare":
            table = table_from_compare_spec(payload, frame)
            results = run_compare_job(reporter, table, payload, device,
                                      registry=cast(ModelRegistry, registry))
            rows = leaderboard_rows(results) if results is not None else None
        elif kind == "sweep":
            table = table_from_compare_spec(payload["spec"], frame)
            for record_json, model_bytes in payload.get("stored", []):
                registry.add(ModelRecord.from_json(record_json), model_bytes)
            preloaded = set(registry.records)
            swept = run_sweep_job(reporter, table, payload["spec"], device,
                                  registry=cast(ModelRegistry, registry),
                                  should_cancel=link.cancelled.is_set)
            rows = swept.to_dict() if swept is not None else None
            for model_id in preloaded:  # the app has these already
                registry.records.pop(model_id, None)
                registry.payloads.pop(model_id, None)
        elif kind == "sample":
            record = payload["record"]
            registry.add(record, payload["model_bytes"])
            result = run_sample_job(reporter, payload, registry=cast(ModelRegistry, registry))
            registry = MemoryRegistry()  # the model came from the app: nothing to return
        elif kind == "evaluate":
            result = run_evaluation_job(reporter, payload)
        elif kind == "related":
            from core.engine.multi_table import RelatedRequest

            run_related_job(reporter, RelatedRequest.from_json(payload), dict(frame or {}),
                            device, should_cancel=link.cancelled.is_set,
                            registry=cast(ModelRegistry, registry))
        else:
            run_training_job(reporter, TrainingRequest.from_json(payload), frame, device,
                             should_cancel=link.cancelled.is_set,
                             registry=cast(ModelRegistry, registry))
    finally:
        link.close()
    final = reporter.snapshot()
    return {"status": asdict(final), "rows": rows, "result": result,
            "models": registry.models() if final.state == "done" else []}


def warm_up() -> None:
    """Import what a job needs (the body of the warm-up task)."""
    import_libraries()
    import_evaluation_libraries()
