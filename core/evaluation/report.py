"""The one-file HTML report of an evaluation, for people who will never open the app.

:func:`build_report` returns a single self-contained HTML document that opens offline (no
CDN, no network): plotly.js is embedded once, inline, and every figure is a ``<div>`` drawn
by that one copy. The copy is the *cartesian* bundle of the same plotly.js version
(``assets/plotly-cartesian.min.js``, 1.5 MB: bars, heatmaps, histograms, scatter) when every
figure fits it, else the full bundle plotly ships (4.8 MB): the report stays under ~2 MB.
Every text from the data or the caller (column names, run-card values) is HTML-escaped — a
column may be called ``<script>``.

The first page is for a reader in a hurry: the title (data, synthesizer, preset, date), the
plain verdict, three headline numbers and the verdict's warnings. Then "What these checks
do not show", the detailed scores, the charts and the run card. It prints to PDF from the
browser: print CSS puts each section on its own page and keeps charts whole, and the charts
are redrawn at the page's width before printing. Meanings come from
:mod:`core.evaluation.glossary`, so the report and the app use the same plain words.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.evaluation import glossary
from core.evaluation.sequences import COPY_RUN_EVENTS
from core.evaluation.thresholds import MIN_CLASS_ROWS, MIN_REAL_ROWS, epsilon_strength

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.evaluation import EvaluationResult

__all__ = [
    "REPORT_LIBRARIES",
    "build_report",
    "figure_div",
    "library_versions",
    "plotly_bundle",
    "report_title",
]

#: Distributions whose versions the run card lists.
REPORT_LIBRARIES: tuple[str, ...] = (
    "sdv", "sdmetrics", "rdt", "ctgan", "torch", "pandas", "scikit-learn", "plotly", "streamlit",
)

_WORST_COLUMNS = 6
_ASSETS = Path(__file__).with_name("assets")
#: The cartesian bundle of plotly.js: the trace types it draws (the report's charts use bars
#: and heatmaps).
_CARTESIAN_BUNDLE = _ASSETS / "plotly-cartesian.min.js"
_VERSION = re.compile(r"plotly\.js(?: \([\w -]+\))? v(\d+\.\d+\.\d+)")
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
.subtitle { font-size: 17px; color: #495057; }
.badge { display: inline-block; margin: 10px 0 0; padding: 4px 10px; border-radius: 6px;
         background: #e7f5ff; border: 1px solid #74c0fc; font-weight: 600; }
.headline { font-size: 22px; font-weight: 600; margin: 18px 0 12px; }
.numbers { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin: 14px 0; }
.number { background: #fff; border: 1px solid #dee2e6; border-top: 6px solid;
          border-radius: 8px; padding: 12px 14px; }
.number .value { font-size: 40px; font-weight: 700; line-height: 1.1; }
.number .what { font-size: 15px; font-weight: 600; }
.number .level { font-weight: 700; text-transform: uppercase; font-size: 13px;
                 letter-spacing: .04em; }
.readings { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.reading { border-radius: 8px; padding: 12px 14px; border-left: 6px solid; }
.reading .level { font-weight: 700; text-transform: uppercase; font-size: 13px;
                  letter-spacing: .04em; }
.reading .aspect { font-size: 17px; font-weight: 600; margin: 2px 0 4px; }
.warnings { background: #fff9db; border: 1px solid #fab005; border-left: 6px solid #e67700;
            border-radius: 8px; padding: 8px 14px; margin: 14px 0; }
.warnings h3 { margin: 4px 0; font-size: 17px; }
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
ul.limits li { margin: 6px 0; }
@media (max-width: 800px) { .readings, .grid2, .numbers { grid-template-columns: 1fr; } }
@page { size: A4; margin: 14mm; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .page { break-before: page; page-break-before: always; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 0; }
  .figure, .number, .reading, .score, .warnings, tr, li {
    break-inside: avoid; page-break-inside: avoid; }
  .figure { border: none; padding: 0; }
  .grid2 { grid-template-columns: 1fr; }
  .js-plotly-plot, .plot-container, .svg-container { max-width: 100% !important; }
  .modebar-container { display: none !important; }
  .number, .reading, .warnings, .badge { -webkit-print-color-adjust: exact;
                                         print-color-adjust: exact; }
}
"""
# Charts are laid out for the screen; redraw them at the paper's width before printing (and
# back after), so no chart is cut at the page edge.
_PRINT_SCRIPT = """
(function () {
  function fit() {
    document.querySelectorAll('.js-plotly-plot').forEach(function (el) {
      Plotly.Plots.resize(el);
    });
  }
  window.addEventListener('beforeprint', fit);
  window.addEventListener('afterprint', fit);
  if (window.matchMedia) { window.matchMedia('print').addEventListener('change', fit); }
})();
"""


def report_title(dataset: str, synthesizer: str, preset: str,
                 when: _dt.date | None = None) -> str:
    """The report's title: which data, which synthesizer and preset, and when.

    ``report_title("loans.csv", "CTGAN", "balanced")`` →
    ``"Synthetic data report: loans.csv, CTGAN (balanced), 2025-01-31"``.
    """
    day = (when or _dt.date.today()).isoformat()
    return f"Synthetic data report: {dataset}, {synthesizer} ({preset}), {day}"


def _version(bundle: str) -> str | None:
    found = _VERSION.search(bundle[:400])
    return found.group(1) if found else None


@functools.cache
def _cartesian() -> tuple[str, frozenset[str]] | None:
    """The cartesian bundle and its trace types, or None when missing or another version."""
    from plotly.offline import get_plotlyjs

    try:
        bundle = _CARTESIAN_BUNDLE.read_text(encoding="utf-8")
    except OSError:
        return None
    if _version(bundle) is None or _version(bundle) != _version(get_plotlyjs()):
        return None  # drawn by another plotly.js than the figures were made for
    traces = frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle))
    return bundle, traces


def plotly_bundle(figures: Iterable[go.Figure] = ()) -> str:
    """The one copy of plotly.js the report embeds: the smallest bundle that draws them all.

    The cartesian bundle (1.5 MB) when it is the installed plotly's version and draws every
    trace type of ``figures``; else the full bundle (4.8 MB).
    """
    from plotly.offline import get_plotlyjs

    cartesian = _cartesian()
    types = {trace.type for figure in figures for trace in figure.data}
    if cartesian is not None and types <= cartesian[1]:
        return cartesian[0]
    return get_plotlyjs()


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


def _level_colours(level: str) -> tuple[str, str]:
    return _LEVEL_COLOURS.get(level, _LEVEL_COLOURS["not measured"])


def _number_card(aspect: str, level: str, value: str, measure: str, extra: str = "") -> str:
    """One of the first page's three headline numbers."""
    ink, _ = _level_colours(level)
    return (
        f'<div class="number" style="border-top-color:{ink}">'
        f'<div class="what">{_escape(glossary.name(aspect))}</div>'
        f'<div class="value">{_escape(value)}</div>'
        f'<div class="level" style="color:{ink}">{_escape(level)}</div>'
        f'<div class="muted">{_escape(measure)}{_escape(extra)}</div></div>'
    )


def _headline_numbers(result: EvaluationResult) -> str:
    verdict, utility, privacy = result.verdict, result.utility, result.privacy
    ratio = None if utility is None else utility.ratio
    cards = [
        _number_card("fidelity", verdict.fidelity.level,
                     glossary.fmt("quality_score", result.quality.quality_score),
                     f"{glossary.name('quality_score')}: "
                     f"{glossary.help_text('quality_score')}"),
        _number_card("utility", verdict.utility.level,
                     "not measured" if ratio is None else glossary.fmt("utility_ratio", ratio),
                     f"{glossary.name('utility_ratio')}: {glossary.help_text('utility_ratio')}"),
        _number_card("privacy", verdict.privacy.level,
                     glossary.fmt("dcr_share", privacy.dcr_share),
                     f"{glossary.name('dcr_share')}: {glossary.help_text('dcr_share')}",
                     f" {glossary.name('exact_copies')}: "
                     f"{glossary.fmt('exact_copies', privacy.exact_match_rate)}."),
    ]
    return '<div class="numbers">' + "".join(cards) + "</div>"


def _design_badge(result: EvaluationResult) -> str:
    """Says on the first page that the sample was rebalanced or conditioned on purpose."""
    design = result.design
    badges = []
    if design.rebalanced:
        asked = ", ".join(f"'{label}' {share:.1%}" for label, share in design.class_shares.items())
        badges.append(f"Rebalanced sample: the class shares of '{design.rebalanced_column}' "
                      f"were set on purpose ({asked}) and are judged against those shares, "
                      "not the real ones.")
    if design.fixed_values:
        fixed = ", ".join(f"'{k}' = {v!r}" for k, v in design.fixed_values.items())
        badges.append(f"Conditioned sample: every row was asked to have {fixed}.")
    return "".join(f'<div class="badge">{_escape(text)}</div>' for text in badges)


def _class_shares_table(result: EvaluationResult) -> str:
    """A rebalanced column's asked-for, synthetic and real shares side by side."""
    design = result.design
    column = design.rebalanced_column
    if not design.rebalanced or column is None or column not in result.synthetic_sample:
        return ""

    def shares(frame: Any) -> Mapping[str, float]:
        values = frame[column]
        labels = values.astype(object).where(values.notna(), "(missing)").astype(str)
        return labels.value_counts(normalize=True).to_dict()

    got = shares(result.synthetic_sample)
    real = shares(result.real_sample) if column in result.real_sample else {}
    rows = "".join(
        f"<tr><td>{_escape(label)}</td><td>{asked:.1%}</td>"
        f"<td>{got.get(label, 0.0):.1%}</td><td>{real.get(label, 0.0):.1%}</td></tr>"
        for label, asked in design.class_shares.items()
    )
    return (
        f"<h2>Rebalanced classes of '{_escape(column)}'</h2>"
        "<p class='muted'>This sample was asked for these shares on purpose: its classes are "
        "judged against the asked-for column, not the real one. The real shares are shown "
        "for reference only.</p>"
        '<table class="shares"><tr><th>Class</th><th>Asked for</th><th>Synthetic</th>'
        f"<th>Real (for reference)</th></tr>{rows}</table>"
    )


#: The order in which the sequence section's sentences are listed.
_SEQUENCE_SENTENCES = ("length", "transitions", "gaps", "autocorrelation", "cross_correlation",
                       "entity_utility", "copies", "entity_distances")


def _limits(result: EvaluationResult) -> str:
    """The section "What these checks do not show", with this run's numbers."""
    rows = result.rows
    real_rows = rows["real_train"] + rows["holdout"]
    excluded = ", ".join(f"'{name}'" for name in result.excluded_columns)
    items = [
        _guarantee(result),
        ("What the privacy checks cannot see.",
         "The exact-copy and distance checks only ask whether synthetic rows sit on top of "
         "training rows. The four attacks (singling out, linking, inferring a hidden value, "
         "telling members apart) go further, but they are particular attacks run on samples "
         "of the rows, each against held-out rows as the baseline: an attacker with other "
         "data (a public register, a leaked file) or a cleverer method may do better. A "
         "strong pattern that holds for everyone (say, everyone over 80 in one town has the "
         "same diagnosis) lets anyone guess a person's value from real statistics too; the "
         "attacks count only what the synthetic rows add."
         + (f" Columns left out of every check: {excluded}." if excluded else "")),
        ("Small samples.",
         f"These numbers come from {rows['real_train']:,} real training rows, "
         f"{rows['holdout']:,} held-out rows and {rows['synthetic']:,} synthetic rows. With "
         f"fewer than {MIN_REAL_ROWS:,} real rows, or fewer than {MIN_CLASS_ROWS} rows in a "
         "class, they can swing from one run to the next: run again with another seed before "
         "trusting a close call."
         + (f" This table has {real_rows:,} real rows, below that line."
            if real_rows < MIN_REAL_ROWS else "")),
    ]
    if result.utility is not None:
        items.append(("One prediction task.",
                      f"Usefulness was tested by predicting '{result.utility.target}' with a "
                      "few standard models; other questions asked of the data may fare better "
                      "or worse."))
    else:
        items.append(("Usefulness not tested.",
                      f"No prediction was tested: {result.utility_reason or 'no target'}."))
    if result.sequence is not None:
        items.append(("Sequences, not people.",
                      "The rows are events of entities: the attacks on single rows were not "
                      "run, and copying is judged on whole sequences and runs of "
                      f"{COPY_RUN_EVENTS} events in a row. A sequence can still give its "
                      "entity away through a rare detail the checks do not compare (a date, "
                      "an unusual amount)."))
    if not result.design.plain:
        items.append(("A deliberately shaped sample.",
                      "This sample was rebalanced or conditioned on purpose, so scores that "
                      "compare it with the real data (fidelity, the charts) are lower by "
                      "design; its shaped columns are judged against what was asked for."))
    body = "".join(f"<li><strong>{_escape(head)}</strong> {_escape(text)}</li>"
                   for head, text in items)
    return (f'<section id="limits" class="page"><h2>What these checks do not show</h2>'
            f'<ul class="limits">{body}</ul></section>')


def _guarantee(result: EvaluationResult) -> tuple[str, str]:
    """The limits item on formal guarantees: the model's ε, or that it has none."""
    if result.epsilon is None:
        return ("No formal guarantee.",
                "These are tests of this one sample, not a proof. Only a synthesizer trained "
                "with differential privacy (TabularARGN with a privacy budget ε, set on the "
                "Train page or with --epsilon) puts a mathematical limit on what its rows can "
                "reveal about any one person; this model was trained without it. A \"good\" "
                "privacy reading means these checks found no leak, not that none is possible.")
    delta = f", δ = {result.delta:.0e}" if result.delta else ""
    return ("A formal guarantee, within its terms.",
            f"The model was trained with differential privacy, ε = {result.epsilon:.2f}{delta} "
            f"({epsilon_strength(result.epsilon)}): whatever an attacker does, one person's "
            "row changes what the model learned by at most that budget. It covers the "
            "model's training and the value ranges and categories it read (paid from the "
            "same budget); not the columns that were faked or left out, not the schema "
            "the user declared, and a person with several rows is protected less.")


def build_report(
    result: EvaluationResult,
    run_card: Mapping[str, Any],
    title: str | None = None,
    *,
    dataset: str = "",
    synthesizer: str = "",
    preset: str = "",
) -> str:
    """Build the stakeholder report as one self-contained HTML document.

    Contents: a first page with the title, the plain verdict, three headline numbers
    (fidelity, utility, privacy) and the verdict's warnings; "What these checks do not
    show"; the detailed scores; a rebalanced sample's asked-for shares; key charts (the 6
    worst column distributions, relation heatmaps, TSTR vs TRTR bars, DCR histograms); the
    run card. Each section after the first starts a new printed page.

    Args:
        result: What :func:`core.evaluation.evaluate_all` returned.
        run_card: What to list about the run (dataset fingerprint, rows, synthesizer and
            parameters, seed, device, library versions...): every key and value is
            shown, escaped. Rows for the evaluation itself (columns, timings) are added.
        title: The page title; by default :func:`report_title` of ``dataset``,
            ``synthesizer`` and ``preset`` (or a generic title when no dataset is given).
        dataset: The data's name, for the default title.
        synthesizer: The synthesizer's name, for the default title.
        preset: The preset, for the default title.

    Returns:
        The HTML text (write it with ``encoding="utf-8"``).
    """
    from core.evaluation.attacks import attack_figure
    from core.evaluation.ceiling import CEILING_SCORES, ceiling_figure, discriminator_figure
    from core.evaluation.charts import correlation_heatmaps, dcr_figure, utility_figure
    from core.evaluation.fairness import fairness_figure
    from core.evaluation.importance import importance_figure
    from core.evaluation.sequences import sequence_figures
    from core.evaluation.text import text_leak_figure, text_length_figure, text_words_figure

    if title is None:
        title = (report_title(dataset, synthesizer or "synthesizer", preset or "default")
                 if dataset else "Synthetic data evaluation report")
    verdict = result.verdict
    parts: list[str] = []
    generated = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")

    # First page: what a reader in a hurry needs.
    parts.append('<section id="summary">')
    parts.append(f"<h1>{_escape(title)}</h1>")
    parts.append(
        f'<div class="muted">Generated {_escape(generated)} by Synthetic Data Studio.</div>'
    )
    parts.append(_design_badge(result))
    parts.append(f'<div class="headline" id="verdict">{_escape(verdict.headline)}</div>')
    parts.append(_headline_numbers(result))
    if verdict.warnings:
        parts.append('<div class="warnings" id="warnings"><h3>Read with care</h3><ul>' + "".join(
            f"<li>{_escape(glossary.plain(w))}</li>" for w in verdict.warnings
        ) + "</ul></div>")
    parts.append('<div class="readings">')
    for reading in verdict.readings:
        ink, paper = _level_colours(reading.level)
        parts.append(
            f'<div class="reading" style="border-color:{ink};background:{paper}">'
            f'<div class="level" style="color:{ink}">{_escape(reading.level)}</div>'
            f'<div class="aspect">{_escape(glossary.name(reading.aspect))}</div>'
            f"<div>{_escape(glossary.plain(reading.reason))}</div></div>"
        )
    parts.append("</div></section>")

    parts.append(_limits(result))

    # Detailed scores.
    quality = result.quality
    privacy = result.privacy
    utility = result.utility

    def card(key: str, value: float | None, explanation: str) -> str:
        return _score_card(glossary.name(key), glossary.fmt(key, value),
                           glossary.plain(explanation) or glossary.help_text(key))

    cards = [
        card("quality_score", quality.quality_score,
             glossary.help_text("quality_score")
             + (f" {quality.sample_note}" if quality.sample_note else "")),
        card("diagnostic_score", quality.diagnostic_score, glossary.help_text("diagnostic_score")),
        card("pair_score", result.correlation.pair_score, result.correlation.explanation),
    ]
    if utility is not None:
        cards.append(card("utility_ratio", utility.ratio, utility.explanation))
    else:
        cards.append(_score_card(glossary.name("utility_ratio"), "not measured",
                                 result.utility_reason or ""))
    cards.append(card("exact_copies", privacy.exact_match_rate,
                      privacy.explanations.get("exact_match", "")))
    cards.append(card("dcr_share", privacy.dcr_share, privacy.explanations.get("dcr_share", "")))
    cards.append(card("nndr", privacy.nndr_median, privacy.explanations.get("nndr", "")))
    ceiling = result.ceiling
    if ceiling is not None:
        synthetic_quality = ceiling.synthetic_at_holdout_size.get("quality_score")
        real_quality = ceiling.holdout_ceiling.get("quality_score")
        cards.append(_score_card(
            f"{glossary.name('quality_score')} vs {glossary.name('holdout_ceiling').lower()}",
            f"{glossary.fmt('quality_score', synthetic_quality)} / "
            f"{glossary.fmt('quality_score', real_quality)}",
            glossary.plain(ceiling.sentences.get("quality_score", ""))))
        cards.append(_score_card(glossary.name("discriminator_auc"),
                                 f"{ceiling.discriminator_auc:.2f}",
                                 glossary.plain(ceiling.sentences.get("discriminator", ""))))
    if result.attacks is not None:
        worst = result.attacks.worst
        cards.append(_score_card(f"Highest {glossary.name('attack_risk').lower()}",
                                 f"{worst.risk:.2f}",
                                 f"{glossary.name(worst.name)}: {worst.sentence}"))
    if result.epsilon is not None:
        cards.append(_score_card(glossary.name("epsilon"), f"{result.epsilon:.2f}",
                                 glossary.help_text("epsilon")))
    for name, scored in (result.text.columns.items() if result.text is not None else ()):
        cards.append(_score_card(f"Text '{name}': repeated training text",
                                 f"{scored.leak_rate:.1%} ({scored.leak_level})",
                                 scored.sentences.get("leak", "")))
    sequence = result.sequence
    if sequence is not None:
        for key in ("length_score", "transition_score", "gap_score", "autocorrelation_score"):
            value = getattr(sequence, key)
            if value is not None:
                cards.append(card(key, value, glossary.help_text(key)))
        if sequence.copy_rate is not None:
            cards.append(_score_card(
                glossary.name("copy_rate"),
                f"{glossary.fmt('copy_rate', sequence.copy_rate)} / "
                f"{glossary.fmt('copy_rate', sequence.holdout_copy_rate)}",
                sequence.sentences.get("copies", "")))
        if sequence.entity_dcr_share is not None:
            cards.append(card("entity_dcr_share", sequence.entity_dcr_share,
                              sequence.sentences.get("entity_distances", "")))
    parts.append('<section id="scores" class="page"><h2>The scores in detail</h2>'
                 '<div class="scores">' + "".join(cards) + "</div>")
    if result.notes:
        parts.append('<ul class="notes">' + "".join(
            f"<li>{_escape(glossary.plain(note))}</li>" for note in result.notes
        ) + "</ul>")
    parts.append(_class_shares_table(result))
    parts.append("</section>")

    # Charts.
    figures: list[tuple[str, str, go.Figure]] = []
    worst = [s for s in result.columns if s.score == s.score][:_WORST_COLUMNS]
    for index, score in enumerate(worst):
        figures.append(("columns", f"figure-column-{index}", result.column_figure(score.column)))
    figures.append(("pairs", "figure-correlations", correlation_heatmaps(result.correlation)))
    if utility is not None:
        figures.append(("utility", "figure-utility", utility_figure(utility)))
    figures.append(("privacy", "figure-dcr", dcr_figure(privacy)))
    notes: dict[str, list[str]] = {}
    if ceiling is not None:
        figures.append(("ceiling", "figure-ceiling", ceiling_figure(ceiling)))
        figures.append(("ceiling", "figure-discriminator", discriminator_figure(ceiling)))
        notes["ceiling"] = [ceiling.sentences[name] for name in (*CEILING_SCORES,
                                                                 "discriminator")
                            if ceiling.sentences.get(name)]
    if result.attacks is not None:
        figures.append(("attacks", "figure-attacks", attack_figure(result.attacks)))
        notes["attacks"] = [
            f"{glossary.name(risk.name)}: risk {risk.risk:.2f} (95 % interval "
            f"{risk.ci[0]:.2f}–{risk.ci[1]:.2f}). {risk.sentence}"
            for risk in result.attacks.risks] + list(result.attacks.notes)
    if result.fairness is not None:
        for index, column in enumerate(result.fairness.columns):
            figures.append(("fairness", f"figure-fairness-{index}",
                            fairness_figure(result.fairness, column)))
        notes["fairness"] = result.fairness.sentences + list(result.fairness.notes)
    if sequence is not None:
        for name, figure in sequence_figures(sequence):
            figures.append(("sequences", f"figure-sequence-{name}", figure))
        notes["sequences"] = ([sequence.sentences[name] for name in _SEQUENCE_SENTENCES
                               if sequence.sentences.get(name)]
                              + [f"Not measured, {part.replace('_', ' ')}: {why}."
                                 for part, why in sequence.skipped.items()]
                              + list(sequence.notes))
    if result.importance is not None:
        figures.append(("drivers", "figure-drivers", importance_figure(result.importance)))
        notes["drivers"] = [result.importance.sentence, *result.importance.notes]
    if result.text is not None:
        for index, scored in enumerate(result.text.columns.values()):
            figures.append(("text", f"figure-text-length-{index}", text_length_figure(scored)))
            figures.append(("text", f"figure-text-words-{index}", text_words_figure(scored)))
            figures.append(("text", f"figure-text-leak-{index}", text_leak_figure(scored)))
            notes.setdefault("text", []).extend(
                f"'{scored.column}': {scored.sentences[key]}"
                for key in ("length", "vocabulary", "classifier", "leak")
                if scored.sentences.get(key))
            notes["text"].extend(
                f"'{scored.column}', copied run in [brackets]: {example.marked()}"
                for example in scored.examples)
        notes.setdefault("text", []).extend(result.text.notes)

    rebalanced_note = (" This sample was shaped on purpose, so some columns differ by design."
                       if not result.design.plain else "")
    sections = {
        "columns": ("Columns that differ most",
                    "The six columns with the lowest scores: real (blue) vs synthetic (orange)."
                    + rebalanced_note),
        "pairs": ("Relations between columns",
                  "How strongly each pair of columns goes together in the real and synthetic "
                  "data, and the gap between them: darker red = larger change."),
        "utility": ("Utility: train on synthetic, test on real",
                    "Each model is trained once on real training rows and once on synthetic "
                    "rows, then both are scored on the same held-out real rows."),
        "privacy": ("Privacy: distance to the closest training row",
                    glossary.plain(privacy.explanations.get("dcr", ""))),
        "ceiling": ("Fidelity against real rows the model never saw",
                    "Each score also computed for as many held-out real rows (the ceiling: "
                    "what a perfect synthesizer could reach), and how well a classifier tells "
                    "synthetic rows from real ones (0.5 = it cannot)."),
        "attacks": ("Privacy: attacks",
                    "Four attacks by someone holding the synthetic rows, each run against "
                    "training rows and against as many held-out rows; the risk is the extra "
                    "success on the training rows (0 = no edge). Evidence, not proof."),
        "fairness": ("Fairness: groups of people",
                     f"The outcome ({result.fairness.outcome if result.fairness else ''}) per "
                     "group of each sensitive column, real vs synthetic, and whether models "
                     "trained on synthetic rows treat groups more unequally."),
        "text": ("Free text: lengths, words and copied training text",
                 "Each text column written by the text model: words per text and the "
                 "commonest words, real vs synthetic, and how often synthetic texts repeat "
                 "8 or more words in a row of a training text, beside how often unseen real "
                 "texts do by chance. Copied runs are shown in brackets."),
        "sequences": ("Sequences: each entity's story",
                      "Each entity (an account, a customer, a ticker) is a sequence of events. "
                      "How many events each has; which kind of event follows which (a row "
                      "per current event, its next events' shares; the third panel is "
                      "synthetic minus real: red = more often in synthetic, blue = less); the "
                      "time between events; the average per entity of counts and totals; how "
                      "much a number remembers its past values (autocorrelation) and moves "
                      "with other series; and how often synthetic sequences repeat a training "
                      "sequence, beside how often unseen real sequences do by chance."),
        "drivers": ("Drivers: what the models rely on",
                    "How much each column matters to the model trained on real rows vs the "
                    "one trained on synthetic rows (permutation importance on held-out rows)."),
    }
    current = None
    for position, (section, div_id, figure) in enumerate(figures):
        if section != current:
            if current is not None:
                parts.append("</div></section>" if current == "columns" else "</section>")
            heading, text = sections[section]
            parts.append(f'<section class="page" id="section-{section}">'
                         f"<h2>{_escape(heading)}</h2><p class='muted'>{_escape(text)}</p>")
            if section == "columns":
                parts.append('<div class="grid2">')
            current = section
        parts.append(f'<div class="figure">{figure_div(figure, div_id)}</div>')
        if section == "utility" and utility is not None and utility.notes:
            notes.setdefault("utility", list(utility.notes))
        last_of_section = all(other != section for other, _, _ in figures[position + 1:])
        if last_of_section and notes.get(section):
            parts.append('<ul class="notes">' + "".join(
                f"<li>{_escape(glossary.plain(note))}</li>" for note in notes[section]
            ) + "</ul>")
    if current is not None:
        parts.append("</div></section>" if current == "columns" else "</section>")

    # Run card.
    parts.append('<section class="page" id="run-card"><h2>Run card</h2><table>')
    for key, value in _run_card_rows(run_card, result):
        parts.append(f"<tr><th>{_escape(key)}</th><td>{_escape(value)}</td></tr>")
    parts.append("</table></section>")

    bundle = plotly_bundle(figure for _, _, figure in figures)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escape(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{bundle}</script>\n'
        "</head>\n<body>\n<main>\n" + "\n".join(p for p in parts if p) + "\n</main>\n"
        f"<script>{_PRINT_SCRIPT}</script>\n</body>\n</html>\n"
    )
