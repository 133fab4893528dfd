"""Plotly figures. Every chart the app or the HTML report shows is built here."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "REAL_COLOUR",
    "SYNTHETIC_COLOUR",
    "column_profile_figure",
    "loss_figure",
    "privacy_utility_figure",
]

REAL_COLOUR = "#3b5bdb"
SYNTHETIC_COLOUR = "#f08c00"
_SMALL_LAYOUT = {
    "height": 170,
    "margin": {"l": 4, "r": 4, "t": 28, "b": 4},
    "showlegend": False,
    "bargap": 0.05,
}


def column_profile_figure(series: pd.Series, title: str | None = None) -> go.Figure:
    """A small chart of one column: histogram for numbers and dates, top bars for the rest.

    Args:
        series: The column.
        title: Chart title (defaults to the series name).
    """
    values = series.dropna()
    figure = go.Figure()
    if pd.api.types.is_bool_dtype(values) or not (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
    ):
        counts = values.astype(str).value_counts().head(8)
        figure.add_bar(x=counts.values, y=[label[:18] for label in counts.index],
                       orientation="h", marker_color=REAL_COLOUR)
        figure.update_yaxes(autorange="reversed")
    else:
        if len(values) > 50_000:  # a histogram's shape needs no more
            values = values.sample(50_000, random_state=0)
        figure.add_histogram(x=values, nbinsx=30, marker_color=REAL_COLOUR)
    figure.update_layout(title={"text": str(title or series.name), "font": {"size": 13}},
                         **_SMALL_LAYOUT)
    return figure


def loss_figure(losses: dict[str, list[float]]) -> go.Figure:
    """The training loss per epoch (generator and critic for GANs, one loss for TVAE).

    Args:
        losses: ``{"Epoch": [...], "<loss name>": [...], ...}``.
    """
    figure = go.Figure()
    epochs = losses.get("Epoch") or []
    colours = [REAL_COLOUR, SYNTHETIC_COLOUR, "#2f9e44"]
    for index, (name, values) in enumerate(
        (name, values) for name, values in losses.items() if name != "Epoch"
    ):
        # A text model's loss has its own epochs, counted from 1 like the table's.
        x = ([e + 1 for e in epochs][: len(values)] if len(epochs) >= len(values)
             else list(range(1, len(values) + 1)))
        figure.add_scatter(x=x, y=values, mode="lines", name=name,
                           line={"color": colours[index % len(colours)]})
    figure.update_layout(
        height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title={"text": "Loss per epoch", "font": {"size": 14}},
        xaxis_title="epoch", yaxis_title="loss", legend={"orientation": "h", "y": -0.3},
    )
    return figure


def _label_position(x: float, y: float, xs: list[float], ys: list[float]) -> str:
    """Where a point's label goes so it stays inside the plot: towards the middle."""
    vertical = "bottom" if max(ys) > min(ys) and y > (min(ys) + max(ys)) / 2 else "top"
    if max(xs) == min(xs):
        return f"{vertical} center"
    return f"{vertical} {'right' if x < (min(xs) + max(xs)) / 2 else 'left'}"


def _padded_range(values: list[float], share: float, least: float) -> list[float]:
    """An axis range around ``values`` with room for the labels on both sides."""
    low, high = min(values), max(values)
    pad = max((high - low) * share, least)
    return [low - pad, high + pad]


def privacy_utility_figure(rows: list[dict]) -> go.Figure:
    """Candidates of a comparison: usefulness (x) against closeness to training rows (y).

    The x axis is the utility ratio (TSTR/TRTR) when a target exists, else the quality
    score; the y axis is the DCR share (0.5 = as close to training rows as unseen real rows
    are; higher = hugging training rows). Best is bottom right; the recommended candidate
    is drawn as a star. Labels point towards the middle of the chart and the axes leave
    room around the points, so no label is cut off at an edge.
    """
    usable = [r for r in rows if r.get("dcr_share") is not None]
    use_utility = any(r.get("utility_ratio") is not None for r in usable)
    x_key, x_title = (("utility_ratio", "utility ratio (synthetic ÷ real)") if use_utility
                      else ("quality", "quality score"))
    usable = [r for r in usable if r.get(x_key) is not None]
    xs = [float(r[x_key]) for r in usable]
    ys = [float(r["dcr_share"]) for r in usable]
    figure = go.Figure()
    for recommended in (False, True):
        group = [r for r in usable if bool(r.get("recommended")) == recommended]
        if not group:
            continue
        figure.add_scatter(
            x=[r[x_key] for r in group], y=[r["dcr_share"] for r in group],
            mode="markers+text", text=[f"{r['title']}<br>{r['preset']}" for r in group],
            textposition=[_label_position(float(r[x_key]), float(r["dcr_share"]), xs, ys)
                          for r in group],
            cliponaxis=False, name="recommended" if recommended else "candidate",
            marker={"size": 18 if recommended else 12,
                    "symbol": "star" if recommended else "circle",
                    "color": SYNTHETIC_COLOUR if recommended else REAL_COLOUR},
        )
    figure.add_hline(y=0.5, line_dash="dot", line_color="#868e96",
                     annotation_text="0.5 = no closer than unseen real rows")
    figure.update_layout(height=420, margin={"l": 10, "r": 30, "t": 40, "b": 10},
                         title="Privacy against usefulness (bottom right is best)",
                         xaxis_title=x_title,
                         yaxis_title="Closer-to-training share (lower = more private)")
    if usable:
        figure.update_xaxes(range=_padded_range(xs, 0.35, 0.08))
        figure.update_yaxes(range=_padded_range(ys + [0.5], 0.25, 0.05))
    return figure
