"""What the app knows about a job (:class:`JobStatus`), and its ``status.json``.

The local worker rewrites ``status.json`` at every change (atomically, so a reader never
sees half a file); the Ray backend keeps the same :class:`JobStatus` in memory.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.jobs.folders import STATUS_FILE, write_private

__all__ = ["ACTIVE_STATES", "JobStatus", "read_status", "write_status"]

#: States in which a job may still change.
ACTIVE_STATES = ("queued", "running")


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
