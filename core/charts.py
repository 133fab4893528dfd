"""Plotly figures. Every chart the app or the HTML report shows is built here."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["REAL_COLOUR", "SYNTHETIC_COLOUR", "column_profile_figure", "loss_figure"]

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
        figure.add_scatter(x=[e + 1 for e in epochs][: len(values)], y=values, mode="lines",
                           name=name, line={"color": colours[index % len(colours)]})
    figure.update_layout(
        height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title={"text": "Loss per epoch", "font": {"size": 14}},
        xaxis_title="epoch", yaxis_title="loss", legend={"orientation": "h", "y": -0.3},
    )
    return figure
