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
from core.evaluation._common import evaluated_columns, evaluation_sdtype
from core.evaluation.utility import (
    _Y,
    Task,
    _ConstantClassifier,
    _fit,
    _models,
    detect_task,
    supervised_data,
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
    notes: list[str] = []
    data = supervised_data(real_train, holdout, synthetic, schema, target, task, columns,
                           seed=seed, max_train_rows=max_train_rows,
                           max_test_rows=max_test_rows, notes=notes)
    kinds, classes, train_y, synth_y = data.kinds, data.classes, data.train_y, data.synth_y
    train_rows, synth_rows, test_rows = data.train_rows, data.synth_rows, data.test_rows
    features_train, features_synth, features_test = (data.features_train, data.features_synth,
                                                     data.features_test)
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
