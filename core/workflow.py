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

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    _REFERENCE_SPEED,  # the time model's unit: a measured pace is handed back in it
    FitProgress,
    TrainingRequest,
    estimate_fit_seconds,
    run_training,
    training_key,
)
from core.errors import ParameterError, StudioError
from core.evaluation import EvaluationResult, SampleDesign, evaluate_all
from core.evaluation.thresholds import (
    ACCEPTABLE,
    LEVELS,
    MAX_DCR_SHARE,
    MAX_EXCESS_EXACT_MATCH_RATE,
    NOT_MEASURED,
    privacy_acceptable,
)
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry

__all__ = [
    "AUTO_BUDGET_SECONDS",
    "AUTO_CANDIDATES",
    "AUTO_FAST",
    "AUTO_SLOW",
    "GOOD",
    "GPU_SPEEDUP",
    "IN_PROCESS_SAMPLE_ROWS",
    "LONG_FIT_SECONDS",
    "MAX_CONDITION_CLASSES",
    "SELECTION_RULE",
    "CandidateResult",
    "Fitter",
    "Run",
    "Trained",
    "auto_candidates",
    "auto_compare",
    "best_of",
    "check_target",
    "compare",
    "condition_columns",
    "estimate_after_fit_seconds",
    "estimate_fit",
    "evaluate_model",
    "evaluate_sample",
    "find_trained",
    "fit_advice",
    "fit_in_process",
    "leaderboard_rows",
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
    "screening_weakness",
    "selection_rule_text",
    "selection_score",
    "train_or_reuse",
    "train_rows",
]

#: What ``auto`` screens first: synthesizers that fit in seconds (those in the catalogue run).
AUTO_FAST: tuple[tuple[str, str], ...] = (
    ("gaussian_copula", "balanced"),
    ("sequential_trees", "balanced"),
)
#: What ``auto`` tries only when screening is weak, most promising first, each with the time
#: left: on 2 CPU cores these take minutes to learn what the fast ones get in seconds.
AUTO_SLOW: tuple[tuple[str, str], ...] = (
    ("tabular_argn", "balanced"),
    ("tvae", "balanced"),
    ("ctgan", "balanced"),
    ("copula_gan", "balanced"),
)
#: Everything ``auto`` may try, in order (only synthesizers the catalogue has).
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = tuple(
    candidate for candidate in (*AUTO_FAST, *AUTO_SLOW) if candidate[0] in REGISTRY)
#: Seconds ``auto`` takes for the whole run (fit + sample + evaluate) unless told otherwise.
AUTO_BUDGET_SECONDS = 60.0
#: The selection rule as ``metrics.json`` states it (``selection.rule`` of an auto run).
SELECTION_RULE = (
    f"eligible if exact_match_rate - holdout_exact_match_rate <= "
    f"{MAX_EXCESS_EXACT_MATCH_RATE:g} and dcr_share <= {MAX_DCR_SHARE:g} (the verdict's "
    f"privacy reading is {' or '.join(ACCEPTABLE)}); score = mean(quality, min(utility "
    "ratio, 1)) or quality; highest eligible score wins"
)
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
_MIN_EPOCHS = 5
#: The verdict's best level: ``auto`` stops trying slower candidates once the best reads it.
GOOD = LEVELS[0]
#: A preset fits a fit budget when its own time limit is within this factor of the budget.
_BUDGET_SLACK = 2.0
#: A deep fit shorter than this learns next to nothing, so ``auto`` does not start one
#: (loans.csv: CTGAN Balanced cut to 10 s scored quality 0.79, usefulness 0.66).
_MIN_DEEP_FIT_SECONDS = 10.0
#: A deep fit gets this share of what is left once sampling and evaluating are kept aside:
#: it may end an epoch past its limit, and a network samples slower than the fast
#: synthesizers whose sampling was measured (TVAE drew loans.csv's rows in 3-6 s, the
#: Gaussian Copula in 0.7 s; without it ``auto`` overran 60 s by 6 s).
_DEEP_FIT_SHARE = 0.8

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
    return split_real(prepare_training_frame(table.frame, schema), split)


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
    slack: float = _BUDGET_SLACK,
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
    split = split or SplitSpec(target=table.target)
    params = resolve_params(synthesizer, preset, overrides, rows=train_rows(table, split))
    preset_name = preset if not overrides else "custom"
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
            epochs = max(_MIN_EPOCHS, min(int(params["epochs"]), affordable))
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
    """Modelled columns few-valued enough to fix or rebalance when sampling."""
    return [c for c in schema.modelled_columns
            if real_train[c].nunique() <= MAX_CONDITION_CLASSES]


def sample_in_process(rows: int) -> bool:
    """Whether the app draws ``rows`` rows itself (see :data:`IN_PROCESS_SAMPLE_ROWS`)."""
    return rows <= IN_PROCESS_SAMPLE_ROWS


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
        rows: How many (default: as many as the real rows it was trained on).
        seed: Sampling seed.
        real_example: Real rows, to convert condition values to column types.
        fixed_values: Column -> value every row must have.
        rebalance_column: A column whose class shares are set by ``class_shares``.
        class_shares: Class -> share of ``rebalance_column``.
        progress: Progress callback.
    """
    return generate(synthesizer, record.model_id, rows or record.train_rows, seed=seed,
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
) -> EvaluationResult:
    """Evaluate a model's rows against the real split it was trained on.

    Args:
        record: The model.
        sample: Its rows.
        real_train: The real rows it saw (:func:`model_parts`).
        holdout: The real rows it never saw.
        seed: Evaluation seed.
        progress: Progress callback.
    """
    design = SampleDesign(fixed_values=dict(sample.fixed_values),
                          class_shares=dict(sample.class_shares),
                          rebalanced_column=sample.rebalanced_column)
    return evaluate_all(real_train, holdout, sample.frame, model_schema(record),
                        model_target(record), progress=progress, seed=seed, design=design)


def evaluate_model(
    table: StudioTable,
    record: ModelRecord,
    synthesizer: Any,
    rows: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> tuple[GeneratedSample, EvaluationResult]:
    """Sample from a model and evaluate the rows against its own split.

    Args:
        table: The dataset (its target is used for utility).
        record: The model's record (schema and split it was trained with).
        synthesizer: The loaded synthesizer.
        rows: Rows to generate (default: as many as the real training part).
        seed: Sampling and evaluation seed.
        progress: Progress callback (sampling 0–20 %, evaluation 20–100 %).
    """
    real_train, holdout = model_parts(table, record)
    sample = sample_model(synthesizer, record, rows, seed, progress=scaled(progress, 0.0, 0.2))
    evaluation = evaluate_sample(record, sample, real_train, holdout, seed,
                                 progress=scaled(progress, 0.2, 1.0))
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
                                        rows, seed, progress=scaled(report, 0.6, 1.0))
    record = record_scores(registry, record, evaluation) or record
    return Run(record, sample, evaluation, trained.reused,
               run_timings(record, sample, evaluation, fitted=not trained.reused),
               time.monotonic() - started)


# --------------------------------------------------------------------------- compare


def selection_score(evaluation: EvaluationResult) -> tuple[bool, float, str]:
    """Rank a candidate: (passes the privacy guard, score, reason).

    Rule (the one ``auto`` and the Compare page use, :data:`SELECTION_RULE`):

    * **Privacy guard** — a candidate is eligible exactly when its verdict's privacy reading
      is good or fair (:func:`core.evaluation.thresholds.privacy_acceptable`): at most 5 %
      of its rows copy a training row beyond what unseen real rows match by chance, and its
      DCR share is at most 0.70 (0.5 = as close to the training rows as unseen real rows
      are; 1.0 = every row hugs a training row).
    * **Score** — with a target: the mean of the SDMetrics quality score and the utility
      ratio (TSTR / TRTR, capped at 1.0); without one, or when models trained on the real
      data barely beat always guessing the majority (the ratio would be noise): quality.
    * The highest score among eligible candidates wins; if none is eligible, the best
      overall wins, flagged.
    """
    privacy = evaluation.privacy
    quality = evaluation.quality.quality_score
    eligible = privacy_acceptable(privacy.exact_match_rate, privacy.dcr_share,
                                  privacy.holdout_exact_match_rate)
    utility = evaluation.utility
    if utility is not None and utility.ratio is not None and utility.informative:
        ratio = min(max(utility.ratio, 0.0), 1.0)
        score = 0.5 * quality + 0.5 * ratio
        reason = f"quality {quality:.2f}, utility ratio {utility.ratio:.2f}"
    elif utility is not None and not utility.informative:
        score = quality
        reason = (f"quality {quality:.2f} (utility not ranked: the target is barely "
                  "predictable even from real data)")
    else:
        score = quality
        reason = f"quality {quality:.2f} (no utility measured)"
    if not eligible:
        chance = (f", {privacy.holdout_exact_match_rate:.1%} by chance"
                  if privacy.holdout_exact_match_rate >= 0.005 else "")
        reason += (f"; fails the privacy guard (exact copies {privacy.exact_match_rate:.1%}"
                   f"{chance}, DCR share {privacy.dcr_share:.2f})")
    return eligible, score, reason


def selection_rule_text() -> str:
    """The selection rule in plain words (the Compare page's caption)."""
    return (
        f"Rule for the recommendation: a candidate is eligible if its privacy reading is "
        f"{' or '.join(ACCEPTABLE)}, that is at most {MAX_EXCESS_EXACT_MATCH_RATE:.0%} of its "
        f"rows copy a training row (beyond what unseen real rows match by chance) and its "
        f"DCR share is at most {MAX_DCR_SHARE:.2f}; among eligible ones the highest mean of "
        "quality and utility ratio wins (quality alone without a target)."
    )


@dataclass
class CandidateResult:
    """One candidate of a comparison.

    Attributes:
        request: What was trained.
        record: The stored model (None if training failed).
        sample: The rows it generated.
        evaluation: Their evaluation.
        eligible: Passes the privacy guard.
        score: :func:`selection_score`'s score.
        reason: Why it scored as it did, or why it failed or was skipped.
        seconds: Wall-clock time of train + sample + evaluate.
        reused: The model came from the registry (no fit).
        timings: :func:`run_timings`.
        slow: Tried only when screening is weak (``auto``'s slower candidates).
        skipped: Not started (``reason`` says why).
        needed_s: Seconds it was estimated to need at the least (fit + sample + evaluate)
            when it was planned; None without a budget, and for a candidate that ran before
            any had finished (one always runs).
        left_s: Seconds of the budget left when it was planned; None without a budget.
    """

    request: TrainingRequest
    record: ModelRecord | None = None
    sample: GeneratedSample | None = None
    evaluation: EvaluationResult | None = None
    eligible: bool = False
    score: float = float("-inf")
    reason: str = ""
    seconds: float = 0.0
    reused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    slow: bool = False
    skipped: bool = False
    needed_s: float | None = None
    left_s: float | None = None

    @property
    def status(self) -> str:
        """``ran``, ``reused``, ``skipped`` or ``failed``."""
        if self.skipped:
            return "skipped"
        if self.evaluation is None:
            return "failed"
        return "reused" if self.reused else "ran"

    @property
    def label(self) -> str:
        """The synthesizer's title and the preset, e.g. "Gaussian Copula · balanced"."""
        return f"{REGISTRY[self.request.synthesizer].title} · {self.request.preset}"


def best_of(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """The winner by :func:`selection_score` (eligible first, then score)."""
    scored = [r for r in results if r.evaluation is not None]
    if not scored:
        return None
    return max(scored, key=lambda r: (r.eligible, r.score))


def screening_weakness(results: Sequence[CandidateResult]) -> str | None:
    """Why the best of ``results`` leaves room for a slower candidate; None if good enough.

    Good enough means what the verdict calls good: the best candidate passes the privacy
    guard and every aspect its verdict measured (fidelity, utility, privacy) reads "good"
    (:mod:`core.evaluation.thresholds`). Anything less is weak: a slower synthesizer may do
    better.
    """
    best = best_of(results)
    if best is None or best.evaluation is None:
        return "no candidate finished"
    if not best.eligible:
        return f"the best one, {best.label}, fails the privacy guard"
    weak = [f"{reading.aspect} is {reading.level}"
            for reading in best.evaluation.verdict.readings
            if reading.level not in (GOOD, NOT_MEASURED)]
    if weak:
        return f"the best one, {best.label}, reads: {', '.join(weak)}"
    return None


def estimate_after_fit_seconds(rows: int, columns: int) -> float:
    """Estimated seconds to draw ``rows`` rows of ``columns`` columns and evaluate them.

    Used until a candidate's own time is measured (the same table costs about the same for
    every candidate). Measured on 2 shared CPU cores: the quality report grows with the
    column pairs (about 8 ms a pair), the usefulness models and distances with the rows
    (about 0.5 ms a row): 10,000 x 55 took 17-22 s, loans.csv 4.3 s, transactions.csv 7.4 s.

    Args:
        rows: Synthetic rows (as many as the real training rows by default).
        columns: Modelled columns.
    """
    pairs = columns * (columns - 1) / 2
    return 3.0 + 0.008 * pairs + 0.0005 * rows + 1e-6 * rows * columns


def _smallest_fit(table: StudioTable, request: TrainingRequest, speed: float | None = None
                  ) -> float:
    """Seconds the shortest useful fit of ``request`` takes (the whole fit if not deep)."""
    params = dict(request.params)
    if get_spec(request.synthesizer).deep:
        # A deep fit can be cut short, but a handful of epochs is the least worth starting.
        params["time_limit"] = 0
        if "epochs" in params:
            params["epochs"] = min(int(params["epochs"]), _MIN_EPOCHS)
    try:
        seconds = estimate_fit_seconds(request.synthesizer, params, table.frame, table.schema,
                                       1 - request.split.test_size, speed)
    except ParameterError:  # no time model for it yet
        return _MIN_DEEP_FIT_SECONDS
    return max(seconds, _MIN_DEEP_FIT_SECONDS) if get_spec(request.synthesizer).deep else seconds


def _measured_speed(table: StudioTable, results: Sequence[CandidateResult]) -> float | None:
    """This machine's speed in the fit time model's unit, read off the fast fits run here.

    The time model's own speed test (:func:`core.engine.training.machine_speed`, a small torch
    workload) took 4-14 s on 2 shared cores and then read the CPU 20-100 times slower than
    the fits ran (TVAE planned at ~185 s fitted in 11 s). A fast fit timed against its
    estimate at the reference speed gives the machine's pace for free; never faster than
    the reference (an overestimate only skips a candidate, the time limit still holds).
    None until a fast fit has been measured.
    """
    ratios = []
    for result in results:
        if result.record is None or get_spec(result.request.synthesizer).deep:
            continue
        try:
            expected = estimate_fit_seconds(
                result.request.synthesizer, dict(result.request.params), table.frame,
                table.schema, 1 - result.request.split.test_size, _REFERENCE_SPEED)
        except ParameterError:
            continue
        ratios.append(result.record.fit_seconds / max(expected, 1e-6))
    return max(1.0, *ratios) * _REFERENCE_SPEED if ratios else None


def _fit_need(table: StudioTable, request: TrainingRequest, stored: bool,
              results: Sequence[CandidateResult]) -> float:
    """Seconds of fit to plan for ``request`` before starting it.

    A fast (not deep) synthesizer takes as long as the longest fast fit measured so far:
    its fit is seconds next to the sampling and evaluation measured with it, and the fit
    time model's speed test (a torch workload) would itself cost seconds and misread a
    busy CPU. Deep ones need their shortest useful fit (:func:`_smallest_fit`).
    """
    if stored:
        return 0.0
    if not get_spec(request.synthesizer).deep:
        fits = [r.record.fit_seconds for r in results
                if r.record is not None and not get_spec(r.request.synthesizer).deep]
        if fits:
            return max(fits)
    return _smallest_fit(table, request, _measured_speed(table, results))


def compare(
    table: StudioTable,
    candidates: Sequence[tuple[str, str]] = AUTO_CANDIDATES,
    budget: float | None = None,
    seed: int = 0,
    device: str = "auto",
    split: SplitSpec | None = None,
    rows: int | None = None,
    registry: ModelRegistry | None = None,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] | None = None,
    resolved_device: DeviceInfo | None = None,
    slow: Sequence[tuple[str, str]] = (),
    clock: Callable[[], float] = time.monotonic,
) -> list[CandidateResult]:
    """Train, sample and evaluate candidates in order, within ``budget`` seconds.

    ``candidates`` all run while the budget holds them, sharing it equally; ``slow`` ones
    run after them only while the best so far is weak (:func:`screening_weakness`), each
    with all the time left and a time limit cut to it (``auto``: :func:`auto_compare`).

    Budget: sampling and evaluating a candidate costs about the same on one table, so it is
    estimated from rows x columns (:func:`estimate_after_fit_seconds`) until one candidate
    measured it. Once a candidate has finished, no candidate starts whose fit
    (:func:`_fit_need`) plus that cost does not fit what is left of its share; it is skipped
    with both numbers. Deep models get their epochs from 80 % of their share once that cost is
    kept aside (:func:`plan_request`), unless a model of the preset's plain request (the one
    Train plans, same key) is stored: that one is reused as it is.

    Each candidate is :func:`run_model`. Fits run on ``resolved_device`` when a job backend
    gives one (default: ``device`` resolved on this machine). ``clock`` measures the budget
    (injectable for tests).
    """
    registry = registry or ModelRegistry()
    report = progress or null_progress
    say = log or (lambda message: None)
    split = split or SplitSpec(target=table.target)
    fit = fit_in_process(registry, resolved_device)
    started = clock()
    queue = [(candidate, False) for candidate in candidates] + [
        (candidate, True) for candidate in slow]
    estimated_after = estimate_after_fit_seconds(rows or train_rows(table, split),
                                                 len(table.schema.modelled_columns))
    measured_after: float | None = None
    if budget is not None:
        say(f"Budget {budget:.0f} s; drawing and evaluating one candidate's rows: "
            f"~{estimated_after:.0f} s (estimated from rows x columns)")
    results: list[CandidateResult] = []
    for index, ((synthesizer, preset), is_slow) in enumerate(queue):
        plain = plan_request(table, synthesizer, preset, seed, device, split)
        base = CandidateResult(request=plain, slow=is_slow)
        if is_slow:
            weakness = screening_weakness(results)
            if weakness is None:
                best = best_of(results)
                base.skipped = True
                base.reason = ("skipped: screening was good enough" if best is None or not
                               best.slow else f"skipped: {best.label} was good enough")
                results.append(base)
                say(f"{base.label}: {base.reason}")
                continue
            if not any(r.slow for r in results):
                say(f"Screening was weak ({weakness}): trying slower synthesizers")
        # The request Train plans for this preset: a model stored under its key (trained on
        # Train, by the CLI or by an earlier comparison) is reused exactly, with no fit.
        stored = find_trained(registry, plain) is not None
        reserve = measured_after if measured_after is not None else estimated_after
        request, share = plain, None
        if budget is not None:
            left = budget - (clock() - started)
            sharing = 1 if is_slow else sum(1 for _, later in queue[index:] if not later)
            share = left / sharing
            base.left_s = round(left, 2)
            # Until one candidate has finished, one runs whatever it needs (not estimated:
            # on a busy machine the estimate's speed test alone can take seconds).
            finished = any(r.evaluation is not None for r in results)
            if finished:
                fit_need = _fit_need(table, plain, stored, results)
                if get_spec(synthesizer).deep:
                    fit_need /= _DEEP_FIT_SHARE
                base.needed_s = round(reserve + fit_need, 2)
            if finished and base.needed_s > share:
                of = f" (its share of {left:.0f} s)" if sharing > 1 else ""
                base.skipped = True
                base.reason = (f"skipped: not enough budget left: needs ~{base.needed_s:.0f} s, "
                               f"{max(share, 0.0):.0f} s left{of}")
                results.append(base)
                say(f"{base.label}: {base.reason}")
                continue
            if not stored:
                request = plan_request(table, synthesizer, preset, seed, device, split,
                                       fit_budget=max(_DEEP_FIT_SHARE * (share - reserve),
                                                      1.0),
                                       speed=_measured_speed(table, results),
                                       slack=1.0 if is_slow else _BUDGET_SLACK)
        result = dataclasses.replace(base, request=request)
        step = scaled(report, index / len(queue), (index + 1) / len(queue))
        candidate_started = clock()
        try:
            run = run_model(table, request, registry, fit, rows, seed, progress=step, log=say)
        except StudioError as error:
            result.reason = f"failed: {error}"
        else:
            result.record, result.sample, result.evaluation = (run.record, run.sample,
                                                               run.evaluation)
            result.reused, result.timings = run.reused, run.timings
            result.eligible, result.score, result.reason = selection_score(run.evaluation)
            measured_after = max(measured_after or 0.0, run.after_fit_seconds)
        result.seconds = clock() - candidate_started
        say(f"{result.label}: {result.reason} ({result.seconds:.0f} s)")
        results.append(result)
    report(1.0, "Comparison done.")
    return results


def auto_candidates() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``auto``'s (fast, slow) candidates: those of the two lists the catalogue has."""
    return ([c for c in AUTO_FAST if c[0] in REGISTRY],
            [c for c in AUTO_SLOW if c[0] in REGISTRY])


def auto_compare(table: StudioTable, budget: float = AUTO_BUDGET_SECONDS,
                 **options: Any) -> list[CandidateResult]:
    """``--synthesizer auto``: screen the fast candidates, then the slow ones while weak.

    Args:
        table: The dataset.
        budget: Seconds for every candidate's fit, sampling and evaluation together.
        **options: Passed on to :func:`compare` (seed, device, split, rows, registry,
            progress, log, resolved_device, clock).
    """
    fast, slow = auto_candidates()
    return compare(table, fast, budget, slow=slow, **options)


def leaderboard_rows(results: Sequence[CandidateResult]) -> list[dict[str, Any]]:
    """The comparison as JSON-able rows, best first, the recommended one flagged.

    Skipped candidates are rows too: ``status`` says ``skipped`` and ``reason`` why.
    """
    best = best_of(results)
    rows = []
    for result in results:
        evaluation = result.evaluation
        utility = evaluation.utility if evaluation is not None else None
        rows.append({
            "synthesizer": result.request.synthesizer,
            "title": REGISTRY[result.request.synthesizer].title,
            "preset": result.request.preset,
            "model_id": result.record.model_id if result.record else None,
            "quality": None if evaluation is None else
            round(evaluation.quality.quality_score, 4),
            "utility_ratio": None if utility is None or utility.ratio is None
            else round(utility.ratio, 4),
            "exact_match_rate": None if evaluation is None else
            round(evaluation.privacy.exact_match_rate, 5),
            "dcr_share": None if evaluation is None else round(evaluation.privacy.dcr_share, 4),
            "privacy": None if evaluation is None else evaluation.verdict.privacy.level,
            "fit_s": None if result.record is None else round(result.record.fit_seconds, 2),
            "epochs": None if result.record is None else result.record.epochs_run,
            "reused": result.reused,
            "score": None if evaluation is None else round(result.score, 4),
            "eligible": result.eligible,
            "recommended": result is best,
            "reason": result.reason,
            "verdict": None if evaluation is None else evaluation.verdict.headline,
            "status": result.status,
            "slow": result.slow,
            "seconds": round(result.seconds, 2),
            "needed_s": result.needed_s,
            "left_s": result.left_s,
        })
    rows.sort(key=lambda row: (row["recommended"], row["eligible"],
                               -math.inf if row["score"] is None else row["score"]),
              reverse=True)
    return rows


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
