"""One row of the peers benchmark: fit, sample and evaluate one contender on one dataset.

Reads ``{"dataset", "contender", "max_rows", "fit_limit"}`` as JSON on stdin and prints a
JSON line. Contenders (``bench/peers.py``):

* a studio synthesizer key (``core.engine.catalogue.REGISTRY``): its Balanced preset, trained
  and scored through ``core.workflow`` exactly as Train and Compare do;
* ``sdv_gaussian_copula``: SDV's ``GaussianCopulaSynthesizer`` with SDV's metadata detection
  and defaults, on the raw training rows (what a notebook user writes);
* ``mostlyai_argn``: ``mostlyai.engine.TabularARGN()`` with its own defaults, ``fit`` on the
  raw training rows and ``sample``, as its README shows (seeded with ``random_state=0``);
* ``holdout``: real rows the models never saw, scored as if they were a synthetic sample.

Every contender is scored by the studio's ``evaluate_all`` on the same split (70 % train,
stratified on the target, seed 0) and ranked by ``core.comparison.selection_score``. Models go
to a private temporary data directory, so nothing is reused and the user's one is untouched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings

from bench.common import peak_rss_mib

#: Contenders that are not studio synthesizers.
PEERS = ("sdv_gaussian_copula", "mostlyai_argn", "holdout")


def load_dataset(key: str, max_rows: int | None = None):
    """The dataset ``key`` as a ``StudioTable``, at most ``max_rows`` rows (seeded draw)."""
    from core.engine.metadata import detect_table

    if key == "wide":
        from bench.wide import TARGET, make_wide_table

        frame = make_wide_table(rows=min(max_rows or 10_000, 10_000), seed=0)
        return detect_table(frame, "wide", "bench", target=TARGET)
    if key.startswith("public:"):
        from bench.public import load

        name = key.removeprefix("public:")
        frame, target = load(name)
    else:
        from core.data.datasets import list_sample_datasets, load_sample_dataset

        sample = next(s for s in list_sample_datasets() if s.key == key)
        name, frame, target = sample.filename, load_sample_dataset(key), sample.target
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=0).reset_index(drop=True)
    return detect_table(frame, name, "bench", target=target)


def _studio(table, key: str, fit_limit: float | None) -> tuple[dict, object]:
    from core.engine.catalogue import get_spec
    from core.engine.models import load_synthesizer
    from core.engine.training import run_training
    from core.store.registry import ModelRegistry
    from core.workflow import evaluate_model, plan_request

    overrides = None
    preset_limit = get_spec(key).presets["balanced"].get("time_limit")
    if fit_limit and preset_limit is not None and not 0 < preset_limit <= fit_limit:
        overrides = {"time_limit": int(fit_limit)}
    request = plan_request(table, key, "balanced", seed=0, overrides=overrides)
    registry = ModelRegistry()
    record = run_training(request, table.frame, registry=registry)
    sample, evaluation = evaluate_model(table, record, load_synthesizer(registry, record.model_id),
                                        seed=0)
    return {"fit_s": record.fit_seconds, "sample_s": sample.seconds,
            "epochs": record.epochs_run,
            "fit_limit_s": None if overrides is None else int(fit_limit)}, evaluation


def _sdv_copula(raw_train):
    import sdv.single_table
    from sdv.metadata import Metadata

    from core.engine.training import seed_everything

    seed_everything(0)
    started = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({"data": raw_train})
    synthesizer = sdv.single_table.GaussianCopulaSynthesizer(metadata)
    synthesizer.fit({"data": raw_train})
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    sample = synthesizer.sample(len(raw_train))["data"]
    return sample, {"fit_s": fit_s, "sample_s": time.perf_counter() - started}


def _mostlyai_argn(raw_train, fit_limit: float | None):
    try:
        from mostlyai.engine import TabularARGN
    except ImportError:
        return None, {"not_installed": "mostlyai-engine"}
    # Its own defaults; a time cap only when the run is limited (the library counts minutes).
    options = {"max_training_time": fit_limit / 60} if fit_limit else {}
    started = time.perf_counter()
    model = TabularARGN(random_state=0, **options)
    model.fit(raw_train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    sample = model.sample(n_samples=len(raw_train))
    return sample, {"fit_s": fit_s, "sample_s": time.perf_counter() - started,
                    "fit_limit_s": fit_limit or None}


def _as_table_dtypes(sample, like):
    """Peer output with the real frame's dtypes (pyarrow strings, "True"/"False" text...)."""
    import numpy as np
    import pandas as pd

    sample = sample.reindex(columns=like.columns).reset_index(drop=True)
    for column in like.columns:
        values, dtype = sample[column], like[column].dtype
        if values.dtype == dtype:
            continue
        if pd.api.types.is_bool_dtype(dtype):
            # astype(bool) would call the text "False" true.
            text = values.astype("string").str.strip().str.lower()
            flags = text.map({"true": True, "false": False, "1": True, "0": False})
            sample[column] = flags.astype(dtype if flags.notna().all() else "boolean")
        elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            try:
                sample[column] = values.astype(dtype)
            except (TypeError, ValueError):
                sample[column] = (pd.to_numeric(values, errors="coerce").astype("float64")
                                  if pd.api.types.is_numeric_dtype(dtype)
                                  else pd.to_datetime(values, errors="coerce"))
        else:
            sample[column] = values.astype(object).where(values.notna(), np.nan)
    return sample


def measure(payload: dict) -> dict:
    """Fit, sample and evaluate the contender ``payload`` describes; the row's numbers."""
    warnings.simplefilter("ignore")
    import sdv.single_table  # noqa: F401 - imported before any clock starts
    import torch._dynamo  # noqa: F401 - torch, and what the first optimiser imports

    from core.comparison import selection_score
    from core.data.schema import prepare_training_frame
    from core.data.splitting import SplitSpec, split_real
    from core.evaluation import evaluate_all
    from core.workflow import real_parts

    contender = payload["contender"]
    fit_limit = payload.get("fit_limit")
    table = load_dataset(payload["dataset"], payload.get("max_rows"))
    split = SplitSpec(target=table.target)
    train, holdout = real_parts(table, table.schema, split)
    target = table.target if table.target in table.schema.modelled_columns else None
    result: dict = {"rows_train": len(train), "rows_holdout": len(holdout),
                    "columns": len(table.schema.modelled_columns)}

    def scored(sample, reference_holdout) -> None:
        started = time.perf_counter()
        evaluation = evaluate_all(train, reference_holdout, sample, table.schema, target, seed=0)
        result["evaluate_s"] = time.perf_counter() - started
        record(evaluation)

    def record(evaluation) -> None:
        eligible, score, reason = selection_score(evaluation)
        utility = evaluation.utility
        result.update(quality=evaluation.quality.quality_score,
                      utility_ratio=None if utility is None else utility.ratio,
                      dcr_share=evaluation.privacy.dcr_share,
                      exact_match_rate=evaluation.privacy.exact_match_rate,
                      eligible=eligible, score=score, reason=reason)

    if contender == "holdout":
        # A sample cannot be its own held-out reference: half of the held-out rows play the
        # synthetic sample, the other half the unseen rows it is measured against.
        half_split = SplitSpec(test_size=0.5, seed=0,
                               target=target if target in holdout.columns else None)
        played, reference = split_real(holdout, half_split)
        result.update(fit_s=None, sample_s=None, sample_rows=len(played))
        scored(played, reference)
    elif contender in ("sdv_gaussian_copula", "mostlyai_argn"):
        raw_train, _ = split_real(table.frame, split)
        if contender == "sdv_gaussian_copula":
            raw_sample, timings = _sdv_copula(raw_train)
        else:
            raw_sample, timings = _mostlyai_argn(raw_train, fit_limit)
        result.update(timings)
        if raw_sample is None:
            return result
        sample = prepare_training_frame(_as_table_dtypes(raw_sample, raw_train), table.schema)
        result["sample_rows"] = len(sample)
        scored(sample, holdout)
    else:
        started = time.perf_counter()
        timings, evaluation = _studio(table, contender, fit_limit)
        result.update(timings, sample_rows=len(train))
        result["evaluate_s"] = None  # inside evaluate_model, with sampling
        result["run_s"] = time.perf_counter() - started
        record(evaluation)
    result["peak_mib"] = peak_rss_mib()
    return result


def main() -> None:
    """Run the measurement described on stdin in a private data directory."""
    payload = json.loads(sys.stdin.read())
    with tempfile.TemporaryDirectory(prefix="studio_peers_") as data_dir:
        os.environ["STUDIO_DATA_DIR"] = data_dir
        result = measure(payload)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
