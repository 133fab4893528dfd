"""Differential privacy: TabularARGN with a budget ε, the spent ε on the model, the CLI.

Tiny tables, one to five epochs, the small network: what a user would notice is a DP model
without its ε (or with more than asked), a private and a plain model sharing an id, a
category seen once surviving in a private model, or a CLI that runs a non-DP synthesizer
when ε was asked for.
"""

from __future__ import annotations

import json
import math

import pytest

from core.__main__ import main
from core.comparison import auto_candidates
from core.data.splitting import SplitSpec
from core.engine.catalogue import default_delta, dp_capable, dp_synthesizers, resolve_params
from core.engine.generation import generate
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import TrainingRequest, run_training, training_key
from core.errors import ParameterError, TrainingError
from core.store.registry import ModelRecord, ModelRegistry
from tests.helpers import make_people

KEY = "tabular_argn"
ROWS = 200
#: A category that occurs in one training row only: DP must never learn it.
ONE_OFF = "Atlantis"


def _table():
    frame = make_people(ROWS, seed=5).drop(columns=["comment", "job_title"])
    frame.loc[7, "state"] = ONE_OFF
    return detect_table(frame, "people.csv", "test", target="churned")


@pytest.fixture(scope="module")
def table():
    return _table()


def _request(table, epochs: int = 3, **privacy) -> TrainingRequest:
    split = SplitSpec(target=table.target)
    params = resolve_params(KEY, "quick", {"epochs": epochs, "time_limit": 0,
                                           "model_size": "small", **privacy},
                            rows=int(ROWS * (1 - split.test_size)))
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=KEY, preset="quick", params=params, seed=0, device="cpu", split=split)


@pytest.fixture(scope="module")
def private(table):
    registry = ModelRegistry()
    request = _request(table, epsilon=4.0)
    return run_training(request, table.frame, registry=registry), registry


def test_a_private_fit_records_the_epsilon_it_spent_within_the_budget(table, private):
    record, registry = private
    assert record.params["epsilon"] == 4.0 and record.params["delta"] == 1e-5
    assert record.epsilon_spent is not None and math.isfinite(record.epsilon_spent)
    assert 0 < record.epsilon_spent <= 4.0
    assert record.delta == 1e-5
    assert record.privacy_label == f"DP ε = {record.epsilon_spent:.2g} (δ 1e-5)"
    assert any("Differentially private" in note for note in record.notes)
    stored = registry.get(record.model_id)  # the field survives the store
    assert stored.epsilon_spent == record.epsilon_spent and stored.delta == 1e-5


def test_a_private_model_keeps_no_category_it_did_not_pay_for(table, private):
    record, registry = private
    synthesizer = load_synthesizer(registry, record.model_id)
    assert synthesizer.epsilon_spent == record.epsilon_spent
    assert ONE_OFF not in synthesizer.labels_["state"]  # not even in the stored model
    frame = generate(synthesizer, record.model_id, 300, seed=1, schema=table.schema).frame
    assert len(frame) == 300 and ONE_OFF not in set(frame["state"])


def test_a_plain_fit_records_no_epsilon_and_keeps_its_model_id(table):
    request = _request(table, epochs=1)
    assert "epsilon" not in request.params and "delta" not in request.params
    record = run_training(request, table.frame, registry=ModelRegistry())
    assert record.epsilon_spent is None and record.delta is None
    assert record.privacy_label is None


def test_private_and_plain_models_never_share_an_id(table):
    keys = {training_key(_request(table)),
            training_key(_request(table, epsilon=3.0)),
            training_key(_request(table, epsilon=4.0)),
            training_key(_request(table, epsilon=3.0, delta=1e-6))}
    assert len(keys) == 4
    # ε left empty is the plain model: same parameters, same id as before DP existed.
    assert training_key(_request(table, epsilon=None)) == training_key(_request(table))


def test_a_budget_too_small_for_one_pass_is_refused_in_words(table):
    with pytest.raises(TrainingError, match="ran out before the network finished one pass"):
        run_training(_request(table, epochs=1, epsilon=0.05), table.frame,
                     registry=ModelRegistry())


def test_parameters_refuse_what_cannot_be_honoured():
    assert dp_capable(KEY) and not dp_capable("gaussian_copula") and not dp_capable("nope")
    assert dp_synthesizers() == [KEY]
    with pytest.raises(ParameterError, match="cannot train with differential privacy.*"
                       "TabularARGN"):
        resolve_params("gaussian_copula", "quick", {"epsilon": 1.0})
    with pytest.raises(ParameterError, match="Protect rare and extreme values"):
        resolve_params(KEY, "quick", {"epsilon": 1.0, "value_protection": False})
    with pytest.raises(ParameterError, match="set ε too"):
        resolve_params(KEY, "quick", {"delta": 1e-5})
    with pytest.raises(ParameterError, match="too large for 5,000 rows"):
        resolve_params(KEY, "quick", {"epsilon": 1.0, "delta": 1e-3}, rows=5000)
    # δ falls with the table so that rows x δ stays at most 0.1.
    assert default_delta(2000) == 1e-5 and default_delta(1_000_000) == pytest.approx(1e-7)
    assert resolve_params(KEY, "quick", {"epsilon": 2}, rows=50_000)["delta"] == 2e-6


def test_older_records_load_without_epsilon():
    record = ModelRecord(model_id="abc123", data_fingerprint="f", dataset_name="d",
                         synthesizer="ctgan", preset="quick", params={}, seed=0, device="CPU",
                         split={}, schema={}, created_at=0.0, fit_seconds=1.0, train_rows=10,
                         columns=2)
    old = {key: value for key, value in json.loads(record.to_json()).items()
           if key not in ("epsilon_spent", "delta")}
    loaded = ModelRecord.from_json(json.dumps(old))
    assert loaded.epsilon_spent is None and loaded.delta is None and loaded == record


def test_the_cli_refuses_epsilon_with_a_synthesizer_without_dp(tmp_path, capsys):
    code = main(["run", "--data", str(tmp_path / "unread.csv"), "--synthesizer",
                 "gaussian_copula", "--target", "none", "--out", str(tmp_path / "out"),
                 "--epsilon", "1"])
    error = capsys.readouterr().err
    assert code == 2 and "Traceback" not in error
    assert "--epsilon needs a synthesizer that trains with differential privacy" in error
    assert "tabular_argn" in error and not (tmp_path / "out").exists()


def test_auto_with_epsilon_chooses_among_dp_capable_synthesizers(tmp_path, capsys):
    assert auto_candidates(private=True) == ([(KEY, "balanced")], [])
    frame = make_people(ROWS, seed=6).drop(columns=["comment", "job_title"])
    data = tmp_path / "people.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    code = main(["run", "--data", str(data), "--synthesizer", "auto", "--target", "churned",
                 "--out", str(out), "--epsilon", "3", "--budget", "20", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["selection"]["chosen"] == KEY
    assert {c["synthesizer"] for c in metrics["selection"]["candidates"]} == {KEY}
    assert 0 < metrics["privacy"]["epsilon"] <= 3
