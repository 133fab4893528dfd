"""The Ray job backend, against a real Ray head started here and stopped at the end.

The head is a separate ``ray start --head`` on loopback (2 CPUs, 300 MB object store) and
the runner reaches it through ``RAY_ADDRESS=127.0.0.1:<port>``, the way a deployment
does. Its processes share one new session, so teardown ends exactly them (by process
group id). The unit tests come first and run while the head starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from core.data.splitting import SplitSpec
from core.engine.catalogue import resolve_params
from core.engine.metadata import detect_table
from core.engine.models import load_synthesizer
from core.engine.training import TrainingRequest, training_key
from core.errors import ParameterError
from core.jobs.backend import JobBackendConfig, job_backend_config, make_job_runner
from core.jobs.local import LocalJobRunner
from core.jobs.ray_backend import RayJobRunner, plan_resources
from core.jobs.ray_task import MemoryRegistry
from core.store.registry import ModelRegistry
from tests.helpers import make_people, wait_until

ROOT = Path(__file__).resolve().parent.parent
OBJECT_STORE_BYTES = 300 * 1024 * 1024
HEAD_START_TIMEOUT = 120


@pytest.fixture(scope="module")
def people_table():
    return detect_table(make_people(400), "people.csv", "test")


def _request(table, synthesizer="gaussian_copula", preset="quick", seed=0, device="auto",
             **overrides):
    params = resolve_params(synthesizer, preset, overrides or None, rows=280)
    return TrainingRequest(
        data_fingerprint=table.fingerprint, dataset_name=table.name, schema=table.schema,
        synthesizer=synthesizer, preset=preset, params=params, seed=seed, device=device,
        split=SplitSpec(target=table.target),
    )


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


# --------------------------------------------------------------------------- configuration


def test_the_environment_chooses_the_backend_and_wins_over_secrets(tmp_path):
    secrets = tmp_path / "secrets.toml"
    assert job_backend_config({}, secrets).backend == "local"
    ray = job_backend_config({"RAY_ADDRESS": "ray://head:10001"}, secrets)
    assert (ray.backend, ray.ray_address, ray.connect_timeout) == ("ray", "ray://head:10001", 10)
    assert job_backend_config({"STUDIO_JOB_BACKEND": "ray"}, secrets).ray_address == "auto"
    explicit = job_backend_config({"STUDIO_JOB_BACKEND": "local", "RAY_ADDRESS": "x:1"}, secrets)
    assert explicit.backend == "local"

    secrets.write_text('[studio]\njob_backend = "ray"\nray_address = "10.0.0.5:6379"\n'
                       "ray_cpus_per_job = 8\n")
    from_file = job_backend_config({}, secrets)
    assert (from_file.backend, from_file.ray_address, from_file.cpus_per_job) == (
        "ray", "10.0.0.5:6379", 8)
    assert job_backend_config({"STUDIO_JOB_BACKEND": "local"}, secrets).backend == "local"
    overridden = job_backend_config({"RAY_ADDRESS": "auto", "STUDIO_RAY_CONNECT_TIMEOUT": "3"},
                                    secrets)
    assert (overridden.ray_address, overridden.connect_timeout) == ("auto", 3.0)

    typo = job_backend_config({"STUDIO_JOB_BACKEND": "rey"}, secrets)
    assert typo.backend == "local" and "neither 'local' nor 'ray'" in typo.problem
    runner = make_job_runner(config=typo)
    assert isinstance(runner, LocalJobRunner) and runner.warning == typo.problem
    plain = make_job_runner(config=JobBackendConfig())
    assert isinstance(plain, LocalJobRunner) and plain.warning is None
    assert plain.describe() == "this machine"


def test_a_gpu_is_requested_when_the_user_allows_it_and_the_cluster_has_one(monkeypatch):
    import ray

    gpu_cluster = {"CPU": 24.0, "GPU": 2.0, "memory": 1e11}
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 8.0, "GPU": 2.0}},
             {"NodeID": "b", "Alive": True, "Resources": {"CPU": 16.0}},
             {"NodeID": "c", "Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]
    monkeypatch.setattr(ray, "cluster_resources", lambda: dict(gpu_cluster))
    monkeypatch.setattr(ray, "nodes", lambda: nodes)
    runner = RayJobRunner("ray://gpu-head:10001", registry=ModelRegistry(), cpus_per_job=12)
    assert runner.refresh()
    assert runner.describe() == "Ray cluster at ray://gpu-head:10001 · 2 nodes · 2 GPUs"
    assert runner.task_options("auto") == {"num_cpus": 8.0, "num_gpus": 1.0}  # the GPU node
    assert runner.task_options("cuda")["num_gpus"] == 1.0
    assert runner.task_options("cpu") == {"num_cpus": 12.0, "num_gpus": 0.0}

    launched = []
    monkeypatch.setattr(runner, "_launch",
                        lambda kind, options, status, payload, frame: launched.append(options))
    monkeypatch.setattr(runner, "_ensure_monitor", lambda: None)
    table = detect_table(make_people(60), "people.csv", "test")
    job_id = runner.start(_request(table, "ctgan", device="auto"), table.frame)
    assert launched[-1]["num_gpus"] == 1.0
    waiting = runner.status(job_id)
    assert waiting.stage == "Waiting for the cluster: a Ray worker with 8 CPUs and a GPU"
    assert (waiting.state, waiting.queue_position, waiting.measured_fraction) == (
        "queued", None, None)  # the cluster schedules: no place in a line of ours
    runner.start(_request(table, "ctgan", device="cpu"), table.frame)
    assert launched[-1]["num_gpus"] == 0.0

    gpu_cluster.pop("GPU")
    assert runner.refresh()
    assert runner.task_options("auto")["num_gpus"] == 0.0
    with pytest.raises(ParameterError, match="has no GPUs. Choose 'auto' or 'cpu'"):
        runner.start(_request(table, "ctgan", device="cuda"), table.frame)


def test_a_silent_cluster_never_blocks_the_sidebar_and_refuses_new_jobs(monkeypatch):
    import ray

    from core.jobs.ray_connect import RayUnavailableError

    release = threading.Event()
    monkeypatch.setattr(ray, "nodes", lambda: release.wait(30) and [])
    monkeypatch.setattr(ray, "cluster_resources", lambda: {})
    runner = RayJobRunner("10.9.9.9:6379", registry=ModelRegistry())
    runner.answer_timeout = 0.5
    try:
        assert runner.describe() == "Ray cluster at 10.9.9.9:6379 (waiting for its first answer)"
        assert not release.is_set()  # answered while the cluster still held its reply
        table = detect_table(make_people(60), "people.csv", "test")
        with pytest.raises(RayUnavailableError, match="is not answering, so the job was not"):
            runner.start(_request(table), table.frame)
    finally:
        release.set()


def test_cpu_requests_never_exceed_the_largest_node():
    nodes = [{"CPU": 2.0}, {"CPU": 3.0}]
    assert plan_resources("auto", {"CPU": 5.0}, nodes) == {"num_cpus": 3.0, "num_gpus": 0.0}
    assert plan_resources("cpu", {"CPU": 5.0}, nodes, cpus_per_job=1)["num_cpus"] == 1.0


def test_an_unreachable_cluster_falls_back_to_this_machine_at_once(monkeypatch):
    import ray

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    monkeypatch.delenv("STUDIO_JOB_BACKEND", raising=False)
    # A fresh server process: this test process may be connected to the suite's cluster.
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    initialised = []
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: initialised.append(kwargs))
    runner = make_job_runner()
    assert initialised == []  # the closed port was enough: ray.init was never waited on
    assert isinstance(runner, LocalJobRunner)
    assert runner.warning.startswith(
        "Ray cluster at 127.0.0.1:1 unreachable: jobs run on this machine.")
    assert runner.describe() == "this machine"


def test_the_sidebar_says_where_jobs_run_and_why_not_on_the_cluster(monkeypatch):
    import ray
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # A fresh server process: this test process may be connected to the suite's cluster.
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    monkeypatch.delenv("STUDIO_JOB_BACKEND", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not at.exception
        sidebar = " ".join(element.value for element in at.sidebar.markdown)
        assert "**Jobs run on:** this machine" in sidebar
        [warning] = [element.value for element in at.sidebar.warning]
        assert warning.startswith("Ray cluster at 127.0.0.1:1 unreachable: jobs run on this "
                                  "machine.")
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


def test_a_silent_server_does_not_hang_the_app():
    """Something listens but never answers: ray.init would wait for minutes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    script = ("from core.jobs.backend import make_job_runner; "
              "r = make_job_runner(); print(type(r).__name__); print(r.warning)")
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}", "STUDIO_RAY_CONNECT_TIMEOUT": "2",
           "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=60)
    finally:
        listener.close()
    # It came back (ray.init alone would wait for minutes) and says it gave up at the limit.
    assert done.stdout.splitlines()[0] == "LocalJobRunner", done.stderr[-2000:]
    assert f"Ray cluster at 127.0.0.1:{port} unreachable" in done.stdout
    assert "no answer within 2 s" in done.stdout


def test_the_memory_registry_keeps_models_off_the_node_disk(tmp_path):
    from core.store.registry import ModelRecord

    registry = MemoryRegistry()
    record = ModelRecord(model_id="abc", data_fingerprint="f", dataset_name="d",
                         synthesizer="ctgan", preset="quick", params={}, seed=0, device="cpu",
                         split={}, schema={}, created_at=1.0, fit_seconds=1.0, train_rows=1,
                         columns=1)
    registry.add(record, b"bytes")
    assert registry.update_scores("abc", {"quality": 0.9}).scores == {"quality": 0.9}
    assert registry.list_for_data("f") == [registry.get("abc")]
    [(text, payload)] = registry.models()
    assert ModelRecord.from_json(text).scores == {"quality": 0.9} and payload == b"bytes"


# --------------------------------------------------------------------------- a real cluster


@dataclass
class _Head:
    process: subprocess.Popen
    port: int
    temp: Path
    log: Path


@pytest.fixture(scope="module", autouse=True)
def _ray_head():
    """Start a Ray head on loopback as the module begins (the unit tests run meanwhile).

    ``ray start`` runs in a new session, so every process of the cluster is in its process
    group, and teardown ends exactly those.
    """
    temp = Path(tempfile.mkdtemp(prefix="sds-ray-", dir="/tmp"))  # short: socket paths
    port, client, dashboard, agent, metrics = _free_ports(5)
    env = {**os.environ, "RAY_TMPDIR": str(temp), "RAY_USAGE_STATS_ENABLED": "0",
           # Linux nodes announce their routable IP; this keeps the head on 127.0.0.1.
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    env.pop("RAY_ADDRESS", None)
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head",
        f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2", "--num-gpus=0",
        f"--object-store-memory={OBJECT_STORE_BYTES}", "--include-dashboard=false",
        "--disable-usage-stats", f"--temp-dir={temp}", f"--ray-client-server-port={client}",
        f"--dashboard-port={dashboard}", f"--dashboard-agent-listen-port={agent}",
        f"--metrics-export-port={metrics}",
    ]
    log = temp / "head.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    try:
        yield _Head(process, port, temp, log)
    finally:
        import ray

        ray.shutdown()
        _end_process_group(process.pid)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_address(_ray_head):
    """The head's address, once it is up (``ray start`` returns when it is ready)."""
    from ray._private import ray_constants

    try:
        _ray_head.process.wait(timeout=HEAD_START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Ray head did not start in {HEAD_START_TIMEOUT} s:\n"
                    f"{_ray_head.log.read_text()[-3000:]}")
    assert _ray_head.process.returncode == 0, _ray_head.log.read_text()[-3000:]
    patch = pytest.MonkeyPatch()
    patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)  # the driver side of the above
    try:
        yield f"127.0.0.1:{_ray_head.port}"
    finally:
        patch.undo()


def _end_process_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def runner(ray_address):
    """The runner the app would build with ``RAY_ADDRESS`` set."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_ADDRESS", ray_address)
    patch.delenv("STUDIO_JOB_BACKEND", raising=False)
    try:
        made = make_job_runner()
        assert make_job_runner() is made  # one runner per cluster: jobs outlive a new one
    finally:
        patch.undo()
    assert isinstance(made, RayJobRunner), getattr(made, "warning", None)
    assert made.warning is None
    yield made
    made.close()


def test_the_sidebar_description_names_the_cluster(runner, ray_address):
    assert runner.describe() == f"Ray cluster at {ray_address} · 1 node · 0 GPUs"


def test_a_quick_fit_runs_on_the_cluster_and_its_model_lands_here(runner, people_table):
    request = _request(people_table, seed=61)
    job_id = runner.start(request, people_table.frame, estimate_seconds=5)
    assert runner.status(job_id).state in ("queued", "running")
    status = runner.wait(job_id, timeout=120)
    assert status.state == "done", status.message
    assert status.model_id == training_key(request)
    assert "on Ray node 127.0.0.1" in status.device
    registry = ModelRegistry()
    record = registry.get(status.model_id)
    assert record is not None and record.train_rows == 280
    sample = load_synthesizer(registry, record.model_id).sample(20)["data"]  # signed here
    assert len(sample) == 20


def test_ctgan_progress_and_losses_are_visible_while_it_runs(runner, people_table):
    # Far more epochs than it needs to be seen: a short fit on one fast CPU thread can end
    # before any status is read. The test waits for the state, then stops the fit.
    epochs = 2000
    request = _request(people_table, "ctgan", seed=62, epochs=epochs, time_limit=0)
    job_id = runner.start(request, people_table.frame)

    def running_with_losses():
        status = runner.status(job_id)
        assert status.state in ("queued", "running"), status.message
        return status if status.state == "running" and status.epoch >= 2 else None

    middle = wait_until(running_with_losses, "a fit's progress while it runs", timeout=300)
    assert middle.total_epochs == epochs and 0 < middle.fraction < 1
    assert len(middle.losses["Generator Loss"]) == middle.epoch
    assert middle.stage == f"Training: epoch {middle.epoch} of {epochs}"
    assert middle.eta_seconds is not None
    runner.cancel(job_id)
    assert runner.wait(job_id, timeout=120).state == "cancelled"


def test_cancel_stops_a_cluster_fit_promptly_and_saves_nothing(runner, people_table):
    request = _request(people_table, "ctgan", seed=63, epochs=2000)
    job_id = runner.start(request, people_table.frame)
    deadline = time.monotonic() + 120
    while runner.status(job_id).epoch < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runner.status(job_id).state == "running"
    runner.cancel(job_id)
    status = runner.wait(job_id, timeout=120)
    assert status.state == "cancelled" and status.message == "Training was cancelled."
    assert status.epoch < 2000  # the fit stopped at an epoch's end, not by running out
    assert ModelRegistry().get(training_key(request)) is None


def test_a_gpu_request_on_a_cluster_without_gpus_is_refused(runner, people_table):
    with pytest.raises(ParameterError, match="has no GPUs"):
        runner.start(_request(people_table, device="cuda"), people_table.frame)


def test_a_comparison_runs_on_the_cluster_and_its_models_land_here(runner):
    table = detect_table(make_people(300), "people.csv", "test", target="churned")
    job_id = runner.start_compare(table, [("gaussian_copula", "quick")], budget=60.0, seed=4)
    status = runner.wait(job_id, timeout=120)
    assert status.state == "done", status.message
    assert status.kind == "compare" and status.fraction == 1.0
    [row] = runner.result(job_id)
    assert row["synthesizer"] == "gaussian_copula" and row["recommended"]
    record = ModelRegistry().get(row["model_id"])
    assert record is not None and record.scores["quality"] == row["quality"]
    assert "on Ray node 127.0.0.1" in record.device  # the task's device, handed to compare


def test_a_sample_and_an_evaluation_run_on_the_cluster_as_they_do_here(runner):
    from core.engine.training import run_training
    from core.workflow import evaluate_sample, model_parts, sample_model, scores_for_registry

    table = detect_table(make_people(300), "people.csv", "test", target="churned")
    registry = ModelRegistry()
    record = run_training(_request(table, seed=71), table.frame, registry=registry)
    real_train, holdout = model_parts(table, record)

    job_id = runner.start_sample(record, rows=200, seed=3, real_example=real_train)
    status = runner.status(job_id)
    if status.state == "queued":  # a fraction only once the task measures one
        assert status.stage.startswith("Waiting for the cluster") and status.fraction == 0.0
    status = runner.wait(job_id, timeout=120)
    assert status.state == "done" and status.kind == "sample", status.message
    sample = runner.result(job_id)
    assert runner.result(job_id) is None  # handed over once
    here = sample_model(load_synthesizer(registry, record.model_id), record, 200, seed=3,
                        real_example=real_train)
    pd.testing.assert_frame_equal(sample.frame, here.frame)

    job_id = runner.start_evaluation(record, sample, real_train, holdout, seed=0)
    status = runner.wait(job_id, timeout=120)
    assert status.state == "done" and status.measured_fraction == 1.0, status.message
    assert status.wall_seconds is not None
    evaluation = runner.result(job_id)
    expected = evaluate_sample(record, here, real_train, holdout, seed=0)
    assert scores_for_registry(evaluation) == scores_for_registry(expected)


def test_related_tables_fit_sample_and_evaluate_on_the_cluster(runner):
    from core.data.related import dependency_order
    from core.related_workflow import related_frames, related_parts, related_request_of
    from tests.test_related_jobs import two_tables

    related = two_tables(seed=5)
    job_id = runner.start_related(related, "hma", "quick", seed=8, estimate_seconds=5)
    status = runner.wait(job_id, timeout=180)
    assert status.state == "done" and status.kind == "related", status.message
    record = ModelRegistry().get(status.model_id)
    assert record is not None and record.shape == "related"
    assert "on Ray node 127.0.0.1" in record.device

    job_id = runner.start_related_sample(record, scale=1.0, seed=2)
    status = runner.wait(job_id, timeout=180)
    assert status.state == "done", status.message
    tables = runner.result(job_id)
    assert dependency_order(list(tables), related.relationships) == ["customers", "accounts"]
    assert tables["accounts"]["customer_id"].isin(tables["customers"]["customer_id"]).all()

    real_train, holdout, _ = related_parts(related_request_of(record), related_frames(related))
    job_id = runner.start_related_evaluation(record, tables, related_frames(related), seed=0)
    status = runner.wait(job_id, timeout=180)
    assert status.state == "done", status.message
    evaluation = runner.result(job_id)
    assert evaluation.as_dict()["referential_integrity"] == 1.0
    assert len(real_train["customers"]) + len(holdout["customers"]) == 30


def test_an_event_table_trains_on_the_cluster_with_whole_entities_held_out(runner):
    from core.data.schema import SequenceSpec
    from core.data.sequences import declare_sequence
    from core.workflow import plan_request
    from tests.test_sequence_engine import CONTEXT, INDEX, KEY, _events

    frame = _events(entities=24, seed=4)
    detected = detect_table(frame, "events", "test")
    table = detected.with_schema(
        declare_sequence(detected.schema, SequenceSpec(KEY, INDEX, CONTEXT), frame))
    request = plan_request(table, "par", "quick", seed=9, overrides={"epochs": 2})
    assert request.split.group == table.schema.sequence.key
    job_id = runner.start(request, table.frame, estimate_seconds=5)
    status = runner.wait(job_id, timeout=180)
    assert status.state == "done", status.message
    registry = ModelRegistry()
    record = registry.get(status.model_id)
    assert record.synthesizer == "par" and "on Ray node 127.0.0.1" in record.device
    sample = load_synthesizer(registry, record.model_id).sample_entities(6, None)
    assert sample[table.schema.sequence.key].nunique() == 6
