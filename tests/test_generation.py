"""Generating rows: seeds, conditions, rebalancing, fake PII values and exports."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

import core.engine.generation as generation
from core.data.fake_values import FAKE_KINDS, fake_column
from core.data.schema import PII_SDTYPES
from core.data.splitting import SplitSpec
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import TrainingRequest, run_training
from core.errors import ParameterError, SamplingError
from core.store.registry import ModelRegistry
from tests.helpers import make_people


@pytest.fixture(scope="module")
def trained():
    table = detect_table(make_people(500), "people.csv", "test")
    registry = ModelRegistry()

    def fit(synthesizer, **overrides):
        request = TrainingRequest(
            data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
            synthesizer=synthesizer, preset="quick",
            params=resolve_params(synthesizer, "quick", overrides or None, rows=350),
            seed=0, split=SplitSpec(target=table.target),
        )
        record = run_training(request, table.frame, registry=registry)
        return record, load_synthesizer(registry, record.model_id)

    return table, fit


def test_same_seed_same_rows_including_fake_columns(trained):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    first = generation.generate(synthesizer, record.model_id, 200, seed=4, schema=table.schema)
    again = generation.generate(synthesizer, record.model_id, 200, seed=4, schema=table.schema)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    other = generation.generate(synthesizer, record.model_id, 200, seed=5, schema=table.schema)
    assert not first.frame.equals(other.frame)
    assert list(first.frame.columns) == table.schema.kept_columns
    # faked columns look like what they replace and never copy real values
    assert first.frame["contact"].str.match(r"^[\w.]+@[\w.]+$").all()
    assert set(first.frame["ssn"]).isdisjoint(set(table.frame["ssn"]))


def test_large_samples_come_in_batches_with_progress(trained, monkeypatch):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    monkeypatch.setattr(generation, "_BATCH_ROWS", 300)
    seen = []
    sample = generation.generate(synthesizer, record.model_id, 1000, schema=table.schema,
                                 progress=lambda f, m: seen.append(f))
    assert len(sample.frame) == 1000
    assert len(seen) >= 5 and seen == sorted(seen) and seen[-1] == 1.0


def test_rebalancing_gives_the_requested_class_shares(trained):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    sample = generation.generate(
        synthesizer, record.model_id, 400, schema=table.schema, real_example=table.frame,
        rebalance_column="churned", class_shares={"True": 1, "False": 1},
    )
    assert sample.frame["churned"].mean() == 0.5
    assert sample.class_shares == {"True": 0.5, "False": 0.5}


def test_fixed_values_hold_in_every_row(trained):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    sample = generation.generate(synthesizer, record.model_id, 150, schema=table.schema,
                                 real_example=table.frame, fixed_values={"state": "TX"})
    assert (sample.frame["state"] == "TX").all()


def test_conditions_on_unlearned_columns_or_unknown_values_are_refused(trained):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    with pytest.raises(ParameterError, match="only columns the model learned"):
        generation.generate(synthesizer, record.model_id, 10, schema=table.schema,
                            fixed_values={"contact": "a@b.com"})
    with pytest.raises(ParameterError, match="not a value of 'state'"):
        generation.generate(synthesizer, record.model_id, 10, schema=table.schema,
                            real_example=table.frame, rebalance_column="state",
                            class_shares={"Atlantis": 1.0})
    with pytest.raises(ParameterError, match="between 1 and"):
        generation.generate(synthesizer, record.model_id, 0)


def test_impossible_condition_explains_reject_sampling(trained):
    table, fit = trained
    record, synthesizer = fit("ctgan", epochs=2)
    with pytest.raises(SamplingError) as error:
        generation.generate(synthesizer, record.model_id, 20, schema=table.schema,
                            fixed_values={"income": 12345.678})
    assert "reject sampling" in str(error.value)


def test_every_personal_data_kind_has_a_fast_seeded_builder():
    assert set(PII_SDTYPES) <= set(FAKE_KINDS)
    for kind in PII_SDTYPES:
        values = fake_column(kind, 300, seed=1, column="c")
        assert len(values) == 300 and all(isinstance(v, str) and v for v in values)
        assert list(values) == list(fake_column(kind, 300, seed=1, column="c"))
    assert list(fake_column("name", 50, 1, "a")) != list(fake_column("name", 50, 1, "b"))
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", v) for v in fake_column("ssn", 100, 2))
    cards = fake_column("credit_card_number", 100, 3)

    def luhn_ok(number: str) -> bool:
        digits = [int(d) for d in number][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                    for i, d in enumerate(digits))
        return total % 10 == 0

    assert all(luhn_ok(c) for c in cards)
    emails = fake_column("email", 2000, 4)
    assert len(set(emails)) > 1500  # mostly unique, like real addresses


def test_exports_round_trip(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "<script>"],
                          "when": pd.to_datetime(["2020-01-01", "2021-02-03"])})
    csv = generation.export_bytes(frame, "CSV")
    assert pd.read_csv(io.BytesIO(csv))["b"].tolist() == ["x", "<script>"]
    parquet = generation.export_bytes(frame, "Parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(parquet)), frame)
    excel = generation.export_bytes(frame, "Excel")
    assert pd.read_excel(io.BytesIO(excel))["a"].tolist() == [1, 2]
    assert pd.read_excel(io.BytesIO(excel))["when"].tolist() == frame["when"].tolist()
    # Excel-safe CSV reads back as the same table, with only formula-like text guarded.
    risky = frame.assign(b=["=1+1", "<script>"], a=[-1, 2])
    safe = pd.read_csv(io.BytesIO(generation.export_bytes(risky, "CSV", excel_safe=True)))
    assert safe["b"].tolist() == ["'=1+1", "<script>"] and safe["a"].tolist() == [-1, 2]
    assert generation.guard_formula_cells(frame) is frame  # nothing to guard: no copy
    monkeypatch.setattr(generation, "_EXCEL_MAX_ROWS", 1)
    with pytest.raises(ParameterError, match="CSV or Parquet"):
        generation.export_bytes(frame, "Excel")


def test_per_class_model_conditions_and_rebalances(trained):
    table, _ = trained
    request = TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer="gaussian_copula", preset="balanced",
        params=resolve_params("gaussian_copula", "balanced", rows=350), seed=0,
        split=SplitSpec(target="churned"),
    )
    registry = ModelRegistry()
    stratified = load_synthesizer(registry, run_training(request, table.frame,
                                                        registry=registry).model_id)
    assert type(stratified).__name__ == "ClassStratifiedSynthesizer"
    plain = generation.generate(stratified, "m", 300, seed=1, schema=table.schema)
    again = generation.generate(stratified, "m", 300, seed=1, schema=table.schema)
    pd.testing.assert_frame_equal(plain.frame, again.frame)
    assert plain.frame["churned"].dtype == bool
    rebalanced = generation.generate(
        stratified, "m", 200, schema=table.schema, real_example=table.frame,
        rebalance_column="churned", class_shares={"True": 3, "False": 1},
        fixed_values={"state": "CA"},
    )
    assert rebalanced.frame["churned"].mean() == 0.75
    assert (rebalanced.frame["state"] == "CA").all()


def test_sampled_rows_keep_id_format_and_one_person_per_row(trained):
    table, fit = trained
    record, synthesizer = fit("gaussian_copula")
    frame = generation.generate(synthesizer, record.model_id, 300, seed=2,
                                schema=table.schema).frame
    ids = frame["customer_id"]  # real ids: 1000 … 1499, whole numbers of four digits
    assert pd.api.types.is_integer_dtype(ids) and ids.is_unique
    assert ids.between(1000, 9999).all()
    for name, email in zip(frame["name"], frame["contact"], strict=True):
        first, last = (re.sub(r"[^a-z]", "", part.lower()) for part in name.split()[:2])
        assert first in email.split("@")[0] and last in email.split("@")[0]


def test_a_failed_condition_is_explained_for_what_the_synthesizer_does():
    from core.engine.generation import _explain_condition_failure
    from core.engine.sequential_trees import SequentialTreesSynthesizer
    from core.engine.studio_models import StudioCTGAN

    trees = _explain_condition_failure({"state": "XX"}, object.__new__(SequentialTreesSynthesizer),
                                       None, 3, 100)
    assert "The decision trees condition directly" in trees and "reject" not in trees
    assert "(got 3 of 100)" in trees
    gan = _explain_condition_failure({"state": "XX"}, object.__new__(StudioCTGAN), None)
    assert "CTGAN cannot condition directly" in gan and "reject sampling" in gan
