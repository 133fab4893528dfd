"""What the user sees when things break underneath the app.

* The training worker dies mid-fit (killed, as the out-of-memory killer would): the job
  ends as failed with a plain message, the app keeps working, the next fit succeeds.
* The server restarts: trained models are still listed for the same data in the same
  workspace (its link), can be picked
  and generate rows (they load, their signatures still verify).
* Model files are tampered with: a changed or unsigned upload is refused with a clear
  message, and so is a stored model file changed on disk; never a traceback.

Each test works on a dataset no other test uses, so the models it finds are its own.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Locator, Page, expect

from tests.e2e.flows import (
    TRAIN_TIMEOUT_MS,
    Dataset,
    expect_sidebar,
    fake_dataset,
    grid,
    progress_seen,
    start_training,
    train,
)
from tests.e2e.helpers import (
    alerts,
    assert_no_exception,
    button,
    click_button,
    click_download,
    fill_number,
    goto_page,
    keyed,
    main,
    open_app,
    upload_file,
    wait_for_app_idle,
)
from tests.e2e.server import StudioServer

BUNDLE_MAGIC = b"SYNTHETIC-DATA-STUDIO-MODEL/1\n"
ROWS = 400


def _model_of(studio: StudioServer, dataset: Dataset) -> str:
    """The id of the one model the registry holds for ``dataset``."""
    ids = [model_id for model_id, record in studio.models().items()
           if record["dataset_name"] == dataset.name]
    assert len(ids) == 1, ids
    return ids[0]


def _flash(page: Page, start: str) -> Locator:
    """The success messages starting with ``start`` (the Train page may show another
    success at the same time: "This exact model is already trained")."""
    return alerts(page, "success").filter(has_text=re.compile(rf"^{re.escape(start)}"))


@contextmanager
def _no_stray_worker(studio: StudioServer, synthesizer: str) -> Iterator[None]:
    """Whatever happens in the block, no fit of ``synthesizer`` it started keeps running
    (a 5,000-epoch CTGAN would slow every later test down)."""
    before = {status["job_id"] for status in studio.job_statuses()}
    try:
        yield
    finally:
        for status in studio.job_statuses():
            if (status["job_id"] not in before and status.get("synthesizer") == synthesizer
                    and status.get("pid") in studio.worker_pids()):
                os.kill(status["pid"], signal.SIGKILL)


# ---------------------------------------------------------------------- a worker dies


def test_killed_training_worker_fails_the_job_and_the_app_carries_on(
    app: Page, studio: StudioServer
) -> None:
    page = app
    fake_dataset(page, "loans", rows=ROWS, seed=2101)
    goto_page(page, "Train")
    with _no_stray_worker(studio, "ctgan"):
        start_training(page, "CTGAN", "Quick", epochs=5000)
        # Mid-fit: the progress bar counts epochs.
        bar = main(page).get_by_test_id("stProgress")
        expect(bar).to_contain_text(re.compile(r"epoch [1-9]\d* of 5000"),
                                    timeout=TRAIN_TIMEOUT_MS)
        expect(keyed(page, "train_cancel")).to_be_visible()
        running = studio.wait_for_running_jobs("ctgan")
        assert len(running) == 1, running
        job_id, pid = running[0]["job_id"], running[0]["pid"]
        assert pid in studio.worker_pids(), (pid, studio.worker_pids())

        os.kill(pid, signal.SIGKILL)

        error = alerts(page, "error")
        expect(error).to_contain_text("The training process was stopped", timeout=30_000)
        wait_for_app_idle(page)
    expect(error).to_have_count(1)
    expect(error).to_contain_text("killed")
    expect(error).to_contain_text("start the training again")
    assert not (studio.jobs_dir / job_id).exists()  # the ended job's folder is removed
    assert pid not in studio.worker_pids()
    assert any(re.search(r"Training: epoch [1-9]\d* of 5000", text)
               for text in progress_seen(page)), progress_seen(page)
    expect(bar).to_have_count(0)  # the progress panel is gone…
    expect(button(page, key="train_start")).to_be_enabled()  # …and Train works again
    expect(main(page).get_by_role("heading", name="Current model")).to_have_count(0)
    assert_no_exception(page)

    # The app carries on: other pages, another dataset, a new fit that finishes.
    goto_page(page, "Generate")
    expect(alerts(page, "info")).to_contain_text("Train a model first")
    goto_page(page, "Data")
    dataset = fake_dataset(page, "loans", rows=ROWS, seed=2102)
    label = train(page, "Gaussian Copula", "Quick")
    expect_sidebar(page, dataset, label)
    assert_no_exception(page)


# ---------------------------------------------------------------------- a restart


def test_trained_model_survives_a_server_restart(studio_factory, sessions) -> None:
    first = studio_factory()
    before = sessions("before-restart").page
    open_app(before, first.url)
    dataset = fake_dataset(before, "customers", rows=ROWS, seed=2201)
    label = train(before, "Gaussian Copula", "Quick")
    model_id = _model_of(first, dataset)

    first.stop()
    expect(before.get_by_test_id("stApp")).not_to_have_attribute(
        "data-test-connection-state", "CONNECTED")  # the page noticed the server left
    second = studio_factory(first.data_dir)
    assert second.url != first.url

    # The same person comes back through their workspace's link (models are per workspace).
    page = sessions("after-restart").page
    open_app(page, second.url, f"?ws={parse_qs(urlparse(before.url).query)['ws'][0]}")
    expect(page.get_by_test_id("stSidebarUserContent")).to_contain_text(f"Model: {label}")
    assert fake_dataset(page, "customers", rows=ROWS, seed=2201) == dataset

    goto_page(page, "Train")
    models = grid(main(page))
    expect(models).to_have_attribute("aria-rowcount", "2")
    expect(models.locator("tbody")).to_contain_text(label)
    expect(models.locator("tbody")).to_contain_text(model_id)
    expect(keyed(page, "models_pick").get_by_role("combobox")).to_have_value(
        f"{label} ({model_id[:8]})")
    click_button(page, key="models_use")
    expect(_flash(page, "Now using")).to_have_text(f"Now using {label}.")
    expect(main(page).get_by_role("heading", name="Current model")).to_be_visible()
    expect_sidebar(page, dataset, label)

    # Generating loads the stored file: its signature must still verify.
    goto_page(page, "Generate")
    expect(main(page)).to_contain_text(f"Model: {label}")
    fill_number(page, 300, key="gen_rows")
    click_button(page, key="gen_start")
    expect(alerts(page, "success")).to_contain_text("Generated 300 rows in")
    expect(main(page).get_by_role("heading", name="300 synthetic rows")).to_be_visible()
    assert alerts(page, "error").all_inner_texts() == []
    assert_no_exception(page)


# ---------------------------------------------------------------------- tampering


def _upload_panel(page: Page) -> Locator:
    """The "Upload a model file" expander, opened; returns its file uploader."""
    expander = main(page).get_by_test_id("stExpander").filter(has_text="Upload a model file")
    details = expander.locator("details")
    if details.get_attribute("open") is None:
        expander.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    return keyed(page, "models_upload")


def _expect_upload_refused(page: Page, path: Path, content: bytes, *reasons: str) -> None:
    """Upload ``content`` as a model file: one error naming ``reasons``, nothing added."""
    path.write_bytes(content)
    _upload_model(page, path)
    error = alerts(page, "error")
    expect(error).to_have_count(1)
    for reason in reasons:
        expect(error).to_contain_text(reason)
    expect(_flash(page, "Uploaded")).to_have_count(0)
    assert_no_exception(page)


def _upload_model(page: Page, path: Path) -> None:
    upload_file(page, path, uploader=_upload_panel(page))


def test_tampered_or_unsigned_model_files_are_refused(
    app: Page, studio: StudioServer, tmp_path: Path
) -> None:
    page = app
    dataset = fake_dataset(page, "transactions", rows=ROWS, seed=2301)
    label = train(page, "Gaussian Copula", "Quick")
    model_id = _model_of(studio, dataset)

    download = click_download(page, key="models_download")
    assert download.suggested_filename == f"gaussian_copula-{model_id[:8]}.sdsmodel"
    bundle = download.path().read_bytes()
    assert bundle.startswith(BUNDLE_MAGIC)

    # The file as downloaded is accepted (so the refusals below are about the changes).
    genuine = tmp_path / "genuine.sdsmodel"
    genuine.write_bytes(bundle)
    _upload_model(page, genuine)
    expect(_flash(page, "Uploaded")).to_have_text(f"Uploaded and verified {label}.")

    # One flipped byte in the model, or an edited header: the signature no longer matches.
    flipped = bytearray(bundle)
    flipped[-200] ^= 0xFF
    edited = bundle.replace(b'"seed": 0', b'"seed": 7', 1)
    assert edited != bundle
    for name, content in (("flipped.sdsmodel", bytes(flipped)), ("edited.sdsmodel", edited)):
        _expect_upload_refused(page, tmp_path / name, content, "signature does not match",
                               "refused without being loaded")

    # Not a studio bundle at all: random bytes, a plain pickle.
    unsigned = {"random.sdsmodel": os.urandom(4096),
                "plain_pickle.sdsmodel": pickle.dumps({"model": "anything"})}
    for name, content in unsigned.items():
        _expect_upload_refused(page, tmp_path / name, content,
                               "not a Synthetic Data Studio model file")
    assert _model_of(studio, dataset) == model_id  # nothing was added

    # A stored model file changed on disk is refused when it would be loaded.
    stored = studio.model_file(model_id)
    blob = bytearray(stored.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    stored.write_bytes(bytes(blob))
    click_button(page, key="models_use")
    expect(_flash(page, "Now using")).to_have_text(f"Now using {label}.")
    goto_page(page, "Generate")
    click_button(page, key="gen_start")
    error = alerts(page, "error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text(f"The file of model {model_id} was changed")
    expect(error).to_contain_text("not loaded")
    expect(main(page).get_by_role("heading", name=re.compile("synthetic rows"))).to_have_count(0)
    assert_no_exception(page)

    goto_page(page, "Evaluate")  # the other way to load it
    click_button(page, key="eval_generate")
    expect(alerts(page, "error")).to_contain_text("was changed after this server wrote it")
    assert_no_exception(page)
    expect_sidebar(page, dataset, label)
