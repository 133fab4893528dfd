"""Read tables from SQLite, PostgreSQL and DuckDB, and write synthetic rows back.

A database is named by a SQLAlchemy-style URL::

    sqlite:///relative/path.db      sqlite:////absolute/path.db
    duckdb:///data.duckdb
    postgresql://user@host:5432/dbname   (read with the psycopg 3 driver)

or by ``connection:<name>``, a ``[connections.<name>]`` entry of
``.streamlit/secrets.toml`` (with ``url = "..."``, or ``dialect``/``host``/``port``/
``username``/``password``/``database`` fields).

Credentials are never shown back. :attr:`DatabaseSource.display` is the URL with the
password replaced by ``***``; error messages are built from the driver's text with every
known secret scrubbed out; nothing here logs. A password may come, in this order, from
the ``password`` argument (the app's password field), the URL itself, the environment
(``STUDIO_DB_PASSWORD``, optionally limited to the hosts in ``STUDIO_DB_PASSWORD_HOSTS``;
then ``PGPASSWORD`` for PostgreSQL) or the secrets file (``[database] password = "..."``,
optionally limited to one server with ``host = "..."``). The limits matter on a shared
server: without them, a password is sent to whatever host a user types.

Reading is read-only twice over: :func:`check_select` lets through only one ``SELECT``
(or ``WITH ... SELECT``) statement with no write keyword outside string literals and
comments, and the connection itself cannot write (SQLite opened with ``mode=ro`` and
``PRAGMA query_only``; DuckDB with ``read_only=True`` and no file-system access;
PostgreSQL with ``default_transaction_read_only=on`` and psycopg's ``read_only``).
Connections time out after :data:`CONNECT_TIMEOUT_S` seconds and statements after
:data:`STATEMENT_TIMEOUT_S` (PostgreSQL and SQLite).

Writing (:func:`write_table`) is the only writable path: it creates a new table with
``DataFrame.to_sql`` in one transaction, and replaces an existing table only when asked.

Example::

    source = parse_source("sqlite:///bank.db")
    tables = list_tables(source)                      # [TableRef(schema=None, name="loans")]
    loaded = read_table(source, tables[0], row_cap=100_000, progress=report)
    write_table(source, synthetic, "loans_synthetic")
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sqlite3
import time
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from core.data.loading import validate_table
from core.errors import DataLoadError, DataValidationError, StudioError
from core.progress import ProgressCallback, null_progress
from core.store.settings import PROJECT_ROOT

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ROW_CAP",
    "FORBIDDEN_FUNCTIONS",
    "FORBIDDEN_WORDS",
    "PASSWORD_ENV",
    "PASSWORD_HOSTS_ENV",
    "PREVIEW_ROWS",
    "STATEMENT_TIMEOUT_S",
    "DatabaseError",
    "DatabaseSource",
    "DatabaseTable",
    "DatabaseWriteError",
    "QueryNotAllowedError",
    "TableExistsError",
    "TableRef",
    "WriteResult",
    "check_select",
    "check_table_name",
    "find_table",
    "is_database_url",
    "list_tables",
    "named_connections",
    "parse_source",
    "preview",
    "read_secrets",
    "read_table",
    "redact_url",
    "split_password",
    "table_exists",
    "write_table",
]

CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for a database server to answer before giving up."""

STATEMENT_TIMEOUT_S = 300.0
"""Seconds one statement may run (PostgreSQL ``statement_timeout``; SQLite interrupts)."""

DEFAULT_ROW_CAP = 500_000
"""The most rows :func:`read_table` reads unless told otherwise."""

DEFAULT_CHUNK_ROWS = 20_000
"""Rows fetched (or written) per round trip; progress is reported after each chunk."""

PREVIEW_ROWS = 100
"""Rows :func:`preview` shows by default."""

PASSWORD_ENV = "STUDIO_DB_PASSWORD"
"""Environment variable holding a database password (used when the URL has none)."""

PASSWORD_HOSTS_ENV = "STUDIO_DB_PASSWORD_HOSTS"
"""Comma-separated hosts :data:`PASSWORD_ENV` may be sent to (unset: any host)."""

_CONNECTION_PREFIX = "connection:"
_BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "duckdb": "DuckDB"}
_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "duckdb": "duckdb"}
_BACKEND_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql"}
_URL_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_EXAMPLES = ("sqlite:///data.db, duckdb:///data.duckdb or "
             "postgresql://user@host:5432/dbname")
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile", "pass", "pwd"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# Words refused anywhere outside string literals, comments and "quoted identifiers". A
# single SELECT cannot contain most of them; they are listed so that a write hidden in a
# CTE (PostgreSQL's ``WITH d AS (DELETE ...)``), ``SELECT ... INTO new_table`` or a
# statement smuggled past the first-word check is refused with a clear reason.
FORBIDDEN_WORDS = frozenset({
    "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMIT", "COPY", "CREATE",
    "DEALLOCATE", "DECLARE", "DELETE", "DETACH", "DROP", "EXEC", "EXECUTE", "EXPORT", "GRANT",
    "IMPORT", "INSERT", "INSTALL", "INTO", "LISTEN", "LOAD", "LOCK", "MERGE", "NOTIFY",
    "PRAGMA", "PREPARE", "REFRESH", "REINDEX", "RENAME", "RESET", "REVOKE", "ROLLBACK",
    "SAVEPOINT", "SET", "TRUNCATE", "UNLISTEN", "UPDATE", "UPSERT", "VACUUM",
})
# Functions with side effects or access to the server's files, refused when called.
FORBIDDEN_FUNCTIONS = frozenset({
    # PostgreSQL
    "cursor_to_xml", "dblink", "dblink_connect", "dblink_exec", "lo_create", "lo_export",
    "lo_from_bytea", "lo_import", "lo_put", "lo_unlink", "nextval", "pg_advisory_lock",
    "pg_advisory_xact_lock", "pg_cancel_backend", "pg_create_restore_point", "pg_file_write",
    "pg_logical_emit_message", "pg_ls_dir", "pg_notify", "pg_promote", "pg_read_binary_file",
    "pg_read_file", "pg_reload_conf", "pg_rotate_logfile", "pg_stat_file", "pg_switch_wal",
    "pg_terminate_backend", "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema",
    "set_config", "setval",
    # SQLite
    "load_extension", "readfile", "writefile", "edit",
    # DuckDB
    "getenv", "glob", "parquet_metadata", "parquet_scan", "parquet_schema", "query",
    "query_table", "read_blob", "read_csv", "read_csv_auto", "read_json", "read_json_auto",
    "read_ndjson", "read_ndjson_auto", "read_parquet", "read_text", "read_xlsx", "sniff_csv",
    "postgres_scan", "sqlite_scan",
})
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_$]*)\s*\(")
_OPEN_PAREN = re.compile(r"\s*\(")


# --------------------------------------------------------------------------- errors


class DatabaseError(DataLoadError):
    """A database could not be reached or read; the message never contains a password."""


class QueryNotAllowedError(DatabaseError):
    """The query is not a single read-only SELECT; nothing was sent to the database."""


class DatabaseWriteError(StudioError):
    """Synthetic rows could not be written to the database (nothing was changed)."""


class TableExistsError(DatabaseWriteError):
    """The table to write already exists and replacing it was not confirmed."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class DatabaseSource:
    """A database to read from or write to.

    Holds the full URL, password included, so it must never be printed as such: ``str``
    and ``repr`` show :attr:`display`, the URL with the password as ``***``. Build one
    with :func:`parse_source`.

    Attributes:
        url: The SQLAlchemy URL with the driver the studio uses (psycopg 3 for PostgreSQL).
        connection_name: The ``[connections.<name>]`` entry it came from, if any.
        connect_timeout_s: Seconds to wait for the server to answer.
        statement_timeout_s: Seconds one statement may run.
    """

    url: URL = field(repr=False)
    connection_name: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    statement_timeout_s: float = STATEMENT_TIMEOUT_S

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"`` or ``"duckdb"``."""
        return self.url.get_backend_name()

    @property
    def kind(self) -> str:
        """The product name: ``"SQLite"``, ``"PostgreSQL"`` or ``"DuckDB"``."""
        return _BACKENDS[self.backend]

    @property
    def display(self) -> str:
        """The URL to show: driver suffix dropped, password (and secret options) ``***``."""
        return redact_url(self.url)

    @property
    def database_name(self) -> str:
        """The file name (SQLite, DuckDB) or database name (PostgreSQL)."""
        if self.backend == "postgresql":
            return self.url.database or self.url.username or "postgres"
        return Path(self.url.database or "").name or "database"

    @property
    def location(self) -> str:
        """Where the database is, for messages: ``host:port/db`` or an absolute file path."""
        if self.backend == "postgresql":
            host = self.url.host or "the local socket"
            port = f":{self.url.port}" if self.url.port else (":5432" if self.url.host else "")
            return f"{host}{port}/{self.database_name}"
        return str(_file_path(self))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the password that could appear in driver text (for scrubbing)."""
        values = [str(self.url.password or "")] + [
            str(value) for key, value in self.url.query.items()
            if key.lower() in _SECRET_QUERY_KEYS and isinstance(value, str)]
        forms = {form for value in values if value
                 for form in (value, quote(value, safe=""), quote_plus(value),
                              quote(value, safe="!$&'()*+,;=:"))}
        return tuple(sorted(forms, key=len, reverse=True))

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"DatabaseSource({self.display!r})"


@dataclass(frozen=True)
class TableRef:
    """A table or view, optionally in a schema.

    Attributes:
        schema: The schema (``public`` in PostgreSQL); None for SQLite and DuckDB's ``main``.
        name: The table name, unquoted.
    """

    schema: str | None
    name: str

    @property
    def label(self) -> str:
        """``schema.name`` or ``name``: what lists and ``--table`` use."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, eq=False)
class DatabaseTable:
    """Rows read from a database, ready for :func:`core.data.table.make_table`.

    Attributes:
        frame: The data (clean column names, validated like an uploaded file).
        name: Short display name: the table's label, or ``query on <database>``.
        source: Where it came from, with the redacted URL (safe to show and store).
        notes: What the reader noticed (row cap reached, converted columns, ...).
        total_rows: Rows the table or query has (from ``COUNT(*)``).
        truncated: True when the row cap stopped the read early.
    """

    frame: pd.DataFrame
    name: str
    source: str
    notes: tuple[str, ...]
    total_rows: int
    truncated: bool


@dataclass(frozen=True)
class WriteResult:
    """What :func:`write_table` did.

    Attributes:
        table: The table written.
        rows: Rows written.
        replaced: True when an existing table was replaced.
        destination: The redacted URL of the database written to.
    """

    table: TableRef
    rows: int
    replaced: bool
    destination: str


# --------------------------------------------------------------------------- URLs


def is_database_url(text: str) -> bool:
    """True if ``text`` looks like a database URL or a ``connection:<name>`` reference."""
    text = text.strip()
    return bool(_URL_SHAPE.match(text)) or (
        text.startswith(_CONNECTION_PREFIX) and len(text) > len(_CONNECTION_PREFIX)
    )


def redact_url(url: URL | str) -> str:
    """The URL with the password shown as ``***`` and the driver suffix dropped.

    ``postgresql+psycopg://ann:pw@db/loans`` becomes ``postgresql://ann:***@db/loans``.
    Query options that carry secrets (``password=``, ``sslpassword=``) are masked too. Text
    that is not a URL is reduced to its scheme, since it might hold a password.
    """
    if isinstance(url, str):
        try:
            url = make_url(url.strip())
        except (ArgumentError, ValueError):
            scheme = url.split("://", 1)[0] if "://" in url else ""
            return f"{scheme}://…" if scheme.isidentifier() else "(not a URL)"
    shown = url.set(drivername=url.get_backend_name())
    masked = {key: "***" if key.lower() in _SECRET_QUERY_KEYS else value
              for key, value in shown.query.items()}
    return shown.set(query=masked).render_as_string(hide_password=True)


def split_password(text: str) -> tuple[str, str | None]:
    """Take the password out of a typed URL: ``(url_without_password, password)``.

    The app calls this when the user pastes a URL with a password, so the URL field never
    keeps showing it. Text that is not a URL, or has no password, comes back unchanged.
    """
    stripped = text.strip()
    if not _URL_SHAPE.match(stripped):
        return text, None
    try:
        url = make_url(stripped)
    except (ArgumentError, ValueError):
        return text, None
    password = url.password
    query = dict(url.query)
    if password is None and isinstance(query.get("password"), str):
        password = query.pop("password")
        url = url.set(query=query)
    if not password:
        return text, None
    without = URL.create(drivername=url.drivername, username=url.username, host=url.host,
                         port=url.port, database=url.database, query=url.query)
    return without.render_as_string(hide_password=False), str(password)


def parse_source(
    text: str,
    *,
    password: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
) -> DatabaseSource:
    """Turn a URL (or ``connection:<name>``) into a :class:`DatabaseSource`.

    Args:
        text: ``sqlite:///file.db``, ``duckdb:///file.duckdb``,
            ``postgresql://user@host:port/db`` or ``connection:<name>``.
        password: A password typed separately; it wins over every other source.
        secrets: The parsed ``secrets.toml`` (``st.secrets`` or :func:`read_secrets`), for
            ``connection:<name>`` and ``[database] password``; None uses none.
        environ: Where to look for ``STUDIO_DB_PASSWORD``/``PGPASSWORD``; None is
            ``os.environ``.
        connect_timeout_s: Seconds to wait for the server.
        statement_timeout_s: Seconds one statement may run.

    Returns:
        The source; nothing is connected yet.

    Raises:
        DatabaseError: The text is not a URL, names an unknown connection, or a database
            the studio does not read. The message never repeats a password.
    """
    text = (text or "").strip()
    secrets = secrets or {}
    environ = os.environ if environ is None else environ
    connection_name: str | None = None
    if not text:
        raise DatabaseError(f"Enter a database URL, for example {_EXAMPLES}.")
    if text.startswith(_CONNECTION_PREFIX):
        connection_name = text[len(_CONNECTION_PREFIX):].strip()
        url = _url_from_connection(connection_name, secrets)
    else:
        if not _URL_SHAPE.match(text):
            raise DatabaseError(
                f"That is not a database URL. Write it like {_EXAMPLES} (a file path needs "
                "the sqlite:/// or duckdb:/// prefix)."
            )
        try:
            url = make_url(text)
        except (ArgumentError, ValueError):
            raise DatabaseError(
                f"The database URL {redact_url(text)} could not be read. Write it like "
                f"{_EXAMPLES}; special characters in the user name or password must be "
                "URL-encoded (@ as %40, / as %2F), or leave the password out and enter it "
                "in the password field."
            ) from None
    url = _normalise_driver(url)
    query = dict(url.query)
    if isinstance(query.get("password"), str):  # ?password=... is a URL password too
        from_query = query.pop("password")
        url = url.set(password=url.password or from_query, query=query)
    backend = url.get_backend_name()
    if backend in ("sqlite", "duckdb") and url.query:
        # The driver would let URL options override read-only mode and file-access limits.
        raise DatabaseError(
            f"{_BACKENDS[backend]} URLs take no options after '?' (got "
            f"{', '.join(sorted(url.query))}). Remove them: the studio opens the file "
            "read-only itself."
        )
    if backend in ("sqlite", "duckdb"):
        if not url.database or url.database == ":memory:" or url.database.startswith(":"):
            raise DatabaseError(
                f"{redact_url(url)} names no file (an in-memory {_BACKENDS[backend]} database "
                f"is always empty). Give the file: {backend}:///relative/path or "
                f"{backend}:////absolute/path."
            )
    if backend == "postgresql":  # SQLite and DuckDB files have no passwords
        chosen = password or url.password or _password_from_environment(url, environ) or \
            _password_from_secrets(url, secrets)
        if chosen:
            url = url.set(password=chosen)
    return DatabaseSource(url=url, connection_name=connection_name,
                          connect_timeout_s=connect_timeout_s,
                          statement_timeout_s=statement_timeout_s)


def named_connections(secrets: Mapping[str, Any] | None) -> list[str]:
    """The names of ``[connections.<name>]`` entries that describe a database, sorted."""
    connections = (secrets or {}).get("connections") or {}
    if not isinstance(connections, Mapping):
        return []
    return sorted(name for name, entry in connections.items()
                  if isinstance(entry, Mapping) and ("url" in entry or "dialect" in entry))


def read_secrets(paths: Iterable[Path] | None = None) -> dict[str, Any]:
    """Read Streamlit-style ``secrets.toml`` files, later files overriding earlier ones.

    Args:
        paths: Files to read; None reads ``~/.streamlit/secrets.toml``, then
            ``.streamlit/secrets.toml`` in the project and in the working directory (the
            places Streamlit itself reads). Missing or unreadable files are skipped.

    Returns:
        The merged tables.
    """
    if paths is None:
        paths = [Path.home() / ".streamlit" / "secrets.toml",
                 PROJECT_ROOT / ".streamlit" / "secrets.toml",
                 Path.cwd() / ".streamlit" / "secrets.toml"]
    merged: dict[str, Any] = {}
    seen: set[Path] = set()
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        if resolved in seen or not resolved.is_file():
            continue
        seen.add(resolved)
        try:
            with resolved.open("rb") as handle:
                _merge(merged, tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return merged


# --------------------------------------------------------------------------- queries


def check_select(query: str, backend: str | None = None) -> str:
    """Refuse anything but one read-only SELECT; return it without a trailing ``;``.

    Accepted: one statement starting with ``SELECT`` or ``WITH`` (a CTE whose main
    statement is a SELECT), optionally wrapped in parentheses and ended by one ``;``.
    Refused: several statements, and any word of :data:`FORBIDDEN_WORDS` (INSERT, UPDATE,
    DELETE, DROP, CREATE, ALTER, ATTACH, COPY, PRAGMA, CALL, INTO, SET, ...) or call of
    :data:`FORBIDDEN_FUNCTIONS` (quoted or not) anywhere outside string literals, comments
    and ``"quoted identifiers"`` (so a column called ``"update"`` is fine when quoted).

    Args:
        query: The SQL as typed.
        backend: ``"sqlite"``, ``"postgresql"`` or ``"duckdb"``: how comments nest and
            whether ``$$`` quotes text. None checks the query under both sets of rules, so
            a comment or quote read differently by one engine cannot hide a statement.

    Returns:
        The query, with a final ``;`` and trailing blanks removed.

    Raises:
        QueryNotAllowedError: The query is empty, unterminated, or not a single SELECT.
    """
    if backend is None:
        rules = [False, True]
    else:
        rules = [backend == "sqlite"]
    cleaned = ""
    for sqlite_rules in rules:
        masked, quoted_names = _mask_sql(query, sqlite_rules=sqlite_rules)
        code = _check_masked(masked, quoted_names)
        cleaned = cleaned or query[:len(code)].rstrip()
    return cleaned


def _check_masked(masked: str, quoted_names: list[tuple[int, str]]) -> str:
    """Apply :func:`check_select`'s rules to masked SQL; return the code without ``;``."""
    code = masked.rstrip()
    while code.endswith(";"):  # "SELECT 1;" (or ";;") is still one statement
        code = code[:-1].rstrip()
    if not code.strip():
        raise QueryNotAllowedError("The query is empty. Type a SELECT, e.g. "
                                   "SELECT * FROM loans WHERE amount > 1000.")
    if ";" in code:
        raise QueryNotAllowedError(
            "Only one statement can run, and this query has a ';' separating several. "
            "Remove everything after the first statement (a SELECT)."
        )
    first = _WORD.match(code.lstrip(" \t\r\n("))
    first_word = first.group(0).upper() if first else ""
    if first_word not in ("SELECT", "WITH"):
        shown = first_word or "something else"
        raise QueryNotAllowedError(
            f"Only SELECT queries can run here, and this one starts with {shown}. Reading "
            "never changes the database: write a SELECT (or WITH ... SELECT)."
        )
    for match in _WORD.finditer(code):
        word = match.group(0)
        if word.upper() in FORBIDDEN_WORDS:
            raise QueryNotAllowedError(
                f"The query contains {word.upper()}, which can change the database or run "
                "other statements, so it is refused: only a plain SELECT can run. If "
                f"{word} is a column or table name, write it in double quotes: \"{word}\"."
            )
    calls = [(match.group(1), match.end()) for match in _CALL.finditer(code)]
    calls += [(name, end) for end, name in quoted_names
              if _OPEN_PAREN.match(code, end) is not None]
    for name, _ in calls:
        if name.lower() in FORBIDDEN_FUNCTIONS:
            raise QueryNotAllowedError(
                f"The query calls {name}(), which has side effects or reads the server's "
                "files, so it is refused: only a plain SELECT over tables can run."
            )
    return code


# --------------------------------------------------------------------------- reading


def list_tables(source: DatabaseSource) -> list[TableRef]:
    """The tables and views a user can read, sorted by schema and name.

    SQLite lists unqualified names; PostgreSQL always qualifies them
    (``public.loans``); DuckDB qualifies those outside ``main``.

    Raises:
        DatabaseError: The database cannot be reached or read (message says why).
    """
    if source.backend == "sqlite":
        sql = ("SELECT NULL, name FROM sqlite_master WHERE type IN ('table', 'view') "
               "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    elif source.backend == "postgresql":
        sql = ("SELECT table_schema, table_name FROM information_schema.tables "
               "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
               "AND table_schema NOT LIKE 'pg\\_toast%' AND table_schema NOT LIKE 'pg\\_temp%' "
               "ORDER BY table_schema, table_name")
    else:
        sql = ("SELECT CASE WHEN table_schema = 'main' THEN NULL ELSE table_schema END, "
               "table_name FROM information_schema.tables "
               "WHERE table_catalog = current_database() "
               "ORDER BY table_schema <> 'main', table_schema, table_name")
    with _connected(source, "list the tables") as connection:
        rows = _driver_sql(connection, sql).fetchall()
    return [TableRef(schema=row[0], name=row[1]) for row in rows]


def find_table(source: DatabaseSource, text: str) -> TableRef:
    """The listed table whose label is ``text`` (``loans`` also finds ``public.loans``).

    Raises:
        DatabaseError: No such table (the message lists the ones there are), or the name
            is ambiguous, or the database cannot be read.
    """
    wanted = text.strip().strip('"')
    tables = list_tables(source)
    for matcher in (lambda t: t.label == wanted, lambda t: t.label.lower() == wanted.lower(),
                    lambda t: t.name == wanted, lambda t: t.name.lower() == wanted.lower()):
        found = [table for table in tables if matcher(table)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DatabaseError(
                f"'{wanted}' is in several schemas of {source.display}: "
                f"{', '.join(t.label for t in found)}. Give the schema too, e.g. "
                f"{found[0].label}."
            )
    if not tables:
        raise DatabaseError(f"{source.display} has no tables or views this user can read.")
    shown = ", ".join(t.label for t in tables[:20]) + (" …" if len(tables) > 20 else "")
    raise DatabaseError(f"There is no table '{wanted}' in {source.display}. Its tables: {shown}.")


def preview(source: DatabaseSource, what: TableRef | str,
            rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first ``rows`` rows of a table or SELECT (nothing counted or validated).

    Raises:
        QueryNotAllowedError: ``what`` is a query that is not a single SELECT.
        DatabaseError: The database cannot be reached or the query fails.
    """
    if rows < 1:
        raise DataValidationError(f"The preview needs at least 1 row; got {rows}.")
    sql = _select_sql(source, what, limit=rows)
    with _connected(source, "read the preview") as connection:
        result = _driver_sql(connection, sql)
        frame = pd.DataFrame.from_records(result.fetchmany(rows), columns=list(result.keys()),
                                          coerce_float=True)
    frame, _ = _normalise(frame)
    return frame


def read_table(
    source: DatabaseSource,
    what: TableRef | str,
    *,
    row_cap: int | None = DEFAULT_ROW_CAP,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
) -> DatabaseTable:
    """Read a whole table or SELECT result in chunks, with progress.

    First counts the rows (``COUNT(*)``) so progress reads "rows read of total", then
    fetches ``chunk_rows`` at a time (a server-side cursor on PostgreSQL), stopping at
    ``row_cap``. Values are made table-friendly (dates become datetimes, decimals floats,
    UUIDs and JSON text), and the result is checked like an uploaded file.

    Args:
        source: The database.
        what: A :class:`TableRef` (from :func:`list_tables`/:func:`find_table`) or a SELECT.
        row_cap: Read at most this many rows; None reads everything.
        chunk_rows: Rows per fetch.
        progress: Called with ``(fraction, message)``; the last call has fraction 1.0.

    Returns:
        The rows with a display name and a source that contains no password.

    Raises:
        QueryNotAllowedError: ``what`` is a query that is not a single SELECT.
        DatabaseError: The database cannot be reached, timed out, or refused the query.
        DataValidationError: The rows are not a usable table (none, one column, ...).
    """
    report = progress or null_progress
    if row_cap is not None and row_cap < 1:
        raise DataValidationError(f"The row cap must be at least 1; got {row_cap}.")
    chunk_rows = max(1, int(chunk_rows))
    if isinstance(what, TableRef):
        name, described = what.label, f"table {what.label}"
    else:
        name, described = f"query on {source.database_name}", "a SELECT query"
    report(0.0, f"Counting the rows of {name}…")
    count_sql = _count_sql(source, what)
    sql = _select_sql(source, what, limit=row_cap)
    with _connected(source, f"read {described}") as connection:
        total = int(_driver_sql(connection, count_sql).scalar() or 0)
        wanted = total if row_cap is None else min(total, row_cap)
        report(0.02, f"Reading {wanted:,} of {total:,} rows of {name}…")
        streaming = connection.execution_options(stream_results=True,
                                                 max_row_buffer=chunk_rows) \
            if source.backend == "postgresql" else connection
        result = _driver_sql(streaming, sql)
        columns = list(result.keys())
        rows: list[Any] = []
        while True:
            chunk = result.fetchmany(chunk_rows)
            if not chunk:
                break
            rows.extend(chunk)
            if row_cap is not None and len(rows) >= row_cap:
                del rows[row_cap:]
                break
            report(0.02 + 0.9 * min(len(rows) / max(wanted, 1), 1.0),
                   f"Read {len(rows):,} of {wanted:,} rows of {name}…")
        result.close()
    report(0.93, f"Checking the columns of {name}…")
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    del rows
    frame, notes = _normalise(frame)
    truncated = row_cap is not None and total > row_cap
    if truncated:
        notes.insert(0, f"Read the first {len(frame):,} of {total:,} rows (the row cap). "
                     "Without an ORDER BY these are whichever rows the database returns "
                     "first; raise the cap to read more.")
    frame, dropped = validate_table(frame, source_name=name, drop_empty_columns=True)
    if dropped:
        notes.append(f"Left out {len(dropped)} empty column(s): {', '.join(dropped)}.")
    report(1.0, f"Loaded {name}: {len(frame):,} rows × {frame.shape[1]:,} columns.")
    return DatabaseTable(frame=frame, name=name,
                         source=f"Database {source.display}, {described}",
                         notes=tuple(notes), total_rows=total, truncated=truncated)


# --------------------------------------------------------------------------- writing


def check_table_name(name: str, source: DatabaseSource | None = None) -> TableRef:
    """Validate a new table's name: ``name`` or ``schema.name``, letters/digits/_ only.

    Args:
        name: As typed.
        source: The database it is for (SQLite has no schemas and reserves ``sqlite_``).

    Returns:
        The table reference.

    Raises:
        DatabaseWriteError: The name breaks the rules (the message says which).
    """
    text = (name or "").strip()
    parts = text.split(".")
    rule = ("Use letters, digits and _ only, start with a letter or _, at most 63 characters "
            "(e.g. loans_synthetic)")
    if not text:
        raise DatabaseWriteError(f"Enter a name for the new table. {rule}.")
    if len(parts) > 2 or not all(_IDENTIFIER.match(part) for part in parts):
        raise DatabaseWriteError(f"'{text[:80]}' is not a valid table name. {rule}, optionally "
                                 "after a schema and a dot (e.g. analytics.loans_synthetic).")
    backend = source.backend if source is not None else None
    if backend == "sqlite" and len(parts) == 2:
        raise DatabaseWriteError(f"SQLite has no schemas: write just the table name, not "
                                 f"'{text}'.")
    if backend == "sqlite" and parts[-1].lower().startswith("sqlite_"):
        raise DatabaseWriteError("SQLite reserves names starting with 'sqlite_'; pick another.")
    return TableRef(schema=parts[0], name=parts[1]) if len(parts) == 2 else \
        TableRef(schema=None, name=parts[0])


def table_exists(source: DatabaseSource, table: TableRef) -> bool:
    """True if ``table`` exists (as a table or view) in the database.

    Raises:
        DatabaseError: The database cannot be reached or read.
    """
    with _connected(source, "check the table name") as connection:
        return _existing_kind(connection, source, table) is not None


def write_table(
    source: DatabaseSource,
    frame: pd.DataFrame,
    name: str | TableRef,
    *,
    replace: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
) -> WriteResult:
    """Write ``frame`` to a new table with ``DataFrame.to_sql``, all in one transaction.

    This is the studio's only writable connection. It creates the table (or, with
    ``replace=True``, drops and re-creates an existing one) and inserts the rows in
    chunks; if anything fails the transaction rolls back and the database is unchanged.

    Args:
        source: The database (its URL may be the one the data came from).
        frame: The rows to write (the index is not written).
        name: The new table: ``name`` or ``schema.name`` (see :func:`check_table_name`).
        replace: Replace the table if it exists. Without it an existing table is refused.
        chunk_rows: Rows per insert batch.
        progress: Called with ``(fraction, message)``.

    Returns:
        The table, the rows written and whether a table was replaced.

    Raises:
        TableExistsError: The table exists and ``replace`` is False.
        DatabaseWriteError: Bad name, no rows, or the database refused (message says why).
    """
    report = progress or null_progress
    table = name if isinstance(name, TableRef) else check_table_name(name, source)
    if isinstance(name, TableRef):
        check_table_name(table.label, source)
    if frame.empty:
        raise DatabaseWriteError("There are no rows to write: generate some first.")
    chunk_rows = max(1, int(chunk_rows))
    total = len(frame)
    report(0.0, f"Connecting to {source.display}…")
    try:
        engine = _engine(source, writable=True)
    except DatabaseError as error:
        raise DatabaseWriteError(str(error)) from None
    replaced = False
    try:
        with engine.begin() as connection:
            existing = _existing_kind(connection, source, table)
            if existing is not None:
                if not replace:
                    raise TableExistsError(
                        f"A {existing} '{table.label}' already exists in {source.display}. "
                        "Pick another name, or tick the box to replace it (its rows are lost)."
                    )
                if existing != "table":
                    raise TableExistsError(
                        f"'{table.label}' is a {existing} in {source.display}, and only tables "
                        "are replaced. Pick another name."
                    )
                # Dropped here, in the same transaction, rather than by pandas (which
                # reflects the whole schema first and fails on some DuckDB versions).
                connection.exec_driver_sql(f"DROP TABLE {_quote_table(source, table)}")
                replaced = True
            written = 0
            for start in range(0, total, chunk_rows):
                part = frame.iloc[start:start + chunk_rows]
                if_exists = "fail" if start == 0 else "append"
                part.to_sql(table.name, connection, schema=table.schema, if_exists=if_exists,
                            index=False, chunksize=chunk_rows)
                written += len(part)
                report(written / total, f"Wrote {written:,} of {total:,} rows…")
    except StudioError:
        raise
    except Exception as error:  # noqa: BLE001 - driver, pandas and OS errors become one message
        message = _describe_failure(error, source, f"write the table {table.label}")
        raise DatabaseWriteError(f"{message} Nothing was written.") from None
    finally:
        engine.dispose()
    report(1.0, f"Wrote {total:,} rows to {table.label}.")
    return WriteResult(table=table, rows=total, replaced=replaced, destination=source.display)


# --------------------------------------------------------------------------- internals


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def _url_from_connection(name: str, secrets: Mapping[str, Any]) -> URL:
    names = named_connections(secrets)
    entry = ((secrets.get("connections") or {}) if isinstance(secrets, Mapping) else {}).get(
        name)
    if not name or not isinstance(entry, Mapping) or name not in names:
        known = ", ".join(names) if names else "none are defined"
        raise DatabaseError(
            f"There is no connection '{name}' in .streamlit/secrets.toml ({known}). Add a "
            f"[connections.{name or 'name'}] table with url = \"...\"."
        )
    try:
        if "url" in entry:
            return make_url(str(entry["url"]).strip())
        dialect = str(entry["dialect"])
        driver = entry.get("driver")
        port = entry.get("port")
        return URL.create(
            drivername=f"{dialect}+{driver}" if driver else dialect,
            username=entry.get("username"), password=entry.get("password"),
            host=entry.get("host"), port=int(port) if port else None,
            database=entry.get("database"), query=dict(entry.get("query") or {}),
        )
    except (ArgumentError, ValueError, TypeError):
        raise DatabaseError(
            f"The connection '{name}' in .streamlit/secrets.toml is not a valid database URL. "
            f"Write it like url = \"{_EXAMPLES.split(',')[0]}\"."
        ) from None


def _normalise_driver(url: URL) -> URL:
    backend = _BACKEND_ALIASES.get(url.get_backend_name(), url.get_backend_name())
    if backend not in _BACKENDS:
        raise DatabaseError(
            f"The studio reads SQLite, PostgreSQL and DuckDB, not '{backend}'. Export the "
            f"table to one of these (or to a file) first; URLs look like {_EXAMPLES}."
        )
    return url.set(drivername=_DRIVERS[backend])


def _password_from_environment(url: URL, environ: Mapping[str, str]) -> str | None:
    hosts = [host.strip().lower() for host in environ.get(PASSWORD_HOSTS_ENV, "").split(",")
             if host.strip()]
    if environ.get(PASSWORD_ENV) and (not hosts or (url.host or "").lower() in hosts):
        return environ[PASSWORD_ENV]
    if url.get_backend_name() == "postgresql" and environ.get("PGPASSWORD"):
        return environ["PGPASSWORD"]  # what libpq itself would send
    return None


def _password_from_secrets(url: URL, secrets: Mapping[str, Any]) -> str | None:
    section = secrets.get("database") if isinstance(secrets, Mapping) else None
    if not isinstance(section, Mapping) or not section.get("password"):
        return None
    host = section.get("host")
    if host and str(host).lower() != (url.host or "").lower():
        return None  # restricted to another server
    return str(section["password"])


def _file_path(source: DatabaseSource) -> Path:
    return Path(source.url.database or "").expanduser().absolute()


def _check_file(source: DatabaseSource, writable: bool) -> Path:
    path = _file_path(source)
    if Path(source.url.database or "").expanduser().is_absolute():
        hint = "Check the path in the URL."
    else:
        hint = (f"Check the path: {source.backend}:///{source.url.database} is relative to the "
                f"folder the studio runs in ({Path.cwd()}); for an absolute path use four "
                f"slashes, e.g. {source.backend}:////data/file.")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a {source.kind} file. Put the file name "
                            "at the end of the URL.")
    if not path.exists():
        if writable and path.parent.is_dir():
            return path  # a new database file to write into
        raise DatabaseError(f"No {source.kind} file at {path}. {hint}")
    return path


def _engine(source: DatabaseSource, *, writable: bool = False) -> Engine:
    """An engine with no pool (one connection per operation), read-only unless asked."""
    backend = source.backend
    if backend == "sqlite":
        path = _check_file(source, writable)
        uri = f"file:{quote(str(path))}?mode={'rwc' if writable else 'ro'}"
        limit_s = source.statement_timeout_s

        def creator() -> sqlite3.Connection:
            connection = sqlite3.connect(uri, uri=True, timeout=source.connect_timeout_s,
                                         check_same_thread=False, factory=_SQLiteConnection)
            connection.set_progress_handler(connection.over_time(limit_s), 10_000)
            if not writable:
                connection.execute("PRAGMA query_only = ON")
            return connection

        engine = sa.create_engine("sqlite://", creator=creator, poolclass=NullPool,
                                  hide_parameters=True)
        sa.event.listen(engine, "before_cursor_execute", _restart_sqlite_clock)
        return engine
    if backend == "duckdb":
        _check_file(source, writable)
        return sa.create_engine(
            source.url, poolclass=NullPool, hide_parameters=True,
            connect_args={"read_only": not writable,
                          "config": {"enable_external_access": False}},
        )
    options = [f"-c statement_timeout={int(source.statement_timeout_s * 1000)}"]
    if not writable:
        options.append("-c default_transaction_read_only=on")
    engine = sa.create_engine(
        source.url, poolclass=NullPool, hide_parameters=True,
        connect_args={"connect_timeout": max(2, math.ceil(source.connect_timeout_s)),
                      "options": " ".join(options),
                      "application_name": "synthetic-data-studio"},
    )
    if not writable:
        sa.event.listen(engine, "connect", _psycopg_read_only)
    return engine


class _SQLiteConnection(sqlite3.Connection):
    """A SQLite connection that interrupts a statement running longer than a limit."""

    statement_started = 0.0

    def over_time(self, limit_s: float) -> Any:
        """A progress handler: non-zero (interrupt) once the statement exceeds ``limit_s``."""
        self.statement_started = time.monotonic()
        return lambda: int(time.monotonic() - self.statement_started > limit_s)


def _restart_sqlite_clock(connection: sa.Connection, *_args: Any) -> None:
    """Each statement gets the whole statement timeout (SQLAlchemy event hook)."""
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, _SQLiteConnection):
        dbapi_connection.statement_started = time.monotonic()


def _psycopg_read_only(dbapi_connection: Any, _record: Any) -> None:
    """Make psycopg open every transaction with ``BEGIN READ ONLY``."""
    dbapi_connection.read_only = True


class _connected:  # noqa: N801 - used like a function: ``with _connected(...) as c``
    """A read-only connection whose failures become :class:`DatabaseError` messages."""

    def __init__(self, source: DatabaseSource, doing: str) -> None:
        self._source, self._doing = source, doing
        self._engine: Engine | None = None
        self._connection: sa.Connection | None = None

    def __enter__(self) -> sa.Connection:
        try:
            self._engine = _engine(self._source)
            self._connection = self._engine.connect()
        except StudioError:
            self._dispose()
            raise
        except Exception as error:  # noqa: BLE001 - translated, never shown raw
            self._dispose()
            raise DatabaseError(_describe_failure(error, self._source, self._doing)) from None
        return self._connection

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def __exit__(self, kind: Any, error: BaseException | None, _tb: Any) -> bool:
        try:
            if self._connection is not None:
                try:
                    self._connection.rollback()  # nothing to keep: reads only
                    self._connection.close()
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
        finally:
            if self._engine is not None:
                self._engine.dispose()
        if error is None or isinstance(error, StudioError) or not isinstance(error, Exception):
            return False
        raise DatabaseError(_describe_failure(error, self._source, self._doing)) from None


def _driver_sql(connection: sa.Connection, sql: str) -> sa.CursorResult[Any]:
    """Run SQL exactly as written (no ``:name`` or ``%`` parameter parsing)."""
    return connection.execution_options(no_parameters=True).exec_driver_sql(sql)


def _quote_table(source: DatabaseSource, table: TableRef) -> str:
    dialect = _dialect(source)
    preparer = dialect.identifier_preparer
    quoted = preparer.quote_identifier(table.name)
    return f"{preparer.quote_identifier(table.schema)}.{quoted}" if table.schema else quoted


def _dialect(source: DatabaseSource) -> sa.Dialect:
    if source.backend == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.dialect()
    if source.backend == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.dialect()
    return source.url.get_dialect()()


def _select_sql(source: DatabaseSource, what: TableRef | str, limit: int | None) -> str:
    tail = f"\nLIMIT {int(limit)}" if limit is not None else ""
    if isinstance(what, TableRef):
        return f"SELECT * FROM {_quote_table(source, what)}{tail}"
    query = check_select(what, source.backend)
    return f"SELECT * FROM (\n{query}\n) AS studio_query{tail}"


def _count_sql(source: DatabaseSource, what: TableRef | str) -> str:
    if isinstance(what, TableRef):
        return f"SELECT COUNT(*) FROM {_quote_table(source, what)}"
    return f"SELECT COUNT(*) FROM (\n{check_select(what, source.backend)}\n) AS studio_count"


def _existing_kind(connection: sa.Connection, source: DatabaseSource,
                   table: TableRef) -> str | None:
    """``"table"`` or ``"view"`` if something by that name exists, else None."""
    if source.backend == "sqlite":
        sql = sa.text("SELECT type FROM sqlite_master WHERE type IN ('table', 'view') "
                      "AND name = :name")
        found = connection.execute(sql, {"name": table.name}).scalar()
        return None if found is None else str(found)
    schema_test = "current_schema()" if table.schema is None else ":schema"
    sql = sa.text("SELECT table_type FROM information_schema.tables "
                  f"WHERE table_schema = {schema_test} AND table_name = :name")
    params = {"name": table.name}
    if table.schema is not None:
        params["schema"] = table.schema
    found = connection.execute(sql, params).scalar()
    if found is None:
        return None
    return "view" if "VIEW" in str(found).upper() else "table"


def _mask_sql(query: str, *, sqlite_rules: bool) -> tuple[str, list[tuple[int, str]]]:
    """Blank out comments and the inside of literals/quoted names, keeping every offset.

    Args:
        query: The SQL.
        sqlite_rules: SQLite's reading: ``/* */`` comments do not nest and ``$`` does not
            quote text. Otherwise PostgreSQL's and DuckDB's (nesting, ``$tag$...$tag$``).

    Returns:
        The masked text, and each double-quoted or backquoted name as (end offset, name).

    Raises:
        QueryNotAllowedError: A string, quoted name or comment is never closed.
    """
    out = list(query)
    names: list[tuple[int, str]] = []
    i, n = 0, len(query)

    def blank(start: int, stop: int) -> None:
        for k in range(start, stop):
            if out[k] not in "\r\n":
                out[k] = " "

    while i < n:
        char, pair = query[i], query[i:i + 2]
        if pair == "--":
            stop = query.find("\n", i)
            stop = n if stop == -1 else stop
            blank(i, stop)
            i = stop
        elif pair == "/*":
            depth, j = 1, i + 2
            while j < n and depth:
                if query.startswith("/*", j) and not sqlite_rules:
                    depth, j = depth + 1, j + 2
                elif query.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise QueryNotAllowedError("The query has a /* comment that is never closed "
                                           "with */. Close it or remove it.")
            blank(i, j)
            i = j
        elif char in "'\"`":
            escapes = char == "'" and i > 0 and query[i - 1] in "eE" and (
                i < 2 or not (query[i - 2].isalnum() or query[i - 2] == "_"))
            j = i + 1
            while j < n:
                if escapes and query[j] == "\\":
                    j += 2
                    continue
                if query[j] == char:
                    if query[j + 1:j + 2] == char:  # doubled quote inside
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                what = {"'": "text in single quotes", '"': "name in double quotes",
                        "`": "name in backquotes"}[char]
                raise QueryNotAllowedError(f"The query has {what} that is never closed. "
                                           f"Add the closing {char}.")
            if char != "'":
                names.append((j + 1, query[i + 1:j].replace(char * 2, char)))
            blank(i + 1, j)
            i = j + 1
        elif char == "$" and not sqlite_rules and (
                i == 0 or not (query[i - 1].isalnum() or query[i - 1] == "_")):
            tag = _DOLLAR_TAG.match(query, i)
            if tag is None:
                i += 1
                continue
            stop = query.find(tag.group(0), tag.end())
            if stop == -1:
                raise QueryNotAllowedError(f"The query has text quoted with {tag.group(0)} "
                                           "that is never closed.")
            out[i] = "'"
            blank(i + 1, stop + len(tag.group(0)) - 1)
            out[stop + len(tag.group(0)) - 1] = "'"
            i = stop + len(tag.group(0))
        else:
            i += 1
    return "".join(out), names


def _normalise(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Make driver values table-friendly; returns the frame and notes on what changed."""
    notes: list[str] = []
    frame.columns = [str(column) for column in frame.columns]
    converted: dict[str, str] = {}
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            if isinstance(series.dtype, pd.DatetimeTZDtype):
                frame[column] = series.dt.tz_convert("UTC").dt.tz_localize(None)
                converted[column] = "times in UTC"
            continue
        values = series.dropna()
        if values.empty:
            continue
        kinds = {type(value) for value in values.head(1000)}
        if kinds <= {dt.date}:
            frame[column] = pd.to_datetime(series, errors="coerce")
        elif kinds <= {dt.datetime} and any(v.tzinfo for v in values.head(1000)):
            frame[column] = pd.to_datetime(series, errors="coerce", utc=True).dt.tz_localize(None)
            converted[column] = "times in UTC"
        elif kinds <= {Decimal, float, int}:
            frame[column] = pd.to_numeric(series.map(
                lambda v: float(v) if isinstance(v, Decimal) else v), errors="coerce")
        elif kinds <= {uuid.UUID, str}:
            frame[column] = series.map(lambda v: v if v is None or isinstance(v, str)
                                       else str(v))
        elif kinds & {dict, list}:
            frame[column] = series.map(lambda v: json.dumps(v, default=str)
                                       if isinstance(v, dict | list) else v)
            converted[column] = "JSON as text"
        elif kinds & {bytes, bytearray, memoryview}:
            frame[column] = series.map(lambda v: bytes(v).hex()
                                       if isinstance(v, bytes | bytearray | memoryview) else v)
            converted[column] = "binary as hex text"
        elif kinds & {dt.time, dt.timedelta}:
            frame[column] = series.map(lambda v: v if v is None else str(v))
            converted[column] = "times of day as text"
    for column, how in converted.items():
        notes.append(f"Column {column}: {how}.")
    return frame, notes


def _scrub(text: str, source: DatabaseSource) -> str:
    for secret in source.secrets:
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(password\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)", r"\1***", text)
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def _first_line(error: BaseException, source: DatabaseSource) -> str:
    original = getattr(error, "orig", None) or error
    text = _scrub(str(original), source)
    text = text.split("(Background on this error")[0]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else type(original).__name__
    line = re.sub(r"^connection failed: ", "", line)
    line = re.sub(r"^connection to server at [^:]+ failed: ", "", line)
    return line[:300]


def _describe_failure(error: BaseException, source: DatabaseSource, doing: str) -> str:
    """One plain message for a driver/network failure, with no password in it."""
    detail = _first_line(error, source)
    low = _scrub(str(getattr(error, "orig", None) or error), source).lower()
    where = source.location
    user = source.url.username
    password_hint = (f"the password field, {PASSWORD_ENV}"
                     + (", PGPASSWORD" if source.backend == "postgresql" else "")
                     + " or [database] password in .streamlit/secrets.toml")
    if "password authentication failed" in low or "authentication failed" in low:
        return (f"Authentication failed for user '{user}' at {where}: the password or user "
                f"name is wrong. Check them (the password can come from {password_hint}).")
    if "no password supplied" in low or "password is required" in low:
        return (f"The server at {where} asks for a password for user '{user}' and none was "
                f"given. Enter it in {password_hint}.")
    if re.search(r'database "[^"]*" does not exist', low):
        return (f"The server at {where.rsplit('/', 1)[0]} has no database "
                f"'{source.database_name}'. Check the name at the end of the URL.")
    if re.search(r'role "[^"]*" does not exist', low):
        return f"The server at {where} has no user '{user}'. Check the user name in the URL."
    if "connection refused" in low:
        return (f"Nothing answers at {where.rsplit('/', 1)[0]} (connection refused). Check the "
                "host and port in the URL and that the database server is running.")
    if any(part in low for part in ("failed to resolve host", "could not translate host name",
                                    "name or service not known", "nodename nor servname",
                                    "temporary failure in name resolution")):
        return (f"The host '{source.url.host}' is unknown (its name does not resolve). Check "
                "the host in the URL, and your network or VPN.")
    if "timeout expired" in low or ("timed out" in low and "statement" not in low):
        return (f"No answer from {where.rsplit('/', 1)[0]} within "
                f"{source.connect_timeout_s:g} s. Check the host and port, and that a "
                "firewall or VPN lets the studio reach the server.")
    if "statement timeout" in low or "canceling statement" in low or "interrupted" in low:
        return (f"The database took longer than {source.statement_timeout_s:g} s to "
                f"{doing} and the query was stopped. Read fewer rows (lower the row cap, add a "
                "WHERE or LIMIT) or ask for an index.")
    if any(part in low for part in ("read-only transaction", "readonly database",
                                    "read-only mode", "attempt to write")):
        return ("The query tried to change the database, which reading never does; it was "
                "refused. Write a plain SELECT.")
    if "permission denied" in low or "insufficient privilege" in low:
        return (f"The user '{user}' may not {doing} at {where}: {detail}. Ask the database "
                "owner for read access (GRANT SELECT).")
    if "file is not a database" in low or "not a valid duckdb database" in low or \
            "unable to open database file" in low:
        return (f"{where} is not a readable {source.kind} database file ({detail}). Check "
                "that the URL points at the right file.")
    if "could not set lock" in low or "conflicting lock" in low or "database is locked" in low:
        return (f"{where} is locked by another program. Close it (or wait for it to finish) "
                "and try again.")
    if "already exists" in low:
        return f"The table already exists in {source.display}: {detail}."
    return f"The database could not {doing} ({source.display}): {detail}"
