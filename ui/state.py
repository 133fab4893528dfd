"""The one owner of session-state keys: pages read and write state only through here.

Keeping every key in one module means a page switch can never lose state by a typo, and
tests (AppTest) can look state up by the same names.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.table import StudioTable

# Keys (values documented next to each accessor).
DATASET = "studio.dataset"
DEVICE_PREFERENCE = "studio.device_preference"
CURRENT_MODEL = "studio.current_model"
CURRENT_JOB = "studio.current_job"
SYNTHETIC = "studio.synthetic"
FLASH = "studio.flash"


def get_dataset() -> StudioTable | None:
    """The dataset the user is working on, or None before one is loaded."""
    return st.session_state.get(DATASET)


def set_dataset(table: StudioTable) -> None:
    """Make ``table`` the current dataset; models and samples of the old one are cleared."""
    previous = st.session_state.get(DATASET)
    if previous is None or previous.fingerprint != table.fingerprint:
        for key in (CURRENT_MODEL, SYNTHETIC):
            st.session_state.pop(key, None)
    st.session_state[DATASET] = table


def update_dataset(table: StudioTable) -> None:
    """Replace the current dataset's schema/target without clearing models."""
    st.session_state[DATASET] = table


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
    """Write any studio key."""
    st.session_state[key] = value


def pop(key: str) -> Any:
    """Remove a key and return its value (None if absent)."""
    return st.session_state.pop(key, None)


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
