"""Workspaces: a session's data, models and jobs, kept under the page's link.

Every browser session belongs to a workspace: a random token in the page's URL
(``?ws=<token>``, from :func:`secrets.token_urlsafe`). A reload or a bookmark of that URL
brings back the dataset, the current model, a running training job (the Train page
reattaches to it), a comparison and a large sample being generated. Models and jobs are
stored under the workspace's id (a hash of the token, :func:`ui.state.workspace_id_of`), so
the index and the folders never hold the link itself, and a workspace lists, loads and
deletes only its own models. Whoever has the link has the workspace: a teacher can hand one
to a class on purpose; anyone else starts a new private one.

What is kept, in ``<data dir>/workspaces/<id>/`` (folder 0700, files 0600):

* ``state.json`` — how to rebuild the dataset (a shipped sample's key, a faked table's
  settings), its reviewed schema and target, and the ids of the current model and jobs
  (a fit, a comparison, a large sample);
* ``table.pkl`` — only for uploaded files and database tables: a private copy of the rows,
  signed like model files and checked before it is read;
* for several related tables, ``state.json`` also holds how they were described (each
  table's schema and primary key, the confirmed relationships, the target), the current
  related model and its jobs; their rows come back from the shipped sample's key, or from
  ``related.pkl``, a private signed copy like ``table.pkl`` (uploaded files, a database
  schema, or a sample whose rows a repair changed).

A token that is not one this module makes (wrong length or characters) never reaches a
path: the session gets a fresh workspace instead (docs/ARCHITECTURE.md, "Where state
lives").
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import secrets
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.data import datasets
from core.data.related import RelatedTables, Relationship
from core.data.table import StudioTable, fingerprint_frame
from core.engine.training import schema_from_dict, schema_to_dict
from core.evaluation.planted import planted_truth
from core.jobs.folders import create_private_dir, is_job_id, write_private
from core.store.settings import get_settings
from core.store.signing import sign, verify
from ui import caching, state

__all__ = ["PARAM", "ensure", "is_token", "keep_dataset", "keep_related", "save", "saved_state",
           "start_new"]

_LOG = logging.getLogger("studio")

#: The query parameter that holds the workspace token.
PARAM = "ws"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)
_STATE_FILE = "state.json"
_TABLE_FILE = "table.pkl"
_TABLE_MAGIC = b"SYNTHETIC-DATA-STUDIO-WORKSPACE-TABLE/1\n"
_RELATED_FILE = "related.pkl"
_RELATED_MAGIC = b"SYNTHETIC-DATA-STUDIO-WORKSPACE-RELATED/1\n"
_VERSION = 1


def is_token(value: object) -> bool:
    """True for a workspace token of the form this module makes."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def _path(workspace_id: str) -> Path:
    return get_settings().data_dir / "workspaces" / workspace_id


def _folder(workspace_id: str) -> Path:
    """The workspace's folder, created private (0700) if needed."""
    path = _path(workspace_id)
    create_private_dir(path.parent, exist_ok=True)
    return create_private_dir(path, exist_ok=True)


def _replace_file(path: Path, content: bytes) -> None:
    """Write ``content`` to a private temporary file and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        write_private(temporary, content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the URL


def ensure() -> str:
    """Make sure this session has a workspace and the URL names it; returns the token.

    Runs first on every script run (the sidebar calls it). A valid token in the URL that
    is not the session's (a reload, a bookmark, a shared link) makes the session that
    workspace and brings back what it had. Without one, or with a malformed one, the
    session keeps its workspace, or gets a new private one, and the URL is set to it.
    """
    in_url = st.query_params.get(PARAM)
    current = st.session_state.get(state.WORKSPACE)
    if is_token(in_url):
        if in_url != current:
            if current is not None:
                _clear_session()
            st.session_state[state.WORKSPACE] = in_url
            _restore(in_url)
        else:
            _adopt_running_job(in_url)
        return in_url
    token = current if is_token(current) else secrets.token_urlsafe(16)
    st.session_state[state.WORKSPACE] = token
    st.query_params[PARAM] = token  # a page switch may have dropped it; a bad one is replaced
    return token


def _clear_session() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def start_new() -> None:
    """Button callback: leave this workspace for a new, empty, private one.

    The old workspace stays as it was (its link still opens it); its running jobs go on.
    """
    _clear_session()
    token = secrets.token_urlsafe(16)
    st.session_state[state.WORKSPACE] = token
    st.query_params[PARAM] = token


# --------------------------------------------------------------------------- saving


def keep_dataset(table: StudioTable, recipe: dict[str, Any] | None) -> dict[str, Any]:
    """Keep what rebuilds ``table`` after a reload; returns its description for the state.

    A recipe (a sample's key, a faked table's settings) is enough; any other table (an
    upload, a database table, the guided demo's) is copied into the workspace's folder.
    """
    folder = _folder(state.workspace_id())
    if recipe is None:
        recipe = {"kind": "copy"}
        _write_signed(folder, _TABLE_FILE, _TABLE_MAGIC,
                      {"frame": table.frame, "planted": table.planted})
    else:
        (folder / _TABLE_FILE).unlink(missing_ok=True)  # rows of an earlier upload go
    return {"recipe": recipe, "name": table.name, "source": table.source,
            "notes": list(table.notes), "detected_target": table.target,
            "fingerprint": table.fingerprint}


def _write_signed(folder: Path, name: str, magic: bytes, kept: dict[str, Any]) -> None:
    """Pickle ``kept`` into ``folder/name``, signed for this workspace (0600)."""
    blob = pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
    signature = sign(magic + folder.name.encode() + b"\n" + blob)
    _replace_file(folder / name, magic + signature.encode() + b"\n" + blob)


def keep_related(related: RelatedTables) -> dict[str, Any]:
    """Keep a private signed copy of the related tables' rows; returns their description.

    Used when no recipe rebuilds them (uploads, a database schema, repaired rows).
    """
    folder = _folder(state.workspace_id())
    _write_signed(folder, _RELATED_FILE, _RELATED_MAGIC,
                  {"frames": {table.name: table.frame for table in related.tables}})
    return {"recipe": {"kind": "copy"},
            "fingerprints": {table.name: table.fingerprint for table in related.tables}}


def _related_entry(related: RelatedTables) -> dict[str, Any] | None:
    """What rebuilds ``related`` after a reload (rows kept first if the recipe no longer does)."""
    described = st.session_state.get(state.RELATED_RECIPE)
    fingerprints = {table.name: table.fingerprint for table in related.tables}
    if described is None or described.get("fingerprints") != fingerprints:
        described = keep_related(related)
        st.session_state[state.RELATED_RECIPE] = described
    if described["recipe"]["kind"] != "copy":
        (_folder(state.workspace_id()) / _RELATED_FILE).unlink(missing_ok=True)
    return {
        **described, "fingerprint": related.fingerprint, "name": related.name,
        "source": related.source, "notes": list(related.notes),
        "target": list(related.target) if related.target else None,
        "relationships": [asdict(r) for r in related.relationships],
        "detected_relationships": [asdict(r) for r in related.detected_relationships],
        "tables": [{"name": t.name, "source": t.source, "notes": list(t.notes),
                    "target": t.target, "schema": schema_to_dict(t.schema),
                    "detected_schema": schema_to_dict(t.detected_schema)}
                   for t in related.tables],
    }


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=lambda item: item.item()))
    except (TypeError, ValueError, AttributeError):
        return None


def save() -> None:
    """Write this session's dataset description, model and job ids to its workspace."""
    if get_script_run_ctx(suppress_warning=True) is None or not is_token(
            st.session_state.get(state.WORKSPACE)):
        return
    table: StudioTable | None = st.session_state.get(state.DATASET)
    described = st.session_state.get(state.DATASET_RECIPE)
    dataset = None
    if table is not None and described is not None and (
            described["fingerprint"] == table.fingerprint):
        dataset = {**described, "schema": schema_to_dict(table.schema), "target": table.target,
                   "target_suggested": state.target_is_suggested(table)}
    model = st.session_state.get(state.CURRENT_MODEL)
    saved = {
        "version": _VERSION,
        "dataset": dataset,
        "model_id": getattr(model, "model_id", None),
        "job_id": st.session_state.get(state.CURRENT_JOB),
        "compare_job": st.session_state.get(state.COMPARE_JOB),
        "sample_job": st.session_state.get(state.SAMPLE_JOB),
        "compare_result": _jsonable(st.session_state.get(state.COMPARE_RESULT)),
    }
    try:
        folder = _folder(state.workspace_id())
        related = st.session_state.get(state.RELATED)
        if related is not None:
            saved["related"] = _jsonable(_related_entry(related))
            saved["related_model_id"] = getattr(
                st.session_state.get(state.RELATED_MODEL), "model_id", None)
            saved["related_job"] = st.session_state.get(state.RELATED_JOB)
            saved["related_sample_job"] = _jsonable(
                st.session_state.get(state.RELATED_SAMPLE_JOB))
        else:
            (folder / _RELATED_FILE).unlink(missing_ok=True)  # rows of earlier tables go
        _replace_file(folder / _STATE_FILE, json.dumps(saved).encode())
    except OSError:
        _LOG.exception("Could not save the workspace's state")


def _load_state(workspace_id: str) -> dict[str, Any] | None:
    try:
        saved = json.loads((_path(workspace_id) / _STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.get("version") == _VERSION else None


# --------------------------------------------------------------------------- restoring


def _restore(token: str) -> None:
    """Bring back a workspace's dataset, model and jobs into this (new) session."""
    workspace_id = state.workspace_id_of(token)
    saved = _load_state(workspace_id)
    if saved is None:
        return
    table = None
    if isinstance(saved.get("dataset"), dict):
        try:
            with st.spinner("Bringing back this workspace's dataset…"):
                table = _rebuild_dataset(workspace_id, saved["dataset"])
        except Exception:  # noqa: BLE001 - the page must open whatever was saved
            _LOG.exception("Could not rebuild the dataset of a workspace")
            state.flash("This workspace's dataset could not be brought back; load it again "
                        "on the Data page. Its models are still listed with that dataset.",
                        "warning")
    if table is not None:
        st.session_state[state.DATASET] = table
        # A guessed target stays marked as a guess after a reload; a chosen one stays chosen.
        if table.target is not None:
            state.restore_target(
                table, suggested=saved["dataset"].get("target_suggested") is True)
        st.session_state[state.DATASET_RECIPE] = {
            key: saved["dataset"][key] for key in
            ("recipe", "name", "source", "notes", "detected_target", "fingerprint")}
        model_id = saved.get("model_id")
        if isinstance(model_id, str) and model_id.isalnum():
            record = caching.model_registry().get(model_id)
            if record is not None and record.data_fingerprint == table.fingerprint:
                st.session_state[state.CURRENT_MODEL] = record
        result = saved.get("compare_result")
        if isinstance(result, dict) and result.get("fingerprint") == table.fingerprint:
            st.session_state[state.COMPARE_RESULT] = result
    runner = caching.job_runner()
    for key, saved_key in ((state.CURRENT_JOB, "job_id"), (state.COMPARE_JOB, "compare_job"),
                           (state.SAMPLE_JOB, "sample_job")):
        job_id = saved.get(saved_key)
        if isinstance(job_id, str) and is_job_id(job_id):
            status = runner.status(job_id)
            # A job that ended while nobody watched is shown once by its page.
            if status.is_active or status.state == "done":
                st.session_state[key] = job_id
    if table is None and isinstance(saved.get("related"), dict):
        _restore_related(workspace_id, saved)


def _restore_related(workspace_id: str, saved: dict[str, Any]) -> None:
    """Bring back the related tables, their current model and their running jobs."""
    try:
        with st.spinner("Bringing back this workspace's related tables…"):
            related = _rebuild_related(workspace_id, saved["related"])
    except Exception:  # noqa: BLE001 - the page must open whatever was saved
        _LOG.exception("Could not rebuild the related tables of a workspace")
        related = None
    if related is None:
        state.flash("This workspace's related tables could not be brought back; load them "
                    "again on the Data page. Their models are still listed with them.",
                    "warning")
        return
    st.session_state[state.RELATED] = related
    st.session_state[state.RELATED_RECIPE] = {
        key: saved["related"][key] for key in ("recipe", "fingerprints")}
    model_id = saved.get("related_model_id")
    if isinstance(model_id, str) and model_id.isalnum():
        record = caching.model_registry().get(model_id)
        if record is not None and record.shape == "related" and (
                record.data_fingerprint == related.fingerprint):
            st.session_state[state.RELATED_MODEL] = record
    runner = caching.job_runner()
    job_id = saved.get("related_job")
    if isinstance(job_id, str) and is_job_id(job_id):
        status = runner.status(job_id)
        if status.is_active or status.state == "done":
            st.session_state[state.RELATED_JOB] = job_id
    sampling = saved.get("related_sample_job")
    if isinstance(sampling, dict) and isinstance(sampling.get("job_id"), str) and is_job_id(
            sampling["job_id"]):
        status = runner.status(sampling["job_id"])
        if status.is_active or status.state == "done":
            st.session_state[state.RELATED_SAMPLE_JOB] = sampling


def _rebuild_related(workspace_id: str, entry: dict[str, Any]) -> RelatedTables | None:
    """The saved related tables, from the sample's key or the kept copy (None if changed)."""
    recipe = entry["recipe"]
    if recipe["kind"] == "sample":
        frames = dict(caching.related_sample_frames(str(recipe["key"])))
    else:
        kept = _read_signed(workspace_id, _RELATED_FILE, _RELATED_MAGIC)
        frames = kept.get("frames") if kept is not None else None
        if not isinstance(frames, dict) or not all(
                isinstance(frame, pd.DataFrame) for frame in frames.values()):
            return None
    tables = []
    for described in entry["tables"]:
        frame = frames.get(described["name"])
        if frame is None:
            return None
        schema = schema_from_dict(described["schema"])
        tables.append(StudioTable(
            frame=frame, name=described["name"], source=described["source"],
            fingerprint=fingerprint_frame(frame), notes=tuple(described["notes"]),
            schema=schema, detected_schema=schema_from_dict(described["detected_schema"]),
            target=described["target"]))
    target = entry.get("target")
    related = RelatedTables(
        tables=tuple(tables),
        relationships=tuple(Relationship(**r) for r in entry["relationships"]),
        name=entry["name"], source=entry["source"], notes=tuple(entry["notes"]),
        target=(str(target[0]), str(target[1])) if target else None,
        detected_relationships=tuple(Relationship(**r)
                                     for r in entry.get("detected_relationships", [])))
    if related.fingerprint != entry["fingerprint"]:
        _LOG.warning("A workspace's related tables changed since they were saved; not restored")
        return None
    return related


def _adopt_running_job(token: str) -> None:
    """Another tab of this workspace started a fit on this dataset: follow it here too.

    So Train is disabled in every tab of the workspace while the fit runs.
    """
    table = st.session_state.get(state.DATASET)
    if table is None or st.session_state.get(state.CURRENT_JOB) is not None:
        return
    saved = _load_state(state.workspace_id_of(token))
    job_id = saved.get("job_id") if saved else None
    if not isinstance(job_id, str) or not is_job_id(job_id):
        return
    status = caching.job_runner().status(job_id)
    if status.is_active and status.data_fingerprint == table.fingerprint:
        st.session_state[state.CURRENT_JOB] = job_id


def _rebuild_dataset(workspace_id: str, entry: dict[str, Any]) -> StudioTable | None:
    """The saved dataset, made again from its recipe or its copy (None if it changed)."""
    recipe = entry["recipe"]
    planted = None
    shipped = None  # a sample's own sequence description (the same detection as on load)
    if recipe["kind"] == "sample":
        samples = {sample.key: sample for sample in datasets.list_sample_datasets()}
        sample = samples[recipe["key"]]
        frame = caching.sample_frame(sample.key)
        planted = planted_truth(sample.spec) if sample.spec else None
        shipped = sample.sequence
    elif recipe["kind"] == "fake":
        values = dict(recipe["spec"])
        if values.get("pii_columns") is not None:
            values["pii_columns"] = tuple(values["pii_columns"])
        spec = datasets.FakeSpec(**values)
        spec.validate()
        frame = datasets.fake_dataset(spec)
        planted = planted_truth(spec)
    else:
        kept = _read_table_copy(workspace_id)
        if kept is None:
            return None
        frame, planted = kept["frame"], kept["planted"]
    fingerprint = fingerprint_frame(frame)
    if fingerprint != entry["fingerprint"]:
        _LOG.warning("A workspace's dataset changed since it was saved; not restored")
        return None
    table = caching.studio_table(fingerprint, frame, entry["name"], entry["source"],
                                 tuple(entry["notes"]), entry["detected_target"], planted,
                                 shipped)
    if schema_to_dict(table.schema) != entry["schema"]:
        edited = schema_from_dict(entry["schema"])
        table = table.with_schema(replace(table.schema, columns=edited.columns,
                                          primary_key=edited.primary_key,
                                          sequence=edited.sequence))
    if entry["target"] != table.target:
        table = table.with_target(entry["target"])
    return table


def _read_table_copy(workspace_id: str) -> dict[str, Any] | None:
    """The kept rows of an upload, if this server signed the file for this workspace.

    Unpickling runs code, so a file that fails the check is never read.
    """
    kept = _read_signed(workspace_id, _TABLE_FILE, _TABLE_MAGIC)
    if kept is None or not isinstance(kept.get("frame"), pd.DataFrame):
        return None
    return kept


def _read_signed(workspace_id: str, name: str, magic: bytes) -> dict[str, Any] | None:
    """A file :func:`_write_signed` wrote for this workspace, if its signature holds.

    Unpickling runs code, so a file that fails the check is never read.
    """
    try:
        data = (_path(workspace_id) / name).read_bytes()
    except OSError:
        return None
    signature, found, blob = data[len(magic):].partition(b"\n")
    if (not data.startswith(magic) or not found or not verify(
            magic + workspace_id.encode() + b"\n" + blob,
            signature.decode("ascii", "replace"))):
        _LOG.warning("A workspace's kept rows (%s) failed their signature check; not read",
                     name)
        return None
    kept = pickle.loads(blob)  # noqa: S301 - signed by this server for this workspace
    return kept if isinstance(kept, dict) else None


def saved_state(token: str) -> dict[str, Any] | None:
    """The saved state of the workspace with ``token`` (None if there is none)."""
    return _load_state(state.workspace_id_of(token)) if is_token(token) else None
