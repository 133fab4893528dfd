"""The Data page, walked in a real browser: samples, uploads, faked tables, hostile files.

Which hostile files are refused and which load is read from ``tests/data/bad/README.md``,
the same table ``tests/test_loading.py`` checks against core; here we check what the user
sees. Flows that depend on what happened before get a fresh session (``app``); the
parametrized checks of one kind share a session prepared once (``shared_session``): a user
trying one file after another, which is also the faster way to run them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.flows import open_tab
from tests.e2e.helpers import (
    alerts,
    assert_no_exception,
    choose_radio,
    choose_select,
    click_button,
    dataframe_rows,
    error_texts,
    goto_page,
    main,
    sidebar,
    upload_file,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BAD = DATA / "bad"


# ---------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Sample:
    """A shipped sample and what the page should say about it."""

    key: str
    filename: str
    rows: int
    columns: int

    @property
    def shape(self) -> str:
        return f"{self.rows:,} rows × {self.columns} columns"


SAMPLES = (
    Sample("loans", "loans.csv", 5_000, 16),
    Sample("transactions", "transactions.csv", 8_000, 13),
    Sample("customers", "customers.csv", 4_000, 16),
)
BASELINE = SAMPLES[2]  # the dataset loaded before each hostile upload
QUICK_MS = 5_000  # for widgets drawn by the run that just ended (no lazy chunk to load)


@dataclass(frozen=True)
class CorpusFile:
    """One row of the hostile-upload table in tests/data/bad/README.md."""

    name: str
    refused: bool
    phrases: tuple[str, ...]  # pieces of the message the user must see (refused files)
    shape: tuple[int, int] | None  # rows, columns (files that load)


def _corpus() -> tuple[CorpusFile, ...]:
    entries = []
    for line in (BAD / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        name, outcome, message = cells[0].strip("`"), cells[1], cells[2]
        quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', message)[:1]  # the message, "…" = gap
        phrases = tuple(
            piece.strip(" ,")
            for text in quoted
            for piece in text.replace('\\"', '"').split("…")
            if piece.strip(" ,")
        )
        shape = re.search(r"loads \((\d+) × (\d+)\)", outcome)
        entries.append(
            CorpusFile(
                name=name,
                refused=outcome.startswith("refused"),
                phrases=phrases,
                shape=(int(shape[1]), int(shape[2])) if shape else None,
            )
        )
    return tuple(entries)


CORPUS = _corpus()
REFUSED = [entry for entry in CORPUS if entry.refused]
LOADS = [entry for entry in CORPUS if not entry.refused]

# App bugs the browser found are fixed; a new one gets a strict xfail here (fixing it then
# turns the xfail into a failure that asks for the marker to go).
KNOWN_BUGS: dict[str, pytest.MarkDecorator] = {}


def _refused_params() -> list:
    """One param per refused file; known bugs last, so the shared session they discard is
    not needed again."""
    ordered = sorted(REFUSED, key=lambda entry: entry.name in KNOWN_BUGS)
    return [
        pytest.param(entry, id=entry.name,
                     marks=[KNOWN_BUGS[entry.name]] if entry.name in KNOWN_BUGS else [])
        for entry in ordered
    ]


# ---------------------------------------------------------------------- steps


def load_sample(page: Page, sample: Sample) -> None:
    """Click a sample's "Load" button; the page and the sidebar adopt it."""
    click_button(page, key=f"load_sample_{sample.key}")
    success = page.get_by_test_id("stAlertContentSuccess")
    expect(success).to_have_text(f"Loaded {sample.filename}: {sample.shape}.")
    expect(success.locator("strong")).to_have_text(sample.filename)  # **name** is bold
    expect_sidebar_dataset(page, sample.filename, sample.shape)


def expect_sidebar_dataset(page: Page, name: str, shape: str | None = None) -> None:
    """The sidebar names the current dataset (and its shape)."""
    expect(sidebar(page)).to_contain_text(f"Dataset: {name}")
    if shape is not None:
        expect(sidebar(page)).to_contain_text(shape)


def grid(scope: Locator) -> Locator:
    """The accessible table of the first ``st.dataframe``/``st.data_editor`` in ``scope``.

    The grid draws its rows only once it is on screen, so it is scrolled into view first.
    """
    frame = scope.get_by_test_id("stDataFrame").first
    frame.scroll_into_view_if_needed()
    return frame.locator("table[role=grid]")


def expect_dataset_heading(page: Page, name: str) -> None:
    expect(main(page).locator("h3")).to_have_text(name)


# ---------------------------------------------------------------------- first paint


def test_opens_on_the_data_page_with_no_dataset(app: Page) -> None:
    expect(main(app).locator("h1")).to_have_text("Data")
    data_link = app.get_by_test_id("stSidebarNav").get_by_role("link", name="Data", exact=True)
    expect(data_link).to_have_attribute("aria-current", "page")
    expect(sidebar(app)).to_contain_text("Dataset: none loaded yet")
    expect(alerts(app, "info")).to_have_text(
        "No dataset yet: load a sample, upload a file or fake one above."
    )
    assert_no_exception(app)


# ---------------------------------------------------------------------- samples


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.key for sample in SAMPLES])
def test_load_sample_then_preview_profile_and_metadata(shared_session, sample: Sample) -> None:
    page = shared_session("samples").page  # one user loading one sample after another
    load_sample(page, sample)
    expect_dataset_heading(page, sample.filename)

    preview = open_tab(page, "Preview")
    # aria-rowcount counts the header row too.
    expect(grid(preview)).to_have_attribute("aria-rowcount", str(min(200, sample.rows) + 1))
    expect(preview).to_contain_text(f"First 200 of {sample.rows:,} rows.")

    profile = open_tab(page, "Profile")
    expect(profile.get_by_test_id("stPlotlyChart")).to_have_count(sample.columns)
    # Plotly has drawn every chart (each has its SVG), not just the placeholders.
    drawn = profile.locator("[data-testid=stPlotlyChart] .js-plotly-plot:has(.main-svg)")
    expect(drawn).to_have_count(sample.columns)

    metadata = open_tab(page, "Metadata")
    expect(metadata.get_by_test_id("stDataFrame")).to_be_visible()
    editor = grid(metadata)
    expect(editor).to_have_attribute("aria-rowcount", str(sample.columns + 1))
    expect(editor.locator("thead")).to_contain_text("column")
    assert_no_exception(page)


# ---------------------------------------------------------------------- upload


def test_upload_latin1_semicolon_file(app: Page) -> None:
    choose_radio(app, "Upload a file")
    upload_file(app, DATA / "accents_latin1.csv")

    expect(alerts(app, "success")).to_have_text("Loaded accents_latin1.csv: 8 rows × 4 columns.")
    expect(main(app)).to_contain_text("Read as Windows-1252 / Latin-1 text")
    expect(main(app)).to_contain_text("columns separated by ';' (semicolons)")
    expect_sidebar_dataset(app, "accents_latin1.csv", "8 rows × 4 columns")
    # Decoded correctly: the accents reach the screen intact.
    preview = grid(open_tab(app, "Preview"))
    expect(preview.locator("thead")).to_contain_text("prénom")
    expect(preview.locator("tbody")).to_contain_text("Málaga")
    assert_no_exception(app)


def test_excel_upload_asks_for_the_sheet(shared_session) -> None:
    page = shared_session("accepted", lambda p: choose_radio(p, "Upload a file")).page
    upload_file(page, DATA / "two_sheets.xlsx")
    expect(page.get_by_role("combobox", name="Sheet", exact=True)).to_have_value("Loans")
    click_button(page, "Load this sheet")
    expect(alerts(page, "success")).to_have_text("Loaded two_sheets.xlsx: 20 rows × 5 columns.")
    expect_sidebar_dataset(page, "two_sheets.xlsx", "20 rows × 5 columns")
    assert_no_exception(page)


def test_sheet_picker_offers_only_sheets_with_data(app: Page) -> None:
    choose_radio(app, "Upload a file")
    upload_file(app, DATA / "two_sheets.xlsx")  # sheets: Notes (empty), Loans, Regions
    picker = app.get_by_role("combobox", name="Sheet", exact=True)
    expect(picker).to_have_value("Loans")  # the empty sheet is not offered
    picker.click()
    expect(app.get_by_role("option")).to_have_text(["Loans", "Regions"])
    app.keyboard.press("Escape")
    click_button(app, "Load this sheet")
    expect(alerts(app, "success")).to_contain_text("Loaded two_sheets.xlsx")
    assert_no_exception(app)


# ---------------------------------------------------------------------- fake


def _generate(page: Page, seed: int) -> None:
    form = page.get_by_test_id("stForm")
    form.get_by_role("spinbutton", name="Rows").fill("500")
    form.get_by_role("spinbutton", name="Seed").fill(str(seed))
    click_button(page, "Generate", within=form)
    expect(alerts(page, "success")).to_contain_text(f"Loaded fake loans (seed {seed}): 500 rows")


def test_fake_dataset_is_reproducible_from_its_seed(app: Page) -> None:
    choose_radio(app, "Fake a dataset")
    choose_select(app, "Kind of data", "loans")

    _generate(app, seed=42)
    expect_sidebar_dataset(app, "fake loans (seed 42)", "500 rows")
    rows = grid(open_tab(app, "Preview")).locator("tbody tr")
    first_row = rows.first.text_content()
    seed_42 = dataframe_rows(app.get_by_test_id("stDataFrame").first)

    _generate(app, seed=7)
    expect(rows.first).not_to_have_text(first_row)  # another seed, another table
    assert dataframe_rows(app.get_by_test_id("stDataFrame").first) != seed_42

    _generate(app, seed=42)
    expect(rows.first).to_have_text(first_row)  # the same seed, the same table
    assert dataframe_rows(app.get_by_test_id("stDataFrame").first) == seed_42
    assert_no_exception(app)


# ---------------------------------------------------------------------- navigation


def test_dataset_survives_page_switches(app: Page) -> None:
    sample = SAMPLES[0]
    load_sample(app, sample)
    for title in ("Train", "Generate", "Evaluate", "Compare", "Data"):
        goto_page(app, title)
        expect(main(app).locator("h1")).to_have_text(title)
        expect_sidebar_dataset(app, sample.filename, sample.shape)
        assert_no_exception(app)
    expect_dataset_heading(app, sample.filename)
    expect(main(app)).to_contain_text(f"· {sample.shape}")


# ---------------------------------------------------------------------- hostile files


def test_readme_covers_every_hostile_file() -> None:
    on_disk = {path.name for path in BAD.iterdir() if path.name != "README.md"}
    assert {entry.name for entry in CORPUS} == on_disk
    assert all(entry.phrases for entry in REFUSED)
    assert all(entry.shape for entry in LOADS)


def _baseline_then_upload_mode(page: Page) -> None:
    load_sample(page, BASELINE)
    choose_radio(page, "Upload a file")


@pytest.mark.parametrize("entry", _refused_params())
def test_refused_upload_shows_an_error_and_keeps_the_dataset(
    shared_session, entry: CorpusFile
) -> None:
    session = shared_session("refused", _baseline_then_upload_mode)
    page = session.page
    upload_file(page, BAD / entry.name)

    # A refused file offers no sheet picker (drawn in the run that just ended, so a short
    # wait suffices; it keeps the known empty-workbook bug from costing a full timeout).
    expect(page.get_by_role("combobox", name="Sheet")).to_have_count(0, timeout=QUICK_MS)
    error = alerts(page, "error")
    expect(error).to_have_count(1)
    for phrase in entry.phrases:
        expect(error).to_contain_text(phrase)
    expect(error).to_contain_text(entry.name)  # the message names the file
    assert_no_exception(page)
    expect_sidebar_dataset(page, BASELINE.filename, BASELINE.shape)
    expect(main(page)).to_contain_text(f"Still working with {BASELINE.filename}.")
    expect_dataset_heading(page, BASELINE.filename)
    assert session.dialogs == []


@pytest.mark.parametrize("entry", LOADS, ids=[entry.name for entry in LOADS])
def test_odd_but_valid_upload_loads(shared_session, entry: CorpusFile) -> None:
    session = shared_session("accepted", lambda p: choose_radio(p, "Upload a file"))
    page = session.page
    upload_file(page, BAD / entry.name)

    rows, columns = entry.shape
    shape = f"{rows:,} rows × {columns} columns"
    expect(alerts(page, "success")).to_have_text(f"Loaded {entry.name}: {shape}.")
    expect_sidebar_dataset(page, entry.name, shape)
    expect_dataset_heading(page, entry.name)
    assert error_texts(page) == []
    for tab in ("Profile", "Metadata", "Preview"):  # every view copes with the odd content
        open_tab(page, tab)
    assert_no_exception(page)
    assert session.dialogs == []


def test_html_in_a_file_is_shown_as_text_never_run(shared_session) -> None:
    session = shared_session("accepted", lambda p: choose_radio(p, "Upload a file"))
    page = session.page
    upload_file(page, BAD / "html_script.csv")
    expect(alerts(page, "success")).to_contain_text("Loaded html_script.csv")

    header = grid(open_tab(page, "Preview")).locator("thead")
    expect(header).to_contain_text("<script>alert(1)</script>")
    expect(header).to_contain_text("<b>bold</b>")
    expect(open_tab(page, "Profile").get_by_test_id("stPlotlyChart")).to_have_count(4)
    metadata = grid(open_tab(page, "Metadata"))
    expect(metadata.locator("tbody")).to_contain_text("<script>alert(1)</script>")
    injected = page.evaluate(
        """() => ({
            scripts: [...document.scripts].filter(s => s.text.includes("alert(")).length,
            images: document.querySelectorAll('img[src="x"]').length,
            bold: [...document.querySelectorAll("b")].filter(b => b.textContent === "bold").length,
        })"""
    )
    assert injected == {"scripts": 0, "images": 0, "bold": 0}
    assert session.dialogs == []
    assert_no_exception(page)


def test_all_null_column_is_refused_then_loads_without_it(app: Page) -> None:
    choose_radio(app, "Upload a file")
    upload_file(app, BAD / "all_null_column.csv")
    expect(alerts(app, "error")).to_contain_text("1 column has no values at all: 'notes'")
    expect(sidebar(app)).to_contain_text("Dataset: none loaded yet")

    click_button(app, "Load without the empty columns")
    expect(alerts(app, "success")).to_have_text("Loaded all_null_column.csv: 8 rows × 3 columns.")
    assert error_texts(app) == []
    expect(main(app)).to_contain_text("Dropped 1 empty column: 'notes'.")
    header = grid(open_tab(app, "Preview")).locator("thead")
    expect(header).to_contain_text("income")
    expect(header).not_to_contain_text("notes")
    expect(grid(open_tab(app, "Metadata")).locator("tbody")).not_to_contain_text("notes")
    assert_no_exception(app)


def test_file_names_are_shown_literally(shared_session, tmp_path: Path) -> None:
    # Last in the module: a failing (xfailed) test discards the shared session it used.
    name = "prices $5 to $10 (__draft__).csv"
    upload = tmp_path / name
    upload.write_text("region,amount\nNorth,5\nSouth,10\n", encoding="utf-8")
    session = shared_session("accepted", lambda p: choose_radio(p, "Upload a file"))
    page = session.page
    upload_file(page, upload)

    expect(alerts(page, "success")).to_have_text(
        f"Loaded {name}: 2 rows × 2 columns.", timeout=QUICK_MS
    )
    expect_dataset_heading(page, name)
    expect(sidebar(page)).to_contain_text(f"Dataset: {name}")
