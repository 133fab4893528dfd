"""Sequential trees ("Decision trees, column by column"): fit, privacy controls, seeds, studio.

Tiny tables only; every check is something a user would notice: rows that copy real
people, numbers copied from real rows, a seed that does not give the same rows back, a
cancel that does not stop, a synthesizer missing from the CLI or the Train page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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
from core.errors import TrainingCancelled
from core.store.registry import ModelRegistry
from tests.helpers import make_people, sample_in_another_process

ROOT = Path(__file__).resolve().parents[1]
KEY = "sequential_trees"


def _mixed(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    """People plus a number with missing values and a category with missing values."""
    frame = make_people(rows, seed=seed).drop(columns=["comment"])
    rng = np.random.default_rng(seed)
    debt = (frame["income"] * rng.uniform(0.1, 0.5, rows)).round(2)
    frame["debt"] = debt.where(rng.random(rows) > 0.15)
    frame["plan"] = pd.Series(rng.choice(["basic", "plus", "pro"], rows)).where(
        rng.random(rows) > 0.1)
    return frame


@pytest.fixture(scope="module")
def table():
    return detect_table(_mixed(), "mixed.csv", "test", target="churned")


def _request(table, seed=0, preset="balanced", **overrides):
    rows = int(len(table.frame) * 0.7)
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=KEY, preset=preset, params=resolve_params(KEY, preset, overrides or None,
                                                              rows=rows),
        seed=seed, split=SplitSpec(target=table.target))


def _train_rows(table) -> pd.DataFrame:
    from core.data.schema import prepare_training_frame
    from core.data.splitting import split_real

    return split_real(prepare_training_frame(table.frame, table.schema),
                      SplitSpec(target=table.target))[0]


@pytest.fixture(scope="module")
def trained(table):
    registry = ModelRegistry()
    progress = []
    record = run_training(_request(table), table.frame, registry=registry,
                          listener=lambda p: progress.append((p.stage, p.fraction)))
    return record, registry, progress


def test_it_fits_and_samples_a_mixed_table_with_per_column_progress(table, trained):
    record, registry, progress = trained
    synthesizer = load_synthesizer(registry, record.model_id)
    frame = generate(synthesizer, record.model_id, 300, seed=1, schema=table.schema).frame
    real = _train_rows(table)
    assert list(frame.columns) == table.schema.kept_columns and len(frame) == 300
    assert frame["customer_id"].is_unique  # ids are fresh, not learned
    assert frame["active"].dtype == bool and frame["churned"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(frame["signed_up"])
    assert frame["signed_up"].between(real["signed_up"].min(), real["signed_up"].max()).all()
    assert set(frame["state"]) <= set(real["state"])
    assert frame["income"].between(real["income"].min(), real["income"].max()).all()
    assert 0.03 < frame["debt"].isna().mean() < 0.35  # missing values are drawn, ~15 %
    assert frame["plan"].isna().any() and set(frame["plan"].dropna()) <= {"basic", "plus", "pro"}
    assert (frame["age"] == frame["age"].round()).all()  # whole numbers stay whole
    assert table.schema.column("name").action == "fake"  # PII is faked after sampling
    assert frame["name"].isin(table.frame["name"]).mean() < 0.05  # (Faker repeats a few)
    # The bar moves one step per modelled column, and says which one.
    modelled = len(table.schema.modelled_columns)
    steps = [fraction for stage, fraction in progress
             if re.match(r"Learning column \d+ of \d+ \(\w+\)", stage)]
    assert len(steps) == modelled and steps[-1] == 1.0 and steps == sorted(steps)
    assert progress[-1] == ("Done", 1.0)


def test_the_target_is_visited_first(table, trained):
    record, registry, _ = trained
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer.order_[0].name == "churned"


def _copy_prone(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Categories that nearly determine each other: plain CART hands back real rows."""
    rng = np.random.default_rng(seed)
    first = rng.choice(list("abcdef"), rows)
    frame = {"c0": first}
    for index in range(1, 6):
        follow = rng.random(rows) < 0.85
        frame[f"c{index}"] = np.where(follow, frame[f"c{index - 1}"],
                                      rng.choice(list("abcdef"), rows))
    frame["kind"] = rng.choice(["x", "y"], rows)
    return pd.DataFrame(frame)


@pytest.mark.parametrize("redraw", [False, True])
def test_rows_identical_to_a_training_row_are_redrawn(redraw):
    frame = _copy_prone()
    table = detect_table(frame, "copies.csv", "test", target="kind")
    synthesizer = build_synthesizer(KEY, to_sdv_metadata(table.schema, frame),
                                    {**resolve_params(KEY, "balanced", rows=600),
                                     "redraw_copies": redraw}, use_gpu=False)
    np.random.seed(0)
    synthesizer.fit({"data": frame})
    synthesizer.seed_sampling(0)
    sample = synthesizer.sample(600)["data"]
    copies = sample.merge(frame.drop_duplicates(), how="inner", on=list(frame.columns))
    if redraw:
        assert len(copies) == 0
    else:  # the control: without the guard, this table does produce copies
        assert len(copies) > 30


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_numbers_are_drawn_near_real_values_not_copied(table, smoothing):
    real = _train_rows(table)[table.schema.sdv_columns]
    synthesizer = build_synthesizer(KEY, to_sdv_metadata(table.schema, real),
                                    {**resolve_params(KEY, "balanced", rows=len(real)),
                                     "smoothing": smoothing}, use_gpu=False,
                                    target="churned")
    np.random.seed(0)
    synthesizer.fit({"data": real})
    synthesizer.seed_sampling(0)
    sample = synthesizer.sample(1000)["data"]
    copied = sample["income"].isin(set(real["income"])).mean()
    if smoothing:
        assert copied < 0.05, copied
        assert sample["income"].round(2).equals(sample["income"])  # written like the real
    else:  # the control: smoothing off copies donors' values
        assert copied > 0.95, copied


def test_same_seed_same_rows_other_seed_other_rows_also_after_loading(table, trained):
    record, registry, _ = trained
    first = load_synthesizer(registry, record.model_id)
    again = load_synthesizer(registry, record.model_id)
    one = generate(first, record.model_id, 200, seed=5, schema=table.schema).frame
    pd.testing.assert_frame_equal(one, generate(again, record.model_id, 200, seed=5,
                                                schema=table.schema).frame)
    pd.testing.assert_frame_equal(one, generate(first, record.model_id, 200, seed=5,
                                                schema=table.schema).frame)
    other = generate(first, record.model_id, 200, seed=6, schema=table.schema).frame
    assert not other["income"].equals(one["income"])
    assert not other["state"].equals(one["state"])
    # The same request fitted again gives a model that samples the same rows.
    refit = run_training(_request(table), table.frame, registry=registry)
    pd.testing.assert_frame_equal(one, generate(load_synthesizer(registry, refit.model_id),
                                                refit.model_id, 200, seed=5,
                                                schema=table.schema).frame)
    import cloudpickle

    twin = cloudpickle.loads(model_to_bytes(first))
    assert twin.on_column is None and twin.should_cancel is None  # no job callbacks kept
    pd.testing.assert_frame_equal(one, generate(twin, record.model_id, 200, seed=5,
                                                schema=table.schema).frame)



def test_a_stored_model_samples_the_same_rows_in_another_process(table, trained, tmp_path):
    record, registry, _ = trained
    here = generate(load_synthesizer(registry, record.model_id), record.model_id, 200,
                    seed=5, schema=table.schema).frame
    here.to_csv(tmp_path / "here.csv", index=False)
    there = sample_in_another_process(registry.settings.data_dir, record.model_id, 200, 5,
                                      tmp_path / "there.csv")
    pd.testing.assert_frame_equal(there, pd.read_csv(tmp_path / "here.csv"))


def test_cancel_stops_between_columns_and_saves_nothing(table):
    registry = ModelRegistry()
    request = _request(table, seed=11)
    columns_done = []

    def listener(progress):
        if re.match(r"Learning column \d+ of", progress.stage):
            columns_done.append(progress.epoch)

    with pytest.raises(TrainingCancelled):
        run_training(request, table.frame, registry=registry, listener=listener,
                     should_cancel=lambda: len(columns_done) >= 2)
    assert columns_done == [1, 2]  # nothing learned after the cancel
    assert registry.get(training_key(request)) is None


def test_past_the_time_limit_columns_keep_their_shape_and_the_note_says_so(table):
    real = _train_rows(table)[table.schema.sdv_columns]
    synthesizer = build_synthesizer(KEY, to_sdv_metadata(table.schema, real),
                                    {**resolve_params(KEY, "balanced", rows=len(real)),
                                     "time_limit": 5}, use_gpu=False, target="churned",
                                    time_limit_start=time.monotonic() - 60)
    np.random.seed(0)
    synthesizer.fit({"data": real})
    assert len(synthesizer.columns_without_tree_) == len(table.schema.modelled_columns)
    assert "5 s time limit" in synthesizer.fit_notes[0]
    synthesizer.seed_sampling(0)
    first, second = synthesizer.sample(50)["data"], synthesizer.sample(50)["data"]
    assert len(first) == 50
    assert not set(first["customer_id"]) & set(second["customer_id"])  # batches: fresh ids


def test_fixed_values_and_rebalancing_work_as_for_the_other_synthesizers(table, trained):
    record, registry, _ = trained
    synthesizer = load_synthesizer(registry, record.model_id)
    real = _train_rows(table)
    fixed = generate(synthesizer, record.model_id, 120, seed=2, schema=table.schema,
                     real_example=real, fixed_values={"state": "TX"}).frame
    assert len(fixed) == 120 and (fixed["state"] == "TX").all()
    balanced = generate(synthesizer, record.model_id, 200, seed=2, schema=table.schema,
                        real_example=real, rebalance_column="churned",
                        class_shares={"True": 0.5, "False": 0.5}).frame
    assert balanced["churned"].sum() == 100


def test_the_cli_trains_samples_and_evaluates_it(tmp_path):
    csv = tmp_path / "people.csv"
    make_people(300).to_csv(csv, index=False)
    environment = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "core", "run", "--data", str(csv),
                             "--synthesizer", KEY, "--preset", "quick", "--target", "churned",
                             "--out", str(tmp_path / "out")], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["synthesizer"] == KEY and metrics["rows_synthetic"] == 210
    assert metrics["privacy"]["exact_match_rate"] == 0.0
    assert len(pd.read_csv(tmp_path / "out" / "synthetic.csv")) == 210
