"""Read an uploaded file into a pandas DataFrame, and check that it is a usable table.

Supported formats: delimited text (CSV, TSV, TXT with a sniffed encoding and delimiter),
Excel workbooks (.xlsx, .xlsm, with a sheet picker), Parquet and JSON (a list of records,
JSON Lines, or column-oriented objects).

Reading is bounded: a file larger than the upload limit is refused before it is read, and a
table whose estimated memory exceeds the budget (``STUDIO_MAX_TABLE_MB``, default 1024) is
refused early or stops at the budget (:func:`check_table_budget`, also used for database
reads); Excel sheets are streamed with the column limit checked at each cell.

Every problem a user can cause raises :class:`~core.errors.DataLoadError` (the file could
not be read into a table) or :class:`~core.errors.DataValidationError` (it was read but
cannot be used as it is). Messages name the file or column and say the fix in plain words;
they never contain a traceback. :class:`EmptyColumnsError` additionally carries the names
of the empty columns so a page can offer "load without these columns".

Types are left as pandas infers them: no date parsing, no "true"/"false" conversion. The
one deliberate exception is the decimal comma of ``;``-separated files (``1234,5``), which
is read as a number and reported in the notes.

Example::

    loaded = load_table(Path("loans.csv").read_bytes(), "loans.csv", progress=report)
    frame, notes = loaded.frame, loaded.notes

Modules: :mod:`~core.data.loading.dispatch` (:func:`load_table`, the file-ending dispatch),
:mod:`~core.data.loading.common` (limits, result types, :func:`validate_table`), and one per
reader family: :mod:`~core.data.loading.delimited`, :mod:`~core.data.loading.excel`,
:mod:`~core.data.loading.parquet`, :mod:`~core.data.loading.jsonfile`.
"""

from __future__ import annotations

from core.data.loading.common import (
    MAX_COLUMNS,
    EmptyColumnsError,
    LoadedTable,
    TableBudgetError,
    check_table_budget,
    estimate_frame_bytes,
    validate_table,
)
from core.data.loading.dispatch import SUPPORTED_EXTENSIONS, load_table
from core.data.loading.excel import list_excel_sheets

__all__ = [
    "MAX_COLUMNS",
    "SUPPORTED_EXTENSIONS",
    "EmptyColumnsError",
    "LoadedTable",
    "TableBudgetError",
    "check_table_budget",
    "estimate_frame_bytes",
    "list_excel_sheets",
    "load_table",
    "validate_table",
]
