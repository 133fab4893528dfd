"""The verdict says what is thin: few rows, thin classes, classes dropped or multiplied."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation import EvaluationResult, SampleDesign, evaluate_all
from core.evaluation.thresholds import MIN_CLASS_ROWS, MIN_REAL_ROWS
from core.evaluation.verdict import data_warnings
from tests.test_evaluation import make_frame, make_schema, split

SDTYPES = {"segment": "categorical", "label": "categorical", "x": "numerical"}


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(make_frame(3000, seed=1))


def test_a_healthy_evaluation_has_no_warning(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    result = evaluate_all(train, holdout, make_frame(2000, seed=2), make_schema(), "label")
    assert result.verdict.warnings == ()


def test_a_30_row_table_is_called_unreliable() -> None:
    train, holdout = split(make_frame(30, seed=1))
    result = evaluate_all(train, holdout, make_frame(30, seed=2), make_schema(), "label")
    warnings = result.verdict.warnings
    assert any("only 30 rows" in w and "unreliable" in w and f"{MIN_REAL_ROWS:,}" in w
               for w in warnings), warnings


def test_a_thin_target_class_is_named_with_its_count() -> None:
    frame = make_frame(2000, seed=1)
    # Keep only 12 'yes' rows: enough rows overall, one thin class.
    frame = pd.concat([frame[frame["label"] == "no"], frame[frame["label"] == "yes"].head(12)])
    train, holdout = split(frame)
    warnings = data_warnings(train, holdout, frame, "label", SDTYPES)
    assert len(warnings) == 1, warnings
    assert "'yes' (12 rows)" in warnings[0] and f"fewer than {MIN_CLASS_ROWS}" in warnings[0]


def test_a_dropped_class_is_named_with_both_shares(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    synthetic = make_frame(2000, seed=2).assign(label="no")
    result = evaluate_all(train, holdout, synthetic, make_schema(), "label")
    real_share = (train["label"] == "yes").mean()
    sentence = next(w for w in result.verdict.warnings if "'label'" in w)
    assert "drops 'yes'" in sentence and f"{real_share:.1%}" in sentence, sentence


def test_a_collapsed_and_a_tripled_class_are_named(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """TVAE-like collapse (23.9 % -> 0.4 %) and an outlier group that triples."""
    train, _ = real
    rng = np.random.default_rng(0)
    n = 3000
    real_frame = pd.DataFrame({"segment": rng.choice(["a", "b", "c"], n, p=[0.712, 0.239, 0.049]),
                               "x": rng.normal(size=n), "label": "no"})
    synthetic = pd.DataFrame({"segment": rng.choice(["a", "b", "c"], n, p=[0.839, 0.004, 0.157]),
                              "x": rng.normal(size=n), "label": "no"})
    warnings = data_warnings(real_frame, real_frame.head(1000), synthetic, None, SDTYPES)
    sentence = next(w for w in warnings if "'segment'" in w)
    b_real = (real_frame["segment"] == "b").mean()
    b_synth = (synthetic["segment"] == "b").mean()
    assert f"shrinks 'b' to {b_synth:.1%}" in sentence and f"{b_real:.1%}" in sentence
    assert "multiplies 'c'" in sentence
    assert "'a'" not in sentence  # 71 % -> 84 % is not a strong change


def test_a_rebalanced_sample_is_judged_against_the_asked_for_shares(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    synthetic = make_frame(2000, seed=2)
    synthetic["label"] = np.where(np.arange(2000) < 1000, "yes", "no")
    asked = SampleDesign(class_shares={"yes": 0.5, "no": 0.5}, rebalanced_column="label")
    result = evaluate_all(train, holdout, synthetic, make_schema(), "label", design=asked)
    warnings = result.verdict.warnings
    # Labelled as rebalanced, and 50 % 'yes' (10 times the real share) is what was asked.
    assert any("rebalanced on 'label' on purpose" in w and "'yes' 50.0%" in w for w in warnings)
    assert not any("In 'label'" in w for w in warnings), warnings
    assert result.design == asked
    # The same rows judged as a plain sample: 'yes' is multiplied against the real share.
    plain = data_warnings(train, holdout, synthetic, "label", SDTYPES)
    assert any("multiplies 'yes'" in w and "of real rows" in w for w in plain), plain
    # Asked for 90 % 'yes' but got 50 %: judged against the asked-for share.
    missed = SampleDesign(class_shares={"yes": 0.1, "no": 0.9}, rebalanced_column="label")
    judged = data_warnings(train, holdout, synthetic, "label", SDTYPES, missed)
    assert any("multiplies 'yes'" in w and "10.0% asked for" in w for w in judged), judged


def test_fixed_columns_are_said_and_not_judged(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    synthetic = make_frame(2000, seed=2).assign(segment="high")
    design = SampleDesign(fixed_values={"segment": "high"})
    warnings = data_warnings(train, holdout, synthetic, "label", SDTYPES, design)
    assert any("'segment' = 'high'" in w for w in warnings)
    assert not any("In 'segment'" in w for w in warnings)


def test_metrics_json_carries_the_warnings() -> None:
    """metrics.json gains the warnings (a new key; the old ones stay)."""
    from types import SimpleNamespace

    from core.evaluation.outputs import build_metrics

    train, holdout = split(make_frame(30, seed=1))
    result: EvaluationResult = evaluate_all(train, holdout, make_frame(30, seed=2),
                                            make_schema(), "label")
    record = SimpleNamespace(synthesizer="gaussian_copula", preset="fast", params={}, seed=0,
                             device="cpu", model_id="m", train_rows=len(train))
    sample = SimpleNamespace(frame=make_frame(30, seed=2), fixed_values={}, class_shares={},
                             rebalanced_column=None)
    metrics = build_metrics(record, sample, result, 30, {})  # type: ignore[arg-type]
    assert metrics["verdict_warnings"] == list(result.verdict.warnings)
    assert metrics["verdict"]["fidelity"]["level"] == result.verdict.fidelity.level
    assert metrics["sample_design"] == {"fixed_values": {}, "class_shares": {},
                                        "rebalanced_column": None}
