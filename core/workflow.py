"""The whole walk in one place: load → detect → split → train → sample → evaluate.

The app's pages and the command line (``python -m core run``) share these functions, so
a headless run is exactly what the app does. :func:`compare` trains several candidates on
the same split and ranks them with :func:`selection_score` — the documented rule behind
``--synthesizer auto`` and the Compare page's recommendation.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.schema import TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, split_real
from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY, get_spec, resolve_params
from core.engine.generation import GeneratedSample, generate
from core.engine.models import load_synthesizer
from core.engine.training import TrainingRequest, estimate_fit_seconds, run_training, training_key
from core.errors import ParameterError, StudioError
from core.evaluation import EvaluationResult, evaluate_all
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry

__all__ = [
    "AUTO_CANDIDATES",
    "CandidateResult",
    "best_of",
    "build_metrics",
    "check_target",
    "compare",
    "evaluate_model",
    "leaderboard_rows",
    "plan_request",
    "real_parts",
    "run_card",
    "scores_for_registry",
    "selection_score",
    "write_outputs",
]

#: What ``auto`` tries, in order: the fast, steady baseline first.
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("gaussian_copula", "balanced"),
    ("tvae", "balanced"),
    ("ctgan", "balanced"),
)
#: Privacy guard of the selection rule.
MAX_EXACT_MATCH_RATE = 0.05
MAX_DCR_SHARE = 0.75
_MIN_EPOCHS = 5


def real_parts(table: StudioTable, schema: TableSchema, split: SplitSpec
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared real (train, holdout) parts for ``schema`` and ``split``."""
    return split_real(prepare_training_frame(table.frame, schema), split)


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
) -> TrainingRequest:
    """A training request; with ``fit_budget`` (seconds), epochs are chosen to fit it.

    The time model of :func:`core.engine.training.estimate_fit_seconds` is linear in epochs, so
    two estimates give the fixed cost and the cost per epoch; deep models then get as many
    epochs as the budget allows (at least 5, at most the preset's). Early stopping may end
    them sooner.
    """
    split = split or SplitSpec(target=table.target)
    train_rows = int(round(len(table.frame) * (1 - split.test_size)))
    params = resolve_params(synthesizer, preset, overrides, rows=train_rows)
    preset_name = preset if not overrides else "custom"
    if fit_budget is not None and get_spec(synthesizer).deep and "epochs" not in (overrides or {}):
        # Estimated without the preset's time limit (it would flatten the per-epoch cost).
        one = estimate_fit_seconds(synthesizer, {**params, "epochs": 1, "time_limit": 0},
                                   table.frame, table.schema, 1 - split.test_size, speed)
        two = estimate_fit_seconds(synthesizer, {**params, "epochs": 2, "time_limit": 0},
                                   table.frame, table.schema, 1 - split.test_size, speed)
        per_epoch = max(two - one, 1e-6)
        affordable = math.floor((fit_budget - (one - per_epoch)) / per_epoch)
        epochs = max(_MIN_EPOCHS, min(int(params["epochs"]), affordable))
        if epochs != params["epochs"]:
            params = {**params, "epochs": epochs}
            preset_name = f"{preset} ({epochs} epochs)"
        # The estimate is good to a factor of ~2; the time limit makes the budget hold.
        limit = int(params.get("time_limit") or 0)
        budget_limit = max(int(math.ceil(fit_budget)), 1)
        if "time_limit" in params and (not limit or budget_limit < limit):
            params = {**params, "time_limit": budget_limit}
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset=preset_name, params=params, seed=seed,
        device=device, split=split,
    )


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
    schema = TableSchema.from_fingerprint_dict(record.schema)
    split = SplitSpec(**record.split)
    real_train, holdout = real_parts(table, schema, split)
    sample = generate(synthesizer, record.model_id, rows or len(real_train), seed=seed,
                      schema=schema, progress=scaled(progress, 0.0, 0.2))
    target = split.target if split.target in schema.modelled_columns else None
    evaluation = evaluate_all(real_train, holdout, sample.frame, schema, target,
                              progress=scaled(progress, 0.2, 1.0), seed=seed)
    return sample, evaluation


# --------------------------------------------------------------------------- ranking


def selection_score(evaluation: EvaluationResult) -> tuple[bool, float, str]:
    """Rank a candidate: (passes the privacy guard, score, reason).

    Rule (the one ``auto`` and the Compare page use):

    * **Privacy guard** — a candidate is eligible only if at most 5 % of its rows copy a
      training row exactly and its DCR share is at most 0.75 (0.5 = as close to the
      training rows as unseen real rows are; 1.0 = every row hugs a training row).
    * **Score** — with a target: the mean of the SDMetrics quality score and the utility
      ratio (TSTR / TRTR, capped at 1.0); without one, or when models trained on the real
      data barely beat always guessing the majority (the ratio would be noise): quality.
    * The highest score among eligible candidates wins; if none is eligible, the best
      overall wins, flagged.
    """
    privacy = evaluation.privacy
    quality = evaluation.quality.quality_score
    eligible = (privacy.exact_match_rate <= MAX_EXACT_MATCH_RATE
                and privacy.dcr_share <= MAX_DCR_SHARE)
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
        reason += (f"; fails the privacy guard (exact copies {privacy.exact_match_rate:.1%}, "
                   f"DCR share {privacy.dcr_share:.2f})")
    return eligible, score, reason


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
        reason: Why it scored as it did, or why it failed.
        seconds: Wall-clock time of train + sample + evaluate.
        reused: The model came from the registry (no fit).
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


def best_of(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """The winner by :func:`selection_score` (eligible first, then score)."""
    scored = [r for r in results if r.evaluation is not None]
    if not scored:
        return None
    return max(scored, key=lambda r: (r.eligible, r.score))



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
) -> list[CandidateResult]:
    """Train, sample and evaluate candidates in order, within ``budget`` seconds.

    Each candidate gets an equal share of what is left of the budget, minus the time the
    first candidate's sampling and evaluation took (a measured reserve); deep models get
    their epochs from that share (:func:`plan_request`). Candidates that cannot fit the
    budget any more are skipped with a reason. Models already in the registry are reused.
    """
    registry = registry or ModelRegistry()
    report = progress or null_progress
    say = log or (lambda message: None)
    split = split or SplitSpec(target=table.target)
    started = time.monotonic()
    reserve = 5.0  # sampling + evaluation, until measured
    results: list[CandidateResult] = []
    for index, (synthesizer, preset) in enumerate(candidates):
        left = None if budget is None else budget - (time.monotonic() - started)
        remaining = len(candidates) - index
        share = None if left is None else left / remaining - reserve
        base = CandidateResult(request=plan_request(table, synthesizer, preset, seed, device,
                                                    split))
        if share is not None and share < 2.0:
            base.reason = "skipped: the time budget was used up"
            results.append(base)
            say(f"{REGISTRY[synthesizer].title}: {base.reason}")
            continue
        request = plan_request(table, synthesizer, preset, seed, device, split,
                               fit_budget=share)
        if share is not None and not get_spec(synthesizer).deep:
            estimate = estimate_fit_seconds(synthesizer, request.params, table.frame,
                                            table.schema, 1 - split.test_size)
            if estimate > share * 1.5:
                base.reason = f"skipped: estimated {estimate:.0f} s exceeds the budget left"
                results.append(base)
                continue
        result = CandidateResult(request=request)
        step = scaled(report, index / len(candidates), (index + 1) / len(candidates))
        candidate_started = time.monotonic()
        try:
            record = registry.get(training_key(request))
            result.reused = record is not None
            if record is None:
                say(f"Training {REGISTRY[synthesizer].title} ({request.preset})…")
                step(0.0, f"Training {REGISTRY[synthesizer].title}…")
                record = run_training(request, table.frame, registry=registry,
                                      listener=lambda p, step=step: step(0.6 * p.fraction,
                                                                         p.stage))
            result.record = record
            fitted = time.monotonic()
            synthesizer_object = load_synthesizer(registry, record.model_id)
            sample, evaluation = evaluate_model(table, record, synthesizer_object, rows, seed,
                                                progress=scaled(step, 0.6, 1.0))
            result.sample, result.evaluation = sample, evaluation
            result.eligible, result.score, result.reason = selection_score(evaluation)
            reserve = max(reserve, time.monotonic() - fitted)
            result.timings = {"fit_s": record.fit_seconds if not result.reused else 0.0,
                              "sample_s": round(sample.seconds, 3),
                              "evaluate_s": evaluation.timings.get("total", 0.0)}
            registry.update_scores(record.model_id, scores_for_registry(evaluation))
        except StudioError as error:
            result.reason = f"failed: {error}"
        result.seconds = time.monotonic() - candidate_started
        say(f"{REGISTRY[synthesizer].title}: {result.reason} ({result.seconds:.0f} s)")
        results.append(result)
    report(1.0, "Comparison done.")
    return results


def leaderboard_rows(results: Sequence[CandidateResult]) -> list[dict[str, Any]]:
    """The comparison as JSON-able rows, best first, the recommended one flagged."""
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
            "fit_s": None if result.record is None else round(result.record.fit_seconds, 2),
            "reused": result.reused,
            "score": None if evaluation is None else round(result.score, 4),
            "eligible": result.eligible,
            "recommended": result is best,
            "reason": result.reason,
            "verdict": None if evaluation is None else evaluation.verdict.headline,
        })
    rows.sort(key=lambda row: (row["recommended"], row["eligible"],
                               -math.inf if row["score"] is None else row["score"]),
              reverse=True)
    return rows


def scores_for_registry(evaluation: EvaluationResult) -> dict[str, float]:
    """The headline scores stored with a model (shown in the Models list)."""
    scores = {"quality": round(evaluation.quality.quality_score, 4),
              "exact_match_rate": round(evaluation.privacy.exact_match_rate, 4),
              "dcr_share": round(evaluation.privacy.dcr_share, 4)}
    if evaluation.utility is not None and evaluation.utility.ratio is not None:
        scores["utility_ratio"] = round(evaluation.utility.ratio, 4)
    return scores


# --------------------------------------------------------------------------- outputs


def build_metrics(
    record: ModelRecord,
    sample: GeneratedSample,
    evaluation: EvaluationResult,
    rows_real: int,
    timings: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``metrics.json`` document of a run (documented in the README)."""
    from core.evaluation.report import library_versions

    utility = evaluation.utility
    privacy = evaluation.privacy
    metrics: dict[str, Any] = {
        "synthesizer": record.synthesizer,
        "preset": record.preset,
        "params": record.params,
        "seed": record.seed,
        "device": record.device,
        "model_id": record.model_id,
        "rows_real": rows_real,
        "rows_train": record.train_rows,
        "rows_synthetic": len(sample.frame),
        "quality_score": round(evaluation.quality.quality_score, 4),
        "diagnostic_score": round(evaluation.quality.diagnostic_score, 4),
        "column_pair_score": round(evaluation.correlation.pair_score, 4),
        "utility": None if utility is None else {
            "target": utility.target,
            "task": utility.task,
            "metric": utility.metric,
            "real": round(utility.real, 4),
            "synthetic": round(utility.synthetic, 4),
            "ratio": None if utility.ratio is None else round(utility.ratio, 4),
            "per_model": utility.per_model,
        },
        "utility_reason": evaluation.utility_reason,
        "privacy": {
            "exact_match_rate": round(privacy.exact_match_rate, 5),
            "dcr_share": round(privacy.dcr_share, 4),
            "nndr_median": round(privacy.nndr_median, 4),
        },
        "verdict": {reading.aspect: {"level": reading.level, "reason": reading.reason}
                    for reading in evaluation.verdict.readings},
        "timings": {key: round(value, 3) for key, value in timings.items()},
        "versions": library_versions(),
    }
    if extra:
        metrics.update(extra)
    return metrics


def run_card(table: StudioTable, record: ModelRecord, timings: dict[str, float]
             ) -> dict[str, Any]:
    """The facts a report's run card lists."""
    from core.evaluation.report import library_versions

    return {
        "Dataset": table.name,
        "Dataset fingerprint": table.fingerprint,
        "Real rows": f"{len(table.frame):,} ({record.train_rows:,} used for training)",
        "Synthesizer": f"{REGISTRY[record.synthesizer].title} ({record.preset})",
        "Parameters": json.dumps(record.params, sort_keys=True),
        "Seed": record.seed,
        "Device": record.device,
        "Split": json.dumps(record.split, sort_keys=True),
        "Timings (s)": ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
        "Versions": ", ".join(f"{k} {v}" for k, v in library_versions().items()),
    }



def write_outputs(out_dir: Path, sample: GeneratedSample, evaluation: EvaluationResult,
                  metrics: dict[str, Any], card: dict[str, Any], title: str) -> None:
    """Write ``synthetic.csv``, ``report.html`` and ``metrics.json`` into ``out_dir``."""
    from core.evaluation.report import build_report

    out_dir.mkdir(parents=True, exist_ok=True)
    sample.frame.to_csv(out_dir / "synthetic.csv", index=False)
    (out_dir / "report.html").write_text(build_report(evaluation, card, title=title),
                                         encoding="utf-8")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json_value),
                                          encoding="utf-8")


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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
