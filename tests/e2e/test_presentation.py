"""Presentation mode on a projector (1280×720), measured in a real browser.

A presenter turns the mode on, then walks sample → train → generate → evaluate. On every
page the sidebar is folded away and the projector style applies, also after the demo's
"Next →" (``st.switch_page``, which once switched the mode off); on Evaluate the verdict is
above the fold, the headline numbers are bigger than their labels and than body text, the
tab row fits, and no button label ends in "…". Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser import ARTIFACTS
from tests.e2e.flows import (
    EVALUATE_TIMEOUT_MS,
    load_sample,
    open_tab,
    start_training,
    wait_for_evaluation,
    wait_for_training,
)
from tests.e2e.helpers import (
    assert_no_exception,
    click_button,
    expect_rerun,
    keyed,
    main,
    open_app,
)

PROJECTOR = {"width": 1280, "height": 720}
BODY_PX = 18.0
"""Body text on a projector: at least this (Streamlit's default is 16 px)."""
METRIC_PX = 36.0
"""A headline number on a projector: at least this."""

# What the audience sees, read in the page: text sizes, the sidebar, the tab row, labels
# cut off with an ellipsis, and where the verdict and the first headline number sit.
_MEASURE = """() => {
    const px = (element) => element ? parseFloat(getComputedStyle(element).fontSize) : null;
    const text = (element) => element && (element.querySelector('p') || element);
    const main = document.querySelector('[data-testid=stMain]');
    const body = [...main.querySelectorAll('[data-testid=stMarkdownContainer] p')].find(
        (p) => !p.closest('[data-testid=stMetric], button, [role=tab], label, '
                          + '[data-testid=stCaptionContainer], [data-testid=stAlert]'));
    const bar = document.querySelector('[data-testid=stSidebar]').getBoundingClientRect();
    const metrics = [...main.querySelectorAll('[data-testid=stMetric]')]
        .filter((metric) => metric.offsetParent !== null).map((metric) => {
            const value = metric.querySelector('[data-testid=stMetricValue]');
            const box = value.getBoundingClientRect();
            return {label: metric.querySelector('[data-testid=stMetricLabel]').innerText.trim(),
                    valuePx: px(text(value)),
                    labelPx: px(text(metric.querySelector('[data-testid=stMetricLabel]'))),
                    top: box.top, bottom: box.bottom};
        });
    const tabs = [...main.querySelectorAll('[role=tablist]')].map((list) => {
        const box = list.getBoundingClientRect();
        const outside = [...list.querySelectorAll('[role=tab]')].filter((tab) => {
            const t = tab.getBoundingClientRect();
            return t.right > box.right + 1 || t.left < box.left - 1;
        }).map((tab) => tab.innerText.trim());
        return {scrollWidth: list.scrollWidth, clientWidth: list.clientWidth, outside};
    });
    // A label is cut off when its text runs past the edge of a box that clips it (the
    // browser then shows "…" or nothing): compare the text's own extent with that box.
    const clipped = (element) => {
        const range = document.createRange();
        range.selectNodeContents(element);
        const extent = range.getBoundingClientRect();
        for (let box = element; box && box !== main; box = box.parentElement) {
            const style = getComputedStyle(box);
            if (style.overflowX !== 'visible' || style.textOverflow === 'ellipsis') {
                const edge = box.getBoundingClientRect();
                if (extent.right > edge.right + 1 || extent.left < edge.left - 1) return true;
            }
        }
        return false;
    };
    const cut = [...document.querySelectorAll(
            '[data-testid=stMain] button [data-testid=stMarkdownContainer] p, '
            + '[data-testid=stMain] [data-testid=stRadioOption] p, '
            + '[data-testid=stMain] [data-testid=stMetricValue] div, '
            + '[data-testid=stMain] [data-testid=stMetricLabel] p')]
        .filter((element) => element.offsetParent !== null && clipped(element))
        .map((element) => element.innerText.trim());
    const header = document.querySelector('[data-testid=stHeader]');
    const title = main.querySelector('h1');
    const headline = main.querySelector('[role=tabpanel]:not([hidden]) h3');
    return {
        bodyPx: px(body),
        sidebarRight: bar.right, sidebarWidth: bar.width,
        metrics, tabs, cut,
        headerBottom: header ? header.getBoundingClientRect().bottom : 0,
        titleTop: title ? title.getBoundingClientRect().top : null,
        headline: headline && {text: headline.innerText.trim(),
                               top: headline.getBoundingClientRect().top,
                               bottom: headline.getBoundingClientRect().bottom},
    };
}"""

_STYLED = f"""() => {{
    const p = [...document.querySelectorAll(
            '[data-testid=stMain] [data-testid=stMarkdownContainer] p')]
        .find((e) => !e.closest('[data-testid=stCaptionContainer], [data-testid=stMetric], '
                                + 'button, [role=tab], label, [data-testid=stAlert]'));
    return !!p && parseFloat(getComputedStyle(p).fontSize) >= {BODY_PX};
}}"""


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"presentation-{name}.png"))


def _to_top(page: Page) -> None:
    """Scroll back to the top: 'above the fold' is what the page shows when it opens."""
    page.evaluate("() => { for (const e of [document.scrollingElement, "
                  "document.querySelector('[data-testid=stMain]')]) if (e) e.scrollTo(0, 0); }")


def _projector_view(page: Page, where: str) -> dict[str, Any]:
    """Wait until the page is drawn for the projector; return what it shows (measured)."""
    expect(page.get_by_test_id("stSidebar")).not_to_be_in_viewport()
    page.wait_for_function(_STYLED, timeout=20_000)
    _to_top(page)
    seen = page.evaluate(_MEASURE)
    _screenshot(page, where)
    assert seen["sidebarRight"] <= 0 or seen["sidebarWidth"] == 0, (where, seen)
    assert seen["bodyPx"] >= BODY_PX, (where, seen)
    assert seen["titleTop"] is None or seen["titleTop"] >= seen["headerBottom"] - 1, (
        f"{where}: the page title is hidden under the top bar: {seen}")
    assert not seen["cut"], f"{where}: labels cut off with an ellipsis: {seen['cut']}"
    for tabs in seen["tabs"]:
        assert tabs["scrollWidth"] <= tabs["clientWidth"] + 1 and not tabs["outside"], (
            f"{where}: the tab row runs off the screen: {tabs}")
    for metric in seen["metrics"]:
        assert metric["valuePx"] >= METRIC_PX, (where, metric)
        assert metric["valuePx"] > metric["labelPx"], (where, metric)
        assert metric["valuePx"] > seen["bodyPx"], (where, metric, seen["bodyPx"])
    return seen


def _goto(page: Page, title: str, timeout_ms: float = EVALUATE_TIMEOUT_MS) -> None:
    """Click a page link in the top bar (where presentation mode puts them)."""
    link = page.get_by_test_id("stTopNav").get_by_role("link", name=title, exact=True)
    with expect_rerun(page, timeout_ms):
        link.click()
    expect(main(page).locator("h1")).to_have_text(title)


def test_presentation_mode_fits_a_projector_and_survives_page_switches(page: Page,
                                                                       studio_server: str
                                                                       ) -> None:
    page.set_viewport_size(PROJECTOR)
    open_app(page, studio_server)
    with expect_rerun(page):
        keyed(page, "presentation_toggle").get_by_text("Presentation mode").click()
    data_page = _projector_view(page, "data")
    assert not data_page["cut"]  # "Start the guided demo" fits its button

    # The demo's "Next →" switches pages with st.switch_page: the mode must stay on.
    click_button(page, key="demo_start")
    click_button(page, key="demo_next")
    expect(main(page).locator("h1")).to_have_text("Train")
    _projector_view(page, "demo-train")
    expect(keyed(page, "presentation_toggle").locator("input")).to_be_checked()
    click_button(page, key="demo_stop")

    # The presenter's own walk: a shipped sample, a quick fit, rows, their evaluation.
    _goto(page, "Data")
    load_sample(page, "customers", "customers.csv")
    _goto(page, "Train")
    start_training(page, "Gaussian Copula", "Quick")
    wait_for_training(page)
    _projector_view(page, "train")
    _goto(page, "Generate")
    click_button(page, key="gen_start", timeout_ms=EVALUATE_TIMEOUT_MS)
    _projector_view(page, "generate")
    with expect_rerun(page, EVALUATE_TIMEOUT_MS):
        main(page).get_by_role("link", name="Evaluate these rows").click()
    wait_for_evaluation(page)
    open_tab(page, "Verdict")
    verdict = _projector_view(page, "evaluate")

    headline = verdict["headline"]
    assert headline and headline["text"], verdict
    assert headline["bottom"] <= PROJECTOR["height"], f"the verdict is below the fold: {verdict}"
    assert verdict["metrics"], "the verdict shows no headline numbers"
    first = min(verdict["metrics"], key=lambda metric: metric["top"])
    assert first["bottom"] <= PROJECTOR["height"], f"no headline number above the fold: {verdict}"
    assert verdict["tabs"], "the evaluation's tabs are missing"
    assert_no_exception(page)
