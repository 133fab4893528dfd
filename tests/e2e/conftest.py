"""Fixtures for the browser tests: one real studio server per run, fresh browser sessions.

Fixtures (all in this directory):

* ``studio`` (session) -> ``StudioServer`` (``tests/e2e/server.py``): the studio started
  as ``make run`` does on a free port with its own empty ``STUDIO_DATA_DIR`` (``.data_dir``: jobs,
  registry, model files); at the end its process group and its training workers are
  stopped. Server output: ``test-artifacts/e2e/streamlit-server.log``.
* ``studio_server`` (session) -> ``str``: that server's base URL.
* ``studio_factory`` (function) -> ``start(data_dir=None, env=None) -> StudioServer``:
  servers of the test's own (e.g. stop one and start another on the same ``data_dir``, or
  one with ``STUDIO_MAX_JOBS=1``); all stopped, with their workers, when the test ends.
* ``browser`` (session): headless Debian Chromium (``/usr/bin/chromium``, or
  ``$STUDIO_E2E_CHROMIUM``); Playwright's own browser download is never used.
* ``browser_session`` (function) -> ``BrowserSession``: a new context (1400×900, downloads
  accepted) = a new Streamlit session; ``.page``, ``.console``, ``.dialogs``.
* ``page`` (function) -> ``Page``: that session's page, not navigated yet
  (``open_app(page, studio_server)``).
* ``app`` (function) -> ``Page``: ``page`` with the app open on the Data page, first run done.
* ``dialogs`` (function) -> ``list[str]``: JavaScript dialogs the page opened (dismissed).
* ``sessions`` (function) -> ``open(name) -> BrowserSession``: more fresh sessions for one
  test (several users at once, or one coming back after a restart), not navigated yet.
* ``shared_session`` (function) -> ``get(name, prepare=None) -> BrowserSession``: a session
  that the tests of one module share by name (prepared once by ``prepare(page)``), for
  parametrized checks that need the same set-up; discarded after any test that does not
  pass, so failures never cascade.

On failure the test's screenshot, HTML and browser console go to
``test-artifacts/e2e/<test name>.{png,html,console.txt}``.

Every test here is marked ``e2e``. Without Chromium they are skipped with the reason, except
when ``CI`` is set: then a missing browser is an error, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserSession,
    SessionPool,
    artifact_path,
    open_session,
    save_failure_artifacts,
)
from tests.e2e.server import StudioServer, start_studio

E2E_DIR = Path(__file__).resolve().parent
_BROWSER_MISSING = (
    f"e2e tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium, or set "
    "STUDIO_E2E_CHROMIUM); Playwright's own browser download is not used"
)


# ---------------------------------------------------------------------- collection


def _is_e2e(item: pytest.Item) -> bool:
    return E2E_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in tests/e2e ``e2e``; without Chromium skip those that need the
    browser (on CI the ``browser`` fixture fails instead)."""
    skip = not CHROMIUM.exists() and not os.environ.get("CI")
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)
            if skip and "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=_BROWSER_MISSING))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item (``item.rep_setup``, ``item.rep_call``)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(item: pytest.Item) -> bool:
    """Setup or call failed (an xfail is not a failure)."""
    return any(getattr(getattr(item, f"rep_{when}", None), "failed", False)
               for when in ("setup", "call"))


def _passed(item: pytest.Item) -> bool:
    call = getattr(item, "rep_call", None)
    return call is not None and call.passed


# ---------------------------------------------------------------------- the server


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    """The studio server of the whole test session (URL, data directory, process)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "streamlit-server.log"
    log_path.write_bytes(b"")
    data_dir = tmp_path_factory.mktemp("e2e_studio_data")
    try:
        server = start_studio(data_dir, log_path)
    except RuntimeError as error:
        print(error, file=sys.stderr)  # noqa: T201 - shown next to the setup error
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def studio_server(studio: StudioServer) -> str:
    """Base URL of the studio server shared by the whole test session."""
    return studio.url


@pytest.fixture
def studio_factory(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., StudioServer]]:
    """``start(data_dir=None, env=None) -> StudioServer``: a server of this test's own.

    For tests that stop or restart a server: start a second one on the first one's
    ``data_dir`` to see what survives a restart; ``env`` adds settings
    (``STUDIO_MAX_JOBS``). Every server started here is stopped, and its workers killed,
    when the test ends; its output goes to
    ``test-artifacts/e2e/streamlit-server-<test name>.log``.
    """
    started: list[StudioServer] = []
    log_path = artifact_path(request.node, ".server.log")
    log_path.write_bytes(b"")

    def start(data_dir: Path | None = None, env: dict[str, str] | None = None) -> StudioServer:
        directory = data_dir if data_dir is not None else tmp_path_factory.mktemp("studio")
        try:
            server = start_studio(directory, log_path, extra_env=env)
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
        if not _failed(request.node):
            log_path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, shared by every test of the run."""
    if not CHROMIUM.exists():
        pytest.fail(f"{_BROWSER_MISSING} (CI is set, so this is an error, not a skip)",
                    pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.helpers import EXPECT_TIMEOUT_MS

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def browser_session(browser, request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    """A fresh browser context (= a new Streamlit session); artifacts saved on failure."""
    session = open_session(browser)
    try:
        yield session
    finally:
        if _failed(request.node):
            save_failure_artifacts(session, request.node)
        session.close()


@pytest.fixture
def sessions(browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., BrowserSession]]:
    """``open(name) -> BrowserSession``: more fresh sessions (users) for one test.

    For tests with several users at once, or a user who comes back after a server
    restart. Each is closed when the test ends; on failure each one's screenshot, HTML and
    console go to ``test-artifacts/e2e/<test name>.<name>.*``.
    """
    opened: dict[str, BrowserSession] = {}

    def open_named(name: str) -> BrowserSession:
        if name in opened:
            raise ValueError(f"A session called {name!r} is already open in this test.")
        opened[name] = open_session(browser)
        return opened[name]

    try:
        yield open_named
    finally:
        for name, session in opened.items():
            if _failed(request.node):
                save_failure_artifacts(session, request.node, name)
            session.close()


@pytest.fixture
def page(browser_session: BrowserSession):
    """The fresh session's page, not navigated yet."""
    return browser_session.page


@pytest.fixture
def dialogs(browser_session: BrowserSession) -> list[str]:
    """JavaScript dialogs (alert, confirm, prompt) the page opened; all were dismissed."""
    return browser_session.dialogs


@pytest.fixture
def app(page, studio_server: str):
    """The page with the studio open (the Data page) and its first script run finished."""
    from tests.e2e.helpers import open_app

    open_app(page, studio_server)
    return page


@pytest.fixture(scope="module")
def _session_pool(browser, studio_server: str) -> Iterator[SessionPool]:
    pool = SessionPool(browser, studio_server)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def shared_session(
    _session_pool: SessionPool, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserSession]]:
    """``get(name, prepare=None)``: the module's session ``name``, prepared once.

    After a test that did not pass (failed, errored or xfailed) every session it used is
    saved as artifacts (if it failed) and discarded, so the next test gets a fresh one.
    """
    used: list[str] = []

    def get(name: str, prepare=None) -> BrowserSession:
        used.append(name)
        return _session_pool.get(name, prepare)

    try:
        yield get
    finally:
        if not _passed(request.node):
            for name in dict.fromkeys(used):
                session = _session_pool.peek(name)
                if session is not None and _failed(request.node):
                    save_failure_artifacts(session, request.node)
                _session_pool.discard(name)
