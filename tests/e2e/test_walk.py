"""The whole product, walked by one user in one browser session, in the navigation's order:
Data → Train → Generate → Evaluate (every tab, the report) → every page and back; and a
comparison of two fast candidates on the Compare page.

The walk is one test on purpose: each step needs the state the steps before it left
behind, which is exactly what a user relies on.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pandas as pd
from playwright.sync_api import Locator, Page, expect

from tests.e2e.flows import (
    EVALUATE_TIMEOUT_MS,
    TRAIN_TIMEOUT_MS,
    expect_sidebar,
    grid,
    load_sample,
    open_tab,
    start_training,
    wait_for_evaluation,
    wait_for_training,
)
from tests.e2e.helpers import (
    alerts,
    assert_no_exception,
    click_button,
    click_download,
    expect_rerun,
    goto_page,
    keyed,
    main,
    open_combobox,
    wait_for_app_idle,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KEY, SAMPLE_FILE = "customers", "customers.csv"  # the smallest sample: 4,000 rows
TRAIN_ROWS = 2_800  # 70 % of it: the honest split holds 30 % out
MODEL = "Gaussian Copula · quick · seed 0"
PAGES = ("Data", "Train", "Generate", "Evaluate", "Compare")
# Evaluate's tabs, True where the tab draws plotly charts that must be on screen once it
# is open. A faked table (the shipped samples are faked too) adds "Planted truth".
EVALUATE_TABS = {
    "Verdict": False,
    "Distributions": True,
    "Correlations": True,
    "Quality": True,
    "Utility": True,
    "Privacy": True,
    "Fairness": True,
    "Drivers": True,
    "Planted truth": False,
    "Record explorer": False,
    "Report": False,
}
OPTIONAL_TABS = {"Planted truth"}
CHART = "[data-testid=stPlotlyChart]"
DRAWN_CHART = f"{CHART} .js-plotly-plot:has(.main-svg)"


def _h1(page: Page) -> Locator:
    return main(page).locator("h1")


def _expect_charts_drawn(panel: Locator) -> None:
    """Every chart in the panel that is on screen has been drawn by plotly (its SVG)."""
    visible = panel.locator(f"{CHART}:visible")
    expect(visible.first).to_be_visible()
    expect(panel.locator(f"{DRAWN_CHART}:visible")).to_have_count(visible.count())
    expect(panel.locator(f"{CHART}:visible .main-svg").first).to_be_visible()


def test_walk_through_the_whole_studio(app: Page) -> None:
    page = app
    # ------------------------------------------------------------------ Data
    dataset = load_sample(page, SAMPLE_KEY, SAMPLE_FILE)
    expect_sidebar(page, dataset)
    expect(page.get_by_test_id("stSidebarUserContent")).to_contain_text("Model: none trained yet")

    # ------------------------------------------------------------------ Train
    goto_page(page, "Train")
    expect(_h1(page)).to_have_text("Train")
    expect(main(page)).to_contain_text("Estimated fit time")
    start_training(page, "Gaussian Copula", "Quick")
    flash = wait_for_training(page, TRAIN_TIMEOUT_MS)
    assert flash.startswith(f"Trained {MODEL} in "), flash
    # A quick fit may end before the page polls it, so its progress bar is a transient this
    # test cannot wait on; test_faults waits for the bar of a fit long enough to show one.
    current = main(page).get_by_role("heading", name="Current model")
    expect(current).to_be_visible()
    expect(main(page).get_by_test_id("stMetric").filter(has_text="Synthesizer")) \
        .to_contain_text("Gaussian Copula")
    expect(main(page).get_by_role("heading", name="Models for this dataset")).to_be_visible()
    expect(grid(main(page))).to_have_attribute("aria-rowcount", "2")  # header + 1 model
    expect_sidebar(page, dataset, MODEL)
    assert_no_exception(page)

    # ------------------------------------------------------------------ Generate
    goto_page(page, "Generate")
    expect(main(page)).to_contain_text(f"Model: {MODEL}")
    expect(keyed(page, "gen_rows").get_by_role("spinbutton")).to_have_value(str(TRAIN_ROWS))
    click_button(page, key="gen_start", timeout_ms=EVALUATE_TIMEOUT_MS)
    expect(alerts(page, "success")).to_contain_text(f"Generated {TRAIN_ROWS:,} rows in")
    expect(main(page).get_by_role("heading", name=f"{TRAIN_ROWS:,} synthetic rows")) \
        .to_be_visible()
    csv = click_download(page, key="gen_download_csv")
    assert csv.suggested_filename == "synthetic_customers.csv"
    frame = pd.read_csv(io.BytesIO(csv.path().read_bytes()))
    real = pd.read_csv(ROOT / "sample_data" / SAMPLE_FILE, nrows=5)
    assert len(frame) == TRAIN_ROWS
    assert {"churned", "monthly_charges", "contract"} <= set(frame.columns) <= set(real.columns)
    assert_no_exception(page)

    # ------------------------------------------------------------------ Evaluate
    goto_page(page, "Evaluate", timeout_ms=EVALUATE_TIMEOUT_MS)
    wait_for_evaluation(page)  # it runs in a job worker; the tabs show when it is done
    expect(main(page)).to_contain_text(f"{MODEL} · {TRAIN_ROWS:,} synthetic rows")
    tabs = page.get_by_test_id("stTab")
    expect(tabs.first).to_be_visible()
    tab_names = [name.strip() for name in tabs.all_inner_texts()]
    assert [name for name in EVALUATE_TABS if name in tab_names] == tab_names, tab_names
    assert set(EVALUATE_TABS) - set(tab_names) <= OPTIONAL_TABS, tab_names
    for name in tab_names:
        panel = open_tab(page, name)
        if EVALUATE_TABS[name]:
            _expect_charts_drawn(panel)
        assert_no_exception(page)

    verdict = open_tab(page, "Verdict")
    headline = verdict.locator("h3").first.inner_text().strip()
    assert headline
    for aspect in ("Fidelity", "Utility", "Privacy"):
        expect(verdict).to_contain_text(aspect)

    # Another column's distribution: the chart follows the choice.
    distributions = open_tab(page, "Distributions")
    column_box = keyed(page, "eval_column").get_by_role("combobox")
    first_column = column_box.input_value()
    chart = keyed(page, "eval_column_chart")
    before = chart.locator(".main-svg").first.inner_html()
    open_combobox(column_box)
    other = page.get_by_role("option").nth(1)
    other_column = other.inner_text().strip()
    assert other_column != first_column
    with expect_rerun(page):
        other.click()
    expect(column_box).to_have_value(other_column)
    distributions = page.get_by_role("tabpanel", name="Distributions")
    expect(distributions).to_be_visible()  # the open tab survives the rerun
    _expect_charts_drawn(distributions)
    expect(chart.locator(".main-svg").first).not_to_have_js_property("innerHTML", before)
    # Only the open tab is drawn, yet the choice outlives a visit to another tab.
    open_tab(page, "Privacy")
    expect(keyed(page, "eval_column")).to_have_count(0)
    open_tab(page, "Distributions")
    expect(keyed(page, "eval_column").get_by_role("combobox")).to_have_value(other_column)

    # The one-file report.
    open_tab(page, "Report")
    report = click_download(page, key="eval_report", timeout_ms=EVALUATE_TIMEOUT_MS)
    assert report.suggested_filename == "report_customers_gaussian_copula.html"
    text = report.path().read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html"), text[:200]
    assert text.rstrip().lower().endswith("</html>")
    assert "plotly" in text.lower() and "Plotly.newPlot" in text  # plotly.js inline, used
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", text), (
        "The report loads something from the network; it must open offline."
    )
    assert html.escape(headline) in text or headline in text, headline
    # For a stakeholder: the title names the data and the model; the limits are spelled out;
    # it prints to PDF section by section.
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
    assert SAMPLE_FILE in title and "Gaussian Copula" in title and "quick" in title, title
    assert "What these checks do not show" in text
    assert "@media print" in text and "break-before" in text
    assert len(text.encode()) < 2_000_000  # one small copy of the chart library
    assert_no_exception(page)

    # ------------------------------------------------------------------ every page and back
    for title in (*PAGES, "Data"):
        goto_page(page, title, timeout_ms=EVALUATE_TIMEOUT_MS)
        expect(_h1(page)).to_have_text(title)
        expect_sidebar(page, dataset, MODEL)
        assert_no_exception(page)
        if title == "Train":
            expect(main(page).get_by_role("heading", name="Current model")).to_be_visible()
        elif title == "Generate":  # the generated rows are still there
            expect(main(page).get_by_role("heading", name=f"{TRAIN_ROWS:,} synthetic rows")) \
                .to_be_visible()
        elif title == "Evaluate":  # and so is their evaluation
            expect(page.get_by_test_id("stTab")).to_have_count(len(tab_names))
    expect(main(page).locator("h3")).to_have_text(SAMPLE_FILE)


def test_compare_two_fast_candidates(app: Page) -> None:
    page = app
    dataset = load_sample(page, SAMPLE_KEY, SAMPLE_FILE)
    goto_page(page, "Compare")
    expect(_h1(page)).to_have_text("Compare")
    candidates = keyed(page, "compare_candidates")
    chosen = candidates.locator("[data-tag]")
    # The defaults are Gaussian Copula quick and balanced plus TVAE quick: drop TVAE.
    expect(chosen).to_have_count(3)
    for tag in chosen.all():
        label = tag.get_attribute("aria-label")
        if not label.startswith("Gaussian Copula"):
            with expect_rerun(page):
                candidates.get_by_role("button", name=f"Remove {label}").click()
    expect(chosen).to_have_count(2)
    expect(chosen).to_have_text(["Gaussian Copula · quick", "Gaussian Copula · balanced"])

    budget = keyed(page, "compare_budget").get_by_role("slider")
    expect(budget).to_be_visible()
    target = "60"
    while budget.input_value() != target:  # the slider is an <input type=range>
        key = "ArrowLeft" if int(budget.input_value()) > int(target) else "ArrowRight"
        with expect_rerun(page):
            budget.press(key)
    expect(budget).to_have_value(target)

    click_button(page, key="compare_start")
    finished = alerts(page, "success").filter(has_text="Comparison finished.")
    expect(finished.or_(alerts(page, "error")).first).to_be_visible(timeout=EVALUATE_TIMEOUT_MS)
    wait_for_app_idle(page)
    assert alerts(page, "error").all_inner_texts() == []
    expect(main(page).get_by_role("heading", name="Leaderboard")).to_be_visible()
    expect(alerts(page, "success").filter(has_text="Recommended: Gaussian Copula")) \
        .to_be_visible()
    board = grid(main(page))
    expect(board).to_have_attribute("aria-rowcount", "3")  # header + 2 candidates
    expect(board.locator("tbody")).to_contain_text("quick")
    expect(board.locator("tbody")).to_contain_text("balanced")
    scatter = keyed(page, "compare_scatter")
    scatter.scroll_into_view_if_needed()
    expect(scatter.locator(".js-plotly-plot:has(.main-svg)")).to_have_count(1)
    expect(scatter.locator(".main-svg").first).to_be_visible()
    # Each candidate is one point, labelled, on the privacy-vs-utility chart.
    expect(scatter.locator(".scatterlayer .point")).to_have_count(2)
    expect_sidebar(page, dataset)
    assert_no_exception(page)
