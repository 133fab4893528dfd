"""Fidelity: do the synthetic columns and column pairs look like the real ones?

Three views, from cheap to slow:

* :func:`column_scores` — one score per column, the metrics of SDMetrics' "Column Shapes":
  ``KSComplement`` (1 − the Kolmogorov–Smirnov statistic) for numbers and dates,
  ``TVComplement`` (1 − the total variation distance of the category shares) for
  categories and booleans. Both are computed here with an equivalent vectorised
  implementation (numpy ``searchsorted`` / pandas ``value_counts``) on the full data; the
  tests check they equal ``sdmetrics.single_column.KSComplement/TVComplement``.
* :func:`correlation_matrices` — how strongly every pair of columns is related, in the
  real and the synthetic data, and the absolute difference. See the function for the
  measure used per pair kind and its range.
* :func:`quality_and_diagnostic` — SDMetrics' own ``QualityReport`` and
  ``DiagnosticReport`` (the unified reports of ``sdmetrics.reports``). Their cost grows
  with the number of column *pairs* (≈ 10–25 ms per pair in pandas), so they run on a
  seeded subsample of at most ``max_rows`` rows per side; the result records it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from core.data.schema import TABLE_NAME, TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluated_columns,
    evaluation_sdtype,
    excluded_columns,
    is_continuous,
    sample_rows,
)
from core.progress import ProgressCallback, null_progress

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "RELATED_ASSOCIATION",
    "RELATED_CORRELATION",
    "ColumnScore",
    "CorrelationResult",
    "QualityResult",
    "column_score",
    "column_scores",
    "correlation_matrices",
    "quality_and_diagnostic",
    "quality_rows_bound",
    "run_sdmetrics_reports",
]

#: SDMetrics 0.32 counts a numeric pair in "Column Pair Trends" only when the real
#: |correlation| exceeds this ...
RELATED_CORRELATION = 0.5
#: ... and a pair involving a category only when the real association exceeds this.
RELATED_ASSOCIATION = 0.3

_MAX_DECIMALS = 14  # sdmetrics' KSComplement rounds to sys.float_info.dig - 1 decimals
_MAX_LEVELS = 50  # categories beyond the 50 most frequent are pooled for associations


# --------------------------------------------------------------------------- column shapes


@dataclass(frozen=True)
class ColumnScore:
    """How well one synthetic column matches the real one.

    Attributes:
        column: Column name.
        sdtype: ``numerical``, ``datetime``, ``categorical`` or ``boolean``.
        metric: ``KSComplement`` (numbers, dates) or ``TVComplement`` (categories, booleans).
        score: 0..1, 1 = same distribution; NaN when neither side has a value.
        explanation: One plain-language sentence about the number.
    """

    column: str
    sdtype: str
    metric: str
    score: float
    explanation: str


def _ks_statistic(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov D (identical to ``scipy.stats.ks_2samp``'s statistic)."""
    real = np.sort(real)
    synthetic = np.sort(synthetic)
    points = np.concatenate([real, synthetic])
    cdf_real = np.searchsorted(real, points, side="right") / len(real)
    cdf_synthetic = np.searchsorted(synthetic, points, side="right") / len(synthetic)
    return float(np.max(np.abs(cdf_real - cdf_synthetic)))


def _missing_note(real_missing: float, synthetic_missing: float) -> str:
    if abs(real_missing - synthetic_missing) < 0.01:
        return ""
    return (
        f" Missing values: {real_missing:.0%} of real rows, {synthetic_missing:.0%} of "
        "synthetic rows (not part of this score)."
    )


def _missing_share(kept: int, total: int) -> float:
    return 1.0 - kept / total if total else 0.0


def column_score(real: pd.Series, synthetic: pd.Series, sdtype: str) -> ColumnScore:
    """Score one column (see :func:`column_scores`).

    Args:
        real: The real column.
        synthetic: The synthetic column.
        sdtype: Its evaluation kind (``numerical``, ``datetime``, ``categorical``, ``boolean``).
    """
    name = str(real.name)
    if is_continuous(sdtype):
        real_values = as_numeric(real)
        synthetic_values = as_numeric(synthetic)
        real_values = np.round(real_values[~np.isnan(real_values)], _MAX_DECIMALS)
        synthetic_values = np.round(synthetic_values[~np.isnan(synthetic_values)], _MAX_DECIMALS)
        missing = _missing_note(
            _missing_share(len(real_values), len(real)),
            _missing_share(len(synthetic_values), len(synthetic)),
        )
        if not len(real_values) or not len(synthetic_values):
            return _empty_score(name, sdtype, "KSComplement", real_values, synthetic_values)
        gap = _ks_statistic(real_values, synthetic_values)
        score = 1.0 - gap
        explanation = (
            f"The real and synthetic cumulative distributions of '{name}' are at most "
            f"{gap:.0%} of rows apart (column score {score:.0%}; 100% = identical)."
        )
        return ColumnScore(name, sdtype, "KSComplement", score, explanation + missing)

    real_labels = as_labels(real).dropna()
    synthetic_labels = as_labels(synthetic).dropna()
    missing = _missing_note(
        _missing_share(len(real_labels), len(real)),
        _missing_share(len(synthetic_labels), len(synthetic)),
    )
    if real_labels.empty or synthetic_labels.empty:
        return _empty_score(name, sdtype, "TVComplement", real_labels, synthetic_labels)
    real_shares = real_labels.value_counts(normalize=True)
    synthetic_shares = synthetic_labels.value_counts(normalize=True)
    aligned = pd.concat([real_shares, synthetic_shares], axis=1).fillna(0.0).to_numpy()
    distance = 0.5 * float(np.abs(aligned[:, 0] - aligned[:, 1]).sum())
    score = 1.0 - distance
    explanation = (
        f"{distance:.0%} of the synthetic rows would need another '{name}' value to match "
        f"the real shares of each category (column score {score:.0%}; 100% = identical)."
    )
    unseen = float(synthetic_shares[~synthetic_shares.index.isin(real_shares.index)].sum())
    if unseen >= 0.005:
        explanation += (
            f" {unseen:.0%} of synthetic values are categories absent from the real data."
        )
    return ColumnScore(name, sdtype, "TVComplement", score, explanation + missing)


def _empty_score(
    name: str, sdtype: str, metric: str, real: Any, synthetic: Any
) -> ColumnScore:
    if len(real) and not len(synthetic):
        return ColumnScore(
            name, sdtype, metric, 0.0,
            f"Every synthetic value of '{name}' is missing while the real column has values.",
        )
    if len(synthetic) and not len(real):
        return ColumnScore(
            name, sdtype, metric, 0.0,
            f"The real '{name}' is always missing but the synthetic column has values.",
        )
    return ColumnScore(
        name, sdtype, metric, float("nan"),
        f"'{name}' is missing in every real and synthetic row: nothing to compare.",
    )


def column_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema
) -> list[ColumnScore]:
    """Score every modelled column, worst first (columns that cannot be scored last).

    Args:
        real: The real rows the synthesizer trained on.
        synthetic: The generated rows.
        schema: The reviewed schema (only ``modelled_columns`` are scored).

    Raises:
        EvaluationError: No modelled column, or the synthetic data lacks one.
    """
    columns = evaluated_columns(schema, real, synthetic)
    scores = [
        column_score(real[name], synthetic[name], evaluation_sdtype(schema.column(name)))
        for name in columns
    ]
    return sorted(scores, key=lambda s: (np.isnan(s.score), s.score))


# --------------------------------------------------------------------------- pairs


@dataclass(frozen=True, eq=False)
class CorrelationResult:
    """Pairwise relations in the real and synthetic data.

    Measures (each symmetric; the diagonal is 1):

    * number–number (dates count as numbers): Spearman rank or Pearson correlation,
      **−1..1**; pairs with a missing value are left out.
    * category–category (booleans count as categories, missing is a category of its
      own): bias-corrected Cramér's V (Bergsma 2013), **0..1**.
    * number–category: bias-corrected correlation ratio η (square root of epsilon
      squared: the share of the number's variance explained by the category), **0..1**.

    A pair involving a constant column (or too few values) has relation 0.

    Attributes:
        method: ``spearman`` or ``pearson`` (number–number pairs).
        columns: The columns, in schema order (rows and columns of the matrices).
        real: Relations in the real data.
        synthetic: Relations in the synthetic data.
        difference: ``|real − synthetic|``: 0..2 for number pairs, 0..1 for the others.
        pairs: One row per pair, worst first: ``column_1``, ``column_2``, ``measure``,
            ``real``, ``synthetic``, ``abs_diff``, ``score`` (similarity 0..1:
            ``1 − abs_diff/2`` for correlations, ``1 − abs_diff`` for associations,
            the per-pair rule of SDMetrics' Column Pair Trends).
        pair_score: Mean pair similarity over every pair (NaN if no pair can be scored).
        related_pair_score: Mean over the pairs that are clearly related in the real data
            (|correlation| > 0.5 or association > 0.3, SDMetrics 0.32's rule); None when
            no pair is.
        worst_pairs: The 5 least similar pairs (first rows of ``pairs``).
        rows_used: Rows of each side the relations were computed on.
        explanation: One sentence about the result.
    """

    method: str
    columns: list[str]
    real: pd.DataFrame
    synthetic: pd.DataFrame
    difference: pd.DataFrame
    pairs: pd.DataFrame
    pair_score: float
    related_pair_score: float | None
    worst_pairs: pd.DataFrame
    rows_used: int
    explanation: str


def _level_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a category column (missing is a level; rare levels pooled)."""
    codes, uniques = pd.factorize(as_labels(series), use_na_sentinel=True)
    codes = codes.astype(np.int64)
    levels = len(uniques)
    if (codes < 0).any():
        codes[codes < 0] = levels
        levels += 1
    if levels > _MAX_LEVELS:
        counts = np.bincount(codes, minlength=levels)
        keep = np.argsort(-counts, kind="stable")[: _MAX_LEVELS - 1]
        remap = np.full(levels, _MAX_LEVELS - 1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        codes, levels = remap[codes], _MAX_LEVELS
    return codes, levels


def _cramers_v(codes_a: np.ndarray, levels_a: int, codes_b: np.ndarray, levels_b: int) -> float:
    n = len(codes_a)
    if n < 2 or levels_a < 2 or levels_b < 2:
        return float("nan")
    table = np.bincount(codes_a * levels_b + codes_b, minlength=levels_a * levels_b)
    table = table.reshape(levels_a, levels_b).astype(float)
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    rows_kept = rows[:, 0] > 0
    cols_kept = cols[0, :] > 0
    r, k = int(rows_kept.sum()), int(cols_kept.sum())
    if r < 2 or k < 2:
        return float("nan")
    expected = rows @ cols / n
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum(np.where(expected > 0, (table - expected) ** 2 / expected, 0.0))
    phi2 = chi2 / n
    # Bergsma's bias correction: an independent pair scores ~0 instead of ~sqrt(k/n).
    phi2_corrected = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    r_corrected = r - (r - 1) ** 2 / (n - 1)
    k_corrected = k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corrected - 1, r_corrected - 1)
    if denominator <= 0:
        return float("nan")
    return float(min(1.0, np.sqrt(phi2_corrected / denominator)))


@dataclass(frozen=True)
class _Centred:
    """A number column prepared for correlation ratios against many category columns."""

    values: np.ndarray  # centred on the mean, 0 where missing
    valid: np.ndarray | None  # None when nothing is missing
    count: int
    total: float  # total sum of squares


def _centred(values: np.ndarray) -> _Centred:
    valid = ~np.isnan(values)
    count = int(valid.sum())
    if count == 0:
        return _Centred(np.zeros_like(values), valid, 0, 0.0)
    centred = np.where(valid, values - values[valid].mean(), 0.0)
    return _Centred(centred, None if valid.all() else valid, count,
                    float(np.dot(centred, centred)))


def _correlation_ratio(number: _Centred, codes: np.ndarray, levels: int) -> float:
    if number.count < 3 or number.total <= 0:
        return float("nan")
    if number.valid is None:
        counts = np.bincount(codes, minlength=levels).astype(float)
        sums = np.bincount(codes, weights=number.values, minlength=levels)
    else:
        kept = codes[number.valid]
        counts = np.bincount(kept, minlength=levels).astype(float)
        sums = np.bincount(kept, weights=number.values[number.valid], minlength=levels)
    present = counts > 0
    groups = int(present.sum())
    if groups < 2 or number.count <= groups:
        return float("nan")
    between = float((sums[present] ** 2 / counts[present]).sum())
    within_mean_square = max(number.total - between, 0.0) / (number.count - groups)
    epsilon_squared = (between - (groups - 1) * within_mean_square) / number.total
    return float(np.sqrt(min(max(epsilon_squared, 0.0), 1.0)))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties averaged (like ``scipy.stats.rankdata``), NaN kept."""
    ranks = np.full(len(values), np.nan)
    valid = ~np.isnan(values)
    if not valid.any():
        return ranks
    unique, inverse, counts = np.unique(values[valid], return_inverse=True, return_counts=True)
    del unique
    upper = np.cumsum(counts)
    ranks[valid] = (upper - (counts - 1) / 2.0)[inverse]
    return ranks


def _relations(
    frame: pd.DataFrame, columns: list[str], kinds: dict[str, str], method: str
) -> np.ndarray:
    size = len(columns)
    matrix = np.full((size, size), np.nan)
    np.fill_diagonal(matrix, 1.0)
    numeric = [c for c in columns if is_continuous(kinds[c])]
    numbers: dict[str, np.ndarray] = {c: as_numeric(frame[c]) for c in numeric}
    levels: dict[str, tuple[np.ndarray, int]] = {
        c: _level_codes(frame[c]) for c in columns if c not in numbers
    }
    position = {c: i for i, c in enumerate(columns)}
    if len(numeric) >= 2:
        if method == "spearman":
            block = pd.DataFrame({c: _average_ranks(v) for c, v in numbers.items()})
        else:
            block = pd.DataFrame(numbers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            correlations = block.corr(method="pearson", min_periods=3).to_numpy()
        index = [position[c] for c in numeric]
        matrix[np.ix_(index, index)] = correlations
        np.fill_diagonal(matrix, 1.0)
    centred = {c: _centred(values) for c, values in numbers.items()}
    for first, second in itertools.combinations(columns, 2):
        if first in numbers and second in numbers:
            continue
        if first in numbers:
            value = _correlation_ratio(centred[first], *levels[second])
        elif second in numbers:
            value = _correlation_ratio(centred[second], *levels[first])
        else:
            value = _cramers_v(*levels[first], *levels[second])
        matrix[position[first], position[second]] = value
        matrix[position[second], position[first]] = value
    if len(frame) >= 3:
        # A constant column (e.g. a synthetic target that lost its rare class) cannot
        # relate to anything: its relations are 0, so losing a real relation shows.
        matrix = np.nan_to_num(matrix, nan=0.0)
    return np.clip(matrix, -1.0, 1.0)


def correlation_matrices(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    method: Literal["spearman", "pearson"] = "spearman",
    max_rows: int = 50_000,
    seed: int = 0,
) -> CorrelationResult:
    """Relations between every pair of modelled columns, real vs synthetic.

    Args:
        real: The real rows the synthesizer trained on.
        synthetic: The generated rows.
        schema: The reviewed schema.
        method: ``spearman`` (rank, robust to skew; default) or ``pearson`` for number pairs.
        max_rows: Bound on the rows used per side (a seeded subsample beyond it).
        seed: Seed of that subsample.

    Returns:
        The matrices, the pairs worst first and the pair scores; see
        :class:`CorrelationResult` for the measures and their ranges.

    Raises:
        EvaluationError: Unknown method, no modelled column, or a column is missing.
    """
    if method not in ("spearman", "pearson"):
        raise EvaluationError(
            f"Correlation method must be 'spearman' or 'pearson', not {method!r}."
        )
    columns = evaluated_columns(schema, real, synthetic)
    kinds = {c: evaluation_sdtype(schema.column(c)) for c in columns}
    real_rows = sample_rows(real[columns], max_rows, seed)
    synthetic_rows = sample_rows(synthetic[columns], max_rows, seed + 1)
    real_matrix = _relations(real_rows, columns, kinds, method)
    synthetic_matrix = _relations(synthetic_rows, columns, kinds, method)
    difference = np.abs(real_matrix - synthetic_matrix)
    np.fill_diagonal(difference, 0.0)

    records = []
    for i, j in itertools.combinations(range(len(columns)), 2):
        both_numeric = is_continuous(kinds[columns[i]]) and is_continuous(kinds[columns[j]])
        if both_numeric:
            measure = method
        elif is_continuous(kinds[columns[i]]) or is_continuous(kinds[columns[j]]):
            measure = "correlation_ratio"
        else:
            measure = "cramers_v"
        gap = difference[i, j]
        score = 1.0 - gap / 2.0 if both_numeric else 1.0 - gap
        related = abs(real_matrix[i, j]) > (
            RELATED_CORRELATION if both_numeric else RELATED_ASSOCIATION
        )
        records.append(
            {
                "column_1": columns[i],
                "column_2": columns[j],
                "measure": measure,
                "real": real_matrix[i, j],
                "synthetic": synthetic_matrix[i, j],
                "abs_diff": gap,
                "score": score,
                "related_in_real": bool(related),
            }
        )
    pairs = pd.DataFrame.from_records(
        records,
        columns=["column_1", "column_2", "measure", "real", "synthetic", "abs_diff", "score",
                 "related_in_real"],
    )
    pairs = pairs.sort_values("score", na_position="last", kind="stable").reset_index(drop=True)
    scored = pairs.dropna(subset=["score"])
    pair_score = float(scored["score"].mean()) if len(scored) else float("nan")
    related = scored[scored["related_in_real"]]
    related_pair_score = float(related["score"].mean()) if len(related) else None
    worst = scored.head(5).reset_index(drop=True)
    if len(scored):
        top = worst.iloc[0]
        explanation = (
            f"Pairs of columns keep {pair_score:.0%} of their real relations on average; the "
            f"largest change is '{top['column_1']}' × '{top['column_2']}' "
            f"({top['measure'].replace('_', ' ')} {top['real']:.2f} real vs "
            f"{top['synthetic']:.2f} synthetic)."
        )
    else:
        explanation = "No pair of columns could be compared (fewer than two usable columns)."

    def frame_of(matrix: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(matrix, index=columns, columns=columns)

    return CorrelationResult(
        method=method,
        columns=columns,
        real=frame_of(real_matrix),
        synthetic=frame_of(synthetic_matrix),
        difference=frame_of(difference),
        pairs=pairs,
        pair_score=pair_score,
        related_pair_score=related_pair_score,
        worst_pairs=worst,
        rows_used=min(len(real_rows), len(synthetic_rows)),
        explanation=explanation,
    )


# --------------------------------------------------------------------------- SDMetrics


@dataclass(frozen=True, eq=False)
class QualityResult:
    """SDMetrics' QualityReport and DiagnosticReport on (a sample of) the data.

    Attributes:
        quality_score: Overall quality, 0..1 (mean of the computed properties).
        diagnostic_score: Overall diagnostic score, 0..1 (validity and structure; should
            be 1.0 for any SDV synthesizer).
        quality_properties: ``Property``, ``Score`` (Column Shapes, Column Pair Trends).
        diagnostic_properties: ``Property``, ``Score`` (Data Validity, Data Structure).
        details: Per-property detail tables from SDMetrics, keyed by property name.
        real_rows_used: Real rows the reports were computed on.
        synthetic_rows_used: Synthetic rows the reports were computed on.
        sampled: Whether either side was subsampled (seeded).
        notes: Plain sentences for the UI ("computed on a 5,000-row sample", ...).
        excluded_columns: Columns not evaluated and why.
        reports: The SDMetrics report objects (``quality``, ``diagnostic``), for
            :meth:`figure`; building all figures eagerly costs seconds, so they are made
            on demand.
    """

    quality_score: float
    diagnostic_score: float
    quality_properties: pd.DataFrame
    diagnostic_properties: pd.DataFrame
    details: dict[str, pd.DataFrame]
    real_rows_used: int
    synthetic_rows_used: int
    sampled: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict, repr=False)
    _figures: dict[str, Any] = field(default_factory=dict, repr=False, init=False)

    @property
    def sample_note(self) -> str:
        """"Computed on a 5,000-row sample of each side (seeded)." or ""."""
        if not self.sampled:
            return ""
        return f"Computed on a {self.real_rows_used:,}-row sample of each side (seeded)."

    @property
    def property_names(self) -> list[str]:
        """Every computed property: quality ones first, then diagnostic ones."""
        return [*self.quality_properties["Property"], *self.diagnostic_properties["Property"]]

    def figure(self, property_name: str) -> go.Figure | None:
        """SDMetrics' plotly figure of one property (None if SDMetrics has none for it)."""
        if property_name not in self._figures:
            figure = None
            for report in self.reports.values():
                if property_name in list(report.get_properties()["Property"]):
                    with contextlib.suppress(Exception), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        figure = report.get_visualization(property_name, table_name=TABLE_NAME)
                    break
            self._figures[property_name] = figure
        return self._figures[property_name]

    def figures(self) -> dict[str, go.Figure]:
        """Every property's figure that SDMetrics can draw, keyed by property name."""
        drawn = {name: self.figure(name) for name in self.property_names}
        return {name: figure for name, figure in drawn.items() if figure is not None}


def quality_rows_bound(columns: int) -> int:
    """Default rows per side for the SDMetrics reports: fewer when there are many pairs.

    The reports cost ~10–40 ms per column pair (pandas overhead) plus time per row, so
    the bound keeps rows × pairs near 2.5 million: 20,000 rows up to 16 columns,
    5,700 rows at 30 columns, never below 2,000.
    """
    pairs = max(1, columns * (columns - 1) // 2)
    return int(min(20_000, max(2_000, 2_500_000 // pairs)))


def _sdmetrics_metadata(schema: TableSchema, columns: list[str]) -> dict[str, Any]:
    described: dict[str, dict[str, Any]] = {}
    for name in columns:
        sdtype = evaluation_sdtype(schema.column(name))
        described[name] = {"sdtype": sdtype}
        if sdtype == "datetime":
            described[name]["datetime_format"] = "%Y-%m-%d %H:%M:%S"
    return {
        "tables": {TABLE_NAME: {"columns": described}},
        "relationships": [],
        "METADATA_SPEC_VERSION": "V2",
    }


def _for_sdmetrics(frame: pd.DataFrame, schema: TableSchema, columns: list[str]) -> pd.DataFrame:
    """Plain dtypes SDMetrics handles everywhere (no nullable extension types)."""
    prepared = pd.DataFrame(index=frame.index)
    for name in columns:
        sdtype = evaluation_sdtype(schema.column(name))
        series = frame[name]
        if sdtype == "numerical":
            prepared[name] = as_numeric(series)
        elif sdtype == "datetime":
            prepared[name] = pd.to_datetime(series, errors="coerce")
        elif sdtype == "boolean":
            values = as_numeric(series)
            prepared[name] = pd.Series(
                np.where(np.isnan(values), None, values > 0.5), index=frame.index, dtype=object
            )
        else:
            prepared[name] = as_labels(series)
    return prepared.reset_index(drop=True)


def run_sdmetrics_reports(quality: Any, diagnostic: Any, real_data: Any, synthetic_data: Any,
                          metadata: Any, *, between: Callable[[], None], what: str,
                          fix: str) -> None:
    """Generate SDMetrics' quality then diagnostic report, quietly (single- or multi-table).

    Args:
        quality: A fresh SDMetrics ``QualityReport``.
        diagnostic: A fresh SDMetrics ``DiagnosticReport`` of the same kind.
        real_data: The real data as SDMetrics takes it.
        synthetic_data: The synthetic data as SDMetrics takes it.
        metadata: SDMetrics' metadata of both.
        between: Called after the quality report (progress).
        what: What could not be computed, for the error ("its reports on this data").
        fix: The sentence that says what to check.

    Raises:
        EvaluationError: SDMetrics failed (its bare ValueErrors and KeyErrors, named).
    """
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            quality.generate(real_data, synthetic_data, metadata, verbose=False)
            between()
            diagnostic.generate(real_data, synthetic_data, metadata, verbose=False)
    except Exception as error:  # sdmetrics raises bare ValueErrors/KeyErrors
        raise EvaluationError(
            f"SDMetrics could not compute {what} ({type(error).__name__}: {error}). {fix}"
        ) from error


def quality_and_diagnostic(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    progress: ProgressCallback | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> QualityResult:
    """Run SDMetrics' QualityReport and DiagnosticReport on the modelled columns.

    The reports cost ~10–40 ms per column pair whatever the rows, plus time per row, so
    both sides are subsampled (seeded) to ``max_rows`` (by default
    :func:`quality_rows_bound`); :attr:`QualityResult.sample_note` says so.
    SDMetrics 0.32 averages "Column Pair Trends" over the pairs that are clearly related
    in the real data only; when none is, the property is NaN and the quality
    score is "Column Shapes" alone (a note says so).

    Args:
        real: The real rows the synthesizer trained on.
        synthetic: The generated rows.
        schema: The reviewed schema.
        progress: Called with (fraction, message).
        max_rows: Bound on the rows of each side (None: :func:`quality_rows_bound`).
        seed: Seed of the subsample.

    Raises:
        EvaluationError: No modelled column, a missing column, or SDMetrics failed.
    """
    from sdmetrics.reports import DiagnosticReport, QualityReport  # lazy: slow import

    report = progress or null_progress
    columns = evaluated_columns(schema, real, synthetic)
    if max_rows is None:
        max_rows = quality_rows_bound(len(columns))
    real_rows = sample_rows(real[columns], max_rows, seed).reset_index(drop=True)
    synthetic_rows = sample_rows(synthetic[columns], max_rows, seed + 1).reset_index(drop=True)
    sampled = len(real_rows) < len(real) or len(synthetic_rows) < len(synthetic)
    metadata = _sdmetrics_metadata(schema, columns)
    real_data = {TABLE_NAME: _for_sdmetrics(real_rows, schema, columns)}
    synthetic_data = {TABLE_NAME: _for_sdmetrics(synthetic_rows, schema, columns)}

    quality = QualityReport()
    diagnostic = DiagnosticReport()
    pairs = len(columns) * (len(columns) - 1) // 2
    report(0.0, f"SDMetrics quality report ({len(columns)} columns, {pairs} pairs)…")
    run_sdmetrics_reports(quality, diagnostic, real_data, synthetic_data, metadata,
                          between=lambda: report(0.85, "SDMetrics diagnostic report…"),
                          what="its reports on this data",
                          fix="Check the column types in the metadata table.")

    details: dict[str, pd.DataFrame] = {}
    for instance in (quality, diagnostic):
        for name in instance.get_properties()["Property"]:
            with contextlib.suppress(Exception):
                details[name] = instance.get_details(name, table_name=TABLE_NAME)

    quality_properties = quality.get_properties()
    diagnostic_properties = diagnostic.get_properties().dropna(subset=["Score"])
    diagnostic_properties = diagnostic_properties.reset_index(drop=True)
    notes: list[str] = []
    if sampled:
        notes.append(
            f"Computed on a seeded sample of {len(real_rows):,} real and "
            f"{len(synthetic_rows):,} synthetic rows."
        )
    trends = quality_properties.loc[quality_properties["Property"] == "Column Pair Trends"]
    if len(columns) >= 2 and (trends.empty or trends["Score"].isna().all()):
        notes.append(
            "No pair of columns is clearly related in the real data (|correlation| > 0.5 or "
            "association > 0.3), so SDMetrics leaves Column Pair Trends out and the quality "
            "score is Column Shapes alone."
        )
    report(1.0, "SDMetrics reports done.")
    return QualityResult(
        quality_score=float(quality.get_score()),
        diagnostic_score=float(diagnostic.get_score()),
        quality_properties=quality_properties,
        diagnostic_properties=diagnostic_properties,
        details=details,
        real_rows_used=len(real_rows),
        synthetic_rows_used=len(synthetic_rows),
        sampled=sampled,
        notes=tuple(notes),
        excluded_columns=excluded_columns(schema),
        reports={"quality": quality, "diagnostic": diagnostic},
    )
