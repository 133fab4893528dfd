"""What the AppTest files share: open the app, read what a page shows, wait for a state.

AppTest runs the real router (``app.py``) in this process, one script run per ``.run()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.helpers import shown

ROOT = Path(__file__).resolve().parent.parent
#: How long a test waits for a job (a fit, a sample, an evaluation) before it fails.
DEADLINE_S = 180


def open_app(table: Any = None) -> AppTest:
    """A new browser session on the app, already run once (with ``table`` loaded, if given)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if table is not None:
        at.session_state["studio.dataset"] = table
    return at.run()


def texts(elements: Any) -> list[str]:
    """The visible text of Markdown-like elements (escapes undone)."""
    return [shown(element.value) for element in elements]


def page_text(at: AppTest) -> str:
    """The page's prose and captions, main area and sidebar."""
    return "\n".join(texts(at.markdown) + texts(at.caption))


def sidebar_text(at: AppTest) -> str:
    """The sidebar's prose and captions."""
    return " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))


def poll(at: AppTest, done: Callable[[AppTest], bool], what: str,
         timeout: float = DEADLINE_S) -> AppTest:
    """Rerun the page, as its fragments' timers do, until ``done(at)``; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
    return at
