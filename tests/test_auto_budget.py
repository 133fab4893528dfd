"""``auto`` in a minute: fast synthesizers are screened first, slow ones run only when
screening is weak and the budget left can hold them, and every skip says why."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from core.comparison import (
    AUTO_FAST,
    AUTO_SLOW,
    auto_candidates,
    compare,
    estimate_after_fit_seconds,
    leaderboard_rows,
    screening_weakness,
)
from core.data import loading
from core.engine import training
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.evaluation import thresholds
from core.store.registry import ModelRegistry
from core.store.settings import get_settings
from core.workflow import plan_request

CUSTOMERS = Path(__file__).resolve().parent.parent / "sample_data" / "customers.csv"
SCREEN = [("gaussian_copula", "balanced")]
SLOW = [("tvae", "quick")]  # the cheapest deep fit stands in for auto's slow ones


def _customers(folder: Path, rows: int):
    """The first ``rows`` customers as the CLI reads them, target churned."""
    path = folder / f"customers_{rows}.csv"
    pd.read_csv(CUSTOMERS, nrows=rows).to_csv(path, index=False)
    frame = loading.load_table(path.read_bytes(), path.name).frame
    return detect_table(frame, name=path.name, source="command line").with_target("churned")


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory):
    """1,000 customers: enough rows for Gaussian Copula to read good on every aspect."""
    return _customers(tmp_path_factory.mktemp("auto"), 1000)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """400 customers: a slow candidate's fit stays short."""
    return _customers(tmp_path_factory.mktemp("auto"), 400)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """A registry of this test's own (no model of another test is reused)."""
    return ModelRegistry(dataclasses.replace(get_settings(), data_dir=tmp_path))


@pytest.fixture
def weak_screening(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every quality score read 'fair': no candidate can be good enough."""
    monkeypatch.setattr(thresholds, "FIDELITY_GOOD", 1.01)


def test_auto_screens_the_fast_synthesizers_of_the_catalogue_first():
    fast, slow = auto_candidates()
    assert fast[0] == ("gaussian_copula", "balanced")
    assert set(fast) <= set(AUTO_FAST) and set(slow) <= set(AUTO_SLOW)
    assert {"tvae", "ctgan"} <= {key for key, _ in slow}
    assert not {key for key, _ in fast} & {key for key, _ in slow}


def test_slow_candidates_are_skipped_with_a_reason_when_screening_is_good(table, registry):
    results = compare(table, SCREEN, budget=600, seed=1, registry=registry, slow=SLOW)
    screened, slow = results
    assert screened.status == "ran" and screening_weakness([screened]) is None
    assert slow.slow and slow.status == "skipped" and slow.record is None
    assert slow.reason == "skipped: screening was good enough"
    assert len(registry.list_for_data(table.fingerprint)) == 1  # no slow model was fitted
    rows = {row["synthesizer"]: row for row in leaderboard_rows(results)}
    assert rows["tvae"]["status"] == "skipped" and rows["tvae"]["slow"]
    assert rows["tvae"]["reason"] == slow.reason and not rows["tvae"]["recommended"]
    assert rows["gaussian_copula"]["recommended"]


def test_slow_candidates_run_when_screening_is_weak(tiny, registry, weak_screening,
                                                    monkeypatch):
    def no_speed_test():
        raise AssertionError("the plan should use the pace of the fits measured here")

    # The fit time model's torch speed test costs seconds of the budget on a busy machine.
    monkeypatch.setattr(training, "machine_speed", no_speed_test)
    results = compare(tiny, SCREEN, budget=600, seed=1, registry=registry, slow=SLOW)
    screened, slow = results
    assert screening_weakness([screened]).startswith(
        "the best one, Gaussian Copula · balanced, reads: fidelity is fair")
    assert slow.status == "ran" and slow.evaluation is not None
    # Its fit was planned inside what was left after screening.
    assert slow.left_s is not None and slow.needed_s is not None
    assert slow.needed_s <= slow.left_s
    assert 0 < slow.record.params["time_limit"] <= slow.left_s


def test_a_slow_candidate_needing_more_than_the_budget_left_is_skipped_with_both_numbers(
        tiny, registry, weak_screening):
    # A budget far smaller than one candidate: the first still runs (auto must answer).
    results = compare(tiny, SCREEN, budget=0.001, seed=1, registry=registry, slow=SLOW)
    screened, slow = results
    assert screened.status == "ran" and screened.needed_s is None
    assert slow.status == "skipped" and slow.needed_s > slow.left_s
    found = re.fullmatch(r"skipped: not enough budget left: needs ~(\d+) s, (\d+) s left",
                         slow.reason)
    assert found, slow.reason
    assert int(found[1]) == round(slow.needed_s) and int(found[2]) == 0
    # What it needed at the least: this table's measured sampling and evaluation plus a fit.
    after_fit = screened.seconds - screened.timings["fit_s"]
    assert slow.needed_s > 0.5 * after_fit


def test_auto_cuts_a_deep_time_limit_to_the_budget_where_compare_keeps_the_preset(table):
    preset_limit = resolve_params("tvae", "balanced")["time_limit"]
    budget = preset_limit * 0.6  # within Compare's slack of 2, outside auto's of 1
    fast = 1e-9  # a machine fast enough for every epoch: only the time limit decides
    kept = plan_request(table, "tvae", "balanced", fit_budget=budget, speed=fast)
    cut = plan_request(table, "tvae", "balanced", fit_budget=budget, speed=fast, slack=1.0)
    assert kept.params["time_limit"] == preset_limit and kept.preset == "balanced"
    assert cut.params["time_limit"] == round(budget)
    assert cut.preset == f"balanced (budget {round(budget)} s)"


def test_the_evaluation_estimate_grows_with_rows_and_columns():
    small = estimate_after_fit_seconds(3_500, 10)
    assert small < estimate_after_fit_seconds(7_000, 10) < estimate_after_fit_seconds(7_000, 55)
    assert estimate_after_fit_seconds(7_000, 55) > 3 * small  # quadratic in the columns


def test_the_compare_page_says_which_candidates_were_not_run_and_why(registry):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import shown

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=120).run()
    at.button(key="load_sample_customers").click().run()
    table = at.session_state["studio.dataset"]
    # A comparison whose budget one candidate overruns: the second is skipped.
    results = compare(table, [("gaussian_copula", "quick")], budget=0.001, registry=registry,
                      slow=SLOW)
    skipped = results[1]
    assert skipped.status == "skipped"
    at.session_state["studio.compare.result"] = {
        "rows": leaderboard_rows(results), "fingerprint": table.fingerprint, "seed": 0}
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    board = at.dataframe[0].value
    assert list(board["status"]) == ["ran", "skipped"]
    assert board["reason"].iloc[1] == skipped.reason
    note = next(shown(c.value) for c in at.caption if shown(c.value).startswith("Not run:"))
    assert f"**TVAE · quick**, {skipped.reason.removeprefix('skipped: ')}" in note
