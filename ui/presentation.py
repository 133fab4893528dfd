"""Presentation mode: bigger text and charts, advanced controls hidden, clean exports.

The toggle lives in the sidebar. The colours come from the theme in
``.streamlit/config.toml``; this module only scales things up and hides what an audience
does not need. Charts can always be saved as PNG or SVG from their toolbar: plotly draws
the image in the browser, so it works offline.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

PRESENTING = "studio.presentation"
EXPORT_FORMAT = "studio.chart_format"

_STYLE = """
<style>
section.main .block-container, [data-testid="stMainBlockContainer"] {
    max-width: 1500px; font-size: 1.25rem;
}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
    font-size: 1.25rem; line-height: 1.5;
}
[data-testid="stMetricValue"] { font-size: 2.6rem; }
h1 { font-size: 3rem !important; }
</style>
"""


def is_on() -> bool:
    """True when presentation mode is on."""
    return bool(st.session_state.get(PRESENTING, False))


def controls() -> None:
    """The sidebar toggle and the chart-download format."""
    st.toggle("Presentation mode", key=PRESENTING,
              help="Bigger text and charts, advanced controls hidden.")
    st.radio("Chart downloads as", ["png", "svg"], key=EXPORT_FORMAT, horizontal=True,
             help="Use the camera icon on any chart; the image is made in your browser.")


def apply_style() -> None:
    """Inject the larger-type style when presenting."""
    if is_on():
        st.html(_STYLE)


def chart_config() -> dict[str, Any]:
    """Plotly config: toolbar with the image export, in the chosen format."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": st.session_state.get(EXPORT_FORMAT, "png"),
            "scale": 2,
            "filename": "synthetic-data-studio-chart",
        },
    }


def style_figure(figure: Any) -> Any:
    """Scale a figure's fonts and height up when presenting."""
    if is_on():
        figure.update_layout(font={"size": 18},
                             height=max(int((figure.layout.height or 450) * 1.3), 500))
    return figure
