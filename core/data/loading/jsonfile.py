"""JSON files: a list of records, JSON Lines, or column-oriented objects (as pandas writes them).

Parsed JSON takes several times its text in memory (a dict per record), so a list of
records or JSON Lines is estimated from its first records before the whole file is parsed
(:func:`_check_records_budget`); other layouts are checked once their table is built.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd

from core.data.loading.common import (
    _name_list,
    _nested_note,
    _quote,
    _stringify_nested,
    check_table_budget,
    estimate_frame_bytes,
    table_limit_bytes,
)
from core.data.loading.delimited import (
    _SNIFF_BYTES,
    _detect_encoding,
    _refuse_control_characters,
)
from core.errors import DataLoadError
from core.progress import ProgressCallback

_SAMPLE_RECORDS = 1_000  # records parsed first to estimate the memory of the whole file


def _read_json(
    data: bytes, name: str, extension: str, progress: ProgressCallback,
    limit_bytes: int | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Read JSON records, JSON Lines or column-oriented JSON within the budget ``limit_bytes``."""
    encoding, _ = _detect_encoding(data, name)
    text = data.decode(encoding, errors="replace")
    _refuse_control_characters(text[:_SNIFF_BYTES], name)
    if not text.strip():
        raise DataLoadError(
            f"'{name}' contains only blank space, no data. Check that you picked the right file."
        )
    limit = table_limit_bytes(limit_bytes)
    _check_records_budget(text, name, limit, lines=extension in (".jsonl", ".ndjson"))
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
                if len(frame):
                    check_table_budget(len(frame), estimate_frame_bytes(frame) / len(frame),
                                       source_name=name, limit_bytes=limit)
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


def _check_records_budget(text: str, name: str, limit: int, *, lines: bool) -> None:
    """Estimate a list of records or JSON Lines from its first records, before parsing it all.

    Each record costs its dict while the file is parsed, and its row in the table built from
    the dicts; both are counted. Other layouts (and text that does not parse) are left to
    the reader.
    """
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    if not lines and stripped.startswith("["):
        start += 1
    elif not lines and not stripped.startswith("{"):
        return
    window = text[start : start + _SNIFF_BYTES]  # never parse more than this here
    decoder = json.JSONDecoder()
    records: list[Any] = []
    position = 0
    while len(records) < _SAMPLE_RECORDS:
        while position < len(window) and window[position] in " \t\r\n,":
            position += 1
        if position >= len(window) or window[position] == "]":
            break
        try:
            record, position = decoder.raw_decode(window, position)
        except json.JSONDecodeError:
            break  # cut by the window, or not valid: the reader says which
        if not isinstance(record, dict):
            return
        records.append(record)
    if not records or (not lines and stripped.startswith("{") and len(records) < 2):
        return  # one object: column-oriented JSON, checked once its table is built
    sample, _ = _records_frame(records)
    # one json.loads call shares the keys of all its records; each line has its own
    own_keys = lines or not stripped.startswith("[")
    parsed = sum(_record_bytes(record, own_keys) for record in records)
    per_record = (estimate_frame_bytes(sample) + parsed) / len(records)
    consumed = max(position, 1)
    remaining = len(text) - start
    estimated_rows = len(records) if consumed >= remaining else len(records) * remaining / consumed
    check_table_budget(estimated_rows, per_record, source_name=name, limit_bytes=limit,
                       approximate=estimated_rows > len(records))


def _record_bytes(record: dict[str, Any], own_keys: bool) -> int:
    """A parsed record's memory: the dict, its values, and its keys if they are its own."""
    keys = sum(map(sys.getsizeof, record)) if own_keys else 0
    return sys.getsizeof(record) + keys + sum(map(sys.getsizeof, record.values()))


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
