"""The holdout ceiling: what real, never-seen rows score, and a discriminator AUC.

A fidelity score alone has no yardstick: 0.86 can be excellent for a small, noisy table and
poor for a large, smooth one. The yardstick is real data itself: rows of the same table that
the synthesizer never saw (the held-out rows) are scored against the training rows exactly
as the synthetic rows are. What they score is the **ceiling**: a synthesizer that drew new
rows from the true distribution would score about that, not 100 %.

**Equal sizes.** Small samples score lower by noise alone (a 90-row sample's column shapes
differ from the training rows' more than a 9,000-row sample's), so both sides are compared
at the same size ``m = min(held-out rows, synthetic rows, B)``: ``m`` held-out rows against
the training rows, and a seeded random ``m`` of the synthetic rows against the *same*
training rows (at most ``B`` of them, seeded), where ``B`` is :data:`CEILING_ROWS` (5,000) or
fewer for wide tables (see there). The synthetic numbers here can therefore differ from the
headline ones, which use every synthetic row.

**Scores.** The existing scoring functions, unchanged (:mod:`core.evaluation.fidelity`):
``quality_score`` (SDMetrics' quality report), ``column_shapes`` (mean per-column score:
KS / TV complement) and ``column_pair_score`` (mean relation similarity over every pair).
SDMetrics' diagnostic (validity) score is left out on purpose: it checks rules (values inside
the training ranges and categories), not likeness, and real new rows break those rules by
nature (a new customer older than every training one), so a "ceiling" there would read
backwards.

**Discriminator.** A classifier is trained to tell real training rows (label 0) from
synthetic rows (label 1) on ``n = min(training rows, synthetic rows, D)`` rows of each side
(seeded; ``D`` is :data:`DISCRIMINATOR_ROWS`, 5,000, or fewer for wide tables, see
:data:`DISCRIMINATOR_CELLS`), with :data:`DISCRIMINATOR_FOLDS`-fold cross-validation; its ROC
AUC is measured on the pooled out-of-fold predictions, so every row is scored by a model that
did not see it. Identical rows (of either side) always share a fold (distinct rows are dealt
to folds at random, seeded): otherwise a synthetic copy of a training row would be scored by a
model that learned its twin as "real", and a copying synthesizer would get an AUC far below
0.5 rather than 0.5. 0.5 = it cannot tell them apart, 1.0 = trivially
distinguishable. The 95 % interval is Hanley & McNeil's (1982) normal approximation of the
AUC's standard error from the AUC and the two class sizes. The same classifier separating
held-out rows from training rows (at ``min(training rows, held-out rows, D)`` rows each)
gives the baseline, near 0.5.

Why not SDMetrics' ``LogisticDetection`` (sdmetrics 0.32): its folds are not seeded (the
same data gives different numbers on every run), it drops boolean columns, it reports
``1 − (2·max(AUC, 0.5) − 1)`` without an interval, and a linear model cannot see a lost
relation between columns. Measured on a 2,000-row table whose columns were shuffled
independently (same column shapes, relations gone): LogisticDetection's AUC 0.52, this
module's 0.85. The classifier here is scikit-learn's ``HistGradientBoostingClassifier``
(:data:`_BOOSTING`: 50 trees of at most 15 leaves, at least 20 rows per leaf, no early
stopping, seeded, one OpenMP thread) on the rows encoded as :func:`~core.evaluation.privacy.
encode_rows` does for distances (numbers scaled on the training ranges with a missing
indicator, the 15 most frequent categories one-hot plus "other" and "missing").

What the AUC cannot show: a synthesizer that copies its training rows scores 0.5 (copies
are indistinguishable from the originals). Copying is the privacy measures' job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.evaluation import glossary
from core.evaluation._common import (
    evaluated_columns,
    require_rows,
    sample_rows,
    single_threaded_native_code,
)
from core.evaluation.fidelity import (
    column_scores,
    correlation_matrices,
    quality_and_diagnostic,
    quality_rows_bound,
)
from core.evaluation.privacy import encode_rows, fit_row_encoder, joint_row_hashes
from core.progress import ProgressCallback, null_progress, scaled

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "CEILING_ROWS",
    "CEILING_SCORES",
    "DISCRIMINATOR_CELLS",
    "DISCRIMINATOR_FOLDS",
    "DISCRIMINATOR_MIN_BOUND",
    "DISCRIMINATOR_ROWS",
    "CeilingResult",
    "Discriminator",
    "ceiling_figure",
    "discriminator_figure",
    "hanley_mcneil_interval",
    "holdout_ceiling",
]

#: Bound on the held-out and synthetic rows compared at equal size, and on the training rows
#: they are compared with (seeded samples beyond it). SDMetrics' quality report runs twice
#: here, so wide tables get fewer: :func:`~core.evaluation.fidelity.quality_rows_bound`
#: (2,000 rows at 55 columns) when it is lower.
CEILING_ROWS = 5_000
#: Bound on the rows of each side the discriminator sees (seeded samples beyond it) ...
DISCRIMINATOR_ROWS = 5_000
#: ... and on rows per side × encoded features, so wide tables take fewer rows (1,572 rows
#: at the 159 features of a 55-column table), never fewer than :data:`DISCRIMINATOR_MIN_BOUND`.
DISCRIMINATOR_CELLS = 250_000
DISCRIMINATOR_MIN_BOUND = 1_000
#: Folds of the discriminator's cross-validation.
DISCRIMINATOR_FOLDS = 5
#: Fewest rows per side for a discriminator AUC (below it: not measured, NaN).
MIN_DISCRIMINATOR_ROWS = 10
#: The headline fidelity scores given a ceiling, in display order (metrics.json names).
CEILING_SCORES: tuple[str, ...] = ("quality_score", "column_shapes", "column_pair_score")
_GLOSSARY_KEYS = {"quality_score": "quality_score", "column_shapes": "column_shapes",
                  "column_pair_score": "pair_score"}
_BOOSTING: dict[str, Any] = {"max_iter": 50, "learning_rate": 0.1, "max_leaf_nodes": 15,
                             "min_samples_leaf": 20, "early_stopping": False}
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Discriminator:
    """How well a classifier tells one set of rows from the real training rows.

    Attributes:
        auc: Cross-validated ROC AUC (0.5 = cannot tell, 1.0 = trivially); NaN when there
            were fewer than :data:`MIN_DISCRIMINATOR_ROWS` rows per side.
        ci: 95 % interval (Hanley–McNeil), clipped to 0..1; (NaN, NaN) when not measured.
        rows_per_side: Rows of each side used (training rows and the other set).
        folds: Cross-validation folds.
    """

    auc: float
    ci: tuple[float, float]
    rows_per_side: int
    folds: int


@dataclass(frozen=True, eq=False)
class CeilingResult:
    """Headline fidelity of real held-out rows (the ceiling) vs synthetic rows, equal sizes.

    Attributes:
        holdout_ceiling: Score name (:data:`CEILING_SCORES`) → what ``rows_compared``
            held-out real rows score against the training rows.
        synthetic_at_holdout_size: The same scores for ``rows_compared`` synthetic rows.
        rows_compared: Rows of each side in that comparison (``m``).
        reference_rows: Training rows both sides were compared with.
        discriminator: Training rows vs synthetic rows.
        holdout_discriminator: Training rows vs held-out rows (the baseline, near 0.5).
        rows: Sizes of the inputs: ``real_train``, ``holdout``, ``synthetic``.
        seed: Seed of every sample, fold split and classifier.
        sentences: Plain sentences: one per score name and ``discriminator``.
    """

    holdout_ceiling: dict[str, float]
    synthetic_at_holdout_size: dict[str, float]
    rows_compared: int
    reference_rows: int
    discriminator: Discriminator
    holdout_discriminator: Discriminator
    rows: dict[str, int]
    seed: int = 0
    sentences: dict[str, str] = field(default_factory=dict)

    @property
    def discriminator_auc(self) -> float:
        """The discriminator's AUC, training vs synthetic rows (0.5 = indistinguishable)."""
        return self.discriminator.auc

    @property
    def holdout_discriminator_auc(self) -> float:
        """The baseline AUC, training vs held-out real rows."""
        return self.holdout_discriminator.auc

    @property
    def share_of_ceiling(self) -> dict[str, float]:
        """Score name → synthetic score / ceiling (1.0 = as good as real data; NaN if none)."""
        return {name: _share(self.synthetic_at_holdout_size.get(name, math.nan), ceiling)
                for name, ceiling in self.holdout_ceiling.items()}

    def reaches(self, name: str) -> float:
        """Share of the ceiling the synthetic rows reach on score ``name`` (0.95 = 95 %)."""
        return self.share_of_ceiling[name]

    @property
    def summary(self) -> str:
        """The quality sentence and the discriminator sentence, for a headline."""
        return f"{self.sentences['quality_score']} {self.sentences['discriminator']}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready numbers for ``metrics.json`` (NaN becomes None)."""
        return {
            "holdout_ceiling": {k: _json(v) for k, v in self.holdout_ceiling.items()},
            "synthetic_at_holdout_size": {
                k: _json(v) for k, v in self.synthetic_at_holdout_size.items()},
            "share_of_ceiling": {k: _json(v) for k, v in self.share_of_ceiling.items()},
            "rows_compared": self.rows_compared,
            "reference_rows": self.reference_rows,
            "discriminator_auc": _json(self.discriminator.auc),
            "discriminator_ci": [_json(v) for v in self.discriminator.ci],
            "discriminator_rows": self.discriminator.rows_per_side,
            "holdout_discriminator_auc": _json(self.holdout_discriminator.auc),
            "holdout_discriminator_ci": [_json(v) for v in self.holdout_discriminator.ci],
            "holdout_discriminator_rows": self.holdout_discriminator.rows_per_side,
        }


def _share(value: float, ceiling: float) -> float:
    if math.isnan(value) or math.isnan(ceiling) or ceiling <= 0:
        return math.nan
    return value / ceiling


def _json(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


# --------------------------------------------------------------------------- fidelity


def _fidelity(reference: pd.DataFrame, other: pd.DataFrame, schema: TableSchema, seed: int,
              progress: ProgressCallback) -> dict[str, float]:
    """The :data:`CEILING_SCORES` of ``other`` against ``reference`` (no further sampling)."""
    bound = max(len(reference), len(other))
    shapes = [score.score for score in column_scores(reference, other, schema)]
    finite = [value for value in shapes if not math.isnan(value)]
    pairs = correlation_matrices(reference, other, schema, max_rows=bound, seed=seed)
    quality = quality_and_diagnostic(reference, other, schema, progress=progress,
                                     max_rows=bound, seed=seed)
    return {
        "quality_score": float(quality.quality_score),
        "column_shapes": float(np.mean(finite)) if finite else math.nan,
        "column_pair_score": float(pairs.pair_score),
    }


# --------------------------------------------------------------------------- discriminator


def hanley_mcneil_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """95 % interval of an AUC from Hanley & McNeil (1982), clipped to 0..1.

    Args:
        auc: The measured ROC AUC.
        positives: Rows of one class.
        negatives: Rows of the other.
    """
    if math.isnan(auc) or positives < 1 or negatives < 1:
        return (math.nan, math.nan)
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    half = _Z95 * math.sqrt(max(variance, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def _folds_by_row(hashes: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per row, identical rows (equal ``hashes``) always in the same fold.

    Otherwise a synthetic row that copies a training row would be scored by a model that
    learned its twin with the opposite label, and the AUC of a copy would fall far below
    0.5 instead of sitting at 0.5 (a copy cannot be told from its original). Distinct rows
    are dealt to folds at random (seeded); with equal classes the folds stay balanced.
    """
    groups, inverse = np.unique(hashes, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(groups))
    return (order % folds)[inverse]


def _discriminate(real: pd.DataFrame, other: pd.DataFrame, schema: TableSchema,
                  columns: list[str], encoder: Any, seed: int) -> Discriminator:
    """Cross-validated AUC of a boosted-trees classifier: ``real`` (0) vs ``other`` (1)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    width = encode_rows(real.iloc[:1], encoder).shape[1]
    bound = min(DISCRIMINATOR_ROWS, max(DISCRIMINATOR_MIN_BOUND, DISCRIMINATOR_CELLS // width))
    size = min(len(real), len(other), bound)
    if size < MIN_DISCRIMINATOR_ROWS:
        return Discriminator(math.nan, (math.nan, math.nan), size, 0)
    real_rows = sample_rows(real, size, seed)
    other_rows = sample_rows(other, size, seed + 1)
    features = np.vstack([encode_rows(real_rows, encoder), encode_rows(other_rows, encoder)])
    labels = np.repeat([0, 1], size)
    folds = min(DISCRIMINATOR_FOLDS, size)
    fold_of = _folds_by_row(np.concatenate(joint_row_hashes([real_rows, other_rows], schema,
                                                            columns)), folds, seed)
    scores = np.full(len(labels), 0.5)
    with single_threaded_native_code():
        for fold in range(folds):
            test = fold_of == fold
            if test.all() or len(np.unique(labels[~test])) < 2:
                continue  # a degenerate split (tiny tables of repeated rows): chance
            model = HistGradientBoostingClassifier(random_state=seed, **_BOOSTING)
            model.fit(features[~test], labels[~test])
            scores[test] = model.predict_proba(features[test])[:, 1]
    auc = float(roc_auc_score(labels, scores))
    return Discriminator(auc, hanley_mcneil_interval(auc, size, size), size, folds)


# --------------------------------------------------------------------------- main


def holdout_ceiling(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> CeilingResult:
    """Score held-out real rows as if they were synthetic (the ceiling), and discriminate.

    See the module docstring for the sizes, the scores and the classifier.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows it never saw.
        synthetic: Generated rows.
        schema: The reviewed schema (only modelled columns are compared).
        seed: Seed of every sample, fold split and classifier.
        progress: Called with (fraction, message).

    Returns:
        The ceiling, the synthetic scores at the same size, both discriminators and the
        sentences.

    Raises:
        EvaluationError: No modelled column, a frame lacks one, or a frame is empty.
    """
    report = progress or null_progress
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    require_rows(real_train, holdout, synthetic, "The real-data ceiling needs",
                 "it compares held-out and synthetic rows with the training rows. Keep a "
                 "held-out share when splitting, and generate rows first")
    bound = min(CEILING_ROWS, quality_rows_bound(len(columns)))
    size = min(len(holdout), len(synthetic), bound)
    reference = sample_rows(real_train[columns], bound, seed)
    held_out = sample_rows(holdout[columns], size, seed + 1)
    generated = sample_rows(synthetic[columns], size, seed + 2)

    report(0.0, f"Scoring {size:,} real rows the model never saw (the ceiling)…")
    ceiling = _fidelity(reference, held_out, schema, seed, scaled(progress, 0.0, 0.25))
    report(0.25, f"Scoring {size:,} synthetic rows the same way…")
    synthetic_scores = _fidelity(reference, generated, schema, seed,
                                 scaled(progress, 0.25, 0.5))

    report(0.5, "Training a classifier to tell synthetic rows from real ones…")
    encoder = fit_row_encoder(real_train, [holdout, synthetic], schema, columns)
    discriminator = _discriminate(real_train[columns], synthetic[columns], schema, columns,
                                  encoder, seed + 3)
    report(0.8, "Training the same classifier on real rows it never saw (the baseline)…")
    baseline = _discriminate(real_train[columns], holdout[columns], schema, columns, encoder,
                             seed + 5)
    report(1.0, "Holdout ceiling done.")

    result = CeilingResult(
        holdout_ceiling=ceiling,
        synthetic_at_holdout_size=synthetic_scores,
        rows_compared=size,
        reference_rows=len(reference),
        discriminator=discriminator,
        holdout_discriminator=baseline,
        rows={"real_train": len(real_train), "holdout": len(holdout),
              "synthetic": len(synthetic)},
        seed=seed,
    )
    return _with_sentences(result)


# --------------------------------------------------------------------------- words


def _score_sentence(name: str, ceiling: float, synthetic: float, size: int,
                    reference: int) -> str:
    label = glossary.name(_GLOSSARY_KEYS[name])
    key = _GLOSSARY_KEYS[name]
    if math.isnan(ceiling) or math.isnan(synthetic):
        return f"{label}: could not be compared with real rows the model never saw."
    share = _share(synthetic, ceiling)
    if math.isnan(share):
        reach = "real data has nothing to compare it with here"
    elif share >= 1.0:
        reach = "at or above what real data achieves"
    else:
        reach = f"{share:.0%} of what real data achieves"
    return (
        f"{label}: real rows the model never saw score {glossary.fmt(key, ceiling)}; the "
        f"synthetic rows score {glossary.fmt(key, synthetic)} ({reach}), both as "
        f"{size:,} rows compared with {reference:,} training rows."
    )


def _auc_words(auc: float) -> str:
    if auc < 0.55:
        return "it can hardly tell them apart"
    if auc < 0.7:
        return "it tells them apart a little better than a coin toss"
    if auc < 0.9:
        return "it tells them apart fairly well"
    return "it tells them apart almost every time"


def _discriminator_sentence(synthetic: Discriminator, baseline: Discriminator) -> str:
    if math.isnan(synthetic.auc):
        return (
            f"Too few rows ({synthetic.rows_per_side}) to train a classifier that tells "
            "synthetic rows from real ones."
        )
    low, high = synthetic.ci
    sentence = (
        f"A classifier tells synthetic rows from real training rows with AUC "
        f"{synthetic.auc:.2f} (95 % interval {low:.2f}–{high:.2f}; 0.5 = indistinguishable, "
        f"1.0 = always told apart): {_auc_words(synthetic.auc)}."
    )
    if not math.isnan(baseline.auc):
        sentence += (
            f" On real rows the model never saw, the same classifier scores "
            f"{baseline.auc:.2f}: what real data achieves."
        )
    return sentence


def _with_sentences(result: CeilingResult) -> CeilingResult:
    for name in CEILING_SCORES:
        result.sentences[name] = _score_sentence(
            name, result.holdout_ceiling[name], result.synthetic_at_holdout_size[name],
            result.rows_compared, result.reference_rows)
    result.sentences["discriminator"] = _discriminator_sentence(
        result.discriminator, result.holdout_discriminator)
    return result


# --------------------------------------------------------------------------- figures


def ceiling_figure(result: CeilingResult) -> go.Figure:
    """Grouped bars per score: real held-out rows (the ceiling) next to the synthetic rows."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    labels = [glossary.name(_GLOSSARY_KEYS[name]) for name in CEILING_SCORES]
    figure = go.Figure()
    for title, scores, colour in (
        ("Real rows never seen (ceiling)", result.holdout_ceiling, REAL_COLOUR),
        ("Synthetic rows", result.synthetic_at_holdout_size, SYNTHETIC_COLOUR),
    ):
        values = [scores[name] for name in CEILING_SCORES]
        figure.add_bar(
            x=labels, y=values, name=title, marker_color=colour,
            text=[glossary.fmt(_GLOSSARY_KEYS[name], value)
                  for name, value in zip(CEILING_SCORES, values, strict=True)],
            textposition="outside",
        )
    figure.update_layout(
        template="plotly_white", barmode="group",
        title=f"Synthetic rows vs real rows the model never saw ({result.rows_compared:,} each)",
        yaxis={"title": "score", "range": [0, 1.08], "tickformat": ".0%"},
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    return figure


def discriminator_figure(result: CeilingResult) -> go.Figure:
    """The two AUCs with their 95 % intervals, and the 0.5 line (cannot tell apart)."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    bars = (("Real rows never seen", result.holdout_discriminator, REAL_COLOUR),
            ("Synthetic rows", result.discriminator, SYNTHETIC_COLOUR))
    figure = go.Figure()
    for title, found, colour in bars:
        low, high = found.ci
        figure.add_bar(
            x=[title], y=[found.auc], name=title, marker_color=colour,
            error_y={"type": "data", "symmetric": False,
                     "array": [0.0 if math.isnan(high) else high - found.auc],
                     "arrayminus": [0.0 if math.isnan(low) else found.auc - low]},
            text=["–" if math.isnan(found.auc) else f"{found.auc:.2f}"],
            textposition="inside",
        )
    figure.add_hline(y=0.5, line_dash="dash", line_color="#868e96",
                     annotation_text="0.5: cannot tell apart", annotation_position="top left")
    figure.update_layout(
        template="plotly_white", showlegend=False,
        title="How well a classifier tells these rows from the training rows (AUC)",
        yaxis={"title": "AUC", "range": [0, 1.05]},
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
    )
    return figure
