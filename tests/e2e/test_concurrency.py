"""Three people use one studio server at the same time, each with their own data.

Each fakes a different table (same kind, different seed: same column names, different
rows) and starts a Quick Gaussian Copula fit at the same moment, with a different
training seed, so every model has a label of its own. All three fits finish, and each
person sees only their own dataset and their own model: the registry is shared, the
lists must not be.
"""

from __future__ import annotations

import re
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
    progress_seen,
    wait_for_training,
    watch_progress,
)
from tests.e2e.helpers import (
    assert_no_exception,
    button,
    choose_radio,
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
            watch_progress(user.page)
            stack.enter_context(expect_rerun(user.page, TRAIN_TIMEOUT_MS))
            button(user.page, key="train_start").click()

    for user in users:
        flash = wait_for_training(user.page, TRAIN_TIMEOUT_MS)
        assert flash.startswith(f"Trained {user.label} in "), (user.name, flash)
        assert progress_seen(user.page), f"{user.name} saw no training progress"

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
