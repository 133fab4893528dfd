"""The model store heals and never half-replaces: a damaged index is rebuilt from the signed
model files, a model file and its signature change together, a malformed file is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.errors import ModelFileError
from core.store.registry import BUNDLE_MAGIC, DEFAULT_WORKSPACE, ModelRecord, ModelRegistry
from core.store.settings import Settings, get_settings
from core.store.signing import sign
from tests.helpers import shown

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("STUDIO_SECRET", raising=False)
    return Settings(data_dir=tmp_path / "data", max_upload_mb=10, sample_data_dir=tmp_path)


def _record(number: int, fingerprint: str = "fp1", **changes) -> ModelRecord:
    record = ModelRecord(
        model_id=f"m{number}", data_fingerprint=fingerprint, dataset_name="loans.csv",
        synthesizer="gaussian_copula", title="Gaussian Copula", preset="quick",
        params={"default_distribution": "beta"}, seed=number, device="CPU",
        split={"test_size": 0.3, "seed": 0, "target": None}, schema={"columns": []},
        created_at=1000.0 + number, fit_seconds=0.5, train_rows=100, columns=4,
        notes=["A note long enough to give the index a few pages. " * 8])
    return replace(record, **changes)


def _fill(registry: ModelRegistry, count: int) -> list[str]:
    ids = []
    for number in range(count):
        registry.add(_record(number), f"model bytes {number}".encode() * 50)
        ids.append(f"m{number}")
    return ids


def _listed(registry: ModelRegistry, fingerprint: str = "fp1") -> list[str]:
    return sorted(record.model_id for record in registry.list_for_data(fingerprint))


# --------------------------------------------------------------------------- healing


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "overwritten"])
def test_a_damaged_registry_is_moved_aside_and_rebuilt_from_the_model_files(settings, damage):
    registry = ModelRegistry(settings)
    ids = _fill(registry, 30)
    path = settings.registry_path
    content = path.read_bytes()
    assert len(content) > 4 * 4096  # several pages, so half of it loses some
    path.write_bytes({"zero bytes": b"",
                      "truncated": content[: len(content) // 2],
                      "overwritten": os.urandom(len(content))}[damage])

    # A registry opened now (a new page run, a worker) lists every model again.
    assert _listed(ModelRegistry(settings)) == sorted(ids)
    message = ModelRegistry(settings).healed_message
    assert message is not None and "rebuilt from the signed model files" in message
    assert "30 models listed again" in message
    kept = [p.name for p in path.parent.iterdir() if p.name.startswith(path.name + ".corrupt-")]
    assert len(kept) == 1 and kept[0] in message
    assert registry.verified_model_bytes("m3") == b"model bytes 3" * 50
    # And the rebuilt index works as before.
    registry.add(_record(99), b"new")
    assert "m99" in _listed(registry)


def test_a_registry_damaged_while_in_use_heals_on_the_next_call(settings):
    registry = ModelRegistry(settings)
    ids = _fill(registry, 20)
    assert _listed(registry) == sorted(ids)
    settings.registry_path.write_bytes(b"")  # under a running server
    assert _listed(registry) == sorted(ids)
    assert "was empty" in registry.healed_message


def test_a_model_file_that_fails_its_check_stays_out_of_the_rebuilt_index(settings):
    registry = ModelRegistry(settings)
    _fill(registry, 3)
    tampered = registry.model_path("m1")
    tampered.write_bytes(tampered.read_bytes().replace(b"model bytes 1", b"model bytez 1"))
    settings.registry_path.write_bytes(b"")
    assert _listed(registry) == ["m0", "m2"]
    assert "1 file failed the check" in registry.healed_message


def test_a_missing_registry_is_rebuilt_from_the_files_of_every_workspace(settings):
    ours, theirs = ModelRegistry(settings, "aaaa1111"), ModelRegistry(settings, "bbbb2222")
    ours.add(_record(1), b"ours")
    theirs.add(_record(2), b"theirs")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{settings.registry_path}{suffix}").unlink(missing_ok=True)
    assert _listed(ours) == ["m1"] and _listed(theirs) == ["m2"]


def test_the_train_page_says_the_registry_healed_and_lists_the_model_again():
    from ui.state import workspace_id_of

    st.cache_data.clear()
    st.cache_resource.clear()
    token = secrets.token_urlsafe(16)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = token
    at.run()
    at.button(key="load_sample_loans").click().run()
    table = at.session_state["studio.dataset"]
    registry = ModelRegistry(workspace=workspace_id_of(token))
    registry.add(_record(7, table.fingerprint, model_id="healme7"), b"not loaded here")
    path = get_settings().registry_path
    path.write_bytes(path.read_bytes()[:1024])  # a torn write

    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    notices = [shown(info.value) for info in at.info]
    assert any("rebuilt from the signed model files" in text for text in notices), notices
    assert "healme7" in at.dataframe[-1].value["id"].tolist()


# --------------------------------------------------------------------------- before workspaces


def test_an_index_from_before_workspaces_moves_to_the_command_line_workspace(settings):
    """Old models stay the operator's (the CLI reuses them); no browser workspace sees them."""
    settings.models_dir.mkdir(parents=True)
    connection = sqlite3.connect(settings.registry_path)
    connection.executescript(
        "CREATE TABLE models (model_id TEXT PRIMARY KEY, data_fingerprint TEXT NOT NULL, "
        "created_at REAL NOT NULL, record_json TEXT NOT NULL, signature TEXT NOT NULL);")
    for number, payload in ((1, b"old model one"), (2, b"old model two")):
        record = _record(number)
        (settings.models_dir / f"m{number}.pkl").write_bytes(payload)
        signature = sign(payload if number == 1 else b"something else", settings)
        connection.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?)",
                           (record.model_id, "fp1", record.created_at, record.to_json(),
                            signature))
    connection.commit()
    connection.close()

    cli = ModelRegistry(settings)
    assert cli.workspace == DEFAULT_WORKSPACE
    assert _listed(cli) == ["m1"]  # m2's file did not match its signature
    assert cli.verified_model_bytes("m1") == b"old model one"
    assert not (settings.models_dir / "m1.pkl").exists()  # now a signed file of its own
    assert _listed(ModelRegistry(settings, "aaaa1111")) == []


# --------------------------------------------------------------------------- atomic replace


def test_a_reader_never_sees_a_false_change_while_a_model_is_saved_again(settings):
    """Fitting the same request again replaces the file; a page loading it meanwhile must get
    the old model or the new one, never "this file was changed"."""
    writer_registry, reader_registry = ModelRegistry(settings), ModelRegistry(settings)
    versions = [bytes([number]) * (20_000 + 5_000 * number) for number in range(4)]
    record = _record(1)
    writer_registry.add(record, versions[0])
    refusals: list[str] = []
    done = threading.Event()

    def save_again() -> None:
        try:
            for round_ in range(120):
                writer_registry.add(replace(record, created_at=2000.0 + round_),
                                    versions[round_ % len(versions)])
        finally:
            done.set()

    def load() -> int:
        loads = 0
        while not done.is_set() or loads == 0:
            try:
                assert reader_registry.verified_model_bytes(record.model_id) in versions
            except ModelFileError as error:
                refusals.append(str(error))
            loads += 1
        return loads

    writer = threading.Thread(target=save_again)
    writer.start()
    loads = load()
    writer.join()
    assert loads > 1
    assert refusals == [], f"{len(refusals)} of {loads} loads refused: {refusals[:1]}"


# --------------------------------------------------------------------------- malformed files


def _bundle(settings: Settings, header: bytes, envelope: object = None,
            payload: bytes = b"pickle") -> bytes:
    if envelope is None:
        envelope = {"signature": sign(header + b"\n" + payload, settings)}
    return BUNDLE_MAGIC + json.dumps(envelope).encode() + b"\n" + header + b"\n" + payload


_GOOD_HEADER = _record(5).to_json().encode()
_MISSING_FIELD = json.dumps({k: v for k, v in json.loads(_GOOD_HEADER).items()
                             if k != "seed"}).encode()
_WRONG_TYPE = json.dumps({**json.loads(_GOOD_HEADER), "seed": "seven"}).encode()
_BAD_ID = json.dumps({**json.loads(_GOOD_HEADER), "model_id": "../../x"}).encode()


@pytest.mark.parametrize("make", [
    pytest.param(lambda s: BUNDLE_MAGIC, id="only the first line"),
    pytest.param(lambda s: BUNDLE_MAGIC + b'{"signature": "00"}', id="truncated envelope"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER)[:len(BUNDLE_MAGIC) + 40], id="truncated"),
    pytest.param(lambda s: BUNDLE_MAGIC + b"{not json\n" + _GOOD_HEADER + b"\nx", id="bad json"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope="a string"),
                 id="envelope is a string"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope=[1, 2]), id="envelope is a list"),
    pytest.param(lambda s: BUNDLE_MAGIC + b"null\n" + _GOOD_HEADER + b"\nx", id="envelope null"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope={}), id="no signature"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope={"signature": 12345}),
                 id="signature is a number"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope={"signature": "é" * 64}),
                 id="non-ASCII signature"),
    pytest.param(lambda s: _bundle(s, _GOOD_HEADER, envelope={"signature": "\udcff" * 64}),
                 id="lone surrogate signature"),
    pytest.param(lambda s: _bundle(s, b"null"), id="signed header is null"),
    pytest.param(lambda s: _bundle(s, b"\xff\xfe"), id="signed header is not UTF-8"),
    pytest.param(lambda s: _bundle(s, _MISSING_FIELD), id="signed header misses a field"),
    pytest.param(lambda s: _bundle(s, _WRONG_TYPE), id="signed header has a wrong type"),
    pytest.param(lambda s: _bundle(s, _BAD_ID), id="signed header names a path"),
])
def test_every_malformed_bundle_is_refused_cleanly(settings, make):
    registry = ModelRegistry(settings)
    with pytest.raises(ModelFileError):
        registry.import_bundle(make(settings))
    assert _listed(registry, _record(5).data_fingerprint) == []
    # The same bundle, well formed, is accepted: the refusal was about the malformation.
    record = registry.import_bundle(_bundle(settings, _GOOD_HEADER))
    assert record.model_id == "m5" and registry.verified_model_bytes("m5") == b"pickle"
