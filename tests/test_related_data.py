"""Related tables as data: checks and repairs, suggested keys, detection, several files.

The schema is a tiny bank: customers -> accounts -> transactions, and a branches lookup
table that accounts refer to. Each check is fed one planted problem and must name it with
the right count and say what the studio does; the repair must then do exactly that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.related import (
    RelatedTables,
    Relationship,
    check_related,
    check_table_name,
    load_related_files,
    read_related_files,
    repair_related,
    safe_table_name,
    suggest_relationships,
)
from core.data.schema import ColumnSchema, TableSchema
from core.data.table import make_table
from core.engine.related_metadata import detect_related
from core.errors import DataLoadError, MetadataError

KEYS = {"customers": "customer_id", "branches": "branch_id", "accounts": "account_id",
        "transactions": "transaction_id"}
LINKS = (Relationship("customers", "customer_id", "accounts", "customer_id"),
         Relationship("branches", "branch_id", "accounts", "branch_id"),
         Relationship("accounts", "account_id", "transactions", "account_id"))


def bank_frames(seed: int = 0, customers: int = 40) -> dict[str, pd.DataFrame]:
    """A consistent bank: every key unique, every child row with its parent."""
    rng = np.random.default_rng(seed)
    first = ["Ann", "Bob", "Cleo", "Dev", "Eve", "Finn", "Gail", "Hugo"]
    last = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans"]
    cust = pd.DataFrame({
        "customer_id": np.arange(1, customers + 1),
        "full_name": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(customers)],
        "age": rng.integers(18, 80, customers),
        "churned": rng.choice(["yes", "no"], customers),
    })
    branches = pd.DataFrame({"branch_id": [f"BR{i:03d}" for i in range(1, 6)],
                             "city": ["Leeds", "York", "Bath", "Hull", "Ely"]})
    n_acc = customers * 2
    acc = pd.DataFrame({
        "account_id": np.arange(1000, 1000 + n_acc),
        "customer_id": rng.integers(1, customers + 1, n_acc),
        "branch_id": rng.choice(branches["branch_id"], n_acc),
        "balance": rng.normal(2_000, 500, n_acc).round(2),
    })
    n_tx = n_acc * 4
    tx = pd.DataFrame({
        "transaction_id": np.arange(n_tx),
        "account_id": rng.choice(acc["account_id"], n_tx),
        "amount": rng.gamma(2.0, 30.0, n_tx).round(2),
        "is_fraud": rng.choice(["yes", "no"], n_tx, p=[0.05, 0.95]),
    })
    return {"customers": cust, "branches": branches, "accounts": acc, "transactions": tx}


def related(frames: dict[str, pd.DataFrame], keys: dict[str, str | None] | None = None,
            links: tuple[Relationship, ...] = LINKS) -> RelatedTables:
    """RelatedTables with hand-made schemas (no SDV: these tests are about the checks)."""
    keys = KEYS if keys is None else keys
    tables = []
    for name, frame in frames.items():
        columns = tuple(ColumnSchema(c, "id" if c.endswith("_id") else "categorical")
                        for c in frame.columns)
        schema = TableSchema(columns=columns, primary_key=keys.get(name))
        tables.append(make_table(frame, name, "test", schema))
    return RelatedTables(tables=tuple(tables), relationships=links, name="bank", source="test")


def only(issues, kind):
    found = [issue for issue in issues if issue.kind == kind]
    assert len(found) == 1, [i.message for i in issues]
    return found[0]


# --------------------------------------------------------------------------- checks


def test_a_consistent_bank_has_no_issues_and_repair_changes_nothing():
    tables = related(bank_frames())
    assert check_related(tables) == []
    repaired, notes = repair_related(tables)
    assert repaired is tables and notes == []


def test_orphans_are_counted_named_and_dropped_with_the_rows_that_hang_on_them():
    frames = bank_frames()
    tx = frames["transactions"].copy()
    tx.loc[:6, "account_id"] = 999_999  # 7 transactions of an account that does not exist
    frames["transactions"] = tx
    acc = frames["accounts"].copy()
    acc.loc[0, "customer_id"] = 5_000  # an account of a missing customer ...
    frames["accounts"] = acc
    under_lost_account = int((tx["account_id"] == acc.loc[0, "account_id"]).sum())
    assert under_lost_account > 0  # ... whose transactions go with it

    issues = check_related(related(frames))
    accounts = [i for i in issues if i.kind == "orphans" and i.table == "accounts"][0]
    assert accounts.rows == 1 and accounts.column == "customer_id"
    assert "1 row of accounts refers to a customer_id that is not in customers" in \
        accounts.message
    transactions = [i for i in issues if i.kind == "orphans" and i.table == "transactions"][0]
    assert transactions.rows == 7 + under_lost_account
    assert "7 rows of transactions refer to an account_id that is not in accounts" in \
        transactions.message
    assert f"{under_lost_account} rows of transactions refer to rows of accounts dropped above" \
        in transactions.message
    assert "dropped before training" in transactions.message

    repaired, notes = repair_related(related(frames))
    assert len(repaired.table("accounts").frame) == len(acc) - 1
    assert len(repaired.table("transactions").frame) == len(tx) - transactions.rows
    assert notes == [i.message for i in issues]
    assert check_related(repaired) == []
    kept = repaired.table("transactions").frame["account_id"]
    assert kept.isin(repaired.table("accounts").frame["account_id"]).all()


def test_missing_foreign_keys_are_not_orphans():
    frames = bank_frames()
    acc = frames["accounts"].astype({"branch_id": object})
    acc.loc[:3, "branch_id"] = None  # accounts without a branch: allowed
    frames["accounts"] = acc
    assert check_related(related(frames)) == []


def test_duplicate_primary_keys_keep_the_first_row_and_children_follow_it():
    frames = bank_frames()
    cust = frames["customers"]
    copies = cust.head(8).assign(age=200)  # 8 rows repeat a customer_id, marked by age
    frames["customers"] = pd.concat([cust, copies], ignore_index=True)

    issue = only(check_related(related(frames)), "duplicate_keys")
    assert (issue.table, issue.column, issue.rows) == ("customers", "customer_id", 8)
    assert issue.message.startswith("8 rows of customers share a customer_id with another row")
    assert "keeps the first and drops 8 rows" in issue.message
    assert "children of the dropped rows follow the kept one" in issue.message

    repaired, _ = repair_related(related(frames))
    kept = repaired.table("customers").frame
    assert len(kept) == len(cust) and kept["customer_id"].is_unique
    assert (kept["age"] != 200).all()  # the first of each pair was kept
    assert len(repaired.table("accounts").frame) == len(frames["accounts"])  # none lost


def test_rows_without_a_primary_key_are_dropped_and_said_so():
    frames = bank_frames()
    cust = frames["customers"].astype({"customer_id": "Int64"})
    cust.loc[[3, 5, 7], "customer_id"] = pd.NA
    frames["customers"] = cust
    issue = only(check_related(related(frames)), "missing_key")
    assert issue.rows == 3 and "3 rows of customers have no customer_id" in issue.message
    repaired, _ = repair_related(related(frames))
    assert len(repaired.table("customers").frame) == len(cust) - 3


def test_a_parent_without_primary_key_gets_the_key_its_children_refer_to():
    keys = {**KEYS, "branches": None}
    issue = only(check_related(related(bank_frames(), keys)), "missing_key")
    assert issue.table == "branches" and issue.column == "branch_id"
    assert "branches is the parent of accounts but has no primary key" in issue.message
    assert "makes branch_id" in issue.message
    repaired, _ = repair_related(related(bank_frames(), keys))
    schema = repaired.table("branches").schema
    assert schema.primary_key == "branch_id" and schema.column("branch_id").sdtype == "id"


def test_a_cycle_names_its_tables_and_removes_the_detected_relationship():
    frames = bank_frames()
    frames["customers"] = frames["customers"].assign(
        main_account_id=frames["accounts"].groupby("customer_id")["account_id"].first()
        .reindex(frames["customers"]["customer_id"]).to_numpy())
    circle = Relationship("accounts", "account_id", "customers", "main_account_id", "detected")
    tables = related(frames, links=(*LINKS, circle))
    with pytest.raises(MetadataError, match="cycle"):
        tables.dependency_order()

    issue = only(check_related(tables), "cycle")
    assert issue.severity == "error" and issue.relationship == circle
    assert "customers → accounts → customers" in issue.message or \
        "accounts → customers → accounts" in issue.message
    assert f"removes {circle.label}" in issue.message
    assert issue.rows == int(frames["customers"]["main_account_id"].notna().sum())

    repaired, _ = repair_related(tables)
    assert circle not in repaired.relationships and len(repaired.relationships) == 3
    assert repaired.dependency_order().index("customers") < \
        repaired.dependency_order().index("accounts")
    assert repaired.table("customers").schema.column("main_account_id").action == "drop"
    assert check_related(repaired) == []


def test_a_self_reference_is_removed_and_its_column_left_out():
    employees = pd.DataFrame({"employee_id": range(1, 11),
                              "manager_id": [None, 1, 1, 2, 2, 3, 3, 1, 2, None],
                              "salary": range(10)})
    loop = Relationship("employees", "employee_id", "employees", "manager_id")
    tables = related({"employees": employees}, {"employees": "employee_id"}, (loop,))
    issue = only(check_related(tables), "self_reference")
    assert issue.rows == 8
    assert "employees.manager_id refers to employees itself (8 rows of employees have a value)" \
        in issue.message
    assert "cannot learn a table that refers to itself" in issue.message
    assert "leaves the column manager_id out of the synthetic data" in issue.message
    repaired, _ = repair_related(tables)
    assert repaired.relationships == ()
    assert repaired.table("employees").schema.column("manager_id").action == "drop"
    assert "manager_id" not in repaired.table("employees").schema.kept_columns


def test_keys_of_another_kind_are_read_as_the_parents():
    frames = bank_frames()
    acc = frames["accounts"].astype({"customer_id": str})
    acc.loc[0, "customer_id"] = "unknown"
    frames["accounts"] = acc
    issues = check_related(related(frames))
    mismatch = only(issues, "type_mismatch")
    assert mismatch.table == "accounts" and mismatch.rows == len(acc)
    assert "holds text while customers.customer_id holds numbers" in mismatch.message
    orphan = [i for i in issues if i.kind == "orphans" and i.table == "accounts"][0]
    assert orphan.rows == 1
    repaired, _ = repair_related(related(frames))
    fixed = repaired.table("accounts").frame["customer_id"]
    assert pd.api.types.is_numeric_dtype(fixed) and len(fixed) == len(acc) - 1


def test_a_relationship_to_a_missing_column_is_an_error_and_left_out():
    ghost = Relationship("customers", "customer_id", "accounts", "owner_id")
    tables = related(bank_frames(), links=(*LINKS, ghost))
    issue = only(check_related(tables), "missing_column")
    assert issue.severity == "error" and "column accounts.owner_id" in issue.message
    repaired, _ = repair_related(tables)
    assert ghost not in repaired.relationships and len(repaired.relationships) == 3


def test_checks_and_repair_are_vectorised_on_a_large_child_table():
    rng = np.random.default_rng(1)
    parents = pd.DataFrame({"parent_id": np.arange(50_000), "size": 1})
    children = pd.DataFrame({"child_id": np.arange(600_000),
                             "parent_id": rng.integers(0, 55_000, 600_000)})
    expected = int((children["parent_id"] >= 50_000).sum())
    link = Relationship("parents", "parent_id", "children", "parent_id")
    tables = related({"parents": parents, "children": children},
                     {"parents": "parent_id", "children": "child_id"}, (link,))
    assert only(check_related(tables), "orphans").rows == expected
    repaired, _ = repair_related(tables)
    assert len(repaired.table("children").frame) == 600_000 - expected


# --------------------------------------------------------------------------- suggestions


def test_relationships_are_suggested_by_names_and_by_values():
    frames = bank_frames()
    frames["accounts"] = frames["accounts"].rename(columns={"account_id": "id"})
    frames["transactions"] = frames["transactions"].assign(
        merchant_ref=frames["transactions"]["transaction_id"] % 40 + 1)  # values only
    keys = {**KEYS, "accounts": "id"}
    found = {(r.parent, r.parent_key, r.child, r.child_key)
             for r in suggest_relationships(frames, keys)}
    assert ("customers", "customer_id", "accounts", "customer_id") in found  # same name
    assert ("accounts", "id", "transactions", "account_id") in found  # <singular>_id
    assert ("branches", "branch_id", "accounts", "branch_id") in found
    assert ("customers", "customer_id", "transactions", "merchant_ref") in found  # values
    assert not any(child_key in ("age", "amount", "balance") for *_, child_key in found)
    assert all(r.source == "detected" for r in suggest_relationships(frames, keys))


def test_a_same_named_column_with_other_values_is_not_suggested():
    frames = bank_frames()
    frames["accounts"] = frames["accounts"].assign(customer_id=frames["accounts"]["customer_id"]
                                                   + 10_000)
    found = suggest_relationships(frames, KEYS)
    assert not any(r.child == "accounts" and r.child_key == "customer_id" for r in found)


# --------------------------------------------------------------------------- detection


@pytest.fixture(scope="module")
def detected() -> RelatedTables:
    return detect_related(bank_frames(), name="bank", source="Uploaded files",
                          target=("customers", "churned"))


def test_detect_related_finds_keys_and_relationships_of_plain_frames(detected):
    assert {t.name: t.schema.primary_key for t in detected.tables} == KEYS
    assert {(r.parent, r.parent_key, r.child, r.child_key) for r in detected.relationships} == \
        {(r.parent, r.parent_key, r.child, r.child_key) for r in LINKS}
    assert detected.target == ("customers", "churned")
    assert detected.dependency_order().index("customers") < \
        detected.dependency_order().index("transactions")
    for rel in detected.relationships:
        for table, column in ((rel.child, rel.child_key), (rel.parent, rel.parent_key)):
            spec = detected.table(table).schema.column(column)
            assert (spec.sdtype, spec.pii, spec.action) == ("id", False, "model")
    name = detected.table("customers").schema.column("full_name")
    assert name.pii and name.action == "fake"  # personal data still faked
    assert check_related(detected) == []


def test_declared_keys_come_first_and_the_other_candidates_are_kept():
    frames = bank_frames()
    frames["accounts"] = frames["accounts"].assign(opened_by=frames["accounts"]["customer_id"])
    declared = [Relationship("customers", "customer_id", "accounts", "opened_by", "declared")]
    tables = detect_related(frames, name="bank", source="Database", declared=declared,
                            primary_keys={"branches": "branch_id"})
    assert tables.relationships[0] == declared[0]
    assert tables.table("branches").schema.primary_key == "branch_id"
    assert tables.table("accounts").schema.column("opened_by").sdtype == "id"


def test_a_detected_link_that_would_close_a_circle_is_not_chosen():
    frames = bank_frames()
    frames["customers"] = frames["customers"].assign(
        account_id=frames["accounts"].groupby("customer_id")["account_id"].first()
        .reindex(frames["customers"]["customer_id"]).to_numpy())
    tables = detect_related(frames, name="bank", source="files")
    tables.dependency_order()  # no cycle among the chosen
    assert any(r.child == "customers" and r.child_key == "account_id"
               for r in tables.detected_relationships)


# --------------------------------------------------------------------------- names and files


@pytest.mark.parametrize("name", ["../etc/passwd", "x; DROP TABLE y", "a/b", "", "1st",
                                  "sqlite_master", "CON", "naïve", "tab\tle", "x" * 64,
                                  'acc"ounts'])
def test_hostile_table_names_are_refused(name):
    with pytest.raises(MetadataError, match="table name"):
        check_table_name(name)
    with pytest.raises(MetadataError):
        detect_related({name: bank_frames()["branches"]}, name="x", source="x")


def test_table_names_are_made_safe_and_unique():
    assert safe_table_name("order details") == "order_details"
    assert safe_table_name("../../etc/passwd") == "etc_passwd"
    assert safe_table_name("2024 sales") == "t_2024_sales"
    assert safe_table_name("sqlite_stat1") == "sqlite_stat1_table"
    assert safe_table_name("nul") == "nul_table"
    assert safe_table_name("Customers", taken=["customers"]) == "Customers_2"
    assert safe_table_name("'; DROP TABLE x; --") == "DROP_TABLE_x"
    for text in ("../../etc/passwd", "a;b", "\x00", "ünï", "x" * 200):
        assert check_table_name(safe_table_name(text)) == safe_table_name(text)


def test_several_files_load_as_named_tables_with_notes():
    frames = bank_frames()
    files = [("customers.csv", frames["customers"].to_csv(index=False).encode()),
             ("../accounts table.csv", frames["accounts"].to_csv(index=False).encode()),
             ("customers.json", frames["branches"].to_json(orient="records").encode())]
    loaded, notes = read_related_files(files)
    assert list(loaded) == ["customers", "accounts_table", "customers_2"]
    assert len(loaded["accounts_table"]) == len(frames["accounts"])
    assert list(loaded["customers_2"].columns) == ["branch_id", "city"]
    assert any("accounts table.csv is called accounts_table" in note for note in notes)
    assert list(load_related_files(dict(files[:1]))) == ["customers"]


def test_file_mistakes_name_the_file():
    with pytest.raises(DataLoadError, match="No files"):
        load_related_files({})
    with pytest.raises(DataLoadError, match="at most 20"):
        load_related_files([(f"t{i}.csv", b"a,b\n1,2\n") for i in range(21)])
    with pytest.raises(DataLoadError, match="broken.xls"):
        load_related_files({"ok.csv": b"a,b\n1,2\n", "broken.xls": b"\x00\x01"})
    with pytest.raises(DataLoadError, match="too large"):
        load_related_files({"a.csv": b"a,b\n" + b"1,2\n" * 5000,
                            "b.csv": b"a,b\n" + b"1,2\n" * 5000}, max_table_bytes=100_000)
