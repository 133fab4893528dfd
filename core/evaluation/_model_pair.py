"""One model trained on real rows and one on synthetic rows, for fairness and importance.

Shared by :mod:`core.evaluation.fairness` and :mod:`core.evaluation.importance`. It reuses
the utility check's pieces (:mod:`core.evaluation.utility`): its task detection, target
checks, seeded stratified samples, feature encoding and its gradient-boosting model (native
categories, early stopping), so "the model" means the same thing on every tab. Only that one
of utility's three models is trained: it fits in a few hundredths of a second on a few
hundred rows and predicts in milliseconds, which permutation importance needs (it predicts
once per column and repeat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation._common import evaluated_columns, evaluation_sdtype, sample_rows
from core.evaluation.utility import (
    _MIN_HOLDOUT_ROWS,
    _Y,
    MIN_CLASS_ROWS,
    Task,
    _check_classes,
    _ConstantClassifier,
    _drop_missing_target,
    _features,
    _fit,
    _models,
    _target_values,
    detect_task,
)

__all__ = ["ModelPair", "fit_model_pair", "target_task"]


@dataclass(frozen=True, eq=False)
class ModelPair:
    """The two fitted models and the held-out rows they are scored on.

    Attributes:
        target: The predicted column.
        task: ``classification`` or ``regression``.
        classes: Class labels in code order (classification); the models predict codes
            ``0..len(classes)-1`` (``len(classes)`` = a value unknown to the real rows).
        minority: Code of the least frequent class in the real training rows
            (classification), else None.
        real_model: Pipeline fitted on the (sampled) real training rows.
        synthetic_model: Same pipeline fitted on the (sampled) synthetic rows; a constant
            predictor when the synthetic target has a single class.
        synthetic_constant: Whether ``synthetic_model`` is that constant predictor.
        holdout: The sampled held-out rows, original values (index 0..n-1).
        features: ``holdout`` encoded as the models' inputs (one column per feature).
        truth: The held-out target: class codes or floats.
        feature_columns: The columns the models read (every modelled column but the target).
        rows: Rows used: ``real_train``, ``synthetic_train``, ``holdout``.
        notes: What was left out or sampled, in plain sentences.
    """

    target: str
    task: Task
    classes: tuple[str, ...]
    minority: int | None
    real_model: Any
    synthetic_model: Any
    synthetic_constant: bool
    holdout: pd.DataFrame
    features: pd.DataFrame
    truth: np.ndarray
    feature_columns: tuple[str, ...]
    rows: dict[str, int]
    notes: tuple[str, ...] = field(default_factory=tuple)


def target_task(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
) -> tuple[Task, list[str]]:
    """The task of a checked target and the evaluated columns.

    Raises:
        EvaluationError: No target, or a target that is not a modelled column of the data.
    """
    if not target:
        raise EvaluationError(
            "No target column is set: this check compares models that predict a column. "
            "Pick a target on the Data page (or pass --target)."
        )
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    if target not in columns:
        why = "is not in the data" if target not in real_train.columns else (
            "is not a column the synthesizer learns (dropped, faked or an identifier)"
        )
        raise EvaluationError(f"The target '{target}' {why}: pick another target column.")
    return detect_task(real_train[target], evaluation_sdtype(schema.column(target))), columns


def fit_model_pair(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
    *,
    seed: int,
    max_train_rows: int,
    max_test_rows: int,
) -> ModelPair:
    """Fit the gradient-boosting model on real and on synthetic rows.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows.
        synthetic: Generated rows.
        schema: The reviewed schema.
        target: Column to predict.
        seed: Seed of the samples and the models.
        max_train_rows: Bound on the rows each model trains on (seeded, stratified sample).
        max_test_rows: Bound on the held-out rows kept.

    Raises:
        EvaluationError: No target, a target that is not modelled, empty or one-class, too
            few held-out rows, or a synthetic target missing everywhere.
    """
    task, columns = target_task(real_train, holdout, synthetic, schema, target)
    assert target is not None  # target_task refuses a missing one
    kinds = {
        c: "categorical" if evaluation_sdtype(schema.column(c)) == "categorical" else "number"
        for c in columns if c != target
    }
    if not kinds:
        raise EvaluationError(
            f"'{target}' is the only modelled column: there is nothing to predict it from. "
            "Model at least one more column."
        )
    notes: list[str] = []
    real_train, holdout, synthetic = (
        frame.reset_index(drop=True) for frame in (real_train, holdout, synthetic)
    )
    train_y = _target_values(real_train[target], task)
    if train_y.isna().all():
        raise EvaluationError(
            f"The target '{target}' is empty (missing in every real training row): pick "
            "another target."
        )
    train_x, train_y = _drop_missing_target(real_train, train_y, "real training", notes)
    test_x, test_y = _drop_missing_target(
        holdout, _target_values(holdout[target], task), "held-out", notes
    )
    synth_x, synth_y = _drop_missing_target(
        synthetic, _target_values(synthetic[target], task), "synthetic", notes
    )
    classes: tuple[str, ...] = ()
    if task == "classification":
        classes = _check_classes(target, train_y, notes)
        keep = set(classes)
        train_mask = train_y.isin(keep).to_numpy()
        train_x, train_y = train_x.loc[train_mask], train_y.loc[train_mask]
        test_mask = test_y.isin(keep).to_numpy()
        test_x, test_y = test_x.loc[test_mask], test_y.loc[test_mask]
    elif train_y.nunique() < 2:
        raise EvaluationError(
            f"The target '{target}' has only one value in the real training rows: nothing to "
            "predict — pick another target."
        )
    if len(test_y) < _MIN_HOLDOUT_ROWS:
        raise EvaluationError(
            f"Only {len(test_y)} held-out rows have a target value; at least "
            f"{_MIN_HOLDOUT_ROWS} are needed to score models. Hold out a larger share."
        )
    if synth_y.empty:
        raise EvaluationError(
            f"The synthetic target '{target}' is missing in every row, so no model can be "
            "trained on it. The synthesizer did not learn this column; retrain or pick "
            "another target."
        )
    stratified = task == "classification"
    train_rows = sample_rows(train_x.assign(**{_Y: train_y}), max_train_rows, seed,
                             train_y if stratified else None, MIN_CLASS_ROWS)
    synth_rows = sample_rows(synth_x.assign(**{_Y: synth_y}), max_train_rows, seed + 1,
                             synth_y if stratified else None, MIN_CLASS_ROWS)
    test_rows = sample_rows(test_x.assign(**{_Y: test_y}), max_test_rows, seed + 2,
                            test_y if stratified else None, MIN_CLASS_ROWS)
    for what, before, after in (
        ("real training", len(train_x), len(train_rows)),
        ("synthetic", len(synth_x), len(synth_rows)),
        ("held-out", len(test_x), len(test_rows)),
    ):
        if after < before:
            notes.append(f"Used a seeded sample of {after:,} of {before:,} {what} rows.")
    features_train, features_synth, features_test = _features(
        [train_rows, synth_rows, test_rows], kinds
    )
    minority: int | None = None
    if task == "classification":
        lookup = {label: code for code, label in enumerate(classes)}

        def codes(labels: pd.Series) -> np.ndarray:
            return labels.map(lookup).fillna(len(classes)).to_numpy(dtype=np.int64)

        y_train, y_synth, truth = (codes(rows[_Y]) for rows in (train_rows, synth_rows,
                                                                test_rows))
        counts = np.bincount(codes(train_y), minlength=len(classes))[: len(classes)]
        minority = int(np.argmin(counts))  # ties: the first label in sorted order
    else:
        y_train, y_synth, truth = (
            rows[_Y].to_numpy(dtype=float) for rows in (train_rows, synth_rows, test_rows)
        )
    real_model = _fit(_models(task, kinds, len(train_rows), seed, y_train)[2][1],
                      features_train, y_train)
    constant = task == "classification" and len(np.unique(y_synth)) < 2
    if constant:
        notes.append(
            f"The synthetic target has a single value ({synth_y.iloc[0]!r}): the model "
            "trained on it can only ever predict that value."
        )
        synthetic_model: Any = _ConstantClassifier(int(y_synth[0]))
    else:
        synthetic_model = _fit(_models(task, kinds, len(synth_rows), seed, y_synth)[2][1],
                               features_synth, y_synth)
    return ModelPair(
        target=target,
        task=task,
        classes=classes,
        minority=minority,
        real_model=real_model,
        synthetic_model=synthetic_model,
        synthetic_constant=constant,
        holdout=test_rows.drop(columns=[_Y]).reset_index(drop=True),
        features=features_test.reset_index(drop=True),
        truth=truth,
        feature_columns=tuple(kinds),
        rows={"real_train": len(train_rows), "synthetic_train": len(synth_rows),
              "holdout": len(test_rows)},
        notes=tuple(notes),
    )
