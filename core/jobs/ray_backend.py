"""The Ray backend of the job runner, on the app's side: jobs run on a Ray cluster.

Each job is one Ray task (:func:`core.jobs.ray_task.run_job`) that asks for a GPU
(``num_gpus=1``) when the user chose ``auto``/``cuda`` and the cluster has GPUs, else for
CPUs only (``num_cpus``: 4 by default, never more than the largest node has). Ray reuses a
finished task's worker process, so the next job starts with torch and SDV already
imported (the Ray counterpart of the local warm standby worker).

* **Progress** — the task posts its :class:`~core.jobs.status.JobStatus` to the app's
  status board (:class:`core.jobs.ray_task.JobBoard`). A monitor thread in the app reads
  the board about four times a second; :meth:`RayJobRunner.status` returns the last copy
  without waiting on the cluster.
* **Queue** — the cluster schedules: a job waits (state "queued", stage "Waiting for the
  cluster: …") until Ray has the resources it asked for; this app keeps no queue of its
  own for Ray, and :attr:`JobStatus.queue_position` stays None.
* **Cancel** — the app raises the job's flag on the board; the task polls it and the fit
  stops at the end of the epoch (the same ``should_cancel`` the local worker uses). A job
  still waiting for resources, a comparison, a sample and an evaluation are interrupted
  with ``ray.cancel``; a fit that has not stopped within 3 s is ended with
  ``ray.cancel(force=True)``.
* **Samples and evaluations** — the app sends the model's verified bytes (or the rows to
  evaluate) with the task; the result comes back as the task's return value and
  :meth:`RayJobRunner.result` hands it over once.
* **Models** — the training frame travels as a Ray object (nodes need not share the app's
  disk, and no job folder is written: the frame lives in the object store only while the
  task holds it). The task returns each model's bytes and record; the app stores them
  with :meth:`core.store.registry.ModelRegistry.add`, which signs them.

Connecting (:mod:`core.jobs.ray_connect`) never hangs;
:func:`core.jobs.backend.make_job_runner` falls back to the local runner, with a warning,
when it fails.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.training import TrainingRequest
from core.errors import ParameterError, StudioError
from core.jobs.local import DEFAULT_STARTUP_SECONDS, WARM_START_SECONDS
from core.jobs.ray_connect import DEFAULT_RAY_CONNECT_TIMEOUT, RayUnavailableError, connect
from core.jobs.specs import (
    compare_spec,
    evaluation_inputs,
    related_evaluation_inputs,
    related_sample_inputs,
    sample_inputs,
    sweep_spec,
)
from core.jobs.status import STAGE_CLUSTER, JobStatus, cancelled_message
from core.store.registry import ModelRecord, ModelRegistry
from core.store.settings import Settings, get_settings

if TYPE_CHECKING:
    from core.data.related import RelatedTables
    from core.engine.generation import GeneratedSample

__all__ = ["DEFAULT_CPUS_PER_JOB", "RayJobRunner", "plan_resources"]

_LOG = logging.getLogger("studio.ray")

#: CPUs a job asks for unless ``STUDIO_RAY_CPUS_PER_JOB`` says otherwise.
DEFAULT_CPUS_PER_JOB = 4
_CANCEL_GRACE_SECONDS = 3.0
_POLL_SECONDS = 0.25
_DESCRIBE_TTL_SECONDS = 5.0
#: How long the app waits for the cluster when a job starts.
_ANSWER_SECONDS = 5.0
#: A cluster silent this long has its running jobs marked failed.
_SILENT_LIMIT_SECONDS = 60.0
_GPU_CHOICES = ("cuda", "mps")
#: Kinds whose result is an object handed over once by :meth:`RayJobRunner.result`.
_OBJECT_KINDS = ("sample", "evaluate")

_runners_lock = threading.Lock()
#: One runner per (address, data directory) in this process, so jobs outlive a new runner.
_runners: dict[tuple[str, str], RayJobRunner] = {}


# --------------------------------------------------------------------------- resources


def plan_resources(preference: str, cluster: dict[str, float], nodes: Sequence[dict[str, float]],
                   cpus_per_job: int | None = None, address: str = "the Ray cluster"
                   ) -> dict[str, float]:
    """The resources a job asks Ray for.

    Args:
        preference: The user's device choice ("auto", "cpu", "cuda", "mps").
        cluster: ``ray.cluster_resources()``.
        nodes: The resources of each live node (to ask for no more CPUs than one has).
        cpus_per_job: CPUs to ask for (default :data:`DEFAULT_CPUS_PER_JOB`).
        address: For the error message.

    Returns:
        ``{"num_cpus": n, "num_gpus": 1 or 0}``: a GPU when the user chose a GPU or
        ``auto`` and the cluster has one.

    Raises:
        ParameterError: A GPU was asked for and the cluster has none.
    """
    has_gpu = float(cluster.get("GPU", 0.0)) >= 1.0
    if preference in _GPU_CHOICES and not has_gpu:
        raise ParameterError(
            f"You asked for '{preference}' but {address} has no GPUs. Choose 'auto' or 'cpu'.")
    use_gpu = has_gpu and preference in ("auto", *_GPU_CHOICES)
    eligible = [node for node in nodes if not use_gpu or node.get("GPU", 0.0) >= 1.0]
    largest = max((node.get("CPU", 0.0) for node in eligible), default=0.0)
    if largest <= 0:
        largest = float(cluster.get("CPU", 1.0)) or 1.0
    wanted = cpus_per_job or DEFAULT_CPUS_PER_JOB
    return {"num_cpus": float(max(min(wanted, int(largest)), 1)),
            "num_gpus": 1.0 if use_gpu else 0.0}


# --------------------------------------------------------------------------- the tasks
# Imported when first needed: the cluster side pulls in the whole job code.


@functools.cache
def _remote_job() -> Any:
    import ray

    from core.jobs.ray_task import run_job

    return ray.remote(max_retries=0)(run_job)


@functools.cache
def _remote_warm_up() -> Any:
    import ray

    from core.jobs.ray_task import warm_up

    return ray.remote(num_cpus=1, max_retries=0)(warm_up)


@functools.cache
def _remote_board() -> Any:
    import ray

    from core.jobs.ray_task import JobBoard

    return ray.remote(num_cpus=0, max_restarts=0)(JobBoard)


# --------------------------------------------------------------------------- the runner


@dataclass
class _RayJob:
    """The app's side of one job."""

    job_id: str
    kind: str
    ref: Any
    status: JobStatus
    cancel_at: float | None = None
    result: Any = None


class RayJobRunner:
    """Runs each job as a Ray task on a cluster; models come back to this app's registry.

    Use :meth:`connect` (or :func:`core.jobs.backend.make_job_runner`) to create one.

    Attributes:
        address: The cluster address.
        registry: Where finished models are stored (and signed).
        cpus_per_job: CPUs a job asks for (None: :data:`DEFAULT_CPUS_PER_JOB`).
        cancel_grace: Seconds a cancelled fit has to stop before its task is killed.
        answer_timeout: Seconds a job start waits for a silent cluster (5).
        warning: Always None (a runner that could not connect is never created).
    """

    def __init__(self, address: str, settings: Settings | None = None,
                 registry: ModelRegistry | None = None, cpus_per_job: int | None = None,
                 cancel_grace: float = _CANCEL_GRACE_SECONDS) -> None:
        self.address = address
        self.registry = registry or ModelRegistry(settings)
        self.cpus_per_job = cpus_per_job
        self.cancel_grace = cancel_grace
        self.answer_timeout = _ANSWER_SECONDS
        self.warning: str | None = None
        self._jobs: dict[str, _RayJob] = {}
        self._lock = threading.RLock()
        self._board: Any = None
        self._board_ref: Any = None
        self._monitor: threading.Thread | None = None
        self._board_asked_at = 0.0
        self._resources: dict[str, float] = {}
        self._nodes: list[dict[str, float]] = []
        self._seen_at: float | None = None
        self._asked_at = 0.0
        self._read_error: str | None = None
        self._refresher: threading.Thread | None = None
        self._warm_up_ref: Any = None

    @classmethod
    def connect(cls, address: str, settings: Settings | None = None,
                timeout: float = DEFAULT_RAY_CONNECT_TIMEOUT,
                cpus_per_job: int | None = None) -> RayJobRunner:
        """Connect to the cluster (within ``timeout`` s) and return a runner for it.

        Raises:
            RayUnavailableError: The cluster could not be reached in time.
        """
        started = time.monotonic()
        connect(address, timeout)
        key = (address, str((settings or get_settings()).data_dir))
        with _runners_lock:
            runner = _runners.get(key)
            if runner is not None:  # e.g. Streamlit's cache was cleared: keep its jobs
                runner.cpus_per_job = cpus_per_job
                return runner
        runner = cls(address, settings, cpus_per_job=cpus_per_job)
        if not runner.refresh(timeout=max(timeout - (time.monotonic() - started), 1.0)):
            raise RayUnavailableError("connected, but the cluster does not list its nodes")
        runner.board()  # created in the background, ready before the first job
        runner.prepare_standby()
        with _runners_lock:
            return _runners.setdefault(key, runner)

    def prepare_standby(self) -> None:
        """Have a cluster worker import torch and SDV now, so the first job starts warm.

        Ray keeps a finished task's worker process for the next task (the counterpart of
        the local runner's standby worker). ``STUDIO_STANDBY_WORKERS=0`` turns this off.
        """
        if os.environ.get("STUDIO_STANDBY_WORKERS", "1") == "0":
            return
        try:
            self._warm_up_ref = _remote_warm_up().remote()
        except Exception:  # noqa: BLE001 - an optimisation only
            _LOG.debug("Could not warm up a Ray worker", exc_info=True)

    def startup_seconds_estimate(self) -> float:
        """Seconds a job's task would spend importing the libraries before its work.

        Near 0 once the warm-up task has finished (Ray reuses that worker), else a cold
        start. Waiting for the cluster's resources is not included: the job's stage says
        "Waiting for the cluster" while it waits.
        """
        import ray

        ref = self._warm_up_ref
        if ref is None:
            return DEFAULT_STARTUP_SECONDS
        try:
            ready, _ = ray.wait([ref], timeout=0)
        except Exception:  # noqa: BLE001 - an estimate only
            return DEFAULT_STARTUP_SECONDS
        return WARM_START_SECONDS if ready else DEFAULT_STARTUP_SECONDS

    def board(self) -> Any:
        """This app's status board actor (created on first use, again if it died)."""
        with self._lock:
            if self._board is None:
                self._board = _remote_board().remote()
            return self._board

    # ----------------------------------------------------------------- the cluster

    def refresh(self, timeout: float = _ANSWER_SECONDS) -> bool:
        """Read the cluster's live nodes and resources, waiting at most ``timeout`` s.

        Returns:
            True if the cluster answered in time (``timeout=0`` only starts a reading).
        """
        with self._lock:
            reader = self._refresher
            if reader is None or not reader.is_alive():
                before = self._seen_at
                reader = threading.Thread(target=self._read_cluster, daemon=True,
                                          name="studio-ray-cluster")
                self._refresher, self._asked_at = reader, time.monotonic()
                reader.start()
            else:
                before = None  # a reading already under way: any answer counts
        reader.join(timeout)
        with self._lock:
            return not reader.is_alive() and self._seen_at is not None and (
                before is None or self._seen_at != before)

    def _read_cluster(self) -> None:
        import ray

        try:
            nodes = _live_nodes()
            resources = {key: float(value) for key, value in ray.cluster_resources().items()}
        except Exception as error:  # noqa: BLE001 - "not answering" is shown instead
            _LOG.debug("Reading the Ray cluster failed", exc_info=True)
            with self._lock:
                self._read_error = type(error).__name__
            return
        with self._lock:
            self._nodes, self._resources = nodes, resources
            self._seen_at, self._read_error = time.monotonic(), None

    def describe(self) -> str:
        """"Ray cluster at <address> · N nodes · G GPUs", at most ~5 s old.

        Never waits on the cluster: a stale description starts a reading in the
        background, and a cluster that has not answered for 15 s is described so.
        """
        with self._lock:
            age = None if self._seen_at is None else time.monotonic() - self._seen_at
        if age is None or age > _DESCRIBE_TTL_SECONDS:
            self.refresh(timeout=0)
        with self._lock:
            reading = self._refresher is not None and self._refresher.is_alive()
            waited = time.monotonic() - self._asked_at if reading else 0.0
            if waited > 3 * _DESCRIBE_TTL_SECONDS:
                return f"Ray cluster at {self.address} · not answering for {waited:.0f} s"
            if self._read_error is not None:
                return f"Ray cluster at {self.address} · not answering ({self._read_error})"
            if self._seen_at is None:
                return f"Ray cluster at {self.address} (waiting for its first answer)"
            nodes = len(self._nodes)
            gpus = int(self._resources.get("GPU", 0.0))
        return (f"Ray cluster at {self.address} · {nodes} node{'s' if nodes != 1 else ''} · "
                f"{gpus} GPU{'s' if gpus != 1 else ''}")

    # ----------------------------------------------------------------- starting

    def task_options(self, preference: str) -> dict[str, Any]:
        """The Ray resources of a job for the device choice ``preference``.

        Uses what the cluster said in the last 5 s, or asks it (waiting at most 5 s).

        Raises:
            ParameterError: A GPU was asked for and the cluster has none.
            RayUnavailableError: The cluster does not answer.
        """
        with self._lock:
            fresh = (self._seen_at is not None
                     and time.monotonic() - self._seen_at <= _DESCRIBE_TTL_SECONDS)
        if not fresh and not self.refresh(self.answer_timeout):
            raise RayUnavailableError(
                f"The Ray cluster at {self.address} is not answering, so the job was not "
                "started. Check the cluster, or restart the app without RAY_ADDRESS to run "
                "jobs on this machine.")
        with self._lock:
            resources, nodes = dict(self._resources), list(self._nodes)
        return plan_resources(preference, resources, nodes, self.cpus_per_job,
                              f"the Ray cluster at {self.address}")

    def _launch(self, kind: str, options: dict[str, Any], status: JobStatus, payload: Any,
                frame: pd.DataFrame | dict[str, pd.DataFrame] | None) -> Any:
        """Submit the job's task; returns its result reference."""
        import ray

        return _remote_job().options(name=f"studio-{kind}-{status.job_id}", **options).remote(
            kind, asdict(status), payload, ray.put(frame), self.board(),
            int(options["num_cpus"]), options["num_gpus"] > 0)

    def _submit(self, kind: str, preference: str, status: JobStatus, payload: Any,
                frame: pd.DataFrame | dict[str, pd.DataFrame] | None) -> str:
        options = self.task_options(preference)
        cpus = int(options["num_cpus"])
        gpu = " and a GPU" if options["num_gpus"] > 0 else ""
        status.stage = (f"{STAGE_CLUSTER}: a Ray worker with {cpus} "
                        f"CPU{'s' if cpus != 1 else ''}{gpu}")
        status.submitted_at = time.time()
        ref = self._launch(kind, options, status, payload, frame)
        with self._lock:
            self._jobs[status.job_id] = _RayJob(job_id=status.job_id, kind=kind, ref=ref,
                                                status=status)
        self._ensure_monitor()
        return status.job_id

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Submit a fit; returns the job id at once (the model is stored in ``workspace``).

        Raises:
            ParameterError: A GPU was asked for and the cluster has none.
        """
        status = JobStatus(job_id=uuid.uuid4().hex[:16], synthesizer=request.synthesizer,
                           data_fingerprint=request.data_fingerprint,
                           estimate_seconds=estimate_seconds, workspace=workspace)
        return self._submit("train", request.device, status, request.to_json(), frame)

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None, workspace: str = "") -> str:
        """Submit a comparison; its models land in this app's registry, in ``workspace``."""
        spec = compare_spec(table, candidates, budget, seed, device, split)
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="compare",
                           synthesizer="compare", data_fingerprint=table.fingerprint,
                           estimate_seconds=budget, workspace=workspace)
        return self._submit("compare", device, status, spec, table.frame)

    def start_sweep(self, table: StudioTable, epsilons: Sequence[float | None], seed: int = 0,
                    device: str = "auto", split: SplitSpec | None = None,
                    fit_seconds: int | None = None, delta: float | None = None,
                    epochs: int | None = None, workspace: str = "") -> str:
        """Submit a what-if sweep; its new models land in this app's registry (``workspace``).

        The models of its points already stored here travel with the task (verified here),
        so the same sweep run again reuses them on the cluster instead of training again.
        """
        from core.privacy_sweep import FIT_SECONDS, plan_sweep
        from core.workflow import find_trained

        spec = sweep_spec(table, epsilons, seed, device, split, fit_seconds, delta, epochs)
        registry = self.registry.for_workspace(workspace or None)
        stored = []
        for request in plan_sweep(table, epsilons, seed=seed, device=device, split=split,
                                  fit_seconds=fit_seconds or FIT_SECONDS, delta=delta,
                                  epochs=epochs):
            record = find_trained(registry, request)
            if record is not None:
                stored.append((record.to_json(), registry.verified_model_bytes(record.model_id)))
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="sweep",
                           synthesizer="tabular_argn", data_fingerprint=table.fingerprint,
                           workspace=workspace)
        return self._submit("sweep", device, status, {"spec": spec, "stored": stored},
                            table.frame)

    def start_related(self, related: RelatedTables, synthesizer: str, preset: str = "balanced",
                      seed: int = 0, device: str = "auto", test_size: float = 0.3,
                      overrides: Mapping[str, Any] | None = None,
                      estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Submit fitting a related-tables model; it lands in this app's registry.

        The tables travel as one Ray object; cancel raises the job's flag, polled between
        the fit's steps, as for fits.

        Raises:
            ParameterError: Unknown synthesizer, preset or setting, or a GPU the cluster
                does not have.
            MetadataError: The synthesizer cannot model the schema.
        """
        from core.engine.multi_table import plan_related_request

        request = plan_related_request(related, synthesizer, preset, seed=seed, device=device,
                                       test_size=test_size, overrides=overrides)
        frames = {table.name: table.frame for table in related.tables}
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="related",
                           synthesizer=request.synthesizer,
                           data_fingerprint=request.data_fingerprint,
                           estimate_seconds=estimate_seconds, workspace=workspace)
        return self._submit("related", request.device, status, request.to_json(), frames)

    def start_sample(self, record: ModelRecord, rows: int | None = None, seed: int = 0,
                     real_example: pd.DataFrame | None = None,
                     fixed_values: Mapping[str, Any] | None = None,
                     rebalance_column: str | None = None,
                     class_shares: Mapping[str, float] | None = None,
                     workspace: str = "") -> str:
        """Submit generating rows from a stored model; :meth:`result` hands them over.

        The model's bytes are verified here and travel with the task (nothing is signed
        or stored on the node).
        """
        model_bytes = self.registry.for_workspace(workspace or None).verified_model_bytes(
            record.model_id)
        payload = {**sample_inputs(record, rows, seed, real_example, fixed_values,
                                   rebalance_column, class_shares),
                   "model_bytes": model_bytes}
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="sample",
                           synthesizer=record.synthesizer,
                           data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit("sample", "cpu", status, payload, None)

    def start_evaluation(self, record: ModelRecord, sample: GeneratedSample,
                         real_train: pd.DataFrame, holdout: pd.DataFrame, seed: int = 0,
                         workspace: str = "") -> str:
        """Submit evaluating rows against the real split; :meth:`result` hands it over."""
        payload = evaluation_inputs(record, sample, real_train, holdout, seed)
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="evaluate",
                           synthesizer=record.synthesizer,
                           data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit("evaluate", "cpu", status, payload, None)

    def start_related_sample(self, record: ModelRecord, scale: float = 1.0, seed: int = 0,
                             workspace: str = "") -> str:
        """Submit generating a related model's tables; :meth:`result` hands them over.

        As :meth:`start_sample`: the model's bytes are verified here and travel with the
        task.
        """
        model_bytes = self.registry.for_workspace(workspace or None).verified_model_bytes(
            record.model_id)
        payload = {**related_sample_inputs(record, scale, seed), "model_bytes": model_bytes}
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="sample",
                           synthesizer=record.synthesizer,
                           data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit("sample", "cpu", status, payload, None)

    def start_related_evaluation(self, record: ModelRecord,
                                 synthetic: Mapping[str, pd.DataFrame],
                                 frames: Mapping[str, pd.DataFrame], seed: int = 0,
                                 workspace: str = "") -> str:
        """Submit the multi-table evaluation of a related model's tables."""
        payload = related_evaluation_inputs(record, synthetic, frames, seed)
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="evaluate",
                           synthesizer=record.synthesizer,
                           data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit("evaluate", "cpu", status, payload, None)

    # ----------------------------------------------------------------- watching

    def status(self, job_id: str) -> JobStatus:
        """The job's last known status (the monitor refreshes it ~4 times a second)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return JobStatus(job_id=job_id, state="failed",
                                 message="This training job no longer exists (Ray jobs end "
                                 "when the app that started them stops).")
            return copy.deepcopy(job.status)

    def result(self, job_id: str) -> Any:
        """What a finished job produced, or None.

        A comparison's leaderboard rows and a sweep's result dict (every call); a sample's
        :class:`~core.engine.generation.GeneratedSample` or an evaluation's
        :class:`~core.evaluation.EvaluationResult` once (later calls return None).
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            result = job.result
            if job.kind in _OBJECT_KINDS:
                job.result = None
            return result

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until the job ends (tests and the command line)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if not status.is_active or time.monotonic() > deadline:
                return status
            time.sleep(poll)

    def _active(self) -> list[_RayJob]:
        with self._lock:
            return [job for job in self._jobs.values() if job.status.is_active]

    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._watch, daemon=True,
                                                 name="studio-ray-monitor")
                self._monitor.start()

    def _watch(self) -> None:
        """Poll the active jobs until none is left."""
        while True:
            with self._lock:
                active = self._active()
                if not active:
                    self._monitor = None
                    return
            try:
                self._poll(active)
            except Exception:  # noqa: BLE001 - keep watching
                _LOG.exception("Polling the Ray jobs failed")
            time.sleep(_POLL_SECONDS)

    def _poll(self, active: list[_RayJob]) -> None:
        import ray

        ready, _ = ray.wait([job.ref for job in active], num_returns=len(active), timeout=0)
        finished = set(ready)
        for job in active:
            if job.ref in finished:
                self._finish(job)
            elif job.cancel_at is not None and (
                    time.monotonic() - job.cancel_at > self.cancel_grace):
                self._kill(job)
                self._end(job, "cancelled", _cancel_message(job))
        self._read_board()

    def _read_board(self) -> None:
        """Take the statuses the jobs posted (without waiting on the board)."""
        import ray

        if self._board_ref is not None:
            ready, _ = ray.wait([self._board_ref], timeout=0)
            if not ready:
                if time.monotonic() - self._board_asked_at > _SILENT_LIMIT_SECONDS:
                    self._abandon_all()
                return
            try:
                posted = ray.get(self._board_ref)
            except ray.exceptions.RayActorError:
                _LOG.warning("The Ray job board died; starting a new one")
                with self._lock:
                    self._board = None  # running jobs keep posting to the old one in vain
                posted = {}
            except ray.exceptions.RayError:
                _LOG.warning("The Ray job board failed; progress is not updated")
                posted = {}
            self._board_ref = None
            with self._lock:
                for job_id, fields in posted.items():
                    job = self._jobs.get(job_id)
                    fresh = JobStatus(**fields)
                    if job is not None and job.status.is_active and fresh.is_active:
                        _keep_app_times(job.status, fresh)
                        job.status = fresh
        ids = [job.job_id for job in self._active()]
        if ids:
            self._board_ref = self.board().statuses.remote(ids)
            self._board_asked_at = time.monotonic()

    def _abandon_all(self) -> None:
        """The cluster has been silent for a minute: end every active job as failed."""
        self._board_ref = None
        message = (f"The Ray cluster at {self.address} stopped answering for "
                   f"{_SILENT_LIMIT_SECONDS:.0f} s, so this job was given up. Start it again "
                   "when the cluster is back, or restart the app without RAY_ADDRESS to run "
                   "jobs on this machine.")
        for job in self._active():
            self._end(job, "failed", message)
            threading.Thread(target=self._kill, args=(job,), daemon=True).start()

    def _finish(self, job: _RayJob) -> None:
        """Collect a finished task's outcome; store its models in the app's registry."""
        import ray

        try:
            outcome = ray.get(job.ref)
        except ray.exceptions.TaskCancelledError:
            self._end(job, "cancelled", _cancel_message(job))
            return
        except ray.exceptions.RayError as error:
            if job.cancel_at is not None:
                self._end(job, "cancelled", _cancel_message(job))
            else:
                self._end(job, "failed", _died_message(job, error))
            return
        final = JobStatus(**outcome["status"])
        rows = outcome.get("rows") if job.kind in ("compare", "sweep") else outcome.get("result")
        if final.state == "done":
            try:
                registry = self.registry.for_workspace(job.status.workspace or None)
                for record_json, payload in outcome["models"]:
                    registry.add(ModelRecord.from_json(record_json), payload)
            except (OSError, ValueError, StudioError) as error:
                final.state = "failed"
                final.message = (f"The model was trained on the cluster but could not be "
                                 f"saved here: {error}. Check the data directory.")
                rows = None
        self._end(job, final.state, final.message, final, rows)

    def _end(self, job: _RayJob, state: str, message: str, final: JobStatus | None = None,
             rows: list[dict[str, Any]] | dict[str, Any] | None = None) -> None:
        with self._lock:
            if not job.status.is_active:
                return
            status = final or job.status
            _keep_app_times(job.status, status)
            status.state, status.message = state, message
            status.updated_at = time.time()
            if status.launched_at:
                status.wall_seconds = max(status.updated_at - status.launched_at, 0.0)
            if state != "done":
                status.eta_seconds = None
            job.result = rows
            job.status = status
        board = self._board
        if board is not None:
            try:
                board.forget.remote(job.job_id)
            except Exception:  # noqa: BLE001 - the board may be gone
                pass

    # ----------------------------------------------------------------- cancelling

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it ends as "cancelled" within ~3 s.

        A fit stops at the end of its current epoch (the flag the local worker polls); a
        job still waiting for resources, a comparison, or a fit that has not stopped after
        :attr:`cancel_grace` seconds is cancelled through Ray (``ray.cancel``).
        """
        import ray

        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.status.is_active:
                return
            job.cancel_at = time.monotonic()
            queued = job.status.state == "queued"
        try:
            if self._board is not None:
                self._board.cancel.remote(job_id)
            if queued or job.kind not in ("train", "related"):
                ray.cancel(job.ref)  # interrupts the task; its worker stays warm
        except Exception:  # noqa: BLE001 - the grace period ends it anyway
            _LOG.warning("Could not signal Ray job %s; it will be killed", job_id)
        if queued:
            self._end(job, "cancelled", _cancel_message(job))

    def _kill(self, job: _RayJob) -> None:
        import ray

        try:
            ray.cancel(job.ref, force=True)  # ends the worker process running it
        except Exception:  # noqa: BLE001 - it may have finished meanwhile
            _LOG.debug("Could not force-cancel %s", job.job_id, exc_info=True)

    def close(self) -> None:
        """Cancel every active job and forget this runner (the app stops, or tests end)."""
        for job in self._active():
            self._kill(job)
            self._end(job, "cancelled", _cancel_message(job))
        with _runners_lock:
            for key, runner in list(_runners.items()):
                if runner is self:
                    del _runners[key]


def _live_nodes() -> list[dict[str, float]]:
    import ray

    return [dict(node.get("Resources", {})) for node in ray.nodes() if node.get("Alive")]


def _cancel_message(job: _RayJob) -> str:
    return cancelled_message(job.kind)


def _keep_app_times(known: JobStatus, fresh: JobStatus) -> None:
    """Carry the times only the app measures (its clock) into a status the task posted.

    The job left the cluster's queue when its task first said "running".
    """
    fresh.submitted_at = known.submitted_at
    fresh.launched_at = known.launched_at
    if fresh.launched_at is None and fresh.state == "running":
        fresh.launched_at = time.time()


def _died_message(job: _RayJob, error: Exception) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    reason = lines[-1][:200] if lines else type(error).__name__
    what = {"compare": "comparison", "sweep": "what-if sweep", "sample": "sampling",
            "evaluate": "evaluation", "related": "related-tables training"}.get(job.kind,
                                                                             "training")
    return (f"The Ray worker running this {what} stopped ({reason}). The app is fine and "
            "nothing else was lost; start it again, perhaps with the Quick preset or fewer "
            "rows. If it keeps failing, check that the cluster's nodes have this app's "
            "requirements installed.")
