"""Per-column profile of a table: type, missing share, distinct values, summary stats."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["ColumnProfile", "profile_table"]

_TOP_CATEGORIES = 5


@dataclass(frozen=True)
class ColumnProfile:
    """Summary of one column, ready to show in a table.

    Attributes:
        name: Column name.
        kind: "number", "whole number", "true/false", "date/time" or "text".
        missing_share: Fraction of empty cells (0..1).
        distinct: Number of distinct non-missing values.
        summary: Short human summary: "min 18 · max 79 · mean 44.2" or top categories.
    """

    name: str
    kind: str
    missing_share: float
    distinct: int
    summary: str


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "true/false"
    if pd.api.types.is_integer_dtype(series):
        return "whole number"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date/time"
    return "text"


def _format_number(value: float) -> str:
    if pd.isna(value):
        return "–"
    if abs(value) >= 1e6 or (0 < abs(value) < 1e-3):
        return f"{value:.3g}"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _summary(series: pd.Series, kind: str) -> str:
    values = series.dropna()
    if values.empty:
        return "no values"
    if kind in ("number", "whole number"):
        return (
            f"min {_format_number(values.min())} · max {_format_number(values.max())} · "
            f"mean {_format_number(values.mean())}"
        )
    if kind == "date/time":
        return f"{values.min():%Y-%m-%d} → {values.max():%Y-%m-%d}"
    counts = values.astype(str).value_counts(normalize=True).head(_TOP_CATEGORIES)
    return " · ".join(f"{label[:24]} {share:.0%}" for label, share in counts.items())


def profile_table(frame: pd.DataFrame) -> list[ColumnProfile]:
    """Profile every column of ``frame``.

    Args:
        frame: Any table.

    Returns:
        One profile per column, in column order.
    """
    profiles = []
    rows = max(len(frame), 1)
    for name in frame.columns:
        series = frame[name]
        kind = _kind(series)
        try:
            distinct = int(series.nunique(dropna=True))
        except TypeError:  # unhashable cells (lists from JSON)
            distinct = int(series.astype(str).nunique(dropna=True))
        profiles.append(
            ColumnProfile(
                name=str(name),
                kind=kind,
                missing_share=float(series.isna().sum()) / rows,
                distinct=distinct,
                summary=_summary(series, kind),
            )
        )
    return profiles
