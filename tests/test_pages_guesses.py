"""AppTest: the Data, Train and Generate pages say what is guessed and hide what is not needed.

The suggested target is marked until confirmed, the Data page's source choice survives a
visit to another page, the metadata grid shows every row, Train is off while a fit waits or
runs, and the guided demo hides the source picker and the database write-back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.data.splitting import SplitSpec
from core.engine.catalogue import REGISTRY, resolve_params
from core.engine.metadata import detect_table
from core.engine.training import TrainingRequest
from core.jobs.local import LocalJobRunner
from tests.apptest import open_app, page_text, poll
from tests.helpers import make_people

ROOT = Path(__file__).resolve().parent.parent
DATASET = "studio.dataset"
MODEL = "studio.current_model"
JOB = "studio.current_job"
SYNTHETIC = "studio.synthetic"
SUGGESTED = "Suggested — change it."
DEADLINE_S = 180


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def upload_people(at: AppTest, rows: int = 120) -> AppTest:
    """Upload a CSV without a known target: the studio has to guess one."""
    at.radio(key="data_source").set_value("Upload a file").run()
    data = make_people(rows).to_csv(index=False).encode()
    at.file_uploader(key="upload_file").upload("people.csv", data, "text/csv")
    at.run()
    assert not at.exception
    return at


def target_box(at: AppTest):
    return next(box for box in at.selectbox if box.key.startswith("target_select"))


# --------------------------------------------------------------------------- target


def test_a_guessed_target_is_marked_until_the_user_confirms_it():
    at = upload_people(open_app())
    table = at.session_state[DATASET]
    assert table.target == "churned"  # the studio's guess: nobody named a target
    assert SUGGESTED in page_text(at)
    assert "Target **churned** is suggested" in page_text(at)
    at.switch_page("app_pages/train.py").run()
    assert "the suggested target" in page_text(at)

    at.switch_page("app_pages/data.py").run()
    at.button(key="target_confirm").click().run()
    assert not at.exception
    assert at.session_state[DATASET].target == "churned"
    assert SUGGESTED not in page_text(at) and "is suggested" not in page_text(at)
    at.switch_page("app_pages/train.py").run()
    assert "suggested target" not in page_text(at)


def test_picking_a_target_confirms_it_and_the_choice_is_kept_for_the_same_rows():
    at = upload_people(open_app())
    target_box(at).set_value("is_member").run()
    assert at.session_state[DATASET].target == "is_member"
    assert SUGGESTED not in page_text(at)

    at.radio(key="data_source").set_value("Sample dataset").run()
    at.button(key="load_sample_loans").click().run()
    assert at.session_state[DATASET].target == "defaulted"
    assert SUGGESTED not in page_text(at)  # a sample names its target: no guess

    upload_people(at)  # the same rows again: the user's pick comes back, not the guess
    assert at.session_state[DATASET].target == "is_member"
    assert SUGGESTED not in page_text(at)


# --------------------------------------------------------------------------- source


def test_the_source_choice_survives_a_visit_to_another_page():
    at = open_app()
    at.radio(key="data_source").set_value("Fake a dataset").run()
    assert at.selectbox(key="fake_domain")
    for page in ("app_pages/train.py", "app_pages/compare.py"):
        at.switch_page(page).run()
        assert not at.exception
    at.switch_page("app_pages/data.py").run()
    assert at.radio(key="data_source").value == "Fake a dataset"
    assert at.selectbox(key="fake_domain")  # the fake-data form, not the sample cards
    assert not any(button.key.startswith("load_sample_") for button in at.button)


# --------------------------------------------------------------------------- metadata grid


def test_the_metadata_grid_shows_all_rows_of_a_20_column_table(monkeypatch):
    frame = make_people(60)
    rng = np.random.default_rng(3)
    for index in range(20 - len(frame.columns)):
        frame[f"reading_{index}"] = rng.normal(size=len(frame)).round(3)
    table = detect_table(frame, "wide.csv", "test", target="churned")
    assert len(table.schema.columns) == 20
    longest = max(len(column.note) for column in table.schema.columns)
    assert longest > 60  # longer than one line of the grid's widest column (400 px)

    asked: list[dict[str, Any]] = []
    editor = st.data_editor

    def recording_editor(data: Any, *args: Any, **options: Any) -> Any:
        asked.append({"rows": len(data), **options})
        return editor(data, *args, **options)

    monkeypatch.setattr(st, "data_editor", recording_editor)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[DATASET] = table
    at.run()
    at.session_state["data_tab"] = "Metadata"
    at.run()
    assert not at.exception and asked
    grid = asked[-1]
    assert grid["rows"] == 20
    # The grid's own layout: a 35 px header, the rows and 2 px of border. A fixed height
    # below that would hide rows behind an inner scroll bar.
    assert isinstance(grid["height"], int) and grid["row_height"] == 35
    assert grid["height"] >= 35 + 20 * grid["row_height"] + 2
    # Every "why" note is shown in full under the grid, whose cells cut long text off.
    listed = page_text(at)
    for column in table.schema.columns:
        if column.note:
            assert f"**{column.name}**: {column.note}" in listed


# --------------------------------------------------------------------------- train


def other_workspaces_fit(runner: LocalJobRunner) -> str:
    """A CTGAN fit of another workspace that runs until it is cancelled."""
    from ui.state import workspace_id_of

    table = detect_table(make_people(120), "people.csv", "test", target="churned")
    request = TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer="ctgan", preset="quick", seed=0, split=SplitSpec(target="churned"),
        params=resolve_params("ctgan", "quick", {"epochs": 5000, "time_limit": 0}, rows=84))
    return runner.start(request, table.frame, workspace=workspace_id_of("someone else"))


def test_train_is_off_while_this_sessions_fit_waits_or_runs(monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")
    runner = LocalJobRunner()
    blocker = other_workspaces_fit(runner)  # holds the one slot until it is cancelled
    job = None
    try:
        at = open_app()
        at.button(key="load_sample_customers").click().run()
        at.switch_page("app_pages/train.py").run()
        assert not at.button(key="train_start").disabled
        at.radio(key="train_synthesizer").set_value("ctgan").run()
        at.radio(key="train_preset").set_value("best").run()  # no time limit
        at.number_input(key="param_ctgan_best_epochs").set_value(5000).run()
        at.button(key="train_start").click().run()
        job = at.session_state[JOB]
        assert runner.status(job).state == "queued"
        assert at.button(key="train_start").disabled
        assert ("Train is off while **CTGAN** with edited settings (seed 0) waits in the "
                "queue in this workspace") in page_text(at)

        runner.cancel(blocker)  # the slot frees and this session's fit starts
        poll(at, lambda at: runner.status(job).state == "running", "the fit to start")
        assert at.button(key="train_start").disabled
        assert "is training in this workspace" in page_text(at)

        at.button(key="train_cancel").click().run()
        poll(at, lambda at: JOB not in at.session_state, "the fit to end")
        assert not at.button(key="train_start").disabled
        assert "Train is off" not in page_text(at)
    finally:
        for job_id in (blocker, job):
            if job_id is not None:
                runner.cancel(job_id)


# --------------------------------------------------------------------------- demo


def test_the_demo_hides_what_its_steps_do_not_need_and_names_the_preset_it_trains():
    at = open_app()
    assert at.radio(key="data_source")
    at.button(key="demo_start").click().run()
    assert not at.exception
    assert not any(radio.key == "data_source" for radio in at.radio)  # no source picker
    assert not any(button.key.startswith("load_sample_") for button in at.button)
    assert "The guided demo's table is loaded" in page_text(at)

    at.button(key="demo_next").click().run()  # → Train
    assert at.title[0].value == "Train"
    assert not any(radio.key == "train_preset" for radio in at.radio)  # the demo's own fit
    at.button(key="demo_train").click().run()
    poll(at, lambda at: JOB not in at.session_state, "the demo's fit to end")
    record = at.session_state[MODEL]
    title = REGISTRY[record.synthesizer].title
    assert (f"The demo trained **{title}** with the **{record.preset.capitalize()}** preset "
            f"(seed {record.seed}).") in page_text(at)

    at.button(key="demo_next").click().run()  # → Generate
    assert at.title[0].value == "Generate"
    at.button(key="demo_generate").click().run()
    assert SYNTHETIC in at.session_state and not at.exception
    assert at.get("download_button")  # the rows are there to look at and download
    assert "Write to a database" not in [header.value for header in at.subheader]
    assert not any(button.key == "gen_db_write" for button in at.button)

    at.button(key="demo_stop").click().run()  # after the demo, everything is back
    assert "Write to a database" in [header.value for header in at.subheader]
    at.switch_page("app_pages/data.py").run()
    assert at.radio(key="data_source")
