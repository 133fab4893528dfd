"""AppTest: Compare hands its winner to Evaluate, and every page's sidebar shows the jobs.

The recommended model arrives on Evaluate with the rows the comparison drew from it and
their evaluation, with nothing to click; a fit waiting in the queue or running shows in the
sidebar of the Data page, with its stage and a link to Train.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.engine.metadata import detect_table
from core.jobs.local import LocalJobRunner
from tests.apptest import open_app, poll, sidebar_text
from tests.helpers import make_people

ROOT = Path(__file__).resolve().parent.parent
DATASET = "studio.dataset"
MODEL = "studio.current_model"
JOB = "studio.current_job"
SYNTHETIC = "studio.synthetic"
EVALUATIONS = "studio.evaluations"
EVALUATION_JOB = "studio.evaluation_job"
COMPARE_RESULT = "studio.compare.result"
DEADLINE_S = 180


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def test_the_recommended_model_arrives_on_evaluate_with_its_evaluation():
    from core.comparison import compare, leaderboard_rows
    from core.store.registry import ModelRegistry
    from ui.state import workspace_id_of

    table = detect_table(make_people(300), "people.csv", "test", target="churned")
    at = open_app(table)
    at.switch_page("app_pages/compare.py").run()
    # The comparison's work, done here into the session's workspace (the job's is the same
    # function): two fast candidates, sampled and evaluated with seed 3.
    registry = ModelRegistry(workspace=workspace_id_of(at.query_params["ws"]))
    results = compare(table, [("gaussian_copula", "quick"), ("gaussian_copula", "balanced")],
                      seed=3, registry=registry)
    rows = leaderboard_rows(results)
    at.session_state[COMPARE_RESULT] = {"rows": rows, "fingerprint": table.fingerprint,
                                        "seed": 3}
    at.run()
    assert not at.exception
    best = next(row for row in rows if row["recommended"])
    winner = next(r for r in results if r.record and r.record.model_id == best["model_id"])

    at.button(key="compare_use").click().run()
    assert not at.exception
    assert at.title[0].value == "Evaluate"
    # A browser stays on the page st.switch_page opened; AppTest reruns the page it was
    # told to, so it is told.
    at.switch_page("app_pages/evaluate.py")
    assert at.session_state[MODEL].model_id == best["model_id"]
    # The rows the comparison evaluated: the same model and seed draw the same rows.
    assert at.session_state[SYNTHETIC].frame.equals(winner.sample.frame)

    def evaluated(at: AppTest) -> bool:
        # Never the "Generate and evaluate" button: the page only waits for the result.
        assert not [b for b in at.button if b.key in ("eval_generate", "eval_retry")]
        return EVALUATION_JOB not in at.session_state

    poll(at, evaluated, "the recommended model's evaluation")
    sample = at.session_state[SYNTHETIC]
    evaluation = at.session_state[EVALUATIONS][sample.key]
    assert round(evaluation.quality.quality_score, 4) == best["quality"]
    assert round(evaluation.privacy.dcr_share, 4) == best["dcr_share"]
    assert at.tabs  # the evaluation's tabs are drawn


def test_a_queued_then_running_fit_shows_in_the_sidebar_of_the_data_page(monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")
    from ui.state import workspace_id_of

    runner = LocalJobRunner()
    table = detect_table(make_people(200), "people.csv", "test", target="churned")
    blocker_table = detect_table(make_people(120, seed=3), "other.csv", "test",
                                 target="churned")
    from core.workflow import plan_request

    blocker = runner.start(plan_request(blocker_table, "ctgan", "quick",
                                        overrides={"epochs": 5000, "time_limit": 0}),
                           blocker_table.frame, workspace=workspace_id_of("someone else"))
    job = None
    try:
        at = open_app(table)
        assert "Waiting in the queue" not in sidebar_text(at)  # no job, no panel
        at.switch_page("app_pages/train.py").run()
        at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
        at.radio(key="train_preset").set_value("quick").run()
        at.button(key="train_start").click().run()
        job = at.session_state[JOB]

        at.switch_page("app_pages/data.py").run()
        assert not at.exception and at.title[0].value == "Data"
        shown_text = sidebar_text(at)
        assert "Training Gaussian Copula" in shown_text
        assert "Waiting in the queue (1st in line)" in shown_text
        links = [element for element in at.sidebar.get("page_link")]
        assert any("Open Train" in str(element.proto) for element in links)

        runner.cancel(blocker)  # the slot frees: the fit leaves the queue and runs
        poll(at, lambda at: "Waiting in the queue" not in sidebar_text(at),
             "the sidebar to show the fit past the queue")
        assert "Training Gaussian Copula" in sidebar_text(at)
        assert at.title[0].value == "Data"
    finally:
        for job_id in (blocker, job):
            if job_id is not None:
                runner.cancel(job_id)
