"""The studio server under test: start it as ``make run`` does, look into its data
directory, stop it and every training worker it left behind.

The fixtures in ``conftest.py`` build on these (``studio`` / ``studio_server`` for the one
server of a test run, ``studio_factory`` for tests that need their own server, e.g. to
restart it); tests use :class:`StudioServer` to reach the server's ``STUDIO_DATA_DIR``
(training jobs, the model registry and model files) the way an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SHUTDOWN_TIMEOUT_S",
    "STARTUP_TIMEOUT_S",
    "StudioServer",
    "start_studio",
    "worker_pids",
]

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60
SHUTDOWN_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL it if it does not stop in time."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


def worker_pids(data_dir: Path) -> list[int]:
    """Pids of the ``python -m core.jobs.worker`` processes (fits, comparisons, the warm
    standby) that run for the studio with this ``STUDIO_DATA_DIR``.

    The app starts workers in their own session (so a Ctrl-C in the server's terminal
    spares a fit), so stopping the server's process group does not stop them: they are
    found here by their command line and their ``STUDIO_DATA_DIR``, which no other studio
    shares.
    """
    wanted = f"STUDIO_DATA_DIR={Path(data_dir).resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"core.jobs.worker" not in command:
                continue
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@dataclass
class StudioServer:
    """One running studio server (``python -m ui.serve``).

    Attributes:
        url: Base URL (``http://127.0.0.1:<port>``).
        data_dir: Its ``STUDIO_DATA_DIR`` (registry, model files, jobs, secret).
        log_path: Where its output goes.
        process: The ``streamlit`` process (leader of its own process group).
    """

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    # ------------------------------------------------------------------ what it stored

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def job_statuses(self) -> list[dict[str, Any]]:
        """Every job's ``status.json`` (standby excluded), newest first."""
        statuses = []
        for path in self.jobs_dir.glob("*/status.json"):
            try:
                statuses.append(json.loads(path.read_text()))
            except (OSError, ValueError):  # being replaced right now; it is atomic, retry
                continue
        return sorted(statuses, key=lambda status: status.get("updated_at", 0), reverse=True)

    def wait_for_running_jobs(self, synthesizer: str, timeout_s: float = 30
                              ) -> list[dict[str, Any]]:
        """The running jobs of ``synthesizer``, polled until there is one or time runs out.

        A status file is replaced atomically, but a read can fall between the two steps and
        miss it: one empty answer proves nothing.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            running = [status for status in self.job_statuses()
                       if status.get("synthesizer") == synthesizer
                       and status["state"] == "running"]
            if running or time.monotonic() > deadline:
                return running
            time.sleep(0.1)

    def job_status(self, job_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.jobs_dir / job_id / "status.json").read_text())
        except (OSError, ValueError):
            return None

    def models(self) -> dict[str, dict[str, Any]]:
        """The registry's records by model id (read straight from the SQLite index)."""
        path = self.data_dir / "registry.sqlite3"
        if not path.exists():
            return {}
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute("SELECT model_id, record_json FROM models").fetchall()
        finally:
            connection.close()
        return {model_id: json.loads(text) for model_id, text in rows}

    def model_file(self, model_id: str) -> Path:
        """The stored file of ``model_id`` (``models/<workspace>/<id>.model``; one workspace)."""
        found = sorted(self.models_dir.glob(f"*/{model_id}.model"))
        assert len(found) == 1, found
        return found[0]

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def worker_pids(self) -> list[int]:
        """Pids of this studio's worker processes still running."""
        return worker_pids(self.data_dir)

    def kill_workers(self) -> list[int]:
        """SIGKILL this studio's workers (by pid); return the pids that were signalled."""
        killed = []
        for pid in self.worker_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                continue
        return killed

    def stop(self, *, workers: bool = True) -> None:
        """Stop the server's process group and (by default) its workers."""
        _stop_group(self.process)
        if workers:
            self.kill_workers()


def start_studio(data_dir: Path, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> StudioServer:
    """Start the studio (``python -m ui.serve``) on a free port and wait until it answers.

    Raises:
        RuntimeError: It exited or did not answer ``/_stcore/health`` in time (the
            message holds the end of its log).
    """
    data_dir = Path(data_dir).resolve()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        # As `make run` starts it: the launcher, then `streamlit run app.py`.
        sys.executable, "-m", "ui.serve",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        # Nothing to watch in a test run; watching would rerun or warn when someone edits a
        # file mid-run, and the recursive watch of the repo (.venv included) costs CPU.
        "--server.fileWatcherType", "none",
    ]
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           **(extra_env or {})}
    # Models must be signed with the data directory's own secret.key, as in production.
    env.pop("STUDIO_SECRET", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}  (STUDIO_DATA_DIR={data_dir})\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = StudioServer(url=url, data_dir=data_dir, log_path=log_path, process=process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if _healthy(url):
            return server
        time.sleep(0.2)  # polling the health endpoint: the server offers nothing to wait on
    exited = process.poll() is not None
    server.stop()
    problem = (f"exited with code {process.returncode} before answering" if exited else
               f"did not answer within {STARTUP_TIMEOUT_S} s")
    raise RuntimeError(
        f"The studio server ({url}) {problem} on /_stcore/health. "
        f"Last lines of {log_path}:\n{_tail(log_path)}"
    )
