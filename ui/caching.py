"""The one owner of Streamlit caching.

Rules (docs/ARCHITECTURE.md, "Where state lives"): caches are global across users by
default, so anything derived from a user's data is ``scope="session"`` or keyed by a content
fingerprint the session holds. Only shipped, public things (sample datasets, the machine's
device) are cached globally.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core import workflow
from core.data import datasets
from core.data.schema import TableSchema
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.device import DeviceInfo, detect_device
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.jobs.backend import JobRunner, make_job_runner
from core.store.registry import ModelRecord, ModelRegistry


@st.cache_data(show_spinner=False, max_entries=8)
def sample_frame(key: str) -> pd.DataFrame:
    """A shipped sample dataset (public, so shared by every session)."""
    return datasets.load_sample_dataset(key)


@st.cache_resource(show_spinner=False, scope="session", max_entries=6)
def studio_table(
    fingerprint: str,
    _frame: pd.DataFrame,
    name: str,
    source: str,
    notes: tuple[str, ...],
    target: str | None,
    planted: Any = None,
) -> StudioTable:
    """Detect the schema once per (session, data fingerprint, name).

    ``_frame`` is not hashed: ``fingerprint`` is its content hash (Streamlit would only
    sample rows of large frames). ``planted`` is the planted truth of a faked table.
    """
    del fingerprint  # the cache key; detect_table recomputes it from the frame
    return detect_table(_frame, name=name, source=source, notes=notes, target=target,
                      planted=planted)


@st.cache_resource(show_spinner="Checking for a GPU…")
def device() -> DeviceInfo:
    """The machine's best device (the same for everyone)."""
    return detect_device()


@st.cache_resource(show_spinner="Connecting to the job cluster…")
def job_runner() -> JobRunner:
    """The process-wide job runner (jobs are looked up by ids the session holds).

    Local worker processes, or a Ray cluster when ``RAY_ADDRESS`` or
    ``STUDIO_JOB_BACKEND=ray`` is set (:func:`core.jobs.backend.make_job_runner`). Connecting
    takes at most ``STUDIO_RAY_CONNECT_TIMEOUT`` seconds (10) once per server process; an
    unreachable cluster leaves the local runner with a ``warning``.
    """
    return make_job_runner()


@st.cache_data(ttl=5, show_spinner=False)
def job_backend() -> tuple[str, str | None]:
    """(where jobs run, warning or None) for the sidebar; at most 5 s old, never blocks.

    Not user data: the same for every session.
    """
    runner = job_runner()
    return runner.describe(), runner.warning


@st.cache_resource(show_spinner=False)
def model_registry() -> ModelRegistry:
    """The process-wide registry (sessions list only models of their own data)."""
    return ModelRegistry()


@st.cache_resource(show_spinner="Loading the model…", scope="session", max_entries=4)
def synthesizer(model_id: str) -> Any:
    """A verified, unpickled synthesizer, kept for this session only."""
    return load_synthesizer(model_registry(), model_id)


@st.cache_resource(show_spinner=False)
def machine_speed() -> float:
    """The ETA calibration measurement (the machine's, so shared)."""
    from core.engine.training import machine_speed as measure

    return measure()


@st.cache_resource(show_spinner="Preparing the real data…", scope="session", max_entries=4)
def real_parts(
    fingerprint: str, schema_key: str, split_key: str, _table: StudioTable,
    _schema: TableSchema, _split: SplitSpec,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared real (train, holdout) parts, exactly as a synthesizer saw them.

    Keyed by the data fingerprint, the schema and the split; the underscored arguments
    are the objects those keys describe.
    """
    del fingerprint, schema_key, split_key
    return workflow.real_parts(_table, _schema, _split)


def real_parts_for(table: StudioTable, record: ModelRecord) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (train, holdout) split and schema a model was trained with."""
    schema = TableSchema.from_fingerprint_dict(record.schema)
    return real_parts(table.fingerprint, json.dumps(record.schema, sort_keys=True),
                      json.dumps(record.split, sort_keys=True), table, schema,
                      SplitSpec(**record.split))
