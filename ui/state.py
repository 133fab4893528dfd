"""The one owner of session-state keys: pages read and write state only through here.

Keeping every key in one module means a page switch can never lose state by a typo, and
tests (AppTest) can look state up by the same names.

The session belongs to a workspace (:mod:`ui.workspace`): what a reload must bring back
(the dataset, the current model, a running job, a comparison) is saved to the workspace's
folder whenever it changes here, so the keys in :data:`SAVED` are written only through
these functions.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.data.table import StudioTable
from core.store.registry import DEFAULT_WORKSPACE

# Keys (values documented next to each accessor).
DATASET = "studio.dataset"
DEVICE_PREFERENCE = "studio.device_preference"
CURRENT_MODEL = "studio.current_model"
CURRENT_JOB = "studio.current_job"
SYNTHETIC = "studio.synthetic"
FLASH = "studio.flash"
#: The workspace token of this session (the ``ws`` value of the page's URL).
WORKSPACE = "studio.workspace"
#: How to rebuild the current dataset after a reload (:func:`ui.workspace.recipe_for`).
DATASET_RECIPE = "studio.dataset_recipe"
#: The comparison job and its leaderboard (the Compare page).
COMPARE_JOB = "studio.compare.job"
COMPARE_RESULT = "studio.compare.result"
#: The privacy-budget what-if sweep's job id, and its last result
#: (:meth:`core.privacy_sweep.SweepResult.to_dict`; the page shows it for its dataset only).
SWEEP_JOB = "studio.sweep.job"
SWEEP_RESULT = "studio.sweep.result"
#: A job generating rows (a large sample: :func:`core.workflow.sample_in_process`); its
#: rows become :data:`SYNTHETIC` (the Generate and Evaluate pages follow it).
SAMPLE_JOB = "studio.sample_job"
#: The evaluation job of the current rows: {"job_id", "sample_key", "error"} (the Evaluate
#: page; "error" says why the last one did not finish, so it is not restarted by itself).
EVALUATION_JOB = "studio.evaluation_job"
#: Presentation mode on (True) or off: a plain key, not the toggle's, so a page switch
#: (which drops widget state) cannot turn it off (:mod:`ui.presentation`).
PRESENTING = "studio.presentation"
#: The Data page's source picker ("Sample dataset", "Upload a file", ...): a widget key the
#: radio keeps for the whole session (persist_state="session"), so a page switch keeps it.
DATA_SOURCE = "data_source"
#: The target per dataset fingerprint: {fingerprint: {"target", "confirmed"}}. "confirmed"
#: is False while the target is the studio's own guess (pages say "suggested target").
TARGET_CHOICES = "studio.target_choices"
#: (job id, TrainingRequest) of the session's latest fit, so a page can say what it trains.
FIT_REQUEST = "studio.fit_request"
#: Several related tables (core.data.related.RelatedTables) the session works on instead of
#: one table: loading one clears the other (:func:`set_related`, :func:`set_dataset`).
RELATED = "studio.related"
#: The related tables' current model (a ModelRecord of shape "related"), the id of their
#: fit job, their generated tables ({"model_id", "seed", "tables": {name: frame}, ...}) and
#: the evaluation of those tables ({"sample_key", "result"}).
RELATED_MODEL = "studio.related.model"
RELATED_JOB = "studio.related.job"
RELATED_SAMPLE = "studio.related.sample"
RELATED_EVALUATION = "studio.related.evaluation"
#: The job generating the related tables: {"job_id", "model_id", "seed", "scale"}; its
#: result becomes :data:`RELATED_SAMPLE` (the Generate and Evaluate pages follow it).
RELATED_SAMPLE_JOB = "studio.related.sample_job"
#: The evaluation job of those tables: {"job_id", "sample_key", "error"} (as
#: :data:`EVALUATION_JOB`: "error" says why the last one did not finish).
RELATED_EVALUATION_JOB = "studio.related.evaluation_job"
#: How to rebuild the related tables' rows after a reload (:func:`ui.workspace.keep_related`):
#: {"recipe": {"kind": "sample", "key"} or {"kind": "copy"}, "fingerprints": {table: fp}}.
RELATED_RECIPE = "studio.related.recipe"
#: The user's answer to each dataset's sequence question: {fingerprint: SequenceSpec or None
#: (independent rows)}; the Data page stops offering its suggestion once answered, and the
#: answer comes back when the same rows are loaded again.
SEQUENCE_CHOICES = "studio.sequence.choices"
#: Keys whose changes are saved to the workspace.
SAVED = (DATASET, CURRENT_MODEL, CURRENT_JOB, COMPARE_JOB, COMPARE_RESULT, SAMPLE_JOB,
         RELATED_MODEL, RELATED_JOB, RELATED_SAMPLE_JOB)


def workspace_token() -> str:
    """This session's workspace token (a private one is made if the session has none yet)."""
    token = st.session_state.get(WORKSPACE)
    if token is None:
        token = st.session_state[WORKSPACE] = secrets.token_urlsafe(16)
    return token


def workspace_id_of(token: str) -> str:
    """The id the store knows a workspace by: a hash, so the index never holds a link."""
    return hashlib.sha256(b"synthetic-data-studio workspace\0" + token.encode()).hexdigest()[:32]


def workspace_id() -> str:
    """The id of this session's workspace (the command line's outside a Streamlit run)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return DEFAULT_WORKSPACE
    return workspace_id_of(workspace_token())


def _save() -> None:
    """Write what a reload must bring back to the workspace's folder."""
    from ui import workspace

    workspace.save()


def get_dataset() -> StudioTable | None:
    """The dataset the user is working on, or None before one is loaded."""
    return st.session_state.get(DATASET)


def set_dataset(table: StudioTable, recipe: dict[str, Any] | None = None) -> None:
    """Make ``table`` the current dataset; models and samples of the old one are cleared.

    Args:
        table: The dataset.
        recipe: How to make the same table again after a reload (a sample's key, a fake
            table's settings); without one the workspace keeps a private copy of the rows.
    """
    previous = st.session_state.get(DATASET)
    if previous is None or previous.fingerprint != table.fingerprint:
        for key in (CURRENT_MODEL, SYNTHETIC):
            st.session_state.pop(key, None)
        _stop_row_jobs()
    st.session_state[DATASET] = table
    _clear_related()
    from ui import workspace

    st.session_state[DATASET_RECIPE] = workspace.keep_dataset(table, recipe)
    _save()


def _stop_row_jobs() -> None:
    """Cancel generating or evaluating rows of the old dataset's model (nobody will see them)."""
    evaluation = st.session_state.pop(EVALUATION_JOB, None) or {}
    jobs = [job for job in (st.session_state.pop(SAMPLE_JOB, None), evaluation.get("job_id"))
            if job]
    if jobs:
        from ui import caching

        runner = caching.job_runner()
        for job_id in jobs:
            runner.cancel(job_id)


def get_related() -> Any:
    """The related tables the user works on (a RelatedTables), or None."""
    return st.session_state.get(RELATED)


def set_related(related: Any, recipe: dict[str, Any] | None = None) -> None:
    """Make ``related`` the session's data: the single table and its model are cleared.

    The related tables' model, rows and evaluation stay only if the tables are the same.

    Args:
        related: The related tables.
        recipe: How to load the same rows again after a reload (a shipped sample's
            ``{"kind": "sample", "key": ...}``); without one the workspace keeps a private
            copy of the rows (:func:`ui.workspace.keep_related`).
    """
    previous = st.session_state.get(RELATED)
    if previous is None or previous.fingerprint != related.fingerprint:
        _clear_related()
    if st.session_state.pop(DATASET, None) is not None:
        for key in (CURRENT_MODEL, SYNTHETIC, DATASET_RECIPE):
            st.session_state.pop(key, None)
        _stop_row_jobs()
    st.session_state[RELATED] = related
    st.session_state[RELATED_RECIPE] = None if recipe is None else {
        "recipe": recipe, "fingerprints": {t.name: t.fingerprint for t in related.tables}}
    _save()


def update_related(related: Any) -> None:
    """Replace the related tables after an edit (keys, relationships, target).

    Models stay listed: each names the tables' fingerprint it was trained on. A repair
    changes rows, so the workspace then keeps a copy of them instead of the recipe.
    """
    st.session_state[RELATED] = related
    _save()


def _clear_related() -> None:
    """Forget the related tables, their model, rows and evaluation.

    A running fit is no longer followed but goes on: its model is stored and Train finds
    it again when the same tables are loaded. Generating or evaluating their rows is
    cancelled (nobody will see them).
    """
    evaluation = st.session_state.pop(RELATED_EVALUATION_JOB, None) or {}
    sampling = st.session_state.pop(RELATED_SAMPLE_JOB, None) or {}
    jobs = [job for job in (sampling.get("job_id"), evaluation.get("job_id")) if job]
    if jobs:
        from ui import caching

        runner = caching.job_runner()
        for job_id in jobs:
            runner.cancel(job_id)
    for key in (RELATED, RELATED_SAMPLE, RELATED_EVALUATION, RELATED_MODEL, RELATED_JOB,
                RELATED_RECIPE):
        st.session_state.pop(key, None)


def update_dataset(table: StudioTable) -> None:
    """Replace the current dataset's schema/target without clearing models."""
    st.session_state[DATASET] = table
    _save()


def get_device_preference() -> str:
    """"auto" (default), "cpu", "cuda" or "mps"."""
    return st.session_state.get(DEVICE_PREFERENCE, "auto")


def set_device_preference(value: str) -> None:
    """Remember the device the user chose."""
    st.session_state[DEVICE_PREFERENCE] = value


def get(key: str, default: Any = None) -> Any:
    """Read any studio key (for state owned by later pages)."""
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    """Write any studio key (the workspace remembers those in :data:`SAVED`)."""
    st.session_state[key] = value
    if key in SAVED:
        _save()


def pop(key: str) -> Any:
    """Remove a key and return its value (None if absent)."""
    value = st.session_state.pop(key, None)
    if key in SAVED and value is not None:
        _save()
    return value


def flash(message: str, kind: str = "success") -> None:
    """Queue a message to show once after the next rerun (survives ``st.rerun``)."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """Show and forget the queued message, if any."""
    queued = st.session_state.pop(FLASH, None)
    if queued:
        kind, message = queued
        getattr(st, kind)(message)


EVALUATIONS = "studio.evaluations"
_MAX_EVALUATIONS = 4


def get_evaluation(key: str) -> Any:
    """A finished evaluation of this session, by sample key (None if not computed)."""
    return st.session_state.get(EVALUATIONS, {}).get(key)


def put_evaluation(key: str, evaluation: Any) -> None:
    """Remember an evaluation; the session keeps the last few (they hold chart samples)."""
    evaluations = dict(st.session_state.get(EVALUATIONS, {}))
    evaluations[key] = evaluation
    while len(evaluations) > _MAX_EVALUATIONS:
        evaluations.pop(next(iter(evaluations)))
    st.session_state[EVALUATIONS] = evaluations


def note_suggested_target(table: StudioTable) -> None:
    """Remember that ``table``'s target is the studio's guess (unless the user chose one)."""
    choices = st.session_state.setdefault(TARGET_CHOICES, {})
    if table.target is not None and table.fingerprint not in choices:
        restore_target(table, suggested=True)
        _save()


def choose_target(fingerprint: str, target: str | None) -> None:
    """Remember the user's target for this dataset (picking or confirming one)."""
    st.session_state.setdefault(TARGET_CHOICES, {})[fingerprint] = {
        "target": target, "confirmed": True}
    _save()


def restore_target(table: StudioTable, *, suggested: bool) -> None:
    """Mark ``table``'s target as guessed or chosen without saving the workspace.

    A reload calls it while it reads the saved state: saving then would overwrite what
    is not restored yet (the running job's id).
    """
    st.session_state.setdefault(TARGET_CHOICES, {})[table.fingerprint] = {
        "target": table.target, "confirmed": not suggested}


def chosen_target(fingerprint: str) -> tuple[str | None] | None:
    """The target the user chose for this dataset, as a 1-tuple; None if never chosen."""
    entry = st.session_state.get(TARGET_CHOICES, {}).get(fingerprint)
    return (entry["target"],) if entry and entry["confirmed"] else None


def target_is_suggested(table: StudioTable | None) -> bool:
    """True while ``table``'s target is the studio's guess and the user has not confirmed it."""
    if table is None or table.target is None:
        return False
    entry = st.session_state.get(TARGET_CHOICES, {}).get(table.fingerprint)
    return bool(entry) and not entry["confirmed"] and entry["target"] == table.target


def choose_sequence(fingerprint: str, spec: Any) -> None:
    """Remember the user's sequence description for this dataset (None: independent rows)."""
    st.session_state.setdefault(SEQUENCE_CHOICES, {})[fingerprint] = spec


def chosen_sequence(fingerprint: str) -> tuple[Any] | None:
    """The user's answer for this dataset as a 1-tuple (spec or None); None if never asked."""
    choices = st.session_state.get(SEQUENCE_CHOICES, {})
    return (choices[fingerprint],) if fingerprint in choices else None


def fit_request(job_id: str | None) -> Any:
    """The TrainingRequest of the fit ``job_id`` (None if this session did not start it)."""
    kept = st.session_state.get(FIT_REQUEST)
    return kept[1] if kept is not None and job_id is not None and kept[0] == job_id else None
