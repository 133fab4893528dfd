"""Detecting several related tables: each table's schema, primary keys and foreign keys.

Each table goes through the single-table detection (:func:`core.engine.metadata.detect_table`);
the keys come from, in this order: what the user or the database catalogue declared, SDV's
multi-table detection (``Metadata.detect_from_dataframes``, which matches column names to
primary keys), and the studio's own suggestions by names and values
(:func:`core.data.related.suggest_relationships`). Key columns are identifiers: never faked
as personal data, never dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace

import pandas as pd

from core.data.related import (
    MAX_RELATED_TABLES,
    RelatedTables,
    Relationship,
    check_table_name,
    suggest_relationships,
)
from core.data.schema import TableSchema
from core.data.table import StudioTable
from core.engine.metadata import detect_table
from core.engine.patches import load_libraries
from core.errors import MetadataError
from core.progress import ProgressCallback, null_progress

__all__ = ["detect_related", "sdv_relationships"]


def sdv_relationships(frames: Mapping[str, pd.DataFrame]
                      ) -> tuple[dict[str, str | None], list[Relationship]]:
    """SDV's multi-table detection: its primary key per table and its foreign keys.

    Returns:
        ``(table -> primary key or None, relationships with source "detected")``; both
        empty when SDV cannot read the tables (the studio's own detection still runs).
    """
    load_libraries()
    from sdv.metadata import Metadata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = Metadata.detect_from_dataframes(dict(frames)).to_dict()
    except Exception:  # noqa: BLE001 - SDV's detection is a hint; the studio's own follows
        return {}, []
    keys = {name: table.get("primary_key") for name, table in found.get("tables", {}).items()}
    relationships = [
        Relationship(parent=str(r["parent_table_name"]), parent_key=str(r["parent_primary_key"]),
                     child=str(r["child_table_name"]), child_key=str(r["child_foreign_key"]),
                     source="detected")
        for r in found.get("relationships", [])
        if isinstance(r.get("parent_primary_key"), str)
        and isinstance(r.get("child_foreign_key"), str)
    ]
    return keys, relationships


def detect_related(
    frames: Mapping[str, pd.DataFrame],
    *,
    name: str,
    source: str,
    declared: Iterable[Relationship] = (),
    primary_keys: Mapping[str, str | None] | None = None,
    target: tuple[str, str] | None = None,
    notes: Iterable[str] = (),
    progress: ProgressCallback | None = None,
) -> RelatedTables:
    """Detect every table's schema and the relationships between the tables.

    Primary keys: ``primary_keys`` (declared) first, then SDV's detection, then the
    single-table detection's unique identifier column. Relationships: ``declared`` first,
    then SDV's, then :func:`~core.data.related.suggest_relationships`; each child column
    gets one parent (the first), and a detected link that would close a circle or refer
    to its own table is not chosen. What is not chosen is kept in
    ``detected_relationships`` for the user to add back.

    Args:
        frames: Table name -> rows (names checked by
            :func:`~core.data.related.check_table_name`).
        name: Display name ("bank.db", "3 files").
        source: Where the tables came from.
        declared: Foreign keys the database catalogue or the user gave.
        primary_keys: Table -> primary key the catalogue or the user gave (None: none
            declared; the detection decides).
        target: ``(table, column)`` a parent-level usefulness test predicts, or None.
        notes: What loading noticed.
        progress: Called with ``(fraction, message)`` (one step per table).

    Returns:
        The related tables, not yet checked (see :func:`~core.data.related.check_related`).

    Raises:
        MetadataError: No tables, too many, a bad table name, a declared key or target that
            is not a column.
    """
    report = progress or null_progress
    if not frames:
        raise MetadataError("There are no tables to detect. Load at least one table.")
    if len(frames) > MAX_RELATED_TABLES:
        raise MetadataError(f"{len(frames)} tables were given; the studio takes at most "
                            f"{MAX_RELATED_TABLES} related tables at once.")
    for table_name in frames:
        check_table_name(table_name)
    declared = [replace(r, source=r.source or "declared") for r in declared]
    given_keys = dict(primary_keys or {})
    for table_name, key in given_keys.items():
        if key is not None and (table_name not in frames or key not in frames[table_name]):
            raise MetadataError(f"The primary key {table_name}.{key} is not a column of the "
                                "data. Check the table and column names.")
    if target is not None:
        table_name, column = target
        if table_name not in frames or column not in frames[table_name].columns:
            raise MetadataError(f"The target {table_name}.{column} is not a column of the data. "
                                "Give it as table.column, e.g. customers.churned.")

    report(0.0, f"Detecting SDV's view of {len(frames)} tables…")
    sdv_keys, sdv_links = sdv_relationships(frames)
    tables: dict[str, StudioTable] = {}
    for position, (table_name, frame) in enumerate(frames.items()):
        report(0.1 + 0.8 * position / len(frames), f"Detecting the columns of {table_name}…")
        own_target = target[1] if target is not None and target[0] == table_name else None
        tables[table_name] = detect_table(frame, table_name, source, target=own_target)

    keys: dict[str, str | None] = {}
    for table_name, table in tables.items():
        if given_keys.get(table_name):
            keys[table_name] = given_keys[table_name]
        elif table_name in given_keys:  # declared: no primary key
            keys[table_name] = None
        elif _usable_key(frames[table_name], sdv_keys.get(table_name), table.schema):
            keys[table_name] = sdv_keys[table_name]
        else:
            keys[table_name] = table.schema.primary_key
    for rel in declared:  # a declared foreign key names its parent's key
        if rel.parent in keys and keys[rel.parent] is None and \
                rel.parent_key in frames[rel.parent].columns:
            keys[rel.parent] = rel.parent_key

    candidates = [*declared, *sdv_links, *suggest_relationships(frames, keys)]
    chosen: list[Relationship] = []
    passed: list[Relationship] = []
    linked: set[tuple[str, str]] = set()
    for rel in candidates:
        pair = (rel.child, rel.child_key)
        same = any(_same_link(rel, other) for other in chosen)
        if same:
            continue
        fits = (rel.source != "detected" or (
            rel.parent != rel.child and keys.get(rel.parent) == rel.parent_key
            and not _closes_cycle(chosen, rel)))
        if pair in linked or not fits:
            if not any(_same_link(rel, other) for other in passed):
                passed.append(rel)
            continue
        chosen.append(rel)
        linked.add(pair)

    report(0.95, "Marking the key columns as identifiers…")
    final: list[StudioTable] = []
    for table_name, table in tables.items():
        key_columns = {keys[table_name]} if keys[table_name] else set()
        key_columns |= {r.child_key for r in chosen if r.child == table_name}
        key_columns |= {r.parent_key for r in chosen if r.parent == table_name}
        key_columns &= set(frames[table_name].columns)
        final.append(_with_keys(table, keys[table_name], key_columns, chosen))
    report(1.0, f"Detected {len(final)} tables and {len(chosen)} relationships.")
    return RelatedTables(tables=tuple(final), relationships=tuple(chosen), name=name,
                         source=source, notes=tuple(notes), target=target,
                         detected_relationships=tuple(passed))


def _usable_key(frame: pd.DataFrame, key: object, schema: TableSchema) -> bool:
    """SDV's key, if unique, complete, and an identifier by the studio's reading too.

    SDV takes any unique column (a city name in a lookup table); the studio's detection
    knows an identifier by its name and values.
    """
    if not isinstance(key, str) or key not in frame.columns:
        return False
    if schema.column(key).sdtype != "id":
        return False
    values = frame[key]
    return bool(values.notna().all() and values.is_unique)


def _same_link(one: Relationship, other: Relationship) -> bool:
    return (one.parent, one.parent_key, one.child, one.child_key) == \
        (other.parent, other.parent_key, other.child, other.child_key)


def _closes_cycle(chosen: list[Relationship], new: Relationship) -> bool:
    """True if ``new`` (parent -> child) would let ``child`` reach back to ``parent``."""
    reach, frontier = {new.child}, [new.child]
    while frontier:
        node = frontier.pop()
        for rel in chosen:
            if rel.parent == node and rel.child not in reach:
                reach.add(rel.child)
                frontier.append(rel.child)
    return new.parent in reach


def _with_keys(table: StudioTable, primary_key: str | None, key_columns: set[str],
               relationships: list[Relationship]) -> StudioTable:
    """The table with its primary key set and every key column typed as an identifier."""
    schema: TableSchema = replace(table.schema, primary_key=primary_key)
    for column_name in sorted(key_columns):
        column = schema.column(column_name)
        links = [r.label for r in relationships
                 if (r.child == table.name and r.child_key == column_name)
                 or (r.parent == table.name and r.parent_key == column_name)]
        role = "primary key" if column_name == primary_key else "foreign key"
        joined = f" ({'; '.join(links)})" if links else ""
        note = (f"{role}{joined}: kept as a key, so synthetic rows join up like the real "
                "ones; never faked or dropped")
        schema = schema.with_column(replace(column, sdtype="id", pii=False, action="model",
                                            note=note))
    target = table.target if table.target in schema.modelled_columns else None
    return replace(table, schema=schema, detected_schema=schema, target=target)
