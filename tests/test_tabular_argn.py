"""TabularARGN through mostlyai-engine: fit, sample, seeds, cancel, GPU choice, studio.

Tiny tables and one or two epochs only: each check is something a user would notice (rows
of the wrong type, a seed that gives other rows in another process, a cancel that does not
stop, a GPU left unused, the synthesizer missing from the Train page or the CLI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.splitting import SplitSpec
from core.engine.catalogue import build_synthesizer, resolve_params
from core.engine.generation import generate
from core.engine.metadata import detect_table, to_sdv_metadata
from core.engine.models import load_synthesizer, model_to_bytes
from core.engine.training import TrainingRequest, run_training, training_key
from core.errors import TrainingCancelled, TrainingError
from core.store.registry import ModelRegistry
from tests.helpers import make_people, sample_in_another_process

ROOT = Path(__file__).resolve().parents[1]
KEY = "tabular_argn"
EPOCHS = 2


def _mixed(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    """People (ids, PII, numbers, categories, dates, true/false) plus missing numbers."""
    frame = make_people(rows, seed=seed).drop(columns=["comment", "job_title"])
    rng = np.random.default_rng(seed)
    frame["debt"] = (frame["income"] * rng.uniform(0.1, 0.5, rows)).round(2).where(
        rng.random(rows) > 0.15)
    return frame


@pytest.fixture(scope="module")
def table():
    return detect_table(_mixed(), "mixed.csv", "test", target="churned")


def _request(table, seed=0, preset="quick", device="auto", **overrides):
    params = resolve_params(KEY, preset, {"epochs": EPOCHS, "time_limit": 0, **overrides},
                            rows=int(len(table.frame) * 0.7))
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=KEY, preset=preset, params=params, seed=seed, device=device,
        split=SplitSpec(target=table.target))


def _train_rows(table) -> pd.DataFrame:
    from core.data.schema import prepare_training_frame
    from core.data.splitting import split_real

    return split_real(prepare_training_frame(table.frame, table.schema),
                      SplitSpec(target=table.target))[0]


def _workspaces() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("studio-argn")}


@pytest.fixture(scope="module")
def trained(table, tmp_path_factory):
    registry = ModelRegistry()
    progress = []
    # A private temporary folder: other processes' fits on this machine come and go in /tmp.
    saved, tempfile.tempdir = tempfile.tempdir, str(tmp_path_factory.mktemp("argn_tmp"))
    try:
        before = _workspaces()
        record = run_training(_request(table, device="cpu"), table.frame, registry=registry,
                              listener=lambda p: progress.append(
                                  (p.stage, p.epoch, {k: list(v) for k, v in p.losses.items()})))
        left = _workspaces() - before
    finally:
        tempfile.tempdir = saved
    return record, registry, progress, left


def test_it_fits_and_samples_a_mixed_table_with_epoch_progress_and_losses(table, trained):
    record, registry, progress, left_behind = trained
    assert left_behind == set()  # the fit's workspace (with training rows) is gone
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer.device == "cpu" and synthesizer.value_protection
    assert not any("tgt-data" in name or "encoded-data" in name
                   for name in synthesizer.files_)  # no training rows in the model
    frame = generate(synthesizer, record.model_id, 150, seed=1, schema=table.schema).frame
    real = _train_rows(table)
    assert list(frame.columns) == table.schema.kept_columns and len(frame) == 150
    assert frame["customer_id"].is_unique
    assert frame["active"].dtype == bool and frame["churned"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(frame["signed_up"])
    assert pd.api.types.is_integer_dtype(frame["age"])
    assert set(frame["state"]) <= set(real["state"])
    assert frame["income"].between(real["income"].min(), real["income"].max()).all()
    assert frame["debt"].isna().any() and frame["debt"].notna().any()
    assert frame["name"].isin(table.frame["name"]).mean() < 0.05  # PII is faked
    # One report per epoch, with both loss curves, and the record keeps them.
    epochs = [epoch for stage, epoch, _ in progress if stage.startswith("Training: epoch")]
    assert epochs == list(range(1, EPOCHS + 1))
    losses = progress[-1][2]
    assert len(losses["Training Loss"]) == len(losses["Validation Loss"]) == EPOCHS
    assert record.epochs_run == EPOCHS and set(record.final_loss) == {"Training Loss",
                                                                     "Validation Loss"}
    assert progress[-1][0] == "Done"


def test_fixed_values_and_rebalancing_condition_every_row(table, trained):
    record, registry, _, _ = trained
    synthesizer = load_synthesizer(registry, record.model_id)
    real = _train_rows(table)
    fixed = generate(synthesizer, record.model_id, 60, seed=2, schema=table.schema,
                     real_example=real, fixed_values={"state": "TX"}).frame
    assert len(fixed) == 60 and (fixed["state"] == "TX").all()
    balanced = generate(synthesizer, record.model_id, 80, seed=2, schema=table.schema,
                        real_example=real, rebalance_column="churned",
                        class_shares={"True": 0.5, "False": 0.5}).frame
    assert balanced["churned"].sum() == 40



def test_same_seed_same_rows_after_a_pickle_round_trip_and_in_another_process(
        table, trained, tmp_path):
    import cloudpickle

    record, registry, _, _ = trained
    first = load_synthesizer(registry, record.model_id)
    one = generate(first, record.model_id, 120, seed=5, schema=table.schema).frame
    twin = cloudpickle.loads(model_to_bytes(first))
    assert twin.on_epoch is None and twin.should_cancel is None  # no job callbacks kept
    pd.testing.assert_frame_equal(one, generate(twin, record.model_id, 120, seed=5,
                                                schema=table.schema).frame)
    other = generate(first, record.model_id, 120, seed=6, schema=table.schema).frame
    assert not other["income"].equals(one["income"])
    one.to_csv(tmp_path / "here.csv", index=False)
    there = sample_in_another_process(registry.settings.data_dir, record.model_id, 120, 5,
                                      tmp_path / "there.csv")
    pd.testing.assert_frame_equal(there, pd.read_csv(tmp_path / "here.csv"))


def test_cancel_stops_the_fit_saves_nothing_and_leaves_no_workspace(table, tmp_path,
                                                                     monkeypatch):
    # A private temporary folder: other processes' fits on this machine come and go in /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    registry = ModelRegistry()
    request = _request(table, seed=11, device="cpu", epochs=50)
    epochs_seen = []
    before = _workspaces()

    def listener(progress):
        if progress.stage.startswith("Training: epoch"):
            epochs_seen.append(progress.epoch)

    with pytest.raises(TrainingCancelled):
        run_training(request, table.frame, registry=registry, listener=listener,
                     should_cancel=lambda: len(epochs_seen) >= 1)
    assert epochs_seen == [1]  # stopped within the epoch after the cancel
    assert registry.get(training_key(request)) is None
    assert _workspaces() - before == set()


def test_the_time_limit_ends_training_and_keeps_what_it_learned(table):
    from core.engine.studio_models import STOPPED_AT_TIME_LIMIT

    real = _train_rows(table)[table.schema.sdv_columns]
    synthesizer = build_synthesizer(KEY, to_sdv_metadata(table.schema, real),
                                    {**resolve_params(KEY, "quick", rows=len(real)),
                                     "time_limit": 5}, use_gpu=False,
                                    time_limit_start=time.monotonic() - 60)
    np.random.seed(0)
    synthesizer.fit({"data": real})
    assert synthesizer.stopped_by == STOPPED_AT_TIME_LIMIT
    assert len(synthesizer.loss_values) < 100  # far fewer than the preset's epochs
    synthesizer.seed_sampling(0)
    assert len(synthesizer.sample(40)["data"]) == 40


def test_a_detected_cuda_gpu_trains_the_network_on_cuda(table, monkeypatch):
    """Device detection mocked to see CUDA; the engine's train is stopped before it runs."""
    import torch
    from mostlyai import engine

    from core.engine import device as device_module

    devices = []

    def fake_train(**kwargs):
        devices.append(kwargs["device"])
        raise RuntimeError("stopped before training (test)")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    monkeypatch.setattr(engine, "train", fake_train)
    device_module.detect_device.cache_clear()
    labels = []
    try:
        with pytest.raises(TrainingError):
            run_training(_request(table, seed=3), table.frame, registry=ModelRegistry(),
                         listener=lambda p: labels.append(p.device))
    finally:
        device_module.detect_device.cache_clear()
    assert devices == ["cuda"] and labels[0] == "Test GPU (CUDA)"
    # Asking for the CPU keeps it there even with a GPU present.
    with pytest.raises(TrainingError):
        run_training(_request(table, seed=3, device="cpu"), table.frame,
                     registry=ModelRegistry())
    assert devices == ["cuda", "cpu"]


def test_the_cli_trains_samples_and_evaluates_it(tmp_path):
    csv = tmp_path / "people.csv"
    make_people(200).drop(columns=["comment"]).to_csv(csv, index=False)
    environment = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "core", "run", "--data", str(csv),
                             "--synthesizer", KEY, "--preset", "quick", "--epochs", "1",
                             "--target", "churned", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["synthesizer"] == KEY and metrics["rows_synthetic"] == 140
    assert len(pd.read_csv(tmp_path / "out" / "synthetic.csv")) == 140
