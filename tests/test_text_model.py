"""The text model: trained with the table, conditioned on the row, seeded, stoppable, saved."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.data.splitting import SplitSpec
from core.engine import training
from core.engine.catalogue import resolve_params
from core.engine.generation import generate
from core.engine.models import load_synthesizer, model_to_bytes
from core.engine.text_model import STOPPED_AT_TIME_LIMIT, ContextEncoder, TextModel, torch_device
from core.engine.training import (
    TrainingRequest,
    estimate_fit_seconds,
    run_training,
    training_key,
)
from core.errors import TrainingCancelled
from core.store.registry import ModelRegistry
from core.store.settings import Settings

#: Each product has words the other never uses.
_WORDS = {
    "mortgage": (["my mortgage", "the escrow", "the mortgage rate"],
                 ["was raised", "is wrong", "went up"]),
    "card": (["my card fee", "the card limit", "a card charge"],
             ["was doubled", "is unfair", "came twice"]),
}
#: Tiny and fast: a few hundred short texts learn their words in a few seconds.
_TINY = {"epochs": 25, "hidden_size": 48, "batch_size": 16, "learning_rate": 1e-2}


def _complaints(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    products = rng.choice(list(_WORDS), size=rows)
    texts = []
    for product in products:
        subjects, verbs = _WORDS[product]
        texts.append(f"{rng.choice(subjects)} {rng.choice(verbs)}.")
    return pd.DataFrame({"product": products,
                         "amount": rng.gamma(2.0, 300.0, size=rows).round(2),
                         "complaint": texts})


def _schema(action: str = "generate") -> TableSchema:
    return TableSchema(columns=(
        ColumnSchema("product", "categorical"),
        ColumnSchema("amount", "numerical"),
        ColumnSchema("complaint", "text", action=action),
    ))


def _request(frame: pd.DataFrame, schema: TableSchema, seed: int = 0) -> TrainingRequest:
    return TrainingRequest(
        data_fingerprint=f"complaints-{len(frame)}-{seed}", dataset_name="complaints.csv",
        schema=schema, synthesizer="gaussian_copula", preset="quick",
        params=resolve_params("gaussian_copula", "quick", rows=len(frame)), seed=seed,
        device="cpu", split=SplitSpec(target="product"),
    )


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(Settings(data_dir=tmp_path, max_upload_mb=10,
                                  sample_data_dir=tmp_path))


@pytest.fixture
def tiny_text(monkeypatch):
    monkeypatch.setattr(training, "TEXT_MODEL_OPTIONS", dict(_TINY))


@pytest.fixture(scope="module")
def fitted_text_model():
    frame = _complaints()
    return TextModel(**_TINY, seed=3).fit(frame["complaint"], frame[["product", "amount"]])


def _share_with(texts: pd.Series, words: tuple[str, ...]) -> float:
    return float(texts.fillna("").str.contains("|".join(words)).mean())


# --------------------------------------------------------------------------- training


def test_a_fit_stores_text_models_that_write_text_that_follows_the_row(registry, tiny_text):
    frame = _complaints()
    stages = []
    record = run_training(_request(frame, _schema()), frame, registry=registry,
                          listener=lambda progress: stages.append(progress.stage))
    assert any(s.startswith("Training the text model for 'complaint': epoch 3 of 25")
               for s in stages)
    assert "Text loss" in record.losses and len(record.losses["Text loss"]) == 25
    assert any(note.startswith("The text model for 'complaint' learned 25 epochs in")
               for note in record.notes)

    synthesizer = load_synthesizer(registry, record.model_id)
    assert set(synthesizer.studio_text_models) == {"complaint"}
    sample = generate(synthesizer, record.model_id, 300, seed=1, schema=_schema()).frame
    assert list(sample.columns) == ["product", "amount", "complaint"]
    written = sample["complaint"]
    assert written.notna().mean() > 0.9 and (written.dropna().str.len() > 3).all()
    mortgage_rows = sample["product"] == "mortgage"
    mortgage_words = ("mortgage", "escrow")
    card_words = ("card",)
    # Each product's rows use that product's words far more than the other's.
    assert _share_with(written[mortgage_rows], mortgage_words) > 0.7
    assert _share_with(written[~mortgage_rows], mortgage_words) < 0.2
    assert _share_with(written[~mortgage_rows], card_words) > 0.7

    # Rows fixed to one product get that product's text: the text follows the rows.
    fixed = generate(synthesizer, record.model_id, 100, seed=2, schema=_schema(),
                     fixed_values={"product": "card"}).frame
    assert _share_with(fixed["complaint"], card_words) > 0.7


def test_same_model_and_seed_write_the_same_text(registry, tiny_text):
    frame = _complaints(200, seed=1)
    record = run_training(_request(frame, _schema(), seed=5), frame, registry=registry)
    first = load_synthesizer(registry, record.model_id)
    again = load_synthesizer(registry, record.model_id)  # another unpickled copy
    one = generate(first, record.model_id, 120, seed=7, schema=_schema()).frame
    two = generate(again, record.model_id, 120, seed=7, schema=_schema()).frame
    other = generate(first, record.model_id, 120, seed=8, schema=_schema()).frame
    pd.testing.assert_frame_equal(one, two)
    assert not one["complaint"].equals(other["complaint"])


def test_a_cancel_during_the_text_fit_stops_it_and_saves_nothing(registry, tiny_text):
    frame = _complaints(200, seed=2)
    request = _request(frame, _schema(), seed=9)
    text_started = []

    def listener(progress):
        if progress.stage.startswith("Training the text model"):
            text_started.append(progress.stage)

    with pytest.raises(TrainingCancelled):
        run_training(request, frame, registry=registry, listener=listener,
                     should_cancel=lambda: bool(text_started))
    assert text_started  # the table fit ended; the text fit was the one cancelled
    assert registry.get(training_key(request)) is None
    assert registry.list_for_data(request.data_fingerprint) == []


def test_the_time_limit_ends_the_text_fit_and_keeps_a_usable_model(registry, tiny_text,
                                                                    monkeypatch):
    # Gaussian Copula has no time limit setting: the text model gets TEXT_DEFAULT_SECONDS.
    monkeypatch.setattr(training, "TEXT_DEFAULT_SECONDS", 1e-6)
    frame = _complaints(200, seed=3)
    record = run_training(_request(frame, _schema(), seed=4), frame, registry=registry)
    note = next(n for n in record.notes if n.startswith("The text model for 'complaint'"))
    assert "part of one epoch (1 step)" in note and "stopped after the 0 s" in note
    synthesizer = load_synthesizer(registry, record.model_id)
    model = synthesizer.studio_text_models["complaint"]
    assert model.stopped_by == STOPPED_AT_TIME_LIMIT and model.steps_run == 1
    sample = generate(synthesizer, record.model_id, 20, seed=0, schema=_schema()).frame
    assert len(sample) == 20 and sample["complaint"].dropna().map(type).eq(str).all()


def test_the_text_models_share_of_the_time_limit():
    assert training._text_time_limit({}, 5.0, 1) == training.TEXT_DEFAULT_SECONDS
    assert training._text_time_limit({"time_limit": 0}, 500.0, 1) == 0.0  # no limit
    assert training._text_time_limit({"time_limit": 100}, 40.0, 2) == 30.0
    assert training._text_time_limit({"time_limit": 100}, 99.0, 1) == training.TEXT_TIME_FLOOR


def test_the_training_key_changes_when_a_text_column_is_generated_or_dropped():
    frame = _complaints(50)
    generated = training_key(_request(frame, _schema("generate")))
    dropped = training_key(_request(frame, _schema("drop")))
    assert generated != dropped


def test_text_columns_add_their_cost_to_the_estimate():
    frame = _complaints(3000)
    params = resolve_params("gaussian_copula", "quick", rows=3000)
    with_text = estimate_fit_seconds("gaussian_copula", params, frame, _schema(), speed=0.08)
    without = estimate_fit_seconds("gaussian_copula", params, frame, _schema("drop"),
                                   speed=0.08)
    assert with_text > without + 1.0
    # Within a deep model's time limit, the text models get their floor once it is used up.
    tvae = resolve_params("tvae", "quick", rows=3000)
    capped = estimate_fit_seconds("tvae", {**tvae, "time_limit": 10}, frame, _schema(),
                                  speed=0.08)
    assert capped <= 10 + training.TEXT_TIME_FLOOR


# --------------------------------------------------------------------------- the model


def test_the_pickled_model_writes_the_same_text_and_keeps_no_callbacks(fitted_text_model):
    context = _complaints(80, seed=9)[["product", "amount"]]
    fitted_text_model.on_epoch = lambda *args: None
    copy = pickle.loads(pickle.dumps(fitted_text_model))
    assert copy.on_epoch is None and copy.should_cancel is None
    pd.testing.assert_series_equal(fitted_text_model.generate(context, seed=4),
                                   copy.generate(context, seed=4))
    assert len(pickle.dumps(fitted_text_model)) < 500_000


def test_the_synthesizer_pickle_carries_the_text_models(fitted_text_model):
    import cloudpickle

    class Holder:  # any table synthesizer is a Python object holding attributes
        pass

    holder = Holder()
    holder.studio_text_models = {"complaint": fitted_text_model}
    loaded = cloudpickle.loads(model_to_bytes(holder))
    context = _complaints(30, seed=4)[["product", "amount"]]
    pd.testing.assert_series_equal(
        loaded.studio_text_models["complaint"].generate(context, seed=1),
        fitted_text_model.generate(context, seed=1))


def test_a_cancel_is_polled_every_step():
    frame = _complaints(100)
    polls = []

    def should_cancel():
        polls.append(1)
        return len(polls) > 2

    model = TextModel(**{**_TINY, "epochs": 5}, should_cancel=should_cancel)
    with pytest.raises(TrainingCancelled):
        model.fit(frame["complaint"], frame[["product"]])
    assert len(polls) == 3 and model.epochs_run == 0  # cancelled inside the first epoch


def test_missing_text_is_learned_and_written_as_missing():
    frame = _complaints(300, seed=6)
    frame.loc[frame["product"] == "card", "complaint"] = np.nan
    model = TextModel(**_TINY, seed=1).fit(frame["complaint"], frame[["product"]])
    written = model.generate(pd.DataFrame({"product": ["card"] * 50 + ["mortgage"] * 50}),
                             seed=2)
    assert written[:50].isna().mean() > 0.8 and written[50:].notna().mean() > 0.8


def test_context_codes_for_values_never_seen_missing_or_binned():
    frame = pd.DataFrame({"product": ["a", "b", "a", None] * 5,
                          "amount": np.arange(20, dtype=float),
                          "when": pd.date_range("2024-01-01", periods=20, freq="D")})
    encoder = ContextEncoder(frame)
    assert encoder.columns == ["product", "amount", "when"]
    codes = encoder.encode(pd.DataFrame({"product": ["a", "zzz", None],
                                         "amount": [0.0, 19.0, np.nan],
                                         "when": pd.to_datetime(["2024-01-01", None,
                                                                 "2025-01-01"])}))
    product_size, amount_size, when_size = encoder.cardinalities
    assert codes[1, 0] == product_size - 2 and codes[2, 0] == product_size - 1  # other, missing
    assert codes[0, 1] < codes[1, 1] and codes[2, 1] == amount_size - 1
    assert codes[1, 2] == when_size - 1 and codes[2, 2] > codes[0, 2]
    # A column the sampled rows lack reads as missing instead of failing.
    assert (encoder.encode(pd.DataFrame({"product": ["a"]}))[0, 1:]
            == [amount_size - 1, when_size - 1]).all()


def test_the_gpu_is_used_when_the_device_is_one(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_device("cuda") == "cuda"
    assert torch_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_device("cuda") == "cpu"  # asked for, but absent: the CPU


def test_vocabulary_and_length_bounds():
    frame = _complaints(100)
    texts = frame["complaint"].copy()
    texts.iloc[0] = "x" * 400
    model = TextModel(**{**_TINY, "epochs": 1}, max_chars=40, max_vocabulary=10)
    model.fit(texts, frame[["product"]])
    assert len(model.characters) == 10
    written = model.generate(frame[["product"]], seed=0)
    assert written.dropna().str.len().max() <= 40
    assert set("".join(written.dropna())) <= set(model.characters)



def test_written_texts_are_about_as_long_as_the_real_ones_even_after_little_training():
    """One short epoch leaves the end-of-text guess eager; lengths are drawn from the real."""
    frame = _complaints(300, seed=8)
    model = TextModel(**{**_TINY, "epochs": 1}, seed=3).fit(frame["complaint"],
                                                            frame[["product"]])
    written = model.generate(frame[["product"]], seed=4)
    real = frame["complaint"].str.len().mean()
    assert written.notna().all()
    assert 0.7 * real <= written.str.len().mean() <= 1.3 * real
