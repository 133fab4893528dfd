"""Evaluation of synthetic data: fidelity, utility (TSTR vs TRTR), privacy and a verdict.

Inputs everywhere: ``real_train`` (the real rows the synthesizer trained on), ``holdout``
(held-out real rows it never saw) and ``synthetic`` (generated rows), all passed through
:func:`core.data.schema.prepare_training_frame`, plus the reviewed
:class:`~core.data.schema.TableSchema`. Only ``schema.modelled_columns`` are evaluated: faked
PII, identifiers and dropped columns are excluded (:attr:`EvaluationResult.excluded_columns`
says why for each).

:func:`evaluate_all` runs everything and records timings; the parts are importable on
their own: :mod:`~core.evaluation.fidelity`, :mod:`~core.evaluation.utility`,
:mod:`~core.evaluation.privacy`, :mod:`~core.evaluation.verdict` and the figures in
:mod:`~core.evaluation.charts`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    evaluated_columns,
    evaluation_sdtype,
    excluded_columns,
    require_rows,
    sample_rows,
)
from core.evaluation.attacks import AttackResult, attack_scores
from core.evaluation.ceiling import CeilingResult, holdout_ceiling
from core.evaluation.charts import (
    correlation_heatmaps,
    dcr_figure,
    distribution_figure,
    score_gauge,
    utility_figure,
)
from core.evaluation.fairness import FairnessResult, fairness_scores, suggest_sensitive_columns
from core.evaluation.fidelity import (
    ColumnScore,
    CorrelationResult,
    QualityResult,
    column_score,
    column_scores,
    correlation_matrices,
    quality_and_diagnostic,
)
from core.evaluation.importance import ImportanceResult, importance_scores
from core.evaluation.privacy import PrivacyResult, privacy_scores
from core.evaluation.sequences import SequenceResult, entity_target_constant, sequence_scores
from core.evaluation.text import TextResult, text_columns_of, text_scores
from core.evaluation.utility import UtilityResult, detect_task, utility_scores
from core.evaluation.verdict import Reading, SampleDesign, Verdict, data_warnings, make_verdict
from core.progress import ProgressCallback, null_progress, scaled

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "CHART_SAMPLE_ROWS",
    "AttackResult",
    "CeilingResult",
    "FairnessResult",
    "ImportanceResult",
    "ColumnScore",
    "CorrelationResult",
    "EvaluationResult",
    "PrivacyResult",
    "QualityResult",
    "Reading",
    "TextResult",
    "SampleDesign",
    "SequenceResult",
    "UtilityResult",
    "Verdict",
    "column_score",
    "column_scores",
    "correlation_heatmaps",
    "correlation_matrices",
    "dcr_figure",
    "detect_task",
    "distribution_figure",
    "evaluate_all",
    "import_libraries",
    "make_verdict",
    "privacy_scores",
    "quality_and_diagnostic",
    "score_gauge",
    "sequence_scores",
    "text_scores",
    "utility_figure",
    "utility_scores",
]

def import_libraries() -> None:
    """Import what an evaluation needs beyond pandas (a job worker calls it while it waits).

    SDMetrics' reports, anonymeter (with polars and numba) and fairlearn take about a second
    and a half together in a fresh process; a warm worker's first evaluation skips that.
    """
    import anonymeter.evaluators  # noqa: F401
    import fairlearn.metrics  # noqa: F401
    import polars  # noqa: F401
    import sdmetrics.reports  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.inspection  # noqa: F401


#: Rows of each side kept in the result for distribution charts.
CHART_SAMPLE_ROWS = 20_000


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Everything :func:`evaluate_all` measured.

    Attributes:
        columns: Per-column scores, worst first.
        correlation: Pairwise relations (real, synthetic, difference).
        quality: SDMetrics quality and diagnostic reports.
        utility: TSTR vs TRTR, or None (see ``utility_reason``).
        utility_reason: Why utility is None ("no target column was chosen", or the
            :class:`~core.errors.EvaluationError` message); None when measured.
        privacy: Exact matches, DCR, DCR share, NNDR.
        verdict: The plain-language readings.
        timings: Wall seconds per part: ``columns``, ``correlations``, ``quality``,
            ``ceiling``, ``utility``, ``fairness``, ``importance``, ``privacy``, ``attacks``,
            ``text`` (with text columns) and ``total``.
        target: The target column (or None).
        evaluated_columns: The columns scored.
        excluded_columns: Columns left out, with the reason.
        sdtypes: Evaluation kind of each evaluated column.
        rows: Sizes of the inputs: ``real_train``, ``holdout``, ``synthetic``.
        real_sample: Up to :data:`CHART_SAMPLE_ROWS` real training rows (seeded) for charts.
        synthetic_sample: Same for the synthetic rows.
        seed: Seed of every subsample and model.
        notes: Notes from the quality and utility parts.
        design: How the synthetic rows were asked for (plain, conditioned or rebalanced).
        attacks: Singling-out, linkability, inference and membership risk against the
            held-out rows, or None (see ``skipped``).
        ceiling: The headline fidelity scores of real held-out rows (the ceiling) and the
            discriminator AUC, or None (see ``skipped``).
        fairness: Outcome rates per group and fairness gaps of the usefulness models, or
            None (see ``skipped``).
        importance: What drives the models trained on real vs on synthetic data, or None.
        sensitive_columns: The columns fairness was judged on.
        epsilon: The differential-privacy ε the model spent, or None (no formal guarantee).
        delta: Its δ, or None.
        skipped: Part name -> why it was not measured (``attacks``, ``ceiling``,
            ``fairness``, ``importance``, ``text``).
        text: The free-text columns' scores and leak check
            (:func:`~core.evaluation.text.text_scores`), or None without text columns.
        sequence: The sequence scores of an event table
            (:func:`~core.evaluation.sequences.sequence_scores`), or None for independent
            rows. With an entity-level target, ``utility`` is its entity-level check.
    """

    columns: list[ColumnScore]
    correlation: CorrelationResult
    quality: QualityResult
    utility: UtilityResult | None
    utility_reason: str | None
    privacy: PrivacyResult
    verdict: Verdict
    timings: dict[str, float]
    target: str | None
    evaluated_columns: tuple[str, ...]
    excluded_columns: dict[str, str]
    sdtypes: dict[str, str]
    rows: dict[str, int]
    real_sample: pd.DataFrame
    synthetic_sample: pd.DataFrame
    seed: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    design: SampleDesign = field(default_factory=SampleDesign)
    attacks: AttackResult | None = None
    ceiling: CeilingResult | None = None
    fairness: FairnessResult | None = None
    importance: ImportanceResult | None = None
    sensitive_columns: tuple[str, ...] = ()
    epsilon: float | None = None
    delta: float | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    text: TextResult | None = None
    sequence: SequenceResult | None = None

    def column_figure(self, column: str) -> go.Figure:
        """:func:`distribution_figure` of one evaluated column from the kept samples."""
        score = next((s.score for s in self.columns if s.column == column), None)
        return distribution_figure(
            self.real_sample, self.synthetic_sample, column, self.sdtypes[column], score
        )


def evaluate_all(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
    progress: ProgressCallback | None = None,
    seed: int = 0,
    design: SampleDesign | None = None,
    sensitive_columns: Sequence[str] | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
) -> EvaluationResult:
    """Run every evaluation and the verdict, timing each part.

    Progress: column shapes 0–4%, relations 4–10%, SDMetrics reports 10–36%, the holdout
    ceiling and discriminator 36–46%, utility 46–62%, fairness and drivers 62–72%, distances
    72–82%, attacks 82–95%, text columns 95–99%.

    Event tables (``schema.sequence`` set) are also compared as sequences
    (:func:`~core.evaluation.sequences.sequence_scores`, in the utility's 46–62%). The rows
    are events, not people, so: the entity key is left out of the row comparisons (synthetic
    entities are new); when the target is an entity's label (constant within entities),
    usefulness is the entity-level check (one row per entity, tested on held-out entities),
    because a row-level model would learn an account's flag from any one of its events;
    fairness and drivers (row-level models) are then skipped; and the row attacks are
    skipped, because they treat each row as a person while here a person is a whole
    sequence: the copied-sequence check and the per-entity distances measure that instead.
    The row distances stay, beside the entity ones.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows it never saw.
        synthetic: Generated rows.
        schema: The reviewed schema.
        target: Column to predict for utility, or None (utility is then skipped).
        progress: Called with (fraction, message).
        seed: Seed of every subsample and model.
        design: How the synthetic rows were asked for: a rebalanced column is judged
            against its asked-for shares in the verdict's warnings.
        sensitive_columns: Columns to judge fairness on (None: the suggested ones,
            :func:`~core.evaluation.fairness.suggest_sensitive_columns`).
        epsilon: The differential-privacy ε the model spent (None: not a DP model).
        delta: Its δ.

    Returns:
        The result. A utility failure the user can fix (one-class target, ...) does not
        stop the rest: ``utility`` is None and ``utility_reason`` holds the message.

    Raises:
        EvaluationError: The data cannot be evaluated at all (no modelled column, a
            missing column, no rows, SDMetrics failed).
    """
    report = progress or null_progress
    full_schema = schema
    schema, key_reason = _row_schema(schema)
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    require_rows(real_train, holdout, synthetic, "The evaluation needs",
                 "there is nothing to evaluate. Load the data and generate rows first")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def timed(name: str, start: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - start, 3)
        return now

    clock = time.perf_counter()
    report(0.0, "Comparing column distributions…")
    scores = column_scores(real_train, synthetic, schema)
    clock = timed("columns", clock)

    report(0.04, "Comparing relations between columns…")
    correlation = correlation_matrices(real_train, synthetic, schema, seed=seed)
    clock = timed("correlations", clock)

    quality = quality_and_diagnostic(
        real_train, synthetic, schema, progress=scaled(progress, 0.1, 0.36), seed=seed
    )
    clock = timed("quality", clock)

    skipped: dict[str, str] = {}
    ceiling: CeilingResult | None = None
    try:
        ceiling = holdout_ceiling(real_train, holdout, synthetic, schema, seed=seed,
                                  progress=scaled(progress, 0.36, 0.46))
    except EvaluationError as error:
        skipped["ceiling"] = str(error)
    clock = timed("ceiling", clock)

    utility: UtilityResult | None = None
    utility_reason: str | None = None
    sequence: SequenceResult | None = None
    entity_level = False
    if full_schema.sequence is not None:
        key = full_schema.sequence.key
        entity_level = (target is not None and key in real_train.columns
                        and target in real_train.columns
                        and entity_target_constant(real_train, key, target))
        try:
            sequence = sequence_scores(real_train, holdout, synthetic, full_schema, target,
                                       seed=seed, progress=scaled(progress, 0.46, 0.62))
        except EvaluationError as error:
            skipped["sequence"] = str(error)
        timings["sequence"] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()
    if entity_level:
        utility = None if sequence is None else sequence.utility
        if utility is None:
            utility_reason = (skipped["sequence"] if sequence is None
                              else sequence.skipped.get("entity_utility"))
    elif target is None:
        utility_reason = "no target column was chosen, so no model was trained"
    else:
        try:
            utility = utility_scores(
                real_train, holdout, synthetic, schema, target, seed=seed,
                progress=scaled(progress, 0.46, 0.62),
            )
        except EvaluationError as error:
            utility_reason = str(error)
    clock = timed("utility", clock)

    sensitive = (suggest_sensitive_columns(real_train, schema) if sensitive_columns is None
                 else [c for c in sensitive_columns if c in columns])
    sensitive = [c for c in sensitive if c != target]
    fairness: FairnessResult | None = None
    importance: ImportanceResult | None = None
    if entity_level:
        skipped["fairness"] = skipped["importance"] = _ENTITY_LEVEL_SKIP
    elif utility is None:
        skipped["fairness"] = skipped["importance"] = (
            utility_reason or "no target column was chosen, so no model was trained")
    else:
        if not sensitive:
            skipped["fairness"] = ("no column looks sensitive (such as sex, age or "
                                   "nationality); pick one to compare groups")
        else:
            try:
                fairness = fairness_scores(real_train, holdout, synthetic, schema, target,
                                           sensitive, seed=seed,
                                           progress=scaled(progress, 0.62, 0.67))
            except EvaluationError as error:
                skipped["fairness"] = str(error)
    clock = timed("fairness", clock)
    if utility is not None and not entity_level:
        try:
            importance = importance_scores(real_train, holdout, synthetic, schema, target,
                                           seed=seed, progress=scaled(progress, 0.67, 0.72))
        except EvaluationError as error:
            skipped["importance"] = str(error)
    clock = timed("importance", clock)

    privacy = privacy_scores(
        real_train, holdout, synthetic, schema, seed=seed, progress=scaled(progress, 0.72, 0.82)
    )
    clock = timed("privacy", clock)

    attacks: AttackResult | None = None
    if full_schema.is_sequence:
        skipped["attacks"] = _SEQUENCE_ATTACKS_SKIP
    else:
        try:
            attacks = attack_scores(real_train, holdout, synthetic, schema, seed=seed,
                                    progress=scaled(progress, 0.82, 0.95))
        except EvaluationError as error:
            skipped["attacks"] = str(error)
    clock = timed("attacks", clock)

    text: TextResult | None = None
    if text_columns_of(schema):
        try:
            text = text_scores(real_train, holdout, synthetic, schema, seed=seed,
                               progress=scaled(progress, 0.95, 0.99), target=target)
        except EvaluationError as error:
            skipped["text"] = str(error)
        clock = timed("text", clock)

    sdtypes = {c: evaluation_sdtype(schema.column(c)) for c in columns}
    warnings = data_warnings(real_train, holdout, synthetic, target, sdtypes, design)
    verdict = make_verdict(quality, utility, privacy, utility_reason=utility_reason,
                           warnings=warnings, attacks=attacks, epsilon=epsilon, text=text,
                           sequence=sequence)
    timings["total"] = round(time.perf_counter() - started, 3)
    report(1.0, "Evaluation done.")

    notes = list(quality.notes)
    if utility is not None:
        notes.extend(utility.notes)
    if text is not None:
        notes.extend(text.notes)
    if sequence is not None:
        notes.extend(sequence.notes)
    excluded = excluded_columns(schema)
    if key_reason is not None:
        excluded[key_reason[0]] = key_reason[1]
    for column in text.columns if text is not None else ():
        excluded.pop(column, None)  # scored on their own (the Text tab)
    return EvaluationResult(
        columns=scores,
        correlation=correlation,
        quality=quality,
        utility=utility,
        utility_reason=utility_reason,
        privacy=privacy,
        verdict=verdict,
        timings=timings,
        target=target,
        evaluated_columns=tuple(columns),
        excluded_columns=excluded,
        sdtypes=sdtypes,
        rows={"real_train": len(real_train), "holdout": len(holdout),
              "synthetic": len(synthetic)},
        real_sample=sample_rows(real_train[columns], CHART_SAMPLE_ROWS, seed).reset_index(
            drop=True),
        synthetic_sample=sample_rows(synthetic[columns], CHART_SAMPLE_ROWS, seed + 1).reset_index(
            drop=True),
        seed=seed,
        notes=tuple(notes),
        design=design or SampleDesign(),
        attacks=attacks,
        ceiling=ceiling,
        fairness=fairness,
        importance=importance,
        sensitive_columns=tuple(sensitive),
        epsilon=epsilon,
        delta=delta,
        skipped=skipped,
        text=text,
        sequence=sequence,
    )


_ENTITY_LEVEL_SKIP = (
    "the rows are events of entities and the target is an entity's label: usefulness is "
    "measured per entity (Sequences), while fairness and drivers compare row-level models "
    "that would learn an account's label from any one of its events")
_SEQUENCE_ATTACKS_SKIP = (
    "the rows are events of entities: the attacks treat each row as one person, but here a "
    "person is a whole sequence; the copied-sequence check and the per-entity distances "
    "(Sequences) measure that instead")


def _row_schema(schema: TableSchema) -> tuple[TableSchema, tuple[str, str] | None]:
    """The schema for row-level comparisons: an event table's entity key left out.

    Synthetic entities are new entities, so their keys are not comparable values; the key
    is still used by the sequence checks. Returns the schema and (key, why) when left out.
    """
    spec = schema.sequence
    if spec is None or spec.key not in {c.name for c in schema.columns}:
        return schema, None
    why = (spec.key, "the entity key: synthetic entities are new, so their sequences are "
           "compared entity by entity (Sequences), not key by key")
    if spec.key not in schema.modelled_columns:
        return schema, why
    return schema.with_column(replace(schema.column(spec.key), sdtype="id")), why
