"""A related model's samples and evaluations as jobs: the Ray task's body and the runner.

The local runner's related sample and evaluation jobs run through the pages in
``tests/test_related_pages.py``; here the Ray task (:func:`core.jobs.ray_task.run_job`) runs
the same job kinds in this process with the payload the Ray runner sends (the model's
verified bytes, the real tables), without a cluster.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.engine.device import DeviceInfo
from core.engine.related_metadata import detect_related
from core.jobs import ray_task
from core.jobs.specs import related_evaluation_inputs, related_sample_inputs
from core.jobs.status import JobStatus
from core.related_workflow import (
    fit_related_in_process,
    plan_related,
    related_frames,
    related_parts,
    related_request_of,
)
from core.store.registry import ModelRegistry
from core.store.settings import get_settings


def two_tables(seed: int = 3):
    """customers (30) -> accounts (about 45), with a customer-level target."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"customer_id": np.arange(1, 31),
                              "age": rng.integers(18, 80, 30),
                              "churned": rng.random(30) < 0.3})
    owners = np.concatenate([customers.customer_id, rng.choice(customers.customer_id, 15)])
    accounts = pd.DataFrame({"account_id": np.arange(100, 100 + len(owners)),
                             "customer_id": owners,
                             "balance": rng.normal(1000, 200, len(owners)).round(2)})
    return detect_related({"customers": customers, "accounts": accounts}, name="two tables",
                          source="test", target=("customers", "churned"))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A quick HMA of the two tables, stored in a registry of its own."""
    registry = ModelRegistry(replace(get_settings(),
                                     data_dir=tmp_path_factory.mktemp("related_jobs")))
    related = two_tables()
    request = plan_related(related, "hma", "quick", seed=1)
    record = fit_related_in_process(registry)(request, related_frames(related),
                                              lambda *_: None)
    return related, registry, record


def run_on_ray_task(monkeypatch, kind: str, payload: dict) -> dict:
    """Run a job's Ray task body here (no cluster: a board that takes posts, a CPU)."""
    posted: list[dict] = []
    board = SimpleNamespace(post=SimpleNamespace(remote=lambda _id, status: posted.append(
        status)))
    monkeypatch.setattr(ray_task, "_node_device",
                        lambda use_gpu, cpus: DeviceInfo(kind="cpu", cpu_threads=1, label="CPU"))
    monkeypatch.setattr(ray_task._BoardLink, "watch_cancel", lambda self: None)
    status = JobStatus(job_id="0123456789abcdef", kind=kind, state="queued")
    outcome = ray_task.run_job(kind, asdict(status), payload, None, board, 1, False)
    assert posted, "the task posted no progress"
    return outcome


def test_the_ray_task_samples_a_related_model_from_the_bytes_it_was_sent(monkeypatch, fitted):
    related, registry, record = fitted
    payload = {**related_sample_inputs(record, scale=2.0, seed=4),
               "model_bytes": registry.verified_model_bytes(record.model_id)}
    outcome = run_on_ray_task(monkeypatch, "sample", payload)
    assert outcome["status"]["state"] == "done", outcome["status"]["message"]
    tables = outcome["result"]
    assert list(tables) == ["customers", "accounts"]
    train, _holdout, _schemas = related_parts(related_request_of(record),
                                              related_frames(related))
    assert len(tables["customers"]) == 2 * len(train["customers"])  # the scale it was sent
    assert tables["accounts"].customer_id.isin(tables["customers"].customer_id).all()
    assert outcome["models"] == []  # the model came from the app: nothing goes back


def test_the_ray_task_evaluates_related_tables_against_the_real_split(monkeypatch, fitted):
    related, registry, record = fitted
    from core.related_workflow import sample_related_model

    synthetic = sample_related_model(registry, record, seed=4)
    payload = related_evaluation_inputs(record, synthetic, related_frames(related), seed=4)
    outcome = run_on_ray_task(monkeypatch, "evaluate", payload)
    assert outcome["status"]["state"] == "done", outcome["status"]["message"]
    evaluation = outcome["result"]
    assert evaluation.integrity_fraction == 1.0
    assert 0.0 <= evaluation.quality_score <= 1.0
    assert outcome["status"]["progress"] == 1.0
