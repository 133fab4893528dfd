"""Explainability: does the synthetic data teach a model the same drivers as real data?

The utility check's gradient-boosting model is trained once on the real training rows and
once on the synthetic rows (:mod:`core.evaluation._model_pair`). For each, **permutation
importance** measures how much the model's score on held-out real rows drops when one
column's values are shuffled: a column the model relies on costs a lot, one it ignores
costs nothing. Whole original columns are shuffled (the models encode their own inputs),
so a category's one-hot parts count as one. :func:`permutation_importance` gives the numbers
of :func:`sklearn.inspection.permutation_importance` (same shuffles), predicting the shuffled
copies of a column in one call.

Scores: ROC-AUC for a yes/no target (smooth, so small drops show), balanced accuracy for
more classes, R² for numbers. The two importance vectors are compared by their **rank
agreement** (Spearman correlation, -1..1: 1 = the same order of drivers) and the overlap of
their top :data:`TOP_K` columns.

Bounds: each model trains on at most :data:`MAX_TRAIN_ROWS` rows; importance is measured
on at most :data:`MAX_IMPORTANCE_ROWS` held-out rows with :data:`N_REPEATS` shuffles per
column, fewer rows (never below :data:`MIN_IMPORTANCE_ROWS`) when columns × repeats × rows
would exceed :data:`PERMUTED_ROW_BUDGET`. Everything is seeded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.evaluation._common import sample_rows, single_threaded_native_code
from core.evaluation._model_pair import ModelPair, fit_model_pair
from core.evaluation.thresholds import DRIVER_SHARE, LOST_DRIVER_DROP, LOST_DRIVER_SHARE
from core.progress import ProgressCallback, null_progress

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "DRIVER_SHARE",
    "LOST_DRIVER_DROP",
    "LOST_DRIVER_SHARE",
    "MAX_IMPORTANCE_ROWS",
    "MAX_TRAIN_ROWS",
    "MIN_IMPORTANCE_ROWS",
    "MIN_ROWS_PER_CLASS",
    "N_REPEATS",
    "PERMUTED_ROW_BUDGET",
    "TOP_K",
    "ImportanceResult",
    "permutation_importance",
    "importance_figure",
    "importance_scores",
]

#: Bound on the rows each model trains on (seeded sample, stratified on the class).
MAX_TRAIN_ROWS = 10_000
#: Bound on the held-out rows whose score is measured with each column shuffled.
MAX_IMPORTANCE_ROWS = 1_000
#: The held-out sample never shrinks below this many rows (wide tables).
MIN_IMPORTANCE_ROWS = 200
#: The held-out sample keeps up to this many rows of every class (all of a rare class's rows
#: when it has fewer): ROC-AUC does not depend on class shares, but its noise does.
MIN_ROWS_PER_CLASS = 200
#: Bound on the held-out rows read before the importance sample is drawn.
_MAX_HOLDOUT_ROWS = 20_000
#: Shuffles per column (the importance is their mean drop in score).
N_REPEATS = 5
#: Bound on columns × repeats × held-out rows predicted per model (keeps wide tables fast).
PERMUTED_ROW_BUDGET = 60_000
#: How many leading drivers the overlap and the sentence compare.
TOP_K = 3


@dataclass(frozen=True, eq=False)
class ImportanceResult:
    """Permutation importance of the model trained on real vs on synthetic rows.

    Attributes:
        target: The predicted column.
        task: ``classification`` or ``regression``.
        score: The score whose drop is measured: ``roc_auc``, ``balanced_accuracy`` or
            ``r2``.
        table: One row per column, most important (real) first: ``column``, ``real``,
            ``synthetic`` (mean drop in score), ``real_std``, ``synthetic_std``,
            ``real_rank``, ``synthetic_rank`` (1 = most important).
        rank_agreement: Spearman correlation of the two importance vectors (-1..1; 1 = the
            same order); NaN with fewer than 3 columns or when a model relies on no column.
        top_k: How many leading drivers are compared (at most :data:`TOP_K`).
        top_overlap: Share of the real model's top drivers that are also top drivers of the
            synthetic model (0..1); a driver weighs at least :data:`DRIVER_SHARE` of its
            model's largest importance.
        sentence: One plain sentence on what the comparison shows.
        rows: Rows used: ``real_train``, ``synthetic_train``, ``holdout``.
        notes: What was sampled or substituted, in plain sentences.
    """

    target: str
    task: str
    score: str
    table: pd.DataFrame
    rank_agreement: float
    top_k: int
    top_overlap: float
    sentence: str
    rows: dict[str, int]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def top_real(self) -> list[str]:
        """The real model's top drivers (at most ``top_k``), most important first."""
        return _top(self.table, "real", self.top_k)

    @property
    def top_synthetic(self) -> list[str]:
        """The synthetic model's top drivers (at most ``top_k``), most important first."""
        return _top(self.table, "synthetic", self.top_k)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary for metrics.json (NaN becomes None)."""
        return {
            "target": self.target,
            "score": self.score,
            "rank_agreement": _finite(self.rank_agreement),
            "top_k": self.top_k,
            "top_overlap": _finite(self.top_overlap),
            "top_real": self.top_real,
            "top_synthetic": self.top_synthetic,
            "columns": {
                str(row["column"]): {
                    "real": _finite(row["real"]),
                    "synthetic": _finite(row["synthetic"]),
                    "real_rank": int(row["real_rank"]),
                    "synthetic_rank": int(row["synthetic_rank"]),
                }
                for row in self.table.to_dict("records")
            },
            "sentence": self.sentence,
        }


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _top(table: pd.DataFrame, side: str, k: int) -> list[str]:
    """The ``k`` leading drivers of one model (fewer when fewer columns weigh enough)."""
    ranked = table.sort_values(f"{side}_rank", kind="stable")
    values = ranked[side].to_numpy(dtype=float)
    spread = ranked[f"{side}_std"].to_numpy(dtype=float)
    largest = float(values.max()) if len(values) else 0.0
    drivers = ranked["column"][(values > 0) & (values >= DRIVER_SHARE * largest)
                               & (values > spread)]
    return [str(name) for name in drivers.head(k)]


_Predict = Callable[[Any, pd.DataFrame], np.ndarray]
_Metric = Callable[[np.ndarray, np.ndarray], float]


def _scorer(pair: ModelPair) -> tuple[str, _Predict, _Metric]:
    """The score whose drop measures importance: (name, model outputs, metric of them).

    Split in two so the outputs of many shuffled copies come from one prediction call.
    """
    from sklearn.metrics import balanced_accuracy_score, r2_score

    def predict(model: Any, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(x))

    if pair.task == "regression":
        return "r2", predict, lambda y, out: float(r2_score(y, out))
    if len(pair.classes) == 2 and len(np.unique(pair.truth)) == 2:
        def probability(model: Any, x: pd.DataFrame) -> np.ndarray:
            learned = list(model.classes_)
            if 1 not in learned:  # the model never saw the class: it gives it probability 0
                return np.zeros(len(x))
            return np.asarray(model.predict_proba(x))[:, learned.index(1)]

        return "roc_auc", probability, lambda y, out: _auc(y == 1, out)

    def balanced(y: np.ndarray, out: np.ndarray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class never predicted
            return float(balanced_accuracy_score(y, out))

    return "balanced_accuracy", predict, balanced


def _auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (scikit-learn's checks cost more than the sum here)."""
    from scipy.stats import rankdata

    hits = int(positive.sum())
    misses = len(positive) - hits
    ranks = rankdata(scores)  # ties share their mean rank, as in roc_auc_score
    return float((ranks[positive].sum() - hits * (hits + 1) / 2) / (hits * misses))


def permutation_importance(
    model: Any, features: pd.DataFrame, truth: np.ndarray, predict: _Predict,
    metric: _Metric, *, n_repeats: int, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the score drop when each column is shuffled.

    The same numbers as :func:`sklearn.inspection.permutation_importance` with
    ``random_state=seed`` (the same shuffles, drawn the same way; ``tests/test_importance.py``
    checks it), but the ``n_repeats`` shuffled copies of a column are predicted in one call:
    a pipeline's fixed cost per call, not its rows, dominates on a few hundred rows, so this
    is several times faster.
    """
    from sklearn.utils import check_random_state

    column_seed = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    baseline = metric(truth, predict(model, features))
    rows = len(features)
    stacked = pd.concat([features] * n_repeats, ignore_index=True)
    means, spreads = [], []
    for name in features.columns:
        random_state = check_random_state(column_seed)  # scikit-learn: one seed per column
        order = np.arange(rows)
        current = features[name].to_numpy()
        copies = []
        for _ in range(n_repeats):
            random_state.shuffle(order)  # in place, so each shuffle builds on the last
            current = current[order]
            copies.append(current)
        shuffled = stacked.copy()
        shuffled[name] = np.concatenate(copies)
        outputs = predict(model, shuffled)
        drops = np.array([baseline - metric(truth, outputs[r * rows:(r + 1) * rows])
                          for r in range(n_repeats)])
        means.append(drops.mean())
        spreads.append(drops.std())
    return np.asarray(means, dtype=float), np.asarray(spreads, dtype=float)


def _importances(model: Any, pair: ModelPair, features: pd.DataFrame, truth: np.ndarray,
                 scorer: tuple[str, _Predict, _Metric], constant: bool, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the score drop per column (zeros for a constant)."""
    if constant:  # a model that always answers the same reads no column
        zeros = np.zeros(len(pair.feature_columns))
        return zeros, zeros
    with warnings.catch_warnings(), single_threaded_native_code():
        warnings.simplefilter("ignore")
        return permutation_importance(model, features, truth, scorer[1], scorer[2],
                                      n_repeats=N_REPEATS, seed=seed)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 = largest; ties share the best rank."""
    return pd.Series(-values).rank(method="min").to_numpy(dtype=int)


def _spearman(real: np.ndarray, synthetic: np.ndarray) -> float:
    if len(real) < 3 or np.ptp(real) == 0 or np.ptp(synthetic) == 0:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(real, synthetic).statistic)


def _names(columns: list[str]) -> str:
    return ", ".join(columns)


def _count(columns: list[str]) -> str:
    return "driver is" if len(columns) == 1 else f"{len(columns)} drivers are"


def _sentence(table: pd.DataFrame, agreement: float, top_k: int, constant: bool,
              score: str) -> str:
    top_real = _top(table, "real", top_k)
    top_synth = _top(table, "synthetic", top_k)
    if not top_real:
        return (
            "The model trained on real data relies on no column (shuffling any of them does "
            "not lower its score), so there are no drivers to compare."
        )
    if constant:
        return (
            "The model trained on synthetic data always predicts the same value, so it "
            f"relies on no column; real data's top drivers are {_names(top_real)}."
        )
    agreement_text = "" if math.isnan(agreement) else f" (rank agreement {agreement:.2f})"
    # The real driver that lost the most weight, if it lost enough to matter.
    drops = (table["real"] - table["synthetic"]).to_numpy(dtype=float)
    lost_row = table.iloc[int(np.argmax(drops))]
    lost = ""
    if (float(np.max(drops)) >= LOST_DRIVER_DROP and str(lost_row["column"]) in top_real
            and lost_row["synthetic"] < LOST_DRIVER_SHARE * lost_row["real"]):
        lost = (f"'{lost_row['column']}' matters much less to it (importance "
                f"{lost_row['synthetic']:.2f} vs {lost_row['real']:.2f} {_SCORE_WORDS[score]})")
    if set(top_real) == set(top_synth):
        count = len(top_real)
        same = "the same top driver" if count == 1 else f"the same top {count} drivers"
        if lost:
            return (f"The model trained on synthetic data leans on the same top columns, "
                    f"{_names(top_real)}{agreement_text}, but {lost}.")
        return (f"The synthetic data teaches {same} as real data: "
                f"{_names(top_real)}{agreement_text}.")
    shared = [name for name in top_real if name in top_synth]
    if (not lost and top_real[0] in top_synth and len(shared) >= 2
            and len(shared) >= len(top_real) - 1):  # only the weakest driver differs
        only_real = [name for name in top_real if name not in shared]
        only_synth = [name for name in top_synth if name not in shared]
        return (
            f"The synthetic data teaches mostly the same drivers as real data"
            f"{agreement_text}: {_names(shared)} lead in both; real data's next is "
            f"{_names(only_real) or 'none'}, the synthetic data's "
            f"{_names(only_synth) or 'none'}."
        )
    if not top_synth:
        theirs = "the model trained on synthetic data relies on no column"
    else:
        theirs = f"the synthetic data's {'is' if len(top_synth) == 1 else 'are'} " + _names(
            top_synth)
    sentence = (
        f"The synthetic data teaches different drivers{agreement_text}: real data's top "
        f"{_count(top_real)} {_names(top_real)}; {theirs}."
    )
    if lost:
        sentence += f" {lost.replace('to it', 'to the model trained on synthetic data')}."
    return sentence


_SCORE_WORDS = {
    "roc_auc": "ROC-AUC points", "balanced_accuracy": "balanced-accuracy points",
    "r2": "R² points",
}


def importance_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> ImportanceResult:
    """Permutation importance of the models trained on real vs on synthetic rows.

    Args:
        real_train: The real rows the synthesizer trained on (prepared frame).
        holdout: Held-out real rows (never seen by the synthesizer).
        synthetic: Generated rows.
        schema: The reviewed schema; the features are the other modelled columns.
        target: Column the models predict.
        seed: Seed of the samples, the models and the shuffles.
        progress: Called with (fraction, message).

    Returns:
        See :class:`ImportanceResult`.

    Raises:
        EvaluationError: No target, a one-class or empty target, too few held-out rows.
    """
    report = progress or null_progress
    report(0.0, "Training models on real and synthetic rows…")
    pair = fit_model_pair(real_train, holdout, synthetic, schema, target, seed=seed,
                          max_train_rows=MAX_TRAIN_ROWS, max_test_rows=_MAX_HOLDOUT_ROWS)
    columns = list(pair.feature_columns)
    budget_rows = PERMUTED_ROW_BUDGET // max(1, len(columns) * N_REPEATS)
    keep = min(MAX_IMPORTANCE_ROWS, max(MIN_IMPORTANCE_ROWS, budget_rows))
    # The pair's note on sampling held-out rows gives way to the one below.
    notes = [note for note in pair.notes if "held-out rows" not in note or "sample" not in note]
    features, truth = pair.features, pair.truth
    if keep < len(features):
        # Text labels: sample_rows fills missing labels, which warns on integer codes.
        classes = (pd.Series(truth.astype(str), dtype=object)
                   if pair.task == "classification" else None)
        per_class = min(MIN_ROWS_PER_CLASS, keep // max(1, len(pair.classes)))
        chosen = sample_rows(pd.DataFrame({"position": np.arange(len(features))}), keep,
                             seed + 3, classes, per_class)["position"].to_numpy()
        notes.append(f"Importance was measured on a seeded sample of {len(chosen):,} of "
                     f"{len(holdout):,} held-out rows ({len(columns)} columns × {N_REPEATS} "
                     "shuffles each; every class keeps up to "
                     f"{MIN_ROWS_PER_CLASS} rows).")
        features, truth = features.iloc[chosen].reset_index(drop=True), truth[chosen]
    scorer = _scorer(pair)
    score_name = scorer[0]
    report(0.3, "Shuffling columns for the model trained on real rows…")
    real_mean, real_std = _importances(pair.real_model, pair, features, truth, scorer,
                                       False, seed)
    report(0.65, "Shuffling columns for the model trained on synthetic rows…")
    synth_mean, synth_std = _importances(pair.synthetic_model, pair, features, truth,
                                         scorer, pair.synthetic_constant, seed)
    table = pd.DataFrame({
        "column": columns, "real": real_mean, "synthetic": synth_mean,
        "real_std": real_std, "synthetic_std": synth_std,
        "real_rank": _ranks(real_mean), "synthetic_rank": _ranks(synth_mean),
    }).sort_values(["real_rank", "synthetic_rank"], kind="stable").reset_index(drop=True)
    agreement = _spearman(real_mean, synth_mean)
    top_k = min(TOP_K, len(columns))
    top_real, top_synth = _top(table, "real", top_k), _top(table, "synthetic", top_k)
    overlap = len(set(top_real) & set(top_synth)) / max(1, len(top_real))
    sentence = _sentence(table, agreement, top_k, pair.synthetic_constant, score_name)
    report(1.0, "Importance done.")
    return ImportanceResult(
        target=pair.target, task=pair.task, score=score_name, table=table,
        rank_agreement=agreement, top_k=top_k, top_overlap=overlap, sentence=sentence,
        rows={**pair.rows, "holdout": len(features)}, notes=tuple(notes),
    )


def importance_figure(result: ImportanceResult) -> go.Figure:
    """Side-by-side bars: each column's importance for the real and the synthetic model."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    table = result.table.iloc[::-1]  # most important at the top of a horizontal chart
    figure = go.Figure()
    for side, name, colour in (("real", "Trained on real data", REAL_COLOUR),
                               ("synthetic", "Trained on synthetic data", SYNTHETIC_COLOUR)):
        figure.add_bar(
            y=list(table["column"]), x=list(table[side].astype(float)),
            error_x={"type": "data", "array": list(table[f"{side}_std"].astype(float)),
                     "thickness": 1},
            orientation="h", name=name, marker_color=colour,
            hovertemplate="%{y}: %{x:.3f}<extra>" + name + "</extra>",
        )
    agreement = ("not measurable" if math.isnan(result.rank_agreement)
                 else f"{result.rank_agreement:.2f}")
    figure.update_layout(
        barmode="group", height=max(260, 60 + 44 * len(table)),
        title={"text": f"What drives predictions of '{result.target}' "
                       f"(rank agreement {agreement})"},
        xaxis_title=f"Drop in {_SCORE_WORDS[result.score].removesuffix(' points')} "
                    "when the column is shuffled",
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "center",
                "x": 0.5},
    )
    return figure
