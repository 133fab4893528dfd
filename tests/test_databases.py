"""Databases on real engines: a SQLite file, a DuckDB file and a real PostgreSQL server.

PostgreSQL is started by ``tests/postgres_db.py`` (initdb + pg_ctl as the ``postgres``
user, password auth on 127.0.0.1). Without the binaries these tests are skipped with the
reason, except under CI (``CI`` set, as ``.ci/run`` does), where that is a failure.

The operator's switches are the app's defaults (read, localhost) with the test folders
allowed for database files (``STUDIO_DB_FILE_DIRS``, set by a fixture). Reading
PostgreSQL uses a role that can only read; writing uses the owner under ``readwrite``.
The hostile cases are in ``tests/test_database_security.py``.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import duckdb
import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.__main__ import main
from core.data import databases as db
from tests.helpers import shown
from tests.postgres_db import (
    READER,
    READER_PASSWORD,
    ROLE,
    ROLE_PASSWORD,
    TempPostgres,
    start_for_tests,
)

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ["sqlite", "duckdb", "postgresql"]
DATASET = "studio.dataset"
MODEL = "studio.current_model"
SECRET_FORMS = {form for secret in (ROLE_PASSWORD, READER_PASSWORD)
                for form in (secret, quote(secret, safe=""), quote_plus(secret))}
# Hosts for the URL tests that never connect.
ANY_HOST = {"STUDIO_DB_HOSTS": "*"}


def make_loans(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(55_000, 12_000, n).round(2)
    grade = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    risk = (grade == "C") * 0.25 + (income < 45_000) * 0.2
    return pd.DataFrame({
        "amount": rng.integers(1_000, 30_000, n),
        "term": rng.choice([12, 24, 36], n),
        "grade": grade,
        "income": income,
        "opened": pd.date_range("2021-01-01", periods=n, freq="D"),
        "defaulted": np.where(rng.random(n) < 0.1 + risk, "yes", "no"),
    })


def assert_no_secret(text: str) -> None:
    for form in SECRET_FORMS:
        assert form not in text, f"the password leaked into: {text[:300]}"


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def postgres() -> TempPostgres:
    """A private PostgreSQL server with ``public.loans`` and ``sales.orders``."""
    server = start_for_tests("The PostgreSQL tests")
    try:
        url = server.url(password=ROLE_PASSWORD, scheme="postgresql+psycopg")
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE SCHEMA sales")
            make_loans().to_sql("loans", connection, schema="public", index=False)
            make_loans(60, seed=9).to_sql("orders", connection, schema="sales", index=False)
        engine.dispose()
        server.create_reader(("public", "sales"))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def database_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of this module's SQLite and DuckDB files."""
    return tmp_path_factory.mktemp("databases")


@pytest.fixture(autouse=True)
def _allowed_folders(monkeypatch: pytest.MonkeyPatch, database_dir: Path, tmp_path: Path) -> None:
    """The app's defaults, with this module's folders allowed for database files."""
    for variable in ("STUDIO_DATABASES", "STUDIO_DB_HOSTS", "STUDIO_DB_PASSWORD_HOSTS",
                     "STUDIO_DB_PASSWORD", "PGPASSWORD", "PGHOST", "PGHOSTADDR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("STUDIO_DB_FILE_DIRS", os.pathsep.join([str(database_dir),
                                                               str(tmp_path)]))


def readwrite(url: str, **options) -> db.DatabaseSource:
    """``url`` parsed under ``STUDIO_DATABASES=readwrite`` (writers and write-back allowed)."""
    environ = {**os.environ, "STUDIO_DATABASES": "readwrite", **options.pop("environ", {})}
    return db.parse_source(url, environ=environ, **options)


@pytest.fixture(scope="module")
def sqlite_path(database_dir: Path) -> Path:
    path = database_dir / "bank.db"
    with sqlite3.connect(path) as connection:
        make_loans().to_sql("loans", connection, index=False)
        connection.execute("CREATE VIEW big_loans AS SELECT * FROM loans WHERE amount > 20000")
    return path


@pytest.fixture(scope="module")
def duckdb_path(database_dir: Path) -> Path:
    path = database_dir / "bank.duckdb"
    loans, orders = make_loans(), make_loans(60, seed=9)  # noqa: F841 - read by DuckDB
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE loans AS SELECT * FROM loans")
    connection.execute("CREATE SCHEMA sales")
    connection.execute("CREATE TABLE sales.orders AS SELECT * FROM orders")
    connection.close()
    return path


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> SimpleNamespace:
    """One database per engine: ``source`` (reading), ``writer`` (``readwrite``, a user
    that can write), ``loans`` (its label), ``url`` (no password)."""
    if request.param == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('sqlite_path')}"
        return SimpleNamespace(name="sqlite", url=url, source=db.parse_source(url),
                               writer=readwrite(url), loans="loans",
                               tables={"loans", "big_loans"})
    if request.param == "duckdb":
        url = f"duckdb:///{request.getfixturevalue('duckdb_path')}"
        return SimpleNamespace(name="duckdb", url=url, source=db.parse_source(url),
                               writer=readwrite(url), loans="loans",
                               tables={"loans", "sales.orders"})
    server: TempPostgres = request.getfixturevalue("postgres")
    url = server.url(user=READER)
    return SimpleNamespace(name="postgresql", url=url,
                           source=db.parse_source(url, password=READER_PASSWORD, environ={}),
                           writer=readwrite(server.url(), password=ROLE_PASSWORD,
                                            environ={"PGPASSWORD": ""}),
                           loans="public.loans", tables={"public.loans", "sales.orders"})


# --------------------------------------------------------------------------- URLs and secrets


def test_urls_are_normalised_and_shown_without_the_password():
    encoded = quote(ROLE_PASSWORD, safe="")
    source = db.parse_source(f"postgresql://ann:{encoded}@db.example:5433/bank",
                             environ=ANY_HOST)
    assert source.url.drivername == "postgresql+psycopg"
    assert source.url.password == ROLE_PASSWORD
    assert source.display == "postgresql://ann:***@db.example:5433/bank"
    assert str(source) == source.display and source.display in repr(source)
    for text in (str(source), repr(source), source.location):
        assert_no_secret(text)
    assert db.parse_source("postgres://ann@h/bank", environ=ANY_HOST).url.drivername == \
        "postgresql+psycopg"
    masked = db.redact_url("postgresql://ann@h/bank?password=hunter2&sslmode=require")
    assert "hunter2" not in masked and "sslmode=require" in masked
    assert db.split_password("postgresql://ann:pw%40x@h/bank") == ("postgresql://ann@h/bank",
                                                                   "pw@x")
    assert db.split_password("sqlite:///a.db") == ("sqlite:///a.db", None)


def test_passwords_come_from_the_field_the_environment_or_secrets():
    url = "postgresql://ann@h/bank"
    hosts = {"STUDIO_DB_HOSTS": "h, evil.example, db.internal"}
    assert db.parse_source(url, environ={**hosts, "STUDIO_DB_PASSWORD": "e1"}
                           ).url.password == "e1"
    assert db.parse_source(url, environ={**hosts, "PGPASSWORD": "e2"}).url.password == "e2"
    only_db = {**hosts, "STUDIO_DB_PASSWORD": "e1",
               "STUDIO_DB_PASSWORD_HOSTS": "db.internal, h"}
    assert db.parse_source(url, environ=only_db).url.password == "e1"
    elsewhere = db.parse_source("postgresql://ann@evil.example/bank", environ=only_db)
    assert elsewhere.url.password is None
    anywhere = db.database_policy({}, operator_tool=True)
    assert db.parse_source("duckdb:///x.duckdb", environ={"PGPASSWORD": "e2"},
                           policy=anywhere).url.password is None
    secrets = {"database": {"password": "s1"}}
    assert db.parse_source(url, secrets=secrets, environ=hosts).url.password == "s1"
    restricted = {"database": {"password": "s1", "host": "other"}}
    assert db.parse_source(url, secrets=restricted, environ=hosts).url.password is None
    assert db.parse_source(url, password="typed", secrets=secrets,
                           environ={**hosts, "PGPASSWORD": "e2"}).url.password == "typed"
    named = {"connections": {"bank": {"url": "postgresql://ann:s2@h/bank"},
                             "parts": {"dialect": "postgresql", "host": "h2", "port": 6543,
                                       "username": "bob", "password": "s3",
                                       "database": "b2"}}}
    assert db.named_connections(named) == ["bank", "parts"]
    bank = db.parse_source("connection:bank", secrets=named, environ=ANY_HOST)
    assert bank.url.password == "s2" and bank.display == "postgresql://ann:***@h/bank"
    parts = db.parse_source("connection:parts", secrets=named, environ=ANY_HOST)
    assert parts.display == "postgresql://bob:***@h2:6543/b2"
    with pytest.raises(db.DatabaseError, match="no connection 'nope'.*bank, parts"):
        db.parse_source("connection:nope", secrets=named)


def test_secrets_files_are_read_and_merged(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[database]\npassword = "one"\n[connections.x]\nurl = "sqlite:///x.db"\n')
    second.write_text('[database]\npassword = "two"\n')
    merged = db.read_secrets([first, second, tmp_path / "missing.toml"])
    assert merged["database"]["password"] == "two"
    assert merged["connections"]["x"]["url"] == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql://ann:pw@h/bank", "SQLite, PostgreSQL and DuckDB, not 'mysql'"),
        ("bank.db", "not a database URL"),
        ("sqlite://", "names no file"),
        ("duckdb:///:memory:", "names no file"),
        ("", "Enter a database URL"),
        ("duckdb:///x.duckdb?enable_external_access=true", "take no options"),
        ("sqlite:///x.db?mode=rw", "take no options"),
    ],
)
def test_bad_urls_are_refused_clearly(text, expected):
    with pytest.raises(db.DatabaseError, match=expected) as caught:
        db.parse_source(text)
    assert "pw" not in str(caught.value).replace("PostgreSQL", "")


# --------------------------------------------------------------------------- SELECT only


@pytest.mark.parametrize(
    ("query", "backend"),
    [
        ("SELECT * FROM loans", None),
        ("select amount from loans;", None),
        ("SELECT 1 ;; -- trailing comment\n", None),
        ("WITH big AS (SELECT * FROM loans WHERE amount > 100) SELECT count(*) FROM big", None),
        ("(SELECT 1) UNION ALL (SELECT 2)", None),
        ("SELECT 'DROP TABLE loans; DELETE' AS text, \"update\" FROM loans", None),
        ("SELECT comment, replace(grade, 'A', 'a') FROM loans /* DROP */", None),
        ("SELECT E'it\\'s; DROP' AS t", "postgresql"),
        ("SELECT $$ INSERT ; $$ AS t", "postgresql"),
        ("SELECT 1 /* outer /* nested */ still a comment; DROP */", "duckdb"),
    ],
)
def test_plain_selects_are_accepted(query, backend):
    cleaned = db.check_select(query, backend)
    assert not cleaned.rstrip().endswith(";")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT 1; DROP TABLE loans", "one statement"),
        ("SELECT 1;DROP TABLE loans;", "one statement"),
        ("DELETE FROM loans", "starts with DELETE"),
        ("WITH d AS (DELETE FROM loans RETURNING *) SELECT * FROM d", "DELETE"),
        ("WITH u AS (UPDATE loans SET amount = 0 RETURNING *) SELECT 1", "UPDATE"),
        ("SELECT * INTO copy_of_loans FROM loans", "INTO"),
        ("/* SELECT */ DROP TABLE loans", "starts with DROP"),
        ("-- SELECT\nINSERT INTO loans VALUES (1)", "starts with INSERT"),
        ("SELECT 1 /* ; */ ; ATTACH 'x.db' AS x", "one statement"),
        ("SELECT * FROM loans -- harmless\n; PRAGMA writable_schema = ON", "one statement"),
        ("SELECT/**/1/**/FROM/**/loans/**/WHERE/**/0=1/**/UNION/**/SELECT/**/"
         "pg_read_file('/etc/passwd')", "pg_read_file"),
        ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("CALL do_things()", "starts with CALL"),
        ("COPY loans TO '/tmp/x'", "starts with COPY"),
        ("CREATE TABLE x AS SELECT 1", "starts with CREATE"),
        ("ALTER TABLE loans ADD x int", "starts with ALTER"),
        ("PRAGMA query_only = OFF", "starts with PRAGMA"),
        ("SELECT 1 /* /* */ ; DROP TABLE loans; /* */ */", "one statement"),  # SQLite's reading
        ("SELECT $a$ ; DROP TABLE loans; $a$", "one statement"),  # no $-quotes in SQLite
        ('SELECT "pg_read_file"(\'/etc/passwd\')', "pg_read_file"),
        ("SELECT pg_catalog . pg_read_file ('/etc/passwd')", "pg_read_file"),
        ("SELECT 'unclosed", "never closed"),
        ("SELECT 1 /* unclosed", "never closed"),
        ("   ", "empty"),
    ],
)
def test_anything_but_one_select_is_refused(query, expected):
    with pytest.raises(db.QueryNotAllowedError, match=expected):
        db.check_select(query)


# --------------------------------------------------------------------------- reading


def test_lists_tables_schema_qualified_where_relevant(engine):
    labels = {table.label for table in db.list_tables(engine.source)}
    assert engine.tables <= labels
    assert db.find_table(engine.source, "loans").label == engine.loans
    with pytest.raises(db.DatabaseError, match="no table 'nope'.*loans"):
        db.find_table(engine.source, "nope")


def test_reads_a_table_in_chunks_with_progress_and_a_row_cap(engine):
    calls: list[tuple[float, str]] = []
    loaded = db.read_table(engine.source, db.find_table(engine.source, "loans"), row_cap=250,
                           chunk_rows=100, progress=lambda f, m: calls.append((f, m)))
    assert loaded.frame.shape == (250, 6) and loaded.total_rows == 400 and loaded.truncated
    assert list(loaded.frame.columns) == list(make_loans().columns)
    assert pd.api.types.is_numeric_dtype(loaded.frame["income"])
    assert loaded.name == engine.loans
    assert loaded.source.startswith(f"Database {engine.source.display}")
    assert any("first 250 of 400 rows" in note for note in loaded.notes)
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Read 200 of 250 rows" in message for _, message in calls)
    full = db.read_table(engine.source, db.find_table(engine.source, "loans"))
    assert len(full.frame) == 400 and not full.truncated


def test_reads_a_select_and_previews(engine):
    query = ("SELECT grade, COUNT(*) AS n, AVG(income) AS mean_income FROM "
             f"{engine.loans} GROUP BY grade ORDER BY grade;")
    calls: list[float] = []
    loaded = db.read_table(engine.source, query, progress=lambda f, m: calls.append(f))
    assert list(loaded.frame["grade"]) == ["A", "B", "C"]
    assert loaded.frame["n"].sum() == 400 and calls[-1] == 1.0
    assert loaded.name.startswith("query on ")
    preview = db.preview(engine.source, db.find_table(engine.source, "loans"), rows=5)
    assert len(preview) == 5
    percent = db.preview(engine.source, f"SELECT grade FROM {engine.loans} "
                         "WHERE grade LIKE 'A%' AND ':x' <> '%s'", rows=3)
    assert set(percent["grade"]) == {"A"}


def test_a_refused_query_never_reaches_the_database(engine):
    for query in ("SELECT 1; DROP TABLE loans", f"DELETE FROM {engine.loans}",
                  f"WITH d AS (DELETE FROM {engine.loans} RETURNING *) SELECT * FROM d",
                  f"SELECT * FROM {engine.loans} /* x */; -- y\nDROP TABLE {engine.loans}"):
        with pytest.raises(db.QueryNotAllowedError):
            db.read_table(engine.source, query)
    assert len(db.read_table(engine.source, db.find_table(engine.source, "loans")).frame) == 400


def test_the_reading_connection_itself_cannot_write(engine):
    """The database enforces it: SQL that skips check_select changes nothing, even for a
    user that may write (allowed by ``readwrite``)."""
    from core.data.databases.connecting import _connected, _driver_sql

    for sql in ("CREATE TABLE sneaky (a INTEGER)", f"DELETE FROM {engine.loans}"):
        with pytest.raises(db.DatabaseError, match="tried to change the database"), \
                _connected(engine.writer, "test") as connection:
            _driver_sql(connection, sql)
    if engine.name == "postgresql":
        with pytest.raises(db.DatabaseError, match="tried to change the database"), \
                _connected(engine.writer, "test") as connection:
            _driver_sql(connection, "WITH d AS (DELETE FROM public.loans RETURNING *) "
                        "SELECT count(*) FROM d")
        # Options in the URL that could switch read-only off are refused.
        with pytest.raises(db.DatabaseError, match="options is not used by the studio"):
            db.parse_source(engine.url + "?options=-c%20default_transaction_read_only%3Doff",
                            password=ROLE_PASSWORD, environ={})
    assert len(db.read_table(engine.source, db.find_table(engine.source, "loans")).frame) == 400


# --------------------------------------------------------------------------- errors


def test_a_wrong_password_says_authentication_and_hides_the_password(postgres):
    wrong = "Wr0ng-" + ROLE_PASSWORD
    source = db.parse_source(postgres.url(password=wrong), environ={})
    with pytest.raises(db.DatabaseError) as caught:
        db.list_tables(source)
    message = str(caught.value)
    assert "Authentication failed" in message and f"user '{ROLE}'" in message
    for form in (wrong, quote(wrong, safe=""), quote_plus(wrong)):
        assert form not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_no_password_unknown_database_and_closed_port_each_get_a_message(postgres):
    with pytest.raises(db.DatabaseError, match="asks for a password"):
        db.list_tables(db.parse_source(postgres.url(), environ={}))
    with pytest.raises(db.DatabaseError, match="has no database 'nowhere'"):
        db.list_tables(db.parse_source(postgres.url(database="nowhere"),
                                       password=ROLE_PASSWORD, environ={}))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(db.DatabaseError, match=rf"Nothing answers at 127.0.0.1:{port}"):
        db.list_tables(db.parse_source(f"postgresql://{ROLE}@127.0.0.1:{port}/studio",
                                       password=ROLE_PASSWORD, environ={}))


def test_connect_and_statement_timeouts_give_clear_messages(postgres):
    silent = socket.socket()  # accepts TCP connections but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        source = db.parse_source(f"postgresql://{ROLE}@127.0.0.1:{silent.getsockname()[1]}/x",
                                 password=ROLE_PASSWORD, environ={}, connect_timeout_s=2)
        # The message is the connect timeout's own, not a later failure of another kind.
        with pytest.raises(db.DatabaseError, match="No answer from 127.0.0.1:.* within 2 s"):
            db.list_tables(source)
    finally:
        silent.close()
    slow = db.parse_source(postgres.url(user=READER), password=READER_PASSWORD, environ={},
                           statement_timeout_s=0.5)
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT COUNT(*) FROM c")
    with pytest.raises(db.DatabaseError, match="took longer than 0.5 s"):
        db.preview(slow, endless)


def test_sqlite_statements_time_out_too(sqlite_path):
    slow = db.parse_source(f"sqlite:///{sqlite_path}", statement_timeout_s=0.3)
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT COUNT(*) FROM c")
    with pytest.raises(db.DatabaseError, match="took longer than 0.3 s"):
        db.preview(slow, endless)
    assert len(db.read_table(slow, db.find_table(slow, "loans")).frame) == 400


def test_missing_and_wrong_files_get_their_own_messages(tmp_path, sqlite_path, monkeypatch):
    missing = tmp_path / "nope.db"
    with pytest.raises(db.DatabaseError, match=f"No SQLite file at {missing}"):
        db.list_tables(db.parse_source(f"sqlite:///{missing}"))
    assert not missing.exists()  # reading never creates a file
    monkeypatch.chdir(tmp_path)  # an allowed folder
    with pytest.raises(db.DatabaseError, match="relative to the folder"):
        db.list_tables(db.parse_source("sqlite:///no/such/bank.db"))
    with pytest.raises(db.DatabaseError, match="No DuckDB file"):
        db.list_tables(db.parse_source(f"duckdb:///{tmp_path / 'nope.duckdb'}"))
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("just text, not a database\n" * 20)
    with pytest.raises(db.DatabaseError, match="not a readable SQLite database file"):
        db.list_tables(db.parse_source(f"sqlite:///{not_a_db}"))
    with pytest.raises(db.DatabaseError, match="is a folder"):
        db.list_tables(db.parse_source(f"sqlite:///{tmp_path}"))


# --------------------------------------------------------------------------- writing


def test_writes_a_new_table_refuses_an_existing_one_and_replaces_when_confirmed(engine):
    frame = make_loans(120, seed=11)
    name = f"loans_synthetic_{engine.name}"
    steps: list[float] = []
    result = db.write_table(engine.writer, frame, name, chunk_rows=50,
                            progress=lambda f, m: steps.append(f))
    assert result.rows == 120 and not result.replaced and steps[-1] == 1.0
    assert result.destination == engine.writer.display
    written = db.read_table(engine.source, db.find_table(engine.source, name))
    assert len(written.frame) == 120
    with pytest.raises(db.TableExistsError, match="already exists.*tick the box"):
        db.write_table(engine.writer, frame.head(5), name)
    with pytest.raises(db.TableExistsError):
        db.write_table(engine.writer, frame.head(5), engine.loans)
    assert len(db.read_table(engine.source, db.find_table(engine.source, "loans")).frame) == 400
    replaced = db.write_table(engine.writer, frame.head(7), name, replace=True)
    assert replaced.replaced and replaced.rows == 7
    assert len(db.read_table(engine.source, db.find_table(engine.source, name)).frame) == 7


@pytest.mark.parametrize("name", ["", "1abc", "loans; DROP TABLE x", "a.b.c", "x" * 64,
                                  "naïve", "loans synthetic", 'loans"'])
def test_table_names_follow_identifier_rules(name):
    with pytest.raises(db.DatabaseWriteError):
        db.check_table_name(name)


def test_sqlite_write_names_have_no_schema(sqlite_path):
    source = db.parse_source(f"sqlite:///{sqlite_path}")
    with pytest.raises(db.DatabaseWriteError, match="no schemas"):
        db.check_table_name("main.x", source)
    assert db.check_table_name("analytics.loans_2").label == "analytics.loans_2"


# --------------------------------------------------------------------------- command line


def _registry_and_outputs(out: Path) -> str:
    from core.store.settings import get_settings

    texts = [path.read_bytes().decode("latin-1") for path in out.rglob("*") if path.is_file()]
    data_dir = get_settings().data_dir
    texts += [path.read_bytes().decode("latin-1") for path in data_dir.rglob("*")
              if path.is_file() and path.suffix in {".sqlite3", ".json", ".pkl", ""}]
    return "\n".join(texts)


def test_cli_reads_a_postgres_table_with_the_password_from_the_environment(
        postgres, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PGPASSWORD", ROLE_PASSWORD)
    out = tmp_path / "out"
    code = main(["run", "--data", postgres.url(), "--table", "public.loans",
                 "--synthesizer", "gaussian_copula", "--preset", "quick", "--target",
                 "none", "--out", str(out), "--rows", "200"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(pd.read_csv(out / "synthetic.csv")) == 200
    assert "public.loans" in (out / "report.html").read_text()
    assert_no_secret(captured.err + captured.out)
    assert_no_secret(_registry_and_outputs(out))


def test_cli_runs_a_select_on_sqlite(sqlite_path, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "--data", f"sqlite:///{sqlite_path}", "--query",
                 "SELECT amount, term, grade, income, defaulted FROM loans WHERE term > 12",
                 "--synthesizer", "gaussian_copula", "--preset", "quick", "--target",
                 "none", "--out", str(out), "--rows", "100", "--row-cap", "300"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert list(pd.read_csv(out / "synthetic.csv").columns) == [
        "amount", "term", "grade", "income", "defaulted"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "give exactly one of --table NAME or --query"),
        (["--table", "nope"], "There is no table 'nope'"),
        (["--query", "DELETE FROM loans"], "Only SELECT queries can run"),
    ],
)
def test_cli_database_mistakes_are_one_line_errors(sqlite_path, tmp_path, capsys, extra,
                                                   expected):
    code = main(["run", "--data", f"sqlite:///{sqlite_path}", *extra, "--synthesizer",
                 "gaussian_copula", "--target", "none", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and err[-1].startswith("error: ") and expected in err[-1]
    assert not (tmp_path / "out").exists()


def test_cli_refuses_table_with_a_file_and_both_table_and_query(tmp_path, capsys):
    csv = ROOT / "sample_data" / "customers.csv"
    code = main(["run", "--data", str(csv), "--table", "x", "--synthesizer", "gaussian_copula",
                 "--target", "none", "--out", str(tmp_path / "out")])
    assert code != 0 and "only when --data is a database URL" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--data", "sqlite:///x.db", "--table", "a", "--query", "SELECT 1",
              "--synthesizer", "gaussian_copula", "--target", "none", "--out", "o"])
    assert "not allowed with argument" in capsys.readouterr().err


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def _open_database_source() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.radio(key="data_source").set_value("Database").run()
    assert not at.exception
    return at


def _shown_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "success", "info", "warning", "subheader",
                 "text", "code"):
        parts += [str(element.value) for element in at.get(kind)]
    parts += [str(element.value) for element in at.get("text_input")
              if element.key not in ("db_password", "gen_db_password")]
    return "\n".join(parts)


def test_data_page_reads_a_postgres_table_without_showing_the_password(postgres, fresh_caches):
    at = _open_database_source()
    # A password pasted into the URL moves to the password field on Connect.
    at.text_input(key="db_url").set_value(postgres.url(user=READER,
                                                       password=READER_PASSWORD)).run()
    at.button(key="db_connect").click().run()
    assert not at.exception and not at.error
    assert at.text_input(key="db_url").value == postgres.url(user=READER)
    assert at.text_input(key="db_password").value == READER_PASSWORD
    assert "public.loans" in at.selectbox(key="db_table").options
    at.selectbox(key="db_table").set_value("public.loans").run()
    at.number_input(key="db_preview_rows").set_value(7).run()
    at.button(key="db_preview").click().run()
    assert len(at.dataframe[0].value) == 7
    at.button(key="db_load").click().run()
    assert not at.exception and not at.error
    table = at.session_state[DATASET]
    assert table.name == "public.loans" and table.frame.shape == (400, 6)
    assert table.source.startswith(f"Database postgresql://{READER}:***@127.0.0.1:")
    assert any("Loaded **public.loans**" in shown(message.value) for message in at.success)

    # Nothing shown (in any tab: only the open one is drawn) or kept in session state (but
    # the password widget) holds the password.
    for tab in ("Preview", "Profile", "Metadata"):
        at.session_state["data_tab"] = tab
        at.run()
        assert not at.exception
        assert_no_secret(_shown_text(at))
    for key, value in at.session_state.to_dict().items():
        if key != "db_password":
            assert_no_secret(f"{key}={value!r}")

    # A failed connection explains itself and keeps the current dataset.
    at.text_input(key="db_password").set_value("not-the-password").run()
    at.button(key="db_connect").click().run()
    assert not at.exception
    assert any("Authentication failed" in shown(error.value) for error in at.error)
    assert "not-the-password" not in " ".join(error.value for error in at.error)
    assert at.session_state[DATASET].name == "public.loans"


def test_data_page_refuses_a_write_query_and_takes_the_password_from_secrets(postgres,
                                                                            fresh_caches):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["database"] = {"password": READER_PASSWORD}
    at.run()
    at.radio(key="data_source").set_value("Database").run()
    at.text_input(key="db_url").set_value(postgres.url(user=READER)).run()
    at.button(key="db_connect").click().run()
    assert not at.error, [error.value for error in at.error]
    at.radio(key="db_mode").set_value("A SELECT query").run()
    at.text_area(key="db_query").set_value(
        "WITH d AS (DELETE FROM public.loans RETURNING *) SELECT * FROM d").run()
    at.button(key="db_load").click().run()
    assert any("DELETE" in shown(error.value) for error in at.error)
    assert DATASET not in at.session_state
    at.text_area(key="db_query").set_value(
        "SELECT amount, grade, income, defaulted FROM public.loans WHERE grade <> 'C'").run()
    at.button(key="db_load").click().run()
    assert not at.exception and not at.error
    assert at.session_state[DATASET].name == "query on studio"
    assert list(at.session_state[DATASET].frame.columns) == ["amount", "grade", "income",
                                                            "defaulted"]


def test_generate_page_writes_the_synthetic_rows_back_to_the_database(sqlite_path,
                                                                      fresh_caches,
                                                                      monkeypatch):
    from core.engine.training import run_training
    from core.store.registry import ModelRegistry
    from core.workflow import plan_request
    from ui.state import workspace_id_of

    # Adding a table to an existing database file takes readwrite (read: new files only).
    monkeypatch.setenv("STUDIO_DATABASES", "readwrite")
    at = _open_database_source()
    at.text_input(key="db_url").set_value(f"sqlite:///{sqlite_path}").run()
    at.button(key="db_connect").click().run()
    at.selectbox(key="db_table").set_value("loans").run()
    at.button(key="db_load").click().run()
    assert not at.exception and not at.error
    table = at.session_state[DATASET]
    # Train in-process into this session's workspace (the Train page's worker is covered by
    # tests/test_app.py).
    registry = ModelRegistry(workspace=workspace_id_of(at.query_params["ws"]))
    record = run_training(plan_request(table, "gaussian_copula", "quick", device="cpu"),
                          table.frame, registry=registry)
    at.session_state[MODEL] = record
    at.switch_page("app_pages/generate.py").run()
    at.number_input(key="gen_rows").set_value(150)
    at.button(key="gen_start").click().run()
    assert not at.exception and not at.error
    assert at.radio(key="gen_db_target").value == "The database the data came from"
    assert at.text_input(key="gen_db_table").value == "loans_synthetic"

    at.button(key="gen_db_write").click().run()
    assert not at.exception and not at.error
    assert any("Wrote 150 rows to table **loans_synthetic**" in shown(s.value) for s in at.success)
    with sqlite3.connect(sqlite_path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM loans_synthetic").fetchone()[0] == 150

    at.button(key="gen_db_write").click().run()  # exists: refused without the checkbox
    assert any("already exists" in shown(error.value) for error in at.error)
    at.checkbox(key="gen_db_replace").check().run()
    at.button(key="gen_db_write").click().run()
    assert any("old table was replaced" in shown(s.value) for s in at.success)

    at.text_input(key="gen_db_table").set_value("bad name; DROP").run()
    at.button(key="gen_db_write").click().run()
    assert any("not a valid table name" in shown(error.value) for error in at.error)

    target = sqlite_path.parent / "elsewhere.db"
    at.radio(key="gen_db_target").set_value("Another database").run()
    at.text_input(key="gen_db_url").set_value(f"sqlite:///{target}").run()
    at.text_input(key="gen_db_table").set_value("copy").run()
    at.button(key="gen_db_write").click().run()
    assert not at.error, [error.value for error in at.error]
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT COUNT(*) FROM copy").fetchone()[0] == 150


def test_a_database_read_stops_at_the_memory_budget_with_the_setting_named(database_dir):
    from core.data.loading import TableBudgetError

    path = database_dir / "wide_text.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER, body TEXT, flag INTEGER)")
        connection.executemany("INSERT INTO notes VALUES (?, ?, ?)",
                               ((i, "x" * 20_000 + str(i), i % 2) for i in range(3_000)))
    source = db.parse_source(f"sqlite:///{path}")
    with pytest.raises(TableBudgetError, match="STUDIO_MAX_TABLE_MB") as refused:
        db.read_table(source, "SELECT * FROM notes", chunk_rows=100,
                      max_table_bytes=16 * 1024 * 1024)
    assert refused.value.rows_read == 0  # refused from the first chunk, before reading on
    loaded = db.read_table(source, "SELECT * FROM notes", row_cap=200, chunk_rows=100,
                           max_table_bytes=16 * 1024 * 1024)
    assert len(loaded.frame) == 200  # what fits the budget still loads
