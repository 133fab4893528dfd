"""What every reader shares: the limits, the result and error types, the table checks.

:func:`validate_table` (also used for database reads) cleans column names and refuses
tables the studio cannot use; the small message helpers keep every reader's wording alike.

The memory budget for one table (``STUDIO_MAX_TABLE_MB``, read by
:mod:`core.store.settings`) is enforced with :func:`check_table_budget`: readers estimate
rows × bytes per row (:func:`estimate_frame_bytes` on the first rows, or a running count)
and call it before and while reading, so an oversized table is refused early instead of
after it filled the server's memory. Database reads use the same two functions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DataLoadError, DataValidationError
from core.store.settings import TABLE_LIMIT_ENV, TABLE_LIMIT_KEY, get_settings

MAX_COLUMNS = 1000
"""The widest table the studio accepts; wider tables are refused with a clear message."""


class TableBudgetError(DataLoadError):
    """A table would take more memory than the budget (``STUDIO_MAX_TABLE_MB``).

    Attributes:
        estimate_bytes: The estimated size of the table (or of the part read) in memory.
        limit_bytes: The budget it exceeds.
        rows_read: Rows read before the refusal (0 when refused from an estimate up front).
    """

    def __init__(self, message: str, *, estimate_bytes: int, limit_bytes: int,
                 rows_read: int) -> None:
        super().__init__(message)
        self.estimate_bytes = estimate_bytes
        self.limit_bytes = limit_bytes
        self.rows_read = rows_read


def table_limit_bytes(limit_bytes: int | None = None) -> int:
    """The table memory budget in bytes: ``limit_bytes``, or the setting when None."""
    return get_settings().max_table_bytes if limit_bytes is None else limit_bytes


def check_table_budget(
    rows: float,
    bytes_per_row: float,
    *,
    source_name: str,
    limit_bytes: int | None = None,
    rows_read: int = 0,
    stopped: bool = False,
    approximate: bool = False,
) -> None:
    """Refuse a table whose estimated size in memory (rows × bytes per row) is over budget.

    Call it before the long read with an estimate (``approximate`` when the row count is
    one too), and while reading with the rows so far (``stopped=True``: the reading stops
    there, so the message says the first rows alone are too much).

    Args:
        rows: How many rows the table has, or will have.
        bytes_per_row: Estimated memory per row (see :func:`estimate_frame_bytes`).
        source_name: The file, table or query named in the message.
        limit_bytes: The budget; None uses ``STUDIO_MAX_TABLE_MB`` (default 1024 MB).
        rows_read: Rows already read (kept on the error for callers and tests).
        stopped: Reading stopped at ``rows``; they alone exceed the budget.
        approximate: ``rows`` is an estimate.

    Raises:
        TableBudgetError: The estimate exceeds the budget. The message names the budget and
            the setting that raises it.
    """
    limit = table_limit_bytes(limit_bytes)
    estimate = int(max(rows, 0) * max(bytes_per_row, 0.0))
    if estimate <= limit:
        return
    count = f"{'about ' if approximate else ''}{_count(int(rows), 'row')}"
    what = (f"reading stopped after {count}, which alone would take" if stopped
            else f"its {count} would take")
    raise table_budget_error(source_name, what, estimate, limit, rows_read=rows_read)


def table_budget_error(source_name: str, what: str, estimate_bytes: int, limit_bytes: int,
                       rows_read: int = 0) -> TableBudgetError:
    """The refusal :func:`check_table_budget` raises, for estimates that are not rows × bytes.

    Args:
        source_name: The file, table or query named in the message.
        what: The subject and verb, like ``"its shared text would take"``.
        estimate_bytes: The estimated memory.
        limit_bytes: The budget.
        rows_read: Rows already read.
    """
    return TableBudgetError(
        f"'{source_name}' is too large to load: {what} about {_human_size(estimate_bytes)} of "
        f"memory, more than the limit of {_human_size(limit_bytes)} for one table. Load fewer "
        f"rows or columns (for example a sample), or raise the limit with {TABLE_LIMIT_ENV} "
        f"(in MB; or {TABLE_LIMIT_KEY} under [studio] in .streamlit/secrets.toml) and restart "
        "the app.",
        estimate_bytes=estimate_bytes, limit_bytes=limit_bytes, rows_read=rows_read,
    )


def estimate_frame_bytes(frame: pd.DataFrame) -> int:
    """Estimate a frame's memory: its arrays plus each distinct text value once.

    pandas' ``memory_usage(deep=True)`` counts a repeated text value once per cell, but the
    readers (pandas' CSV parser, Arrow, openpyxl's shared strings) share one object per
    distinct value; counting every cell would refuse tables with repeated text that fit.

    Args:
        frame: The table, or its first rows (divide by ``len(frame)`` for bytes per row).

    Returns:
        The estimated size in bytes.
    """
    total = int(frame.memory_usage(index=False, deep=False).sum())
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if series.dtype != object:
            continue
        try:
            distinct = pd.unique(series.to_numpy())
        except TypeError:  # unhashable values (lists, dicts): count every one
            distinct = series.to_numpy()
        total += sum(map(sys.getsizeof, distinct))
    return total


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


# --------------------------------------------------------------------------- validation


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


# --------------------------------------------------------------------------- nested values


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


# --------------------------------------------------------------------------- messages


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


def _human_size(size: float) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover
