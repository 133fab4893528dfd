"""The one-file HTML report of an evaluation, for people who will never open the app.

:func:`build_report` returns a single self-contained HTML document: plotly.js is embedded
once, inline (so it opens offline, with no CDN), every figure is a ``<div>`` drawn by that
one copy, and every text that comes from the data or the caller (column names, run-card
values) is HTML-escaped — a column may be called ``<script>``.
"""

from __future__ import annotations

import datetime as _dt
import html
import importlib.metadata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.evaluation import EvaluationResult

__all__ = ["REPORT_LIBRARIES", "build_report", "figure_div", "library_versions"]

#: Distributions whose versions the run card lists.
REPORT_LIBRARIES: tuple[str, ...] = (
    "sdv", "sdmetrics", "rdt", "ctgan", "torch", "pandas", "scikit-learn", "plotly", "streamlit",
)

_WORST_COLUMNS = 6
_LEVEL_COLOURS = {
    "good": ("#2b8a3e", "#ebfbee"),
    "fair": ("#e67700", "#fff9db"),
    "poor": ("#c92a2a", "#fff5f5"),
    "not measured": ("#495057", "#f1f3f5"),
}
_CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; margin: 0; background: #f8f9fa; color: #212529; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin: 36px 0 10px; font-size: 21px; border-bottom: 1px solid #dee2e6;
     padding-bottom: 4px; }
.muted { color: #6c757d; font-size: 14px; }
.headline { font-size: 20px; font-weight: 600; margin: 18px 0 12px; }
.readings { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.reading { border-radius: 8px; padding: 12px 14px; border-left: 6px solid; }
.reading .level { font-weight: 700; text-transform: uppercase; font-size: 13px;
                  letter-spacing: .04em; }
.reading .aspect { font-size: 17px; font-weight: 600; margin: 2px 0 4px; }
.scores { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr));
          gap: 12px; }
.score { background: #fff; border: 1px solid #dee2e6; border-radius: 8px; padding: 12px 14px; }
.score .value { font-size: 26px; font-weight: 700; }
.score .label { font-weight: 600; }
.figure { background: #fff; border: 1px solid #dee2e6; border-radius: 8px; margin: 10px 0;
          padding: 6px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 14px; }
th, td { border: 1px solid #dee2e6; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; width: 30%; }
ul.notes { margin: 6px 0; padding-left: 20px; font-size: 14px; }
@media (max-width: 800px) { .readings, .grid2 { grid-template-columns: 1fr; } }
"""


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the results (no package is imported)."""
    versions: dict[str, str] = {}
    for name in REPORT_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure_div(figure: go.Figure, div_id: str) -> str:
    """One figure as a ``<div>`` drawn by the page's single inline copy of plotly.js."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(_format_value(v) for v in value)
    return str(value)


def _run_card_rows(run_card: Mapping[str, Any], result: EvaluationResult) -> list[tuple[str, str]]:
    rows = [(str(key), _format_value(value)) for key, value in run_card.items()]
    known = {key for key, _ in rows}
    extra: list[tuple[str, str]] = [
        ("rows evaluated", f"{result.rows['real_train']:,} real training, "
                           f"{result.rows['holdout']:,} held-out, "
                           f"{result.rows['synthetic']:,} synthetic"),
        ("columns evaluated", ", ".join(result.evaluated_columns)),
        ("columns excluded", "; ".join(f"{name}: {why}" for name, why in
                                       result.excluded_columns.items()) or "none"),
        ("target", result.target or "none"),
        ("evaluation seed", str(result.seed)),
        ("evaluation timings (s)", _format_value(result.timings)),
    ]
    rows.extend((key, value) for key, value in extra if key not in known)
    return rows


def _score_card(label: str, value: str, explanation: str) -> str:
    return (
        f'<div class="score"><div class="label">{_escape(label)}</div>'
        f'<div class="value">{_escape(value)}</div>'
        f'<div class="muted">{_escape(explanation)}</div></div>'
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.0%}"


def build_report(
    result: EvaluationResult,
    run_card: Mapping[str, Any],
    title: str = "Synthetic data evaluation report",
) -> str:
    """Build the stakeholder report as one self-contained HTML document.

    Contents: the verdict (headline and three readings), headline scores with one sentence
    each, key charts (the 6 worst column distributions, correlation heatmaps, TSTR vs
    TRTR bars, DCR histograms) and the run card.

    Args:
        result: What :func:`core.evaluation.evaluate_all` returned.
        run_card: What to list about the run (dataset fingerprint, rows, synthesizer and
            parameters, seed, device, library versions...): every key and value is
            shown, escaped. Rows for the evaluation itself (columns, timings) are added.
        title: The page title.

    Returns:
        The HTML text (write it with ``encoding="utf-8"``).
    """
    from plotly.offline import get_plotlyjs

    from core.evaluation.charts import correlation_heatmaps, dcr_figure, utility_figure

    verdict = result.verdict
    parts: list[str] = []
    generated = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts.append(f"<h1>{_escape(title)}</h1>")
    parts.append(
        f'<div class="muted">Generated {_escape(generated)} by Synthetic Data Studio.</div>'
    )

    # Verdict.
    parts.append(f'<section id="verdict"><div class="headline">{_escape(verdict.headline)}</div>')
    parts.append('<div class="readings">')
    for reading in verdict.readings:
        ink, paper = _LEVEL_COLOURS.get(reading.level, _LEVEL_COLOURS["not measured"])
        parts.append(
            f'<div class="reading" style="border-color:{ink};background:{paper}">'
            f'<div class="level" style="color:{ink}">{_escape(reading.level)}</div>'
            f'<div class="aspect">{_escape(reading.aspect.capitalize())}</div>'
            f"<div>{_escape(reading.reason)}</div></div>"
        )
    parts.append("</div></section>")

    # Headline scores.
    quality = result.quality
    privacy = result.privacy
    utility = result.utility
    cards = [
        _score_card("Quality (SDMetrics)", _percent(quality.quality_score),
                    "Mean of column shapes and column-pair trends; 100% = indistinguishable "
                    "distributions." + (f" {quality.sample_note}" if quality.sample_note else "")),
        _score_card("Diagnostic (SDMetrics)", _percent(quality.diagnostic_score),
                    "Valid values and the same table structure; anything below 100% means "
                    "the synthesizer produced impossible values."),
        _score_card("Column pair relations", _percent(result.correlation.pair_score),
                    result.correlation.explanation),
    ]
    if utility is not None:
        cards.append(_score_card(
            "Utility (TSTR / TRTR)", _percent(utility.ratio), utility.explanation
        ))
    else:
        cards.append(_score_card("Utility", "not measured", result.utility_reason or ""))
    cards.append(_score_card("Exact copies", f"{privacy.exact_match_rate:.1%}",
                             privacy.explanations.get("exact_match", "")))
    cards.append(_score_card("DCR share", _percent(privacy.dcr_share),
                             privacy.explanations.get("dcr_share", "")))
    cards.append(_score_card("NNDR (median)", f"{privacy.nndr_median:.2f}",
                             privacy.explanations.get("nndr", "")))
    parts.append('<h2>Headline scores</h2><div class="scores">' + "".join(cards) + "</div>")
    if result.notes:
        parts.append('<ul class="notes">' + "".join(
            f"<li>{_escape(note)}</li>" for note in result.notes
        ) + "</ul>")

    # Charts.
    figures: list[tuple[str, str, go.Figure]] = []
    worst = [s for s in result.columns if s.score == s.score][:_WORST_COLUMNS]
    for index, score in enumerate(worst):
        figures.append(("columns", f"figure-column-{index}", result.column_figure(score.column)))
    figures.append(("pairs", "figure-correlations", correlation_heatmaps(result.correlation)))
    if utility is not None:
        figures.append(("utility", "figure-utility", utility_figure(utility)))
    figures.append(("privacy", "figure-dcr", dcr_figure(privacy)))

    sections = {
        "columns": ("Columns that differ most",
                    "The six columns with the lowest scores: real (blue) vs synthetic (orange)."),
        "pairs": ("Relations between columns",
                  "Correlation (numbers) or association (categories) in the real and "
                  "synthetic data, and their absolute difference: darker red = larger change."),
        "utility": ("Utility: train on synthetic, test on real",
                    "Each model is trained once on real training rows (TRTR) and once on "
                    "synthetic rows (TSTR), then both are scored on the same held-out real rows."),
        "privacy": ("Privacy: distance to the closest training row",
                    privacy.explanations.get("dcr", "")),
    }
    current = None
    for section, div_id, figure in figures:
        if section != current:
            if current == "columns":
                parts.append("</div>")
            heading, text = sections[section]
            parts.append(f"<h2>{_escape(heading)}</h2><p class='muted'>{_escape(text)}</p>")
            if section == "columns":
                parts.append('<div class="grid2">')
            current = section
        parts.append(f'<div class="figure">{figure_div(figure, div_id)}</div>')
    if current == "columns":
        parts.append("</div>")
    if utility is not None and utility.notes:
        parts.append('<ul class="notes">' + "".join(
            f"<li>{_escape(note)}</li>" for note in utility.notes
        ) + "</ul>")

    # Run card.
    parts.append("<h2>Run card</h2><table>")
    for key, value in _run_card_rows(run_card, result):
        parts.append(f"<tr><th>{_escape(key)}</th><td>{_escape(value)}</td></tr>")
    parts.append("</table>")

    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escape(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        "</head>\n<body>\n<main>\n" + "\n".join(parts) + "\n</main>\n"
        "</body>\n</html>\n"
    )
