"""Delimited text (CSV, TSV, TXT): the encoding, the delimiter and the decimal mark are sniffed.

The encoding checks (:func:`_detect_encoding`, :func:`_refuse_control_characters`) also
serve the JSON reader, which reads text too.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

from core.data.loading.common import (
    _clean_names,
    check_table_budget,
    estimate_frame_bytes,
    table_limit_bytes,
)
from core.errors import DataLoadError
from core.progress import ProgressCallback

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
_EARLY_FACTOR = 2.0  # the first chunk refuses the file only when clearly over the budget

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
    (b"\x1f\x8b", "a gzip-compressed file",
     "decompress it first (for example `gunzip file.csv.gz`) and upload the CSV inside"),
)


def _read_delimited(
    data: bytes, name: str, extension: str, progress: ProgressCallback,
    limit_bytes: int | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Read CSV/TSV/TXT: sniff encoding and delimiter, then parse in chunks.

    ``limit_bytes`` is the table's memory budget (None: the setting).
    """
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
        data, name, encoding, delimiter, decimal, (len(header), header_records), progress,
        table_limit_bytes(limit_bytes),
    )
    frame.columns = pd.Index(header, dtype=object)
    return frame, notes


def _detect_encoding(data: bytes, name: str) -> tuple[str, str]:
    """Pick the text encoding: BOMs first, then strict UTF-8, then Windows-1252, Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 text (its byte-order mark was removed)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16 text"
    without_bom = _utf16_without_bom(data)
    if without_bom is not None:
        return without_bom, "UTF-16 text without a byte-order mark (told apart by its zero bytes)"
    _refuse_binary(data, name)
    if _decodes(data, "utf-8"):
        return "utf-8", "UTF-8 text"
    if _decodes(data, "cp1252"):
        return "cp1252", "Windows-1252 / Latin-1 text (the file is not UTF-8)"
    return "latin-1", "Latin-1 text (the file is not UTF-8)"


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when every other byte is zero, as in UTF-16 Latin text."""
    head = data[:_SNIFF_BYTES]
    if len(head) < 4 or len(head) % 2 or b"\x00" not in head:
        return None
    for encoding, zeros in (("utf-16-le", head[1::2]), ("utf-16-be", head[::2])):
        if zeros.count(0) >= 0.9 * len(zeros) and len(data) % 2 == 0 and _decodes(data, encoding):
            return encoding
    return None


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
    limit_bytes: int,
) -> pd.DataFrame:
    """Parse the text with pandas in chunks, reporting progress by bytes read.

    Each chunk's memory is counted against ``limit_bytes``: reading stops at the budget,
    and the first chunk refuses a file whose estimated whole is far over it.

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
    rows = used = 0
    try:
        with pd.read_csv(buffer, chunksize=chunk_rows, **options) as reader:
            for chunk in reader:
                if chunk[width].notna().any():
                    raise DataLoadError(_long_row_message(data, name, encoding, delimiter, width))
                chunks.append(chunk.drop(columns=width))
                rows += len(chunk)
                used += estimate_frame_bytes(chunks[-1])
                _check_budget(rows, used, min(buffer.tell() / total, 1.0), name, limit_bytes)
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


def _check_budget(rows: int, used: int, share_read: float, name: str, limit: int) -> None:
    """Stop at the budget; refuse early when the share read shows the file is far over it."""
    if not rows:
        return
    check_table_budget(rows, used / rows, source_name=name, limit_bytes=limit, rows_read=rows,
                       stopped=True)
    if 0 < share_read < 1.0 and used / share_read > _EARLY_FACTOR * limit:
        check_table_budget(rows / share_read, used / rows, source_name=name, limit_bytes=limit,
                           rows_read=rows, approximate=True)


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
