"""Profiling, dataset fingerprints and device detection (with torch mocked)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.profiling import profile_table
from core.data.table import fingerprint_frame
from core.engine.device import probe_device, resolve_device
from core.engine.metadata import detect_table
from core.errors import MetadataError, ParameterError
from tests.helpers import make_people


def test_profile_reports_types_missing_and_summaries():
    frame = pd.DataFrame(
        {
            "age": [20, 30, None, 50],
            "city": ["Oslo", "Oslo", "Rome", None],
            "when": pd.to_datetime(["2020-01-01", "2020-06-01", "2021-01-01", "2022-01-01"]),
            "ok": [True, False, True, True],
        }
    )
    profiles = {p.name: p for p in profile_table(frame)}
    assert profiles["age"].kind == "number" and profiles["age"].missing_share == 0.25
    assert "min 20" in profiles["age"].summary and "max 50" in profiles["age"].summary
    assert profiles["city"].kind == "text" and profiles["city"].distinct == 2
    assert profiles["city"].summary.startswith("Oslo 67%")
    assert profiles["when"].summary == "2020-01-01 → 2022-01-01"
    assert profiles["ok"].kind == "true/false"


def test_fingerprint_changes_with_any_cell_and_not_with_copies():
    frame = make_people(200)
    assert fingerprint_frame(frame) == fingerprint_frame(frame.copy())
    changed = frame.copy()
    changed.loc[137, "income"] += 0.01
    assert fingerprint_frame(changed) != fingerprint_frame(frame)
    renamed = frame.rename(columns={"age": "years"})
    assert fingerprint_frame(renamed) != fingerprint_frame(frame)


def test_fingerprint_of_large_frame_is_fast_and_exact():
    rng = np.random.default_rng(0)
    big = pd.DataFrame(rng.normal(size=(200_000, 5)), columns=list("abcde"))
    other = big.copy()
    other.iloc[150_000, 2] = 0.0  # a row Streamlit's 10k-row sample would likely miss
    assert fingerprint_frame(big) != fingerprint_frame(other)


def test_table_target_rules():
    table = detect_table(make_people(300), name="people.csv", source="test")
    assert table.target == "churned"
    with pytest.raises(MetadataError, match="cannot be the target"):
        table.with_target("contact")  # faked PII is never learned
    assert table.with_target(None).target is None


def test_device_cpu_when_no_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    info = probe_device()
    assert info.kind == "cpu" and info.label.startswith("CPU") and not info.is_gpu


def test_device_cuda_detected_when_torch_reports_it(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA T4")
    info = probe_device()
    assert info.kind == "cuda" and info.label == "NVIDIA T4 (CUDA)" and info.is_gpu
    assert resolve_device("auto", info).kind == "cuda"
    assert resolve_device("cpu", info).kind == "cpu"  # "force CPU"


def test_asking_for_a_missing_gpu_is_refused(monkeypatch):
    import torch

    # A machine without a GPU, whatever this one has.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParameterError, match="asked for 'cuda'"):
        resolve_device("cuda", probe_device())
    with pytest.raises(ParameterError, match="unknown"):
        resolve_device("tpu", probe_device())
