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
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.training import TrainingRequest
from core.errors import TrainingError
from core.jobs.folders import (
    CANCEL_FILE,
    LOG_FILE,
    RESULT_FILE,
    create_private_dir,
    is_job_id,
    open_private_log,
    remove_folder,
    write_private,
)
from core.jobs.specs import compare_spec, write_compare_request, write_job_request
from core.jobs.status import JobStatus, read_status, write_status
from core.store.settings import PROJECT_ROOT, Settings, get_settings

__all__ = ["LocalJobRunner"]

_LOG = logging.getLogger("studio.jobs")

_CANCEL_GRACE_SECONDS = 3.0
#: How long a job whose worker has not written its pid yet is taken to be starting.
_START_GRACE_SECONDS = 30.0
#: Final statuses kept in memory after their folders are gone (pages poll them once).
_KEEP_ENDED = 256
_FOLLOW_SECONDS = 1.0
_LOG_TAIL_CHARS = 4000
_STANDBY_DIR = "standby"
_GONE = "This training job no longer exists."


@dataclass
class _Ended:
    """What is left of a job once its folder is removed."""

    status: JobStatus
    result: list[dict[str, Any]] | None = None


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


def _cancel_message(kind: str) -> str:
    return "The comparison was cancelled." if kind == "compare" else "Training was cancelled."


def _died_message(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        how = f"was stopped by signal {-exit_code}"
        if -exit_code == signal.SIGKILL:
            how += " (killed, often because memory ran out)"
    else:
        how = "stopped unexpectedly" + (f" (exit code {exit_code})"
                                         if exit_code is not None else "")
    return (f"The training process {how}. The app is fine and nothing else was lost; "
            "start the training again, perhaps with the Quick preset or fewer rows.")


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
    #: The warm worker, and the data directory it was started for (its STUDIO_DATA_DIR).
    _standby: tuple[subprocess.Popen[bytes], Path] | None = None
    _lock = threading.RLock()

    def __init__(self, settings: Settings | None = None, warning: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.warning = warning
        self.sweep()

    def job_dir(self, job_id: str) -> Path:
        """The directory of ``job_id``."""
        if not is_job_id(job_id):
            raise TrainingError(f"'{job_id}' is not a valid job id.")
        return self.settings.jobs_dir / job_id

    def describe(self) -> str:
        """Jobs run in worker processes on this machine."""
        return "this machine"

    # ----------------------------------------------------------------- starting

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None) -> str:
        """Write the inputs and launch the worker; returns at once."""
        job_id = uuid.uuid4().hex[:16]
        status = JobStatus(job_id=job_id, synthesizer=request.synthesizer,
                           data_fingerprint=request.data_fingerprint,
                           estimate_seconds=estimate_seconds)
        return self._launch(status, lambda job_dir: write_job_request(job_dir, request, frame))

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None) -> str:
        """Start a comparison (train, sample and evaluate each candidate) in a worker.

        The worker writes the leaderboard (:func:`core.workflow.leaderboard_rows`) before
        it says "done"; :meth:`result` returns it.
        """
        spec = compare_spec(table, candidates, budget, seed, device, split)
        status = JobStatus(job_id=uuid.uuid4().hex[:16], kind="compare", synthesizer="compare",
                           data_fingerprint=table.fingerprint, estimate_seconds=budget,
                           progress=0.0)
        return self._launch(status,
                            lambda job_dir: write_compare_request(job_dir, spec, table.frame))

    def _launch(self, status: JobStatus, write_inputs: Callable[[Path], None]) -> str:
        job_id = status.job_id
        job_dir = self.job_dir(job_id)
        with self._lock:
            self._owned.add(job_id)  # before the folder exists: a sweep must not take it
        try:
            create_private_dir(self.settings.jobs_dir, exist_ok=True)
            create_private_dir(job_dir)
            write_inputs(job_dir)
            write_status(job_dir, status)
            process = self._take_standby(job_dir) or self._spawn(job_dir, [str(job_dir)])
        except BaseException:
            with self._lock:
                self._owned.discard(job_id)
            remove_folder(job_dir)
            raise
        with self._lock:
            self._processes[job_id] = process
        threading.Thread(target=self._reap, args=(job_id, job_dir, process), daemon=True,
                         name=f"studio-job-{job_id}").start()
        self.prepare_standby()
        return job_id

    def _environment(self) -> dict[str, str]:
        # PASSIVE: idle OpenMP threads sleep instead of spinning, so concurrent fits on
        # few cores do not slow each other down several-fold.
        return {
            **os.environ,
            "OMP_WAIT_POLICY": "PASSIVE",
            "STUDIO_DATA_DIR": str(self.settings.data_dir),
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
            if current is not None and current[0].poll() is None:
                if current[1] == self.settings.data_dir:
                    return
                self._release(current[0])  # started for another data directory
            LocalJobRunner._standby = (self._spawn(
                self.settings.jobs_dir / _STANDBY_DIR, ["--standby"], stdin=subprocess.PIPE
            ), self.settings.data_dir)

    @staticmethod
    def _release(process: subprocess.Popen[bytes]) -> None:
        """End a standby worker: it exits when its input ends."""
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass

    def _take_standby(self, job_dir: Path) -> subprocess.Popen[bytes] | None:
        with self._lock:
            current = LocalJobRunner._standby
            if current is None or current[1] != self.settings.data_dir:
                return None
            LocalJobRunner._standby = None
        process = current[0]
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
        if ended is not None:
            return copy.deepcopy(ended.status)
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
            return status if exit_code is None else self._collect(job_id, job_dir, exit_code)
        # Started by an earlier server: trust the worker while it lives.
        return status if self._may_still_run(status) else self._collect(job_id, job_dir)

    def result(self, job_id: str) -> list[dict[str, Any]] | None:
        """The leaderboard of a finished comparison (None if it is not done)."""
        self.status(job_id)  # collects a job that has just ended
        with self._lock:
            ended = self._ended.get(job_id)
        return None if ended is None else ended.result

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
        return time.time() - status.updated_at < _START_GRACE_SECONDS

    def _reap(self, job_id: str, job_dir: Path, process: subprocess.Popen[bytes]) -> None:
        """Wait for the worker to exit, then collect the job (nobody needs to poll)."""
        self._collect(job_id, job_dir, process.wait())

    def _follow(self, job_id: str) -> None:
        """Poll a job an earlier server started until it ends (its folder is then gone)."""
        while self.status(job_id).is_active:
            time.sleep(_FOLLOW_SECONDS)

    def _collect(self, job_id: str, job_dir: Path, exit_code: int | None = None) -> JobStatus:
        """Keep the job's final status (and leaderboard) in memory; remove its folder."""
        with self._lock:
            ended = self._ended.get(job_id)
            if ended is None:
                ended = self._final(job_id, job_dir, exit_code)
                self._ended[job_id] = ended
                while len(self._ended) > _KEEP_ENDED:
                    self._ended.popitem(last=False)
                self._processes.pop(job_id, None)
                self._cancelled.discard(job_id)
                remove_folder(job_dir)
                self._owned.discard(job_id)
            return copy.deepcopy(ended.status)

    def _final(self, job_id: str, job_dir: Path, exit_code: int | None) -> _Ended:
        status = read_status(job_dir)
        if status is None:
            status = JobStatus(job_id=job_id, state="failed", message=_GONE)
        elif status.is_active:  # the worker ended without saying how
            if job_id in self._cancelled or (job_dir / CANCEL_FILE).exists():
                status.state, status.message = "cancelled", _cancel_message(status.kind)
            else:
                status.state, status.message = "failed", _died_message(exit_code)
            status.eta_seconds = None
            status.updated_at = time.time()
        result = None
        if status.state == "done" and status.kind == "compare":
            try:
                result = json.loads((job_dir / RESULT_FILE).read_text())
            except (OSError, ValueError):
                result = None
        if status.state == "failed":
            self._log_failure(job_id, job_dir, status)
        return _Ended(status, result)

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
                if entry.name == _STANDBY_DIR:  # the warm worker's log, until it takes a job
                    standby = LocalJobRunner._standby
                    if standby is None or standby[1] != self.settings.data_dir:
                        remove_folder(entry)
                    continue
                if (not entry.is_dir() or not is_job_id(entry.name)
                        or entry.name in self._owned or entry.name in self._ended):
                    continue
                status = read_status(entry)
                if status is not None and status.is_active and self._may_still_run(status):
                    self._owned.add(entry.name)
                    followed.append(entry.name)
                else:
                    remove_folder(entry)
        for job_id in followed:
            threading.Thread(target=self._follow, args=(job_id,), daemon=True,
                             name=f"studio-follow-{job_id}").start()

    # ----------------------------------------------------------------- cancelling

    def cancel(self, job_id: str) -> None:
        """Flag the job, send SIGTERM, and SIGKILL it if it has not ended in 3 s.

        The job then ends as "cancelled", even if its worker had to be killed.
        """
        job_dir = self.job_dir(job_id)
        with self._lock:
            if job_id in self._ended:
                return
            self._cancelled.add(job_id)
            process = self._processes.get(job_id)
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
