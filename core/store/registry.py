"""The model registry: signed model files, per workspace, indexed by an embedded SQLite file.

Nothing needs a server. Each model is one file in the data directory (``STUDIO_DATA_DIR``),
``models/<workspace>/<model id>.model``, and the file is the truth: its record (settings,
timings, scores), the pickled synthesizer and one HMAC signature (:mod:`core.store.signing`)
over both and over the workspace. It is written to a temporary file, flushed and renamed,
so a reader sees the old file or the new one, never a model with another model's
signature. ``registry.sqlite3`` only indexes the files for fast listing; if it is damaged
or emptied, it is moved aside and rebuilt from the signed files (:attr:`healed_message`).

A model's id is its training key, a hash of (data fingerprint, schema, synthesizer,
parameters, seed, split), so asking for the same training again finds the stored model
instead of fitting. Models belong to a workspace (docs/ARCHITECTURE.md, "Where state
lives"): a :class:`ModelRegistry` lists, loads and deletes only its own workspace's models,
and two workspaces training the same request each keep their own file. The command line
uses :data:`DEFAULT_WORKSPACE`.

Loading a model unpickles it, and unpickling runs code, so a file is verified before its
bytes leave the registry; downloads are bundles carrying the record and a signature, and an
upload is accepted only if this server (or one sharing ``STUDIO_SECRET``) signed it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pandas as pd

from core.errors import ModelFileError
from core.store.settings import Settings, get_settings
from core.store.signing import sign, verify

__all__ = [
    "BUNDLE_MAGIC",
    "DEFAULT_WORKSPACE",
    "STORED_MAGIC",
    "ModelRecord",
    "ModelRegistry",
    "is_workspace_id",
]

_LOG = logging.getLogger("studio.registry")

#: First line of a downloaded model bundle.
BUNDLE_MAGIC = b"SYNTHETIC-DATA-STUDIO-MODEL/1\n"
#: First line of a stored model file (never accepted as an upload: it names a workspace).
STORED_MAGIC = b"SYNTHETIC-DATA-STUDIO-STORED-MODEL/1\n"
#: The workspace of the command line (and of models stored before workspaces existed).
DEFAULT_WORKSPACE = "cli"

_WORKSPACE_ID = re.compile(r"[a-z0-9]{3,64}")
_MODEL_SUFFIX = ".model"
_LEGACY_SUFFIX = ".pkl"
_SCHEMA_VERSION = 2
_SCHEMA = (
    """CREATE TABLE models (
        workspace TEXT NOT NULL,
        model_id TEXT NOT NULL,
        data_fingerprint TEXT NOT NULL,
        created_at REAL NOT NULL,
        record_json TEXT NOT NULL,
        PRIMARY KEY (workspace, model_id)
    )""",
    "CREATE INDEX models_by_data ON models (workspace, data_fingerprint, created_at)",
    f"PRAGMA user_version = {_SCHEMA_VERSION}",
)
# SQLite result codes (the low byte of sqlite_errorcode) that mean the index file itself is
# unusable: it is then rebuilt from the model files.
_SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 14, 26

_T = TypeVar("_T")


def is_workspace_id(value: object) -> bool:
    """True for a workspace id the registry accepts (3-64 lowercase letters and digits).

    Workspace ids name folders and index rows, so nothing else ever reaches a path.
    """
    return isinstance(value, str) and _WORKSPACE_ID.fullmatch(value) is not None


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
        epsilon_spent: The differential-privacy ε the kept model actually spent (training
            plus the paid-for value ranges), None for a model without differential privacy
            (older records load as None). The asked-for ε and δ stay in ``params``.
        delta: The δ that ``epsilon_spent`` holds with, None without differential privacy.
        shape: What the model learned: "table" (one table; older records load so) or
            "related" (several tables joined by keys, ``core.engine.multi_table``: its
            ``schema`` is ``{"tables": {name: fingerprint dict}, "relationships": [...]}``
            and its ``split`` is by root entity). Single-table screens never list
            related models, nor the related screens single-table ones.
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
    epsilon_spent: float | None = None
    delta: float | None = None
    shape: str = "table"

    @property
    def label(self) -> str:
        """"CTGAN · balanced · seed 42"."""
        return f"{self.title or self.synthesizer} · {self.preset} · seed {self.seed}"

    @property
    def privacy_label(self) -> str | None:
        """"DP ε = 2.9 (δ 1e-5)" for a differentially private model, else None."""
        if self.epsilon_spent is None:
            return None
        return (f"DP ε = {self.epsilon_spent:.2g}"
                + (f" (δ {self.delta:.0e})".replace("e-0", "e-") if self.delta is not None
                   else ""))

    def to_json(self) -> str:
        """Serialise (tuples become lists)."""
        return json.dumps(asdict(self), sort_keys=True, default=_json_default)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelRecord:
        """Inverse of :meth:`to_json` (unknown keys are ignored).

        Raises:
            ValueError: Not JSON, not an object, a required field missing, a field of the
                wrong type, or a model id that is not letters and digits.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a model record is a JSON object")
        known = {key: value for key, value in data.items() if key in _FIELD_TYPES}
        missing = [name for name in _REQUIRED_FIELDS if name not in known]
        if missing:
            raise ValueError(f"missing fields: {', '.join(missing)}")
        for name, value in known.items():
            if not isinstance(value, _FIELD_TYPES[name]):
                raise ValueError(f"field {name} has the wrong type")
        if not known["model_id"].isalnum():
            raise ValueError("the model id is not letters and digits")
        return cls(**known)

    def loss_frame(self) -> pd.DataFrame:
        """The loss history as a frame with an ``Epoch`` column."""
        return pd.DataFrame(self.losses)


_NUMBER = (int, float)
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "model_id": str, "data_fingerprint": str, "dataset_name": str, "synthesizer": str,
    "preset": str, "params": dict, "seed": int, "device": str, "split": dict, "schema": dict,
    "created_at": _NUMBER, "fit_seconds": _NUMBER, "train_rows": int, "columns": int,
    "epochs_run": (int, types.NoneType), "stopped_early": bool, "final_loss": dict,
    "scores": dict, "losses": dict, "notes": list, "title": str,
    "epsilon_spent": (*_NUMBER, types.NoneType), "delta": (*_NUMBER, types.NoneType),
    "shape": str,
}
_REQUIRED_FIELDS = [name for name, spec in ModelRecord.__dataclass_fields__.items()
                    if spec.default is MISSING and spec.default_factory is MISSING]


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple | set):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _split_bundle(data: bytes, magic: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(envelope, header line, payload) of a bundle or stored file that starts with ``magic``.

    Raises:
        ValueError: Truncated, or the envelope is not a JSON object.
    """
    envelope_line, found, rest = data[len(magic):].partition(b"\n")
    header, found_header, payload = rest.partition(b"\n")
    if not found or not found_header:
        raise ValueError("truncated")
    envelope = json.loads(envelope_line)
    if not isinstance(envelope, dict):
        raise ValueError("the envelope is not a JSON object")
    return envelope, header, payload


@dataclass
class _IndexState:
    """What this process knows about one index file (shared by every registry on it)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: bool = False
    notice: str | None = None
    #: (inode, size) of the file when it was last checked: SQLite never shrinks it (no
    #: auto-vacuum) nor replaces it, so a smaller or another file is checked again.
    seen: tuple[int, int] | None = None

    def still_good(self, path: Path) -> bool:
        """True if the index checked earlier is still the same, not truncated, file."""
        if not self.ready or self.seen is None:
            return False
        try:
            status = path.stat()
        except OSError:
            return False
        if status.st_ino != self.seen[0] or status.st_size < self.seen[1]:
            return False
        self.seen = (status.st_ino, status.st_size)
        return True

    def remember(self, path: Path) -> None:
        """Note the file just checked."""
        status = path.stat()
        self.seen = (status.st_ino, status.st_size)
        self.ready = True


_INDEXES: dict[Path, _IndexState] = {}
_INDEXES_LOCK = threading.Lock()


def _index_state(path: Path) -> _IndexState:
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(path, _IndexState())


def _is_damage(error: sqlite3.Error) -> bool:
    """True if ``error`` says the index file is unusable (rather than, say, busy)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return code in (_SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB) or (
        "no such table" in str(error))


class ModelRegistry:
    """Signed model files of one workspace under ``settings.data_dir``, and their index.

    Attributes:
        settings: Where the files and the index live.
        workspace: The workspace this registry lists, loads, stores and deletes in.
    """

    def __init__(self, settings: Settings | None = None, workspace: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.workspace = workspace or DEFAULT_WORKSPACE
        if not is_workspace_id(self.workspace):
            raise ModelFileError("That is not a valid workspace.")

    def for_workspace(self, workspace: str | None) -> ModelRegistry:
        """The same store as another workspace sees it."""
        return ModelRegistry(self.settings, workspace)

    @property
    def healed_message(self) -> str | None:
        """What this process repaired in the index, in plain words (None if nothing)."""
        return _index_state(self.settings.registry_path).notice

    # ----------------------------------------------------------------- the index

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Between processes: one at a time checks, creates, migrates or rebuilds the index."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.settings.data_dir / ".registry.lock",
                             os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def _open(self, create: bool = False) -> sqlite3.Connection:
        """A connection to the index; only :meth:`_prepare` may create the file."""
        path = self.settings.registry_path
        mode = "rwc" if create else "rw"
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True,
                                     timeout=30, isolation_level=None)
        connection.execute("PRAGMA busy_timeout = 30000")
        return connection

    def _ensure_index(self) -> None:
        """Check the index once per process (and again if the file shrank or was replaced)."""
        path = self.settings.registry_path
        state = _index_state(path)
        if state.still_good(path):
            return
        with state.lock:
            if state.still_good(path):
                return
            self.settings.models_dir.mkdir(parents=True, exist_ok=True)
            with self._file_lock():
                self._prepare(state)
                state.remember(path)

    def _diagnose(self) -> str | None:
        """None if the index is usable, else "missing", "empty", "damaged" or "old"."""
        if not self.settings.registry_path.exists():
            return "missing"
        try:
            connection = self._open()
        except sqlite3.Error:
            return "damaged"
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                return "damaged"
            if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                  "AND name = 'models'").fetchone() is None:
                return "empty"
            columns = {row[1] for row in connection.execute("PRAGMA table_info(models)")}
            return None if "workspace" in columns else "old"
        except sqlite3.DatabaseError as error:
            if _is_damage(error):
                return "damaged"
            raise
        finally:
            connection.close()

    def _prepare(self, state: _IndexState) -> None:
        """Create, migrate or rebuild the index (under the file lock)."""
        problem = self._diagnose()
        if problem is None:
            return
        if problem == "old":
            self._migrate()
            return
        aside = self._move_aside() if problem in ("empty", "damaged") else None
        connection = self._open(create=True)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                connection.execute(statement)
            recovered, refused = self._reindex(connection)
            connection.execute("COMMIT")
        finally:
            connection.close()
        if aside is None and not recovered:
            return  # a first start: nothing was lost
        message = (f"The model index was {problem}, so it was rebuilt from the signed model "
                   f"files: {recovered} model{'s' if recovered != 1 else ''} listed again.")
        if refused:
            message += f" {refused} file{'s' if refused != 1 else ''} failed the check and "
            message += "stayed out."
        if aside is not None:
            message += f" The old index was kept as {aside.name}."
        state.notice = message
        _LOG.warning("%s (%s)", message, self.settings.registry_path)

    def _move_aside(self) -> Path:
        """Rename the unusable index (and its WAL files) to ``registry.sqlite3.corrupt-<time>``."""
        path = self.settings.registry_path
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        number = 1
        while aside.exists():
            number += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                os.replace(companion, aside.with_name(aside.name + suffix))
        return aside

    def _reindex(self, connection: sqlite3.Connection) -> tuple[int, int]:
        """Index every model file that passes its signature check; (indexed, refused)."""
        recovered = refused = 0
        for folder in sorted(self.settings.models_dir.iterdir()):
            if not folder.is_dir() or not is_workspace_id(folder.name):
                continue
            reader = self.for_workspace(folder.name)
            for path in sorted(folder.glob(f"*{_MODEL_SUFFIX}")):
                try:
                    record, _payload = reader._read_file(path.stem, path)
                except ModelFileError:
                    refused += 1
                    continue
                connection.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
                                   (folder.name, record.model_id, record.data_fingerprint,
                                    record.created_at, record.to_json()))
                recovered += 1
        return recovered, refused

    def _migrate(self) -> None:
        """Move an index from before workspaces to this layout (under the file lock).

        Its models belong to :data:`DEFAULT_WORKSPACE`: the operator who owns the data
        directory keeps them for the command line; no browser workspace sees them. Each
        bare pickle that still matches the signature its row held becomes a signed file.
        """
        connection = self._open()
        moved: list[Path] = []
        dropped = 0
        legacy = self.for_workspace(DEFAULT_WORKSPACE)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ALTER TABLE models RENAME TO models_before_workspaces")
            connection.execute("DROP INDEX IF EXISTS models_by_data")
            for statement in _SCHEMA:
                connection.execute(statement)
            rows = connection.execute(
                "SELECT model_id, record_json, signature FROM models_before_workspaces"
            ).fetchall()
            for model_id, record_json, signature in rows:
                old = self.settings.models_dir / f"{model_id}{_LEGACY_SUFFIX}"
                try:
                    record = ModelRecord.from_json(record_json)
                    payload = old.read_bytes()
                except (OSError, ValueError):
                    dropped += 1
                    continue
                if record.model_id != model_id or not verify(payload, signature, self.settings):
                    dropped += 1
                    continue
                legacy._write_file(record, payload)
                connection.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
                                   (DEFAULT_WORKSPACE, record.model_id,
                                    record.data_fingerprint, record.created_at,
                                    record.to_json()))
                moved.append(old)
            connection.execute("DROP TABLE models_before_workspaces")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()
        for old in moved:
            old.unlink(missing_ok=True)
        if dropped:
            _LOG.warning("%d model(s) from before workspaces failed their signature check "
                         "and were left out of the index", dropped)

    def _query(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one transaction; a damaged index is rebuilt once and retried.

        Raises:
            ModelFileError: The index cannot be used (e.g. the disk is full or read-only).
        """
        for attempt in (1, 2):
            try:
                self._ensure_index()
                connection = self._open()
                try:
                    connection.execute("BEGIN")
                    result = work(connection)
                    connection.execute("COMMIT")
                    return result
                finally:
                    connection.close()
            except sqlite3.Error as error:
                if attempt == 1 and _is_damage(error):
                    _index_state(self.settings.registry_path).ready = False  # check again
                    continue
                _LOG.exception("The model index %s failed", self.settings.registry_path)
                raise ModelFileError(
                    f"The model index could not be used ({error}). Check that the data "
                    f"directory {self.settings.data_dir} is writable and not full.") from error
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------- files

    def model_path(self, model_id: str) -> Path:
        """Where the model file of ``model_id`` lives in this workspace."""
        if not isinstance(model_id, str) or not model_id.isalnum():
            raise ModelFileError(f"'{model_id}' is not a valid model id.")
        return self.settings.models_dir / self.workspace / f"{model_id}{_MODEL_SUFFIX}"

    def _signed_part(self, header: bytes, payload: bytes) -> bytes:
        return STORED_MAGIC + self.workspace.encode() + b"\n" + header + b"\n" + payload

    def _write_file(self, record: ModelRecord, payload: bytes) -> None:
        """Write record, model and signature as one file: temporary, flushed, renamed.

        A reader opening the path sees the old file or the new one, whole.
        """
        path = self.model_path(record.model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = record.to_json().encode()
        signature = sign(self._signed_part(header, payload), self.settings)
        envelope = json.dumps({"signature": signature, "workspace": self.workspace}).encode()
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(STORED_MAGIC + envelope + b"\n" + header + b"\n" + payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _read_file(self, model_id: str, path: Path | None = None) -> tuple[ModelRecord, bytes]:
        """The record and model bytes of a stored file, after checking its signature.

        Raises:
            ModelFileError: Missing, or anything about it does not match what this server
                wrote for this workspace and model id.
        """
        path = path or self.model_path(model_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(
                f"The file of model {model_id} is missing from {path.parent}. Train it again."
            ) from None
        changed = ModelFileError(
            f"The file of model {model_id} was changed after this server wrote it, so it "
            "was not loaded (loading a model runs code). Delete it and train again.")
        if not data.startswith(STORED_MAGIC):
            raise changed
        try:
            envelope, header, payload = _split_bundle(data, STORED_MAGIC)
        except ValueError:
            raise changed from None
        signature = envelope.get("signature")
        if (envelope.get("workspace") != self.workspace or not isinstance(signature, str)
                or not verify(self._signed_part(header, payload), signature, self.settings)):
            raise changed
        try:
            record = ModelRecord.from_json(header)
        except ValueError:
            raise changed from None
        if record.model_id != model_id:
            raise changed
        return record, payload

    # ----------------------------------------------------------------- reading

    def get(self, model_id: str) -> ModelRecord | None:
        """The record of ``model_id`` in this workspace, or None if unknown or its file is gone."""
        path = self.model_path(model_id)
        row = self._query(lambda connection: connection.execute(
            "SELECT record_json FROM models WHERE workspace = ? AND model_id = ?",
            (self.workspace, model_id)).fetchone())
        if row is None or not path.exists():
            return None
        return ModelRecord.from_json(row[0])

    def list_for_data(self, data_fingerprint: str, shape: str = "table") -> list[ModelRecord]:
        """This workspace's models of ``shape`` trained on this data, newest first.

        ``shape`` "table" (the default, every single-table screen) leaves related-tables
        models out; "related" lists only those.
        """
        rows = self._query(lambda connection: connection.execute(
            "SELECT model_id, record_json FROM models WHERE workspace = ? "
            "AND data_fingerprint = ? ORDER BY created_at DESC",
            (self.workspace, data_fingerprint)).fetchall())
        records = [ModelRecord.from_json(text) for model_id, text in rows
                   if self.model_path(model_id).exists()]
        return [record for record in records if record.shape == shape]

    # ----------------------------------------------------------------- writing

    def _index(self, record: ModelRecord) -> None:
        self._query(lambda connection: connection.execute(
            "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
            (self.workspace, record.model_id, record.data_fingerprint, record.created_at,
             record.to_json())))

    def add(self, record: ModelRecord, model_bytes: bytes) -> ModelRecord:
        """Store a fitted model's bytes (cloudpickle) and its record in this workspace, signed.

        The file is complete and in place before the index names it, so a crash never
        leaves an index entry without its model.
        """
        self._ensure_index()
        self._write_file(record, model_bytes)
        self._index(record)
        return record

    def update_scores(self, model_id: str, scores: dict[str, float]) -> ModelRecord | None:
        """Merge evaluation scores into a record (shown in the Models list)."""
        if self.get(model_id) is None:
            return None
        record, payload = self._read_file(model_id)
        updated = replace(record, scores={**record.scores, **scores})
        self._write_file(updated, payload)  # the file stays the truth the index is built from
        self._index(updated)
        return updated

    def delete(self, model_id: str) -> bool:
        """Remove a model of this workspace; False if this workspace has no such model.

        Another workspace's model with the same id is never touched.
        """
        path = self.model_path(model_id)
        known = self.get(model_id) is not None
        path.unlink(missing_ok=True)
        deleted = self._query(lambda connection: connection.execute(
            "DELETE FROM models WHERE workspace = ? AND model_id = ?",
            (self.workspace, model_id)).rowcount)
        return known or deleted > 0

    # ----------------------------------------------------------------- loading

    def verified_model_bytes(self, model_id: str) -> bytes:
        """A stored model's bytes, after checking its signature (never unpickled here).

        ``core.engine.models.load_synthesizer`` unpickles them. The file is read once, so
        its model and signature always belong together, even while it is being replaced.

        Raises:
            ModelFileError: The file is missing or does not match its signature.
        """
        return self._read_file(model_id)[1]

    # ----------------------------------------------------------------- bundles

    def export_bundle(self, model_id: str) -> bytes:
        """A single downloadable file: magic line, signed header line, model bytes.

        The bundle names no workspace; whoever uploads it owns their copy.
        """
        if self.get(model_id) is None:
            raise ModelFileError(f"Model {model_id} is not in this workspace.")
        record, payload = self._read_file(model_id)
        header = record.to_json().encode()
        signature = sign(header + b"\n" + payload, self.settings)
        envelope = json.dumps({"signature": signature}).encode()
        return BUNDLE_MAGIC + envelope + b"\n" + header + b"\n" + payload

    def import_bundle(self, data: bytes, expected_fingerprint: str | None = None) -> ModelRecord:
        """Accept a bundle this server signed into this workspace; refuse anything else.

        Nothing is unpickled here. Bundles from another server are accepted only if it
        shares ``STUDIO_SECRET``.

        Args:
            data: The uploaded file.
            expected_fingerprint: If given, the model must have been trained on the table
                with this fingerprint (a session never takes in models of other data).

        Raises:
            ModelFileError: Not a bundle, damaged, unsigned, signed by someone else,
                tampered, or trained on another table.
        """
        if not isinstance(data, bytes | bytearray) or not data.startswith(BUNDLE_MAGIC):
            raise ModelFileError(
                "This is not a Synthetic Data Studio model file. Only models downloaded from "
                "this studio can be uploaded (loading other files could run their code)."
            )
        damaged = ModelFileError(
            "The model file is damaged (its header cannot be read). Download it again.")
        try:
            envelope, header, payload = _split_bundle(bytes(data), BUNDLE_MAGIC)
        except ValueError:
            raise damaged from None
        signature = envelope.get("signature")
        if not isinstance(signature, str) or not verify(header + b"\n" + payload, signature,
                                                        self.settings):
            raise ModelFileError(
                "The model file's signature does not match: it was changed, or it was made by "
                "another server. It was refused without being loaded."
            )
        try:
            record = ModelRecord.from_json(header)
        except ValueError:
            raise damaged from None
        if expected_fingerprint is not None and record.data_fingerprint != expected_fingerprint:
            raise ModelFileError(
                f"This model was trained on another table ('{record.dataset_name}'). Load "
                "that table on the Data page first, then upload the model again."
            )
        self.add(replace(record, created_at=record.created_at or time.time()), payload)
        return record
