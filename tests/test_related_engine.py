"""Related tables: the split by root entity, HMA and TabularARGN fits, sampling, the job kind.

A tiny bank (60 customers → about 90 accounts → about 300 transactions, and a 5-row
branches lookup) built here, so these tests do not wait on the shipped sample. Each model
is fitted once per module and sampled once per seed (fixtures shared by tests that only read
them); TabularARGN, whose every table costs seconds of engine set-up whatever its size, is
fitted on the bank without transactions (a parent, a child, the lookup), and the job on a
two-table bank.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.data.related import RelatedTables, Relationship
from core.data.related_split import split_related
from core.data.schema import ColumnSchema
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.multi_table import (
    RelatedRequest,
    estimate_related_seconds,
    plan_related_request,
    related_cost_warning,
    related_training_key,
    run_related_training,
    sample_related,
)
from core.errors import MetadataError, TrainingCancelled, TrainingError
from core.store.registry import ModelRegistry
from core.store.settings import get_settings

FIRST = ["Ann", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ida", "Jon"]
LAST = ["Smith", "Jones", "Brown", "Lee", "Khan", "Ruiz", "Berg", "Moss"]
KEYS = {"customers": "customer_id", "branches": "branch_id", "accounts": "account_id",
        "transactions": "transaction_id"}
FAKED = {"customers": ["name"], "accounts": ["holder_name"], "transactions": ["card_holder"]}
TINY_ARGN = {"epochs": 2, "model_size": "small", "time_limit": 0}


def tiny_bank(customers: int = 60, seed: int = 0) -> RelatedTables:
    """Customers (with a name) → accounts (holder = the customer) → transactions (one card
    holder per account), and a branches lookup the accounts point into."""
    rng = np.random.default_rng(seed)
    names = [f"{a} {b}" for a, b in zip(rng.choice(FIRST, customers), rng.choice(LAST, customers),
                                        strict=True)]
    cust = pd.DataFrame({"customer_id": [f"C{1000 + i}" for i in range(customers)],
                         "name": names, "age": rng.integers(18, 85, customers),
                         "segment": rng.choice(["retail", "business"], customers, p=[.7, .3]),
                         "churned": rng.choice([False, True], customers, p=[.7, .3])})
    branches = pd.DataFrame({"branch_id": [1, 2, 3, 4, 5],
                             "city": ["Oslo", "Lyon", "Porto", "Graz", "Cork"]})
    per = rng.integers(1, 3, customers)
    owner = np.repeat(np.arange(customers), per)
    accounts = pd.DataFrame({
        "account_id": np.arange(1, len(owner) + 1) * 7,
        "customer_id": cust.customer_id.to_numpy()[owner],
        "holder_name": np.array(names)[owner],
        "branch_id": rng.choice([1, 2, 3, 4, 5], len(owner), p=[.4, .3, .1, .1, .1]),
        "kind": rng.choice(["checking", "savings"], len(owner)),
    })
    holders = rng.choice([f"{a} {b}" for a in FIRST for b in LAST], len(accounts))
    per_t = rng.integers(1, 7, len(accounts))
    which = np.repeat(np.arange(len(accounts)), per_t)
    transactions = pd.DataFrame({
        "transaction_id": np.arange(len(which)) + 50_000,
        "account_id": accounts.account_id.to_numpy()[which],
        "card_holder": holders[which],
        "amount": rng.gamma(2, 40, len(which)).round(2),
        "channel": rng.choice(["card", "online", "atm"], len(which)),
    })
    frames = {"customers": cust, "branches": branches, "accounts": accounts,
              "transactions": transactions}
    tables = []
    for name, frame in frames.items():
        table = detect_table(frame, name=name, source="test")
        schema = replace(table.schema, primary_key=KEYS[name])
        for column in FAKED.get(name, []):
            schema = schema.with_column(ColumnSchema(column, "name", pii=True, action="fake"))
        tables.append(table.with_schema(schema))
    relationships = (Relationship("customers", "customer_id", "accounts", "customer_id"),
                     Relationship("branches", "branch_id", "accounts", "branch_id"),
                     Relationship("accounts", "account_id", "transactions", "account_id"))
    return RelatedTables(tables=tuple(tables), relationships=relationships, name="tiny bank",
                         source="test", target=("customers", "churned"))


def frames_of(related: RelatedTables) -> dict[str, pd.DataFrame]:
    return {table.name: table.frame for table in related.tables}


@pytest.fixture(scope="module")
def bank() -> RelatedTables:
    return tiny_bank()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(replace(get_settings(), data_dir=tmp_path_factory.mktemp("related")))


@pytest.fixture(scope="module")
def hma(bank, registry):
    request = plan_related_request(bank, "hma", "quick", seed=1)
    stages: list[tuple[float, str]] = []
    record = run_related_training(request, frames_of(bank), registry=registry,
                                  progress=lambda f, m: stages.append((f, m)))
    return request, record, stages


def without_transactions(related: RelatedTables) -> RelatedTables:
    """customers → accounts ← branches: one parent, one child, one lookup."""
    return RelatedTables(tables=tuple(t for t in related.tables if t.name != "transactions"),
                         relationships=tuple(r for r in related.relationships
                                             if r.child != "transactions"),
                         name="tiny bank, no transactions", source="test",
                         target=related.target)


@pytest.fixture(scope="module")
def argn_bank(bank) -> RelatedTables:
    return without_transactions(bank)


@pytest.fixture(scope="module")
def argn(argn_bank, registry):
    request = plan_related_request(argn_bank, "tabular_argn", "quick", seed=1,
                                   overrides=TINY_ARGN)
    stages: list[tuple[float, str]] = []
    record = run_related_training(request, frames_of(argn_bank), registry=registry,
                                  progress=lambda f, m: stages.append((f, m)))
    return request, record, stages


@pytest.fixture(scope="module")
def fits(bank, argn_bank, hma, argn):
    """Each fit with the tables it learned: ``{"hma": (related, record), "argn": ...}``."""
    return {"hma": (bank, hma[1]), "argn": (argn_bank, argn[1])}


@pytest.fixture(scope="module")
def samples(fits, registry):
    """Each fit's tables sampled once with seed 3 (read by several tests)."""
    return {fit: sample_related(load_synthesizer(registry, record.model_id), seed=3)
            for fit, (_, record) in fits.items()}


# --------------------------------------------------------------------------- the split


def test_split_keeps_each_customer_with_all_their_rows_and_lookups_whole(bank):
    split = split_related(bank, test_size=0.3, seed=4)
    train, hold = split.train, split.holdout
    assert split.root == "customers" and split.lookups == ("branches",)
    assert not set(train["customers"].customer_id) & set(hold["customers"].customer_id)
    assert len(train["customers"]) + len(hold["customers"]) == 60
    for part in (train, hold):  # every child row sits beside its parent
        assert part["accounts"].customer_id.isin(part["customers"].customer_id).all()
        assert part["transactions"].account_id.isin(part["accounts"].account_id).all()
    total = len(bank.table("transactions").frame)
    assert len(train["transactions"]) + len(hold["transactions"]) == total
    assert train["branches"].equals(hold["branches"])
    assert len(train["branches"]) == 5
    again = split_related(bank, test_size=0.3, seed=4)
    assert again.train["customers"].equals(train["customers"])
    other = split_related(bank, test_size=0.3, seed=5)
    assert set(other.train["customers"].customer_id) != set(train["customers"].customer_id)


def test_split_leaves_out_a_row_whose_parent_is_missing_and_says_so(bank):
    accounts = bank.table("accounts")
    orphan = accounts.frame.iloc[[0]].assign(account_id=999_999, customer_id="C9999")
    related = bank.with_table(replace(accounts, frame=pd.concat([accounts.frame, orphan])))
    split = split_related(related, test_size=0.3, seed=0)
    for part in (split.train, split.holdout):
        assert 999_999 not in set(part["accounts"].account_id)
    assert any("1 row of 'accounts'" in note for note in split.notes)


# --------------------------------------------------------------------------- requests


def test_request_round_trips_and_its_key_ignores_the_device(bank):
    request = plan_related_request(bank, "hma", "quick", seed=3)
    again = RelatedRequest.from_json(request.to_json())
    assert again == request
    assert related_training_key(replace(request, device="cpu")) == related_training_key(request)
    assert related_training_key(replace(request, seed=4)) != related_training_key(request)


def test_schemas_the_synthesizers_cannot_model_get_a_clear_message(bank):
    selfish = bank.with_relationships((*bank.relationships,
                                       Relationship("customers", "customer_id", "customers",
                                                    "customer_id")))
    with pytest.raises(MetadataError, match="refers to itself"):
        plan_related_request(selfish, "hma")
    two_parents = bank.with_relationships((
        *bank.relationships, Relationship("customers", "customer_id", "transactions",
                                          "account_id")))
    with pytest.raises(MetadataError, match="Choose HMA"):
        plan_related_request(two_parents, "tabular_argn")


def test_the_eta_grows_with_the_children_width_and_warns_on_heavy_schemas(bank):
    frames = frames_of(bank)
    schemas = {t.name: t.schema for t in bank.tables}
    params = {"default_distribution": "beta", "time_limit": 0}
    base = estimate_related_seconds("hma", params, frames, schemas, bank.relationships, speed=0.08)
    wide = dict(frames)
    extra = {f"x{i}": np.random.default_rng(i).normal(size=len(frames["transactions"]))
             for i in range(30)}
    wide["transactions"] = frames["transactions"].assign(**extra)
    wide_schema = {**schemas, "transactions": replace(schemas["transactions"], columns=(
        *schemas["transactions"].columns, *[ColumnSchema(c, "numerical") for c in extra]))}
    heavier = estimate_related_seconds("hma", params, wide, wide_schema, bank.relationships,
                                       speed=0.08)
    assert heavier > 3 * base
    warning = related_cost_warning("hma", params, wide, wide_schema, bank.relationships,
                                   speed=0.08)
    assert warning is not None and "columns over 3 levels" in warning


# --------------------------------------------------------------------------- fits


def test_hma_reports_each_relationship_and_table_and_is_stored_as_related(bank, registry, hma):
    request, record, stages = hma
    messages = " | ".join(message for _, message in stages)
    for table in ("customers", "accounts", "transactions", "branches"):
        assert f"'{table}'" in messages
    fractions = [fraction for fraction, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert record.shape == "related" and record.model_id == related_training_key(request)
    assert registry.list_for_data(bank.fingerprint) == []  # single-table screens
    assert registry.list_for_data(bank.fingerprint, shape="related") == [record]
    assert set(record.schema["tables"]) == set(bank.names)


@pytest.mark.parametrize("fit", ["hma", "argn"])
def test_sampled_tables_have_new_keys_and_every_foreign_key_finds_its_parent(
        fits, samples, fit):
    related, _ = fits[fit]
    tables = samples[fit]
    assert set(tables) == set(related.names)
    for name in related.names:
        assert tables[name][KEYS[name]].is_unique
    for r in related.relationships:
        child, parent = tables[r.child][r.child_key], tables[r.parent][r.parent_key]
        assert child.notna().all() and child.isin(parent).all(), r.label
    real = set(related.table("customers").frame.customer_id)
    new = set(tables["customers"].customer_id)
    assert len(new & real) < len(new) / 4  # drawn fresh in the real format, not copied
    assert tables["customers"].customer_id.str.fullmatch(r"C\d{4}").all()
    # children per parent: not one account for everybody
    assert tables["accounts"].customer_id.value_counts().nunique() > 1


@pytest.mark.parametrize("fit", ["hma", "argn"])
def test_the_same_seed_gives_the_same_tables_and_another_seed_others(fits, samples, registry,
                                                                     fit):
    _, record = fits[fit]
    first = samples[fit]  # seed 3, drawn from a model loaded earlier
    again = sample_related(load_synthesizer(registry, record.model_id), seed=3)
    other = sample_related(load_synthesizer(registry, record.model_id), seed=6)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    leaf = list(first)[-1]  # the last child: transactions, or accounts without them
    assert not first[leaf].equals(other[leaf])


def test_faked_names_stay_one_per_person_in_every_table(bank, samples):
    tables = samples["hma"]
    customers = tables["customers"].set_index("customer_id")["name"]
    accounts = tables["accounts"]
    # The holder repeats the customer's name in the real tables: the same fake name here.
    assert (accounts.holder_name.to_numpy()
            == accounts.customer_id.map(customers).to_numpy()).all()
    # One card holder per account in the real tables: one fake one per synthetic account.
    assert (tables["transactions"].groupby("account_id").card_holder.nunique() == 1).all()
    real_names = set(bank.table("customers").frame.name)
    assert len(set(customers) & real_names) < len(customers) / 2


def test_tabular_argn_trains_each_table_with_its_parent_and_copies_the_lookup(argn):
    _, record, stages = argn
    messages = " | ".join(message for _, message in stages)
    assert "'customers' (1 of 2)" in messages and "'accounts' (2 of 2)" in messages
    assert any("'branches' is a lookup table" in note for note in record.notes)
    assert record.epochs_run and any(name.startswith("Validation loss")
                                     for name in record.losses)


def test_a_cancel_stops_either_fit_and_nothing_is_stored(bank, argn_bank, registry):
    for related, synthesizer, overrides in ((bank, "hma", None),
                                            (argn_bank, "tabular_argn", TINY_ARGN)):
        request = plan_related_request(related, synthesizer, "quick", seed=9,
                                       overrides=overrides)
        asked = []

        def cancel(asked=asked) -> bool:
            asked.append(1)
            return len(asked) > 3

        with pytest.raises(TrainingCancelled):
            run_related_training(request, frames_of(related), registry=registry,
                                 should_cancel=cancel)
        assert registry.get(related_training_key(request)) is None


def test_hma_past_its_time_limit_ends_with_a_message(bank, registry):
    request = plan_related_request(bank, "hma", "quick", seed=8,
                                   overrides={"time_limit": 0.001})
    with pytest.raises(TrainingError, match="time limit"):
        run_related_training(request, frames_of(bank), registry=registry)
    assert registry.get(related_training_key(request)) is None


# --------------------------------------------------------------------------- the job kind


def test_the_related_job_runs_in_a_worker_and_stores_the_model(bank, tmp_path):
    from core.jobs.local import LocalJobRunner

    two = RelatedTables(tables=(bank.table("customers"), bank.table("accounts")),
                        relationships=bank.relationships[:1], name="two tables",
                        source="test", target=bank.target)
    settings = replace(get_settings(), data_dir=tmp_path / "data")
    runner = LocalJobRunner(settings)
    job_id = runner.start_related(two, "hma", "quick", seed=2)
    status = runner.wait(job_id, timeout=240)
    assert status.state == "done", status.message
    assert status.kind == "related" and status.measured_fraction == 1.0
    request = plan_related_request(two, "hma", "quick", seed=2)
    assert status.model_id == related_training_key(request)
    stored = ModelRegistry(settings).get(status.model_id)
    assert stored is not None and stored.shape == "related"
