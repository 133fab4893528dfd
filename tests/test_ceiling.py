"""The holdout ceiling and the discriminator (core/evaluation/ceiling.py) on known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.data.schema import ColumnSchema, TableSchema, prepare_training_frame
from core.errors import EvaluationError
from core.evaluation.ceiling import (
    CEILING_SCORES,
    CeilingResult,
    ceiling_figure,
    discriminator_figure,
    hanley_mcneil_interval,
    holdout_ceiling,
)
from core.evaluation.fidelity import column_scores
from tests.helpers import make_people

SCHEMA = TableSchema(
    columns=(
        ColumnSchema("customer_id", "id"),
        ColumnSchema("name", "name", pii=True, action="fake"),
        ColumnSchema("contact", "email", pii=True, action="fake"),
        ColumnSchema("ssn", "ssn", pii=True, action="fake"),
        ColumnSchema("state", "categorical"),
        ColumnSchema("age", "numerical"),
        ColumnSchema("support_calls", "numerical"),
        ColumnSchema("is_member", "categorical"),
        ColumnSchema("active", "boolean"),
        ColumnSchema("income", "numerical"),
        ColumnSchema("job_title", "categorical", action="drop"),
        ColumnSchema("comment", "categorical", action="drop"),
        ColumnSchema("signed_up", "datetime"),
        ColumnSchema("churned", "boolean"),
    ),
    primary_key="customer_id",
)


def people(n: int, seed: int) -> pd.DataFrame:
    """make_people with relations a wrong sample can lose, rows drawn independently.

    Income follows age, support calls follow churn, sign-up dates are random (make_people's
    are consecutive days, which would make any two row ranges trivially distinguishable).
    """
    frame = make_people(n, seed)
    rng = np.random.default_rng(seed)
    frame["income"] = (20_000 + 700 * frame["age"] + rng.normal(0, 5_000, n)).round(2)
    frame["support_calls"] = rng.poisson(np.where(frame["churned"], 5, 1))
    frame["signed_up"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        rng.integers(0, 1_500, n), unit="D")
    return prepare_training_frame(frame, SCHEMA)


def wrong(frame: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """Every column shuffled on its own (relations gone) and the numbers shifted."""
    rng = np.random.default_rng(seed)
    shuffled = pd.DataFrame({name: frame[name].to_numpy()[rng.permutation(len(frame))]
                             for name in frame.columns})
    shuffled["income"] = shuffled["income"] * 1.3
    shuffled["age"] = shuffled["age"] + 12
    return shuffled


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training, held-out and an independent "synthetic" draw of the same distribution."""
    rows = people(1_500, seed=11)
    return rows.iloc[:600], rows.iloc[600:900], rows.iloc[900:]


@pytest.fixture(scope="module")
def faithful(real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> CeilingResult:
    train, holdout, synthetic = real
    return holdout_ceiling(train, holdout, synthetic, SCHEMA, seed=0)


def test_an_independent_draw_reaches_the_ceiling_and_cannot_be_told_apart(
    faithful: CeilingResult,
) -> None:
    assert faithful.rows_compared == 300  # the held-out size: 300 of the 600 synthetic rows
    assert set(faithful.holdout_ceiling) == set(CEILING_SCORES)
    for name in CEILING_SCORES:
        assert 0.7 < faithful.holdout_ceiling[name] <= 1.0
        assert faithful.reaches(name) == pytest.approx(1.0, abs=0.04), name
    assert faithful.discriminator_auc == pytest.approx(0.5, abs=0.06)
    low, high = faithful.discriminator.ci
    assert low < 0.5 < high
    assert faithful.holdout_discriminator_auc == pytest.approx(0.5, abs=0.08)
    assert faithful.discriminator.rows_per_side == 600
    assert faithful.holdout_discriminator.rows_per_side == 300


def test_a_wrong_sample_falls_far_below_the_ceiling_and_is_told_apart(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], faithful: CeilingResult,
) -> None:
    train, holdout, synthetic = real
    result = holdout_ceiling(train, holdout, wrong(synthetic), SCHEMA, seed=0)
    assert result.holdout_ceiling == faithful.holdout_ceiling  # the yardstick is the same
    assert result.reaches("quality_score") < 0.85
    assert result.reaches("column_shapes") < 0.97  # two of eight columns shifted
    assert result.reaches("column_pair_score") < 0.97
    assert result.discriminator_auc > 0.85
    assert result.discriminator.ci[0] > 0.8
    assert result.holdout_discriminator_auc < 0.6
    assert "of what real data achieves" in result.sentences["quality_score"]
    assert "0.5 = indistinguishable" in result.sentences["discriminator"]


def test_a_copy_of_the_training_rows_cannot_be_told_apart(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    """Identical rows share a fold: a copy scores chance, not a far-below-0.5 artefact."""
    train, holdout, _ = real
    result = holdout_ceiling(train, holdout, train.copy(), SCHEMA, seed=0)
    assert result.discriminator_auc == pytest.approx(0.5, abs=1e-9)
    assert result.reaches("quality_score") > 1.0  # closer than real new rows: privacy's job


def test_same_seed_same_numbers(real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                                faithful: CeilingResult) -> None:
    train, holdout, synthetic = real
    again = holdout_ceiling(train, holdout, synthetic, SCHEMA, seed=0)
    assert again.as_dict() == faithful.as_dict()
    assert again.sentences == faithful.sentences
    other = holdout_ceiling(train, holdout, synthetic, SCHEMA, seed=1)
    assert other.synthetic_at_holdout_size != faithful.synthetic_at_holdout_size


def test_very_different_sizes_are_compared_at_the_held_out_size() -> None:
    """60 held-out rows vs 3,000 synthetic rows: the synthetic side is cut to 60 rows.

    At full size the synthetic column shapes would beat real new rows by sample size alone.
    """
    rows = people(4_060, seed=5)
    train, holdout, synthetic = rows.iloc[:1_000], rows.iloc[1_000:1_060], rows.iloc[1_060:]
    result = holdout_ceiling(train, holdout, synthetic, SCHEMA, seed=0)
    assert result.rows_compared == 60
    assert result.rows == {"real_train": 1_000, "holdout": 60, "synthetic": 3_000}
    assert result.reaches("column_shapes") == pytest.approx(1.0, abs=0.06)
    full_size = np.mean([s.score for s in column_scores(train, synthetic, SCHEMA)])
    assert full_size > result.holdout_ceiling["column_shapes"] + 0.05
    assert "60 rows compared with 1,000 training rows" in result.sentences["column_shapes"]


def test_metrics_sentences_figures_and_progress(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], faithful: CeilingResult,
) -> None:
    document = json.loads(json.dumps(faithful.as_dict(), allow_nan=False))
    assert document["holdout_ceiling"].keys() == set(CEILING_SCORES)
    assert document["discriminator_auc"] == round(faithful.discriminator_auc, 4)
    assert document["rows_compared"] == 300
    quality = faithful.holdout_ceiling["quality_score"]
    assert f"never saw score {quality:.0%}" in faithful.sentences["quality_score"]
    assert f"AUC {faithful.discriminator_auc:.2f}" in faithful.summary
    bars = ceiling_figure(faithful)
    assert [trace.name for trace in bars.data] == ["Real rows never seen (ceiling)",
                                                   "Synthetic rows"]
    assert list(bars.data[0].y) == [faithful.holdout_ceiling[n] for n in CEILING_SCORES]
    auc = discriminator_figure(faithful)
    assert auc.data[1].y[0] == faithful.discriminator_auc

    train, holdout, synthetic = real
    seen: list[float] = []
    holdout_ceiling(train.iloc[:100], holdout.iloc[:50], synthetic.iloc[:80], SCHEMA,
                    progress=lambda fraction, _message: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_too_few_rows_and_no_rows(real: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout, synthetic = real
    tiny = holdout_ceiling(train, holdout.iloc[:5], synthetic, SCHEMA)
    assert math.isnan(tiny.holdout_discriminator_auc)
    assert not math.isnan(tiny.discriminator_auc)
    assert tiny.as_dict()["holdout_discriminator_auc"] is None
    with pytest.raises(EvaluationError, match="held-out"):
        holdout_ceiling(train, holdout.iloc[:0], synthetic, SCHEMA)


def test_hanley_mcneil_interval() -> None:
    low, high = hanley_mcneil_interval(0.8, 50, 50)
    assert (high - low) / 2 == pytest.approx(1.96 * 0.0445, abs=0.002)
    narrow = hanley_mcneil_interval(0.8, 5_000, 5_000)
    assert narrow[0] > low and narrow[1] < high
    assert hanley_mcneil_interval(1.0, 50, 50) == (1.0, 1.0)
