"""Explainability: permutation importance of models trained on real vs synthetic rows.

Known answers: every column drives the outcome, income most, then age, term and tenure.
Synthetic rows whose income was shuffled (same values, no link to the outcome) must
teach other drivers, agree less on their order and name income; an independent draw must
teach the same ones.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.errors import EvaluationError
from core.evaluation.importance import importance_figure, importance_scores

SCHEMA = TableSchema(columns=(
    ColumnSchema("row_id", "id"),
    ColumnSchema("income", "numerical"),
    ColumnSchema("age", "numerical"),
    ColumnSchema("term", "categorical"),
    ColumnSchema("tenure", "numerical"),
    ColumnSchema("approved", "boolean"),
), primary_key="row_id")


def make_loans(n: int, seed: int) -> pd.DataFrame:
    """Approval driven by income (most), age, term and tenure (least)."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n)
    age = rng.integers(18, 80, n)
    term = rng.choice(["short", "long"], n)
    tenure = rng.normal(size=n)
    score = ((income - 50) / 10 * 3.0 + (age - 50) / 18 * 2.0 + (term == "long") * 2.4
             + 1.0 * tenure)
    return pd.DataFrame({
        "row_id": np.arange(n) + seed * n,
        "income": income,
        "age": age,
        "term": term,
        "tenure": tenure,
        "approved": score + 0.5 * rng.normal(size=n) > 1.2,
    })


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = make_loans(1000, seed=1)
    return frame.iloc[:700], frame.iloc[700:]


def shuffled_income(seed: int = 3) -> pd.DataFrame:
    frame = make_loans(700, seed=seed)
    return frame.assign(income=np.random.default_rng(0).permutation(frame["income"].to_numpy()))


def test_an_independent_draw_teaches_the_same_drivers(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = importance_scores(train, holdout, make_loans(700, seed=2), SCHEMA, "approved",
                               seed=0)

    assert result.score == "roc_auc"
    assert result.top_real == result.top_synthetic == ["income", "age", "term"]
    assert result.top_overlap == 1.0
    assert result.rank_agreement > 0.6
    assert result.sentence.startswith(
        "The synthetic data teaches the same top 3 drivers as real data: income, age, term")
    table = result.table.set_index("column")
    assert set(table.index) == {"income", "age", "term", "tenure"}  # no id, target


def test_a_lost_driver_lowers_agreement_and_is_named(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    faithful = importance_scores(train, holdout, make_loans(700, seed=2), SCHEMA, "approved",
                                 seed=0)
    result = importance_scores(train, holdout, shuffled_income(), SCHEMA, "approved", seed=0)

    table = result.table.set_index("column")
    assert table.loc["income", "real_rank"] == 1
    assert table.loc["income", "synthetic"] < 0.25 * table.loc["income", "real"]
    assert table.loc["income", "synthetic_rank"] > 1
    assert result.rank_agreement <= 0.5 < faithful.rank_agreement - 0.4
    assert "teaches the same" not in result.sentence
    assert "'income' matters much less" in result.sentence


def test_same_seed_same_numbers_and_json_ready(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    first = importance_scores(train, holdout, shuffled_income(), SCHEMA, "approved", seed=5)
    again = importance_scores(train, holdout, shuffled_income(), SCHEMA, "approved", seed=5)

    assert first.as_dict() == again.as_dict()
    loaded = json.loads(json.dumps(first.as_dict(), allow_nan=False))
    assert -1 <= loaded["rank_agreement"] <= 1
    assert loaded["columns"]["income"]["real_rank"] == 1


def test_with_two_columns_rank_agreement_is_not_measured(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    schema = TableSchema(columns=(
        ColumnSchema("income", "numerical"), ColumnSchema("age", "numerical"),
        ColumnSchema("approved", "boolean"),
    ))
    columns = ["income", "age", "approved"]
    result = importance_scores(train[columns], holdout[columns], make_loans(700, 2)[columns],
                               schema, "approved", seed=0)

    assert math.isnan(result.rank_agreement)
    assert result.as_dict()["rank_agreement"] is None
    assert result.top_k == 2 and result.top_real == ["income", "age"]
    assert "rank agreement" not in result.sentence


def test_a_single_class_synthetic_target_relies_on_no_column(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = importance_scores(train, holdout, make_loans(700, 2).assign(approved=False),
                               SCHEMA, "approved", seed=0)

    assert (result.table["synthetic"] == 0).all()
    assert "always predicts the same value" in result.sentence


def test_a_number_target_uses_r2(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    result = importance_scores(train, holdout, make_loans(700, 2), SCHEMA, "income", seed=0)

    assert result.task == "regression" and result.score == "r2"
    assert result.top_real[0] == "approved"


def test_errors_name_the_problem(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = real
    with pytest.raises(EvaluationError, match="No target"):
        importance_scores(train, holdout, train, SCHEMA, None)
    with pytest.raises(EvaluationError, match="only one value"):
        importance_scores(train.assign(approved=True), holdout, train, SCHEMA, "approved")
    with pytest.raises(EvaluationError, match="not a column the synthesizer learns"):
        importance_scores(train, holdout, train, SCHEMA, "row_id")


def test_the_figure_puts_both_models_side_by_side(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = real
    result = importance_scores(train, holdout, shuffled_income(), SCHEMA, "approved", seed=0)
    figure = importance_figure(result)

    assert isinstance(figure, go.Figure)
    assert [trace.name for trace in figure.data] == ["Trained on real data",
                                                     "Trained on synthetic data"]
    assert list(figure.data[0].y)[-1] == "income"  # the top driver is drawn at the top


def test_batched_shuffles_give_scikit_learns_numbers(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance as sklearn_importance
    from sklearn.metrics import balanced_accuracy_score

    from core.evaluation.importance import permutation_importance

    train, holdout = real
    columns = ["income", "age", "tenure"]
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        train[columns], train["approved"])
    x, y = holdout[columns].reset_index(drop=True), holdout["approved"].to_numpy()

    ours = permutation_importance(
        model, x, y, lambda m, rows: m.predict(rows), balanced_accuracy_score,
        n_repeats=4, seed=11)
    theirs = sklearn_importance(model, x, y, scoring="balanced_accuracy", n_repeats=4,
                                random_state=11)

    np.testing.assert_allclose(ours[0], theirs.importances_mean, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs.importances_std, atol=1e-12)


def test_a_swap_of_the_weakest_driver_reads_as_mostly_the_same() -> None:
    from core.evaluation.importance import _ranks, _sentence

    real = np.array([0.30, 0.15, 0.05, 0.01])
    synthetic = np.array([0.28, 0.16, 0.03, 0.04])
    table = pd.DataFrame({
        "column": ["income", "age", "term", "tenure"], "real": real, "synthetic": synthetic,
        "real_std": np.full(4, 0.002), "synthetic_std": np.full(4, 0.002),
        "real_rank": _ranks(real), "synthetic_rank": _ranks(synthetic),
    })

    sentence = _sentence(table, 0.4, 3, False, "roc_auc")

    assert sentence.startswith("The synthetic data teaches mostly the same drivers")
    assert "income, age lead in both; real data's next is term, the synthetic data's tenure" \
        in sentence
