"""The one-file HTML report: self-contained, plotly.js once, escaped, every figure present."""

from __future__ import annotations

import html
import re

import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.evaluation import EvaluationResult, evaluate_all
from core.evaluation.report import REPORT_LIBRARIES, build_report, library_versions
from tests.test_evaluation import SDTYPES, make_frame, split

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
    bundle = get_plotlyjs()
    assert page.count(bundle[:300]) == 1, "plotly.js must be embedded exactly once"
    assert page.count(bundle[-300:]) == 1
    # No external resources: no CDN scripts, stylesheets or fonts outside plotly.js itself
    # (whose map tile URLs are unused by these charts).
    ours = page.replace(bundle, "")
    assert not re.search(r"<script[^>]+src=", ours)
    assert not re.search(r"<link[^>]+href=", ours)
    assert "https://" not in ours and "http://" not in ours


def test_report_shows_the_verdict_and_scores(page: str, result: EvaluationResult) -> None:
    assert html.escape(result.verdict.headline) in page
    for reading in result.verdict.readings:
        assert html.escape(reading.reason) in page
    assert html.escape(result.privacy.explanations["dcr_share"]) in page
    assert result.utility is not None
    assert html.escape(result.utility.explanation) in page
    assert "Loans &amp; &lt;friends&gt; report" in page


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
    ids += ["figure-correlations", "figure-utility", "figure-dcr"]
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
