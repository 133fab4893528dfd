"""Background training jobs: one interface, a local worker-process backend.

A fit never runs inside the Streamlit server. :class:`LocalJobRunner` starts
``python -m core.worker JOB_DIR`` as a separate process, so a crash, an out-of-memory kill
or a cancel cannot take the server down, and a server restart does not lose a model that
is still being fitted (the worker registers it itself). Worker and app talk through
files in the job directory:

* ``request.json`` and ``frame.pkl``: the input (written by the app);
* ``status.json``: state, stage, epoch, losses, ETA (rewritten atomically by the worker);
* ``cancel``: a flag the worker polls every epoch (the app also sends SIGTERM).

The page polls :meth:`JobRunner.status` from an ``st.fragment(run_every=...)``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from core.config import PROJECT_ROOT, Settings, get_settings
from core.errors import TrainingError
from core.splitting import SplitSpec
from core.table import StudioTable
from core.training import TrainingRequest, schema_to_dict

__all__ = [
    "ACTIVE_STATES",
    "JobRunner",
    "JobStatus",
    "LocalJobRunner",
    "load_compare_request",
    "load_job_request",
    "read_status",
    "write_status",
]

#: States in which a job may still change.
ACTIVE_STATES = ("queued", "running")
_CANCEL_GRACE_SECONDS = 3.0


@dataclass
class JobStatus:
    """What the app knows about a job.

    Attributes:
        job_id: Identifier (also the job directory name).
        state: "queued", "running", "done", "failed" or "cancelled".
        stage: What is happening, in words.
        epoch: Epochs finished.
        total_epochs: Epochs planned (0 if the model has no epochs).
        elapsed: Seconds since the worker started fitting.
        eta_seconds: Estimated seconds left.
        losses: Loss history by name (with an "Epoch" list).
        device: Device label.
        message: For failed/cancelled jobs: why, in plain words.
        model_id: The registered model once done.
        pid: Worker process id.
        updated_at: Unix time of the last status write.
        synthesizer: Synthesizer key.
        data_fingerprint: Which table the job trains on (jobs are listed per table).
        estimate_seconds: The ETA given before the start.
        kind: "train" or "compare".
        progress: Overall 0..1 progress when the job reports it directly (compare).
    """

    job_id: str
    state: str = "queued"
    stage: str = "Waiting for the worker to start"
    epoch: int = 0
    total_epochs: int = 0
    elapsed: float = 0.0
    eta_seconds: float | None = None
    losses: dict[str, list[float]] = field(default_factory=dict)
    device: str = ""
    message: str = ""
    model_id: str | None = None
    pid: int | None = None
    updated_at: float = 0.0
    synthesizer: str = ""
    data_fingerprint: str = ""
    estimate_seconds: float | None = None
    kind: str = "train"
    progress: float | None = None

    @property
    def is_active(self) -> bool:
        """True while the job can still change."""
        return self.state in ACTIVE_STATES

    @property
    def fraction(self) -> float:
        """0..1 for a progress bar."""
        if self.state == "done":
            return 1.0
        if self.progress is not None:
            return min(max(self.progress, 0.0), 1.0)
        if self.total_epochs:
            return min(self.epoch / self.total_epochs, 1.0)
        if self.eta_seconds is not None and self.elapsed + self.eta_seconds > 0:
            return min(self.elapsed / (self.elapsed + self.eta_seconds), 0.99)
        return 0.0


def write_status(job_dir: Path, status: JobStatus) -> None:
    """Atomically replace ``status.json`` (readers never see half a file)."""
    status.updated_at = time.time()
    temporary = job_dir / f"status.json.tmp{os.getpid()}.{threading.get_ident()}"
    temporary.write_text(json.dumps(asdict(status)))
    os.replace(temporary, job_dir / "status.json")


def read_status(job_dir: Path) -> JobStatus | None:
    """The last status the worker wrote, or None if there is none yet."""
    try:
        data = json.loads((job_dir / "status.json").read_text())
    except (OSError, ValueError):
        return None
    known = set(JobStatus.__dataclass_fields__)
    return JobStatus(**{key: value for key, value in data.items() if key in known})


class JobRunner(Protocol):
    """Where training jobs run (local worker processes, or a cluster)."""

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None) -> str:
        """Start fitting; return the job id immediately."""

    def status(self, job_id: str) -> JobStatus:
        """The job's current status."""

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it ends as "cancelled" promptly."""

    def describe(self) -> str:
        """Where jobs run, for the sidebar ("this machine", "Ray at host:port")."""


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


class LocalJobRunner:
    """Runs each job in its own ``python -m core.worker`` process on this machine."""

    _processes: dict[str, subprocess.Popen[bytes]] = {}
    _standby: subprocess.Popen[bytes] | None = None
    _lock = threading.Lock()

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    def job_dir(self, job_id: str) -> Path:
        """The directory of ``job_id``."""
        if not job_id.replace("-", "").isalnum():
            raise TrainingError(f"'{job_id}' is not a valid job id.")
        return self.settings.jobs_dir / job_id

    def describe(self) -> str:
        """Jobs run in worker processes on this machine."""
        return "this machine (worker processes)"

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None) -> str:
        """Write the inputs and launch the worker; returns at once."""
        job_id = uuid.uuid4().hex[:16]
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=False)
        (job_dir / "request.json").write_text(request.to_json())
        frame.to_pickle(job_dir / "frame.pkl")
        write_status(job_dir, JobStatus(
            job_id=job_id, synthesizer=request.synthesizer,
            data_fingerprint=request.data_fingerprint, estimate_seconds=estimate_seconds,
        ))
        process = self._take_standby(job_dir) or self._spawn(job_dir, [str(job_dir)])
        with self._lock:
            self._processes[job_id] = process
        self.prepare_standby()
        return job_id

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None) -> str:
        """Start a comparison (train, sample and evaluate each candidate) in a worker.

        The worker writes the leaderboard to ``result.json`` (see
        :func:`core.pipeline.leaderboard_rows`).
        """
        job_id = uuid.uuid4().hex[:16]
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=False)
        split = split or SplitSpec(target=table.target)
        (job_dir / "compare.json").write_text(json.dumps({
            "name": table.name, "source": table.source, "fingerprint": table.fingerprint,
            "target": table.target, "schema": schema_to_dict(table.schema),
            "candidates": [list(c) for c in candidates], "budget": budget, "seed": seed,
            "device": device, "split": split.to_dict(),
        }))
        table.frame.to_pickle(job_dir / "frame.pkl")
        write_status(job_dir, JobStatus(job_id=job_id, kind="compare", synthesizer="compare",
                                        data_fingerprint=table.fingerprint,
                                        estimate_seconds=budget, progress=0.0))
        process = self._take_standby(job_dir) or self._spawn(job_dir, [str(job_dir)])
        with self._lock:
            self._processes[job_id] = process
        self.prepare_standby()
        return job_id

    def result(self, job_id: str) -> list[dict[str, Any]] | None:
        """The leaderboard a finished compare job wrote (None if not there)."""
        try:
            return json.loads((self.job_dir(job_id) / "result.json").read_text())
        except (OSError, ValueError):
            return None

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
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "worker.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "core.worker", *arguments],
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
            if current is not None and current.poll() is None:
                return
            LocalJobRunner._standby = self._spawn(
                self.settings.jobs_dir / "standby", ["--standby"], stdin=subprocess.PIPE
            )

    def _take_standby(self, job_dir: Path) -> subprocess.Popen[bytes] | None:
        with self._lock:
            process, LocalJobRunner._standby = LocalJobRunner._standby, None
        if process is None or process.poll() is not None or process.stdin is None:
            return None
        try:
            process.stdin.write(f"{job_dir}\n".encode())
            process.stdin.close()
        except OSError:
            return None
        return process

    def status(self, job_id: str) -> JobStatus:
        """Read the worker's status; detect a worker that died without saying so."""
        job_dir = self.job_dir(job_id)
        status = read_status(job_dir)
        if status is None:
            return JobStatus(job_id=job_id, state="failed",
                             message="This training job no longer exists.")
        if not status.is_active:
            return status
        with self._lock:
            process = self._processes.get(job_id)
        exit_code = process.poll() if process is not None else None
        if process is not None and exit_code is None:
            return status
        pid_alive = status.pid is not None and _process_alive(status.pid)
        if process is None and (pid_alive or status.pid is None):
            # Started by an earlier server process: trust the worker while it lives,
            # and give a brand-new job a moment to write its pid.
            if pid_alive or time.time() - status.updated_at < 30:
                return status
        # The worker has exited; re-read in case it wrote its final state meanwhile.
        status = read_status(job_dir) or status
        if status.is_active:
            if exit_code is not None and exit_code < 0:
                how = f"was stopped by signal {-exit_code}"
                if -exit_code == signal.SIGKILL:
                    how += " (killed, often because memory ran out)"
            else:
                how = "stopped unexpectedly" + (f" (exit code {exit_code})"
                                                 if exit_code is not None else "")
            status.state = "failed"
            status.message = (
                f"The training process {how}. The app is fine and nothing else was lost; "
                "start the training again, perhaps with the Quick preset or fewer rows."
            )
            write_status(job_dir, status)
        return status

    def cancel(self, job_id: str) -> None:
        """Flag the job, send SIGTERM, and SIGKILL it if it has not ended in 3 s."""
        job_dir = self.job_dir(job_id)
        (job_dir / "cancel").touch()
        status = read_status(job_dir)
        pid = status.pid if status else None
        with self._lock:
            process = self._processes.get(job_id)
        if pid is None and process is not None:
            pid = process.pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

        def make_sure() -> None:
            deadline = time.monotonic() + _CANCEL_GRACE_SECONDS
            while time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    break
                if process is None and not _process_alive(pid):
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if process is not None:
                    process.wait(timeout=5)
            current = read_status(job_dir)
            if current is not None and current.is_active:
                current.state = "cancelled"
                current.message = "Training was cancelled."
                write_status(job_dir, current)

        threading.Thread(target=make_sure, name=f"cancel-{job_id}", daemon=True).start()

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until the job ends (tests and the command line)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if not status.is_active or time.monotonic() > deadline:
                return status
            time.sleep(poll)


def load_job_request(job_dir: Path) -> tuple[TrainingRequest, pd.DataFrame]:
    """Read a job's inputs (used by the worker)."""
    request = TrainingRequest.from_json((job_dir / "request.json").read_text())
    frame = pd.read_pickle(job_dir / "frame.pkl")  # noqa: S301 - written by this server
    return request, frame


def load_compare_request(job_dir: Path) -> tuple[StudioTable, dict[str, Any]]:
    """Read a compare job's inputs (used by the worker)."""
    from core.training import schema_from_dict

    spec = json.loads((job_dir / "compare.json").read_text())
    frame = pd.read_pickle(job_dir / "frame.pkl")  # noqa: S301 - written by this server
    schema = schema_from_dict(spec["schema"])
    table = StudioTable(frame=frame, name=spec["name"], source=spec["source"],
                        fingerprint=spec["fingerprint"], notes=(), schema=schema,
                        detected_schema=schema, target=spec["target"])
    return table, spec
