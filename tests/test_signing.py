"""The signing key and model signatures: a weak key is refused, a forged bundle never loads."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import ConfigurationError, ModelFileError
from core.store.registry import BUNDLE_MAGIC, ModelRecord, ModelRegistry
from core.store.settings import SECRET_BYTES, Settings, get_settings, load_or_create_secret
from core.store.signing import sign, verify


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("STUDIO_SECRET", raising=False)
    return replace(get_settings(), data_dir=tmp_path / "data")


def _record() -> ModelRecord:
    return ModelRecord(
        model_id="m1", data_fingerprint="f", dataset_name="t.csv", synthesizer="gaussian_copula",
        preset="quick", params={}, seed=0, device="CPU", split={}, schema={}, created_at=1.0,
        fit_seconds=0.1, train_rows=10, columns=2)


def test_a_new_key_is_32_random_bytes_readable_only_by_the_server(settings):
    key = load_or_create_secret(settings)
    assert len(key) == SECRET_BYTES
    assert stat.S_IMODE(settings.secret_path.stat().st_mode) == 0o600
    assert load_or_create_secret(settings) == key  # the same key on the next start
    assert [p.name for p in settings.secret_path.parent.iterdir()] == ["secret.key"]  # no temp


@pytest.mark.parametrize("content", [b"", b"short key"])
def test_an_empty_or_short_key_file_is_refused_with_a_message(settings, content):
    settings.secret_path.parent.mkdir(parents=True)
    settings.secret_path.write_bytes(content)
    with pytest.raises(ConfigurationError, match="fewer than 32"):
        sign(b"model", settings)
    with pytest.raises(ConfigurationError):
        verify(b"model", hmac.new(content, b"model", hashlib.sha256).hexdigest(), settings)


@pytest.mark.parametrize("value", ["", "not hex at all", "ab" * 31, "a" * 80 + "zz"])
def test_studio_secret_must_be_32_bytes_of_hex(settings, monkeypatch, value):
    monkeypatch.setenv("STUDIO_SECRET", value)
    with pytest.raises(ConfigurationError, match="STUDIO_SECRET"):
        load_or_create_secret(settings)


def test_a_good_studio_secret_is_used_as_bytes(settings, monkeypatch):
    monkeypatch.setenv("STUDIO_SECRET", "0f" * 32)
    assert load_or_create_secret(settings) == bytes.fromhex("0f" * 32)
    assert not settings.secret_path.exists()


def _forged_bundle(key: bytes, signature: str | None = None) -> bytes:
    header = _record().to_json().encode()
    payload = b"a pickle that would run code"
    signature = signature or hmac.new(key, header + b"\n" + payload, hashlib.sha256).hexdigest()
    return (BUNDLE_MAGIC + json.dumps({"signature": signature}).encode() + b"\n" + header
            + b"\n" + payload)


@pytest.mark.parametrize("signature", [None, "é" * 64, "00"])
def test_a_bundle_forged_with_an_empty_key_or_a_bad_signature_is_refused(settings, signature):
    registry = ModelRegistry(settings)
    with pytest.raises(ModelFileError, match="signature does not match"):
        registry.import_bundle(_forged_bundle(b"", signature))
    assert registry.get("m1") is None
