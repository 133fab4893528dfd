"""Fixtures for the browser tests: one real studio server per run, fresh browser sessions.

Fixtures (all in this directory):

* ``studio_server`` (session) -> ``str``: base URL of ``streamlit run app.py`` on a free
  port with its own empty ``STUDIO_DATA_DIR``; the whole process group is stopped at the
  end. Server output: ``test-artifacts/e2e/streamlit-server.log``.
* ``browser`` (session): headless Debian Chromium (``/usr/bin/chromium``, or
  ``$STUDIO_E2E_CHROMIUM``); Playwright's own browser download is never used.
* ``browser_session`` (function) -> ``BrowserSession``: a new context (1400×900, downloads
  accepted) = a new Streamlit session; ``.page``, ``.console``, ``.dialogs``.
* ``page`` (function) -> ``Page``: that session's page, not navigated yet
  (``open_app(page, studio_server)``).
* ``app`` (function) -> ``Page``: ``page`` with the app open on the Data page, first run done.
* ``dialogs`` (function) -> ``list[str]``: JavaScript dialogs the page opened (dismissed).
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
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserSession,
    SessionPool,
    open_session,
    save_failure_artifacts,
)

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = 60
SHUTDOWN_TIMEOUT_S = 10
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL it if it does not stop in time."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _start_server(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        # Nothing to watch in a test run; watching would rerun or warn when someone edits a
        # file mid-run, and the recursive watch of the repo (.venv included) costs CPU.
        "--server.fileWatcherType", "none",
    ]
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}  (STUDIO_DATA_DIR={data_dir})\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if _healthy(url):
            return process, url
        time.sleep(0.2)  # polling the health endpoint: the server offers nothing to wait on
    exited = process.poll() is not None
    _stop(process)
    problem = (f"exited with code {process.returncode} before answering" if exited else
               f"did not answer within {STARTUP_TIMEOUT_S} s")
    raise RuntimeError(
        f"The studio server ({url}) {problem} on /_stcore/health. "
        f"Last lines of {log_path}:\n{_tail(log_path)}"
    )


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the studio once for the whole test session and yield its base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "streamlit-server.log"
    log_path.write_bytes(b"")
    data_dir = tmp_path_factory.mktemp("e2e_studio_data")
    try:
        process, url = _start_server(data_dir, log_path)
    except RuntimeError as error:
        print(error, file=sys.stderr)  # noqa: T201 - shown next to the setup error
        pytest.fail(str(error), pytrace=False)
    try:
        yield url
    finally:
        _stop(process)


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
