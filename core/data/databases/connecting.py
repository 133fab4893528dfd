"""Connecting, per dialect: read-only engines, timeouts, and failures as plain messages.

The database itself keeps reading read-only; :mod:`~core.data.databases.guard` only gives
an early, friendlier refusal.

* PostgreSQL: every statement is sent as one prepared statement (psycopg's extended
  protocol), which the server refuses to run when it holds several; each transaction is
  ``BEGIN READ ONLY`` (and ``default_transaction_read_only=on``) and is rolled back, never
  committed; a ``statement_timeout`` is set again before each query. Unless the operator
  chose ``STUDIO_DATABASES=readwrite``, a user that could write (superuser, CREATE rights,
  INSERT/UPDATE/DELETE on a table, server-file roles, dblink) is refused on connecting.
  The host options and password are passed to libpq explicitly (so ``PGHOST``,
  ``PGPASSWORD``, ``PGOPTIONS`` and a service file cannot change them), a password file is
  read only where the source allows it, and ``require_auth=!password`` stops libpq from
  answering a request for the password in clear text.
* SQLite: ``mode=ro``, ``PRAGMA query_only``, ``trusted_schema=OFF``, an authorizer that
  lets a reading connection only select, read and call plain functions (no ``ATTACH``,
  ``PRAGMA`` changes or ``load_extension``), one statement per call (the sqlite3 module's
  rule) and a statement clock.
* DuckDB: ``read_only=True``, no file-system access, no extension loading, the
  configuration locked, and one statement per call (DuckDB's own parser counts them).

:class:`_connected` turns every driver or network failure into a :class:`DatabaseError`
whose message names the likely cause and contains no password.
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

from core.data.databases.errors import (
    DatabaseError,
    DatabaseNotAllowedError,
    QueryNotAllowedError,
)
from core.data.databases.sources import (
    NO_PASSWORD_FILE,
    PASSWORD_ENV,
    DatabaseSource,
    TableRef,
    libpq_refuses_cleartext,
    postgres_arguments,
    postgres_hosts,
)
from core.errors import StudioError

DEFAULT_CHUNK_ROWS = 20_000
"""Rows fetched (or written) per round trip; progress is reported after each chunk."""

READ_ONLY_ROLE_SQL = """CREATE ROLE studio_reader LOGIN PASSWORD '...';
GRANT CONNECT ON DATABASE {database} TO studio_reader;
GRANT USAGE ON SCHEMA public TO studio_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO studio_reader;"""
"""How to make a user the studio will read as (the README has the full recipe)."""

# Predefined roles that reach the server's files or programs, write everything, or stop
# other sessions.
_POWERFUL_ROLES = ("pg_read_server_files", "pg_write_server_files",
                   "pg_execute_server_program", "pg_write_all_data", "pg_signal_backend")
# Functions that read or write the server's files, reload it, or open connections that are
# not read-only (dblink); EXECUTE on them is revoked from ordinary users by default.
_POWERFUL_FUNCTIONS = ("pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
                       "lo_import", "lo_export", "pg_file_write", "pg_file_unlink",
                       "pg_file_rename", "pg_file_sync", "pg_reload_conf", "pg_promote",
                       "dblink", "dblink_connect", "dblink_connect_u", "dblink_exec",
                       "dblink_send_query", "dblink_open")
_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') "
                 "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'")
_ROLE_CHECK_SQL = f"""
SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
  has_database_privilege(current_database(), 'CREATE'),
  ARRAY(SELECT g.rolname::text FROM pg_roles g WHERE g.rolname = ANY(%(roles)s)
        AND pg_has_role(current_user, g.oid, 'MEMBER') ORDER BY 1),
  ARRAY(SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE {_USER_SCHEMAS}
        AND has_schema_privilege(n.oid, 'CREATE') ORDER BY 1 LIMIT 3),
  ARRAY(SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND (has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
             OR has_any_column_privilege(c.oid, 'INSERT, UPDATE'))
        ORDER BY 1 LIMIT 3),
  ARRAY(SELECT DISTINCT p.proname::text FROM pg_proc p WHERE p.proname = ANY(%(functions)s)
        AND has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1)
FROM pg_roles r WHERE r.rolname = current_user
"""
# What a reading SQLite connection may do (sqlite3 authorizer action codes).
_SQLITE_READING = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ,
                             sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_FUNCTION})
_SQLITE_READ_PRAGMAS = frozenset({"read_uncommitted", "table_info", "table_xinfo",
                                  "index_list", "index_info", "index_xinfo",
                                  "foreign_key_list"})
_SQLITE_NEVER_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit",
                                     "fts3_tokenizer"})
_DUCKDB_CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
                  "autoload_known_extensions": False, "allow_community_extensions": False,
                  "lock_configuration": True}


def _check_file(source: DatabaseSource, writable: bool) -> Path:
    """The real path of the source's file, refused outside the operator's folders first.

    The folder check comes before any look at the disk, so a refused path says nothing
    about whether a file is there.
    """
    path = source.policy.database_file(str(source.url.database or ""), source.kind)
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
    """An engine with no pool (one connection per operation), read-only unless asked.

    Raises:
        DatabaseNotAllowedError: The operator's switches forbid this database.
        DatabaseError: The file is missing (reading) or not a file.
    """
    source.policy.check_enabled()
    backend = source.backend
    if backend == "sqlite":
        return _sqlite_engine(source, writable)
    if backend == "duckdb":
        path = _check_file(source, writable)
        engine = sa.create_engine(
            f"duckdb:///{path}", poolclass=NullPool, hide_parameters=True,
            connect_args={"read_only": not writable, "config": dict(_DUCKDB_CONFIG)},
        )
        if not writable:
            sa.event.listen(engine, "do_execute", _duckdb_one_statement)
            sa.event.listen(engine, "do_execute_no_params", _duckdb_one_statement)
        return engine
    return _postgres_engine(source, writable)


def _sqlite_engine(source: DatabaseSource, writable: bool) -> Engine:
    path = _check_file(source, writable)
    mode = "ro" if not writable else ("rw" if path.exists() else "rwc")
    uri = f"file:{quote(str(path))}?mode={mode}"
    limit_s = source.statement_timeout_s
    authorizer = _sqlite_writing if writable else _sqlite_reading

    def creator() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, timeout=source.connect_timeout_s,
                                     check_same_thread=False, factory=_SQLiteConnection)
        connection.set_progress_handler(connection.over_time(limit_s), 10_000)
        # Functions named in a crafted file's views or triggers do not run.
        connection.execute("PRAGMA trusted_schema = OFF")
        if not writable:
            connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(authorizer)
        return connection

    engine = sa.create_engine("sqlite://", creator=creator, poolclass=NullPool,
                              hide_parameters=True)
    sa.event.listen(engine, "before_cursor_execute", _restart_sqlite_clock)
    return engine


def _sqlite_reading(action: int, first: str | None, second: str | None, *_: Any) -> int:
    """SQLite authorizer of a reading connection: select, read, plain functions only."""
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (second or "").lower() in _SQLITE_NEVER_FUNCTIONS \
            else sqlite3.SQLITE_OK
    if action in _SQLITE_READING:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (first or "").lower() in _SQLITE_READ_PRAGMAS:
        return sqlite3.SQLITE_OK  # SQLAlchemy reads these; they change nothing
    return sqlite3.SQLITE_DENY


def _sqlite_writing(action: int, first: str | None, second: str | None, *_: Any) -> int:
    """SQLite authorizer of the write-back connection: no other files, no extensions."""
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (second or "").lower() in _SQLITE_NEVER_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _duckdb_one_statement(cursor: Any, statement: str, *args: Any) -> None:
    """Refuse SQL that DuckDB's own parser reads as several statements (engine hook)."""
    context = args[-1]
    connection = context.root_connection.connection.dbapi_connection
    if len(connection.extract_statements(statement)) != 1:
        raise QueryNotAllowedError(
            "Only one statement can run, and the database reads several in this query. "
            "Remove everything after the first statement (a SELECT).")


def _postgres_engine(source: DatabaseSource, writable: bool) -> Engine:
    import psycopg

    arguments = postgres_arguments(source.url)
    source.policy.check_hosts(postgres_hosts(arguments))  # again: the source may be old
    timeout_ms = max(1, int(source.statement_timeout_s * 1000))
    options = [f"-c statement_timeout={timeout_ms}"]
    if not writable:
        options.append("-c default_transaction_read_only=on")
    # Every option libpq would otherwise take from the environment or a service file is
    # given here, so what was checked is what is used.
    arguments.update(
        host=arguments.get("host") or "", hostaddr=arguments.get("hostaddr") or "",
        password=arguments.get("password") or "",
        passfile=source.passfile if source.passfile is not None else NO_PASSWORD_FILE,
        options=" ".join(options), connect_timeout=max(2, math.ceil(source.connect_timeout_s)),
        application_name="synthetic-data-studio",
    )
    if libpq_refuses_cleartext():
        arguments["require_auth"] = "!password"
    check_role = not writable and not source.policy.writers_allowed

    def creator() -> Any:
        connection = psycopg.connect(**arguments, autocommit=False)
        try:
            connection.prepare_threshold = 5  # None would turn prepared statements off
            if not writable:
                connection.read_only = True  # every transaction: BEGIN READ ONLY
            if check_role:
                _refuse_writers(connection, source)
        except BaseException:
            connection.close()
            raise
        return connection

    engine = sa.create_engine("postgresql+psycopg://", creator=creator, poolclass=NullPool,
                              hide_parameters=True)
    if not writable:
        def one_statement(cursor: Any, statement: str, *args: Any) -> bool:
            parameters = args[0] if len(args) == 2 else None
            if parameters is None:  # the studio's SELECTs: the timeout may have been changed
                cursor.connection.execute(f"SET statement_timeout = {timeout_ms}")
            if isinstance(cursor, psycopg.ServerCursor):
                cursor.execute(statement, parameters)  # DECLARE: always extended protocol
            else:
                cursor.execute(statement, parameters, prepare=True)
            return True

        sa.event.listen(engine, "do_execute", one_statement)
        sa.event.listen(engine, "do_execute_no_params", one_statement)
    return engine


def _refuse_writers(connection: Any, source: DatabaseSource) -> None:
    """Refuse a PostgreSQL user that could change something (see the module docstring).

    Raises:
        DatabaseNotAllowedError: Why, and how to make a read-only user.
    """
    row = connection.execute(_ROLE_CHECK_SQL, {"roles": list(_POWERFUL_ROLES),
                                               "functions": list(_POWERFUL_FUNCTIONS)},
                             prepare=True).fetchone()
    connection.rollback()
    if row is None:
        return
    superuser, create_role, create_db, replication, create_in_db, roles, schemas, tables, \
        functions = row
    reasons = ["it is a superuser"] if superuser else []
    reasons += [] if superuser else [
        what for flag, what in ((create_role, "it may create roles"),
                                (create_db, "it may create databases"),
                                (replication, "it may start replication"),
                                (create_in_db, "it may create schemas")) if flag]
    if schemas and not superuser:
        reasons.append(f"it may create tables in {', '.join(schemas)}")
    if tables and not superuser:
        reasons.append(f"it may change tables ({', '.join(tables)})")
    if roles and not superuser:
        reasons.append(f"it is a member of {', '.join(roles)}")
    if functions and not superuser:
        reasons.append(f"it may run {', '.join(name + '()' for name in functions)}")
    if not reasons:
        return
    user = source.url.username or "(default user)"
    raise DatabaseNotAllowedError(
        f"The studio does not read as '{user}' at {source.location}: {'; '.join(reasons)}. "
        "A user that can change the database could get around reading's protections, so "
        "connect as a user that can only read. For example, as the database owner run: "
        f"{' '.join(READ_ONLY_ROLE_SQL.format(database=source.database_name).split())} "
        "(the README's section 'Databases' has the full recipe). Whoever runs the studio "
        "can allow such users with STUDIO_DATABASES=readwrite."
    )


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
    if "cleartext password" in low or 'requirement "!password"' in low:
        return (f"The server at {where.rsplit('/', 1)[0]} asked for the password in clear "
                "text, and the studio never sends it that way (anyone could pose as a "
                "database server to collect it). Check the host and port; if it is the right "
                "server, ask its administrator to use scram-sha-256 password authentication.")
    if "password authentication failed" in low or "authentication failed" in low:
        return (f"Authentication failed for user '{user}' at {where}: the password or user "
                f"name is wrong. Check them (the password can come from {password_hint}).")
    if "no password supplied" in low or "password is required" in low:
        held = "" if source.backend != "postgresql" or libpq_refuses_cleartext() else (
            " (This libpq is older than version 16 and cannot refuse a clear-text password "
            "request, so passwords from the environment or secrets are sent only with "
            "sslmode=verify-full.)")
        return (f"The server at {where} asks for a password for user '{user}' and none was "
                f"given. Enter it in {password_hint}; passwords held by the server go only to "
                f"the hosts allowed for them.{held}")
    if "multiple commands into a prepared statement" in low or \
            "one statement at a time" in low:
        return ("Only one statement can run, and the database found several in this query. "
                "Remove everything after the first statement (a SELECT).")
    if "not authorized" in low:
        return ("The query tried to change the database or reach outside it (another file, "
                "a setting, an extension), which reading never does; it was refused. Write a "
                "plain SELECT.")
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
