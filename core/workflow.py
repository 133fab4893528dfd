"""One workflow: plan → train or reuse → sample → evaluate → record.

Every caller walks a dataset through these functions: the app's pages and its guided demo,
the command line (``python -m core run``) and Compare (:func:`compare`, also behind
``--synthesizer auto``), so a headless run is exactly what the app does
(docs/ARCHITECTURE.md):

* :func:`plan_request` — what to train: a ``TrainingRequest`` from a table, a synthesizer,
  a preset or parameters, a seed and a split.
* :func:`train_or_reuse` — the stored model when the request's training key is already in
  the registry, else a fit by an injected fitter: the app passes its job runner, the command
  line and Compare :func:`fit_in_process` (this module sits below ``core/jobs``).
* :func:`sample_model` — synthetic rows from a model.
* :func:`evaluate_sample` — the rows against the real split the model was trained on.
* :func:`record_scores` — the headline scores stored with the model.

:func:`run_model` chains the last four for one request; :func:`compare` runs it for several
candidates and ranks them with :func:`selection_score`, whose privacy guard is the verdict's
privacy reading (:mod:`core.evaluation.thresholds`). :func:`auto_compare` (``auto``) screens
the fast synthesizers first and spends what is left of its budget (60 s by default) on
slower ones only when screening is weak; the leaderboard says what was skipped and why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from core.data.schema import TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, split_real
from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY, get_spec, resolve_params
from core.engine.device import DeviceInfo
from core.engine.generation import GeneratedSample, generate
from core.engine.models import load_synthesizer
from core.engine.training import (
    FitProgress,
    TrainingRequest,
    estimate_fit_seconds,
    run_training,
    training_key,
)
from core.errors import ParameterError
from core.evaluation import EvaluationResult, SampleDesign, evaluate_all
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry

__all__ = [
    "BUDGET_SLACK",
    "GPU_SPEEDUP",
    "IN_PROCESS_SAMPLE_ROWS",
    "IN_PROCESS_TEXT_ROWS",
    "LONG_FIT_SECONDS",
    "MAX_CONDITION_CLASSES",
    "MIN_EPOCHS",
    "Fitter",
    "Run",
    "Trained",
    "check_target",
    "entity_split",
    "condition_columns",
    "default_rows",
    "estimate_fit",
    "evaluate_model",
    "evaluate_sample",
    "find_trained",
    "fit_advice",
    "fit_in_process",
    "model_parts",
    "model_schema",
    "model_split",
    "model_target",
    "plan_request",
    "real_parts",
    "record_scores",
    "run_model",
    "run_timings",
    "runs_on_gpu",
    "sample_in_process",
    "sample_model",
    "scores_for_registry",
    "train_entities",
    "train_or_reuse",
    "train_rows",
]

#: Typical GPU speed-up of a deep fit at these network sizes (for the fit-time estimate).
GPU_SPEEDUP = 5.0
#: Estimated fits longer than this get advice on how to go faster.
LONG_FIT_SECONDS = 10 * 60
#: Columns with at most this many distinct values can be fixed or rebalanced when sampling.
MAX_CONDITION_CLASSES = 20
#: The app draws at most this many rows in its own process; more run as a job in a worker.
#: A small sample takes a second or two here, and as a job it could wait in the queue
#: behind another user's long fit; a large one (seconds to minutes) would slow every page.
IN_PROCESS_SAMPLE_ROWS = 50_000
#: The same bound when the model writes text: its language model writes a few hundred
#: texts a second on a CPU (3,000 complaints took 14 s), so more go to a worker.
IN_PROCESS_TEXT_ROWS = 500
#: A deep fit planned into a time budget gets at least this many epochs.
MIN_EPOCHS = 5
#: A preset fits a fit budget when its own time limit is within this factor of the budget.
BUDGET_SLACK = 2.0

#: Fits a request: ``fit(request, frame, listener)`` returns the stored model when it fitted
#: in this process, or the id of a background job that is fitting it.
Fitter = Callable[[TrainingRequest, pd.DataFrame, Callable[[FitProgress], None]],
                  ModelRecord | str]


# --------------------------------------------------------------------------- plan


def train_rows(table: StudioTable, split: SplitSpec) -> int:
    """How many real rows the synthesizer will see (the train part of ``split``)."""
    return int(round(len(table.frame) * (1 - split.test_size)))


def real_parts(table: StudioTable, schema: TableSchema, split: SplitSpec
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared real (train, holdout) parts for ``schema`` and ``split``."""
    return split_real(prepare_training_frame(table.frame, schema), entity_split(schema, split))


def model_schema(record: ModelRecord) -> TableSchema:
    """The schema a stored model was trained with."""
    return TableSchema.from_fingerprint_dict(record.schema)


def model_split(record: ModelRecord) -> SplitSpec:
    """The split a stored model was trained with."""
    return SplitSpec(**record.split)


def model_target(record: ModelRecord) -> str | None:
    """The column utility is measured on for a model (None when it was not modelled)."""
    target = model_split(record).target
    return target if target in model_schema(record).modelled_columns else None


def model_parts(table: StudioTable, record: ModelRecord) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real (train, holdout) parts a stored model was trained and is judged with."""
    return real_parts(table, model_schema(record), model_split(record))


def entity_split(schema: TableSchema, split: SplitSpec) -> SplitSpec:
    """``split``, keeping each entity on one side when the rows are events.

    The schema's ``sequence`` decides; this is the one place that does, so every caller agrees.
    """
    group = schema.sequence.key if schema.sequence is not None else None
    return split if split.group == group else replace(split, group=group)


def plan_request(
    table: StudioTable,
    synthesizer: str,
    preset: str = "balanced",
    seed: int = 0,
    device: str = "auto",
    split: SplitSpec | None = None,
    overrides: dict[str, Any] | None = None,
    fit_budget: float | None = None,
    speed: float | None = None,
    slack: float = BUDGET_SLACK,
) -> TrainingRequest:
    """A training request; with ``fit_budget`` (seconds), epochs are chosen to fit it.

    The time model of :func:`core.engine.training.estimate_fit_seconds` is linear in epochs, so
    two estimates give the fixed cost and the cost per epoch. When the preset fits the budget
    it is planned unchanged, so the request (and the model id) is the one Train plans and
    either page reuses the other's model. Otherwise deep models get as many epochs as the
    budget allows (at least 5) and a time limit of the budget (a model trained by time alone,
    without epochs, gets the time limit); the preset's name then says "(budget N s)", never an
    epoch count: early stopping or the time limit may end the fit sooner, and the epochs
    actually run are the record's ``epochs_run``. A preset fits when its own time limit is
    within ``slack`` times the budget.

    Raises:
        ParameterError: An override is out of range or inconsistent (the message says why).
    """
    split = entity_split(table.schema, split or SplitSpec(target=table.target))
    params = resolve_params(synthesizer, preset, overrides, rows=train_rows(table, split))
    # ε and δ alone leave the preset's name: the model's privacy label says them.
    preset_name = preset if not set(overrides or {}) - {"epsilon", "delta"} else "custom"
    if fit_budget is not None and get_spec(synthesizer).deep and "epochs" not in (overrides or {}):
        limit = int(params.get("time_limit") or 0)
        budget_limit = max(int(math.ceil(fit_budget)), 1)
        planned = params
        # The estimate is good to a factor of ~2: a preset that fits, with a time limit of
        # its own within ``slack`` times the budget, keeps the budget as well as a cut limit
        # would (``auto`` passes 1: its budget is a promise).
        fits = 0 < limit <= slack * budget_limit
        if "epochs" in params:
            # Estimated without the preset's time limit (it would flatten the per-epoch cost).
            one = estimate_fit_seconds(synthesizer, {**params, "epochs": 1, "time_limit": 0},
                                       table.frame, table.schema, 1 - split.test_size, speed)
            two = estimate_fit_seconds(synthesizer, {**params, "epochs": 2, "time_limit": 0},
                                       table.frame, table.schema, 1 - split.test_size, speed)
            per_epoch = max(two - one, 1e-6)
            affordable = math.floor((fit_budget - (one - per_epoch)) / per_epoch)
            epochs = max(MIN_EPOCHS, min(int(params["epochs"]), affordable))
            fits = fits and epochs == params["epochs"]
            if not fits:
                params = {**params, "epochs": epochs}
        if not fits:
            if "time_limit" in params and (not limit or budget_limit < limit):
                params = {**params, "time_limit": budget_limit}
            if params != planned:
                preset_name = f"{preset_name} (budget {budget_limit} s)"
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset=preset_name, params=params, seed=seed,
        device=device, split=split,
    )


def runs_on_gpu(synthesizer: str, device: str, machine: DeviceInfo) -> bool:
    """Whether a fit of ``synthesizer`` with the device choice ``device`` uses a GPU here.

    Gaussian Copula never does; deep models do unless the choice is ``cpu``.
    """
    return get_spec(synthesizer).deep and device != "cpu" and machine.is_gpu


def estimate_fit(table: StudioTable, request: TrainingRequest, speed: float | None = None,
                 on_gpu: bool = False) -> float:
    """Estimated seconds to fit ``request`` (good to a factor of ~2).

    Args:
        table: The dataset the request was planned on.
        request: What to fit.
        speed: This machine's measured speed (default: measured now).
        on_gpu: The fit runs on a GPU (deep models are then about :data:`GPU_SPEEDUP` faster).
    """
    seconds = estimate_fit_seconds(request.synthesizer, request.params, table.frame,
                                   table.schema, 1 - request.split.test_size, speed)
    return seconds / GPU_SPEEDUP if on_gpu else seconds


def fit_advice(table: StudioTable, estimate: float) -> str | None:
    """How to go faster when a fit is estimated to take over :data:`LONG_FIT_SECONDS`."""
    if estimate <= LONG_FIT_SECONDS:
        return None
    many_valued = [c.name for c in table.schema.columns
                   if c.action in ("model", "keep") and c.sdtype == "categorical"
                   and table.frame[c.name].nunique() > 100]
    tips = ["choose the Quick preset or fewer epochs", "or start with Gaussian Copula (seconds)"]
    if many_valued:
        tips.insert(0, f"drop or fake the many-valued column(s) {', '.join(many_valued)} on "
                    "the Data page")
    return f"This is a long fit. To go faster: {'; '.join(tips)}."


# --------------------------------------------------------------------------- train or reuse


@dataclass(frozen=True)
class Trained:
    """What :func:`train_or_reuse` did.

    Attributes:
        model_id: The request's training key: the model's id in the registry, now or once
            its job ends.
        record: The stored model: reused, or fitted in this process; None while a
            background job fits it.
        job_id: The background job fitting it, when the fitter started one.
        reused: The model was already stored; nothing was fitted.
    """

    model_id: str
    record: ModelRecord | None = None
    job_id: str | None = None
    reused: bool = False


def find_trained(registry: ModelRegistry, request: TrainingRequest) -> ModelRecord | None:
    """The stored model of ``request``, if one was trained before (same data and settings)."""
    return registry.get(training_key(request))


def train_or_reuse(
    request: TrainingRequest,
    frame: pd.DataFrame,
    registry: ModelRegistry,
    fit: Fitter,
    listener: Callable[[FitProgress], None] | None = None,
) -> Trained:
    """The stored model of ``request``, or a fit of it by ``fit``.

    Args:
        request: What to train.
        frame: The full real table (the fitter splits it).
        registry: Where models are stored.
        fit: Called only when no model is stored: ``fit(request, frame, listener)``
            returns the record (fitted here) or a background job's id.
        listener: Fit progress, passed on to ``fit``.
    """
    model_id = training_key(request)
    stored = registry.get(model_id)
    if stored is not None:
        return Trained(model_id, record=stored, reused=True)
    fitted = fit(request, frame, listener or (lambda progress: None))
    if isinstance(fitted, ModelRecord):
        return Trained(model_id, record=fitted)
    return Trained(model_id, job_id=fitted)


def fit_in_process(registry: ModelRegistry, device: DeviceInfo | None = None) -> Fitter:
    """A fitter that trains here and stores the model in ``registry`` (CLI, Compare)."""

    def fit(request: TrainingRequest, frame: pd.DataFrame,
            listener: Callable[[FitProgress], None]) -> ModelRecord:
        return run_training(request, frame, listener=listener, registry=registry, device=device)

    return fit


# --------------------------------------------------------------------------- sample


def condition_columns(real_train: pd.DataFrame, schema: TableSchema) -> list[str]:
    """Modelled columns few-valued enough to fix or rebalance when sampling.

    For an event table only its context columns (constant per entity) can be fixed.
    """
    columns = schema.modelled_columns
    if schema.sequence is not None:
        columns = [c for c in schema.sequence.context if c in real_train.columns]
    return [c for c in columns if real_train[c].nunique() <= MAX_CONDITION_CLASSES]


def sample_in_process(rows: int, writes_text: bool = False,
                      events_per_row: float = 1.0) -> bool:
    """Whether the app draws ``rows`` rows itself (see :data:`IN_PROCESS_SAMPLE_ROWS`).

    ``writes_text``: the model fills text columns (:data:`IN_PROCESS_TEXT_ROWS`).
    ``events_per_row``: for a sequence model ``rows`` counts entities, each bringing about
    this many events (``mean_events_`` of the loaded model): the bound is on the events.
    """
    events = rows * max(float(events_per_row or 1.0), 1.0)
    return events <= (IN_PROCESS_TEXT_ROWS if writes_text else IN_PROCESS_SAMPLE_ROWS)


def train_entities(table: StudioTable, split: SplitSpec) -> int | None:
    """How many entities the synthesizer will see for an event table (None otherwise).

    A sequence model's ``rows`` count entities, so this is its default sample size.
    """
    sequence = table.schema.sequence
    if sequence is None or sequence.key not in table.frame.columns:
        return None
    entities = int(table.frame[sequence.key].nunique())
    return max(int(round(entities * (1 - split.test_size))), 1)


def default_rows(synthesizer: Any, record: ModelRecord) -> int:
    """What :func:`sample_model` draws when no count is given.

    As many rows as the model was trained on; for a sequence model as many entities.
    """
    if getattr(synthesizer, "studio_shape", "table") == "sequence":
        return int(getattr(synthesizer, "entities_", 0) or 1)
    return record.train_rows


def sample_model(
    synthesizer: Any,
    record: ModelRecord,
    rows: int | None = None,
    seed: int = 0,
    real_example: pd.DataFrame | None = None,
    fixed_values: Mapping[str, Any] | None = None,
    rebalance_column: str | None = None,
    class_shares: Mapping[str, float] | None = None,
    progress: ProgressCallback | None = None,
) -> GeneratedSample:
    """Synthetic rows from a stored model (see :func:`core.engine.generation.generate`).

    Args:
        synthesizer: The loaded model of ``record``.
        record: Its record (its schema checks the conditions).
        rows: How many (default: as many as the real rows it was trained on). For a
            sequence model: how many entities, each with its events (default: as many as
            it was trained on).
        seed: Sampling seed.
        real_example: Real rows, to convert condition values to column types.
        fixed_values: Column -> value every row must have (sequence models: context
            columns only, e.g. account type).
        rebalance_column: A column whose class shares are set by ``class_shares``.
        class_shares: Class -> share of ``rebalance_column``.
        progress: Progress callback.
    """
    return generate(synthesizer, record.model_id, rows or default_rows(synthesizer, record),
                    seed=seed,
                    schema=model_schema(record), real_example=real_example,
                    fixed_values=fixed_values, rebalance_column=rebalance_column,
                    class_shares=class_shares, progress=progress)


# --------------------------------------------------------------------------- evaluate, record


def evaluate_sample(
    record: ModelRecord,
    sample: GeneratedSample,
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    sensitive_columns: Sequence[str] | None = None,
) -> EvaluationResult:
    """Evaluate a model's rows against the real split it was trained on.

    Args:
        record: The model (its spent differential-privacy ε, if any, joins the verdict).
        sample: Its rows.
        real_train: The real rows it saw (:func:`model_parts`).
        holdout: The real rows it never saw.
        seed: Evaluation seed.
        progress: Progress callback.
        sensitive_columns: Columns to judge fairness on (None: the suggested ones).
    """
    design = SampleDesign(fixed_values=dict(sample.fixed_values),
                          class_shares=dict(sample.class_shares),
                          rebalanced_column=sample.rebalanced_column)
    return evaluate_all(real_train, holdout, sample.frame, model_schema(record),
                        model_target(record), progress=progress, seed=seed, design=design,
                        sensitive_columns=sensitive_columns, epsilon=record.epsilon_spent,
                        delta=record.delta if record.epsilon_spent is not None else None)


def evaluate_model(
    table: StudioTable,
    record: ModelRecord,
    synthesizer: Any,
    rows: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    sensitive_columns: Sequence[str] | None = None,
) -> tuple[GeneratedSample, EvaluationResult]:
    """Sample from a model and evaluate the rows against its own split.

    Args:
        table: The dataset (its target is used for utility).
        record: The model's record (schema and split it was trained with).
        synthesizer: The loaded synthesizer.
        rows: Rows to generate (default: as many as the real training part).
        seed: Sampling and evaluation seed.
        progress: Progress callback (sampling 0–20 %, evaluation 20–100 %).
        sensitive_columns: Columns to judge fairness on (None: the suggested ones).
    """
    real_train, holdout = model_parts(table, record)
    sample = sample_model(synthesizer, record, rows, seed, progress=scaled(progress, 0.0, 0.2))
    evaluation = evaluate_sample(record, sample, real_train, holdout, seed,
                                 progress=scaled(progress, 0.2, 1.0),
                                 sensitive_columns=sensitive_columns)
    return sample, evaluation


def scores_for_registry(evaluation: EvaluationResult) -> dict[str, float]:
    """The headline scores stored with a model (shown in the Models list)."""
    scores = {"quality": round(evaluation.quality.quality_score, 4),
              "exact_match_rate": round(evaluation.privacy.exact_match_rate, 4),
              "dcr_share": round(evaluation.privacy.dcr_share, 4)}
    if evaluation.utility is not None and evaluation.utility.ratio is not None:
        scores["utility_ratio"] = round(evaluation.utility.ratio, 4)
    return scores


def record_scores(registry: ModelRegistry, record: ModelRecord, evaluation: EvaluationResult
                  ) -> ModelRecord | None:
    """Store an evaluation's headline scores with its model; the updated record."""
    return registry.update_scores(record.model_id, scores_for_registry(evaluation))


def run_timings(record: ModelRecord, sample: GeneratedSample, evaluation: EvaluationResult,
                fitted: bool = True) -> dict[str, float]:
    """Seconds spent fitting (0 when the model was reused), sampling and evaluating."""
    return {"fit_s": record.fit_seconds if fitted else 0.0,
            "sample_s": round(sample.seconds, 3),
            "evaluate_s": evaluation.timings.get("total", 0.0)}


@dataclass
class Run:
    """One request walked through :func:`run_model`.

    Attributes:
        record: The stored model (its scores recorded).
        sample: The rows it generated.
        evaluation: Their evaluation.
        reused: The model was already stored; nothing was fitted.
        timings: :func:`run_timings`.
        after_fit_seconds: Wall-clock time of loading, sampling and evaluating.
    """

    record: ModelRecord
    sample: GeneratedSample
    evaluation: EvaluationResult
    reused: bool
    timings: dict[str, float]
    after_fit_seconds: float


def run_model(
    table: StudioTable,
    request: TrainingRequest,
    registry: ModelRegistry,
    fit: Fitter,
    rows: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] | None = None,
    sensitive_columns: Sequence[str] | None = None,
) -> Run:
    """Train or reuse, sample, evaluate and record one request.

    Args:
        table: The dataset ``request`` was planned on.
        request: What to train.
        registry: Where models are stored.
        fit: A fitter that returns the record (e.g. :func:`fit_in_process`).
        rows: Rows to generate (default: as many as the real training part).
        seed: Sampling and evaluation seed.
        progress: Progress callback (fit 0–60 %, sampling and evaluation 60–100 %).
        log: Free-form lines (what is being trained, or that a model was reused).
        sensitive_columns: Columns to judge fairness on (None: the suggested ones).

    Raises:
        StudioError: Training, sampling or evaluation failed (the message says why).
    """
    report = progress or null_progress
    say = log or (lambda message: None)
    title = REGISTRY[request.synthesizer].title

    def announced(request: TrainingRequest, frame: pd.DataFrame,
                  listener: Callable[[FitProgress], None]) -> ModelRecord | str:
        say(f"Training {title} ({request.preset})…")
        report(0.0, f"Training {title}…")
        return fit(request, frame, listener)

    trained = train_or_reuse(request, table.frame, registry, announced,
                             listener=lambda p: report(0.6 * p.fraction, p.stage))
    if trained.record is None:
        raise TypeError("run_model needs a fitter that returns the model, not a job id")
    if trained.reused:
        say(f"  {title}: the same model is already trained, reusing it")
    started = time.monotonic()
    record = trained.record
    sample, evaluation = evaluate_model(table, record, load_synthesizer(registry, record.model_id),
                                        rows, seed, progress=scaled(report, 0.6, 1.0),
                                        sensitive_columns=sensitive_columns)
    record = record_scores(registry, record, evaluation) or record
    return Run(record, sample, evaluation, trained.reused,
               run_timings(record, sample, evaluation, fitted=not trained.reused),
               time.monotonic() - started)






























# --------------------------------------------------------------------------- outputs


def check_target(table: StudioTable, target: str | None) -> StudioTable:
    """Apply a user-named target, refusing unknown or unusable columns."""
    if target is None:
        return table
    if target not in table.frame.columns:
        raise ParameterError(
            f"The target column '{target}' is not in the data. Columns: "
            f"{', '.join(map(str, table.frame.columns))}."
        )
    return table.with_target(target)
