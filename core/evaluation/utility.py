"""Utility: can a model trained on synthetic data replace one trained on real data?

TSTR vs TRTR (docs/ARCHITECTURE.md, "Honest numbers"): three scikit-learn models are fit
once on the real training rows (TRTR: train real, test real) and once on the synthetic rows
(TSTR: train synthetic, test real); both are scored on the **same** held-out real rows,
which neither the synthesizer nor the models saw. A ratio TSTR / TRTR near 1 means the
synthetic data carries what the task needs.

Classification is judged by macro-F1 (the headline), balanced accuracy and, for two
classes, ROC-AUC; accuracy is listed but never alone: a synthesizer that drops a 5%
minority class keeps ~95% accuracy while macro-F1 halves. Regression is judged by R²
(headline) and mean absolute error.

Models and encodings (one :class:`~sklearn.compose.ColumnTransformer` per model):

* numbers (dates as days since 1970, booleans as 0/1) → median imputation (+ missing
  indicator) → standard scaling (linear model only);
* categories (integer codes of a vocabulary shared by all frames, so scikit-learn's
  encoders stay on their fast numeric path) → missing as a category of its own →
  one-hot encoding of the categories seen at least ``max(5, 0.5%)`` times in that
  model's training rows, at most 20 per column, unknown categories ignored (linear model
  and random forest); the gradient-boosting model uses its native categorical support
  (ordinal codes, same frequency bound).
* classification: LogisticRegression and RandomForestClassifier (100 trees) with balanced
  class weights (a rare class counts as much as a common one), HistGradientBoosting-
  Classifier unweighted (weights make it ~7x slower); regression: Ridge,
  RandomForestRegressor, HistGradientBoostingRegressor.

To stay fast, each side trains on at most 25,000 rows (seeded, stratified on the class,
keeping at least 5 rows of every class), each forest tree on at most 3,000 of them
(``max_samples``, depth ≤ 12) and the models are scored on at most 20,000 held-out rows.
OpenMP is limited to one thread around the fits (see
:func:`~core.evaluation._common.single_threaded_native_code`); the forest uses both cores
through ``n_jobs=-1``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation import glossary
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluated_columns,
    evaluation_sdtype,
    is_continuous,
    sample_rows,
    single_threaded_native_code,
)
from core.progress import ProgressCallback, null_progress

__all__ = [
    "MIN_CLASS_ROWS",
    "MIN_SKILL",
    "SupervisedData",
    "UtilityResult",
    "detect_task",
    "supervised_data",
    "utility_scores",
]

Task = Literal["classification", "regression"]

#: A class needs this many training rows to be learnable; rarer classes are left out.
MIN_CLASS_ROWS = 5
#: Real-data models must beat a model that learned nothing by this much (macro-F1 or R²)
#: for the TSTR / TRTR ratio to mean something.
MIN_SKILL = 0.05
_MAX_TRAIN_ROWS = 25_000
_MAX_TEST_ROWS = 20_000
_MAX_ROWS_PER_TREE = 3_000
_MIN_HOLDOUT_ROWS = 10
_Y = "\x00target"  # the target's column while rows are sampled (no clash with real names)
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
        baseline: The headline metric of a model that learned nothing (always the most
            common training class; R² 0 for regression).
        informative: Whether the real models beat ``baseline`` by at least
            :data:`MIN_SKILL`; if not, the target cannot be predicted from the other
            columns and the ratio says little (the verdict reports "not measured").
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
    baseline: float
    informative: bool
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


def _features(
    frames: list[pd.DataFrame], kinds: dict[str, str]
) -> list[pd.DataFrame]:
    """Model inputs: numbers as float (dates as days, booleans 0/1), NaN kept.

    Categories become integer codes of one vocabulary shared by all frames (missing →
    NaN). The vocabulary only names the values; which categories a model one-hot encodes
    (and how rare ones are pooled) is still learned from that model's own training rows.
    Integer codes keep scikit-learn's encoders on their fast numeric path (on text they
    count values one Python object at a time).
    """
    data: list[dict[str, Any]] = [{} for _ in frames]
    for name, kind in kinds.items():
        if kind == "categorical":
            labels = pd.concat([as_labels(frame[name]) for frame in frames], ignore_index=True)
            codes = pd.factorize(labels, use_na_sentinel=True)[0].astype(float)
            codes[codes < 0] = np.nan
            start = 0
            for index, frame in enumerate(frames):
                data[index][name] = codes[start: start + len(frame)]
                start += len(frame)
        else:
            for index, frame in enumerate(frames):
                data[index][name] = as_numeric(frame[name])
    return [pd.DataFrame(columns, index=frame.index) for columns, frame in zip(data, frames,
                                                                               strict=True)]


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
        fill = SimpleImputer(strategy="constant", fill_value=-1.0, keep_empty_features=True)
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


def _models(task: Task, kinds: dict[str, str], rows: int, seed: int,
            target: np.ndarray | None = None) -> list[tuple[str, Any]]:
    """The three (name, unfitted pipeline) pairs of a task, sized for ``rows`` rows.

    ``target`` (the labels the models will learn) decides whether gradient boosting may
    hold out a stratified 10% for early stopping: that split fails when a class has a
    single row (a synthetic sample can produce one) or there are more classes than rows
    held out.
    """
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
        "n_estimators": 100, "max_depth": 12, "min_samples_leaf": 2, "n_jobs": -1,
        "max_features": "sqrt",
        "random_state": seed, "max_samples": min(1.0, _MAX_ROWS_PER_TREE / max(rows, 1)),
    }
    early_stopping = True
    if task == "classification" and target is not None and len(target):
        _, counts = np.unique(target, return_counts=True)
        early_stopping = bool(counts.min() >= 2 and len(target) // 10 >= len(counts))
    boosting: dict[str, Any] = {
        "max_iter": 100, "early_stopping": early_stopping, "random_state": seed,
        "categorical_features": list(range(categories)) if categories else None,
    }
    if task == "classification":
        # Balanced class weights: a rare class counts as much as a common one, so macro-F1
        # measures whether the minority can be recognised, not the class prior. Gradient
        # boosting stays unweighted: sample weights make each of its iterations ~7x slower.
        linear: Any = LogisticRegression(max_iter=300, class_weight="balanced")
        trees: Any = RandomForestClassifier(**forest, class_weight="balanced_subsample")
        boosted: Any = HistGradientBoostingClassifier(**boosting)
    else:
        linear = Ridge(alpha=1.0)
        trees = RandomForestRegressor(**forest)
        boosted = HistGradientBoostingRegressor(**boosting)
    names = _MODEL_NAMES[task]
    return [
        (names[0], Pipeline([("encode", _preprocessor(kinds, "linear", rows)), ("model", linear)])),
        (names[1], Pipeline([("encode", _preprocessor(kinds, "onehot", rows)), ("model", trees)])),
        (names[2], Pipeline([("encode", _preprocessor(kinds, "native", rows)),
                             ("model", boosted)])),
    ]


class _ConstantClassifier:
    """Stands in when the synthetic target has a single class (a model cannot be fit)."""

    def __init__(self, label: int) -> None:
        self.label = label
        self.classes_ = np.array([label])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), self.label)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.ones((len(features), 1))


def _fit(model: Any, features: pd.DataFrame, target: np.ndarray) -> Any:
    with warnings.catch_warnings(), single_threaded_native_code():
        warnings.simplefilter("ignore")
        return model.fit(features, target)


def _classification_metrics(
    model: Any, features: pd.DataFrame, truth: np.ndarray, classes: int
) -> dict[str, float]:
    """Scores of a classifier on integer labels.

    Labels are codes ``0..classes-1`` (``classes`` means "not a real class"), which keeps
    scikit-learn's metrics on their fast integer path.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        roc_auc_score,
    )

    learned = np.asarray(model.classes_)
    probabilities = np.asarray(model.predict_proba(features))  # one pass: predict = argmax
    predicted = learned[np.argmax(probabilities, axis=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = {
            "macro_f1": float(f1_score(
                truth, predicted, labels=list(range(classes)), average="macro", zero_division=0
            )),
            "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
            "accuracy": float(accuracy_score(truth, predicted)),
        }
    if classes == 2:
        if 1 in learned:
            positive = probabilities[:, list(learned).index(1)]
        else:  # the model never saw the positive class: it gives it probability 0
            positive = np.zeros(len(features))
        if len(np.unique(truth)) == 2:
            scores["roc_auc"] = float(roc_auc_score(truth == 1, positive))
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


@dataclass(frozen=True, eq=False)
class SupervisedData:
    """The rows and features of a train-on-real vs train-on-synthetic test (bounded, seeded).

    Attributes:
        kinds: Feature column -> "categorical" or "number".
        classes: The learnable classes (classification), else empty.
        train_y: The real training rows' target (all rows with one).
        synth_y: The synthetic rows' target (all rows with one).
        train_rows: The sampled real training rows, target in column ``_Y``.
        synth_rows: The sampled synthetic rows, the same.
        test_rows: The sampled held-out rows, the same.
        features_train: ``train_rows`` encoded for the models.
        features_synth: ``synth_rows`` encoded.
        features_test: ``test_rows`` encoded.
    """

    kinds: dict[str, str]
    classes: tuple[str, ...]
    train_y: pd.Series
    synth_y: pd.Series
    train_rows: pd.DataFrame
    synth_rows: pd.DataFrame
    test_rows: pd.DataFrame
    features_train: Any
    features_synth: Any
    features_test: Any


def supervised_data(real_train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                    schema: TableSchema, target: str, task: str, columns: list[str], *,
                    seed: int, max_train_rows: int, max_test_rows: int, notes: list[str]
                    ) -> SupervisedData:
    """Targets, checks, seeded samples and features shared by every model pair.

    Shared by :func:`utility_scores` and the fairness and drivers checks
    (``core/evaluation/_model_pair.py``); what was left out or sampled is added to ``notes``.

    Raises:
        EvaluationError: No feature column, an empty or one-class target, too few held-out
            rows with a target, or a synthetic target missing everywhere.
    """
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
    # Positions, not labels: the frames may come with repeated index labels.
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
    train_rows = sample_rows(train_x.assign(**{_Y: train_y}), max_train_rows, seed,
                             stratify_train, MIN_CLASS_ROWS)
    synth_rows = sample_rows(synth_x.assign(**{_Y: synth_y}), max_train_rows, seed + 1,
                             stratify_synth, MIN_CLASS_ROWS)
    test_rows = sample_rows(test_x.assign(**{_Y: test_y}), max_test_rows, seed + 2,
                            test_y if task == "classification" else None, MIN_CLASS_ROWS)
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
    return SupervisedData(kinds, classes, train_y, synth_y, train_rows, synth_rows, test_rows,
                          features_train, features_synth, features_test)


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
    notes: list[str] = []
    data = supervised_data(real_train, holdout, synthetic, schema, target, task, columns,
                           seed=seed, max_train_rows=_MAX_TRAIN_ROWS,
                           max_test_rows=_MAX_TEST_ROWS, notes=notes)
    kinds, classes = data.kinds, data.classes
    train_rows, synth_rows, test_rows = data.train_rows, data.synth_rows, data.test_rows
    features_train, features_synth, features_test = (data.features_train, data.features_synth,
                                                     data.features_test)

    single_class = None
    if task == "classification":
        lookup = {label: code for code, label in enumerate(classes)}

        def codes(labels: pd.Series) -> np.ndarray:
            return labels.map(lookup).fillna(len(classes)).to_numpy(dtype=np.int64)

        y_train, y_synth, truth = (codes(rows[_Y]) for rows in (train_rows, synth_rows,
                                                                test_rows))
        synth_codes = np.unique(y_synth)
        if len(synth_codes) < 2:
            single_class = int(synth_codes[0])
            shown = classes[single_class] if single_class < len(classes) else "an unknown value"
            notes.append(
                f"The synthetic target has a single class ({shown!r}): the models trained on "
                "it can only ever predict that class."
            )
        missing = [classes[c] for c in range(len(classes)) if c not in set(synth_codes)]
        if missing and len(synth_codes) >= 2:
            notes.append(
                f"The synthetic data lacks class(es) {', '.join(map(repr, missing))}: models "
                "trained on it never predict them."
            )
        unknown = int((y_synth == len(classes)).sum())
        if unknown:
            notes.append(
                f"{unknown:,} synthetic rows have a target value absent from the real "
                "training rows; the models learn it as 'not a real class'."
            )
    else:
        y_train, y_synth, truth = (
            rows[_Y].to_numpy(dtype=float) for rows in (train_rows, synth_rows, test_rows)
        )

    models_real = _models(task, kinds, len(train_rows), seed, y_train)
    models_synth = _models(task, kinds, len(synth_rows), seed, y_synth)
    records: list[dict[str, Any]] = []
    steps = len(models_real) * 2
    for index, ((name, real_model), (_, synth_model)) in enumerate(
        zip(models_real, models_synth, strict=True)
    ):
        report(2 * index / steps, f"Training {name.lower()} on real rows…")
        fitted_real = _fit(real_model, features_train, y_train)
        report((2 * index + 1) / steps, f"Training {name.lower()} on synthetic rows…")
        if single_class is not None:
            fitted_synth: Any = _ConstantClassifier(single_class)
        else:
            fitted_synth = _fit(synth_model, features_synth, y_synth)
        with single_threaded_native_code():
            if task == "classification":
                real_scores = _classification_metrics(
                    fitted_real, features_test, truth, len(classes)
                )
                synth_scores = _classification_metrics(
                    fitted_synth, features_test, truth, len(classes)
                )
            else:
                real_scores = _regression_metrics(fitted_real, features_test, truth)
                synth_scores = _regression_metrics(fitted_synth, features_test, truth)
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
    if task == "classification":
        # Always answering the most common training class: what "learned nothing" scores.
        from sklearn.metrics import f1_score

        majority = int(np.bincount(y_train, minlength=len(classes)).argmax())
        baseline = float(f1_score(truth, np.full(len(truth), majority),
                                  labels=list(range(len(classes))), average="macro",
                                  zero_division=0))
    else:
        baseline = 0.0  # predicting the mean scores R² ≈ 0
    informative = ratio is not None and real_mean - baseline >= MIN_SKILL
    per_model: dict[str, dict[str, float | None]] = {
        str(r["model"]): {
            "trtr": float(r["trtr"]), "tstr": float(r["tstr"]),
            "ratio": None if pd.isna(r["ratio"]) else float(r["ratio"]),
        }
        for r in rows.to_dict("records")
    }
    explanation = _explain(
        task, target, headline, real_mean, synth_mean, ratio, table, baseline, informative
    )
    return UtilityResult(
        target=target,
        task=task,
        metric=headline,
        real=real_mean,
        synthetic=synth_mean,
        ratio=ratio,
        baseline=baseline,
        informative=informative,
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
    baseline: float,
    informative: bool,
) -> str:
    label = glossary.name("macro_f1" if metric == "macro_f1" else "r2").lower()
    if not informative:
        guess = (
            "its average" if task == "regression" else "the most common class every time"
        )
        return (
            f"Models trained on the real rows barely predict '{target}' better than "
            f"guessing {guess} ({label} {real:.2f} vs {baseline:.2f}), so there is little "
            "for the synthetic data to match: utility is not measurable with this target."
        )
    assert ratio is not None  # informative implies a ratio
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
