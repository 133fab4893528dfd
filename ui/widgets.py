"""Small UI helpers: core errors as messages, progress (in the page and of jobs), headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from core.engine.generation import GeneratedSample
from core.engine.training import TrainingRequest
from core.errors import StudioError
from core.jobs.status import STAGE_QUEUED, JobStatus, cancelled_message, ordinal
from core.progress import ProgressCallback
from core.workflow import (
    Trained,
    model_schema,
    sample_in_process,
    sample_model,
    train_or_reuse,
)

if TYPE_CHECKING:
    from core.store.registry import ModelRecord, ModelRegistry
    from ui.caching import WorkspaceJobs

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


def duration(seconds: float | None) -> str:
    """Seconds in words: "0.4 s", "12 s", "3 min 05 s", "1 h 02 min" ("–" if unknown)."""
    if seconds is None:
        return "–"
    if seconds < 9.95:
        return f"{max(seconds, 0.0):.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def job_progress(runner: WorkspaceJobs, status: JobStatus, *, title: str, key: str,
                 cancel_key: str, details: Callable[[], None] | None = None) -> None:
    """The one progress panel of a background job (fit, comparison, sample, evaluation).

    It says what the job does now (its stage), its place in the queue while it waits, and
    draws a bar only for measured work (:attr:`JobStatus.measured_fraction`: epochs, rows
    generated, evaluation steps). Waiting, starting a worker, importing the libraries or a
    fit without epochs show a spinner with the stage instead: never a made-up percentage.
    Time left is shown only when the job knows it. Cancel works in every state, also
    while the job waits in the queue.

    Args:
        runner: The workspace's job runner (Cancel goes there).
        status: The job's current status (active).
        title: The panel's first line (Markdown).
        key: The panel's key; its stage line is keyed ``{key}_stage``.
        cancel_key: The Cancel button's key.
        details: Draws more inside the panel (a live loss curve).
    """
    with st.container(border=True, key=key):
        st.markdown(title)
        queued = status.state == "queued"
        fraction = None if queued else status.measured_fraction
        stage = STAGE_QUEUED if queued and status.queue_position else status.stage
        with st.container(key=f"{key}_stage"):
            if fraction is None:
                st.status(md(stage), state="running")
            else:
                st.progress(float(fraction), text=md(stage))
        if queued and status.queue_position:
            st.caption(f":material/hourglass_top: {ordinal(status.queue_position)} in line — "
                       "cancel works while waiting.")
        since = time.time() - status.submitted_at if status.submitted_at else status.elapsed
        times = [f"Elapsed {duration(since)}"]
        if status.eta_seconds is not None:
            times.append(f"about {duration(status.eta_seconds)} left (estimate)")
        st.caption(" · ".join(times))
        if details is not None:
            details()
        if st.button("Cancel", key=cancel_key, icon=":material/stop:"):
            runner.cancel(status.job_id)
            st.toast("Cancelling…")


def finished_job(runner: WorkspaceJobs, status: JobStatus, accepts: Callable[[Any], bool], *,
                 action: str, failed: str, unreadable: str
                 ) -> tuple[Any, tuple[str, str] | None]:
    """How a job that has ended came out: its result, or what to tell the user.

    A done job's result is handed over once (the caller keeps it in the session).

    Args:
        runner: The workspace's job runner.
        status: The job's status (no longer active).
        accepts: Whether the handed-over result is what the job makes.
        action: The job's kind for :func:`core.jobs.status.cancelled_message`.
        failed: The message when the job failed without saying why.
        unreadable: The message when the job is done but its result is not what it makes.

    Returns:
        ``(result, None)`` when the job is done, else ``(None, (kind, message))`` with
        ``kind`` "info" for a cancel and "error" otherwise.
    """
    if status.state == "done":
        result = runner.result(status.job_id)
        if accepts(result):
            return result, None
        return None, ("error", unreadable)
    if status.state == "cancelled":
        return None, ("info", status.message or cancelled_message(action))
    return None, ("error", status.message or failed)


def evaluation_job(runner: WorkspaceJobs, job_key: str, sample_key: str,
                   start: Callable[[], str], panel: Callable[[], None], *, retry_key: str
                   ) -> None:
    """Start (once per sample) and follow the evaluation job of the session's synthetic data.

    The evaluation runs in a worker, not in the server; a job of rows that are not current
    any more is cancelled, and one that did not finish says why and waits for **Evaluate
    again** instead of starting by itself.

    Args:
        runner: The workspace's job runner.
        job_key: The session key of the job's entry (``job_id``, ``sample_key``, ``error``).
        sample_key: Which synthetic data is evaluated.
        start: Starts the job and returns its id.
        panel: Follows the running job (a fragment).
        retry_key: The **Evaluate again** button's key.
    """
    from ui import state

    entry = state.get(job_key)
    if entry and entry["sample_key"] != sample_key:  # for rows that are not current any more
        if entry.get("job_id"):
            runner.cancel(entry["job_id"])
        state.pop(job_key)
        entry = None
    if entry is None:
        with user_errors("starting the evaluation"):
            entry = {"job_id": start(), "sample_key": sample_key, "error": None}
            state.put(job_key, entry)
    if entry is not None and entry.get("error"):
        kind, message = entry["error"]
        getattr(st, kind)(message, icon=":material/error:" if kind == "error" else None)
        if st.button("Evaluate again", type="primary", key=retry_key,
                     icon=":material/refresh:"):
            state.pop(job_key)
            st.rerun()
    elif entry is not None:
        panel()


def finished_fit(registry: ModelRegistry, status: JobStatus
                 ) -> tuple[ModelRecord | None, tuple[str, str] | None]:
    """How a fit job that has ended came out: its model's record, or what to tell the user.

    Returns:
        ``(record, None)`` when the fit is done (the record None if the registry no longer
        has it: nothing to say), else ``(None, (kind, message))`` with ``kind`` "info" for
        a cancel and "error" for a failure.
    """
    if status.state == "done" and status.model_id:
        return registry.get(status.model_id), None
    if status.state == "cancelled":
        return None, ("info", "Training was cancelled. Nothing was saved.")
    return None, ("error", status.message or "Training failed.")


def streamlit_secrets() -> dict[str, Any]:
    """``.streamlit/secrets.toml`` as a dict ({} when there is none)."""
    try:
        return st.secrets.to_dict() if st.secrets.load_if_toml_exists() else {}
    except Exception:  # noqa: BLE001 - a broken secrets file just means "no secrets"
        return {}


def move_password_out_of_url(url_key: str, password_key: str) -> None:
    """A button's on_click: a password pasted into the URL field moves to the password field.

    The field is ``type="password"``, so the password is no longer shown on the page.
    """
    from core.data import databases

    url, password = databases.split_password(st.session_state.get(url_key, ""))
    if password:
        st.session_state[url_key] = url
        st.session_state[password_key] = password


def require_dataset() -> bool:
    """Show a pointer to the Data page when nothing is loaded; True if a dataset exists."""
    from ui import state

    if state.get_dataset() is None:
        st.info("Load or fake a dataset first.", icon=":material/info:")
        st.page_link("app_pages/data.py", label="Go to the Data page", icon=":material/table:")
        return False
    return True


def require_model() -> tuple[Any, Any]:
    """The dataset and its current model; else a pointer to Train, and the page stops.

    Call after :func:`require_dataset`. Returns ``(StudioTable, ModelRecord)``.
    """
    from ui import state

    table = state.get_dataset()
    record = state.get(state.CURRENT_MODEL)
    if record is None or record.data_fingerprint != table.fingerprint:
        st.info("Train a model first (or pick one of this dataset's saved models).",
                icon=":material/info:")
        st.page_link("app_pages/train.py", label="Go to the Train page",
                     icon=":material/model_training:")
        st.stop()
    words = privacy_words(record)
    if words:
        st.caption(f":material/shield_lock: {words}")
    return table, record


def privacy_words(record: Any) -> str | None:
    """A DP model's guarantee in one plain sentence; None for a model without one."""
    label = getattr(record, "privacy_label", None)
    if not label:
        return None
    return (f"{label}: trained with differential privacy, so any one person's row could "
            "change this model only a little (smaller ε = stronger guarantee).")


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
        state.put(state.FIT_REQUEST, (trained.job_id, request))  # what the job fits
        state.put(state.CURRENT_JOB, trained.job_id)
    return trained


def generate_rows(record: ModelRecord, rows: int | None = None, seed: int = 0, *,
                  real_example: pd.DataFrame | None = None,
                  fixed_values: Mapping[str, Any] | None = None,
                  rebalance_column: str | None = None,
                  class_shares: Mapping[str, float] | None = None) -> GeneratedSample | None:
    """Draw rows from ``record``: here for a small sample, else in a background job.

    A small sample (:func:`core.workflow.sample_in_process`) is drawn in this process under
    a progress bar and becomes the session's current rows, which are returned. A large one
    starts a job (:data:`ui.state.SAMPLE_JOB`) and returns None: :func:`sample_job_panel`
    follows it and makes its rows current when it is done.

    Raises:
        StudioError: The model cannot be loaded or the conditions cannot be met (here), or
            the job cannot be started.
    """
    from ui import caching, state

    events_per_row = 1.0
    if model_schema(record).sequence is not None:  # rows count entities, each with its events
        model = caching.synthesizer(record.model_id)
        rows = rows or getattr(model, "entities_", None)
        events_per_row = max(float(getattr(model, "mean_events_", 1.0) or 1.0), 1.0)
    rows = int(rows or record.train_rows)
    options = {"real_example": real_example, "fixed_values": fixed_values,
               "rebalance_column": rebalance_column, "class_shares": class_shares}
    if not sample_in_process(int(rows * events_per_row),
                             writes_text=bool(model_schema(record).text_columns)):
        state.put(state.SAMPLE_JOB,
                  caching.job_runner().start_sample(record, rows, seed, **options))
        return None
    report, bar = progress_bar("Generating…")
    try:
        sample = sample_model(caching.synthesizer(record.model_id), record, rows, seed=seed,
                              progress=report, **options)
    finally:
        bar.empty()
    state.put(state.SYNTHETIC, sample)
    return sample


def generated_message(sample: GeneratedSample, wall_seconds: float | None = None) -> str:
    """What a user is told of new rows ("Generated 2,800 rows in 0.4 s.").

    A job's whole time (starting its worker, sampling, handing the rows over) is added.
    """
    text = f"Generated {len(sample.frame):,} rows in {sample.seconds:.1f} s"
    if wall_seconds is not None:
        text += f" ({duration(wall_seconds)} in all, in a background worker)"
    return text + "."


@st.fragment(run_every=1.0)
def sample_job_panel() -> None:
    """Follow the session's sampling job; when it is done its rows become the current ones.

    The Generate and Evaluate pages both call it, so a large sample started on one shows
    on the other.
    """
    from ui import caching, state

    job_id = state.get(state.SAMPLE_JOB)
    if job_id is None:
        return
    runner = caching.job_runner()
    status = runner.status(job_id)
    if status.is_active:
        job_progress(runner, status, title="**Generating rows** in a background worker",
                     key="sample_job", cancel_key="sample_cancel")
        return
    state.pop(state.SAMPLE_JOB)
    sample, problem = finished_job(
        runner, status, lambda result: isinstance(result, GeneratedSample), action="sample",
        failed="Generating rows failed.",
        unreadable="The generated rows could not be read back from the worker; generate "
        "them again.")
    if problem is None:  # kept in the session now
        state.put(state.SYNTHETIC, sample)
        state.flash(generated_message(sample, status.wall_seconds))
    else:
        state.flash(problem[1], problem[0])
    st.rerun()


def download_button(where: Any, label: str, data: Callable[[], bytes | str], *, key: str,
                    **options: Any) -> None:
    """An ``st.download_button`` whose file is built on click and that does not rerun the app.

    Streamlit's default reruns the script on click, concurrently with the download; the run
    replaces the button's file id and the download of the old id fails (seen on CI: no file,
    no message). A download changes nothing on the page, so it needs no rerun.
    """
    where.download_button(label, data=data, key=key, on_click="ignore",
                          icon=":material/download:", **options)


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
