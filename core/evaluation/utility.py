"""Utility: can a model trained on synthetic data replace one trained on real data?

TSTR vs TRTR (DESIGN.md "Evaluation rules"): three scikit-learn models are fit once on
the real training rows (TRTR: train real, test real) and once on the synthetic rows (TSTR:
train synthetic, test real); both are scored on the **same** held-out real rows, which
neither the synthesizer nor the models saw. A ratio TSTR / TRTR near 1 means the synthetic
data carries what the task needs.

Classification is judged by macro-F1 (the headline), balanced accuracy and, for two
classes, ROC-AUC; accuracy is listed but never alone: a synthesizer that drops a 5%
minority class keeps ~95% accuracy while macro-F1 halves. Regression is judged by R²
(headline) and mean absolute error.

Models and encodings (one :class:`~sklearn.compose.ColumnTransformer` per model):

* numbers (dates as days since 1970, booleans as 0/1) → median imputation (+ missing
  indicator) → standard scaling (linear model only);
* categories → constant imputation → one-hot encoding of the categories seen at least
  ``max(5, 0.5%)`` times, at most 20 per column, unknown categories ignored (linear model
  and random forest); the gradient-boosting model uses its native categorical support
  (ordinal codes, same frequency bound).
* classification: LogisticRegression, RandomForestClassifier (100 trees), HistGradient-
  BoostingClassifier; regression: Ridge, RandomForestRegressor, HistGradientBoosting-
  Regressor.

To stay fast, each side trains on at most 50,000 rows (seeded, stratified on the class),
each forest tree on at most 10,000 rows (``max_samples``) and the models are scored on at
most 50,000 held-out rows. A 100k × 30 table takes a few seconds on two cores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.errors import EvaluationError
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluated_columns,
    evaluation_sdtype,
    is_continuous,
    sample_rows,
)
from core.progress import ProgressCallback, null_progress
from core.schema import TableSchema

__all__ = [
    "MIN_CLASS_ROWS",
    "UtilityResult",
    "detect_task",
    "utility_scores",
]

Task = Literal["classification", "regression"]

#: A class needs this many training rows to be learnable; rarer classes are left out.
MIN_CLASS_ROWS = 5
_MAX_TRAIN_ROWS = 50_000
_MAX_TEST_ROWS = 50_000
_MAX_ROWS_PER_TREE = 10_000
_MIN_HOLDOUT_ROWS = 10
_MAX_ONE_HOT = 20
_MAX_CLASSES = 50
_HIGHER_IS_BETTER = {
    "macro_f1": True, "balanced_accuracy": True, "roc_auc": True, "accuracy": True,
    "r2": True, "mae": False,
}
_MODEL_NAMES = {
    "classification": ("Logistic regression", "Random forest", "Gradient boosting"),
    "regression": ("Ridge regression", "Random forest", "Gradient boosting"),
}


@dataclass(frozen=True, eq=False)
class UtilityResult:
    """TSTR vs TRTR scores.

    Attributes:
        target: The predicted column.
        task: ``classification`` or ``regression``.
        metric: The headline metric: ``macro_f1`` or ``r2``.
        real: Headline metric of the models trained on real rows (TRTR), mean of 3 models.
        synthetic: Same for the models trained on synthetic rows (TSTR).
        ratio: ``synthetic / real`` (1.0 = as useful as the real data); None when the real
            models score ≤ 0 (nothing to compare; see ``explanation``).
        per_model: Model name → ``{"trtr", "tstr", "ratio"}`` of the headline metric.
        table: Tidy scores: ``model``, ``metric``, ``trtr``, ``tstr``, ``ratio``,
            ``higher_is_better``. For ``mae`` (lower is better) ``ratio`` is TRTR / TSTR,
            so for every metric a ratio below 1 means the synthetic data did worse.
        classes: Class labels learned (classification), as text.
        rows: Rows used: ``real_train``, ``synthetic_train``, ``holdout``.
        notes: What was dropped, subsampled or substituted, in plain sentences.
        explanation: One sentence about the headline.
    """

    target: str
    task: str
    metric: str
    real: float
    synthetic: float
    ratio: float | None
    per_model: dict[str, dict[str, float | None]]
    table: pd.DataFrame
    classes: tuple[str, ...]
    rows: dict[str, int]
    notes: tuple[str, ...] = field(default_factory=tuple)
    explanation: str = ""


def detect_task(series: pd.Series, sdtype: str | None = None) -> Task:
    """Classification or regression for a target column.

    Args:
        series: The target values.
        sdtype: Its sdtype from the schema, when known (decides on its own:
            ``numerical``/``datetime`` → regression, anything else → classification).

    Returns:
        ``regression`` for numbers with many distinct values, else ``classification``.
    """
    if sdtype is not None:
        return "regression" if is_continuous(sdtype) else "classification"
    if pd.api.types.is_bool_dtype(series):
        return "classification"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "regression"
    if not pd.api.types.is_numeric_dtype(series):
        return "classification"
    values = series.dropna()
    whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)) if len(values) else True
    if whole and values.nunique() <= 10:
        return "classification"
    return "regression"


# --------------------------------------------------------------------------- data


def _features(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Numbers as float (dates as days, booleans 0/1), categories as text; NaN kept."""
    data: dict[str, Any] = {}
    for name, kind in kinds.items():
        if kind == "categorical":
            data[name] = as_labels(frame[name]).to_numpy()
        else:
            data[name] = as_numeric(frame[name])
    return pd.DataFrame(data, index=frame.index)


def _target_values(series: pd.Series, task: Task) -> pd.Series:
    if task == "classification":
        return as_labels(series)
    return pd.Series(as_numeric(series), index=series.index)


def _drop_missing_target(
    frame: pd.DataFrame, target: pd.Series, what: str, notes: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    missing = target.isna().to_numpy()
    if missing.any():
        notes.append(f"{int(missing.sum()):,} {what} rows with no target value were left out.")
    return frame.loc[~missing], target.loc[~missing]


def _check_classes(
    target: str, train_labels: pd.Series, notes: list[str]
) -> tuple[str, ...]:
    counts = train_labels.value_counts()
    if len(counts) < 2:
        value = counts.index[0] if len(counts) else "?"
        raise EvaluationError(
            f"The target '{target}' has only one value ({value!r}) in the real training rows: "
            "nothing to predict — pick another target."
        )
    rare = counts[counts < MIN_CLASS_ROWS]
    kept = counts[counts >= MIN_CLASS_ROWS]
    if len(kept) < 2:
        described = ", ".join(f"{label!r} ({count} rows)" for label, count in rare.items())
        raise EvaluationError(
            f"The target '{target}' has too few rows in a class to learn from: {described}; "
            f"each class needs at least {MIN_CLASS_ROWS} training rows. Pick another target, "
            "merge rare classes, or load more rows."
        )
    if len(rare):
        notes.append(
            f"{len(rare)} class(es) of '{target}' with fewer than {MIN_CLASS_ROWS} training "
            f"rows were left out ({', '.join(map(repr, rare.index[:5]))})."
        )
    if len(kept) > _MAX_CLASSES:
        raise EvaluationError(
            f"The target '{target}' has {len(kept)} classes; utility is measured for up to "
            f"{_MAX_CLASSES}. Pick a target with fewer categories."
        )
    return tuple(sorted(map(str, kept.index)))


# --------------------------------------------------------------------------- models


def _preprocessor(kinds: dict[str, str], flavour: str, rows: int) -> Any:
    """The encoder of one model: ``linear`` (scaled, sparse one-hot), ``onehot``, ``native``.

    ``native`` (gradient boosting) puts the ordinal-coded categories first, so the model's
    ``categorical_features`` are the first ``len(categories)`` columns.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [c for c, kind in kinds.items() if kind != "categorical"]
    categorical = [c for c, kind in kinds.items() if kind == "categorical"]
    min_frequency = max(5, int(0.005 * rows))
    steps: list[tuple[str, Any, list[str]]] = []
    if categorical:
        fill = SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True)
        if flavour == "native":
            encoder: Any = OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1,
                min_frequency=min_frequency, max_categories=_MAX_ONE_HOT, dtype=np.float32,
            )
        else:
            encoder = OneHotEncoder(
                handle_unknown="ignore", min_frequency=min_frequency,
                max_categories=_MAX_ONE_HOT, sparse_output=flavour == "linear",
                dtype=np.float32,
            )
        steps.append(("categories", make_pipeline(fill, encoder), categorical))
    if numeric:
        imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        if flavour == "linear":
            steps.append(("numbers", make_pipeline(imputer, StandardScaler()), numeric))
        else:
            steps.append(("numbers", imputer, numeric))
    return ColumnTransformer(steps, remainder="drop", sparse_threshold=0.3 if flavour ==
                             "linear" else 0.0)


def _models(task: Task, kinds: dict[str, str], rows: int, seed: int) -> list[tuple[str, Any]]:
    """The three (name, unfitted pipeline) pairs of a task, sized for ``rows`` rows."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline

    categories = sum(kind == "categorical" for kind in kinds.values())
    forest: dict[str, Any] = {
        "n_estimators": 100, "max_depth": 16, "min_samples_leaf": 2, "n_jobs": -1,
        "random_state": seed, "max_samples": min(1.0, _MAX_ROWS_PER_TREE / max(rows, 1)),
    }
    boosting: dict[str, Any] = {
        "max_iter": 200, "early_stopping": True, "random_state": seed,
        "categorical_features": list(range(categories)) if categories else None,
    }
    if task == "classification":
        linear: Any = LogisticRegression(max_iter=300)
        trees: Any = RandomForestClassifier(**forest)
        boosted: Any = HistGradientBoostingClassifier(**boosting)
    else:
        linear = Ridge(alpha=1.0)
        trees = RandomForestRegressor(**forest)
        boosted = HistGradientBoostingRegressor(**boosting)
    names = _MODEL_NAMES[task]
    return [
        (names[0], Pipeline([("encode", _preprocessor(kinds, "linear", rows)), ("model", linear)])),
        (names[1], Pipeline([("encode", _preprocessor(kinds, "onehot", rows)), ("model", trees)])),
        (names[2], Pipeline([("encode", _preprocessor(kinds, "native", rows)), ("model", boosted)])),
    ]


class _ConstantClassifier:
    """Stands in when the synthetic target has a single class (a model cannot be fit)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.classes_ = np.array([label], dtype=object)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), self.label, dtype=object)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.ones((len(features), 1))


def _fit(model: Any, features: pd.DataFrame, target: pd.Series) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(features, target.to_numpy())


def _classification_metrics(
    model: Any, features: pd.DataFrame, truth: np.ndarray, classes: tuple[str, ...]
) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        roc_auc_score,
    )

    predicted = np.asarray(model.predict(features), dtype=object)
    labels = list(classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = {
            "macro_f1": float(
                f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
            ),
            "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
            "accuracy": float(accuracy_score(truth, predicted)),
        }
    if len(classes) == 2:
        positive = classes[1]
        learned = [str(label) for label in model.classes_]
        if positive in learned:
            probabilities = model.predict_proba(features)[:, learned.index(positive)]
        else:  # the model never saw the positive class: it gives it probability 0
            probabilities = np.zeros(len(features))
        if len(set(truth)) == 2:
            scores["roc_auc"] = float(roc_auc_score(truth == positive, probabilities))
        else:
            scores["roc_auc"] = float("nan")
    return scores


def _regression_metrics(model: Any, features: pd.DataFrame, truth: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, r2_score

    predicted = np.asarray(model.predict(features), dtype=float)
    return {
        "r2": float(r2_score(truth, predicted)),
        "mae": float(mean_absolute_error(truth, predicted)),
    }


def _ratio(trtr: float, tstr: float, higher_is_better: bool) -> float | None:
    if not (np.isfinite(trtr) and np.isfinite(tstr)):
        return None
    if higher_is_better:
        return float(tstr / trtr) if trtr > 0 else None
    if tstr <= 0:
        return 1.0 if trtr <= 0 else None
    return float(trtr / tstr)


# --------------------------------------------------------------------------- main


def utility_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> UtilityResult:
    """Train on real vs synthetic, test both on the same held-out real rows.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows (never seen by the synthesizer).
        synthetic: Generated rows.
        schema: The reviewed schema; the features are the other modelled columns.
        target: Column to predict.
        seed: Seed of the subsamples and the models.
        progress: Called with (fraction, message).

    Returns:
        The scores; see :class:`UtilityResult`.

    Raises:
        EvaluationError: The target is missing, empty, has one class in the real training
            rows, or too few rows per class; too few held-out rows.
    """
    report = progress or null_progress
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    if target not in columns:
        why = "is not in the data" if target not in real_train.columns else (
            "is not a column the synthesizer learns (dropped, faked or an identifier)"
        )
        raise EvaluationError(f"The target '{target}' {why}: pick another target column.")
    sdtype = evaluation_sdtype(schema.column(target))
    task = detect_task(real_train[target], sdtype)
    # Booleans and dates become numbers (0/1, days); categories stay text.
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
        if (~test_mask).any():
            notes.append(
                f"{int((~test_mask).sum()):,} held-out rows of classes not learnable from the "
                "training rows were left out."
            )
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

    stratify_train = train_y if task == "classification" else None
    stratify_synth = synth_y if task == "classification" else None
    train_rows = sample_rows(train_x.assign(_y=train_y), _MAX_TRAIN_ROWS, seed,
                             stratify_train, MIN_CLASS_ROWS)
    synth_rows = sample_rows(synth_x.assign(_y=synth_y), _MAX_TRAIN_ROWS, seed + 1,
                             stratify_synth, MIN_CLASS_ROWS)
    test_rows = sample_rows(test_x.assign(_y=test_y), _MAX_TEST_ROWS, seed + 2,
                            test_y if task == "classification" else None, MIN_CLASS_ROWS)
    for what, before, after in (
        ("real training", len(train_x), len(train_rows)),
        ("synthetic", len(synth_x), len(synth_rows)),
        ("held-out", len(test_x), len(test_rows)),
    ):
        if after < before:
            notes.append(f"Used a seeded sample of {after:,} of {before:,} {what} rows.")
    features_train = _features(train_rows, kinds)
    features_synth = _features(synth_rows, kinds)
    features_test = _features(test_rows, kinds)
    truth = test_rows["_y"].to_numpy()

    single_class = None
    if task == "classification":
        synth_classes = synth_rows["_y"].unique()
        if len(synth_classes) < 2:
            single_class = str(synth_classes[0])
            notes.append(
                f"The synthetic target has a single class ({single_class!r}): the TSTR models "
                "can only ever predict that class."
            )
        missing = sorted(set(classes) - set(map(str, synth_classes)))
        if missing and len(synth_classes) >= 2:
            notes.append(
                f"The synthetic data lacks class(es) {', '.join(map(repr, missing))}: models "
                "trained on it never predict them."
            )

    models_real = _models(task, kinds, len(train_rows), seed)
    models_synth = _models(task, kinds, len(synth_rows), seed)
    records: list[dict[str, Any]] = []
    steps = len(models_real) * 2
    for index, ((name, real_model), (_, synth_model)) in enumerate(
        zip(models_real, models_synth, strict=True)
    ):
        report(2 * index / steps, f"Training {name.lower()} on real rows (TRTR)…")
        fitted_real = _fit(real_model, features_train, train_rows["_y"])
        report((2 * index + 1) / steps, f"Training {name.lower()} on synthetic rows (TSTR)…")
        if single_class is not None:
            fitted_synth: Any = _ConstantClassifier(single_class)
        else:
            fitted_synth = _fit(synth_model, features_synth, synth_rows["_y"])
        if task == "classification":
            real_scores = _classification_metrics(fitted_real, features_test, truth, classes)
            synth_scores = _classification_metrics(fitted_synth, features_test, truth, classes)
        else:
            truth_float = truth.astype(float)
            real_scores = _regression_metrics(fitted_real, features_test, truth_float)
            synth_scores = _regression_metrics(fitted_synth, features_test, truth_float)
        for metric, trtr in real_scores.items():
            tstr = synth_scores[metric]
            higher = _HIGHER_IS_BETTER[metric]
            records.append({
                "model": name, "metric": metric, "trtr": trtr, "tstr": tstr,
                "ratio": _ratio(trtr, tstr, higher), "higher_is_better": higher,
            })
    report(1.0, "Utility done.")

    table = pd.DataFrame.from_records(records)
    table["ratio"] = table["ratio"].astype(float)
    headline = "macro_f1" if task == "classification" else "r2"
    rows = table[table["metric"] == headline]
    real_mean = float(rows["trtr"].mean())
    synth_mean = float(rows["tstr"].mean())
    ratio = _ratio(real_mean, synth_mean, True)
    per_model: dict[str, dict[str, float | None]] = {
        str(r["model"]): {
            "trtr": float(r["trtr"]), "tstr": float(r["tstr"]),
            "ratio": None if pd.isna(r["ratio"]) else float(r["ratio"]),
        }
        for r in rows.to_dict("records")
    }
    explanation = _explain(task, target, headline, real_mean, synth_mean, ratio, table)
    return UtilityResult(
        target=target,
        task=task,
        metric=headline,
        real=real_mean,
        synthetic=synth_mean,
        ratio=ratio,
        per_model=per_model,
        table=table,
        classes=classes,
        rows={"real_train": len(train_rows), "synthetic_train": len(synth_rows),
              "holdout": len(test_rows)},
        notes=tuple(notes),
        explanation=explanation,
    )


def _explain(
    task: str,
    target: str,
    metric: str,
    real: float,
    synthetic: float,
    ratio: float | None,
    table: pd.DataFrame,
) -> str:
    label = "macro-F1" if metric == "macro_f1" else "R²"
    if ratio is None:
        return (
            f"Models trained on the real rows cannot predict '{target}' better than its "
            f"average (R² {real:.2f} ≤ 0), so there is nothing for the synthetic data to "
            "match: utility is not measurable for this target."
            if task == "regression" else
            f"Models trained on the real rows score {label} {real:.2f} on '{target}': too low "
            "to compare with."
        )
    sentence = (
        f"Models trained on synthetic rows reach {ratio:.0%} of the {label} of models "
        f"trained on real rows when predicting '{target}' ({synthetic:.2f} vs {real:.2f})."
    )
    if task == "classification":
        accuracy = table[table["metric"] == "accuracy"]
        accuracy_ratio = float(accuracy["tstr"].mean() / max(accuracy["trtr"].mean(), 1e-12))
        if accuracy_ratio - ratio > 0.1:
            sentence += (
                f" Accuracy keeps {accuracy_ratio:.0%}: the models mostly miss the rare "
                "class(es), which accuracy hides."
            )
    return sentence
