"""The job queue and honest progress on this machine.

At most ``STUDIO_MAX_JOBS`` jobs run at once per server process; the rest wait in line
with their position, and a waiting job can be cancelled before it ever starts. Samples
and evaluations run in a worker like fits and give what the in-process calls give.
Statuses carry a fraction only for measured work, and the time spent starting a worker
is estimated, measured and counted in the job's wall time.

To hold the one slot while asserting that the others wait, a CTGAN with 5000 epochs runs
until the test cancels it (never a hope that a job is slow). Waits are polls on states
with a deadline; nothing asserts a duration.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pandas as pd
import pytest

from core.data.splitting import SplitSpec
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import FitProgress, TrainingRequest, run_training, training_key
from core.errors import ConfigurationError
from core.jobs.execution import StatusReporter
from core.jobs.folders import read_startup
from core.jobs.local import DEFAULT_STARTUP_SECONDS, WARM_START_SECONDS, LocalJobRunner
from core.jobs.status import JobStatus
from core.store.registry import ModelRegistry
from core.store.settings import default_max_jobs, get_settings, max_concurrent_jobs
from core.workflow import evaluate_sample, model_parts, sample_model, scores_for_registry
from tests.helpers import make_people, wait_until

DEADLINE_S = 180


@pytest.fixture(scope="module")
def table():
    return detect_table(make_people(120), "people.csv", "test", target="churned")


@pytest.fixture
def settings(tmp_path):
    return replace(get_settings(), data_dir=tmp_path / "data")


@pytest.fixture
def one_slot(monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")


def _request(table, synthesizer="gaussian_copula", seed=0, **overrides):
    params = resolve_params(synthesizer, "quick", overrides or None, rows=84)
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset="quick", params=params, seed=seed,
        split=SplitSpec(target=table.target),
    )


def _hold(runner, table, seed):
    """A fit that runs until it is cancelled (5000 epochs, no time limit)."""
    return runner.start(_request(table, "ctgan", seed=seed, epochs=5000, time_limit=0),
                        table.frame)


def _until(condition, what: str, timeout: float = DEADLINE_S):
    return wait_until(condition, what, timeout)


def _end(runner, job_ids):
    """Cancel whatever still runs (a failed assertion must not leave a slot taken)."""
    for job_id in job_ids:
        if runner.status(job_id).is_active:
            runner.cancel(job_id)
    for job_id in job_ids:
        runner.wait(job_id, timeout=DEADLINE_S)


# --------------------------------------------------------------------------- the queue


def test_with_one_slot_one_job_runs_the_next_wait_in_line_and_all_finish(
        table, settings, one_slot):
    runner = LocalJobRunner(settings)
    holder = _hold(runner, table, seed=11)
    waiting = [runner.start(_request(table, seed=seed), table.frame, estimate_seconds=1.0)
               for seed in (12, 13)]
    jobs = [holder, *waiting]
    try:
        assert runner.status(holder).state == "running"
        assert runner.queue_length() == 2
        for position, (job_id, words) in enumerate(zip(waiting, ("1st", "2nd"), strict=True),
                                                    start=1):
            status = runner.status(job_id)
            assert (status.state, status.queue_position) == ("queued", position)
            assert status.stage == f"Waiting in the queue ({words} in line)"
            assert status.measured_fraction is None and status.fraction == 0.0
            assert status.pid is None and status.launched_at is None

        # While the holder starts and fits, the others keep waiting; nothing it showed
        # before its first epoch had a fraction.
        seen: list[dict[str, JobStatus]] = []

        def holder_fitting():
            statuses = {job_id: runner.status(job_id) for job_id in reversed(jobs)}
            seen.append(statuses)
            return statuses[holder].epoch >= 1 or not statuses[holder].is_active

        _until(holder_fitting, "the holder's first epoch")
        assert runner.status(holder).state == "running", runner.status(holder).message
        stages = set()
        for statuses in seen:
            assert [statuses[job_id].state for job_id in waiting] == ["queued", "queued"]
            if statuses[holder].epoch == 0:
                stages.add(statuses[holder].stage)
                assert statuses[holder].measured_fraction is None, statuses[holder].stage
        assert "Starting a worker" in stages or "Importing the libraries" in stages, stages

        runner.cancel(holder)
        positions = []

        def all_ended():
            # Later jobs first: with one slot, a job seen running means every earlier
            # one had ended, so two "running" in one sweep would be a real overlap.
            statuses = [runner.status(job_id) for job_id in reversed(jobs)]
            assert sum(status.state == "running" for status in statuses) <= 1, statuses
            last = statuses[0]
            if last.state == "queued":
                positions.append(last.queue_position)
            return all(not status.is_active for status in statuses)

        _until(all_ended, "every job to end")
        assert positions == sorted(positions, reverse=True) and set(positions) <= {1, 2}
    finally:
        _end(runner, jobs)

    assert runner.status(holder).state == "cancelled"
    registry = ModelRegistry(settings)
    for job_id in waiting:
        status = runner.status(job_id)
        assert status.state == "done", status.message
        assert registry.get(status.model_id) is not None
        assert status.queue_position is None and status.launched_at is not None
        assert status.startup_seconds is not None and status.wall_seconds >= status.elapsed
    assert runner.queue_length() == 0


def test_a_waiting_job_that_is_cancelled_never_runs(table, settings, one_slot):
    runner = LocalJobRunner(settings)
    holder = _hold(runner, table, seed=21)
    doomed_request = _request(table, seed=22)
    doomed = runner.start(doomed_request, table.frame)
    kept = runner.start(_request(table, seed=23), table.frame)
    try:
        doomed_dir = runner.job_dir(doomed)
        assert runner.status(doomed).queue_position == 1 and doomed_dir.exists()

        runner.cancel(doomed)
        status = runner.status(doomed)
        assert status.state == "cancelled" and status.message == "Training was cancelled."
        assert not doomed_dir.exists()
        assert runner.status(kept).queue_position == 1  # moved up
        assert runner.queue_length() == 1

        runner.cancel(holder)
        assert runner.wait(kept, timeout=DEADLINE_S).state == "done"
    finally:
        _end(runner, [holder, doomed, kept])

    final = runner.status(doomed)
    assert final.state == "cancelled" and final.pid is None and final.launched_at is None
    registry = ModelRegistry(settings)
    assert registry.get(training_key(doomed_request)) is None
    assert registry.get(runner.status(kept).model_id) is not None


def test_the_limit_comes_from_the_environment_or_secrets_and_defaults_to_half_the_cores(
        monkeypatch, tmp_path, settings):
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv("STUDIO_MAX_JOBS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_max_jobs() == 4 and max_concurrent_jobs(secrets) == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert default_max_jobs() == 1  # never 0

    secrets.write_text("[studio]\nmax_jobs = 3\n")
    assert max_concurrent_jobs(secrets) == 3
    monkeypatch.setenv("STUDIO_MAX_JOBS", "2")
    assert max_concurrent_jobs(secrets) == 2  # the environment wins
    for wrong in ("0", "two", "-1"):
        monkeypatch.setenv("STUDIO_MAX_JOBS", wrong)
        with pytest.raises(ConfigurationError, match="STUDIO_MAX_JOBS must be a whole number"):
            max_concurrent_jobs(secrets)
    with pytest.raises(ConfigurationError):  # the app refuses to start with it
        LocalJobRunner(settings)
    monkeypatch.delenv("STUDIO_MAX_JOBS")
    secrets.write_text("[studio]\nmax_jobs = 0\n")
    with pytest.raises(ConfigurationError, match="max_jobs under \\[studio\\] in secrets.toml"):
        max_concurrent_jobs(secrets)


# --------------------------------------------------------------------------- samples, evaluations


def test_a_sample_job_and_an_evaluation_job_give_what_the_in_process_calls_give(
        table, settings):
    registry = ModelRegistry(settings)
    record = run_training(_request(table, seed=31), table.frame, registry=registry)
    real_train, holdout = model_parts(table, record)
    runner = LocalJobRunner(settings)

    job = runner.start_sample(record, rows=300, seed=5, real_example=real_train)
    status = runner.wait(job, timeout=DEADLINE_S)
    assert status.state == "done", status.message
    assert (status.kind, status.measured_fraction, status.model_id) == (
        "sample", 1.0, record.model_id)
    sample = runner.result(job)
    assert runner.result(job) is None  # handed over once: nothing lingers in the server
    assert not runner.job_dir(job).exists()
    here = sample_model(load_synthesizer(registry, record.model_id), record, 300, seed=5,
                        real_example=real_train)
    pd.testing.assert_frame_equal(sample.frame, here.frame)
    assert (sample.model_id, sample.seed, sample.key) == (record.model_id, 5, here.key)

    job = runner.start_evaluation(record, sample, real_train, holdout, seed=0)
    status = runner.wait(job, timeout=DEADLINE_S)
    assert status.state == "done" and status.kind == "evaluate", status.message
    evaluation = runner.result(job)
    assert runner.result(job) is None and not runner.job_dir(job).exists()
    expected = evaluate_sample(record, here, real_train, holdout, seed=0)
    assert scores_for_registry(evaluation) == scores_for_registry(expected)
    assert evaluation.verdict.headline == expected.verdict.headline
    assert ([(c.column, c.score) for c in evaluation.columns]
            == [(c.column, c.score) for c in expected.columns])


def test_a_queued_sample_is_cancelled_before_it_starts(table, settings, one_slot):
    registry = ModelRegistry(settings)
    record = run_training(_request(table, seed=41), table.frame, registry=registry)
    runner = LocalJobRunner(settings)
    holder = _hold(runner, table, seed=42)
    job = runner.start_sample(record, rows=100, seed=1)
    try:
        status = runner.status(job)
        assert (status.state, status.kind, status.queue_position) == ("queued", "sample", 1)
        runner.cancel(job)
        status = runner.status(job)
        assert status.state == "cancelled" and status.message == "Generating rows was cancelled."
        assert runner.result(job) is None and not runner.job_dir(job).exists()
    finally:
        _end(runner, [holder, job])


# --------------------------------------------------------------------------- honest progress


def test_a_fit_without_epochs_past_its_estimate_shows_no_fraction_and_no_eta():
    # The first fit after a server start: estimated 1 s, 14 s gone (the old bar said 93 %).
    status = JobStatus(job_id="late", state="running", stage="Learning column distributions",
                       elapsed=14.0, estimate_seconds=1.0, eta_seconds=1.0)
    assert status.measured_fraction is None and status.fraction == 0.0
    assert FitProgress(stage="Learning column distributions", elapsed=14.0,
                       eta_seconds=1.0).fraction == 0.0
    assert JobStatus(job_id="epochs", state="running", epoch=3,
                     total_epochs=12).measured_fraction == 0.25
    assert JobStatus(job_id="ended", state="done").measured_fraction == 1.0

    published: list[JobStatus] = []
    reporter = StatusReporter(JobStatus(job_id="x", state="running", estimate_seconds=0.05),
                              published.append)
    reporter.begin_work()
    assert reporter.snapshot().eta_seconds == 0.05
    reporter.start_heartbeat(interval=0.01)
    try:
        past = _until(lambda: (lambda s: s if s.elapsed > 0.05 else None)(reporter.snapshot()),
                      "the fit to run past its estimate", timeout=30)
        assert past.eta_seconds is None  # unknown, not "1 s left" for ever
        assert past.measured_fraction is None
    finally:
        reporter.finish("done")
    assert reporter.snapshot().measured_fraction == 1.0


def test_a_cold_start_is_estimated_measured_and_counted_in_the_wall_time(
        table, settings, monkeypatch):
    monkeypatch.setenv("STUDIO_STANDBY_WORKERS", "0")  # every job starts a new worker
    runner = LocalJobRunner(settings)
    assert read_startup(settings.jobs_dir) is None
    assert runner.startup_seconds_estimate() == DEFAULT_STARTUP_SECONDS  # nothing measured

    job = runner.start(_request(table, seed=51), table.frame, estimate_seconds=1.0)
    status = runner.wait(job, timeout=DEADLINE_S)
    assert status.state == "done", status.message
    record = ModelRegistry(settings).get(status.model_id)
    assert status.startup_estimate == DEFAULT_STARTUP_SECONDS
    assert status.elapsed == record.fit_seconds  # the fit's own time, as the record says
    assert status.startup_seconds > 0
    assert status.wall_seconds >= status.startup_seconds and status.wall_seconds >= status.elapsed

    measured = read_startup(settings.jobs_dir)  # the worker measured its own start
    assert measured is not None
    assert runner.startup_seconds_estimate() == max(measured, WARM_START_SECONDS)


def test_a_warm_standby_is_estimated_as_a_warm_start(table, settings, monkeypatch):
    monkeypatch.delenv("STUDIO_STANDBY_WORKERS", raising=False)
    runner = LocalJobRunner(settings)
    runner.prepare_standby()
    # The standby records its measured start, then says it is ready.
    _until(lambda: read_startup(settings.jobs_dir) is not None
           and runner.startup_seconds_estimate() == WARM_START_SECONDS,
           "the standby worker to finish importing")
    job = runner.start(_request(table, seed=61), table.frame)
    status = runner.wait(job, timeout=DEADLINE_S)
    assert status.state == "done", status.message
    assert status.startup_estimate == WARM_START_SECONDS
