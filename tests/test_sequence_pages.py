"""Pages on event histories: Data suggests and checks, Train/Generate/Evaluate/Compare follow.

A tiny event table (about 40 accounts, a few events each) goes through the app as a user
would: uploaded, its sequence suggestion confirmed, a sequence synthesizer trained as a job
for an epoch, entities generated (with a fixed context value) and evaluated.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.apptest import open_app, page_text, poll, sidebar_text, texts

DATASET = "studio.dataset"
MODEL = "studio.current_model"
JOB = "studio.current_job"
SYNTHETIC = "studio.synthetic"


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def make_events(accounts: int = 40, seed: int = 5) -> pd.DataFrame:
    """Bank-like events: a context column per account, ordered timestamps, types, amounts."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(accounts):
        segment = "business" if number % 3 == 0 else "retail"
        flagged = bool(number % 4 == 0)  # an account-level label (the target)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        events = int(rng.integers(3, 8))
        gaps = np.cumsum(rng.integers(1, 72, events))
        for step in range(events):
            kind = "opening" if step == 0 else str(rng.choice(["deposit", "card", "atm"]))
            rows.append({
                "account_id": f"AC{number:04d}",
                "segment": segment,
                "timestamp": (start + pd.Timedelta(hours=int(gaps[step]))).isoformat(),
                "event_type": kind,
                "amount": round(float(rng.lognormal(4 + (segment == "business") + flagged,
                                                    0.6)), 2),
                "flagged": flagged,
            })
    return pd.DataFrame(rows)


def upload(at: AppTest, frame: pd.DataFrame, name: str = "events.csv") -> AppTest:
    at.radio(key="data_source").set_value("Upload a file").run()
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    at.file_uploader(key="upload_file").upload(name, buffer.getvalue().encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def sequence_panel_text(at: AppTest) -> str:
    return page_text(at) + "\n" + "\n".join(texts(at.warning) + texts(at.error))


# --------------------------------------------------------------------------- Data


def test_an_uploaded_event_table_is_suggested_and_confirming_sets_the_sequence():
    at = upload(open_app(), make_events())
    table = at.session_state[DATASET]
    assert table.schema.sequence is None  # only a suggestion until the user confirms
    shown = page_text(at)
    assert "This looks like event histories" in shown
    assert "one row per event of each account_id, ordered by timestamp" in shown
    assert "Sequences of account_id: 40 accounts" in shown
    assert "entity" in shown and "context" in shown.lower()  # the explanation is there
    assert at.selectbox(key=f"seq_key_suggested_{table.fingerprint}").value == "account_id"
    assert at.selectbox(key=f"seq_index_suggested_{table.fingerprint}").value == "timestamp"
    context = at.multiselect(key=f"seq_context_suggested_{table.fingerprint}_account_id")
    assert "segment" in context.value  # constant per account: offered as context

    at.button(key="seq_confirm_suggested").click().run()
    assert not at.exception, at.exception
    spec = at.session_state[DATASET].schema.sequence
    assert spec is not None and spec.key == "account_id" and spec.index == "timestamp"
    assert "segment" in spec.context
    assert at.session_state[DATASET].schema.column("account_id").sdtype == "id"
    assert "Sequences of account_id: 40 accounts" in sidebar_text(at)

    at.switch_page("app_pages/compare.py").run()  # only candidates that learn histories
    assert not at.exception, at.exception
    candidates = at.multiselect(key="compare_candidates")
    assert {option.split(" · ")[0] for option in candidates.options} == {
        "PAR (sequences)", "TabularARGN"}
    assert len(candidates.value) == 2
    at.switch_page("app_pages/data.py").run()

    # Declining makes the rows independent again; the suggestion does not come back uninvited.
    at.button(key="seq_independent_edit").click().run()
    assert at.session_state[DATASET].schema.sequence is None
    assert "This looks like event histories" not in page_text(at)
    assert "rows ×" in sidebar_text(at)


def test_a_bad_event_table_shows_each_problem_with_its_count_and_blocks_training():
    frame = make_events()
    # Two accounts with one event, one account's rows out of order, one duplicated time,
    # and a "context" column that changes within three accounts.
    frame = frame[~frame["account_id"].isin(["AC0001", "AC0002"]) |
                  ~frame.duplicated("account_id")].reset_index(drop=True)
    rows = frame.index[frame["account_id"] == "AC0005"]
    frame.loc[rows] = frame.loc[rows[::-1]].to_numpy()
    first = frame.index[frame["account_id"] == "AC0007"][:2]
    frame.loc[first[1], "timestamp"] = frame.loc[first[0], "timestamp"]
    for account in ("AC0010", "AC0011", "AC0012"):
        frame.loc[frame.index[frame["account_id"] == account][-1], "segment"] = "private"
    at = upload(open_app(), frame)
    fingerprint = at.session_state[DATASET].fingerprint
    at.multiselect(key=f"seq_context_suggested_{fingerprint}_account_id").set_value(
        ["segment"]).run()
    shown = sequence_panel_text(at)
    assert "2 accounts have a single event" in shown
    assert "The rows of 1 account are not in 'timestamp' order" in shown
    assert "1 event has the same 'timestamp'" in shown
    assert "'segment' is not constant within 3 accounts" in shown
    assert "Training is off until this is fixed" in shown

    at.button(key="seq_confirm_suggested").click().run()
    assert at.session_state[DATASET].schema.sequence.context == ("segment",)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.button(key="train_start").disabled
    assert "'segment' is not constant within 3 accounts" in page_text(at)


# --------------------------------------------------------------------------- Train, Generate


def confirmed_events(at: AppTest) -> AppTest:
    """Upload the tiny event table and confirm the studio's suggestion."""
    upload(at, make_events())
    at.multiselect(
        key=f"seq_context_suggested_{at.session_state[DATASET].fingerprint}_account_id"
    ).set_value(["segment"]).run()
    at.button(key="seq_confirm_suggested").click().run()
    assert at.session_state[DATASET].schema.sequence.context == ("segment",)
    return at


def test_train_offers_only_sequence_synthesizers_and_fits_par_as_a_job_then_generates():
    at = confirmed_events(open_app())
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    options = at.radio(key="train_synthesizer").options
    assert "PAR (sequences)" in options
    assert not {"Gaussian Copula", "CTGAN", "TVAE"} & set(options)
    shown = page_text(at)
    assert "Sequences of account_id: 40 accounts" in shown
    assert "holds out whole accounts" in shown
    at.radio(key="train_synthesizer").set_value("par").run()
    at.radio(key="train_preset").set_value("quick").run()
    at.number_input(key="param_par_quick_epochs").set_value(2).run()
    assert not at.button(key="train_start").disabled
    at.button(key="train_start").click().run()
    assert JOB in at.session_state
    poll(at, lambda at: JOB not in at.session_state, "the PAR fit to end")
    record = at.session_state[MODEL]
    assert record.synthesizer == "par"
    assert record.schema["sequence"]["key"] == "account_id"

    at.switch_page("app_pages/generate.py").run()
    assert not at.exception, at.exception
    entities = at.number_input(key="gen_entities")
    assert entities.label == "How many accounts"
    assert entities.value == len(set(at.session_state[DATASET].frame["account_id"])) - round(
        0.3 * 40)  # as many as the training part holds
    entities.set_value(12)
    at.multiselect(key="gen_fix_context").set_value(["segment"]).run()
    at.selectbox(key="gen_fix_ctx_segment").set_value("business").run()
    at.button(key="gen_start").click().run()
    assert not at.exception, at.exception
    sample = at.session_state[SYNTHETIC].frame
    assert sample["account_id"].nunique() == 12
    assert set(sample["segment"]) == {"business"}
    assert {"account_id", "timestamp"} <= set(sample.columns)  # the download keeps them
    assert "12 synthetic accounts" in " ".join(h.value for h in at.subheader)
    preview = at.dataframe[0].value
    keys = preview["account_id"].tolist()
    assert keys == sorted(keys)  # by entity, then by time
    first = preview[preview["account_id"] == keys[0]]["timestamp"]
    assert first.tolist() == sorted(first.tolist())


# --------------------------------------------------------------------------- Evaluate


def test_evaluate_shows_the_sequences_tab_with_its_scores_and_no_empty_row_level_tabs():
    from core.data.schema import SequenceSpec
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
    from tests.apptest import open_evaluation

    table = detect_table(make_events(60), "events.csv", "test", target="flagged",
                         sequence=SequenceSpec("account_id", "timestamp", ("segment",)))
    registry = ModelRegistry()
    record = train_or_reuse(plan_request(table, "par", "quick", overrides={"epochs": 3}),
                            table.frame, registry, fit_in_process(registry)).record
    sample = sample_model(load_synthesizer(registry, record.model_id), record, rows=30)
    real_train, holdout = model_parts(table, record)
    result = evaluate_sample(record, sample, real_train, holdout)
    found = result.sequence
    assert found is not None

    at = open_evaluation(open_app(table), record, sample, result)
    labels = [tab.label for tab in at.tabs]
    assert labels[1] == "Sequences"
    assert "Fairness" not in labels and "Drivers" not in labels  # measured per entity
    at.session_state["eval_tab"] = "Sequences"
    at.run()
    assert not at.exception, at.exception
    metrics = {metric.label: metric for metric in at.metric}
    assert metrics["Sequence lengths"].value == f"{found.length_score:.0%}"
    assert metrics["Event order"].value == f"{found.transition_score:.0%}"
    assert metrics["Time between events"].value == f"{found.gap_score:.0%}"
    assert metrics["Copied sequences"].value == f"{found.copy_rate:.1%}"
    shown = page_text(at)
    assert "Which event follows which" in " ".join(h.value for h in at.subheader)
    assert found.sentences["length"] in shown
    assert found.sentences["copies"] in shown
    # Parts core did not measure say why instead of drawing an empty chart.
    for part, why in found.skipped.items():
        if part in ("cross_correlation", "entity_utility", "autocorrelation"):
            assert why in " ".join(texts(at.info)), part
    assert len(at.get("plotly_chart")) >= 4

    at.session_state["eval_tab"] = "Record explorer"
    at.run()
    assert not at.exception, at.exception
