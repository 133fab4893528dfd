"""Privacy: does the synthetic data copy, or sit suspiciously close to, training rows?

Four measures, none of them O(n²) in memory:

* **Exact-match rate** — share of synthetic rows identical to some real training row on
  every evaluated column. Computed exactly on the full data by hashing rows (numbers
  compared as float64, dates to the nanosecond, categories as text). The same rate for
  the *held-out* rows is the natural baseline: in a table of a few categories, real rows
  repeat each other too, and a synthetic row matching a training row is then no leak.
* **DCR** (distance to closest record) — for each sampled synthetic row, the distance to
  its nearest real training row; the same for sampled held-out rows is the baseline (a
  held-out row is what "a new, never-seen person" looks like). Rows are encoded so every
  column weighs the same: numbers (dates as days, booleans 0/1) min-max scaled on the
  training ranges and clipped to 0..1, a missing number 0 plus a 0/1 "missing" indicator;
  categories one-hot over the 15 most frequent training values (+ an "other" and a
  "missing" slot when needed), scaled by 1/√2 so two different categories are 1 apart.
  The distance is Euclidean divided by √(columns), so it reads as a typical per-column
  difference (0 = identical row). Nearest neighbours are searched exactly, by blocks of
  float32 matrix products (memory O((n + m)·d) plus fixed-size blocks), and the distances
  of the winners recomputed in float64 — a copied row is at distance exactly 0.
* **DCR share** (docs/ARCHITECTURE.md, "Honest numbers") — share of synthetic rows closer to
  a training row than to a held-out row. With as many training as held-out rows searched, an
  independent sample scores 0.5 and a copy of the training rows 1.0. All training rows (up
  to ``max_reference_rows``) are searched, so a copied row always finds its source, which
  usually makes T training rows > H held-out rows; an independent sample then scores ``T /
  (T + H)`` by chance (the nearest of T + H exchangeable rows is equally likely to be any of
  them), so the share is rescaled piecewise-linearly to keep 0.5 = "as close to train as to
  new rows" and 1.0 = "every row closer to train". Ties count as chance. The raw share and
  the chance level are kept too.
* **NNDR** — for each synthetic row, distance to the nearest training row divided by the
  distance to the second nearest (0/0 counts as 1: the row matches several identical
  training rows, none singled out). Values near 0 single out one training record.

Sizes: training rows searched ``T = min(train, max_reference_rows)``, held-out rows
``H = min(holdout, max_reference_rows)``; query rows (synthetic, and held-out for the
baseline) ``min(holdout, synthetic, max_rows)``, fewer (never below 1,000) when the search
would exceed ``distance_budget`` multiply-adds. All samples are seeded and reported in
:attr:`PrivacyResult.rows`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.evaluation._common import (
    as_labels,
    as_numeric,
    as_timestamps,
    evaluated_columns,
    evaluation_sdtype,
    require_rows,
    sample_rows,
    single_threaded_native_code,
)
from core.progress import ProgressCallback, null_progress

__all__ = [
    "DISTANCE_BUDGET",
    "PrivacyResult",
    "encode_rows",
    "fit_row_encoder",
    "joint_row_hashes",
    "privacy_scores",
    "row_hashes",
]

_TOP_CATEGORIES = 15
_QUERY_CHUNK = 512
_MIN_QUERIES = 1_000
#: Default bound on the multiply-adds of the nearest-neighbour searches (~1–3 s).
DISTANCE_BUDGET = 2.5e10
_REFERENCE_CHUNK = 8192
_HALF_ROOT = np.float32(1 / np.sqrt(2))


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
    so dtype differences between real and synthetic frames do not hide a copy. Hashes
    are comparable between frames hashed in the same call of :func:`_joint_row_hashes`
    only; this single-frame form is for tests and one-off checks.
    """
    return _joint_row_hashes([frame], schema, columns)[0]


def _joint_row_hashes(
    frames: list[pd.DataFrame], schema: TableSchema, columns: list[str]
) -> list[np.ndarray]:
    """Row hashes of several frames, comparable with each other.

    Categories are replaced by integer codes of one vocabulary shared by the frames
    (hashing integers is much faster than hashing text).
    """
    sizes = [len(frame) for frame in frames]
    normal: dict[str, Any] = {}
    for name in columns:
        sdtype = evaluation_sdtype(schema.column(name))
        joined = pd.concat([frame[name] for frame in frames], ignore_index=True)
        if sdtype == "categorical":
            normal[name] = pd.factorize(as_labels(joined), use_na_sentinel=True)[0]
        elif sdtype == "datetime":
            normal[name] = as_timestamps(joined).to_numpy().view("int64")
        else:
            values = as_numeric(joined)
            values[values == 0] = 0.0  # -0.0 and 0.0 are the same number
            normal[name] = values
    hashes = pd.util.hash_pandas_object(pd.DataFrame(normal), index=False).to_numpy()
    return np.split(hashes, np.cumsum(sizes)[:-1])


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class _Encoder:
    """How rows become vectors: training ranges, kept categories, indicator columns."""

    numeric: dict[str, tuple[float, float]]
    categories: dict[str, tuple[tuple[str, ...], bool, bool]]  # levels, other?, missing?
    indicators: tuple[str, ...]


def _fit_encoder(
    train: pd.DataFrame, others: list[pd.DataFrame], schema: TableSchema, columns: list[str]
) -> _Encoder:
    numeric: dict[str, tuple[float, float]] = {}
    categories: dict[str, tuple[tuple[str, ...], bool, bool]] = {}
    indicators: list[str] = []
    for name in columns:
        if evaluation_sdtype(schema.column(name)) == "categorical":
            counts = as_labels(train[name]).value_counts(dropna=False)
            has_missing = bool(counts.index.isna().any()) or any(
                frame[name].isna().any() for frame in others
            )
            counts = counts[counts.index.notna()]
            levels = tuple(counts.index[:_TOP_CATEGORIES])
            has_other = len(counts) > len(levels) or any(
                not as_labels(frame[name]).dropna().isin(levels).all() for frame in others
            )
            categories[name] = (levels, has_other, has_missing)
            continue
        values = as_numeric(train[name])
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        numeric[name] = (low, high)
        if np.isnan(values).any() or any(frame[name].isna().any() for frame in others):
            indicators.append(name)
    return _Encoder(numeric, categories, tuple(indicators))


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
    for name, (levels, has_other, has_missing) in encoder.categories.items():
        labels = as_labels(frame[name])
        missing = labels.isna().to_numpy()
        slots = pd.Categorical(labels, categories=list(levels)).codes.astype(np.int64)
        width = len(levels)
        if has_other:
            slots[(slots < 0) & ~missing] = width
            width += 1
        if has_missing:
            slots[missing] = width
            width += 1
        one_hot = np.zeros((rows, max(width, 1)), dtype=np.float32)
        placed = slots >= 0
        one_hot[np.flatnonzero(placed), slots[placed]] = _HALF_ROOT
        blocks.append(one_hot)
    if not blocks:
        return np.zeros((rows, 1), dtype=np.float32)
    return np.hstack(blocks)


def _nearest_block(
    reference: np.ndarray, reference_norms: np.ndarray, queries: np.ndarray, k: int
) -> np.ndarray:
    """Exact distances of ``queries`` to their ``k`` (1 or 2) nearest reference rows.

    Candidates come from float32 matrix products over reference chunks
    (``|q|² + |r|² − 2 q·r``, memory ``O(chunk²)``); the distances of the chosen
    candidates are then recomputed exactly, so an identical row is at distance 0.
    """
    query_norms = np.einsum("ij,ij->i", queries, queries)
    candidates: list[np.ndarray] = []
    rows = np.arange(len(queries))
    for start in range(0, len(reference), _REFERENCE_CHUNK):
        block = reference[start: start + _REFERENCE_CHUNK]
        squared = queries @ block.T
        squared *= -2.0
        squared += query_norms[:, None]
        squared += reference_norms[None, start: start + len(block)]
        first = np.argmin(squared, axis=1)
        candidates.append(first + start)
        if k > 1 and len(block) > 1:
            squared[rows, first] = np.inf
            candidates.append(np.argmin(squared, axis=1) + start)
    chosen = np.stack(candidates, axis=1)  # (queries, candidates)
    differences = reference[chosen].astype(np.float64) - queries[:, None, :].astype(np.float64)
    distances = np.sqrt(np.einsum("ijk,ijk->ij", differences, differences))
    distances.sort(axis=1)
    if distances.shape[1] < k:  # a single reference row: no second neighbour
        distances = np.hstack([distances, np.full((len(queries), 1), np.inf)])
    return distances[:, :k]


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Distances of each query row to its ``k`` nearest reference rows, sorted (k ≤ 2).

    Memory stays ``O((n + m)·d)`` plus fixed-size chunks: the query rows are processed in
    blocks on a thread per core, each with a single-threaded BLAS (threads that spin while
    waiting are what makes shared machines slow, see
    :func:`~core.evaluation._common.single_threaded_native_code`).
    """
    from concurrent.futures import ThreadPoolExecutor

    if len(queries) == 0 or len(reference) == 0:
        return np.full((len(queries), k), np.inf)
    reference_norms = np.einsum("ij,ij->i", reference, reference)
    blocks = [queries[start: start + _QUERY_CHUNK]
              for start in range(0, len(queries), _QUERY_CHUNK)]
    workers = max(1, min(len(blocks), os.cpu_count() or 1))
    with single_threaded_native_code(), ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(
            lambda block: _nearest_block(reference, reference_norms, block, k), blocks
        ))
    return np.vstack(results)


# --------------------------------------------------------------------------- main


def privacy_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    max_rows: int = 5_000,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    max_reference_rows: int = 100_000,
    distance_budget: float = DISTANCE_BUDGET,
) -> PrivacyResult:
    """Exact matches, distances to closest records, DCR share and NNDR.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows it never saw.
        synthetic: Generated rows.
        schema: The reviewed schema (only modelled columns are compared).
        max_rows: Bound on the synthetic (and held-out) rows whose distances are measured.
        seed: Seed of the subsamples.
        progress: Called with (fraction, message).
        max_reference_rows: Bound on the training and held-out rows searched for the
            nearest one (all of them up to this, so a copied row finds its source).
        distance_budget: Bound on the multiply-adds of the searches; fewer query rows
            (never below 1,000) are measured when the tables are wide and long.

    Raises:
        EvaluationError: No modelled column, a frame lacks one, or a frame is empty.
    """
    report = progress or null_progress
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    require_rows(real_train, holdout, synthetic, "Privacy needs",
                 "the held-out rows are the baseline every distance is compared with. Keep a "
                 "held-out share when splitting")

    report(0.0, "Looking for synthetic rows that copy a training row…")
    train_hashes, synthetic_hashes, holdout_hashes = _joint_row_hashes(
        [real_train, synthetic, holdout], schema, columns
    )
    copied = np.isin(synthetic_hashes, train_hashes)
    exact_matches = int(copied.sum())
    exact_rate = float(copied.mean()) if len(copied) else 0.0
    holdout_rate = float(np.isin(holdout_hashes, train_hashes).mean()) if len(holdout) else 0.0

    report(0.1, "Encoding rows for distances…")
    train_rows = sample_rows(real_train, max_reference_rows, seed)
    holdout_rows = sample_rows(holdout, max_reference_rows, seed + 1)
    encoder = _fit_encoder(real_train, [holdout, synthetic], schema, columns)
    scale = np.float32(1 / np.sqrt(len(columns)))
    train_x = encode_rows(train_rows, encoder) * scale
    holdout_x = encode_rows(holdout_rows, encoder) * scale
    work_per_query = train_x.shape[1] * (2 * len(train_x) + len(holdout_x))
    affordable = int(distance_budget // max(work_per_query, 1))
    queries = min(len(holdout_x), len(synthetic), max(min(max_rows, affordable), _MIN_QUERIES))
    synthetic_x = encode_rows(sample_rows(synthetic, queries, seed + 2), encoder) * scale
    if queries < len(holdout_x):
        picked = np.random.default_rng(seed + 3).choice(len(holdout_x), queries, replace=False)
        holdout_queries = holdout_x[np.sort(picked)]
    else:
        holdout_queries = holdout_x

    report(0.2, f"Distances of {len(synthetic_x):,} synthetic rows to {len(train_x):,} "
                "training rows…")
    to_train = _nearest(train_x, synthetic_x, 2)
    report(0.5, f"Distances of synthetic rows to {len(holdout_x):,} held-out rows…")
    to_holdout = _nearest(holdout_x, synthetic_x, 1)[:, 0]
    report(0.7, "Distances of held-out rows to training rows…")
    holdout_to_train = _nearest(train_x, holdout_queries, 1)[:, 0]
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
        "holdout_queries": len(holdout_queries), "train_full": len(real_train),
        "holdout_full": len(holdout), "synthetic_full": len(synthetic),
    }
    sampled = (
        len(train_x) < len(real_train) or len(holdout_queries) < len(holdout)
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
        f"{share:.0%} closer-to-training share: 50% means synthetic rows are as close to the "
        "training rows as to rows the model never saw (ideal); near 100% means they hug the "
        "training rows."
    )
    nndr = (
        f"Median nearest/second-nearest distance ratio {nndr_median:.2f}: values near 0 mean "
        "a synthetic row points at one specific training record; near 1 it sits among many."
    )
    return {"exact_match": exact, "dcr": dcr, "dcr_share": share_text, "nndr": nndr}


def fit_row_encoder(train: pd.DataFrame, others: list[pd.DataFrame], schema: TableSchema,
                    columns: list[str]) -> _Encoder:
    """The distance encoding of :func:`privacy_scores`, fitted on ``train`` (public)."""
    return _fit_encoder(train, others, schema, columns)


def joint_row_hashes(frames: list[pd.DataFrame], schema: TableSchema, columns: list[str]
                     ) -> list[np.ndarray]:
    """Row hashes comparable across ``frames`` (equal values → equal hashes)."""
    return _joint_row_hashes(frames, schema, columns)
