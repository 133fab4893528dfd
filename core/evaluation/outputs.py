"""What a run leaves behind: ``metrics.json``, the report's run card, the output folder.

The command line writes all three (``python -m core run --out DIR``); the Evaluate page
shows the run card in its report. ``metrics.json`` is read by other tools: keys are added,
never renamed or removed (README, "Headless use").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY
from core.engine.generation import GeneratedSample, export_bytes
from core.evaluation import EvaluationResult
from core.store.registry import ModelRecord

__all__ = ["build_metrics", "report_title_of", "run_card", "write_outputs"]


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
            "attacks": None if evaluation.attacks is None else evaluation.attacks.as_dict(),
            "epsilon": evaluation.epsilon,
            "delta": evaluation.delta,
        },
        "fidelity": _fidelity_block(evaluation),
        "fairness": None if evaluation.fairness is None else evaluation.fairness.as_dict(),
        "importance_agreement": (None if evaluation.importance is None
                                 else evaluation.importance.as_dict()),
        "text": None if evaluation.text is None else evaluation.text.as_dict(),
        "sequence": None if evaluation.sequence is None else evaluation.sequence.as_dict(),
        "not_measured": dict(evaluation.skipped),
        "verdict": {reading.aspect: {"level": reading.level, "reason": reading.reason}
                    for reading in evaluation.verdict.readings},
        "verdict_warnings": list(evaluation.verdict.warnings),
        "sample_design": {"fixed_values": dict(sample.fixed_values),
                          "class_shares": dict(sample.class_shares),
                          "rebalanced_column": sample.rebalanced_column},
        "timings": {key: round(value, 3) for key, value in timings.items()},
        "evaluation_timings": dict(evaluation.timings),
        "versions": library_versions(),
    }
    if extra:
        metrics.update(extra)
    return metrics


def _fidelity_block(evaluation: EvaluationResult) -> dict[str, Any]:
    """``fidelity``: the headline scores next to a real holdout's, and the discriminator."""
    block: dict[str, Any] = {
        "quality_score": round(evaluation.quality.quality_score, 4),
        "column_pair_score": round(evaluation.correlation.pair_score, 4),
        "holdout_ceiling": None,
        "discriminator_auc": None,
    }
    if evaluation.ceiling is not None:
        block.update(evaluation.ceiling.as_dict())
    return block


def report_title_of(table: StudioTable, record: ModelRecord) -> str:
    """The report's title: the data, the synthesizer and preset, and today's date."""
    from core.evaluation.report import report_title

    return report_title(table.name, REGISTRY[record.synthesizer].title, record.preset)


def run_card(table: StudioTable, record: ModelRecord, timings: dict[str, float]
             ) -> dict[str, Any]:
    """The facts a report's run card lists."""
    from core.evaluation.report import library_versions

    return {
        "Dataset": table.name,
        "Dataset fingerprint": table.fingerprint,
        "Real rows": f"{len(table.frame):,} ({record.train_rows:,} used for training)",
        "Synthesizer": f"{REGISTRY[record.synthesizer].title} ({record.preset})",
        "Differential privacy": record.privacy_label or "none (no formal guarantee)",
        "Parameters": json.dumps(record.params, sort_keys=True),
        "Seed": record.seed,
        "Device": record.device,
        "Split": json.dumps(record.split, sort_keys=True),
        "Timings (s)": ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
        "Versions": ", ".join(f"{k} {v}" for k, v in library_versions().items()),
    }



def write_outputs(out_dir: Path, sample: GeneratedSample, evaluation: EvaluationResult,
                  metrics: dict[str, Any], card: dict[str, Any], title: str,
                  excel_safe: bool = False) -> None:
    """Write ``synthetic.csv``, ``report.html`` and ``metrics.json`` into ``out_dir``.

    ``excel_safe`` writes the CSV as the Generate page's Excel-safe download (see
    :func:`core.engine.generation.export_bytes`); off writes plain CSV.
    """
    from core.evaluation.report import build_report

    out_dir.mkdir(parents=True, exist_ok=True)
    if excel_safe:
        (out_dir / "synthetic.csv").write_bytes(export_bytes(sample.frame, "CSV",
                                                             excel_safe=True))
    else:
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
