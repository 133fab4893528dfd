"""The shipped bank database: seeded, consistent keys, the files equal a regeneration."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import (
    bank_database,
    list_related_samples,
    load_related_sample,
    related_sample,
)
from core.data.datasets.bank import BANK_COLUMNS, write_bank_sqlite
from core.errors import ParameterError
from core.store.settings import get_settings


@pytest.fixture(scope="module")
def bank() -> dict[str, pd.DataFrame]:
    return bank_database(related_sample("bank").seed)


def test_the_same_seed_gives_the_same_tables_and_another_seed_others() -> None:
    first, again, other = bank_database(7), bank_database(7), bank_database(8)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["transactions"].equals(other["transactions"])


def test_keys_are_unique_and_every_foreign_key_points_at_a_row(bank) -> None:
    sample = related_sample("bank")
    for table, key in sample.primary_keys.items():
        assert bank[table][key].is_unique, table
        assert list(bank[table].columns) == [c.name for c in BANK_COLUMNS[table]]
    for relation in sample.relationships:
        parents = set(bank[relation.parent][relation.parent_key])
        assert bank[relation.child][relation.child_key].isin(parents).all(), relation.label
    per_customer = bank["accounts"].groupby("customer_id").size()
    assert per_customer.min() >= 1 and per_customer.max() <= 3
    assert len(per_customer) == len(bank["customers"])  # every customer holds an account
    per_account = bank["transactions"].groupby("account_id").size()
    assert 5 <= per_account.mean() <= 15


def test_planted_dependencies_across_tables(bank) -> None:
    customers, accounts, transactions = (bank[n] for n in ("customers", "accounts",
                                                           "transactions"))
    owner = transactions.merge(accounts[["account_id", "customer_id"]], on="account_id")
    count = owner.groupby("customer_id").size().reindex(customers["customer_id"], fill_value=0)
    churned = customers["churned"].to_numpy()
    assert count[churned].mean() < 0.6 * count[~churned].mean()
    assert 0.12 <= churned.mean() <= 0.3
    assert 0.015 <= transactions["is_fraud"].mean() <= 0.035
    fraud_accounts = transactions.loc[transactions["is_fraud"], "account_id"].nunique()
    assert fraud_accounts < 0.1 * len(accounts)  # fraud gathers in a few accounts
    # The holder's name on every account is its customer's name.
    names = customers.set_index("customer_id")["name"]
    assert (accounts["holder_name"].to_numpy() == names[accounts["customer_id"]].to_numpy()).all()
    segment = owner.merge(customers[["customer_id", "segment"]], on="customer_id")
    means = segment.groupby("segment")["amount"].median()
    assert means["business"] > 2 * means["retail"]


def test_the_shipped_csv_files_equal_a_regeneration(bank) -> None:
    sample = related_sample("bank")
    shipped = load_related_sample("bank")
    assert list(shipped) == list(sample.tables)
    for name in sample.tables:
        pd.testing.assert_frame_equal(shipped[name], bank[name], check_dtype=True)
    target_table, target_column = sample.target
    assert shipped[target_table][target_column].dtype == bool
    readme = (get_settings().sample_data_dir / "README.md").read_text(encoding="utf-8")
    assert "bank.sqlite" in readme and "bank/transactions.csv" in readme


def _read_sqlite(path) -> tuple[dict[str, pd.DataFrame], dict[str, list[tuple]]]:
    with sqlite3.connect(path) as connection:
        frames = {name: pd.read_sql_query(f'SELECT * FROM "{name}"', connection)
                  for name in related_sample("bank").tables}
        keys = {name: connection.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
                for name in frames}
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
        primary = {name: [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')
                          if row[5]] for name in frames}
    assert broken == []
    return frames, {"fks": keys, "pks": primary}  # type: ignore[dict-item]


def test_the_sqlite_file_declares_its_keys_and_holds_the_same_rows(bank) -> None:
    sample = related_sample("bank")
    frames, keys = _read_sqlite(sample.database_path)
    declared = {(row[2], row[4], name, row[3]) for name, rows in keys["fks"].items()
                for row in rows}  # (parent, parent key, child, child key)
    assert declared == {(r.parent, r.parent_key, r.child, r.child_key)
                        for r in sample.relationships}
    assert keys["pks"] == {name: [key] for name, key in sample.primary_keys.items()}
    for name in sample.tables:
        assert len(frames[name]) == len(bank[name])
    transactions = frames["transactions"]
    assert transactions["timestamp"].iloc[0] == bank["transactions"]["timestamp"].iloc[0].strftime(
        "%Y-%m-%d %H:%M:%S")
    assert transactions["is_fraud"].sum() == bank["transactions"]["is_fraud"].sum()
    limits = frames["accounts"]["credit_limit"]
    assert limits.isna().sum() == bank["accounts"]["credit_limit"].isna().sum()
    np.testing.assert_allclose(frames["accounts"]["balance"], bank["accounts"]["balance"])


def test_a_broken_foreign_key_is_caught_by_sqlite(tmp_path, bank) -> None:
    broken = dict(bank)
    broken["accounts"] = bank["accounts"].copy()
    broken["accounts"].loc[0, "customer_id"] = 99_999
    path = tmp_path / "broken.sqlite"
    # Inserting checks foreign keys as it goes: the orphan is refused.
    with pytest.raises(sqlite3.IntegrityError):
        write_bank_sqlite(broken, str(path))


def test_the_related_sample_is_listed_with_its_target() -> None:
    [sample] = [s for s in list_related_samples() if s.key == "bank"]
    assert sample.target == ("customers", "churned")
    assert "CC0" in sample.license and "fictitious" in sample.license
    assert sample.tables[0] == "branches" and sample.tables[-1] == "transactions"
    with pytest.raises(ParameterError, match="bank"):
        related_sample("nope")
