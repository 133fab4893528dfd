"""One scaling step: N rows through load, detection, Gaussian Copula fit, sample, evaluate.

Reads ``{"rows": N, "preset": "quick"|"balanced"}`` on stdin; prints a JSON line with the
seconds of each step and the peak memory after it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bench.common import peak_rss_mib


def main() -> None:
    """Run the step described on stdin."""
    warnings.simplefilter("ignore")
    payload = json.loads(sys.stdin.read())
    rows, preset = int(payload["rows"]), payload.get("preset", "quick")
    import sdv.single_table  # noqa: F401 - library import is not what we measure
    import torch  # noqa: F401

    from core.data.datasets import FakeSpec, fake_dataset
    from core.data.loading import load_table
    from core.engine.generation import generate
    from core.engine.metadata import detect_table
    from core.engine.models import load_synthesizer
    from core.engine.training import run_training
    from core.evaluation import evaluate_all
    from core.store.registry import ModelRegistry
    from core.workflow import plan_request, real_parts

    result: dict = {"rows": rows, "preset": preset}
    frame = fake_dataset(FakeSpec(domain="loans", rows=rows, seed=1))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loans.csv"
        frame.to_csv(path, index=False)
        result["csv_mib"] = path.stat().st_size / 1024**2
        del frame
        calls: list[float] = []
        started = time.perf_counter()
        loaded = load_table(path.read_bytes(), "loans.csv", max_bytes=10 * 1024**3,
                            progress=lambda fraction, message: calls.append(fraction))
        result.update(load_s=time.perf_counter() - started, load_progress_calls=len(calls),
                      load_peak_mib=peak_rss_mib())
    started = time.perf_counter()
    table = detect_table(loaded.frame, "loans.csv", "bench", target="defaulted")
    result.update(detect_s=time.perf_counter() - started, detect_peak_mib=peak_rss_mib())
    fit_calls: list[str] = []
    record = run_training(plan_request(table, "gaussian_copula", preset), table.frame,
                          registry=ModelRegistry(),
                          listener=lambda progress: fit_calls.append(progress.stage))
    result.update(fit_s=record.fit_seconds, fit_progress_calls=len(fit_calls),
                  fit_peak_mib=peak_rss_mib())
    synthesizer = load_synthesizer(ModelRegistry(), record.model_id)
    sample_calls: list[float] = []
    started = time.perf_counter()
    sample = generate(synthesizer, record.model_id, record.train_rows, schema=table.schema,
                      progress=lambda fraction, message: sample_calls.append(fraction))
    result.update(sample_s=time.perf_counter() - started,
                  sample_progress_calls=len(sample_calls), sample_peak_mib=peak_rss_mib())
    train, holdout = real_parts(table, table.schema, table_split(table))
    started = time.perf_counter()
    evaluation = evaluate_all(train, holdout, sample.frame, table.schema, table.target)
    result.update(evaluate_s=time.perf_counter() - started,
                  privacy_s=evaluation.timings.get("privacy"),
                  quality=evaluation.quality.quality_score, evaluate_peak_mib=peak_rss_mib())
    print(json.dumps(result))


def table_split(table):
    """The split the studio uses for this table."""
    from core.data.splitting import SplitSpec

    return SplitSpec(target=table.target)


if __name__ == "__main__":
    main()
