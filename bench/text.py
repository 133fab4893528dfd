"""Free-text columns: the text model's fit time and the text scores, ``python -m bench text``.

On the shipped complaints sample (``sample_data/complaints.csv``: product, issue, state,
channel, company response and a complaint text), for each table synthesizer asked for, in a
fresh process with a private temporary data directory (nothing reused): train through
``core.engine.training.run_training`` as Train does (the table synthesizer on the learned
columns, then one text model per text column, ``studio_text_models``), sample as many rows as
were trained on (``core.workflow.sample_model``: the text model writes each row's text), and
score the texts with ``core.evaluation.text.text_scores``. The table reports:

* fit seconds of the table synthesizer and of the text model (with its epochs, and whether
  its time limit ended it), sampling seconds (text written included) and the text scores'
  own seconds;
* ``length_score``, ``vocabulary_overlap``, ``classifier_ratio`` (with the column predicted)
  and ``leak_rate``, each beside what held-out real texts score (the ceiling for the first
  two, the chance baseline for the leak), and whole-text copies.

``--text-seconds`` and ``--text-epochs`` shorten the text model's fit (a reduced run, said
in the section); ``--text-max-rows`` draws fewer rows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import run_child, table

#: The table synthesizers run by default (Balanced preset).
TEXT_SYNTHESIZERS: tuple[str, ...] = ("gaussian_copula", "ctgan")
TEXT_DATASET = "complaints"

HEADERS = ["synthesizer", "rows train / held-out", "table fit s", "text fit s (epochs)",
           "sample s", "text scores s", "length score (held-out)",
           "vocabulary overlap (held-out)", "classifier ratio (column)",
           "leak rate (held-out)", "long copied runs (held-out)", "whole copies (held-out)",
           "leak reading"]


def measure(names: Sequence[str], max_rows: int | None = None,
            text_seconds: float | None = None, text_epochs: int | None = None,
            timeout: float | None = None, log: Callable[[str], None] | None = None
            ) -> dict[str, dict[str, Any]]:
    """One fresh-process run per synthesizer: ``{name: row}``."""
    say = log or (lambda message: None)
    options = {"timeout": timeout} if timeout else {}
    results = {}
    for name in names:
        say(f"text: {TEXT_DATASET} / {name}…")
        results[name] = run_child("bench.text", {
            "synthesizer": name, "max_rows": max_rows, "text_seconds": text_seconds,
            "text_epochs": text_epochs}, **options)
        say(f"  {results[name]}")
    return results


def _pair(value: float | None, reference: float | None, fmt: str = ".3f") -> str | None:
    if value is None:
        return None
    tail = "" if reference is None else f" ({reference:{fmt}})"
    return f"{value:{fmt}}{tail}"


def rows_of(results: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The table's rows, one per synthesizer and text column: every cell from ``results``."""
    from core.engine.catalogue import REGISTRY

    rows: list[list[Any]] = []
    for name, row in results.items():
        title = REGISTRY[name].title if name in REGISTRY else name
        if "error" in row:
            failed = (f"stopped after {row['timed_out_s']:,.0f} s" if "timed_out_s" in row
                      else f"failed: {row['error']}")
            rows.append([title, failed] + [None] * (len(HEADERS) - 2))
            continue
        for column, scores in row["text"].items():
            model = row["text_models"].get(column, {})
            fit = model.get("fit_s")
            epochs = model.get("epochs")
            text_fit = None if fit is None else (
                f"{fit:.1f} ({epochs}{', time limit' if model.get('time_limited') else ''})")
            ratio = scores["classifier_ratio"]
            rows.append([
                title + ("" if len(row["text"]) == 1 else f" · {column}"),
                f"{row['rows_train']:,} / {row['rows_holdout']:,}",
                row["table_fit_s"], text_fit, row["sample_s"], row["text_scores_s"],
                _pair(scores["length_score"], scores["length_score_holdout"]),
                _pair(scores["vocabulary_overlap"], scores["vocabulary_overlap_holdout"]),
                None if ratio is None else f"{ratio:.3f} ({scores['classifier_column']})",
                _pair(scores["leak_rate"], scores["holdout_leak_rate"], ".1%"),
                f"≥ {scores['long_run_words']} words: " + _pair(
                    scores["long_run_rate"], scores["holdout_long_run_rate"], ".1%"),
                _pair(scores["exact_copy_rate"], scores["holdout_exact_copy_rate"], ".1%"),
                scores["leak_level"],
            ])
    return rows


def render(results: dict[str, dict[str, Any]], max_rows: int | None = None,
           text_seconds: float | None = None, text_epochs: int | None = None,
           timeout: float | None = None) -> str:
    """The section's Markdown: what was run, how to read it, the table."""
    from core.evaluation.text import LEAK_NGRAM

    limits = []
    if max_rows:
        limits.append(f"at most {max_rows:,} rows (a seeded draw)")
    if text_seconds:
        limits.append(f"text model limited to {text_seconds:g} s")
    if text_epochs:
        limits.append(f"text model limited to {text_epochs} epochs")
    if timeout:
        limits.append(f"a run still going after {timeout:,.0f} s stopped")
    reduced = (" **Reduced run:** " + "; ".join(limits) + ". Not the full benchmark."
               if limits else "")
    return (
        "## Free text: the text model and the text scores\n\n"
        "The complaints sample, split 70 / 30 (stratified on the target, seed 0); each "
        "synthesizer (Balanced preset) fits the table, then the studio's text model learns "
        "the complaint text (personal data inside it replaced first), conditioned on the "
        "row's other columns; as many rows as were trained on are sampled and their texts "
        "scored (`core.evaluation.text`). In brackets: what held-out real texts score (the "
        "best to expect for length and vocabulary; the chance level for the leak rate). "
        f"*Leak rate* = share of synthetic texts repeating {LEAK_NGRAM} or more words in a "
        "row of a training text; *long copied runs* = texts copying a run longer than 95 % "
        "of held-out texts do (the length that tells memorising from templated language); "
        "*whole copies* = texts identical to a training text; the leak reading judges the "
        "largest excess over held-out texts (≤ 1 % good, ≤ 5 % fair). "
        "*Classifier ratio* = macro-F1 of a TF-IDF + logistic-regression model predicting "
        "the column from synthetic texts ÷ from real texts, both tested on held-out texts. "
        "Each row is one fresh process; times exclude importing the libraries." + reduced
        + "\n\n" + table(HEADERS, rows_of(results))
    )


def section(args: Any) -> str:
    """``python -m bench text``: measure and render."""
    def log(message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    names = args.text_synthesizers or list(TEXT_SYNTHESIZERS)
    results = measure(names, args.text_max_rows, args.text_seconds, args.text_epochs,
                      args.text_timeout, log=log)
    return render(results, args.text_max_rows, args.text_seconds, args.text_epochs,
                  args.text_timeout)


# --------------------------------------------------------------------------- the child


def _measure(payload: dict[str, Any]) -> dict[str, Any]:
    """Fit, sample and score the texts of one synthesizer on the complaints sample."""
    import core.engine.training as training
    from bench.peers_child import load_dataset
    from core.engine.models import load_synthesizer
    from core.evaluation import import_libraries
    from core.evaluation.text import text_columns_of, text_scores
    from core.store.registry import ModelRegistry
    from core.workflow import model_parts, model_schema, model_target, plan_request, sample_model

    if payload.get("text_seconds"):  # a reduced run: every text model's time limit
        training.TEXT_DEFAULT_SECONDS = training.TEXT_TIME_FLOOR = float(payload["text_seconds"])
    if payload.get("text_epochs"):
        training.TEXT_MODEL_OPTIONS = {**training.TEXT_MODEL_OPTIONS,
                                       "epochs": int(payload["text_epochs"])}
    table_ = load_dataset(TEXT_DATASET, payload.get("max_rows"))
    if not text_columns_of(table_.schema):
        raise SystemExit("the complaints sample has no column detected as free text")
    overrides = None
    if payload.get("text_seconds"):
        from core.engine.catalogue import get_spec

        if "time_limit" in get_spec(payload["synthesizer"]).presets["balanced"]:
            overrides = {"time_limit": int(payload["text_seconds"])}
    import_libraries()
    request = plan_request(table_, payload["synthesizer"], "balanced", seed=0,
                           overrides=overrides)
    registry = ModelRegistry()
    record = training.run_training(request, table_.frame, registry=registry)
    synthesizer = load_synthesizer(registry, record.model_id)
    models = getattr(synthesizer, "studio_text_models", None) or {}
    text_fit = {column: {"fit_s": round(float(getattr(model, "fit_seconds", 0.0)), 1),
                         "epochs": getattr(model, "epochs_run", None),
                         "time_limited": getattr(model, "stopped_by", None) is not None}
                for column, model in models.items()}
    started = time.perf_counter()
    sample = sample_model(synthesizer, record, rows=record.train_rows, seed=0)
    sample_s = time.perf_counter() - started
    real_train, holdout = model_parts(table_, record)
    started = time.perf_counter()
    scores = text_scores(real_train, holdout, sample.frame, model_schema(record), seed=0,
                         target=model_target(record))
    scored_s = time.perf_counter() - started
    text_total = sum(m["fit_s"] for m in text_fit.values())
    return {
        "rows_train": len(real_train), "rows_holdout": len(holdout),
        "fit_s": round(record.fit_seconds, 1),
        "table_fit_s": round(max(record.fit_seconds - text_total, 0.0), 1),
        "text_models": text_fit, "sample_s": round(sample_s, 1),
        "text_scores_s": round(scored_s, 2),
        "text": {} if scores is None else scores.as_dict(),
    }


def main() -> None:
    """Run the measurement described on stdin in a private data directory."""
    payload = json.loads(sys.stdin.read())
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="studio_text_") as data_dir:
        os.environ["STUDIO_DATA_DIR"] = data_dir
        result = _measure(payload)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
