"""Helpers for driving the studio in a real browser, the way a user does.

Every helper waits on *app state*, never on the clock:

* A :class:`ScriptRuns` tracker reads Streamlit's own websocket messages (``ForwardMsg``
  protobufs) so it knows exactly when a script run starts, when it finishes and whether it
  finished only to rerun (``st.rerun()``). The ``page`` fixture attaches one to every page.
* :func:`expect_rerun` wraps a user action that makes Streamlit run the script (a click, an
  upload, a page switch) and returns once that run - and any ``st.rerun()`` it chained - is
  over and the browser has applied it.
* Assertions then use Playwright's auto-retrying ``expect(...)``: elements Streamlit loads
  lazily (data grids, Plotly charts) may still be drawing when the run is over.

Why not just wait for ``[data-testid="stApp"][data-test-script-state="notRunning"]``? Right
after a click the attribute still says ``notRunning`` (the server has not heard of the click
yet), and between a run that calls ``st.rerun()`` and the rerun it says ``notRunning`` again
for a few hundred milliseconds. Both are races; the websocket messages are not.

DOM hooks used (checked against Streamlit 1.67's frontend and the live DOM):
``stApp`` with ``data-test-script-state`` (``initial``/``running``/``notRunning``/...) and
``data-test-connection-state`` (``CONNECTED``); ``stMain``; ``stSidebarUserContent``;
``stSidebarNav`` (role ``link``, ``aria-current="page"`` on the open page);
``stAlertContent{Error,Warning,Info,Success}`` (text in its ``stMarkdownContainer``; the
icon's ligature name is outside it); ``stException``; ``stFileUploader`` >
``stFileUploaderDropzone`` (button "Upload", or "Add files" once a file is there);
``stRadioOption`` (``data-selected``); ``stTab`` and role ``tabpanel``; ``stDataFrame`` >
``table[role=grid]`` (the grid's accessible mirror: ``aria-rowcount``, ``thead``/``tbody``
text); ``stPlotlyChart`` > ``.js-plotly-plot`` > ``.main-svg``; ``stForm``; selectboxes as
role ``combobox``/``option``; number inputs as role ``spinbutton``; and the class
``st-key-<key>`` on the container of a widget created with ``key=``.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Download, Locator, Page, WebSocket, expect
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "EXPECT_TIMEOUT_MS",
    "ScriptRuns",
    "alert_texts",
    "alerts",
    "assert_no_exception",
    "attach_script_runs",
    "button",
    "choose_radio",
    "choose_select",
    "click_button",
    "click_download",
    "dataframe_rows",
    "error_texts",
    "expect_rerun",
    "fill_number",
    "goto_page",
    "keyed",
    "main",
    "open_app",
    "open_combobox",
    "script_runs",
    "seen",
    "sidebar",
    "sidebar_text",
    "upload_file",
    "wait_for_app_idle",
    "watch",
]

DEFAULT_TIMEOUT_MS = 60_000
"""How long one script run (with its ``st.rerun()`` chain) may take before a test fails."""

EXPECT_TIMEOUT_MS = 20_000
"""Default for Playwright's auto-retrying ``expect`` (set by the e2e conftest): what a user
sees right after a run (a chart drawing, a grid filling in) may lag on a busy CI machine."""

_FINAL = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
}
_FRAGMENT = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
_BROWSE_BUTTON = re.compile(r"^(Upload|Browse files|Add files)$")
_PUMP_SLICE_MS = 250  # longest wait for one websocket frame before re-checking the state
_OPEN_LIST_MS = 2_000  # a list that opens at all opens within a frame or two


class ScriptRuns:
    """What the Streamlit server told one page about its script runs.

    Counters only grow; compare them before and after an action.

    Attributes:
        connections: Websocket connections the page opened (one per page load).
        started: Script runs started (``new_session`` messages).
        finished: Full runs that ended for good (not ended early to rerun).
        fragment_finished: Fragment runs (``st.fragment``) that ended.
        running: The last ``session_status_changed.script_is_running`` the server sent.
        rerun_pending: The last full run ended with ``st.rerun()`` and its successor has
            not finished yet.
    """

    def __init__(self) -> None:
        self.connections = 0
        self._finished_on_connection = 0
        self.started = 0
        self.finished = 0
        self.fragment_finished = 0
        self.running = False
        self.rerun_pending = False
        self._websocket: WebSocket | None = None

    # ------------------------------------------------------------------ wiring

    def attach(self, page: Page) -> None:
        """Listen to the app's websocket on ``page`` (call before the first ``goto``)."""
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, websocket: WebSocket) -> None:
        if "/_stcore/stream" not in websocket.url:
            return
        self._websocket = websocket
        self.connections += 1
        self._finished_on_connection = 0
        self.running = False
        self.rerun_pending = False
        websocket.on("framereceived", self._on_frame)

    def _on_frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "session_status_changed":
            self.running = message.session_status_changed.script_is_running
        elif kind == "script_finished":
            status = message.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.rerun_pending = True
            elif status == _FRAGMENT:
                self.fragment_finished += 1
            elif status in _FINAL:
                self.finished += 1
                self._finished_on_connection += 1
                self.rerun_pending = False

    # ------------------------------------------------------------------ state

    @property
    def idle(self) -> bool:
        """A run has finished, none is running and no ``st.rerun()`` is pending."""
        return self.finished > 0 and not self.running and not self.rerun_pending

    @property
    def finished_on_connection(self) -> int:
        """Full runs finished since the current websocket connection opened."""
        return self._finished_on_connection

    def describe(self) -> str:
        """The counters, for failure messages."""
        return (
            f"connections={self.connections} started={self.started} finished={self.finished} "
            f"fragment_finished={self.fragment_finished} running={self.running} "
            f"rerun_pending={self.rerun_pending}"
        )

    def wait_until(self, page: Page, condition: Callable[[], bool], timeout_ms: float,
                   what: str) -> None:
        """Process websocket messages until ``condition()`` holds.

        Returns as soon as a message makes the condition true; there is no fixed sleep.
        Each wait for the next frame is bounded by a short slice so a frame that was
        dispatched before the wait began cannot leave us waiting for one that never comes.

        Raises:
            AssertionError: The condition did not hold within ``timeout_ms``.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while not condition():
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                raise AssertionError(
                    f"Timed out after {timeout_ms / 1000:.0f} s waiting for {what} "
                    f"({self.describe()})."
                )
            slice_ms = min(remaining_ms, _PUMP_SLICE_MS)
            source = self._websocket if self._websocket is not None else page
            event = "framereceived" if self._websocket is not None else "websocket"
            try:
                source.wait_for_event(event, timeout=slice_ms)
            except PlaywrightTimeoutError:
                continue
            except PlaywrightError:
                if page.is_closed():
                    raise
                self._websocket = None  # the socket closed; wait for the page's next one


_TRACKERS: weakref.WeakKeyDictionary[Page, ScriptRuns] = weakref.WeakKeyDictionary()


def attach_script_runs(page: Page) -> ScriptRuns:
    """Attach (once) and return the :class:`ScriptRuns` tracker of ``page``."""
    tracker = _TRACKERS.get(page)
    if tracker is None:
        tracker = ScriptRuns()
        tracker.attach(page)
        _TRACKERS[page] = tracker
    return tracker


def script_runs(page: Page) -> ScriptRuns:
    """The tracker of ``page``; it must have been attached before the page loaded the app."""
    tracker = _TRACKERS.get(page)
    if tracker is None:
        raise RuntimeError(
            "This page has no ScriptRuns tracker: use the `page` fixture of tests/e2e, or "
            "call attach_script_runs(page) before page.goto()."
        )
    return tracker


# ---------------------------------------------------------------------- waiting


def _wait_for_frontend(page: Page, timeout_ms: float) -> None:
    """The browser has caught up: connected, and it shows no script running."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)


def wait_for_app_idle(page: Page, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until no script is running, no ``st.rerun()`` is pending and the DOM is current.

    This settles what is already under way. It cannot know about an action whose message
    has not reached the server yet: wrap actions in :func:`expect_rerun` instead (the
    action helpers below already do).
    """
    tracker = script_runs(page)
    tracker.wait_until(page, lambda: tracker.idle, timeout_ms, "the app to be idle")
    _wait_for_frontend(page, timeout_ms)


@contextmanager
def expect_rerun(
    page: Page, timeout_ms: float = DEFAULT_TIMEOUT_MS, *, fragment: bool = False
) -> Iterator[ScriptRuns]:
    """Wrap an action that makes Streamlit run the script; return when that run is over.

    Args:
        page: The page the action happens on.
        timeout_ms: How long the run (and its ``st.rerun()`` chain) may take.
        fragment: The action re-runs only an ``st.fragment`` (a widget inside one), so a
            finished fragment run counts too.

    Yields:
        The page's tracker.
    """
    tracker = script_runs(page)
    before = (tracker.finished, tracker.fragment_finished)
    yield tracker

    def done() -> bool:
        ran = tracker.finished > before[0] or (fragment and tracker.fragment_finished > before[1])
        return ran and not tracker.running and not tracker.rerun_pending

    tracker.wait_until(page, done, timeout_ms, "the script run started by the action to end")
    _wait_for_frontend(page, timeout_ms)


# ---------------------------------------------------------------------- locators


def main(page: Page) -> Locator:
    """The main area (everything but the sidebar)."""
    return page.get_by_test_id("stMain")


def sidebar(page: Page) -> Locator:
    """The app's own sidebar content (below the page navigation)."""
    return page.get_by_test_id("stSidebarUserContent")


def sidebar_text(page: Page) -> str:
    """The visible text of the app's sidebar content (not the navigation links)."""
    return sidebar(page).inner_text()


def keyed(page: Page | Locator, key: str) -> Locator:
    """The container Streamlit gives a widget created with ``key=...``."""
    return page.locator(f".st-key-{key}")


def button(page: Page | Locator, label: str | None = None, *, key: str | None = None) -> Locator:
    """A button by its exact label, or by its Streamlit ``key`` (one of the two)."""
    if (label is None) == (key is None):
        raise ValueError("Give exactly one of label or key.")
    if key is not None:
        return keyed(page, key).get_by_role("button")
    return page.get_by_role("button", name=label, exact=True)


def alerts(page: Page | Locator, kind: str) -> Locator:
    """The ``st.<kind>`` messages (kind: error, warning, info or success), icon excluded."""
    return page.get_by_test_id(f"stAlertContent{kind.capitalize()}").get_by_test_id(
        "stMarkdownContainer"
    )


def alert_texts(page: Page | Locator, kind: str) -> list[str]:
    """Texts of the ``st.<kind>`` messages on the page (without the icon's ligature name)."""
    return alerts(page, kind).all_inner_texts()


def error_texts(page: Page | Locator) -> list[str]:
    """Texts of the ``st.error`` messages on the page."""
    return alert_texts(page, "error")


def assert_no_exception(page: Page) -> None:
    """No uncaught exception shown: no ``stException`` element (with details hidden by
    ``client.showErrorDetails = "none"`` it reads "This app has encountered an error"),
    and no Python traceback in the page text."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    body = page.locator("body").inner_text()
    for sign in ("Traceback", "This app has encountered an error"):
        assert sign not in body, f"The page shows an exception ({sign!r}):\n{body[:2000]}"


def dataframe_rows(frame: Locator, rows: int = 5) -> list[list[str]]:
    """The first ``rows`` rendered rows of an ``st.dataframe`` as cell texts.

    The grid paints on a canvas; its accessible ``table[role=grid]`` mirrors the rows and
    columns in view, which is what a screen reader (and this helper) reads.
    """
    body_rows = frame.locator("table[role=grid] tbody tr")
    expect(body_rows.first).to_be_attached()
    texts = []
    for row in body_rows.all()[:rows]:
        texts.append([cell.strip() for cell in row.locator("td").all_text_contents()])
    return texts


# ---------------------------------------------------------------------- actions


def open_app(page: Page, base_url: str, path: str = "",
             timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Open (or reload) the app - a new Streamlit session - and wait for its first run."""
    tracker = script_runs(page)
    before = tracker.connections
    page.goto(f"{base_url.rstrip('/')}/{path.lstrip('/')}")
    tracker.wait_until(
        page,
        lambda: tracker.connections > before and tracker.finished_on_connection and tracker.idle,
        timeout_ms,
        "the app's first script run",
    )
    _wait_for_frontend(page, timeout_ms)


def goto_page(page: Page, title: str, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Click the sidebar navigation link called ``title`` and wait for that page's run."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    with expect_rerun(page, timeout_ms):
        link.click()
    expect(link).to_have_attribute("aria-current", "page")


def click_button(page: Page, label: str | None = None, *, key: str | None = None,
                 within: Locator | None = None,
                 timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Click a button (by exact label or Streamlit key) and wait for the run it starts.

    Works for ``st.button``, ``st.form_submit_button`` and ``st.download_button`` labels.
    """
    target = button(within if within is not None else page, label, key=key)
    with expect_rerun(page, timeout_ms):
        target.click()


def choose_radio(page: Page, option: str, *, within: Locator | None = None,
                 timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Pick ``option`` of an ``st.radio`` and wait for the run it starts (if it is
    already chosen, nothing happens)."""
    scope = within if within is not None else page
    choice = scope.get_by_test_id("stRadioOption").filter(
        has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")
    )
    if choice.get_attribute("data-selected") == "true":
        return  # already chosen: clicking it again starts no run
    with expect_rerun(page, timeout_ms):
        choice.click()
    expect(choice).to_have_attribute("data-selected", "true")


def open_combobox(box: Locator) -> None:
    """Open a selectbox's (or multiselect's) list of options.

    A click that first has to scroll the box into view does not open it (the scroll
    cancels the press), so the box is scrolled into view first; if the list still is not
    open, the keyboard opens it.
    """
    box.scroll_into_view_if_needed()
    box.click()
    try:
        expect(box).to_have_attribute("aria-expanded", "true", timeout=_OPEN_LIST_MS)
    except AssertionError:
        box.press("ArrowDown")
        expect(box).to_have_attribute("aria-expanded", "true")


def choose_select(page: Page, label: str, option: str, *, within: Locator | None = None,
                  timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Pick ``option`` in the ``st.selectbox`` labelled ``label``; wait for the run it starts
    (if it is already chosen, nothing happens).

    Inside an ``st.form`` nothing runs until the form is submitted: use the locators
    directly there.
    """
    scope = within if within is not None else page
    box = scope.get_by_role("combobox", name=label, exact=True)
    if box.input_value() == option:
        return  # already chosen: choosing it again starts no run
    open_combobox(box)
    with expect_rerun(page, timeout_ms):
        page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def upload_file(page: Page, path: str | Path, *, uploader: Locator | None = None,
                timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Upload ``path`` through an ``st.file_uploader``'s browse button, as a user does.

    Args:
        page: The page.
        path: The file to upload.
        uploader: The ``stFileUploader`` element; default: the only uploader on the page.
        timeout_ms: How long the upload and the run it starts may take.
    """
    if uploader is None:
        uploader = page.get_by_test_id("stFileUploader")
    # Streamlit 1.67 labels it "Upload" (older: "Browse files"); once a file is there, an
    # "Add files" icon button takes its place (for a single-file uploader it replaces it).
    browse = uploader.get_by_test_id("stFileUploaderDropzone").get_by_role(
        "button", name=_BROWSE_BUTTON
    )
    with expect_rerun(page, timeout_ms):
        with page.expect_file_chooser() as chooser:
            browse.click()
        chooser.value.set_files(str(path))


def fill_number(page: Page, value: float | int, *, key: str | None = None,
                label: str | None = None, within: Locator | None = None,
                timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Type ``value`` into an ``st.number_input`` (by Streamlit key or label), press Enter
    and wait for the run it starts (if it already holds ``value``, nothing happens)."""
    if (label is None) == (key is None):
        raise ValueError("Give exactly one of label or key.")
    scope = within if within is not None else page
    box = (keyed(scope, key).get_by_role("spinbutton") if key is not None
           else scope.get_by_role("spinbutton", name=label, exact=True))
    text = str(value)
    if box.input_value() == text:
        return
    box.fill(text)
    with expect_rerun(page, timeout_ms):
        box.press("Enter")
    expect(box).to_have_value(text)


def click_download(page: Page, label: str | None = None, *, key: str | None = None,
                   within: Locator | None = None,
                   timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Download:
    """Click an ``st.download_button`` (by exact label or key); return the download.

    The studio's downloads build their file when clicked and do not rerun the app
    (``ui.widgets.download_button``): a rerun racing the download replaced the file id and
    the download never came. So a full run started by the click fails the test.
    """
    target = button(within if within is not None else page, label, key=key)
    tracker = script_runs(page)
    wait_for_app_idle(page, timeout_ms)
    before = tracker.finished
    try:
        with page.expect_download(timeout=timeout_ms) as download:
            target.click()
        value = download.value
    except PlaywrightTimeoutError as error:
        # Say what the button said (Streamlit shows a deferred file's failure under it).
        shown = page.get_by_test_id("stDownloadButtonError").all_inner_texts()
        raise AssertionError(f"no download came; the page shows {shown or 'no error'}") from error
    assert tracker.finished == before, (
        "the download click re-ran the app (use ui.widgets.download_button)"
    )
    return value


# ---------------------------------------------------------------------- what was shown

_WATCH_JS = """([name, selector, pattern]) => {
    const seen = (window.__studioSeen = window.__studioSeen || {});
    const observers = (window.__studioObservers = window.__studioObservers || {});
    if (observers[name]) observers[name].disconnect();
    seen[name] = [];
    const wanted = pattern === null ? null : new RegExp(pattern);
    const look = () => {
        for (const element of document.querySelectorAll(selector)) {
            const text = (element.innerText || element.textContent || "").trim();
            if ((wanted === null || wanted.test(text)) && !seen[name].includes(text)) {
                seen[name].push(text);
            }
        }
    };
    look();
    observers[name] = new MutationObserver(look);
    observers[name].observe(document.body,
                            {subtree: true, childList: true, characterData: true});
}"""


def watch(page: Page, name: str, selector: str, pattern: str | None = None) -> None:
    """Start recording every distinct text of the elements matching ``selector`` (and
    the regular expression ``pattern``) that the page shows from now on, even briefly.

    For things that are on screen only for a moment (the progress of a fit that takes
    two seconds): assert afterwards with :func:`seen`, instead of racing to catch them.
    The record lives in the page; a page load clears it.
    """
    page.evaluate(_WATCH_JS, [name, selector, pattern])


def seen(page: Page, name: str) -> list[str]:
    """The distinct texts recorded by :func:`watch` ``name`` so far, in order."""
    return page.evaluate("(name) => (window.__studioSeen || {})[name] || null", name) or []
