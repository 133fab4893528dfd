"""Small UI helpers: turning core errors into messages, progress bars, headers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from core.engine.training import TrainingRequest
from core.errors import StudioError
from core.progress import ProgressCallback
from core.workflow import Trained, train_or_reuse

_LOG = logging.getLogger("studio")


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a StudioError as ``st.error`` and anything unexpected as a short apology.

    Args:
        action: What was being done, for the unexpected case ("loading the file").
    """
    try:
        yield
    except StudioError as error:
        st.error(md(error), icon=":material/error:")
    except Exception:  # noqa: BLE001 - the UI must never show a traceback
        _LOG.exception("Unexpected error while %s", action)
        st.error(
            f"Something unexpected went wrong while {action}. Nothing you had loaded was lost. "
            "Please try again; if it keeps happening, report it with the server log.",
            icon=":material/error:",
        )


def progress_bar(label: str) -> tuple[ProgressCallback, st.delta_generator.DeltaGenerator]:
    """An ``st.progress`` bar wrapped as a core progress callback."""
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message or label)

    return report, bar


def require_dataset() -> bool:
    """Show a pointer to the Data page when nothing is loaded; True if a dataset exists."""
    from ui import state

    if state.get_dataset() is None:
        st.info("Load or fake a dataset first.", icon=":material/info:")
        st.page_link("app_pages/data.py", label="Go to the Data page", icon=":material/table:")
        return False
    return True


def train_in_background(request: TrainingRequest, frame: pd.DataFrame,
                        estimate_seconds: float | None = None) -> Trained:
    """Reuse the stored model of ``request``, or start fitting it in a background job.

    The session follows: a reused model becomes the current one; a started job becomes the
    current job (the Train page polls it).
    """
    from ui import caching, state

    runner = caching.job_runner()
    trained = train_or_reuse(
        request, frame, caching.model_registry(),
        fit=lambda request, frame, _listener: runner.start(request, frame,
                                                           estimate_seconds=estimate_seconds))
    if trained.record is not None:
        state.put(state.CURRENT_MODEL, trained.record)
    else:
        state.put(state.CURRENT_JOB, trained.job_id)
    return trained


def show_chart(figure: object, key: str) -> None:
    """Draw a plotly figure with the studio's export settings (PNG/SVG, offline)."""
    from ui import presentation

    st.plotly_chart(presentation.style_figure(figure), width="stretch", key=key,
                    config=presentation.chart_config())


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|$~:"})


def md(text: object) -> str:
    """Escape user-supplied text (file and column names) for Streamlit Markdown.

    Without it a file called ``__draft__.csv`` shows in bold and ``$5 to $10`` as maths.
    """
    return str(text).translate(_MARKDOWN_SPECIALS)
