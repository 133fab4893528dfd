"""Deep models on wide tables: the wide loans-style table, one CPU thread, drawn categories."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from bench.wide import TARGET, make_wide_table
from core.engine.ctgan_parts import ActivationLayout
from core.engine.studio_models import StudioTVAE, one_cpu_thread


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return make_wide_table(rows=300, seed=1)


def test_the_wide_table_is_wide_mixed_and_the_same_for_the_same_seed(wide) -> None:
    assert wide.shape == (300, 55)
    numeric = wide.select_dtypes("number").columns
    assert len(numeric) == 30 and TARGET not in numeric
    assert set(wide[TARGET].unique()) == {False, True}
    pd.testing.assert_frame_equal(wide, make_wide_table(rows=300, seed=1))
    assert not wide.equals(make_wide_table(rows=300, seed=2))
    with pytest.raises(ValueError, match="at least 50 rows"):
        make_wide_table(rows=10)


def test_the_wide_table_holds_relations_a_synthesizer_should_keep() -> None:
    frame = make_wide_table(rows=3_000, seed=0)
    # The rate follows the grade, the region the state, defaults the grade.
    rates = frame.groupby("grade")["interest_rate"].mean()
    assert rates.is_monotonic_increasing
    assert frame.groupby("state")["region"].nunique().max() == 1
    by_grade = frame.groupby("grade")[TARGET].mean()
    assert by_grade["A"] < by_grade["D"] < by_grade["G"]
    assert frame["months_since_last_delinquency"].isna().any()
    assert frame["sub_grade"].nunique() == 35 and frame["state"].nunique() > 40


def test_a_cpu_fit_runs_on_one_thread_and_gives_the_threads_back() -> None:
    before = torch.get_num_threads()
    with one_cpu_thread(torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with one_cpu_thread("cuda"):  # a GPU fit keeps the CPU threads as they are
        assert torch.get_num_threads() == before


def _layout() -> ActivationLayout:
    from ctgan.data_transformer import SpanInfo

    # A number (value + 2 modes), a 3-category column, a 2-category column.
    return ActivationLayout([[SpanInfo(1, "tanh"), SpanInfo(2, "softmax")],
                             [SpanInfo(3, "softmax")], [SpanInfo(2, "softmax")]])


def test_drawn_categories_are_one_hot_and_follow_the_decoders_shares() -> None:
    layout = _layout()
    rows = 20_000
    logits = torch.zeros(rows, 8)
    logits[:, 0] = 0.5
    logits[:, 3:6] = torch.log(torch.tensor([0.6, 0.3, 0.1]))  # shares 60/30/10 %
    logits[:, 6:8] = torch.tensor([5.0, -5.0])
    torch.manual_seed(0)
    out = layout.draw_categories(logits)
    torch.testing.assert_close(out[:, 0], torch.tanh(logits[:, 0]))
    for block in (slice(1, 3), slice(3, 6), slice(6, 8)):
        assert torch.all(out[:, block].sum(dim=1) == 1)
        assert set(out[:, block].unique().tolist()) <= {0.0, 1.0}
    shares = out[:, 3:6].mean(dim=0)
    # The likeliest category is not the only one drawn: about 60/30/10 %.
    torch.testing.assert_close(shares, torch.tensor([0.6, 0.3, 0.1]), atol=0.02, rtol=0)
    torch.manual_seed(0)
    torch.testing.assert_close(layout.draw_categories(logits), out)  # seeded: same draw


def _tvae(frame: pd.DataFrame) -> StudioTVAE:
    torch.manual_seed(0)
    np.random.seed(0)
    model = StudioTVAE(epochs=3, batch_size=50, embedding_dim=16, compress_dims=(32,),
                       decompress_dims=(32,), enable_gpu=False)
    model.fit(frame, discrete_columns=["job_sector", "state", TARGET])
    return model


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)  # the numbers' noise is numpy's (ctgan's inverse transform)


def _share_gap(real: pd.Series, synthetic: pd.Series) -> float:
    shares = pd.concat([real.value_counts(normalize=True),
                        synthetic.value_counts(normalize=True)], axis=1).fillna(0)
    return float((shares.iloc[:, 0] - shares.iloc[:, 1]).abs().sum() / 2)


def test_tvae_keeps_category_shares_that_argmax_sampling_loses(wide) -> None:
    frame = wide[["age", "annual_income", "job_sector", "state", TARGET]].copy()
    frame[TARGET] = frame[TARGET].astype(str)
    model = _tvae(frame)
    assert model.draw_categories
    _seed(1)
    drawn = model.sample(300)
    model.draw_categories = False  # ctgan's sampling: the likeliest category for each code
    _seed(1)
    likeliest = model.sample(300)
    for column in ("job_sector", "state"):
        assert drawn[column].nunique() > likeliest[column].nunique()
        assert _share_gap(frame[column], drawn[column]) < _share_gap(frame[column],
                                                                      likeliest[column])


def test_tvae_draws_the_same_rows_for_the_same_seed_and_old_models_keep_argmax(wide) -> None:
    frame = wide[["age", "job_sector", TARGET]].copy()
    frame[TARGET] = frame[TARGET].astype(str)
    model = _tvae(frame)
    copy = pickle.loads(pickle.dumps(model))
    _seed(3)
    first = model.sample(100)
    _seed(3)
    pd.testing.assert_frame_equal(first, copy.sample(100))
    # A model saved before drawn sampling existed has no such attribute: it keeps argmax.
    state = model.__getstate__()
    state.pop("draw_categories")
    old = StudioTVAE.__new__(StudioTVAE)
    old.__setstate__(state)
    assert old.draw_categories is False


def test_train_warns_before_a_deep_fit_its_limit_cannot_finish_on_a_wide_table(wide) -> None:
    import warnings

    from core.engine.catalogue import resolve_params
    from core.engine.metadata import detect_table
    from core.engine.training import WIDE_TABLE_WIDTH, encoded_width, epochs_within_limit
    from core.engine.training import wide_table_warning as warning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = detect_table(wide, "wide", "test", target=TARGET)
    assert encoded_width(table.frame, table.schema) >= WIDE_TABLE_WIDTH
    ctgan = resolve_params("ctgan", "balanced", rows=210)
    slow, fast = 50.0, 0.001  # this machine's speed, as machine_speed() measures it
    assert epochs_within_limit("ctgan", ctgan, table.frame, table.schema, speed=slow) < (
        epochs_within_limit("ctgan", ctgan, table.frame, table.schema, speed=fast))
    text = warning("ctgan", ctgan, table.frame, table.schema, speed=slow)
    assert text is not None and "wrong pick for wide tables on a CPU" in text
    assert "Gaussian Copula" in text
    # A fast CPU, a GPU, no time limit, a copula or a narrow table: nothing to warn about.
    assert warning("ctgan", ctgan, table.frame, table.schema, speed=fast) is None
    assert warning("ctgan", ctgan, table.frame, table.schema, speed=slow, on_gpu=True) is None
    assert warning("ctgan", {**ctgan, "time_limit": 0}, table.frame, table.schema,
                   speed=slow) is None
    copula = resolve_params("gaussian_copula", "balanced", rows=210)
    assert warning("gaussian_copula", copula, table.frame, table.schema, speed=slow) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        narrow = detect_table(wide[["age", "annual_income", "grade", TARGET]], "narrow", "test",
                              target=TARGET)
    assert warning("ctgan", ctgan, narrow.frame, narrow.schema, speed=slow) is None


def test_the_train_page_shows_the_wide_table_warning_before_a_deep_fit(wide, monkeypatch):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui import caching

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setattr(caching, "machine_speed", lambda: 50.0)  # a slow, busy CPU
    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120).run()
    at.radio(key="data_source").set_value("Upload a file").run()
    at.file_uploader(key="upload_file").upload(
        "wide.csv", wide.to_csv(index=False).encode(), "text/csv")
    at.run()
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_synthesizer").set_value("ctgan").run()
    at.radio(key="train_preset").set_value("balanced").run()
    assert not at.exception
    shown = " ".join(str(w.value) for w in at.warning)
    assert "wrong pick for wide tables on a CPU" in shown
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    assert "wrong pick" not in " ".join(str(w.value) for w in at.warning)
