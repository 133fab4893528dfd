"""Planted truth and canaries: recovered structure, caught copies, no false alarms."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.datasets import FakeSpec, fake_dataset
from core.data.schema import prepare_training_frame
from core.data.splitting import SplitSpec, split_real, training_positions
from core.engine.metadata import detect_table
from core.errors import ParameterError
from core.evaluation.planted import (
    check_canaries,
    check_planted,
    nearest_synthetic,
    planted_truth,
    relation_change,
    share_change,
)

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


def test_a_share_that_triples_is_not_recovered_and_says_which_way(planted):
    # The case: an outlier group of 4.9 % became 15.7 % and was labelled recovered.
    assert share_change(0.049, 0.157) == "more"
    assert share_change(0.049, 0.010) == "fewer"
    assert share_change(0.049, 0.054) == "kept" and share_change(0.12, 0.10) == "kept"
    assert share_change(0.0, 0.0) == "fewer"  # nothing planted is never "kept"
    _, truth, train, _, _, _ = planted
    column = truth.outlier_column
    bloated = train.copy()
    ordinary = bloated.index[bloated[column] < bloated[column].median()]
    bloated.loc[ordinary[: len(bloated) // 10], column] *= 50  # 10 % more outliers
    check = next(c for c in check_planted(truth, train, bloated)
                 if c.measure.startswith(f"share of rows with {column}"))
    assert check.synthetic > 2 * check.real
    assert not check.recovered and check.change == "more"
    assert "over-produces" in check.explanation and "times the real share" in check.explanation


def test_a_relation_says_whether_it_weakened_grew_or_reversed():
    assert relation_change(0.75, 0.70) == "kept"
    assert relation_change(0.75, 0.50) == "weaker"
    assert relation_change(0.30, 0.60) == "stronger"
    assert relation_change(-0.37, 0.20) == "reversed"


def test_a_canary_copied_with_noise_is_caught_but_a_row_in_its_corner_is_not(planted):
    table, _, train, holdout, canaries, seen = planted
    inside = canaries[pd.Series(seen)].reset_index(drop=True)
    noisy = inside.copy()
    noisy["annual_income"] = noisy["annual_income"] * 1.001  # a copy with a tiny change
    result = check_canaries(inside, [True] * len(inside), train,
                            pd.concat([holdout, noisy], ignore_index=True), table.schema)
    assert result.exact_copies == 0 and result.near_copies == len(inside)
    # The same huge numbers in another state: one category apart (distance 1), which can be
    # nearer than the canary's nearest real neighbour, but it is not that person's row.
    corner = inside.copy()
    values = train["state"].dropna().unique()
    corner["state"] = [next(v for v in values if v != mine) for mine in inside["state"]]
    result = check_canaries(inside, [True] * len(inside), train,
                            pd.concat([holdout, corner], ignore_index=True), table.schema)
    assert any(c.nearest_distance < c.other_real_distance for c in result.checks)
    assert result.near_copies == 0 and "generalised" in result.explanation


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
