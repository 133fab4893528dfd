"""Jobs on this machine: one ``python -m core.jobs.worker`` process per job.

A fit never runs inside the Streamlit server: a crash, an out-of-memory kill or a cancel
cannot take the server down, and a server restart does not lose a model that is still
being fitted (the worker registers it itself). App and worker talk through the job's
folder (:mod:`core.jobs.folders`): the inputs, ``status.json`` and a ``cancel`` flag.

The folder holds a copy of the user's table, so it lives only as long as the job
(docs/ARCHITECTURE.md, "where state lives"). When the job ends — done, failed, cancelled,
or its worker killed — the runner reads the final status (and a comparison's
leaderboard) into memory and removes the folder; :meth:`LocalJobRunner.status` and
:meth:`LocalJobRunner.result` answer from memory from then on. A thread per job waits
for its worker to exit, so this happens even when no page is polling. Folders left by an
earlier server are removed when a runner is created, except those whose worker still
runs: the runner follows them and removes them when they end.

**The queue.** At most :func:`core.store.settings.max_concurrent_jobs` jobs (fits,
comparisons, samples, evaluations; ``STUDIO_MAX_JOBS``) run at once in this server
process; later ones wait in a first-come queue with their position
(:attr:`JobStatus.queue_position`) and start as slots free. A queued job has its folder
and inputs but no worker, so cancelling it is immediate: it never starts and its folder is
removed. The queue, like the jobs, is the process's (every session shares it).

**Startup.** A job leaves the queue as "Starting a worker": the warm standby worker takes
it at once, else a new process starts and imports the libraries (tens of seconds on a busy
machine). :meth:`LocalJobRunner.startup_seconds_estimate` says which, from the standby's
ready marker and the last start measured here (:func:`core.jobs.folders.read_startup`).

**Results.** A finished sample's or evaluation's result stays in its folder (only
``result.pkl``, 0600) until :meth:`LocalJobRunner.result` hands it over once, so a large
frame never lingers in the server's memory; results nobody takes are removed after an hour.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.training import TrainingRequest
from core.errors import StudioError, TrainingError
from core.jobs.folders import (
    CANCEL_FILE,
    LOG_FILE,
    OBJECT_RESULT_FILE,
    RESULT_FILE,
    STANDBY_DIR,
    create_private_dir,
    is_job_id,
    keep_only,
    open_private_log,
    read_startup,
    ready_marker,
    remove_folder,
    write_private,
)
from core.jobs.specs import (
    compare_spec,
    evaluation_inputs,
    related_evaluation_inputs,
    related_sample_inputs,
    sample_inputs,
    sweep_spec,
    write_compare_request,
    write_inputs,
    write_job_request,
    write_related_request,
    write_sweep_request,
)
from core.jobs.status import (
    STAGE_IMPORTING,
    STAGE_STARTING,
    JobStatus,
    cancelled_message,
    queue_stage,
    read_status,
    write_status,
)
from core.store.settings import (
    PROJECT_ROOT,
    Settings,
    default_max_jobs,
    get_settings,
    max_concurrent_jobs,
)

if TYPE_CHECKING:
    from core.data.related import RelatedTables
    from core.engine.generation import GeneratedSample
    from core.store.registry import ModelRecord

__all__ = ["DEFAULT_STARTUP_SECONDS", "WARM_START_SECONDS", "LocalJobRunner"]

_LOG = logging.getLogger("studio.jobs")

_CANCEL_GRACE_SECONDS = 3.0
#: How long a job whose worker has not written its pid yet is taken to be starting.
_START_GRACE_SECONDS = 30.0
#: Final statuses kept in memory after their folders are gone (pages poll them once).
_KEEP_ENDED = 256
_FOLLOW_SECONDS = 1.0
_LOG_TAIL_CHARS = 4000
_GONE = "This training job no longer exists."
_NO_RESULT = "The job ended without its result; the server's log has details. Try again."
#: Seconds a sample's or evaluation's result waits in its folder for the app to take it.
_RESULT_TTL_SECONDS = 3600.0
#: Kinds whose result is an object in ``result.pkl`` (taken once by :meth:`result`).
_OBJECT_KINDS = ("sample", "evaluate")
#: Starting a worker and importing the libraries when nothing was measured here yet. An
#: idle 2-core machine takes ~6 s; a busy one, or a cold disk cache, 30-45 s.
DEFAULT_STARTUP_SECONDS = 20.0
#: Handing a job to a warm standby worker (it reads the folder's name and starts).
WARM_START_SECONDS = 0.5
#: Set for each worker: when the app launched it (the worker measures its start from it).
_LAUNCHED_AT_ENV = "STUDIO_WORKER_LAUNCHED_AT"


@dataclass
class _Ended:
    """What is left of a job once it has ended.

    Attributes:
        status: The final status.
        result: A comparison's leaderboard rows, or a sweep's result as a dict.
        result_dir: The folder still holding a sample's or evaluation's ``result.pkl``
            (until :meth:`LocalJobRunner.result` takes it, or it expires).
        ended_at: ``time.monotonic()`` when the job was collected.
    """

    status: JobStatus
    result: list[dict[str, Any]] | dict[str, Any] | None = None
    result_dir: Path | None = None
    ended_at: float = 0.0


@dataclass
class _Waiting:
    """A job in the queue: its folder and inputs are written, no worker yet."""

    job_id: str
    runner: LocalJobRunner
    status: JobStatus


@dataclass
class _Standby:
    """The warm worker: its process, the data directory it serves, when it was started."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    spawned_at: float


def _process_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (a dead child nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _worker_alive(pid: int) -> bool:
    """True if ``pid`` is a live job worker (not another process that reused the pid)."""
    if not _process_alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid
    return b"core.jobs.worker" in command


def _counting_down(status: JobStatus) -> JobStatus:
    """While a fit's worker starts, count its ETA down from the startup estimate."""
    if (status.state == "running" and status.stage in (STAGE_STARTING, STAGE_IMPORTING)
            and status.kind == "train" and status.launched_at
            and status.startup_estimate is not None and status.estimate_seconds is not None):
        starting_left = max(status.startup_estimate - (time.time() - status.launched_at), 0.0)
        status.eta_seconds = starting_left + status.estimate_seconds
    return status


def _job_limit() -> int:
    """The configured limit; a setting made invalid while the app runs keeps the default."""
    try:
        return max_concurrent_jobs()
    except StudioError:
        return default_max_jobs()


_WHAT = {"train": "training", "compare": "comparison", "sample": "sampling",
         "evaluate": "evaluation", "sweep": "what-if sweep",
         "related": "related-tables training"}


def _died_message(exit_code: int | None, kind: str = "train") -> str:
    if exit_code is not None and exit_code < 0:
        how = f"was stopped by signal {-exit_code}"
        if -exit_code == signal.SIGKILL:
            how += " (killed, often because memory ran out)"
    else:
        how = "stopped unexpectedly" + (f" (exit code {exit_code})"
                                         if exit_code is not None else "")
    what = _WHAT.get(kind, "training")
    advice = ("perhaps with the Quick preset or fewer rows"
              if kind in ("train", "compare", "related")
              else "perhaps with fewer rows or fewer values of ε" if kind == "sweep"
              else "perhaps with fewer rows")
    return (f"The {what} process {how}. The app is fine and nothing else was lost; "
            f"start the {what} again, {advice}.")


class LocalJobRunner:
    """Runs each job in its own ``python -m core.jobs.worker`` process on this machine.

    The jobs are the process's, not the instance's: Streamlit builds a new runner when
    its cache is cleared, and the new one still answers for the jobs the old one started.

    Attributes:
        settings: Where the job folders are (``settings.jobs_dir``).
        warning: Why jobs do not run where the configuration asked, or None.
    """

    _processes: dict[str, subprocess.Popen[bytes]] = {}
    #: Jobs this process started or follows; a sweep never touches their folders.
    _owned: set[str] = set()
    _cancelled: set[str] = set()
    _ended: OrderedDict[str, _Ended] = OrderedDict()
    #: Jobs waiting for a slot, first come first served.
    _queue: list[_Waiting] = []
    #: Jobs holding a slot: launched (or followed with a live worker), not yet collected.
    _slots: set[str] = set()
    #: The warm worker (its STUDIO_DATA_DIR is the data directory it was started for).
    _standby: _Standby | None = None
    _lock = threading.RLock()

    def __init__(self, settings: Settings | None = None, warning: str | None = None) -> None:
        """Use ``settings`` (default: the configured ones) and sweep stale job folders.

        Raises:
            ConfigurationError: ``STUDIO_MAX_JOBS`` (or ``max_jobs``) is not a whole
                number of at least 1.
        """
        self.settings = settings or get_settings()
        self.warning = warning
        max_concurrent_jobs()  # a wrong setting fails when the app starts, not later
        self.sweep()

    @property
    def max_jobs(self) -> int:
        """How many jobs run at once in this server process (the rest wait in the queue)."""
        return _job_limit()

    def startup_seconds_estimate(self) -> float:
        """Seconds a job started now would spend starting a worker and importing libraries.

        :data:`WARM_START_SECONDS` when the standby worker has its libraries imported; the
        rest of a cold start when it is still importing; a whole cold start when there is
        none (the last one measured on this machine, else :data:`DEFAULT_STARTUP_SECONDS`).
        Waiting in the queue is not included (see :attr:`JobStatus.queue_position`).
        """
        cold = read_startup(self.settings.jobs_dir)
        cold = DEFAULT_STARTUP_SECONDS if cold is None else max(cold, WARM_START_SECONDS)
        if os.environ.get("STUDIO_STANDBY_WORKERS", "1") == "0":
            return cold
        with self._lock:
            standby = LocalJobRunner._standby
        if (standby is None or standby.data_dir != self.settings.data_dir
                or standby.process.poll() is not None):
            return cold
        if ready_marker(self.settings.jobs_dir, standby.process.pid).exists():
            return WARM_START_SECONDS
        return max(cold - (time.monotonic() - standby.spawned_at), WARM_START_SECONDS)

    def job_dir(self, job_id: str) -> Path:
        """The directory of ``job_id``."""
        if not is_job_id(job_id):
            raise TrainingError(f"'{job_id}' is not a valid job id.")
        return self.settings.jobs_dir / job_id

    def describe(self) -> str:
        """Jobs run in worker processes on this machine."""
        return "this machine"

    # ----------------------------------------------------------------- starting

    def _new_status(self, **fields: Any) -> JobStatus:
        return JobStatus(job_id=uuid.uuid4().hex[:16], submitted_at=time.time(),
                         server_pid=os.getpid(), **fields)

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Write the inputs and queue the fit; returns at once.

        The worker stores the model in ``workspace`` ("" for the command line's).
        ``estimate_seconds`` is the fit's own estimate; the status adds the worker's start
        (``startup_estimate``) when the job leaves the queue.
        """
        status = self._new_status(synthesizer=request.synthesizer,
                                  data_fingerprint=request.data_fingerprint,
                                  estimate_seconds=estimate_seconds, workspace=workspace)
        return self._submit(status, lambda job_dir: write_job_request(job_dir, request, frame))

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None, workspace: str = "") -> str:
        """Queue a comparison (train, sample and evaluate each candidate) for a worker.

        The worker writes the leaderboard (:func:`core.comparison.leaderboard_rows`) before
        it says "done"; :meth:`result` returns it. Models go to ``workspace``.
        """
        spec = compare_spec(table, candidates, budget, seed, device, split)
        status = self._new_status(kind="compare", synthesizer="compare",
                                  data_fingerprint=table.fingerprint, estimate_seconds=budget,
                                  workspace=workspace)
        return self._submit(status,
                            lambda job_dir: write_compare_request(job_dir, spec, table.frame))

    def start_sweep(self, table: StudioTable, epsilons: Sequence[float | None], seed: int = 0,
                    device: str = "auto", split: SplitSpec | None = None,
                    fit_seconds: int | None = None, delta: float | None = None,
                    epochs: int | None = None, workspace: str = "") -> str:
        """Queue a privacy-budget what-if sweep (:func:`core.privacy_sweep.run_sweep`).

        The worker writes the result (:meth:`core.privacy_sweep.SweepResult.to_dict`) before
        it says "done"; :meth:`result` returns it. Models go to ``workspace``, where the
        same sweep run again finds and reuses them.
        """
        spec = sweep_spec(table, epsilons, seed, device, split, fit_seconds, delta, epochs)
        status = self._new_status(kind="sweep", synthesizer="tabular_argn",
                                  data_fingerprint=table.fingerprint, workspace=workspace)
        return self._submit(status,
                            lambda job_dir: write_sweep_request(job_dir, spec, table.frame))

    def start_related(self, related: RelatedTables, synthesizer: str, preset: str = "balanced",
                      seed: int = 0, device: str = "auto", test_size: float = 0.3,
                      overrides: Mapping[str, Any] | None = None,
                      estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Queue fitting a related-tables model (:func:`core.related_workflow.plan_related`).

        The worker stores the model in ``workspace`` (its id is the request's
        :func:`~core.engine.multi_table.related_training_key`); progress is per table and
        step, cancel and the time limit work as for fits.

        Raises:
            ParameterError: Unknown synthesizer, preset or setting.
            MetadataError: The synthesizer cannot model the schema (the message says why).
        """
        from core.engine.multi_table import plan_related_request

        request = plan_related_request(related, synthesizer, preset, seed=seed, device=device,
                                       test_size=test_size, overrides=overrides)
        frames = {table.name: table.frame for table in related.tables}
        status = self._new_status(kind="related", synthesizer=request.synthesizer,
                                  data_fingerprint=request.data_fingerprint,
                                  estimate_seconds=estimate_seconds, workspace=workspace)
        return self._submit(status,
                            lambda job_dir: write_related_request(job_dir, request, frames))

    def start_sample(self, record: ModelRecord, rows: int | None = None, seed: int = 0,
                     real_example: pd.DataFrame | None = None,
                     fixed_values: Mapping[str, Any] | None = None,
                     rebalance_column: str | None = None,
                     class_shares: Mapping[str, float] | None = None,
                     workspace: str = "") -> str:
        """Queue generating rows from a stored model (:func:`core.workflow.sample_model`).

        The model is loaded from ``workspace``'s registry (signature checked) in the
        worker; :meth:`result` hands over the :class:`~core.engine.generation.GeneratedSample`.
        """
        inputs = {**sample_inputs(record, rows, seed, real_example, fixed_values,
                                  rebalance_column, class_shares), "workspace": workspace}
        status = self._new_status(kind="sample", synthesizer=record.synthesizer,
                                  data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit(status, lambda job_dir: write_inputs(job_dir, inputs))

    def start_evaluation(self, record: ModelRecord, sample: GeneratedSample,
                         real_train: pd.DataFrame, holdout: pd.DataFrame, seed: int = 0,
                         workspace: str = "") -> str:
        """Queue evaluating rows against the real split (:func:`core.workflow.evaluate_sample`).

        :meth:`result` hands over the :class:`~core.evaluation.EvaluationResult`; recording
        its scores with the model stays the caller's (:func:`core.workflow.record_scores`).
        """
        inputs = evaluation_inputs(record, sample, real_train, holdout, seed)
        status = self._new_status(kind="evaluate", synthesizer=record.synthesizer,
                                  data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit(status, lambda job_dir: write_inputs(job_dir, inputs))

    def start_related_sample(self, record: ModelRecord, scale: float = 1.0, seed: int = 0,
                             workspace: str = "") -> str:
        """Queue generating a related model's tables (a job of kind "sample").

        The worker loads the model from ``workspace``'s registry (signature checked);
        :meth:`result` hands over ``{table: rows}`` once.
        """
        inputs = {**related_sample_inputs(record, scale, seed), "workspace": workspace}
        status = self._new_status(kind="sample", synthesizer=record.synthesizer,
                                  data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit(status, lambda job_dir: write_inputs(job_dir, inputs))

    def start_related_evaluation(self, record: ModelRecord,
                                 synthetic: Mapping[str, pd.DataFrame],
                                 frames: Mapping[str, pd.DataFrame], seed: int = 0,
                                 workspace: str = "") -> str:
        """Queue the multi-table evaluation of a related model's tables (kind "evaluate").

        ``frames`` are the real tables' full rows; the worker splits them as the model was
        trained. :meth:`result` hands over the
        :class:`~core.evaluation.multi_table.RelatedEvaluation` once; recording its scores
        stays the caller's (:func:`core.related_workflow.record_related_scores`).
        """
        inputs = related_evaluation_inputs(record, synthetic, frames, seed)
        status = self._new_status(kind="evaluate", synthesizer=record.synthesizer,
                                  data_fingerprint=record.data_fingerprint, workspace=workspace)
        return self._submit(status, lambda job_dir: write_inputs(job_dir, inputs))

    def _submit(self, status: JobStatus, write_job_inputs: Callable[[Path], None]) -> str:
        """Write the job's folder and inputs, queue it, and start what the slots allow."""
        job_id = status.job_id
        job_dir = self.job_dir(job_id)
        with self._lock:
            self._owned.add(job_id)  # before the folder exists: a sweep must not take it
        try:
            create_private_dir(self.settings.jobs_dir, exist_ok=True)
            create_private_dir(job_dir)
            write_job_inputs(job_dir)
            write_status(job_dir, status)
        except BaseException:
            with self._lock:
                self._owned.discard(job_id)
            remove_folder(job_dir)
            raise
        with self._lock:
            self._queue.append(_Waiting(job_id, self, status))
        self._dispatch()
        return job_id

    @classmethod
    def _dispatch(cls) -> None:
        """Launch queued jobs, first come first served, while slots are free."""
        while True:
            with cls._lock:
                if not cls._queue or len(cls._slots) >= _job_limit():
                    return
                waiting = cls._queue.pop(0)
                cls._slots.add(waiting.job_id)
            waiting.runner._launch(waiting)

    def _launch(self, waiting: _Waiting) -> None:
        """Give a job that left the queue a worker (the warm standby, else a new one)."""
        job_id, status = waiting.job_id, waiting.status
        job_dir = self.job_dir(job_id)
        status.state, status.stage, status.queue_position = "running", STAGE_STARTING, None
        status.launched_at = time.time()
        status.startup_estimate = round(self.startup_seconds_estimate(), 1)
        if self._standby_importing():  # it takes the job once its imports are done
            status.stage = STAGE_IMPORTING
        if status.kind == "train" and status.estimate_seconds is not None:
            status.eta_seconds = status.startup_estimate + status.estimate_seconds
        try:
            write_status(job_dir, status)
            process = self._take_standby(job_dir) or self._spawn(job_dir, [str(job_dir)])
        except Exception as error:  # noqa: BLE001 - the job fails, the server carries on
            _LOG.exception("Could not start a worker for job %s", job_id)
            status.state, status.eta_seconds = "failed", None
            status.message = (f"The job could not be started ({error}). The app is fine; "
                              "try again in a moment.")
            status.updated_at = time.time()
            with self._lock:
                self._ended[job_id] = _Ended(status, ended_at=time.monotonic())
                self._slots.discard(job_id)
                self._owned.discard(job_id)
            remove_folder(job_dir)
            return
        with self._lock:
            self._processes[job_id] = process
            cancelled = job_id in self._cancelled
        threading.Thread(target=self._reap, args=(job_id, job_dir, process), daemon=True,
                         name=f"studio-job-{job_id}").start()
        if cancelled:  # asked to stop while it was leaving the queue
            self.cancel(job_id)
        self.prepare_standby()

    def _environment(self) -> dict[str, str]:
        # PASSIVE: idle OpenMP threads sleep instead of spinning, so concurrent fits on
        # few cores do not slow each other down several-fold.
        return {
            **os.environ,
            "OMP_WAIT_POLICY": "PASSIVE",
            "STUDIO_DATA_DIR": str(self.settings.data_dir),
            _LAUNCHED_AT_ENV: repr(time.time()),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }

    def _spawn(self, log_dir: Path, arguments: list[str],
               stdin: int | None = None) -> subprocess.Popen[bytes]:
        create_private_dir(self.settings.jobs_dir, exist_ok=True)
        create_private_dir(log_dir, exist_ok=True)
        with open_private_log(log_dir / LOG_FILE) as log:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "core.jobs.worker", *arguments],
                cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=stdin,
                env=self._environment(),
                start_new_session=True,  # a Ctrl-C in the server's terminal spares fits
            )

    def prepare_standby(self) -> None:
        """Keep one worker warm (libraries imported) for the next job.

        ``STUDIO_STANDBY_WORKERS=0`` turns this off (each job then starts cold).
        """
        if os.environ.get("STUDIO_STANDBY_WORKERS", "1") == "0":
            return
        with self._lock:
            current = LocalJobRunner._standby
            if current is not None and current.process.poll() is None:
                if current.data_dir == self.settings.data_dir:
                    return
                self._release(current.process)  # started for another data directory
            jobs_dir = self.settings.jobs_dir
            LocalJobRunner._standby = _Standby(
                self._spawn(jobs_dir / STANDBY_DIR, ["--standby", str(jobs_dir)],
                            stdin=subprocess.PIPE),
                self.settings.data_dir, time.monotonic())

    @staticmethod
    def _release(process: subprocess.Popen[bytes]) -> None:
        """End a standby worker: it exits when its input ends."""
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass

    def _standby_importing(self) -> bool:
        """True if this data directory's standby worker is alive and still importing."""
        with self._lock:
            standby = LocalJobRunner._standby
        return (standby is not None and standby.data_dir == self.settings.data_dir
                and standby.process.poll() is None
                and not ready_marker(self.settings.jobs_dir, standby.process.pid).exists())

    def _take_standby(self, job_dir: Path) -> subprocess.Popen[bytes] | None:
        with self._lock:
            current = LocalJobRunner._standby
            if current is None or current.data_dir != self.settings.data_dir:
                return None
            LocalJobRunner._standby = None
        process = current.process
        if process.poll() is not None or process.stdin is None:
            return None
        try:
            process.stdin.write(f"{job_dir}\n".encode())
            process.stdin.close()
        except OSError:
            return None
        return process

    # ----------------------------------------------------------------- watching

    def status(self, job_id: str) -> JobStatus:
        """The job's status; once it has ended, the final one (its folder is then gone).

        A worker that died without saying so ends its job as failed (or cancelled, if
        the user had asked it to stop).
        """
        with self._lock:
            ended = self._ended.get(job_id)
            process = self._processes.get(job_id)
            queued = self._queued_status(job_id)
        if ended is not None:
            return copy.deepcopy(ended.status)
        if queued is not None:
            return queued
        job_dir = self.job_dir(job_id)
        status = read_status(job_dir)
        if status is None:
            with self._lock:
                ended = self._ended.get(job_id)  # collected meanwhile
            if ended is not None:
                return copy.deepcopy(ended.status)
            return JobStatus(job_id=job_id, state="failed", message=_GONE)
        if not status.is_active:
            return self._collect(job_id, job_dir)
        if process is not None:
            exit_code = process.poll()
            if exit_code is None:
                return _counting_down(status)
            return self._collect(job_id, job_dir, exit_code)
        # Started by an earlier server: trust the worker while it lives.
        return status if self._may_still_run(status) else self._collect(job_id, job_dir)

    def _queued_status(self, job_id: str) -> JobStatus | None:
        """A copy of a queued job's status with its place in line (call under the lock)."""
        for index, waiting in enumerate(self._queue):
            if waiting.job_id == job_id:
                status = copy.deepcopy(waiting.status)
                status.queue_position = index + 1
                status.stage = queue_stage(index + 1)
                return status
        return None

    def queue_length(self) -> int:
        """Jobs waiting for a slot in this server process."""
        with self._lock:
            return len(self._queue)

    def result(self, job_id: str) -> Any:
        """What a finished job produced, or None.

        * a comparison: its leaderboard rows, and a sweep: its result as a dict
          (:meth:`core.privacy_sweep.SweepResult.from_dict` reads it) (every call);
        * a sample: the :class:`~core.engine.generation.GeneratedSample`, and an
          evaluation: the :class:`~core.evaluation.EvaluationResult` — handed over once:
          the file is read and deleted, and later calls return None (keep what you get).
        """
        self.status(job_id)  # collects a job that has just ended
        with self._lock:
            ended = self._ended.get(job_id)
            if ended is None:
                return None
            if ended.status.kind not in _OBJECT_KINDS:
                return ended.result
            result_dir, ended.result_dir = ended.result_dir, None
        if result_dir is None:
            return None
        try:
            with (result_dir / OBJECT_RESULT_FILE).open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 - our worker's, 0600 in a 0700 folder
        except (OSError, EOFError, pickle.UnpicklingError):
            _LOG.warning("The result of job %s could not be read", job_id, exc_info=True)
            return None
        finally:
            remove_folder(result_dir)
            with self._lock:
                self._owned.discard(job_id)

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until the job ends (tests and the command line)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if not status.is_active or time.monotonic() > deadline:
                return status
            time.sleep(poll)

    @staticmethod
    def _may_still_run(status: JobStatus) -> bool:
        if status.pid is not None:
            return _worker_alive(status.pid)
        if status.server_pid is not None and status.server_pid != os.getpid():
            return _process_alive(status.server_pid)  # queued or starting in that server
        return time.time() - status.updated_at < _START_GRACE_SECONDS

    def _reap(self, job_id: str, job_dir: Path, process: subprocess.Popen[bytes]) -> None:
        """Wait for the worker to exit, then collect the job (nobody needs to poll)."""
        self._collect(job_id, job_dir, process.wait())

    def _follow(self, job_id: str) -> None:
        """Poll a job an earlier server started until it ends (its folder is then gone)."""
        while self.status(job_id).is_active:
            time.sleep(_FOLLOW_SECONDS)

    def _collect(self, job_id: str, job_dir: Path, exit_code: int | None = None) -> JobStatus:
        """Keep the job's final status (and leaderboard) in memory; remove its folder.

        A sample's or evaluation's folder keeps only ``result.pkl`` until it is taken.
        The job's slot is freed and the next queued job starts.
        """
        with self._lock:
            ended = self._ended.get(job_id)
            if ended is None:
                ended = self._final(job_id, job_dir, exit_code)
                self._ended[job_id] = ended
                self._processes.pop(job_id, None)
                self._cancelled.discard(job_id)
                self._slots.discard(job_id)
                if ended.result_dir is None:
                    remove_folder(job_dir)
                    self._owned.discard(job_id)
                else:
                    keep_only(job_dir, OBJECT_RESULT_FILE)
                self._forget_old()
            status = copy.deepcopy(ended.status)
        self._dispatch()
        return status

    def _forget_old(self) -> None:
        """Drop the oldest final statuses and results nobody took (call under the lock)."""
        now = time.monotonic()
        while len(self._ended) > _KEEP_ENDED:
            job_id, ended = self._ended.popitem(last=False)
            if ended.result_dir is not None:
                remove_folder(ended.result_dir)
                self._owned.discard(job_id)
        for job_id, ended in self._ended.items():
            if ended.result_dir is not None and now - ended.ended_at > _RESULT_TTL_SECONDS:
                remove_folder(ended.result_dir)
                ended.result_dir = None
                self._owned.discard(job_id)

    def _final(self, job_id: str, job_dir: Path, exit_code: int | None) -> _Ended:
        status = read_status(job_dir)
        if status is None:
            status = JobStatus(job_id=job_id, state="failed", message=_GONE)
        elif status.is_active:  # the worker ended without saying how
            if job_id in self._cancelled or (job_dir / CANCEL_FILE).exists():
                status.state, status.message = "cancelled", cancelled_message(status.kind)
            else:
                status.state, status.message = "failed", _died_message(exit_code, status.kind)
            status.eta_seconds = None
            status.updated_at = time.time()
        if status.launched_at and status.wall_seconds is None:  # e.g. cancelled
            status.wall_seconds = max(status.updated_at - status.launched_at, 0.0)
        result, result_dir = None, None
        if status.state == "done" and status.kind in ("compare", "sweep"):
            try:
                result = json.loads((job_dir / RESULT_FILE).read_text())
            except (OSError, ValueError):
                result = None
        if status.state == "done" and status.kind in _OBJECT_KINDS:
            if (job_dir / OBJECT_RESULT_FILE).exists():
                result_dir = job_dir
            else:
                status.state, status.message = "failed", _NO_RESULT
        if status.state == "failed":
            self._log_failure(job_id, job_dir, status)
        return _Ended(status, result, result_dir, time.monotonic())

    @staticmethod
    def _log_failure(job_id: str, job_dir: Path, status: JobStatus) -> None:
        """Copy the end of a failed worker's log into the server's log (the folder goes)."""
        try:
            with (job_dir / LOG_FILE).open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(log.tell() - _LOG_TAIL_CHARS, 0))
                tail = log.read().decode(errors="replace")
        except OSError:
            tail = "(no log)"
        _LOG.warning("Job %s failed: %s\nThe end of its worker's log:\n%s",
                     job_id, status.message, tail)

    # ----------------------------------------------------------------- cleaning up

    def sweep(self) -> None:
        """Remove the job folders an earlier server left behind.

        A folder whose worker still runs is followed instead, and removed when its job
        ends. Folders of this process's own jobs are never touched.
        """
        try:
            entries = sorted(self.settings.jobs_dir.iterdir())
        except OSError:
            return
        followed = []
        with self._lock:
            for entry in entries:
                if entry.name == STANDBY_DIR:  # the warm worker's log, until it takes a job
                    standby = LocalJobRunner._standby
                    if standby is None or standby.data_dir != self.settings.data_dir:
                        remove_folder(entry)
                    continue
                if (not entry.is_dir() or not is_job_id(entry.name)
                        or entry.name in self._owned or entry.name in self._ended):
                    continue
                status = read_status(entry)
                if status is not None and status.is_active and self._may_still_run(status):
                    self._owned.add(entry.name)
                    if status.pid is not None:  # its worker runs here: it takes a slot
                        self._slots.add(entry.name)
                    followed.append(entry.name)
                else:
                    remove_folder(entry)
        for job_id in followed:
            threading.Thread(target=self._follow, args=(job_id,), daemon=True,
                             name=f"studio-follow-{job_id}").start()

    # ----------------------------------------------------------------- cancelling

    def cancel(self, job_id: str) -> None:
        """Flag the job, send SIGTERM, and SIGKILL it if it has not ended in 3 s.

        The job then ends as "cancelled", even if its worker had to be killed. A job still
        in the queue never starts: it ends at once and its folder is removed.
        """
        job_dir = self.job_dir(job_id)
        with self._lock:
            if job_id in self._ended:
                return
            waiting = next((w for w in self._queue if w.job_id == job_id), None)
            if waiting is not None:
                self._queue.remove(waiting)
                status = waiting.status
                status.state, status.message = "cancelled", cancelled_message(status.kind)
                status.queue_position, status.eta_seconds = None, None
                status.updated_at = time.time()
                self._ended[job_id] = _Ended(status, ended_at=time.monotonic())
                self._owned.discard(job_id)
                self._forget_old()
            else:
                self._cancelled.add(job_id)
                process = self._processes.get(job_id)
        if waiting is not None:
            remove_folder(job_dir)
            return
        try:
            write_private(job_dir / CANCEL_FILE, b"", replace=True)
        except OSError:  # the folder is gone: the job has just ended
            return
        if process is not None:
            if process.poll() is not None:
                return  # exited; its reaper collects it
            pid = process.pid
        else:
            status = read_status(job_dir)
            if status is None or status.pid is None or not _worker_alive(status.pid):
                return
            pid = status.pid
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

        def ended() -> bool:
            return process.poll() is not None if process is not None else not _process_alive(pid)

        def make_sure() -> None:
            deadline = time.monotonic() + _CANCEL_GRACE_SECONDS
            while not ended():
                if time.monotonic() > deadline:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    break
                time.sleep(0.1)
            if process is None:  # not our child: no reaper collects it
                while not ended():
                    time.sleep(0.1)
                self._collect(job_id, job_dir)

        threading.Thread(target=make_sure, name=f"cancel-{job_id}", daemon=True).start()
