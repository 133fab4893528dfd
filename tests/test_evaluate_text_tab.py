"""Evaluate page: the Text tab shows each text column's scores and the copied texts.

A small complaints table (its text column detected as free text, action "generate") is
trained and sampled through the workflow; the sample's texts are then replaced with copies of
training texts, the known answer of a text model that memorises, and evaluated as the page's
job would. The tab must say so: the leak rate, the unseen-texts baseline, marked examples.
"""

from __future__ import annotations

import dataclasses

import pytest
import streamlit as st

from core.engine.metadata import detect_table
from core.workflow import evaluate_sample
from tests.apptest import open_app, open_evaluation, quick_model, texts
from tests.test_text_evaluation import make_frame


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture
def copied_texts():
    table = detect_table(make_frame(500, seed=1), "complaints.csv", "test", target="product")
    column = table.schema.column("complaint")
    if column.action != "generate":  # detection decides elsewhere; this test needs text
        schema = table.schema.with_column(dataclasses.replace(column, sdtype="text",
                                                               action="generate"))
        table = dataclasses.replace(table, schema=schema)
    record, sample, real_train, holdout = quick_model(table, rows=300)
    copies = real_train["complaint"].sample(300, random_state=0).to_numpy()
    sample = dataclasses.replace(sample, frame=sample.frame.assign(complaint=copies))
    result = evaluate_sample(record, sample, real_train, holdout)
    at = open_evaluation(open_app(table), record, sample, result)
    return at, result


def test_text_tab_shows_the_scores_and_the_copied_runs(copied_texts) -> None:
    at, result = copied_texts
    assert "Text" in [tab.label for tab in at.tabs]
    at.session_state["eval_tab"] = "Text"
    at.run()
    assert not at.exception, at.exception
    scored = result.text.columns["complaint"]
    metrics = {metric.label: metric for metric in at.metric}
    assert metrics["Texts repeating training text"].value == f"{scored.leak_rate:.1%}"
    assert metrics["Texts repeating training text"].delta == (
        f"unseen real texts {scored.holdout_leak_rate:.1%}")
    assert metrics["Length score"].value == f"{scored.length_score:.0%}"
    assert metrics["Word overlap"].value == f"{scored.vocabulary_overlap:.0%}"
    assert metrics["Text classifier ratio"].value == f"{scored.classifier_ratio:.0%}"
    shown = " ".join(texts(at.markdown))
    assert "poor" in shown and "memorises training texts" in shown
    example = scored.examples[0]
    assert f"{example.words} words copied" in shown
    top = at.dataframe[0].value
    assert list(top.columns[:4]) == ["Category", "What", "Real texts", "Synthetic texts"]
    assert "mortgage" in set(top["Category"])


def test_verdict_names_the_memorising_text_column(copied_texts) -> None:
    at, result = copied_texts
    assert result.verdict.privacy.level == "poor"
    captions = " ".join(texts(at.caption))
    assert "'complaint'" in captions and "memorises" in captions
