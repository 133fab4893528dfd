"""What the app knows about a job (:class:`JobStatus`), and its ``status.json``.

The local worker rewrites ``status.json`` at every change (atomically, so a reader never
sees half a file); the Ray backend keeps the same :class:`JobStatus` in memory. A job
goes through stages (:data:`STAGE_QUEUED`, :data:`STAGE_STARTING`,
:data:`STAGE_IMPORTING`, then its own); only measured work has a fraction
(:attr:`JobStatus.measured_fraction`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.jobs.folders import STATUS_FILE, write_private

__all__ = [
    "ACTIVE_STATES",
    "JOB_KINDS",
    "STAGE_CLUSTER",
    "STAGE_IMPORTING",
    "STAGE_QUEUED",
    "STAGE_STARTING",
    "JobStatus",
    "cancelled_message",
    "ordinal",
    "queue_stage",
    "read_status",
    "write_status",
]

#: States in which a job may still change.
ACTIVE_STATES = ("queued", "running")
#: What a job does: fit a model, compare candidates, sample rows, evaluate rows, sweep ε,
#: fit a model of related tables.
JOB_KINDS = ("train", "compare", "sample", "evaluate", "sweep", "related")

# The stages before a job's own work; none of them has a fraction (nothing is measured yet).
#: Waiting for a free slot on this server (see :func:`queue_stage`).
STAGE_QUEUED = "Waiting in the queue"
#: The local worker process is starting (Python and the studio's modules).
STAGE_STARTING = "Starting a worker"
#: The worker imports torch and SDV (seconds; a warm standby worker has done it already).
STAGE_IMPORTING = "Importing the libraries"
#: A Ray task waits until the cluster has the resources it asked for.
STAGE_CLUSTER = "Waiting for the cluster"


_CANCELLED = {"train": "Training was cancelled.", "compare": "The comparison was cancelled.",
              "sample": "Generating rows was cancelled.",
              "evaluate": "The evaluation was cancelled.",
              "sweep": "The what-if sweep was cancelled.",
              "related": "Training the related tables was cancelled."}


def cancelled_message(kind: str) -> str:
    """What a cancelled job of ``kind`` says."""
    return _CANCELLED.get(kind, _CANCELLED["train"])


def ordinal(number: int) -> str:
    """The ordinal of ``number`` in English: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def queue_stage(position: int) -> str:
    """The stage of a queued job: "Waiting in the queue (2nd in line)"."""
    return f"{STAGE_QUEUED} ({ordinal(position)} in line)"


@dataclass
class JobStatus:
    """What the app knows about a job.

    Times are Unix seconds (``*_at``) or durations in seconds.

    Attributes:
        job_id: Identifier (also the job directory name).
        state: "queued" (waiting for a slot, or for the cluster), "running", "done",
            "failed" or "cancelled".
        stage: What is happening, in words: :data:`STAGE_QUEUED`, :data:`STAGE_STARTING`,
            :data:`STAGE_IMPORTING`, then the job's own ("Preparing the data",
            "Training: epoch 3 of 300", "Generated 10,000 of 50,000 rows…", "Saving the
            model", "Done").
        epoch: Epochs finished.
        total_epochs: Epochs planned (0 if the model has no epochs).
        elapsed: Seconds of the job's own work (a fit: since it started fitting; once
            done, the fit's time, as its record says).
        eta_seconds: Estimated seconds left, None if unknown (e.g. a fit past its estimate).
        losses: Loss history by name (with an "Epoch" list).
        device: Device label.
        message: For failed/cancelled jobs: why, in plain words.
        model_id: The registered model once done.
        pid: Worker process id.
        updated_at: Unix time of the last status write.
        synthesizer: Synthesizer key.
        data_fingerprint: Which table the job trains on (jobs are listed per table).
        estimate_seconds: The fit's estimated time given at the start (without starting a
            worker; see ``startup_estimate``).
        kind: One of :data:`JOB_KINDS`.
        progress: Overall 0..1 progress when the job measures it directly (compare,
            sample, evaluate); None until it has reported any.
        queue_position: 1 for the next job to start, while the job waits in this server's
            queue; None otherwise (running, ended, or a Ray job the cluster schedules).
        submitted_at: When the app was asked to start the job.
        launched_at: When its worker was started or handed the job (it left the queue).
        startup_estimate: Seconds expected for starting the worker and importing the
            libraries when the job left the queue (near 0 with a warm standby worker).
        startup_seconds: Seconds it really took, from leaving the queue until the job's
            own work began.
        wall_seconds: Once ended: seconds from leaving the queue to the end (startup, the
            work and saving). Time spent waiting in the queue is ``launched_at -
            submitted_at``.
        server_pid: The server process that queued the job (a queued job has no worker,
            so another server sharing the data directory leaves its folder alone).
        workspace: The workspace whose registry the job's models go to ("": the command
            line's).
    """

    job_id: str
    state: str = "queued"
    stage: str = STAGE_QUEUED
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
    queue_position: int | None = None
    submitted_at: float = 0.0
    launched_at: float | None = None
    startup_estimate: float | None = None
    startup_seconds: float | None = None
    wall_seconds: float | None = None
    server_pid: int | None = None
    workspace: str = ""

    @property
    def is_active(self) -> bool:
        """True while the job can still change."""
        return self.state in ACTIVE_STATES

    @property
    def measured_fraction(self) -> float | None:
        """The share of the work done, as measured; None while nothing is measured.

        Measured means epochs finished (deep fits) or the steps a comparison, a sample or
        an evaluation reports. Waiting in the queue, starting a worker, importing the
        libraries, preparing the data and a fit without epochs (Gaussian Copula) have no
        fraction: show the stage (and an indeterminate indicator) instead. Never a guess
        from elapsed time and the estimate.
        """
        if self.state == "done":
            return 1.0
        if self.progress is not None:
            return min(max(self.progress, 0.0), 1.0)
        if self.total_epochs and self.epoch > 0:
            return min(self.epoch / self.total_epochs, 1.0)
        return None

    @property
    def fraction(self) -> float:
        """0..1 for a progress bar: :attr:`measured_fraction`, or 0 while it is None."""
        measured = self.measured_fraction
        return 0.0 if measured is None else measured


def write_status(job_dir: Path, status: JobStatus) -> None:
    """Atomically replace ``status.json`` (readers never see half a file).

    Raises:
        OSError: The folder is gone (the app has collected the job and removed it).
    """
    status.updated_at = time.time()
    temporary = job_dir / f"{STATUS_FILE}.tmp{os.getpid()}.{threading.get_ident()}"
    write_private(temporary, json.dumps(asdict(status)), replace=True)
    os.replace(temporary, job_dir / STATUS_FILE)


def read_status(job_dir: Path) -> JobStatus | None:
    """The last status the worker wrote, or None if there is none (yet, or any more)."""
    try:
        data = json.loads((job_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    known = set(JobStatus.__dataclass_fields__)
    return JobStatus(**{key: value for key, value in data.items() if key in known})
