"""Where jobs run: one interface (:class:`JobRunner`), two backends, chosen by settings.

:func:`make_job_runner` picks the backend from the configuration
(:func:`job_backend_config`): worker processes on this machine
(:class:`core.jobs.local.LocalJobRunner`) by default, or a Ray cluster
(:class:`core.jobs.ray_backend.RayJobRunner`) when ``RAY_ADDRESS`` or
``STUDIO_JOB_BACKEND=ray`` is set. If the Ray cluster cannot be reached in time, it
returns the local runner with a ``warning`` saying so.

The page polls :meth:`JobRunner.status` from an ``st.fragment(run_every=...)``; once a job
has ended, the runner answers from memory (the local job folder is gone by then).

Fits, comparisons, what-if sweeps, related-tables fits (:meth:`JobRunner.start_related`),
samples (:meth:`JobRunner.start_sample`) and evaluations (:meth:`JobRunner.start_evaluation`),
and a related model's samples and evaluations (:meth:`JobRunner.start_related_sample`,
:meth:`JobRunner.start_related_evaluation`: the same job kinds) all run away from the
server process. Locally at most
``STUDIO_MAX_JOBS`` run at once and the rest wait in a queue (their status has a
``queue_position``); on Ray the cluster schedules them. A status has a fraction only for
measured work (:attr:`JobStatus.measured_fraction`); :meth:`JobRunner.startup_seconds_estimate`
is what starting a worker adds to a fit's estimate.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.training import TrainingRequest
from core.jobs.local import LocalJobRunner
from core.jobs.ray_connect import DEFAULT_RAY_CONNECT_TIMEOUT
from core.jobs.status import JobStatus
from core.store.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from core.data.related import RelatedTables
    from core.engine.generation import GeneratedSample
    from core.store.registry import ModelRecord

__all__ = ["JobBackendConfig", "JobRunner", "job_backend_config", "make_job_runner"]

_LOG = logging.getLogger("studio.jobs")
_SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


class JobRunner(Protocol):
    """Where training jobs run (local worker processes, or a Ray cluster).

    Attributes:
        warning: Why jobs do not run where the configuration asked (e.g. the Ray cluster
            was unreachable), or None. The sidebar shows it.
    """

    warning: str | None

    def start(self, request: TrainingRequest, frame: pd.DataFrame,
              estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Start fitting; return the job id immediately (its model goes to ``workspace``)."""

    def start_compare(self, table: StudioTable, candidates: Sequence[tuple[str, str]],
                      budget: float | None, seed: int = 0, device: str = "auto",
                      split: SplitSpec | None = None, workspace: str = "") -> str:
        """Start a comparison of ``candidates``; return the job id immediately."""

    def start_sweep(self, table: StudioTable, epsilons: Sequence[float | None], seed: int = 0,
                    device: str = "auto", split: SplitSpec | None = None,
                    fit_seconds: int | None = None, delta: float | None = None,
                    epochs: int | None = None, workspace: str = "") -> str:
        """Start a privacy-budget what-if sweep (one fit per ε); return the job id."""

    def start_related(self, related: RelatedTables, synthesizer: str, preset: str = "balanced",
                      seed: int = 0, device: str = "auto", test_size: float = 0.3,
                      overrides: Mapping[str, Any] | None = None,
                      estimate_seconds: float | None = None, workspace: str = "") -> str:
        """Start fitting a related-tables model ("hma" or "tabular_argn"); return the job id.

        The model's id is :func:`core.engine.multi_table.related_training_key` of
        :func:`core.related_workflow.plan_related` with the same arguments.
        """

    def start_sample(self, record: ModelRecord, rows: int | None = None, seed: int = 0,
                     real_example: pd.DataFrame | None = None,
                     fixed_values: Mapping[str, Any] | None = None,
                     rebalance_column: str | None = None,
                     class_shares: Mapping[str, float] | None = None,
                     workspace: str = "") -> str:
        """Start generating rows from a stored model; return the job id immediately."""

    def start_evaluation(self, record: ModelRecord, sample: GeneratedSample,
                         real_train: pd.DataFrame, holdout: pd.DataFrame, seed: int = 0,
                         workspace: str = "") -> str:
        """Start evaluating ``sample`` against the real split; return the job id immediately."""

    def start_related_sample(self, record: ModelRecord, scale: float = 1.0, seed: int = 0,
                             workspace: str = "") -> str:
        """Start generating a related model's tables (kind "sample"); return the job id.

        Its result is ``{table: rows}`` (:func:`core.related_workflow.sample_related_model`).
        """

    def start_related_evaluation(self, record: ModelRecord,
                                 synthetic: Mapping[str, pd.DataFrame],
                                 frames: Mapping[str, pd.DataFrame], seed: int = 0,
                                 workspace: str = "") -> str:
        """Start evaluating a related model's tables (kind "evaluate"); return the job id.

        Its result is a :class:`~core.evaluation.multi_table.RelatedEvaluation`.
        """

    def result(self, job_id: str) -> Any:
        """What a finished job produced, or None.

        A comparison's leaderboard rows and a sweep's result dict (every call); a sample's
        ``GeneratedSample`` or an evaluation's ``EvaluationResult`` handed over once (later
        calls return None).
        """

    def startup_seconds_estimate(self) -> float:
        """Seconds a job started now spends starting a worker and importing libraries."""

    def status(self, job_id: str) -> JobStatus:
        """The job's current status (never blocks for long)."""

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it ends as "cancelled" promptly."""

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> JobStatus:
        """Block until the job ends (tests and the command line)."""

    def describe(self) -> str:
        """Where jobs run, for the sidebar ("this machine", "Ray cluster at host:port")."""


@dataclass(frozen=True)
class JobBackendConfig:
    """Where jobs should run, as configured.

    Attributes:
        backend: "local" or "ray".
        ray_address: The cluster address for Ray ("ray://head:10001", "10.0.0.5:6379",
            "auto" for a cluster started with ``ray start`` on this machine).
        connect_timeout: Seconds to wait for the cluster before falling back to local.
        cpus_per_job: CPUs a Ray job asks for (None: up to 4, at most a node's CPUs).
        problem: A configuration mistake to show (the backend is then "local").
    """

    backend: str = "local"
    ray_address: str | None = None
    connect_timeout: float = DEFAULT_RAY_CONNECT_TIMEOUT
    cpus_per_job: int | None = None
    problem: str | None = None


def _read_secrets(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            section = tomllib.load(handle).get("studio", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return section if isinstance(section, dict) else {}


def job_backend_config(environ: Mapping[str, str] | None = None,
                       secrets_path: Path | None = None) -> JobBackendConfig:
    """Read the job backend settings; the environment wins over ``secrets.toml``.

    Environment variables (or keys of the ``[studio]`` table in
    ``.streamlit/secrets.toml``):

    * ``STUDIO_JOB_BACKEND`` (``job_backend``): ``local`` or ``ray``. Unset: ``ray`` if an
      address is set, else ``local``.
    * ``RAY_ADDRESS`` (``ray_address``): the cluster; ``ray`` without one means ``auto``.
    * ``STUDIO_RAY_CONNECT_TIMEOUT`` (``ray_connect_timeout``): seconds, default 10.
    * ``STUDIO_RAY_CPUS_PER_JOB`` (``ray_cpus_per_job``): CPUs per Ray job.
    """
    environ = os.environ if environ is None else environ
    secrets = _read_secrets(secrets_path or _SECRETS_FILE)

    def setting(variable: str, key: str) -> str | None:
        value = environ.get(variable)
        if value is None or not str(value).strip():
            value = secrets.get(key)
        return None if value is None or not str(value).strip() else str(value).strip()

    backend = (setting("STUDIO_JOB_BACKEND", "job_backend") or "").lower()
    address = setting("RAY_ADDRESS", "ray_address")
    problems = []
    try:
        timeout = float(setting("STUDIO_RAY_CONNECT_TIMEOUT", "ray_connect_timeout")
                        or DEFAULT_RAY_CONNECT_TIMEOUT)
    except ValueError:
        problems.append("STUDIO_RAY_CONNECT_TIMEOUT is not a number of seconds; "
                        f"{DEFAULT_RAY_CONNECT_TIMEOUT:.0f} s is used.")
        timeout = DEFAULT_RAY_CONNECT_TIMEOUT
    cpus_text = setting("STUDIO_RAY_CPUS_PER_JOB", "ray_cpus_per_job")
    cpus = None
    if cpus_text is not None:
        try:
            cpus = max(int(cpus_text), 1)
        except ValueError:
            problems.append(f"STUDIO_RAY_CPUS_PER_JOB='{cpus_text}' is not a whole number; "
                            "the default is used.")
    if backend not in ("", "local", "ray"):
        return JobBackendConfig(problem=(
            f"STUDIO_JOB_BACKEND='{backend}' is neither 'local' nor 'ray': jobs run on this "
            "machine. Set it to 'ray' (with RAY_ADDRESS) to use a Ray cluster."))
    if backend == "local" or (not backend and address is None):
        return JobBackendConfig(problem=" ".join(problems) or None)
    return JobBackendConfig(backend="ray", ray_address=address or "auto",
                            connect_timeout=max(timeout, 0.5), cpus_per_job=cpus,
                            problem=" ".join(problems) or None)


def make_job_runner(settings: Settings | None = None,
                    config: JobBackendConfig | None = None) -> JobRunner:
    """The configured job runner: local worker processes, or a Ray cluster.

    Connecting to Ray takes at most ``config.connect_timeout`` seconds (default 10). If the
    cluster cannot be reached, or Ray cannot be imported, jobs run on this machine and the
    returned runner's ``warning`` says why.
    """
    config = config or job_backend_config()
    if config.backend != "ray":
        return LocalJobRunner(settings, warning=config.problem)
    address = config.ray_address or "auto"
    try:
        from core.jobs.ray_backend import RayJobRunner  # imports Ray (seconds): only if asked

        return RayJobRunner.connect(address, settings, timeout=config.connect_timeout,
                                    cpus_per_job=config.cpus_per_job)
    except Exception as error:  # noqa: BLE001 - whatever Ray raises, the app keeps working
        _LOG.warning("Ray cluster at %s unavailable: %s", address, error)
        return LocalJobRunner(settings, warning=(
            f"Ray cluster at {address} unreachable: jobs run on this machine. ({error})"))
