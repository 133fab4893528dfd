"""Writing synthetic rows back: the studio's only writable connection.

:func:`write_table` creates a new table with ``DataFrame.to_sql`` in one transaction, and
replaces an existing table only when asked; on any failure nothing is changed.

Where it may write is the operator's choice (:mod:`~core.data.databases.policy`): with
``STUDIO_DATABASES=read`` only a new SQLite/DuckDB file inside an allowed folder; with
``readwrite`` also existing database files there and PostgreSQL on an allowed host. A file
that is not a database of the right kind is never opened for writing, and nothing is
written into the studio's data directory or Python's libraries.

:func:`write_related` writes several related tables into a NEW database (a new file, or a
new PostgreSQL schema) with their primary and foreign keys declared, parents first, and
has the database confirm that every child row has its parent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from core.data.related import RelatedTables
from core.data.related import check_table_name as check_related_name
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
    replaced = False
    with _writing(source, new_file, f"write the table {table.label}", report) as connection:
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


@contextmanager
def _writing(destination: DatabaseSource, new_file: Path | None, doing: str,
             report: ProgressCallback) -> Iterator[sa.Connection]:
    """One transaction on a writable connection; a new file is removed unless it commits.

    Args:
        destination: Where the rows go.
        new_file: The new SQLite/DuckDB file to create (:func:`check_destination`), or None.
        doing: What is written, for the error ("write the table loans").
        report: Told of the connecting.

    Raises:
        DatabaseWriteError: The database cannot be opened, or a driver, pandas or OS error
            (described; nothing was written). Studio errors pass as they are.
    """
    report(0.0, f"Connecting to {destination.display}…")
    created = _create_file(new_file, destination) if new_file is not None else False
    try:
        engine = _engine(destination, writable=True)
    except DatabaseError as error:
        _remove_created(new_file, created)
        raise DatabaseWriteError(str(error)) from None
    committed = False
    try:
        with engine.begin() as connection:
            yield connection
        committed = True
    except StudioError:
        raise
    except Exception as error:  # noqa: BLE001 - driver, pandas and OS errors become one message
        message = _describe_failure(error, destination, doing)
        raise DatabaseWriteError(f"{message} Nothing was written.") from None
    finally:
        engine.dispose()
        if not committed:
            _remove_created(new_file, created)


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


# --------------------------------------------------------------------------- related tables


@dataclass(frozen=True)
class RelatedWriteResult:
    """What :func:`write_related` did.

    Attributes:
        destination: The redacted URL of the new database.
        schema: The new PostgreSQL schema the tables are in (None for a new file).
        tables: One :class:`WriteResult` per table, parents before children.
        foreign_keys: Foreign keys declared.
        broken_links: Child rows whose parent is missing, counted in the database after
            writing (always 0: otherwise nothing is kept).
        check: How integrity was confirmed, in plain words.
    """

    destination: str
    schema: str | None
    tables: tuple[WriteResult, ...]
    foreign_keys: int
    broken_links: int
    check: str

    @property
    def rows(self) -> int:
        """Rows written over all tables."""
        return sum(table.rows for table in self.tables)


def write_related(
    frames: Mapping[str, pd.DataFrame],
    related: RelatedTables,
    destination: DatabaseSource,
    *,
    schema: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
) -> RelatedWriteResult:
    """Write related tables into a NEW database with their primary and foreign keys.

    The tables are created parents first (``related.dependency_order()``), each with its
    ``PRIMARY KEY`` and ``FOREIGN KEY`` declared and column types from the frames, then
    filled parents first, all in one transaction. Afterwards the database itself counts
    the child rows whose parent is missing (and SQLite runs ``PRAGMA foreign_key_check``;
    PostgreSQL and DuckDB enforce the keys on insert); any broken link undoes everything.

    Where: a new SQLite or DuckDB file in an allowed folder (never an existing file), or,
    with ``STUDIO_DATABASES=readwrite``, a new ``schema`` in PostgreSQL on an allowed host
    (never an existing schema) -- the rules of :func:`check_destination`.

    Args:
        frames: Table name -> rows (every table of ``related``).
        related: The tables' schemas (primary keys) and relationships.
        destination: Where to write.
        schema: The new PostgreSQL schema (required there; not for files).
        chunk_rows: Rows per insert batch.
        progress: Called with ``(fraction, message)``.

    Returns:
        The tables and rows written, and how integrity was confirmed.

    Raises:
        WriteNotAllowedError: The operator's switches forbid writing there, or the file
            exists.
        TableExistsError: The PostgreSQL schema exists.
        DatabaseWriteError: Bad names, missing rows or columns, a broken link, or the
            database refused (nothing was written).
        MetadataError: The relationships form a cycle.
    """
    report = progress or null_progress
    order = related.dependency_order()
    _check_related_frames(frames, related, order, destination)
    if destination.backend == "postgresql":
        if not schema:
            raise DatabaseWriteError("Give a name for the new PostgreSQL schema the tables go "
                                     "into (e.g. bank_synthetic); an existing schema is never "
                                     "written into.")
        schema_ref = check_table_name(schema)
        if schema_ref.schema is not None or schema_ref.name.lower().startswith("pg_"):
            raise DatabaseWriteError(f"'{schema[:80]}' cannot be a schema name: use letters, "
                                     "digits and _ only, not starting with pg_.")
        check_destination(destination)
        new_file = None
    else:
        if schema:
            raise DatabaseWriteError(f"{destination.kind} files have no schemas: leave the "
                                     "schema empty.")
        new_file = check_destination(destination)
        if new_file is None:
            raise WriteNotAllowedError(
                f"{destination.location} already exists. Related tables go into a new "
                f"database file, so their keys are declared from the start: give a new file "
                f"name ending in {' or '.join(_NEW_FILE_SUFFIXES[destination.backend])}.")
    tables = _related_sa_tables(frames, related, order, schema)
    total = sum(len(frames[name]) for name in order)
    results: list[WriteResult] = []
    with _writing(destination, new_file, "write the related tables", report) as connection:
        if schema:
            exists = connection.execute(sa.text(
                "SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}).scalar()
            if exists:
                raise TableExistsError(
                    f"A schema '{schema}' already exists in {destination.display}, and the "
                    "studio writes related tables only into a new one. Pick another name.")
            connection.execute(sa.schema.CreateSchema(schema))
        for name in order:
            tables[name].create(connection)
        written = 0
        for name in order:
            frame = _related_values(frames[name], tables[name])
            for start in range(0, len(frame), max(1, int(chunk_rows))):
                part = frame.iloc[start:start + max(1, int(chunk_rows))]
                connection.execute(tables[name].insert(), part.to_dict("records"))
                written += len(part)
                report(0.05 + 0.85 * written / max(total, 1),
                       f"Wrote {written:,} of {total:,} rows ({name})…")
            results.append(WriteResult(
                table=TableRef(schema=schema, name=name), rows=len(frame), replaced=False,
                destination=destination.display))
        report(0.92, "Checking that every child row has its parent…")
        broken, check = _broken_links(connection, destination, related, tables)
        if broken:
            raise DatabaseWriteError(
                f"After writing, {'; '.join(broken)}; nothing was kept. Check the "
                "relationships on the Data page and generate again.")
    report(1.0, f"Wrote {len(results)} tables ({total:,} rows) with their keys.")
    return RelatedWriteResult(destination=destination.display, schema=schema,
                              tables=tuple(results),
                              foreign_keys=len(related.relationships), broken_links=0,
                              check=check)


def _check_related_frames(frames: Mapping[str, pd.DataFrame], related: RelatedTables,
                          order: list[str], destination: DatabaseSource) -> None:
    """Refuse names, missing tables or columns and empty tables before anything opens."""
    for name in order:
        check_related_name(name)
        check_table_name(name, destination)
        if name not in frames:
            raise DatabaseWriteError(f"There are no rows for the table {name}: generate every "
                                     "table of the set, then write them together.")
        frame = frames[name]
        if frame.empty:
            raise DatabaseWriteError(f"The table {name} has no rows to write: generate some "
                                     "first.")
        for column in frame.columns:
            text = str(column)
            if not text.isprintable() or not text.strip() or len(text) > 63:
                raise DatabaseWriteError(f"The column {text[:60]!r} of {name} cannot be an SQL "
                                         "column name (printable, at most 63 characters).")
        key = related.table(name).schema.primary_key
        if key is not None and key not in frame.columns:
            raise DatabaseWriteError(f"The table {name} has no column {key} (its primary key).")
    for rel in related.relationships:
        for table, column in ((rel.parent, rel.parent_key), (rel.child, rel.child_key)):
            if column not in frames[table].columns:
                raise DatabaseWriteError(f"The table {table} has no column {column}, which the "
                                         f"relationship {rel.label} needs.")


def _sa_type(series: pd.Series, key: bool) -> sa.types.TypeEngine:
    """The column type of a frame column; a key of whole numbers with gaps is an integer."""
    if pd.api.types.is_bool_dtype(series):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(series):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(series) and key:
        values = series.dropna()
        whole = bool(len(values)) and bool((values % 1 == 0).all()) and \
            bool(values.abs().max() < 2**53)
        return sa.BigInteger() if whole else sa.Float()
    if pd.api.types.is_float_dtype(series):
        return sa.Float()
    if pd.api.types.is_datetime64_any_dtype(series):
        return sa.DateTime()
    return sa.Text()


def _related_sa_tables(frames: Mapping[str, pd.DataFrame], related: RelatedTables,
                       order: list[str], schema: str | None) -> dict[str, sa.Table]:
    """SQLAlchemy tables with types from the frames (a foreign key takes its parent's)."""
    metadata = sa.MetaData(schema=schema)
    keys = {(name, related.table(name).schema.primary_key) for name in order}
    keys |= {(r.child, r.child_key) for r in related.relationships}
    types = {name: {str(column): _sa_type(frames[name][column], (name, column) in keys)
                    for column in frames[name].columns} for name in order}
    for rel in related.relationships:
        types[rel.child][rel.child_key] = types[rel.parent][rel.parent_key]
    tables: dict[str, sa.Table] = {}
    for name in order:
        key = related.table(name).schema.primary_key
        parts: list[Any] = [sa.Column(column, kind, nullable=column != key, autoincrement=False)
                            for column, kind in types[name].items()]
        if key is not None:
            parts.append(sa.PrimaryKeyConstraint(key))
        for rel in related.parents_of(name):
            target = f"{schema}.{rel.parent}.{rel.parent_key}" if schema else \
                f"{rel.parent}.{rel.parent_key}"
            parts.append(sa.ForeignKeyConstraint([rel.child_key], [target]))
        tables[name] = sa.Table(name, metadata, *parts)
    return tables


def _related_values(frame: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """The frame's values as the declared column types take them; missing values None."""
    out = pd.DataFrame(index=frame.index)
    for column in table.columns:
        series = frame[column.name]
        if isinstance(column.type, sa.BigInteger):
            series = pd.to_numeric(series, errors="raise").astype("Int64")
        elif isinstance(column.type, sa.Text) and not pd.api.types.is_string_dtype(series):
            numeric = pd.to_numeric(series, errors="coerce")
            if numeric.notna().all() and len(numeric) and (numeric % 1 == 0).all():
                series = numeric.astype("Int64")
            series = series.astype("string")
        elif isinstance(column.type, sa.Text):
            series = series.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        out[column.name] = series.astype(object).where(series.notna(), None)
    return out.reset_index(drop=True)


def _broken_links(connection: sa.Connection, destination: DatabaseSource,
                  related: RelatedTables, tables: Mapping[str, sa.Table]
                  ) -> tuple[list[str], str]:
    """Child rows without their parent, counted by the database; and how it was checked."""
    broken: list[str] = []
    for rel in related.relationships:
        child, parent = tables[rel.child], tables[rel.parent]
        link = child.c[rel.child_key]
        missing = sa.select(sa.func.count()).select_from(child).where(
            link.is_not(None),
            ~sa.exists().where(parent.c[rel.parent_key] == link))
        count = int(connection.execute(missing).scalar() or 0)
        if count:
            broken.append(f"{count:,} rows of {rel.child} refer to a {rel.child_key} that is "
                          f"not in {rel.parent}")
    check = (f"the database counted 0 child rows without their parent over "
             f"{len(related.relationships)} foreign keys")
    if destination.backend == "sqlite":
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if violations and not broken:
            broken.append(f"PRAGMA foreign_key_check found {len(violations):,} broken links")
        check = "PRAGMA foreign_key_check found no broken link, and " + check
    else:
        check = f"{destination.kind} enforced every foreign key on insert, and " + check
    return broken, check
