"""Full evaluation of a 100,000 x 30 table (the issue's target: at most 20 s).

Prints a JSON line with the wall and CPU seconds of ``evaluate_all`` and of each part.
The table mixes 13 numeric, 2 date, 11 categorical and 3 boolean columns with missing
values and an 8 % minority target; the synthetic rows are an independent draw of the
same generator (what a perfect synthesizer would give).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

from bench.common import peak_rss_mib


def make(rows: int, seed: int) -> pd.DataFrame:
    """A correlated mixed-type table of ``rows`` rows and 30 columns."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 4))
    data: dict[str, object] = {}
    for i in range(12):
        base = latent[:, i % 4] * (0.8 if i < 8 else 0.1) + rng.normal(size=rows) * 0.6
        values = base * (10 ** (i % 3)) + 50
        if i % 4 == 3:
            values = np.exp(base)
        if i % 5 == 0:
            values = np.round(values)
        values[rng.random(rows) < 0.03] = np.nan
        data[f"num_{i}"] = values
    for i in range(2):
        days = (latent[:, i] * 200 + 800 + rng.normal(size=rows) * 50).astype(int)
        data[f"date_{i}"] = pd.Timestamp("2018-01-01") + pd.to_timedelta(days, unit="D")
    for i, levels in enumerate([3, 5, 8, 12, 30, 4, 6, 2, 10, 20]):
        codes = np.clip(((latent[:, i % 4] + rng.normal(size=rows)) * levels / 4
                         + levels / 2).astype(int), 0, levels - 1)
        labels = np.array([f"cat{i}_v{j}" for j in range(levels)], dtype=object)[codes]
        labels[rng.random(rows) < 0.02] = None
        data[f"cat_{i}"] = labels
    for i in range(3):
        data[f"flag_{i}"] = (latent[:, i] + rng.normal(size=rows)) > 0.5
    logit = 1.5 * latent[:, 0] - latent[:, 1] - 3.5
    data["target"] = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    data["extra_num"] = rng.normal(size=rows)
    data["extra_cat"] = rng.choice(list("abcde"), rows)
    return pd.DataFrame(data)


def main() -> None:
    """Measure one full evaluation."""
    warnings.simplefilter("ignore")
    rows = int(json.loads(sys.stdin.read() or "{}").get("rows", 100_000))
    import sdmetrics.reports  # noqa: F401 - imports are not what we measure
    import sklearn.ensemble  # noqa: F401

    from core.data.schema import ColumnSchema, TableSchema
    from core.data.splitting import SplitSpec, split_real
    from core.evaluation import evaluate_all

    real = make(rows, 1)
    kinds = []
    for column in real.columns:
        if column.startswith(("num", "extra_num")):
            kinds.append(ColumnSchema(column, "numerical"))
        elif column.startswith("date"):
            kinds.append(ColumnSchema(column, "datetime"))
        elif column.startswith("flag"):
            kinds.append(ColumnSchema(column, "boolean"))
        else:
            kinds.append(ColumnSchema(column, "categorical"))
    schema = TableSchema(tuple(kinds))
    train, holdout = split_real(real, SplitSpec(target="target"))
    synthetic = make(len(train), 2)
    cpu, wall = time.process_time(), time.perf_counter()
    result = evaluate_all(train, holdout, synthetic, schema, "target")
    print(json.dumps({"rows": rows, "columns": len(schema.modelled_columns),
                      "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                      "parts": result.timings, "peak_mib": peak_rss_mib()}))


if __name__ == "__main__":
    main()
