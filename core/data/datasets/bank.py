"""The shipped bank database: branches, customers, accounts and transactions, all fictitious.

:func:`bank_database` makes four related tables from one seed with numpy only (names and
e-mails come from the short word lists below, not Faker, so the same seed gives the same
rows on every machine and Faker version):

* ``branches`` (10 rows): ``branch_id``, ``city``, ``region`` — a lookup table.
* ``customers`` (500 rows): ``customer_id``, PII (``name``, ``email``, ``phone``),
  ``birth_date``, ``city``, ``segment`` (retail / premium / business), ``signup_date`` and
  ``churned`` (about 20 % True).
* ``accounts`` (1–3 per customer): ``account_id``, ``customer_id`` → customers,
  ``branch_id`` → branches, ``holder_name`` (the customer's name again, as a bank statement
  prints it: PII that must stay consistent across tables), ``account_type``,
  ``opened_date``, ``credit_limit`` (credit cards only, else missing), ``balance``.
* ``transactions`` (about 5–15 per account): ``transaction_id``, ``account_id`` →
  accounts, ``timestamp``, ``amount``, ``merchant_category``, ``channel``, ``is_fraud``
  (about 2–3 %).

Planted dependencies across tables (:data:`BANK_RELATIONS`) make a parent-level usefulness
test meaningful: churned customers hold fewer accounts and transact less and less recently,
business customers open business accounts and move larger amounts, and fraud gathers in a
few compromised accounts (online, at night, larger amounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.fake_values import phone_numbers
from core.data.related import Relationship
from core.data.schema import ColumnSchema, TableSchema

__all__ = [
    "BANK_COLUMNS",
    "BANK_PRIMARY_KEYS",
    "BANK_RELATIONS",
    "BANK_RELATIONSHIPS",
    "BANK_SEED",
    "BANK_TABLES",
    "BankColumn",
    "bank_database",
    "bank_schemas",
    "read_bank_csv",
    "write_bank_sqlite",
]

#: The seed of the shipped files.
BANK_SEED = 2024
#: Tables in dependency order (parents first).
BANK_TABLES: tuple[str, ...] = ("branches", "customers", "accounts", "transactions")
#: Primary key of each table.
BANK_PRIMARY_KEYS: dict[str, str] = {
    "branches": "branch_id", "customers": "customer_id", "accounts": "account_id",
    "transactions": "transaction_id",
}
#: The foreign keys.
BANK_RELATIONSHIPS: tuple[Relationship, ...] = (
    Relationship("customers", "customer_id", "accounts", "customer_id"),
    Relationship("branches", "branch_id", "accounts", "branch_id"),
    Relationship("accounts", "account_id", "transactions", "account_id"),
)
#: What the generator plants, in plain sentences (for sample_data/README.md).
BANK_RELATIONS: tuple[str, ...] = (
    "Churned customers hold fewer accounts, make about half as many transactions, and stop "
    "transacting months before the end of 2024.",
    "Business customers open business accounts, mostly, and move about three times larger "
    "amounts; premium customers get higher credit limits.",
    "About 6 % of accounts are compromised: nearly a third of their transactions are fraud "
    "(online, at night, electronics or travel, several times larger), so fraud gathers in "
    "few accounts.",
    "Most customers bank at a branch in their own city; an account opens after its "
    "customer signed up.",
    "holder_name on each account is its customer's name: the same person keeps one name "
    "in both tables.",
)

_END = np.datetime64("2024-12-31T23:59:59", "s")
_YEAR_START = np.datetime64("2024-01-01T00:00:00", "s")


@dataclass(frozen=True)
class BankColumn:
    """One column of the bank database: its kind (how the CSV is read back) and meaning."""

    name: str
    kind: str  # "int", "float", "text", "category", "date", "datetime", "bool"
    description: str
    pii: bool = False


BANK_COLUMNS: dict[str, tuple[BankColumn, ...]] = {
    "branches": (
        BankColumn("branch_id", "int", "Branch id (1, 2, ...)."),
        BankColumn("city", "category", "City of the branch."),
        BankColumn("region", "category", "Region of the branch (north, south, east, west)."),
    ),
    "customers": (
        BankColumn("customer_id", "int", "Customer id (1, 2, ...)."),
        BankColumn("name", "text", "Customer's full name (fictitious).", pii=True),
        BankColumn("email", "text", "Customer's e-mail address (fake).", pii=True),
        BankColumn("phone", "text", "US phone number (fake).", pii=True),
        BankColumn("birth_date", "date", "Day of birth (customers are 18-85)."),
        BankColumn("city", "category", "City the customer lives in."),
        BankColumn("segment", "category", "retail, premium or business."),
        BankColumn("signup_date", "date", "Day the customer joined the bank, 2012-2023."),
        BankColumn("churned", "bool", "Target: the customer left the bank during 2024."),
    ),
    "accounts": (
        BankColumn("account_id", "int", "Account id (1, 2, ...)."),
        BankColumn("customer_id", "int", "The account's customer (customers.customer_id)."),
        BankColumn("branch_id", "int", "The branch that keeps it (branches.branch_id)."),
        BankColumn("holder_name", "text", "Name printed on the account: its customer's name.",
                   pii=True),
        BankColumn("account_type", "category", "checking, savings, credit_card or business."),
        BankColumn("opened_date", "date", "Day the account was opened (after signup)."),
        BankColumn("credit_limit", "float", "Credit limit in US dollars (credit cards only; "
                   "blank otherwise)."),
        BankColumn("balance", "float", "Balance at the end of 2024 in US dollars."),
    ),
    "transactions": (
        BankColumn("transaction_id", "int", "Transaction id (1, 2, ...)."),
        BankColumn("account_id", "int", "The account charged (accounts.account_id)."),
        BankColumn("timestamp", "datetime", "Date and time of the transaction in 2024."),
        BankColumn("amount", "float", "Amount in US dollars."),
        BankColumn("merchant_category", "category", "Kind of merchant (grocery, travel...)."),
        BankColumn("channel", "category", "card, online, atm or branch."),
        BankColumn("is_fraud", "bool", "The transaction was fraudulent (about 2-3 %)."),
    ),
}

_BRANCHES = (
    ("Springfield", "north"), ("Riverton", "north"), ("Lakeside", "east"),
    ("Fairview", "east"), ("Georgetown", "south"), ("Oakdale", "south"),
    ("Mapleton", "west"), ("Brookfield", "west"), ("Clearwater", "south"),
    ("Hillsboro", "north"),
)
_CITY_WEIGHTS = np.array([0.18, 0.08, 0.14, 0.07, 0.12, 0.08, 0.11, 0.08, 0.08, 0.06])
_FIRST = (
    "Ada", "Alan", "Alice", "Amara", "Ben", "Bianca", "Carl", "Chloe", "Daniel", "Dora",
    "Elias", "Emma", "Farid", "Freya", "Gavin", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jade", "Jonas", "Kara", "Kenji", "Lena", "Leo", "Maya", "Milo", "Nadia", "Noah",
    "Olga", "Omar", "Paula", "Pedro", "Quinn", "Rosa", "Ravi", "Sara", "Samir", "Tara",
    "Theo", "Uma", "Victor", "Vera", "Wanda", "Wes", "Xena", "Yusuf", "Yara", "Zoe",
)
_LAST = (
    "Abbott", "Baker", "Castillo", "Dawson", "Ellis", "Fischer", "Garcia", "Hansen",
    "Ibrahim", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel",
    "Quint", "Rossi", "Schmidt", "Tanaka", "Underwood", "Varga", "Walsh", "Xu", "Young",
    "Zimmer", "Alvarez", "Brennan", "Cohen", "Duarte", "Eriksen", "Fontaine", "Gallo",
    "Horvat", "Iyer", "Jovanovic", "Kim", "Lindqvist", "Mendes", "Novak",
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.example")
_SEGMENTS = ("retail", "premium", "business")
_CATEGORIES = ("grocery", "restaurant", "fuel", "utilities", "online_retail", "electronics",
               "travel", "health", "entertainment", "cash")
_CATEGORY_WEIGHTS = np.array([0.24, 0.14, 0.10, 0.08, 0.12, 0.05, 0.05, 0.07, 0.08, 0.07])
_CATEGORY_SCALE = np.array([45, 35, 50, 110, 70, 260, 420, 60, 40, 120], dtype=float)


def _dates(rng: np.random.Generator, start: str, end: str, n: int) -> np.ndarray:
    low, high = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = rng.integers(0, int((high - low).astype(int)) + 1, size=n)
    return low + days.astype("timedelta64[D]")


def bank_database(seed: int = BANK_SEED, customers: int = 500) -> dict[str, pd.DataFrame]:
    """The four bank tables, made from ``seed`` (same seed, same rows, everywhere).

    Args:
        seed: Seed of every random draw.
        customers: Number of customers (accounts and transactions follow from it).

    Returns:
        ``{"branches", "customers", "accounts", "transactions"}`` → frame, each sorted by its
        primary key (integers from 1), foreign keys always pointing at an existing row.
    """
    rng = np.random.default_rng(seed)
    tables: dict[str, pd.DataFrame] = {}

    # Branches: a lookup table.
    tables["branches"] = pd.DataFrame({
        "branch_id": np.arange(1, len(_BRANCHES) + 1, dtype=np.int64),
        "city": [city for city, _ in _BRANCHES],
        "region": [region for _, region in _BRANCHES],
    })

    # Customers.
    n = customers
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    names = np.array([f"{f} {la}" for f, la in zip(first, last, strict=True)], dtype=object)
    numbers = rng.integers(1, 1000, n)
    domains = np.array(_DOMAINS, dtype=object)[rng.integers(0, len(_DOMAINS), n)]
    emails = np.array([f"{f.lower()}.{la.lower()}{k}@{d}" for f, la, k, d in
                       zip(first, last, numbers, domains, strict=True)], dtype=object)
    phones = phone_numbers(rng, n)
    age = np.clip(np.round(18 + rng.gamma(4.0, 8.0, n)), 18, 85).astype(int)
    birth = (np.datetime64("2024-06-30", "D") - (age * 365.25).astype(int).astype(
        "timedelta64[D]") - rng.integers(0, 365, n).astype("timedelta64[D]"))
    city_index = rng.choice(len(_BRANCHES), size=n, p=_CITY_WEIGHTS / _CITY_WEIGHTS.sum())
    segment_index = rng.choice(3, size=n, p=[0.68, 0.20, 0.12])
    signup = _dates(rng, "2012-01-01", "2023-12-31", n)
    tenure_years = (np.datetime64("2024-01-01", "D") - signup).astype(int) / 365.25
    # Churn: young, short-tenure retail customers leave most; business customers least.
    logit = (-1.2 + 0.9 * (segment_index == 0) - 0.8 * (segment_index == 2)
             - 0.18 * tenure_years - 0.015 * (age - 45) + 0.5 * rng.standard_normal(n))
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    tables["customers"] = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "name": names, "email": emails, "phone": phones,
        "birth_date": birth.astype("datetime64[ns]"),
        "city": np.array([_BRANCHES[i][0] for i in city_index], dtype=object),
        "segment": np.array(_SEGMENTS, dtype=object)[segment_index],
        "signup_date": signup.astype("datetime64[ns]"),
        "churned": churned,
    })

    # Accounts: 1-3 per customer; churned customers hold fewer.
    extra = np.where(churned, 0.25, np.where(segment_index == 2, 1.3, 0.8))
    counts = 1 + np.minimum(rng.poisson(extra), 2)
    owner = np.repeat(np.arange(n), counts)
    m = len(owner)
    seg = segment_index[owner]
    types = np.empty(m, dtype=object)
    draw = rng.random(m)
    first_of_owner = np.r_[True, owner[1:] != owner[:-1]]
    types[:] = np.where(draw < 0.45, "savings", "credit_card")
    types[first_of_owner] = "checking"
    business = (seg == 2) & (rng.random(m) < 0.75)
    types[business] = "business"
    home = city_index[owner]
    moved = rng.random(m) < 0.15
    branch = np.where(moved, rng.integers(0, len(_BRANCHES), m), home)
    opened = signup[owner] + (rng.exponential(300, m).astype(int)).astype("timedelta64[D]")
    opened = np.minimum(opened, np.datetime64("2023-12-31", "D"))
    limit = np.where(types == "credit_card",
                     np.round(rng.lognormal(np.log(3000), 0.45, m)
                              * np.where(seg == 1, 2.5, 1.0), -2), np.nan)
    scale = np.where(types == "business", 12_000, np.where(types == "savings", 6_000, 1_500))
    balance = np.round(rng.lognormal(0, 0.9, m) * scale * np.where(churned[owner], 0.3, 1.0),
                       2)
    balance = np.where(types == "credit_card", -np.round(balance * 0.4, 2), balance)
    compromised = rng.random(m) < 0.06
    tables["accounts"] = pd.DataFrame({
        "account_id": np.arange(1, m + 1, dtype=np.int64),
        "customer_id": (owner + 1).astype(np.int64),
        "branch_id": (branch + 1).astype(np.int64),
        "holder_name": names[owner],
        "account_type": types,
        "opened_date": opened.astype("datetime64[ns]"),
        "credit_limit": limit,
        "balance": balance,
    })

    # Transactions: about 5-15 per account, half as many for churned customers, who stop early.
    rate = np.where(churned[owner], 4.5, 9.5) * np.where(types == "business", 1.3, 1.0)
    per_account = np.clip(rng.poisson(rate), 1, 20)
    per_account[compromised] += 4
    account = np.repeat(np.arange(m), per_account)
    k = len(account)
    stop = np.where(churned[owner], rng.uniform(0.25, 0.8, m), 1.0)
    span = int((_END - _YEAR_START).astype(int))
    offsets = (rng.random(k) * stop[account] * span).astype(np.int64)
    fraud = compromised[account] & (rng.random(k) < 0.3)
    hours = np.where(fraud, rng.integers(0, 5, k), rng.integers(7, 23, k))
    offsets = offsets - offsets % 86_400 + hours * 3600 + rng.integers(0, 3600, k)
    stamps = _YEAR_START + np.minimum(offsets, span).astype("timedelta64[s]")
    category = rng.choice(len(_CATEGORIES), size=k,
                          p=_CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum())
    category = np.where(fraud, rng.choice([4, 5, 6], size=k), category)
    business_tx = types[account] == "business"
    amount = (rng.lognormal(0, 0.7, k) * _CATEGORY_SCALE[category]
              * np.where(business_tx | (seg[account] == 2), 3.0, 1.0)
              * np.where(fraud, 4.0, 1.0))
    channel = np.where(category == 9, "atm", np.where(
        rng.random(k) < np.where(np.isin(category, [4]), 0.95, 0.2), "online", "card"))
    channel = np.where((channel == "card") & (rng.random(k) < 0.06), "branch", channel)
    channel = np.where(fraud, "online", channel).astype(object)
    order = np.lexsort((stamps, account))
    tables["transactions"] = pd.DataFrame({
        "transaction_id": np.arange(1, k + 1, dtype=np.int64),
        "account_id": (account[order] + 1).astype(np.int64),
        "timestamp": stamps[order].astype("datetime64[ns]"),
        "amount": np.round(amount[order], 2),
        "merchant_category": np.array(_CATEGORIES, dtype=object)[category[order]],
        "channel": channel[order],
        "is_fraud": fraud[order],
    })
    return tables


def read_bank_csv(path: str, table: str) -> pd.DataFrame:
    """Read one bank table's CSV back with the generator's dtypes.

    Integers are ``int64``, decimals ``float64`` (blank = missing), dates and times
    ``datetime64[ns]``, flags ``bool``, text and categories ``object``.

    Raises:
        FileNotFoundError: The file is missing.
    """
    kinds = {c.name: c.kind for c in BANK_COLUMNS[table]}
    text = {name: "object" for name, kind in kinds.items() if kind in ("text", "category")}
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
    for name, kind in kinds.items():
        if kind in ("date", "datetime"):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601").astype("datetime64[ns]")
        elif kind == "bool":
            frame[name] = frame[name].map({"True": True, "False": False, True: True,
                                           False: False}).astype(bool)
        elif kind == "int":
            frame[name] = frame[name].astype(np.int64)
        elif kind == "float":
            frame[name] = frame[name].astype(float)
    return frame


_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "text": "TEXT", "category": "TEXT",
              "date": "DATE", "datetime": "TIMESTAMP", "bool": "BOOLEAN"}


def write_bank_sqlite(tables: dict[str, pd.DataFrame], path: str) -> None:
    """Write the bank tables into a new SQLite file with PRIMARY KEY and FOREIGN KEY declared.

    Tables are created parents first; dates are ISO text (``2024-03-01`` or
    ``2024-03-01 14:05:09``), flags 0/1, missing values NULL. An existing file is replaced.

    Args:
        tables: What :func:`bank_database` returned.
        path: The file to write.
    """
    import os
    import sqlite3

    if os.path.exists(path):
        os.remove(path)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        for table in BANK_TABLES:
            columns = BANK_COLUMNS[table]
            lines = [f'"{c.name}" {_SQL_TYPES[c.kind]}'
                     + (" PRIMARY KEY" if c.name == BANK_PRIMARY_KEYS[table] else "")
                     + ("" if c.kind == "float" else " NOT NULL") for c in columns]
            lines += [f'FOREIGN KEY ("{r.child_key}") REFERENCES "{r.parent}" ("{r.parent_key}")'
                      for r in BANK_RELATIONSHIPS if r.child == table]
            connection.execute(f'CREATE TABLE "{table}" (\n  ' + ",\n  ".join(lines) + "\n)")
            frame = tables[table]
            values: list[list[object]] = []
            for column in columns:
                series = frame[column.name]
                if column.kind == "date":
                    values.append(list(series.dt.strftime("%Y-%m-%d")))
                elif column.kind == "datetime":
                    values.append(list(series.dt.strftime("%Y-%m-%d %H:%M:%S")))
                elif column.kind == "bool":
                    values.append([int(v) for v in series])
                elif column.kind == "int":
                    values.append([int(v) for v in series])
                elif column.kind == "float":
                    values.append([None if v != v else float(v) for v in series])
                else:
                    values.append(list(series))
            marks = ", ".join("?" for _ in columns)
            connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})',
                                   list(zip(*values, strict=True)))
        connection.commit()
    finally:
        connection.close()


_PII_KINDS = {"name": "name", "email": "email", "phone": "phone_number", "holder_name": "name"}
_SDTYPES = {"float": "numerical", "category": "categorical", "date": "datetime",
            "datetime": "datetime", "bool": "boolean", "text": "categorical"}


def bank_schemas() -> dict[str, TableSchema]:
    """The reviewed schema of each bank table, as the Data page would settle it.

    Keys are identifiers (primary key set), personal data is faked, dates are dates, the
    rest is learned.
    """
    keys = {r.child_key for r in BANK_RELATIONSHIPS} | set(BANK_PRIMARY_KEYS.values())
    schemas: dict[str, TableSchema] = {}
    for table in BANK_TABLES:
        columns = []
        for column in BANK_COLUMNS[table]:
            if column.name in keys and column.kind == "int":
                columns.append(ColumnSchema(column.name, "id"))
            elif column.pii:
                columns.append(ColumnSchema(column.name, _PII_KINDS[column.name], pii=True,
                                            action="fake"))
            else:
                fmt = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"}.get(column.kind)
                columns.append(ColumnSchema(column.name, _SDTYPES[column.kind],
                                            datetime_format=fmt))
        schemas[table] = TableSchema(columns=tuple(columns),
                                     primary_key=BANK_PRIMARY_KEYS[table])
    return schemas
