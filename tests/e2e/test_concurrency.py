"""Several people use one studio server at the same time, each with their own data.

Each fakes a different table (same kind, different seed: same column names, different
rows) and starts a Quick Gaussian Copula fit at the same moment, with a different
training seed, so every model has a label of its own. All three fits finish, and each
person sees only their own dataset and their own model: the registry is shared, the
lists must not be.

On a server that runs one job at a time (``STUDIO_MAX_JOBS=1``), a second person's fit
waits in line behind the first one's, says so, and can be cancelled before it starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from contextlib import ExitStack
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.e2e.browser import BrowserSession
from tests.e2e.flows import (
    TRAIN_TIMEOUT_MS,
    Dataset,
    expect_sidebar,
    fake_dataset,
    grid,
    model_label,
    start_training,
    wait_for_training,
)
from tests.e2e.helpers import (
    alerts,
    assert_no_exception,
    button,
    choose_radio,
    click_button,
    expect_rerun,
    fill_number,
    goto_page,
    keyed,
    main,
    open_app,
    open_combobox,
)
from tests.e2e.server import StudioServer

ROWS = 400
USERS = (  # (name, fake seed, training seed)
    ("ann", 1101, 1),
    ("bob", 1102, 2),
    ("cat", 1103, 3),
)


@dataclass
class User:
    name: str
    session: BrowserSession
    dataset: Dataset
    label: str

    @property
    def page(self) -> Page:
        return self.session.page


def _prepare(session: BrowserSession, url: str, name: str, fake_seed: int,
             train_seed: int) -> User:
    page = session.page
    open_app(page, url)
    dataset = fake_dataset(page, "loans", rows=ROWS, seed=fake_seed)
    goto_page(page, "Train")
    choose_radio(page, "Gaussian Copula", within=keyed(page, "train_synthesizer"))
    choose_radio(page, "Quick", within=keyed(page, "train_preset"))
    fill_number(page, train_seed, key="train_seed")
    expect(main(page)).to_contain_text("Estimated fit time")  # nothing cached to reuse
    return User(name, session, dataset, model_label("Gaussian Copula", "quick", train_seed))


def test_three_users_train_at_once_and_see_only_their_own_models(
    sessions, studio: StudioServer
) -> None:
    users = [_prepare(sessions(name), studio.url, name, fake_seed, train_seed)
             for name, fake_seed, train_seed in USERS]
    fingerprints_before = {record["data_fingerprint"] for record in studio.models().values()}

    # All three click Train before any of them waits for anything.
    with ExitStack() as stack:
        for user in users:
            stack.enter_context(expect_rerun(user.page, TRAIN_TIMEOUT_MS))
            button(user.page, key="train_start").click()

    # A quick fit's progress panel can be gone before a starved browser draws it, so what
    # is checked is what each fit leaves: its own time and the whole wait, worker included.
    for user in users:
        flash = wait_for_training(user.page, TRAIN_TIMEOUT_MS)
        assert re.fullmatch(rf"Trained {re.escape(user.label)} in [\d.]+ s \(fit\) · .+ in all\.",
                            flash), (user.name, flash)

    # The registry now holds one new model per user, each on that user's table.
    new_models = {model_id: record for model_id, record in studio.models().items()
                  if record["data_fingerprint"] not in fingerprints_before}
    by_dataset = {record["dataset_name"]: model_id for model_id, record in new_models.items()}
    assert sorted(by_dataset) == sorted(user.dataset.name for user in users), new_models
    assert len({record["data_fingerprint"] for record in new_models.values()}) == len(users)

    for user in users:
        page = user.page
        own_id = by_dataset[user.dataset.name]
        others = [other for other in users if other is not user]
        expect_sidebar(page, user.dataset, user.label)
        expect(main(page).get_by_role("heading", name="Current model")).to_be_visible()

        models = grid(main(page))
        expect(models).to_have_attribute("aria-rowcount", "2")  # header + its one model
        body = models.locator("tbody")
        expect(body).to_contain_text(user.label)
        expect(body).to_contain_text(own_id)
        for other in others:
            expect(body).not_to_contain_text(other.label)
            expect(body).not_to_contain_text(by_dataset[other.dataset.name])

        picker = keyed(page, "models_pick").get_by_role("combobox")
        expect(picker).to_have_value(f"{user.label} ({own_id[:8]})")
        open_combobox(picker)
        options = page.get_by_role("option")
        expect(options).to_have_count(1)
        expect(options).to_have_text(re.compile(re.escape(own_id[:8])))
        picker.press("Escape")

        # Another page and back: still their own dataset and model.
        goto_page(page, "Generate")
        expect(main(page)).to_contain_text(f"Model: {user.label}")
        expect_sidebar(page, user.dataset, user.label)
        assert_no_exception(page)


def test_a_fit_waits_in_line_behind_another_users_and_cancels_while_waiting(
    studio_factory, sessions
) -> None:
    server = studio_factory(env={"STUDIO_MAX_JOBS": "1"})
    ann, bob = sessions("ann-fits").page, sessions("bob-waits").page
    # Ann's table is larger: the Best preset's batches hold 500 training rows.
    for page, rows, seed in ((ann, 1_000, 1201), (bob, ROWS, 1202)):
        open_app(page, server.url)
        fake_dataset(page, "loans", rows=rows, seed=seed)
        goto_page(page, "Train")
    start_training(ann, "CTGAN", "Best", epochs=5000)  # no time limit: runs until cancelled
    held = [status for status in server.job_statuses() if status["state"] in ("queued",
                                                                               "running")]
    assert [status["synthesizer"] for status in held] == ["ctgan"], held
    try:
        start_training(bob, "Gaussian Copula", "Quick")
        panel = keyed(bob, "train_job")
        expect(panel).to_contain_text("1st in line — cancel works while waiting.")
        expect(keyed(bob, "train_job_stage")).to_contain_text("Waiting in the queue")
        expect(panel.get_by_test_id("stProgress")).to_have_count(0)  # no percentage
        expect(button(bob, key="train_start")).to_be_disabled()

        click_button(bob, key="train_cancel")
        expect(alerts(bob, "info")).to_contain_text("Training was cancelled",
                                                   timeout=TRAIN_TIMEOUT_MS)
        expect(panel).to_have_count(0)
        expect(button(bob, key="train_start")).to_be_enabled()
        # Bob's fit never started; Ann's goes on.
        active = [status for status in server.job_statuses()
                  if status["state"] in ("queued", "running")]
        assert [status["job_id"] for status in active] == [held[0]["job_id"]], active
        assert_no_exception(bob)

        click_button(ann, key="train_cancel")
        expect(alerts(ann, "info")).to_contain_text("Training was cancelled",
                                                   timeout=TRAIN_TIMEOUT_MS)
        assert_no_exception(ann)
    finally:
        status = server.job_status(held[0]["job_id"])
        if status is not None and status.get("state") == "running" and status.get("pid"):
            with contextlib.suppress(ProcessLookupError):  # never leave the fit behind
                os.kill(status["pid"], signal.SIGKILL)
