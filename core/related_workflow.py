"""The related-tables workflow: plan → train or reuse → sample → evaluate → record.

The counterpart of :mod:`core.workflow` for several tables joined by keys
(:class:`~core.data.related.RelatedTables`); the app's pages, the job kind "related" and
the command line walk these functions, so a headless run gives the model id the app gives:

* :func:`plan_related` — a :class:`~core.engine.multi_table.RelatedRequest`; with
  ``"auto"``, :func:`choose_related_synthesizer` picks HMA or TabularARGN by the estimated
  time and says why.
* :func:`train_or_reuse_related` — the stored model when the request's key is in the
  registry, else a fit by an injected fitter (the app: its job runner; the CLI:
  :func:`fit_related_in_process`).
* :func:`sample_related_model` — synthetic tables from a stored model.
* :func:`evaluate_related_sample` — the tables against the real split by root entity the
  model was trained on (:func:`core.evaluation.multi_table.evaluate_related`).
* :func:`record_related_scores` — headline scores stored with the model.
* :func:`run_related` chains them; :func:`write_related_outputs` writes one CSV per table,
  ``report.html`` and ``metrics.json`` (its ``multi_table`` section).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.related import RelatedTables, Relationship, check_table_name
from core.data.schema import TableSchema, prepare_training_frame
from core.engine.device import DeviceInfo
from core.engine.models import load_synthesizer
from core.engine.multi_table import (
    RELATED_SYNTHESIZERS,
    RelatedRequest,
    estimate_related_seconds,
    keyed_schemas,
    plan_related_request,
    related_split_of,
    related_training_key,
    run_related_training,
    sample_related,
    unsupported_reason,
)
from core.errors import ParameterError
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry
from core.workflow import Trained

__all__ = [
    "AUTO_RELATED_BUDGET",
    "RelatedFitter",
    "RelatedRun",
    "choose_related_synthesizer",
    "evaluate_related_sample",
    "fit_related_in_process",
    "plan_related",
    "related_frames",
    "related_metrics",
    "related_parts",
    "related_request_of",
    "related_scores_for_registry",
    "record_related_scores",
    "run_related",
    "sample_related_model",
    "train_or_reuse_related",
    "write_related_outputs",
]

#: Seconds ``auto`` lets a related fit take before it prefers the faster synthesizer.
AUTO_RELATED_BUDGET = 300.0

#: Fits a related request: ``fit(request, frames, progress)`` returns the stored model when
#: it fitted in this process, or the id of a background job fitting it.
RelatedFitter = Callable[[RelatedRequest, dict[str, pd.DataFrame], ProgressCallback],
                         ModelRecord | str]


def related_frames(related: RelatedTables) -> dict[str, pd.DataFrame]:
    """Table name -> its full real rows."""
    return {table.name: table.frame for table in related.tables}


# --------------------------------------------------------------------------- plan


def choose_related_synthesizer(related: RelatedTables, preset: str = "balanced",
                               budget: float | None = None, speed: float | None = None
                               ) -> tuple[str, str]:
    """``auto``: HMA when it fits the budget (seconds, its estimate), else TabularARGN.

    HMA is the default on small and shallow schemas (statistical, seconds to minutes);
    TabularARGN when HMA's estimate is over the budget (its cost grows with the number of
    parents and the square of the children's summary columns) or cannot model the schema.

    Returns:
        ``(synthesizer, the reason in one sentence)``.
    """
    from core.engine.multi_table import RELATED_PRESETS

    budget = AUTO_RELATED_BUDGET if budget is None else budget
    frames = related_frames(related)
    schemas = {t.name: t.schema for t in related.tables}
    keys = {t.name: t.schema.primary_key for t in related.tables}
    if unsupported_reason(related.names, related.relationships, keys, "hma") is None:
        hma = estimate_related_seconds("hma", {**RELATED_PRESETS["hma"][preset],
                                               "time_limit": 0},
                                       frames, schemas, related.relationships, speed=speed)
        if hma <= budget:
            return "hma", (f"HMA: its estimated fit (about {hma:.0f} s) fits the {budget:.0f} s "
                           "budget, and it models every relationship of this schema.")
        argn = estimate_related_seconds("tabular_argn", RELATED_PRESETS["tabular_argn"][preset],
                                        frames, schemas, related.relationships, speed=speed)
        if unsupported_reason(related.names, related.relationships, keys,
                              "tabular_argn") is None:
            return "tabular_argn", (
                f"TabularARGN: HMA's estimated fit (about {hma:.0f} s) is over the "
                f"{budget:.0f} s budget on this schema; TabularARGN's is about {argn:.0f} s.")
        return "hma", (f"HMA, although its estimated fit (about {hma:.0f} s) is over the "
                       f"{budget:.0f} s budget: TabularARGN cannot model this schema.")
    return "tabular_argn", "TabularARGN: HMA cannot model this schema."


def plan_related(related: RelatedTables, synthesizer: str, preset: str = "balanced",
                 seed: int = 0, device: str = "auto", test_size: float = 0.3,
                 overrides: Mapping[str, Any] | None = None) -> RelatedRequest:
    """A related training request (see :func:`core.engine.multi_table.plan_related_request`).

    Raises:
        ParameterError: Unknown synthesizer, preset or setting.
        MetadataError: The schema cannot be modelled by that synthesizer (message says why).
    """
    return plan_related_request(related, synthesizer, preset, seed=seed, device=device,
                                test_size=test_size, overrides=overrides)


def related_request_of(record: ModelRecord, related: RelatedTables | None = None
                       ) -> RelatedRequest:
    """The request a stored related model was trained from (its schemas, keys and split).

    Everything comes from the record; ``related`` is not needed (kept for callers).
    """
    if record.shape != "related":
        raise ParameterError("That model learned one table, not related tables.")
    schemas = tuple((name, TableSchema.from_fingerprint_dict(data))
                    for name, data in record.schema["tables"].items())
    target = record.split.get("target")
    return RelatedRequest(
        data_fingerprint=record.data_fingerprint, name=record.dataset_name, schemas=schemas,
        relationships=tuple(Relationship(**r) for r in record.schema["relationships"]),
        synthesizer=record.synthesizer, preset=record.preset, params=dict(record.params),
        seed=record.seed, device="auto", test_size=float(record.split["test_size"]),
        split_seed=int(record.split["seed"]), target=tuple(target) if target else None)


# --------------------------------------------------------------------------- train or reuse


def train_or_reuse_related(request: RelatedRequest, frames: dict[str, pd.DataFrame],
                           registry: ModelRegistry, fit: RelatedFitter,
                           progress: ProgressCallback | None = None) -> Trained:
    """The stored model of ``request``, or a fit of it by ``fit``."""
    model_id = related_training_key(request)
    stored = registry.get(model_id)
    if stored is not None and stored.shape == "related":
        return Trained(model_id, record=stored, reused=True)
    fitted = fit(request, frames, progress or null_progress)
    if isinstance(fitted, ModelRecord):
        return Trained(model_id, record=fitted)
    return Trained(model_id, job_id=fitted)


def fit_related_in_process(registry: ModelRegistry, device: DeviceInfo | None = None
                           ) -> RelatedFitter:
    """A fitter that trains here and stores the model in ``registry`` (the CLI)."""

    def fit(request: RelatedRequest, frames: dict[str, pd.DataFrame],
            progress: ProgressCallback) -> ModelRecord:
        return run_related_training(request, frames, registry=registry, progress=progress,
                                    device=device)

    return fit


# --------------------------------------------------------------------------- sample, evaluate


def sample_related_model(registry: ModelRegistry, record: ModelRecord, scale: float = 1.0,
                         seed: int = 0, progress: ProgressCallback | None = None
                         ) -> dict[str, pd.DataFrame]:
    """Synthetic tables from a stored related model (signature checked before loading)."""
    if record.shape != "related":
        raise ParameterError("That model learned one table, not related tables.")
    model = load_synthesizer(registry, record.model_id)
    return sample_related(model, scale=scale, seed=seed, progress=progress)


def related_parts(request: RelatedRequest, frames: Mapping[str, pd.DataFrame]
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame],
                             dict[str, TableSchema]]:
    """The prepared real (train, holdout) tables a request was trained and is judged on.

    Returns:
        ``(train, holdout, schemas)``: frames prepared with each table's schema as the
        model saw it (keys kept), and those schemas.
    """
    schemas = keyed_schemas(request.schema_map, request.relationships)
    split = related_split_of(request, frames)
    train = {name: prepare_training_frame(split.train[name], schemas[name]) for name in schemas}
    holdout = {name: prepare_training_frame(split.holdout[name], schemas[name])
               for name in schemas}
    return train, holdout, schemas


def evaluate_related_sample(request: RelatedRequest, frames: Mapping[str, pd.DataFrame],
                            synthetic: Mapping[str, pd.DataFrame], seed: int = 0,
                            progress: ProgressCallback | None = None) -> Any:
    """Evaluate synthetic tables against the real split the model was trained on.

    Returns:
        :class:`core.evaluation.multi_table.RelatedEvaluation`.
    """
    from core.evaluation.multi_table import evaluate_related

    train, holdout, schemas = related_parts(request, frames)
    prepared = {name: prepare_training_frame(synthetic[name], schemas[name])
                for name in schemas}
    target = request.target
    if target is not None and target[1] not in schemas[target[0]].modelled_columns:
        target = None
    return evaluate_related(train, holdout, prepared, schemas, request.relationships,
                            target=target, seed=seed, progress=progress)


def related_scores_for_registry(evaluation: Any) -> dict[str, float]:
    """The headline scores stored with a related model (shown in the Models list)."""
    scores = {"quality": round(float(evaluation.quality_score), 4),
              "referential_integrity": round(float(evaluation.integrity_fraction), 4)}
    cardinality = evaluation.cardinality_mean
    if cardinality == cardinality:
        scores["cardinality"] = round(float(cardinality), 4)
    utility = evaluation.utility
    if utility is not None and getattr(utility, "ratio", None) is not None:
        scores["utility_ratio"] = round(float(utility.ratio), 4)
    return scores


def record_related_scores(registry: ModelRegistry, record: ModelRecord, evaluation: Any
                          ) -> ModelRecord | None:
    """Store an evaluation's headline scores with its model; the updated record."""
    return registry.update_scores(record.model_id, related_scores_for_registry(evaluation))


# --------------------------------------------------------------------------- run


@dataclass
class RelatedRun:
    """One request walked through :func:`run_related`.

    Attributes:
        request: What was trained.
        record: The stored model (its scores recorded).
        tables: The synthetic tables.
        evaluation: Their :class:`~core.evaluation.multi_table.RelatedEvaluation`.
        reused: The model was already stored; nothing was fitted.
        timings: Seconds fitting (0 when reused), sampling, evaluating.
    """

    request: RelatedRequest
    record: ModelRecord
    tables: dict[str, pd.DataFrame]
    evaluation: Any
    reused: bool
    timings: dict[str, float]


def run_related(related: RelatedTables, request: RelatedRequest, registry: ModelRegistry,
                fit: RelatedFitter, scale: float = 1.0, seed: int = 0,
                progress: ProgressCallback | None = None,
                log: Callable[[str], None] | None = None) -> RelatedRun:
    """Train or reuse, sample, evaluate and record one related request.

    Progress: fit 0-60 %, sampling 60-70 %, evaluation 70-100 %.

    Raises:
        StudioError: Training, sampling or evaluation failed (the message says why).
    """
    report = progress or null_progress
    say = log or (lambda message: None)
    frames = related_frames(related)
    fit_report = scaled(report, 0.0, 0.6)

    def announced(request: RelatedRequest, frames: dict[str, pd.DataFrame],
                  listener: ProgressCallback) -> ModelRecord | str:
        say(f"Training {request.title} ({request.preset}) on {len(frames)} related tables…")
        return fit(request, frames, listener)

    trained = train_or_reuse_related(request, frames, registry, announced, fit_report)
    if trained.record is None:
        raise TypeError("run_related needs a fitter that returns the model, not a job id")
    record = trained.record
    if trained.reused:
        say(f"  {request.title}: the same model is already trained, reusing it")
    started = time.monotonic()
    tables = sample_related_model(registry, record, scale, seed, scaled(report, 0.6, 0.7))
    sampled = time.monotonic()
    evaluation = evaluate_related_sample(request, frames, tables, seed,
                                         scaled(report, 0.7, 1.0))
    evaluated = time.monotonic()
    record = record_related_scores(registry, record, evaluation) or record
    timings = {"fit_s": 0.0 if trained.reused else record.fit_seconds,
               "sample_s": round(sampled - started, 3),
               "evaluate_s": round(evaluated - sampled, 3)}
    return RelatedRun(request, record, tables, evaluation, trained.reused, timings)


def related_metrics(run: RelatedRun, related: RelatedTables,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``metrics.json`` of a related run.

    The single-table keys that apply, plus ``multi_table`` (the evaluation's section) and
    ``tables`` (rows per table).
    """
    from core.evaluation.report import library_versions

    record, evaluation = run.record, run.evaluation
    section = evaluation.as_dict()
    metrics: dict[str, Any] = {
        "synthesizer": record.synthesizer, "preset": record.preset, "params": record.params,
        "seed": record.seed, "device": record.device, "model_id": record.model_id,
        "shape": "related",
        "rows_real": sum(len(t.frame) for t in related.tables),
        "rows_train": record.train_rows,
        "rows_synthetic": sum(len(f) for f in run.tables.values()),
        "quality_score": round(float(evaluation.quality_score), 4),
        "diagnostic_score": round(float(evaluation.diagnostic_score), 4),
        "tables": {name: {"rows_real": len(related.table(name).frame),
                          "rows_synthetic": len(frame)} for name, frame in run.tables.items()},
        "relationships": [r.to_dict() for r in run.request.relationships],
        "target": list(run.request.target) if run.request.target else None,
        "split": record.split,
        "fit_seconds": record.fit_seconds,
        "reused_model": run.reused,
        "timings": run.timings,
        "notes": list(record.notes),
        "versions": library_versions(),
        "multi_table": section,
    }
    if extra:
        metrics.update({key: value for key, value in extra.items() if key not in metrics})
    return metrics


def _run_card(run: RelatedRun, related: RelatedTables) -> dict[str, Any]:
    record = run.record
    return {
        "Dataset": related.name,
        "Dataset fingerprint": record.data_fingerprint,
        "Tables": ", ".join(f"{t.name} ({len(t.frame):,} rows)" for t in related.tables),
        "Relationships": "; ".join(r.label for r in run.request.relationships),
        "Synthesizer": f"{RELATED_SYNTHESIZERS.get(record.synthesizer, record.synthesizer)} "
                       f"({record.preset})",
        "Parameters": json.dumps(record.params, sort_keys=True),
        "Seed": record.seed,
        "Device": record.device,
        "Split": json.dumps(record.split, sort_keys=True),
        "Timings (s)": ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items()),
    }


def write_related_outputs(out_dir: Path, run: RelatedRun, related: RelatedTables,
                          metrics: Mapping[str, Any], excel_safe: bool = False) -> list[Path]:
    """Write ``<table>.csv`` per table, ``report.html`` and ``metrics.json``; the CSV paths."""
    from core.engine.generation import export_bytes
    from core.evaluation.multi_table import related_report_html

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in run.tables.items():
        path = out_dir / f"{check_table_name(name)}.csv"  # names are letters, digits and _
        if excel_safe:
            path.write_bytes(export_bytes(frame, "CSV", excel_safe=True))
        else:
            frame.to_csv(path, index=False)
        written.append(path)
    title = (f"{related.name}: {RELATED_SYNTHESIZERS.get(run.record.synthesizer)} "
             f"({run.record.preset}) on {len(run.tables)} related tables")
    (out_dir / "report.html").write_text(
        related_report_html(run.evaluation, _run_card(run, related), title=title),
        encoding="utf-8")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json_value),
                                          encoding="utf-8")
    return written


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)
