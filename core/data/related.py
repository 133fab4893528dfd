"""Several related tables: each table with its reviewed schema, and the keys that join them.

A :class:`RelatedTables` is what the studio works on when a user brings a database schema
or several files (customers -> accounts -> transactions): one :class:`StudioTable` per
table (its ``schema.primary_key`` set) and one :class:`Relationship` per foreign key.

Here too: the table names the studio accepts (:func:`check_table_name`,
:func:`safe_table_name`), several uploaded files read as tables
(:func:`load_related_files`), relationships suggested by names and values
(:func:`suggest_relationships`), and the checks that say in plain words what stands in a
synthesizer's way (:func:`check_related`: orphans, duplicate or missing keys, cycles,
self-references, key types) with the repair that does what they say
(:func:`repair_related`). The detection with SDV is
:func:`core.engine.related_metadata.detect_related`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath

import numpy as np
import pandas as pd

from core.data.table import StudioTable, fingerprint_frame
from core.errors import DataLoadError, MetadataError
from core.progress import ProgressCallback, null_progress, scaled

__all__ = [
    "ISSUE_KINDS",
    "MAX_RELATED_TABLES",
    "TABLE_NAME_RULE",
    "RelatedIssue",
    "RelatedTables",
    "Relationship",
    "check_related",
    "check_table_name",
    "dependency_order",
    "load_related_files",
    "read_related_files",
    "repair_related",
    "safe_table_name",
    "suggest_relationships",
]


@dataclass(frozen=True)
class Relationship:
    """One foreign key: ``child.child_key`` refers to ``parent.parent_key``.

    Attributes:
        parent: The parent table's name.
        parent_key: The parent's primary key column.
        child: The child table's name.
        child_key: The child's foreign-key column.
        source: Who said so: "declared" (the database catalogue), "detected" (names and
            values), or "user" (added on the Data page or with ``--relationship``).
    """

    parent: str
    parent_key: str
    child: str
    child_key: str
    source: str = "declared"

    @property
    def label(self) -> str:
        """"customers.customer_id → accounts.customer_id"."""
        return f"{self.parent}.{self.parent_key} → {self.child}.{self.child_key}"

    def to_dict(self) -> dict[str, str]:
        """JSON-able form (keys, the registry, job files); ``source`` is left out."""
        return {"parent": self.parent, "parent_key": self.parent_key,
                "child": self.child, "child_key": self.child_key}


@dataclass(frozen=True)
class RelatedTables:
    """Tables joined by foreign keys.

    Attributes:
        tables: One table per name, in the order they were loaded; ``table.name`` is the
            table's name, ``table.schema.primary_key`` its primary key (None for none).
        relationships: The foreign keys the user confirmed.
        name: Display name ("bank.db", "3 files").
        source: Where the tables came from ("Sample dataset", "Uploaded files", "Database").
        notes: What loading and checking noticed, in plain sentences.
        target: ``(table, column)`` a parent-level usefulness test predicts, or None.
    """

    tables: tuple[StudioTable, ...]
    relationships: tuple[Relationship, ...] = ()
    name: str = ""
    source: str = ""
    notes: tuple[str, ...] = ()
    target: tuple[str, str] | None = None
    detected_relationships: tuple[Relationship, ...] = field(default=(), compare=False)

    @property
    def names(self) -> list[str]:
        """The tables' names, in loading order."""
        return [table.name for table in self.tables]

    def table(self, name: str) -> StudioTable:
        """The table called ``name``.

        Raises:
            MetadataError: No table has that name.
        """
        for table in self.tables:
            if table.name == name:
                return table
        raise MetadataError(f"There is no table called '{name}'. Tables: {', '.join(self.names)}.")

    @property
    def fingerprint(self) -> str:
        """A hash of every table's content and schema and of the relationships (16 hex)."""
        payload = {
            "tables": [[t.name, t.fingerprint, t.schema.fingerprint_dict()] for t in self.tables],
            "relationships": sorted(json.dumps(r.to_dict(), sort_keys=True)
                                    for r in self.relationships),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def shape_label(self) -> str:
        """"3 tables · 12,400 rows · 2 relationships"."""
        rows = sum(len(t.frame) for t in self.tables)
        links = len(self.relationships)
        return (f"{len(self.tables)} tables · {rows:,} rows · "
                f"{links} relationship{'s' if links != 1 else ''}")

    def parents_of(self, name: str) -> list[Relationship]:
        """Relationships in which ``name`` is the child."""
        return [r for r in self.relationships if r.child == name]

    def children_of(self, name: str) -> list[Relationship]:
        """Relationships in which ``name`` is the parent."""
        return [r for r in self.relationships if r.parent == name]

    def dependency_order(self) -> list[str]:
        """Table names with every parent before its children (for fitting and writing).

        Raises:
            MetadataError: The relationships form a cycle (named in the message).
        """
        return dependency_order(self.names, self.relationships)

    def with_relationships(self, relationships: tuple[Relationship, ...]) -> RelatedTables:
        """Return a copy with the relationships replaced (the user's corrections)."""
        return replace(self, relationships=tuple(relationships))

    def with_table(self, table: StudioTable) -> RelatedTables:
        """Return a copy with the table of the same name replaced (an edited schema)."""
        return replace(self, tables=tuple(table if t.name == table.name else t
                                          for t in self.tables))


def dependency_order(names: Iterable[str], relationships: Iterable[Relationship], *,
                     tolerate_cycles: bool = False) -> list[str]:
    """Table names with every parent before its children (for fitting, writing, judging).

    Self-references are passed over. Tables that become ready together keep the order of
    ``names``.

    Args:
        names: The tables, in the order to keep among equals.
        relationships: The foreign keys between them.
        tolerate_cycles: Instead of refusing a cycle, take the first table still waiting
            and go on (for reading tables that were never checked, e.g. an evaluation).

    Raises:
        MetadataError: The relationships form a cycle (named in the message) and
            ``tolerate_cycles`` is off.
    """
    links = list(relationships)
    remaining = {name: {r.parent for r in links if r.child == name and r.parent != name}
                 for name in names}
    order: list[str] = []
    while remaining:
        ready = [name for name, parents in remaining.items() if not parents]
        if not ready:
            if not tolerate_cycles:
                cycle = ", ".join(sorted(remaining))
                raise MetadataError(
                    f"The relationships between {cycle} form a cycle, so no table can be made "
                    "first. Remove one of those relationships on the Data page."
                )
            ready = [next(iter(remaining))]
        for name in ready:
            order.append(name)
            del remaining[name]
        for parents in remaining.values():
            parents.difference_update(ready)
    return order


# --------------------------------------------------------------------------- names

TABLE_NAME_RULE = ("letters, digits and _ only, starting with a letter or _, at most 63 "
                   "characters (e.g. customers)")
"""What a table name may be: it becomes a file name (one CSV per table) and an SQL name."""

MAX_RELATED_TABLES = 20
"""The most tables one set of related tables may have (files or a database schema)."""

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Names Windows reserves for devices: as a file stem they would not be a file.
_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                           *(f"lpt{i}" for i in range(10))})


def check_table_name(name: object) -> str:
    """Refuse a table name that could be a path or SQL trick; return it unchanged.

    Raises:
        MetadataError: The name breaks :data:`TABLE_NAME_RULE` (the message shows it).
    """
    text = name if isinstance(name, str) else ""
    shown = repr(str(name)[:60])
    if not _TABLE_NAME.match(text):
        raise MetadataError(f"The table name {shown} cannot be used: a table name becomes a "
                            f"file name and an SQL name, so it may hold {TABLE_NAME_RULE}. "
                            "Rename the file or table.")
    if text.lower().startswith("sqlite_") or text.lower() in _DEVICE_NAMES:
        raise MetadataError(f"The table name {shown} is reserved (by SQLite or Windows). "
                            "Rename the file or table.")
    return text


def safe_table_name(text: str, taken: Iterable[str] = ()) -> str:
    """Turn a file stem or a database table's name into a usable, unused table name.

    Anything but letters, digits and _ becomes _ ("order details.csv" -> order_details),
    a leading digit gets ``t_``, reserved names get ``_table``, and a name already in
    ``taken`` (compared without case) gets ``_2``, ``_3``, ...
    """
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_")[:56] or "table"
    if cleaned[0].isdigit():
        cleaned = f"t_{cleaned}"
    if cleaned.lower().startswith("sqlite_") or cleaned.lower() in _DEVICE_NAMES:
        cleaned = f"{cleaned}_table"
    used = {name.lower() for name in taken}
    candidate, number = cleaned, 2
    while candidate.lower() in used:
        candidate, number = f"{cleaned}_{number}", number + 1
    return candidate


# --------------------------------------------------------------------------- several files


def read_related_files(
    named_files: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
    *,
    max_bytes: int | None = None,
    max_table_bytes: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """Read several uploaded files, one table each, with the single-file readers.

    Every file goes through :func:`core.data.loading.load_table` (its upload limit,
    encodings, checks); empty columns are left out and said so. A table's name is the file
    stem made safe (:func:`safe_table_name`) and unique; the memory budget holds for all
    tables together.

    Args:
        named_files: ``file name -> bytes`` (or pairs, where two uploads may share a name).
        max_bytes: The upload limit per file; None uses the app's.
        max_table_bytes: The memory budget for all tables; None uses ``STUDIO_MAX_TABLE_MB``.
        progress: Called with ``(fraction, message)``.

    Returns:
        ``(table name -> frame, notes)`` in the files' order.

    Raises:
        DataLoadError: No file, too many files, or a file could not be read (the message
            names the file).
        DataValidationError: A file is not a usable table.
    """
    from core.data.loading import estimate_frame_bytes, load_table
    from core.data.loading.common import table_budget_error, table_limit_bytes

    pairs = list(named_files.items() if isinstance(named_files, Mapping) else named_files)
    if not pairs:
        raise DataLoadError("No files were given. Upload one file per table (e.g. "
                            "customers.csv, accounts.csv).")
    if len(pairs) > MAX_RELATED_TABLES:
        raise DataLoadError(f"{len(pairs)} files were given; the studio takes at most "
                            f"{MAX_RELATED_TABLES} related tables at once. Upload fewer files.")
    report = progress or null_progress
    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    total_bytes = 0
    limit = table_limit_bytes(max_table_bytes)
    for position, (filename, data) in enumerate(pairs):
        shown = PurePath(str(filename)).name or "file"
        stem = PurePath(shown).stem
        loaded = load_table(bytes(data), shown, drop_empty_columns=True, max_bytes=max_bytes,
                            max_table_bytes=max_table_bytes,
                            progress=scaled(report, position / len(pairs),
                                            (position + 1) / len(pairs)))
        name = safe_table_name(stem, frames)
        if name != stem:
            notes.append(f"The table from {shown} is called {name} (table names hold "
                         "letters, digits and _ only, and each is different).")
        notes.extend(f"{name}: {note}" for note in loaded.notes)
        total_bytes += estimate_frame_bytes(loaded.frame)
        if total_bytes > limit:
            raise table_budget_error(f"{len(frames) + 1} files", "together they would take",
                                     total_bytes, limit)
        frames[name] = loaded.frame
    report(1.0, f"Loaded {len(frames)} tables.")
    return frames, tuple(notes)


def load_related_files(
    named_files: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
    *,
    max_bytes: int | None = None,
    max_table_bytes: int | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of several uploaded files, by table name (see :func:`read_related_files`)."""
    frames, _notes = read_related_files(named_files, max_bytes=max_bytes,
                                        max_table_bytes=max_table_bytes, progress=progress)
    return frames


# --------------------------------------------------------------------------- suggestions


_ID_WORDS = ("id", "key", "code", "no", "num", "number", "ref", "uuid", "guid")
_GENERIC_KEYS = frozenset({"id", "key", "pk", "code", "uuid", "guid", "no", "number", "ref"})


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("ss") and len(lower) > 3:
        return word[:-1]
    return word


def _reference_names(parent: str, key: str) -> set[str]:
    """Normalised names a child column referring to ``parent.key`` may have."""
    stems = {parent, _singular(parent), _singular(parent) + "s"}
    names = {_norm(f"{stem}_{key}") for stem in stems}
    if _norm(key) in _GENERIC_KEYS:
        names |= {_norm(f"{stem}_id") for stem in stems}
    else:
        names.add(_norm(key))
    return names


def _id_like(name: str) -> bool:
    tokens = [token for token in re.split(r"[^a-z0-9]+", str(name).lower()) if token]
    return bool(tokens) and (tokens[-1] in _ID_WORDS or str(name).lower().endswith("id"))


def _key_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def suggest_relationships(frames: Mapping[str, pd.DataFrame],
                          primary_keys: Mapping[str, str | None]) -> list[Relationship]:
    """Foreign keys the names and values suggest, ``source="detected"``.

    A child column refers to ``parent.key`` (``key`` the parent's primary key) when

    * its name says so (``customer_id`` for ``customers.customer_id``, or
      ``customer_id``/``customers_id`` for ``customers.id``) and at least half of its
      distinct values are parent keys, or
    * its name looks like an identifier and every one of its values is a parent key (and
      no other parent fits as well).

    Each child column gets at most one parent: a name match first, then the larger share.

    Args:
        frames: Table name -> rows.
        primary_keys: Table name -> its primary key (None: the table cannot be a parent).

    Returns:
        The suggestions, sorted by child table and column.
    """
    parents: list[tuple[str, str, pd.Series]] = []
    for parent, key in primary_keys.items():
        if key and parent in frames and key in frames[parent].columns:
            values = frames[parent][key].dropna()
            if not values.empty:
                parents.append((parent, key, pd.Series(values.unique())))
    best: dict[tuple[str, str], list[tuple[tuple[bool, float], Relationship]]] = {}
    for parent, key, parent_values in parents:
        names = _reference_names(parent, key)
        kind = _key_kind(parent_values)
        for child, frame in frames.items():
            if child == parent:
                continue
            own_key = primary_keys.get(child)
            for column in frame.columns:
                by_name = _norm(column) in names
                if column == own_key and not by_name:
                    continue
                if not by_name and not _id_like(column):
                    continue
                values = frame[column].dropna()
                if values.empty or _key_kind(values) != kind:
                    continue
                distinct = pd.Series(values.unique())
                share = float(distinct.isin(parent_values).mean())
                if by_name and share >= 0.5 or (share == 1.0 and len(distinct) >= 2):
                    best.setdefault((child, str(column)), []).append(
                        ((by_name, share), Relationship(parent, key, child, str(column),
                                                        "detected")))
    chosen: list[Relationship] = []
    for found in best.values():
        found.sort(key=lambda item: item[0], reverse=True)
        if len(found) > 1 and found[0][0] == found[1][0]:
            continue  # two parents fit equally well: leave it to the user
        chosen.append(found[0][1])
    return sorted(chosen, key=lambda r: (r.child, r.child_key))


# --------------------------------------------------------------------------- checks

ISSUE_KINDS = ("missing_column", "self_reference", "missing_key", "cycle", "type_mismatch",
               "duplicate_keys", "orphans")
"""Every kind of :class:`RelatedIssue`, in the order the checks run."""

_SOURCE_RANK = {"detected": 0, "user": 1, "declared": 2}


@dataclass(frozen=True)
class RelatedIssue:
    """One problem :func:`check_related` found, and what :func:`repair_related` does about it.

    Attributes:
        kind: One of :data:`ISSUE_KINDS`.
        table: The table whose rows or columns are affected.
        column: The column concerned, or None.
        rows: How many rows are concerned (dropped, or holding the column's values).
        severity: "error" when a relationship the user gave cannot be used as it is (it is
            removed), "warning" when rows or columns are changed so training can go on.
        message: One plain paragraph: what is wrong, how many rows, what the studio does.
        relationship: The relationship concerned, or None.
    """

    kind: str
    table: str
    column: str | None
    rows: int
    severity: str
    message: str
    relationship: Relationship | None = None


@dataclass
class _Plan:
    """What the repair does; the checks' messages are written from the same plan."""

    issues: list[RelatedIssue] = field(default_factory=list)
    removed: list[Relationship] = field(default_factory=list)
    drop_columns: dict[str, list[str]] = field(default_factory=dict)
    primary_keys: dict[str, str] = field(default_factory=dict)
    keep: dict[str, np.ndarray] = field(default_factory=dict)
    converted: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _rows(count: int, table: str) -> str:
    """"312 rows of transactions" (or "1 row of transactions")."""
    return f"{count:,} row{'s' if count != 1 else ''} of {table}"


def _verb(count: int, plural: str, singular: str) -> str:
    return singular if count == 1 else plural


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _plan(related: RelatedTables) -> _Plan:  # noqa: C901 - one pass per kind, in order
    plan = _Plan()
    frames = {t.name: t.frame for t in related.tables}
    keys = {t.name: t.schema.primary_key for t in related.tables}
    live: list[Relationship] = []

    def remove(rel: Relationship, drop_column: bool) -> None:
        plan.removed.append(rel)
        if drop_column and rel.child_key != keys.get(rel.child) and \
                rel.child_key not in plan.drop_columns.get(rel.child, []):
            plan.drop_columns.setdefault(rel.child, []).append(rel.child_key)

    for rel in related.relationships:  # missing tables or columns
        missing = [f"table {name}" for name in (rel.parent, rel.child) if name not in frames]
        if not missing:
            missing = [f"column {table}.{column}" for table, column in
                       ((rel.parent, rel.parent_key), (rel.child, rel.child_key))
                       if column not in frames[table].columns]
        if missing:
            plan.issues.append(RelatedIssue(
                "missing_column", rel.child, rel.child_key, 0, "error",
                f"The relationship {rel.label} names the {' and the '.join(missing)}, which "
                "the data does not have; the studio leaves this relationship out. Check the "
                "names, or add the relationship again on the Data page.", rel))
            plan.removed.append(rel)
        else:
            live.append(rel)

    for rel in list(live):  # a table referring to itself
        if rel.parent != rel.child:
            continue
        live.remove(rel)
        count = int(frames[rel.child][rel.child_key].notna().sum())
        drop = rel.child_key != keys.get(rel.child)
        what = (f"leaves the column {rel.child_key} out of the synthetic data (made-up values "
                f"would point at no real {rel.child} row)" if drop else "ignores it")
        plan.issues.append(RelatedIssue(
            "self_reference", rel.child, rel.child_key, count, "warning",
            f"{rel.child}.{rel.child_key} refers to {rel.child} itself ({_rows(count, rel.child)}"
            f" {_verb(count, 'have', 'has')} a value). The synthesizers cannot learn a table "
            f"that refers to itself, so the studio removes this relationship and {what}.", rel))
        remove(rel, drop)

    for rel in list(live):  # parents need their key as primary key
        key = plan.primary_keys.get(rel.parent) or keys.get(rel.parent)
        if key is None:
            plan.primary_keys[rel.parent] = rel.parent_key
            plan.issues.append(RelatedIssue(
                "missing_key", rel.parent, rel.parent_key, 0, "warning",
                f"{rel.parent} is the parent of {rel.child} but has no primary key; the studio "
                f"makes {rel.parent_key} (the column {rel.child}.{rel.child_key} refers to) its "
                "primary key.", rel))
        elif key != rel.parent_key:
            live.remove(rel)
            plan.issues.append(RelatedIssue(
                "missing_key", rel.child, rel.child_key, 0, "error",
                f"{rel.child}.{rel.child_key} refers to {rel.parent}.{rel.parent_key}, which is "
                f"not the primary key of {rel.parent} ({key}). The synthesizers join tables "
                "only on primary keys, so the studio leaves this relationship out (the column "
                "stays as it is). Pick the other primary key on the Data page if this one is "
                "right.", rel))
            plan.removed.append(rel)
    keys.update(plan.primary_keys)

    while (cycle := _find_cycle(related.names, live)) is not None:
        weakest = min(reversed(cycle), key=lambda r: _SOURCE_RANK.get(r.source, 0))
        live.remove(weakest)
        tables = [r.parent for r in cycle] + [cycle[0].parent]
        count = int(frames[weakest.child][weakest.child_key].notna().sum())
        plan.issues.append(RelatedIssue(
            "cycle", weakest.child, weakest.child_key, count, "error",
            f"The relationships {' → '.join(tables)} go round in a circle, so no table can "
            f"be made first. The studio removes {weakest.label} and leaves the column "
            f"{weakest.child}.{weakest.child_key} out of the synthetic data "
            f"({_rows(count, weakest.child)} {_verb(count, 'have', 'has')} a value); remove "
            "another relationship of the circle on the Data page if that one matters more.",
            weakest))
        remove(weakest, True)

    order = RelatedTables(tables=related.tables, relationships=tuple(live)).dependency_order()
    for rel in live:  # keys of different kinds (numbers vs text)
        child = frames[rel.child][rel.child_key]
        parent = frames[rel.parent][rel.parent_key]
        parent_kind, child_kind = _key_kind(parent), _key_kind(child)
        if parent_kind == child_kind or {parent_kind, child_kind} - {"number", "text"}:
            continue
        if parent_kind == "number":
            converted = pd.to_numeric(child, errors="coerce")
            kind_text = "numbers"
        else:
            converted = _as_text(child)
            kind_text = "text"
        count = int(child.notna().sum())
        plan.converted[(rel.child, rel.child_key)] = converted
        plan.issues.append(RelatedIssue(
            "type_mismatch", rel.child, rel.child_key, count, "warning",
            f"{rel.child}.{rel.child_key} holds {_kind_words(child_kind)} while "
            f"{rel.parent}.{rel.parent_key} holds {_kind_words(parent_kind)}; the studio reads "
            f"all {count:,} values of {rel.child}.{rel.child_key} as {kind_text} so they can be "
            "matched (a value that cannot be read so matches no parent and counts as an "
            "orphan).", rel))

    for name in order:
        frame = frames[name]
        keep = np.ones(len(frame), dtype=bool)
        key = keys.get(name)
        if key is not None and key in frame.columns:
            values = frame[key]
            empty = values.isna().to_numpy()
            if empty.any():
                count = int(empty.sum())
                plan.issues.append(RelatedIssue(
                    "missing_key", name, key, count, "warning",
                    f"{_rows(count, name)} {_verb(count, 'have', 'has')} no {key} (the primary "
                    "key); no row can refer to "
                    "them, and a table's rows need a key each, so the studio drops them."))
                keep &= ~empty
            duplicated = (values.duplicated(keep="first").to_numpy() & keep)
            if duplicated.any():
                count = int(duplicated.sum())
                verb = "share" if count != 1 else "shares"
                plan.issues.append(RelatedIssue(
                    "duplicate_keys", name, key, count, "warning",
                    f"{_rows(count, name)} {verb} {_a(key)} with another row; the studio keeps "
                    f"the first and drops {count:,} row{'s' if count != 1 else ''}, and the "
                    "children of the dropped rows follow the kept one."))
                keep &= ~duplicated
        for rel in (r for r in live if r.child == name):
            child = plan.converted.get((name, rel.child_key), frame[rel.child_key])
            parent_values = frames[rel.parent][rel.parent_key]
            kept_parents = parent_values[plan.keep[rel.parent]]
            has_value = frame[rel.child_key].notna().to_numpy()
            in_kept = child.isin(kept_parents).to_numpy()
            in_any = child.isin(parent_values).to_numpy()
            orphan = has_value & ~in_kept & keep
            if not orphan.any():
                continue
            absent = int((orphan & ~in_any).sum())
            cascade = int((orphan & in_any).sum())
            parts = []
            if absent:
                parts.append(f"{_rows(absent, name)} {_verb(absent, 'refer', 'refers')} to "
                             f"{_a(rel.child_key)} that is not in {rel.parent}")
            if cascade:
                parts.append(f"{_rows(cascade, name)} {_verb(cascade, 'refer', 'refers')} to "
                             f"rows of {rel.parent} dropped above")
            count = absent + cascade
            plan.issues.append(RelatedIssue(
                "orphans", name, rel.child_key, count, "warning",
                f"{' and '.join(parts)}; {'they' if count != 1 else 'it'} will be dropped "
                "before training (a synthesizer cannot learn a child without its parent).",
                rel))
            keep &= ~orphan
        plan.keep[name] = keep
    for name in related.names:
        plan.keep.setdefault(name, np.ones(len(frames[name]), dtype=bool))
    return plan


def _kind_words(kind: str) -> str:
    return {"number": "numbers", "text": "text"}.get(kind, kind)


def _as_text(series: pd.Series) -> pd.Series:
    """Numbers as the text they would be written as (2.0 -> "2"), missing stays missing."""
    values = series
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().any() and (numeric.dropna() % 1 == 0).all():
        values = numeric.astype("Int64")
    text = values.astype("string")
    return text.astype(object).where(series.notna(), None)


def _find_cycle(names: list[str], relationships: list[Relationship]) -> list[Relationship] | None:
    """The relationships of one cycle (parent -> child -> ... -> parent), or None."""
    outgoing: dict[str, list[Relationship]] = {name: [] for name in names}
    for rel in relationships:
        outgoing.setdefault(rel.parent, []).append(rel)
    state: dict[str, int] = {}
    path: list[Relationship] = []

    def visit(node: str) -> list[Relationship] | None:
        state[node] = 1
        for rel in outgoing.get(node, []):
            if state.get(rel.child) == 1:
                start = next((i for i, r in enumerate(path) if r.parent == rel.child), len(path))
                return [*path[start:], rel]
            if state.get(rel.child) is None:
                path.append(rel)
                found = visit(rel.child)
                if found is not None:
                    return found
                path.pop()
        state[node] = 2
        return None

    for name in outgoing:
        if state.get(name) is None:
            found = visit(name)
            if found is not None:
                return found
    return None


def check_related(related: RelatedTables) -> list[RelatedIssue]:
    """What stands between these tables and a synthesizer, in plain words.

    Checks, in this order: relationships naming tables or columns that are not there
    ("missing_column"), tables referring to themselves ("self_reference"), parents without
    a primary key or linked on another column ("missing_key"), circles of relationships
    ("cycle"), keys of different kinds ("type_mismatch"), then, parents before children:
    rows without a primary key ("missing_key"), repeated primary keys ("duplicate_keys")
    and child rows whose parent is missing ("orphans"; counting also the children of rows
    dropped above, so the counts are what :func:`repair_related` drops). Vectorised: a
    million child rows take about a second.

    Returns:
        The issues, in the order above (none: the tables can be used as they are).
    """
    return list(_plan(related).issues)


def repair_related(related: RelatedTables) -> tuple[RelatedTables, list[str]]:
    """Do what :func:`check_related`'s messages say, and say what was done.

    Rows are dropped (orphans, repeated or empty primary keys), relationships removed
    (missing columns, self-references, one per circle, links to a non-key column), the
    columns of removed circular and self-references set to "drop", parents without a
    primary key given the key their children refer to (typed as an identifier), and child
    keys of another kind read as the parent's. Frames get a fresh index.

    Returns:
        ``(repaired tables, notes)``; the notes are also appended to ``notes``. Tables
        with nothing to repair come back unchanged.
    """
    plan = _plan(related)
    if not plan.issues:
        return related, []
    tables: list[StudioTable] = []
    for table in related.tables:
        name = table.name
        frame = table.frame
        schema = table.schema
        changed = False
        conversions = {column: series for (owner, column), series in plan.converted.items()
                       if owner == name}
        keep = plan.keep[name]
        if conversions or not keep.all():
            frame = frame.copy() if conversions else frame
            for column, series in conversions.items():
                frame[column] = series
            frame = frame[keep].reset_index(drop=True)
            changed = True
        if name in plan.primary_keys:
            key = plan.primary_keys[name]
            column = schema.column(key)
            schema = replace(schema.with_column(replace(
                column, sdtype="id", pii=False, action="model",
                note=f"primary key: {name}'s rows are joined to their children on it")),
                primary_key=key)
            changed = True
        for column_name in plan.drop_columns.get(name, []):
            column = schema.column(column_name)
            schema = schema.with_column(replace(
                column, action="drop",
                note="refers to rows of a table in a way the synthesizers cannot learn "
                     "(a self-reference or a circle): left out"))
            changed = True
        if changed:
            table = replace(table, frame=frame, fingerprint=fingerprint_frame(frame),
                            schema=schema)
            if table.target is not None and table.target not in schema.modelled_columns:
                table = replace(table, target=None)
        tables.append(table)
    removed = set(plan.removed)
    notes = [issue.message for issue in plan.issues]
    repaired = replace(related, tables=tuple(tables),
                       relationships=tuple(r for r in related.relationships if r not in removed),
                       notes=(*related.notes, *notes))
    return repaired, notes
