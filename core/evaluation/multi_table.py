"""Evaluation of related tables: keys, children per parent, each table, usefulness, privacy.

:func:`evaluate_related` takes the real training tables, the held-out real tables and the
synthetic tables (each prepared by :func:`core.data.schema.prepare_training_frame`, keys
kept), their schemas and the relationships, and measures:

* **SDMetrics' multi-table reports** — the unified ``QualityReport`` (column shapes and
  pair trends of every table, cardinality, trends across parent and child) and
  ``DiagnosticReport`` (validity, structure, relationship validity). Their cost grows with
  rows and column pairs, so when a root table has more than :data:`QUALITY_MAX_ROOT_ROWS`
  rows a seeded sample of root rows is taken and every descendant keeps only the rows of
  the kept parents (a note says so).
* **Referential integrity** per relationship: the share of child rows whose foreign key
  finds a parent row, and the orphans (must be 100 % for a correct synthesizer).
* **Cardinality** per relationship: the distribution of children per parent, real vs
  synthetic, scored as 1 − the Kolmogorov–Smirnov gap (SDMetrics'
  CardinalityShapeSimilarity), with a figure.
* **Each table's single-table view**: the column scores and pair relations of
  :mod:`core.evaluation.fidelity`, on each table's learned columns (keys left out).
* **Usefulness on a parent-level target**: each parent row gets its own columns plus
  summaries of its children and grandchildren (counts, sums and means of numbers, shares of
  categories); :func:`core.evaluation.utility.utility_scores` then trains on the synthetic
  vs the real training parents and tests both on the held-out real parents.
* **Privacy per table** (:func:`core.evaluation.privacy.privacy_scores`: exact copies beyond
  chance, the closer-to-training share) on each table's learned columns, and whether faked
  personal data stays one value per person across tables (a child column that repeats its
  parent's name in the real tables must repeat the parent's fake name in the synthetic ones).

Every level (good / fair / poor) comes from :mod:`core.evaluation.thresholds`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.related import Relationship, dependency_order
from core.data.schema import PII_SDTYPES, ColumnSchema, TableSchema
from core.errors import EvaluationError
from core.evaluation import glossary
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluation_sdtype,
    is_continuous,
    sample_rows,
)
from core.evaluation.fidelity import (
    ColumnScore,
    _for_sdmetrics,
    column_score,
    column_scores,
    correlation_matrices,
    run_sdmetrics_reports,
)
from core.evaluation.privacy import PrivacyResult, privacy_scores
from core.evaluation.thresholds import (
    LEVELS,
    NOT_MEASURED,
    PII_SAME_ENTITY,
    cardinality_level,
    fidelity_level,
    integrity_level,
    privacy_level,
    utility_level,
)
from core.evaluation.utility import UtilityResult, utility_scores
from core.progress import ProgressCallback, null_progress, scaled

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "AGGREGATE_MAX_LEVELS",
    "PRIVACY_MAX_ROWS",
    "QUALITY_MAX_ROOT_ROWS",
    "CardinalityResult",
    "IntegrityResult",
    "PiiConsistency",
    "RelatedEvaluation",
    "TableView",
    "cardinality_figure",
    "cardinality_scores",
    "evaluate_related",
    "integrity_figure",
    "parent_features",
    "pii_consistency",
    "referential_integrity",
    "related_report_html",
]

#: Root rows per side given to SDMetrics' multi-table reports (descendants follow their
#: kept parents). Their cost is ~10-40 ms per column pair plus time per row: the bank
#: sample (350 training customers, ~5,400 transactions) takes about 2 s unsampled.
QUALITY_MAX_ROOT_ROWS = 2_000
#: Bound on the synthetic (and held-out) rows whose distances privacy measures per table.
PRIVACY_MAX_ROWS = 2_000
#: A child's category column is summarised as the shares of its most common levels, at most
#: this many (the rest pooled as "other").
AGGREGATE_MAX_LEVELS = 8
#: Children are summarised down to this depth (1 = children, 2 = grandchildren).
AGGREGATE_DEPTH = 2


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class IntegrityResult:
    """Referential integrity of one relationship in the synthetic tables.

    Attributes:
        label: The relationship's label ("customers.customer_id → accounts.customer_id").
        child_rows: Synthetic child rows.
        orphans: Child rows whose foreign key finds no parent row.
        missing: Child rows with no foreign key at all (counted as orphans when the real
            child table always has one).
        fraction: Share of child rows that find their parent (1.0 with no child row).
        sentence: One plain sentence.
    """

    label: str
    child_rows: int
    orphans: int
    missing: int
    fraction: float
    sentence: str

    @property
    def level(self) -> str:
        """The reading (:func:`~core.evaluation.thresholds.integrity_level`)."""
        return integrity_level(self.fraction)


@dataclass(frozen=True, eq=False)
class CardinalityResult:
    """Children per parent along one relationship, real vs synthetic.

    Attributes:
        label: The relationship's label.
        real_counts: Children of each real training parent row.
        synthetic_counts: Children of each synthetic parent row (orphans left out).
        score: 1 − the largest gap between the two distributions (KS complement), 0..1.
        sentence: One plain sentence.
    """

    label: str
    real_counts: np.ndarray
    synthetic_counts: np.ndarray
    score: float
    sentence: str

    @property
    def level(self) -> str:
        """The reading (:func:`~core.evaluation.thresholds.cardinality_level`)."""
        return cardinality_level(self.score)


@dataclass(frozen=True)
class PiiConsistency:
    """Whether a child's personal-data column repeats its parent's, real vs synthetic.

    Attributes:
        label: The relationship's label.
        parent_column: The parent's column (``name``).
        child_column: The child's column (``holder_name``).
        real_share: Share of real child rows repeating their parent's value.
        synthetic_share: The same in the synthetic tables (NaN with no linked child row).
        inconsistent_rows: Synthetic child rows with another value than their parent's.
        inconsistent_entities: Synthetic parents with at least one such child row.
        judged: Whether the real tables repeat the value (real share ≥
            :data:`~core.evaluation.thresholds.PII_SAME_ENTITY`), so the synthetic ones must.
        sentence: One plain sentence.
    """

    label: str
    parent_column: str
    child_column: str
    real_share: float
    synthetic_share: float
    inconsistent_rows: int
    inconsistent_entities: int
    judged: bool
    sentence: str

    @property
    def consistent(self) -> bool:
        """True unless a judged pair has a synthetic person with two fake values."""
        return not self.judged or self.inconsistent_rows == 0


@dataclass(frozen=True, eq=False)
class TableView:
    """One table's single-table view and privacy.

    Attributes:
        name: The table.
        rows: ``real_train``, ``holdout``, ``synthetic`` row counts.
        columns: Column scores, worst first (:func:`~core.evaluation.fidelity.column_scores`).
        column_shapes: Mean column score (NaN without a learned column).
        pair_score: Mean relation kept over every pair (NaN with fewer than two columns).
        privacy: Exact copies and distances, or None (see ``skipped``).
        skipped: Part ("columns", "privacy") → why it was not measured.
    """

    name: str
    rows: dict[str, int]
    columns: list[ColumnScore]
    column_shapes: float
    pair_score: float
    privacy: PrivacyResult | None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def privacy_level(self) -> str:
        """The table's privacy reading (distances), or "not measured"."""
        if self.privacy is None:
            return NOT_MEASURED
        return privacy_level(self.privacy.exact_match_rate, self.privacy.dcr_share,
                             self.privacy.holdout_exact_match_rate)


@dataclass(frozen=True, eq=False)
class RelatedEvaluation:
    """Everything :func:`evaluate_related` measured.

    Attributes:
        quality_score: SDMetrics' multi-table quality score, 0..1.
        diagnostic_score: SDMetrics' multi-table diagnostic score, 0..1.
        quality_properties: ``Property``, ``Score`` of the quality report.
        diagnostic_properties: ``Property``, ``Score`` of the diagnostic report.
        integrity: One result per relationship.
        cardinality: One result per relationship.
        tables: Table name → its single-table view and privacy.
        utility: The parent-level usefulness test, or None (see ``utility_reason``).
        utility_reason: Why it was not measured; None when it was.
        pii: Personal-data pairs across tables.
        target: ``(table, column)`` of the usefulness test, or None.
        relationships: The relationships evaluated.
        timings: Wall seconds per part and ``total``.
        notes: Sampling and skipped parts, in plain sentences.
        seed: Seed of every sample and model.
        reports: SDMetrics' report objects (``quality``, ``diagnostic``) for their figures.
    """

    quality_score: float
    diagnostic_score: float
    quality_properties: pd.DataFrame
    diagnostic_properties: pd.DataFrame
    integrity: list[IntegrityResult]
    cardinality: list[CardinalityResult]
    tables: dict[str, TableView]
    utility: UtilityResult | None
    utility_reason: str | None
    pii: list[PiiConsistency]
    target: tuple[str, str] | None
    relationships: tuple[Relationship, ...]
    timings: dict[str, float]
    notes: tuple[str, ...] = ()
    seed: int = 0
    reports: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def integrity_fraction(self) -> float:
        """Share of all synthetic child rows (every relationship) that find their parent."""
        rows = sum(r.child_rows for r in self.integrity)
        if not rows:
            return 1.0
        return sum(r.child_rows * r.fraction for r in self.integrity) / rows

    @property
    def orphans(self) -> int:
        """Orphan child rows over every relationship."""
        return sum(r.orphans for r in self.integrity)

    @property
    def cardinality_mean(self) -> float:
        """Mean cardinality score over the relationships (NaN with none)."""
        scores = [c.score for c in self.cardinality if c.score == c.score]
        return float(np.mean(scores)) if scores else float("nan")

    @property
    def levels(self) -> dict[str, str]:
        """The reading of each aspect (fidelity, integrity, cardinality, utility, privacy, PII)."""
        def worst(levels: list[str]) -> str:
            known = [level for level in levels if level != NOT_MEASURED]
            return max(known, key=LEVELS.index) if known else NOT_MEASURED

        utility = (utility_level(self.utility.ratio)
                   if self.utility is not None and self.utility.informative
                   and self.utility.ratio is not None else NOT_MEASURED)
        judged = [p for p in self.pii if p.judged]
        return {
            "fidelity": fidelity_level(self.quality_score),
            # The worst relationship: a few orphans in a small table are not diluted by a
            # large clean one.
            "integrity": worst([r.level for r in self.integrity])
            if self.integrity else NOT_MEASURED,
            "cardinality": worst([c.level for c in self.cardinality]),
            "utility": utility,
            "privacy": worst([view.privacy_level for view in self.tables.values()]),
            "pii_consistency": (NOT_MEASURED if not judged else
                                "good" if all(p.consistent for p in judged) else "poor"),
        }

    @property
    def sentences(self) -> list[str]:
        """The headline findings, in plain sentences built from the numbers."""
        out = [
            f"Overall the synthetic tables score {self.quality_score:.0%} on quality "
            f"({fidelity_level(self.quality_score)}) and {self.diagnostic_score:.0%} on "
            "validity.",
        ]
        orphans = self.orphans
        if orphans:
            out.append(f"{orphans:,} synthetic child row{'s' if orphans != 1 else ''} point at "
                       f"a parent that does not exist: {self.integrity_fraction:.1%} of keys "
                       "match, and a correct synthesizer reaches 100%.")
        elif self.integrity:
            out.append("Every synthetic child row points at a parent row that exists (100% "
                       "of keys match).")
        out.extend(c.sentence for c in self.cardinality)
        if self.utility is not None:
            out.append(self.utility.explanation)
        elif self.utility_reason:
            out.append(f"Usefulness was not measured: {self.utility_reason}")
        out.extend(p.sentence for p in self.pii if p.judged)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The metrics.json ``multi_table`` section (plain JSON types)."""
        def number(value: float | None) -> float | None:
            return None if value is None or value != value else round(float(value), 6)

        utility: dict[str, Any] | None = None
        if self.utility is not None:
            utility = {
                "table": self.target[0] if self.target else None,
                "target": self.utility.target, "task": self.utility.task,
                "metric": self.utility.metric, "real": number(self.utility.real),
                "synthetic": number(self.utility.synthetic),
                "ratio": number(self.utility.ratio), "informative": self.utility.informative,
                "rows": dict(self.utility.rows),
            }
        return {
            "quality_score": number(self.quality_score),
            "diagnostic_score": number(self.diagnostic_score),
            "quality_properties": {str(r["Property"]): number(r["Score"])
                                   for r in self.quality_properties.to_dict("records")},
            "diagnostic_properties": {str(r["Property"]): number(r["Score"])
                                      for r in self.diagnostic_properties.to_dict("records")},
            "referential_integrity": number(self.integrity_fraction),
            "referential_integrity_by_relationship": {r.label: number(r.fraction)
                                                      for r in self.integrity},
            "orphans": {r.label: r.orphans for r in self.integrity},
            "cardinality_score": {c.label: number(c.score) for c in self.cardinality},
            "cardinality": {c.label: {
                "score": number(c.score),
                "real_children_per_parent": number(np.mean(c.real_counts))
                if len(c.real_counts) else None,
                "synthetic_children_per_parent": number(np.mean(c.synthetic_counts))
                if len(c.synthetic_counts) else None,
            } for c in self.cardinality},
            "utility": utility,
            "utility_reason": self.utility_reason,
            "privacy": {name: None if view.privacy is None else {
                "exact_match_rate": number(view.privacy.exact_match_rate),
                "holdout_exact_match_rate": number(view.privacy.holdout_exact_match_rate),
                "dcr_share": number(view.privacy.dcr_share),
                "level": view.privacy_level,
            } for name, view in self.tables.items()},
            "pii_consistency": [{
                "relationship": p.label, "parent_column": p.parent_column,
                "child_column": p.child_column, "real_share": number(p.real_share),
                "synthetic_share": number(p.synthetic_share),
                "inconsistent_rows": p.inconsistent_rows,
                "inconsistent_entities": p.inconsistent_entities, "judged": p.judged,
            } for p in self.pii],
            "tables": {name: {
                "rows": dict(view.rows),
                "column_shapes": number(view.column_shapes),
                "pair_score": number(view.pair_score),
                "skipped": dict(view.skipped),
            } for name, view in self.tables.items()},
            "levels": self.levels,
            "sentences": self.sentences,
            "notes": list(self.notes),
            "timings": dict(self.timings),
            "seed": self.seed,
        }


# --------------------------------------------------------------------------- helpers


def _keys_of(table: str, schema: TableSchema, relationships: Sequence[Relationship]) -> set[str]:
    keys = {r.parent_key for r in relationships if r.parent == table}
    keys |= {r.child_key for r in relationships if r.child == table}
    if schema.primary_key:
        keys.add(schema.primary_key)
    return keys


def _without_keys(schema: TableSchema, keys: set[str]) -> TableSchema:
    """The schema with key columns marked as identifiers, so no score reads them."""
    columns = tuple(replace(c, sdtype="id") if c.name in keys else c for c in schema.columns)
    return replace(schema, columns=columns)


def _key_values(series: pd.Series, numeric: bool) -> pd.Series:
    """Key values comparable across frames (numbers as floats, else text)."""
    if numeric:
        return pd.Series(pd.to_numeric(series, errors="coerce"), index=series.index,
                         dtype=float)
    return as_labels(series)


def _numeric_keys(*series: pd.Series) -> bool:
    return all(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
               for s in series)


def _parent_index(parent: pd.Series, child: pd.Series) -> tuple[pd.Series, pd.Series]:
    numeric = _numeric_keys(parent, child)
    return _key_values(parent, numeric), _key_values(child, numeric)


def _check_inputs(frames: Mapping[str, Mapping[str, pd.DataFrame]],
                  schemas: Mapping[str, TableSchema],
                  relationships: Sequence[Relationship]) -> list[str]:
    names = list(schemas)
    if not names:
        raise EvaluationError("There is no table to evaluate: load related tables first.")
    for what, tables in frames.items():
        missing = [n for n in names if n not in tables]
        if missing:
            raise EvaluationError(
                f"The {what} tables lack {', '.join(map(repr, missing))}. Generate the "
                "synthetic tables again with the model trained on these tables.")
    for relation in relationships:
        for table, column in ((relation.parent, relation.parent_key),
                              (relation.child, relation.child_key)):
            if table not in schemas:
                raise EvaluationError(f"The relationship {relation.label} names the table "
                                      f"'{table}', which is not among the tables evaluated.")
            for what, tables in frames.items():
                if column not in tables[table].columns:
                    raise EvaluationError(
                        f"The {what} table '{table}' lacks its key column '{column}' "
                        f"({relation.label}); keys must be kept to evaluate related tables.")
    return names


# --------------------------------------------------------------------------- keys


def referential_integrity(
    real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame],
    relationships: Sequence[Relationship],
) -> list[IntegrityResult]:
    """Share of synthetic child rows whose foreign key finds a parent row, per relationship.

    A child row with no foreign key at all counts as an orphan unless the real child table
    has such rows too (an optional link).
    """
    results = []
    for relation in relationships:
        parent_keys, child_keys = _parent_index(synthetic[relation.parent][relation.parent_key],
                                                synthetic[relation.child][relation.child_key])
        missing_mask = child_keys.isna().to_numpy()
        found = child_keys.isin(set(parent_keys.dropna())).to_numpy()
        orphans = int((~found & ~missing_mask).sum())
        missing = int(missing_mask.sum())
        optional = bool(real[relation.child][relation.child_key].isna().any())
        bad = orphans + (0 if optional else missing)
        total = len(child_keys)
        fraction = 1.0 if total == 0 else 1.0 - bad / total
        if bad == 0:
            sentence = (f"{relation.label}: every one of the {total:,} synthetic "
                        f"'{relation.child}' rows finds its '{relation.parent}' row.")
        else:
            parts = [f"{orphans:,} point at a '{relation.parent}' row that does not exist"]
            if missing and not optional:
                parts.append(f"{missing:,} have no '{relation.child_key}' at all")
            sentence = (f"{relation.label}: {fraction:.1%} of {total:,} synthetic "
                        f"'{relation.child}' rows find their parent; "
                        + " and ".join(parts) + ".")
        results.append(IntegrityResult(relation.label, total, orphans, missing, fraction,
                                       sentence))
    return results


def _children_per_parent(parent: pd.DataFrame, child: pd.DataFrame,
                         relation: Relationship) -> np.ndarray:
    parent_keys, child_keys = _parent_index(parent[relation.parent_key],
                                            child[relation.child_key])
    counts = child_keys.value_counts()
    return counts.reindex(parent_keys.to_numpy(), fill_value=0).to_numpy(dtype=float)


def cardinality_scores(
    real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame],
    relationships: Sequence[Relationship],
) -> list[CardinalityResult]:
    """Children per parent, real vs synthetic, and 1 − their KS gap, per relationship."""
    results = []
    for relation in relationships:
        real_counts = _children_per_parent(real[relation.parent], real[relation.child],
                                           relation)
        synthetic_counts = _children_per_parent(synthetic[relation.parent],
                                                synthetic[relation.child], relation)
        scored = column_score(pd.Series(real_counts, name=relation.label),
                              pd.Series(synthetic_counts, name=relation.label), "numerical")
        score = scored.score
        if len(real_counts) and len(synthetic_counts):
            sentence = (
                f"{relation.label}: a real '{relation.parent}' row has "
                f"{np.mean(real_counts):.1f} '{relation.child}' rows on average (at most "
                f"{int(np.max(real_counts)):,}), a synthetic one {np.mean(synthetic_counts):.1f} "
                f"(at most {int(np.max(synthetic_counts)):,}); children per parent kept "
                f"{glossary.fmt('cardinality_score', score)} ({cardinality_level(score)}).")
        else:
            sentence = (f"{relation.label}: one side has no '{relation.parent}' row, so "
                        "children per parent cannot be compared.")
        results.append(CardinalityResult(relation.label, real_counts, synthetic_counts, score,
                                         sentence))
    return results


# --------------------------------------------------------------------------- PII


def _pii_columns(schema: TableSchema) -> list[ColumnSchema]:
    return [c for c in schema.columns
            if c.action != "drop" and (c.pii or c.sdtype in PII_SDTYPES)]


def _pii_pairs(parent: TableSchema, child: TableSchema) -> list[tuple[str, str]]:
    """(parent column, child column) holding the same kind of personal data."""
    parent_pii, child_pii = _pii_columns(parent), _pii_columns(child)
    pairs: list[tuple[str, str]] = []
    for column in child_pii:
        same_name = [p for p in parent_pii if p.name == column.name]
        same_kind = [p for p in parent_pii if p.sdtype == column.sdtype]
        if same_name:
            pairs.append((same_name[0].name, column.name))
        elif len(same_kind) == 1 and sum(c.sdtype == column.sdtype for c in child_pii) == 1:
            pairs.append((same_kind[0].name, column.name))
    return pairs


def _repeat_share(parent: pd.DataFrame, child: pd.DataFrame, relation: Relationship,
                  parent_column: str, child_column: str) -> tuple[float, int, int]:
    """Share of linked child rows repeating their parent's value; bad rows; bad parents."""
    parent_keys, child_keys = _parent_index(parent[relation.parent_key],
                                            child[relation.child_key])
    lookup = pd.Series(as_labels(parent[parent_column]).to_numpy(),
                       index=parent_keys.to_numpy())
    lookup = lookup[~lookup.index.duplicated()]
    linked = child_keys.isin(set(lookup.index.dropna())).to_numpy()
    if not linked.any():
        return float("nan"), 0, 0
    expected = lookup.reindex(child_keys[linked].to_numpy()).to_numpy()
    values = as_labels(child[child_column]).to_numpy()[linked]
    same = np.array([a == b or (a != a and b != b) for a, b in zip(values, expected,
                                                                   strict=True)])
    bad_parents = pd.Series(child_keys[linked].to_numpy()[~same]).nunique()
    return float(same.mean()), int((~same).sum()), int(bad_parents)


def pii_consistency(
    real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame],
    schemas: Mapping[str, TableSchema], relationships: Sequence[Relationship],
) -> list[PiiConsistency]:
    """Whether each synthetic person keeps one fake value in every table it appears in.

    For every relationship, a child's personal-data column is paired with the parent's of
    the same name (or the same kind, when each table has one of that kind). Where the real
    child rows repeat their parent's value (``holder_name`` = the customer's ``name``), the
    synthetic child rows must repeat their synthetic parent's fake value.
    """
    results = []
    for relation in relationships:
        for parent_column, child_column in _pii_pairs(schemas[relation.parent],
                                                      schemas[relation.child]):
            if not all(column in frame.columns for column, frame in (
                    (parent_column, real[relation.parent]), (child_column, real[relation.child]),
                    (parent_column, synthetic[relation.parent]),
                    (child_column, synthetic[relation.child]))):
                continue
            real_share, _, _ = _repeat_share(real[relation.parent], real[relation.child],
                                             relation, parent_column, child_column)
            share, rows, entities = _repeat_share(synthetic[relation.parent],
                                                  synthetic[relation.child], relation,
                                                  parent_column, child_column)
            judged = real_share == real_share and real_share >= PII_SAME_ENTITY
            where = (f"'{relation.child}.{child_column}' and "
                     f"'{relation.parent}.{parent_column}'")
            if not judged:
                sentence = (f"{where} hold different values in the real tables "
                            f"({real_share:.0%} of rows repeat the parent's), so they need "
                            "not match in the synthetic ones.")
            elif rows == 0:
                sentence = (f"{where}: every synthetic person keeps one fake value in both "
                            "tables, as the real tables do.")
            else:
                sentence = (f"{where}: {entities:,} synthetic {relation.parent} have "
                            f"{rows:,} '{relation.child}' rows with another fake value than "
                            "their own, while the real tables always repeat it: the same "
                            "person shows up under two names.")
            results.append(PiiConsistency(relation.label, parent_column, child_column,
                                          real_share, share, rows, entities, judged, sentence))
    return results


# --------------------------------------------------------------------------- features


def _descendants(table: str, relationships: Sequence[Relationship],
                 depth: int) -> list[list[Relationship]]:
    """Paths of relationships from ``table`` down to each descendant, up to ``depth``."""
    paths: list[list[Relationship]] = []
    frontier: list[list[Relationship]] = [[]]
    for _ in range(depth):
        grown = []
        for path in frontier:
            last = path[-1].child if path else table
            for relation in relationships:
                if relation.parent == last and relation.child != last and all(
                        relation.child != step.parent for step in path):
                    grown.append([*path, relation])
        paths.extend(grown)
        frontier = grown
    return paths


def _ancestor_keys(frames: Mapping[str, pd.DataFrame], path: list[Relationship]) -> pd.Series:
    """For each row of the path's last table, the key of its ancestor at the path's start."""
    last = path[-1]
    keys = frames[last.child][last.child_key]
    for relation in reversed(path[:-1]):
        parent = frames[relation.child]
        parent_keys, child_keys = _parent_index(parent[last.parent_key], keys)
        lookup = pd.Series(parent[relation.child_key].to_numpy(), index=parent_keys.to_numpy())
        lookup = lookup[~lookup.index.duplicated()]
        keys = pd.Series(lookup.reindex(child_keys.to_numpy()).to_numpy(), index=keys.index)
        last = relation
    return keys


def parent_features(
    frames: Mapping[str, pd.DataFrame],
    schemas: Mapping[str, TableSchema],
    relationships: Sequence[Relationship],
    table: str,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[str]]]:
    """Each row of ``table`` with summaries of its children and grandchildren.

    For every descendant table (children, then their children): the number of its rows under
    the parent row, the sum and mean of each number (dates as days), the share of True of each
    flag and the share of each of the commonest categories.

    Args:
        frames: The tables (keys kept).
        schemas: Their schemas.
        relationships: The foreign keys.
        table: The parent table whose rows get features.
        levels: The categories to count per summarised column (from the real training
            tables); None learns them from ``frames``.

    Returns:
        The parent's rows (its own columns first, then the summaries), the evaluation kind of
        every summary column, and the category levels used.
    """
    base = frames[table].reset_index(drop=True)
    key = schemas[table].primary_key or next(
        (r.parent_key for r in relationships if r.parent == table), None)
    if key is None:
        return base, {}, {}
    out: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    learned: dict[str, list[str]] = {}
    for path in _descendants(table, relationships, AGGREGATE_DEPTH):
        child = path[-1].child
        prefix = "__".join(r.child for r in path)
        ancestors = _ancestor_keys(frames, path)
        numeric = _numeric_keys(base[key], ancestors.dropna()) or ancestors.isna().all()
        groups = _key_values(ancestors, bool(numeric))
        own = _key_values(base[key], bool(numeric))
        counts = groups.value_counts()
        out[f"{prefix}__rows"] = counts.reindex(own.to_numpy(), fill_value=0).to_numpy(float)
        kinds[f"{prefix}__rows"] = "numerical"
        schema = _without_keys(schemas[child], _keys_of(child, schemas[child], relationships))
        data = frames[child]
        for column in schema.modelled_columns:
            sdtype = evaluation_sdtype(schema.column(column))
            grouped_by = groups.to_numpy()
            if is_continuous(sdtype) or sdtype == "boolean":
                values = pd.Series(as_numeric(data[column]), index=data.index)
                stats = values.groupby(grouped_by).agg(["sum", "mean"])
                names = ("mean",) if sdtype == "boolean" else ("sum", "mean")
                for stat in names:
                    name = f"{prefix}__{column}__{stat}"
                    out[name] = stats[stat].reindex(own.to_numpy()).to_numpy(float)
                    kinds[name] = "numerical"
                continue
            labels = as_labels(data[column])
            name_key = f"{prefix}__{column}"
            if levels is not None and name_key in levels:
                kept = list(levels[name_key])
            else:
                kept = [str(v) for v in labels.value_counts().index[:AGGREGATE_MAX_LEVELS]]
            learned[name_key] = kept
            for level in kept:
                hits = pd.Series((labels == level).to_numpy(dtype=float), index=data.index)
                share = hits.groupby(grouped_by).mean()
                name = f"{prefix}__{column}=={level}"
                out[name] = share.reindex(own.to_numpy()).to_numpy(float)
                kinds[name] = "numerical"
    features = pd.concat([base, pd.DataFrame(out, index=base.index)], axis=1)
    return features, kinds, learned


def _feature_schema(schema: TableSchema, keys: set[str], kinds: Mapping[str, str]) -> TableSchema:
    own = _without_keys(schema, keys)
    added = tuple(ColumnSchema(name=name, sdtype=kind) for name, kind in kinds.items())
    return replace(own, columns=own.columns + added, primary_key=None, sequence=None)


def _related_utility(real_train: Mapping[str, pd.DataFrame], holdout: Mapping[str, pd.DataFrame],
                     synthetic: Mapping[str, pd.DataFrame], schemas: Mapping[str, TableSchema],
                     relationships: Sequence[Relationship], target: tuple[str, str], seed: int,
                     progress: ProgressCallback | None) -> UtilityResult:
    table, column = target
    if table not in schemas:
        raise EvaluationError(f"The target table '{table}' is not among the tables: pick "
                              "another target.")
    if column not in real_train[table].columns:
        raise EvaluationError(f"The table '{table}' has no column '{column}': pick another "
                              "target.")
    train, kinds, levels = parent_features(real_train, schemas, relationships, table)
    test, _, _ = parent_features(holdout, schemas, relationships, table, levels)
    synth, _, _ = parent_features(synthetic, schemas, relationships, table, levels)
    schema = _feature_schema(schemas[table], _keys_of(table, schemas[table], relationships),
                             kinds)
    return utility_scores(train, test, synth, schema, column, seed=seed, progress=progress)


# --------------------------------------------------------------------------- SDMetrics


def _sample_tree(frames: Mapping[str, pd.DataFrame], schemas: Mapping[str, TableSchema],
                 relationships: Sequence[Relationship], order: list[str], max_rows: int,
                 seed: int) -> tuple[dict[str, pd.DataFrame], bool]:
    """Root tables sampled to ``max_rows``; every other table keeps its kept parents' rows."""
    kept: dict[str, pd.DataFrame] = {}
    sampled = False
    for name in order:
        frame = frames[name]
        parents = [r for r in relationships if r.child == name and r.parent != name]
        if not parents:
            kept[name] = sample_rows(frame, max_rows, seed)
            sampled |= len(kept[name]) < len(frame)
            continue
        if not sampled:
            kept[name] = frame
            continue
        mask = np.ones(len(frame), dtype=bool)
        for relation in parents:
            parent_keys, child_keys = _parent_index(kept[relation.parent][relation.parent_key],
                                                    frame[relation.child_key])
            mask &= child_keys.isin(set(parent_keys.dropna())).to_numpy()
        kept[name] = frame[mask]
    return kept, sampled


def _sdmetrics_inputs(frames: Mapping[str, pd.DataFrame], schemas: Mapping[str, TableSchema],
                      relationships: Sequence[Relationship]
                      ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    data: dict[str, pd.DataFrame] = {}
    tables: dict[str, Any] = {}
    for name, schema in schemas.items():
        keys = _keys_of(name, schema, relationships)
        evaluated = _without_keys(schema, keys)
        columns = evaluated.modelled_columns
        prepared = _for_sdmetrics(frames[name], evaluated, columns)
        described: dict[str, Any] = {}
        for column in columns:
            sdtype = evaluation_sdtype(evaluated.column(column))
            described[column] = {"sdtype": sdtype}
            if sdtype == "datetime":
                described[column]["datetime_format"] = "%Y-%m-%d %H:%M:%S"
        present_keys = [k for k in keys if k in frames[name].columns]
        for column in sorted(present_keys):
            numeric = _numeric_keys(frames[name][column])
            prepared[column] = _key_values(frames[name][column], numeric).to_numpy()
            described[column] = {"sdtype": "id"}
        table: dict[str, Any] = {"columns": described}
        if schema.primary_key and schema.primary_key in described:
            table["primary_key"] = schema.primary_key
        tables[name] = table
        data[name] = prepared
    metadata = {
        "tables": tables,
        "relationships": [{"parent_table_name": r.parent, "parent_primary_key": r.parent_key,
                           "child_table_name": r.child, "child_foreign_key": r.child_key}
                          for r in relationships],
    }
    return data, metadata


def _sdmetrics_reports(real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame],
                       schemas: Mapping[str, TableSchema], relationships: Sequence[Relationship],
                       progress: ProgressCallback) -> tuple[Any, Any]:
    from sdmetrics.reports import DiagnosticReport, QualityReport  # lazy: slow import

    real_data, metadata = _sdmetrics_inputs(real, schemas, relationships)
    synthetic_data, _ = _sdmetrics_inputs(synthetic, schemas, relationships)
    quality, diagnostic = QualityReport(), DiagnosticReport()
    progress(0.0, "SDMetrics multi-table quality report…")
    run_sdmetrics_reports(quality, diagnostic, real_data, synthetic_data, metadata,
                          between=lambda: progress(0.8, "SDMetrics multi-table diagnostic "
                                                   "report…"),
                          what="its multi-table reports",
                          fix="Check the column types and the keys on the Data page.")
    return quality, diagnostic


# --------------------------------------------------------------------------- main


def evaluate_related(
    real_train: Mapping[str, pd.DataFrame],
    holdout: Mapping[str, pd.DataFrame],
    synthetic: Mapping[str, pd.DataFrame],
    schemas: Mapping[str, TableSchema],
    relationships: Sequence[Relationship],
    *,
    target: tuple[str, str] | None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> RelatedEvaluation:
    """Evaluate synthetic related tables against the real ones (see the module docstring).

    Progress: keys and cardinality 0-5 %, SDMetrics' reports 5-45 %, each table's view
    45-60 %, usefulness 60-80 %, privacy 80-99 %.

    Args:
        real_train: Table name → the real training rows (keys kept).
        holdout: Table name → the held-out real rows (children follow their parents).
        synthetic: Table name → the synthetic rows.
        schemas: Table name → its reviewed schema (``primary_key`` set).
        relationships: The foreign keys.
        target: ``(table, column)`` of the usefulness test, or None to skip it.
        seed: Seed of every sample and model.
        progress: Called with (fraction, message).

    Returns:
        The evaluation. A part that cannot run on this data (no held-out rows for a table's
        privacy, a one-class target) is skipped with its reason; the rest still runs.

    Raises:
        EvaluationError: A table or key column is missing, or SDMetrics failed.
    """
    report = progress or null_progress
    relationships = tuple(relationships)
    names = _check_inputs({"real training": real_train, "held-out": holdout,
                           "synthetic": synthetic}, schemas, relationships)
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()
    notes: list[str] = []

    def timed(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    report(0.0, "Checking that every synthetic key finds its parent…")
    integrity = referential_integrity(real_train, synthetic, relationships)
    cardinality = cardinality_scores(real_train, synthetic, relationships)
    pii = pii_consistency(real_train, synthetic, schemas, relationships)
    timed("keys")

    order = dependency_order(names, relationships, tolerate_cycles=True)
    real_kept, real_sampled = _sample_tree(real_train, schemas, relationships, order,
                                           QUALITY_MAX_ROOT_ROWS, seed)
    synthetic_kept, synthetic_sampled = _sample_tree(synthetic, schemas, relationships, order,
                                                     QUALITY_MAX_ROOT_ROWS, seed + 1)
    if real_sampled or synthetic_sampled:
        notes.append(f"SDMetrics' reports were computed on a seeded sample of at most "
                     f"{QUALITY_MAX_ROOT_ROWS:,} rows of each top-level table with all their "
                     "child rows.")
    quality, diagnostic = _sdmetrics_reports(real_kept, synthetic_kept, schemas, relationships,
                                             scaled(progress, 0.05, 0.45))
    timed("sdmetrics")

    views: dict[str, TableView] = {}
    step = 0.15 / max(len(names), 1)
    for index, name in enumerate(names):
        report(0.45 + index * step, f"Comparing the columns of '{name}'…")
        schema = _without_keys(schemas[name], _keys_of(name, schemas[name], relationships))
        rows = {"real_train": len(real_train[name]), "holdout": len(holdout[name]),
                "synthetic": len(synthetic[name])}
        skipped: dict[str, str] = {}
        columns: list[ColumnScore] = []
        shapes = pairs = float("nan")
        if not schema.modelled_columns:
            skipped["columns"] = "the table has only keys and personal data, nothing learned"
        elif real_train[name].empty or synthetic[name].empty:
            skipped["columns"] = "one side has no row"
        else:
            columns = column_scores(real_train[name], synthetic[name], schema)
            scored = [c.score for c in columns if c.score == c.score]
            shapes = float(np.mean(scored)) if scored else float("nan")
            if len(schema.modelled_columns) >= 2:
                pairs = correlation_matrices(real_train[name], synthetic[name], schema,
                                             seed=seed).pair_score
        views[name] = TableView(name, rows, columns, shapes, pairs, None, skipped)
    timed("tables")

    utility: UtilityResult | None = None
    utility_reason: str | None = None
    if target is None:
        utility_reason = "no target column was chosen, so no model was trained"
    else:
        try:
            utility = _related_utility(real_train, holdout, synthetic, schemas, relationships,
                                       target, seed, scaled(progress, 0.6, 0.8))
        except EvaluationError as error:
            utility_reason = str(error)
    timed("utility")

    for index, name in enumerate(names):
        report(0.8 + index * 0.19 / max(len(names), 1), f"Privacy of '{name}'…")
        view = views[name]
        schema = _without_keys(schemas[name], _keys_of(name, schemas[name], relationships))
        if "columns" in view.skipped:
            reason = view.skipped["columns"]
        elif holdout[name].empty:
            reason = ("it has no held-out rows (a small lookup table is kept whole), so there "
                      "is no baseline to compare with")
        else:
            try:
                privacy = privacy_scores(real_train[name], holdout[name], synthetic[name],
                                         schema, max_rows=PRIVACY_MAX_ROWS, seed=seed)
                views[name] = replace(view, privacy=privacy)
                continue
            except EvaluationError as error:
                reason = str(error)
        views[name] = replace(view, skipped={**view.skipped, "privacy": reason})
    timed("privacy")
    timings["total"] = round(time.perf_counter() - started, 3)
    report(1.0, "Related-tables evaluation done.")

    if utility is not None:
        notes.extend(utility.notes)
    return RelatedEvaluation(
        quality_score=float(quality.get_score()),
        diagnostic_score=float(diagnostic.get_score()),
        quality_properties=quality.get_properties(),
        diagnostic_properties=diagnostic.get_properties().dropna(subset=["Score"])
        .reset_index(drop=True),
        integrity=integrity,
        cardinality=cardinality,
        tables=views,
        utility=utility,
        utility_reason=utility_reason,
        pii=pii,
        target=target,
        relationships=relationships,
        timings=timings,
        notes=tuple(notes),
        seed=seed,
        reports={"quality": quality, "diagnostic": diagnostic},
    )


# --------------------------------------------------------------------------- figures


def cardinality_figure(evaluation: RelatedEvaluation, label: str) -> go.Figure:
    """Share of parent rows with 0, 1, 2, ... children, real vs synthetic, for one relationship.

    Raises:
        KeyError: No relationship has that label.
    """
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    found = next((c for c in evaluation.cardinality if c.label == label), None)
    if found is None:
        raise KeyError(label)
    top = int(max(np.max(found.real_counts, initial=0), np.max(found.synthetic_counts,
                                                                initial=0)))
    bins = np.arange(top + 1)
    if top > 30:  # many children: group the counts in about 30 bars
        bins = np.unique(np.linspace(0, top, 31).round().astype(int))
    figure = go.Figure()
    for name, counts, colour in (("Real", found.real_counts, REAL_COLOUR),
                                 ("Synthetic", found.synthetic_counts, SYNTHETIC_COLOUR)):
        positions = np.searchsorted(bins, counts, side="right") - 1
        shares = np.bincount(positions.astype(int), minlength=len(bins)) / max(len(counts), 1)
        figure.add_bar(x=[str(b) for b in bins], y=shares, name=name, marker_color=colour)
    figure.update_layout(
        title=f"Children per parent: {label} ({glossary.fmt('cardinality_score', found.score)} "
              "kept)",
        xaxis_title="child rows per parent row", yaxis_title="share of parent rows",
        yaxis_tickformat=".0%", barmode="group", height=340, margin={"t": 60, "b": 40})
    return figure


def integrity_figure(evaluation: RelatedEvaluation) -> go.Figure:
    """Share of synthetic child rows that find their parent, one bar per relationship."""
    import plotly.graph_objects as go

    from core.evaluation.charts import LEVEL_COLOURS

    labels = [r.label for r in evaluation.integrity]
    figure = go.Figure(go.Bar(
        x=[r.fraction for r in evaluation.integrity], y=labels, orientation="h",
        marker_color=[LEVEL_COLOURS.get(r.level, "#868e96") for r in evaluation.integrity],
        text=[f"{r.fraction:.1%} ({r.orphans:,} orphans)" for r in evaluation.integrity],
        textposition="auto"))
    figure.update_layout(title="Keys that match (100% = no orphan)", xaxis_range=[0, 1],
                         xaxis_tickformat=".0%", height=120 + 40 * len(labels),
                         margin={"t": 50, "b": 30, "l": 20})
    return figure


# --------------------------------------------------------------------------- report


def related_report_html(evaluation: RelatedEvaluation, run_card: Mapping[str, Any] | None = None,
                        title: str = "Synthetic related tables: evaluation report") -> str:
    """The one-file HTML report of a related-tables evaluation (opens offline).

    Reuses :mod:`core.evaluation.report`'s page style, score cards and single embedded copy
    of plotly.js. Contents: the headline numbers, the findings, the keys, children per
    parent, each table's scores and privacy, usefulness, and the run card.
    """
    from core.evaluation.report import (
        _CSS,
        _PRINT_SCRIPT,
        _escape,
        _level_colours,
        _score_card,
        figure_div,
        plotly_bundle,
    )

    levels = evaluation.levels
    ratio = evaluation.utility.ratio if evaluation.utility is not None else None

    def number(aspect: str, key: str, value: str) -> str:
        ink, _ = _level_colours(levels[aspect])
        return (f'<div class="number" style="border-top-color:{ink}">'
                f'<div class="what">{_escape(glossary.name(key))}</div>'
                f'<div class="value">{_escape(value)}</div>'
                f'<div class="level" style="color:{ink}">{_escape(levels[aspect])}</div>'
                f'<div class="muted">{_escape(glossary.help_text(key))}</div></div>')

    parts = [f"<h1>{_escape(title)}</h1>",
             '<div class="numbers">'
             + number("fidelity", "quality_score",
                      glossary.fmt("quality_score", evaluation.quality_score))
             + number("integrity", "referential_integrity",
                      glossary.fmt("referential_integrity", evaluation.integrity_fraction))
             + number("utility", "related_utility_ratio",
                      "not measured" if ratio is None else glossary.fmt("utility_ratio", ratio))
             + "</div>",
             "<ul>" + "".join(f"<li>{_escape(glossary.plain(s))}</li>"
                              for s in evaluation.sentences) + "</ul>"]
    cards = [_score_card(glossary.name("diagnostic_score"),
                         glossary.fmt("diagnostic_score", evaluation.diagnostic_score),
                         glossary.help_text("diagnostic_score"))]
    for row in evaluation.quality_properties.to_dict("records"):
        cards.append(_score_card(glossary.plain(str(row["Property"])),
                                 glossary.fmt("quality_score", row["Score"]),
                                 "SDMetrics multi-table quality report."))
    parts.append('<section id="scores"><h2>The scores in detail</h2><div class="scores">'
                 + "".join(cards) + "</div></section>")

    figures: list[tuple[str, go.Figure]] = []
    parts.append('<section class="page" id="section-keys"><h2>Keys and children per parent'
                 "</h2><ul>" + "".join(f"<li>{_escape(r.sentence)}</li>"
                                       for r in evaluation.integrity) + "</ul>")
    if evaluation.integrity:
        figures.append(("figure-integrity", integrity_figure(evaluation)))
        parts.append(f'<div class="figure">{figure_div(figures[-1][1], figures[-1][0])}</div>')
    for index, found in enumerate(evaluation.cardinality):
        figures.append((f"figure-cardinality-{index}",
                        cardinality_figure(evaluation, found.label)))
        parts.append(f'<div class="figure">{figure_div(figures[-1][1], figures[-1][0])}</div>')
    parts.append("</section>")

    rows = []
    for name, view in evaluation.tables.items():
        privacy = view.privacy
        rows.append(
            f"<tr><td>{_escape(name)}</td><td>{view.rows['real_train']:,} / "
            f"{view.rows['holdout']:,} / {view.rows['synthetic']:,}</td>"
            f"<td>{_escape(glossary.fmt('column_shapes', view.column_shapes))}</td>"
            f"<td>{_escape(glossary.fmt('pair_score', view.pair_score))}</td>"
            f"<td>{_escape('–' if privacy is None else glossary.fmt('exact_copies', privacy.exact_match_rate))}</td>"  # noqa: E501
            f"<td>{_escape('–' if privacy is None else glossary.fmt('dcr_share', privacy.dcr_share))}</td>"  # noqa: E501
            f"<td>{_escape(view.privacy_level)}</td>"
            f"<td>{_escape('; '.join(f'{k}: {v}' for k, v in view.skipped.items()))}</td></tr>")
    parts.append(
        '<section class="page" id="section-tables"><h2>Each table</h2><table><tr>'
        "<th>Table</th><th>Rows (real train / held-out / synthetic)</th>"
        f"<th>{_escape(glossary.name('column_shapes'))}</th>"
        f"<th>{_escape(glossary.name('pair_score'))}</th>"
        f"<th>{_escape(glossary.name('exact_copies'))}</th>"
        f"<th>{_escape(glossary.name('dcr_share'))}</th><th>Privacy</th><th>Not measured</th>"
        "</tr>" + "".join(rows) + "</table>"
        + ("<ul>" + "".join(f"<li>{_escape(p.sentence)}</li>" for p in evaluation.pii)
           + "</ul>" if evaluation.pii else "") + "</section>")

    if evaluation.utility is not None:
        from core.evaluation.charts import utility_figure

        figures.append(("figure-utility", utility_figure(evaluation.utility)))
        parts.append('<section class="page" id="section-utility"><h2>Usefulness from linked '
                     f"rows</h2><p>{_escape(glossary.plain(evaluation.utility.explanation))}</p>"
                     f'<div class="figure">{figure_div(figures[-1][1], figures[-1][0])}</div>'
                     "</section>")
    if evaluation.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{_escape(n)}</li>"
                                                    for n in evaluation.notes) + "</ul>")
    card = dict(run_card or {})
    card.setdefault("relationships", "; ".join(r.label for r in evaluation.relationships))
    card.setdefault("target", ".".join(evaluation.target) if evaluation.target else "none")
    card.setdefault("evaluation seed", evaluation.seed)
    card.setdefault("evaluation timings (s)", ", ".join(f"{k}={v}"
                                                         for k, v in evaluation.timings.items()))
    parts.append('<section class="page" id="run-card"><h2>Run card</h2><table>' + "".join(
        f"<tr><th>{_escape(k)}</th><td>{_escape(v)}</td></tr>" for k, v in card.items())
        + "</table></section>")
    bundle = plotly_bundle(figure for _, figure in figures)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_escape(title)}</title>\n<style>{_CSS}</style>\n"
            f'<script type="text/javascript">{bundle}</script>\n'
            "</head>\n<body>\n<main>\n" + "\n".join(parts) + "\n</main>\n"
            f"<script>{_PRINT_SCRIPT}</script>\n</body>\n</html>\n")
