"""Privacy: does the synthetic data copy, or sit suspiciously close to, training rows?

Three measures, none of them O(n²) in memory:

* **Exact-match rate** — share of synthetic rows identical to some real training row on
  every evaluated column. Computed exactly on the full data by hashing rows (numbers
  compared as float64, dates to the nanosecond, categories as text). The same rate for
  the *held-out* rows is the natural baseline: in a table of a few categories, real rows
  repeat each other too, and a synthetic row matching a training row is then no leak.
* **DCR** (distance to closest record) — for each synthetic row, the distance to its
  nearest real training row; the same for held-out rows is the baseline (a held-out row
  is what "a new, never-seen person" looks like). Rows are encoded so every column weighs
  the same: numbers (dates as days, booleans 0/1) min-max scaled on the training ranges and
  clipped to 0..1; categories one-hot over the 20 most frequent training values plus an
  "other" slot, scaled by 1/√2 so two different categories are 1 apart; a missing value is
  0 plus a 0/1 "missing" indicator. The distance is Euclidean divided by √(columns), so it
  reads as a typical per-column difference (0 = identical row, 1 = every column maximally
  different). Nearest neighbours come from scikit-learn's ``NearestNeighbors`` (KD-tree for
  few dimensions, chunked brute force otherwise), so memory stays O(n·d).
* **DCR share** (DESIGN.md) — share of synthetic rows closer to a training row than to a
  held-out row. With as many training as held-out rows compared, an independent sample
  scores 0.5 and a copy of the training rows 1.0. When more training rows are compared
  (T) than held-out rows (H) — the full training set, up to ``max_rows``, is kept so DCR
  stays exact — an independent sample would score ``T / (T + H)`` by chance, so the share
  is rescaled to keep 0.5 = "as close to train as to new rows" and 1.0 = "every row closer
  to train". Ties (both distances equal) count as neutral. The raw share and the chance
  level are kept too.
* **NNDR** — for each synthetic row, distance to the nearest training row divided by the
  distance to the second nearest (0/0 counts as 1: the row matches several identical
  training rows, none singled out). Values near 0 single out one training record.

Sizes: training rows compared ``T = min(train, max_rows)``; held-out rows
``H = min(holdout, max_rows)``; synthetic rows ``min(synthetic, H)`` (the synthetic sample
has the held-out sample's size, so the two DCR histograms are comparable). All samples
are seeded and reported in :attr:`PrivacyResult.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation._common import (
    MISSING_LABEL,
    as_labels,
    as_numeric,
    evaluated_columns,
    evaluation_sdtype,
    sample_rows,
)
from core.progress import ProgressCallback, null_progress
from core.schema import TableSchema

__all__ = ["PrivacyResult", "encode_rows", "privacy_scores", "row_hashes"]

_TOP_CATEGORIES = 20
_HALF_ROOT = np.float32(1 / np.sqrt(2))
_OTHER = "\x00<other>"


@dataclass(frozen=True, eq=False)
class PrivacyResult:
    """Copying and closeness of synthetic rows to the training rows.

    Attributes:
        exact_match_rate: Share of synthetic rows identical to a training row (full data).
        exact_matches: Number of such synthetic rows.
        holdout_exact_match_rate: Share of held-out rows identical to a training row: the
            rate expected without any copying.
        dcr_synthetic: Distance of each sampled synthetic row to its closest training row.
        dcr_holdout: Same for each sampled held-out row (the baseline).
        dcr_share: Share of synthetic rows closer to train than to holdout, rescaled so that
            0.5 is ideal and 1.0 means every row is closer to train (memorisation).
        dcr_share_raw: The unrescaled share (ties count as the chance level).
        dcr_share_chance: What an independent sample would get: T / (T + H).
        nndr_median: Median nearest / second-nearest distance ratio of synthetic rows.
        nndr: The ratios themselves.
        rows: Rows used: ``train`` (T), ``holdout`` (H), ``synthetic`` (sampled),
            ``train_full``, ``synthetic_full`` (the exact match is on the full data).
        sampled: Whether any side was subsampled for the distances.
        explanations: One sentence per number: ``exact_match``, ``dcr``, ``dcr_share``,
            ``nndr``.
        columns: The columns compared.
    """

    exact_match_rate: float
    exact_matches: int
    holdout_exact_match_rate: float
    dcr_synthetic: np.ndarray
    dcr_holdout: np.ndarray
    dcr_share: float
    dcr_share_raw: float
    dcr_share_chance: float
    nndr_median: float
    nndr: np.ndarray
    rows: dict[str, int]
    sampled: bool
    explanations: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()

    @property
    def dcr_synthetic_median(self) -> float:
        """Median DCR of the synthetic rows."""
        return float(np.median(self.dcr_synthetic)) if len(self.dcr_synthetic) else np.nan

    @property
    def dcr_holdout_median(self) -> float:
        """Median DCR of the held-out rows."""
        return float(np.median(self.dcr_holdout)) if len(self.dcr_holdout) else np.nan


# --------------------------------------------------------------------------- hashing


def row_hashes(frame: pd.DataFrame, schema: TableSchema, columns: list[str]) -> np.ndarray:
    """One uint64 hash per row over ``columns``, equal for rows with equal values.

    Numbers (and booleans) compare as float64, dates as nanoseconds, categories as text,
    so dtype differences between real and synthetic frames do not hide a copy.
    """
    normal: dict[str, Any] = {}
    for name in columns:
        sdtype = evaluation_sdtype(schema.column(name))
        if sdtype == "categorical":
            normal[name] = as_labels(frame[name]).fillna(MISSING_LABEL).to_numpy()
        elif sdtype == "datetime":
            stamps = pd.to_datetime(frame[name], errors="coerce")
            if isinstance(stamps.dtype, pd.DatetimeTZDtype):
                stamps = stamps.dt.tz_convert(None)
            normal[name] = stamps.astype("datetime64[ns]").to_numpy().view("int64")
        else:
            values = as_numeric(frame[name])
            values[values == 0] = 0.0  # -0.0 and 0.0 are the same number
            normal[name] = values
    table = pd.DataFrame(normal)
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class _Encoder:
    columns: tuple[str, ...]
    numeric: dict[str, tuple[float, float]]
    categories: dict[str, tuple[str, ...]]
    indicators: tuple[str, ...]

    @property
    def width(self) -> int:
        return (
            len(self.numeric)
            + sum(len(levels) + 2 for levels in self.categories.values())
            + len(self.indicators)
        )


def _fit_encoder(
    train: pd.DataFrame, others: list[pd.DataFrame], schema: TableSchema, columns: list[str]
) -> _Encoder:
    numeric: dict[str, tuple[float, float]] = {}
    categories: dict[str, tuple[str, ...]] = {}
    indicators: list[str] = []
    for name in columns:
        if evaluation_sdtype(schema.column(name)) == "categorical":
            counts = as_labels(train[name]).value_counts()
            categories[name] = tuple(counts.index[:_TOP_CATEGORIES])
            continue
        values = as_numeric(train[name])
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        numeric[name] = (low, high)
        if np.isnan(values).any() or any(frame[name].isna().any() for frame in others):
            indicators.append(name)
    return _Encoder(tuple(columns), numeric, categories, tuple(indicators))


def encode_rows(frame: pd.DataFrame, encoder: _Encoder) -> np.ndarray:
    """Rows as float32 vectors (see the module docstring for the encoding)."""
    blocks: list[np.ndarray] = []
    rows = len(frame)
    for name, (low, high) in encoder.numeric.items():
        values = as_numeric(frame[name])
        span = high - low
        scaled = np.clip((values - low) / span, 0.0, 1.0) if span > 0 else np.zeros(rows)
        missing = np.isnan(values)
        scaled[missing] = 0.0
        blocks.append(scaled.astype(np.float32)[:, None])
        if name in encoder.indicators:
            blocks.append(missing.astype(np.float32)[:, None])
    for name, levels in encoder.categories.items():
        labels = as_labels(frame[name])
        missing = labels.isna().to_numpy()
        slots = pd.Categorical(labels.where(~missing, None), categories=list(levels)).codes
        slots = slots.astype(np.int64)
        slots[(slots < 0) & ~missing] = len(levels)  # unseen or rare: "other"
        slots[missing] = len(levels) + 1
        one_hot = np.zeros((rows, len(levels) + 2), dtype=np.float32)
        one_hot[np.arange(rows), slots] = _HALF_ROOT
        blocks.append(one_hot)
    if not blocks:
        return np.zeros((rows, 1), dtype=np.float32)
    return np.hstack(blocks)


def _neighbours(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Distances of each query row to its ``k`` nearest reference rows (sorted)."""
    from sklearn.neighbors import NearestNeighbors  # lazy

    k = min(k, len(reference))
    algorithm = "kd_tree" if reference.shape[1] <= 15 else "brute"
    index = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=-1).fit(reference)
    distances, _ = index.kneighbors(queries, n_neighbors=k)
    return distances


# --------------------------------------------------------------------------- main


def privacy_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    max_rows: int = 20_000,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> PrivacyResult:
    """Exact matches, distances to closest records, DCR share and NNDR.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows it never saw.
        synthetic: Generated rows.
        schema: The reviewed schema (only modelled columns are compared).
        max_rows: Bound on the training and held-out rows compared by distance.
        seed: Seed of the subsamples.
        progress: Called with (fraction, message).

    Raises:
        EvaluationError: No modelled column, or a frame lacks one.
    """
    report = progress or null_progress
    columns = evaluated_columns(schema, real_train, holdout, synthetic)

    report(0.0, "Looking for synthetic rows that copy a training row…")
    train_hashes = row_hashes(real_train, schema, columns)
    synthetic_hashes = row_hashes(synthetic, schema, columns)
    holdout_hashes = row_hashes(holdout, schema, columns)
    copied = np.isin(synthetic_hashes, train_hashes)
    exact_matches = int(copied.sum())
    exact_rate = float(copied.mean()) if len(copied) else 0.0
    holdout_rate = float(np.isin(holdout_hashes, train_hashes).mean()) if len(holdout) else 0.0

    report(0.1, "Encoding rows for distances…")
    train_rows = sample_rows(real_train, max_rows, seed)
    holdout_rows = sample_rows(holdout, max_rows, seed + 1)
    synthetic_rows = sample_rows(synthetic, len(holdout_rows), seed + 2)
    encoder = _fit_encoder(real_train, [holdout, synthetic], schema, columns)
    scale = np.float32(1 / np.sqrt(len(columns)))
    train_x = encode_rows(train_rows, encoder) * scale
    holdout_x = encode_rows(holdout_rows, encoder) * scale
    synthetic_x = encode_rows(synthetic_rows, encoder) * scale

    report(0.2, f"Distances of {len(synthetic_x):,} synthetic rows to {len(train_x):,} training rows…")
    to_train = _neighbours(train_x, synthetic_x, 2)
    report(0.55, "Distances of synthetic rows to held-out rows…")
    to_holdout = _neighbours(holdout_x, synthetic_x, 1)[:, 0]
    report(0.75, "Distances of held-out rows to training rows…")
    holdout_to_train = _neighbours(train_x, holdout_x, 1)[:, 0]
    report(0.95, "Summarising…")

    dcr_synthetic = to_train[:, 0].astype(float)
    dcr_holdout = holdout_to_train.astype(float)
    chance = len(train_x) / (len(train_x) + len(holdout_x))
    closer = dcr_synthetic < to_holdout
    tied = np.isclose(dcr_synthetic, to_holdout, rtol=0, atol=1e-6)
    raw_share = float(np.mean(np.where(tied, chance, closer.astype(float))))
    share = _rescale(raw_share, chance)

    if to_train.shape[1] > 1:
        nearest, second = to_train[:, 0].astype(float), to_train[:, 1].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            nndr = np.where(second > 1e-9, nearest / np.maximum(second, 1e-12), 1.0)
    else:
        nndr = np.ones(len(to_train))
    nndr_median = float(np.median(nndr)) if len(nndr) else float("nan")

    rows = {
        "train": len(train_x), "holdout": len(holdout_x), "synthetic": len(synthetic_x),
        "train_full": len(real_train), "holdout_full": len(holdout),
        "synthetic_full": len(synthetic),
    }
    sampled = (
        len(train_x) < len(real_train) or len(holdout_x) < len(holdout)
        or len(synthetic_x) < len(synthetic)
    )
    explanations = _explain(
        exact_rate, exact_matches, holdout_rate, dcr_synthetic, dcr_holdout, share,
        nndr_median, rows,
    )
    report(1.0, "Privacy done.")
    return PrivacyResult(
        exact_match_rate=exact_rate,
        exact_matches=exact_matches,
        holdout_exact_match_rate=holdout_rate,
        dcr_synthetic=dcr_synthetic,
        dcr_holdout=dcr_holdout,
        dcr_share=share,
        dcr_share_raw=raw_share,
        dcr_share_chance=chance,
        nndr_median=nndr_median,
        nndr=nndr,
        rows=rows,
        sampled=sampled,
        explanations=explanations,
        columns=tuple(columns),
    )


def _rescale(raw: float, chance: float) -> float:
    """Map ``chance`` → 0.5 and keep 0 → 0 and 1 → 1 (piecewise linear)."""
    if chance <= 0 or chance >= 1:
        return raw
    if raw >= chance:
        return 0.5 + 0.5 * (raw - chance) / (1 - chance)
    return 0.5 * raw / chance


def _explain(
    exact_rate: float,
    exact_matches: int,
    holdout_rate: float,
    dcr_synthetic: np.ndarray,
    dcr_holdout: np.ndarray,
    share: float,
    nndr_median: float,
    rows: dict[str, int],
) -> dict[str, str]:
    exact = (
        f"{exact_rate:.1%} of synthetic rows ({exact_matches:,} of {rows['synthetic_full']:,}) "
        f"are exact copies of a training row; {holdout_rate:.1%} of never-seen real rows also "
        "match a training row by chance."
    )
    synthetic_median = float(np.median(dcr_synthetic)) if len(dcr_synthetic) else float("nan")
    holdout_median = float(np.median(dcr_holdout)) if len(dcr_holdout) else float("nan")
    if synthetic_median < 0.5 * holdout_median:
        closeness = "much closer to training rows than new real rows are: a sign of copying"
    elif synthetic_median < 0.9 * holdout_median:
        closeness = "somewhat closer to training rows than new real rows are"
    else:
        closeness = "no closer to training rows than new real rows are"
    dcr = (
        f"The typical synthetic row is {synthetic_median:.3f} from its closest training row "
        f"vs {holdout_median:.3f} for held-out real rows: {closeness}."
    )
    share_text = (
        f"{share:.0%} DCR share: 50% means synthetic rows are as close to the training rows "
        "as to rows the model never saw (ideal); near 100% means they hug the training rows."
    )
    nndr = (
        f"Median nearest/second-nearest distance ratio {nndr_median:.2f}: values near 0 mean "
        "a synthetic row points at one specific training record; near 1 it sits among many."
    )
    return {"exact_match": exact, "dcr": dcr, "dcr_share": share_text, "nndr": nndr}
