"""Planted truth and canaries: recovered structure, caught copies, no false alarms."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.datasets import FakeSpec, fake_dataset
from core.data.schema import prepare_training_frame
from core.data.splitting import SplitSpec, split_real, training_positions
from core.engine.metadata import detect_table
from core.errors import ParameterError
from core.evaluation.planted import check_canaries, check_planted, nearest_synthetic, planted_truth

SPEC = FakeSpec(domain="loans", rows=2000, correlation=0.9, rare_rate=0.1, outlier_rate=0.05,
                canaries=10, pii_columns=(), seed=11)


@pytest.fixture(scope="module")
def planted():
    frame = fake_dataset(SPEC)
    truth = planted_truth(SPEC)
    table = detect_table(frame, "loans", "test", target="defaulted", planted=truth)
    prepared = prepare_training_frame(frame, table.schema)
    split = SplitSpec(target="defaulted")
    train, holdout = split_real(prepared, split)
    in_training = training_positions(prepared, split)
    canaries = prepared.iloc[list(truth.canary_positions)].reset_index(drop=True)
    seen = [p in in_training for p in truth.canary_positions]
    return table, truth, train, holdout, canaries, seen


def test_canaries_and_outliers_are_planted_deterministically():
    frame = fake_dataset(SPEC)
    truth = planted_truth(SPEC)
    assert truth.canary_positions == tuple(range(1990, 2000))
    canaries = frame.iloc[list(truth.canary_positions)]
    ordinary = frame.drop(index=list(truth.canary_positions))
    assert (canaries["annual_income"] > ordinary["annual_income"].max()).all()
    assert canaries.notna().all().all() and canaries["defaulted"].all()
    outliers = frame.iloc[list(truth.outlier_positions)]
    assert len(outliers) == 100
    assert outliers["annual_income"].median() > 4 * ordinary["annual_income"].median()
    pd.testing.assert_frame_equal(frame, fake_dataset(SPEC))
    with pytest.raises(ParameterError, match="canaries"):
        FakeSpec(rows=100, canaries=20).validate()


def test_planted_structure_is_found_in_the_real_data_itself(planted):
    _, truth, train, _, _, _ = planted
    checks = check_planted(truth, train, train)
    assert len(checks) == 5 and all(c.recovered for c in checks)
    income_score = next(c for c in checks
                        if c.measure == "rank correlation of annual_income and credit_score")
    assert income_score.real > 0.6


def test_structure_lost_by_shuffling_is_reported(planted):
    _, truth, train, _, _, _ = planted
    shuffled = train.copy()
    for seed, column in enumerate(shuffled.columns):  # each column its own order
        shuffled[column] = shuffled[column].sample(frac=1.0, random_state=seed).to_numpy()
    checks = {c.measure: c for c in check_planted(truth, train, shuffled)}
    assert not checks["rank correlation of annual_income and credit_score"].recovered
    assert checks["share of rows with defaulted true"].recovered  # shares survive shuffling


def test_an_exact_copy_of_a_canary_is_caught(planted):
    table, _, train, holdout, canaries, seen = planted
    leaked = pd.concat([holdout, canaries[pd.Series(seen)]], ignore_index=True)
    result = check_canaries(canaries, seen, train, leaked, table.schema)
    assert result.seen == sum(seen) > 0
    assert result.exact_copies == result.seen and result.near_copies == result.seen
    assert "memorised" in result.explanation


def test_no_false_alarm_on_independent_data(planted):
    table, _, train, _, canaries, seen = planted
    other = fake_dataset(FakeSpec(domain="loans", rows=2000, correlation=0.9, rare_rate=0.1,
                                  pii_columns=(), seed=99))
    independent = prepare_training_frame(other, table.schema)
    result = check_canaries(canaries, seen, train, independent, table.schema)
    assert result.exact_copies == 0 and result.near_copies == 0
    assert "generalised" in result.explanation


def test_record_explorer_finds_the_copy_first(planted):
    table, _, train, holdout, _, _ = planted
    row = train.iloc[[5]]
    pool = pd.concat([holdout, row], ignore_index=True)
    neighbours, distances = nearest_synthetic(row, train, pool, table.schema, k=3)
    assert distances[0] == 0 and len(neighbours) == 3
    assert list(distances) == sorted(distances)
