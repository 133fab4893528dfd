"""Privacy attacks with a held-out baseline: known answers on small seeded tables.

A "synthesizer" that hands back its training rows must be caught by every attack; an
independent sample of the same population must not be; tiny or awkward tables give a
result with notes, never an exception.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.data.schema import ColumnSchema, TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, split_real
from core.errors import EvaluationError
from core.evaluation.attacks import (
    ATTACK_NAMES,
    MAX_ATTACKS,
    AttackResult,
    attack_figure,
    attack_scores,
    known_columns_for,
    linkability_halves,
    secret_columns_for,
)
from tests.helpers import make_people

SDTYPES = {
    "customer_id": "id",
    "state": "categorical",
    "age": "numerical",
    "support_calls": "numerical",
    "is_member": "categorical",
    "active": "boolean",
    "income": "numerical",
    "job_title": "categorical",
    "signed_up": "datetime",
    "churned": "boolean",
}


def people_schema() -> TableSchema:
    """make_people's columns: an id, faked PII and a dropped text are not attacked."""
    columns = [ColumnSchema(name, sdtype) for name, sdtype in SDTYPES.items()]
    columns += [
        ColumnSchema("name", "name", pii=True, action="fake"),
        ColumnSchema("contact", "email", pii=True, action="fake"),
        ColumnSchema("ssn", "ssn", pii=True, action="fake"),
        ColumnSchema("comment", "text", action="drop"),
    ]
    return TableSchema(columns=tuple(columns), primary_key="customer_id")


def people(n: int, seed: int, schema: TableSchema) -> pd.DataFrame:
    return prepare_training_frame(make_people(n, seed), schema)


@pytest.fixture(scope="module")
def schema() -> TableSchema:
    return people_schema()


@pytest.fixture(scope="module")
def real(schema: TableSchema) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_real(people(600, 7, schema), SplitSpec(test_size=0.3, seed=0, target=None))


@pytest.fixture(scope="module")
def copied(real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema) -> AttackResult:
    """The "synthetic" rows are the training rows themselves."""
    train, holdout = real
    return attack_scores(train, holdout, train.copy(), schema, seed=0)


@pytest.fixture(scope="module")
def independent(real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema) -> AttackResult:
    """The "synthetic" rows are fresh draws from the same population."""
    train, holdout = real
    return attack_scores(train, holdout, fresh(schema), schema, seed=0)


def fresh(schema: TableSchema) -> pd.DataFrame:
    """Rows drawn like the training rows (same split of a table of another seed)."""
    return split_real(people(600, 99, schema), SplitSpec(test_size=0.3, seed=0, target=None))[0]


def all_risks(result: AttackResult) -> list:
    return [*result.risks, *result.inference.per_column]


def test_a_copy_of_the_training_rows_is_caught_by_every_attack(
    copied: AttackResult, independent: AttackResult
) -> None:
    for name in ATTACK_NAMES:
        leak, fresh = getattr(copied, name), getattr(independent, name)
        assert leak.measured and fresh.measured
        assert leak.risk >= 0.25, (name, leak.risk)
        assert leak.risk > fresh.risk + 0.2, (name, leak.risk, fresh.risk)
        assert leak.ci[0] > fresh.ci[0], name  # clearly above, not only on average
    assert copied.membership.auc == pytest.approx(1.0)
    assert copied.worst.risk >= 0.9


def test_an_independent_sample_shows_little_risk(independent: AttackResult) -> None:
    for item in independent.risks:
        assert item.risk < 0.1, (item.name, item.risk)
    assert 0.4 < independent.membership.auc < 0.6
    # attacks on training rows succeed about as often as on held-out rows
    for item in (independent.singling_out, independent.linkability, independent.inference):
        assert item.attack_rate == pytest.approx(item.control_rate, abs=0.1)


def test_intervals_hold_the_risk_and_stay_within_0_and_1(
    copied: AttackResult, independent: AttackResult
) -> None:
    for result in (copied, independent):
        for item in all_risks(result):
            low, high = item.ci
            assert 0.0 <= low <= item.risk <= high <= 1.0, (item.name, item.ci, item.risk)
        low, high = result.membership.auc_ci
        assert 0.0 <= low <= result.membership.auc <= high <= 1.0


def test_the_same_seed_gives_the_same_numbers(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema, independent: AttackResult
) -> None:
    train, holdout = real
    again = attack_scores(train, holdout, fresh(schema), schema, seed=0)
    assert again.as_dict() == independent.as_dict()
    assert again.notes == independent.notes


def test_inference_reports_the_worst_secret_column_and_each_one(copied: AttackResult) -> None:
    inference = copied.inference
    assert inference.known_columns == ("state", "age", "job_title", "support_calls",
                                       "is_member")
    assert [item.secret for item in inference.per_column] == ["income", "churned", "active"]
    worst = max(inference.per_column, key=lambda item: item.risk)
    assert (inference.secret, inference.risk, inference.ci) == (worst.secret, worst.risk,
                                                                worst.ci)
    assert inference.as_dict()["per_column"].keys() == {"income", "churned", "active"}


def test_sentences_are_built_from_the_numbers(copied: AttackResult) -> None:
    inference = copied.inference
    assert f"about {round(100 * inference.risk)} in 100" in inference.sentence
    assert "state, age, job_title and 2 more columns" in inference.sentence
    assert inference.secret in inference.sentence
    singling = copied.singling_out
    assert f"about {round(100 * singling.risk)} in 100 training rows" in singling.sentence
    assert f"AUC {copied.membership.auc:.2f}" in copied.membership.sentence
    assert "clearly better than a coin toss" in copied.membership.sentence


def test_metrics_dictionary_has_the_four_attacks(copied: AttackResult) -> None:
    data = json.loads(json.dumps(copied.as_dict()))
    assert list(data) == ["singling_out", "linkability", "inference", "membership"]
    for name, entry in data.items():
        item = getattr(copied, name)
        assert entry["risk"] == pytest.approx(item.risk)
        assert entry["ci"] == pytest.approx(list(item.ci))


def test_sample_sizes_are_reported(copied: AttackResult) -> None:
    rows = copied.rows
    assert (rows["train"], rows["holdout"]) == (420, 180)  # singling out: every row
    assert rows["attacks"] == rows["membership"] == 180  # the held-out side is the smaller

    assert (rows["train_full"], rows["holdout_full"], rows["synthetic_full"]) == (420, 180, 420)
    assert any("run 180 times instead of 500" in note for note in copied.notes)


def test_tiny_tables_give_a_result_with_a_note(schema: TableSchema) -> None:
    train, holdout = split_real(people(20, 3, schema), SplitSpec(test_size=0.3, seed=0,
                                                                 target=None))
    result = attack_scores(train, holdout, train.copy(), schema, seed=1)
    assert result.rows["attacks"] == len(holdout) < MAX_ATTACKS
    assert any("instead of 500" in note for note in result.notes)
    for item in all_risks(result):
        assert 0.0 <= item.ci[0] <= item.risk <= item.ci[1] <= 1.0


def test_empty_columns_dates_booleans_and_missing_values(schema: TableSchema) -> None:
    frame = people(400, 5, schema)
    frame["income"] = np.nan  # a column with no value at all
    frame.loc[::7, "state"] = None
    frame.loc[::5, "age"] = np.nan
    frame["active"] = frame["active"].astype("boolean")
    frame.loc[::9, "active"] = pd.NA
    frame.loc[::11, "signed_up"] = pd.NaT
    train, holdout = split_real(frame, SplitSpec(test_size=0.4, seed=0, target=None))
    result = attack_scores(train, holdout, train.copy(), schema, seed=0)
    assert "income" not in result.columns
    assert any("Left out of the attacks" in note and "income" in note for note in result.notes)
    assert all(item.measured for item in result.risks)
    assert result.linkability.risk > 0.5 and result.membership.risk > 0.5


def test_one_column_cannot_be_linked_or_inferred() -> None:
    schema = TableSchema(columns=(ColumnSchema("age", "numerical"),))
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"age": rng.integers(18, 90, 200).astype(float)})
    holdout = pd.DataFrame({"age": rng.integers(18, 90, 100).astype(float)})
    result = attack_scores(train, holdout, train.copy(), schema, seed=0)
    assert not result.linkability.measured and not result.inference.measured
    assert result.linkability.ci == (0.0, 0.0)
    assert any("Linkability could not be measured" in note for note in result.notes)
    assert result.singling_out.measured and result.membership.measured


def test_no_held_out_rows_is_a_clear_error(real: tuple[pd.DataFrame, pd.DataFrame],
                                           schema: TableSchema) -> None:
    train, _ = real
    with pytest.raises(EvaluationError, match="held-out"):
        attack_scores(train, train.iloc[:0], train, schema)


def test_column_rules() -> None:
    columns = ["id_code", "income", "zip", "visits", "gender", "diagnosis", "age", "colour"]
    known = known_columns_for(columns)
    assert known == ["zip", "gender", "age", "id_code", "visits"]
    assert secret_columns_for(columns, known) == ["income", "diagnosis", "colour"]
    assert known_columns_for(["a", "b"]) == ["a"]  # one column is always left secret
    schema = people_schema()
    evaluated = schema.modelled_columns
    first, second = linkability_halves(evaluated, schema)
    assert set(first) | set(second) == set(evaluated) and not set(first) & set(second)
    assert {"age", "income"} <= set(first) and {"support_calls", "signed_up"} <= set(second)


def test_figure_shows_each_risk_with_its_interval(copied: AttackResult) -> None:
    figure = attack_figure(copied)
    assert isinstance(figure, go.Figure)
    bars = figure.data[0]
    assert list(bars.x) == pytest.approx([item.risk for item in copied.risks])
    assert list(bars.error_x.array) == pytest.approx(
        [item.ci[1] - item.risk for item in copied.risks])
    assert tuple(figure.layout.xaxis.range) == (0, 1)
    assert f"Inference ({copied.inference.secret})" in bars.y
