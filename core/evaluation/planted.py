"""Planted truth and canaries: did the synthesizer learn the structure, or copy rows?

A faked dataset (:func:`core.data.datasets.fake_dataset`) has structure we put there on
purpose — relations between columns, a rare class, an outlier group — and can carry a
few *canary* records: distinctive rows whose every number lies just beyond the real
range. Because we know the truth, we can show a class two things no ordinary evaluation
can:

* **generalisation** — :func:`check_planted` measures each planted structure in the real
  training rows and in the synthetic rows and says whether it was recovered;
* **memorisation** — :func:`check_canaries` looks for each canary in the synthetic rows:
  an exact copy, or a synthetic row much closer to the canary than any other real row is
  (a "near copy": under :data:`~core.evaluation.thresholds.CANARY_NEAR_RATIO` of that
  distance, so a row merely in the canary's corner of the table is not one). More epochs and
  smaller data produce more copies.

:func:`nearest_synthetic` powers the record explorer: the synthetic rows nearest to one
real row, to compare with the neighbours of a row the model never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.datasets import OUTLIER_COLUMNS, FakeSpec, canary_rows, outlier_rows
from core.data.datasets import target_column_for as _target_for
from core.data.schema import TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, training_positions
from core.evaluation._common import as_numeric, evaluated_columns
from core.evaluation.privacy import encode_rows, fit_row_encoder, joint_row_hashes
from core.evaluation.thresholds import (
    CANARY_NEAR_RATIO,
    PLANTED_RELATION_TOLERANCE,
    PLANTED_SHARE_TOLERANCE,
)

__all__ = [
    "PLANTED_PAIRS",
    "CanaryCheck",
    "CanaryResult",
    "PlantedCheck",
    "PlantedTruth",
    "canaries_of_table",
    "check_canaries",
    "check_planted",
    "nearest_synthetic",
    "planted_truth",
    "relation_change",
    "share_change",
]

#: Column pairs whose relation each domain plants, with the relation in words.
PLANTED_PAIRS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "loans": (
        ("annual_income", "credit_score", "higher income → higher credit score"),
        ("credit_score", "defaulted", "higher credit score → fewer defaults"),
        ("annual_income", "loan_amount", "higher income → larger loans"),
    ),
    "transactions": (
        ("amount", "is_fraud", "fraudulent payments are larger"),
        ("distance_from_home", "is_fraud", "fraud happens far from home"),
    ),
    "customers": (
        ("tenure_months", "total_charges", "longer tenure → more total charges"),
        ("num_support_calls", "churned", "more support calls → more churn"),
    ),
    "patients": (
        ("age", "systolic_bp", "older patients → higher blood pressure"),
        ("bmi", "systolic_bp", "higher BMI → higher blood pressure"),
    ),
}
_OUTLIER_THRESHOLD = 3.0  # "in the outlier group" = above 3x the column's median


@dataclass(frozen=True)
class PlantedTruth:
    """What a faked table contains on purpose.

    Attributes:
        domain: The Faker template.
        pairs: ``(column_a, column_b, relation in words)`` planted relations.
        target: The rare-class column.
        rare_rate: Its planted rate.
        outlier_column: Column scaled up in the outlier group (None if none planted).
        outlier_rate: Planted share of the group.
        canary_positions: Row positions of the canaries in the table (may be empty).
        outlier_positions: Row positions of the outlier group.
    """

    domain: str
    pairs: tuple[tuple[str, str, str], ...]
    target: str
    rare_rate: float
    outlier_column: str | None
    outlier_rate: float
    canary_positions: tuple[int, ...]
    outlier_positions: tuple[int, ...] = ()


def planted_truth(spec: FakeSpec) -> PlantedTruth:
    """The truth :func:`core.data.datasets.fake_dataset` planted for ``spec``."""
    column = OUTLIER_COLUMNS[spec.domain][0] if spec.outlier_rate > 0 else None
    return PlantedTruth(
        domain=spec.domain,
        pairs=PLANTED_PAIRS[spec.domain],
        target=_target_for(spec.domain),
        rare_rate=spec.rare_rate,
        outlier_column=column,
        outlier_rate=spec.outlier_rate,
        canary_positions=tuple(int(p) for p in canary_rows(spec)),
        outlier_positions=tuple(int(p) for p in outlier_rows(spec)),
    )


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class PlantedCheck:
    """One planted structure, measured in the real and the synthetic rows.

    Attributes:
        name: What was planted, in words.
        measure: How it is measured ("rank correlation", "share of rows").
        real: The value in the real training rows.
        synthetic: The value in the synthetic rows.
        recovered: Whether the synthetic data shows it too.
        explanation: One sentence a student can follow.
        change: Which way it went: ``kept``; for a relation ``weaker``, ``stronger`` or
            ``reversed``; for a share ``fewer`` or ``more``.
        kind: ``relation`` or ``share``.
    """

    name: str
    measure: str
    real: float
    synthetic: float
    recovered: bool
    explanation: str
    change: str = "kept"
    kind: str = "relation"


def _rank_correlation(frame: pd.DataFrame, a: str, b: str) -> float:
    x = pd.Series(as_numeric(frame[a])).rank()
    y = pd.Series(as_numeric(frame[b])).rank()
    value = x.corr(y)
    return 0.0 if pd.isna(value) else float(value)


def relation_change(real: float, synthetic: float) -> str:
    """``kept``, ``weaker``, ``stronger`` or ``reversed`` (:data:`PLANTED_RELATION_TOLERANCE`)."""
    if real != 0 and np.sign(synthetic) != np.sign(real):
        return "reversed"
    if abs(synthetic - real) <= PLANTED_RELATION_TOLERANCE:
        return "kept"
    return "weaker" if abs(synthetic) < abs(real) else "stronger"


def share_change(real: float, synthetic: float) -> str:
    """``kept``, ``fewer`` or ``more`` (:data:`PLANTED_SHARE_TOLERANCE`).

    A share is kept within a relative and an absolute tolerance, so a share that triples
    (4.9 % → 15.7 %) is "more", not kept; an absent share (0 real rows) is never kept.
    """
    relative, absolute = PLANTED_SHARE_TOLERANCE
    if real > 0 and abs(synthetic - real) <= relative * real + absolute:
        return "kept"
    return "more" if synthetic > real else "fewer"


def _times(real: float, synthetic: float) -> str:
    """How many times the real share, in words ("3.2 times", "a third of")."""
    if real <= 0:
        return ""
    factor = synthetic / real
    if factor >= 1:
        return f" ({factor:.1f} times the real share)"
    return f" ({factor:.0%} of the real share)"


def _relation_check(a: str, b: str, words: str, real: float, synth: float) -> PlantedCheck:
    change = relation_change(real, synth)
    said = {"kept": "Kept", "weaker": "Weakened", "stronger": "Exaggerated",
            "reversed": "Reversed"}[change]
    return PlantedCheck(
        name=words, measure=f"rank correlation of {a} and {b}", real=real, synthetic=synth,
        recovered=change == "kept", change=change, kind="relation",
        explanation=f"{said}: {synth:+.2f} in the synthetic rows against {real:+.2f} in the "
                    "real ones.",
    )


def _share_explanation(what: str, real: float, synth: float, change: str, lost: str) -> str:
    text = f"{synth:.1%} of synthetic rows {what} against {real:.1%} of real rows"
    if change == "kept":
        return text + ": kept."
    if change == "more":
        return text + f"{_times(real, synth)}: the synthesizer over-produces it."
    return text + f"{_times(real, synth)}: {lost}."


def check_planted(truth: PlantedTruth, real_train: pd.DataFrame,
                  synthetic: pd.DataFrame) -> list[PlantedCheck]:
    """Measure each planted structure in both tables (columns missing are skipped)."""
    checks: list[PlantedCheck] = []
    for a, b, words in truth.pairs:
        if not {a, b} <= set(real_train.columns) & set(synthetic.columns):
            continue
        checks.append(_relation_check(a, b, words, _rank_correlation(real_train, a, b),
                                      _rank_correlation(synthetic, a, b)))
    if truth.target in real_train.columns and truth.target in synthetic.columns:
        real = float(pd.Series(as_numeric(real_train[truth.target])).mean())
        synth = float(pd.Series(as_numeric(synthetic[truth.target])).mean())
        change = share_change(real, synth)
        checks.append(PlantedCheck(
            name=f"rare class: {truth.target} is true for about {truth.rare_rate:.0%} of rows",
            measure=f"share of rows with {truth.target} true", real=real, synthetic=synth,
            recovered=change == "kept", change=change, kind="share",
            explanation=_share_explanation(f"have {truth.target} true", real, synth, change,
                                           "the synthesizer under-produces it"),
        ))
    column = truth.outlier_column
    if column and column in real_train.columns and column in synthetic.columns:
        real_values = as_numeric(real_train[column])
        threshold = _OUTLIER_THRESHOLD * float(np.nanmedian(real_values))
        real = float(np.nanmean(real_values > threshold))
        synth = float(np.nanmean(as_numeric(synthetic[column]) > threshold))
        change = share_change(real, synth)
        checks.append(PlantedCheck(
            name=f"outlier group: about {truth.outlier_rate:.0%} of rows with a very large "
                 f"{column}",
            measure=f"share of rows with {column} above {threshold:,.0f}", real=real,
            synthetic=synth, recovered=change == "kept", change=change, kind="share",
            explanation=_share_explanation("are in the outlier group", real, synth, change,
                                           "the group was partly smoothed away"),
        ))
    return checks


# --------------------------------------------------------------------------- canaries


@dataclass(frozen=True)
class CanaryCheck:
    """One canary record looked up in the synthetic rows.

    Attributes:
        position: Its row position in the real table.
        in_training: Whether it landed in the part the synthesizer saw.
        nearest_distance: Distance to the closest synthetic row (0 = identical).
        other_real_distance: Distance to the closest *other* real training row.
        exact: A synthetic row is identical on every evaluated column.
        near: A synthetic row is much closer to it than any other real row is (under
            :data:`~core.evaluation.thresholds.CANARY_NEAR_RATIO` of that distance).
    """

    position: int
    in_training: bool
    nearest_distance: float
    other_real_distance: float
    exact: bool
    near: bool


@dataclass(frozen=True)
class CanaryResult:
    """All canaries, summarised.

    Attributes:
        checks: One per canary.
        exact_copies: Canaries (seen in training) copied exactly.
        near_copies: Canaries (seen in training) copied nearly (exact ones included).
        seen: Canaries in the training part (only those can be memorised).
        explanation: One sentence for the class.
    """

    checks: tuple[CanaryCheck, ...]
    exact_copies: int
    near_copies: int
    seen: int
    explanation: str


def _distances(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    difference = reference.astype(np.float64) - query.astype(np.float64)[None, :]
    return np.sqrt(np.einsum("ij,ij->i", difference, difference))


def check_canaries(
    canaries: pd.DataFrame,
    in_training: list[bool],
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    positions: list[int] | None = None,
) -> CanaryResult:
    """Look for each canary in the synthetic rows.

    Args:
        canaries: The canary rows, prepared like the other frames.
        in_training: For each canary, whether it is in ``real_train``.
        real_train: The real rows the synthesizer saw.
        synthetic: The synthetic rows.
        schema: The schema (the evaluated columns are compared).
        positions: Row positions of the canaries, for display.
    """
    columns = evaluated_columns(schema, real_train, synthetic)
    encoder = fit_row_encoder(real_train, [synthetic, canaries], schema, columns)
    synthetic_x = encode_rows(synthetic[columns], encoder)
    train_x = encode_rows(real_train[columns], encoder)
    canary_x = encode_rows(canaries[columns], encoder)
    synthetic_hashes, canary_hashes = joint_row_hashes([synthetic, canaries], schema, columns)
    synthetic_hashes = set(synthetic_hashes.tolist())
    checks = []
    for index in range(len(canaries)):
        nearest = float(_distances(synthetic_x, canary_x[index]).min()) if len(synthetic_x) \
            else float("inf")
        to_real = _distances(train_x, canary_x[index])
        others = to_real[to_real > 1e-9]  # the canary itself is in the training rows
        other_real = float(others.min()) if len(others) else float("inf")
        exact = bool(canary_hashes[index] in synthetic_hashes)
        checks.append(CanaryCheck(
            position=positions[index] if positions else index,
            in_training=bool(in_training[index]), nearest_distance=nearest,
            other_real_distance=other_real, exact=exact,
            near=exact or nearest < CANARY_NEAR_RATIO * other_real,
        ))
    seen = [c for c in checks if c.in_training]
    exact_copies = sum(c.exact for c in seen)
    near_copies = sum(c.near for c in seen)
    if not seen:
        explanation = ("No canary landed in the training part, so none could be memorised; "
                       "fake the data again with more canaries.")
    elif near_copies == 0:
        explanation = (f"None of the {len(seen)} canaries the synthesizer saw reappears: no "
                       "synthetic row copies one or sits much closer to it than the nearest "
                       "other real row does. It generalised instead of copying.")
    else:
        explanation = (f"{near_copies} of the {len(seen)} canaries the synthesizer saw "
                       f"reappear{' exactly' if exact_copies == near_copies else ''}"
                       f"{f' ({exact_copies} exactly)' if 0 < exact_copies < near_copies else ''}"
                       ": it memorised those rows. Fewer epochs or more data reduce this.")
    return CanaryResult(tuple(checks), exact_copies, near_copies, len(seen), explanation)


# --------------------------------------------------------------------------- explorer


def nearest_synthetic(row: pd.DataFrame, real_train: pd.DataFrame, synthetic: pd.DataFrame,
                      schema: TableSchema, k: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``k`` synthetic rows nearest to one real row, with their distances.

    Distances use the privacy encoding (numbers scaled to the training range, categories
    one-hot), so they are comparable with the DCR numbers on the Privacy tab.
    """
    columns = evaluated_columns(schema, real_train, synthetic)
    encoder = fit_row_encoder(real_train, [synthetic, row], schema, columns)
    distances = _distances(encode_rows(synthetic[columns], encoder),
                           encode_rows(row[columns], encoder)[0])
    order = np.argsort(distances)[:k]
    return synthetic.iloc[order][columns].reset_index(drop=True), distances[order]


def canaries_of_table(
    frame: pd.DataFrame, truth: PlantedTruth, schema: TableSchema, split: SplitSpec,
    real_train: pd.DataFrame, synthetic: pd.DataFrame,
) -> CanaryResult:
    """:func:`check_canaries` for a faked table: finds its canaries and their split side."""
    prepared = prepare_training_frame(frame, schema)
    in_training = training_positions(prepared, split)
    positions = list(truth.canary_positions)
    canaries = prepared.iloc[positions].reset_index(drop=True)
    return check_canaries(canaries, [p in in_training for p in positions], real_train,
                          synthetic, schema, positions=positions)
