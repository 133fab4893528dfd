"""Browser sessions for the e2e tests: one browser context = one Streamlit session.

The fixtures in ``conftest.py`` build on these; tests normally use the fixtures
(``page``, ``app``, ``dialogs``, ``shared_session``) rather than this module.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page

from tests.e2e.helpers import attach_script_runs, open_app

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "VIEWPORT",
    "BrowserSession",
    "SessionPool",
    "artifact_path",
    "open_session",
    "save_failure_artifacts",
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("STUDIO_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}


@dataclass
class BrowserSession:
    """A fresh browser context and its page, plus what the page reported.

    Attributes:
        context: The Playwright context (cookies, storage: nothing shared with other tests).
        page: Its page, with a ``ScriptRuns`` tracker attached (see helpers).
        console: Browser console lines, uncaught page errors and failed requests, for
            failure reports.
        dialogs: ``"<type>: <message>"`` of every JavaScript dialog opened (all dismissed).
    """

    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the context (ends the Streamlit session's websocket)."""
        self.context.close()


def open_session(browser: Browser) -> BrowserSession:
    """A new context (1400×900, downloads accepted) and page; not navigated yet."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    session = BrowserSession(context=context, page=page)
    page.on("console", lambda message: session.console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: session.console.append(f"[pageerror] {error}"))
    page.on("requestfailed", lambda request: session.console.append(
        f"[requestfailed] {request.method} {request.url}: {request.failure}"))

    def record_dialog(dialog: Dialog) -> None:
        session.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record_dialog)
    attach_script_runs(page)
    return session


def _artifact_stem(item: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")[:150]


def artifact_path(item: pytest.Item, suffix: str) -> Path:
    """``test-artifacts/e2e/<test name><suffix>`` (the directory is created)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return Path(f"{_artifact_stem(item)}{suffix}")


def _full_screenshot(page: Page, path: str) -> None:
    """Screenshot the whole app: Streamlit scrolls inside stMain, so grow the viewport first."""
    height = page.evaluate(
        "() => Math.max(0, ...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stSidebarContent]')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": min(max(VIEWPORT["height"], int(height)), 12_000)}
    )
    page.screenshot(path=path, full_page=True)


def save_failure_artifacts(session: BrowserSession, item: pytest.Item, name: str = "") -> None:
    """Write ``<test name>.png``, ``.html`` and ``.console.txt`` under test-artifacts/e2e.

    ``name`` tells apart several sessions of one test (``<test name>.<name>.png``).
    """
    stem = artifact_path(item, f".{name}" if name else "")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("screenshot", lambda: _full_screenshot(session.page, f"{stem}.png")),
        ("html", lambda: Path(f"{stem}.html").write_text(session.page.content(),
                                                        encoding="utf-8")),
        ("console", lambda: Path(f"{stem}.console.txt").write_text(
            "\n".join(session.console + [f"[dialog] {d}" for d in session.dialogs]),
            encoding="utf-8")),
    ]
    for what, save in steps:
        try:
            save()
        except Exception as error:  # noqa: BLE001 - artifacts must never hide the failure
            print(f"could not save the {what} of {item.nodeid}: {error}", file=sys.stderr)  # noqa: T201


class SessionPool:
    """Named browser sessions that several tests of a module reuse, to save set-up time.

    ``get(name, prepare)`` opens the app in a new session and runs ``prepare(page)`` the
    first time; later calls return the same session as it was left. A test that does not
    pass gets its session discarded (see the ``shared_session`` fixture), so the next test
    starts from a freshly prepared one and a failure never cascades.
    """

    def __init__(self, browser: Browser, base_url: str) -> None:
        self._browser = browser
        self._base_url = base_url
        self._sessions: dict[str, BrowserSession] = {}

    def get(self, name: str, prepare: Callable[[Page], None] | None = None) -> BrowserSession:
        """The session called ``name``, opened and prepared on first use."""
        session = self._sessions.get(name)
        if session is None:
            # Registered before it is prepared: if preparing fails, the failing test's
            # fixture still finds it, saves its screenshot and discards it.
            session = open_session(self._browser)
            self._sessions[name] = session
            open_app(session.page, self._base_url)
            if prepare is not None:
                prepare(session.page)
        return session

    def peek(self, name: str) -> BrowserSession | None:
        """The session called ``name`` if it is open, without opening it."""
        return self._sessions.get(name)

    def discard(self, name: str) -> None:
        """Close and forget the session ``name`` (no-op if it does not exist)."""
        session = self._sessions.pop(name, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        """Close every session."""
        for name in list(self._sessions):
            self.discard(name)
