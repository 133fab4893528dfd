"""Helpers shared by the evaluation modules (column selection, type coercion, sampling).

Every evaluation looks only at the columns whose real values the synthesizer learned
(:attr:`core.data.schema.TableSchema.modelled_columns`): faked PII, identifiers and dropped
columns are excluded, and :func:`excluded_columns` says why for each of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import ColumnSchema, TableSchema, as_timestamps
from core.errors import EvaluationError

__all__ = [
    "require_rows",
    "EVAL_SDTYPES",
    "MISSING_LABEL",
    "as_labels",
    "as_numeric",
    "as_timestamps",
    "evaluated_columns",
    "evaluation_sdtype",
    "excluded_columns",
    "is_continuous",
    "sample_rows",
    "single_threaded_native_code",
]

#: The four kinds the evaluation distinguishes.
EVAL_SDTYPES: tuple[str, ...] = ("numerical", "datetime", "categorical", "boolean")

#: The label a missing category gets where missing must be a value of its own.
MISSING_LABEL = "\x00<missing>"

_NS_PER_DAY = 86_400 * 10**9


def single_threaded_native_code() -> Any:
    """Limit OpenMP and BLAS to one thread inside a ``with`` block.

    scikit-learn's gradient boosting and nearest-neighbour search use OpenMP, whose
    threads spin while they wait: when another process (a training worker, the browser)
    takes a core, a 2-thread fit can run 10x slower than a 1-thread one. Random forests
    parallelise with ordinary threads (``n_jobs``) and are unaffected.
    """
    from threadpoolctl import threadpool_limits  # lazy: scikit-learn's dependency

    return threadpool_limits(limits=1)


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


def require_rows(real_train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                 who_needs: str, why: str) -> None:
    """Raise a plain :class:`EvaluationError` when one of the three sets has no rows.

    Args:
        real_train: The real training rows.
        holdout: The held-out real rows.
        synthetic: The synthetic rows.
        who_needs: "Privacy needs", "The privacy attacks need", ...
        why: Why, and the fix (without the final stop).
    """
    for what, frame in (("real training", real_train), ("held-out", holdout),
                        ("synthetic", synthetic)):
        if frame.empty:
            raise EvaluationError(f"{who_needs} {what} rows and there are none: {why}.")


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
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":  # plain numpy: no copy dance
        return series.to_numpy(dtype=float)
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = as_timestamps(series)
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.to_numpy(dtype="datetime64[ns]")
        values = stamps.view("int64").astype(float) / _NS_PER_DAY
        values[np.isnat(stamps)] = np.nan
        return values
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        return series.to_numpy(dtype=float, na_value=np.nan)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind == "boolean":
        values = np.full(len(series), np.nan)
        present = series.notna().to_numpy()
        values[present] = series[present].astype(bool).to_numpy(dtype=float)
        return values
    if kind in ("datetime", "datetime64", "date"):
        return as_numeric(as_timestamps(series))
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def as_labels(series: pd.Series) -> pd.Series:
    """A column as text labels (object dtype), missing values kept as NaN.

    Real and synthetic values are compared as text so that ``1`` and ``"1"`` or ``True``
    and ``"True"`` (what different readers and synthesizers produce) are the same category.
    """
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
        "string", "empty",
    ):
        return series  # already text: the common case, and the costly one to convert
    if series.dtype == bool:
        return pd.Series(np.where(series.to_numpy(), "True", "False").astype(object),
                         index=series.index, name=series.name)
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
