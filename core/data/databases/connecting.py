"""Connecting, per dialect: read-only engines, timeouts, and failures as plain messages.

SQLite is opened with ``mode=ro`` and ``PRAGMA query_only`` and a statement clock; DuckDB
with ``read_only=True`` and no file-system access; PostgreSQL with
``default_transaction_read_only=on`` and psycopg's ``read_only``. :class:`_connected`
turns every driver or network failure into a :class:`DatabaseError` whose message names
the likely cause and contains no password.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from core.data.databases.errors import DatabaseError
from core.data.databases.sources import PASSWORD_ENV, DatabaseSource, TableRef, _file_path
from core.errors import StudioError

DEFAULT_CHUNK_ROWS = 20_000
"""Rows fetched (or written) per round trip; progress is reported after each chunk."""


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


# --------------------------------------------------------------------------- failure messages


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
