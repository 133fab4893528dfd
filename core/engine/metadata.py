"""SDV's view of a table: metadata detection and the ``Metadata`` object a fit needs.

The data package decides what each column is (``core.data.schema``) from SDV's first guess;
the guess itself needs SDV, so it is made here, in the only package that imports it.
Identifier columns get the format of their real values (``core.data.id_formats``) as SDV's
``regex_format``, so the model carries it and sampling can keep it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from typing import Any

import pandas as pd

from core.data.id_formats import derive_id_regex
from core.data.schema import (
    TABLE_NAME,
    SequenceSpec,
    TableSchema,
    correct_detection,
    to_sdv_metadata_dict,
)
from core.data.sequences import declare_sequence
from core.data.table import StudioTable, make_table
from core.engine.patches import load_libraries

__all__ = ["detect_schema", "detect_table", "id_regexes", "to_sdv_metadata"]


def detect_schema(frame: pd.DataFrame) -> TableSchema:
    """Detect column types with SDV, then correct its known mistakes (``correct_detection``).

    Args:
        frame: The loaded table (validated: unique string column names, >= 2 columns).
    """
    load_libraries()
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = Metadata.detect_from_dataframes({TABLE_NAME: frame})
    return _with_id_notes(correct_detection(frame, metadata.to_dict()["tables"][TABLE_NAME]),
                          frame)


def _with_id_notes(schema: TableSchema, frame: pd.DataFrame) -> TableSchema:
    """Say on each identifier whether its real format is kept, and if not, why."""
    for column in schema.columns:
        if column.sdtype != "id" or column.action == "drop" or column.name not in frame:
            continue
        regex, reason = derive_id_regex(frame[column.name])
        shown = re.sub(r"\\(.)", r"\1", regex or "")  # CUST-[0-9]{6}, without escapes
        note = (f"identifier: fresh unique values shaped like the real ones ({shown}) are "
                "generated, never copied" if regex else
                f"identifier: fresh unique values are generated, not in the real format "
                f"because {reason}")
        schema = schema.with_column(replace(column, note=note))
    return schema


def id_regexes(schema: TableSchema, frame: pd.DataFrame) -> dict[str, str]:
    """The real format of each identifier column the model sees, where one can be kept."""
    formats: dict[str, str] = {}
    for name in schema.sdv_columns:
        if schema.column(name).sdtype == "id" and name in frame:
            regex, _reason = derive_id_regex(frame[name])
            if regex:
                formats[name] = regex
    return formats


def detect_table(
    frame: pd.DataFrame,
    name: str,
    source: str,
    notes: tuple[str, ...] = (),
    target: str | None = None,
    planted: Any = None,
    sequence: SequenceSpec | None = None,
) -> StudioTable:
    """Detect the schema of ``frame`` and bundle everything into a :class:`StudioTable`.

    ``sequence`` (a shipped event table's own declaration, or one the user confirmed) makes
    the rows sequences of entities: ``core.data.sequences.declare_sequence`` types its key
    as an identifier and its order column as a date or number.
    """
    schema = detect_schema(frame)
    if sequence is not None:
        schema = declare_sequence(schema, sequence, frame)
    return make_table(frame, name, source, schema, notes=notes, target=target,
                      planted=planted)


def to_sdv_metadata(schema: TableSchema, frame: pd.DataFrame | None = None) -> Any:
    """Build SDV ``Metadata`` for the columns that are not dropped.

    Args:
        schema: The reviewed schema.
        frame: The rows the model learns from; with it, identifier columns carry the format
            of their real values (``regex_format``), which sampling keeps.

    For an event table (``schema.sequence`` set) the entity key is SDV's ``sequence_key``
    (an identifier, kept whatever its action says: every event needs it) and the order
    column its ``sequence_index``; the key gets no real format, as new entities get fresh
    keys (``core.engine.sequence_models.FreshKeys``).

    Returns:
        ``sdv.metadata.Metadata`` (typed ``Any`` so this module loads without SDV).
    """
    load_libraries()
    from sdv.metadata import Metadata

    data = to_sdv_metadata_dict(schema)
    table = data["tables"][TABLE_NAME]
    columns = table["columns"]
    sequence = schema.sequence
    if frame is not None:
        for name, regex in id_regexes(schema, frame).items():
            if sequence is None or name != sequence.key:
                columns[name]["regex_format"] = regex
    if sequence is not None:
        columns[sequence.key] = {"sdtype": "id"}
        table["sequence_key"] = sequence.key
        if table.get("primary_key") in (sequence.key, sequence.index):
            del table["primary_key"]
        if sequence.index is not None and sequence.index in columns:
            table["sequence_index"] = sequence.index
    return Metadata.load_from_dict(data)
