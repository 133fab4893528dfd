"""Read an uploaded file: pick the reader by the file's ending, then check the table.

:func:`load_table` enforces the upload limit, reports progress (never going backwards) and
hands the reader's frame to :func:`~core.data.loading.common.validate_table`'s checks.
"""

from __future__ import annotations

from pathlib import PurePath

from core.data.loading.common import LoadedTable, _human_size, _validate, table_limit_bytes
from core.data.loading.delimited import _read_delimited
from core.data.loading.excel import _read_excel
from core.data.loading.jsonfile import _read_json
from core.data.loading.parquet import _read_parquet
from core.errors import DataLoadError
from core.progress import ProgressCallback, null_progress, scaled
from core.store.settings import get_settings

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".txt",
    ".xlsx",
    ".xlsm",
    ".parquet",
    ".pq",
    ".json",
    ".jsonl",
    ".ndjson",
)
"""File name endings :func:`load_table` accepts (compared case-insensitively)."""


_FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_SUPPORTED_LABEL = (
    "CSV or text tables (.csv, .tsv, .txt), Excel workbooks (.xlsx, .xlsm), "
    "Parquet (.parquet, .pq) and JSON (.json, .jsonl, .ndjson)"
)


def load_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    drop_empty_columns: bool = False,
    max_bytes: int | None = None,
    max_table_bytes: int | None = None,
    progress: ProgressCallback | None = None,
) -> LoadedTable:
    """Read the bytes of an uploaded file into a checked table.

    Args:
        data: The file's content.
        filename: The original file name; its ending picks the reader.
        sheet: For Excel files, the sheet to read; None reads the first sheet with data.
        drop_empty_columns: Drop columns with no values (listed in ``dropped_columns`` and
            the notes) instead of raising :class:`EmptyColumnsError`.
        max_bytes: Refuse larger files; None uses the app's upload limit
            (``server.maxUploadSize`` in ``.streamlit/config.toml``).
        max_table_bytes: The memory budget for the table; None uses ``STUDIO_MAX_TABLE_MB``
            (see :func:`~core.data.loading.common.check_table_budget`). Every reader
            estimates the table's size before its long read and stops at the budget.
        progress: Called with ``(fraction, message)``; the last call has fraction 1.0.

    Returns:
        The table, its format and the notes to show the user.

    Raises:
        DataLoadError: The file is empty, too large, of an unsupported type, damaged, not
            text, or its rows cannot be split into columns.
        TableBudgetError: The table would take more memory than the budget (a
            DataLoadError naming the limit and its setting).
        DataValidationError: The table has no data rows, fewer than two or more than
            :data:`MAX_COLUMNS` columns, duplicate or only empty columns.
        EmptyColumnsError: Some columns are empty and ``drop_empty_columns`` is False.
    """
    report = _monotonic(progress)
    name = PurePath(filename).name or filename or "The file"
    extension = PurePath(name).suffix.lower()
    file_format = _FORMAT_BY_EXTENSION.get(extension)
    if file_format is None:
        raise DataLoadError(_unsupported_message(name, extension))
    limit = get_settings().max_upload_bytes if max_bytes is None else max_bytes
    if len(data) > limit:
        raise DataLoadError(
            f"'{name}' is {_human_size(len(data))}, larger than the upload limit of "
            f"{_human_size(limit)}. Upload a smaller file (for example a sample of the rows), "
            "or raise the limit with `server.maxUploadSize` (in MB) in .streamlit/config.toml "
            "and restart the app."
        )
    if not data:
        raise DataLoadError(
            f"'{name}' is empty (0 bytes). Check that you picked the right file and that it "
            "was saved before uploading."
        )

    report(0.0, f"Reading {name}…")
    read_progress = scaled(report, 0.0, 0.9)
    budget = table_limit_bytes(max_table_bytes)
    chosen_sheet: str | None = None
    if file_format == "csv":
        frame, notes = _read_delimited(data, name, extension, read_progress, budget)
    elif file_format == "excel":
        frame, notes, chosen_sheet = _read_excel(data, name, sheet, read_progress, budget)
    elif file_format == "parquet":
        frame, notes = _read_parquet(data, name, read_progress, budget)
    else:
        frame, notes = _read_json(data, name, extension, read_progress, budget)

    report(0.92, f"Checking the columns of {name}…")
    frame, dropped, check_notes = _validate(
        frame, source_name=name, drop_empty_columns=drop_empty_columns
    )
    rows, columns = frame.shape
    report(1.0, f"Loaded {name}: {rows:,} rows × {columns:,} columns.")
    return LoadedTable(
        frame=frame,
        source_name=name,
        file_format=file_format,
        notes=tuple(notes) + check_notes,
        dropped_columns=dropped,
        sheet=chosen_sheet,
    )


def _monotonic(progress: ProgressCallback | None) -> ProgressCallback:
    """Forward only increasing fractions (the first call, at 0.0, always goes through)."""
    outer = progress or null_progress
    last = [-1.0]

    def report(fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction > last[0]:
            last[0] = fraction
            outer(fraction, message)

    return report


def _unsupported_message(name: str, extension: str) -> str:
    kind = f"a '{extension}' file" if extension else "a file without an ending like .csv"
    hint = ""
    if extension == ".xls":
        hint = " Open old .xls workbooks in Excel and save them as .xlsx."
    return (
        f"'{name}' is {kind}, which the studio cannot read. Supported formats: "
        f"{_SUPPORTED_LABEL}.{hint or ' Export or save the data in one of these formats.'}"
    )

