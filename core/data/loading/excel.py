"""Excel workbooks (.xlsx, .xlsm), read with openpyxl in read-only mode; a sheet picker's list."""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any

import pandas as pd

from core.data.loading.common import _count, _name_list, _quote
from core.errors import DataLoadError
from core.progress import ProgressCallback

_EXCEL_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA"}
)


def list_excel_sheets(data: bytes, filename: str = "file.xlsx", *,
                      with_data: bool = False) -> list[str]:
    """List the worksheets of an Excel workbook, in workbook order.

    Empty sheets are listed too unless ``with_data``; :func:`load_table` with
    ``sheet=None`` skips them.

    Args:
        data: The workbook's bytes.
        filename: The original file name, used in messages.
        with_data: Only sheets with at least one non-empty cell (for a sheet picker).

    Returns:
        The worksheet names (chart sheets are left out).

    Raises:
        DataLoadError: The file is empty or not a readable .xlsx/.xlsm workbook.
    """
    name = PurePath(filename).name or filename
    workbook = _open_workbook(data, name)
    try:
        return [worksheet.title for worksheet in workbook.worksheets
                if not with_data or _has_a_value(worksheet)]
    finally:
        workbook.close()


def _has_a_value(worksheet: Any) -> bool:
    for row in worksheet.iter_rows(values_only=True):
        if any(cell is not None and str(cell).strip() != "" for cell in row):
            return True
    return False


def _open_workbook(data: bytes, name: str) -> Any:
    """Open a workbook read-only, turning every failure into a plain DataLoadError."""
    if not data:
        raise DataLoadError(
            f"'{name}' is empty (0 bytes). Check that you picked the right file and that it "
            "was saved before uploading."
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataLoadError(
            f"'{name}' is an old-style Excel (.xls) file or a password-protected workbook, "
            "which the studio cannot read. Open it in Excel, remove any password, and save it "
            "as .xlsx (or CSV), then upload it again."
        )
    if not data.startswith(b"PK"):
        raise DataLoadError(
            f"'{name}' is not an Excel workbook (an .xlsx file is a zip archive, and this one "
            "is not). If it is really a CSV or text file, give it the .csv ending."
        )
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # zipfile, XML and KeyError failures all mean "damaged"
        raise DataLoadError(
            f"'{name}' could not be opened as an Excel workbook: it is damaged or incomplete "
            "(for example an interrupted download). Open it in Excel and save it again, or "
            "export the sheet as CSV."
        ) from exc


def _read_excel(
    data: bytes, name: str, sheet: str | None, progress: ProgressCallback
) -> tuple[pd.DataFrame, list[str], str]:
    """Read one worksheet (the named one, or the first that has data)."""
    workbook = _open_workbook(data, name)
    try:
        worksheets = list(workbook.worksheets)
        titles = [ws.title for ws in worksheets]
        if sheet is not None and sheet not in titles:
            raise DataLoadError(
                f"'{name}' has no sheet named {_quote(sheet)}. Its sheets are: "
                f"{_name_list(titles)}."
            )
        candidates = [ws for ws in worksheets if sheet is None or ws.title == sheet]
        skipped: list[str] = []
        for worksheet in candidates:
            try:
                rows, errors, blank = _sheet_rows(worksheet, progress)
            except Exception as exc:  # damaged sheet XML
                raise DataLoadError(
                    f"Sheet {_quote(worksheet.title)} of '{name}' is damaged and could not be "
                    "read. Open the workbook in Excel and save it again, or export the sheet "
                    "as CSV."
                ) from exc
            if rows:
                break
            skipped.append(worksheet.title)
        else:
            if sheet is not None:
                others = [t for t in titles if t != sheet]
                hint = f" Pick another sheet: {_name_list(others)}." if others else ""
                raise DataLoadError(f"Sheet {_quote(sheet)} of '{name}' is empty.{hint}")
            raise DataLoadError(
                f"Every sheet in '{name}' is empty ({_name_list(titles)}). Check that you "
                "saved the workbook with its data, or export the table as CSV."
            )
    finally:
        workbook.close()

    header, body = rows[0], rows[1:]
    frame = (
        pd.DataFrame(body, columns=range(len(header)))
        if body
        else pd.DataFrame(columns=range(len(header)))
    )
    frame = frame.infer_objects()
    frame.columns = pd.Index(list(header), dtype=object)
    chosen = worksheet.title
    note = f"Read sheet {_quote(chosen)}"
    if skipped:
        note += f" (skipped empty sheet{'s' if len(skipped) > 1 else ''} {_name_list(skipped)})"
    if len(titles) > 1:
        note += f"; the workbook has {len(titles)} sheets, choose another to load it instead"
    notes = [note + "."]
    if errors:
        notes.append(
            f"{_count(errors, 'cell')} with an Excel error (like #N/A or #DIV/0!) "
            f"{'was' if errors == 1 else 'were'} read as missing."
        )
    if blank:
        notes.append(f"Ignored {_count(blank, 'completely empty row')}.")
    return frame, notes, chosen


def _sheet_rows(worksheet: Any, progress: ProgressCallback) -> tuple[list[list[Any]], int, int]:
    """The sheet's non-empty rows, padded to one width (trailing empty columns trimmed).

    Empty cells and empty text become None; Excel error cells (``#N/A``...) too.

    Returns:
        The rows (none if the sheet has no values), how many error cells were replaced,
        and how many empty rows between the data rows were skipped.
    """
    declared = worksheet.max_row or 0
    if hasattr(worksheet, "reset_dimensions"):
        worksheet.reset_dimensions()  # some writers declare a wrong size
    rows: list[list[Any]] = []
    errors = blank_between = pending_blank = 0
    for index, values in enumerate(worksheet.iter_rows(values_only=True)):
        row = list(values)
        has_data = False
        for position, value in enumerate(row):
            if isinstance(value, str) and (value == "" or value in _EXCEL_ERRORS):
                errors += value != ""
                row[position] = None
            elif value is not None:
                has_data = True
        if has_data:
            blank_between += pending_blank if rows else 0
            pending_blank = 0
            rows.append(row)
        else:
            pending_blank += 1
        if declared > 1 and index % 20_000 == 0:
            progress(min(index / declared, 0.98), f"Read {index:,} rows…")
    if not rows:
        return [], errors, 0
    width = max(
        max((p for p, v in enumerate(row) if v is not None), default=-1) + 1 for row in rows
    )
    padded = [(row + [None] * (width - len(row)))[:width] for row in rows]
    return padded, errors, blank_between
