"""The one workflow: train or reuse fits once per request, every caller gets the same model,
and every judgement of a score reads one set of thresholds."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.comparison import (
    compare,
    leaderboard_rows,
    selection_score,
)
from core.data import loading
from core.data.splitting import SplitSpec
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.engine.training import training_key
from core.evaluation.thresholds import ACCEPTABLE, MAX_DCR_SHARE, fidelity_level
from core.evaluation.verdict import make_verdict, relations_reading
from core.store.registry import ModelRegistry
from core.store.settings import get_settings
from core.workflow import (
    fit_in_process,
    plan_request,
    run_model,
    scores_for_registry,
    train_or_reuse,
)

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = ROOT / "sample_data" / "customers.csv"


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1,200 customers, as a user would hand the file to the CLI or the app."""
    path = tmp_path_factory.mktemp("workflow") / "customers_small.csv"
    pd.read_csv(CUSTOMERS, nrows=1200).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def table(small_csv: Path):
    """The table the CLI builds from ``small_csv`` (read, detected, target churned)."""
    frame = loading.load_table(small_csv.read_bytes(), small_csv.name).frame
    return detect_table(frame, name=small_csv.name, source="command line").with_target("churned")


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """A registry of this test's own, so no other test's models can be reused."""
    return ModelRegistry(dataclasses.replace(get_settings(), data_dir=tmp_path))


class CountingFitter:
    """A real in-process fitter that remembers the seed of every fit it was asked for."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.seeds: list[int] = []
        self._fit = fit_in_process(registry)

    def __call__(self, request, frame, listener):
        self.seeds.append(request.seed)
        return self._fit(request, frame, listener)


# --------------------------------------------------------------------------- train or reuse


def test_the_same_request_is_fitted_once_and_another_seed_anew(table, registry):
    fit = CountingFitter(registry)
    request = plan_request(table, "gaussian_copula", "quick", seed=1)

    first = train_or_reuse(request, table.frame, registry, fit)
    again = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=1),
                           table.frame, registry, fit)
    assert fit.seeds == [1]
    assert not first.reused and again.reused
    assert again.record == first.record == registry.get(first.model_id)
    assert first.model_id == again.model_id == first.record.model_id

    other = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=2),
                           table.frame, registry, fit)
    assert fit.seeds == [1, 2]
    assert not other.reused and other.model_id != first.model_id


def test_a_background_fitter_gets_the_id_its_job_will_store(table, registry):
    request = plan_request(table, "gaussian_copula", "quick", seed=3)
    started = train_or_reuse(request, table.frame, registry, lambda r, f, listener: "job-7")
    assert started.record is None and started.job_id == "job-7" and not started.reused
    assert started.model_id == training_key(request)
    assert registry.get(started.model_id) is None  # nothing stored until the job ends

    fit_in_process(registry)(request, table.frame, lambda progress: None)  # the job's work

    def must_not_fit(request, frame, listener):
        raise AssertionError("a stored model was fitted again")

    reused = train_or_reuse(request, table.frame, registry, must_not_fit)
    assert reused.reused and reused.record.model_id == started.model_id


def test_run_model_records_the_scores_and_reuses_on_the_second_run(table, registry):
    fit = CountingFitter(registry)
    request = plan_request(table, "gaussian_copula", "quick", seed=4)
    first = run_model(table, request, registry, fit, rows=300, seed=4)
    assert len(first.sample.frame) == 300 and not first.reused and first.timings["fit_s"] > 0
    assert registry.get(first.record.model_id).scores == scores_for_registry(first.evaluation)

    lines: list[str] = []
    second = run_model(table, request, registry, fit, rows=300, seed=4, log=lines.append)
    assert fit.seeds == [4] and second.reused and second.timings["fit_s"] == 0.0
    assert any("reusing it" in line for line in lines)
    assert second.sample.frame.equals(first.sample.frame)  # same model + seed → same rows


def test_the_cli_the_train_page_and_compare_get_one_model_for_one_request(small_csv, table,
                                                                          tmp_path):
    from streamlit.testing.v1 import AppTest

    from core.__main__ import main

    out = tmp_path / "out"
    assert main(["run", "--data", str(small_csv), "--synthesizer", "gaussian_copula",
                 "--target", "churned", "--out", str(out), "--preset", "quick",
                 "--rows", "200", "--seed", "0"]) == 0
    cli_model = json.loads((out / "metrics.json").read_text())["model_id"]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(small_csv.name, small_csv.read_bytes(),
                                               "text/csv")
    at.run()
    uploaded = at.session_state["studio.dataset"]
    at.selectbox(key=f"target_select_{uploaded.fingerprint}").set_value("churned").run()
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    at.radio(key="train_preset").set_value("quick").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    # A browser workspace never sees the command line's models: it fits its own copy, and
    # that copy has the same id.
    deadline = time.monotonic() + 240
    while "studio.current_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert at.session_state["studio.current_model"].model_id == cli_model

    results = compare(table, [("gaussian_copula", "quick")],
                      split=SplitSpec(seed=0, target="churned"), rows=200)
    assert results[0].reused and results[0].record.model_id == cli_model


def test_compare_reuses_the_model_train_trained_instead_of_a_shorter_fit(table, registry):
    # Train's request for TVAE quick, fitted once (as the Train page would).
    fit = CountingFitter(registry)
    trained = train_or_reuse(plan_request(table, "tvae", "quick", seed=5), table.frame,
                             registry, fit)
    assert fit.seeds == [5] and not trained.reused
    # A tight budget: on its own, Compare would plan a shorter fit (another model id).
    budget = 7.5  # a few seconds of fit once sampling and evaluation are kept aside
    shorter = plan_request(table, "tvae", "quick", seed=5, fit_budget=budget - 5.0)
    assert training_key(shorter) != trained.model_id

    results = compare(table, [("tvae", "quick")], budget=budget, seed=5, rows=200,
                      registry=registry)
    assert results[0].reused and results[0].record.model_id == trained.model_id
    assert [r.model_id for r in registry.list_for_data(table.fingerprint)] == [
        trained.model_id]  # no second model was fitted
    row = leaderboard_rows(results)[0]
    assert row["preset"] == "quick" and row["model_id"] == trained.model_id
    assert row["reused"] and row["epochs"] == trained.record.epochs_run
    # The attack risk the guard counts is on the board, and no epsilon for a non-DP model.
    surest = min(risk.ci[0] for risk in results[0].evaluation.attacks.risks) <= \
        row["attack_risk"] <= max(risk.ci[0] for risk in results[0].evaluation.attacks.risks)
    assert surest and row["epsilon"] is None


def test_a_budget_shortened_fit_is_labelled_by_its_budget_and_its_epochs_are_those_run(
        table, registry):
    results = compare(table, [("tvae", "quick")], budget=7.5, seed=6, rows=200,
                      registry=registry)
    record = results[0].record
    assert record is not None and not results[0].reused
    row = leaderboard_rows(results)[0]
    limit = record.params["time_limit"]
    assert limit < resolve_params("tvae", "quick")["time_limit"]  # the budget's, not 20 s
    assert row["preset"] == record.preset == f"quick (budget {limit} s)"
    # The epochs column is what ran; no label states another count.
    assert row["epochs"] == record.epochs_run and 1 <= record.epochs_run <= record.params[
        "epochs"]
    for label in (row["preset"], record.label):
        stated = re.findall(r"(\d+) epochs", label)
        assert stated in ([], [str(record.epochs_run)]), label


# --------------------------------------------------------------------------- thresholds


def _quality(score: float) -> SimpleNamespace:
    return SimpleNamespace(
        quality_score=score,
        quality_properties=pd.DataFrame({"Property": ["Column Shapes", "Column Pair Trends"],
                                         "Score": [score, score]}),
    )


def _attacks(risk: float | None) -> SimpleNamespace | None:
    """Four attacks whose surest (low end of the interval) is ``risk``, or None."""
    if risk is None:
        return None
    low = SimpleNamespace(risk=risk / 3, ci=(0.0, risk))
    return SimpleNamespace(singling_out=SimpleNamespace(risk=risk + 0.05,
                                                        ci=(risk, min(risk + 0.1, 1.0))),
                           linkability=low, inference=low, membership=low)


def _evaluation(exact: float, share: float, by_chance: float,
                attack: float | None = None) -> SimpleNamespace:
    """What selection_score and the verdict read, from the same privacy numbers."""
    privacy = SimpleNamespace(exact_match_rate=exact, holdout_exact_match_rate=by_chance,
                              dcr_share=share)
    quality = _quality(0.8)
    attacks = _attacks(attack)
    return SimpleNamespace(privacy=privacy, quality=quality, utility=None, attacks=attacks,
                           verdict=make_verdict(quality, None, privacy,  # type: ignore[arg-type]
                                                attacks=attacks))  # type: ignore[arg-type]


@pytest.mark.parametrize("attack", [None, 0.01, 0.1, 0.4])
@pytest.mark.parametrize("by_chance", [0.0, 0.004, 0.03, 0.3])
def test_compare_calls_eligible_exactly_what_the_verdict_calls_acceptable_privacy(by_chance,
                                                                                  attack):
    seen = set()
    for exact in by_chance + np.linspace(-0.02, 0.12, 57):
        for share in np.linspace(0.40, 1.00, 61):
            evaluation = _evaluation(max(float(exact), 0.0), float(share), by_chance, attack)
            eligible, _, reason = selection_score(evaluation)  # type: ignore[arg-type]
            level = evaluation.verdict.privacy.level
            assert eligible == (level in ACCEPTABLE), (exact, share, level, reason)
            assert eligible == ("fails the privacy guard" not in reason)
            seen.add(level)
    # The grid crosses every boundary the attack risk leaves open: a risk above the fair
    # limit makes every reading poor, one above the good limit caps it at fair.
    expected = ({"poor"} if attack == 0.4 else {"fair", "poor"} if attack == 0.1
                else {"good", "fair", "poor"})
    assert seen == expected


def test_an_attack_that_succeeds_fails_the_guard_even_when_distances_look_fine():
    evaluation = _evaluation(0.0, 0.5, 0.0, attack=0.3)
    assert evaluation.verdict.privacy.level == "poor"
    assert "singling out" in evaluation.verdict.privacy.reason
    eligible, _, reason = selection_score(evaluation)  # type: ignore[arg-type]
    assert not eligible and "singling out risk at least 0.30" in reason
    assert selection_score(_evaluation(0.0, 0.5, 0.0, attack=0.02))[0]  # type: ignore[arg-type]


def test_the_guard_is_the_verdicts_fair_limit():
    assert selection_score(_evaluation(0.0, MAX_DCR_SHARE, 0.0))[0]  # type: ignore[arg-type]
    # Compare used to allow a DCR share up to 0.75; the verdict calls 0.72 poor privacy.
    poor = _evaluation(0.0, 0.72, 0.0)
    assert poor.verdict.privacy.level == "poor"
    assert not selection_score(poor)[0]  # type: ignore[arg-type]
    # Copies that unseen real rows match as often are not held against the model.
    assert selection_score(_evaluation(0.40, 0.5, 0.39))[0]  # type: ignore[arg-type]
    assert not selection_score(_evaluation(0.40, 0.5, 0.30))[0]  # type: ignore[arg-type]


def test_a_similarity_score_reads_the_same_as_a_badge_and_in_the_verdict():
    for score in np.linspace(0.0, 1.0, 201):
        verdict = make_verdict(_quality(float(score)), None, None)  # type: ignore[arg-type]
        assert fidelity_level(float(score)) == verdict.fidelity.level
        assert relations_reading(float(score)).level == verdict.fidelity.level
    # The Evaluate page used 0.90/0.75 for its badges: 0.87 and 0.72 now read as the verdict's.
    assert fidelity_level(0.87) == "good" and fidelity_level(0.72) == "fair"


@pytest.mark.parametrize(("epsilon", "strength"), [(0.5, "strong"), (3.0, "moderate"),
                                                   (30.0, "weak")])
def test_a_dp_model_is_named_with_its_epsilon_but_evidence_still_decides(epsilon, strength):
    quality = _quality(0.8)
    privacy = SimpleNamespace(exact_match_rate=0.0, holdout_exact_match_rate=0.0, dcr_share=0.5)
    good = make_verdict(quality, None, privacy, epsilon=epsilon)  # type: ignore[arg-type]
    assert good.privacy.level == "good"
    assert f"ε = {epsilon:.2g}" in good.privacy.reason and strength in good.privacy.reason
    # A leak the attacks measured is not hidden by the guarantee's name.
    leaky = make_verdict(quality, None, privacy, attacks=_attacks(0.3),  # type: ignore[arg-type]
                         epsilon=epsilon)
    assert leaky.privacy.level == "poor"
    plain = make_verdict(quality, None, privacy)  # type: ignore[arg-type]
    assert "ε" not in plain.privacy.reason


def test_a_noisy_attack_whose_interval_reaches_zero_is_not_held_against_the_model():
    """An independent model's yes/no column read 0.18 by chance, interval 0 to 0.38."""
    quality = _quality(0.8)
    privacy = SimpleNamespace(exact_match_rate=0.0, holdout_exact_match_rate=0.0, dcr_share=0.5)
    calm = SimpleNamespace(risk=0.0, ci=(0.0, 0.05))
    noisy = SimpleNamespace(singling_out=calm, linkability=calm, membership=calm,
                            inference=SimpleNamespace(risk=0.18, ci=(0.0, 0.38)))
    verdict = make_verdict(quality, None, privacy, attacks=noisy)  # type: ignore[arg-type]
    assert verdict.privacy.level == "good"
    assert "no attack gains a clear edge" in verdict.privacy.reason


def test_a_model_that_writes_text_draws_large_samples_in_a_worker():
    from core.workflow import IN_PROCESS_TEXT_ROWS, sample_in_process

    assert sample_in_process(IN_PROCESS_TEXT_ROWS * 4)  # a table model draws it in the app
    assert not sample_in_process(IN_PROCESS_TEXT_ROWS * 4, writes_text=True)
    assert sample_in_process(IN_PROCESS_TEXT_ROWS, writes_text=True)
