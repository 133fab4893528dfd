"""The dataset a user works on: the data, where it came from, and its reviewed schema."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from core.data.schema import TableSchema, suggest_target
from core.errors import MetadataError

__all__ = ["StudioTable", "fingerprint_frame", "make_table"]


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """A content hash of every cell, the column names and dtypes (16 hex characters).

    Uses pandas' vectorised row hashing, so a million rows take well under a second, and
    unlike Streamlit's own hashing it never samples: two different tables never share a
    key (which would let one session's models show up for another's data).
    """
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    try:
        row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists/dicts from JSON)
        row_hashes = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StudioTable:
    """A loaded dataset with its metadata.

    Attributes:
        frame: The real data as loaded (never modified in place).
        name: Short name shown in the sidebar ("loans.csv").
        source: Where it came from ("Sample dataset", "Uploaded file", "Faked with Faker").
        fingerprint: :func:`fingerprint_frame` of ``frame``: keys caches and models.
        notes: What the loader noticed (encoding, delimiter, dropped columns).
        schema: The reviewed schema (what the user sees and edits).
        detected_schema: The schema as first detected (for "reset my edits").
        target: The column a downstream model would predict, if any.
        planted: For faked tables, the :class:`core.evaluation.planted.PlantedTruth` (else None).
    """

    frame: pd.DataFrame
    name: str
    source: str
    fingerprint: str
    notes: tuple[str, ...]
    schema: TableSchema
    detected_schema: TableSchema
    target: str | None
    planted: Any = None

    @property
    def shape_label(self) -> str:
        """"5,000 rows × 16 columns"."""
        rows, cols = self.frame.shape
        return f"{rows:,} rows × {cols} columns"

    def with_schema(self, schema: TableSchema) -> StudioTable:
        """Return a copy with an edited schema (target cleared if it was dropped)."""
        target = self.target
        if target is not None and target not in schema.modelled_columns:
            target = None
        return replace(self, schema=schema, target=target)

    def with_target(self, target: str | None) -> StudioTable:
        """Return a copy with a new target column.

        Raises:
            MetadataError: The target is not a column the synthesizer learns.
        """
        if target is not None and target not in self.schema.modelled_columns:
            raise MetadataError(
                f"'{target}' cannot be the target: it is dropped or replaced with fake values. "
                "Set its action to 'model' first, or pick another column."
            )
        return replace(self, target=target)


def make_table(
    frame: pd.DataFrame,
    name: str,
    source: str,
    schema: TableSchema,
    notes: tuple[str, ...] = (),
    target: str | None = None,
    planted: Any = None,
) -> StudioTable:
    """Bundle a table and its detected schema into a :class:`StudioTable`.

    ``core.engine.metadata.detect_table`` detects the schema (SDV) and calls this.

    Args:
        frame: The loaded, validated table.
        name: Short display name.
        source: Where it came from.
        schema: The detected schema.
        notes: Loader notes to keep showing.
        target: A known target (sample datasets have one); otherwise suggested.
        planted: The planted truth of a faked table.
    """
    if target is None or target not in schema.modelled_columns:
        target = suggest_target(frame, schema)
    return StudioTable(
        frame=frame,
        name=name,
        source=source,
        fingerprint=fingerprint_frame(frame),
        notes=notes,
        schema=schema,
        detected_schema=schema,
        target=target,
        planted=planted,
    )
