"""Deep links on a fresh server: the first visitor who opens ``/train`` (not ``/``) gets
the studio's navigation and sidebar.

Streamlit (1.67) runs its legacy auto-navigation - one link per file of a folder named
``pages/`` beside ``app.py``, the studio's sidebar missing - for a URL that names one of
those files while no session of the server has run ``st.navigation`` yet. So each link
gets a server of its own and is the first thing that server is asked for; the rest of the
suite shares one server and opens ``/`` first, which would hide the bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import assert_no_exception, main, open_app, sidebar

ROOT = Path(__file__).resolve().parents[2]
NAVIGATION = ["Data", "Train", "Generate", "Evaluate", "Compare", "Privacy budget", "Glossary"]
# What legacy auto-navigation would list: the script names, the router's included.
LEGACY_NAMES = ["app", "data", "train", "generate", "evaluate", "compare"]
# What ui/sidebar.py draws on every page for a new session.
SIDEBAR_LINES = ["Workspace", "Whoever has the link sees and changes this workspace",
                 "Session", "Dataset: none loaded yet", "Model: none trained yet", "Device:",
                 "Jobs run on:", "Presentation mode"]
APP_TITLE = "Synthetic Data Studio"  # st.set_page_config in app.py; legacy mode names the tab


# The Data page is the default page: its link is "/" ("/data" is "Page not found").
@pytest.mark.parametrize(
    ("path", "title"),
    [("/train", "Train"), ("/generate", "Generate"), ("/evaluate", "Evaluate"),
     ("/compare", "Compare"), ("/privacy_budget", "Privacy budget"), ("/glossary", "Glossary"),
     ("/", "Data")],
)
def test_a_deep_link_opened_first_on_a_fresh_server_shows_the_studio(
    studio_factory, page: Page, path: str, title: str
) -> None:
    server = studio_factory()
    open_app(page, server.url, path)

    nav = page.get_by_test_id("stSidebarNav")
    # The link's label (its Material icon's ligature name is beside it, aria-hidden).
    labels = nav.get_by_test_id("stSidebarNavLink").get_by_test_id("stMarkdownContainer")
    expect(labels).to_have_text(NAVIGATION)
    for name in LEGACY_NAMES:
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(0)
    link = nav.get_by_role("link", name=title, exact=True)
    expect(link).to_have_attribute("aria-current", "page")
    expect(link).to_have_attribute("href", f"{server.url}{path}")  # the link users share

    expect(main(page).locator("h1")).to_have_text(title)
    expect(page).to_have_title(APP_TITLE)
    # The link is served, not redirected to the start page; it gains the new workspace.
    expect(page).to_have_url(re.compile(
        rf"^{re.escape(server.url)}{re.escape(path)}\?ws=[A-Za-z0-9_-]{{22}}$"))

    bar = sidebar(page)
    for line in SIDEBAR_LINES:
        expect(bar).to_contain_text(line)
    assert_no_exception(page)


def test_no_folder_named_pages_sits_beside_the_router() -> None:
    # Any file in it, even one no page links to, would be a URL in legacy mode (a fresh
    # server answers /x with the links "app, x" for pages/x.py): page scripts go in app_pages/.
    assert not (ROOT / "pages").exists(), (
        "A folder named pages/ beside app.py switches Streamlit to its legacy navigation "
        "for deep links; put page scripts in app_pages/."
    )
