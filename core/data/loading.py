"""Read an uploaded file into a pandas DataFrame, and check that it is a usable table.

Supported formats: delimited text (CSV, TSV, TXT with a sniffed encoding and delimiter),
Excel workbooks (.xlsx, .xlsm, with a sheet picker), Parquet and JSON (a list of records,
JSON Lines, or column-oriented objects).

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
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DataLoadError, DataValidationError
from core.progress import ProgressCallback, null_progress, scaled
from core.store.settings import get_settings

__all__ = [
    "MAX_COLUMNS",
    "SUPPORTED_EXTENSIONS",
    "EmptyColumnsError",
    "LoadedTable",
    "list_excel_sheets",
    "load_table",
    "validate_table",
]

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

MAX_COLUMNS = 1000
"""The widest table the studio accepts; wider tables are refused with a clear message."""

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
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_LABELS = {
    ",": "',' (commas)",
    ";": "';' (semicolons)",
    "\t": "tabs",
    "|": "'|' (pipes)",
}
_SNIFF_BYTES = 256 * 1024  # how much of a text file is decoded to detect its layout
_SNIFF_RECORDS = 50  # how many lines the delimiter vote looks at
_VALIDATE_SLICE = 1 << 20  # UTF-8 validation works through the file in 1 MiB slices
_MAX_CONTROL_SHARE = 0.01  # more control characters than this means "not text"
_EXCEL_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA"}
)
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[-+]?\d+\.\d+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAGIC_HINTS = (
    (
        b"PK\x03\x04",
        "an Excel workbook or a zip archive",
        "give it the .xlsx ending if it is "
        "an Excel workbook, or unzip it first if it is an archive",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "an old-style Excel (.xls) or Word file",
        "open it in Excel and save it as .xlsx or CSV",
    ),
    (b"PAR1", "a Parquet file", "give it the .parquet ending"),
    (b"%PDF", "a PDF document", "export the table from the PDF to CSV first"),
    (b"\x89PNG", "a PNG image", "upload the table itself, not a picture of it"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the table itself, not a picture of it"),
    (b"SQLite format 3", "an SQLite database", "export the table you need to CSV first"),
)


class EmptyColumnsError(DataValidationError):
    """Some (not all) columns have no values at all.

    Raised by :func:`load_table` and :func:`validate_table` when ``drop_empty_columns`` is
    False. A page can offer to load the file again with ``drop_empty_columns=True``.

    Attributes:
        columns: The names of the empty columns, in table order (after name clean-up).
    """

    def __init__(self, message: str, columns: Sequence[str]) -> None:
        super().__init__(message)
        self.columns: tuple[str, ...] = tuple(columns)


@dataclass(frozen=True, eq=False)
class LoadedTable:
    """A table read from a file, with what the loader noticed.

    Immutable; compared and hashed by identity (``eq=False``), because comparing frames
    element-wise has no single truth value.

    Attributes:
        frame: The data, with clean, unique string column names and a fresh RangeIndex.
        source_name: The original file name, as uploaded.
        file_format: ``"csv"``, ``"excel"``, ``"parquet"`` or ``"json"``.
        notes: Plain-English notes to show the user (encoding, delimiter, sheet, renamed or
            dropped columns, ...).
        dropped_columns: Empty columns removed because ``drop_empty_columns`` was True.
        sheet: The Excel sheet that was read (None for other formats).
    """

    frame: pd.DataFrame
    source_name: str
    file_format: str
    notes: tuple[str, ...]
    dropped_columns: tuple[str, ...] = ()
    sheet: str | None = None


# --------------------------------------------------------------------------- public API


def load_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    drop_empty_columns: bool = False,
    max_bytes: int | None = None,
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
        progress: Called with ``(fraction, message)``; the last call has fraction 1.0.

    Returns:
        The table, its format and the notes to show the user.

    Raises:
        DataLoadError: The file is empty, too large, of an unsupported type, damaged, not
            text, or its rows cannot be split into columns.
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
    chosen_sheet: str | None = None
    if file_format == "csv":
        frame, notes = _read_delimited(data, name, extension, read_progress)
    elif file_format == "excel":
        frame, notes, chosen_sheet = _read_excel(data, name, sheet, read_progress)
    elif file_format == "parquet":
        frame, notes = _read_parquet(data, name, read_progress)
    else:
        frame, notes = _read_json(data, name, extension, read_progress)

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


def validate_table(
    frame: pd.DataFrame, *, source_name: str, drop_empty_columns: bool = False
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Check that a table can be used, and clean its column names.

    Column names are made strings and stripped of surrounding spaces; missing names become
    ``column_<position>``; columns without a name and without values are removed, and so
    are rows without any value.

    Args:
        frame: The table as read (not modified).
        source_name: The file or dataset name used in messages.
        drop_empty_columns: Drop named columns that have no values instead of raising.

    Returns:
        The cleaned table and the names of the empty columns that were dropped.

    Raises:
        DataValidationError: No rows, fewer than two or more than :data:`MAX_COLUMNS`
            columns, duplicate names, or every column empty.
        EmptyColumnsError: Some columns are empty and ``drop_empty_columns`` is False.
    """
    cleaned, dropped, _ = _validate(
        frame, source_name=source_name, drop_empty_columns=drop_empty_columns
    )
    return cleaned, dropped


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


# --------------------------------------------------------------------------- validation


def _validate(
    frame: pd.DataFrame, *, source_name: str, drop_empty_columns: bool
) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """:func:`validate_table`, also returning the notes for the user."""
    name = source_name
    notes: list[str] = []
    if frame.shape[1] == 0:
        raise DataValidationError(
            f"'{name}' has no columns. Check that the file holds a table with a header row "
            "of column names."
        )
    names, unnamed, stripped = _clean_names(list(frame.columns), name)
    frame = frame.copy(deep=False)  # shares the data; the caller's frame keeps its labels
    frame.columns = pd.Index(names, dtype=object)
    if not _is_default_index(frame.index):
        frame = frame.reset_index(drop=True)
    if stripped:
        notes.append(f"Removed spaces around {_count(stripped, 'column name')}.")

    missing = frame.isna()
    empty_mask = missing.all(axis=0).to_numpy() if len(frame) else np.ones(len(names), bool)
    ghosts = {p for p in unnamed if empty_mask[p]}
    if ghosts and len(ghosts) < len(names):
        keep = [p for p in range(len(names)) if p not in ghosts]
        frame, missing = frame.iloc[:, keep], missing.iloc[:, keep]
        empty_mask = empty_mask[keep]
        unnamed = [p for p in unnamed if p not in ghosts]
        notes.append(
            f"Ignored {_count(len(ghosts), 'column')} with neither a name nor any value "
            "(often a separator at the end of every line)."
        )
    renamed = [names[p] for p in unnamed]
    names = [str(column) for column in frame.columns]
    if renamed:
        shown = _name_list(renamed)
        notes.append(
            f"{_count(len(renamed), 'column')} had no name and "
            f"{'was' if len(renamed) == 1 else 'were'} named after "
            f"{'its' if len(renamed) == 1 else 'their'} position: {shown}."
        )

    if len(frame) == 0:
        raise DataValidationError(
            f"'{name}' has column names ({_name_list(names)}) but no data rows. Add the rows "
            "below the header row and upload it again."
        )
    if len(names) < 2:
        raise DataValidationError(
            f"'{name}' has only one column ({_quote(names[0])}). Synthetic data needs at least "
            "two columns. If the file separates its columns with something other than ',' ';' "
            "tab or '|', save it again as a comma-separated CSV."
        )
    if empty_mask.all():
        raise DataValidationError(
            f"Every column in '{name}' is empty: it has {len(frame):,} rows but no values. "
            "Check that you exported the right sheet or file."
        )

    blank_rows = missing.all(axis=1).to_numpy()
    if blank_rows.any():
        frame = frame.loc[~blank_rows].reset_index(drop=True)
        notes.append(f"Ignored {_count(int(blank_rows.sum()), 'completely empty row')}.")

    dropped: tuple[str, ...] = ()
    if empty_mask.any():
        empty = tuple(
            column for column, is_empty in zip(names, empty_mask, strict=True) if is_empty
        )
        one = len(empty) == 1
        if not drop_empty_columns:
            raise EmptyColumnsError(
                f"In '{name}', {_count(len(empty), 'column')} {'has' if one else 'have'} no "
                f"values at all: {_name_list(empty)}. Load the file without "
                f"{'it' if one else 'them'}, or fill {'it' if one else 'them'} in and upload "
                "the file again.",
                empty,
            )
        frame = frame.drop(columns=list(empty))
        dropped = empty
        notes.append(f"Dropped {_count(len(empty), 'empty column')}: {_name_list(empty)}.")
        if frame.shape[1] < 2:
            raise DataValidationError(
                f"After dropping its empty columns, '{name}' has only "
                f"{_count(frame.shape[1], 'column')} left. Synthetic data needs at least two "
                "columns with values."
            )
    return frame, dropped, tuple(notes)


def _is_default_index(index: pd.Index) -> bool:
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )


def _clean_names(raw_names: Sequence[Any], source_name: str) -> tuple[list[str], list[int], int]:
    """Make column names unique, stripped strings; refuse duplicates and too many columns.

    Args:
        raw_names: The labels as read (any type; None or blank for a missing name).
        source_name: The file name used in messages.

    Returns:
        The new names, the 0-based positions of columns that had no name (now
        ``column_<position>``), and how many names lost surrounding spaces.

    Raises:
        DataValidationError: More than :data:`MAX_COLUMNS` columns, or duplicate names.
    """
    if len(raw_names) > MAX_COLUMNS:
        raise DataValidationError(
            f"'{source_name}' has {len(raw_names):,} columns; the studio handles at most "
            f"{MAX_COLUMNS:,}. Keep only the columns you need (for example in a spreadsheet) "
            "and upload the file again."
        )
    texts = [_name_text(raw) for raw in raw_names]
    positions: dict[str, list[int]] = {}
    for position, text in enumerate(texts, start=1):
        if text:
            positions.setdefault(text, []).append(position)
    duplicates = {text: where for text, where in positions.items() if len(where) > 1}
    if duplicates:
        details = "; ".join(
            f"{_quote(text)} (columns {', '.join(map(str, where))})"
            for text, where in list(duplicates.items())[:10]
        )
        more = f" and {len(duplicates) - 10} more" if len(duplicates) > 10 else ""
        raise DataValidationError(
            f"'{source_name}' has duplicate column names: {details}{more}. Every column needs "
            "its own name: rename the duplicates in the header row and upload the file again."
        )
    taken = set(positions)
    names: list[str] = []
    unnamed: list[int] = []
    for position, text in enumerate(texts):
        if text:
            names.append(text)
            continue
        candidate, suffix = f"column_{position + 1}", 2
        while candidate in taken:
            candidate, suffix = f"column_{position + 1}_{suffix}", suffix + 1
        taken.add(candidate)
        names.append(candidate)
        unnamed.append(position)
    stripped = sum(
        1
        for raw, text in zip(raw_names, texts, strict=True)
        if text and isinstance(raw, str) and raw != text
    )
    return names, unnamed, stripped


def _name_text(raw: Any) -> str:
    """A column label as clean text ('' for a missing name)."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # Excel header cells like 2021.0
    return str(raw).replace("\ufeff", "").strip()


# --------------------------------------------------------------------------- delimited text


def _read_delimited(
    data: bytes, name: str, extension: str, progress: ProgressCallback
) -> tuple[pd.DataFrame, list[str]]:
    """Read CSV/TSV/TXT: sniff encoding and delimiter, then parse in chunks."""
    encoding, encoding_label = _detect_encoding(data, name)
    sample = _decode_sample(data, encoding)
    _refuse_control_characters(sample, name)
    if not sample.strip():
        raise DataLoadError(
            f"'{name}' contains only blank lines, no table. Check that you picked the right "
            "file and that it was saved before uploading."
        )
    delimiter = _detect_delimiter(sample, extension)
    header, header_records = _first_record(sample, delimiter)
    _clean_names(header, name)  # duplicates and width are refused before the long read
    notes = [f"Read as {encoding_label}; columns separated by {_DELIMITER_LABELS[delimiter]}."]
    decimal = "."
    if delimiter == ";" and _uses_decimal_comma(sample):
        decimal = ","
        notes.append("Numbers use ',' as the decimal mark (like 1234,5) and were read as numbers.")
    frame = _parse_delimited(
        data, name, encoding, delimiter, decimal, (len(header), header_records), progress
    )
    frame.columns = pd.Index(header, dtype=object)
    return frame, notes


def _detect_encoding(data: bytes, name: str) -> tuple[str, str]:
    """Pick the text encoding: BOMs first, then strict UTF-8, then Windows-1252, Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 text (its byte-order mark was removed)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16 text"
    _refuse_binary(data, name)
    if _decodes(data, "utf-8"):
        return "utf-8", "UTF-8 text"
    if _decodes(data, "cp1252"):
        return "cp1252", "Windows-1252 / Latin-1 text (the file is not UTF-8)"
    return "latin-1", "Latin-1 text (the file is not UTF-8)"


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether the whole file decodes strictly, checked slice by slice (no full copy kept)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(data)
    try:
        for start in range(0, len(view), _VALIDATE_SLICE):
            decoder.decode(view[start : start + _VALIDATE_SLICE], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_binary(data: bytes, name: str) -> None:
    """Refuse files that are clearly not text (NUL bytes or a known binary signature)."""
    for magic, what, fix in _MAGIC_HINTS:
        if data.startswith(magic):
            raise DataLoadError(
                f"'{name}' does not look like a text table: it looks like {what}. To use it, {fix}."
            )
    if b"\x00" in data:
        raise DataLoadError(
            f"'{name}' does not look like a text table: it contains binary data (for example "
            "an image, an archive or a database file). Upload a CSV, Excel, Parquet or JSON "
            "file."
        )


def _decode_sample(data: bytes, encoding: str) -> str:
    """Decode the start of the file, cut at the last complete line when it was truncated."""
    text = data[:_SNIFF_BYTES].decode(encoding, errors="ignore")
    if len(data) > _SNIFF_BYTES:
        cut = text.rfind("\n")
        if cut > 0:
            text = text[: cut + 1]
    return text


def _refuse_control_characters(text: str, name: str) -> None:
    """Refuse text that decodes only into control characters (bytes in an unknown encoding)."""
    if text and len(_CONTROL.findall(text)) / len(text) > _MAX_CONTROL_SHARE:
        raise DataLoadError(
            f"'{name}' contains bytes that cannot be read as text in any common encoding "
            "(tried UTF-8, Windows-1252 and Latin-1). Open it in a spreadsheet or text editor, "
            "save it as 'CSV UTF-8', and upload it again."
        )


def _detect_delimiter(sample: str, extension: str) -> str:
    """Choose among ``, ; tab |``: csv.Sniffer, checked by a quote-aware consistency vote."""
    scores = {}
    for delimiter in _DELIMITERS:
        counts = _field_counts(sample, delimiter)
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width > 1:
            scores[delimiter] = (hits / len(counts), width)
    preferred = "\t" if extension == ".tsv" else ","
    if not scores:
        return preferred
    best_share = max(share for share, _ in scores.values())
    tied = [d for d, (share, _) in scores.items() if share >= best_share - 1e-9]
    if len(tied) == 1:
        return tied[0]
    sniffed = _sniff(sample)
    if sniffed in tied:
        return sniffed
    if preferred in tied:
        return preferred
    return max(tied, key=lambda d: scores[d][1])


def _field_counts(sample: str, delimiter: str) -> list[int]:
    """Fields per record for the first records, honouring quotes (blank lines skipped)."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    counts: list[int] = []
    try:
        for record in reader:
            if record and any(field.strip() for field in record):
                counts.append(len(record))
            if len(counts) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return counts
    return counts


def _sniff(sample: str) -> str | None:
    """csv.Sniffer's guess, restricted to the supported delimiters (None if it has none)."""
    lines = sample.split("\n")[:_SNIFF_RECORDS]
    try:
        return (
            csv.Sniffer().sniff("\n".join(lines)[:65536], delimiters="".join(_DELIMITERS)).delimiter
        )
    except csv.Error:
        return None


def _first_record(sample: str, delimiter: str) -> tuple[list[str], int]:
    """The header row as written (before pandas renames duplicates).

    Returns:
        The header's fields and how many records (blank lines included) precede the data.
    """
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        for index, record in enumerate(reader, start=1):
            if len(record) > 1 or (record and record[0].strip()):  # pandas skips blank lines
                return record, index
    except csv.Error:
        pass
    lines = sample.split("\n")
    index = next(i for i, line in enumerate(lines) if line.strip())
    return lines[index].rstrip("\r").split(delimiter), index + 1


def _uses_decimal_comma(sample: str) -> bool:
    """Whether a ';'-separated sample writes numbers like ``1234,5`` (and none like 1234.5)."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=";")
    comma = point = 0
    try:
        for index, record in enumerate(reader):
            if index == 0:
                continue
            for field in record:
                text = field.strip()
                if _DECIMAL_COMMA.fullmatch(text):
                    comma += 1
                elif _DECIMAL_POINT.fullmatch(text):
                    point += 1
            if index > _SNIFF_RECORDS:
                break
    except csv.Error:
        return False
    return comma > 0 and point == 0


def _parse_delimited(
    data: bytes,
    name: str,
    encoding: str,
    delimiter: str,
    decimal: str,
    shape: tuple[int, int],
    progress: ProgressCallback,
) -> pd.DataFrame:
    """Parse the text with pandas in chunks, reporting progress by bytes read.

    ``shape`` is the header's width and how many records it and the blank lines before it
    take. The header is skipped, not parsed, so pandas never renames duplicate names. One
    spare column is read: it must stay empty (a separator at the end of the lines) or the
    file is refused as ragged; rows with even more values make pandas stop with the line.
    """
    width, header_records = shape
    chunk_rows = max(1_000, min(50_000, 2_000_000 // max(width, 1)))
    buffer = io.BytesIO(data)
    total = max(len(data), 1)
    options: dict[str, Any] = {
        "sep": delimiter,
        "encoding": encoding,
        "header": None,
        "skiprows": header_records,
        "names": list(range(width + 1)),
        "index_col": False,
        "decimal": decimal,
        "engine": "c",
    }
    chunks: list[pd.DataFrame] = []
    rows = 0
    try:
        with pd.read_csv(buffer, chunksize=chunk_rows, **options) as reader:
            for chunk in reader:
                if chunk[width].notna().any():
                    raise DataLoadError(_long_row_message(data, name, encoding, delimiter, width))
                chunks.append(chunk.drop(columns=width))
                rows += len(chunk)
                progress(min(buffer.tell() / total, 0.98), f"Read {rows:,} rows of {name}…")
    except pd.errors.EmptyDataError as exc:
        raise DataLoadError(
            f"'{name}' contains no table. Check that you picked the right file."
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataLoadError(_parser_message(str(exc), name, delimiter, width)) from exc
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            f"'{name}' contains bytes that cannot be read as text. Open it in a spreadsheet "
            "or text editor, save it as 'CSV UTF-8', and upload it again."
        ) from exc
    if not chunks:
        return pd.DataFrame(columns=list(range(width)))
    if len(chunks) == 1:
        return chunks[0]
    frame = pd.concat(chunks, ignore_index=True, copy=False)
    mixed = _mixed_columns(chunks)
    del chunks
    if mixed:
        # Chunks disagreed (numbers in one, text in another): read those columns as text,
        # which is what pandas gives when it sees the whole column at once.
        as_text = {position: str for position in mixed}
        with pd.read_csv(
            io.BytesIO(data), chunksize=chunk_rows, dtype=as_text, **options
        ) as reader:
            text = pd.concat([chunk[mixed] for chunk in reader], ignore_index=True)
        for position in mixed:
            frame[position] = text[position]
    progress(1.0, f"Read {len(frame):,} rows of {name}.")
    return frame


def _long_row_message(data: bytes, name: str, encoding: str, delimiter: str, width: int) -> str:
    """Name the first line with more values than the header (only on the error path)."""
    reader = csv.reader(
        io.StringIO(data.decode(encoding, errors="replace"), newline=""), delimiter=delimiter
    )
    try:
        next(reader)  # the header
        for record in reader:
            if len(record) > width and any(field.strip() for field in record[width:]):
                return _ragged_message(name, reader.line_num, len(record), width, delimiter)
    except (csv.Error, StopIteration):
        pass
    return (
        f"Some rows of '{name}' have more values than the header row has columns "
        f"({width}). Fix those rows (often a value containing the separator needs quotes "
        "around it) or delete them, then upload the file again."
    )


def _ragged_message(name: str, line: int, saw: int, width: int, delimiter: str) -> str:
    return (
        f"Line {line} of '{name}' has {saw} values, but the header row has {width} "
        f"columns (separated by {_DELIMITER_LABELS[delimiter]}). Fix that line (often a value "
        "containing the separator needs quotes around it) or delete it, then upload the file "
        "again."
    )


def _mixed_columns(chunks: Iterable[pd.DataFrame]) -> list[int]:
    """Columns read as text in one chunk and as numbers/booleans in another."""
    kinds: dict[Any, set[bool]] = {}
    for chunk in chunks:
        for column, series in chunk.items():
            if series.notna().any():
                kinds.setdefault(column, set()).add(series.dtype == object)
    return [column for column, seen in kinds.items() if len(seen) > 1]


def _parser_message(detail: str, name: str, delimiter: str, width: int) -> str:
    """Turn a pandas parser error into a plain sentence that names the line."""
    ragged = re.search(r"Expected \d+ fields in line (\d+), saw (\d+)", detail)
    if ragged:
        line, saw = ragged.groups()
        return _ragged_message(name, int(line), int(saw), width, delimiter)
    unclosed = re.search(r"EOF inside string starting at row (\d+)", detail)
    if unclosed:
        return (
            f"'{name}' has a quote (\") that is never closed, starting on line "
            f"{int(unclosed.group(1)) + 1}. Close or remove that quote and upload the file again."
        )
    return (
        f"'{name}' could not be split into columns: its rows are not laid out consistently. "
        "Open it in a spreadsheet, check it, and save it again as CSV."
    )


# --------------------------------------------------------------------------- Excel


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


# --------------------------------------------------------------------------- Parquet


def _read_parquet(
    data: bytes, name: str, progress: ProgressCallback
) -> tuple[pd.DataFrame, list[str]]:
    """Read a Parquet file row group by row group."""
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
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        groups = parquet.num_row_groups
        tables = []
        for index in range(groups):
            tables.append(parquet.read_row_group(index))
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


# --------------------------------------------------------------------------- JSON


def _read_json(
    data: bytes, name: str, extension: str, progress: ProgressCallback
) -> tuple[pd.DataFrame, list[str]]:
    """Read JSON records, JSON Lines or column-oriented JSON."""
    encoding, _ = _detect_encoding(data, name)
    text = data.decode(encoding, errors="replace")
    _refuse_control_characters(text[:_SNIFF_BYTES], name)
    if not text.strip():
        raise DataLoadError(
            f"'{name}' contains only blank space, no data. Check that you picked the right file."
        )
    notes: list[str] = []
    if extension in (".jsonl", ".ndjson"):
        records = _json_lines(text, name)
        notes.append("Read as JSON Lines (one record per line).")
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            records = _json_lines(text, name, fallback_error=exc)
            notes.append(
                "The file holds one JSON record per line (JSON Lines) and was read that way."
            )
        else:
            progress(0.5, f"Parsed {name}…")
            records, how = _json_document_rows(document, name)
            if isinstance(records, pd.DataFrame):
                frame = records
                notes.append(how)
                nested = _stringify_nested(frame)
                if nested:
                    notes.append(_nested_note(nested))
                return frame, notes
            notes.append(how)
    progress(0.6, f"Building the table from {name}…")
    frame, flattened = _records_frame(records)
    if flattened:
        notes.append("Nested fields were spread into columns named like 'parent.child'.")
    nested = _stringify_nested(frame)
    if nested:
        notes.append(_nested_note(nested))
    return frame, notes


def _json_lines(
    text: str, name: str, fallback_error: json.JSONDecodeError | None = None
) -> list[dict[str, Any]]:
    """Parse one JSON object per line; blank lines are skipped.

    With ``fallback_error`` (the error of parsing the text as one document), a file whose
    first line is not a record is reported with that error instead: it was not JSON Lines.
    """
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            if fallback_error is not None and not records:
                raise DataLoadError(_json_error_message(fallback_error, name)) from fallback_error
            raise DataLoadError(
                f"Line {number} of '{name}' is not valid JSON ({exc.msg}, at character "
                f"{exc.colno}). Each line must be one record like "
                '{"age": 31, "city": "Oslo"}.'
            ) from exc
        if not isinstance(value, dict):
            if fallback_error is not None and not records:
                raise DataLoadError(_json_error_message(fallback_error, name)) from fallback_error
            raise DataLoadError(
                f"Line {number} of '{name}' is not a record with named fields. Each line must "
                'be one record like {"age": 31, "city": "Oslo"}.'
            )
        records.append(value)
    if not records:
        raise DataLoadError(f"'{name}' contains no records.")
    return records


def _json_error_message(error: json.JSONDecodeError, name: str) -> str:
    return (
        f"'{name}' is not valid JSON ({error.msg} at line {error.lineno}, column "
        f"{error.colno}). Fix the file there, or export the data again as JSON or CSV."
    )


_TABLE_SHAPES = (
    'a list of records like [{"age": 31, "city": "Oslo"}, ...] or columns like '
    '{"age": [31, 45], "city": ["Oslo", "Lima"]}'
)


def _json_document_rows(
    document: Any, name: str
) -> tuple[list[dict[str, Any]] | pd.DataFrame, str]:
    """Recognise the table inside a parsed JSON document.

    Returns:
        Either records (a list of objects) or a ready frame, and a note saying how it was read.
    """
    if isinstance(document, list):
        return _json_record_list(document, name, where=""), "Read as a JSON list of records."
    if not isinstance(document, dict):
        raise DataLoadError(
            f"'{name}' holds a single JSON value, not a table. The studio reads {_TABLE_SHAPES}."
        )
    if not document:
        raise DataLoadError(f"'{name}' holds an empty JSON object, not a table.")
    if isinstance(document.get("columns"), list) and isinstance(document.get("data"), list):
        rows = document["data"]
        if all(isinstance(row, list) for row in rows):
            widths = {len(row) for row in rows}
            if widths <= {len(document["columns"])}:
                return (
                    pd.DataFrame(rows, columns=document["columns"]),
                    "Read as JSON with a list of column names and a list of rows.",
                )
    values = list(document.values())
    if all(isinstance(value, list) for value in values):
        lengths = {key: len(value) for key, value in document.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{_quote(k)} has {n}" for k, n in list(lengths.items())[:6])
            raise DataLoadError(
                f"The columns in '{name}' have different lengths ({shown}). Every column "
                "list needs one value per row."
            )
        if not all(isinstance(item, dict) for value in values for item in value):
            return pd.DataFrame(document), "Read as JSON columns (one list per column)."
    if all(isinstance(value, dict) for value in values) and len(values) > 1:
        inner = [v for value in values for v in value.values()]
        same_keys = len({tuple(value) for value in values}) == 1
        if same_keys and not any(isinstance(v, (dict, list)) for v in inner):
            if _looks_like_row_labels(document) and not _looks_like_row_labels(values[0]):
                return (
                    pd.DataFrame.from_dict(document, orient="index").reset_index(drop=True),
                    "Read as JSON rows (one object per row, keyed by row number).",
                )
            return (
                pd.DataFrame(document).reset_index(drop=True),
                "Read as JSON columns (one object per column, as pandas writes them).",
            )
    record_keys = [
        key
        for key, value in document.items()
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value)
    ]
    if len(record_keys) == 1:
        key = record_keys[0]
        return (
            _json_record_list(document[key], name, where=f" under {_quote(key)}"),
            f"Read the list of records under {_quote(key)}.",
        )
    raise DataLoadError(
        f"'{name}' is JSON but not a table: it is one object with fields "
        f"{_name_list(list(document)[:8])}. The studio reads {_TABLE_SHAPES}."
    )


def _looks_like_row_labels(mapping: dict[str, Any]) -> bool:
    """Whether every key is a row number ("0", "1", ...), as in pandas' JSON orients."""
    return all(key.lstrip("-").isdigit() for key in mapping)


def _json_record_list(items: list[Any], name: str, where: str) -> list[dict[str, Any]]:
    """Check that a JSON list holds records (objects)."""
    if not items:
        raise DataLoadError(f"The list{where} in '{name}' is empty: there are no rows to read.")
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            kind = "a list" if isinstance(item, list) else "a single value"
            raise DataLoadError(
                f"Item {index} of the list{where} in '{name}' is {kind}, not a record with "
                f"named fields. The studio reads {_TABLE_SHAPES}."
            )
    return items


def _records_frame(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, bool]:
    """Build a frame from records, flattening nested objects into 'parent.child' columns."""
    nested = any(
        isinstance(value, dict) and value for record in records for value in record.values()
    )
    if nested:
        return pd.json_normalize(records), True
    return pd.DataFrame.from_records(records), False


def _stringify_nested(frame: pd.DataFrame) -> list[str]:
    """Turn list/dict/array cells into JSON text (in place); return the columns changed."""
    changed: list[str] = []
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if series.dtype != object:
            continue
        is_nested = series.map(lambda v: isinstance(v, (list, dict, tuple, np.ndarray)))
        if not is_nested.any():
            continue
        frame.isetitem(position, series.map(_as_json_text))
        changed.append(str(frame.columns[position]))
    return changed


def _as_json_text(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _nested_note(columns: list[str]) -> str:
    return (
        f"{_count(len(columns), 'column')} ({_name_list(columns)}) "
        f"{'holds' if len(columns) == 1 else 'hold'} lists or nested values; they were kept "
        "as text."
    )


# --------------------------------------------------------------------------- helpers


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


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def _quote(text: str, limit: int = 60) -> str:
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def _name_list(names: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(_quote(name) for name in list(names)[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
