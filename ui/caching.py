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
from core.data.schema import SequenceSpec, TableSchema
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.device import DeviceInfo, detect_device
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.jobs.backend import JobRunner, make_job_runner
from core.jobs.status import JobStatus
from core.store.registry import ModelRecord, ModelRegistry
from ui import state


@st.cache_data(show_spinner=False, max_entries=8)
def sample_frame(key: str) -> pd.DataFrame:
    """A shipped sample dataset (public, so shared by every session)."""
    return datasets.load_sample_dataset(key)


@st.cache_resource(show_spinner=False, scope="session", max_entries=12)
def sequence_suggestion(fingerprint: str, _table: StudioTable) -> SequenceSpec | None:
    """:func:`core.data.sequences.suggest_sequence` once per dataset (``fingerprint``)."""
    from core.data.sequences import suggest_sequence

    return suggest_sequence(_table.frame, _table.schema)


@st.cache_resource(show_spinner=False, scope="session", max_entries=12)
def sequence_issues(fingerprint: str, spec: SequenceSpec, _table: StudioTable) -> list[Any]:
    """:func:`core.data.sequences.check_sequence` once per (dataset, sequence description)."""
    from core.data.sequences import check_sequence

    return check_sequence(_table.frame, spec)


@st.cache_data(show_spinner=False, max_entries=2)
def related_sample_frames(key: str) -> dict[str, pd.DataFrame]:
    """A shipped related sample's tables, parents first (public, so shared)."""
    return datasets.load_related_sample(key)


@st.cache_resource(show_spinner=False, scope="session", max_entries=6)
def studio_table(
    fingerprint: str,
    _frame: pd.DataFrame,
    name: str,
    source: str,
    notes: tuple[str, ...],
    target: str | None,
    planted: Any = None,
    sequence: SequenceSpec | None = None,
) -> StudioTable:
    """Detect the schema once per (session, data fingerprint, name).

    ``_frame`` is not hashed: ``fingerprint`` is its content hash (Streamlit would only
    sample rows of large frames). ``planted`` is the planted truth of a faked table;
    ``sequence`` a shipped event table's own description (its key typed as an identifier).
    """
    del fingerprint  # the cache key; detect_table recomputes it from the frame
    return detect_table(_frame, name=name, source=source, notes=notes, target=target,
                      planted=planted, sequence=sequence)


@st.cache_resource(show_spinner="Checking for a GPU…")
def device() -> DeviceInfo:
    """The machine's best device (the same for everyone)."""
    return detect_device()


@st.cache_resource(show_spinner="Connecting to the job cluster…")
def process_job_runner() -> JobRunner:
    """The process-wide job runner; pages use :func:`job_runner` (their workspace's view).

    Local worker processes, or a Ray cluster when ``RAY_ADDRESS`` or
    ``STUDIO_JOB_BACKEND=ray`` is set (:func:`core.jobs.backend.make_job_runner`). Connecting
    takes at most ``STUDIO_RAY_CONNECT_TIMEOUT`` seconds (10) once per server process; an
    unreachable cluster leaves the local runner with a ``warning``.
    """
    return make_job_runner()


class WorkspaceJobs:
    """The job runner as one workspace sees it: its jobs store their models there.

    Jobs are looked up by ids the session holds; a job of another workspace is not shown,
    returned or cancelled.

    Attributes:
        workspace: The workspace id (:func:`ui.state.workspace_id`).
    """

    def __init__(self, runner: JobRunner, workspace: str) -> None:
        self._runner = runner
        self.workspace = workspace

    @property
    def warning(self) -> str | None:
        """Why jobs do not run where the configuration asked, or None."""
        return self._runner.warning

    def start(self, request: Any, frame: pd.DataFrame,
              estimate_seconds: float | None = None) -> str:
        """Start fitting for this workspace; return the job id."""
        return self._runner.start(request, frame, estimate_seconds=estimate_seconds,
                                  workspace=self.workspace)

    def start_compare(self, table: StudioTable, candidates: Any, budget: float | None,
                      seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None) -> str:
        """Start a comparison for this workspace; return the job id."""
        return self._runner.start_compare(table, candidates, budget, seed=seed, device=device,
                                          split=split, workspace=self.workspace)

    def start_sweep(self, table: StudioTable, epsilons: Any, seed: int = 0,
                    device: str = "auto", split: SplitSpec | None = None,
                    fit_seconds: int | None = None) -> str:
        """Start a privacy-budget what-if sweep for this workspace; return the job id."""
        return self._runner.start_sweep(table, epsilons, seed=seed, device=device, split=split,
                                        fit_seconds=fit_seconds, workspace=self.workspace)

    def start_related(self, related: Any, synthesizer: str, preset: str = "balanced",
                      seed: int = 0, device: str = "auto", test_size: float = 0.3,
                      overrides: Any = None, estimate_seconds: float | None = None) -> str:
        """Start fitting a related-tables model for this workspace; return the job id."""
        return self._runner.start_related(related, synthesizer, preset, seed=seed,
                                          device=device, test_size=test_size,
                                          overrides=overrides,
                                          estimate_seconds=estimate_seconds,
                                          workspace=self.workspace)

    def start_sample(self, record: ModelRecord, rows: int | None = None, seed: int = 0,
                     **options: Any) -> str:
        """Start generating rows from this workspace's model; return the job id."""
        return self._runner.start_sample(record, rows, seed, workspace=self.workspace,
                                         **options)

    def start_evaluation(self, record: ModelRecord, sample: Any, real_train: pd.DataFrame,
                         holdout: pd.DataFrame, seed: int = 0) -> str:
        """Start evaluating a sample of this workspace's model; return the job id."""
        return self._runner.start_evaluation(record, sample, real_train, holdout, seed=seed,
                                             workspace=self.workspace)

    def start_related_sample(self, record: ModelRecord, scale: float = 1.0,
                             seed: int = 0) -> str:
        """Start generating a related model's tables for this workspace; return the job id."""
        return self._runner.start_related_sample(record, scale, seed, workspace=self.workspace)

    def start_related_evaluation(self, record: ModelRecord, synthetic: Any, frames: Any,
                                 seed: int = 0) -> str:
        """Start evaluating a related model's tables for this workspace; return the job id."""
        return self._runner.start_related_evaluation(record, synthetic, frames, seed=seed,
                                                     workspace=self.workspace)

    def startup_seconds_estimate(self) -> float:
        """Seconds a job started now spends starting a worker."""
        return self._runner.startup_seconds_estimate()

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until this workspace's job ends."""
        status = self.status(job_id)
        return self._runner.wait(job_id, timeout, poll) if status.is_active else status

    def _foreign(self, status: JobStatus) -> bool:
        # "" is a job that names no workspace: one that is gone (its folder removed).
        return status.workspace not in ("", self.workspace)

    def status(self, job_id: str) -> JobStatus:
        """The job's status, if it is this workspace's."""
        status = self._runner.status(job_id)
        if self._foreign(status):
            return JobStatus(job_id=job_id, state="failed",
                             message="This job belongs to another workspace.")
        return status

    def result(self, job_id: str) -> Any:
        """What a finished job of this workspace produced (see ``JobRunner.result``)."""
        return None if self._foreign(self._runner.status(job_id)) else (
            self._runner.result(job_id))

    def cancel(self, job_id: str) -> None:
        """Stop the job, if it is this workspace's."""
        if not self._foreign(self._runner.status(job_id)):
            self._runner.cancel(job_id)

    def describe(self) -> str:
        """Where jobs run."""
        return self._runner.describe()


def job_runner() -> WorkspaceJobs:
    """The job runner as this session's workspace sees it."""
    return WorkspaceJobs(process_job_runner(), state.workspace_id())


@st.cache_data(ttl=5, show_spinner=False)
def job_backend() -> tuple[str, str | None]:
    """(where jobs run, warning or None) for the sidebar; at most 5 s old, never blocks.

    Not user data: the same for every session.
    """
    runner = process_job_runner()
    return runner.describe(), runner.warning


@st.cache_resource(show_spinner=False)
def shared_registry() -> ModelRegistry:
    """The process-wide registry; pages use :func:`model_registry` (their workspace's)."""
    return ModelRegistry()


def model_registry() -> ModelRegistry:
    """The registry as this session's workspace sees it: its models only."""
    return shared_registry().for_workspace(state.workspace_id())


def _load(model_id: str, workspace: str | None = None) -> Any:
    registry = model_registry() if workspace is None else (
        shared_registry().for_workspace(workspace))
    return load_synthesizer(registry, model_id)


# Keyed by the workspace too: one session may move to a new workspace.
_cached_load = st.cache_resource(show_spinner="Loading the model…", scope="session",
                                 max_entries=4)(_load)


def synthesizer(model_id: str) -> Any:
    """A verified, unpickled synthesizer of this workspace, kept for this session only."""
    return _cached_load(model_id, state.workspace_id())


# As on a cached function: the loader without the cache (scripts outside a page use it).
synthesizer.__wrapped__ = _load  # type: ignore[attr-defined]


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
