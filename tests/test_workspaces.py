"""Workspaces (AppTest): each link has its own models and jobs, and a reload brings it back.

A workspace is the ``ws`` token in the page's URL; a new AppTest run with the same token is
a reload (or a bookmark, or a second tab) of that page.
"""

from __future__ import annotations

import secrets
import stat
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.jobs.local import LocalJobRunner
from core.store.registry import ModelRegistry
from core.store.settings import get_settings
from tests.apptest import page_text, sidebar_text, texts
from tests.helpers import make_people
from ui.caching import WorkspaceJobs
from ui.state import workspace_id_of
from ui.workspace import is_token

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TRAIN = "app_pages/train.py"
DATASET = "studio.dataset"
MODEL = "studio.current_model"
JOB = "studio.current_job"


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def open_workspace(token: str | None = None) -> AppTest:
    """Open the app (a new browser session) on the link of workspace ``token``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if token is not None:
        at.query_params["ws"] = token
    at.run()
    assert not at.exception
    return at


def load_sample(at: AppTest, key: str) -> None:
    at.button(key=f"load_sample_{key}").click().run()
    assert not at.exception


def train_quick_copula(at: AppTest, seed: int) -> None:
    """Train a Quick Gaussian Copula from the Train page and wait for it."""
    at.switch_page(TRAIN).run()
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    at.radio(key="train_preset").set_value("quick").run()
    at.number_input(key="train_seed").set_value(seed).run()
    at.button(key="train_start").click().run()
    wait_for_job(at)
    assert not at.error, texts(at.error)


def wait_for_job(at: AppTest, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while JOB in at.session_state and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert JOB not in at.session_state, "the job did not end in time"


def listed_models(at: AppTest) -> list[str]:
    """Model ids in the Train page's "Models for this dataset" table ([] if none)."""
    if any(text.startswith("None yet") for text in texts(at.caption)):
        return []
    return at.dataframe[-1].value["id"].tolist()


def registry_of(token: str) -> ModelRegistry:
    return ModelRegistry(workspace=workspace_id_of(token))


# --------------------------------------------------------------------------- the link


def test_a_session_gets_a_workspace_link_and_a_hostile_one_is_replaced():
    at = open_workspace()
    token = at.query_params["ws"]
    assert is_token(token)
    assert "Whoever has the link sees and changes this workspace" in sidebar_text(at)
    for hostile in ["../../etc/passwd", "x" * 21 + "/", "a" * 23, "é" * 22, "' OR 1=1 --",
                    ""]:
        at = open_workspace(hostile)
        replaced = at.query_params["ws"]
        assert replaced != hostile and is_token(replaced)
    load_sample(at, "loans")  # saves the workspace: its folder is named by a hash
    folders = [path.name for path in (get_settings().data_dir / "workspaces").iterdir()]
    assert workspace_id_of(at.query_params["ws"]) in folders
    assert all(len(name) == 32 and name.isalnum() for name in folders)


def test_new_private_workspace_starts_empty_and_the_old_link_still_opens_the_old_one():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    load_sample(at, "loans")
    at.button(key="workspace_new").click().run()
    assert not at.exception
    fresh = at.query_params["ws"]
    assert is_token(fresh) and fresh != token
    assert DATASET not in at.session_state
    assert open_workspace(token).session_state[DATASET].name == "loans.csv"


# --------------------------------------------------------------------------- models


def test_two_workspaces_loading_one_sample_see_and_delete_only_their_own_models():
    ann_token, bob_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    ann, bob = open_workspace(ann_token), open_workspace(bob_token)
    load_sample(ann, "customers")
    load_sample(bob, "customers")
    assert ann.session_state[DATASET].fingerprint == bob.session_state[DATASET].fingerprint

    train_quick_copula(ann, seed=11)
    model_id = ann.session_state[MODEL].model_id
    assert listed_models(ann) == [model_id]

    # Bob, same sample, same settings: nothing of Ann's is listed or reused.
    bob.switch_page(TRAIN).run()
    assert listed_models(bob) == []
    bob.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    bob.radio(key="train_preset").set_value("quick").run()
    bob.number_input(key="train_seed").set_value(11).run()
    assert not any("already trained" in text for text in texts(bob.success))
    train_quick_copula(bob, seed=11)
    assert bob.session_state[MODEL].model_id == model_id  # the same request: the same id
    assert listed_models(bob) == [model_id]
    ann_registry, bob_registry = registry_of(ann_token), registry_of(bob_token)
    assert ann_registry.model_path(model_id) != bob_registry.model_path(model_id)

    # Ann deletes hers: Bob's stays, listed and loadable.
    ann.button(key="models_delete").click().run()
    assert any(text.startswith("Deleted") for text in texts(ann.info))
    assert listed_models(ann) == []
    bob.run()
    assert listed_models(bob) == [model_id]
    assert bob_registry.verified_model_bytes(model_id)

    # A delete of a model id this workspace does not have does nothing and says so.
    assert ann_registry.delete(model_id) is False
    assert bob_registry.get(model_id) is not None
    # And a workspace that never had it cannot load it either.
    assert registry_of(secrets.token_urlsafe(16)).get(model_id) is None


# --------------------------------------------------------------------------- reloads


def test_a_reload_brings_back_the_dataset_its_edits_and_the_current_model():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    load_sample(at, "loans")
    table = at.session_state[DATASET]
    at.selectbox(key=f"target_select_{table.fingerprint}").set_value("home_ownership").run()
    train_quick_copula(at, seed=12)
    record = at.session_state[MODEL]

    reloaded = open_workspace(token)
    again = reloaded.session_state[DATASET]
    assert (again.name, again.fingerprint, again.target) == ("loans.csv", table.fingerprint,
                                                             "home_ownership")
    assert reloaded.session_state[MODEL].model_id == record.model_id
    assert f"**Model:** {record.label}" in sidebar_text(reloaded)
    reloaded.switch_page(TRAIN).run()
    assert listed_models(reloaded) == [record.model_id]


def test_a_reload_brings_back_an_uploaded_file_kept_privately():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "accents_latin1.csv", (DATA / "accents_latin1.csv").read_bytes(), "text/csv")
    at.run()
    uploaded = at.session_state[DATASET]

    reloaded = open_workspace(token)
    again = reloaded.session_state[DATASET]
    assert (again.name, again.fingerprint, again.notes) == (
        uploaded.name, uploaded.fingerprint, uploaded.notes)
    folder = get_settings().data_dir / "workspaces" / workspace_id_of(token)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()} == {
        "state.json": 0o600, "table.pkl": 0o600}


def test_a_reload_during_a_fit_reattaches_and_train_stays_disabled():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    load_sample(at, "loans")
    second_tab = open_workspace(token)  # open before the fit starts
    at.switch_page(TRAIN).run()
    at.radio(key="train_synthesizer").set_value("ctgan").run()
    at.radio(key="train_preset").set_value("best").run()  # no time limit
    at.number_input(key="param_ctgan_best_epochs").set_value(5000).run()
    at.button(key="train_start").click().run()
    job_id = at.session_state[JOB]
    try:
        reloaded = open_workspace(token)
        reloaded.switch_page(TRAIN).run()
        assert reloaded.session_state[JOB] == job_id
        assert reloaded.button(key="train_start").disabled
        assert any("**Training CTGAN**" in text for text in texts(reloaded.markdown))
        assert reloaded.button(key="train_cancel")  # the job's panel is back

        second_tab.switch_page(TRAIN).run()  # a tab opened earlier follows the fit too
        assert second_tab.session_state[JOB] == job_id
        assert second_tab.button(key="train_start").disabled

        # Another workspace neither sees nor stops it.
        other = WorkspaceJobs(LocalJobRunner(), workspace_id_of(secrets.token_urlsafe(16)))
        assert other.status(job_id).message == "This job belongs to another workspace."
        other.cancel(job_id)
        assert LocalJobRunner().status(job_id).is_active

        reloaded.button(key="train_cancel").click().run()
        wait_for_job(reloaded, timeout=60)
        assert any("cancelled" in text for text in texts(reloaded.info))
        assert not reloaded.button(key="train_start").disabled
    finally:
        LocalJobRunner().cancel(job_id)


def test_a_reload_keeps_a_guessed_target_marked_and_a_confirmed_one_confirmed():
    token = secrets.token_urlsafe(16)
    at = open_workspace(token)
    at.radio(key="data_source").set_value("Upload a file").run()
    data = make_people(120).to_csv(index=False).encode()
    at.file_uploader(key="upload_file").upload("people.csv", data, "text/csv")
    at.run()
    assert at.session_state[DATASET].target == "churned"  # guessed: nobody named it
    suggested = "Target **churned** is suggested"
    assert suggested in page_text(at)

    reloaded = open_workspace(token)
    assert suggested in page_text(reloaded)  # still a guess after the reload

    reloaded.button(key="target_confirm").click().run()
    assert suggested not in page_text(reloaded)
    again = open_workspace(token)
    assert again.session_state[DATASET].target == "churned"
    assert suggested not in page_text(again)
