"""Helpers shared by the evaluation modules (column selection, type coercion, sampling).

Every evaluation looks only at the columns whose real values the synthesizer learned
(:attr:`core.schema.TableSchema.modelled_columns`): faked PII, identifiers and dropped
columns are excluded, and :func:`excluded_columns` says why for each of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import EvaluationError
from core.schema import ColumnSchema, TableSchema

__all__ = [
    "EVAL_SDTYPES",
    "MISSING_LABEL",
    "as_labels",
    "as_numeric",
    "evaluated_columns",
    "evaluation_sdtype",
    "excluded_columns",
    "is_continuous",
    "sample_rows",
]

#: The four kinds the evaluation distinguishes.
EVAL_SDTYPES: tuple[str, ...] = ("numerical", "datetime", "categorical", "boolean")

#: The label a missing category gets where missing must be a value of its own.
MISSING_LABEL = "\x00<missing>"

_NS_PER_DAY = 86_400 * 10**9


def evaluation_sdtype(column: ColumnSchema) -> str:
    """The kind a modelled column is evaluated as (PII kept as real values → categorical)."""
    if column.sdtype in EVAL_SDTYPES:
        return column.sdtype
    return "categorical"


def is_continuous(sdtype: str) -> bool:
    """Numbers and dates are compared as continuous values, the rest as categories."""
    return sdtype in ("numerical", "datetime")


def excluded_columns(schema: TableSchema) -> dict[str, str]:
    """Columns left out of every score, with the reason (for the UI and the report)."""
    reasons: dict[str, str] = {}
    modelled = set(schema.modelled_columns)
    for column in schema.columns:
        if column.name in modelled:
            continue
        if column.action == "drop":
            reasons[column.name] = "dropped before training"
        elif column.action == "fake":
            reasons[column.name] = "replaced with fake values (personal data), never learned"
        elif column.sdtype == "id":
            reasons[column.name] = "identifier: unique per row, nothing to compare"
        else:
            reasons[column.name] = "not learned by the synthesizer"
    return reasons


def evaluated_columns(schema: TableSchema, *frames: pd.DataFrame) -> list[str]:
    """The modelled columns, checked to be present in every frame.

    Raises:
        EvaluationError: No column to evaluate, or a frame lacks a modelled column.
    """
    columns = list(schema.modelled_columns)
    if not columns:
        raise EvaluationError(
            "No column is modelled (every column is dropped, faked or an identifier), so "
            "there is nothing to evaluate. Set at least one column's action to 'model'."
        )
    for frame in frames:
        missing = [name for name in columns if name not in frame.columns]
        if missing:
            raise EvaluationError(
                f"The data to evaluate lacks the column(s) {', '.join(map(repr, missing))}. "
                "Generate the synthetic rows again with the model trained on this schema."
            )
    return columns


def as_numeric(series: pd.Series) -> np.ndarray:
    """Float values of a column: dates as days since 1970, booleans as 0/1, missing as NaN."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.astype("datetime64[ns]")
        values = stamps.to_numpy(dtype="int64", na_value=0).astype(float) / _NS_PER_DAY
        values[stamps.isna().to_numpy()] = np.nan
        return values
    if pd.api.types.is_bool_dtype(series) or series.dtype == object:
        if series.dtype == object and not series.dropna().map(type).eq(bool).all():
            if series.dropna().map(lambda v: isinstance(v, pd.Timestamp)).any():
                return as_numeric(pd.to_datetime(series, errors="coerce"))
            return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def as_labels(series: pd.Series) -> pd.Series:
    """A column as text labels (object dtype), missing values kept as NaN.

    Real and synthetic values are compared as text so that ``1`` and ``"1"`` or ``True``
    and ``"True"`` (what different readers and synthesizers produce) are the same category.
    """
    mask = series.isna().to_numpy()
    labels = series.astype(object).astype(str).astype(object)
    if mask.any():
        labels[mask] = np.nan
    return labels


def sample_rows(
    frame: pd.DataFrame,
    max_rows: int,
    seed: int,
    stratify: pd.Series | None = None,
    min_per_class: int = 0,
) -> pd.DataFrame:
    """A seeded random subsample of at most ``max_rows`` rows (the frame itself if smaller).

    Args:
        frame: Rows to sample from.
        max_rows: Bound on the rows returned.
        seed: Random seed.
        stratify: Labels (aligned with ``frame``) whose shares the sample keeps.
        min_per_class: With ``stratify``, keep at least this many rows of every class
            (or all of them when the class is smaller).
    """
    if len(frame) <= max_rows:
        return frame
    rng = np.random.default_rng(seed)
    if stratify is None:
        positions = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
        return frame.iloc[positions]
    codes, _ = pd.factorize(stratify.astype(object).fillna(MISSING_LABEL), sort=True)
    fraction = max_rows / len(frame)
    chosen: list[np.ndarray] = []
    for code in range(codes.max() + 1):
        members = np.flatnonzero(codes == code)
        keep = max(min(len(members), min_per_class), round(len(members) * fraction))
        chosen.append(rng.choice(members, size=min(keep, len(members)), replace=False))
    return frame.iloc[np.sort(np.concatenate(chosen))]
