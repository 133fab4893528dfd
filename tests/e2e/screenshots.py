"""The README's screenshots, made the way a presenter would see them.

Starts the studio as ``make run`` does (on a free port, with an empty temporary data
directory), runs the guided demo to its end at projector size (1280×720) in presentation
mode and saves ``docs/screenshots/demo-end.png``; then downloads the HTML report from the
Evaluate page's Report tab, opens it in Chromium and saves its first printed page (A4 at
96 dpi, print styles on) as ``docs/screenshots/report-first-page.png``.

    .venv/bin/python -m tests.e2e.screenshots [--out docs/screenshots]

Re-run it after changing the demo, the Evaluate page or the report, and commit the images.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.e2e.flows import EVALUATE_TIMEOUT_MS, TRAIN_TIMEOUT_MS, open_tab, wait_for_evaluation
from tests.e2e.helpers import (
    EXPECT_TIMEOUT_MS,
    attach_script_runs,
    click_button,
    click_download,
    expect_rerun,
    keyed,
    main,
    open_app,
    wait_for_app_idle,
)
from tests.e2e.server import ROOT, start_studio

PROJECTOR = {"width": 1280, "height": 720}
A4 = {"width": 794, "height": 1123}  # one A4 page at 96 dpi, as the browser prints it
OUT = ROOT / "docs" / "screenshots"
_PAGE_MARGIN = """() => {
    for (const sheet of document.styleSheets) {
        for (const rule of sheet.cssRules) {
            if (rule instanceof CSSPageRule && rule.style.margin) return rule.style.margin;
        }
    }
    return '0';
}"""


def _top(page: Page) -> None:
    """Scroll back to the top: the screenshot shows what the audience sees first."""
    page.evaluate("() => { for (const e of [document.scrollingElement, "
                  "document.querySelector('[data-testid=stMain]')]) if (e) e.scrollTo(0, 0); }")


def run_demo(page: Page, base_url: str) -> None:
    """Turn presentation mode on and run the guided demo to its last step (the verdict)."""
    open_app(page, base_url)
    with expect_rerun(page):
        keyed(page, "presentation_toggle").get_by_text("Presentation mode").click()
    expect(page.get_by_test_id("stSidebar")).not_to_be_in_viewport()
    click_button(page, key="demo_start")
    click_button(page, key="demo_next")
    click_button(page, key="demo_train")
    expect(keyed(page, "demo_next")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    wait_for_app_idle(page)
    click_button(page, key="demo_next")
    click_button(page, key="demo_generate", timeout_ms=EVALUATE_TIMEOUT_MS)
    expect(keyed(page, "demo_next")).to_be_visible(timeout=EVALUATE_TIMEOUT_MS)
    click_button(page, key="demo_next", timeout_ms=EVALUATE_TIMEOUT_MS)
    expect(main(page).locator("h1")).to_have_text("Evaluate")
    wait_for_evaluation(page)
    open_tab(page, "Verdict")
    expect(keyed(page, "demo_finish")).to_be_visible()


def save_report_page(page: Page, report: Path, out: Path) -> None:
    """Open the report file and save its first printed page."""
    page.set_viewport_size(A4)
    page.emulate_media(media="print")
    page.goto(report.as_uri(), wait_until="load")
    # A screen has no paper margin: add the one the report's @page rule asks the printer for.
    margin = page.evaluate(_PAGE_MARGIN)
    page.add_style_tag(content=f"html {{ padding: {margin}; }}")
    charts = page.locator(".js-plotly-plot")
    if charts.count():  # drawn by the report's own script after load
        expect(charts.first.locator(".main-svg").first).to_be_attached()
    page.screenshot(path=str(out))


def make_screenshots(argv: list[str] | None = None) -> int:
    """Make both screenshots; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="studio-screenshots-") as data_dir:
        server = start_studio(Path(data_dir), ARTIFACTS / "screenshots-server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=PROJECTOR, accept_downloads=True)
                page = context.new_page()
                attach_script_runs(page)
                run_demo(page, server.url)
                _top(page)
                page.screenshot(path=str(args.out / "demo-end.png"))
                open_tab(page, "Report")
                download = click_download(page, key="eval_report",
                                          timeout_ms=EVALUATE_TIMEOUT_MS)
                report = Path(data_dir) / (download.suggested_filename or "report.html")
                download.save_as(report)
                report_page = context.new_page()
                save_report_page(report_page, report, args.out / "report-first-page.png")
                browser.close()
        finally:
            server.stop()
    for name in ("demo-end.png", "report-first-page.png"):
        print(args.out / name)  # noqa: T201 - the script's output
    return 0


if __name__ == "__main__":
    sys.exit(make_screenshots())
