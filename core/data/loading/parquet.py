"""Parquet files, read row group by row group with pyarrow (nested fields flattened).

The row count is in the file's footer, so the table's memory is estimated from its first
rows before the long read, and counted again as the row groups arrive (reading stops at
the budget of :func:`~core.data.loading.common.check_table_budget`).
"""

from __future__ import annotations

import pandas as pd

from core.data.loading.common import (
    _is_default_index,
    _nested_note,
    _stringify_nested,
    check_table_budget,
    estimate_frame_bytes,
    table_limit_bytes,
)
from core.errors import DataLoadError
from core.progress import ProgressCallback

_SAMPLE_ROWS = 10_000  # rows read first to estimate the table's memory


def _read_parquet(
    data: bytes, name: str, progress: ProgressCallback, limit_bytes: int | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read a Parquet file row group by row group, within the memory budget ``limit_bytes``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data.startswith(b"PAR1"):
        raise DataLoadError(
            f"'{name}' is not a Parquet file (it does not start like one). If it is a CSV or "
            "Excel file, give it the matching file ending and upload it again."
        )
    if len(data) < 12 or not data.endswith(b"PAR1"):
        raise DataLoadError(
            f"'{name}' is an incomplete Parquet file: its end is missing (for example an "
            "interrupted download or copy). Export or copy it again and upload the full file."
        )
    limit = table_limit_bytes(limit_bytes)
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        total_rows = parquet.metadata.num_rows
        # pandas' memory per byte of Arrow memory, from the first rows (text costs more
        # as Python strings than in Arrow's buffers)
        ratio = 1.0
        first = next(parquet.iter_batches(batch_size=_SAMPLE_ROWS), None) if total_rows else None
        if first is not None and first.num_rows:
            sample_bytes = estimate_frame_bytes(first.to_pandas())
            ratio = max(sample_bytes / max(first.nbytes, 1), 1.0)
            check_table_budget(total_rows, sample_bytes / first.num_rows, source_name=name,
                               limit_bytes=limit)
        groups = parquet.num_row_groups
        tables = []
        rows = arrow_bytes = 0
        for index in range(groups):
            tables.append(parquet.read_row_group(index))
            rows += tables[-1].num_rows
            arrow_bytes += tables[-1].nbytes
            if rows:
                check_table_budget(rows, arrow_bytes * ratio / rows, source_name=name,
                                   limit_bytes=limit, rows_read=rows, stopped=True)
            progress((index + 1) / groups * 0.8, f"Read part {index + 1} of {groups}…")
        table = pa.concat_tables(tables) if tables else parquet.schema_arrow.empty_table()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataLoadError(
            f"'{name}' could not be read as a Parquet file: it is damaged. Export it again, or "
            "upload the data as CSV instead."
        ) from exc

    notes = ["Read as Parquet."]
    if any(pa.types.is_struct(field.type) for field in table.schema):
        while any(pa.types.is_struct(field.type) for field in table.schema):
            table = table.flatten()
        notes.append("Nested fields were spread into columns named like 'parent.child'.")
    frame = table.to_pandas()
    if not _is_default_index(frame.index):
        named = any(level is not None for level in frame.index.names)
        frame = frame.reset_index(drop=not named)
    nested_types = (
        pa.types.is_list,
        pa.types.is_large_list,
        pa.types.is_fixed_size_list,
        pa.types.is_map,
    )
    if any(check(field.type) for field in table.schema for check in nested_types):
        nested = _stringify_nested(frame)
        if nested:
            notes.append(_nested_note(nested))
    return frame, notes
