"""The guided demo, clicked through in a real browser the way a teacher runs it in class:
one button on the Data page, then one narrated "next" per page until the verdict."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.flows import (
    EVALUATE_TIMEOUT_MS,
    TRAIN_TIMEOUT_MS,
    grid,
    open_tab,
    wait_for_evaluation,
)
from tests.e2e.helpers import (
    alerts,
    assert_no_exception,
    click_button,
    keyed,
    main,
    sidebar,
    wait_for_app_idle,
)

DEMO_TABLE = "demo: loan applicants"
MODEL = "Gaussian Copula · quick · seed 0"


def _banner(page: Page):
    return keyed(page, "demo_banner")


def _h1(page: Page):
    return main(page).locator("h1")


def test_guided_demo_walks_from_fake_data_to_the_verdict(app: Page) -> None:
    page = app
    click_button(page, key="demo_start")
    expect(_banner(page)).to_contain_text("Step 1 of 4")
    expect(sidebar(page)).to_contain_text(f"Dataset: {DEMO_TABLE}")
    expect(sidebar(page)).to_contain_text("3,000 rows")
    # The narration asks to open Metadata: PII columns are marked for fake values.
    metadata = grid(open_tab(page, "Metadata"))
    expect(metadata.locator("tbody")).to_contain_text("ssn")

    click_button(page, key="demo_next")
    expect(_h1(page)).to_have_text("Train")
    expect(_banner(page)).to_contain_text("Step 2 of 4")
    click_button(page, key="demo_train")
    # Training runs in the background worker; when it ends the banner offers the next step.
    expect(keyed(page, "demo_next")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    wait_for_app_idle(page)
    expect(sidebar(page)).to_contain_text(f"Model: {MODEL}")
    assert_no_exception(page)

    click_button(page, key="demo_next")
    expect(_h1(page)).to_have_text("Generate")
    expect(_banner(page)).to_contain_text("Step 3 of 4")
    click_button(page, key="demo_generate", timeout_ms=EVALUATE_TIMEOUT_MS)
    expect(main(page).get_by_role("heading", name="2,100 synthetic rows")).to_be_visible()

    click_button(page, key="demo_next", timeout_ms=EVALUATE_TIMEOUT_MS)
    expect(_h1(page)).to_have_text("Evaluate")
    expect(_banner(page)).to_contain_text("Step 4 of 4")
    wait_for_evaluation(page)  # in a job worker, with its progress panel meanwhile
    # The planted relations are checked and none of the 8 canaries reappears verbatim.
    planted = open_tab(page, "Planted truth")
    expect(planted.get_by_test_id("stMetric").filter(has_text="Canaries the model saw")) \
        .to_contain_text("8")
    expect(open_tab(page, "Verdict").locator("h3").first).not_to_be_empty()

    click_button(page, key="demo_finish")
    expect(_banner(page)).to_have_count(0)
    expect(alerts(page, "success").filter(has_text="Demo finished")).to_have_count(1)
    expect(sidebar(page)).to_contain_text(f"Model: {MODEL}")  # what it made stays loaded
    assert_no_exception(page)
