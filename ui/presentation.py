"""Presentation mode: a projector-ready studio (1280×720), advanced controls hidden.

The toggle lives in the sidebar; whether the mode is on lives in a plain session key
(``state.PRESENTING``), not in the toggle's widget state: ``st.switch_page`` (the demo's
"Next →") drops every widget's state, which used to switch the mode off mid-demo. The
router (``app.py``) asks :func:`sidebar_state` and calls :func:`apply_style` on every run,
so every page, however it was reached, is drawn in the mode.

The colours come from the theme in ``.streamlit/config.toml``; this module only sizes
things for a projector and hides what an audience does not need. Charts can always be saved
as PNG or SVG from their toolbar: plotly draws the image in the browser, so it works offline.
"""

from __future__ import annotations

from typing import Any, Literal

import streamlit as st

from ui import state

TOGGLE = "presentation_toggle"
EXPORT_FORMAT = "studio.chart_format"

# Always on: a button's label wraps instead of ending in "…" (in a narrow column "Start the
# guided demo" read "Start the guided…"). No "<" inside a style: the browser's HTML sanitizer
# drops a whole style element whose text looks like markup.
_BASE_STYLE = """
<style>
button [data-testid="stMarkdownContainer"], button [data-testid="stMarkdownContainer"] * {
    white-space: normal; text-overflow: clip; overflow: visible;
}
</style>
"""

# Sizes are for a 1280×720 projector: the page's key result (the verdict, a metric row) must
# fit above the fold, so the type grows less than a slide's and the padding shrinks.
_STYLE = """
<style>
/* Streamlit's 6rem top padding is a tenth of a 720 px screen: keep just the top bar's. */
[data-testid="stMainBlockContainer"] {
    max-width: 1500px; padding-top: 4rem; padding-bottom: 2rem; font-size: 1.2rem;
}
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.75rem; }
[data-testid="stMain"] h1 {
    font-size: 2.25rem !important; padding-top: 0; padding-bottom: 0.25rem;
}
[data-testid="stMain"] h2 { font-size: 1.9rem !important; }
[data-testid="stMain"] h3 { font-size: 1.6rem !important; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {
    font-size: 1.2rem; line-height: 1.45;
}
/* The headline numbers: bigger than their label and than body text. The body-text rule
   above also reaches the paragraph inside a metric value: this one is more specific. */
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMetricValue"] div {
    font-size: 2.75rem; line-height: 1.2;
}
/* A word as a value ("Gaussian Copula") wraps rather than ending in "…" at that size. */
[data-testid="stMain"] [data-testid="stMetricValue"] div {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}
[data-testid="stMain"] [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {
    font-size: 1.05rem;
}
/* Tabs wrap onto a second row instead of running off the screen; the sliding underline
   cannot follow a wrapped row, so the open tab is underlined by its own border. */
[data-testid="stMain"] [role="tablist"] { flex-wrap: wrap; row-gap: 0.25rem; }
[data-testid="stMain"] [role="tablist"] [data-baseweb="tab-highlight"] { display: none; }
[data-testid="stMain"] [role="tab"][aria-selected="true"] {
    box-shadow: inset 0 -3px 0 var(--primary-color, #3b5bdb);
}
[data-testid="stMain"] [role="tab"] [data-testid="stMarkdownContainer"] p { font-size: 1.1rem; }
</style>
"""


def is_on() -> bool:
    """True when presentation mode is on."""
    return bool(st.session_state.get(state.PRESENTING, False))


def _from_toggle() -> None:
    """Copy the toggle into the mode's own key (a callback: it runs before the rerun)."""
    st.session_state[state.PRESENTING] = bool(st.session_state.get(TOGGLE, False))


def controls() -> None:
    """The sidebar toggle and the chart-download format."""
    # Seeded from the mode's key each run: after a page switch the widget's own state is
    # gone and it must come back as the mode is, not as "off".
    st.toggle("Presentation mode", value=is_on(), key=TOGGLE, on_change=_from_toggle,
              help="For a projector: bigger numbers, the sidebar folded away (open it "
              "again with the arrow at the top left), advanced controls hidden.")
    st.radio("Chart downloads as", ["png", "svg"], key=EXPORT_FORMAT, horizontal=True,
             help="Use the camera icon on any chart; the image is made in your browser.")


def sidebar_state() -> Literal["collapsed", "auto"]:
    """How the page should open its sidebar: folded away while presenting."""
    return "collapsed" if is_on() else "auto"


def navigation_position() -> Literal["top", "sidebar"]:
    """Where the page links go: in the top bar while presenting.

    So the sidebar can stay folded: once opened, Streamlit keeps it open until the presenter
    folds it again.
    """
    return "top" if is_on() else "sidebar"


def apply_style() -> None:
    """Inject the styles (the projector's when presenting); the router calls this every run."""
    st.html(_BASE_STYLE + _STYLE if is_on() else _BASE_STYLE)


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
    """Scale a figure's fonts up when presenting (its height stays: 720 px is short)."""
    if is_on():
        figure.update_layout(font={"size": 16})
    return figure
