"""One measurement: fit, sample and evaluate one synthesizer on one dataset.

Reads ``{"dataset", "synthesizer", "variant": "studio"|"sdv", "preset"}`` as JSON on
stdin and prints a JSON line. ``sdv`` is what a notebook user writes: SDV's own metadata
detection and the synthesizer's default settings, on the same training rows.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from bench.common import peak_rss_mib


def _dataset(key: str):
    from core.data.datasets import FakeSpec, fake_dataset, load_sample_dataset
    from core.engine.metadata import detect_table

    if key == "wide10k":  # 10,000 rows x 20 modelled columns, for the deep-model target
        import pandas as pd

        loans = fake_dataset(FakeSpec(domain="loans", rows=10_000, pii_columns=(), seed=5))
        patients = fake_dataset(FakeSpec(domain="patients", rows=10_000, pii_columns=(),
                                         seed=6))
        extra = patients.drop(columns=["patient_id", "readmitted"]).add_prefix("p_")
        frame = pd.concat([loans, extra], axis=1).drop(columns=["application_id"])
        frame = frame.iloc[:, :20].join(loans[["defaulted"]], rsuffix="_")
        return detect_table(frame, "wide10k", "bench", target="defaulted")
    if key.startswith("public:"):
        from bench.public import load

        frame, target = load(key.removeprefix("public:"))
        return detect_table(frame, key.removeprefix("public:"), "bench", target=target)
    from core.data.datasets import list_sample_datasets

    sample = next(s for s in list_sample_datasets() if s.key == key)
    return detect_table(load_sample_dataset(key), sample.filename, "bench", target=sample.target)


def main() -> None:
    """Run the measurement described on stdin."""
    warnings.simplefilter("ignore")
    payload = json.loads(sys.stdin.read())
    import sdv.single_table  # noqa: F401 - imported before any clock starts
    import torch._dynamo  # noqa: F401 - torch, and what the first optimiser imports

    from core.data.schema import prepare_training_frame
    from core.data.splitting import SplitSpec, split_real
    from core.engine.catalogue import get_spec
    from core.engine.models import load_synthesizer
    from core.engine.training import run_training, seed_everything
    from core.evaluation import evaluate_all
    from core.store.registry import ModelRegistry
    from core.workflow import plan_request, real_parts

    table = _dataset(payload["dataset"])
    split = SplitSpec(target=table.target)
    train, holdout = real_parts(table, table.schema, split)
    result: dict = {"rows_train": len(train), "columns": len(table.schema.modelled_columns)}
    if payload["variant"] == "studio":
        from core.engine.generation import generate

        request = plan_request(table, payload["synthesizer"], payload.get("preset", "balanced"))
        record = run_training(request, table.frame, registry=ModelRegistry())
        synthesizer = load_synthesizer(ModelRegistry(), record.model_id)
        started = time.perf_counter()
        sample = generate(synthesizer, record.model_id, len(train), schema=table.schema).frame
        result.update(fit_s=record.fit_seconds, sample_s=time.perf_counter() - started,
                      epochs=record.epochs_run, stopped_early=record.stopped_early,
                      params=record.params)
    else:
        from sdv.metadata import Metadata

        raw_train, _ = split_real(table.frame, split)
        cls = getattr(sdv.single_table, get_spec(payload["synthesizer"]).class_name)
        seed_everything(0)
        started = time.perf_counter()
        metadata = Metadata.detect_from_dataframes({"data": raw_train})
        synthesizer = cls(metadata)
        synthesizer.fit({"data": raw_train})
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        raw_sample = synthesizer.sample(len(raw_train))["data"]
        result.update(fit_s=fit_s, sample_s=time.perf_counter() - started)
        sample = prepare_training_frame(raw_sample, table.schema)
    started = time.perf_counter()
    evaluation = evaluate_all(train, holdout, sample, table.schema, table.target)
    utility = evaluation.utility
    result.update(
        evaluate_s=time.perf_counter() - started,
        quality=evaluation.quality.quality_score,
        utility_ratio=None if utility is None else utility.ratio,
        dcr_share=evaluation.privacy.dcr_share,
        exact_match_rate=evaluation.privacy.exact_match_rate,
        peak_mib=peak_rss_mib(),
    )
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
