"""Local job folders: private while a job runs, gone once it ends, swept at server start.

A job folder holds a full copy of the user's table, so it must not outlive the job; the
final status (and a comparison's leaderboard) must still reach the page afterwards. Each
test has its own data directory. Waits are on states (status, a folder's existence) with
a deadline, never on a time window.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from core.data.splitting import SplitSpec
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.engine.training import TrainingRequest
from core.jobs.local import LocalJobRunner
from core.store.registry import ModelRegistry
from core.store.settings import get_settings
from tests.helpers import make_people, wait_until

DEADLINE_S = 120


@pytest.fixture(scope="module")
def table():
    return detect_table(make_people(120), "people.csv", "test", target="churned")


@pytest.fixture
def settings(tmp_path):
    return replace(get_settings(), data_dir=tmp_path / "data")


def _request(table, synthesizer="gaussian_copula", seed=0, **overrides):
    params = resolve_params(synthesizer, "quick", overrides or None, rows=84)
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset="quick", params=params, seed=seed,
        split=SplitSpec(target=table.target),
    )


def _until(condition, what: str, timeout: float = DEADLINE_S):
    return wait_until(condition, what, timeout)


def _running_epoch(runner, job_id):
    """The status once the fit has finished an epoch (it must still be running)."""
    status = _until(lambda: (lambda s: s if s.epoch >= 1 or not s.is_active else None)(
        runner.status(job_id)), "an epoch")
    assert status.state == "running", status.message
    return status


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- jobs end


def test_a_finished_fit_leaves_no_folder_and_its_final_status_still_reaches_the_page(
        table, settings):
    runner = LocalJobRunner(settings)
    job_id = runner.start(_request(table, "ctgan", seed=1, epochs=3, time_limit=0),
                          table.frame)
    job_dir = runner.job_dir(job_id)
    assert (job_dir / "frame.pkl").exists()
    # Nobody polls: the runner collects the job when its worker exits.
    _until(lambda: not job_dir.exists(), "the folder to be removed")

    for answer in (runner, LocalJobRunner(settings)):  # also after Streamlit's cache clears
        status = answer.status(job_id)
        assert status.state == "done", status.message
        assert status.model_id and len(status.losses["Generator Loss"]) == 3
    assert ModelRegistry(settings).get(status.model_id) is not None


def test_a_finished_comparison_leaves_no_folder_and_keeps_its_leaderboard(table, settings):
    runner = LocalJobRunner(settings)
    job_id = runner.start_compare(table, [("gaussian_copula", "quick")], budget=60.0, seed=2)
    status = runner.wait(job_id, timeout=DEADLINE_S)
    assert status.state == "done", status.message
    assert not runner.job_dir(job_id).exists()
    [row] = runner.result(job_id)
    assert row["synthesizer"] == "gaussian_copula" and row["recommended"], row
    assert ModelRegistry(settings).get(row["model_id"]) is not None


def test_a_failed_fit_leaves_no_folder_and_says_why(table, settings):
    runner = LocalJobRunner(settings)
    broken = table.frame.drop(columns=["age", "income"])  # the schema models them
    job_id = runner.start(_request(table, seed=3), broken)
    status = runner.wait(job_id, timeout=DEADLINE_S)
    assert status.state == "failed" and status.message
    assert not runner.job_dir(job_id).exists()
    assert runner.status(job_id).message == status.message


def test_a_cancelled_fit_leaves_no_folder(table, settings):
    runner = LocalJobRunner(settings)
    job_id = runner.start(_request(table, "ctgan", seed=4, epochs=5000, time_limit=0),
                          table.frame)
    _running_epoch(runner, job_id)
    runner.cancel(job_id)
    status = runner.wait(job_id, timeout=DEADLINE_S)
    assert status.state == "cancelled" and status.message == "Training was cancelled."
    assert not runner.job_dir(job_id).exists()


def test_a_killed_worker_fails_its_job_and_leaves_no_folder(table, settings):
    runner = LocalJobRunner(settings)
    job_id = runner.start(_request(table, "ctgan", seed=5, epochs=5000, time_limit=0),
                          table.frame)
    job_dir = runner.job_dir(job_id)
    os.kill(_running_epoch(runner, job_id).pid, signal.SIGKILL)
    _until(lambda: not job_dir.exists(), "the folder to be removed")
    status = runner.status(job_id)
    assert status.state == "failed" and "stopped by signal 9" in status.message


# --------------------------------------------------------------------------- privacy


def test_the_folder_and_its_files_are_private_while_the_job_runs(table, settings):
    previous = os.umask(0o022)  # the usual umask, under which files would be 0644
    runner = LocalJobRunner(settings)
    job_id = runner.start(_request(table, "ctgan", seed=6, epochs=5000, time_limit=0),
                          table.frame)
    job_dir = runner.job_dir(job_id)
    try:
        _running_epoch(runner, job_id)
        files = {path.name: _mode(path) for path in job_dir.iterdir()}
        assert _mode(job_dir) == 0o700
        assert {"frame.pkl", "request.json", "status.json", "worker.log"} <= set(files)
        assert files == dict.fromkeys(files, 0o600)
    finally:
        runner.cancel(job_id)
        runner.wait(job_id, timeout=DEADLINE_S)
        os.umask(previous)


# --------------------------------------------------------------------------- a new server


def _stale_folder(jobs_dir: Path, state: str, pid: int | None) -> Path:
    folder = jobs_dir / uuid.uuid4().hex[:16]
    folder.mkdir(parents=True)
    (folder / "frame.pkl").write_bytes(b"a copy of the user's table")
    (folder / "status.json").write_text(json.dumps(
        {"job_id": folder.name, "state": state, "pid": pid, "updated_at": time.time()}))
    return folder


def test_folders_of_an_earlier_server_are_swept_when_a_runner_starts(settings):
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead_pid.wait()
    jobs_dir = settings.jobs_dir
    stale = [
        _stale_folder(jobs_dir, "done", 123),
        _stale_folder(jobs_dir, "running", dead_pid.pid),  # its worker crashed
        _stale_folder(jobs_dir, "failed", None),
    ]
    (jobs_dir / "standby").mkdir()
    (jobs_dir / "standby" / "worker.log").write_text("imports")
    LocalJobRunner(settings)
    assert [folder for folder in stale if folder.exists()] == []
    assert not (jobs_dir / "standby").exists()


def test_a_job_an_earlier_server_started_is_followed_and_removed_when_it_ends(settings):
    # A stand-in worker: its command line names the worker module, as a real one does.
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", "import sys; sys.stdin.read()", "core.jobs.worker"],
        stdin=subprocess.PIPE)
    folder = _stale_folder(settings.jobs_dir, "running", worker.pid)
    runner = LocalJobRunner(settings)
    try:
        assert folder.exists() and runner.status(folder.name).state == "running"
    finally:
        worker.stdin.close()  # the worker dies without writing a final status
        worker.wait()
    _until(lambda: not folder.exists(), "the followed folder to be removed")
    status = runner.status(folder.name)
    assert status.state == "failed" and "stopped unexpectedly" in status.message
