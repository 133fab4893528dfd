"""Tests of core.data.datasets: the Faker generator and the shipped sample datasets."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import (
    DOMAINS,
    FakeSpec,
    column_descriptions,
    fake_dataset,
    id_column_for,
    list_sample_datasets,
    load_sample_dataset,
    pii_columns_for,
    read_generated_csv,
    target_column_for,
)
from core.errors import DataLoadError, ParameterError
from core.store.settings import get_settings

SMALL = 1500


def _spec(domain: str, **changes: object) -> FakeSpec:
    return dataclasses.replace(FakeSpec(domain=domain, rows=SMALL), **changes)


def _luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# --- schema -------------------------------------------------------------------------------


def test_domain_helpers_name_pii_and_targets() -> None:
    assert set(DOMAINS) == {"customers", "loans", "transactions", "patients"}
    assert target_column_for("loans") == "defaulted"
    assert target_column_for("transactions") == "is_fraud"
    assert target_column_for("customers") == "churned"
    assert target_column_for("patients") == "readmitted"
    assert pii_columns_for("loans") == ("name", "ssn", "email", "phone", "address")
    assert pii_columns_for("transactions") == ("card_number", "cardholder_name", "merchant")
    assert pii_columns_for("customers") == ("name", "email", "phone", "address")
    assert pii_columns_for("patients") == ("name", "ssn", "email", "address")
    with pytest.raises(ParameterError, match="domain"):
        pii_columns_for("cars")
    with pytest.raises(ParameterError, match="domain"):
        target_column_for("cars")


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_domain_is_a_realistic_mixed_table(domain: str) -> None:
    df = fake_dataset(_spec(domain))
    target, key = target_column_for(domain), id_column_for(domain)
    assert len(df) == SMALL
    assert 10 <= df.shape[1] <= 16
    assert list(df.columns) == list(column_descriptions(domain))
    assert df.columns[0] == key and df.columns[-1] == target
    assert df[key].is_unique
    assert df[target].dtype == bool
    kinds = {str(dtype) for dtype in df.dtypes}
    assert {"int64", "bool", "object", "datetime64[ns]"} <= kinds
    assert set(pii_columns_for(domain)) <= set(df.columns)
    assert not df.isna().any().any()


def test_loans_state_is_a_two_letter_code_and_matches_the_address() -> None:
    df = fake_dataset(_spec("loans"))
    assert df["state"].str.fullmatch(r"[A-Z]{2}").all()
    assert df["state"].nunique() > 30
    assert (df["address"].str.extract(r", ([A-Z]{2}) \d{5}$")[0] == df["state"]).all()
    assert df["credit_score"].between(300, 850).all()
    assert "state" not in pii_columns_for("loans")


def test_pii_values_look_real_and_are_mostly_unique() -> None:
    loans = fake_dataset(_spec("loans", rows=10_000))
    assert loans["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
    assert not loans["ssn"].str.startswith(("000", "666", "9")).any()
    assert loans["phone"].str.fullmatch(r"\([2-9]\d\d\) [2-9]\d\d-\d{4}").all()
    assert loans["email"].str.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+").all()
    assert loans["name"].str.fullmatch(r"[A-Z][\w'-]+( [A-Z]\.)? [A-Z][\w' -]+").all()
    assert loans["address"].str.contains(r"^\d+ .+, .+, [A-Z]{2} \d{5}$").all()
    assert loans["ssn"].nunique() > 0.99 * len(loans)
    assert loans["email"].nunique() > 0.9 * len(loans)
    assert loans["address"].nunique() > 0.99 * len(loans)
    assert loans["name"].nunique() > 0.5 * len(loans)

    payments = fake_dataset(_spec("transactions", rows=5000))
    cards = payments["card_number"]
    assert cards.str.fullmatch(r"[45]\d{15}").all()
    assert all(_luhn_ok(card) for card in cards.unique())
    # one card per cardholder, several payments per card
    assert payments.groupby("card_number")["cardholder_name"].nunique().eq(1).all()
    assert 2 < len(payments) / cards.nunique() < 20
    assert (payments["hour"] == payments["transaction_time"].dt.hour).all()


# --- determinism --------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_spec_gives_identical_frames(domain: str) -> None:
    spec = _spec(domain, missing_rate=0.1, seed=7)
    assert hash(spec) == hash(_spec(domain, missing_rate=0.1, seed=7))
    pd.testing.assert_frame_equal(fake_dataset(spec), fake_dataset(spec))


@pytest.mark.parametrize("domain", DOMAINS)
def test_different_seeds_differ(domain: str) -> None:
    first = fake_dataset(_spec(domain, seed=1))
    second = fake_dataset(_spec(domain, seed=2))
    assert list(first.columns) == list(second.columns)
    target = target_column_for(domain)
    for column in first.columns:
        if column in (id_column_for(domain), target):
            continue
        assert not first[column].equals(second[column]), column
    assert not first[target].equals(second[target])


def test_domains_do_not_share_people_for_the_same_seed() -> None:
    loans = fake_dataset(_spec("loans"))
    patients = fake_dataset(_spec("patients"))
    assert (loans["name"] != patients["name"]).mean() > 0.9
    assert (loans["ssn"] != patients["ssn"]).all()


# --- PII selection ------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_pii_columns_when_asked_for_none(domain: str) -> None:
    full = fake_dataset(_spec(domain))
    bare = fake_dataset(_spec(domain, pii_columns=()))
    assert not set(bare.columns) & set(pii_columns_for(domain))
    # The other columns do not depend on which PII was asked for.
    pd.testing.assert_frame_equal(bare, full.drop(columns=list(pii_columns_for(domain))))


@pytest.mark.parametrize(
    ("domain", "subset"),
    [("loans", ("email",)), ("loans", ("ssn", "address")), ("transactions", ("merchant",))],
)
def test_pii_subset_gives_only_that_subset(domain: str, subset: tuple[str, ...]) -> None:
    full = fake_dataset(_spec(domain, missing_rate=0.05))
    part = fake_dataset(_spec(domain, pii_columns=subset, missing_rate=0.05))
    assert set(part.columns) & set(pii_columns_for(domain)) == set(subset)
    dropped = [c for c in pii_columns_for(domain) if c not in subset]
    pd.testing.assert_frame_equal(part, full.drop(columns=dropped))


# --- planted relations --------------------------------------------------------------------


def _loans(correlation: float) -> pd.DataFrame:
    return fake_dataset(FakeSpec("loans", rows=20_000, pii_columns=(), correlation=correlation))


def test_loans_income_credit_score_relation_scales_with_correlation() -> None:
    weak, mid, strong = _loans(0.0), _loans(0.5), _loans(0.9)

    def income_vs_score(df: pd.DataFrame) -> float:
        return df["annual_income"].corr(df["credit_score"])

    assert abs(income_vs_score(weak)) < 0.05
    assert income_vs_score(weak) < income_vs_score(mid) < income_vs_score(strong)
    assert income_vs_score(strong) > 0.7
    assert strong["annual_income"].corr(strong["loan_amount"]) > 0.6
    assert abs(weak["annual_income"].corr(weak["loan_amount"])) < 0.05


def test_loans_default_follows_low_credit_score() -> None:
    strong, weak = _loans(0.9), _loans(0.0)

    def default_rates(df: pd.DataFrame) -> tuple[float, float]:
        low = df["credit_score"] < df["credit_score"].quantile(0.25)
        high = df["credit_score"] > df["credit_score"].quantile(0.75)
        return df.loc[low, "defaulted"].mean(), df.loc[high, "defaulted"].mean()

    low_rate, high_rate = default_rates(strong)
    assert low_rate > 5 * high_rate
    low_rate, high_rate = default_rates(weak)
    assert abs(low_rate - high_rate) < 0.02


def test_fraud_signature_scales_with_correlation() -> None:
    def signature(correlation: float) -> tuple[float, float, float]:
        df = fake_dataset(
            FakeSpec(
                "transactions",
                rows=30_000,
                pii_columns=(),
                correlation=correlation,
                rare_rate=0.05,
            )
        )
        fraud, legit = df[df["is_fraud"]], df[~df["is_fraud"]]
        amount_ratio = fraud["amount"].median() / legit["amount"].median()
        night = fraud["hour"].lt(6).mean() - legit["hour"].lt(6).mean()
        online = fraud["is_online"].mean() - legit["is_online"].mean()
        return amount_ratio, night, online

    none, strong = signature(0.0), signature(0.9)
    assert 0.8 < none[0] < 1.25 and abs(none[1]) < 0.05 and abs(none[2]) < 0.06
    assert strong[0] > 3 and strong[1] > 0.3 and strong[2] > 0.3


def test_customers_total_charges_follow_tenure_times_monthly() -> None:
    def relation(correlation: float) -> float:
        df = fake_dataset(
            FakeSpec("customers", rows=10_000, pii_columns=(), correlation=correlation)
        )
        return df["total_charges"].corr(df["tenure_months"] * df["monthly_charges"])

    assert relation(1.0) > 0.99
    assert relation(0.7) > 0.8
    assert abs(relation(0.0)) < 0.05


def test_customers_churn_follows_short_tenure() -> None:
    df = fake_dataset(FakeSpec("customers", rows=10_000, pii_columns=(), rare_rate=0.25))
    short = df["tenure_months"] <= 6
    assert df.loc[short, "churned"].mean() > 2 * df.loc[~short, "churned"].mean()
    assert (df["signup_date"] <= pd.Timestamp("2024-12-31")).all()


def test_patients_blood_pressure_rises_with_age_and_bmi() -> None:
    strong = fake_dataset(FakeSpec("patients", rows=10_000, pii_columns=(), correlation=0.9))
    weak = fake_dataset(FakeSpec("patients", rows=10_000, pii_columns=(), correlation=0.0))
    assert strong["systolic_bp"].corr(strong["age"]) > 0.5
    assert strong["systolic_bp"].corr(strong["bmi"]) > 0.4
    assert abs(weak["systolic_bp"].corr(weak["age"])) < 0.05


# --- rare class and missing values --------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("rate", [0.001, 0.02, 0.3, 0.5])
def test_rare_rate_is_respected(domain: str, rate: float) -> None:
    df = fake_dataset(_spec(domain, rows=4000, rare_rate=rate, pii_columns=()))
    assert df[target_column_for(domain)].mean() == pytest.approx(rate, abs=0.002)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("rate", [0.02, 0.2])
def test_missing_rate_is_respected_and_spares_id_and_target(domain: str, rate: float) -> None:
    df = fake_dataset(_spec(domain, rows=4000, missing_rate=rate))
    key, target = id_column_for(domain), target_column_for(domain)
    assert df[key].notna().all() and df[target].notna().all()
    assert df[target].dtype == bool and df[key].dtype == np.int64
    eligible = df.drop(columns=[key, target])
    assert eligible.isna().to_numpy().mean() == pytest.approx(rate, abs=0.01)
    assert eligible.isna().any().all()  # every other column gets some missing cells
    assert df.isna().any(axis=1).mean() > rate  # spread over rows, not one block


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "cars"),
        ("rows", 99),
        ("rows", 1_000_001),
        ("rows", 2500.0),
        ("rows", True),
        ("pii_columns", ("name", "passport")),
        ("pii_columns", "name"),
        ("correlation", -0.1),
        ("correlation", 1.01),
        ("correlation", math.nan),
        ("rare_rate", 0.0),
        ("rare_rate", 0.0009),
        ("rare_rate", 0.51),
        ("missing_rate", -0.01),
        ("missing_rate", 0.6),
        ("seed", -1),
        ("seed", 1.5),
    ],
)
def test_invalid_spec_raises_parameter_error_naming_the_field(field: str, value: object) -> None:
    spec = dataclasses.replace(FakeSpec(rows=200), **{field: value})
    with pytest.raises(ParameterError, match=field) as caught:
        fake_dataset(spec)
    assert "must" in str(caught.value)


def test_edges_of_the_ranges_are_accepted() -> None:
    df = fake_dataset(
        FakeSpec("patients", rows=100, correlation=1.0, rare_rate=0.5, missing_rate=0.5, seed=0)
    )
    assert len(df) == 100
    assert df["readmitted"].sum() == 50


# --- progress and size --------------------------------------------------------------------


def _check_progress(calls: list[tuple[float, str]]) -> None:
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions[-1] == 1.0
    assert len(calls) >= 6
    assert any(re.fullmatch(r"Generating (cardholder )?names \(\d+/\d+\)", m) for _, m in calls)
    steps = [m for _, m in calls if re.search(r"\(\d+/\d+\)$", m)]
    assert steps[-1].endswith(f"({len(steps)}/{len(steps)})")


@pytest.mark.parametrize("domain", DOMAINS)
def test_100k_rows_report_monotonic_progress(domain: str) -> None:
    calls: list[tuple[float, str]] = []
    df = fake_dataset(
        FakeSpec(domain, rows=100_000, missing_rate=0.05),
        progress=lambda fraction, message: calls.append((fraction, message)),
    )
    assert len(df) == 100_000
    _check_progress(calls)


@pytest.mark.slow
def test_a_million_rows_with_progress_and_the_asked_rare_rate() -> None:
    # The form's upper bound; how long it takes is measured by `make bench`, not here.
    calls: list[tuple[float, str]] = []
    df = fake_dataset(
        FakeSpec("loans", rows=1_000_000, missing_rate=0.01),
        progress=lambda fraction, message: calls.append((fraction, message)),
    )
    assert len(df) == 1_000_000
    _check_progress(calls)
    assert df[target_column_for("loans")].mean() == pytest.approx(0.05, abs=0.001)


# --- reading generated CSV ----------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_generated_csv_reads_back_identically(domain: str, tmp_path) -> None:
    df = fake_dataset(_spec(domain, rows=500, missing_rate=0.1))
    path = tmp_path / f"{domain}.csv"
    df.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_generated_csv(path, domain), df)


def test_read_generated_csv_reports_bad_files(tmp_path) -> None:
    with pytest.raises(DataLoadError, match="missing"):
        read_generated_csv(tmp_path / "nope.csv", "loans")
    bad = tmp_path / "bad.csv"
    bad.write_text("application_id,defaulted\n1,maybe\n2,True\n")
    with pytest.raises(DataLoadError, match="defaulted"):
        read_generated_csv(bad, "loans")


# --- shipped samples ----------------------------------------------------------------------

EXPECTED_TARGET_RATES = {
    "loans": (0.10, 0.14),
    "transactions": (0.01, 0.03),
    "customers": (0.20, 0.30),
}


def test_sample_registry_matches_the_shipped_files() -> None:
    samples = list_sample_datasets()
    assert [s.key for s in samples] == ["loans", "transactions", "customers", "complaints",
                                        "bank_events", "market_prices", "customer_journeys"]
    directory = get_settings().sample_data_dir
    total = 0
    for sample in samples:
        path = directory / sample.filename
        assert path.is_file(), path
        total += path.stat().st_size
        assert "CC0" in sample.license
        assert sample.title and sample.description
        if sample.key == "complaints":  # its own generator: tests/test_schema_text.py
            continue
        if sample.event_spec is not None:  # event tables: tests/test_sequence_data.py
            total -= path.stat().st_size  # their own budget (make_sample_data.py)
            continue
        assert sample.spec is not None and sample.spec.rows == sample.rows
        assert sample.target == target_column_for(sample.spec.domain)
    assert total < 4 * 1024 * 1024
    readme = (directory / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme and "fictitious" in readme
    for sample in samples:
        assert sample.filename in readme


@pytest.mark.parametrize("sample", [s for s in list_sample_datasets() if s.spec],
                         ids=lambda s: s.key)
def test_each_sample_loads_with_its_columns_dtypes_and_target_rate(sample) -> None:
    df = load_sample_dataset(sample.key)
    domain = sample.spec.domain
    assert len(df) == sample.rows
    assert list(df.columns) == list(column_descriptions(domain))
    assert df[sample.target].dtype == bool
    low, high = EXPECTED_TARGET_RATES[sample.key]
    assert low <= df[sample.target].mean() <= high
    dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    assert len(dates) == 1
    assert df[id_column_for(domain)].dtype == np.int64
    for column in pii_columns_for(domain):
        assert df[column].dropna().map(type).eq(str).all(), column
    # The file is exactly what the registry's spec generates (PII aside, which depends
    # on Faker's word lists, not only on the seed).
    regenerated = fake_dataset(dataclasses.replace(sample.spec, pii_columns=()))
    pd.testing.assert_frame_equal(df.drop(columns=list(pii_columns_for(domain))), regenerated)


def test_unknown_sample_key_raises() -> None:
    with pytest.raises(ParameterError, match="loans"):
        load_sample_dataset("nope")
