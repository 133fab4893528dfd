"""Evaluation library: known answers for fidelity, utility, privacy and the verdict.

Every test builds small tables (≤ 3,000 rows) whose right answer is known: a copy of the
training rows, columns shuffled independently, a "synthesizer" that drops the minority
class, independent draws from the same distribution.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.data.splitting import SplitSpec, split_real
from core.errors import EvaluationError
from core.evaluation import (
    EvaluationResult,
    column_score,
    column_scores,
    correlation_heatmaps,
    correlation_matrices,
    dcr_figure,
    detect_task,
    distribution_figure,
    evaluate_all,
    make_verdict,
    privacy_scores,
    quality_and_diagnostic,
    score_gauge,
    utility_figure,
    utility_scores,
)

SDTYPES = {
    "x": "numerical",
    "y": "numerical",
    "z": "numerical",
    "segment": "categorical",
    "flag": "boolean",
    "joined": "datetime",
    "label": "categorical",
}


def make_frame(n: int = 3000, seed: int = 1, minority: float = 0.05) -> pd.DataFrame:
    """A table with a planted x–y correlation (0.9) and a learnable rare class in `label`.

    Also holds an id and a faked e-mail column, which the evaluation must leave out.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.9 * x + math.sqrt(1 - 0.81) * rng.normal(size=n)
    z = rng.gamma(2.0, 1.0, n)
    segment = np.where(x + rng.normal(size=n) > 0.8, "high", rng.choice(["low", "mid"], n))
    score = x + 0.5 * z + 0.3 * rng.normal(size=n)
    # A fixed threshold (the population's 1 - minority quantile) keeps the rare share stable.
    reference = np.random.default_rng(12345)
    population = reference.normal(size=200_000) + 0.5 * reference.gamma(2.0, 1.0, 200_000)
    threshold = np.quantile(population + 0.3 * reference.normal(size=200_000), 1 - minority)
    return pd.DataFrame(
        {
            "row_id": np.arange(n) + 10 * seed * n,
            "x": x,
            "y": y,
            "z": z,
            "segment": segment.astype(object),
            "flag": rng.random(n) < 0.3,
            "joined": pd.Timestamp("2021-01-01")
            + pd.to_timedelta(rng.integers(0, 730, n), unit="D"),
            "email": [f"user{seed}_{i}@example.com" for i in range(n)],
            "label": np.where(score > threshold, "yes", "no").astype(object),
        }
    )


def make_schema(sdtypes: dict[str, str] | None = None) -> TableSchema:
    """The schema of :func:`make_frame` (an id and a faked e-mail that are not evaluated)."""
    columns = [ColumnSchema("row_id", "id")]
    columns += [ColumnSchema(name, sdtype) for name, sdtype in (sdtypes or SDTYPES).items()]
    columns.append(ColumnSchema("email", "email", pii=True, action="fake"))
    return TableSchema(columns=tuple(columns), primary_key="row_id")


def split(frame: pd.DataFrame, target: str | None = "label") -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_real(frame, SplitSpec(test_size=0.3, seed=0, target=target))


def shuffled_columns(frame: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """Every column permuted on its own: same marginals, no relations left."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {name: frame[name].to_numpy()[rng.permutation(len(frame))] for name in frame.columns}
    )


@pytest.fixture(scope="module")
def schema() -> TableSchema:
    return make_schema()


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(make_frame(3000, seed=1))


@pytest.fixture(scope="module")
def copied_result(real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema) -> EvaluationResult:
    """evaluate_all where the "synthetic" rows are a copy of the training rows."""
    train, holdout = real
    return evaluate_all(train, holdout, train.copy(), schema, "label", seed=0)


# --------------------------------------------------------------------------- fidelity


def test_copy_of_training_rows_scores_perfect_fidelity(copied_result: EvaluationResult) -> None:
    assert {s.column for s in copied_result.columns} == set(SDTYPES)
    assert all(s.score == pytest.approx(1.0) for s in copied_result.columns)
    assert copied_result.correlation.pair_score == pytest.approx(1.0)
    assert float(copied_result.correlation.difference.to_numpy().max()) == pytest.approx(0.0)
    assert copied_result.quality.quality_score == pytest.approx(1.0, abs=1e-6)
    assert copied_result.quality.diagnostic_score == pytest.approx(1.0)
    assert copied_result.verdict.fidelity.level == "good"


def test_excluded_columns_are_named_with_a_reason(copied_result: EvaluationResult) -> None:
    assert set(copied_result.excluded_columns) == {"row_id", "email"}
    assert "fake" in copied_result.excluded_columns["email"]
    assert "row_id" not in copied_result.evaluated_columns


def test_column_scores_match_sdmetrics_with_nans_and_unseen_categories(
    schema: TableSchema,
) -> None:
    from sdmetrics.single_column import KSComplement, TVComplement

    real = make_frame(1500, seed=1)
    synthetic = make_frame(1200, seed=2)
    rng = np.random.default_rng(0)
    for frame in (real, synthetic):
        frame.loc[rng.random(len(frame)) < 0.1, "x"] = np.nan
        frame.loc[rng.random(len(frame)) < 0.05, "segment"] = None
        frame.loc[rng.random(len(frame)) < 0.05, "joined"] = pd.NaT
    synthetic.loc[:40, "segment"] = "never-seen"
    synthetic["z"] = synthetic["z"] * 1.3 + 0.2

    scores = {s.column: s for s in column_scores(real, synthetic, schema)}
    for name, sdtype in SDTYPES.items():
        metric = KSComplement if sdtype in ("numerical", "datetime") else TVComplement
        expected = metric.compute(real[name], synthetic[name])
        assert scores[name].metric == metric.__name__
        assert scores[name].score == pytest.approx(expected, abs=1e-6), name
    assert scores["z"].score < 0.9
    assert "absent from the real data" in scores["segment"].explanation
    ordered = [s.score for s in column_scores(real, synthetic, schema)]
    assert ordered == sorted(ordered)


def test_column_score_edge_cases() -> None:
    empty = pd.Series([np.nan] * 5, name="a")
    values = pd.Series([1.0, 2.0, 3.0], name="a")
    assert column_score(values, empty, "numerical").score == 0.0
    assert math.isnan(column_score(empty, empty, "numerical").score)
    labels = pd.Series(["a", "b"], name="c")
    assert column_score(labels, pd.Series(["z", "z"]), "categorical").score == pytest.approx(0.0)


def test_shuffled_columns_keep_shapes_but_lose_the_planted_correlation(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, _ = real
    synthetic = shuffled_columns(train)
    scores = column_scores(train, synthetic, schema)
    assert min(s.score for s in scores) > 0.99

    copied = correlation_matrices(train, train.copy(), schema)
    result = correlation_matrices(train, synthetic, schema)
    assert result.real.loc["x", "y"] > 0.85
    assert abs(result.synthetic.loc["x", "y"]) < 0.1
    assert result.difference.loc["x", "y"] > 0.75
    worst = {frozenset(pair) for pair in result.worst_pairs[["column_1", "column_2"]].to_numpy()}
    assert frozenset({"x", "y"}) in worst
    assert frozenset({"x", "segment"}) in worst  # the planted number–category relation
    assert result.pair_score < copied.pair_score - 0.05
    assert result.related_pair_score is not None and result.related_pair_score < 0.75

    quality = quality_and_diagnostic(train, synthetic, schema)
    trends = quality.quality_properties.set_index("Property")["Score"]["Column Pair Trends"]
    assert trends < 0.9  # 1.0 for a copy; SDMetrics counts the clearly related pairs only
    assert quality.quality_score < 0.95


def test_correlation_measures_and_ranges(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, _ = real
    result = correlation_matrices(train, make_frame(2000, seed=5), schema, method="pearson")
    matrix = result.real
    assert list(matrix.columns) == list(SDTYPES)
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T, equal_nan=True)
    assert np.allclose(np.diag(matrix.to_numpy()), 1.0)
    measures = result.pairs.set_index(["column_1", "column_2"])["measure"]
    assert measures[("x", "y")] == "pearson"
    assert measures[("x", "segment")] == "correlation_ratio"
    assert measures[("segment", "flag")] == "cramers_v"
    associations = result.pairs[result.pairs["measure"] != "pearson"]
    assert associations[["real", "synthetic"]].min().min() >= 0.0
    assert result.real.loc["x", "y"] == pytest.approx(np.corrcoef(train["x"], train["y"])[0, 1])
    # segment is planted on x: a clear association; flag is independent of everything.
    assert result.real.loc["x", "segment"] > 0.3
    assert result.real.loc["segment", "flag"] < 0.1
    with pytest.raises(EvaluationError):
        correlation_matrices(train, train, schema, method="kendall")  # type: ignore[arg-type]


def test_quality_is_subsampled_and_says_so(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, _ = real
    result = quality_and_diagnostic(train, make_frame(2500, seed=4), schema, max_rows=500)
    assert result.sampled and result.real_rows_used == 500
    assert "500-row sample" in result.sample_note
    assert set(result.quality_properties["Property"]) == {"Column Shapes", "Column Pair Trends"}
    assert {"Data Validity", "Data Structure"} <= set(result.diagnostic_properties["Property"])
    figure = result.figure("Column Shapes")
    assert isinstance(figure, go.Figure)
    assert "Column Shapes" in result.figures()


# --------------------------------------------------------------------------- utility


def test_dropping_the_minority_class_halves_macro_f1_but_not_accuracy(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, holdout = real
    assert 0.03 < (train["label"] == "yes").mean() < 0.08
    majority_only = train[train["label"] == "no"].reset_index(drop=True)
    result = utility_scores(train, holdout, majority_only, schema, "label", seed=0)

    assert result.task == "classification" and result.metric == "macro_f1"
    assert result.real > 0.75, "the rare class must be learnable from real rows"
    assert result.informative and result.baseline == pytest.approx(0.49, abs=0.02)
    assert result.ratio is not None and result.ratio < 0.75
    accuracy = result.table[result.table["metric"] == "accuracy"]
    assert accuracy["tstr"].mean() / accuracy["trtr"].mean() > 0.9
    auc = result.table[result.table["metric"] == "roc_auc"]
    assert auc["tstr"].to_numpy() == pytest.approx(0.5)  # a constant score ranks nothing
    assert any("single class" in note for note in result.notes)
    assert "accuracy hides" in result.explanation

    forced = utility_scores(train, holdout, train.assign(label="no"), schema, "label")
    assert forced.ratio is not None and forced.ratio < 0.75


def test_a_synthetic_rare_class_with_one_row_is_scored_not_a_crash(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    # A weak synthesizer can produce a single row of the rare class; gradient boosting's
    # stratified early-stopping split cannot hold out from a class of one.
    train, holdout = real
    majority = train[train["label"] == "no"]
    one_rare = pd.concat([majority, train[train["label"] == "yes"].head(1)], ignore_index=True)
    result = utility_scores(train, holdout, one_rare, schema, "label", seed=0)
    assert result.ratio is not None and 0 < result.ratio < 0.9
    assert set(result.per_model) == {"Logistic regression", "Random forest", "Gradient boosting"}


def test_faithful_synthetic_data_keeps_utility(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, holdout = real
    result = utility_scores(train, holdout, make_frame(2100, seed=7), schema, "label", seed=0)
    assert result.ratio is not None and result.ratio > 0.85
    assert set(result.per_model) == {"Logistic regression", "Random forest", "Gradient boosting"}
    assert set(result.table.columns) >= {"model", "metric", "trtr", "tstr", "ratio"}
    assert set(result.table["metric"]) == {"macro_f1", "balanced_accuracy", "roc_auc", "accuracy"}
    assert result.rows["holdout"] == len(holdout)


def test_regression_target_and_r2_guard(schema: TableSchema) -> None:
    train, holdout = split(make_frame(1500, seed=2), None)
    result = utility_scores(train, holdout, make_frame(1000, seed=8), schema, "y")
    assert result.task == "regression" and result.metric == "r2"
    assert set(result.table["metric"]) == {"r2", "mae"}
    assert result.real > 0.6 and result.ratio is not None and result.ratio > 0.8

    noise = {"z": "numerical", "segment": "categorical", "flag": "boolean", "noise": "numerical"}
    rng = np.random.default_rng(0)
    frames = [pd.DataFrame({"noise": rng.normal(size=len(f))}).join(f[["z", "segment", "flag"]])
              for f in (train, holdout)]
    unpredictable = utility_scores(frames[0], frames[1], frames[0], make_schema(noise), "noise")
    assert unpredictable.ratio is None and not unpredictable.informative
    assert "not measurable" in unpredictable.explanation


def test_multiclass_target_with_a_class_missing_from_synthetic(schema: TableSchema) -> None:
    frame = make_frame(1200, seed=3)
    train, holdout = split(frame, "segment")
    synthetic = train[train["segment"] != "mid"].reset_index(drop=True)
    result = utility_scores(train, holdout, synthetic, schema, "segment")
    assert result.classes == ("high", "low", "mid")
    assert "roc_auc" not in set(result.table["metric"])
    assert any("lacks class" in note for note in result.notes)


def test_utility_errors_are_actionable(
    real: tuple[pd.DataFrame, pd.DataFrame], schema: TableSchema
) -> None:
    train, holdout = real
    with pytest.raises(EvaluationError, match="only one value.*pick another target"):
        utility_scores(train.assign(label="no"), holdout, train, schema, "label")
    empty = train.assign(label=None)
    with pytest.raises(EvaluationError, match="empty"):
        utility_scores(empty, holdout, train, schema, "label")
    with pytest.raises(EvaluationError, match="not a column the synthesizer learns"):
        utility_scores(train, holdout, train, schema, "email")
    with pytest.raises(EvaluationError, match="not in the data"):
        utility_scores(train, holdout, train, schema, "nope")
    few = train.copy()
    few["label"] = "no"
    few.loc[:2, "label"] = "yes"  # 3 rows of the rare class: too few to learn
    with pytest.raises(EvaluationError, match="too few rows"):
        utility_scores(few, holdout, train, schema, "label")


def test_missing_target_values_are_dropped_with_a_note(schema: TableSchema) -> None:
    train, holdout = split(make_frame(1000, seed=4, minority=0.2))
    holed = train.copy()
    holed.loc[:99, "label"] = None
    result = utility_scores(holed, holdout, train, schema, "label")
    assert any("100 real training rows with no target value" in n for n in result.notes)
    assert result.rows["real_train"] == len(train) - 100


def test_detect_task() -> None:
    assert detect_task(pd.Series(["a", "b"])) == "classification"
    assert detect_task(pd.Series([True, False])) == "classification"
    assert detect_task(pd.Series([1, 2, 3, 1, 2])) == "classification"
    assert detect_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert detect_task(pd.Series([1, 2, 3]), sdtype="numerical") == "regression"
    assert detect_task(pd.Series([1.5, 2.5]), sdtype="categorical") == "classification"


# --------------------------------------------------------------------------- privacy


def test_copy_of_training_rows_is_flagged_by_privacy(copied_result: EvaluationResult) -> None:
    privacy = copied_result.privacy
    assert privacy.exact_match_rate == 1.0
    assert privacy.holdout_exact_match_rate == 0.0
    assert np.all(privacy.dcr_synthetic == 0.0)
    assert privacy.dcr_holdout.min() > 0.0
    assert privacy.dcr_share == pytest.approx(1.0)
    assert privacy.nndr_median == pytest.approx(0.0)
    assert copied_result.verdict.privacy.level == "poor"
    assert "copy a training row" in copied_result.verdict.privacy.reason


def test_independent_draws_look_private(schema: TableSchema) -> None:
    train = make_frame(2000, seed=11)
    holdout = make_frame(1000, seed=12)
    synthetic = make_frame(2000, seed=13)
    result = privacy_scores(train, holdout, synthetic, schema, seed=0)
    assert result.exact_match_rate == 0.0
    assert result.dcr_share_chance == pytest.approx(2000 / 3000)
    assert 0.4 <= result.dcr_share <= 0.6
    assert result.dcr_share_raw == pytest.approx(2 / 3, abs=0.07)
    assert result.rows["synthetic"] == len(result.dcr_synthetic) == 1000
    assert len(result.dcr_holdout) == 1000
    assert 0.3 < result.nndr_median < 1.0
    assert np.median(result.dcr_synthetic) == pytest.approx(np.median(result.dcr_holdout), rel=0.2)
    assert set(result.explanations) == {"exact_match", "dcr", "dcr_share", "nndr"}

    equal = privacy_scores(train.iloc[:1000], holdout, synthetic, schema)
    assert equal.dcr_share_chance == pytest.approx(0.5)
    assert equal.dcr_share == pytest.approx(equal.dcr_share_raw)
    assert 0.4 <= equal.dcr_share <= 0.6


def test_privacy_survives_nans_unseen_values_and_dtype_changes(schema: TableSchema) -> None:
    train = make_frame(800, seed=1)
    holdout = make_frame(400, seed=2)
    synthetic = train.copy()
    synthetic["x"] = synthetic["x"].astype(object)  # same values, another dtype
    synthetic["flag"] = synthetic["flag"].astype("boolean")
    result = privacy_scores(train, holdout, synthetic, schema)
    assert result.exact_match_rate == 1.0

    synthetic.loc[:99, "segment"] = "never-seen"
    synthetic.loc[100:199, "y"] = np.nan
    synthetic.loc[200:299, "joined"] = pd.NaT
    changed = privacy_scores(train, holdout, synthetic, schema)
    assert changed.exact_match_rate == pytest.approx(1 - 300 / 800)
    assert np.isfinite(changed.dcr_synthetic).all()


def test_privacy_needs_held_out_rows(schema: TableSchema) -> None:
    train = make_frame(300, seed=1)
    with pytest.raises(EvaluationError, match="held-out"):
        privacy_scores(train, train.iloc[:0], train, schema)


def test_nearest_neighbours_are_exact() -> None:
    from sklearn.neighbors import NearestNeighbors

    from core.evaluation.privacy import _nearest

    rng = np.random.default_rng(0)
    reference = rng.random((20_000, 7)).astype(np.float32)
    queries = np.vstack([reference[:5], rng.random((600, 7)).astype(np.float32)])
    expected, _ = NearestNeighbors(n_neighbors=2).fit(reference).kneighbors(queries)
    found = _nearest(reference, queries, 2)
    assert np.allclose(found, expected, atol=1e-5)
    assert np.all(found[:5, 0] == 0.0)


# --------------------------------------------------------------------------- verdict & all


def _quality(score: float) -> SimpleNamespace:
    return SimpleNamespace(
        quality_score=score,
        quality_properties=pd.DataFrame(
            {"Property": ["Column Shapes", "Column Pair Trends"], "Score": [score, score]}
        ),
    )


def _privacy(exact: float, share: float, baseline: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(exact_match_rate=exact, holdout_exact_match_rate=baseline,
                           dcr_share=share)


def test_verdict_thresholds() -> None:
    utility = SimpleNamespace(ratio=0.95, metric="macro_f1", target="t", real=0.8, synthetic=0.76,
                              informative=True)
    good = make_verdict(_quality(0.9), utility, _privacy(0.0, 0.52))  # type: ignore[arg-type]
    assert [r.level for r in good.readings] == ["good", "good", "good"]
    assert good.headline.startswith("Looks good")

    fair = make_verdict(
        _quality(0.75), SimpleNamespace(**{**vars(utility), "ratio": 0.8}),  # type: ignore[arg-type]
        _privacy(0.03, 0.65),  # type: ignore[arg-type]
    )
    assert [r.level for r in fair.readings] == ["fair", "fair", "fair"]
    assert fair.headline.startswith("Usable with care")

    poor = make_verdict(_quality(0.5), None, _privacy(0.2, 0.9))  # type: ignore[arg-type]
    assert poor.fidelity.level == "poor" and poor.privacy.level == "poor"
    assert poor.utility.level == "not measured" and "no target" in poor.utility.reason
    assert poor.headline == (
        "Not ready to share: fidelity and privacy are poor; utility not measured."
    )

    natural = make_verdict(_quality(0.9), None, _privacy(0.40, 0.5, baseline=0.395))  # type: ignore[arg-type]
    assert natural.privacy.level == "good"  # matches no more often than never-seen rows do


def test_evaluate_all_without_target_reports_progress_and_timings(schema: TableSchema) -> None:
    train, holdout = split(make_frame(1200, seed=21), None)
    synthetic = make_frame(900, seed=22)
    calls: list[tuple[float, str]] = []
    result = evaluate_all(train, holdout, synthetic, schema, None,
                          progress=lambda f, m: calls.append((f, m)))
    assert result.utility is None
    assert result.verdict.utility.level == "not measured"
    assert set(result.timings) == {"columns", "correlations", "quality", "ceiling", "utility",
                                   "fairness", "importance", "privacy", "attacks", "total"}
    # Without a target no model is trained: fairness and drivers say so instead of a number.
    assert result.fairness is None and result.importance is None
    assert "no target" in result.skipped["fairness"] and "no target" in result.skipped["importance"]
    assert result.attacks is not None and result.ceiling is not None
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert len(result.real_sample) == len(train)


def test_evaluate_all_keeps_going_when_utility_cannot_be_measured(schema: TableSchema) -> None:
    train, holdout = split(make_frame(600, seed=31), None)
    result = evaluate_all(train.assign(label="no"), holdout, train, schema, "label")
    assert result.utility is None
    assert result.utility_reason is not None and "only one value" in result.utility_reason
    assert result.verdict.utility.level == "not measured"


def test_repeated_index_labels_are_fine(schema: TableSchema) -> None:
    train, holdout = split(make_frame(800, seed=51, minority=0.2))
    synthetic = make_frame(600, seed=52, minority=0.2)
    train, holdout, synthetic = (frame.set_axis(np.zeros(len(frame), dtype=int))
                                 for frame in (train, holdout, synthetic))
    result = evaluate_all(train, holdout, synthetic, schema, "label")
    assert result.utility is not None and result.utility.rows["real_train"] == len(train)
    assert result.quality.quality_score > 0.8


def test_evaluate_all_rejects_missing_columns(schema: TableSchema) -> None:
    train, holdout = split(make_frame(300, seed=41), None)
    with pytest.raises(EvaluationError, match="lacks the column"):
        evaluate_all(train, holdout, train.drop(columns=["z"]), schema, None)


# --------------------------------------------------------------------------- charts


def test_distribution_figures_put_real_and_synthetic_on_one_chart(
    real: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = real
    synthetic = make_frame(1000, seed=9)
    synthetic.loc[:10, "segment"] = "never-seen"
    for name, sdtype in SDTYPES.items():
        figure = distribution_figure(train, synthetic, name, sdtype)
        assert [trace.name for trace in figure.data] == ["Real", "Synthetic"], name
        assert name in figure.layout.title.text and "column score" in figure.layout.title.text
    numbers = distribution_figure(train, synthetic, "x", "numerical", score=0.5)
    assert "50%" in numbers.layout.title.text
    assert list(numbers.data[0].x) == list(numbers.data[1].x)  # shared bins
    assert sum(numbers.data[0].y) == pytest.approx(1.0)
    categories = distribution_figure(train, synthetic, "segment", "categorical")
    assert "never-seen" in list(categories.data[1].x)


def test_result_figures(copied_result: EvaluationResult) -> None:
    heatmaps = correlation_heatmaps(copied_result.correlation)
    assert len(heatmaps.data) == 3
    assert {trace.coloraxis for trace in heatmaps.data} == {"coloraxis"}  # one shared scale
    assert copied_result.utility is not None
    bars = utility_figure(copied_result.utility)
    assert {trace.name for trace in bars.data} == {"Trained on real", "Trained on synthetic"}
    assert len(dcr_figure(copied_result.privacy).data) == 2
    assert isinstance(score_gauge(0.8, "Quality"), go.Figure)
    assert isinstance(copied_result.column_figure("x"), go.Figure)


def test_a_table_of_repeated_rows_never_gets_a_good_privacy_verdict(schema: TableSchema) -> None:
    few = make_frame(6, seed=21)
    rows = few.iloc[np.arange(3000) % len(few)].reset_index(drop=True)
    train, holdout = split(rows)
    synthetic = rows.sample(2000, random_state=3).reset_index(drop=True)
    result = evaluate_all(train, holdout, synthetic, schema, "label", seed=0)
    assert result.privacy.holdout_exact_match_rate == 1.0
    assert result.verdict.privacy.level != "good"
    assert "mostly repeated rows" in result.verdict.privacy.reason


def test_a_synthesizer_that_copies_its_training_rows_fails_every_attack_and_the_verdict(
        schema: TableSchema) -> None:
    train = make_frame(900, seed=21)
    holdout = make_frame(400, seed=22)
    copied = evaluate_all(train, holdout, train.sample(frac=1.0, random_state=1), schema,
                          "label", seed=0)
    fresh = evaluate_all(train, holdout, make_frame(900, seed=23), schema, "label", seed=0)
    for copy_risk, fresh_risk in zip(copied.attacks.risks, fresh.attacks.risks, strict=True):
        assert copy_risk.ci[0] > fresh_risk.ci[1], copy_risk.name  # clearly apart
    assert copied.verdict.privacy.level == "poor"
    assert fresh.verdict.privacy.level in ("good", "fair")
    assert copied.verdict.headline.startswith("Not ready to share")
