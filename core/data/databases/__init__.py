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
(``STUDIO_DB_PASSWORD``, then ``PGPASSWORD`` for PostgreSQL, both limited to the hosts in
``STUDIO_DB_PASSWORD_HOSTS`` when set) or the secrets file (``[database] password = "..."``,
optionally limited to one server with ``host = "..."``). A password the server holds goes
only where every host option of the URL (``host``, ``hostaddr``, ``PGHOST``,
``PGHOSTADDR``) is allowed, and never in answer to a clear-text password request.

What may be used at all is the operator's choice (:mod:`~core.data.databases.policy`):
``STUDIO_DATABASES`` (``off``, ``read`` -- the app's default -- or ``readwrite``),
``STUDIO_DB_HOSTS`` (default: localhost only) and ``STUDIO_DB_FILE_DIRS`` (folders for
SQLite and DuckDB files; default: none). The command line passes
``database_policy(operator_tool=True)``: unset switches allow what it names.

Reading is read-only because the database enforces it
(:mod:`~core.data.databases.connecting`): PostgreSQL runs each statement as one prepared
statement in a read-only transaction that is never committed, and refuses users that could
write unless the operator allows them; SQLite is opened with ``mode=ro``, ``query_only``
and an authorizer that allows only reading; DuckDB with ``read_only`` and no file-system
access. :func:`check_select` (one ``SELECT`` or ``WITH ... SELECT``, no write keyword) is
only an early, friendlier refusal. Connections time out after :data:`CONNECT_TIMEOUT_S`
seconds and statements after :data:`STATEMENT_TIMEOUT_S` (PostgreSQL and SQLite).

Writing (:func:`write_table`) is the only writable path: it creates a new table with
``DataFrame.to_sql`` in one transaction, and replaces an existing table only when asked; it
writes only where :func:`check_destination` allows.

Example::

    source = parse_source("sqlite:///bank.db")
    tables = list_tables(source)                      # [TableRef(schema=None, name="loans")]
    loaded = read_table(source, tables[0], row_cap=100_000, progress=report)
    write_table(source, synthetic, "loans_synthetic")

Modules: :mod:`~core.data.databases.policy` (the operator's switches),
:mod:`~core.data.databases.sources` (URLs, credentials, redaction),
:mod:`~core.data.databases.connecting` (engines per dialect, failure messages),
:mod:`~core.data.databases.guard` (the SQL guard), :mod:`~core.data.databases.reading`,
:mod:`~core.data.databases.writing` and :mod:`~core.data.databases.errors`.
"""

from __future__ import annotations

from core.data.databases.connecting import DEFAULT_CHUNK_ROWS
from core.data.databases.errors import (
    DatabaseError,
    DatabaseNotAllowedError,
    DatabaseWriteError,
    QueryNotAllowedError,
    TableExistsError,
    WriteNotAllowedError,
)
from core.data.databases.guard import FORBIDDEN_FUNCTIONS, FORBIDDEN_WORDS, check_select
from core.data.databases.policy import (
    FILE_DIRS_ENV,
    HOSTS_ENV,
    MODE_ENV,
    DatabasePolicy,
    database_policy,
)
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
from core.data.databases.writing import (
    WriteResult,
    check_destination,
    check_table_name,
    table_exists,
    write_table,
)

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ROW_CAP",
    "FILE_DIRS_ENV",
    "FORBIDDEN_FUNCTIONS",
    "FORBIDDEN_WORDS",
    "HOSTS_ENV",
    "MODE_ENV",
    "PASSWORD_ENV",
    "PASSWORD_HOSTS_ENV",
    "PREVIEW_ROWS",
    "STATEMENT_TIMEOUT_S",
    "DatabaseError",
    "DatabaseNotAllowedError",
    "DatabasePolicy",
    "DatabaseSource",
    "DatabaseTable",
    "DatabaseWriteError",
    "QueryNotAllowedError",
    "TableExistsError",
    "TableRef",
    "WriteNotAllowedError",
    "WriteResult",
    "check_destination",
    "check_select",
    "check_table_name",
    "database_policy",
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
