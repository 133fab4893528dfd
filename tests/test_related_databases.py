"""Related tables in real databases: keys read from the catalogue, and written back.

A tiny bank (customers -> accounts -> transactions, and a branches lookup that accounts
refer to) with its primary and foreign keys declared, in a SQLite file, a DuckDB file and
the throw-away PostgreSQL server of ``tests/postgres_db.py`` (skipped without the binaries,
a failure under CI). PostgreSQL is read as a user that can only read and written as the
owner under ``STUDIO_DATABASES=readwrite``; the write-back goes into a new file or a new
schema, and the database itself confirms that every child row has its parent.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import duckdb
import pandas as pd
import pytest

from core.data import databases as db
from core.data.databases.reading import read_catalogue_keys, read_related
from core.data.databases.writing import write_related
from core.data.related import Relationship, check_related, repair_related
from core.engine.related_metadata import detect_related
from tests.postgres_db import (
    READER,
    READER_PASSWORD,
    ROLE_PASSWORD,
    TempPostgres,
    start_for_tests,
)

ENGINES = ["sqlite", "duckdb", "postgresql"]
LINKS = {("customers", "customer_id", "accounts", "customer_id"),
         ("branches", "branch_id", "accounts", "branch_id"),
         ("accounts", "account_id", "transactions", "account_id")}
KEYS = {"customers": "customer_id", "branches": "branch_id", "accounts": "account_id",
        "transactions": "transaction_id"}
SECRET_FORMS = {form for secret in (ROLE_PASSWORD, READER_PASSWORD)
                for form in (secret, quote(secret, safe=""), quote_plus(secret))}

SCHEMA_SQL = [
    "CREATE TABLE branches (branch_id TEXT PRIMARY KEY, city TEXT)",
    "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, full_name TEXT, age INTEGER, "
    "churned TEXT)",
    "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, "
    "customer_id INTEGER REFERENCES customers (customer_id), "
    "branch_id TEXT REFERENCES branches (branch_id), balance DOUBLE PRECISION)",
    "CREATE TABLE transactions (transaction_id INTEGER PRIMARY KEY, "
    "account_id INTEGER REFERENCES accounts (account_id), amount DOUBLE PRECISION, "
    "is_fraud TEXT)",
    "CREATE TABLE notes (note TEXT, written DATE)",  # no keys at all
]


def bank() -> dict[str, pd.DataFrame]:
    """The rows, consistent (every child has its parent), in dependency order."""
    branches = pd.DataFrame({"branch_id": ["BR1", "BR2", "BR3"],
                             "city": ["Leeds", "York", "Bath"]})
    customers = pd.DataFrame({"customer_id": range(1, 13),
                              "full_name": [f"Person {i}" for i in range(1, 13)],
                              "age": [20 + 3 * i for i in range(12)],
                              "churned": ["yes" if i % 4 == 0 else "no" for i in range(12)]})
    accounts = pd.DataFrame({"account_id": range(100, 124),
                             "customer_id": [1 + i % 12 for i in range(24)],
                             "branch_id": [f"BR{1 + i % 3}" for i in range(24)],
                             "balance": [100.5 * i for i in range(24)]})
    transactions = pd.DataFrame({"transaction_id": range(1, 73),
                                 "account_id": [100 + i % 24 for i in range(72)],
                                 "amount": [1.25 * i for i in range(72)],
                                 "is_fraud": ["yes" if i % 9 == 0 else "no" for i in range(72)]})
    notes = pd.DataFrame({"note": ["a", "b"], "written": ["2024-01-01", "2024-02-01"]})
    return {"branches": branches, "customers": customers, "accounts": accounts,
            "transactions": transactions, "notes": notes}


def fill(execute, frames: dict[str, pd.DataFrame], placeholder: str = "?",
         prefix: str = "") -> None:
    for sql in SCHEMA_SQL:
        execute(sql.replace("CREATE TABLE ", f"CREATE TABLE {prefix}")
                .replace("REFERENCES ", f"REFERENCES {prefix}"), None)
    for name, frame in frames.items():
        marks = ", ".join([placeholder] * frame.shape[1])
        for row in frame.itertuples(index=False):
            execute(f"INSERT INTO {prefix}{name} VALUES ({marks})", tuple(row))


def assert_no_secret(text: str) -> None:
    for form in SECRET_FORMS:
        assert form not in text, f"the password leaked into: {text[:300]}"


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("related_databases")


@pytest.fixture(autouse=True)
def _allowed_folders(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The app's defaults (read, localhost), with the test folder allowed for files."""
    for variable in ("STUDIO_DATABASES", "STUDIO_DB_HOSTS", "STUDIO_DB_PASSWORD_HOSTS",
                     "STUDIO_DB_PASSWORD", "PGPASSWORD", "PGHOST", "PGHOSTADDR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("STUDIO_DB_FILE_DIRS", str(folder))


@pytest.fixture(scope="module")
def sqlite_bank(folder: Path) -> Path:
    path = folder / "bank.db"
    with sqlite3.connect(path) as connection:
        fill(lambda sql, values: connection.execute(sql, values or ()), bank())
    return path


@pytest.fixture(scope="module")
def duckdb_bank(folder: Path) -> Path:
    path = folder / "bank.duckdb"
    connection = duckdb.connect(str(path))
    fill(lambda sql, values: connection.execute(sql, values), bank())
    connection.close()
    return path


@pytest.fixture(scope="module")
def postgres() -> TempPostgres:
    """A private PostgreSQL server with the bank in ``public`` and an unrelated ``other``."""
    server = start_for_tests("The related-tables PostgreSQL tests")
    try:
        import psycopg

        with psycopg.connect(host=server.host, port=server.port, user="studio_test",
                             password=ROLE_PASSWORD, dbname="studio",
                             autocommit=True) as connection:
            fill(lambda sql, values: connection.execute(sql, values), bank(), "%s")
            connection.execute("CREATE SCHEMA other")
            connection.execute("CREATE TABLE other.customers (customer_id INTEGER PRIMARY KEY, "
                               "x TEXT)")
            connection.execute("INSERT INTO other.customers VALUES (1, 'a'), (2, 'b')")
        server.create_reader(("public", "other"))
        yield server
    finally:
        server.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> SimpleNamespace:
    """``source`` reads the bank; ``writer(name)`` is a new place to write it."""
    if request.param in ("sqlite", "duckdb"):
        path = request.getfixturevalue(f"{request.param}_bank")
        folder = path.parent

        def writer(name: str) -> db.DatabaseSource:
            suffix = ".db" if request.param == "sqlite" else ".duckdb"
            return db.parse_source(f"{request.param}:///{folder / (name + suffix)}")

        return SimpleNamespace(name=request.param,
                               source=db.parse_source(f"{request.param}:///{path}"),
                               writer=writer, schema=lambda name: None,
                               tables=["customers", "accounts", "transactions", "branches"])
    server: TempPostgres = request.getfixturevalue("postgres")
    environ = {"STUDIO_DATABASES": "readwrite", "PGPASSWORD": ""}
    return SimpleNamespace(
        name="postgresql",
        source=db.parse_source(server.url(user=READER), password=READER_PASSWORD, environ={}),
        writer=lambda name: db.parse_source(server.url(), password=ROLE_PASSWORD,
                                            environ={**os.environ, **environ}),
        schema=lambda name: name, server=server,
        tables=["public.customers", "public.accounts", "public.transactions",
                "public.branches"])


def links(relationships) -> set[tuple[str, str, str, str]]:
    return {(r.parent, r.parent_key, r.child, r.child_key) for r in relationships}


# --------------------------------------------------------------------------- reading


def test_keys_are_read_from_the_catalogue(engine):
    read = read_related(engine.source, engine.tables)
    assert links(read.relationships) == LINKS
    assert all(r.source == "declared" for r in read.relationships)
    assert read.primary_keys == KEYS
    assert {name: len(frame) for name, frame in read.frames.items()} == \
        {name: len(frame) for name, frame in bank().items() if name != "notes"}
    assert "***" in read.source or engine.name != "postgresql"
    assert_no_secret(repr(read.notes) + read.source)


def test_every_table_is_read_when_none_are_named(engine):
    read = read_related(engine.source)
    expected = {"customers", "accounts", "transactions", "branches", "notes"}
    if engine.name == "postgresql":
        expected |= {"public_customers", "other_customers"} - {"customers"}
        expected.discard("customers")
        assert read.tables["other_customers"] == db.TableRef("other", "customers")
        assert read.primary_keys["other_customers"] == "customer_id"
        assert ("public_customers", "customer_id", "accounts", "customer_id") in \
            links(read.relationships)
    assert set(read.frames) == expected
    assert read.primary_keys["notes"] is None


def test_named_tables_keep_only_the_keys_between_them(engine):
    named = [t for t in engine.tables if t.endswith(("customers", "accounts"))]
    read = read_related(engine.source, named, row_cap=10)
    assert links(read.relationships) == {("customers", "customer_id", "accounts",
                                          "customer_id")}
    assert len(read.frames["accounts"]) == 10
    assert any("row cap" in note for note in read.notes)  # orphans may follow; said so


def test_the_read_keys_make_related_tables_that_pass_the_checks(sqlite_bank):
    read = read_related(db.parse_source(f"sqlite:///{sqlite_bank}"))
    tables = detect_related(read.frames, name=read.name, source=read.source,
                            declared=read.relationships, primary_keys=read.primary_keys,
                            target=("customers", "churned"))
    assert links(tables.relationships) >= LINKS
    assert tables.relationships[:3] == read.relationships
    assert check_related(tables) == []
    key = tables.table("accounts").schema.column("customer_id")
    assert key.sdtype == "id" and key.action == "model"


def test_hostile_table_names_are_quoted_when_read_and_made_safe(folder):
    path = folder / "hostile.db"
    with sqlite3.connect(path) as connection:
        connection.execute('CREATE TABLE "par""ent; DROP TABLE x" (id INTEGER PRIMARY KEY, '
                           "v TEXT)")
        connection.execute('CREATE TABLE "../child" (cid INTEGER PRIMARY KEY, '
                           'pid INTEGER REFERENCES "par""ent; DROP TABLE x" (id))')
        connection.execute('INSERT INTO "par""ent; DROP TABLE x" VALUES (1, \'a\'), (2, \'b\')')
        connection.execute('INSERT INTO "../child" VALUES (1, 1), (2, 2), (3, 1)')
    read = read_related(db.parse_source(f"sqlite:///{path}"))
    assert set(read.frames) == {"par_ent_DROP_TABLE_x", "child"}
    assert links(read.relationships) == {("par_ent_DROP_TABLE_x", "id", "child", "pid")}
    assert any("is called child here" in note for note in read.notes)
    with sqlite3.connect(path) as connection:  # nothing was dropped or changed
        assert connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 2


# --------------------------------------------------------------------------- writing


def test_write_back_declares_the_keys_and_the_database_confirms_them(engine):
    read = read_related(engine.source, engine.tables)
    tables = detect_related(read.frames, name="bank", source=read.source,
                            declared=read.relationships, primary_keys=read.primary_keys)
    name = f"bank_copy_{engine.name}"
    steps: list[float] = []
    result = write_related(read.frames, tables, engine.writer(name), schema=engine.schema(name),
                           progress=lambda fraction, message: steps.append(fraction))
    order = [t.table.name for t in result.tables]
    assert order.index("customers") < order.index("accounts") < order.index("transactions")
    assert order.index("branches") < order.index("accounts")
    assert result.rows == sum(len(frame) for frame in read.frames.values())
    assert result.foreign_keys == 3 and result.broken_links == 0 and steps[-1] == 1.0
    assert_no_secret(repr(result))

    if engine.name == "sqlite":
        with sqlite3.connect(engine.writer(name).url.database) as connection:
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
            declared = connection.execute(
                "SELECT * FROM pragma_foreign_key_list('transactions')").fetchall()
            assert [(row[2], row[3], row[4]) for row in declared] == \
                [("accounts", "account_id", "account_id")]
        assert "PRAGMA foreign_key_check found no broken link" in result.check
    if engine.name == "postgresql":
        with engine.server.superuser_connect() as connection:
            found = connection.execute(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = %s::regnamespace",
                (name,)).fetchall()
        assert {(child.split(".")[1], parent.split(".")[1]) for child, parent in found} == \
            {("accounts", "customers"), ("accounts", "branches"), ("transactions", "accounts")}
    back = read_related(engine.writer(name) if engine.name != "postgresql" else
                        db.parse_source(engine.server.url(), password=ROLE_PASSWORD,
                                        environ={"STUDIO_DATABASES": "readwrite"}),
                        [f"{name}.{t}" if engine.name == "postgresql" else t
                         for t in ("customers", "accounts", "transactions", "branches")])
    assert links(back.relationships) == LINKS and back.primary_keys == KEYS
    pd.testing.assert_frame_equal(back.frames["accounts"], read.frames["accounts"],
                                  check_dtype=False)


def test_write_back_never_overwrites(engine):
    read = read_related(engine.source, engine.tables)
    tables = detect_related(read.frames, name="bank", source="x",
                            declared=read.relationships, primary_keys=read.primary_keys)
    name = f"bank_twice_{engine.name}"
    write_related(read.frames, tables, engine.writer(name), schema=engine.schema(name))
    expected = db.TableExistsError if engine.name == "postgresql" else db.WriteNotAllowedError
    with pytest.raises(expected, match="already exists|only reads existing"):
        write_related(read.frames, tables, engine.writer(name), schema=engine.schema(name))


def test_a_broken_link_undoes_the_whole_write(engine):
    frames = {name: frame.copy() for name, frame in bank().items() if name != "notes"}
    frames["transactions"].loc[:4, "account_id"] = 9_999
    tables = detect_related(frames, name="bank", source="x",
                            declared=[Relationship(*link) for link in LINKS],
                            primary_keys=KEYS)
    name = f"bank_broken_{engine.name}"
    with pytest.raises(db.DatabaseWriteError, match="Nothing was written|nothing was kept"):
        write_related(frames, tables, engine.writer(name), schema=engine.schema(name))
    if engine.name == "postgresql":
        with engine.server.superuser_connect() as connection:
            assert connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                      (name,)).fetchone() is None
    else:
        assert not Path(engine.writer(name).url.database).exists()
    repaired, notes = repair_related(tables)
    assert any("5 rows of transactions refer to an account_id" in note for note in notes)
    write_related({t.name: t.frame for t in repaired.tables}, repaired, engine.writer(name),
                  schema=engine.schema(name))


def test_write_back_follows_the_operators_rules(sqlite_bank, folder, tmp_path, postgres):
    read = read_related(db.parse_source(f"sqlite:///{sqlite_bank}"))
    tables = detect_related(read.frames, name="bank", source="x",
                            declared=read.relationships, primary_keys=read.primary_keys)
    with pytest.raises(db.DatabaseNotAllowedError, match="STUDIO_DB_FILE_DIRS"):
        write_related(read.frames, tables, db.parse_source(f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(db.WriteNotAllowedError, match="must be named"):
        write_related(read.frames, tables, db.parse_source(f"sqlite:///{folder / 'x.csv'}"))
    reader_only = db.parse_source(postgres.url(), password=ROLE_PASSWORD,
                                  environ={"PGPASSWORD": ""})
    with pytest.raises(db.WriteNotAllowedError, match="STUDIO_DATABASES=read"):
        write_related(read.frames, tables, reader_only, schema="bank_nope")
    wrong = db.parse_source(postgres.url(), password=ROLE_PASSWORD + "x",
                            environ={"STUDIO_DATABASES": "readwrite", "PGPASSWORD": ""})
    with pytest.raises(db.DatabaseWriteError) as failed:
        write_related(read.frames, tables, wrong, schema="bank_wrong_password")
    assert "Authentication failed" in str(failed.value)
    assert_no_secret(str(failed.value))
    writer = db.parse_source(postgres.url(), password=ROLE_PASSWORD,
                             environ={"STUDIO_DATABASES": "readwrite", "PGPASSWORD": ""})
    for schema in (None, "x; DROP SCHEMA public", "pg_bank", "public"):
        with pytest.raises(db.DatabaseWriteError):
            write_related(read.frames, tables, writer, schema=schema)
    with pytest.raises(db.DatabaseWriteError, match="no schemas"):
        write_related(read.frames, tables, db.parse_source(f"sqlite:///{folder / 'y.db'}"),
                      schema="bank")


def test_keys_over_several_columns_are_left_out_and_said_so(folder):
    path = folder / "composite.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE lines (order_id INTEGER, line INTEGER, qty INTEGER, "
                           "PRIMARY KEY (order_id, line))")
        connection.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, order_id INTEGER, "
                           "line INTEGER, FOREIGN KEY (order_id, line) REFERENCES lines)")
    source = db.parse_source(f"sqlite:///{path}")
    keys = read_catalogue_keys(source, db.list_tables(source))
    assert keys.primary_keys == {db.TableRef(None, "notes"): "note_id"}
    assert keys.foreign_keys == ()
    assert any("primary key of lines spans 2 columns" in note for note in keys.skipped)
    assert any("foreign key of notes on order_id, line spans several columns" in note
               for note in keys.skipped)
