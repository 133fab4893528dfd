"""Privacy evidence per synthesizer and the price of ε: ``python -m bench privacy``.

Two tables, every number measured in a fresh process (``python -m bench.privacy`` with a
JSON payload on stdin, a private temporary data directory, so nothing is reused):

1. **Attacks and the holdout ceiling** — every synthesizer in ``core.engine.catalogue.REGISTRY``
   with its Balanced preset on each shipped sample, trained and scored through
   ``core.workflow`` as Train does; then the four attack risks
   (``core.evaluation.attacks.attack_scores``: singling out, linkability, inference,
   membership, each beyond what held-out real rows give, with 95 % intervals) and the
   holdout-relative scores (``core.evaluation.ceiling.holdout_ceiling``: the same quality
   score for real held-out rows of equal size, and the discriminator AUC) on the same real
   train, held-out and synthetic rows the evaluation used.
2. **Utility and quality against ε** — the privacy-budget what-if sweep
   (``core.privacy_sweep.run_sweep``: TabularARGN, Quick preset, one fit per ε) on each
   sample.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import run_child, table

#: The shipped samples.
PRIVACY_DATASETS: tuple[str, ...] = ("loans", "transactions", "customers")
#: The sweep's ε values by default (``inf`` = no differential privacy).
EPSILONS: tuple[float, ...] = (1.0, 3.0, 10.0, math.inf)

ATTACK_HEADERS = ["dataset", "synthesizer", "fit s", "quality", "holdout quality",
                  "quality / holdout", "discriminator AUC", "singling-out", "linkability",
                  "inference", "membership", "exact copies", "DCR share"]
SWEEP_HEADERS = ["dataset", "ε asked", "ε spent", "quality", "utility ratio", "singling-out",
                 "linkability", "inference", "membership", "DCR share", "fit s", "epochs"]


def synthesizers() -> list[str]:
    """Every synthesizer registered now."""
    from core.engine.catalogue import REGISTRY

    return list(REGISTRY)


def measure(datasets: Sequence[str], names: Sequence[str] | None = None,
            epsilons: Sequence[float] = EPSILONS, max_rows: int | None = None,
            fit_limit: float | None = None, sweep_fit_seconds: int | None = None,
            timeout: float | None = None, log: Callable[[str], None] | None = None
            ) -> dict[str, Any]:
    """Run both parts; ``{"attacks": {dataset: {name: row}}, "sweep": {dataset: row}}``.

    Args:
        datasets: Names from :data:`PRIVACY_DATASETS`.
        names: Synthesizers (default: :func:`synthesizers`); ``[]`` skips the first part.
        epsilons: The sweep's ε (``inf`` = no DP); empty skips the second part.
        max_rows: Use at most this many rows of each dataset (a seeded draw).
        fit_limit: Cap, in seconds, on the deep models' time limit.
        sweep_fit_seconds: Each sweep fit's time limit (default: the sweep's own).
        timeout: Stop a run still going after this many seconds (its row says so).
        log: Progress lines.
    """
    say = log or (lambda message: None)
    known = synthesizers()
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise ValueError(f"unknown synthesizer(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(known)}")
    chosen = known if names is None else list(names)
    options = {"timeout": timeout} if timeout else {}
    results: dict[str, Any] = {"attacks": {}, "sweep": {}}
    for dataset in datasets:
        results["attacks"][dataset] = {}
        for name in chosen:
            say(f"privacy: {dataset} / {name}…")
            row = run_child("bench.privacy", {"part": "attacks", "dataset": dataset,
                                              "synthesizer": name, "max_rows": max_rows,
                                              "fit_limit": fit_limit}, **options)
            results["attacks"][dataset][name] = row
            say(f"  {row}")
        if epsilons:
            say(f"privacy: {dataset} / sweep over ε…")
            row = run_child("bench.privacy", {
                "part": "sweep", "dataset": dataset, "max_rows": max_rows,
                "epsilons": [None if math.isinf(e) else e for e in epsilons],
                "fit_seconds": sweep_fit_seconds}, **options)
            results["sweep"][dataset] = row
            say(f"  {row}")
    return results


def _risk(attacks: dict[str, Any], name: str) -> str | None:
    found = attacks.get(name)
    if not found:
        return None
    low, high = found["ci"]
    return f"{found['risk']:.3f} [{low:.2f}, {high:.2f}]"


def _failed(row: dict[str, Any]) -> str | None:
    if "timed_out_s" in row:
        return f"stopped after {row['timed_out_s']:,.0f} s"
    if "error" in row:
        return f"failed: {row['error']}"
    return None


def attack_rows(results: dict[str, dict[str, dict[str, Any]]]) -> list[list[Any]]:
    """The first table's rows: every cell computed from ``results``."""
    from core.engine.catalogue import REGISTRY

    rows: list[list[Any]] = []
    for dataset, by_name in results.items():
        for name, row in by_name.items():
            title = REGISTRY[name].title if name in REGISTRY else name
            if row.get("fit_limit_s") and (row.get("fit_s") or 0) >= 0.9 * row["fit_limit_s"]:
                title += f" (fit capped at {row['fit_limit_s']:,.0f} s)"
            failed = _failed(row)
            if failed:
                rows.append([dataset, title, failed] + [None] * (len(ATTACK_HEADERS) - 3))
                continue
            ceiling = row.get("holdout_quality")
            rows.append([
                dataset, title, row["fit_s"], f"{row['quality']:.3f}",
                None if ceiling is None else f"{ceiling:.3f}",
                None if not ceiling else f"{row['quality'] / ceiling:.3f}",
                None if row.get("discriminator_auc") is None
                else f"{row['discriminator_auc']:.2f}",
                *(_risk(row["attacks"], attack) for attack in
                  ("singling_out", "linkability", "inference", "membership")),
                f"{row['exact_match_rate']:.2%}", f"{row['dcr_share']:.2f}",
            ])
    return rows


def sweep_rows(results: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The second table's rows: one per dataset and ε."""
    rows: list[list[Any]] = []
    for dataset, row in results.items():
        failed = _failed(row)
        if failed:
            rows.append([dataset, failed] + [None] * (len(SWEEP_HEADERS) - 2))
            continue
        for point in row["points"]:
            label = "∞" if point["epsilon"] is None else f"{point['epsilon']:g}"
            if point.get("error"):
                rows.append([dataset, label, f"no model: {point['error']}"]
                            + [None] * (len(SWEEP_HEADERS) - 3))
                continue
            spent = point["epsilon_spent"]
            rows.append([
                dataset, label, None if spent is None else f"{spent:.2f}",
                f"{point['quality']:.3f}",
                None if point["utility_ratio"] is None else f"{point['utility_ratio']:.2f}",
                *(_risk(point["attacks"], attack) for attack in
                  ("singling_out", "linkability", "inference", "membership")),
                f"{point['dcr_share']:.2f}", point["fit_seconds"], point["epochs"],
            ])
    return rows


def render(results: dict[str, Any], max_rows: int | None = None,
           fit_limit: float | None = None, sweep_fit_seconds: int | None = None,
           timeout: float | None = None) -> str:
    """The section's Markdown: what was run, how to read it, and both tables."""
    from core.privacy_sweep import FIT_SECONDS

    limits = []
    if max_rows:
        limits.append(f"at most {max_rows:,} rows of each dataset (a seeded draw)")
    if fit_limit:
        limits.append(f"deep models' fits capped at {fit_limit:,.0f} s")
    if sweep_fit_seconds:
        limits.append(f"sweep fits limited to {sweep_fit_seconds:,} s")
    if timeout:
        limits.append(f"a run still going after {timeout:,.0f} s stopped")
    reduced = (" **Reduced run:** " + "; ".join(limits) + ". Not the full benchmark."
               if limits else "")
    ceiling_note = ("" if _ceiling_available() else
                    " The holdout ceiling (`core.evaluation.ceiling`) was not installed "
                    "when this ran: its columns are empty.")
    text = (
        "## Privacy: attacks, the holdout ceiling and the price of ε\n\n"
        "Every synthesizer with its Balanced preset on the same split (70 % train, "
        "stratified on the target, seed 0), each in a fresh process with its own empty "
        "registry. *Attack risks* are anonymeter-style risks beyond the held-out baseline "
        "(0 = the synthetic rows tell an attacker nothing held-out real rows would not; "
        "1 = every attack succeeds), with 95 % intervals in brackets. *Holdout quality* "
        "is the same quality score for real held-out rows of the same size (the ceiling); "
        "*discriminator AUC* is how well a classifier tells real from synthetic rows "
        "(0.5 = it cannot). Exact copies = synthetic rows identical to a training row; DCR "
        "share 0.5 is ideal." + ceiling_note + reduced + "\n\n"
        + (table(ATTACK_HEADERS, attack_rows(results["attacks"]))
           if any(results["attacks"].values()) else "(not run)")
    )
    if results["sweep"]:
        seconds = sweep_fit_seconds or FIT_SECONDS
        text += (
            "\n\n### Utility and quality against ε (differential privacy)\n\n"
            "The Privacy budget page's what-if sweep: TabularARGN (Quick preset, DP-SGD "
            f"through mostlyai-engine) once per ε, each fit limited to {seconds} s, scored "
            "like the rows above. *ε spent* is what the kept model used (at most the ε "
            "asked for; ∞ = no differential privacy). A budget too small for a table's rows "
            "has no model, and its row says why.\n\n"
            + table(SWEEP_HEADERS, sweep_rows(results["sweep"]))
        )
    return text


def _ceiling_available() -> bool:
    try:
        from core.evaluation.ceiling import holdout_ceiling  # noqa: F401
    except ImportError:
        return False
    return True


def section(args: Any) -> str:
    """``python -m bench privacy``: measure and render."""
    def log(message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    epsilons = EPSILONS if args.privacy_epsilons is None else tuple(args.privacy_epsilons)
    results = measure(args.privacy_datasets or list(PRIVACY_DATASETS),
                      args.privacy_synthesizers, epsilons, max_rows=args.privacy_max_rows,
                      fit_limit=args.privacy_fit_limit,
                      sweep_fit_seconds=args.privacy_sweep_seconds,
                      timeout=args.privacy_timeout, log=log)
    return render(results, args.privacy_max_rows, args.privacy_fit_limit,
                  args.privacy_sweep_seconds, args.privacy_timeout)


# --------------------------------------------------------------------------- the child


def _attacks_of(result: Any) -> dict[str, Any]:
    out = {}
    for name in ("singling_out", "linkability", "inference", "membership"):
        risk = getattr(result, name)
        if risk.measured:
            out[name] = {"risk": float(risk.risk), "ci": [float(risk.ci[0]), float(risk.ci[1])]}
    return out


def _measure_attacks(payload: dict[str, Any]) -> dict[str, Any]:
    """One synthesizer on one dataset: fit, sample, evaluate, attacks, holdout ceiling."""
    from bench.peers_child import load_dataset
    from core.engine.catalogue import get_spec
    from core.engine.models import load_synthesizer
    from core.engine.training import run_training
    from core.evaluation.attacks import attack_scores
    from core.store.registry import ModelRegistry
    from core.workflow import evaluate_model, model_parts, model_schema, plan_request

    table_ = load_dataset(payload["dataset"], payload.get("max_rows"))
    key, fit_limit = payload["synthesizer"], payload.get("fit_limit")
    overrides = None
    preset_limit = get_spec(key).presets["balanced"].get("time_limit")
    if fit_limit and preset_limit is not None and not 0 < preset_limit <= fit_limit:
        overrides = {"time_limit": int(fit_limit)}
    request = plan_request(table_, key, "balanced", seed=0, overrides=overrides)
    registry = ModelRegistry()
    record = run_training(request, table_.frame, registry=registry)
    sample, evaluation = evaluate_model(table_, record,
                                        load_synthesizer(registry, record.model_id), seed=0)
    real_train, holdout = model_parts(table_, record)
    schema = model_schema(record)
    attacks = evaluation.attacks or attack_scores(real_train, holdout, sample.frame, schema,
                                                  seed=0)
    result: dict[str, Any] = {
        "fit_s": round(record.fit_seconds, 1), "epochs": record.epochs_run,
        "fit_limit_s": None if overrides is None else int(fit_limit),
        "quality": evaluation.quality.quality_score,
        "exact_match_rate": evaluation.privacy.exact_match_rate,
        "dcr_share": evaluation.privacy.dcr_share, "attacks": _attacks_of(attacks),
        "holdout_quality": None, "discriminator_auc": None}
    if _ceiling_available():
        from core.evaluation.ceiling import holdout_ceiling

        ceiling = evaluation.ceiling or holdout_ceiling(real_train, holdout, sample.frame,
                                                        schema, seed=0)
        result["holdout_quality"] = ceiling.holdout_ceiling.get("quality_score")
        result["discriminator_auc"] = ceiling.discriminator.auc
    return result


def _measure_sweep(payload: dict[str, Any]) -> dict[str, Any]:
    """The what-if sweep on one dataset."""
    from bench.peers_child import load_dataset
    from core.privacy_sweep import FIT_SECONDS, run_sweep

    table_ = load_dataset(payload["dataset"], payload.get("max_rows"))
    started = time.perf_counter()
    result = run_sweep(table_, payload["epsilons"], seed=0,
                       fit_seconds=payload.get("fit_seconds") or FIT_SECONDS)
    return {**result.to_dict(), "wall_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    """Run the measurement described on stdin in a private data directory."""
    payload = json.loads(sys.stdin.read())
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="studio_privacy_") as data_dir:
        os.environ["STUDIO_DATA_DIR"] = data_dir
        measure_one = _measure_sweep if payload["part"] == "sweep" else _measure_attacks
        result = measure_one(payload)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
