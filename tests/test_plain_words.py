"""Plain words on the Evaluate page: no jargon, a meaning beside every score, one format each.

The page is driven with AppTest over a real evaluation of a tiny table (240 rows whose
target the other columns predict, so fidelity, utility and privacy are all measured and the
verdict warns that the data is thin).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.evaluation import glossary
from tests.helpers import shown
from tests.test_app import ROOT

TABS = ["Verdict", "Distributions", "Correlations", "Quality", "Utility", "Privacy",
        "Record explorer", "Report"]
#: Words a student cannot follow; none may reach the rendered Evaluate page (the Glossary
#: page names them once, as "also called").
JARGON = ["macro-F1", "macro_f1", "DCR", "NNDR", "TSTR", "TRTR", "tstr", "trtr", "abs_diff",
          "KS complement", "TV complement", "KSComplement", "TVComplement", "cramers",
          "correlation_ratio", "Column Pair Trends", "higher_is_better", "related_in_real",
          "column_1", "ROC-AUC", "Mean abs. error"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture(scope="module")
def evaluated():
    """(table, record, sample, result): a Gaussian copula fitted and evaluated for real."""
    from core.engine.metadata import detect_table
    from core.engine.models import load_synthesizer
    from core.store.registry import ModelRegistry
    from core.workflow import (
        evaluate_sample,
        fit_in_process,
        model_parts,
        plan_request,
        sample_model,
        train_or_reuse,
    )

    rng = np.random.default_rng(3)
    rows = 240
    first, second = rng.normal(0, 1, rows), rng.normal(0, 1, rows)
    frame = pd.DataFrame({
        "age": (40 + 12 * first).round().astype(int),
        "income": (50_000 + 9_000 * second).round(2),
        "region": rng.choice(["north", "south", "east"], rows),
        "bought": np.where(first + 0.7 * second + rng.normal(0, 0.5, rows) > 0.6, "yes", "no"),
    })
    table = detect_table(frame, "shop.csv", "test", target="bought")
    registry = ModelRegistry()
    record = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=3),
                            table.frame, registry, fit_in_process(registry)).record
    sample = sample_model(load_synthesizer(registry, record.model_id), record, rows=200)
    result = evaluate_sample(record, sample, *model_parts(table, record))
    return table, record, sample, result


def open_evaluate(evaluated, tab: str = "Verdict") -> AppTest:
    table, record, sample, result = evaluated
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.session_state["studio.dataset"] = table
    at.session_state["studio.current_model"] = record
    at.session_state["studio.synthetic"] = sample
    at.session_state["studio.evaluations"] = {sample.key: result}
    at.switch_page("app_pages/evaluate.py").run()
    at.session_state["eval_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def table_columns(frame_element) -> dict[str, dict]:
    """A dataframe's column settings as drawn: {data column: {"label", "help", ...}}."""
    return json.loads(frame_element.proto.columns or "{}")


def page_text(at: AppTest) -> list[str]:
    """Every text a reader sees: prose, labels, values, alerts, table headers and cells,
    chart titles, axis titles and legends."""
    found: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success",
                 "error"):
        found += [shown(element.value) for element in getattr(at, kind)]
    for metric in at.metric:
        found += [metric.label, metric.value]
    for frame_element in at.dataframe:
        settings = table_columns(frame_element)
        frame = frame_element.value
        found += [str(settings.get(str(c), {}).get("label") or c) for c in frame.columns]
        for column in frame.columns:
            if frame[column].dtype == object:
                found += [str(v) for v in frame[column]]
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        layout = figure.get("layout", {})
        found.append(str(layout.get("title", {}).get("text", "")))
        found += [str(a.get("text", "")) for a in layout.get("annotations", [])]
        found += [str(axis.get("title", {}).get("text", "")) for name, axis in layout.items()
                  if name.startswith(("xaxis", "yaxis"))]
        found += [str(trace.get("name", "")) for trace in figure.get("data", [])]
    return found


def test_the_evaluate_page_shows_no_jargon(evaluated):
    for tab in TABS:
        text = "\n".join(page_text(open_evaluate(evaluated, tab)))
        for word in JARGON:
            assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w])", text), (tab, word)


def test_every_score_card_and_table_has_its_meaning(evaluated):
    for tab in TABS:
        at = open_evaluate(evaluated, tab)
        for metric in at.metric:
            assert metric.proto.help, (tab, metric.label)
        for frame_element in at.dataframe:
            if frame_element.proto.id and "explorer_rows" in frame_element.proto.id:
                continue  # the user's own rows to pick from: no score in it
            settings = table_columns(frame_element)
            assert any(column.get("help") for column in settings.values()), (
                tab, list(frame_element.value.columns))


def test_the_summary_shows_three_cards_with_their_levels(evaluated):
    *_, result = evaluated
    at = open_evaluate(evaluated)
    cards = [text for text in page_text(at) if text.startswith("**") and "-badge[" in text]
    readings = {r.aspect: r.level for r in result.verdict.readings}
    assert len(cards) == 3
    for card, aspect in zip(cards, ("fidelity", "utility", "privacy"), strict=True):
        level = readings[aspect]
        assert card.startswith(f"**{glossary.name(aspect)}**") and card.endswith(f" {level}]")
    assert all(level != "not measured" for level in readings.values())  # all three computed
    values = {metric.label: metric.value for metric in at.metric}
    assert values == {
        "Quality score": glossary.fmt("quality_score", result.quality.quality_score),
        "Utility ratio": glossary.fmt("utility_ratio", result.utility.ratio),
        "Exact copies": glossary.fmt("exact_copies", result.privacy.exact_match_rate),
    }
    # 240 rows is thin data: the verdict's warning is shown under the cards, in plain words.
    assert result.verdict.warnings
    assert [shown(w.value) for w in at.warning] == [
        glossary.plain(w) for w in result.verdict.warnings]


def test_each_score_has_one_format_on_every_tab(evaluated):
    *_, result = evaluated
    scores = {  # percent terms: shown as 63%, never as 0.63
        "quality_score": result.quality.quality_score,
        "utility_ratio": result.utility.ratio,
        "dcr_share": result.privacy.dcr_share,
        "pair_score": result.correlation.pair_score,
    }
    seen = {key: False for key in scores}
    for tab in TABS:
        at = open_evaluate(evaluated, tab)
        text = "\n".join(page_text(at))
        for key, value in scores.items():
            assert glossary.term(key).unit == "percent"
            as_number = f"{value:.2f}"
            assert not re.search(rf"(?<![\d.]){re.escape(as_number)}(?!\d)", text), (tab, key)
            seen[key] |= glossary.fmt(key, value) in text
        for frame_element in at.dataframe:  # score columns of tables: percents too
            for name, column in table_columns(frame_element).items():
                if column.get("label") in ("Column score", "Kept", "Synthetic ÷ real"):
                    assert column["type_config"]["format"] == "percent", (tab, name)
    assert all(seen.values()), seen


def test_the_two_pair_scores_have_two_names_and_say_why_they_differ(evaluated):
    correlations = open_evaluate(evaluated, "Correlations")
    quality = open_evaluate(evaluated, "Quality")
    assert glossary.name("pair_score") in {m.label for m in correlations.metric}
    assert glossary.name("pair_trends") in {m.label for m in quality.metric}
    assert glossary.name("pair_score") not in {m.label for m in quality.metric}
    for at in (correlations, quality):
        assert shown(glossary.PAIR_SCORES_DIFFER) in [shown(c.value) for c in at.caption]


def test_quality_charts_use_the_studio_palette_and_each_says_what_to_look_for(evaluated):
    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR
    from core.evaluation.charts import LEVEL_COLOURS

    at = open_evaluate(evaluated, "Quality")
    charts = at.get("plotly_chart")
    assert charts
    allowed = {*LEVEL_COLOURS.values(), REAL_COLOUR, SYNTHETIC_COLOUR, "#ced4da"}
    for chart in charts:
        for trace in json.loads(chart.proto.spec)["data"]:
            assert trace["marker"]["color"] in allowed
            assert trace["name"]  # a colour is always named in words in the legend
    sentences = [shown(m.value) for m in at.markdown if " — Each bar is " in m.value]
    assert len(sentences) == len(charts)


def test_the_glossary_page_lists_every_term():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/glossary.py").run()
    assert not at.exception
    listed = pd.concat([frame.value for frame in at.dataframe])
    assert sorted(listed["term"]) == sorted(t.name for t in glossary.TERMS.values())
    assert set(listed["what it means"]) == {t.meaning for t in glossary.TERMS.values()}


def test_plain_rewrites_technical_words_and_keeps_the_rest():
    assert (glossary.plain("DCR share is 87% and the NNDR 0.40 (macro-F1 0.41).")
            == "Closer-to-training share is 87% and the distance ratio 0.40 "
               "(balanced prediction score 0.41).")
    assert glossary.plain("no jargon here: 63% of rows") == "no jargon here: 63% of rows"
    assert glossary.fmt("dcr_share", 0.634) == "63%" and glossary.fmt("nndr", 0.634) == "0.63"
    assert glossary.fmt("utility_ratio", None) == "–"
