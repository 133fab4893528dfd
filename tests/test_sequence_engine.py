"""Sequence synthesizers: PAR and TabularARGN's sequential mode, fitted, sampled, stored.

A tiny seeded event table (about 40 accounts x 8 events) keeps each fit to 1-3 epochs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from core.data.schema import SequenceSpec
from core.data.sequences import declare_sequence
from core.data.splitting import split_real
from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY, synthesizers_for
from core.engine.device import DeviceInfo
from core.engine.generation import generate
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import run_training, training_key
from core.errors import ParameterError, TrainingCancelled
from core.store.registry import ModelRegistry
from core.store.settings import get_settings
from core.workflow import entity_split, plan_request, sample_model

KEY, INDEX, CONTEXT = "account_id", "ts", ("account_type", "segment")
CPU = DeviceInfo(kind="cpu", label="CPU", cpu_threads=1)


def _events(entities: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for entity in range(entities):
        kind = rng.choice(["personal", "business"], p=[0.6, 0.4])
        segment = rng.choice(["mass", "affluent"])
        when = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 30)))
        for step in range(int(rng.integers(5, 11))):
            when += pd.Timedelta(hours=float(rng.exponential(30)))
            rows.append({
                KEY: f"ACC-{entity:04d}", INDEX: when.strftime("%Y-%m-%d %H:%M:%S"),
                "event": "open" if step == 0 else str(rng.choice(["deposit", "atm", "transfer"])),
                "amount": round(float(rng.lognormal(4 + (kind == "business"), 0.7)), 2),
                "account_type": kind, "segment": segment})
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # unordered file


@pytest.fixture(scope="module")
def table() -> StudioTable:
    frame = _events()
    detected = detect_table(frame, "events", "test")
    spec = SequenceSpec(KEY, INDEX, CONTEXT)
    return detected.with_schema(declare_sequence(detected.schema, spec, frame)).with_target(None)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(dataclasses.replace(get_settings(),
                                             data_dir=tmp_path_factory.mktemp("registry")))


def _fit(table: StudioTable, registry: ModelRegistry, key: str, **overrides: object):
    request = plan_request(table, key, "quick", seed=0, device="cpu",
                           overrides=dict(overrides) or None)
    seen = []
    record = run_training(request, table.frame, listener=lambda p: seen.append(p.epoch),
                          registry=registry, device=CPU)
    return request, record, seen


@pytest.fixture(scope="module")
def par(table: StudioTable, registry: ModelRegistry):
    return _fit(table, registry, "par", epochs=3)


@pytest.fixture(scope="module")
def argn(table: StudioTable, registry: ModelRegistry):
    return _fit(table, registry, "tabular_argn", epochs=1, time_limit=0)


def _check_entities(frame: pd.DataFrame, real: pd.DataFrame, entities: int) -> None:
    """N distinct fresh keys, sorted by key then time, context constant per entity."""
    assert frame[KEY].nunique() == entities
    assert not set(frame[KEY]) & set(real[KEY])
    ordered = frame.sort_values([KEY, INDEX], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, ordered)
    for column in CONTEXT:
        assert (frame.groupby(KEY)[column].nunique(dropna=False) == 1).all()
    assert {INDEX, "event", "amount", *CONTEXT} <= set(frame.columns)


def test_catalogue_offers_sequence_synthesizers_only_on_event_tables(table):
    assert set(synthesizers_for(table.schema)) == {"par", "tabular_argn"}
    flat = synthesizers_for(table.schema.with_sequence(None))
    assert "par" not in flat and "gaussian_copula" in flat
    assert REGISTRY["par"].shapes == ("sequence",)


def test_par_fits_with_progress_per_epoch_and_samples_new_entities(table, registry, par):
    request, record, seen = par
    assert request.split.group == KEY
    assert [epoch for epoch in seen if epoch][:3] == [1, 2, 3]
    assert record.epochs_run == 3 and len(record.losses["Loss"]) == 3
    assert record.train_rows < len(table.frame)
    synthesizer = load_synthesizer(registry, record.model_id)
    sample = sample_model(synthesizer, record, 12, seed=3)
    _check_entities(sample.frame, table.frame, 12)
    assert str(sample.frame[INDEX].dtype).startswith("datetime64")
    again = sample_model(load_synthesizer(registry, record.model_id), record, 12, seed=3)
    pd.testing.assert_frame_equal(sample.frame, again.frame)
    default = sample_model(synthesizer, record, seed=3)  # as many entities as it learned
    assert default.frame[KEY].nunique() == synthesizer.entities_ == 28


def test_par_fixed_context_and_refused_event_conditions(table, registry, par):
    _, record, _ = par
    synthesizer = load_synthesizer(registry, record.model_id)
    fixed = sample_model(synthesizer, record, 8, seed=1, real_example=table.frame,
                         fixed_values={"account_type": "business"})
    assert set(fixed.frame["account_type"]) == {"business"}
    assert fixed.frame[KEY].nunique() == 8
    with pytest.raises(ParameterError, match="changes from event to event.*account_type"):
        sample_model(synthesizer, record, 5, fixed_values={"event": "atm"})


def test_sequential_argn_fits_samples_and_fixes_context(table, registry, argn):
    request, record, seen = argn
    assert request.synthesizer == "tabular_argn" and record.epochs_run >= 1
    assert [epoch for epoch in seen if epoch][0] == 1
    assert "Training Loss" in record.losses
    synthesizer = load_synthesizer(registry, record.model_id)
    sample = sample_model(synthesizer, record, 10, seed=2)
    _check_entities(sample.frame, table.frame, 10)
    # Times run forward within an entity (learned as gaps between events).
    assert (sample.frame.groupby(KEY)[INDEX].diff().dropna() >= pd.Timedelta(0)).all()
    again = sample_model(load_synthesizer(registry, record.model_id), record, 10, seed=2)
    pd.testing.assert_frame_equal(sample.frame, again.frame)
    fixed = generate(synthesizer, record.model_id, 6, seed=2, schema=table.schema,
                     fixed_values={"segment": "affluent"})
    assert set(fixed.frame["segment"]) == {"affluent"} and fixed.frame[KEY].nunique() == 6


def test_cancel_ends_a_par_fit(table, registry):
    request = plan_request(table, "par", "quick", seed=5, device="cpu",
                           overrides={"epochs": 50})
    with pytest.raises(TrainingCancelled):
        run_training(request, table.frame, should_cancel=lambda: True, registry=registry,
                     device=CPU)
    assert registry.get(training_key(request)) is None


def test_time_limit_stops_par_and_keeps_a_usable_model(table, registry):
    request = plan_request(table, "par", "quick", seed=6, device="cpu",
                           overrides={"epochs": 10_000, "time_limit": 1})
    record = run_training(request, table.frame, registry=registry, device=CPU)
    assert record.epochs_run < 10_000
    assert any("time limit" in note for note in record.notes)
    sample = sample_model(load_synthesizer(registry, record.model_id), record, 4, seed=0)
    assert sample.frame[KEY].nunique() == 4


def test_table_synthesizer_on_an_event_table_is_refused(table, registry):
    request = plan_request(table.with_schema(table.schema.with_sequence(None)),
                           "gaussian_copula", "quick", device="cpu")
    request = replace(request, schema=table.schema,
                      split=entity_split(table.schema, request.split))
    with pytest.raises(ParameterError, match=r"sequence of events.*PAR \(sequences\) \(par\)"):
        run_training(request, table.frame, registry=registry, device=CPU)


def test_the_fit_sees_only_training_entities(table, registry):
    request = plan_request(table, "par", "quick", seed=7, device="cpu",
                           overrides={"epochs": 1})
    _, holdout = split_real(table.frame, request.split)
    seen: list[pd.DataFrame] = []
    from core.engine.sequence_models import StudioPARSynthesizer

    original = StudioPARSynthesizer.fit

    def spy(self, data):
        seen.append(data["data"].copy())
        return original(self, data)

    with mock.patch.object(StudioPARSynthesizer, "fit", spy):
        run_training(request, table.frame, registry=registry, device=CPU)
    keys = set(seen[0][KEY])
    assert keys and not keys & set(holdout[KEY])
    ordered = seen[0].sort_values([KEY, INDEX], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(seen[0].reset_index(drop=True), ordered)


def test_gpu_device_passes_cuda_to_par(table, registry):
    gpu = DeviceInfo(kind="cuda", label="Test GPU (CUDA)", cpu_threads=1)
    request = plan_request(table, "par", "quick", seed=8, device="auto",
                           overrides={"epochs": 1})
    with mock.patch("core.engine.device.detect_device", return_value=gpu):
        record = run_training(request, table.frame, registry=registry)
    assert record.device == gpu.label
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer._model_kwargs["cuda"] is True
    assert str(synthesizer._model.device) == "cpu"  # stored for any machine
    assert sample_model(synthesizer, record, 3).frame[KEY].nunique() == 3


def test_cli_writes_synthetic_events_report_and_metrics(tmp_path, monkeypatch):
    from core.cli import main

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    data = tmp_path / "events.csv"
    _events().to_csv(data, index=False)
    out = tmp_path / "out"
    code = main(["run", "--data", str(data), "--sequence-key", KEY, "--sequence-index", INDEX,
                 "--context-columns", ",".join(CONTEXT), "--synthesizer", "par",
                 "--epochs", "2", "--target", "none", "--entities", "9", "--out", str(out)])
    assert code == 0
    synthetic = pd.read_csv(out / "synthetic.csv")
    assert synthetic[KEY].nunique() == 9 and INDEX in synthetic.columns
    assert (out / "report.html").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["synthesizer"] == "par"
    assert metrics["rows_synthetic"] == len(synthetic)


@pytest.mark.parametrize(("flags", "message"), [
    (["--sequence-key", "nope"], "--sequence-key: 'nope' is not a column"),
    (["--sequence-key", KEY, "--sequence-index", KEY], "must differ from --sequence-key"),
    (["--sequence-index", INDEX], "give --sequence-key too"),
    (["--sequence-key", KEY, "--context-columns", f"segment,{KEY}"], "already the entity key"),
    (["--sequence-key", KEY, "--context-columns", "segment,missing"], "'missing' is not"),
])
def test_cli_refuses_bad_sequence_flags(tmp_path, monkeypatch, capsys, flags, message):
    from core.cli import main

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    data = tmp_path / "events.csv"
    _events(8).to_csv(data, index=False)
    code = main(["run", "--data", str(data), *flags, "--synthesizer", "par", "--target", "none",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_faked_context_column_gets_one_fake_value_per_entity(table, registry, par):
    _, record, _ = par
    synthesizer = load_synthesizer(registry, record.model_id)
    segment = table.schema.column("segment")
    schema = table.schema.with_column(replace(segment, sdtype="city", pii=True, action="fake"))
    frame = generate(synthesizer, record.model_id, 6, seed=4, schema=schema).frame
    assert (frame.groupby(KEY)["segment"].nunique() == 1).all()
    assert not set(frame["segment"]) & {"mass", "affluent"}


def test_par_learns_each_sequence_in_time_order(table, registry):
    """SDV sorted every sequence by its gaps; the studio keeps the events' time order."""
    from core.engine.sequence_models import StudioPARModel

    seen: list[list[dict]] = []
    original = StudioPARModel.fit_sequences

    def spy(self, sequences, context_types, data_types):
        seen.append(sequences)
        return original(self, sequences, context_types, data_types)

    with mock.patch.object(StudioPARModel, "fit_sequences", spy):
        request, record, _ = _fit(table, registry, "par", epochs=1, sample_size=2)
    synthesizer = load_synthesizer(registry, record.model_id)
    event = synthesizer._data_columns.index("event")
    firsts = {sequence["data"][event][0] for sequence in seen[0]}
    assert firsts == {"open"}  # every account's story starts with its opening


def test_par_loss_reads_each_sequence_from_its_own_events():
    """A batch's loss is the sum of its sequences' losses: padding never becomes a target."""
    import torch
    from deepecho.models.par import PARNet

    from core.engine.sequence_models import StudioPARModel

    rng = np.random.default_rng(0)
    sequences = [{"context": [], "data": [list(rng.normal(5, 1, size=length)),
                                          list(rng.choice(["a", "b"], size=length))]}
                 for length in (2, 7)]
    model = StudioPARModel(epochs=1, cuda=False)
    model._build(sequences, [], ["continuous", "categorical"])
    torch.manual_seed(0)
    model._model = PARNet(model._data_dims, 0)

    def total(chosen):
        x = torch.nn.utils.rnn.pack_sequence(
            [model._data_to_tensor(sequences[i]["data"]) for i in chosen], enforce_sorted=False)
        x_padded, lengths = torch.nn.utils.rnn.pad_packed_sequence(x)
        y_padded, _ = torch.nn.utils.rnn.pad_packed_sequence(model._model(x, None))
        loss = model._compute_loss(x_padded[1:], y_padded[:-1], lengths)
        return float(loss) * float((lengths - 1).sum())  # the mean back to a sum

    with torch.no_grad():
        assert total([0, 1]) == pytest.approx(total([0]) + total([1]), rel=1e-5)


def test_sequence_training_sizes_follow_the_data():
    from core.engine.tabular_argn import sequence_batch_size, sequence_window

    assert sequence_batch_size(40) == 8 and sequence_batch_size(420) == 16
    assert sequence_batch_size(100_000) == 64
    frame = pd.DataFrame({"k": np.repeat(np.arange(4), [3, 7, 7, 300])})
    assert sequence_window(frame, "k") == 14
    assert sequence_window(frame.iloc[:3], "k") == 10  # at least 10 events
    assert sequence_window(pd.DataFrame({"k": np.repeat([1, 2], 250)}), "k") == 100


def test_sequential_argn_refuses_lengths_its_value_protection_would_hide(registry):
    """Below 21 entities the engine's protection learns one event per entity: say so."""
    from core.errors import TrainingError

    frame = _events(20, seed=3)
    detected = detect_table(frame, "few", "test")
    few = detected.with_schema(declare_sequence(detected.schema, SequenceSpec(KEY, INDEX,
                                                                               CONTEXT), frame))
    request = plan_request(few.with_target(None), "tabular_argn", "quick", seed=0,
                           device="cpu", overrides={"epochs": 1, "time_limit": 0})
    with pytest.raises(TrainingError, match="needs more than 20 entities.*Switch off"):
        run_training(request, frame, registry=registry, device=CPU)
