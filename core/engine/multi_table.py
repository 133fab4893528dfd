"""Related tables: what determines a multi-table model, fitting it, its ETA, sampling it.

* :class:`RelatedRequest` — everything that determines a related model (the tables' data
  fingerprint, each table's schema, the relationships, the synthesizer "hma" or
  "tabular_argn", its parameters, the seed, the split); :func:`related_training_key` is its
  model id (shape "related" in the registry).
* :func:`run_related_training` — the one fitting routine (the CLI in-process, the job
  kind "related" in a worker or on Ray): split by root entity
  (:mod:`core.data.related_split`), prepare each table
  (:func:`core.data.schema.prepare_training_frame`, keys kept), fit
  (:mod:`core.engine.related_models`), store one signed pickle with its
  :class:`~core.store.registry.ModelRecord`.
* :func:`estimate_related_seconds` — the ETA shown before training, from measured runs;
  :func:`related_cost_warning` says when HMA's cost grows with depth and width.
* :func:`sample_related` — synthetic tables with new primary keys in the real keys' format,
  every foreign key pointing at a synthetic parent, faked personal columns consistent per
  entity (a column that also sits, faked, in a parent is copied from that parent's row; a
  column constant within each parent in the real data gets one fake value per parent;
  anything else one per row), dates back in their zones, seeded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.data.related import RelatedTables, Relationship, dependency_order
from core.data.related_split import RelatedSplit, descendants, split_frames
from core.data.schema import TableSchema, prepare_training_frame
from core.errors import MetadataError, ParameterError, TrainingCancelled, TrainingError
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry

__all__ = [
    "LONG_RELATED_SECONDS",
    "RELATED_PRESETS",
    "RELATED_SYNTHESIZERS",
    "RelatedModel",
    "RelatedRequest",
    "estimate_related_seconds",
    "keyed_schemas",
    "plan_related_request",
    "related_cost_warning",
    "related_split_of",
    "related_training_key",
    "run_related_training",
    "sample_related",
    "unsupported_reason",
]

#: The multi-table synthesizers: key -> display name.
RELATED_SYNTHESIZERS: dict[str, str] = {"hma": "HMA", "tabular_argn": "TabularARGN"}
#: Parameters of each preset (quick, balanced, best) per synthesizer.
RELATED_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # The bank sample (500 customers, 827 accounts, 7,724 transactions) took HMA 22 s on an
    # idle 2-core machine and more than 120 s on a heavily shared one.
    "hma": {
        "quick": {"default_distribution": "norm", "time_limit": 300},
        "balanced": {"default_distribution": "beta", "time_limit": 900},
        "best": {"default_distribution": "beta", "time_limit": 0},
    },
    "tabular_argn": {
        "quick": {"epochs": 100, "model_size": "small", "value_protection": True,
                  "time_limit": 60},
        "balanced": {"epochs": 100, "model_size": "medium", "value_protection": True,
                     "time_limit": 240},
        "best": {"epochs": 100, "model_size": "medium", "value_protection": True,
                 "time_limit": 0},
    },
}
#: Estimated fits longer than this get a warning before training.
LONG_RELATED_SECONDS = 10 * 60


# --------------------------------------------------------------------------- the request


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in sorted(params.items())}


@dataclass(frozen=True)
class RelatedRequest:
    """Everything that determines a related-tables model.

    Attributes:
        data_fingerprint: :attr:`RelatedTables.fingerprint` of the full real tables.
        name: Display name ("bank.db").
        schemas: ``(table, schema)`` pairs in loading order; primary keys in the schemas.
        relationships: The foreign keys.
        synthesizer: "hma" or "tabular_argn".
        preset: Preset name, or "custom".
        params: Resolved parameters (:data:`RELATED_PRESETS` plus overrides).
        seed: Seed of the fit.
        device: "auto", "cpu", "cuda" or "mps" (not part of the key).
        test_size: Share of root entities held out.
        split_seed: Seed of the split.
        target: ``(table, column)`` of the parent-level usefulness test, or None.
    """

    data_fingerprint: str
    name: str
    schemas: tuple[tuple[str, TableSchema], ...]
    relationships: tuple[Relationship, ...]
    synthesizer: str
    preset: str
    params: dict[str, Any]
    seed: int = 0
    device: str = "auto"
    test_size: float = 0.3
    split_seed: int = 0
    target: tuple[str, str] | None = None

    @property
    def schema_map(self) -> dict[str, TableSchema]:
        """Table -> schema."""
        return dict(self.schemas)

    @property
    def title(self) -> str:
        """"HMA" or "TabularARGN"."""
        return RELATED_SYNTHESIZERS.get(self.synthesizer, self.synthesizer)

    def to_json(self) -> str:
        """Serialise for a worker or a Ray task."""
        from core.engine.training import schema_to_dict

        return json.dumps({
            "data_fingerprint": self.data_fingerprint, "name": self.name,
            "schemas": [[name, schema_to_dict(schema)] for name, schema in self.schemas],
            "relationships": [r.to_dict() for r in self.relationships],
            "synthesizer": self.synthesizer, "preset": self.preset,
            "params": _jsonable(self.params), "seed": self.seed, "device": self.device,
            "test_size": self.test_size, "split_seed": self.split_seed,
            "target": list(self.target) if self.target else None,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RelatedRequest:
        """Inverse of :meth:`to_json`."""
        from core.engine.training import schema_from_dict

        data = json.loads(text)
        return cls(
            data_fingerprint=data["data_fingerprint"], name=data["name"],
            schemas=tuple((name, schema_from_dict(schema)) for name, schema in data["schemas"]),
            relationships=tuple(Relationship(**r) for r in data["relationships"]),
            synthesizer=data["synthesizer"], preset=data["preset"],
            params={k: tuple(v) if isinstance(v, list) else v
                    for k, v in data["params"].items()},
            seed=int(data["seed"]), device=data["device"], test_size=float(data["test_size"]),
            split_seed=int(data["split_seed"]),
            target=tuple(data["target"]) if data.get("target") else None,  # type: ignore[arg-type]
        )

    def split_dict(self) -> dict[str, Any]:
        """The split as the record stores it."""
        return {"test_size": self.test_size, "seed": self.split_seed,
                "target": list(self.target) if self.target else None, "by": "root entity"}

    def schema_dict(self) -> dict[str, Any]:
        """``ModelRecord.schema`` of a related model: every table's schema and the keys."""
        return {"tables": {name: schema.fingerprint_dict() for name, schema in self.schemas},
                "relationships": [r.to_dict() for r in self.relationships]}


def related_training_key(request: RelatedRequest) -> str:
    """The model id: a hash of what determines the fit (the device does not)."""
    payload = {
        "shape": "related",
        "data": request.data_fingerprint,
        "schemas": [[name, schema.fingerprint_dict()] for name, schema in request.schemas],
        "relationships": sorted(json.dumps(r.to_dict(), sort_keys=True)
                                for r in request.relationships),
        "synthesizer": request.synthesizer,
        "params": _jsonable(request.params),
        "seed": request.seed,
        "split": request.split_dict(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def plan_related_request(related: RelatedTables, synthesizer: str, preset: str = "balanced",
                         seed: int = 0, device: str = "auto", test_size: float = 0.3,
                         split_seed: int | None = None,
                         overrides: Mapping[str, Any] | None = None) -> RelatedRequest:
    """A :class:`RelatedRequest` for ``related`` (the preset's parameters plus overrides).

    Raises:
        ParameterError: Unknown synthesizer, preset or parameter.
        MetadataError: The schema is one the synthesizer cannot model (the message says why).
    """
    if synthesizer not in RELATED_SYNTHESIZERS:
        raise ParameterError(f"Unknown multi-table synthesizer '{synthesizer}'. Choose one of "
                             f"{', '.join(RELATED_SYNTHESIZERS)}.")
    presets = RELATED_PRESETS[synthesizer]
    if preset not in presets:
        raise ParameterError(f"Unknown preset '{preset}'. Choose one of {', '.join(presets)}.")
    params = dict(presets[preset])
    unknown = set(overrides or {}) - set(params)
    if unknown:
        raise ParameterError(f"{RELATED_SYNTHESIZERS[synthesizer]} has no setting "
                             f"{', '.join(sorted(unknown))}.")
    params.update(overrides or {})
    reason = unsupported_reason(related.names, related.relationships,
                                {t.name: t.schema.primary_key for t in related.tables},
                                synthesizer)
    if reason:
        raise MetadataError(reason)
    return RelatedRequest(
        data_fingerprint=related.fingerprint, name=related.name,
        schemas=tuple((t.name, t.schema) for t in related.tables),
        relationships=tuple(related.relationships), synthesizer=synthesizer,
        preset=preset if not overrides else "custom", params=params, seed=seed,
        device=device, test_size=test_size,
        split_seed=seed if split_seed is None else split_seed, target=related.target)


def unsupported_reason(names: Sequence[str], relationships: Sequence[Relationship],
                       primary_keys: Mapping[str, str | None], synthesizer: str) -> str | None:
    """Why ``synthesizer`` cannot model this schema, in plain words (None: it can)."""
    if len(names) < 2 or not relationships:
        return ("Related-table synthesis needs at least two tables joined by a relationship. "
                "Add the relationship (--relationship parent.key=child.fk), or train the "
                "table on its own.")
    for r in relationships:
        if r.parent == r.child:
            return (f"The table '{r.parent}' refers to itself ({r.label}). Neither HMA nor "
                    "TabularARGN can model a self-reference: remove that relationship (the "
                    "column is then learned as an ordinary id).")
        for table in (r.parent, r.child):
            if table not in names:
                return f"The relationship {r.label} names a table '{table}' that is not loaded."
        if primary_keys.get(r.parent) != r.parent_key:
            return (f"The relationship {r.label} must point at the primary key of "
                    f"'{r.parent}' (now {primary_keys.get(r.parent) or 'none'}). Make "
                    f"'{r.parent_key}' its primary key on the Data page.")
    try:
        dependency_order(names, relationships)
    except MetadataError as exc:
        return str(exc)
    if synthesizer == "tabular_argn":
        roots = [n for n in names if not any(r.child == n for r in relationships)]
        root = max(roots, key=lambda n: len(descendants(n, relationships)))
        lookups = set(roots) - {root}
        for name in names:
            main = [r for r in relationships if r.child == name and r.parent not in lookups]
            if len(main) > 1:
                return (f"TabularARGN learns each table with one parent table as its context, "
                        f"and '{name}' has {len(main)} ("
                        f"{', '.join(r.parent for r in main)}). Choose HMA for this schema, "
                        "or remove all but one of those relationships.")
    return None


# --------------------------------------------------------------------------- ETA


def _data_columns(schema: TableSchema, keys: set[str]) -> int:
    return sum(1 for c in schema.columns
               if c.action in ("model", "keep") and c.sdtype != "id" and c.name not in keys)


def _hma_widths(names: Sequence[str], relationships: Sequence[Relationship],
                schemas: Mapping[str, TableSchema]) -> dict[str, int]:
    """Columns HMA models per table after adding its children's summaries.

    SDV's own count (``HMASynthesizer._estimate_num_columns``): per foreign key, one row
    count, k parameters per column (2 for a child's normal, 4 for truncated normal
    summaries) and a correlation per pair of columns.
    """
    keys = {name: {r.child_key for r in relationships if r.child == name}
            | {r.parent_key for r in relationships if r.parent == name} for name in names}
    widths: dict[str, int] = {}

    def width(name: str) -> tuple[int, int]:
        data = _data_columns(schemas[name], keys[name])
        extended = 0
        for r in relationships:
            if r.parent == name:
                child_data, child_extended = width(r.child)
                total = child_data + child_extended
                extended += 1 + child_data * 2 + child_extended * 4 + total * (total - 1) // 2
        widths[name] = data + extended
        return data, extended

    for name in names:
        if not any(r.child == name for r in relationships):
            width(name)
    return widths


def estimate_related_seconds(synthesizer: str, params: Mapping[str, Any],
                             frames: Mapping[str, pd.DataFrame],
                             schemas: Mapping[str, TableSchema],
                             relationships: Sequence[Relationship], train_share: float = 0.7,
                             speed: float | None = None) -> float:
    """Estimated seconds to fit (good to a factor of ~2; measured on the shared 2-core machine).

    HMA fits one small copula per parent row for each relationship, over the child's columns
    and its own children's summaries, so its cost grows with the number of parents and
    quadratically with the child's width (:func:`_hma_widths`); then one copula per table
    over its widened columns. TabularARGN trains one network per table
    (:func:`core.engine.tabular_argn.estimate_seconds`), the time limit shared.
    """
    from core.engine.training import REFERENCE_SPEED, machine_speed

    scale = (speed if speed is not None else machine_speed()) / REFERENCE_SPEED
    names = list(frames)
    rows = {name: max(int(len(frames[name]) * train_share), 1) for name in names}
    limit = float(params.get("time_limit") or 0)
    if synthesizer == "hma":
        widths = _hma_widths(names, relationships, schemas)
        seconds = 2.0
        for r in relationships:
            parents = int(frames[r.parent][r.parent_key].nunique() * train_share) or 1
            child = widths.get(r.child, 1)
            seconds += parents * (HMA_PER_PARENT + HMA_PER_PARENT_CELL * child * child)
        for name in names:
            width = widths.get(name, 1)
            seconds += HMA_PER_TABLE + rows[name] * width * HMA_PER_CELL + (
                width ** 3 * HMA_PER_WIDTH_CUBE)
        seconds *= max(scale, 0.25) ** 0.5  # numpy/scipy work scales less than torch's
    elif synthesizer == "tabular_argn":
        from core.engine.tabular_argn import estimate_seconds

        keys = {r.child_key for r in relationships} | {r.parent_key for r in relationships}
        seconds = 0.0
        roots = [n for n in names if not any(r.child == n for r in relationships)]
        main = max(roots, key=lambda n: sum(rows[c] for c in descendants(n, relationships)))
        for name in names:
            if name in roots and name != main:
                continue  # lookups are copied
            parent = next((r.parent for r in relationships if r.child == name), None)
            columns = _data_columns(schemas[name], keys) + (
                _data_columns(schemas[parent], keys) if parent else 0)
            seconds += ARGN_PER_TABLE + estimate_seconds({**params, "time_limit": 0},
                                                         rows[name], max(columns, 1), scale)
    else:
        raise ParameterError(f"No time model for '{synthesizer}'.")
    return min(seconds, limit) if limit else seconds


#: HMA's measured costs (seconds; see :func:`estimate_related_seconds`).
HMA_PER_PARENT = 0.012
HMA_PER_PARENT_CELL = 2e-5
HMA_PER_TABLE = 0.3
HMA_PER_CELL = 2e-6
HMA_PER_WIDTH_CUBE = 2e-7
#: TabularARGN's fixed cost per table (the engine's split, analysis, encoding, loading).
ARGN_PER_TABLE = 4.0


def related_cost_warning(synthesizer: str, params: Mapping[str, Any],
                         frames: Mapping[str, pd.DataFrame],
                         schemas: Mapping[str, TableSchema],
                         relationships: Sequence[Relationship], train_share: float = 0.7,
                         speed: float | None = None) -> str | None:
    """A sentence before training when the fit will be long or HMA's schema is heavy."""
    seconds = estimate_related_seconds(synthesizer, {**params, "time_limit": 0}, frames,
                                       schemas, relationships, train_share, speed)
    limit = float(params.get("time_limit") or 0)
    parts = []
    if synthesizer == "hma":
        widths = _hma_widths(list(frames), relationships, schemas)
        widest = max(widths, key=widths.get) if widths else None
        depth = _depth(list(frames), relationships)
        if widest is not None and (widths[widest] > 300 or depth > 2):
            levels = f" over {depth} levels" if depth > 2 else ""
            parts.append(
                f"HMA summarises each table's children into extra columns: '{widest}' grows "
                f"to about {widths[widest]:,} columns{levels}, and its cost grows with the "
                "square of that.")
    if seconds > LONG_RELATED_SECONDS or (limit and seconds > limit):
        parts.append(f"Estimated fit: about {_duration(seconds)}"
                     + (f", more than its {limit:g} s time limit" if limit and seconds > limit
                        else "") + ".")
    if not parts:
        return None
    advice = ("Choose TabularARGN, drop wide columns from the child tables, or train fewer "
              "tables." if synthesizer == "hma" else
              "Choose the Quick preset or raise the time limit.")
    return " ".join(parts) + " " + advice


def _depth(names: Sequence[str], relationships: Sequence[Relationship]) -> int:
    def depth(name: str) -> int:
        return 1 + max((depth(r.child) for r in relationships if r.parent == name), default=0)

    return max((depth(n) for n in names if not any(r.child == n for r in relationships)),
               default=1)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


# --------------------------------------------------------------------------- the model


@dataclass
class RelatedModel:
    """A fitted related-tables model (one signed pickle in the registry).

    Attributes:
        synthesizer: "hma" or "tabular_argn".
        engine: The fitted :class:`~core.engine.related_models.StudioHMA` or
            :class:`~core.engine.related_models.RelatedARGN`.
        order: Table names, parents first.
        schemas: Table -> the schema it was trained with (key columns as ids).
        relationships: The foreign keys.
        root: The main root table.
        lookups: Tables copied as they are (TabularARGN) or modelled as roots (HMA).
        train_rows: Table -> real training rows.
        key_formats: Table -> (regex of its real keys or None, whole numbers?).
        fake_plans: Table -> [(column, kind, how, via, source)]: how is "row", "entity"
            (one fake per value of the foreign key ``via``) or "copy" (the parent's column
            ``source``, from the parent row the foreign key ``via`` points at).
        kept: TabularARGN's lookup tables, prepared (copied into every sample).
        dtypes: Table -> column -> training dtype of key columns.
    """

    synthesizer: str
    engine: Any
    order: list[str]
    schemas: dict[str, TableSchema]
    relationships: list[Relationship]
    root: str
    lookups: list[str]
    train_rows: dict[str, int]
    key_formats: dict[str, tuple[str | None, bool]]
    fake_plans: dict[str, list[tuple[str, str, str, str | None, str | None]]]
    kept: dict[str, pd.DataFrame] = field(default_factory=dict)
    dtypes: dict[str, dict[str, Any]] = field(default_factory=dict)


def _key_columns(name: str, relationships: Sequence[Relationship],
                 primary_key: str | None) -> list[str]:
    keys = [primary_key] if primary_key else []
    keys += [r.child_key for r in relationships if r.child == name]
    return list(dict.fromkeys(keys))


def _keyed_schema(schema: TableSchema, keys: Sequence[str], notes: list[str],
                  name: str) -> TableSchema:
    """The schema with key columns as ids the model keeps, and free text left out."""
    columns = []
    for column in schema.columns:
        if column.name in keys:
            columns.append(replace(column, sdtype="id", pii=False, action="model"))
        elif column.action == "generate":
            notes.append(f"'{name}.{column.name}' is free text, which related-table models do "
                         "not write yet: it was left out.")
            columns.append(replace(column, action="drop"))
        else:
            columns.append(column)
    return replace(schema, columns=tuple(columns))


def keyed_schemas(schemas: Mapping[str, TableSchema], relationships: Sequence[Relationship],
                  notes: list[str] | None = None) -> dict[str, TableSchema]:
    """Each table's schema as the model sees it: key columns as ids it keeps, no free text."""
    notes = [] if notes is None else notes
    return {name: _keyed_schema(schema, _key_columns(name, relationships, schema.primary_key),
                                notes, name) for name, schema in schemas.items()}


def related_split_of(request: RelatedRequest, frames: Mapping[str, pd.DataFrame]
                     ) -> RelatedSplit:
    """The real split a request trains and is judged on (raw rows, not prepared)."""
    return split_frames(frames, request.relationships,
                        {name: schema.primary_key for name, schema in request.schemas},
                        request.test_size, request.split_seed, request.target)


def _fake_plans(train: Mapping[str, pd.DataFrame], schemas: Mapping[str, TableSchema],
                relationships: Sequence[Relationship], order: Sequence[str]
                ) -> dict[str, list[tuple[str, str, str, str | None, str | None]]]:
    """How each faked column is filled: from a parent's row, once per parent, or per row.

    "copy": the real values repeat a faked column of the parent row the foreign key points
    at (at least :data:`_SAME_SHARE` of the rows), so the fake value is copied from the
    synthetic parent (a holder name is the customer's name). "entity": the real values are
    constant within each parent, so one fake value per synthetic parent. Else "row".
    """
    plans: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {}
    for name in order:
        frame = train[name]
        plan: list[tuple[str, str, str, str | None, str | None]] = []
        parents = [r for r in relationships if r.child == name]
        for column, kind in schemas[name].fake_specs:
            how: tuple[str, str | None, str | None] = ("row", None, None)
            for r in parents:
                parent = train[r.parent]
                for source, parent_kind in schemas[r.parent].fake_specs:
                    if parent_kind != kind or source not in parent.columns:
                        continue
                    values = parent.drop_duplicates(r.parent_key).set_index(r.parent_key)[source]
                    expected = frame[r.child_key].map(values)
                    same = (expected.astype(object) == frame[column].astype(object)).mean()
                    if len(frame) and same >= _SAME_SHARE:
                        how = ("copy", r.child_key, source)
                        break
                if how[0] == "copy":
                    break
            if how[0] == "row":
                for r in parents:
                    keyed = frame[[r.child_key, column]].dropna(subset=[r.child_key])
                    if keyed.empty or keyed[r.child_key].nunique() == len(keyed):
                        continue  # one row per parent says nothing
                    counts = keyed.groupby(r.child_key)[column].nunique(dropna=False)
                    if int(counts.max()) <= 1:
                        how = ("entity", r.child_key, None)
                        break
            plan.append((column, kind, *how))
        plans[name] = plan
    return plans


#: Share of child rows repeating a parent's faked column for it to be copied from the parent.
_SAME_SHARE = 0.95


def run_related_training(
    request: RelatedRequest,
    frames: Mapping[str, pd.DataFrame],
    *,
    registry: ModelRegistry | Any | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    device: Any = None,
) -> ModelRecord:
    """Split by root entity, fit, and store a related model; return its record.

    Args:
        request: What to train.
        frames: Table -> the full real rows (split here: only the train part is seen).
        registry: Where to store the model (default: the configured registry).
        progress: ``progress(fraction, message)`` per table and step.
        should_cancel: Polled between steps (HMA: per parent row; TabularARGN: per step).
        device: The resolved :class:`~core.engine.device.DeviceInfo` (default: from the
            request).

    Raises:
        TrainingCancelled: ``should_cancel`` returned True.
        TrainingError: The fit failed or ran out of time (the message says why).
        MetadataError: The schema cannot be modelled (the message says why).
    """
    import torch

    from core.engine.device import resolve_device
    from core.engine.models import model_to_bytes
    from core.engine.patches import load_libraries
    from core.engine.training import seed_everything

    load_libraries()
    report = progress or null_progress
    registry = registry or ModelRegistry()
    started = time.monotonic()
    device = device or resolve_device(request.device)
    schemas = request.schema_map
    names = [name for name, _ in request.schemas]
    missing = [name for name in names if name not in frames]
    if missing:
        raise MetadataError(f"No rows were given for the table(s) {', '.join(missing)}.")
    reason = unsupported_reason(names, request.relationships,
                                {n: s.primary_key for n, s in schemas.items()},
                                request.synthesizer)
    if reason:
        raise MetadataError(reason)
    notes: list[str] = []
    keyed = keyed_schemas({name: schemas[name] for name in names}, request.relationships, notes)
    report(0.0, "Splitting the tables by root entity")
    split = related_split_of(request, frames)
    notes.extend(split.notes)
    train = {name: prepare_training_frame(split.train[name], keyed[name]) for name in names}
    for name, frame in train.items():
        if frame.empty:
            raise TrainingError(f"The table '{name}' has no training rows after the split. "
                                "Check its relationships: its rows must belong to the main "
                                f"table '{split.root}'.")
    order = dependency_order(names, request.relationships)
    key_formats = _key_formats(train, keyed)
    fake_plans = _fake_plans(train, keyed, request.relationships, order)
    torch.set_num_threads(max(device.cpu_threads, 1))
    seed_everything(request.seed)
    limit = float(request.params.get("time_limit") or 0)
    fit_report = scaled(report, 0.02, 0.97)

    def on_step(stage: str, fraction: float | None) -> None:
        fit_report(fraction if fraction is not None else 0.0, stage)

    lookups = [n for n in names if n != split.root
               and not any(r.child == n for r in request.relationships)]
    kept: dict[str, pd.DataFrame] = {}
    losses: dict[str, list[float]] = {}
    epochs_run = None
    try:
        if request.synthesizer == "hma":
            engine = _fit_hma(request, train, keyed, on_step, should_cancel, limit, started)
        else:
            engine, kept = _fit_argn(request, train, keyed, split.root, lookups, device,
                                     on_step, should_cancel, limit, started, notes)
            losses = {f"Validation loss ({name})": values
                      for name, values in engine.losses.items() if values}
            epochs_run = sum(engine.epochs.values())
    except (TrainingCancelled, TrainingError, MetadataError):
        raise
    except MemoryError as error:
        raise TrainingError("The machine ran out of memory while training the related tables. "
                            "Use fewer rows or drop wide columns.") from error
    except Exception as error:  # SDV's and the engine's errors are not user-facing as they are
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TrainingError(
            f"Training {request.title} on the related tables failed: {text[:300]}. Check the "
            "keys and column types on the Data page, or try the other synthesizer.") from error
    model = RelatedModel(
        synthesizer=request.synthesizer, engine=engine, order=order, schemas=keyed,
        relationships=list(request.relationships), root=split.root, lookups=lookups,
        train_rows={name: len(frame) for name, frame in train.items()},
        key_formats=key_formats, fake_plans=fake_plans, kept=kept,
        dtypes={name: {k: train[name][k].dtype for k in _key_columns(
            name, request.relationships, keyed[name].primary_key)} for name in names})
    fit_seconds = time.monotonic() - started
    report(0.98, "Saving the model")
    record = ModelRecord(
        model_id=related_training_key(request), data_fingerprint=request.data_fingerprint,
        dataset_name=request.name, synthesizer=request.synthesizer, preset=request.preset,
        params=_jsonable(request.params), seed=request.seed, device=device.label,
        split=request.split_dict(), schema=request.schema_dict(), created_at=time.time(),
        fit_seconds=round(fit_seconds, 3), train_rows=sum(len(f) for f in train.values()),
        columns=sum(len(keyed[n].kept_columns) for n in names), epochs_run=epochs_run,
        losses=losses, notes=notes, title=request.title, shape="related",
        final_loss={name: values[-1] for name, values in losses.items() if values})
    registry.add(record, model_to_bytes(model))
    report(1.0, "Done")
    return record


def _key_formats(train: Mapping[str, pd.DataFrame], schemas: Mapping[str, TableSchema]
                 ) -> dict[str, tuple[str | None, bool]]:
    from core.data.id_formats import derive_id_regex

    formats: dict[str, tuple[str | None, bool]] = {}
    for name, frame in train.items():
        key = schemas[name].primary_key
        if key and key in frame.columns:
            regex, _ = derive_id_regex(frame[key])
            formats[name] = (regex, bool(pd.api.types.is_integer_dtype(frame[key])))
    return formats


def _sdv_metadata(schemas: Mapping[str, TableSchema], relationships: Sequence[Relationship],
                  train: Mapping[str, pd.DataFrame]) -> Any:
    from sdv.metadata import Metadata

    from core.data.schema import TABLE_NAME, to_sdv_metadata_dict

    tables = {}
    for name, schema in schemas.items():
        table = to_sdv_metadata_dict(schema)["tables"][TABLE_NAME]
        tables[name] = table
    links = [{"parent_table_name": r.parent, "parent_primary_key": r.parent_key,
              "child_table_name": r.child, "child_foreign_key": r.child_key}
             for r in relationships]
    return Metadata.load_from_dict({"tables": tables, "relationships": links,
                                    "METADATA_SPEC_VERSION": "V1"})


def _fit_hma(request: RelatedRequest, train: Mapping[str, pd.DataFrame],
             schemas: Mapping[str, TableSchema], on_step: Callable[[str, float | None], None],
             should_cancel: Callable[[], bool] | None, limit: float, started: float) -> Any:
    from core.engine.related_models import fit_hma, make_studio_hma

    metadata = _sdv_metadata(schemas, request.relationships, train)
    synthesizer = make_studio_hma(metadata, str(request.params.get("default_distribution",
                                                                    "beta")))
    data = {name: train[name][schemas[name].sdv_columns] for name in train}
    fit_hma(synthesizer, data, on_step=on_step, should_cancel=should_cancel,
            time_limit=limit, started=started)
    return synthesizer


def _encodings(schema: TableSchema, keys: set[str]) -> dict[str, str]:
    from core.engine.tabular_argn import _ENCODINGS

    return {c.name: _ENCODINGS.get(c.sdtype, "TABULAR_CATEGORICAL") for c in schema.columns
            if c.action in ("model", "keep") and c.sdtype != "id" and c.name not in keys}


def _fit_argn(request: RelatedRequest, train: Mapping[str, pd.DataFrame],
              schemas: Mapping[str, TableSchema], root: str, lookups: Sequence[str],
              device: Any, on_step: Callable[[str, float | None], None],
              should_cancel: Callable[[], bool] | None, limit: float, started: float,
              notes: list[str]) -> tuple[Any, dict[str, pd.DataFrame]]:
    from core.engine.related_models import ChildPlan, RelatedARGN

    order = dependency_order(list(train), request.relationships)
    plans = []
    kept = {}
    for name in order:
        schema = schemas[name]
        if name in lookups:
            kept[name] = train[name]
            notes.append(f"'{name}' is a lookup table ({len(train[name]):,} rows of reference "
                         "data every synthetic row points into): TabularARGN copies it and "
                         "fakes its personal columns again.")
            continue
        own_keys = set(_key_columns(name, request.relationships, schema.primary_key))
        columns = _encodings(schema, own_keys)
        main = [r for r in request.relationships if r.child == name and r.parent not in lookups]
        for r in request.relationships:
            if r.child == name and r.parent in lookups:
                columns[r.child_key] = "TABULAR_CATEGORICAL"  # its proportions are learned
        if not main:
            plans.append(ChildPlan(name, columns, primary_key=schema.primary_key))
            continue
        link = main[0]
        parent_schema = schemas[link.parent]
        parent_keys = set(_key_columns(link.parent, request.relationships,
                                       parent_schema.primary_key))
        plans.append(ChildPlan(name, columns, parent=link.parent, parent_key=link.parent_key,
                               foreign_key=link.child_key,
                               parent_columns=_encodings(parent_schema, parent_keys),
                               primary_key=schema.primary_key))
    import torch

    engine = RelatedARGN(plans, model_size=str(request.params.get("model_size", "medium")),
                         max_epochs=int(request.params.get("epochs", 100)),
                         value_protection=bool(request.params.get("value_protection", True)),
                         device="cuda" if device.is_gpu and torch.cuda.is_available() else "cpu")
    engine.fit(train, on_step=on_step, should_cancel=should_cancel, time_limit=limit,
               started=started)
    for name in engine.stopped_by_time:
        notes.append(f"TabularARGN on '{name}' stopped at its share of the {limit:g} s time "
                     "limit and kept what it had learned; raise the limit to train longer.")
    return engine, kept


# --------------------------------------------------------------------------- sampling


def _table_seed(seed: int, name: str, what: str = "") -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(f"{name}:{what}".encode())) % (2**32)


def _new_keys(model: RelatedModel, name: str, count: int, seed: int) -> np.ndarray:
    from core.data.id_formats import make_ids

    regex, integer = model.key_formats.get(name, (None, True))
    key = model.schemas[name].primary_key or "key"
    if regex:
        made = make_ids(regex, count, _table_seed(seed, name, "keys"), f"{name}.{key}",
                        integer=integer)
        if made is not None:
            return np.asarray(made)
    if integer:
        return np.arange(1, count + 1, dtype=np.int64)
    prefix = re.sub(r"[^A-Za-z0-9]", "", name)[:4].upper() or "ID"
    return np.array([f"{prefix}-{i:06d}" for i in range(1, count + 1)], dtype=object)


def _rekey(model: RelatedModel, tables: dict[str, pd.DataFrame], seed: int
           ) -> dict[str, pd.DataFrame]:
    """New primary keys in the real format; foreign keys follow their parents' new keys."""
    tables = {name: frame.reset_index(drop=True).copy() for name, frame in tables.items()}
    mappings: dict[str, pd.Series] = {}
    for name in model.order:
        key = model.schemas[name].primary_key
        frame = tables[name]
        if name in model.kept or not key or key not in frame.columns:
            continue
        new = _new_keys(model, name, len(frame), seed)
        old = frame[key].astype(object)
        mapping = pd.Series(new, index=old.to_numpy())
        mappings[name] = mapping[~mapping.index.duplicated(keep="first")]
        frame[key] = new
    for r in model.relationships:
        if r.parent in mappings and r.child_key in tables[r.child].columns:
            child = tables[r.child]
            mapped = child[r.child_key].astype(object).map(mappings[r.parent])
            child[r.child_key] = mapped.to_numpy()
    for name, frame in tables.items():
        for column, dtype in model.dtypes.get(name, {}).items():
            if column in frame.columns and pd.api.types.is_integer_dtype(dtype):
                values = pd.to_numeric(frame[column], errors="coerce")
                frame[column] = values.astype("Int64" if values.isna().any() else "int64")
    return tables


def _fill_fakes(model: RelatedModel, tables: dict[str, pd.DataFrame], seed: int
                ) -> dict[str, pd.DataFrame]:
    from core.data.fake_values import add_fake_columns

    for name in model.order:
        plan = model.fake_plans.get(name) or []
        if not plan:
            continue
        frame = tables[name]
        rows = [(c, k) for c, k, how, _, _ in plan if how == "row"]
        if rows:
            frame = add_fake_columns(frame, rows, [*frame.columns, *[c for c, _ in rows]],
                                     _table_seed(seed, name, "fake"))
        by_key: dict[str, list[tuple[str, str]]] = {}
        for column, kind, how, via, _ in plan:
            if how == "entity" and via is not None:
                by_key.setdefault(via, []).append((column, kind))
        for via, specs in by_key.items():
            keys = pd.Series(frame[via].dropna().unique())
            keys = keys.iloc[np.argsort(keys.astype(str).to_numpy(), kind="stable")]
            entities = pd.DataFrame({via: keys.to_numpy()})
            faked = add_fake_columns(entities, specs, [via, *[c for c, _ in specs]],
                                     _table_seed(seed, name, f"entity:{via}"))
            faked = faked.set_index(via)
            for column, _ in specs:
                frame[column] = frame[via].map(faked[column]).to_numpy()
        for column, _kind, how, via, source in plan:
            if how == "copy" and via is not None and source is not None:
                link = next(r for r in model.relationships
                            if r.child == name and r.child_key == via)
                parent = tables[link.parent]
                values = parent.set_index(link.parent_key)[source]
                values = values[~values.index.duplicated(keep="first")]
                frame[column] = frame[via].map(values).to_numpy()
        tables[name] = frame
    return tables


def _in_zones(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    zoned = [c for c in schema.columns if c.timezone and c.name in frame.columns
             and pd.api.types.is_datetime64_dtype(frame[c.name])]
    for column in zoned:
        frame[column.name] = frame[column.name].dt.tz_localize("UTC").dt.tz_convert(
            column.timezone)
    return frame


def sample_related(model: RelatedModel, *, scale: float = 1.0, seed: int = 0,
                   progress: ProgressCallback | None = None) -> dict[str, pd.DataFrame]:
    """Synthetic related tables from a fitted model (the same seed gives the same tables).

    Args:
        model: A loaded :class:`RelatedModel`.
        scale: Root entities as a multiple of the real training ones (1.0: as many).
        seed: Sampling seed.
        progress: ``progress(fraction, message)``.

    Returns:
        Table -> rows, columns as in each table's schema (dropped ones left out).

    Raises:
        ParameterError: ``scale`` is not positive or gives no rows.
    """
    from core.engine.patches import load_libraries
    from core.engine.training import seed_everything

    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ParameterError(f"The scale must be a positive number; got {scale}.")
    roots = max(int(round(model.train_rows[model.root] * scale)), 1)
    if roots > 5_000_000:
        raise ParameterError(f"That would make {roots:,} rows of '{model.root}'; at most "
                             "5,000,000 can be generated at once. Choose a smaller scale.")
    load_libraries()
    report = progress or null_progress
    report(0.0, "Generating the related tables…")
    seed_everything(seed)
    if model.synthesizer == "hma":
        synthesizer = model.engine
        synthesizer.reset_sampling()
        synthesizer._numpy_seed = int(seed) % (2**32)
        tables = synthesizer.sample_scale(scale=roots / model.train_rows[model.root])
    else:
        rows = {model.root: roots}
        for plan in model.engine.plans:
            if plan.parent is None and plan.name != model.root:
                rows[plan.name] = max(int(round(model.train_rows[plan.name] * scale)), 1)
        tables = model.engine.sample(rows, model.kept, seed, scaled(report, 0.0, 0.85))
    report(0.9, "Giving keys and personal columns their final values…")
    tables = _rekey(model, dict(tables), seed)
    tables = _fill_fakes(model, tables, seed)
    result = {}
    for name in model.order:
        schema = model.schemas[name]
        frame = _in_zones(tables[name], schema)
        result[name] = frame[[c for c in schema.kept_columns if c in frame.columns]].reset_index(
            drop=True)
    report(1.0, f"Generated {sum(len(f) for f in result.values()):,} rows in "
           f"{len(result)} tables.")
    return result
