"""The two multi-table synthesizers: SDV's HMA with the studio's hooks, and TabularARGN.

:class:`StudioHMA` is SDV 2.0's ``HMASynthesizer``, which says nothing while it fits. Two of
its methods run at known points and are hooked: ``_get_extension`` once per relationship
(it fits one small Gaussian copula per parent row, which is HMA's cost on wide or deep
schemas) and ``_set_extended_columns_distributions`` once per parent row and per table; the
per-table modelling loop is run one table at a time. Each hook reports progress and checks
the cancel flag and the time limit. SDV swallows ``Exception`` inside the per-parent loop,
so the stop travels as a ``BaseException`` (:class:`_Stop`) and becomes
``TrainingCancelled`` or a ``TrainingError`` outside SDV. SDV refuses schemas deeper than
two levels or with more than five tables; the studio lifts that refusal and shows the
estimated time before training instead (:func:`core.engine.multi_table.estimate_related_seconds`).

:class:`RelatedARGN` is TabularARGN (``mostlyai-engine``) in its two-table mode, chained:
the main root and its lookup-free roots as flat tables, each child with its parent as the
engine's context (``tgt_context_key`` = the child's foreign key, ``ctx_primary_key`` = the
parent's key), so the network learns how many children each parent has and what they look
like given the parent. A child's foreign key to a lookup table (a branch) is modelled as a
category of the child, so its real proportions and its relation to the other columns are
learned; lookup tables themselves are reference data and are copied (their faked columns
faked again). Not supported, with a message saying so: a child under two parents that are
not lookups (the engine takes one context table), cycles and self-references.

Both run their fits in private temporary folders and keep only what sampling needs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import TrainingCancelled, TrainingError

__all__ = ["ChildPlan", "RelatedARGN", "fit_hma", "make_studio_hma"]

#: Step callback: ``(stage, fraction_of_the_fit)``; fraction None when unknown.
StepCallback = Callable[[str, float | None], None]


class _Stop(BaseException):  # noqa: N818 - a signal, not an error: SDV swallows Exception
    """Ends a fit from inside SDV's loops ("cancel" or "time")."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Hooks:
    """Progress, cancel and the time limit, shared by the two synthesizers."""

    def __init__(self, on_step: StepCallback | None, should_cancel: Callable[[], bool] | None,
                 time_limit: float, started: float) -> None:
        self.on_step = on_step
        self.should_cancel = should_cancel
        self.time_limit = float(time_limit or 0.0)
        self.started = started
        self._last_report = 0.0

    def check(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise _Stop("cancel")
        if self.time_limit and time.monotonic() - self.started >= self.time_limit:
            raise _Stop("time")

    def step(self, stage: str, fraction: float | None, force: bool = True) -> None:
        self.check()
        now = time.monotonic()
        if self.on_step is not None and (force or now - self._last_report >= 0.25):
            self._last_report = now
            self.on_step(stage, fraction)


def _stopped(stop: _Stop, what: str, limit: float) -> TrainingError:
    if stop.why == "cancel":
        return TrainingCancelled("Training was cancelled.")
    return TrainingError(
        f"{what} did not finish within its {limit:g} s time limit, and a half-fitted "
        "multi-table model cannot be kept. Raise the time limit, choose TabularARGN, or "
        "drop wide columns from the child tables on the Data page.")


# --------------------------------------------------------------------------- HMA


def make_studio_hma(metadata: Any, default_distribution: str = "beta") -> Any:
    """A :class:`StudioHMA` for SDV ``Metadata`` (SDV is imported only here)."""
    cls = _hma_class()
    synthesizer = cls(metadata)
    roots = set(metadata.tables) - {r["child_table_name"] for r in metadata.relationships}
    for name in roots:  # children keep HMA's own 'norm' (it fits one copula per parent)
        synthesizer.set_table_parameters(name, {"default_distribution": default_distribution})
    return synthesizer


_HMA_CLASS: list[type] = []


def _hma_class() -> type:
    """The studio's HMA subclass (built on first use: SDV loads in seconds)."""
    if _HMA_CLASS:
        return _HMA_CLASS[0]
    from sdv.multi_table import HMASynthesizer

    class _StudioHMA(HMASynthesizer):
        """HMA with progress per table and relationship, cancel and a time limit."""

        _hooks: _Hooks | None = None
        _steps_total = 1
        _steps_done = 0

        def __init__(self, metadata: Any) -> None:
            super().__init__(metadata, verbose=False)

        def __getstate__(self) -> dict[str, Any]:
            state = self.__dict__.copy()
            state.pop("_hooks", None)
            return state

        def _validate_schema_complexity(self) -> None:
            # SDV refuses depth > 2 or > 5 tables; the studio shows the estimated time
            # before training instead (core.engine.multi_table.estimate_related_seconds).
            return None

        def studio_fit(self, data: Mapping[str, pd.DataFrame], hooks: _Hooks) -> None:
            self._hooks = hooks
            self._steps_total = len(self.metadata.relationships) + len(self.metadata.tables)
            self._steps_done = 0
            try:
                hooks.step("Preparing the tables", 0.0)
                self.fit(dict(data))
            finally:
                self._hooks = None

        def _fraction(self, within: float = 0.0) -> float:
            return min((self._steps_done + within) / max(self._steps_total, 1), 1.0)

        def _get_extension(self, child_name: str, child_table: pd.DataFrame,
                           foreign_key: str, progress_bar_desc: str) -> pd.DataFrame:
            parents = child_table[foreign_key].nunique() if foreign_key in child_table else 0
            self._ticks, self._tick_total = 0, max(int(parents), 1)
            self._tick_stage = (f"Learning how many '{child_name}' rows each parent has and "
                                f"what they look like ({parents:,} parents, via "
                                f"'{foreign_key}')")
            if self._hooks is not None:
                self._hooks.step(self._tick_stage, self._fraction())
            result = super()._get_extension(child_name, child_table, foreign_key,
                                            progress_bar_desc)
            self._steps_done += 1
            self._tick_total = 0
            return result

        def _set_extended_columns_distributions(self, synthesizer: Any, table_name: str,
                                                valid_columns: Any) -> None:
            hooks = self._hooks
            if hooks is not None:
                if getattr(self, "_tick_total", 0):
                    self._ticks += 1
                    hooks.step(f"{self._tick_stage}: {self._ticks:,} of {self._tick_total:,}",
                               self._fraction(self._ticks / self._tick_total), force=False)
                else:
                    hooks.check()
            super()._set_extended_columns_distributions(synthesizer, table_name,
                                                        valid_columns)

        def _model_tables(self, augmented_data: dict[str, pd.DataFrame]) -> None:
            for name, table in augmented_data.items():
                if self._hooks is not None:
                    self._hooks.step(f"Modelling the table '{name}' with its children's "
                                     "summaries", self._fraction())
                super()._model_tables({name: table})
                self._steps_done += 1

    _StudioHMA.__name__ = _StudioHMA.__qualname__ = "StudioHMA"
    _StudioHMA.__module__ = __name__
    globals()["StudioHMA"] = _StudioHMA  # so pickles find it by name
    _HMA_CLASS.append(_StudioHMA)
    return _StudioHMA


def __getattr__(name: str) -> Any:
    # Unpickling a stored HMA model looks up ``StudioHMA`` here before any fit built it.
    if name == "StudioHMA":
        return _hma_class()
    raise AttributeError(name)


def fit_hma(synthesizer: Any, data: Mapping[str, pd.DataFrame], *,
            on_step: StepCallback | None, should_cancel: Callable[[], bool] | None,
            time_limit: float, started: float) -> None:
    """Fit a :func:`make_studio_hma` synthesizer with the studio's hooks.

    Raises:
        TrainingCancelled: ``should_cancel`` returned True.
        TrainingError: The time limit passed (HMA keeps nothing half-fitted).
    """
    hooks = _Hooks(on_step, should_cancel, time_limit, started)
    try:
        synthesizer.studio_fit(data, hooks)
    except _Stop as stop:
        raise _stopped(stop, "HMA", time_limit) from None


# --------------------------------------------------------------------------- TabularARGN


class ChildPlan:
    """How :class:`RelatedARGN` learns one table.

    Attributes:
        name: The table.
        columns: Modelled columns (keys left out) -> the engine's encoding type.
        parent: The context table (None: a flat table).
        parent_key: The context table's primary key.
        foreign_key: This table's column holding the parent's key.
        parent_columns: The parent's modelled columns -> encoding type (its context).
        primary_key: This table's key (numbered 0..n-1 when sampled; the caller gives
            keys in the real format).
    """

    def __init__(self, name: str, columns: Mapping[str, str], parent: str | None = None,
                 parent_key: str | None = None, foreign_key: str | None = None,
                 parent_columns: Mapping[str, str] | None = None,
                 primary_key: str | None = None) -> None:
        self.name = name
        self.primary_key = primary_key
        self.columns = dict(columns)
        self.parent = parent
        self.parent_key = parent_key
        self.foreign_key = foreign_key
        self.parent_columns = dict(parent_columns or {})


_KEPT = ("ModelStore/model-data/model-configs.json", "ModelStore/model-data/model-weights.pt",
         "ModelStore/tgt-stats/stats.json", "ModelStore/ctx-stats/stats.json",
         "OriginalData/tgt-meta/encoding-types.json", "OriginalData/tgt-meta/keys.json",
         "OriginalData/ctx-meta/encoding-types.json", "OriginalData/ctx-meta/keys.json")
_CONTEXT_KEY = "__studio_parent__"
_BATCH = 20_000


class RelatedARGN:
    """TabularARGN over related tables: flat roots, children with their parent as context.

    Args:
        plans: One :class:`ChildPlan` per modelled table, parents before children.
        model_size: "small", "medium" or "large".
        max_epochs: Most passes over each table.
        value_protection: The engine's protection of rare categories and extreme values.
        device: "cuda" or "cpu" for training (sampling runs on the CPU).

    Attributes:
        files: Table -> the engine's files sampling needs (as bytes).
        dtypes: Table -> column -> the training dtype (to give values back their type).
        labels: Table -> categorical column -> {text: original value}.
        losses: Table -> per-epoch validation losses.
        epochs: Table -> epochs run.
        stopped_by_time: Tables whose training the time limit ended.
    """

    def __init__(self, plans: list[ChildPlan], *, model_size: str = "medium",
                 max_epochs: int = 100, value_protection: bool = True,
                 device: str = "cpu") -> None:
        self.plans = plans
        self.model_size = model_size
        self.max_epochs = int(max_epochs)
        self.value_protection = bool(value_protection)
        self.device = device
        self.files: dict[str, dict[str, bytes]] = {}
        self.dtypes: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, dict[str, Any]]] = {}
        self.losses: dict[str, list[float]] = {}
        self.epochs: dict[str, int] = {}
        self.stopped_by_time: list[str] = []

    # ------------------------------------------------------------------ fitting

    def fit(self, data: Mapping[str, pd.DataFrame], *, on_step: StepCallback | None,
            should_cancel: Callable[[], bool] | None, time_limit: float,
            started: float) -> RelatedARGN:
        """Fit every plan in order, sharing the time limit (each table an equal part of the rest).

        Raises:
            TrainingCancelled: ``should_cancel`` returned True.
            TrainingError: No time was left for a table.
        """
        hooks = _Hooks(on_step, should_cancel, 0.0, started)
        try:
            for position, plan in enumerate(self.plans):
                hooks.step(f"Training TabularARGN on '{plan.name}' ({position + 1} of "
                           f"{len(self.plans)})", position / len(self.plans))
                limit = 0.0
                if time_limit:
                    left = time_limit - (time.monotonic() - started)
                    if left <= 1.0:
                        raise TrainingError(
                            f"The {time_limit:g} s time limit ran out before TabularARGN "
                            f"reached the table '{plan.name}'. Raise the time limit, or "
                            "choose HMA.")
                    limit = left / (len(self.plans) - position)
                self._fit_one(plan, data, hooks, limit, position)
        except _Stop as stop:
            raise _stopped(stop, "TabularARGN", time_limit) from None
        return self

    def _fit_one(self, plan: ChildPlan, data: Mapping[str, pd.DataFrame], hooks: _Hooks,
                 limit: float, position: int) -> None:
        from mostlyai import engine

        from core.engine.tabular_argn import MODEL_SIZES, _kept_labels

        frame = data[plan.name]
        target = frame[list(plan.columns)].reset_index(drop=True)
        self.dtypes[plan.name] = {c: frame[c].dtype for c in plan.columns}
        context = None
        if plan.parent is not None:
            parent = data[plan.parent]
            target[_CONTEXT_KEY] = frame[plan.foreign_key].to_numpy()
            context = parent[[plan.parent_key, *plan.parent_columns]].rename(
                columns={plan.parent_key: _CONTEXT_KEY}).reset_index(drop=True)
        labels = {c: {str(v): v for v in target[c].dropna().unique()}
                  for c, kind in plan.columns.items() if kind == "TABULAR_CATEGORICAL"}
        engine.set_random_state(int(np.random.randint(0, 2**31 - 1)))
        workspace = Path(tempfile.mkdtemp(prefix="studio-argn-related-"))
        table_started = time.monotonic()
        losses: list[float] = []

        def update(total: int | None = None, completed: int | None = None,
                   advance: int | None = None, message: dict | None = None,
                   **_: Any) -> dict | None:
            hooks.check()
            if message and message.get("val_loss") is not None:
                epoch = float(message.get("epoch") or 0.0)
                if epoch.is_integer() and epoch >= 1:
                    losses.append(float(message["val_loss"]))
                    hooks.step(f"Training TabularARGN on '{plan.name}': epoch {int(epoch)} "
                               f"(loss {float(message['val_loss']):.3f})",
                               (position + min(epoch / 10, 0.95)) / len(self.plans))
            if limit and time.monotonic() - table_started >= limit:
                if plan.name not in self.stopped_by_time:
                    self.stopped_by_time.append(plan.name)
                return {"stopExecution": True}
            return None

        try:
            engine.split(tgt_data=target, ctx_data=context,
                         tgt_context_key=_CONTEXT_KEY if context is not None else None,
                         ctx_primary_key=_CONTEXT_KEY if context is not None else None,
                         tgt_encoding_types=plan.columns,
                         ctx_encoding_types=plan.parent_columns if context is not None else None,
                         model_type="TABULAR", workspace_dir=workspace)
            engine.analyze(value_protection=self.value_protection, workspace_dir=workspace)
            self.labels[plan.name] = _kept_labels(labels, workspace)
            engine.encode(workspace_dir=workspace)
            hooks.check()
            minutes = max(limit - (time.monotonic() - table_started), 1.0) / 60 if limit else None
            engine.train(model=MODEL_SIZES[self.model_size], max_epochs=self.max_epochs,
                         max_training_time=minutes, device=self.device,
                         workspace_dir=workspace, update_progress=update)
            self.files[plan.name] = {name: (workspace / name).read_bytes() for name in _KEPT
                                     if (workspace / name).is_file()}
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        self.losses[plan.name] = losses
        self.epochs[plan.name] = len(losses)

    # ------------------------------------------------------------------ sampling

    def sample(self, root_rows: Mapping[str, int], kept: Mapping[str, pd.DataFrame],
               seed: int, progress: Callable[[float, str], None] | None = None
               ) -> dict[str, pd.DataFrame]:
        """Synthetic tables: flat tables of ``root_rows[name]`` rows, children per parent.

        Args:
            root_rows: Flat table -> rows to draw.
            kept: Tables copied as they are (lookups), already in their final form.
            seed: Sampling seed.
            progress: ``progress(fraction, message)``.

        Returns:
            Table -> rows; a flat table's keys are 0..n-1 (the caller gives real-format
            keys), a child's foreign key holds its parent's key.
        """
        rng = np.random.default_rng(seed)
        out: dict[str, pd.DataFrame] = dict(kept)
        for position, plan in enumerate(self.plans):
            if progress is not None:
                progress(position / len(self.plans), f"Generating '{plan.name}'…")
            if plan.parent is None:
                rows = self._generate(plan, int(root_rows[plan.name]), None, rng)
                out[plan.name] = _numbered(rows, plan.primary_key)
                continue
            parent = out[plan.parent]
            context = parent[[plan.parent_key, *plan.parent_columns]].rename(
                columns={plan.parent_key: _CONTEXT_KEY}).reset_index(drop=True)
            context = _as_context(context, self.dtypes.get(plan.parent, {}))
            rows = self._generate(plan, len(context), context, rng)
            rows = rows.rename(columns={_CONTEXT_KEY: plan.foreign_key})
            out[plan.name] = _numbered(rows, plan.primary_key)
        return out

    def _generate(self, plan: ChildPlan, rows: int, context: pd.DataFrame | None,
                  rng: np.random.Generator) -> pd.DataFrame:
        from mostlyai import engine
        from mostlyai.engine._common import load_generated_data

        from core.engine.tabular_argn import _restore

        workspace = Path(tempfile.mkdtemp(prefix="studio-argn-related-"))
        try:
            for name, content in self.files[plan.name].items():
                path = workspace / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            parts = []
            for start in range(0, max(rows, 1), _BATCH):
                engine.set_random_state(int(rng.integers(0, 2**31 - 1)))
                if context is None:
                    engine.generate(sample_size=min(_BATCH, rows - start), device="cpu",
                                    batch_size=min(_BATCH, rows - start),
                                    rare_category_replacement_method="SAMPLE",
                                    workspace_dir=workspace)
                else:
                    engine.generate(ctx_data=context.iloc[start:start + _BATCH], device="cpu",
                                    batch_size=_BATCH,
                                    rare_category_replacement_method="SAMPLE",
                                    workspace_dir=workspace)
                parts.append(load_generated_data(workspace))
            generated = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        result = {}
        for column in plan.columns:
            result[column] = _restore(generated[column], self.dtypes[plan.name][column],
                                      self.labels.get(plan.name, {}).get(column))
        frame = pd.DataFrame(result)
        if context is not None:
            frame[_CONTEXT_KEY] = generated[_CONTEXT_KEY].to_numpy()
        return frame


def _numbered(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """``frame`` with its primary key numbered 0..n-1 (first column)."""
    if key is None:
        return frame
    return pd.concat([pd.DataFrame({key: np.arange(len(frame))}), frame.reset_index(drop=True)],
                     axis=1)


def _as_context(context: pd.DataFrame, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """Synthetic parent columns in the types the context had in training."""
    context = context.copy()
    for column, dtype in dtypes.items():
        if column in context.columns and pd.api.types.is_bool_dtype(dtype):
            context[column] = context[column].astype(object)
    return context
