"""AppTest: every page opens, and the Data → Train → Generate flow works through widgets.

Fits, large samples and evaluations run in job workers; tests wait for them by rerunning
the page (as its one-second fragment does) until the session's state says they ended.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.data.splitting import SplitSpec
from core.engine.catalogue import REGISTRY, resolve_params
from core.engine.device import DeviceInfo
from core.engine.metadata import detect_table
from core.engine.training import TrainingRequest
from core.jobs.local import LocalJobRunner
from tests.apptest import open_app, poll, texts
from tests.helpers import make_people, shown

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PAGES = ["app_pages/data.py", "app_pages/train.py", "app_pages/generate.py",
         "app_pages/evaluate.py", "app_pages/compare.py", "app_pages/privacy_budget.py"]
DATASET = "studio.dataset"
MODEL = "studio.current_model"
JOB = "studio.current_job"
SAMPLE_JOB = "studio.sample_job"
EVALUATION_JOB = "studio.evaluation_job"
SYNTHETIC = "studio.synthetic"
DEADLINE_S = 180


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def load_sample(at: AppTest, key: str = "loans") -> AppTest:
    at.button(key=f"load_sample_{key}").click().run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def open_tab(at: AppTest, tabs_key: str, name: str) -> AppTest:
    """Open a tab of stateful ``st.tabs`` as a click would (AppTest cannot click tabs)."""
    at.session_state[tabs_key] = name
    at.run()
    assert not at.exception
    return at


def wait_for_job(at: AppTest, timeout: float = DEADLINE_S) -> None:
    poll(at, lambda at: JOB not in at.session_state, "the training job to end", timeout)


def evaluating(at: AppTest) -> bool:
    """True while the Evaluate page follows an evaluation job."""
    entry = at.session_state[EVALUATION_JOB] if EVALUATION_JOB in at.session_state else None
    return bool(entry and entry["job_id"])


def wait_for_evaluation(at: AppTest) -> None:
    poll(at, lambda at: not evaluating(at), "the evaluation job to end")
    assert EVALUATION_JOB not in at.session_state, at.session_state[EVALUATION_JOB]["error"]


def train_here(at: AppTest, synthesizer: str = "gaussian_copula", preset: str = "quick"):
    """Fit in this process into the session's workspace; make it the current model.

    Returns:
        (the record, the workspace's registry).
    """
    from core.engine.training import run_training
    from core.store.registry import ModelRegistry
    from core.workflow import plan_request
    from ui.state import workspace_id_of

    table = at.session_state[DATASET]
    registry = ModelRegistry(workspace=workspace_id_of(at.query_params["ws"]))
    record = run_training(plan_request(table, synthesizer, preset, device="cpu"),
                          table.frame, registry=registry)
    at.session_state[MODEL] = record
    return record, registry


def other_workspaces_fit(runner: LocalJobRunner, synthesizer: str = "ctgan",
                         seed: int = 0) -> str:
    """Start a fit for another workspace; a CTGAN one runs until it is cancelled."""
    from ui.state import workspace_id_of

    table = detect_table(make_people(120), "people.csv", "test", target="churned")
    overrides = {"epochs": 5000, "time_limit": 0} if synthesizer == "ctgan" else None
    request = TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset="quick", seed=seed, split=SplitSpec(target="churned"),
        params=resolve_params(synthesizer, "quick", overrides, rows=84))
    return runner.start(request, table.frame, workspace=workspace_id_of("someone else"))


def stages(at: AppTest) -> list[str]:
    """The stages the job panel shows with a spinner (work without a measured fraction)."""
    return [shown(status.label) for status in at.status]


# --------------------------------------------------------------------------- smoke


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_without_a_dataset(page):
    at = open_app()
    at.switch_page(page).run()
    assert not at.exception
    assert at.title[0].value == Path(page).stem.replace("_", " ").capitalize()
    if page != "app_pages/data.py":
        assert "Load or fake a dataset first." in texts(at.info)


def test_sidebar_shows_the_dataset_model_and_device():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[DATASET] = detect_table(make_people(100), "people.csv", "test")
    at.run()
    sidebar = " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))
    assert "people.csv" in sidebar and "100 rows × 14 columns" in sidebar
    assert "none trained yet" in sidebar and "Device" in sidebar


def test_sidebar_follows_the_session_on_later_runs_and_pages():
    # Every run goes through app.py (with a pages/ folder beside it, runs after the first
    # ran the page script alone and the sidebar came back empty).
    at = load_sample(open_app(), "loans")
    sidebar = " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))
    assert "loans.csv" in sidebar and "5,000 rows × 16 columns" in sidebar
    at.switch_page("app_pages/train.py").run()
    assert not at.exception and at.title[0].value == "Train"
    sidebar = " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))
    assert "loans.csv" in sidebar and "none trained yet" in sidebar and "Device" in sidebar


# --------------------------------------------------------------------------- data


def test_load_a_sample_dataset():
    at = load_sample(open_app(), "transactions")
    table = at.session_state[DATASET]
    assert table.name == "transactions.csv" and table.target == "is_fraud"
    assert "Loaded **transactions.csv**: 8,000 rows × 13 columns." in texts(at.success)
    assert at.dataframe  # the preview (the first tab) is drawn


def test_upload_a_file_then_a_bad_one_keeps_the_first():
    at = open_app()
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "accents_latin1.csv", (DATA / "accents_latin1.csv").read_bytes(), "text/csv")
    at.run()
    assert not at.exception
    assert at.session_state[DATASET].name == "accents_latin1.csv"
    notes = " ".join(at.session_state[DATASET].notes)
    assert "latin" in notes.lower() or "1252" in notes

    at.file_uploader(key="upload_file").set_value(
        ("empty.csv", (DATA / "bad" / "empty.csv").read_bytes(), "text/csv"))
    at.run()
    assert not at.exception
    assert any("empty" in message.lower() for message in texts(at.error))
    assert at.session_state[DATASET].name == "accents_latin1.csv"


def test_empty_columns_can_be_dropped_on_request():
    at = open_app()
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "all_null_column.csv", (DATA / "bad" / "all_null_column.csv").read_bytes(), "text/csv")
    at.run()
    assert at.error and DATASET not in at.session_state
    at.button(key="upload_retry_drop_empty").click().run()
    assert DATASET in at.session_state
    assert at.session_state[DATASET].name == "all_null_column.csv"


def test_excel_sheet_picker():
    at = open_app()
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "two_sheets.xlsx", (DATA / "two_sheets.xlsx").read_bytes(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    at.run()
    assert at.selectbox(key="upload_sheet").options
    at.selectbox(key="upload_sheet").set_value("Loans").run()
    at.button(key="upload_load_sheet").click().run()
    assert not at.exception and not at.error
    assert at.session_state[DATASET].name == "two_sheets.xlsx"


def test_fake_a_dataset_twice_with_one_seed_gives_the_same_table():
    fingerprints = []
    for _ in range(2):
        at = open_app()
        at.radio(key="data_source").set_value("Fake a dataset").run()
        at.selectbox(key="fake_domain").set_value("patients").run()
        at.number_input(key="fake_rows").set_value(300)
        at.number_input(key="fake_seed").set_value(7)
        at.button(key="fake_generate").click()
        at.run()
        assert not at.exception
        table = at.session_state[DATASET]
        assert len(table.frame) == 300 and table.target == "readmitted"
        fingerprints.append(table.fingerprint)
    assert fingerprints[0] == fingerprints[1]


def test_data_page_draws_only_the_open_tab():
    at = load_sample(open_app())
    assert at.session_state["data_tab"] == "Preview"  # the first tab is open at first
    assert len(at.dataframe[0].value) == 200  # the preview's first rows
    assert not at.get("plotly_chart") and not at.data_editor

    open_tab(at, "data_tab", "Profile")
    table = at.session_state[DATASET]
    charts = at.get("plotly_chart")
    assert len(charts) == len(table.frame.columns)  # one chart per column
    assert len(at.dataframe[0].value) == len(table.frame.columns)  # one profile row each
    assert not at.data_editor

    open_tab(at, "data_tab", "Metadata")
    assert at.data_editor and not at.get("plotly_chart")
    # What sits under the tabs is there whichever tab is open.
    assert any(box.key.startswith("target_select") for box in at.selectbox)


def test_edit_metadata_and_target():
    at = load_sample(open_app())
    open_tab(at, "data_tab", "Metadata")
    assert at.data_editor  # the editable metadata table is shown
    at.selectbox(key="column_form_column").set_value("state").run()
    action_box = next(b for b in at.selectbox if b.key.startswith("column_form_action_state"))
    assert action_box.value == "model"
    action_box.set_value("drop")
    at.button[[b.label for b in at.button].index("Apply")].click()
    at.run()
    schema = at.session_state[DATASET].schema
    assert schema.column("state").action == "drop" and "state" not in schema.kept_columns

    at.selectbox(key="column_form_column").set_value("annual_income").run()
    next(b for b in at.selectbox
         if b.key.startswith("column_form_action_annual_income")).set_value("fake")
    at.button[[b.label for b in at.button].index("Apply")].click()
    at.run()
    assert any("'fake' needs a kind" in message for message in texts(at.error))

    open_tab(at, "data_tab", "Preview")  # the picked column is kept while another tab is open
    open_tab(at, "data_tab", "Metadata")
    assert at.selectbox(key="column_form_column").value == "annual_income"

    target_box = next(box for box in at.selectbox if box.key.startswith("target_select"))
    target_box.set_value("home_ownership").run()
    assert at.session_state[DATASET].target == "home_ownership"
    at.button(key="metadata_reset").click().run()
    assert at.session_state[DATASET].schema.column("state").action == "model"


# --------------------------------------------------------------------------- train


def test_train_quick_gaussian_copula_then_reuse_it_and_generate():
    at = load_sample(open_app(), "customers")
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    at.radio(key="train_preset").set_value("quick").run()
    assert any("Estimated fit time" in text for text in texts(at.markdown))
    at.button(key="train_start").click().run()
    assert JOB in at.session_state
    wait_for_job(at)
    record = at.session_state[MODEL]
    assert record.synthesizer == "gaussian_copula" and record.preset == "quick"
    # The fit's own time and the whole wait (starting the worker, saving) are both said.
    assert any(re.fullmatch(r"Trained \*\*Gaussian Copula · quick · seed 0\*\* in [\d.]+ s "
                            r"\(fit\) · [\d.]+ s in all\.", text) for text in texts(at.success)), (
        texts(at.success))
    assert "Gaussian Copula · quick · seed 0" in at.dataframe[-1].value["model"].tolist()

    at.button(key="train_start").click().run()  # same settings → from the cache
    assert JOB not in at.session_state
    assert any("from the cache" in text for text in texts(at.success))

    at.switch_page("app_pages/generate.py").run()
    assert at.number_input(key="gen_rows").value == record.train_rows
    at.number_input(key="gen_rows").set_value(500)
    at.button(key="gen_start").click().run()
    assert not at.exception and not at.error
    assert len(at.session_state["studio.synthetic"].frame) == 500
    assert [b.label for b in at.get("download_button")] == [
        "Download CSV", "Download Parquet", "Download Excel"]


def test_a_fit_shows_its_stage_and_a_bar_only_once_it_counts_epochs(monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")
    runner = LocalJobRunner()
    blocker = other_workspaces_fit(runner)  # holds the one slot until it is cancelled
    job = None
    try:
        at = load_sample(open_app(), "customers")
        at.switch_page("app_pages/train.py").run()
        at.radio(key="train_synthesizer").set_value("tvae").run()
        at.radio(key="train_preset").set_value("best").run()  # no time limit
        at.number_input(key="param_tvae_best_epochs").set_value(5000).run()
        at.button(key="train_start").click().run()
        job = at.session_state[JOB]
        assert runner.status(job).state == "queued"
        # Waiting: the stage with a spinner, the place in line, no percentage.
        assert stages(at) == ["Waiting in the queue"]
        assert any("1st in line — cancel works while waiting." in text
                   for text in texts(at.caption))
        assert not at.get("progress")

        runner.cancel(blocker)  # the slot frees and the fit starts

        def shows_a_bar(at: AppTest) -> bool:
            """Every run: a spinner with a stage before epochs count, then the count."""
            bars = at.get("progress")
            if not bars:
                assert len(stages(at)) == 1 and "epoch" not in stages(at)[0].lower(), stages(at)
                return False
            assert not stages(at)
            counted = re.fullmatch(r"Training: epoch (\d+) of 5000", shown(bars[0].text))
            assert counted and int(counted[1]) >= 1, bars[0].text
            assert bars[0].value == int(int(counted[1]) / 5000 * 100)
            return True

        poll(at, shows_a_bar, "the fit to count its first epoch")
        at.button(key="train_cancel").click().run()
        wait_for_job(at)
        assert "Training was cancelled. Nothing was saved." in texts(at.info)
        assert not at.get("progress") and not at.status
    finally:
        for job_id in (blocker, job):
            if job_id is not None:
                runner.cancel(job_id)


def test_a_fit_waiting_in_line_shows_its_place_and_is_cancelled_before_it_starts(monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")
    runner = LocalJobRunner()
    blocker = other_workspaces_fit(runner)  # runs
    first_in_line = other_workspaces_fit(runner, "gaussian_copula")  # waits
    job = None
    try:
        at = load_sample(open_app(), "customers")
        at.switch_page("app_pages/train.py").run()
        at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
        at.radio(key="train_preset").set_value("quick").run()
        at.button(key="train_start").click().run()
        job = at.session_state[JOB]
        assert any("2nd in line — cancel works while waiting." in text
                   for text in texts(at.caption))
        assert stages(at) == ["Waiting in the queue"] and not at.get("progress")
        assert at.button(key="train_start").disabled

        at.button(key="train_cancel").click().run()
        wait_for_job(at)
        assert "Training was cancelled. Nothing was saved." in texts(at.info)
        ended = runner.status(job)
        assert ended.state == "cancelled" and ended.launched_at is None  # it never started
        assert not at.button(key="train_start").disabled
        # The other workspace's jobs go on as they were.
        assert runner.status(blocker).state == "running"
        assert runner.status(first_in_line).queue_position == 1
    finally:
        for job_id in (first_in_line, blocker, job):
            if job_id is not None:
                runner.cancel(job_id)


def test_a_large_sample_is_generated_in_a_job_that_a_reload_follows():
    from core.workflow import IN_PROCESS_SAMPLE_ROWS

    before = load_sample(open_app(), "customers")
    record, _registry = train_here(before)
    before.switch_page("app_pages/generate.py").run()
    rows = IN_PROCESS_SAMPLE_ROWS + 1
    before.number_input(key="gen_rows").set_value(rows).run()
    before.button(key="gen_start").click().run()
    assert not before.exception and not before.error
    job = before.session_state[SAMPLE_JOB]
    assert LocalJobRunner().status(job).kind == "sample"
    assert SYNTHETIC not in before.session_state  # the rows come from the worker
    assert before.button(key="gen_start").disabled and before.button(key="sample_cancel")

    # A reload (a new session on the workspace's link) follows the job and gets the rows.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = before.query_params["ws"]
    at.run()
    at.switch_page("app_pages/generate.py").run()
    assert not at.exception
    poll(at, lambda at: SAMPLE_JOB not in at.session_state, "the sample job to end")
    assert not at.error
    sample = at.session_state[SYNTHETIC]
    assert len(sample.frame) == rows and sample.model_id == record.model_id
    assert any(text.startswith(f"Generated {rows:,} rows in ") and "background worker" in text
               for text in texts(at.success))
    assert at.subheader[0].value == f"{rows:,} synthetic rows"
    assert not at.button(key="gen_start").disabled


def test_evaluate_page_evaluates_in_a_job_and_shows_the_verdict():
    at = load_sample(open_app(), "customers")
    record, registry = train_here(at)
    at.switch_page("app_pages/evaluate.py").run()
    at.button(key="eval_generate").click().run()  # 2,800 rows: drawn here, then evaluated
    assert not at.exception and not at.error
    assert len(at.session_state[SYNTHETIC].frame) == record.train_rows
    entry = at.session_state[EVALUATION_JOB]
    assert LocalJobRunner().status(entry["job_id"]).kind == "evaluate"
    assert at.button(key="eval_cancel")  # the job's panel
    assert "Quality score" not in metrics(at)

    wait_for_evaluation(at)
    assert at.session_state["eval_tab"] == "Verdict"
    assert at.subheader[0].value  # the verdict's headline
    assert {"Quality score", "Utility ratio", "Exact copies"} <= set(metrics(at))
    stored = registry.get(record.model_id)  # the page recorded the scores with the model
    assert "quality" in stored.scores
    assert at.session_state[MODEL].scores == stored.scores


def test_the_estimate_includes_starting_a_worker_unless_one_is_warm(monkeypatch):
    at = load_sample(open_app(), "customers")
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()

    def estimate() -> tuple[str, float]:
        text = next(text for text in texts(at.markdown) if "Estimated fit time" in text)
        return text, float(re.search(r"\*\*about ([\d.]+) s\b", text)[1])

    monkeypatch.setattr(LocalJobRunner, "startup_seconds_estimate", lambda self: 30.0)
    at.run()
    cold, cold_seconds = estimate()
    assert "including ~30 s to start a worker" in cold and cold_seconds >= 30
    monkeypatch.setattr(LocalJobRunner, "startup_seconds_estimate", lambda self: 0.5)  # warm
    at.run()
    warm, warm_seconds = estimate()
    assert "to start a worker" not in warm and warm_seconds == pytest.approx(cold_seconds - 29.5,
                                                                               abs=0.6)


def test_invalid_hyperparameters_are_refused_before_training():
    at = load_sample(open_app())
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_synthesizer").set_value("ctgan").run()
    at.number_input(key="param_ctgan_balanced_batch_size").set_value(505).run()
    assert any("multiple of pac" in message for message in texts(at.error))
    assert at.button(key="train_start").disabled
    assert JOB not in at.session_state


def test_train_page_shows_a_gpu_when_torch_reports_one(monkeypatch):
    from ui import caching

    gpu = DeviceInfo(kind="cuda", label="NVIDIA T4 (CUDA)", cpu_threads=2)
    monkeypatch.setattr(caching, "detect_device", lambda: gpu)
    at = load_sample(open_app())
    at.switch_page("app_pages/train.py").run()
    assert "CUDA" in at.radio(key="train_device").options  # formatted labels
    at.radio(key="train_synthesizer").set_value("ctgan").run()
    assert any("NVIDIA T4 (CUDA)" in text for text in texts(at.caption))
    at.radio(key="train_device").set_value("cpu").run()
    assert any("Runs on: **CPU**" in text for text in texts(at.caption))


def test_compare_two_fast_synthesizers():
    at = load_sample(open_app(), "customers")
    at.switch_page("app_pages/compare.py").run()
    at.multiselect(key="compare_candidates").set_value(
        ["gaussian_copula:quick", "gaussian_copula:balanced"]).run()
    at.button(key="compare_start").click().run()
    deadline = time.monotonic() + 240
    while "studio.compare.job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and not at.error
    board = at.dataframe[0].value
    assert list(board["preset"]) and set(board["preset"]) == {"quick", "balanced"}
    recommended = next(text for text in texts(at.success) if text.startswith("Recommended"))
    assert "Gaussian Copula" in recommended
    assert at.get("plotly_chart")  # the privacy-vs-utility chart
    at.button(key="compare_use").click().run()
    assert at.session_state[MODEL].synthesizer == "gaussian_copula"


def test_guided_demo_runs_to_completion():
    at = open_app()
    at.button(key="demo_start").click().run()
    table = at.session_state[DATASET]
    assert table.name == "demo: loan applicants" and len(table.planted.canary_positions) == 8
    assert any("Step 1 of 4" in text for text in texts(at.markdown))

    at.button(key="demo_next").click().run()  # → Train
    assert at.title[0].value == "Train"
    assert any("Step 2 of 4" in text for text in texts(at.markdown))
    at.button(key="demo_train").click().run()
    wait_for_job(at)
    assert at.session_state[MODEL].preset == "balanced"

    at.button(key="demo_next").click().run()  # → Generate
    assert at.title[0].value == "Generate"
    at.button(key="demo_generate").click().run()
    assert len(at.session_state["studio.synthetic"].frame) == at.session_state[MODEL].train_rows

    at.button(key="demo_next").click().run()  # → Evaluate
    assert at.title[0].value == "Evaluate" and not at.exception
    assert any("Step 4 of 4" in text for text in texts(at.markdown))
    wait_for_evaluation(at)
    assert at.subheader  # the verdict headline
    open_tab(at, "eval_tab", "Planted truth")
    assert any(label == "Canaries the model saw" for label in (m.label for m in at.metric))
    at.button(key="demo_finish").click().run()
    assert "studio.demo" not in at.session_state
    assert any(text.startswith("Demo finished") for text in texts(at.success))


def test_evaluate_page_draws_only_the_open_tab_and_keeps_picks_across_tabs():
    at = open_app()
    at.button(key="demo_start").click().run()  # the demo's path: the quickest to Evaluate
    at.button(key="demo_next").click().run()
    at.button(key="demo_train").click().run()
    wait_for_job(at)
    at.button(key="demo_next").click().run()
    at.button(key="demo_generate").click().run()
    at.button(key="demo_next").click().run()
    assert at.title[0].value == "Evaluate" and not at.exception
    wait_for_evaluation(at)
    assert at.session_state["eval_tab"] == "Verdict"  # the first tab is open at first
    assert "Quality score" in metrics(at) and "Median distance ratio" not in metrics(at)
    assert not at.get("plotly_chart") and not at.selectbox

    open_tab(at, "eval_tab", "Distributions")
    assert "Quality score" not in metrics(at)
    assert len(at.get("plotly_chart")) == 7  # the picked column and the six weakest
    column = at.selectbox(key="eval_column")
    picked = column.options[1]
    column.set_value(picked).run()

    open_tab(at, "eval_tab", "Privacy")
    assert "Median distance ratio" in metrics(at) and not at.selectbox
    open_tab(at, "eval_tab", "Distributions")
    assert at.selectbox(key="eval_column").value == picked

    open_tab(at, "eval_tab", "Record explorer")
    first_row = metrics(at)["Closest synthetic row to this real row"]
    at.session_state["explorer_rows"] = {"selection": {"rows": [3], "columns": []}}  # a click
    at.run()
    picked_row = metrics(at)["Closest synthetic row to this real row"]
    assert picked_row != first_row
    open_tab(at, "eval_tab", "Verdict")
    open_tab(at, "eval_tab", "Record explorer")
    assert metrics(at)["Closest synthetic row to this real row"] == picked_row


def test_evaluate_page_badges_are_the_verdicts_levels():
    """Scores where the page's badges and the verdict used to disagree read as the verdict."""
    import dataclasses
    from types import SimpleNamespace

    import pandas as pd

    from core.engine.models import load_synthesizer
    from core.evaluation.verdict import make_verdict
    from core.store.registry import ModelRegistry
    from core.workflow import (
        evaluate_sample,
        fit_in_process,
        model_parts,
        plan_request,
        sample_model,
        train_or_reuse,
    )

    def verdict_level(score: float) -> str:
        quality = SimpleNamespace(quality_score=score, quality_properties=pd.DataFrame(
            {"Property": ["Column Shapes"], "Score": [score]}))
        return make_verdict(quality, None, None).fidelity.level  # type: ignore[arg-type]

    at = load_sample(open_app(), "customers")
    table = at.session_state[DATASET]
    registry = ModelRegistry()
    record = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=5),
                            table.frame, registry, fit_in_process(registry)).record
    sample = sample_model(load_synthesizer(registry, record.model_id), record, rows=300)
    result = evaluate_sample(record, sample, *model_parts(table, record))
    scores = [0.95, 0.87, 0.80, 0.72, 0.50]  # 0.87 was "fair" and 0.72 "poor" on the page
    columns = [dataclasses.replace(column, score=scores[index % len(scores)])
               for index, column in enumerate(result.columns)]
    shown_result = dataclasses.replace(
        result, columns=columns,
        correlation=dataclasses.replace(result.correlation, pair_score=0.87))
    at.session_state[MODEL] = record
    at.session_state["studio.synthetic"] = sample
    at.session_state["studio.evaluations"] = {sample.key: shown_result}
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception

    open_tab(at, "eval_tab", "Distributions")
    board = at.dataframe[0].value
    assert set(board["score"]) == set(scores[:len(columns)])
    for score, reading in zip(board["score"], board["reading"], strict=True):
        assert reading == verdict_level(score), score
    open_tab(at, "eval_tab", "Correlations")
    assert verdict_level(0.87) == "good"
    assert any(text.startswith("**Reading:** :green-badge[good]") for text in texts(at.markdown))


def test_presentation_mode_hides_advanced_controls():
    at = load_sample(open_app())
    at.switch_page("app_pages/train.py").run()
    assert any(e.label == "Advanced hyperparameters" for e in at.expander)
    at.session_state["studio.presentation"] = True
    at.run()
    assert not any(e.label == "Advanced hyperparameters" for e in at.expander)
    assert not at.exception


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_synthesizer_shows_its_card_and_an_estimate_on_train(key):
    # A sequence-only synthesizer is offered for event tables only (synthesizers_for).
    at = load_sample(open_app(), "customers" if "table" in REGISTRY[key].shapes
                     else "bank_events")
    at.switch_page("app_pages/train.py").run()
    choice = at.radio(key="train_synthesizer")
    assert key in choice.options or REGISTRY[key].title in choice.options
    choice.set_value(key).run()
    assert not at.exception
    shown_text = texts(at.markdown)
    assert any(f"How {REGISTRY[key].title} works" in text for text in shown_text)
    assert any("Estimated fit time" in text for text in shown_text)
