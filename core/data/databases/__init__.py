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

Modules: :mod:`~core.data.databases.sources` (URLs, credentials, redaction),
:mod:`~core.data.databases.connecting` (engines per dialect, failure messages),
:mod:`~core.data.databases.guard` (the SQL guard), :mod:`~core.data.databases.reading`,
:mod:`~core.data.databases.writing` and :mod:`~core.data.databases.errors`.
"""

from __future__ import annotations

from core.data.databases.connecting import DEFAULT_CHUNK_ROWS
from core.data.databases.errors import (
    DatabaseError,
    DatabaseWriteError,
    QueryNotAllowedError,
    TableExistsError,
)
from core.data.databases.guard import FORBIDDEN_FUNCTIONS, FORBIDDEN_WORDS, check_select
from core.data.databases.reading import (
    DEFAULT_ROW_CAP,
    PREVIEW_ROWS,
    DatabaseTable,
    find_table,
    list_tables,
    preview,
    read_table,
)
from core.data.databases.sources import (
    CONNECT_TIMEOUT_S,
    PASSWORD_ENV,
    PASSWORD_HOSTS_ENV,
    STATEMENT_TIMEOUT_S,
    DatabaseSource,
    TableRef,
    is_database_url,
    named_connections,
    parse_source,
    read_secrets,
    redact_url,
    split_password,
)
from core.data.databases.writing import WriteResult, check_table_name, table_exists, write_table

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
