"""Related-tables evaluation on known answers: keys, children per parent, PII, usefulness."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data.datasets.bank import BANK_RELATIONSHIPS, bank_database, bank_schemas
from core.data.related import Relationship
from core.data.schema import prepare_training_frame
from core.errors import EvaluationError
from core.evaluation.multi_table import (
    cardinality_figure,
    cardinality_scores,
    evaluate_related,
    parent_features,
    pii_consistency,
    referential_integrity,
    related_report_html,
)

SCHEMAS = bank_schemas()
TARGET = ("customers", "churned")
TO_ACCOUNTS, TO_BRANCH, TO_TRANSACTIONS = (r.label for r in BANK_RELATIONSHIPS)


def _split(db: dict[str, pd.DataFrame], seed: int = 0, share: float = 0.7):
    """Stand-in for R2's split by root entity: customers split, children follow, the branch
    lookup table whole on both sides."""
    customers = db["customers"]
    train_ids = set(customers["customer_id"][np.random.default_rng(seed).random(len(customers))
                                             < share])

    def part(ids: set) -> dict[str, pd.DataFrame]:
        accounts = db["accounts"][db["accounts"]["customer_id"].isin(ids)]
        frames = {"branches": db["branches"],
                  "customers": customers[customers["customer_id"].isin(ids)],
                  "accounts": accounts,
                  "transactions": db["transactions"][
                      db["transactions"]["account_id"].isin(accounts["account_id"])]}
        return {name: prepare_training_frame(frame, SCHEMAS[name]).reset_index(drop=True)
                for name, frame in frames.items()}

    return part(train_ids), part(set(customers["customer_id"]) - train_ids)


@pytest.fixture(scope="module")
def bank_split():
    return _split(bank_database())


@pytest.fixture(scope="module")
def itself(bank_split):
    train, holdout = bank_split
    return evaluate_related(train, holdout, train, SCHEMAS, BANK_RELATIONSHIPS, target=TARGET)


def _copy(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in frames.items()}


def test_real_tables_against_themselves_score_full_marks(itself) -> None:
    assert itself.integrity_fraction == 1.0 and itself.orphans == 0
    assert {c.label: c.score for c in itself.cardinality} == {
        TO_ACCOUNTS: 1.0, TO_BRANCH: 1.0, TO_TRANSACTIONS: 1.0}
    assert itself.quality_score > 0.97 and itself.diagnostic_score > 0.97
    assert set(itself.quality_properties["Property"]) >= {"Cardinality", "Intertable Trends"}
    assert itself.levels["integrity"] == "good" and itself.levels["cardinality"] == "good"
    # Copies of the training rows are what privacy must flag.
    assert itself.tables["transactions"].privacy.exact_match_rate == 1.0
    assert itself.levels["privacy"] == "poor"
    assert "privacy" in itself.tables["branches"].skipped or \
        itself.tables["branches"].privacy is not None


def test_usefulness_predicts_churn_from_accounts_and_transactions(itself, bank_split) -> None:
    utility = itself.utility
    assert utility is not None, itself.utility_reason
    assert utility.target == "churned" and utility.task == "classification"
    assert utility.informative and utility.ratio == pytest.approx(1.0)
    train, holdout = bank_split
    features, kinds, _ = parent_features(train, SCHEMAS, BANK_RELATIONSHIPS, "customers")
    # The summaries carry the planted signal: churned customers transact less.
    rows = features["accounts__transactions__rows"]
    assert rows[features["churned"]].mean() < 0.6 * rows[~features["churned"]].mean()
    assert "accounts__transactions__amount__mean" in kinds
    # Removing the children's signal from the synthetic tables lowers the ratio.
    synthetic = _copy(train)
    synthetic["customers"]["churned"] = np.random.default_rng(1).permutation(
        synthetic["customers"]["churned"].to_numpy())
    shuffled = evaluate_related(train, holdout, synthetic, SCHEMAS, BANK_RELATIONSHIPS,
                                target=TARGET)
    assert shuffled.utility is not None and shuffled.utility.ratio < 0.8


def test_as_dict_is_the_metrics_json_section(itself) -> None:
    section = json.loads(json.dumps(itself.as_dict()))
    for key in ("quality_score", "diagnostic_score", "referential_integrity", "utility"):
        assert key in section
    for key in ("quality_score", "diagnostic_score", "referential_integrity"):
        assert 0.0 <= section[key] <= 1.0
    assert set(section["cardinality_score"]) == {TO_ACCOUNTS, TO_BRANCH, TO_TRANSACTIONS}
    assert all(0.0 <= v <= 1.0 for v in section["cardinality_score"].values())
    assert all(0.0 <= v <= 1.0
               for v in section["referential_integrity_by_relationship"].values())
    assert set(section["tables"]) == {"branches", "customers", "accounts", "transactions"}
    assert 0.0 <= section["privacy"]["customers"]["dcr_share"] <= 1.0
    assert 0.0 <= section["utility"]["ratio"] <= 1.5
    assert section["sentences"] and all(isinstance(s, str) for s in section["sentences"])


def test_broken_foreign_keys_are_counted_as_orphans(bank_split) -> None:
    train, holdout = bank_split
    synthetic = _copy(train)
    synthetic["transactions"].loc[:6, "account_id"] = 10**7  # 7 rows point nowhere
    found = {r.label: r for r in referential_integrity(train, synthetic, BANK_RELATIONSHIPS)}
    broken = found[TO_TRANSACTIONS]
    assert broken.orphans == 7
    assert broken.fraction == pytest.approx(1 - 7 / len(synthetic["transactions"]))
    assert found[TO_ACCOUNTS].fraction == 1.0 and found[TO_ACCOUNTS].orphans == 0
    assert "7 point at" in broken.sentence
    # A missing key counts too, unless the real child table has missing keys as well.
    synthetic["accounts"]["customer_id"] = synthetic["accounts"]["customer_id"].astype(float)
    synthetic["accounts"].loc[0, "customer_id"] = np.nan
    again = {r.label: r for r in referential_integrity(train, synthetic, BANK_RELATIONSHIPS)}
    assert again[TO_ACCOUNTS].missing == 1 and again[TO_ACCOUNTS].fraction < 1.0


def test_every_child_on_one_parent_scores_low_cardinality(bank_split) -> None:
    train, _ = bank_split
    synthetic = _copy(train)
    synthetic["transactions"]["account_id"] = synthetic["accounts"]["account_id"].iloc[0]
    found = {c.label: c for c in cardinality_scores(train, synthetic, BANK_RELATIONSHIPS)}
    assert found[TO_TRANSACTIONS].score < 0.1
    assert found[TO_TRANSACTIONS].level == "poor"
    assert found[TO_ACCOUNTS].score == 1.0
    # Fewer children per parent than real also shows, less strongly.
    halved = _copy(train)
    halved["transactions"] = train["transactions"].iloc[::2]
    assert 0.3 < {c.label: c.score for c in cardinality_scores(
        train, halved, BANK_RELATIONSHIPS)}[TO_TRANSACTIONS] < 0.85


def test_one_synthetic_person_with_two_fake_names_is_caught(bank_split) -> None:
    train, _ = bank_split
    real = _copy(train)
    names = {"customers": "name", "accounts": "holder_name"}
    for table, column in names.items():  # the fake values, as sampling writes them
        ids = real["customers"]["customer_id"] if table == "customers" else \
            real["accounts"]["customer_id"]
        real[table][column] = "Person " + ids.astype(str)
    synthetic = _copy(real)
    consistent = pii_consistency(real, synthetic, SCHEMAS, BANK_RELATIONSHIPS)
    assert [(p.parent_column, p.child_column, p.judged, p.consistent) for p in consistent] == [
        ("name", "holder_name", True, True)]
    # Two customers' accounts get a fresh fake name of their own.
    owners = synthetic["accounts"]["customer_id"]
    picked = owners.drop_duplicates().iloc[:2]
    rows = owners.isin(picked)
    synthetic["accounts"].loc[rows, "holder_name"] = "Someone Else"
    [found] = pii_consistency(real, synthetic, SCHEMAS, BANK_RELATIONSHIPS)
    assert not found.consistent
    assert found.inconsistent_rows == int(rows.sum()) and found.inconsistent_entities == 2
    assert "two names" in found.sentence
    # Where the real tables do not repeat the value, nothing is required.
    unrelated = _copy(real)
    unrelated["accounts"]["holder_name"] = "Trustee " + unrelated["accounts"][
        "account_id"].astype(str)
    [free] = pii_consistency(unrelated, synthetic, SCHEMAS, BANK_RELATIONSHIPS)
    assert not free.judged and free.consistent


def test_features_summarise_children_and_grandchildren() -> None:
    frames = {
        "parents": pd.DataFrame({"pid": [1, 2, 3], "flag": [True, False, True]}),
        "kids": pd.DataFrame({"kid": [10, 11, 12], "pid": [1, 1, 2],
                              "kind": ["a", "b", "a"], "size": [1.0, 3.0, 5.0]}),
        "events": pd.DataFrame({"eid": [100, 101, 102, 103], "kid": [10, 10, 11, 12],
                                "value": [2.0, 4.0, 6.0, 8.0]}),
    }
    from core.data.schema import ColumnSchema, TableSchema

    schemas = {
        "parents": TableSchema((ColumnSchema("pid", "id"), ColumnSchema("flag", "boolean")),
                               primary_key="pid"),
        "kids": TableSchema((ColumnSchema("kid", "id"), ColumnSchema("pid", "id"),
                             ColumnSchema("kind", "categorical"),
                             ColumnSchema("size", "numerical")), primary_key="kid"),
        "events": TableSchema((ColumnSchema("eid", "id"), ColumnSchema("kid", "id"),
                               ColumnSchema("value", "numerical")), primary_key="eid"),
    }
    links = (Relationship("parents", "pid", "kids", "pid"),
             Relationship("kids", "kid", "events", "kid"))
    features, kinds, levels = parent_features(frames, schemas, links, "parents")
    assert features["kids__rows"].tolist() == [2, 1, 0]
    assert features["kids__size__sum"].tolist()[:2] == [4.0, 5.0]
    assert features["kids__kind==a"].tolist()[:2] == [0.5, 1.0]
    assert features["kids__events__rows"].tolist() == [3, 1, 0]
    assert features["kids__events__value__sum"].tolist()[:2] == [12.0, 8.0]
    assert np.isnan(features["kids__events__value__mean"].iloc[2])
    assert levels == {"kids__kind": ["a", "b"]}
    assert set(kinds.values()) == {"numerical"}


def test_a_small_bank_with_orphans_end_to_end_and_its_report() -> None:
    train, holdout = _split(bank_database(seed=3, customers=120), seed=3)
    synthetic = _copy(train)
    synthetic["accounts"].loc[:2, "customer_id"] = -5
    evaluation = evaluate_related(train, holdout, synthetic, SCHEMAS, BANK_RELATIONSHIPS,
                                  target=None, seed=1)
    section = evaluation.as_dict()
    assert section["orphans"][TO_ACCOUNTS] == 3
    assert section["referential_integrity"] < 1.0
    assert section["levels"]["integrity"] == "poor"
    assert section["utility"] is None and "no target" in section["utility_reason"]
    assert any("3 synthetic child rows point at a parent" in s for s in evaluation.sentences)
    figure = cardinality_figure(evaluation, TO_ACCOUNTS)
    assert [trace.name for trace in figure.data] == ["Real", "Synthetic"]
    page = related_report_html(evaluation, {"synthesizer": "<b>hma</b>"})
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page  # offline
    assert 'id="figure-cardinality-0"' in page and 'id="figure-integrity"' in page
    assert "&lt;b&gt;hma&lt;/b&gt;" in page and "<b>hma</b>" not in page
    assert "Keys that match" in page and "section-tables" in page


def test_a_missing_table_or_key_is_a_plain_error(bank_split) -> None:
    train, holdout = bank_split
    partial = {k: v for k, v in train.items() if k != "transactions"}
    with pytest.raises(EvaluationError, match="transactions"):
        evaluate_related(train, holdout, partial, SCHEMAS, BANK_RELATIONSHIPS, target=None)
    keyless = _copy(train)
    keyless["accounts"] = keyless["accounts"].drop(columns=["customer_id"])
    with pytest.raises(EvaluationError, match="customer_id"):
        evaluate_related(train, holdout, keyless, SCHEMAS, BANK_RELATIONSHIPS, target=None)


def test_a_target_that_cannot_be_learned_is_skipped_with_its_reason(bank_split) -> None:
    train, holdout = bank_split
    evaluation = evaluate_related(train, holdout, train, SCHEMAS, BANK_RELATIONSHIPS,
                                  target=("customers", "no_such_column"))
    assert evaluation.utility is None and "no_such_column" in evaluation.utility_reason
    assert evaluation.integrity_fraction == 1.0
