"""Several related tables: each table with its reviewed schema, and the keys that join them.

A :class:`RelatedTables` is what the studio works on when a user brings a database schema
or several files (customers -> accounts -> transactions): one :class:`StudioTable` per
table (its ``schema.primary_key`` set) and one :class:`Relationship` per foreign key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from core.data.table import StudioTable
from core.errors import MetadataError

__all__ = ["RelatedTables", "Relationship"]


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
        remaining = {name: {r.parent for r in self.parents_of(name) if r.parent != name}
                     for name in self.names}
        order: list[str] = []
        while remaining:
            ready = [name for name, parents in remaining.items() if not parents]
            if not ready:
                cycle = ", ".join(sorted(remaining))
                raise MetadataError(
                    f"The relationships between {cycle} form a cycle, so no table can be made "
                    "first. Remove one of those relationships on the Data page."
                )
            for name in ready:
                order.append(name)
                del remaining[name]
            for parents in remaining.values():
                parents.difference_update(ready)
        return order

    def with_relationships(self, relationships: tuple[Relationship, ...]) -> RelatedTables:
        """Return a copy with the relationships replaced (the user's corrections)."""
        return replace(self, relationships=tuple(relationships))

    def with_table(self, table: StudioTable) -> RelatedTables:
        """Return a copy with the table of the same name replaced (an edited schema)."""
        return replace(self, tables=tuple(table if t.name == table.name else t
                                          for t in self.tables))
