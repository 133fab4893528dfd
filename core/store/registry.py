"""The model registry: an embedded SQLite index plus signed model files.

Nothing needs a server: the index is one SQLite file and each model one cloudpickle file
in the data directory (``STUDIO_DATA_DIR``). A model's id is its training key, a hash of
(data fingerprint, schema, synthesizer, parameters, seed, split), so asking for the same
training again finds the stored model instead of fitting.

Every file is signed (HMAC, :mod:`core.store.signing`) when written and verified before it is
unpickled; downloads are bundles carrying their signature and the record, and an upload is
accepted only if this server signed it.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import ModelFileError
from core.store.settings import Settings, get_settings
from core.store.signing import sign, verify

__all__ = ["BUNDLE_MAGIC", "ModelRecord", "ModelRegistry"]

#: First line of a downloaded model bundle.
BUNDLE_MAGIC = b"SYNTHETIC-DATA-STUDIO-MODEL/1\n"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY,
    data_fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL,
    record_json TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS models_by_data ON models (data_fingerprint, created_at);
"""


@dataclass(frozen=True)
class ModelRecord:
    """What the registry knows about one trained model.

    Attributes:
        model_id: The training key (hex).
        data_fingerprint: Fingerprint of the full real table the model came from.
        dataset_name: Display name of that table.
        synthesizer: Synthesizer key ("ctgan").
        preset: Preset the parameters started from ("custom" if edited).
        params: Resolved parameters.
        seed: Seed of the fit.
        device: Label of the device it trained on.
        split: The :class:`~core.data.splitting.SplitSpec` as a dict.
        schema: ``TableSchema.fingerprint_dict()`` it was trained with.
        created_at: Unix time the fit finished.
        fit_seconds: Wall-clock fitting time.
        train_rows: Rows the synthesizer saw.
        columns: Columns it produces.
        epochs_run: Epochs actually run (deep models), else None.
        stopped_early: True if early stopping ended the fit.
        final_loss: Last loss values by name.
        scores: Evaluation scores filled in later ({"quality": 0.87, ...}).
        losses: Per-epoch loss history, column name -> values.
        notes: What the fit decided on its own, in plain sentences.
        title: The synthesizer's display name ("CTGAN"), written by the trainer so the
            store need not know the catalogue; older records fall back to the key.
    """

    model_id: str
    data_fingerprint: str
    dataset_name: str
    synthesizer: str
    preset: str
    params: dict[str, Any]
    seed: int
    device: str
    split: dict[str, Any]
    schema: dict[str, Any]
    created_at: float
    fit_seconds: float
    train_rows: int
    columns: int
    epochs_run: int | None = None
    stopped_early: bool = False
    final_loss: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    losses: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    title: str = ""

    @property
    def label(self) -> str:
        """"CTGAN · balanced · seed 42"."""
        return f"{self.title or self.synthesizer} · {self.preset} · seed {self.seed}"

    def to_json(self) -> str:
        """Serialise (tuples become lists)."""
        return json.dumps(asdict(self), sort_keys=True, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> ModelRecord:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})

    def loss_frame(self) -> pd.DataFrame:
        """The loss history as a frame with an ``Epoch`` column."""
        return pd.DataFrame(self.losses)


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple | set):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ModelRegistry:
    """SQLite index + signed files under ``settings.data_dir``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    # ----------------------------------------------------------------- plumbing

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.settings.models_dir.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.settings.registry_path, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            with connection:
                yield connection
        finally:
            connection.close()

    def model_path(self, model_id: str) -> Path:
        """Where the model file of ``model_id`` lives."""
        if not model_id.isalnum():
            raise ModelFileError(f"'{model_id}' is not a valid model id.")
        return self.settings.models_dir / f"{model_id}.pkl"

    # ----------------------------------------------------------------- reading

    def get(self, model_id: str) -> ModelRecord | None:
        """The record of ``model_id``, or None if unknown or its file is gone."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT record_json FROM models WHERE model_id = ?", (model_id,)
            ).fetchone()
        if row is None or not self.model_path(model_id).exists():
            return None
        return ModelRecord.from_json(row[0])

    def list_for_data(self, data_fingerprint: str) -> list[ModelRecord]:
        """Models trained on the table with this fingerprint, newest first.

        A session only ever holds fingerprints of data it loaded itself, so it can only
        list models of its own data.
        """
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT model_id, record_json FROM models WHERE data_fingerprint = ? "
                "ORDER BY created_at DESC",
                (data_fingerprint,),
            ).fetchall()
        return [
            ModelRecord.from_json(text)
            for model_id, text in rows
            if self.model_path(model_id).exists()
        ]

    # ----------------------------------------------------------------- writing

    def add(self, record: ModelRecord, model_bytes: bytes) -> ModelRecord:
        """Store a fitted model's bytes (cloudpickle) and its record, signed.

        The file is written to a temporary name and renamed, so a crash never leaves a
        half-written model behind a valid index entry.
        """
        path = self.model_path(record.model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        temporary.write_bytes(model_bytes)
        os.replace(temporary, path)
        signature = sign(model_bytes, self.settings)
        with self._connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
                (record.model_id, record.data_fingerprint, record.created_at,
                 record.to_json(), signature),
            )
        return record

    def update_scores(self, model_id: str, scores: dict[str, float]) -> ModelRecord | None:
        """Merge evaluation scores into a record (shown in the Models list)."""
        record = self.get(model_id)
        if record is None:
            return None
        updated = replace(record, scores={**record.scores, **scores})
        with self._connect() as connection:
            connection.execute(
                "UPDATE models SET record_json = ? WHERE model_id = ?",
                (updated.to_json(), model_id),
            )
        return updated

    def delete(self, model_id: str) -> None:
        """Remove a model's file and record."""
        self.model_path(model_id).unlink(missing_ok=True)
        with self._connect() as connection:
            connection.execute("DELETE FROM models WHERE model_id = ?", (model_id,))

    # ----------------------------------------------------------------- loading

    def _signature(self, model_id: str) -> str:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT signature FROM models WHERE model_id = ?", (model_id,)
            ).fetchone()
        if row is None:
            raise ModelFileError(f"Model {model_id} is not in the registry; train it again.")
        return str(row[0])

    def verified_model_bytes(self, model_id: str) -> bytes:
        """A stored model's bytes, after checking its signature (never unpickled here).

        ``core.engine.models.load_synthesizer`` unpickles them.

        Raises:
            ModelFileError: The file is missing or does not match its signature.
        """
        path = self.model_path(model_id)
        if not path.exists():
            raise ModelFileError(
                f"The file of model {model_id} is missing from {path.parent}. Train it again."
            )
        payload = path.read_bytes()
        if not verify(payload, self._signature(model_id), self.settings):
            raise ModelFileError(
                f"The file of model {model_id} was changed after this server wrote it, so it "
                "was not loaded (loading a model runs code). Delete it and train again."
            )
        return payload

    # ----------------------------------------------------------------- bundles

    def export_bundle(self, model_id: str) -> bytes:
        """A single downloadable file: magic line, signed header line, model bytes."""
        record = self.get(model_id)
        if record is None:
            raise ModelFileError(f"Model {model_id} is not in the registry.")
        payload = self.model_path(model_id).read_bytes()
        header = record.to_json().encode()
        signature = sign(header + b"\n" + payload, self.settings)
        envelope = json.dumps({"signature": signature}).encode()
        return BUNDLE_MAGIC + envelope + b"\n" + header + b"\n" + payload

    def import_bundle(self, data: bytes, expected_fingerprint: str | None = None) -> ModelRecord:
        """Accept a bundle this server signed; refuse anything else before unpickling.

        Bundles from another server are accepted only if it shares ``STUDIO_SECRET``.

        Args:
            data: The uploaded file.
            expected_fingerprint: If given, the model must have been trained on the table
                with this fingerprint (a session never takes in models of other data).

        Raises:
            ModelFileError: Not a bundle, unsigned, signed by someone else, tampered, or
                trained on another table.
        """
        if not data.startswith(BUNDLE_MAGIC):
            raise ModelFileError(
                "This is not a Synthetic Data Studio model file. Only models downloaded from "
                "this studio can be uploaded (loading other files could run their code)."
            )
        stream = io.BytesIO(data[len(BUNDLE_MAGIC):])
        try:
            envelope = json.loads(stream.readline())
            header = stream.readline().rstrip(b"\n")
            payload = stream.read()
            signature = str(envelope["signature"])
            record = ModelRecord.from_json(header.decode())
        except (ValueError, KeyError, TypeError) as error:
            raise ModelFileError(
                "The model file is damaged (its header cannot be read). Download it again."
            ) from error
        if not verify(header + b"\n" + payload, signature, self.settings):
            raise ModelFileError(
                "The model file's signature does not match: it was changed, or it was made by "
                "another server. It was refused without being loaded."
            )
        if expected_fingerprint is not None and record.data_fingerprint != expected_fingerprint:
            raise ModelFileError(
                f"This model was trained on another table ('{record.dataset_name}'). Load "
                "that table on the Data page first, then upload the model again."
            )
        self.add(replace(record, created_at=record.created_at or time.time()), payload)
        return record
