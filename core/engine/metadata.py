"""SDV's view of a table: metadata detection and the ``Metadata`` object a fit needs.

The data package decides what each column is (``core.data.schema``) from SDV's first guess;
the guess itself needs SDV, so it is made here, in the only package that imports it.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from core.data.schema import TABLE_NAME, TableSchema, correct_detection, to_sdv_metadata_dict
from core.data.table import StudioTable, make_table
from core.engine.patches import load_libraries

__all__ = ["detect_schema", "detect_table", "to_sdv_metadata"]


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
    return correct_detection(frame, metadata.to_dict()["tables"][TABLE_NAME])


def detect_table(
    frame: pd.DataFrame,
    name: str,
    source: str,
    notes: tuple[str, ...] = (),
    target: str | None = None,
    planted: Any = None,
) -> StudioTable:
    """Detect the schema of ``frame`` and bundle everything into a :class:`StudioTable`."""
    return make_table(frame, name, source, detect_schema(frame), notes=notes, target=target,
                      planted=planted)


def to_sdv_metadata(schema: TableSchema) -> Any:
    """Build SDV ``Metadata`` for the columns that are not dropped.

    Returns:
        ``sdv.metadata.Metadata`` (typed ``Any`` so this module loads without SDV).
    """
    load_libraries()
    from sdv.metadata import Metadata

    return Metadata.load_from_dict(to_sdv_metadata_dict(schema))
