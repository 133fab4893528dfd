"""Evaluation figures (plotly only; real in ``REAL_COLOUR``, synthetic in ``SYNTHETIC_COLOUR``).

Histograms are binned here and drawn as bars, so a figure carries a few dozen numbers
rather than every row: the HTML report stays small and renders offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR
from core.evaluation import glossary
from core.evaluation._common import as_labels, as_numeric, is_continuous
from core.evaluation.thresholds import FIDELITY_FAIR, FIDELITY_GOOD, fidelity_level

if TYPE_CHECKING:
    from core.evaluation.fidelity import CorrelationResult
    from core.evaluation.privacy import PrivacyResult
    from core.evaluation.utility import UtilityResult

__all__ = [
    "correlation_heatmaps",
    "LEVEL_COLOURS",
    "dcr_figure",
    "distribution_figure",
    "quality_property_figure",
    "score_gauge",
    "utility_figure",
]

_BINS = 30
_TOP_CATEGORIES = 15
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 40, "r": 20, "t": 50, "b": 40},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
}
_METRIC_LABELS = {key: glossary.name(key) for key in
                  ("macro_f1", "balanced_accuracy", "roc_auc", "accuracy", "r2", "mae")}
#: A reading's colour on charts; the reading's word is always shown beside it (legend, hover).
LEVEL_COLOURS = {"good": "#2f9e44", "fair": "#f59f00", "poor": "#e03131",
                 "not measured": "#adb5bd"}
_NOT_COUNTED = "#ced4da"


def _shared_edges(real: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    both = np.concatenate([real, synthetic])
    low, high = np.quantile(both, [0.001, 0.999]) if len(both) > 1000 else (both.min(), both.max())
    low = min(low, np.min(real)) if len(real) else low  # never cut the real range
    high = max(high, np.max(real)) if len(real) else high
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, _BINS + 1)


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return counts / max(len(values), 1)


def distribution_figure(
    real: pd.DataFrame | pd.Series,
    synthetic: pd.DataFrame | pd.Series,
    column: str,
    sdtype: str,
    score: float | None = None,
) -> go.Figure:
    """Real vs synthetic distribution of one column on one chart.

    Numbers: overlaid histograms with shared bins (share of rows; values beyond the
    0.1–99.9% range of both sides fall into the edge bins). Dates: the same over time.
    Categories and booleans: grouped bars of each category's share (15 most frequent real
    categories, the rest pooled as "other").

    Args:
        real: Real rows (or the column itself).
        synthetic: Synthetic rows (or the column itself).
        column: Column to draw.
        sdtype: ``numerical``, ``datetime``, ``categorical`` or ``boolean``.
        score: The column's score for the title (computed when omitted).
    """
    real_column = real[column] if isinstance(real, pd.DataFrame) else real
    synthetic_column = synthetic[column] if isinstance(synthetic, pd.DataFrame) else synthetic
    if score is None:
        from core.evaluation.fidelity import column_score

        score = column_score(real_column.rename(column), synthetic_column, sdtype).score
    title = (f"{column} — {glossary.name('column_score').lower()} "
             f"{glossary.fmt('column_score', score)}" if score == score
             else f"{column} — no score")
    figure = go.Figure()
    if is_continuous(sdtype):
        real_values = as_numeric(real_column)
        synthetic_values = as_numeric(synthetic_column)
        real_values = real_values[np.isfinite(real_values)]
        synthetic_values = synthetic_values[np.isfinite(synthetic_values)]
        if len(real_values) + len(synthetic_values):
            edges = _shared_edges(real_values, synthetic_values)
            centres = (edges[:-1] + edges[1:]) / 2
            width = float(edges[1] - edges[0])
            x: np.ndarray | pd.DatetimeIndex = centres
            if sdtype == "datetime":
                x = pd.to_datetime(centres * 86_400, unit="s")
                width *= 86_400_000  # plotly date axes measure bar width in milliseconds
            for name, values, colour in (
                ("Real", real_values, REAL_COLOUR), ("Synthetic", synthetic_values,
                                                     SYNTHETIC_COLOUR),
            ):
                figure.add_bar(
                    x=x, y=_shares(values, edges), width=width, name=name,
                    marker_color=colour, opacity=0.55,
                )
        figure.update_layout(barmode="overlay", bargap=0)
    else:
        real_labels = as_labels(real_column).dropna()
        synthetic_labels = as_labels(synthetic_column).dropna()
        real_shares = real_labels.value_counts(normalize=True)
        synthetic_shares = synthetic_labels.value_counts(normalize=True)
        order = list(real_shares.index[:_TOP_CATEGORIES])
        extra = [v for v in synthetic_shares.index[:_TOP_CATEGORIES] if v not in order]
        order += extra[: max(0, _TOP_CATEGORIES + 3 - len(order))]
        real_values = [float(real_shares.get(v, 0.0)) for v in order]
        synthetic_values = [float(synthetic_shares.get(v, 0.0)) for v in order]
        labels = [v if len(v) <= 24 else v[:23] + "…" for v in order]
        real_other = 1.0 - sum(real_values) if len(real_labels) else 0.0
        synthetic_other = 1.0 - sum(synthetic_values) if len(synthetic_labels) else 0.0
        if max(real_other, synthetic_other) > 1e-9:
            labels.append("(other)")
            real_values.append(real_other)
            synthetic_values.append(synthetic_other)
        figure.add_bar(x=labels, y=real_values, name="Real", marker_color=REAL_COLOUR)
        figure.add_bar(x=labels, y=synthetic_values, name="Synthetic",
                       marker_color=SYNTHETIC_COLOUR)
        figure.update_layout(barmode="group")
    figure.update_layout(title={"text": title, "font": {"size": 15}}, height=320, **_LAYOUT)
    figure.update_yaxes(title_text="share of rows", tickformat=".0%")
    return figure


def correlation_heatmaps(result: CorrelationResult) -> go.Figure:
    """Real, synthetic and |difference| heatmaps side by side with one colour scale.

    The scale runs from −1 to 1 (blue–white–red): correlations use all of it,
    associations and the difference the white-to-red half (a difference above 1 shows as
    the darkest red).
    """
    columns = [c if len(c) <= 20 else c[:19] + "…" for c in result.columns]
    titles = (
        f"Real ({glossary.measure_label(result.method)} / association)",
        "Synthetic",
        "Gap (real vs synthetic)",
    )
    figure = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    for index, matrix in enumerate((result.real, result.synthetic, result.difference), 1):
        values = matrix.to_numpy(dtype=float)
        figure.add_trace(
            go.Heatmap(
                z=np.round(values, 3), x=columns, y=columns, coloraxis="coloraxis",
                hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>",
            ),
            row=1, col=index,
        )
        figure.update_yaxes(autorange="reversed", row=1, col=index,
                            showticklabels=index == 1)
    size = max(360, min(700, 28 * len(columns) + 160))
    figure.update_layout(
        coloraxis={"colorscale": "RdBu_r", "cmin": -1, "cmax": 1,
                   "colorbar": {"title": {"text": "value"}}},
        height=size,
        title={"text": "Column relations — " + glossary.name("pair_score").lower() + " "
               + glossary.fmt("pair_score", result.pair_score)},
        template="plotly_white", margin={"l": 40, "r": 20, "t": 80, "b": 40},
    )
    return figure


def utility_figure(result: UtilityResult) -> go.Figure:
    """TRTR vs TSTR bars for every model, one panel per metric."""
    metrics = list(dict.fromkeys(result.table["metric"]))
    titles = [_METRIC_LABELS.get(m, m) + ("" if m != "mae" else " (lower is better)")
              for m in metrics]
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=titles,
                           horizontal_spacing=0.05)
    for index, metric in enumerate(metrics, 1):
        rows = result.table[result.table["metric"] == metric]
        for column, name, colour in (
            ("trtr", glossary.name("trained_on_real"), REAL_COLOUR),
            ("tstr", glossary.name("trained_on_synthetic"), SYNTHETIC_COLOUR),
        ):
            figure.add_bar(
                x=list(rows["model"]), y=list(rows[column].astype(float)), name=name,
                marker_color=colour, showlegend=index == 1, legendgroup=column,
                hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>",
                row=1, col=index,
            )
        if metric != "mae":
            figure.update_yaxes(range=[min(0.0, float(rows[["trtr", "tstr"]].min().min())), 1],
                                row=1, col=index)
    ratio = glossary.fmt("utility_ratio", result.ratio)
    figure.update_layout(
        barmode="group", height=400,
        title={"text": f"Predicting '{result.target}': synthetic reaches {ratio} of real "
                       f"{_METRIC_LABELS[result.metric].lower()}"},
        **{**_LAYOUT, "margin": {"l": 40, "r": 20, "t": 90, "b": 40}},
    )
    figure.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.3,
                                 "xanchor": "center", "x": 0.5})
    return figure


def dcr_figure(result: PrivacyResult) -> go.Figure:
    """Histograms of the distance to the closest training row: synthetic vs held-out rows.

    A synthetic histogram piled up at 0, left of the held-out one, means copying.
    """
    synthetic = np.asarray(result.dcr_synthetic, dtype=float)
    holdout = np.asarray(result.dcr_holdout, dtype=float)
    figure = go.Figure()
    if len(synthetic) + len(holdout):
        both = np.concatenate([synthetic, holdout])
        high = float(np.quantile(both, 0.995)) if len(both) > 200 else float(both.max())
        edges = np.linspace(0.0, max(high, 1e-6), _BINS + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        for name, values, colour in (
            ("Held-out real → train", holdout, REAL_COLOUR),
            ("Synthetic → train", synthetic, SYNTHETIC_COLOUR),
        ):
            figure.add_bar(x=centres, y=_shares(values, edges), width=float(edges[1] - edges[0]),
                           name=name, marker_color=colour, opacity=0.55)
    figure.update_layout(
        barmode="overlay", bargap=0, height=340,
        title={"text": "Distance to the closest training row — "
                       f"{glossary.name('dcr_share').lower()} "
                       f"{glossary.fmt('dcr_share', result.dcr_share)} (50% ideal)"},
        **_LAYOUT,
    )
    figure.update_xaxes(title_text="distance (0 = identical row)")
    figure.update_yaxes(title_text="share of rows", tickformat=".0%")
    return figure


def score_gauge(
    value: float | None, title: str, good: float = FIDELITY_GOOD, fair: float = FIDELITY_FAIR
) -> go.Figure:
    """A 0–100% gauge for a headline score, red/amber/green bands at ``fair`` and ``good``."""
    shown = 0.0 if value is None or value != value else float(value)
    figure = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=100 * shown,
            number={"suffix": "%", "valueformat": ".0f"},
            title={"text": title},
            gauge={
                "axis": {"range": [0, 100]},
                "bar": {"color": SYNTHETIC_COLOUR},
                "steps": [
                    {"range": [0, 100 * fair], "color": "#ffe3e3"},
                    {"range": [100 * fair, 100 * good], "color": "#fff3bf"},
                    {"range": [100 * good, 100], "color": "#d3f9d8"},
                ],
            },
        )
    )
    figure.update_layout(height=220, margin={"l": 20, "r": 20, "t": 50, "b": 10})
    return figure


def _level_bars(figure: go.Figure, labels: list[str], scores: list[float],
                levels: list[str], hover: str) -> None:
    """Horizontal score bars, one trace per reading so the legend names it in words."""
    for level, colour in LEVEL_COLOURS.items():
        picked = [i for i, found in enumerate(levels) if found == level]
        if not picked:
            continue
        figure.add_bar(
            y=[labels[i] for i in picked], x=[100 * scores[i] if scores[i] == scores[i] else 0
                                              for i in picked],
            orientation="h", name=level, marker_color=colour,
            hovertemplate="%{y}: %{x:.0f}% — " + hover.format(level=level) + "<extra></extra>",
        )


def quality_property_figure(property_name: str, details: pd.DataFrame) -> go.Figure | None:
    """One part of the quality or validity scores, per column or pair, in the studio's colours.

    Bars are coloured by their reading (the legend names it), with dotted lines at the
    "fair" and "good" limits; for strong-pair trends, pairs SDMetrics does not count (not
    clearly related in the real data) are grey. None for parts with nothing to draw.

    Args:
        property_name: SDMetrics' property (``Column Shapes``, ``Column Pair Trends``,
            ``Data Validity``).
        details: That property's detail table (``QualityResult.details``).
    """
    if details is None or details.empty or "Score" not in details:
        return None
    frame = details.dropna(subset=["Score"])
    if frame.empty:
        return None
    figure = go.Figure()
    if property_name == "Column Pair Trends" and {"Column 1", "Column 2"} <= set(frame):
        counted = (frame["Meets Threshold?"].astype("boolean").fillna(False)
                   if "Meets Threshold?" in frame else pd.Series(True, index=frame.index))
        frame = frame.assign(counted=counted.to_numpy(dtype=bool)).sort_values(
            ["counted", "Score"], ascending=[False, True]).head(30)
        labels = [f"{a} × {b}" for a, b in zip(frame["Column 1"], frame["Column 2"],
                                               strict=True)]
        scores = [float(v) for v in frame["Score"]]
        kept = frame["counted"].to_numpy()
        levels = [fidelity_level(v) if c else "" for v, c in zip(scores, kept, strict=True)]
        _level_bars(figure, labels, scores, levels, "{level}")
        weak = [i for i, c in enumerate(kept) if not c]
        if weak:
            figure.add_bar(y=[labels[i] for i in weak], x=[100 * scores[i] for i in weak],
                           orientation="h", name="not counted (weak in real data)",
                           marker_color=_NOT_COUNTED,
                           hovertemplate="%{y}: %{x:.0f}% — not counted<extra></extra>")
        order = labels
        title = glossary.name("pair_trends")
    elif "Column" in frame:
        frame = frame.sort_values("Score")
        order = [str(c) for c in frame["Column"]]
        scores = [float(v) for v in frame["Score"]]
        _level_bars(figure, order, scores, [fidelity_level(v) for v in scores], "{level}")
        title = glossary.name({"Column Shapes": "column_shapes",
                               "Data Validity": "data_validity"}.get(property_name,
                                                                     "column_score"))
    else:
        return None
    for limit, word in ((FIDELITY_FAIR, "fair"), (FIDELITY_GOOD, "good")):
        figure.add_vline(x=100 * limit, line_dash="dot", line_color="#868e96",
                         annotation_text=word, annotation_position="top")
    figure.update_yaxes(categoryorder="array", categoryarray=order, autorange="reversed",
                        automargin=True)
    figure.update_xaxes(range=[0, 100], ticksuffix="%", title_text="score")
    figure.update_layout(
        title={"text": title, "font": {"size": 15}}, barmode="overlay",
        height=max(260, min(900, 22 * len(order) + 140)), **_LAYOUT,
    )
    return figure
