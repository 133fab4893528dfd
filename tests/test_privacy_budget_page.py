"""AppTest: the Privacy budget page explains ε, asks for a dataset, and draws a finished sweep.

No training here: the finished sweep is a result as a job hands it over (its dict), built
from fixed numbers, so the page's drawing is checked without minutes of fits
(``tests/test_privacy_sweep.py`` runs real sweeps).
"""

from __future__ import annotations

import json

import pytest
import streamlit as st

from core.engine.metadata import detect_table
from core.privacy_sweep import SweepPoint, SweepResult
from tests.apptest import open_app, page_text, texts
from tests.helpers import make_people

PAGE = "app_pages/privacy_budget.py"
RESULT = "studio.sweep.result"


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture(scope="module")
def table():
    return detect_table(make_people(200), "people.csv", "test", target="churned")


def _attacks(risk: float) -> dict:
    return {name: {"risk": risk, "ci": [max(risk - 0.02, 0.0), risk + 0.02]}
            for name in ("singling_out", "linkability", "inference", "membership")}


def _finished(fingerprint: str) -> dict:
    """A finished four-point sweep as the job hands it to the page."""
    def point(epsilon, spent, quality, ratio, risk, reused=False):
        return SweepPoint(epsilon=epsilon, model_id=f"m{epsilon}", epsilon_spent=spent,
                          delta=None if spent is None else 1e-5, reused=reused,
                          quality=quality, utility_ratio=ratio, attacks=_attacks(risk),
                          exact_match_rate=0.0, dcr_share=0.5, fit_seconds=30.0, epochs=3)

    return SweepResult(
        points=(point(1.0, 0.97, 0.71, 0.62, 0.01), point(3.0, 2.9, 0.80, 0.81, 0.02),
                point(10.0, 9.5, 0.86, 0.90, 0.05), point(None, None, 0.91, 0.97, 0.08)),
        dataset_name="people.csv", fingerprint=fingerprint, target="churned", seed=0,
        fit_seconds=30).to_dict()


def test_without_a_dataset_the_page_explains_epsilon_and_points_to_the_data_page():
    at = open_app()
    at.switch_page(PAGE).run()
    assert not at.exception
    text = page_text(at)
    assert "What ε means" in text and "privacy budget" in text
    assert "about 2–4 minutes" in text
    assert "Load or fake a dataset first." in texts(at.info)
    assert not any(button.key == "sweep_start" for button in at.button)


def test_a_finished_sweep_shows_its_sentence_curves_and_table(table):
    at = open_app(table)
    at.session_state[RESULT] = _finished(table.fingerprint)
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.button(key="sweep_start").proto.label == "Run the what-if sweep"
    [sentence] = texts(at.info)
    assert sentence.startswith("Going from ε = ∞ (no differential privacy) to ε = 1 costs "
                               "0.20 of quality (0.91 → 0.71)")
    assert "cuts the singling-out risk from 0.08 to 0.01" in sentence
    [chart] = at.get("plotly_chart")
    ticks = json.loads(chart.proto.spec)["layout"]["xaxis"]["ticktext"]
    assert ticks == ["1", "3", "10", "∞ (no DP)"]
    [board] = at.dataframe
    assert list(board.value["ε asked"]) == ["1", "3", "10", "∞"]
    assert "time limit of 30 s" in page_text(at)


def test_a_sweep_of_another_dataset_is_not_shown(table):
    at = open_app(table)
    at.session_state[RESULT] = _finished("another table")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert not at.get("plotly_chart") and not at.dataframe
