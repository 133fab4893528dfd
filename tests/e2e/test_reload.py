"""A browser reload during a fit: the workspace in the URL brings the session back.

The page's link names its workspace (``?ws=…``). Reloading the Train page while a CTGAN fit
runs opens a new Streamlit session on the same link: the dataset and the running job come
back, the progress panel shows the fit again and Train stays disabled, so a second fit of
the same request cannot be started. Cancelling from the reloaded page ends the fit.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from tests.e2e.flows import TRAIN_TIMEOUT_MS, expect_sidebar, load_sample, start_training
from tests.e2e.helpers import (
    DEFAULT_TIMEOUT_MS,
    alerts,
    assert_no_exception,
    button,
    goto_page,
    main,
    script_runs,
    wait_for_app_idle,
)
from tests.e2e.server import StudioServer


def _workspace(page: Page) -> str:
    """The ``ws`` token of the page's URL."""
    tokens = parse_qs(urlparse(page.url).query).get("ws", [])
    assert len(tokens) == 1, page.url
    return tokens[0]


def _reload(page: Page) -> None:
    """Reload the page (a new Streamlit session) and wait for its first run."""
    tracker = script_runs(page)
    before = tracker.connections
    page.reload()
    tracker.wait_until(
        page,
        lambda: tracker.connections > before and tracker.finished_on_connection > 0,
        DEFAULT_TIMEOUT_MS, "the reloaded page's first script run")
    wait_for_app_idle(page)


def _training_panel(page: Page):
    return main(page).get_by_test_id("stMarkdownContainer").filter(
        has_text=re.compile(r"^Training CTGAN on "))


def test_a_reload_during_a_fit_shows_its_progress_again_and_train_stays_disabled(
    app: Page, studio: StudioServer
) -> None:
    page = app
    token = _workspace(page)
    dataset = load_sample(page, "loans", "loans.csv")
    goto_page(page, "Train")
    assert _workspace(page) == token  # the link keeps its workspace from page to page
    start_training(page, "CTGAN", "Best", epochs=5000)  # Best has no time limit
    expect(_training_panel(page)).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    running = [status for status in studio.job_statuses() if status["state"] in
               ("queued", "running")]
    assert len(running) == 1, running
    job_id = running[0]["job_id"]

    try:
        _reload(page)
        assert _workspace(page) == token
        expect(main(page).locator("h1")).to_have_text("Train")
        expect_sidebar(page, dataset)
        expect(_training_panel(page)).to_be_visible()
        expect(main(page).get_by_test_id("stProgress")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
        # The epochs go on counting in the reloaded page.
        expect(main(page).get_by_test_id("stProgress")).to_contain_text(
            re.compile(r"epoch [1-9]\d* of 5000"), timeout=TRAIN_TIMEOUT_MS)
        expect(button(page, key="train_start")).to_be_disabled()
        assert [status["job_id"] for status in studio.job_statuses()
                if status["state"] in ("queued", "running")] == [job_id]  # no second fit

        button(page, key="train_cancel").click()
        expect(alerts(page, "info")).to_contain_text("Training was cancelled",
                                                     timeout=TRAIN_TIMEOUT_MS)
        expect(button(page, key="train_start")).to_be_enabled()
        assert_no_exception(page)
    finally:
        status = studio.job_status(job_id)
        if status is not None and status.get("state") in ("queued", "running") and (
                status.get("pid")):  # never leave a 5000-epoch fit behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(status["pid"], signal.SIGKILL)
