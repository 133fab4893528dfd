"""Excel workbooks (.xlsx, .xlsm): the sheet XML is streamed, every limit checked while reading.

A workbook is a zip of XML parts; an upload of a few kilobytes can describe a sheet that
takes gigabytes once laid out as rows (a value in column XFD of every row), or a million
formatted rows without a value. So nothing here materialises more than the table itself:

* the sheet's XML is parsed element by element and each row is dropped from the parse tree
  once read; only cells that hold a value are kept, by column;
* a value beyond :data:`~core.data.loading.common.MAX_COLUMNS` refuses the sheet at that
  cell, before the next row is read;
* reading stops after :data:`_IDLE_LIMIT` rows and cells without a value past the last
  value (formatting Excel keeps for empty rows), with a note saying where;
* the table's memory is counted as it grows, against the budget of
  :func:`~core.data.loading.common.check_table_budget` (``STUDIO_MAX_TABLE_MB``): reading
  stops at the budget, and is refused early when the part read so far shows the whole
  sheet would need more than twice the budget;
* the parts openpyxl reads whole (shared strings, styles) are checked against the budget
  from their declared sizes before they are read (zip enforces those sizes).

openpyxl still does the parsing: its workbook reader (sheet list, shared strings, date
formats) and its cell parser (types, dates, shared strings), driven here sheet by sheet.
Its own read-only worksheet is not used: it pads every row out to its last cell, and it
parses a whole sheet to size it when the sheet has no ``<dimension>`` tag.
"""

from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from xml.etree.ElementTree import iterparse

import pandas as pd

from core.data.loading.common import (
    MAX_COLUMNS,
    _count,
    _human_size,
    _name_list,
    _quote,
    check_table_budget,
    table_budget_error,
    table_limit_bytes,
)
from core.errors import DataLoadError, DataValidationError
from core.progress import ProgressCallback, null_progress

_EXCEL_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA"}
)
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _SHEET_DATA = f"{_MAIN_NS}row", f"{_MAIN_NS}c", f"{_MAIN_NS}sheetData"

_IDLE_LIMIT = 100_000
"""Rows and cells without a value, past the last value, after which reading stops.

Formatting a whole column or row range writes an element per row; read at Python speed a
million of them cost minutes of server time, and they never hold data.
"""
_EXCEL_MAX_ROWS = 1_048_576
_CHECK_EVERY = 10_000  # row and cell elements between two looks at the memory budget
_EARLY_FACTOR = 2.0  # refuse before the budget is reached only when clearly over it
_SLOT_BYTES = 16  # a cell's pointer in the row list, and again in the frame's object array
_ROW_BYTES = 64  # a row list's own size and its pointer in the list of rows

# Memory per byte of XML for the parts openpyxl parses whole, and what they are called in
# messages. Measured on openpyxl 3.1 and rounded up: two million short shared strings (45 MB
# of XML) took 240 MB; 200,000 cell styles (15 MB) took 160 MB. The workbook part is parsed
# like the styles.
_WHOLE_PARTS = {
    "sharedstrings.xml": (6, "shared text"),
    "styles.xml": (12, "cell styles"),
    "workbook.xml": (12, "workbook description"),
}


def list_excel_sheets(data: bytes, filename: str = "file.xlsx", *,
                      with_data: bool = False) -> list[str]:
    """List the worksheets of an Excel workbook, in workbook order.

    Empty sheets are listed too unless ``with_data``; :func:`load_table` with
    ``sheet=None`` skips them.

    Args:
        data: The workbook's bytes.
        filename: The original file name, used in messages.
        with_data: Only sheets with at least one non-empty cell (for a sheet picker). A
            sheet is looked at until its first value, and given up on after
            :data:`_IDLE_LIMIT` empty rows and cells, as :func:`load_table` does.

    Returns:
        The worksheet names (chart sheets are left out).

    Raises:
        DataLoadError: The file is empty or not a readable .xlsx/.xlsm workbook, or its
            shared text alone would exceed the memory budget.
    """
    name = PurePath(filename).name or filename
    workbook = _open_workbook(data, name, table_limit_bytes())
    try:
        return [title for title, part in workbook.sheets
                if not with_data or _has_a_value(workbook, title, part, name)]
    finally:
        workbook.close()


def _has_a_value(workbook: _Workbook, title: str, part: str, name: str) -> bool:
    scan = _SheetScan(title=title)
    _damaged_sheet_guard(lambda: _scan_sheet(workbook, part, name, scan, first_value_only=True),
                         title, name)
    return bool(scan.rows)


# --------------------------------------------------------------------------- the workbook


@dataclass
class _Workbook:
    """An opened workbook: its sheets and what their cells need to be parsed."""

    archive: zipfile.ZipFile
    sheets: list[tuple[str, str]]  # (title, path of the sheet's XML in the zip)
    shared_strings: list[Any]
    epoch: Any
    date_formats: set[int]
    timedelta_formats: set[int]
    limit_bytes: int
    strings_bytes: int  # memory the shared strings take, part of every table's budget

    def close(self) -> None:
        self.archive.close()


def _open_workbook(data: bytes, name: str, limit_bytes: int) -> _Workbook:
    """Open a workbook, turning every failure into a plain DataLoadError."""
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
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = None
    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        _check_whole_parts(reader.archive, name, limit_bytes)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (sheet.name, rel.target)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
    except DataLoadError:
        if reader is not None:
            reader.archive.close()
        raise
    except Exception as exc:  # zipfile, XML and KeyError failures all mean "damaged"
        if reader is not None:
            reader.archive.close()
        raise DataLoadError(
            f"'{name}' could not be opened as an Excel workbook: it is damaged or incomplete "
            "(for example an interrupted download). Open it in Excel and save it again, or "
            "export the sheet as CSV."
        ) from exc
    strings = list(reader.shared_strings)
    return _Workbook(
        archive=reader.archive,
        sheets=sheets,
        shared_strings=strings,
        epoch=reader.wb.epoch,
        date_formats=reader.wb._date_formats,
        timedelta_formats=reader.wb._timedelta_formats,
        limit_bytes=limit_bytes,
        strings_bytes=8 * len(strings) + sum(map(sys.getsizeof, strings)),
    )


def _check_whole_parts(archive: zipfile.ZipFile, name: str, limit_bytes: int) -> None:
    """Refuse parts that openpyxl reads whole when their declared size exceeds the budget.

    Zip stops a part at its declared size, so a small upload cannot unpack into more.
    """
    for info in archive.infolist():
        factor, label = _WHOLE_PARTS.get(PurePath(info.filename).name.lower(), (0, ""))
        if info.file_size * factor > limit_bytes:
            raise table_budget_error(
                name, f"its {label} ({_human_size(info.file_size)} of XML) would take",
                info.file_size * factor, limit_bytes)


# --------------------------------------------------------------------------- one sheet


@dataclass
class _SheetScan:
    """What reading one sheet found.

    Attributes:
        title: The sheet's name.
        rows: The rows with at least one value, each as long as its last value.
        width: The longest row.
        errors: Excel error cells (``#N/A``...) read as missing.
        blank_between: Empty rows between the first and the last row with a value.
        examined: Row and cell elements parsed (the work done).
        stopped_after: The last row with a value when reading stopped early because only
            rows and cells without values followed (None: the sheet was read to its end).
        stopped_at: The row where reading stopped early.
    """

    title: str
    rows: list[list[Any]] = field(default_factory=list)
    width: int = 0
    errors: int = 0
    blank_between: int = 0
    examined: int = 0
    stopped_after: int | None = None
    stopped_at: int = 0


class _CountingReader:
    """A file wrapper counting the bytes handed to the XML parser."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.consumed = raw, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.consumed += len(chunk)
        return chunk


def _scan_sheet(workbook: _Workbook, part: str, name: str, scan: _SheetScan, *,
                first_value_only: bool = False,
                progress: ProgressCallback = null_progress) -> None:
    """Read one sheet's rows into ``scan``, enforcing the limits as the XML streams by.

    Every element is detached from the parse tree once read (a cell's children only with
    the cell), so memory holds the rows kept and nothing of the XML.

    Raises:
        DataValidationError: A value lies beyond :data:`MAX_COLUMNS`.
        TableBudgetError: The rows read, or the estimate for the whole sheet, exceed the
            memory budget.
    """
    from openpyxl.utils.cell import column_index_from_string
    from openpyxl.worksheet._reader import WorkSheetParser

    parser = WorkSheetParser(
        None, workbook.shared_strings, data_only=True, epoch=workbook.epoch,
        date_formats=workbook.date_formats, timedelta_formats=workbook.timedelta_formats,
    )
    total_xml = max(workbook.archive.getinfo(part).file_size, 1)
    used = 0  # estimated bytes of the rows kept (the shared strings are counted apart)
    idle = row_number = last_data_row = 0
    next_check = _CHECK_EVERY
    stack: list[Any] = []  # the open elements, root first
    in_cell = False
    values: dict[int, Any] = {}
    pending_ref: str | None = None  # reference of the last empty cell, resolved only if needed
    with workbook.archive.open(part) as raw:
        source = _CountingReader(raw)
        for event, element in iterparse(source, events=("start", "end")):
            tag = element.tag
            if event == "start":
                stack.append(element)
                if tag == _CELL:
                    in_cell = True
                elif tag == _ROW:
                    values, pending_ref = {}, None
                    reference = element.get("r")
                    row_number = int(float(reference)) if reference else row_number + 1
                    if not 0 < row_number <= _EXCEL_MAX_ROWS:
                        raise ValueError(f"row number {reference} is not an Excel row")
                    parser.row_counter, parser.col_counter = row_number, 0
                continue
            stack.pop()
            if tag == _CELL:
                in_cell = False
                scan.examined += 1
                value = None
                if len(element):  # a <v>, <is> or <f> child: there may be a value
                    if pending_ref is not None and element.get("r") is None:
                        parser.col_counter = column_index_from_string(_letters(pending_ref))
                    pending_ref = None
                    cell = parser.parse_cell(element)
                    value = cell["value"]
                    if isinstance(value, str) and (value == "" or value in _EXCEL_ERRORS):
                        scan.errors += value != ""
                        value = None
                    if value is not None:
                        if first_value_only:  # a sheet picker: too wide is said on loading
                            scan.rows.append([value])
                            return
                        column = cell["column"]
                        if column > MAX_COLUMNS:
                            raise _too_wide(name, scan.title, column, row_number)
                        values[column - 1] = value
                        idle = 0
                        if element.get("t") != "s":  # shared strings are counted once, apart
                            used += sys.getsizeof(value)
                else:
                    reference = element.get("r")
                    if reference is None:
                        if pending_ref is not None:
                            parser.col_counter = column_index_from_string(_letters(pending_ref))
                            pending_ref = None
                        parser.col_counter += 1
                    else:
                        pending_ref = reference
                if value is None:
                    idle += 1
                    used += 8  # bounds the work on floods of empty cells, as a slot would
            elif tag == _ROW:
                scan.examined += 1
                if values:
                    if scan.rows:
                        scan.blank_between += max(row_number - last_data_row - 1, 0)
                    last_data_row = row_number
                    length = max(values) + 1
                    row = [None] * length
                    for position, value in values.items():
                        row[position] = value
                    scan.rows.append(row)
                    scan.width = max(scan.width, length)
                    used += _ROW_BYTES + _SLOT_BYTES * length
                else:
                    idle += 1
            elif tag == _SHEET_DATA:
                break
            elif in_cell:
                continue  # a cell's value, read with the cell
            if stack:
                del stack[-1][:]  # detach what was read (the tree would keep every row)
            if idle >= _IDLE_LIMIT:
                scan.stopped_after, scan.stopped_at = last_data_row, row_number
                break
            if scan.examined >= next_check:
                next_check += _CHECK_EVERY
                share = source.consumed / total_xml
                _check_sheet_budget(workbook, name, scan, used, share)
                progress(min(share, 0.98), f"Read {len(scan.rows):,} rows…")
    _check_sheet_budget(workbook, name, scan, used, 1.0)


def _letters(reference: str) -> str:
    return reference.rstrip("0123456789$").lstrip("$")


def _check_sheet_budget(workbook: _Workbook, name: str, scan: _SheetScan, used: int,
                        share_read: float) -> None:
    """Stop at the budget; refuse early when the share read shows the sheet is far over it."""
    rows = max(len(scan.rows), 1)  # a first row can be a flood of cells on its own
    limit = workbook.limit_bytes
    per_row = (used + workbook.strings_bytes) / rows
    check_table_budget(rows, per_row, source_name=name, limit_bytes=limit,
                       rows_read=len(scan.rows), stopped=share_read < 1.0)
    if 0 < share_read < 1.0 and scan.rows:
        projected_rows = rows / share_read
        projected = workbook.strings_bytes + used / share_read
        if projected > _EARLY_FACTOR * limit:
            check_table_budget(projected_rows, projected / projected_rows, source_name=name,
                               limit_bytes=limit, rows_read=len(scan.rows), approximate=True)


def _too_wide(name: str, sheet: str, column: int, row: int) -> DataValidationError:
    from openpyxl.utils.cell import get_column_letter

    return DataValidationError(
        f"'{name}' has a value in column {get_column_letter(column)} (column {column:,}) of "
        f"sheet {_quote(sheet)}, row {row:,}; the studio handles at most {MAX_COLUMNS:,} "
        "columns, so it stopped reading there. Keep only the columns you need (for example "
        "in a spreadsheet) and upload the file again."
    )


def _damaged_sheet_guard(read: Any, title: str, name: str) -> None:
    """Run ``read``; a parse failure of the sheet's XML becomes a plain DataLoadError."""
    try:
        read()
    except (DataLoadError, DataValidationError):
        raise
    except Exception as exc:  # damaged sheet XML
        raise DataLoadError(
            f"Sheet {_quote(title)} of '{name}' is damaged and could not be read. Open the "
            "workbook in Excel and save it again, or export the sheet as CSV."
        ) from exc


# --------------------------------------------------------------------------- the table


def _read_excel(
    data: bytes, name: str, sheet: str | None, progress: ProgressCallback,
    limit_bytes: int | None = None,
) -> tuple[pd.DataFrame, list[str], str]:
    """Read one worksheet (the named one, or the first that has data)."""
    workbook = _open_workbook(data, name, table_limit_bytes(limit_bytes))
    try:
        titles = [title for title, _ in workbook.sheets]
        if sheet is not None and sheet not in titles:
            raise DataLoadError(
                f"'{name}' has no sheet named {_quote(sheet)}. Its sheets are: "
                f"{_name_list(titles)}."
            )
        skipped: list[_SheetScan] = []
        for title, part in workbook.sheets:
            if sheet is not None and title != sheet:
                continue
            scan = _SheetScan(title=title)
            _damaged_sheet_guard(
                lambda p=part, s=scan: _scan_sheet(workbook, p, name, s, progress=progress),
                title, name)
            if scan.rows:
                break
            skipped.append(scan)
        else:
            _refuse_empty(name, sheet, titles, skipped)
    finally:
        workbook.close()

    width = scan.width
    body, scan.rows = scan.rows, []
    for row in body:  # padded in place: no second copy of the rows
        row.extend([None] * (width - len(row)))
    header = body.pop(0)
    frame = (
        pd.DataFrame(body, columns=range(width))
        if body
        else pd.DataFrame(columns=range(width))
    )
    del body
    frame = frame.infer_objects()
    frame.columns = pd.Index(header, dtype=object)
    note = f"Read sheet {_quote(scan.title)}"
    if skipped:
        empty = [s.title for s in skipped]
        note += f" (skipped empty sheet{'s' if len(empty) > 1 else ''} {_name_list(empty)})"
    if len(titles) > 1:
        note += f"; the workbook has {len(titles)} sheets, choose another to load it instead"
    notes = [note + "."]
    if scan.errors:
        notes.append(
            f"{_count(scan.errors, 'cell')} with an Excel error (like #N/A or #DIV/0!) "
            f"{'was' if scan.errors == 1 else 'were'} read as missing."
        )
    if scan.blank_between:
        notes.append(f"Ignored {_count(scan.blank_between, 'completely empty row')}.")
    if scan.stopped_after is not None:
        notes.append(
            f"Stopped reading at row {scan.stopped_at:,}: nothing after row "
            f"{scan.stopped_after:,} holds a value, only formatting (the studio stops after "
            f"{_IDLE_LIMIT:,} empty rows or cells). If the sheet has more data further down, "
            "delete the empty rows above it in Excel and upload the file again."
        )
    return frame, notes, scan.title


def _refuse_empty(name: str, sheet: str | None, titles: list[str],
                  scans: list[_SheetScan]) -> None:
    """Refuse a workbook whose chosen sheet, or every sheet, has no value."""
    given_up = [s.title for s in scans if s.stopped_after is not None]
    hint = ""
    if given_up:
        hint = (
            f" The studio looked through the first {_IDLE_LIMIT:,} empty rows and cells of "
            f"{_name_list(given_up)} (they hold only formatting); if a table starts further "
            "down, delete the empty rows above it in Excel."
        )
    if sheet is not None:
        others = [t for t in titles if t != sheet]
        pick = f" Pick another sheet: {_name_list(others)}." if others else ""
        raise DataLoadError(f"Sheet {_quote(sheet)} of '{name}' is empty.{pick}{hint}")
    raise DataLoadError(
        f"Every sheet in '{name}' is empty ({_name_list(titles)}). Check that you saved the "
        f"workbook with its data, or export the table as CSV.{hint}"
    )

