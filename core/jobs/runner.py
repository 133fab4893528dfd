"""Background training jobs: one interface, two backends (local worker processes, Ray).

:func:`make_job_runner` picks the backend from the configuration
(:func:`job_backend_config`): the local worker below by default, or
:class:`core.jobs.ray_backend.RayJobRunner` when ``RAY_ADDRESS`` or ``STUDIO_JOB_BACKEND=ray``
is set. If the Ray cluster cannot be reached in time, it returns the local runner with a
``warning`` saying so.

A fit never runs inside the Streamlit server. :class:`LocalJobRunner` starts
``python -m core.jobs.worker JOB_DIR`` as a separate process, so a crash, an out-of-memory kill
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
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.training import TrainingRequest, schema_to_dict
from core.errors import TrainingError
from core.store.settings import PROJECT_ROOT, Settings, get_settings

__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_RAY_CONNECT_TIMEOUT",
    "JobBackendConfig",
    "JobRunner",
    "JobStatus",
    "LocalJobRunner",
    "compare_spec",
    "job_backend_config",
    "load_compare_request",
    "load_job_request",
    "make_job_runner",
    "read_status",
    "table_from_compare_spec",
    "write_status",
]

_LOG = logging.getLogger("studio.jobs")

#: States in which a job may still change.
ACTIVE_STATES = ("queued", "running")
_CANCEL_GRACE_SECONDS = 3.0
#: Seconds the app waits for a Ray cluster before it runs jobs on this machine instead.
DEFAULT_RAY_CONNECT_TIMEOUT = 10.0
_SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


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
    """Where training jobs run (local worker processes, or a Ray cluster).

    Attributes:
        warning: Why jobs do not run where the configuration asked (e.g. the Ray cluster
            was unreachable), or None. The sidebar shows it.
    """

    warning: str | None

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None) -> str:
        """Start fitting; return the job id immediately."""

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None) -> str:
        """Start a comparison of ``candidates``; return the job id immediately."""

    def result(self, job_id: str) -> list[dict[str, Any]] | None:
        """The leaderboard rows of a finished comparison (None if there are none)."""

    def status(self, job_id: str) -> JobStatus:
        """The job's current status (never blocks for long)."""

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it ends as "cancelled" promptly."""

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until the job ends (tests and the command line)."""

    def describe(self) -> str:
        """Where jobs run, for the sidebar ("this machine", "Ray cluster at host:port")."""


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
    """Runs each job in its own ``python -m core.jobs.worker`` process on this machine."""

    _processes: dict[str, subprocess.Popen[bytes]] = {}
    _standby: subprocess.Popen[bytes] | None = None
    _lock = threading.Lock()

    def __init__(self, settings: Settings | None = None, warning: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.warning = warning

    def job_dir(self, job_id: str) -> Path:
        """The directory of ``job_id``."""
        if not job_id.replace("-", "").isalnum():
            raise TrainingError(f"'{job_id}' is not a valid job id.")
        return self.settings.jobs_dir / job_id

    def describe(self) -> str:
        """Jobs run in worker processes on this machine."""
        return "this machine"

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
        :func:`core.workflow.leaderboard_rows`).
        """
        job_id = uuid.uuid4().hex[:16]
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=False)
        spec = compare_spec(table, candidates, budget, seed, device, split)
        (job_dir / "compare.json").write_text(json.dumps(spec))
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


def compare_spec(table: StudioTable, candidates: Sequence[tuple[str, str]],
                 budget: float | None, seed: int = 0, device: str = "auto",
                 split: SplitSpec | None = None) -> dict[str, Any]:
    """A comparison's settings and the table's description, as JSON-able data."""
    split = split or SplitSpec(target=table.target)
    return {
        "name": table.name, "source": table.source, "fingerprint": table.fingerprint,
        "target": table.target, "schema": schema_to_dict(table.schema),
        "candidates": [list(c) for c in candidates], "budget": budget, "seed": seed,
        "device": device, "split": split.to_dict(),
    }


def table_from_compare_spec(spec: dict[str, Any], frame: pd.DataFrame) -> StudioTable:
    """Rebuild the table a comparison runs on (inverse of :func:`compare_spec`)."""
    from core.engine.training import schema_from_dict

    schema = schema_from_dict(spec["schema"])
    return StudioTable(frame=frame, name=spec["name"], source=spec["source"],
                       fingerprint=spec["fingerprint"], notes=(), schema=schema,
                       detected_schema=schema, target=spec["target"])


def load_compare_request(job_dir: Path) -> tuple[StudioTable, dict[str, Any]]:
    """Read a compare job's inputs (used by the worker)."""
    spec = json.loads((job_dir / "compare.json").read_text())
    frame = pd.read_pickle(job_dir / "frame.pkl")  # noqa: S301 - written by this server
    return table_from_compare_spec(spec, frame), spec


# --------------------------------------------------------------------------- choosing


@dataclass(frozen=True)
class JobBackendConfig:
    """Where jobs should run, as configured.

    Attributes:
        backend: "local" or "ray".
        ray_address: The cluster address for Ray ("ray://head:10001", "10.0.0.5:6379",
            "auto" for a cluster started with ``ray start`` on this machine).
        connect_timeout: Seconds to wait for the cluster before falling back to local.
        cpus_per_job: CPUs a Ray job asks for (None: up to 4, at most a node's CPUs).
        problem: A configuration mistake to show (the backend is then "local").
    """

    backend: str = "local"
    ray_address: str | None = None
    connect_timeout: float = DEFAULT_RAY_CONNECT_TIMEOUT
    cpus_per_job: int | None = None
    problem: str | None = None


def _read_secrets(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            section = tomllib.load(handle).get("studio", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return section if isinstance(section, dict) else {}


def job_backend_config(environ: Mapping[str, str] | None = None,
                       secrets_path: Path | None = None) -> JobBackendConfig:
    """Read the job backend settings; the environment wins over ``secrets.toml``.

    Environment variables (or keys of the ``[studio]`` table in
    ``.streamlit/secrets.toml``):

    * ``STUDIO_JOB_BACKEND`` (``job_backend``): ``local`` or ``ray``. Unset: ``ray`` if an
      address is set, else ``local``.
    * ``RAY_ADDRESS`` (``ray_address``): the cluster; ``ray`` without one means ``auto``.
    * ``STUDIO_RAY_CONNECT_TIMEOUT`` (``ray_connect_timeout``): seconds, default 10.
    * ``STUDIO_RAY_CPUS_PER_JOB`` (``ray_cpus_per_job``): CPUs per Ray job.
    """
    environ = os.environ if environ is None else environ
    secrets = _read_secrets(secrets_path or _SECRETS_FILE)

    def setting(variable: str, key: str) -> str | None:
        value = environ.get(variable)
        if value is None or not str(value).strip():
            value = secrets.get(key)
        return None if value is None or not str(value).strip() else str(value).strip()

    backend = (setting("STUDIO_JOB_BACKEND", "job_backend") or "").lower()
    address = setting("RAY_ADDRESS", "ray_address")
    problems = []
    try:
        timeout = float(setting("STUDIO_RAY_CONNECT_TIMEOUT", "ray_connect_timeout")
                        or DEFAULT_RAY_CONNECT_TIMEOUT)
    except ValueError:
        problems.append("STUDIO_RAY_CONNECT_TIMEOUT is not a number of seconds; "
                        f"{DEFAULT_RAY_CONNECT_TIMEOUT:.0f} s is used.")
        timeout = DEFAULT_RAY_CONNECT_TIMEOUT
    cpus_text = setting("STUDIO_RAY_CPUS_PER_JOB", "ray_cpus_per_job")
    cpus = None
    if cpus_text is not None:
        try:
            cpus = max(int(cpus_text), 1)
        except ValueError:
            problems.append(f"STUDIO_RAY_CPUS_PER_JOB='{cpus_text}' is not a whole number; "
                            "the default is used.")
    if backend not in ("", "local", "ray"):
        return JobBackendConfig(problem=(
            f"STUDIO_JOB_BACKEND='{backend}' is neither 'local' nor 'ray': jobs run on this "
            "machine. Set it to 'ray' (with RAY_ADDRESS) to use a Ray cluster."))
    if backend == "local" or (not backend and address is None):
        return JobBackendConfig(problem=" ".join(problems) or None)
    return JobBackendConfig(backend="ray", ray_address=address or "auto",
                            connect_timeout=max(timeout, 0.5), cpus_per_job=cpus,
                            problem=" ".join(problems) or None)


def make_job_runner(settings: Settings | None = None,
                    config: JobBackendConfig | None = None) -> JobRunner:
    """The configured job runner: local worker processes, or a Ray cluster.

    Connecting to Ray takes at most ``config.connect_timeout`` seconds (default 10). If the
    cluster cannot be reached, or Ray cannot be imported, jobs run on this machine and the
    returned runner's ``warning`` says why.
    """
    config = config or job_backend_config()
    if config.backend != "ray":
        return LocalJobRunner(settings, warning=config.problem)
    address = config.ray_address or "auto"
    try:
        from core.jobs.ray_backend import RayJobRunner

        return RayJobRunner.connect(address, settings, timeout=config.connect_timeout,
                                    cpus_per_job=config.cpus_per_job)
    except Exception as error:  # noqa: BLE001 - whatever Ray raises, the app keeps working
        _LOG.warning("Ray cluster at %s unavailable: %s", address, error)
        return LocalJobRunner(settings, warning=(
            f"Ray cluster at {address} unreachable: jobs run on this machine. ({error})"))
