"""Fakes that hold together: one person and one place per row, ids in their real format."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from faker.providers.address.en_US import Provider

from core.data.fake_values import add_fake_columns
from core.data.id_formats import derive_id_regex, make_ids

_STATE_ABBR = {name.lower(): abbr for abbr, name in zip(
    [a for a in Provider.states_abbr if a != "DC"], Provider.states, strict=True)}
_STATE_ABBR["district of columbia"] = "DC"


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _zip_in_state(zip_code: str, state: str) -> bool:
    abbr = state if len(state) == 2 else _STATE_ABBR[state.lower()]
    low, high = Provider.states_postcode[abbr]
    return bool(re.fullmatch(r"\d{5}", zip_code)) and low <= int(zip_code) <= high


def _fake(specs: list[tuple[str, str]], rows: int = 400, seed: int = 3,
          frame: pd.DataFrame | None = None) -> pd.DataFrame:
    base = frame if frame is not None else pd.DataFrame({"n": np.arange(rows)})
    order = list(base.columns) + [column for column, _ in specs]
    return add_fake_columns(base, specs, order, seed)


def test_each_rows_email_and_username_are_made_from_its_name():
    rows = _fake([("customer_name", "name"), ("email", "email"), ("username", "sentence"),
                  ("first_name", "first_name"), ("last_name", "last_name")])
    for row in rows.itertuples():
        first, last = _letters(row.first_name), _letters(row.last_name)
        assert row.customer_name == f"{row.first_name} {row.last_name}"
        local, domain = row.email.split("@")
        assert first in local and last in local and "." in domain
        assert _letters(row.username).endswith(last) or last in _letters(row.username)
    # different people in different rows, not one person copied down the column
    assert rows["email"].nunique() > 0.9 * len(rows)


def test_two_people_in_one_table_are_two_people():
    rows = _fake([("name", "name"), ("email", "email"), ("agent_name", "name"),
                  ("agent_email", "email")])
    assert (rows["name"] != rows["agent_name"]).mean() > 0.95
    for row in rows.itertuples():
        assert _letters(row.agent_name.split()[-1]) in row.agent_email.split("@")[0]
        assert _letters(row.name.split()[-1]) in row.email.split("@")[0]


def test_zip_city_and_address_belong_to_the_rows_state():
    rows = _fake([("city", "city"), ("state", "administrative_unit"), ("zip", "postcode"),
                  ("home", "address")], rows=1000)
    assert rows["state"].str.len().max() > 2  # a column called "state" gets state names
    for row in rows.itertuples():
        assert _zip_in_state(row.zip, row.state), (row.zip, row.state)
        abbr = _STATE_ABBR[row.state.lower()]
        assert row.home.endswith(f", {row.city}, {abbr} {row.zip}")
    # spot checks independent of the ranges: California ZIPs start with 9, New York's with 1
    assert rows.loc[rows["state"] == "California", "zip"].str.startswith("9").all()
    assert rows.loc[rows["state"] == "New York", "zip"].str.startswith("1").all()
    assert rows["state"].nunique() > 20
    houston = rows.loc[rows["city"] == "Houston", "state"]
    assert houston.empty or (houston == "Texas").all()


def test_faked_zip_follows_a_modelled_state_column():
    states = np.random.default_rng(0).choice(["CA", "NY", "TX", "Wyoming", "Atlantis"], 500)
    rows = _fake([("zip_code", "postcode"), ("city", "city")],
                 frame=pd.DataFrame({"state": states}))
    known = rows["state"] != "Atlantis"
    for row in rows[known].itertuples():
        assert _zip_in_state(row.zip_code, row.state), (row.zip_code, row.state)
    assert rows.loc[rows["state"] == "TX", "city"].isin(
        ["Houston", "San Antonio", "Dallas", "Austin", "Fort Worth", "El Paso", "Arlington"]
    ).all()
    assert rows.loc[~known, "zip_code"].str.fullmatch(r"\d{5}").all()


def test_same_seed_same_fakes_other_seed_other_fakes():
    specs = [("name", "name"), ("email", "email"), ("city", "city"), ("zip", "postcode"),
             ("ssn", "ssn"), ("job", "job")]
    first, again, other = _fake(specs, seed=5), _fake(specs, seed=5), _fake(specs, seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert (first["email"] != other["email"]).mean() > 0.9
    assert list(make_ids("CUST\\-[0-9]{6}", 50, 5, "c")) == list(
        make_ids("CUST\\-[0-9]{6}", 50, 5, "c"))


@pytest.mark.parametrize(
    ("real", "pattern"),
    [
        ([f"CUST-{i:06d}" for i in range(1, 1001)], r"CUST-\d{6}"),
        ([f"{chr(65 + i % 26)}{i % 10}{chr(65 + i // 26 % 26)}{i // 10 % 10}"
          f"{chr(66 + i % 20)}{i % 7}" for i in range(600)], r"[A-Z]\d[A-Z]\d[A-Z]\d"),
        ([f"{i:010d}" for i in np.random.default_rng(1).integers(0, 10**8, 800)], r"\d{10}"),
        ([f"INV-2023-{i:05d}" for i in range(1, 400)], r"INV-2023-\d{5}"),
    ],
    ids=["prefix", "letter-digit", "leading-zeros", "fixed-year"],
)
def test_ids_keep_their_real_format_are_unique_and_not_the_real_ones(real, pattern):
    regex, reason = derive_id_regex(pd.Series(real))
    assert regex is not None, reason
    ids = make_ids(regex, 2000, seed=1, column="id")
    assert all(re.fullmatch(pattern, value) for value in ids)
    assert len(set(ids)) == len(ids)
    # drawn across the whole format, not enumerated from its start like the real ones
    assert len(set(ids) & set(real)) <= 0.05 * len(real)


def test_whole_number_ids_stay_whole_numbers_of_their_length():
    regex, _ = derive_id_regex(pd.Series(np.arange(100_000, 101_000)))
    ids = make_ids(regex, 3000, seed=2, column="account", integer=True)
    assert ids.dtype == np.int64 and len(set(ids)) == 3000
    assert ((ids >= 100_000) & (ids <= 999_999)).all()


def test_more_rows_than_the_format_holds_grow_the_number_not_repeat_it():
    regex, _ = derive_id_regex(pd.Series([f"K-{i:02d}" for i in range(90)]))
    ids = make_ids(regex, 1000, seed=0, column="k")
    assert len(set(ids)) == 1000 and all(re.fullmatch(r"K-\d{2,}", value) for value in ids)


def test_ids_with_regex_syntax_are_escaped_literals():
    real = pd.Series([f"ID(.*)+[{i}]?|^${i % 3}\\" for i in range(300)])
    regex, reason = derive_id_regex(real)
    assert regex is not None, reason
    re.compile(regex)
    ids = make_ids(regex, 500, seed=0, column="weird")
    assert len(set(ids)) == 500
    assert all(re.fullmatch(regex, value) for value in ids)
    assert all(value.startswith("ID(.*)+[") and value.endswith("\\") for value in ids)


def test_very_long_or_patternless_ids_fall_back_with_a_reason():
    long_ids = pd.Series(["X" * 500 + str(i) for i in range(50)])
    assert derive_id_regex(long_ids) == (None, "some ids are longer than 64 characters")
    rng = np.random.default_rng(0)
    messy = pd.Series(["".join(rng.choice(list("ab-_ .9"), rng.integers(3, 30)))
                       for _ in range(400)])
    regex, reason = derive_id_regex(messy)
    assert regex is None and reason == "the ids share no common pattern"
    assert derive_id_regex(pd.Series([-5, 3, 7]))[0] is None
    assert make_ids("(a|b)*c", 5, 0) is None  # a regex this module did not write


def test_a_trained_model_gives_ids_in_the_real_format():
    from core.data.splitting import SplitSpec
    from core.engine.catalogue import resolve_params
    from core.engine.generation import generate
    from core.engine.metadata import detect_table
    from core.engine.models import load_synthesizer
    from core.engine.training import TrainingRequest, run_training
    from core.store.registry import ModelRegistry

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "customer_id": [f"CUST-{i:06d}" for i in range(1, n + 1)],
        "order_id": np.arange(500_000, 500_000 + n),
        "amount": rng.normal(100, 20, n).round(2),
        "segment": rng.choice(["a", "b", "c"], n),
    })
    table = detect_table(frame, "orders.csv", "test")
    assert "(CUST-[0-9]{6})" in table.schema.column("customer_id").note
    registry = ModelRegistry()
    request = TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer="gaussian_copula", preset="quick",
        params=resolve_params("gaussian_copula", "quick", None, rows=140), seed=0,
        split=SplitSpec(target=None),
    )
    record = run_training(request, table.frame, registry=registry)
    model = load_synthesizer(registry, record.model_id)
    first = generate(model, record.model_id, 300, seed=4, schema=table.schema).frame
    again = generate(model, record.model_id, 300, seed=4, schema=table.schema).frame
    pd.testing.assert_frame_equal(first, again)
    for column, pattern in (("customer_id", r"CUST-\d{6}"), ("order_id", r"[1-9]\d{5}")):
        values = first[column].astype(str)
        assert values.str.fullmatch(pattern).all(), (column, values.head().tolist())
        assert values.is_unique
        assert len(set(values) & set(frame[column].astype(str))) <= 15
    assert pd.api.types.is_integer_dtype(first["order_id"])
