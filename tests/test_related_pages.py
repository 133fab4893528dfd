"""AppTest: the related-tables screens on a tiny hand-made set of three tables.

customers (40) -> accounts (80) -> transactions (200): loading several CSVs draws the
relationship diagram, the editor removes and adds a relationship, an orphan is counted and
repaired, and the walk Train (HMA as a job) -> Generate (a job; one CSV per table in the
ZIP) -> Evaluate (a job; integrity 100 %) runs through the pages' widgets. A reload (a new
session on the same workspace link) brings back the related tables and their model.
"""

from __future__ import annotations

import io
import secrets
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.jobs.local import LocalJobRunner
from core.store.settings import get_settings
from tests.apptest import ROOT, open_app, poll, sidebar_text, texts
from ui.state import workspace_id_of

RELATED = "studio.related"
SAMPLE_JOB = "studio.related.sample_job"
EVALUATION_JOB = "studio.related.evaluation_job"
SOURCE = "Several related tables"


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def tiny_bank(orphans: int = 0, seed: int = 5) -> dict[str, pd.DataFrame]:
    """Three related tables; ``orphans`` accounts point at customers that do not exist."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({
        "customer_id": np.arange(1, 41),
        "age": rng.integers(18, 80, 40),
        "segment": rng.choice(["retail", "premium"], 40),
        "churned": rng.random(40) < 0.3,
    })
    owners = np.concatenate([customers["customer_id"].to_numpy(),
                             rng.choice(customers["customer_id"], 40)])
    if orphans:
        owners[:orphans] = 9000 + np.arange(orphans)
    accounts = pd.DataFrame({
        "account_id": np.arange(101, 181),
        "customer_id": owners,
        "kind": rng.choice(["checking", "savings"], 80),
        "balance": rng.normal(2000, 500, 80).round(2),
    })
    transactions = pd.DataFrame({
        "transaction_id": np.arange(1001, 1201),
        "account_id": np.concatenate([accounts["account_id"].to_numpy(),
                                      rng.choice(accounts["account_id"], 120)]),
        "amount": rng.gamma(2.0, 40.0, 200).round(2),
        "channel": rng.choice(["card", "online"], 200),
    })
    return {"customers": customers, "accounts": accounts, "transactions": transactions}


def open_workspace(token: str) -> AppTest:
    """A new browser session on the link of workspace ``token`` (a reload, a bookmark)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = token
    at.run()
    assert not at.exception, at.exception
    return at


def workspace_folder(token: str) -> Path:
    return get_settings().data_dir / "workspaces" / workspace_id_of(token)


def upload(at: AppTest, frames: dict[str, pd.DataFrame]) -> AppTest:
    """Choose "Several related tables" → "Several files", upload the CSVs and load them."""
    at.radio(key="data_source").set_value(SOURCE).run()
    at.radio(key="related_from").set_value("Several files").run()
    at.file_uploader(key="related_files").set_value(
        [(f"{name}.csv", frame.to_csv(index=False).encode(), "text/csv")
         for name, frame in frames.items()])
    at.run()
    at.button(key="related_files_load").click().run()
    assert not at.exception, at.exception
    return at


def diagram(at: AppTest) -> str:
    """The DOT source of the relationship diagram on the page."""
    charts = at.get("graphviz_chart")
    assert charts, "no diagram drawn"
    return charts[0].proto.spec


def arrows(dot: str) -> set[tuple[str, str]]:
    """(parent, child) table names of the diagram's arrows, read from the DOT source."""
    import re

    names = dict(re.findall(r'^  (t\d+) \[label="([^\\"]+)\\n', dot, flags=re.MULTILINE))
    return {(names[a], names[b])
            for a, b in re.findall(r"^  (t\d+) -> (t\d+) ", dot, flags=re.MULTILINE)}


def links(at: AppTest) -> set[str]:
    return {link.label for link in at.session_state[RELATED].relationships}


def test_several_files_draw_the_detected_relationships_and_the_editor_changes_them():
    at = upload(open_app(), tiny_bank())
    related = at.session_state[RELATED]
    assert related.names == ["customers", "accounts", "transactions"]
    owner = "customers.customer_id → accounts.customer_id"
    assert links(at) == {owner, "accounts.account_id → transactions.account_id"}
    dot = diagram(at)
    assert arrows(dot) == {("customers", "accounts"), ("accounts", "transactions")}
    assert "40 rows" in dot and "key: customer_id" in dot
    assert "3 files · 3 tables · 320 rows" in sidebar_text(at)

    at.selectbox(key="related_remove_pick").set_value(owner).run()
    at.button(key="related_remove").click().run()
    assert owner not in links(at)
    assert arrows(diagram(at)) == {("accounts", "transactions")}

    at.selectbox(key="related_add_parent").set_value("customers").run()
    at.selectbox(key="related_add_child").set_value("accounts").run()
    at.selectbox(key="related_add_parent_key_customers").set_value("customer_id").run()
    at.selectbox(key="related_add_child_key_accounts").set_value("customer_id").run()
    at.button(key="related_add").click().run()
    assert not at.exception, at.exception
    assert owner in links(at)
    assert ("customers", "accounts") in arrows(diagram(at))


def test_an_orphan_shows_its_count_and_the_repair_removes_it():
    at = upload(open_app(), tiny_bank(orphans=3))
    shown = " ".join(texts(at.error) + texts(at.warning))
    assert "accounts" in shown and "3" in shown, shown
    at.button(key="related_repair").click().run()
    assert not at.exception, at.exception
    related = at.session_state[RELATED]
    from core.data.related import check_related

    assert not [issue for issue in check_related(related) if issue.kind == "orphans"]
    assert len(related.table("accounts").frame) == 77
    assert not any("9000" in text or "orphan" in text.lower()
                   for text in texts(at.error) + texts(at.warning))
    assert any("Repaired" in text for text in texts(at.success))


def test_loading_one_table_clears_the_related_tables():
    at = upload(open_app(), tiny_bank())
    assert RELATED in at.session_state
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "customers.csv", tiny_bank()["customers"].to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert RELATED not in at.session_state
    assert at.session_state["studio.dataset"].name == "customers.csv"
    assert "3 tables" not in sidebar_text(at)


def test_the_diagram_escapes_hostile_names():
    from core.data.related import RelatedTables, Relationship
    from core.engine.metadata import detect_table
    from ui.related import relationship_dot

    frame = pd.DataFrame({"id": [1, 2], 'x"];evil': [1, 2]})
    parent = detect_table(frame, name='p"] -> x [label="', source="test")
    child = detect_table(frame, name="c\\", source="test")
    related = RelatedTables((parent, child), (
        Relationship(parent.name, "id", child.name, 'x"];evil'),))
    dot = relationship_dot(related)
    assert 'p\\"] -> x [label=\\"' in dot  # the quotes stay inside the label
    assert "c\\\\" in dot
    assert dot.count("->") == 2  # the one arrow, and the one inside a label
    assert "t0 -> t1" in dot


def write_sqlite(path, frames: dict[str, pd.DataFrame]) -> None:
    """The tiny bank as SQLite with its primary and foreign keys declared."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, age INTEGER, "
            "segment TEXT, churned INTEGER);"
            "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, customer_id INTEGER "
            "REFERENCES customers(customer_id), kind TEXT, balance REAL);"
            "CREATE TABLE transactions (transaction_id INTEGER PRIMARY KEY, account_id "
            "INTEGER REFERENCES accounts(account_id), amount REAL, channel TEXT);")
        for name, frame in frames.items():
            frame.to_sql(name, connection, if_exists="append", index=False)


def test_a_database_schema_brings_its_declared_foreign_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DB_FILE_DIRS", str(tmp_path))
    write_sqlite(tmp_path / "tiny.db", tiny_bank())
    at = open_app()
    at.radio(key="data_source").set_value(SOURCE).run()
    at.radio(key="related_from").set_value("A database schema").run()
    at.text_input(key="related_db_url").set_value(f"sqlite:///{tmp_path / 'tiny.db'}").run()
    at.button(key="related_db_connect").click().run()
    assert not at.exception, at.exception
    assert set(at.multiselect(key="related_db_tables").value) == {
        "customers", "accounts", "transactions"}
    at.button(key="related_db_load").click().run()
    assert not at.exception, at.exception
    related = at.session_state[RELATED]
    assert {(r.label, r.source) for r in related.relationships} == {
        ("customers.customer_id → accounts.customer_id", "declared"),
        ("accounts.account_id → transactions.account_id", "declared")}
    assert arrows(diagram(at)) == {("customers", "accounts"), ("accounts", "transactions")}


def test_train_hma_as_a_job_then_generate_and_evaluate(monkeypatch, tmp_path):
    from core.engine.related_metadata import detect_related
    from ui.related_work import tables_zip

    monkeypatch.setenv("STUDIO_MAX_JOBS", "1")
    related = detect_related(tiny_bank(), name="tiny bank", source="test",
                             target=("customers", "churned"))
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    at.session_state[RELATED] = related
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="related_synthesizer").value == "hma"
    assert any("Estimated fit time" in text for text in texts(at.markdown))
    at.radio(key="related_synthesizer").set_value("tabular_argn").run()
    assert not at.exception, at.exception
    assert any("How TabularARGN works" in text for text in texts(at.markdown))
    assert any("Estimated fit time" in text for text in texts(at.markdown))
    at.radio(key="related_synthesizer").set_value("hma").run()
    at.button(key="related_train").click().run()
    assert not at.exception, at.exception
    assert "studio.related.job" in at.session_state  # a job, not a fit in the page
    poll(at, lambda at: "studio.related.job" not in at.session_state, "the related fit")
    record = at.session_state["studio.related.model"]
    assert record.shape == "related" and record.synthesizer == "hma"
    assert any("Trained" in text for text in texts(at.success))

    at.switch_page("app_pages/generate.py").run()
    at.button(key="related_generate").click().run()
    assert not at.exception, at.exception
    # A job generates the tables, not the page: the session holds its id, no tables yet.
    entry = at.session_state[SAMPLE_JOB]
    assert "studio.related.sample" not in at.session_state
    assert LocalJobRunner().status(entry["job_id"]).kind == "sample"
    poll(at, lambda at: SAMPLE_JOB not in at.session_state, "the related sample job")
    assert any("in a background worker" in text for text in texts(at.success))
    tables = at.session_state["studio.related.sample"]["tables"]
    assert list(tables) == ["customers", "accounts", "transactions"]
    assert [tab.label.split(" (")[0] for tab in at.tabs] == list(tables)
    with zipfile.ZipFile(io.BytesIO(tables_zip(tables))) as archive:
        assert sorted(archive.namelist()) == ["accounts.csv", "customers.csv",
                                              "transactions.csv"]
        accounts = pd.read_csv(archive.open("accounts.csv"))
    assert len(accounts) == len(tables["accounts"])
    assert at.get("download_button")  # the ZIP's button is drawn

    monkeypatch.setenv("STUDIO_DB_FILE_DIRS", str(tmp_path))
    at.text_input(key="related_db_out_url").set_value(f"sqlite:///{tmp_path / 'out.db'}")
    at.button(key="related_db_write").click().run()
    assert not at.exception, at.exception
    written = " ".join(texts(at.success))
    assert "Wrote 3 tables" in written and "2 foreign keys declared" in written, written
    assert "Broken links: 0" in written

    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    job_id = at.session_state[EVALUATION_JOB]["job_id"]  # a job evaluates, not the page
    assert LocalJobRunner().status(job_id).kind == "evaluate"
    poll(at, lambda at: EVALUATION_JOB not in at.session_state, "the related evaluation job")
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["Referential integrity"] == "100.0%"
    assert any("Every synthetic child row points at a parent" in text
               for text in texts(at.markdown))
    for tab in ("Tables", "Usefulness", "Privacy", "Report"):
        at.session_state["related_eval_tab"] = tab
        at.run()
        assert not at.exception, (tab, at.exception)
    at.session_state["related_eval_tab"] = "Tables"
    at.run()
    at.selectbox(key="related_eval_table").set_value("accounts").run()
    assert at.selectbox(key="related_eval_column_accounts").options  # its columns, charted
    from core.evaluation.multi_table import related_report_html

    result = at.session_state["studio.related.evaluation"]["result"]
    assert "<html" in related_report_html(result, title="tiny bank").lower()

    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, at.exception
    assert any("one table at a time" in text for text in texts(at.info))
    board = at.dataframe[0].value
    assert board["referential integrity"].tolist() == [1.0]  # recorded by the evaluation

    # A reload (a new session on the same link) brings back the tables and their model.
    reloaded = open_workspace(token)
    again = reloaded.session_state[RELATED]
    assert again.fingerprint == related.fingerprint and again.target == related.target
    assert reloaded.session_state["studio.related.model"].model_id == record.model_id
    reloaded.switch_page("app_pages/generate.py").run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.button(key="related_generate")  # straight to Generate, model in place
    # The uploaded rows are kept privately, signed for this workspace only.
    folder = workspace_folder(token)
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()} == {
        "state.json": 0o600, "related.pkl": 0o600}
    stranger = secrets.token_urlsafe(16)
    shutil.copytree(folder, workspace_folder(stranger))
    copied = open_workspace(stranger)
    assert RELATED not in copied.session_state  # another workspace's signature: not read
    assert any("could not be brought back" in text for text in texts(copied.warning))


def test_a_reload_brings_back_the_bank_sample_with_its_edits_from_its_recipe():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    at.radio(key="data_source").set_value(SOURCE).run()
    at.radio(key="related_from").set_value("The bank sample").run()
    at.button(key="related_load_bank").click().run()
    assert not at.exception, at.exception
    loaded = at.session_state[RELATED]
    gone = loaded.relationships[-1].label
    at.selectbox(key="related_remove_pick").set_value(gone).run()
    at.button(key="related_remove").click().run()
    edited = at.session_state[RELATED]
    assert gone not in links(at)

    reloaded = open_workspace(token)
    again = reloaded.session_state[RELATED]
    assert again.fingerprint == edited.fingerprint
    assert gone not in links(reloaded) and again.target == loaded.target
    assert [t.schema.primary_key for t in again.tables] == [
        t.schema.primary_key for t in edited.tables]
    assert arrows(diagram(reloaded)) == arrows(diagram(at))
    # A shipped sample comes back from its key: no copy of its rows is kept.
    assert sorted(path.name for path in workspace_folder(token).iterdir()) == ["state.json"]


def test_the_privacy_budget_page_says_it_takes_one_table_and_switches_to_one():
    from core.engine.related_metadata import detect_related

    related = detect_related(tiny_bank(), name="tiny bank", source="test",
                             target=("customers", "churned"))
    at = open_app()
    at.session_state[RELATED] = related
    at.switch_page("app_pages/privacy_budget.py").run()
    assert not at.exception, at.exception
    said = " ".join(texts(at.info))
    assert "works on **one table** at a time" in said and "Load or fake" not in said, said
    assert at.selectbox(key="related_one_table").value == "customers"  # the target's table
    at.button(key="related_one_table_use").click().run()
    assert not at.exception, at.exception
    assert RELATED not in at.session_state
    assert at.session_state["studio.dataset"].name == "customers"
    assert at.button(key="sweep_start")  # the sweep is offered for that table
