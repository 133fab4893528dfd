"""TabularARGN through ``mostlyai-engine``: the library's own pipeline behind SDV's interface.

:class:`TabularARGNSynthesizer` runs the engine's ``split``, ``analyze``, ``encode``,
``train`` and ``generate`` and offers the parts of SDV's synthesizer interface the studio
uses (``fit``, ``sample``, ``sample_from_conditions``, ``reset_sampling``,
:meth:`~TabularARGNSynthesizer.seed_sampling`), so Train, Generate, Compare and the CLI
treat it like the others.

The engine works in a workspace folder. A fit uses a private temporary folder and keeps,
as bytes in the object, only what sampling reads (network weights, model settings, column
statistics and encodings), never the training rows the engine copies there; sampling
restores those files into another private temporary folder, removed with the object. So a
stored model is one self-contained pickle, like the SDV ones.

The engine and what it imports take several seconds to load, so it is imported inside the
methods, never when this module is (the Streamlit server imports the engine package).

**Differential privacy** (``epsilon`` set; the catalogue fills ``delta``). The engine trains
with DP-SGD (Opacus: each row's gradient clipped, Gaussian noise added, an RDP accountant
counting ε). What is paid from the budget ε:

* the value ranges and categories: the engine's analysis reads numeric and date bounds
  from noisy histograms and keeps a category only when its noisy count clears a threshold,
  spending :data:`VALUE_PROTECTION_SHARE` of ε there (split evenly over the columns);
  value protection must be on, so nothing of them is read outside the budget;
* training: the rest. The engine stops before the total passes ε and keeps its best
  checkpoint within it; the ε recorded (``epsilon_spent``) is that checkpoint's, as the
  engine reports it (analysis plus training), and a fit whose kept weights spent more
  (the budget ran out inside the first pass) is refused.

What the studio reads itself stays inside that account: the category labels it keeps to
give values back their type are cut to the categories the engine kept (rare ones can never
be generated, and are not stored in the model); identifiers are not modelled but drawn
fresh; faked personal columns come from Faker and the seed, never from real values.

What the user declares, not paid for: the columns, their kinds and roles (the reviewed
schema, including which columns are ids and the id format, e.g. ``CUST-######``, read
from the real ids), and the number of rows. What ε does not cover: the engine reads
outside its budget whether a column has missing or negative values and how many decimal
places its numbers use; it picks the checkpoint and the stopping epoch by the loss on
held-back training rows, without noise; and the guarantee is about one row, so a person
with several rows is protected less.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TABLE_NAME
from core.errors import TrainingCancelled, TrainingError

__all__ = ["CONTEXT_TIME_SHARE", "MODEL_SIZES", "VALUE_PROTECTION_SHARE",
           "SequentialARGNSynthesizer", "TabularARGNSynthesizer", "build_tabular_argn",
           "estimate_seconds"]

#: The share of ε spent on reading value ranges and categories (the engine's analysis);
#: the rest pays for training. The engine's own defaults spend 1 of 10 the same way.
VALUE_PROTECTION_SHARE = 0.1

#: The engine's model sizes by the studio's choice names.
MODEL_SIZES: dict[str, str] = {"small": "MOSTLY_AI/Small", "medium": "MOSTLY_AI/Medium",
                               "large": "MOSTLY_AI/Large"}

# The workspace files sampling reads; the engine's copies of the training rows
# (OriginalData/tgt-data, encoded-data) and the optimiser state are never kept.
_KEPT_FILES = ("ModelStore/model-data/model-configs.json",
               "ModelStore/model-data/model-weights.pt",
               "ModelStore/tgt-stats/stats.json",
               "OriginalData/tgt-meta/encoding-types.json",
               "OriginalData/tgt-meta/keys.json")
_ENCODINGS = {"numerical": "TABULAR_NUMERIC_AUTO", "datetime": "TABULAR_DATETIME",
              "categorical": "TABULAR_CATEGORICAL", "boolean": "TABULAR_CATEGORICAL"}
# Rows per call to the engine's generate: a fixed batch size keeps the rows of a seed the
# same on every machine (the engine's own choice depends on the free memory).
_SAMPLE_BATCH = 20_000
# The sequential mode's context side: what generating events for new entities reads.
_CONTEXT_FILES = ("ModelStore/ctx-stats/stats.json",
                  "OriginalData/ctx-meta/encoding-types.json",
                  "OriginalData/ctx-meta/keys.json")
#: Sequential mode: the share of the time limit the entities' context model may use (it
#: learns one row per entity, the event model all the events).
CONTEXT_TIME_SHARE = 0.25
# Entities per call to the engine's generate in sequential mode (fixed, as _SAMPLE_BATCH).
_SAMPLE_ENTITIES = 2_000
_LOSS_COLUMNS = ["Epoch", "Training Loss", "Validation Loss"]
_NOT_SAVED = ("on_epoch", "should_cancel", "time_limit_start", "_workspace_dir", "_cleanup")


class TabularARGNSynthesizer:
    """MOSTLY AI's TabularARGN (an autoregressive network) as a studio synthesizer.

    Args:
        metadata_dict: SDV metadata (dict form) of the columns handed to ``fit``. Numbers,
            dates, categories and true/false columns are modelled; identifier columns are
            left out and drawn fresh when sampling.
        model_size: "small", "medium" or "large" (the engine's network sizes).
        max_epochs: Most passes over the data; the engine also stops once its held-back
            loss stops improving.
        time_limit: Seconds from ``time_limit_start`` after which training ends and keeps
            what it learned (0: no limit).
        value_protection: The engine's protection of rare categories and extreme values
            (rare categories are never learned; numbers are clipped to safe quantiles).
        device: "cuda" or "cpu": where training runs (sampling always runs on the CPU, so a
            seed gives the same rows on every machine).
        on_epoch: Called after each epoch with the loss table so far (columns ``Epoch``,
            ``Training Loss``, ``Validation Loss``); True ends training there.
        should_cancel: Polled at every training step; True raises ``TrainingCancelled``.
        time_limit_start: The ``time.monotonic()`` the limit counts from (default: the
            start of ``fit``).
        epsilon: The differential-privacy budget ε (None: no differential privacy). Needs
            ``value_protection``.
        delta: The δ the guarantee holds with (used only with ``epsilon``).

    Attributes:
        stopped_by: Why the last fit ended before ``max_epochs`` (None: it did not).
        loss_values: One row per finished epoch.
        epsilon_spent: ε of the kept model, as the engine's accountant reports it (value
            ranges plus training), None without differential privacy.
        delta_spent: The δ that ``epsilon_spent`` holds with.
    """

    #: Train with :func:`_train` (the sequential mode's context model: its few seconds
    #: matter within a short time limit).
    skip_memory_cleanup = False

    def __init__(self, metadata_dict: Mapping[str, Any], *, model_size: str = "medium",
                 max_epochs: int = 100, time_limit: float = 0.0, value_protection: bool = True,
                 device: str = "cpu", on_epoch: Callable[[pd.DataFrame], bool] | None = None,
                 should_cancel: Callable[[], bool] | None = None,
                 time_limit_start: float | None = None, epsilon: float | None = None,
                 delta: float | None = None) -> None:
        if model_size not in MODEL_SIZES:
            raise ValueError(f"model_size must be one of {', '.join(MODEL_SIZES)}.")
        if epsilon is not None and (not epsilon > 0 or not value_protection):
            raise ValueError("epsilon must be positive, and needs value_protection on.")
        self.metadata_dict = deepcopy(dict(metadata_dict))
        self.model_size = model_size
        self.max_epochs = int(max_epochs)
        self.time_limit = float(time_limit or 0.0)
        self.value_protection = bool(value_protection)
        self.device = device
        self.on_epoch = on_epoch
        self.should_cancel = should_cancel
        self.time_limit_start = time_limit_start
        self.epsilon = None if epsilon is None else float(epsilon)
        self.delta = float(delta if delta is not None else 1e-5)
        self.epsilon_spent: float | None = None
        self.delta_spent: float | None = None
        self._checkpoint_eps: float | None = None
        self.stopped_by: str | None = None
        self.loss_values = pd.DataFrame(columns=_LOSS_COLUMNS)
        self.files_: dict[str, bytes] = {}
        self.columns_: list[str] = []
        self.dtypes_: dict[str, Any] = {}
        self.labels_: dict[str, dict[str, Any]] = {}
        self._rng = np.random.default_rng(0)
        self._ids_issued = 0
        self._workspace_dir: Path | None = None
        self._cleanup: Any = None

    # ------------------------------------------------------------------ columns

    def _columns(self) -> dict[str, dict[str, Any]]:
        return self.metadata_dict["tables"][TABLE_NAME]["columns"]

    def _modelled(self) -> list[str]:
        return [name for name in self.columns_ if self._columns()[name]["sdtype"] != "id"]

    def _encoding_types(self) -> dict[str, str]:
        return {name: _ENCODINGS.get(self._columns()[name]["sdtype"], "TABULAR_CATEGORICAL")
                for name in self._modelled()}

    # ------------------------------------------------------------------ fitting

    def fit(self, data: Mapping[str, pd.DataFrame]) -> TabularARGNSynthesizer:
        """Learn the table with the engine's split, analyze, encode and train steps.

        The engine's random state comes from numpy's global one, which the studio seeds
        before a fit, so a seed gives the same model.

        Raises:
            TrainingCancelled: ``should_cancel`` returned True.
            TrainingError: With ``epsilon``, the kept model would spend more than it.
        """
        from mostlyai import engine  # several seconds: only when a fit runs

        start = self.time_limit_start if self.time_limit_start is not None else time.monotonic()
        frame = data[TABLE_NAME]
        self.columns_ = list(frame.columns)
        self.dtypes_ = {name: frame[name].dtype for name in self.columns_}
        encodings = self._encoding_types()
        labels = {name: {str(value): value for value in frame[name].dropna().unique()}
                  for name, kind in encodings.items() if kind == "TABULAR_CATEGORICAL"}
        self.stopped_by = None
        self.epsilon_spent = self.delta_spent = self._checkpoint_eps = None
        privacy = self._privacy_config()
        self.loss_values = pd.DataFrame(columns=_LOSS_COLUMNS)
        engine.set_random_state(int(np.random.randint(0, 2**31 - 1)))
        workspace = Path(tempfile.mkdtemp(prefix="studio-argn-fit-"))
        try:
            engine.split(tgt_data=frame[self._modelled()].reset_index(drop=True),
                         tgt_encoding_types=encodings, model_type="TABULAR",
                         workspace_dir=workspace)
            engine.analyze(value_protection=self.value_protection,
                           differential_privacy=privacy, workspace_dir=workspace)
            # Only the categories the engine kept (paid for from ε when private) are
            # remembered: the rest can never be generated and must not sit in the pickle.
            self.labels_ = _kept_labels(labels, workspace)
            engine.encode(workspace_dir=workspace)
            self._check_cancel()
            minutes = None
            if self.time_limit:
                # The engine counts only its training loop; the studio's limit counts from
                # the start of the whole fit.
                minutes = max(self.time_limit - (time.monotonic() - start), 1.0) / 60
            train = _train if self.skip_memory_cleanup else engine.train
            train(model=MODEL_SIZES[self.model_size], max_epochs=self.max_epochs,
                  max_training_time=minutes, device=self.device,
                  differential_privacy=privacy, workspace_dir=workspace,
                  update_progress=self._progress(start))
            self._check_budget()
            self.files_ = {name: (workspace / name).read_bytes() for name in _KEPT_FILES
                           if (workspace / name).is_file()}
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        self._close_workspace()
        self._why_it_stopped(start)
        return self

    def _privacy_config(self) -> Any:
        """The engine's DP settings for ``epsilon`` (None without differential privacy)."""
        if self.epsilon is None:
            return None
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        return DifferentialPrivacyConfig(
            max_epsilon=self.epsilon, delta=self.delta,
            value_protection_epsilon=VALUE_PROTECTION_SHARE * self.epsilon)

    def _check_budget(self) -> None:
        """Record the kept model's ε; refuse a model that spent more than the budget.

        The engine keeps its best checkpoint within the budget, except when the budget ends
        inside the first epoch: it then keeps those weights anyway, over budget.

        Raises:
            TrainingError: The kept model spent more than ``epsilon`` (or reported none).
        """
        if self.epsilon is None:
            return
        spent = self._checkpoint_eps
        finite = spent is not None and bool(np.isfinite(spent))
        if not finite or spent > self.epsilon * (1 + 1e-9):
            words = f" (it spent ε = {spent:.2g})" if finite else ""
            raise TrainingError(
                f"A privacy budget of ε = {self.epsilon:g} ran out before the network finished "
                f"one pass over the data{words}, so no private model can be kept. Raise ε "
                "(1-10 is common), or train on more rows: each row then costs less of it."
            )
        self.epsilon_spent = float(spent)
        self.delta_spent = self.delta

    def _check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled("Training was cancelled.")

    def _progress(self, start: float) -> Callable[..., dict | None]:
        """The engine's progress callback: losses per epoch, cancel, the studio's stops."""

        def update(total: int | None = None, completed: int | None = None,
                   advance: int | None = None, message: dict | None = None,
                   **_: Any) -> dict | None:
            self._check_cancel()
            stop = False
            if message and message.get("is_checkpoint") and message.get("dp_eps") is not None:
                self._checkpoint_eps = float(message["dp_eps"])  # the kept model's ε
            if message and message.get("val_loss") is not None:
                epoch = float(message.get("epoch") or 0.0)
                if epoch.is_integer() and epoch >= 1:  # an epoch's end, with both losses
                    row = {"Epoch": int(epoch) - 1, "Training Loss": message.get("trn_loss"),
                           "Validation Loss": message.get("val_loss")}
                    self.loss_values = pd.DataFrame([*self.loss_values.to_dict("records"),
                                                     row], columns=_LOSS_COLUMNS)
                    if self.on_epoch is not None and self.on_epoch(self.loss_values.copy()):
                        self._set_stopped("callback")
                        stop = True
            if self.time_limit and time.monotonic() - start >= self.time_limit:
                self._set_stopped("time")
                stop = True
            return {"stopExecution": True} if stop else None

        return update

    def _set_stopped(self, why: str) -> None:
        from core.engine.studio_models import STOPPED_AT_TIME_LIMIT, STOPPED_BY_CALLBACK

        if self.stopped_by is None:
            self.stopped_by = STOPPED_AT_TIME_LIMIT if why == "time" else STOPPED_BY_CALLBACK

    def _why_it_stopped(self, start: float) -> None:
        """Name the reason when the engine itself ended training before ``max_epochs``."""
        epochs = len(self.loss_values)
        if self.stopped_by is not None or epochs >= self.max_epochs:
            return
        if self.time_limit and time.monotonic() - start >= self.time_limit - 1.0:
            self._set_stopped("time")
        elif epochs:
            self._set_stopped("callback")  # its held-back loss stopped improving

    # ------------------------------------------------------------------ sampling

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in _NOT_SAVED:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.on_epoch = self.should_cancel = self.time_limit_start = None
        self._workspace_dir = None
        self._cleanup = None

    def _workspace(self) -> Path:
        """The model's files in a private temporary folder (made once per object)."""
        if self._workspace_dir is None or not self._workspace_dir.is_dir():
            if not self.files_:
                raise ValueError("TabularARGN must be fitted before sampling.")
            folder = Path(tempfile.mkdtemp(prefix="studio-argn-"))
            for name, content in self.files_.items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            self._workspace_dir = folder
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(folder), True)
        return self._workspace_dir

    def _close_workspace(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
        self._workspace_dir = None
        self._cleanup = None

    def reset_sampling(self) -> None:
        """Start sampling over: the next rows are those a fresh load would give."""
        self._rng = np.random.default_rng(0)
        self._ids_issued = 0

    def seed_sampling(self, seed: int) -> None:
        """Make the next samples reproducible."""
        self._rng = np.random.default_rng(seed)
        self._ids_issued = 0

    def _generate(self, rows: int, seed_data: pd.DataFrame | None) -> pd.DataFrame:
        from mostlyai import engine
        from mostlyai.engine._common import load_generated_data

        workspace = self._workspace()
        parts = []
        done = 0
        while done < rows:
            batch = min(_SAMPLE_BATCH, rows - done)
            engine.set_random_state(int(self._rng.integers(0, 2**31 - 1)))
            seeds = None if seed_data is None else seed_data.iloc[done:done + batch]
            engine.generate(sample_size=batch, seed_data=seeds, batch_size=batch, device="cpu",
                            rare_category_replacement_method="SAMPLE",
                            workspace_dir=workspace)
            parts.append(load_generated_data(workspace))
            done += batch
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return self._as_trained(frame.reset_index(drop=True))

    def _as_trained(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The engine's rows with the training columns, order and types (fresh ids)."""
        result = {}
        for name in self.columns_:
            dtype = self.dtypes_[name]
            if self._columns()[name]["sdtype"] == "id":
                result[name] = self._fresh_ids(len(frame), dtype)
            else:
                result[name] = _restore(frame[name], dtype, self.labels_.get(name))
        self._ids_issued += len(frame)
        return pd.DataFrame(result)

    def _fresh_ids(self, rows: int, dtype: Any) -> pd.Series:
        # Unique across the calls of one sampling run; the studio rewrites ids into their
        # real format where it knows one (core.engine.generation).
        numbers = np.arange(self._ids_issued, self._ids_issued + rows)
        if pd.api.types.is_integer_dtype(dtype):
            return pd.Series(numbers, dtype=dtype)
        return pd.Series([str(number) for number in numbers], dtype=object)

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        """Sample ``num_rows`` rows."""
        return {TABLE_NAME: self._generate(int(num_rows), None)}

    def sample_from_conditions(self, conditions: Sequence[Any], **_: Any
                               ) -> dict[str, pd.DataFrame]:
        """Sample ``sdv.sampling.Condition`` objects with the engine's seed data.

        The engine draws every other column given the fixed ones, so each row meets its
        condition (no rows are generated and thrown away).

        Raises:
            ValueError: A condition names a column the model did not learn.
        """
        parts = []
        for condition in conditions:
            values = dict(condition.get_column_values())
            rows = int(condition.get_num_rows())
            unknown = [name for name in values if name not in self._modelled()]
            if unknown:
                raise ValueError(f"TabularARGN did not learn {', '.join(unknown)}.")
            seeds = pd.DataFrame({name: [self._engine_value(name, value)] * rows
                                  for name, value in values.items()})
            parts.append(self._generate(rows, seeds))
        return {TABLE_NAME: pd.concat(parts, ignore_index=True)}

    def _engine_value(self, name: str, value: Any) -> Any:
        """A fixed value as the engine holds it (categories and true/false as text)."""
        if name in self.labels_:
            return str(value)
        return value


class SequentialARGNSynthesizer(TabularARGNSynthesizer):
    """TabularARGN's sequential mode: events of entities, with each entity's context.

    Two engine models, as MOSTLY AI's own two-table setup has them: a flat TabularARGN
    learns the context table (one row per entity: the context columns) and draws new
    entities' context; the engine's sequential model learns the events of each entity
    given its context (``tgt_context_key`` = the entity key) and writes new events for the
    drawn context. A datetime order column is learned as gaps between events
    (``TABULAR_DATETIME_RELATIVE``), so generated times run forward.

    Args:
        metadata_dict: SDV metadata (dict form) of the event columns.
        key: The entity key column.
        index: The order column (None: the rows' order).
        context: Columns constant within an entity.
        **options: :class:`TabularARGNSynthesizer`'s options; the context model gets
            :data:`CONTEXT_TIME_SHARE` of the time limit and no loss reports.
    """

    studio_shape = "sequence"

    def __init__(self, metadata_dict: Mapping[str, Any], *, key: str,
                 index: str | None = None, context: Sequence[str] = (),
                 **options: Any) -> None:
        if options.get("epsilon") is not None:
            raise ValueError("differential privacy is not offered for sequences")
        super().__init__(metadata_dict, **options)
        self.key = key
        self.index = index
        self.context = [name for name in context if name in self._columns()]
        self.context_model_: TabularARGNSynthesizer | None = None
        self.fresh_keys_: Any = None
        self.entities_ = 0
        self.mean_events_ = 0.0
        self._keys_issued = 0

    def _events(self) -> list[str]:
        return [name for name in self._modelled() if name not in (self.key, *self.context)]

    def _event_encodings(self) -> dict[str, str]:
        encodings = {name: kind for name, kind in self._encoding_types().items()
                     if name in self._events()}
        if self.index in encodings and encodings[self.index] == "TABULAR_DATETIME":
            encodings[self.index] = "TABULAR_DATETIME_RELATIVE"
        return encodings

    def fit(self, data: Mapping[str, pd.DataFrame]) -> SequentialARGNSynthesizer:
        """Learn the entities' context, then their events (ordered by key, then order).

        Raises:
            TrainingCancelled: ``should_cancel`` returned True.
        """
        from mostlyai import engine

        from core.engine.sequence_models import FreshKeys

        start = self.time_limit_start if self.time_limit_start is not None else time.monotonic()
        loaded = time.monotonic()  # importing the engine may take seconds on a busy machine
        frame = data[TABLE_NAME].reset_index(drop=True)
        self.columns_ = list(frame.columns)
        self.dtypes_ = {name: frame[name].dtype for name in self.columns_}
        self.fresh_keys_ = FreshKeys.for_keys(frame[self.key])
        entities = frame.groupby(self.key, sort=False)[self.context].first().reset_index()
        self.entities_ = len(entities)
        self.mean_events_ = len(frame) / max(self.entities_, 1)
        self.stopped_by = None
        self.loss_values = pd.DataFrame(columns=_LOSS_COLUMNS)
        self.context_model_ = None
        if self.context:
            columns = {name: self._columns()[name] for name in self.context}
            limit = self.time_limit * CONTEXT_TIME_SHARE if self.time_limit else 0.0
            self.context_model_ = TabularARGNSynthesizer(
                {"tables": {TABLE_NAME: {"columns": columns}}}, model_size=self.model_size,
                max_epochs=self.max_epochs, time_limit=limit,
                value_protection=self.value_protection, device=self.device,
                should_cancel=self.should_cancel, time_limit_start=loaded)
            self.context_model_.skip_memory_cleanup = True
            self.context_model_.fit({TABLE_NAME: entities[self.context]})
        self._check_cancel()
        events = self._events()
        encodings = self._event_encodings()
        context_encodings = {name: _ENCODINGS.get(self._columns()[name]["sdtype"],
                                                  "TABULAR_CATEGORICAL")
                             for name in self.context}
        labels = {name: {str(value): value for value in frame[name].dropna().unique()}
                  for name, kind in encodings.items() if kind == "TABULAR_CATEGORICAL"}
        engine.set_random_state(int(np.random.randint(0, 2**31 - 1)))
        workspace = Path(tempfile.mkdtemp(prefix="studio-argn-fit-"))
        try:
            engine.split(tgt_data=frame[[self.key, *events]], ctx_data=entities,
                         tgt_context_key=self.key, ctx_primary_key=self.key,
                         tgt_encoding_types=encodings, ctx_encoding_types=context_encodings,
                         model_type="TABULAR", workspace_dir=workspace)
            engine.analyze(value_protection=self.value_protection, workspace_dir=workspace)
            self._check_lengths_kept(workspace, frame)
            self.labels_ = _kept_labels(labels, workspace)
            engine.encode(workspace_dir=workspace)
            self._check_cancel()
            minutes = None
            if self.time_limit:
                minutes = max(self.time_limit - (time.monotonic() - start), 1.0) / 60
            _train(model=MODEL_SIZES[self.model_size],
                   max_epochs=self.max_epochs, max_training_time=minutes,
                   batch_size=sequence_batch_size(self.entities_),
                   max_sequence_window=sequence_window(frame, self.key),
                   device=self.device, workspace_dir=workspace,
                   update_progress=self._progress(start))
            self.files_ = {name: (workspace / name).read_bytes()
                           for name in (*_KEPT_FILES, *_CONTEXT_FILES)
                           if (workspace / name).is_file()}
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        self._close_workspace()
        self._why_it_stopped(start)
        return self

    def _check_lengths_kept(self, workspace: Path, frame: pd.DataFrame) -> None:
        """Refuse a fit whose value protection hid every sequence's length.

        With value protection on, the engine keeps sequence lengths only from more than
        20 entities (its ``ANALYZE_REDUCE_MIN_MAX_N``); below that it treats every entity
        as having one event, and the model would write one event per new entity.

        Raises:
            TrainingError: Sequences longer than one event would be learned as single events.
        """
        import json

        stats = json.loads((workspace / "ModelStore/tgt-stats/stats.json").read_text())
        longest = int(frame.groupby(self.key, sort=False).size().max()) if len(frame) else 1
        if stats.get("is_sequential") or longest <= 1:
            return
        raise TrainingError(
            f"TabularARGN's protection of rare and extreme values needs more than 20 entities "
            f"to learn how long sequences are, and this fit has {self.entities_:,} "
            f"'{self.key}' values: every new sequence would have one event. Switch off "
            "'Protect rare and extreme values' (Advanced) to learn these few entities' "
            "lengths and values as they are, or choose PAR.")

    def reset_sampling(self) -> None:
        """Start sampling over: the next entities are those a fresh load would give."""
        self.seed_sampling(0)

    def seed_sampling(self, seed: int) -> None:
        """Make the next samples reproducible (the context model's and the events')."""
        super().seed_sampling(seed)
        self._keys_issued = 0
        if self.context_model_ is not None:
            self.context_model_.seed_sampling(int(seed) + 1)

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        """``num_rows`` new entities with their events (see :meth:`sample_entities`)."""
        return {TABLE_NAME: self.sample_entities(int(num_rows))}

    def sample_from_conditions(self, conditions: Sequence[Any], **_: Any
                               ) -> dict[str, pd.DataFrame]:
        """Not offered: fix context columns with :meth:`sample_entities` instead."""
        raise ValueError("sequence models fix context columns through sample_entities")

    def sample_entities(self, entities: int,
                        fixed_context: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """``entities`` new entities with their events, under fresh keys.

        Args:
            entities: How many entities.
            fixed_context: Context column -> value every new entity has (the context model
                draws the other context columns given it).

        Raises:
            ValueError: A fixed column is not a context column.
        """
        fixed = dict(fixed_context or {})
        unknown = [name for name in fixed if name not in self.context]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a context column")
        context = self._draw_context(entities, fixed)
        context[self.key] = np.arange(entities)
        events = self._generate_events(context)
        positions = events[self.key].to_numpy(dtype=np.int64)
        result = {}
        keys = self.fresh_keys_.make(self._keys_issued, entities).to_numpy()
        self._keys_issued += entities
        for name in self.columns_:
            if name == self.key:
                result[name] = keys[positions]
            elif name in self.context:
                values = context[name].reset_index(drop=True)
                result[name] = values.iloc[positions].reset_index(drop=True)
            else:
                result[name] = events[name].reset_index(drop=True)
        frame = pd.DataFrame(result)
        for name, value in fixed.items():
            frame[name] = pd.Series([value] * len(frame), dtype=frame[name].dtype)
        return frame

    def _draw_context(self, entities: int, fixed: Mapping[str, Any]) -> pd.DataFrame:
        if self.context_model_ is None:
            return pd.DataFrame(index=range(entities))
        model = self.context_model_
        seeds = None
        if fixed:
            seeds = pd.DataFrame({name: [model._engine_value(name, value)] * entities
                                  for name, value in fixed.items()})
        return model._generate(entities, seeds).reset_index(drop=True)

    def _generate_events(self, context: pd.DataFrame) -> pd.DataFrame:
        """The engine's events for ``context`` (positions as keys), in the trained types."""
        from mostlyai import engine
        from mostlyai.engine._common import load_generated_data

        workspace = self._workspace()
        parts = []
        for first in range(0, len(context), _SAMPLE_ENTITIES):
            batch = context.iloc[first:first + _SAMPLE_ENTITIES][[self.key, *self.context]]
            engine.set_random_state(int(self._rng.integers(0, 2**31 - 1)))
            engine.generate(ctx_data=batch.reset_index(drop=True), sample_size=len(batch),
                            batch_size=len(batch), device="cpu",
                            rare_category_replacement_method="SAMPLE",
                            workspace_dir=workspace)
            parts.append(load_generated_data(workspace))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        result = {self.key: pd.to_numeric(frame[self.key]).astype("int64")}
        for name in self._events():
            result[name] = _restore(frame[name], self.dtypes_[name], self.labels_.get(name))
        for name in self.columns_:
            if self._columns()[name]["sdtype"] == "id" and name != self.key:
                result[name] = self._fresh_ids(len(frame), self.dtypes_[name])
        self._ids_issued += len(frame)
        return pd.DataFrame(result)


def _train(**options: Any) -> None:
    """The engine's tabular training on a CPU: one thread, no clean-up of GPU memory.

    ``engine.train`` ends with five full garbage collections (for CUDA memory): with the
    studio's libraries loaded they took 3-6 s on a busy 2-core machine, twice per sequence
    fit (context and events). On a CPU the undecorated function runs instead.
    """
    from mostlyai import engine
    from mostlyai.engine._tabular import training

    from core.engine.studio_models import one_cpu_thread

    plain = getattr(training.train, "__wrapped__", None)
    if str(options.get("device")) != "cpu" or plain is None:
        engine.train(**options)
        return
    # One thread, as the studio's other networks train on a CPU: a step of the event model
    # took 2-3 s on two threads of the busy 2-core machine, 30 ms on one.
    with one_cpu_thread("cpu"):
        plain(**{name: value for name, value in options.items() if value is not None})


def sequence_batch_size(entities: int) -> int:
    """Sequences per training step of the event model (the engine would use 8 below 1,024).

    About 16 steps per pass over the engine's training share (80 %) of the entities, from
    8 to 64 sequences: a step over 32 sequences cost little more than one over 8 on a CPU
    (one recurrent step per event either way), so an epoch of a few hundred entities ends
    several times sooner and training gets many more epochs within a time limit.
    """
    share = max(int(entities * 0.8), 1)
    return int(np.clip(2 ** int(np.log2(max(share / 16, 1))), 8, 64))


def sequence_window(frame: pd.DataFrame, key: str) -> int:
    """Most events of one sequence a training step reads (longer ones: a random window).

    Twice the median length, at least 10 and at most the engine's 100: each step costs
    about window x sequences, and what follows an event depends mostly on the events just
    before it. Sequence lengths are still learned whole (the engine encodes each sequence's
    length on every event), so generated sequences keep their lengths.
    """
    median = float(frame.groupby(key, sort=False).size().median()) if len(frame) else 1.0
    return int(np.clip(round(2 * median), 10, 100))


def _kept_labels(labels: Mapping[str, Mapping[str, Any]], workspace: Path
                 ) -> dict[str, dict[str, Any]]:
    """Each column's labels limited to the categories in the engine's column statistics."""
    import json

    from mostlyai.engine._encoding_types.tabular.categorical import safe_categorical_unescape

    stats = json.loads((workspace / "ModelStore/tgt-stats/stats.json").read_text())
    kept = {}
    for name, mapping in labels.items():
        codes = pd.Series(list(stats["columns"].get(name, {}).get("codes", {})), dtype="string")
        known = set(safe_categorical_unescape(codes).dropna())
        kept[name] = {text: value for text, value in mapping.items() if text in known}
    return kept


def _restore(series: pd.Series, dtype: Any, labels: Mapping[str, Any] | None) -> pd.Series:
    """One generated column back in the training column's type (categories from text)."""
    if labels is not None:
        values = pd.Series([labels.get(value, value) if isinstance(value, str) else value
                            for value in series.astype(object)], dtype=object)
        values = values.where(series.notna().to_numpy(), np.nan)
        if pd.api.types.is_bool_dtype(dtype):
            return values.astype(bool) if values.notna().all() else values.astype("boolean")
        if not pd.api.types.is_numeric_dtype(dtype):
            return values if pd.api.types.is_object_dtype(dtype) else values.astype(dtype)
        series = values
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.to_datetime(series).astype(dtype)
    numbers = pd.to_numeric(series).astype("float64")
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) or numbers.notna().all():
            return numbers.round().astype(dtype)
        return numbers  # whole numbers with gaps: floats, as pandas reads them
    return numbers.astype(dtype) if pd.api.types.is_float_dtype(dtype) else numbers


def estimate_seconds(params: Mapping[str, Any], rows: int, columns: int, scale: float) -> float:
    """Rough seconds for a fit (the engine ends it earlier once its loss stops improving).

    Args:
        params: Resolved parameters (``epochs``, ``model_size``, ``time_limit``).
        rows: Training rows.
        columns: Modelled columns.
        scale: This machine's speed relative to the reference machine.
    """
    size = {"small": 0.5, "medium": 1.0, "large": 3.0}.get(str(params.get("model_size")), 1.0)
    # The engine's own early stop usually ends a fit within about ten epochs.
    epochs = min(int(params.get("epochs", 100)), 10)
    # Analysis and encoding, then an epoch costs about rows x columns (measured: one epoch
    # of the loans sample, 3,500 x 10, took 150-190 s on 2 heavily shared cores).
    preprocess = 3.0 + 2e-4 * rows * max(columns, 1)
    estimate = preprocess + scale * epochs * size * 1e-3 * rows * max(columns, 1)
    limit = float(params.get("time_limit") or 0)
    return min(estimate, limit) if limit else estimate

def build_tabular_argn(metadata: Any, params: Mapping[str, Any], use_gpu: bool, *,
                       on_epoch: Callable[[pd.DataFrame], bool] | None = None,
                       should_cancel: Callable[[], bool] | None = None,
                       time_limit_start: float | None = None,
                       sequence: Any = None) -> TabularARGNSynthesizer:
    """The synthesizer for resolved catalogue ``params`` (``core.engine.catalogue``).

    Training runs on CUDA when a GPU is asked for and torch sees one; otherwise (CPU, or
    an Apple GPU, which the engine does not use) on the CPU. With ``sequence`` (the
    table's ``SequenceSpec``) it is the sequential mode, :class:`SequentialARGNSynthesizer`.

    Raises:
        ParameterError: A privacy budget asked for an event table (not offered yet).
    """
    import torch

    from core.errors import ParameterError

    device = "cuda" if use_gpu and torch.cuda.is_available() else "cpu"
    options: dict[str, Any] = dict(
        model_size=str(params.get("model_size", "medium")),
        max_epochs=int(params.get("epochs", 100)), time_limit=float(params.get("time_limit") or 0),
        value_protection=bool(params.get("value_protection", True)), device=device,
        on_epoch=on_epoch, should_cancel=should_cancel, time_limit_start=time_limit_start,
        epsilon=params.get("epsilon"), delta=params.get("delta"))
    if sequence is None:
        return TabularARGNSynthesizer(metadata.to_dict(), **options)
    if options["epsilon"] is not None:
        raise ParameterError(
            "A privacy budget ε is not offered for sequences yet: the guarantee would have to "
            "cover each entity's whole history, which the studio does not account for. "
            "Leave ε empty, or clear the sequence settings on the Data page.")
    return SequentialARGNSynthesizer(metadata.to_dict(), key=sequence.key,
                                     index=sequence.index, context=tuple(sequence.context),
                                     **options)
