"""Bias check: sensitive-column suggestions, outcome rates per group and model gaps.

Known answers: a "synthesizer" that gives every woman the positive outcome must widen every
gap and say so; an independent draw from the same distribution must not.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.errors import EvaluationError
from core.evaluation.fairness import (
    MIN_GROUP_ROWS,
    N_BANDS,
    fairness_figure,
    fairness_scores,
    suggest_sensitive_columns,
)
from tests.helpers import make_people

SCHEMA = TableSchema(columns=(
    ColumnSchema("row_id", "id"),
    ColumnSchema("income", "numerical"),
    ColumnSchema("age", "numerical"),
    ColumnSchema("sex", "categorical"),
    ColumnSchema("term", "categorical"),
    ColumnSchema("region", "categorical"),
    ColumnSchema("email", "email", pii=True, action="fake"),
    ColumnSchema("approved", "categorical"),
), primary_key="row_id")


def make_loans(n: int, seed: int) -> pd.DataFrame:
    """Approval (rare 'yes') driven by income, age and term; sex plays no part."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n)
    age = rng.integers(18, 80, n)
    term = rng.choice(["short", "long"], n)
    score = (income - 50) / 10 * 1.5 + (age - 50) / 20 + (term == "long") * 0.8
    approved = score + 0.7 * rng.normal(size=n) > 1.2
    return pd.DataFrame({
        "row_id": np.arange(n) + seed * n,
        "income": income,
        "age": age,
        "sex": rng.choice(["M", "F"], n),
        "term": term,
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.29, 0.01]),
        "email": [f"p{seed}_{i}@example.com" for i in range(n)],
        "approved": np.where(approved, "yes", "no").astype(object),
    })


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = make_loans(1500, seed=1)
    return frame.iloc[:1050], frame.iloc[1050:]


@pytest.fixture(scope="module")
def flipped() -> pd.DataFrame:
    """Synthetic rows where every woman is approved: a bias the real data never had."""
    frame = make_loans(1050, seed=3)
    frame.loc[frame["sex"] == "F", "approved"] = "yes"
    return frame


# --------------------------------------------------------------------------- suggestions


def test_suggestions_find_sensitive_columns_by_name_and_by_value() -> None:
    people = make_people(200)
    rng = np.random.default_rng(0)
    frame = people.assign(
        sex=rng.choice(["male", "female"], 200),
        gender=rng.choice(["w", "m", "d"], 200),
        age_band=rng.choice(["18-25", "26-40", "41-65", "65+"], 200),
        code=rng.choice(["M", "F"], 200),  # a harmless name, but the values are sexes
        amount=rng.normal(100, 10, 200),
        size=rng.choice(["S", "M", "L"], 200),  # one letter matches, the others do not
        usage=rng.choice(["low", "high"], 200),  # "age" inside a word is no age
        Geschlecht=rng.choice(["a", "b"], 200),
        nationalité=rng.choice(["x", "y"], 200),
        home=rng.choice(["France", "Germany", "Spain", "Italy"], 200),
    )
    kinds = {"sex": "categorical", "gender": "categorical", "age_band": "categorical",
             "code": "categorical", "amount": "numerical", "size": "categorical",
             "usage": "categorical", "Geschlecht": "categorical",
             "nationalité": "categorical", "home": "categorical", "state": "categorical",
             "age": "numerical", "income": "numerical", "churned": "boolean",
             "is_member": "categorical"}
    columns = [ColumnSchema("customer_id", "id"),
               ColumnSchema("name", "name", pii=True, action="fake")]
    columns += [ColumnSchema(name, sdtype) for name, sdtype in kinds.items()]
    schema = TableSchema(columns=tuple(columns), primary_key="customer_id")

    found = suggest_sensitive_columns(frame, schema, target="churned")

    assert found == ["sex", "gender", "age_band", "code", "Geschlecht", "nationalité",
                     "home", "age"]
    # The target is never suggested, even when its name says "gender".
    assert "gender" not in suggest_sensitive_columns(frame, schema, target="gender")


def test_suggestions_skip_columns_that_are_not_modelled() -> None:
    frame = pd.DataFrame({"sex": ["M", "F"] * 10, "x": range(20)})
    schema = TableSchema(columns=(ColumnSchema("sex", "categorical", action="drop"),
                                  ColumnSchema("x", "numerical")))
    assert suggest_sensitive_columns(frame, schema) == []


# --------------------------------------------------------------------------- rates and gaps


def test_a_synthesizer_that_favours_one_group_widens_every_gap(
    real: tuple[pd.DataFrame, pd.DataFrame], flipped: pd.DataFrame
) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, flipped, SCHEMA, "approved", ["sex"], seed=0)

    assert result.positive_class == "yes"  # the minority class is the outcome
    sex = result.columns["sex"]
    rates = sex.rates.set_index("group")
    assert rates.loc["F", "synthetic_rate"] == 1.0
    assert rates.loc["F", "real_rate"] < 0.5
    assert sex.rate_gap["synthetic"] > sex.rate_gap["real"] + 0.3
    assert sex.demographic_parity is not None and sex.equalized_odds is not None
    assert sex.demographic_parity["synthetic"] > sex.demographic_parity["real"] + 0.3
    assert sex.equalized_odds["synthetic"] > sex.equalized_odds["real"]
    assert sex.widened and result.widened_columns == ["sex"]
    assert "more unequally" in sex.sentence and "widened the gap" in sex.sentence


def test_an_independent_draw_keeps_the_gaps(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, make_loans(1050, seed=2), SCHEMA, "approved",
                             ["sex", "age"], seed=0)

    assert result.widened_columns == []
    for column in result.columns.values():
        assert column.demographic_parity is not None
        assert abs(column.demographic_parity["synthetic"]
                   - column.demographic_parity["real"]) < 0.15
        assert "widened" not in column.sentence
    assert "about as unequally as" in result.columns["sex"].sentence


def test_number_columns_become_quantile_bands_and_small_groups_are_flagged(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, make_loans(1050, seed=2), SCHEMA, "approved",
                             ["age", "region"], seed=0)

    age = result.columns["age"]
    assert age.banded and len(age.rates) == N_BANDS
    assert age.rates["group"].iloc[0].startswith("up to ")
    assert age.rates["group"].iloc[-1].endswith(" and over")
    assert age.rates["real_rows"].sum() == len(train)
    region = result.columns["region"].rates.set_index("group")
    # 'west' holds ~1% of rows: fewer than MIN_GROUP_ROWS, pooled and not judged.
    assert "west" not in region.index
    other = region.loc["(other values)"]
    assert other["real_rows"] < MIN_GROUP_ROWS and not other["reliable"]
    assert "(other values)" in result.columns["region"].sentence


def test_a_number_target_compares_averages_and_skips_the_model_gaps(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, make_loans(1050, seed=2), SCHEMA, "income",
                             ["sex"], seed=0)

    sex = result.columns["sex"]
    assert result.task == "regression" and result.positive_class is None
    assert result.gaps_skipped is not None and "yes/no" in result.gaps_skipped
    assert sex.demographic_parity is None and sex.equalized_odds is None
    assert sex.rates["real_rate"].between(45, 55).all()
    assert "average 'income'" in sex.sentence


def test_more_than_two_classes_use_the_minority_class_one_vs_rest(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, make_loans(1050, seed=2), SCHEMA, "region",
                             ["sex"], seed=0)

    assert result.positive_class == "west"
    assert result.outcome == "share of 'region' = 'west'"


def test_same_seed_same_numbers_and_json_ready(
    real: tuple[pd.DataFrame, pd.DataFrame], flipped: pd.DataFrame
) -> None:
    train, holdout = real
    first = fairness_scores(train, holdout, flipped, SCHEMA, "approved", ["sex", "age"], seed=4)
    again = fairness_scores(train, holdout, flipped, SCHEMA, "approved", ["sex", "age"], seed=4)

    assert first.as_dict() == again.as_dict()
    text = json.dumps(first.as_dict(), allow_nan=False)
    loaded = json.loads(text)
    assert set(loaded["columns"]) == {"sex", "age"}
    assert set(loaded["columns"]["sex"]["demographic_parity_difference"]) == {"real",
                                                                              "synthetic"}


def test_errors_name_the_problem(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    with pytest.raises(EvaluationError, match="No target"):
        fairness_scores(train, holdout, train, SCHEMA, None, ["sex"])
    with pytest.raises(EvaluationError, match="only one value"):
        fairness_scores(train.assign(approved="no"), holdout, train, SCHEMA, "approved",
                        ["sex"])
    with pytest.raises(EvaluationError, match="cannot also be a sensitive column"):
        fairness_scores(train, holdout, train, SCHEMA, "approved", ["sex", "approved"])
    with pytest.raises(EvaluationError, match="'email'"):
        fairness_scores(train, holdout, train, SCHEMA, "approved", ["email"])
    with pytest.raises(EvaluationError, match="No sensitive column"):
        fairness_scores(train, holdout, train, SCHEMA, "approved", [])


def test_the_figure_shows_real_and_synthetic_rates_per_group(
    real: tuple[pd.DataFrame, pd.DataFrame], flipped: pd.DataFrame
) -> None:
    train, holdout = real
    result = fairness_scores(train, holdout, flipped, SCHEMA, "approved", ["sex"], seed=0)
    figure = fairness_figure(result, "sex")

    assert isinstance(figure, go.Figure)
    assert [trace.name for trace in figure.data] == ["Real data", "Synthetic data"]
    synthetic = dict(zip(figure.data[1].x, figure.data[1].y, strict=True))
    assert synthetic["F"] == 1.0
