"""Dates through the whole CLI run: shipped samples keep them, zones across DST work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import list_sample_datasets

ROOT = Path(__file__).resolve().parent.parent


def _run(data: Path, target: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", "run", "--data", str(data), "--synthesizer",
         "gaussian_copula", "--preset", "quick", "--target", target, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("sample", list_sample_datasets(), ids=lambda sample: sample.key)
def test_every_shipped_sample_keeps_its_date_columns_as_dates(tmp_path, sample):
    key = sample.key
    data = ROOT / "sample_data" / sample.filename
    real = pd.read_csv(data)
    date_columns = [c for c in real.columns if c.endswith(("_date", "_time", "_at"))]
    assert date_columns, f"{key} has no date column to check"
    run = _run(data, sample.target, tmp_path / "out")
    assert run.returncode == 0, run.stderr[-2000:]
    synthetic = pd.read_csv(next((tmp_path / "out").glob("*.csv")))
    for column in date_columns:
        parsed = pd.to_datetime(synthetic[column], errors="coerce", format="mixed")
        assert parsed.notna().mean() > 0.95, f"{key}.{column} did not come out as dates"


def test_a_table_with_zoned_timestamps_across_dst_trains_and_evaluates(tmp_path):
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2021-03-01", periods=400, freq="9h", tz="Europe/Paris")
    frame = pd.DataFrame({
        "booked_at": stamps.strftime("%Y-%m-%dT%H:%M:%S%z"),  # +0100 then +0200
        "amount": rng.gamma(2.0, 50.0, 400).round(2),
        "channel": rng.choice(["web", "app", "branch"], 400),
    })
    data = tmp_path / "bookings.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    run = _run(data, "channel", out)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["privacy"]["dcr_share"] <= 1.0
    synthetic = pd.read_csv(next(out.glob("*.csv")))
    parsed = pd.to_datetime(synthetic["booked_at"], errors="coerce", utc=True)
    assert parsed.notna().mean() > 0.95
    # Mixed offsets come back on one time line, with the zone written out (UTC).
    assert synthetic["booked_at"].dropna().str.endswith("+00:00").all()
    assert parsed.min() >= stamps.min() - pd.Timedelta(days=30)
    assert parsed.max() <= stamps.max() + pd.Timedelta(days=30)


def test_a_column_in_one_zone_comes_back_in_that_zone(tmp_path):
    stamps = pd.date_range("2021-03-01", periods=300, freq="11h", tz="Europe/Paris")
    frame = pd.DataFrame({"booked_at": stamps, "amount": np.arange(300) % 17 * 1.5,
                          "channel": np.array(["web", "app", "branch"])[np.arange(300) % 3]})
    data = tmp_path / "bookings.parquet"
    frame.to_parquet(data)
    run = _run(data, "channel", tmp_path / "out")
    assert run.returncode == 0, run.stderr[-2000:]
    synthetic = pd.read_csv(next((tmp_path / "out").glob("*.csv")))["booked_at"].dropna()
    offsets = set(synthetic.str[-6:])
    assert offsets <= {"+01:00", "+02:00"} and offsets  # Paris, winter and summer time
