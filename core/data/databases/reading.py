"""Reading: list and find tables, preview, and read a table or SELECT with a row cap.

Rows come in chunks with progress; values are made table-friendly and the result is
checked like an uploaded file (:func:`core.data.loading.validate_table`).
:func:`read_related` reads several tables with the primary and foreign keys the catalogue
declares (:func:`read_catalogue_keys`), for related tables.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from core.data.databases.connecting import (
    DEFAULT_CHUNK_ROWS,
    _connected,
    _driver_sql,
    _quote_table,
)
from core.data.databases.errors import DatabaseError
from core.data.databases.guard import check_select
from core.data.databases.sources import DatabaseSource, TableRef
from core.data.loading import check_table_budget, validate_table
from core.data.related import MAX_RELATED_TABLES, Relationship, safe_table_name
from core.errors import DataValidationError
from core.progress import ProgressCallback, null_progress, scaled

DEFAULT_ROW_CAP = 500_000
"""The most rows :func:`read_table` reads unless told otherwise."""

PREVIEW_ROWS = 100
"""Rows :func:`preview` shows by default."""


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


def list_tables(source: DatabaseSource) -> list[TableRef]:
    """The tables and views a user can read, sorted by schema and name.

    SQLite lists unqualified names; PostgreSQL always qualifies them
    (``public.loans``); DuckDB qualifies those outside ``main``.

    Raises:
        DatabaseError: The database cannot be reached or read (message says why).
    """
    return _catalogue_tables(source, views=True)


def _catalogue_tables(source: DatabaseSource, *, views: bool) -> list[TableRef]:
    """The tables (and the views too with ``views``) the catalogue lists, sorted."""
    if source.backend == "sqlite":
        kinds = "IN ('table', 'view')" if views else "= 'table'"
        sql = (f"SELECT NULL, name FROM sqlite_master WHERE type {kinds} "
               "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    elif source.backend == "postgresql":
        sql = ("SELECT table_schema, table_name FROM information_schema.tables WHERE "
               + ("" if views else "table_type = 'BASE TABLE' AND ")
               + "table_schema NOT IN ('pg_catalog', 'information_schema') "
               "AND table_schema NOT LIKE 'pg\\_toast%' AND table_schema NOT LIKE 'pg\\_temp%' "
               "ORDER BY table_schema, table_name")
    else:
        sql = ("SELECT CASE WHEN table_schema = 'main' THEN NULL ELSE table_schema END, "
               "table_name FROM information_schema.tables "
               "WHERE table_catalog = current_database() "
               + ("" if views else "AND table_type = 'BASE TABLE' ")
               + "ORDER BY table_schema <> 'main', table_schema, table_name")
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
    max_table_bytes: int | None = None,
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
        max_table_bytes: Memory budget for the rows; None uses ``STUDIO_MAX_TABLE_MB``.
            The first chunk's size is projected onto the rows to read, and the reading
            stops once the rows read alone pass it.

    Returns:
        The rows with a display name and a source that contains no password.

    Raises:
        QueryNotAllowedError: ``what`` is a query that is not a single SELECT.
        DatabaseError: The database cannot be reached, timed out, or refused the query.
        DataValidationError: The rows are not a usable table (none, one column, ...).
        TableBudgetError: The rows would take more memory than the budget.
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
        bytes_per_row = 0.0
        while True:
            chunk = result.fetchmany(chunk_rows)
            if not chunk:
                break
            if not rows:  # the first chunk tells what a row costs: refuse before reading on
                bytes_per_row = _bytes_per_row(chunk, columns)
                check_table_budget(wanted, bytes_per_row, source_name=name,
                                   limit_bytes=max_table_bytes)
            rows.extend(chunk)
            check_table_budget(len(rows), bytes_per_row, source_name=name, stopped=True,
                               limit_bytes=max_table_bytes, rows_read=len(rows))
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


# --------------------------------------------------------------------------- internals


def _bytes_per_row(chunk: list[Any], columns: list[str]) -> float:
    """Memory per row while reading.

    Every value is its own object (a driver shares none), and the fetched rows and the
    table built from them are both held for a moment.
    """
    frame = pd.DataFrame.from_records(chunk, columns=columns, coerce_float=True)
    return 2 * float(frame.memory_usage(deep=True, index=False).sum()) / max(len(chunk), 1)


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


# --------------------------------------------------------------------------- related tables


@dataclass(frozen=True, eq=False)
class RelatedDatabase:
    """Several tables of one database with the keys its catalogue declares.

    Attributes:
        frames: Studio table name -> rows (each read like :func:`read_table`).
        relationships: The foreign keys between the tables read (``source="declared"``).
        primary_keys: Studio table name -> its declared primary key (None: none, or one
            over several columns, which the studio does not use).
        tables: Studio table name -> the database table it was read from.
        notes: What the reader noticed (row caps, renamed tables, keys left out).
        name: The database's name, for display.
        source: Where the rows came from, with the redacted URL.
    """

    frames: dict[str, pd.DataFrame]
    relationships: tuple[Relationship, ...]
    primary_keys: dict[str, str | None]
    tables: dict[str, TableRef]
    notes: tuple[str, ...]
    name: str
    source: str


@dataclass(frozen=True)
class CatalogueKeys:
    """Keys declared in a database's catalogue, by database table.

    Attributes:
        primary_keys: Table -> its primary key column (single-column keys only).
        foreign_keys: ``(child table, child column, parent table, parent column)``,
            single-column foreign keys only.
        skipped: Plain notes on keys over several columns, which are not used.
    """

    primary_keys: dict[TableRef, str]
    foreign_keys: tuple[tuple[TableRef, str, TableRef, str], ...]
    skipped: tuple[str, ...]


def list_base_tables(source: DatabaseSource) -> list[TableRef]:
    """The tables (not views) a user can read, sorted like :func:`list_tables`.

    Raises:
        DatabaseError: The database cannot be reached or read.
    """
    return _catalogue_tables(source, views=False)


def read_catalogue_keys(source: DatabaseSource, tables: list[TableRef]) -> CatalogueKeys:
    """The primary and foreign keys the catalogue declares on ``tables``.

    SQLite: ``PRAGMA table_info`` and ``PRAGMA foreign_key_list``; PostgreSQL:
    ``pg_constraint`` (readable by a user that may only read, unlike
    ``information_schema``'s constraint views); DuckDB: ``duckdb_constraints()``. Only
    keys of one column are used; foreign keys to tables outside ``tables`` are left out.

    Raises:
        DatabaseError: The database cannot be reached or read.
    """
    with _connected(source, "read the keys") as connection:
        if source.backend == "sqlite":
            rows = _sqlite_keys(connection, source, tables)
        elif source.backend == "postgresql":
            rows = _postgres_keys(connection)
        else:
            rows = _duckdb_keys(connection)
    by_label = {_key_label(t): t for t in tables}

    def find(schema: str | None, name: str) -> TableRef | None:
        exact = by_label.get(_key_label(TableRef(schema, name)))
        if exact is not None or source.backend != "sqlite":
            return exact
        folded = [t for t in tables if t.name.lower() == name.lower()]
        return folded[0] if len(folded) == 1 else None

    primary: dict[TableRef, str] = {}
    foreign: list[tuple[TableRef, str, TableRef, str]] = []
    skipped: list[str] = []
    for kind, schema, name, columns, parent_schema, parent_name, parent_columns in rows:
        table = find(schema, name)
        if table is None:
            continue
        columns, parent_columns = list(columns or []), list(parent_columns or [])
        if kind == "p":
            if len(columns) == 1:
                primary[table] = str(columns[0])
            else:
                skipped.append(f"The primary key of {table.label} spans {len(columns)} columns "
                               f"({', '.join(map(str, columns))}); the studio uses one-column "
                               "keys only, so it picks no primary key there.")
            continue
        parent = find(parent_schema, parent_name) if parent_name else None
        if parent is None:
            continue
        if len(columns) != 1 or len(parent_columns) > 1:
            skipped.append(f"The foreign key of {table.label} on {', '.join(map(str, columns))} "
                           "spans several columns; the studio uses one-column keys only, so it "
                           "leaves this relationship out.")
            continue
        parent_column = str(parent_columns[0]) if parent_columns else None
        foreign.append((table, str(columns[0]), parent, parent_column or ""))
    resolved = tuple((child, column, parent, parent_column or primary.get(parent, ""))
                     for child, column, parent, parent_column in foreign)
    return CatalogueKeys(primary_keys=primary,
                         foreign_keys=tuple(f for f in resolved if f[3]),
                         skipped=tuple(skipped))


def read_related(
    source: DatabaseSource,
    tables: list[TableRef | str] | None = None,
    *,
    row_cap: int | None = DEFAULT_ROW_CAP,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
    max_table_bytes: int | None = None,
) -> RelatedDatabase:
    """Read several tables of a database and the keys its catalogue declares between them.

    Each table is read with :func:`read_table` (row cap, chunks, the memory budget, the
    read-only connection). Studio table names are the database names made safe
    (:func:`core.data.related.safe_table_name`); two tables of the same name in different
    schemas are told apart by their schema.

    Args:
        source: The database.
        tables: The tables to read (``TableRef`` or names found with :func:`find_table`);
            None reads every table (views are left out).
        row_cap: Rows per table at most; None reads everything.
        chunk_rows: Rows per fetch.
        progress: Called with ``(fraction, message)``.
        max_table_bytes: Memory budget per table; None uses ``STUDIO_MAX_TABLE_MB``.

    Returns:
        The rows, the declared relationships and primary keys, and notes.

    Raises:
        DatabaseError: The database cannot be read, a named table is missing, there are
            no tables, or more than :data:`core.data.related.MAX_RELATED_TABLES`.
        DataValidationError: A table is not usable (no rows, one column, ...).
    """
    report = progress or null_progress
    report(0.0, f"Listing the tables of {source.database_name}…")
    if tables is None:
        refs = list_base_tables(source)
    else:
        refs = []
        for item in tables:
            ref = item if isinstance(item, TableRef) else find_table(source, item)
            if ref not in refs:
                refs.append(ref)
    if not refs:
        raise DatabaseError(f"{source.display} has no tables this user can read.")
    if len(refs) > MAX_RELATED_TABLES:
        raise DatabaseError(f"{source.display} has {len(refs)} tables; the studio reads at most "
                            f"{MAX_RELATED_TABLES} related tables at once. Name the ones to "
                            "read (e.g. customers,accounts,transactions).")
    counts: dict[str, int] = {}
    for ref in refs:
        counts[ref.name.lower()] = counts.get(ref.name.lower(), 0) + 1
    names: dict[TableRef, str] = {}
    notes: list[str] = []
    for ref in refs:
        wanted = ref.name if counts[ref.name.lower()] == 1 else f"{ref.schema}_{ref.name}"
        names[ref] = safe_table_name(wanted, names.values())
        if names[ref] != ref.name:
            notes.append(f"The table {ref.label} is called {names[ref]} here (table names "
                         "hold letters, digits and _ only, and each is different).")
    report(0.02, "Reading the keys from the catalogue…")
    keys = read_catalogue_keys(source, refs)
    notes.extend(keys.skipped)
    frames: dict[str, pd.DataFrame] = {}
    truncated: list[str] = []
    for position, ref in enumerate(refs):
        loaded = read_table(source, ref, row_cap=row_cap, chunk_rows=chunk_rows,
                            max_table_bytes=max_table_bytes,
                            progress=scaled(report, 0.05 + 0.95 * position / len(refs),
                                            0.05 + 0.95 * (position + 1) / len(refs)))
        frames[names[ref]] = loaded.frame
        notes.extend(f"{names[ref]}: {note}" for note in loaded.notes)
        if loaded.truncated:
            truncated.append(names[ref])
    if truncated:
        notes.append(f"The row cap cut {', '.join(truncated)}: some child rows may now miss "
                     "their parent, and the checks will say how many.")
    primary_keys: dict[str, str | None] = {}
    for ref in refs:
        key = keys.primary_keys.get(ref)
        if key is not None and key not in frames[names[ref]].columns:
            notes.append(f"The primary key {ref.label}.{key} was not read (an empty column); "
                         "the studio picks none there.")
            key = None
        primary_keys[names[ref]] = key
    relationships: list[Relationship] = []
    for child, column, parent, parent_column in keys.foreign_keys:
        child_name, parent_name = names[child], names[parent]
        if column not in frames[child_name].columns or \
                parent_column not in frames[parent_name].columns:
            notes.append(f"The foreign key {child.label}.{column} → {parent.label}."
                         f"{parent_column} names a column that was not read (an empty column); "
                         "it is left out.")
            continue
        relationship = Relationship(parent=parent_name, parent_key=parent_column,
                                    child=child_name, child_key=column, source="declared")
        if relationship not in relationships:
            relationships.append(relationship)
    report(1.0, f"Read {len(frames)} tables and {len(relationships)} foreign keys.")
    return RelatedDatabase(frames=frames, relationships=tuple(relationships),
                           primary_keys=primary_keys, tables={v: k for k, v in names.items()},
                           notes=tuple(notes), name=source.database_name,
                           source=f"Database {source.display}")


def _key_label(table: TableRef) -> str:
    schema = table.schema if table.schema not in (None, "main") else ""
    return f"{schema}.{table.name}"


_KeyRow = tuple[str, str | None, str, list[Any], str | None, str | None, list[Any]]


def _sqlite_keys(connection: Any, source: DatabaseSource, tables: list[TableRef]
                 ) -> list[_KeyRow]:
    rows: list[_KeyRow] = []
    for table in tables:
        quoted = _quote_table(source, table)
        info = _driver_sql(connection, f"PRAGMA table_info({quoted})").fetchall()
        key = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
        if key:
            rows.append(("p", None, table.name, key, None, None, []))
        links: dict[int, list[Any]] = {}
        for row in _driver_sql(connection, f"PRAGMA foreign_key_list({quoted})").fetchall():
            links.setdefault(int(row[0]), []).append(row)
        for parts in links.values():
            parts.sort(key=lambda r: r[1])
            parent_columns = [r[4] for r in parts if r[4] is not None]
            rows.append(("f", None, table.name, [r[3] for r in parts], None, parts[0][2],
                         parent_columns))
    return rows


_POSTGRES_KEYS_SQL = """
SELECT c.contype::text, n.nspname::text, t.relname::text,
  ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(num, pos)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos),
  fn.nspname::text, ft.relname::text,
  ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(num, pos)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class ft ON ft.oid = c.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = ft.relnamespace
WHERE c.contype IN ('p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY n.nspname, t.relname, c.conname
"""


def _postgres_keys(connection: Any) -> list[_KeyRow]:
    return [tuple(row) for row in _driver_sql(connection, _POSTGRES_KEYS_SQL).fetchall()]


def _duckdb_keys(connection: Any) -> list[_KeyRow]:
    sql = ("SELECT CASE constraint_type WHEN 'PRIMARY KEY' THEN 'p' ELSE 'f' END, schema_name, "
           "table_name, constraint_column_names, schema_name, referenced_table, "
           "referenced_column_names FROM duckdb_constraints() "
           "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') "
           "AND database_name = current_database() ORDER BY schema_name, table_name")
    return [tuple(row) for row in _driver_sql(connection, sql).fetchall()]
