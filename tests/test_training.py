"""Training: parameters, seeds, the registry and its signatures, jobs, cancel, devices."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import pandas as pd
import pytest

from core.data.splitting import SplitSpec, split_real
from core.engine.catalogue import (
    REGISTRY,
    auto_batch_size,
    build_synthesizer,
    resolve_params,
)
from core.engine.device import DeviceInfo, resolve_device
from core.engine.generation import generate
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import (
    EarlyStopping,
    TrainingRequest,
    estimate_fit_seconds,
    model_to_bytes,
    run_training,
    seed_everything,
    training_key,
)
from core.errors import ModelFileError, ParameterError, TrainingCancelled
from core.jobs.local import LocalJobRunner
from core.store.registry import BUNDLE_MAGIC, ModelRegistry
from core.store.settings import Settings
from tests.helpers import make_people


@pytest.fixture(scope="module")
def people_table():
    return detect_table(make_people(400), "people.csv", "test")


def _request(table, synthesizer="gaussian_copula", preset="quick", seed=0, **overrides):
    params = resolve_params(synthesizer, preset, overrides or None, rows=280)
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset=preset, params=params, seed=seed,
        split=SplitSpec(target=table.target),
    )


# --------------------------------------------------------------------------- parameters


def test_every_synthesizer_has_explained_presets():
    for spec in REGISTRY.values():
        assert spec.how_it_works and spec.when_to_pick and spec.speed and spec.diagram
        for preset in ("quick", "balanced", "best"):
            assert set(spec.presets[preset]) == {p.name for p in spec.params}


def test_batch_size_not_divisible_by_pac_is_refused_with_the_fix():
    with pytest.raises(ParameterError) as error:
        resolve_params("ctgan", "quick", {"batch_size": 505, "pac": 10}, rows=5000)
    message = str(error.value)
    assert "multiple of pac (10)" in message and "500" in message


def test_out_of_range_and_malformed_values_are_refused():
    with pytest.raises(ParameterError, match="at least 1"):
        resolve_params("tvae", "quick", {"epochs": 0})
    with pytest.raises(ParameterError, match="256, 256"):
        resolve_params("ctgan", "quick", {"generator_dim": "big"})
    with pytest.raises(ParameterError, match="has no parameter 'learning_rate'"):
        resolve_params("ctgan", "quick", {"learning_rate": 0.1})
    with pytest.raises(ParameterError, match="larger than the training data"):
        resolve_params("ctgan", "best", rows=300)


def test_automatic_batch_size_suits_the_data_and_pac():
    assert auto_batch_size(700, pac=10) % 10 == 0
    assert auto_batch_size(700, pac=10) == 50
    assert auto_batch_size(1_000_000, pac=10) == 500
    params = resolve_params("ctgan", "quick", rows=4000)
    assert params["batch_size"] == 200 and params["batch_size"] % params["pac"] == 0


def test_eta_grows_with_rows_and_epochs(people_table):
    frame, schema = people_table.frame, people_table.schema
    # The table's part only: a text model's time does not grow with the table's epochs.
    schema = replace(schema, columns=tuple(replace(c, action="drop") if c.action == "generate"
                                           else c for c in schema.columns))
    quick = {**resolve_params("ctgan", "quick", rows=280), "time_limit": 0}
    longer = {**quick, "epochs": quick["epochs"] * 10}
    small = estimate_fit_seconds("ctgan", quick, frame, schema, speed=0.05)
    # fixed costs (column preparation) stay; the epoch part scales
    assert estimate_fit_seconds("ctgan", longer, frame, schema, speed=0.05) > 2.5 * small
    big = pd.concat([frame] * 20, ignore_index=True)
    assert estimate_fit_seconds("ctgan", quick, big, schema, speed=0.05) > 2.5 * small
    # a slower machine (the calibration takes twice as long) gets a longer estimate
    assert estimate_fit_seconds("ctgan", quick, frame, schema, speed=0.1) > small
    # a time limit caps the estimate: the fit ends there
    endless = {**quick, "epochs": 5000, "time_limit": 30}
    assert estimate_fit_seconds("ctgan", endless, big, schema, speed=0.1) == 30


def test_early_stopping_stops_on_a_plateau_not_on_steady_progress():
    plateau = EarlyStopping(patience=5, min_epochs=10)
    losses = [10 / (epoch + 1) for epoch in range(10)] + [1.0] * 40
    stopped_at = next(e for e, v in enumerate(losses) if plateau.should_stop(e, v))
    assert 10 <= stopped_at < 35  # plateau began at 10; patience 5 plus smoothing lag
    steady = EarlyStopping(patience=5, min_epochs=10)
    assert not any(steady.should_stop(e, 100 - 2 * e) for e in range(50))


# --------------------------------------------------------------------------- split


def test_split_is_stratified_seeded_and_disjoint(people_table):
    frame = people_table.frame
    spec = SplitSpec(test_size=0.25, seed=3, target="churned")
    train, holdout = split_real(frame, spec)
    assert len(holdout) == 100 and len(train) == 300
    assert abs(train["churned"].mean() - holdout["churned"].mean()) < 0.03
    assert set(train["customer_id"]).isdisjoint(holdout["customer_id"])
    again, _ = split_real(frame, spec)
    pd.testing.assert_frame_equal(train, again)


# --------------------------------------------------------------------------- fitting


def test_training_registers_a_model_under_its_key(people_table):
    registry = ModelRegistry()
    request = _request(people_table)
    record = run_training(request, people_table.frame, registry=registry)
    assert record.model_id == training_key(request)
    assert registry.get(record.model_id) == record
    assert record.train_rows == 280  # the synthesizer saw only the train split
    assert record in registry.list_for_data(people_table.fingerprint)
    assert registry.list_for_data("someone-elses-data") == []
    synthesizer = load_synthesizer(registry, record.model_id)
    sample = generate(synthesizer, record.model_id, 50, schema=people_table.schema).frame
    assert list(sample.columns) == people_table.schema.kept_columns
    assert sample["contact"].str.contains("@").all()  # faked, not learned


def test_the_key_ignores_the_device_but_not_the_seed(people_table):
    base = _request(people_table)
    assert training_key(base) == training_key(replace(base, device="cpu"))
    assert training_key(base) != training_key(replace(base, seed=1))
    other_schema = people_table.schema.with_column(
        replace(people_table.schema.column("comment"), action="drop"))
    assert training_key(base) != training_key(replace(base, schema=other_schema))


def test_same_seed_same_model_and_sample(people_table):
    registry = ModelRegistry()
    first = _request(people_table, "tvae", seed=11, epochs=3)
    record = run_training(first, people_table.frame, registry=registry)
    twin = load_synthesizer(registry, record.model_id)
    refit = run_training(first, people_table.frame, registry=registry)  # same key, refit
    assert refit.final_loss == record.final_loss
    again = load_synthesizer(registry, refit.model_id)
    seed_everything(5)
    sample_a = twin.sample(30)["data"]
    seed_everything(5)
    sample_b = again.sample(30)["data"]
    numeric = ["age", "income", "support_calls"]
    pd.testing.assert_frame_equal(sample_a[numeric], sample_b[numeric])
    other = run_training(replace(first, seed=12), people_table.frame, registry=registry)
    assert other.final_loss != record.final_loss


def test_deep_model_records_losses_per_epoch(people_table):
    # No time limit: a loaded machine must not cut the 4 epochs this test counts.
    record = run_training(_request(people_table, "ctgan", epochs=4, time_limit=0),
                          people_table.frame, registry=ModelRegistry())
    assert record.epochs_run == 4
    assert record.losses["Epoch"] == [0, 1, 2, 3]
    # The people table's comment column is generated text: its model's loss is its own series.
    assert set(record.final_loss) == {"Generator Loss", "Discriminator Loss", "Text loss"}
    assert len(record.losses["Text loss"]) >= 1


def test_a_time_limit_ends_a_deep_fit_and_keeps_what_it_learned(people_table):
    registry = ModelRegistry()
    record = run_training(_request(people_table, "ctgan", epochs=2000, time_limit=3),
                          people_table.frame, registry=registry)
    assert 1 <= record.epochs_run < 2000 and not record.stopped_early
    assert any("Stopped at the 3 s time limit" in note for note in record.notes)
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer.get_info()["is_fit"]  # SDV's own fit finished its bookkeeping
    assert len(synthesizer.sample(50)["data"]) == 50
    assert len(synthesizer.get_loss_values()) == record.epochs_run


def test_a_plateau_ends_a_deep_fit_early_and_sdv_finishes_the_fit(people_table):
    registry = ModelRegistry()
    # Patience 2: the critic's noisy loss stops improving soon after the 10 epochs minimum.
    record = run_training(_request(people_table, "ctgan", epochs=60, time_limit=0,
                                   early_stopping=True, patience=2),
                          people_table.frame, registry=registry)
    assert record.stopped_early and 10 <= record.epochs_run < 60
    assert record.losses["Epoch"] == list(range(record.epochs_run))
    synthesizer = load_synthesizer(registry, record.model_id)
    info = synthesizer.get_info()
    assert info["is_fit"] and info["fitted_sdv_version"]
    assert len(synthesizer.sample(20)["data"]) == 20


def test_a_saved_model_holds_no_callback_of_the_job(people_table):
    registry = ModelRegistry()
    progress = []
    record = run_training(_request(people_table, "ctgan", seed=61, epochs=2, time_limit=30),
                          people_table.frame, registry=registry, listener=progress.append,
                          should_cancel=lambda: False)
    payload = registry.verified_model_bytes(record.model_id)
    # cloudpickle would store a closure by value, under its qualified name.
    assert b"<locals>" not in payload and b"on_epoch" not in payload
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer.on_epoch is None and synthesizer._model.should_cancel is None
    assert synthesizer.get_parameters()["time_limit"] == 30
    assert synthesizer.get_parameters()["generator_average"] == 0.99


def test_a_ctgan_saved_before_the_studio_subclasses_samples_as_it_did(people_table):
    """Older files hold ctgan's own CTGAN, which was sampled with the studio's activation."""
    import cloudpickle
    from ctgan.synthesizers.ctgan import CTGAN

    registry = ModelRegistry()
    record = run_training(_request(people_table, "ctgan", seed=63, epochs=2, time_limit=0),
                          people_table.frame, registry=registry)
    current = load_synthesizer(registry, record.model_id)
    expected = generate(current, record.model_id, 40, seed=4).frame
    current._model.__class__ = CTGAN  # what a model pickled before the subclasses holds
    older = replace(record, model_id="older" + record.model_id)
    registry.add(older, cloudpickle.dumps(current))
    loaded = load_synthesizer(registry, older.model_id)
    pd.testing.assert_frame_equal(generate(loaded, older.model_id, 40, seed=4).frame, expected)


def test_cancel_ends_an_in_process_fit_and_saves_nothing(people_table):
    registry = ModelRegistry()
    request = _request(people_table, "ctgan", seed=62, epochs=500, time_limit=0)
    with pytest.raises(TrainingCancelled):
        run_training(request, people_table.frame, registry=registry,
                     should_cancel=lambda: True)
    assert registry.get(training_key(request)) is None


# --------------------------------------------------------------------------- signatures


def test_tampered_model_file_is_refused(people_table, tmp_path):
    settings = Settings(data_dir=tmp_path, max_upload_mb=10, sample_data_dir=tmp_path)
    registry = ModelRegistry(settings)
    record = run_training(_request(people_table, seed=21), people_table.frame,
                          registry=registry)
    path = registry.model_path(record.model_id)
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))
    with pytest.raises(ModelFileError, match="changed after this server wrote it"):
        load_synthesizer(registry, record.model_id)


def test_bundles_round_trip_and_foreign_or_unsigned_files_are_refused(people_table, tmp_path):
    ours = ModelRegistry(Settings(data_dir=tmp_path / "a", max_upload_mb=10,
                                  sample_data_dir=tmp_path))
    record = run_training(_request(people_table, seed=22), people_table.frame, registry=ours)
    bundle = ours.export_bundle(record.model_id)
    assert bundle.startswith(BUNDLE_MAGIC)

    ours.delete(record.model_id)
    assert ours.get(record.model_id) is None
    imported = ours.import_bundle(bundle, expected_fingerprint=people_table.fingerprint)
    assert imported.model_id == record.model_id
    assert load_synthesizer(ours, record.model_id) is not None

    with pytest.raises(ModelFileError, match="another table"):
        ours.import_bundle(bundle, expected_fingerprint="0" * 16)
    tampered = bundle[:-10] + bytes(10)
    with pytest.raises(ModelFileError, match="signature does not match"):
        ours.import_bundle(tampered)
    with pytest.raises(ModelFileError, match="not a Synthetic Data Studio model"):
        ours.import_bundle(ours.model_path(record.model_id).read_bytes())  # a bare pickle

    elsewhere = ModelRegistry(Settings(data_dir=tmp_path / "b", max_upload_mb=10,
                                       sample_data_dir=tmp_path))
    with pytest.raises(ModelFileError, match="another server"):
        elsewhere.import_bundle(bundle)
    assert elsewhere.list_for_data(people_table.fingerprint) == []


# --------------------------------------------------------------------------- devices


def test_gpu_choice_reaches_the_synthesizer(people_table, monkeypatch):
    import torch

    from core.engine.metadata import to_sdv_metadata

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cuda = DeviceInfo(kind="cuda", label="NVIDIA T4 (CUDA)", cpu_threads=2)
    metadata = to_sdv_metadata(people_table.schema)
    params = resolve_params("ctgan", "quick", rows=280)
    on_gpu = build_synthesizer("ctgan", metadata, params,
                               use_gpu=resolve_device("auto", cuda).is_gpu)
    assert on_gpu.enable_gpu is True
    forced_cpu = build_synthesizer("ctgan", metadata, params,
                                   use_gpu=resolve_device("cpu", cuda).is_gpu)
    assert forced_cpu.enable_gpu is False


def test_models_are_saved_with_networks_on_the_cpu():
    moves = []

    class FakeNetwork:
        def set_device(self, device):
            moves.append(str(device))

    class FakeSynthesizer:
        _model = FakeNetwork()

    model_to_bytes(FakeSynthesizer())
    assert moves == ["cpu"]


# --------------------------------------------------------------------------- jobs


def test_background_job_runs_to_done(people_table):
    runner = LocalJobRunner()
    job_id = runner.start(_request(people_table, seed=31), people_table.frame)
    status = runner.wait(job_id, timeout=120)
    assert status.state == "done", status.message
    assert ModelRegistry().get(status.model_id) is not None


def _wait_for_epoch(runner, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = runner.status(job_id)
        if status.epoch >= 1 or not status.is_active:
            return status
        time.sleep(0.2)
    raise AssertionError("no epoch finished in time")


def test_cancel_stops_a_fit_promptly_and_saves_nothing(people_table):
    runner = LocalJobRunner()
    request = _request(people_table, "ctgan", seed=41, epochs=2000)
    job_id = runner.start(request, people_table.frame)
    assert _wait_for_epoch(runner, job_id).state == "running"
    runner.cancel(job_id)
    status = runner.wait(job_id, timeout=120)
    assert status.state == "cancelled"
    assert status.epoch < 2000  # the fit stopped at an epoch's end, not by running out
    assert ModelRegistry().get(training_key(request)) is None


def test_killed_worker_is_reported_and_a_new_job_can_start(people_table):
    runner = LocalJobRunner()
    job_id = runner.start(_request(people_table, "ctgan", seed=51, epochs=2000),
                          people_table.frame)
    status = _wait_for_epoch(runner, job_id)
    os.kill(status.pid, signal.SIGKILL)
    final = runner.wait(job_id, timeout=20)
    assert final.state == "failed"
    assert "stopped by signal 9" in final.message and "start the training again" in final.message
    again = runner.start(_request(people_table, seed=52), people_table.frame)
    assert runner.wait(again, timeout=120).state == "done"


def test_one_copula_per_class_keeps_the_rare_class_useful():
    """The studio's per-class copula beats SDV's single copula on a rare-class target."""
    from core.data.datasets import FakeSpec, fake_dataset
    from core.workflow import evaluate_model, plan_request

    frame = fake_dataset(FakeSpec(domain="loans", rows=3000, rare_rate=0.1, correlation=0.9,
                                  pii_columns=(), seed=3))
    table = detect_table(frame, "loans", "test", target="defaulted")
    registry = ModelRegistry()
    ratios = {}
    for preset in ("quick", "balanced"):  # quick = plain SDV copula; balanced = per class
        record = run_training(plan_request(table, "gaussian_copula", preset), table.frame,
                              registry=registry)
        _, evaluation = evaluate_model(table, record, load_synthesizer(registry, record.model_id))
        ratios[preset] = evaluation.utility.ratio
    assert record.notes == ["One copula per class of 'defaulted' (2 classes)."]
    assert ratios["balanced"] > 0.9 and ratios["balanced"] > ratios["quick"] + 0.05, ratios


def test_a_fit_budget_chooses_epochs_and_caps_the_time_limit(people_table):
    from core.workflow import plan_request

    tight = plan_request(people_table, "ctgan", "balanced", fit_budget=12, speed=50.0)
    assert tight.params["time_limit"] == 12  # below the preset's 55 s: the budget holds
    assert tight.params["epochs"] < resolve_params("ctgan", "balanced")["epochs"]
    assert tight.preset == "balanced (budget 12 s)"  # no epoch count: the fit may stop sooner
    unlimited = plan_request(people_table, "tvae", "balanced", overrides={"time_limit": 0},
                             fit_budget=30)
    assert unlimited.params["time_limit"] == 30  # no limit of its own: the budget's
    roomy = plan_request(people_table, "ctgan", "balanced", fit_budget=1000)
    assert roomy.params["time_limit"] == 55
    plain = plan_request(people_table, "ctgan", "balanced")
    assert plain.params["time_limit"] == 55
