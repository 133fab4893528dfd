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


def quick_model(table: Any, rows: int, seed: int = 3) -> tuple[Any, Any, Any, Any]:
    """A quick Gaussian Copula fitted on ``table`` in this process, and ``rows`` of its rows.

    Returns:
        (record, sample, real training rows, held-out rows).
    """
    from core.engine.models import load_synthesizer
    from core.store.registry import ModelRegistry
    from core.workflow import (
        fit_in_process,
        model_parts,
        plan_request,
        sample_model,
        train_or_reuse,
    )

    registry = ModelRegistry()
    record = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=seed),
                            table.frame, registry, fit_in_process(registry)).record
    sample = sample_model(load_synthesizer(registry, record.model_id), record, rows=rows)
    return (record, sample, *model_parts(table, record))


def open_evaluation(at: AppTest, record: Any, sample: Any, result: Any) -> AppTest:
    """Open Evaluate on ``result`` as the session holds a finished evaluation."""
    at.session_state["studio.current_model"] = record
    at.session_state["studio.synthetic"] = sample
    at.session_state["studio.evaluations"] = {sample.key: result}
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    return at
