"""Entry point of a training worker process: ``python -m core.worker JOB_DIR``.

Reads the job's inputs, fits with :func:`core.training.run_training`, and reports through
``status.json``. It registers the finished model itself, so the result survives even if
the app that started it has restarted. SIGTERM (cancel) ends it promptly.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from core.jobs import JobStatus, load_job_request, read_status, write_status

_LOG = logging.getLogger("studio.worker")


def run_compare(job_dir: Path) -> int:
    """Run a comparison job; the leaderboard goes to ``result.json``."""
    import json

    status = read_status(job_dir) or JobStatus(job_id=job_dir.name, kind="compare")
    status.state, status.pid = "running", os.getpid()
    status.stage = "Loading the libraries"
    write_status(job_dir, status)
    lock = threading.Lock()

    def on_sigterm(signum: int, frame: object) -> None:
        with lock:
            status.state, status.message = "cancelled", "The comparison was cancelled."
            write_status(job_dir, status)
        os._exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)
    from core.errors import StudioError
    from core.jobs import load_compare_request
    from core.pipeline import compare, leaderboard_rows
    from core.splitting import SplitSpec

    table, spec = load_compare_request(job_dir)
    started = time.monotonic()

    def on_progress(fraction: float, message: str) -> None:
        with lock:
            status.progress, status.stage = fraction, message
            status.elapsed = time.monotonic() - started
            if spec["budget"]:
                status.eta_seconds = max(spec["budget"] - status.elapsed, 0.0)
            write_status(job_dir, status)

    try:
        results = compare(table, [tuple(c) for c in spec["candidates"]], spec["budget"],
                          seed=spec["seed"], device=spec["device"],
                          split=SplitSpec(**spec["split"]), progress=on_progress)
        (job_dir / "result.json").write_text(json.dumps(leaderboard_rows(results)))
        final = ("done", "")
    except StudioError as error:
        final = ("failed", str(error))
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Comparison failed")
        final = ("failed", "The comparison failed unexpectedly; the worker log has details.")
    with lock:
        status.state, status.message = final
        status.progress = 1.0 if final[0] == "done" else status.progress
        status.stage = "Done" if final[0] == "done" else status.stage
        write_status(job_dir, status)
    return 0 if final[0] == "done" else 1


def main(job_dir: Path) -> int:
    """Run the job in ``job_dir``; return the process exit code."""
    if (job_dir / "compare.json").exists():
        return run_compare(job_dir)
    status = read_status(job_dir) or JobStatus(job_id=job_dir.name)
    status.state, status.pid = "running", os.getpid()
    status.stage = "Loading the training libraries"
    write_status(job_dir, status)
    lock = threading.Lock()
    finished = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:
        with lock:
            status.state, status.message = "cancelled", "Training was cancelled."
            write_status(job_dir, status)
        os._exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)

    from core.errors import StudioError, TrainingCancelled
    from core.training import FitProgress, run_training

    request, frame = load_job_request(job_dir)
    started = time.monotonic()

    def on_progress(progress: FitProgress) -> None:
        with lock:
            status.stage, status.epoch = progress.stage, progress.epoch
            status.total_epochs, status.losses = progress.total_epochs, progress.losses
            status.elapsed, status.device = progress.elapsed, progress.device
            status.eta_seconds = progress.eta_seconds
            write_status(job_dir, status)

    def heartbeat() -> None:
        # Models without epochs report nothing while fitting: keep elapsed/ETA moving.
        while not finished.wait(1.0):
            with lock:
                if status.state != "running":
                    return
                status.elapsed = time.monotonic() - started
                if not status.total_epochs and status.estimate_seconds:
                    status.eta_seconds = max(status.estimate_seconds - status.elapsed, 1.0)
                write_status(job_dir, status)

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        record = run_training(
            request, frame, listener=on_progress,
            should_cancel=lambda: (job_dir / "cancel").exists(),
        )
    except TrainingCancelled:
        final = ("cancelled", "Training was cancelled.", None)
    except StudioError as error:
        final = ("failed", str(error), None)
    except Exception:  # noqa: BLE001 - reported to the user as a plain message
        _LOG.exception("Training failed")
        final = ("failed", "Training failed unexpectedly; the worker log has details. "
                 "Try another synthesizer or the Quick preset.", None)
    else:
        final = ("done", "", record.model_id)
        status.elapsed = record.fit_seconds
    finished.set()
    with lock:
        status.state, status.message, status.model_id = final
        status.eta_seconds = 0.0 if status.state == "done" else None
        if status.state == "done":
            status.stage = "Done"
        write_status(job_dir, status)
    return 0 if final[0] == "done" else 1


def standby() -> int:
    """Import the heavy libraries, then wait for a job directory on stdin.

    The app keeps one such warm worker ready, so a new fit starts in well under a second
    instead of spending ~6 s importing torch and SDV. End of input (the app is gone)
    ends the process.
    """
    import sdv.single_table  # noqa: F401
    import torch  # noqa: F401

    from core import sdv_speedups

    sdv_speedups.apply()
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    return main(Path(line))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if sys.argv[1:] == ["--standby"]:
        sys.exit(standby())
    sys.exit(main(Path(sys.argv[1])))
