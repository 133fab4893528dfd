"""The one-file HTML report: self-contained, plotly.js once, escaped, every figure present."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.evaluation import EvaluationResult, SampleDesign, evaluate_all
from core.evaluation.glossary import plain
from core.evaluation.report import (
    REPORT_LIBRARIES,
    build_report,
    library_versions,
    plotly_bundle,
    report_title,
)
from tests.test_evaluation import SDTYPES, make_frame, make_schema, split

EVIL = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def result() -> EvaluationResult:
    """A small evaluation whose data has a column named like an HTML script tag."""
    frame = make_frame(1200, seed=5).rename(columns={"segment": EVIL})
    sdtypes = {(EVIL if name == "segment" else name): kind for name, kind in SDTYPES.items()}
    schema = TableSchema(
        columns=(
            ColumnSchema("row_id", "id"),
            *(ColumnSchema(name, kind) for name, kind in sdtypes.items()),
            ColumnSchema("email", "email", pii=True, action="fake"),
        ),
        primary_key="row_id",
    )
    train, holdout = split(frame)
    synthetic = make_frame(900, seed=6).rename(columns={"segment": EVIL})
    return evaluate_all(train, holdout, synthetic, schema, "label", seed=0)


@pytest.fixture(scope="module")
def run_card() -> dict[str, object]:
    return {
        "dataset fingerprint": "abc123def4567890",
        "synthesizer": "GaussianCopula <fast>",
        "parameters": {"default_distribution": "norm", "epochs": 300},
        "seed": 42,
        "device": "cpu",
        **library_versions(),
    }


@pytest.fixture(scope="module")
def page(result: EvaluationResult, run_card: dict[str, object]) -> str:
    return build_report(result, run_card, title="Loans & <friends> report")


def test_report_is_one_self_contained_document(page: str) -> None:
    from plotly.offline import get_plotlyjs

    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    bundle = plotly_bundle()
    assert page.count(bundle[:300]) == 1, "plotly.js must be embedded exactly once"
    assert page.count(bundle[-300:]) == 1
    assert len(re.findall(r"\* plotly\.js[ a-z()-]* v\d", page)) == 1
    # The small bundle of the same plotly.js version, not the 4.8 MB full one.
    assert "plotly.js (cartesian - minified)" in page
    full = get_plotlyjs()
    assert full[:300] not in page
    assert len(page.encode("utf-8")) < 2_000_000, len(page.encode("utf-8"))
    # No external resources: no CDN scripts, stylesheets or fonts outside plotly.js itself
    # (whose map tile URLs are unused by these charts).
    ours = page.replace(bundle, "")
    assert not re.search(r"<script[^>]+src=", ours)
    assert not re.search(r"<link[^>]+href=", ours)
    assert "https://" not in ours and "http://" not in ours


def test_a_figure_the_small_bundle_cannot_draw_gets_the_full_one() -> None:
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    gauge = go.Figure(go.Indicator(mode="gauge+number", value=0.8))
    bars = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    assert plotly_bundle([bars, gauge]) == get_plotlyjs()
    assert plotly_bundle([bars]) != get_plotlyjs()
    assert f"v{get_plotlyjs_version()}" in plotly_bundle([bars])[:200]


def test_report_shows_the_verdict_and_scores(page: str, result: EvaluationResult) -> None:
    assert html.escape(result.verdict.headline) in page
    for reading in result.verdict.readings:
        assert html.escape(plain(reading.reason)) in page
    assert html.escape(plain(result.privacy.explanations["dcr_share"])) in page
    assert result.utility is not None
    assert html.escape(plain(result.utility.explanation)) in page
    assert "Loans &amp; &lt;friends&gt; report" in page
    # The first page: three headline numbers, before any detail.
    summary = page[page.index('id="summary"'):page.index('id="limits"')]
    assert summary.count('class="number"') == 3
    assert f"{result.quality.quality_score:.0%}" in summary
    assert result.utility.ratio is not None and f"{result.utility.ratio:.0%}" in summary
    assert f"{result.privacy.dcr_share:.0%}" in summary


def test_report_title_names_data_synthesizer_preset_and_date(
    result: EvaluationResult,
) -> None:
    import datetime as dt

    page = build_report(result, {}, dataset="loans.csv", synthesizer="CTGAN",
                        preset="balanced")
    title = report_title("loans.csv", "CTGAN", "balanced")
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    assert "loans.csv" in title and "CTGAN (balanced)" in title
    assert dt.date.today().isoformat() in title


def test_report_says_what_the_checks_do_not_show(page: str, result: EvaluationResult) -> None:
    section = page[page.index('id="limits"'):page.index('id="scores"')]
    assert "What these checks do not show" in section
    assert "differential privacy" in section and "not a proof" in section
    assert "inferring a hidden value" in section and "linking" in section.lower()
    assert "this model was trained without it" in section  # no epsilon on this model
    assert f"{result.rows['real_train']:,} real training rows" in section
    assert "email" in section  # the faked column was never checked


def test_report_shows_the_evidence_sections(page: str, result: EvaluationResult) -> None:
    for section in ("section-ceiling", "section-attacks", "section-drivers"):
        assert f'id="{section}"' in page
    attacks = page[page.index('id="section-attacks"'):]
    for risk in result.attacks.risks:
        assert f"risk {risk.risk:.2f} (95 % interval" in attacks
    assert f"{result.ceiling.discriminator_auc:.2f}" in page


def test_a_dp_models_report_names_its_epsilon_and_what_it_covers(result: EvaluationResult
                                                                 ) -> None:
    import dataclasses

    page = build_report(dataclasses.replace(result, epsilon=2.5, delta=1e-5), {})
    section = page[page.index('id="limits"'):page.index('id="scores"')]
    assert "ε = 2.50, δ = 1e-05 (moderate)" in section
    assert "not the columns that were faked" in section


def test_report_prints_cleanly(page: str) -> None:
    """Print CSS: A4 pages, each section on a new page, no chart cut in two."""
    assert "@media print" in page and "@page" in page
    assert "break-before: page" in page
    assert re.search(r"\.figure[^{]*\{[^}]*break-inside: avoid", page.split("@media print")[1])
    assert "beforeprint" in page and "Plotly.Plots.resize" in page
    # Every section after the first page starts a printed page.
    assert page.count('class="page"') >= 5


def test_report_carries_the_verdict_warnings() -> None:
    frame = make_frame(40, seed=5)
    train, holdout = split(frame)
    small = evaluate_all(train, holdout, make_frame(40, seed=6), make_schema(), "label", seed=0)
    assert small.verdict.warnings
    page = build_report(small, {})
    summary = page[:page.index('id="limits"')]
    assert "Read with care" in summary
    for warning in small.verdict.warnings:
        assert html.escape(plain(warning)) in summary
    assert "This table has 40 real rows, below that line." in page


def test_a_rebalanced_sample_is_labelled_and_judged_against_the_asked_for_shares() -> None:
    train, holdout = split(make_frame(1500, seed=5))
    synthetic = make_frame(1000, seed=6)
    synthetic["label"] = np.where(np.arange(1000) < 500, "yes", "no")
    design = SampleDesign(class_shares={"yes": 0.5, "no": 0.5}, rebalanced_column="label")
    rebalanced = evaluate_all(train, holdout, synthetic, make_schema(), "label", seed=0,
                              design=design)
    page = build_report(rebalanced, {})
    summary = page[:page.index('id="limits"')]
    assert "Rebalanced sample" in summary and "judged against those shares" in summary
    # 50 % 'yes' is what was asked: no warning that 'yes' was multiplied.
    assert "multiplies &#x27;yes&#x27;" not in page
    table = page[page.index("Rebalanced classes of"):]
    table = table[:table.index("</table>")]
    real_yes = (train["label"] == "yes").mean()
    assert "Asked for" in table and "50.0%" in table
    assert "Real (for reference)" in table and f"{real_yes:.1%}" in table
    assert "A deliberately shaped sample." in page
    # The same rows as a plain sample: 'yes' is named as multiplied against the real share.
    plain_result = evaluate_all(train, holdout, synthetic, make_schema(), "label", seed=0)
    assert "multiplies &#x27;yes&#x27;" in build_report(plain_result, {})
    assert "Rebalanced sample" not in build_report(plain_result, {})


def test_report_run_card_values_are_listed_and_escaped(
    page: str, run_card: dict[str, object]
) -> None:
    assert "abc123def4567890" in page
    assert "GaussianCopula &lt;fast&gt;" in page and "GaussianCopula <fast>" not in page
    assert "default_distribution=norm, epochs=300" in page
    for name in REPORT_LIBRARIES:
        assert f"<th>{html.escape(name)}</th>" in page
        assert html.escape(str(run_card[name])) in page
    assert "evaluation timings (s)" in page


def test_report_escapes_a_script_column_name(page: str) -> None:
    assert EVIL not in page
    assert html.escape(EVIL) in page  # in the run card's evaluated columns


def test_report_contains_every_figure(page: str, result: EvaluationResult) -> None:
    scored = [s for s in result.columns if s.score == s.score]
    ids = [f"figure-column-{i}" for i in range(min(6, len(scored)))]
    ids += ["figure-correlations", "figure-utility", "figure-dcr", "figure-ceiling",
            "figure-discriminator", "figure-attacks", "figure-drivers"]
    ids += [f"figure-fairness-{i}" for i in range(len(result.fairness.columns)
                                                   if result.fairness else 0)]
    for div_id in ids:
        assert f'id="{div_id}"' in page, div_id
        assert re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + '"', page), div_id
    assert len(re.findall(r"Plotly\.newPlot\(", page)) == len(ids)


def test_report_without_utility_says_why(result: EvaluationResult) -> None:
    from dataclasses import replace

    no_target = replace(result, utility=None, utility_reason="no target column was chosen")
    page = build_report(no_target, {})
    assert "figure-utility" not in page
    assert "no target column was chosen" in page


def test_library_versions_reads_metadata_only() -> None:
    versions = library_versions()
    assert set(versions) == set(REPORT_LIBRARIES)
    assert all(isinstance(value, str) and value for value in versions.values())
    assert versions["pandas"][0].isdigit()
