"""Sequences: is each synthetic entity's story (its events, their order and timing) like a real one?

For an event table (``schema.sequence`` set: an entity key, an order column, context columns)
the rows are not independent: an account's deposits, withdrawals and transfers form one
sequence. :func:`sequence_scores` compares the real training entities with the synthetic ones:

* **Lengths** — events per entity; ``length_score`` = 1 − the largest gap between the two
  cumulative distributions (Kolmogorov–Smirnov complement, 1 = identical).
* **Transitions** — which event type follows which, with a *start* and an *end* state, so the
  first and last events count too. ``transition_score`` = 1 − the total variation distance of
  the (from, to) pair distributions. The event-type column is chosen by
  :func:`event_type_column`: a categorical column that is neither key, order, context nor
  target, changes within entities and has 2 to :data:`MAX_EVENT_TYPES` values; a column named
  like ``event``, ``type``, ``action`` ... is preferred, then the one with the most entropy.
* **Time between events** — gaps of the order column within entities (days for dates, steps
  for numbers); ``gap_score`` as for lengths.
* **Autocorrelation** — for each numeric event column, the correlation of an entity's value
  with its value ``lag`` events later (lags 1 to :data:`AUTOCORRELATION_LAGS`), averaged over
  entities; ``autocorrelation_score`` = 1 − the summed absolute gap between the real and
  synthetic curves over their summed size (each point counted as at least :data:`ACF_FLOOR`),
  clipped to [0, 1]: losing a weak real autocorrelation reads as low as losing a strong one.
* **Cross-series correlation of returns** — synthetic entities are new, so pairs cannot be
  matched: the *distribution* of correlations is compared. When entities are observed at the
  same index values (tickers on the same days), it is the correlation of returns between
  pairs of entities over the days they share; otherwise the correlation of returns between
  pairs of numeric columns within entities. Shown, not judged.
* **Per-entity aggregates** — one row per entity (events, time span, counts per event type,
  mean and total of each numeric column, context columns): real vs synthetic averages.
* **Entity-level usefulness** — when the target is constant within entities (an account's
  laundering flag), the utility check (:func:`core.evaluation.utility.utility_scores`) runs on
  those per-entity rows: trained on synthetic entities vs on real training entities, both
  tested on held-out real entities (the split is by entity, never by row).
* **Entity-level privacy** — ``copy_rate``: the share of synthetic sequences that repeat a
  whole training sequence or a run of :data:`COPY_RUN_EVENTS` consecutive events of one
  (event type and numbers rounded to :data:`COPY_SIGNIFICANT_DIGITS` significant digits,
  dates left out so a shifted copy still counts), beside the share of held-out sequences that
  do so by chance; and the closer-to-training share (DCR share) of the per-entity rows
  (:func:`core.evaluation.privacy.privacy_scores`).

Large tables are bounded by a seeded sample of :data:`MAX_ENTITIES` entities per side (fewer
when they would hold more than about :data:`MAX_EVENTS` events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import ColumnSchema, TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    MISSING_LABEL,
    as_labels,
    as_numeric,
    evaluation_sdtype,
    require_rows,
)
from core.progress import ProgressCallback, null_progress, scaled

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.evaluation.privacy import PrivacyResult
    from core.evaluation.utility import UtilityResult

__all__ = [
    "AUTOCORRELATION_LAGS",
    "COPY_RUN_EVENTS",
    "COPY_SIGNIFICANT_DIGITS",
    "MAX_ENTITIES",
    "MAX_EVENT_TYPES",
    "CrossSeries",
    "SequenceResult",
    "entity_target_constant",
    "event_type_column",
    "sequence_figures",
    "sequence_scores",
]

#: Entities kept per side (seeded sample) for every sequence score.
MAX_ENTITIES = 10_000
#: ...and fewer when that many entities would hold more events than this (about).
MAX_EVENTS = 500_000
#: Autocorrelations smaller than this count as this size when their gap is judged.
ACF_FLOOR = 0.1
#: Most distinct values an event-type column may have; rarer types beyond this are "other".
MAX_EVENT_TYPES = 30
#: Autocorrelation is measured at lags 1 to this.
AUTOCORRELATION_LAGS = 5
#: A synthetic sequence "copies" when it repeats this many consecutive events of a training
#: sequence (or a whole training sequence when it is shorter). Six events of the same type and
#: amounts to three digits happen by chance rarely; the held-out sequences measure how rarely.
COPY_RUN_EVENTS = 6
#: Numbers are compared at this many significant digits for the copy check (1,234.56 → 1,230).
COPY_SIGNIFICANT_DIGITS = 3
#: Fewer training or held-out entities than this: the entity-level distances are not measured.
MIN_ENTITIES_FOR_DISTANCES = 10
#: Index values two entities must share for their correlation of returns to count.
MIN_SHARED_STEPS = 10
#: Entities compared pairwise for the cross-series correlation (seeded sample).
MAX_CROSS_ENTITIES = 60
#: Event types given their own count per entity (the commonest ones).
MAX_COUNT_FEATURES = 15
#: An entity-level target may vary inside at most this share of entities (data errors).
TARGET_VARIES_SHARE = 0.01
#: Values kept per side for the distribution charts.
_CHART_VALUES = 20_000

_EVENT_HINTS = ("event", "type", "action", "activity", "kind", "page", "screen", "state",
                "status", "step", "operation")
_START, _END = "(start)", "(end)"
_OTHER = "(other)"
_MISSING = "(missing)"
_HASH_BASE = np.uint64(1_000_003)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class CrossSeries:
    """Correlation of returns, real vs synthetic.

    Attributes:
        mode: ``entities`` (pairs of entities over the index values they share) or
            ``columns`` (pairs of numeric columns within entities).
        column: The column whose returns pair entities (``entities`` mode), else None.
        labels: One label per compared pair (``columns`` mode), else empty.
        real: Correlations in the real training data.
        synthetic: The same in the synthetic data.
        gap: Mean absolute gap (``columns``: pair by pair; ``entities``: of the means).
        by_position: ``entities`` mode only: the synthetic entities share too few index
            values (each new ticker got its own dates), so they are paired by event position
            (first event with first event), as a calendar of their own.
    """

    mode: str
    column: str | None
    labels: tuple[str, ...]
    real: np.ndarray
    synthetic: np.ndarray
    gap: float
    by_position: bool = False


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """Everything :func:`sequence_scores` measured (see the module's description).

    Attributes:
        key: The entity column.
        index: The order column, or None.
        event_column: The event-type column, or None when none fits.
        numeric_columns: The numeric event columns (autocorrelation, aggregates).
        entities: Entities compared per side: ``real_train``, ``holdout``, ``synthetic``.
        length_score: 1 − largest gap of the events-per-entity distributions.
        transition_score: 1 − total variation distance of the transition pairs, or None.
        gap_score: The same as ``length_score`` for the time between events, or None.
        autocorrelation_score: 1 − relative autocorrelation gap (module doc), or None.
        lengths: Events per entity, ``real`` and ``synthetic``.
        transitions: ``real``, ``synthetic``, ``difference``: next-event shares by current
            event (rows add up to 1; ``difference`` = synthetic − real), or None.
        gaps: Time between events, ``real`` and ``synthetic`` (sampled), or None.
        gap_unit: ``days``, ``hours``, ``minutes`` or ``steps``.
        autocorrelation: ``column``, ``lag``, ``real``, ``synthetic``.
        cross: Correlation of returns, or None (see ``skipped``).
        aggregates: ``feature``, ``real``, ``synthetic``: the mean per entity.
        utility: Entity-level usefulness, or None (see ``skipped``).
        privacy: Distances of the per-entity rows, or None (see ``skipped``).
        copy_rate: Share of synthetic sequences copying a training sequence or a long run.
        holdout_copy_rate: The same for held-out sequences (the chance level).
        exact_copy_rate: Share of synthetic sequences equal to a whole training sequence.
        holdout_exact_copy_rate: The same for held-out sequences.
        copy_columns: The columns an event is compared on for the copy check.
        sentences: Plain sentences built from the numbers, by part.
        skipped: Part -> why it was not measured.
        notes: What was sampled or chosen, in plain sentences.
        seed: Seed of every sample and model.
    """

    key: str
    index: str | None
    event_column: str | None
    numeric_columns: tuple[str, ...]
    entities: dict[str, int]
    length_score: float
    transition_score: float | None
    gap_score: float | None
    autocorrelation_score: float | None
    lengths: dict[str, np.ndarray]
    transitions: dict[str, pd.DataFrame] | None
    gaps: dict[str, np.ndarray] | None
    gap_unit: str
    autocorrelation: pd.DataFrame
    cross: CrossSeries | None
    aggregates: pd.DataFrame
    utility: UtilityResult | None
    privacy: PrivacyResult | None
    copy_rate: float | None
    holdout_copy_rate: float | None
    exact_copy_rate: float | None
    holdout_exact_copy_rate: float | None
    copy_columns: tuple[str, ...]
    sentences: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seed: int = 0

    @property
    def fidelity_score(self) -> float:
        """The mean of the measured order scores (lengths, transitions, gaps, autocorrelation)."""
        scores = list(self.scores.values())
        return float(np.mean(scores)) if scores else float("nan")

    @property
    def scores(self) -> dict[str, float]:
        """The measured order scores by name (plain names: glossary keys)."""
        named = {"length_score": self.length_score, "transition_score": self.transition_score,
                 "gap_score": self.gap_score,
                 "autocorrelation_score": self.autocorrelation_score}
        return {k: float(v) for k, v in named.items() if v is not None and v == v}

    @property
    def weakest(self) -> tuple[str, float] | None:
        """The lowest measured order score (what the verdict reads), or None."""
        scores = self.scores
        if not scores:
            return None
        name = min(scores, key=scores.__getitem__)
        return name, scores[name]

    @property
    def excess_copy_rate(self) -> float | None:
        """Copies beyond what held-out sequences repeat by chance (never below 0)."""
        if self.copy_rate is None:
            return None
        return max(0.0, self.copy_rate - (self.holdout_copy_rate or 0.0))

    @property
    def entity_dcr_share(self) -> float | None:
        """The closer-to-training share of the per-entity rows, or None."""
        return None if self.privacy is None else float(self.privacy.dcr_share)

    @property
    def utility_ratio(self) -> float | None:
        """Entity-level usefulness: synthetic ÷ real score, or None."""
        return None if self.utility is None else self.utility.ratio

    def as_dict(self) -> dict[str, Any]:
        """The ``sequence`` section of metrics.json (keys are added, never renamed)."""

        def rounded(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or value != value else round(float(value), digits)

        acf = {column: {"real": [rounded(v) for v in part["real"]],
                        "synthetic": [rounded(v) for v in part["synthetic"]]}
               for column, part in self.autocorrelation.groupby("column", sort=False)}
        utility = self.utility
        return {
            "key": self.key,
            "index": self.index,
            "event_column": self.event_column,
            "numeric_columns": list(self.numeric_columns),
            "entities": dict(self.entities),
            "length_score": rounded(self.length_score),
            "transition_score": rounded(self.transition_score),
            "gap_score": rounded(self.gap_score),
            "autocorrelation_score": rounded(self.autocorrelation_score),
            "fidelity_score": rounded(self.fidelity_score),
            "mean_length": {side: rounded(float(np.mean(v)) if len(v) else None, 3)
                            for side, v in self.lengths.items()},
            "autocorrelation_lags": list(range(1, AUTOCORRELATION_LAGS + 1)),
            "autocorrelation": acf,
            "cross_correlation": None if self.cross is None else {
                "mode": self.cross.mode,
                "column": self.cross.column,
                "real_mean": rounded(_mean(self.cross.real)),
                "synthetic_mean": rounded(_mean(self.cross.synthetic)),
                "gap": rounded(self.cross.gap),
                "by_position": self.cross.by_position,
            },
            "copy_rate": rounded(self.copy_rate, 5),
            "holdout_copy_rate": rounded(self.holdout_copy_rate, 5),
            "exact_copy_rate": rounded(self.exact_copy_rate, 5),
            "holdout_exact_copy_rate": rounded(self.holdout_exact_copy_rate, 5),
            "copy_run_events": COPY_RUN_EVENTS,
            "entity_dcr_share": rounded(self.entity_dcr_share),
            "entity_utility": None if utility is None else {
                "target": utility.target,
                "metric": utility.metric,
                "real": rounded(utility.real),
                "synthetic": rounded(utility.synthetic),
                "ratio": rounded(utility.ratio),
            },
            "entity_utility_ratio": rounded(self.utility_ratio),
            "sentences": dict(self.sentences),
            "not_measured": dict(self.skipped),
        }


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)] if len(values) else values
    return float(np.mean(finite)) if len(finite) else None


# --------------------------------------------------------------------------- ordering


@dataclass(frozen=True, eq=False)
class _Side:
    """One side's events ordered by entity then order column."""

    frame: pd.DataFrame  # ordered, index 0..n-1
    entity: np.ndarray  # entity code per row, contiguous blocks 0..E-1
    lengths: np.ndarray  # events per entity
    position: np.ndarray  # position of the row within its entity
    order: np.ndarray | None  # the order column as numbers (days for dates), or None

    @property
    def count(self) -> int:
        return len(self.lengths)

    def same_entity(self, lag: int) -> np.ndarray:
        """Mask over rows ``0..n-lag-1``: row ``i + lag`` belongs to row i's entity."""
        return self.entity[:-lag] == self.entity[lag:] if lag < len(self.entity) else \
            np.zeros(0, dtype=bool)


def _side(frame: pd.DataFrame, key: str, index: str | None, limit: int, seed: int
          ) -> tuple[_Side, int]:
    """Order the events of at most ``limit`` entities (seeded); also return all entities."""
    labels = as_labels(frame[key]).fillna(MISSING_LABEL).to_numpy()
    codes, uniques = pd.factorize(labels)
    total = len(uniques)
    if len(frame) > MAX_EVENTS:  # long sequences: fewer entities, about MAX_EVENTS events
        limit = min(limit, max(1, int(total * MAX_EVENTS / len(frame))))
    if total > limit:
        keep = np.random.default_rng(seed).choice(total, size=limit, replace=False)
        mask = np.isin(codes, keep)
        frame, codes = frame.loc[mask], codes[mask]
    order_values = as_numeric(frame[index]) if index is not None else None
    keys = (codes,) if order_values is None else (order_values, codes)
    order = np.lexsort(keys)  # stable: equal order values keep the table's row order
    ordered = frame.iloc[order].reset_index(drop=True)
    sorted_codes = codes[order]
    _, entity = np.unique(sorted_codes, return_inverse=True)
    lengths = np.bincount(entity)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(entity)) - starts[entity]
    return _Side(ordered, entity.astype(np.int64), lengths, position,
                 None if order_values is None else order_values[order]), total


# --------------------------------------------------------------------------- choices


def event_type_column(frame: pd.DataFrame, schema: TableSchema, target: str | None = None
                      ) -> str | None:
    """The column whose values name the kind of each event, or None.

    Candidates: modelled categorical or yes/no columns that are not the key, the order
    column, a context column or the target, that change within at least one entity and have
    2 to :data:`MAX_EVENT_TYPES` values. A name with ``event``, ``type``, ``action``,
    ``activity``, ``kind``, ``page``, ``screen``, ``state``, ``status``, ``step`` or
    ``operation`` in it wins; among equals, the column with the most entropy.
    """
    spec = schema.sequence
    if spec is None:
        return None
    skip = {spec.key, spec.index, *spec.context, target}
    entity = as_labels(frame[spec.key]).fillna(MISSING_LABEL)
    best: tuple[int, float, str] | None = None
    for name in schema.modelled_columns:
        if name in skip or name not in frame.columns:
            continue
        if evaluation_sdtype(schema.column(name)) not in ("categorical", "boolean"):
            continue
        labels = as_labels(frame[name]).fillna(_MISSING)
        shares = labels.value_counts(normalize=True).to_numpy()
        if not 2 <= len(shares) <= MAX_EVENT_TYPES:
            continue
        if not _varies_within(entity.to_numpy(), labels).any():
            continue  # constant within every entity: a context, not an event
        hinted = int(any(hint in name.lower() for hint in _EVENT_HINTS))
        entropy = float(-(shares * np.log(shares)).sum())
        candidate = (hinted, entropy, name)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return None if best is None else best[2]


def _numeric_columns(frame: pd.DataFrame, schema: TableSchema, target: str | None
                     ) -> list[str]:
    spec = schema.sequence
    assert spec is not None
    skip = {spec.key, spec.index, *spec.context, target}
    return [name for name in schema.modelled_columns
            if name not in skip and name in frame.columns
            and evaluation_sdtype(schema.column(name)) == "numerical"]


def entity_target_constant(frame: pd.DataFrame, key: str, target: str) -> bool:
    """Whether ``target`` is one value per entity (an account's flag), allowing rare slips."""
    entity = as_labels(frame[key]).fillna(MISSING_LABEL).to_numpy()
    labels = as_labels(frame[target])
    present = labels.notna().to_numpy()
    varies = _varies_within(entity[present], labels[present])
    return bool(len(varies)) and float(varies.mean()) <= TARGET_VARIES_SHARE


def _varies_within(entity: np.ndarray, labels: pd.Series) -> np.ndarray:
    """Per entity: whether it holds more than one of these labels."""
    codes = pd.factorize(labels.to_numpy())[0]
    span = pd.DataFrame({"entity": entity, "code": codes}).groupby("entity")["code"].agg(
        ["min", "max"])
    return (span["max"] > span["min"]).to_numpy()


# --------------------------------------------------------------------------- scores


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 − the largest gap between the two empirical distribution functions."""
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if not len(real) or not len(synthetic):
        return float("nan")
    grid = np.union1d(real, synthetic)
    cdf_real = np.searchsorted(np.sort(real), grid, side="right") / len(real)
    cdf_synth = np.searchsorted(np.sort(synthetic), grid, side="right") / len(synthetic)
    return float(1.0 - np.max(np.abs(cdf_real - cdf_synth)))


def _event_codes(side: _Side, column: str, types: list[str]) -> np.ndarray:
    """Code of each event's type: 0..len(types)-1, ``len(types)`` = other."""
    labels = as_labels(side.frame[column]).fillna(_MISSING)
    lookup = {label: code for code, label in enumerate(types)}
    return labels.map(lookup).fillna(len(types)).to_numpy(dtype=np.int64)


def _transition_counts(side: _Side, codes: np.ndarray, states: int) -> np.ndarray:
    """(from, to) counts; state ``states`` = start (as from) and end (as to)."""
    counts = np.zeros((states + 1, states + 1))
    previous = np.where(side.position == 0, states, np.roll(codes, 1))
    np.add.at(counts, (previous, codes), 1)
    last = np.cumsum(side.lengths) - 1
    np.add.at(counts, (codes[last], states), 1)
    return counts


def _autocorrelation(side: _Side, values: np.ndarray, lag: int) -> float:
    """Mean over entities of the lag-``lag`` autocorrelation of their values."""
    entities = side.count
    sums = np.bincount(side.entity, weights=np.nan_to_num(values), minlength=entities)
    present = np.bincount(side.entity, weights=np.isfinite(values).astype(float),
                          minlength=entities)
    means = np.divide(sums, present, out=np.zeros(entities), where=present > 0)
    centred = np.where(np.isfinite(values), values - means[side.entity], 0.0)
    denominator = np.bincount(side.entity, weights=centred ** 2, minlength=entities)
    same = side.same_entity(lag)
    if not same.any():
        return float("nan")
    products = centred[:-lag] * centred[lag:] * same
    numerator = np.bincount(side.entity[:-lag], weights=products, minlength=entities)
    valid = (denominator > 1e-12) & (side.lengths >= lag + 2)
    if not valid.any():
        return float("nan")
    return float(np.mean(numerator[valid] / denominator[valid]))


def _autocorrelation_score(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 − the summed gap over the summed size of the two curves (each at least the floor).

    Relative, so a weak real autocorrelation that the synthetic sequences lose still reads
    low; the floor keeps sampling noise around a near-zero curve from reading as a loss.
    """
    size = np.maximum(np.maximum(np.abs(real), np.abs(synthetic)), ACF_FLOOR)
    return float(np.clip(1.0 - np.abs(real - synthetic).sum() / size.sum(), 0.0, 1.0))


def _returns(side: _Side, values: np.ndarray, positive: bool) -> np.ndarray:
    """Change from the entity's previous event (log ratio for positive series); NaN first."""
    out = np.full(len(values), np.nan)
    if len(values) < 2:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (np.log(values[1:]) - np.log(values[:-1]) if positive
                else values[1:] - values[:-1])
    out[1:] = np.where(side.same_entity(1), step, np.nan)
    return out


def _pair_correlations(table: pd.DataFrame) -> np.ndarray:
    matrix = table.corr(min_periods=MIN_SHARED_STEPS).to_numpy()
    upper = matrix[np.triu_indices_from(matrix, k=1)]
    return upper[np.isfinite(upper)]


def _cross_series(real: _Side, synthetic: _Side, columns: list[str], positive: dict[str, bool],
                  seed: int) -> tuple[CrossSeries | None, str | None]:
    """Correlation of returns between entities (shared index values) or between columns."""
    if not columns:
        return None, "there is no numeric event column"
    if real.order is not None and synthetic.order is not None:
        column = columns[0]

        def entity_pairs(side: _Side, offset: int, by_position: bool = False) -> np.ndarray:
            returns = _returns(side, as_numeric(side.frame[column]), positive[column])
            chosen = np.arange(side.count)
            if side.count > MAX_CROSS_ENTITIES:
                chosen = np.random.default_rng(seed + offset).choice(
                    side.count, MAX_CROSS_ENTITIES, replace=False)
            steps = (pd.Series(side.entity).groupby(side.entity).cumcount().to_numpy()
                     if by_position else side.order)
            mask = np.isin(side.entity, chosen) & np.isfinite(returns)
            table = pd.DataFrame({"step": steps[mask], "entity": side.entity[mask],
                                  "value": returns[mask]})
            wide = table.pivot_table(index="step", columns="entity", values="value",
                                     aggfunc="mean")
            return _pair_correlations(wide)

        real_pairs, synth_pairs = entity_pairs(real, 0), entity_pairs(synthetic, 1)
        by_position = bool(len(real_pairs)) and not len(synth_pairs)
        if by_position:  # real entities share a calendar, the new ones each got their own
            synth_pairs = entity_pairs(synthetic, 1, by_position=True)
        if len(real_pairs) and len(synth_pairs):
            return CrossSeries("entities", column, (), real_pairs, synth_pairs,
                               abs(float(real_pairs.mean()) - float(synth_pairs.mean())),
                               by_position), None
    if len(columns) < 2:
        return None, ("entities are not observed at the same times and there is only one "
                      "numeric event column, so there is no pair to correlate")

    def column_pairs(side: _Side) -> pd.DataFrame:
        return pd.DataFrame({c: _returns(side, as_numeric(side.frame[c]), positive[c])
                             for c in columns})

    real_table, synth_table = column_pairs(real), column_pairs(synthetic)
    labels, real_values, synth_values = [], [], []
    for first in range(len(columns)):
        for second in range(first + 1, len(columns)):
            a, b = columns[first], columns[second]
            labels.append(f"{a} & {b}")
            real_values.append(real_table[a].corr(real_table[b]))
            synth_values.append(synth_table[a].corr(synth_table[b]))
    real_array, synth_array = np.array(real_values, float), np.array(synth_values, float)
    both = np.isfinite(real_array) & np.isfinite(synth_array)
    if not both.any():
        return None, "no pair of numeric columns changes enough to correlate"
    return CrossSeries("columns", None, tuple(labels), real_array, synth_array,
                       float(np.mean(np.abs(real_array[both] - synth_array[both])))), None


# --------------------------------------------------------------------------- entities


def _unique_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name += " (per entity)"
    taken.add(name)
    return name


@dataclass(frozen=True)
class _Features:
    """How per-entity rows are built (the same on every side)."""

    names: dict[str, str]  # part -> feature column
    types: list[str]
    numeric: list[str]
    context: list[str]
    target: str | None
    schema: TableSchema


def _feature_plan(schema: TableSchema, event_column: str | None, types: list[str],
                  numeric: list[str], context: list[str], target: str | None) -> _Features:
    spec = schema.sequence
    assert spec is not None
    taken = set(context) | ({target} if target else set())
    names: dict[str, str] = {"events": _unique_name("events per entity", taken)}
    columns = [ColumnSchema(names["events"], "numerical")]
    if spec.index is not None:
        unit = ("days" if evaluation_sdtype(schema.column(spec.index)) == "datetime"
                else "steps")
        names["span"] = _unique_name(f"{unit} from first to last event", taken)
        columns.append(ColumnSchema(names["span"], "numerical"))
    for label in types[:MAX_COUNT_FEATURES] if event_column else ():
        names[f"count:{label}"] = _unique_name(f"count of {event_column} = {label}", taken)
        columns.append(ColumnSchema(names[f"count:{label}"], "numerical"))
    for column in numeric:
        for what in ("mean", "total"):
            names[f"{what}:{column}"] = _unique_name(f"{what} of {column}", taken)
            columns.append(ColumnSchema(names[f"{what}:{column}"], "numerical"))
    for column in context + ([target] if target else []):
        columns.append(ColumnSchema(column, evaluation_sdtype(schema.column(column))))
    return _Features(names, types[:MAX_COUNT_FEATURES] if event_column else [], numeric,
                     context, target, TableSchema(columns=tuple(columns)))


def _entity_rows(side: _Side, plan: _Features, event_column: str | None) -> pd.DataFrame:
    """One row per entity: events, time span, counts per type, means and totals, context."""
    n = side.count
    data: dict[str, Any] = {plan.names["events"]: side.lengths.astype(float)}
    if "span" in plan.names and side.order is not None:
        first = np.concatenate([[0], np.cumsum(side.lengths)[:-1]])
        last = np.cumsum(side.lengths) - 1
        data[plan.names["span"]] = side.order[last] - side.order[first]
    if plan.types and event_column is not None:
        codes = _event_codes(side, event_column, plan.types)
        for code, label in enumerate(plan.types):
            data[plan.names[f"count:{label}"]] = np.bincount(
                side.entity, weights=(codes == code).astype(float), minlength=n)
    for column in plan.numeric:
        values = as_numeric(side.frame[column])
        finite = np.isfinite(values)
        total = np.bincount(side.entity, weights=np.where(finite, values, 0.0), minlength=n)
        present = np.bincount(side.entity, weights=finite.astype(float), minlength=n)
        data[plan.names[f"mean:{column}"]] = np.divide(
            total, present, out=np.full(n, np.nan), where=present > 0)
        data[plan.names[f"total:{column}"]] = total
    rows = pd.DataFrame(data)
    first_rows = np.concatenate([[0], np.cumsum(side.lengths)[:-1]])
    for column in plan.context:
        rows[column] = side.frame[column].iloc[first_rows].to_numpy()
    if plan.target is not None:
        labels = side.frame[plan.target]
        # The entity's most common value: a synthesizer may let a flag slip inside one.
        frame = pd.DataFrame({"entity": side.entity, "value": labels.to_numpy()})
        modes = frame.dropna().groupby("entity")["value"].agg(lambda s: s.mode().iloc[0])
        rows[plan.target] = pd.Series(modes).reindex(range(n)).to_numpy()
    return rows


# --------------------------------------------------------------------------- copies


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    out = values.astype(float).copy()
    nonzero = np.isfinite(out) & (out != 0)
    magnitude = np.floor(np.log10(np.abs(out[nonzero])))
    scale = 10.0 ** (digits - 1 - magnitude)
    out[nonzero] = np.round(out[nonzero] * scale) / scale
    return out


def _tokens(side: _Side, columns: list[str], numeric: set[str]) -> np.ndarray:
    """One 64-bit hash per event of its compared values."""
    parts = {}
    for column in columns:
        if column in numeric:
            parts[column] = _significant(as_numeric(side.frame[column]), COPY_SIGNIFICANT_DIGITS)
        else:
            parts[column] = as_labels(side.frame[column]).fillna(_MISSING).astype(str)
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy(np.uint64)


def _window_hashes(side: _Side, tokens: np.ndarray, run: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every run of ``run`` consecutive events inside one entity, and their entity."""
    count = len(tokens) - run + 1
    if count <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    hashes = np.zeros(count, np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(run):
            hashes = hashes * _HASH_BASE + tokens[offset: offset + count]
    inside = side.entity[:count] == side.entity[run - 1:]
    return hashes[inside], side.entity[:count][inside]


def _whole_hashes(side: _Side, tokens: np.ndarray) -> np.ndarray:
    """One hash per entity of its whole sequence (order and length included)."""
    powers = np.ones(int(side.lengths.max()) if len(side.lengths) else 1, np.uint64)
    with np.errstate(over="ignore"):
        for step in range(1, len(powers)):
            powers[step] = powers[step - 1] * _HASH_BASE
        whole = np.zeros(side.count, np.uint64)
        np.add.at(whole, side.entity, tokens * powers[side.position])
        whole ^= side.lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return whole


def _copies(reference: _Side, reference_tokens: np.ndarray, query: _Side,
            query_tokens: np.ndarray) -> tuple[float, float]:
    """Shares of query sequences copying a reference one (whole or a long run), and whole."""
    whole_reference = _whole_hashes(reference, reference_tokens)
    whole_query = _whole_hashes(query, query_tokens)
    whole = np.isin(whole_query, whole_reference)
    runs_reference, _ = _window_hashes(reference, reference_tokens, COPY_RUN_EVENTS)
    runs_query, owners = _window_hashes(query, query_tokens, COPY_RUN_EVENTS)
    hit = np.zeros(query.count, dtype=bool)
    if len(runs_query) and len(runs_reference):
        found = np.isin(runs_query, runs_reference)
        hit[owners[found]] = True
    copied = hit | whole
    return float(copied.mean()), float(whole.mean())


# --------------------------------------------------------------------------- main


def sequence_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> SequenceResult:
    """Compare the real training sequences with the synthetic ones (see the module doc).

    Args:
        real_train: The real events the synthesizer trained on (prepared frame).
        holdout: Held-out real events: whole entities never seen by the synthesizer.
        synthetic: Generated events.
        schema: The reviewed schema; ``schema.sequence`` names key, order and context.
        target: The entity-level column to predict (e.g. a laundering flag), or None.
        seed: Seed of every sample and model.
        progress: Called with (fraction, message).

    Raises:
        EvaluationError: The schema has no sequence, a frame lacks the key or order column,
            or a frame is empty.
    """
    report = progress or null_progress
    spec = schema.sequence
    if spec is None:
        raise EvaluationError("The sequence checks need an entity key: set the sequence key "
                              "(and order column) on the Data page, or pass --sequence-key.")
    require_rows(real_train, holdout, synthetic, "The sequence checks need",
                 "there are no events to compare. Generate entities first")
    for name in (spec.key, spec.index):
        for what, frame in (("real", real_train), ("held-out", holdout),
                            ("synthetic", synthetic)):
            if name is not None and name not in frame.columns:
                raise EvaluationError(
                    f"The {what} events lack the column '{name}' that orders them into "
                    "sequences. Generate them again with the model trained on this schema.")
    report(0.0, "Ordering events into sequences…")
    notes: list[str] = []
    skipped: dict[str, str] = {}
    sentences: dict[str, str] = {}
    sides: dict[str, _Side] = {}
    for offset, (name, frame) in enumerate((("real_train", real_train), ("holdout", holdout),
                                            ("synthetic", synthetic))):
        sides[name], total = _side(frame, spec.key, spec.index, MAX_ENTITIES, seed + offset)
        if total > sides[name].count:
            notes.append(f"Sequences: used a seeded sample of {sides[name].count:,} of "
                         f"{total:,} {name.replace('_', ' ')} entities.")
    real, hold, synth = sides["real_train"], sides["holdout"], sides["synthetic"]
    entities = {name: side.count for name, side in sides.items()}

    # Lengths.
    length_score = _ks_complement(real.lengths.astype(float), synth.lengths.astype(float))
    sentences["length"] = (
        f"Real entities have {np.mean(real.lengths):.1f} events on average "
        f"(median {np.median(real.lengths):.0f}), synthetic ones {np.mean(synth.lengths):.1f} "
        f"(median {np.median(synth.lengths):.0f}); the length score is {length_score:.0%}.")

    # Transitions.
    event_column = event_type_column(real.frame, schema, target)
    types: list[str] = []
    transitions: dict[str, pd.DataFrame] | None = None
    transition_score: float | None = None
    if event_column is None:
        skipped["transitions"] = ("no column names the kind of each event (a category that "
                                  "changes within entities, with 2 to "
                                  f"{MAX_EVENT_TYPES} values)")
    else:
        types = list(as_labels(real.frame[event_column]).fillna(_MISSING)
                     .value_counts().index[:MAX_EVENT_TYPES])
        states = len(types) + 1
        real_counts = _transition_counts(real, _event_codes(real, event_column, types), states)
        synth_counts = _transition_counts(synth, _event_codes(synth, event_column, types),
                                          states)
        real_p, synth_p = real_counts / real_counts.sum(), synth_counts / synth_counts.sum()
        transition_score = float(1.0 - 0.5 * np.abs(real_p - synth_p).sum())
        labels = [*types, _OTHER]
        # Drop "other" when neither side has it: a row and column of zeros says nothing.
        other = states - 1
        has_other = sum(counts[other].sum() + counts[:, other].sum()
                        for counts in (real_counts, synth_counts)) > 0
        keep = list(range(other)) + ([other] if has_other else [])
        rows_index = [*keep, states]
        cols_index = [*keep, states]
        row_labels = [labels[i] for i in keep] + [_START]
        col_labels = [labels[i] for i in keep] + [_END]

        def shares(counts: np.ndarray) -> pd.DataFrame:
            block = counts[np.ix_(rows_index, cols_index)]
            totals = block.sum(axis=1, keepdims=True)
            return pd.DataFrame(np.divide(block, totals, out=np.zeros_like(block),
                                          where=totals > 0), index=row_labels,
                                columns=col_labels)

        transitions = {"real": shares(real_counts), "synthetic": shares(synth_counts)}
        transitions["difference"] = transitions["synthetic"] - transitions["real"]
        difference = transitions["difference"]
        at = np.unravel_index(np.argmax(np.abs(difference.to_numpy())), difference.shape)
        worst = (difference.index[at[0]], difference.columns[at[1]])
        gap = difference.iloc[at[0], at[1]]
        sentences["transitions"] = (
            f"Which '{event_column}' follows which is {transition_score:.0%} alike; the "
            f"largest change: after {worst[0]}, {worst[1]} comes next "
            f"{transitions['real'].loc[worst[0], worst[1]]:.0%} of the time in real sequences "
            f"and {transitions['synthetic'].loc[worst[0], worst[1]]:.0%} in synthetic ones "
            f"({gap:+.0%}).")
    report(0.15, "Comparing time between events and autocorrelation…")

    # Time between events.
    gaps: dict[str, np.ndarray] | None = None
    gap_score: float | None = None
    gap_unit = "steps"
    if spec.index is None:
        skipped["gaps"] = "no order column was set, so there is no time between events"
    else:
        def side_gaps(side: _Side) -> np.ndarray:
            assert side.order is not None
            if len(side.order) < 2:
                return np.zeros(0)
            step = side.order[1:] - side.order[:-1]
            return step[side.same_entity(1) & np.isfinite(step)]

        real_gaps, synth_gaps = side_gaps(real), side_gaps(synth)
        if not len(real_gaps) or not len(synth_gaps):
            skipped["gaps"] = "entities with a single event have no time between events"
        else:
            gap_score = _ks_complement(real_gaps, synth_gaps)
            dated = evaluation_sdtype(schema.column(spec.index)) == "datetime"
            gap_unit = "steps"
            if dated:  # days, or hours or minutes when events come closer
                gap_unit = "days"
                for unit, factor in (("hours", 24), ("minutes", 60)):
                    if np.median(real_gaps) < 1:
                        gap_unit, real_gaps, synth_gaps = (unit, real_gaps * factor,
                                                           synth_gaps * factor)
            rng = np.random.default_rng(seed)
            gaps = {"real": _bounded(real_gaps, rng), "synthetic": _bounded(synth_gaps, rng)}
            sentences["gaps"] = (
                f"The median time between events is {np.median(real_gaps):.3g} {gap_unit} in "
                f"real sequences and {np.median(synth_gaps):.3g} in synthetic ones; the "
                f"time-between-events score is {gap_score:.0%}.")

    # Autocorrelation and correlation of returns.
    numeric = _numeric_columns(real.frame, schema, target)
    acf_rows: list[dict[str, Any]] = []
    for column in numeric:
        real_values, synth_values = (as_numeric(real.frame[column]),
                                     as_numeric(synth.frame[column]))
        for lag in range(1, AUTOCORRELATION_LAGS + 1):
            acf_rows.append({"column": column, "lag": lag,
                             "real": _autocorrelation(real, real_values, lag),
                             "synthetic": _autocorrelation(synth, synth_values, lag)})
    autocorrelation = pd.DataFrame(acf_rows, columns=["column", "lag", "real", "synthetic"])
    autocorrelation_score: float | None = None
    if not numeric:
        skipped["autocorrelation"] = "there is no numeric event column"
    else:
        both = autocorrelation.dropna(subset=["real", "synthetic"])
        if both.empty:
            skipped["autocorrelation"] = ("sequences are too short or too flat to measure "
                                          "autocorrelation")
        else:
            autocorrelation_score = _autocorrelation_score(both["real"].to_numpy(),
                                                           both["synthetic"].to_numpy())
            first = both[both["lag"] == 1]
            if not first.empty:
                row = first.iloc[0]
                sentences["autocorrelation"] = (
                    f"An entity's '{row['column']}' correlates with its next value at "
                    f"{row['real']:.2f} in real sequences and {row['synthetic']:.2f} in "
                    f"synthetic ones; over lags 1 to {AUTOCORRELATION_LAGS} the "
                    f"autocorrelation score is {autocorrelation_score:.0%}.")
    positive = {c: bool(np.nanmin(as_numeric(real.frame[c])) > 0)
                if np.isfinite(as_numeric(real.frame[c])).any() else False for c in numeric}
    cross, why = _cross_series(real, synth, numeric, positive, seed)
    if cross is None:
        skipped["cross_correlation"] = why or "not measured"
    else:
        where = ("between pairs of entities on the steps they share, in "
                 f"'{cross.column}'" if cross.mode == "entities"
                 else "between pairs of numeric columns within entities")
        if cross.by_position:
            where += (" (the synthetic entities do not share dates, so they are paired event "
                      "by event: first with first, second with second)")
        sentences["cross_correlation"] = (
            f"Returns correlate {where} by {_mean(cross.real) or 0:.2f} on average in real "
            f"data and {_mean(cross.synthetic) or 0:.2f} in synthetic data.")
    report(0.3, "Building one row per entity…")

    # Per-entity rows: aggregates, usefulness, distances.
    context = [c for c in spec.context if c in real.frame.columns and c != target
               and c in schema.modelled_columns and all(c in s.frame.columns
                                                        for s in sides.values())]
    entity_target: str | None = None
    if target is not None and all(target in s.frame.columns for s in sides.values()):
        if entity_target_constant(real.frame, spec.key, target):
            entity_target = target
        else:
            skipped["entity_utility"] = (f"'{target}' changes within entities, so it is not "
                                         "an entity's label; the row-level check applies")
    elif target is None:
        skipped["entity_utility"] = "no target column was chosen, so no model was trained"
    plan = _feature_plan(schema, event_column, types, numeric, context, entity_target)
    rows = {name: _entity_rows(side, plan, event_column) for name, side in sides.items()}
    numeric_features = [c.name for c in plan.schema.columns if c.sdtype == "numerical"
                        and c.name not in context and c.name != entity_target]
    aggregates = pd.DataFrame({
        "feature": numeric_features,
        "real": [float(np.nanmean(rows["real_train"][c])) for c in numeric_features],
        "synthetic": [float(np.nanmean(rows["synthetic"][c])) for c in numeric_features],
    })

    utility = None
    if entity_target is not None:
        from core.evaluation.utility import utility_scores

        try:
            utility = utility_scores(rows["real_train"], rows["holdout"], rows["synthetic"],
                                     plan.schema, entity_target, seed=seed,
                                     progress=scaled(progress, 0.3, 0.75))
        except EvaluationError as error:
            message = str(error)
            skipped["entity_utility"] = ("at the entity level (one row per entity), "
                                         f"{message[:1].lower()}{message[1:]}")
        else:
            sentences["entity_utility"] = (
                f"Predicting '{entity_target}' from one row per entity, models trained on "
                f"synthetic entities reach {utility.synthetic:.2f} vs {utility.real:.2f} for "
                "models trained on real entities, both tested on held-out real entities"
                + (f" ({utility.ratio:.0%})." if utility.ratio is not None else "."))
    report(0.75, "Looking for copied sequences…")

    privacy = None
    if min(real.count, hold.count) < MIN_ENTITIES_FOR_DISTANCES:
        skipped["entity_distances"] = (
            f"only {min(real.count, hold.count)} training or held-out entities; at least "
            f"{MIN_ENTITIES_FOR_DISTANCES} are needed on each side to compare distances")
    else:
        from core.evaluation.privacy import privacy_scores

        privacy = privacy_scores(rows["real_train"], rows["holdout"], rows["synthetic"],
                                 plan.schema, seed=seed, progress=scaled(progress, 0.75, 0.9))
        sentences["entity_distances"] = (
            f"{privacy.dcr_share:.0%} of synthetic entities sit closer to a training entity "
            "than to a held-out one, on their per-entity rows (50% is ideal).")

    copy_columns = ([event_column] if event_column else []) + numeric
    if not copy_columns:
        copy_columns = [c for c in schema.modelled_columns
                        if c not in {spec.key, spec.index, *spec.context}
                        and c in real.frame.columns]
    copy_rate = holdout_copy = exact = holdout_exact = None
    if not copy_columns:
        skipped["copies"] = "no event column besides the key and order to compare"
    else:
        number_set = set(numeric)
        tokens = {name: _tokens(side, copy_columns, number_set) for name, side in sides.items()}
        copy_rate, exact = _copies(real, tokens["real_train"], synth, tokens["synthetic"])
        holdout_copy, holdout_exact = _copies(real, tokens["real_train"], hold,
                                              tokens["holdout"])
        sentences["copies"] = (
            f"{copy_rate:.1%} of synthetic sequences repeat a whole training sequence or "
            f"{COPY_RUN_EVENTS} events in a row of one ({exact:.1%} a whole one); "
            f"{holdout_copy:.1%} of held-out real sequences do so by chance.")
    report(1.0, "Sequences compared.")
    return SequenceResult(
        key=spec.key,
        index=spec.index,
        event_column=event_column,
        numeric_columns=tuple(numeric),
        entities=entities,
        length_score=length_score,
        transition_score=transition_score,
        gap_score=gap_score,
        autocorrelation_score=autocorrelation_score,
        lengths={"real": real.lengths, "synthetic": synth.lengths},
        transitions=transitions,
        gaps=gaps,
        gap_unit=gap_unit,
        autocorrelation=autocorrelation,
        cross=cross,
        aggregates=aggregates,
        utility=utility,
        privacy=privacy,
        copy_rate=copy_rate,
        holdout_copy_rate=holdout_copy,
        exact_copy_rate=exact,
        holdout_exact_copy_rate=holdout_exact,
        copy_columns=tuple(copy_columns),
        sentences=sentences,
        skipped=skipped,
        notes=tuple(notes),
        seed=seed,
    )


def _bounded(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(values) <= _CHART_VALUES:
        return values
    return rng.choice(values, size=_CHART_VALUES, replace=False)


# --------------------------------------------------------------------------- figures


def sequence_figures(result: SequenceResult) -> list[tuple[str, go.Figure]]:
    """Every sequence figure as (name, figure), in the order the report shows them."""
    figures = [("lengths", length_figure(result))]
    if result.transitions is not None:
        figures.append(("transitions", transition_figure(result)))
    if result.gaps is not None:
        figures.append(("gaps", gap_figure(result)))
    if not result.aggregates.empty:
        figures.append(("aggregates", aggregates_figure(result)))
    if result.autocorrelation_score is not None:
        figures.append(("autocorrelation", autocorrelation_figure(result)))
    if result.cross is not None:
        figures.append(("cross_correlation", cross_correlation_figure(result)))
    if result.copy_rate is not None:
        figures.append(("copies", copy_figure(result)))
    return figures


def _histogram(title: str, real: np.ndarray, synthetic: np.ndarray, axis: str,
               integer: bool = False) -> go.Figure:
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    both = np.concatenate([real, synthetic])
    both = both[np.isfinite(both)]
    low, high = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    if integer and high - low <= 40:
        edges = np.arange(math.floor(low), math.floor(high) + 2) - 0.5
    else:
        edges = np.linspace(low, high if high > low else low + 1, 31)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure()
    for name, values, colour in (("Real", real, REAL_COLOUR),
                                 ("Synthetic", synthetic, SYNTHETIC_COLOUR)):
        counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
        shares = counts / max(counts.sum(), 1)
        figure.add_bar(x=centres, y=shares, name=name, marker_color=colour, opacity=0.75)
    figure.update_layout(title=title, barmode="overlay", template="plotly_white",
                         xaxis_title=axis, yaxis_title="share", yaxis_tickformat=".0%",
                         margin={"l": 40, "r": 20, "t": 50, "b": 40})
    return figure


def length_figure(result: SequenceResult) -> go.Figure:
    """Events per entity, real vs synthetic."""
    return _histogram(f"Events per entity (score {result.length_score:.0%})",
                      result.lengths["real"].astype(float),
                      result.lengths["synthetic"].astype(float), "events per entity",
                      integer=True)


def transition_figure(result: SequenceResult) -> go.Figure:
    """Three heatmaps: next-event shares in real, synthetic, and their difference."""
    from plotly.subplots import make_subplots

    assert result.transitions is not None
    score = result.transition_score or 0.0
    figure = make_subplots(rows=1, cols=3, subplot_titles=("Real", "Synthetic",
                                                           "Synthetic − real"),
                           horizontal_spacing=0.08)
    for position, name in enumerate(("real", "synthetic", "difference"), start=1):
        table = result.transitions[name]
        difference = name == "difference"
        figure.add_heatmap(
            z=table.to_numpy(), x=[str(c) for c in table.columns],
            y=[str(r) for r in table.index], row=1, col=position,
            colorscale="RdBu_r" if difference else "Blues",
            zmin=-1 if difference else 0, zmax=1, showscale=difference,
            hovertemplate="after %{y}, then %{x}: %{z:.0%}<extra></extra>")
        figure.update_yaxes(autorange="reversed", row=1, col=position,
                            showticklabels=position == 1)
    figure.update_layout(title=f"Which event follows which: '{result.event_column}' "
                               f"(score {score:.0%})", template="plotly_white",
                         margin={"l": 40, "r": 20, "t": 70, "b": 40}, height=420)
    return figure


def gap_figure(result: SequenceResult) -> go.Figure:
    """Time between consecutive events of an entity, real vs synthetic."""
    assert result.gaps is not None
    return _histogram(f"Time between events (score {result.gap_score or 0:.0%})",
                      result.gaps["real"], result.gaps["synthetic"], result.gap_unit)


def aggregates_figure(result: SequenceResult) -> go.Figure:
    """Average per entity of each per-entity number, synthetic as a share of real."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    table = result.aggregates
    figure = go.Figure()
    figure.add_bar(y=table["feature"], x=table["real"], orientation="h", name="Real",
                   marker_color=REAL_COLOUR)
    figure.add_bar(y=table["feature"], x=table["synthetic"], orientation="h",
                   name="Synthetic", marker_color=SYNTHETIC_COLOUR)
    figure.update_layout(title="Average per entity", barmode="group", template="plotly_white",
                         xaxis_type="log" if (table[["real", "synthetic"]] > 0).all().all()
                         and table["real"].max() > 50 * max(table["real"].min(), 1e-9)
                         else "linear",
                         height=max(300, 28 * len(table) + 120),
                         margin={"l": 40, "r": 20, "t": 50, "b": 40})
    figure.update_yaxes(autorange="reversed")
    return figure


def autocorrelation_figure(result: SequenceResult) -> go.Figure:
    """Autocorrelation at lags 1..k per numeric column, real (solid) vs synthetic (dashed)."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    figure = go.Figure()
    for column, part in result.autocorrelation.groupby("column", sort=False):
        for side, colour, dash in (("real", REAL_COLOUR, "solid"),
                                   ("synthetic", SYNTHETIC_COLOUR, "dash")):
            figure.add_scatter(x=part["lag"], y=part[side], mode="lines+markers",
                               name=f"{column} ({side})", line={"color": colour, "dash": dash})
    figure.update_layout(title=f"Autocorrelation (score {result.autocorrelation_score or 0:.0%})",
                         xaxis_title="lag (events later)", yaxis_title="correlation",
                         yaxis_range=[-1, 1], template="plotly_white",
                         margin={"l": 40, "r": 20, "t": 50, "b": 40})
    return figure


def cross_correlation_figure(result: SequenceResult) -> go.Figure:
    """Correlations of returns: between entities (histogram) or column pairs (bars)."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    cross = result.cross
    assert cross is not None
    if cross.mode == "entities":
        figure = _histogram(f"Correlation of '{cross.column}' returns between entities",
                            cross.real, cross.synthetic, "correlation")
        figure.update_xaxes(range=[-1, 1])
        return figure
    figure = go.Figure()
    figure.add_bar(x=list(cross.labels), y=cross.real, name="Real", marker_color=REAL_COLOUR)
    figure.add_bar(x=list(cross.labels), y=cross.synthetic, name="Synthetic",
                   marker_color=SYNTHETIC_COLOUR)
    figure.update_layout(title="Correlation of returns between columns", barmode="group",
                         yaxis_range=[-1, 1], template="plotly_white",
                         margin={"l": 40, "r": 20, "t": 50, "b": 40})
    return figure


def copy_figure(result: SequenceResult) -> go.Figure:
    """Copied sequences: synthetic vs held-out real sequences (the chance level)."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    figure = go.Figure()
    labels = [f"whole sequence or {COPY_RUN_EVENTS} events in a row", "whole sequence"]
    figure.add_bar(x=labels, y=[result.holdout_copy_rate, result.holdout_exact_copy_rate],
                   name="Held-out real sequences (chance)", marker_color=REAL_COLOUR)
    figure.add_bar(x=labels, y=[result.copy_rate, result.exact_copy_rate],
                   name="Synthetic sequences", marker_color=SYNTHETIC_COLOUR)
    figure.update_layout(title="Sequences repeating a training sequence", barmode="group",
                         yaxis_tickformat=".0%", template="plotly_white",
                         margin={"l": 40, "r": 20, "t": 50, "b": 40})
    return figure
