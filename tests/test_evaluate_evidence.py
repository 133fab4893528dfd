"""Evaluate page: the real-data ceiling, the attacks, fairness and drivers are on screen.

The evaluation is computed here (a quick Gaussian Copula on the loans sample) and handed to
the page as the session would hold it, so the test follows the page, not a job.
"""

from __future__ import annotations

import pytest
import streamlit as st

from core.workflow import evaluate_sample
from tests.apptest import open_app, open_evaluation, quick_model, texts


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def _metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _open_tab(at, name: str):
    at.session_state["eval_tab"] = name
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def evaluated():
    at = open_app()
    at.button(key="load_sample_loans").click().run()
    record, sample, real_train, holdout = quick_model(at.session_state["studio.dataset"],
                                                      rows=600)
    result = evaluate_sample(record, sample, real_train, holdout)
    open_evaluation(at, record, sample, result)
    return at, result, sample


def test_privacy_tab_shows_each_attack_with_its_risk_and_what_it_cannot_prove(evaluated):
    at, result, _ = evaluated
    _open_tab(at, "Privacy")
    shown = " ".join(texts(at.markdown)) + " ".join(texts(at.caption))
    for risk in result.attacks.risks:
        assert f"risk {risk.risk:.2f}" in shown, risk.name
    assert "not every attack" in shown  # the limits are said where the numbers are
    assert "without differential privacy" in shown  # no ε: the page says there is none
    table = at.dataframe[0].value
    assert list(table["Risk"].round(4)) == [round(r.risk, 4) for r in result.attacks.risks]


def test_quality_tab_puts_each_score_beside_the_real_data_ceiling(evaluated):
    at, result, _ = evaluated
    _open_tab(at, "Quality")
    shown = _metrics(at)
    auc = result.ceiling.discriminator_auc
    assert shown["Tell-apart score"] == f"{auc:.2f}"
    deltas = [m.delta for m in at.metric if m.delta]
    ceiling = result.ceiling.holdout_ceiling["quality_score"]
    assert any(d == f"ceiling {ceiling:.0%}" for d in deltas), deltas


def test_fairness_tab_judges_the_picked_columns_and_a_new_pick_is_measured(evaluated):
    at, result, sample = evaluated
    _open_tab(at, "Fairness")
    picker = at.multiselect(key=f"eval_sensitive_{sample.key}")
    assert list(picker.value) == list(result.sensitive_columns)
    assert "age" in picker.value  # suggested by name
    widened = any("gap widened" in text for text in texts(at.markdown))
    assert widened or any("no gap widened" in text for text in texts(at.markdown))
    picker.set_value(["home_ownership"]).run()
    assert not at.exception
    kept = at.session_state["studio.evaluations"][sample.key]
    assert kept.sensitive_columns == ("home_ownership",)
    assert set(kept.fairness.columns) == {"home_ownership"}
    assert any(text.startswith("#### home") and "ownership" in text
               for text in texts(at.markdown))


def test_drivers_tab_shows_both_models_importances(evaluated):
    at, result, _ = evaluated
    _open_tab(at, "Drivers")
    assert _metrics(at)["Same drivers"] == f"{result.importance.rank_agreement:.2f}"
    table = at.dataframe[0].value
    assert set(table["Column"]) == set(result.importance.table["column"])
