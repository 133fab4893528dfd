"""The privacy-budget what-if sweep: one point per ε, stored models reused, cancel, the job.

A 300-row table and at most two epochs a fit: each check is something a user would notice
(a point missing or with no ε on it, a second run that trains again, a cancel that does not
stop, a sweep job whose result never reaches the page).
"""

from __future__ import annotations

import pytest

from core.engine.metadata import detect_table
from core.errors import TrainingCancelled, TrainingError
from core.jobs.local import LocalJobRunner
from core.privacy_sweep import ATTACKS, SweepResult, plan_sweep, run_sweep, sweep_figure
from core.store.registry import ModelRegistry
from core.workflow import fit_in_process
from tests.helpers import make_people, wait_until

EPSILONS = (3.0, None)
#: Tiny fits: two epochs at most, and a time limit no tiny fit reaches on an idle machine.
OPTIONS = {"fit_seconds": 60, "epochs": 2}
DEADLINE_S = 300


@pytest.fixture(scope="module")
def table():
    frame = make_people(300, seed=3).drop(columns=["comment", "job_title"])
    return detect_table(frame, "tiny.csv", "test", target="churned")


@pytest.fixture(scope="module")
def swept(table) -> SweepResult:
    messages: list[str] = []
    result = run_sweep(table, EPSILONS, **OPTIONS,
                       progress=lambda fraction, message: messages.append(message))
    result.settings["messages"] = messages  # for the progress test
    return result


def _no_fit(*args, **kwargs):
    raise AssertionError("the sweep trained a model that was already stored")


def test_the_sweep_has_one_measured_point_per_epsilon_with_its_spent_epsilon(swept):
    assert [point.epsilon for point in swept.points] == list(EPSILONS)
    private, plain = swept.points
    assert private.error is None and plain.error is None
    assert private.epsilon_spent is not None and 0 < private.epsilon_spent <= 3.0
    assert private.delta is not None and 0 < private.delta < 1
    assert plain.epsilon_spent is None and plain.delta is None
    for point in swept.points:
        assert 0 < point.quality <= 1
        assert point.utility_ratio is not None  # the table has a target
        assert set(point.attacks) == set(ATTACKS)
        for measured in point.attacks.values():
            low, high = measured["ci"]
            assert 0 <= low <= measured["risk"] <= high <= 1
    assert list(swept.as_frame()["ε asked"]) == ["3", "∞"]
    assert "ε = ∞ (no differential privacy) to ε = 3" in swept.summary()


def test_progress_names_each_point(swept):
    messages = swept.settings["messages"]
    assert "Training ε = 3 (1 of 2)…" in messages
    assert "Training ε = ∞ (2 of 2)…" in messages


def test_running_the_same_sweep_again_reuses_every_model(table, swept):
    again = run_sweep(table, EPSILONS, **OPTIONS, fitter=_no_fit)
    assert again.reused_all
    assert [p.model_id for p in again.points] == [p.model_id for p in swept.points]
    # Same model + seed -> the same rows and numbers.
    assert [p.quality for p in again.points] == [p.quality for p in swept.points]
    assert [p.attacks for p in again.points] == [p.attacks for p in swept.points]


def test_a_point_that_cannot_be_trained_says_why_and_the_others_stay(table, swept):
    registry = ModelRegistry()
    in_process = fit_in_process(registry)

    def fit(request, frame, listener):
        if request.params.get("epsilon") == 1.0:
            raise TrainingError("A privacy budget of ε = 1 ran out before one pass.")
        return in_process(request, frame, listener)

    result = run_sweep(table, (1.0, None), **OPTIONS, registry=registry, fitter=fit)
    failed, plain = result.points
    assert failed.error and "ran out" in failed.error and failed.quality is None
    assert plain.reused and plain.quality == swept.points[1].quality
    assert "ε = 1 could not be trained" in result.summary()
    assert list(result.as_frame()["model"]) == ["failed", "reused"]


def test_cancel_stops_the_sweep_between_points(table, swept):
    seen: list[str] = []
    with pytest.raises(TrainingCancelled):
        run_sweep(table, EPSILONS, **OPTIONS, fitter=_no_fit,
                  progress=lambda fraction, message: seen.append(message),
                  should_cancel=lambda: "ε = 3 (1 of 2): done" in seen)
    assert not any("(2 of 2)" in message for message in seen)  # the second never started


def test_the_result_travels_as_data_and_draws(swept):
    again = SweepResult.from_dict(swept.to_dict())
    assert again.points == swept.points and again.fingerprint == swept.fingerprint
    figure = sweep_figure(swept)
    names = {trace.name for trace in figure.data if trace.showlegend is not False}
    assert {"quality", "utility ratio", "singling-out risk"} <= names
    assert "∞ (no DP)" in figure.layout.xaxis.ticktext


def test_the_plan_is_the_same_sweep_every_time(table):
    first, second = plan_sweep(table, EPSILONS), plan_sweep(table, EPSILONS)
    assert first == second
    assert first[0].params["epsilon"] == 3.0 and "epsilon" not in first[1].params


def test_a_sweep_job_reuses_the_stored_models_and_returns_its_result(table, swept):
    runner = LocalJobRunner()
    job_id = runner.start_sweep(table, EPSILONS, **OPTIONS)
    status = runner.wait(job_id, timeout=DEADLINE_S)
    assert status.state == "done", status.message
    result = SweepResult.from_dict(runner.result(job_id))
    assert result.reused_all
    assert [p.quality for p in result.points] == [p.quality for p in swept.points]


def test_a_cancelled_sweep_job_ends_cancelled(table):
    runner = LocalJobRunner()
    # New models (another seed), with a long time limit: the cancel comes mid-fit.
    job_id = runner.start_sweep(table, EPSILONS, seed=5, fit_seconds=600)
    wait_until(lambda: "ε = 3 (1 of 2)" in (runner.status(job_id).stage or "")
               or not runner.status(job_id).is_active, "the first fit to start", DEADLINE_S)
    runner.cancel(job_id)
    status = runner.wait(job_id, timeout=DEADLINE_S)
    assert status.state == "cancelled", status.message
    assert status.message == "The what-if sweep was cancelled."
