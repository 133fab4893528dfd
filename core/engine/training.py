"""Fitting a synthesizer: requests, cache keys, progress, early stopping, ETA.

:func:`run_training` is the single fitting routine. The app runs it in a separate worker
process (:mod:`core.jobs.local`), the command line runs it in-process; both get the same
seeds, the same per-epoch progress and the same model record.

Deep models are the studio's subclasses of SDV's (:mod:`core.engine.studio_models`): the
trainer passes them a per-epoch callback (progress, live loss curve, and a True answer once
the loss has plateaued), the cancel check and the time limit as constructor arguments. An
early stop ends the model's loop, so SDV's fit completes as usual; a cancel raises
``TrainingCancelled`` out of it.

Free-text columns (``schema.text_columns``) are never seen by the table synthesizer: after
its fit, one :class:`core.engine.text_model.TextModel` per column learns the text, with the
personal data inside it replaced first, conditioned on the same rows' learned columns. The
text models share the fit's progress, cancel and time limit and travel on the synthesizer
as ``studio_text_models`` (one pickle, one signature).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, split_real
from core.engine.catalogue import build_synthesizer, check_shape, get_spec
from core.engine.device import DeviceInfo, resolve_device
from core.engine.metadata import to_sdv_metadata
from core.engine.models import model_to_bytes
from core.engine.patches import load_libraries
from core.errors import ParameterError, TrainingCancelled, TrainingError
from core.store.registry import ModelRecord, ModelRegistry

__all__ = [
    "REFERENCE_SPEED",
    "TEXT_DEFAULT_SECONDS",
    "TEXT_MODEL_OPTIONS",
    "TEXT_TIME_FLOOR",
    "EarlyStopping",
    "FitProgress",
    "WIDE_TABLE_WIDTH",
    "TrainingRequest",
    "epochs_within_limit",
    "estimate_fit_seconds",
    "estimate_text_seconds",
    "run_training",
    "schema_from_dict",
    "schema_to_dict",
    "seed_everything",
    "training_key",
    "wide_table_warning",
]


@dataclass(frozen=True)
class TrainingRequest:
    """Everything that determines a trained model.

    Attributes:
        data_fingerprint: Fingerprint of the full real table.
        dataset_name: Display name of the table.
        schema: The reviewed schema.
        synthesizer: Synthesizer key.
        preset: Preset name, or "custom" when the advanced panel changed something.
        params: Resolved parameters (``core.engine.catalogue.resolve_params``).
        seed: Seed for python, numpy and torch.
        device: "auto", "cpu", "cuda" or "mps" (not part of the cache key).
        split: How the real data is split before training.
    """

    data_fingerprint: str
    dataset_name: str
    schema: TableSchema
    synthesizer: str
    preset: str
    params: dict[str, Any]
    seed: int
    device: str = "auto"
    split: SplitSpec = field(default_factory=SplitSpec)

    def to_json(self) -> str:
        """Serialise for the worker process."""
        payload = {
            "data_fingerprint": self.data_fingerprint,
            "dataset_name": self.dataset_name,
            "schema": schema_to_dict(self.schema),
            "synthesizer": self.synthesizer,
            "preset": self.preset,
            "params": _jsonable(self.params),
            "seed": self.seed,
            "device": self.device,
            "split": self.split.to_dict(),
        }
        return json.dumps(payload, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainingRequest:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        params = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in data["params"].items()
        }
        return cls(
            data_fingerprint=data["data_fingerprint"],
            dataset_name=data["dataset_name"],
            schema=schema_from_dict(data["schema"]),
            synthesizer=data["synthesizer"],
            preset=data["preset"],
            params=params,
            seed=int(data["seed"]),
            device=data["device"],
            split=SplitSpec(**data["split"]),
        )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in sorted(params.items())}


def schema_to_dict(schema: TableSchema) -> dict[str, Any]:
    """The full schema as JSON-able data (notes included)."""
    data: dict[str, Any] = {
        "primary_key": schema.primary_key,
        "columns": [asdict(column) for column in schema.columns],
    }
    if schema.sequence is not None:
        data["sequence"] = schema.sequence.to_dict()
    return data


def schema_from_dict(data: dict[str, Any]) -> TableSchema:
    """Inverse of :func:`schema_to_dict`."""
    from core.data.schema import ColumnSchema, SequenceSpec

    return TableSchema(
        columns=tuple(ColumnSchema(**column) for column in data["columns"]),
        primary_key=data.get("primary_key"),
        sequence=SequenceSpec.from_dict(data.get("sequence")),
    )


def training_key(request: TrainingRequest) -> str:
    """The model id: a hash of what determines the fit (the device does not)."""
    payload = {
        "data": request.data_fingerprint,
        "schema": request.schema.fingerprint_dict(),
        "synthesizer": request.synthesizer,
        "params": _jsonable(request.params),
        "seed": request.seed,
        "split": request.split.to_dict(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- progress


@dataclass
class FitProgress:
    """A snapshot of a running fit (what the Train page draws).

    Attributes:
        stage: What is happening, in words.
        epoch: Epochs finished.
        total_epochs: Epochs planned (0 for non-epoch models).
        losses: Per-epoch loss history by loss name.
        elapsed: Seconds since the fit started.
        eta_seconds: Estimated seconds left (None if unknown).
        device: Label of the device in use.
    """

    stage: str = "Starting"
    epoch: int = 0
    total_epochs: int = 0
    losses: dict[str, list[float]] = field(default_factory=dict)
    elapsed: float = 0.0
    eta_seconds: float | None = None
    device: str = ""

    @property
    def fraction(self) -> float:
        """0..1 for the progress bar: epochs finished of those planned.

        A fit without epochs (Gaussian Copula) stays at 0 until it is done: elapsed time
        over an estimate is a guess, not progress (a wrong estimate showed 93 % for a
        fit that had barely started).
        """
        if self.stage == "Done":
            return 1.0
        if self.total_epochs:
            return min(self.epoch / self.total_epochs, 1.0)
        return 0.0


ProgressListener = Callable[[FitProgress], None]


@dataclass
class EarlyStopping:
    """Stop when the smoothed loss has not improved for ``patience`` epochs.

    GAN losses oscillate, so the signal is an exponential moving average; for GANs it is
    the critic's loss magnitude (an estimate of how far fake rows are from real ones),
    for TVAE the loss itself. Never stops before ``min_epochs``.
    """

    patience: int
    min_epochs: int
    tolerance: float = 0.01
    smoothing: float = 0.3
    _average: float | None = None
    _best: float = math.inf
    _best_epoch: int = 0

    def should_stop(self, epoch: int, value: float) -> bool:
        """Feed one epoch's loss; True when training should end."""
        if not math.isfinite(value):
            return False
        self._average = value if self._average is None else (
            self.smoothing * value + (1 - self.smoothing) * self._average
        )
        threshold = self._best - self.tolerance * max(abs(self._best), 1e-3)
        if self._best == math.inf or self._average < threshold:
            self._best = self._average
            self._best_epoch = epoch
            return False
        return epoch + 1 >= self.min_epochs and epoch - self._best_epoch >= self.patience


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (SDV has no random_state of its own)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _per_epoch_losses(loss_values: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, list]:
    """One value per epoch (TVAE logs one row per batch: average them)."""
    present = [c for c in columns if c in loss_values.columns]
    if not present:
        return {}
    per_epoch = loss_values.groupby("Epoch", sort=True)[present].mean()
    result: dict[str, list] = {"Epoch": [int(e) for e in per_epoch.index]}
    for column in present:
        result[column] = [float(v) for v in per_epoch[column]]
    return result


def run_training(
    request: TrainingRequest,
    frame: pd.DataFrame,
    listener: ProgressListener | None = None,
    should_cancel: Callable[[], bool] | None = None,
    registry: ModelRegistry | None = None,
    device: DeviceInfo | None = None,
) -> ModelRecord:
    """Split, fit, and store a model; return its record.

    Args:
        request: What to train.
        frame: The full real table (split here, so only the train part is seen).
        listener: Called with a :class:`FitProgress` at each stage and epoch.
        should_cancel: Polled each epoch; True ends the fit with TrainingCancelled.
        registry: Where to store the model (default: the configured registry).
        device: The resolved device (default: from ``request.device``).

    Raises:
        TrainingError: The fit failed; the message says why in plain words.
        TrainingCancelled: ``should_cancel`` returned True.
    """
    import torch

    load_libraries()  # a library of another version fails here, before anything starts
    # SDV and ctgan are imported before the clock starts.
    from core.engine.studio_models import STOPPED_AT_TIME_LIMIT, STOPPED_BY_CALLBACK

    registry = registry or ModelRegistry()
    notify = listener or (lambda progress: None)
    spec = get_spec(request.synthesizer)
    check_shape(request.synthesizer, request.schema)
    device = device or resolve_device(request.device)
    started = time.monotonic()
    progress = FitProgress(stage="Preparing the data", device=device.label,
                           total_epochs=int(request.params.get("epochs", 0)) if spec.deep else 0)
    notify(progress)

    fit_schema = request.schema
    if request.schema.is_sequence:
        fit_schema = sequence_fit_schema(request.schema)
        _check_entity_split(request)
    prepared = prepare_training_frame(frame, fit_schema)
    train, _holdout = split_real(prepared, request.split)
    fit_columns = fit_schema.sdv_columns
    if fit_schema.sequence is not None:
        train = _ordered_events(train, fit_schema)
    metadata = to_sdv_metadata(fit_schema, train)
    torch.set_num_threads(max(device.cpu_threads, 1))
    seed_everything(request.seed)
    notes: list[str] = []
    class_column = _stratification_column(request, train, notes)
    stopper = None
    if spec.deep and request.params.get("early_stopping"):
        total = int(request.params["epochs"])
        stopper = EarlyStopping(patience=int(request.params.get("patience", 20)),
                                min_epochs=max(10, total // 5))
    fit_started = [0.0]
    time_limit = float(request.params.get("time_limit") or 0) if spec.deep else 0.0

    def on_epoch(loss_values: pd.DataFrame) -> bool:
        """Report the epoch; True once the loss has plateaued (the model then stops)."""
        losses = _per_epoch_losses(loss_values, spec.loss_columns)
        epochs_done = len(losses.get("Epoch", []))
        if fit_started[0] == 0.0:
            fit_started[0] = time.monotonic()
        progress.epoch = epochs_done
        progress.losses = losses
        progress.stage = f"Training: epoch {epochs_done} of {progress.total_epochs}"
        progress.elapsed = time.monotonic() - started
        # The first epoch's report comes at its end, so the clock starts one epoch late.
        per_epoch = (time.monotonic() - fit_started[0]) / max(epochs_done - 1, 1)
        progress.eta_seconds = per_epoch * max(progress.total_epochs - epochs_done, 0)
        if time_limit:
            progress.eta_seconds = min(progress.eta_seconds,
                                       max(time_limit - progress.elapsed, 0.0))
        notify(progress)
        if stopper is None:
            return False
        signal = _early_stopping_signal(losses)
        return signal is not None and stopper.should_stop(epochs_done - 1, signal)

    def on_column(done: int, total: int, name: str) -> None:
        """Sequential trees: one step of the bar per column learned."""
        progress.epoch, progress.total_epochs = done, total
        progress.stage = f"Learning column {done} of {total} ({name})"
        progress.elapsed = time.monotonic() - started
        progress.eta_seconds = progress.elapsed / done * (total - done)
        notify(progress)

    # The time limit counts from the start of this function, as the progress shown does.
    synthesizer = build_synthesizer(request.synthesizer, metadata, request.params,
                                    use_gpu=device.is_gpu, class_column=class_column,
                                    on_epoch=on_epoch, should_cancel=should_cancel,
                                    time_limit_start=started, target=request.split.target,
                                    on_column=on_column, sequence=fit_schema.sequence)
    progress.stage = "Learning column distributions" if not spec.deep else (
        "Preparing columns for the network")
    progress.elapsed = time.monotonic() - started
    notify(progress)
    try:
        synthesizer.fit({"data": train[fit_columns]})
    except (TrainingCancelled, TrainingError):  # already in plain words
        raise
    except MemoryError as error:
        raise TrainingError(
            "The machine ran out of memory while training. Use fewer rows, drop text "
            "columns, or choose the Quick preset."
        ) from error
    except Exception as error:  # SDV/torch errors are not user-facing as they are
        raise TrainingError(_explain_fit_error(error, request)) from error
    stopped_by = getattr(synthesizer, "stopped_by", None)
    notes.extend(getattr(synthesizer, "fit_notes", []))  # core.engine.sequential_trees
    if fit_schema.sequence is not None:
        notes.append(_sequence_note(train, fit_schema))
    table_epochs = progress.epoch
    if stopped_by == STOPPED_AT_TIME_LIMIT:
        notes.append(f"Stopped at the {time_limit:g} s time limit after {progress.epoch} of "
                     f"{progress.total_epochs} epochs; raise the limit (Advanced) to train "
                     "longer.")
    if request.schema.text_columns:
        # An attribute of the synthesizer, so the one signed pickle carries the text models.
        synthesizer.studio_text_models = _fit_text_models(
            request, train, device, started, progress, notify, should_cancel, notes)
    fit_seconds = time.monotonic() - started

    spent = getattr(synthesizer, "epsilon_spent", None)
    if spent is not None:
        notes.append(f"Differentially private: the kept model spent ε = {spent:.2g} of the "
                     f"budget {float(request.params['epsilon']):g} (δ "
                     f"{float(request.params['delta']):.0e}).".replace("e-0", "e-"))

    progress.stage = "Saving the model"
    progress.elapsed = fit_seconds
    progress.eta_seconds = 0.0
    notify(progress)
    losses = progress.losses
    final_loss = {name: values[-1] for name, values in losses.items()
                  if name != "Epoch" and values}
    record = ModelRecord(
        model_id=training_key(request),
        data_fingerprint=request.data_fingerprint,
        dataset_name=request.dataset_name,
        synthesizer=request.synthesizer,
        title=spec.title,
        preset=request.preset,
        params=_jsonable(request.params),
        seed=request.seed,
        device=device.label,
        split=request.split.to_dict(),
        schema=request.schema.fingerprint_dict(),
        created_at=time.time(),
        fit_seconds=round(fit_seconds, 3),
        train_rows=len(train),
        columns=len(request.schema.kept_columns),
        epochs_run=table_epochs if spec.deep else None,
        stopped_early=stopped_by == STOPPED_BY_CALLBACK,
        final_loss=final_loss,
        losses=losses,
        notes=notes,
        # TabularARGN with a privacy budget: the ε its kept model spent.
        epsilon_spent=spent,
        delta=getattr(synthesizer, "delta_spent", None),
    )
    registry.add(record, model_to_bytes(synthesizer))
    progress.stage = "Done"
    notify(progress)
    return record


def sequence_fit_schema(schema: TableSchema) -> TableSchema:
    """The schema a sequence model fits with: key, order and context columns always kept.

    The entity key is an identifier the model needs to tell sequences apart (and the output
    keeps, with fresh values), whatever action the Data page gave it; the order column is
    learned even when marked to drop. Other columns keep their actions: a context column
    marked fake stays unlearned (generation gives each new entity one fake value).
    """
    from dataclasses import replace

    spec = schema.sequence
    if spec is None:
        return schema
    columns = []
    for column in schema.columns:
        if column.name == spec.key:
            column = replace(column, sdtype="id", pii=False, action="model")
        elif column.name == spec.index and column.action not in ("model", "keep"):
            column = replace(column, action="model")
        columns.append(column)
    return replace(schema, columns=tuple(columns))


def _check_entity_split(request: TrainingRequest) -> None:
    """Refuse a sequence fit whose split would put one entity on both sides."""
    key = request.schema.sequence.key  # type: ignore[union-attr]
    if request.split.group != key:
        raise ParameterError(
            f"This event table must be split by whole entities ('{key}'), so that held-out "
            "sequences are ones the model never saw; the request splits by rows. Plan it "
            "with core.workflow.plan_request, which sets the entity split.")


def _ordered_events(train: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The training events in sequence order: by entity, then by the order column."""
    from core.data.sequences import order_events

    return order_events(train, schema.sequence)  # type: ignore[arg-type]


def _sequence_note(train: pd.DataFrame, schema: TableSchema) -> str:
    spec = schema.sequence
    entities = int(train[spec.key].nunique())  # type: ignore[union-attr]
    context = (f"; context learned once per entity: {', '.join(spec.context)}"
               if spec.context else "")  # type: ignore[union-attr]
    return (f"Learned {entities:,} sequences ('{spec.key}') with {len(train):,} events in "  # type: ignore[union-attr]
            f"all, about {len(train) / max(entities, 1):.1f} each{context}.")


#: The text models' settings (``core.engine.text_model.TextModel`` arguments).
TEXT_MODEL_OPTIONS: dict[str, Any] = {"epochs": 20}
#: Seconds each text model gets when the table synthesizer has no time limit setting
#: (Gaussian Copula): enough for a few thousand complaint-like texts to read well on a CPU.
TEXT_DEFAULT_SECONDS = 60.0
#: Seconds each text model gets at least, even when the table fit used the whole time limit:
#: a few epochs of a few thousand short texts, enough to write words rather than noise.
TEXT_TIME_FLOOR = 20.0


def _text_time_limit(params: dict[str, Any], elapsed: float, columns_left: int) -> float:
    """Seconds the next text model may train (0: no limit).

    The table fit and the text fits share the time limit: each text model gets an equal
    part of what is left, at least :data:`TEXT_TIME_FLOOR`. A limit of 0 means none for
    them either; a synthesizer without a limit setting gives each :data:`TEXT_DEFAULT_SECONDS`.
    """
    if "time_limit" not in params:
        return TEXT_DEFAULT_SECONDS
    limit = float(params.get("time_limit") or 0)
    if not limit:
        return 0.0
    return max((limit - elapsed) / max(columns_left, 1), TEXT_TIME_FLOOR)


def _scrubbed_text(series: pd.Series, seed: int, column: str, notes: list[str]) -> pd.Series:
    """The column's text with names, e-mails, phone and account numbers replaced."""
    from core.data.text_pii import scrub_text_pii

    result = scrub_text_pii(series, seed=seed)
    if len(result.matches):
        found = int(result.matches["count"].sum())
        if found:
            notes.append(f"{found:,} pieces of personal data inside '{column}' (names, "
                         "e-mails, phone or account numbers) were replaced with fake ones "
                         "before the text model learned it.")
    return result.text


def _fit_text_models(request: TrainingRequest, train: pd.DataFrame, device: DeviceInfo,
                     started: float, progress: FitProgress, notify: ProgressListener,
                     should_cancel: Callable[[], bool] | None,
                     notes: list[str]) -> dict[str, Any]:
    """One text model per text column, after the table fit, within what is left of the time.

    Each is conditioned on the table synthesizer's learned columns of the same rows (what
    the sampled rows will hold when the text is written).
    """
    from core.engine.text_model import TextModel, torch_device

    schema = request.schema
    context_columns = [c for c in schema.modelled_columns if c in train.columns]
    columns = schema.text_columns
    models: dict[str, Any] = {}
    name_of = {column: ("Text loss" if len(columns) == 1 else f"Text loss ({column})")
               for column in columns}
    for position, column in enumerate(columns):
        limit = _text_time_limit(request.params, time.monotonic() - started,
                                 len(columns) - position)
        text_started = time.monotonic()
        texts = _scrubbed_text(train[column], request.seed, column, notes)
        options = dict(TEXT_MODEL_OPTIONS)

        def on_epoch(done: int, total: int, loss: float, column: str = column,
                     limit: float = limit, text_started: float = text_started) -> None:
            # Its own series; "Epoch" stays the table synthesizer's (core.charts.loss_figure
            # counts a longer series' epochs from 1).
            progress.losses.setdefault(name_of[column], []).append(loss)
            progress.epoch, progress.total_epochs = done, total
            progress.stage = (f"Training the text model for '{column}': epoch {done} of "
                              f"{total} (loss {loss:.3f})")
            progress.elapsed = time.monotonic() - started
            spent = time.monotonic() - text_started
            progress.eta_seconds = spent / done * (total - done)
            if limit:
                progress.eta_seconds = min(progress.eta_seconds, max(limit - spent, 0.0))
            notify(progress)

        model = TextModel(**options, on_epoch=on_epoch, should_cancel=should_cancel,
                          time_limit=limit, seed=request.seed + position)
        progress.epoch, progress.total_epochs = 0, model.epochs
        progress.stage = f"Training the text model for '{column}': epoch 0 of {model.epochs}"
        progress.elapsed = time.monotonic() - started
        progress.eta_seconds = None
        notify(progress)
        try:
            model.fit(texts, train[context_columns], device=torch_device(device.kind),
                      time_limit_start=text_started)
        except (TrainingCancelled, TrainingError):
            raise
        except MemoryError as error:
            raise TrainingError(
                f"The machine ran out of memory while learning the text of '{column}'. Use "
                "fewer rows, or drop the column on the Data page."
            ) from error
        except Exception as error:  # torch's errors are not user-facing as they are
            raise TrainingError(
                f"Learning the text of '{column}' failed ({str(error)[:200] or type(error)})."
                " Drop the column on the Data page, or choose 'cpu' as the device if a GPU "
                "was used."
            ) from error
        model.on_epoch = model.should_cancel = None  # the job's callbacks stay with the job
        seconds = model.fit_seconds
        learned = (f"{model.epochs_run} epoch{'s' if model.epochs_run != 1 else ''}"
                   if model.epochs_run else f"part of one epoch ({model.steps_run} step"
                   f"{'s' if model.steps_run != 1 else ''})")
        note = f"The text model for '{column}' learned {learned} in {seconds:.0f} s"
        if model.stopped_by is not None and "time_limit" in request.params:
            note += (f", stopped at its {limit:.0f} s share of the time limit (raise the "
                     "limit in Advanced to let it write better text)")
        elif model.stopped_by is not None:
            note += (f", stopped after the {limit:.0f} s a text model gets beside "
                     f"{get_spec(request.synthesizer).title} (a synthesizer with a time limit "
                     "setting lets you give it longer)")
        notes.append(note + ".")
        models[column] = model
    return models


_MAX_STRATA = 20


def _stratification_column(request: TrainingRequest, train: pd.DataFrame,
                           notes: list[str]) -> str | None:
    """The target to fit one model per class of, when ``per_class`` is asked for."""
    if not request.params.get("per_class"):
        return None
    target = request.split.target
    if target is None:
        notes.append("One copula per class was asked for, but no target column is set: "
                     "one copula for the whole table was fitted.")
        return None
    column = request.schema.column(target)
    classes = int(train[target].nunique(dropna=False))
    if column.sdtype not in ("categorical", "boolean") or classes > _MAX_STRATA:
        notes.append(f"'{target}' is not a category with at most {_MAX_STRATA} classes, so "
                     "one copula for the whole table was fitted.")
        return None
    notes.append(f"One copula per class of '{target}' ({classes} classes).")
    return target


def _early_stopping_signal(losses: dict[str, list]) -> float | None:
    if "Loss" in losses:
        return losses["Loss"][-1]
    if "Discriminator Loss" in losses:
        return abs(losses["Discriminator Loss"][-1])
    return None


def _explain_fit_error(error: Exception, request: TrainingRequest) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "CUDA" in text or "cuda" in text:
        return (f"The GPU failed during training ({text[:200]}). Choose 'cpu' as the "
                "device and try again.")
    return (f"Training {get_spec(request.synthesizer).title} failed: {text[:300]}. Check the "
            "column types on the Data page (a column typed as a number that holds text is the "
            "usual cause), or try another synthesizer.")


# --------------------------------------------------------------------------- ETA

_CALIBRATION: dict[str, float] = {}
_CALIBRATION_LOCK = threading.Lock()


def machine_speed() -> float:
    """Seconds this machine takes for a fixed small torch workload (cached per process).

    ETA coefficients were measured on a reference machine in the same unit, so dividing
    by this number adapts them to a faster or slower CPU. Measured on one thread, as deep
    fits on a CPU run (``core.engine.studio_models.one_cpu_thread``): on two threads a busy
    machine made it 19 s instead of 1 s, and the ETA hours instead of a minute.
    """
    with _CALIBRATION_LOCK:
        if "speed" not in _CALIBRATION:
            import torch

            from core.engine.studio_models import one_cpu_thread

            layer = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                        torch.nn.Linear(256, 256))
            optimiser = torch.optim.Adam(layer.parameters())
            batch = torch.randn(500, 256)
            with one_cpu_thread("cpu"):
                started = time.perf_counter()
                for _ in range(20):
                    optimiser.zero_grad()
                    layer(batch).pow(2).mean().backward()
                    optimiser.step()
                _CALIBRATION["speed"] = time.perf_counter() - started
        return _CALIBRATION["speed"]


#: Reference workload seconds on the machine the coefficients below were measured on (one
#: thread; the two-thread 0.05 s scaled by the matrix products' share, not measured idle).
REFERENCE_SPEED = 0.08

#: Epochs CTGAN/TVAE Balanced needed on the 10,000 x 55 table of ``bench/wide.py`` to reach
#: quality 0.80 (CTGAN: 0.71 after 5, 0.80 after 16; TVAE: 0.82 after 7).
_WIDE_EPOCHS_NEEDED = {"ctgan": 16, "copula_gan": 16, "tvae": 7}
#: Network inputs (:func:`encoded_width`) from which a table counts as wide (55 columns: ~400).
WIDE_TABLE_WIDTH = 300


def encoded_width(frame: pd.DataFrame, schema: TableSchema) -> int:
    """Roughly how many network inputs the modelled columns become.

    Numbers become a value plus up to ten "mode" indicators (ctgan's mode-specific
    normalisation; about six on typical data); categories one input per category.
    """
    width = 0
    for column in schema.columns:
        if column.action not in ("model", "keep") or column.sdtype == "id":
            continue
        if column.sdtype in ("numerical", "datetime"):
            width += 7
        else:
            width += max(int(frame[column.name].nunique(dropna=False)), 2)
    return max(width, 1)


def estimate_fit_seconds(
    synthesizer: str, params: dict[str, Any], frame: pd.DataFrame, schema: TableSchema,
    train_share: float = 0.7, speed: float | None = None,
) -> float:
    """Estimate fitting time from rows × columns × epochs, scaled to this machine.

    The per-row costs were measured with ``bench/`` on the reference machine; the
    ``machine_speed`` measurement adapts them. Accurate to within a factor of ~2, which
    is enough to warn before an hour-long fit. Text columns add their text models'
    time (:func:`estimate_text_seconds`) within the share of the time limit they get.
    """
    table = _table_fit_seconds(synthesizer, params, frame, schema, train_share, speed)
    if not schema.text_columns:
        return table
    text = estimate_text_seconds(frame, schema, train_share, speed)
    if "time_limit" not in params:
        return table + min(text, TEXT_DEFAULT_SECONDS * len(schema.text_columns))
    limit = float(params.get("time_limit") or 0)
    if not limit:
        return table + text
    # The table fit may use the whole limit; the text models then get their floor.
    return min(table, limit) + min(text, max(limit - min(table, limit),
                                             TEXT_TIME_FLOOR * len(schema.text_columns)))


def estimate_text_seconds(frame: pd.DataFrame, schema: TableSchema, train_share: float = 0.7,
                          speed: float | None = None) -> float:
    """Seconds the text models would take for all their epochs, without a time limit.

    Rows × characters per text × epochs, at a cost per character that grows with the GRU's
    size (measured on the shared 2-core machine: 1.9e-5 s at 64, 2.9e-5 at 128 and 3.7e-5
    to 4.2e-5 at 192 units, busy machine), scaled to this machine.
    """
    from core.engine.text_model import hidden_size_for

    rows = max(int(len(frame) * train_share), 1)
    scale = (speed if speed is not None else machine_speed()) / REFERENCE_SPEED
    epochs = int(TEXT_MODEL_OPTIONS.get("epochs", 20))
    total = 0.0
    for column in schema.text_columns:
        if column not in frame.columns:
            continue
        lengths = frame[column].dropna().astype(str).str.len().clip(upper=500)
        characters = rows * (float(lengths.mean()) if len(lengths) else 0.0) + 2 * rows
        hidden = int(TEXT_MODEL_OPTIONS.get("hidden_size") or hidden_size_for(int(characters)))
        total += 1.0 + scale * epochs * characters * (1.2e-5 + 1.6e-7 * hidden)
    return total


def _table_fit_seconds(
    synthesizer: str, params: dict[str, Any], frame: pd.DataFrame, schema: TableSchema,
    train_share: float = 0.7, speed: float | None = None,
) -> float:
    """The table synthesizer's part of :func:`estimate_fit_seconds`."""
    rows = max(int(len(frame) * train_share), 1)
    numeric = sum(1 for c in schema.columns
                  if c.action in ("model", "keep") and c.sdtype in ("numerical", "datetime"))
    columns = len(schema.modelled_columns)
    scale = (speed if speed is not None else machine_speed()) / REFERENCE_SPEED
    width = encoded_width(frame, schema)
    if synthesizer == "gaussian_copula":
        per_column = {"empirical": 3e-6, "norm": 2e-6, "truncnorm": 4e-5, "beta": 6e-5,
                      "uniform": 2e-6, "gamma": 6e-5, "gaussian_kde": 4e-4}
        distribution = str(params.get("default_distribution", "beta"))
        return 1.0 + rows * (columns * 4e-6 + numeric * per_column.get(distribution, 6e-5))
    if synthesizer == "sequential_trees":  # one tree per column on the columns before it
        estimate = 0.5 + scale * rows * columns * columns * 1.5e-7  # 10k x 55: ~5 s
        limit = float(params.get("time_limit") or 0)
        return min(estimate, limit) if limit else estimate
    if synthesizer == "par":
        return _par_fit_seconds(params, frame, schema, train_share, scale)
    if synthesizer == "tabular_argn":
        from core.engine.tabular_argn import estimate_seconds

        if schema.sequence is not None:  # a second, small model learns the entities' context
            entities = _entities(frame, schema, train_share)
            context = estimate_seconds({**params, "time_limit": 0}, entities,
                                       max(len(schema.sequence.context), 1), scale)
            both = context * bool(schema.sequence.context) + estimate_seconds(
                {**params, "time_limit": 0}, rows, columns, scale)
            limit = float(params.get("time_limit") or 0)
            return min(both, limit) if limit else both
        return estimate_seconds(params, rows, columns, scale)
    if synthesizer not in ("ctgan", "tvae", "copula_gan"):
        raise ParameterError(f"No time model for synthesizer '{synthesizer}'.")
    epochs = int(params.get("epochs", 300))
    batch = max(int(params.get("batch_size", 500)), 1)
    hidden = max(sum(params.get("generator_dim", params.get("compress_dims", (256, 256)))), 64)
    # Mode-specific normalisation fits a Bayesian GMM per numeric column (on at most 2,000
    # rows, then transforms all: 30 numbers of 7,000 rows took 2.7 s).
    preprocess = 2.0 + numeric * (0.1 + min(rows, 50_000) * 5e-6)
    steps = epochs * max(rows // batch, 1)
    per_row = 1.1e-7 * (width + hidden) * (2.2 if synthesizer != "tvae" else 1.0)
    per_step = 2e-3
    estimate = preprocess + scale * (steps * per_step + epochs * rows * per_row)
    limit = float(params.get("time_limit") or 0)
    return min(estimate, limit) if limit else estimate


def _entities(frame: pd.DataFrame, schema: TableSchema, train_share: float) -> int:
    key = schema.sequence.key if schema.sequence is not None else None
    entities = int(frame[key].nunique()) if key in frame.columns else len(frame)
    return max(int(entities * train_share), 1)


def _par_fit_seconds(params: dict[str, Any], frame: pd.DataFrame, schema: TableSchema,
                     train_share: float, scale: float) -> float:
    """PAR: a fixed cost, then one full pass over every sequence per epoch.

    Measured on the shared 2-core machine (one thread, batches of 64 sequences): the bank
    events sample, 420 entities of about 10 events with 8 learned columns, took 2-3 s to
    prepare and 0.08-0.19 s per epoch (busy machine); an epoch grows with
    entities x columns.
    """
    entities = _entities(frame, schema, train_share)
    columns = max(len([c for c in schema.modelled_columns if c in frame.columns]), 1)
    per_epoch = 4e-5 * entities * columns
    estimate = 2.5 + scale * int(params.get("epochs", 128)) * per_epoch
    limit = float(params.get("time_limit") or 0)
    return min(estimate, limit) if limit else estimate


def epochs_within_limit(synthesizer: str, params: dict[str, Any], frame: pd.DataFrame,
                        schema: TableSchema, train_share: float = 0.7,
                        speed: float | None = None) -> int | None:
    """Epochs a deep model's time limit allows on this machine (None: no limit, or not deep)."""
    limit = float(params.get("time_limit") or 0)
    if not limit or synthesizer not in ("ctgan", "tvae", "copula_gan"):
        return None
    one, two = (_table_fit_seconds(synthesizer, {**params, "epochs": epochs, "time_limit": 0},
                                   frame, schema, train_share, speed) for epochs in (1, 2))
    per_epoch = max(two - one, 1e-6)
    return max(int((limit - (one - per_epoch)) // per_epoch), 0)


def wide_table_warning(synthesizer: str, params: dict[str, Any], frame: pd.DataFrame,
                       schema: TableSchema, train_share: float = 0.7,
                       speed: float | None = None, on_gpu: bool = False) -> str | None:
    """Say before training when a deep model is the wrong pick for a wide table on this CPU.

    A table of :data:`WIDE_TABLE_WIDTH` network inputs or more, on a CPU, whose time limit
    allows fewer epochs than the model needed on the 55-column table to reach quality 0.80.
    """
    needed = _WIDE_EPOCHS_NEEDED.get(synthesizer)
    width = encoded_width(frame, schema)
    if on_gpu or needed is None or width < WIDE_TABLE_WIDTH:
        return None
    affordable = epochs_within_limit(synthesizer, params, frame, schema, train_share, speed)
    if affordable is None or affordable >= needed:
        return None
    limit = float(params["time_limit"])
    return (f"This table is wide (about {width} network inputs). In its {limit:g} s time limit "
            f"{get_spec(synthesizer).title} gets about {affordable} epochs on this CPU, and on "
            f"a 55-column table it needed about {needed} to reach good quality: it is the "
            "wrong pick for wide tables on a CPU. Choose Gaussian Copula, or raise the time "
            "limit (Advanced).")
