"""Writing synthetic rows back: the studio's only writable connection.

:func:`write_table` creates a new table with ``DataFrame.to_sql`` in one transaction, and
replaces an existing table only when asked; on any failure nothing is changed.

Where it may write is the operator's choice (:mod:`~core.data.databases.policy`): with
``STUDIO_DATABASES=read`` only a new SQLite/DuckDB file inside an allowed folder; with
``readwrite`` also existing database files there and PostgreSQL on an allowed host. A file
that is not a database of the right kind is never opened for writing, and nothing is
written into the studio's data directory or Python's libraries.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from core.data.databases.connecting import (
    DEFAULT_CHUNK_ROWS,
    _connected,
    _describe_failure,
    _engine,
    _quote_table,
)
from core.data.databases.errors import (
    DatabaseError,
    DatabaseNotAllowedError,
    DatabaseWriteError,
    TableExistsError,
    WriteNotAllowedError,
)
from core.data.databases.sources import DatabaseSource, TableRef
from core.errors import StudioError
from core.progress import ProgressCallback, null_progress

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_NEW_FILE_SUFFIXES = {"sqlite": (".db", ".sqlite", ".sqlite3"), "duckdb": (".duckdb", ".db")}
_SIDE_FILES = ("-journal", "-wal", "-shm", ".wal", ".tmp")


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
        WriteNotAllowedError: The operator's switches forbid writing there (see the module
            docstring); nothing was opened.
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
    new_file = check_destination(source)
    report(0.0, f"Connecting to {source.display}…")
    created = _create_file(new_file, source) if new_file is not None else False
    try:
        engine = _engine(source, writable=True)
    except DatabaseError as error:
        _remove_created(new_file, created)
        raise DatabaseWriteError(str(error)) from None
    replaced = False
    written_all = False
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
        written_all = True
    except StudioError:
        raise
    except Exception as error:  # noqa: BLE001 - driver, pandas and OS errors become one message
        message = _describe_failure(error, source, f"write the table {table.label}")
        raise DatabaseWriteError(f"{message} Nothing was written.") from None
    finally:
        engine.dispose()
        if not written_all:
            _remove_created(new_file, created)
    report(1.0, f"Wrote {total:,} rows to {table.label}.")
    return WriteResult(table=table, rows=total, replaced=replaced, destination=source.display)


def check_destination(source: DatabaseSource) -> Path | None:
    """Refuse a write-back the operator's switches do not allow; nothing is opened.

    Args:
        source: Where the rows would go.

    Returns:
        The real path of a new SQLite/DuckDB file to create, or None (an existing database
        file, or PostgreSQL).

    Raises:
        WriteNotAllowedError: Databases are off or read-only for this target, the file is
            outside the allowed folders, inside a protected folder, or exists and is not a
            database of that kind.
        DatabaseWriteError: The folder for a new file does not exist, or the path is a folder.
    """
    policy = source.policy
    read_only = ("On this server the studio only reads existing databases "
                 "(STUDIO_DATABASES=read, set by whoever runs the studio): it can write the "
                 "rows only to a new database file in an allowed folder. Download them "
                 "instead, or ask for STUDIO_DATABASES=readwrite.")
    try:
        policy.check_enabled()
        if source.backend == "postgresql":
            if not policy.writers_allowed:
                raise WriteNotAllowedError(read_only)
            return None
        path = policy.database_file(str(source.url.database or ""), source.kind)
    except DatabaseNotAllowedError as error:
        raise WriteNotAllowedError(str(error)) from None
    protected = policy.protected_folder(path)
    if protected is not None:
        raise WriteNotAllowedError(f"The studio never writes into {protected} ({path}). Pick "
                                   "a file in another folder.")
    if path.is_dir():
        raise DatabaseWriteError(f"{path} is a folder, not a {source.kind} file. Put the file "
                                 "name at the end of the URL.")
    if path.exists():
        if not _is_database_file(path, source.backend):
            raise WriteNotAllowedError(
                f"{path} is not a {source.kind} database file, and the studio never writes "
                "into other files. Give a new file name ending in "
                f"{' or '.join(_NEW_FILE_SUFFIXES[source.backend])}.")
        if not policy.writers_allowed:
            raise WriteNotAllowedError(read_only)
        return None
    if path.suffix.lower() not in _NEW_FILE_SUFFIXES[source.backend]:
        raise WriteNotAllowedError(
            f"A new {source.kind} file must be named *"
            f"{' or *'.join(_NEW_FILE_SUFFIXES[source.backend])}, not {path.name}.")
    if not path.parent.is_dir():
        raise DatabaseWriteError(f"The folder {path.parent} does not exist. Create it first or "
                                 "pick another.")
    return path


# --------------------------------------------------------------------------- internals


def _is_database_file(path: Path, backend: str) -> bool:
    """True if ``path`` is a regular file that starts like a SQLite/DuckDB database."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    if backend == "sqlite":
        return head == b"SQLite format 3\x00"
    return head[8:12] == b"DUCK"


def _create_file(path: Path, source: DatabaseSource) -> bool:
    """Create a new SQLite file exclusively (so it really is new); True if created here.

    DuckDB refuses an empty file, so DuckDB creates its own; it was checked to be absent.
    """
    if source.backend != "sqlite":
        return True
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         0o644))
    except FileExistsError:
        raise WriteNotAllowedError(f"{path} appeared while the studio was about to create it; "
                                   "nothing was written. Try again.") from None
    except OSError as error:
        raise DatabaseWriteError(f"{path} could not be created ({error.strerror}).") from None
    return True


def _remove_created(path: Path | None, created: bool) -> None:
    """Delete a database file this write created, and its journals, after a failure."""
    if path is None or not created:
        return
    for name in ("", *_SIDE_FILES):
        Path(f"{path}{name}").unlink(missing_ok=True)




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
