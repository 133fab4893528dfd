"""Synthesizers for event tables: SDV's PAR as a studio model, and what sequence models share.

An event table (``TableSchema.sequence`` set) holds one sequence of rows per entity (an
account's transactions, a ticker's daily prices). A sequence synthesizer learns whole
sequences and samples whole new entities: ``sample_entities(n)`` gives ``n`` new entities,
each with its events, under fresh keys that can never equal a real key
(:class:`FreshKeys`), context columns constant within each entity.

:class:`StudioPARSynthesizer` is SDV 2.0's ``PARSynthesizer`` (a recurrent network,
deepecho's ``PARModel``, draws each next event from the ones before it and the entity's
context; a Gaussian Copula draws the context) with the studio's training options, as the
deep single-table models have them (``core.engine.studio_models``): a per-epoch callback
(progress and loss), cancel (``TrainingCancelled``), a time limit that ends the loop after
an epoch and keeps the model, one CPU thread, and ``cuda`` from the studio's device.
PAR trains on all sequences at once: one optimiser step per epoch, so it needs hundreds of
epochs, each costing about the number of entities times the columns (the card says what).

Both sequence synthesizers (this one and ``core.engine.tabular_argn``'s sequential mode)
offer ``fit({"data": events})`` (events ordered by key then order column),
``sample_entities(n, fixed_context)``, ``reset_sampling`` and ``seed_sampling``; the
attribute ``studio_shape = "sequence"`` tells generation to count entities, not rows.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from deepecho.models.par import PARModel, PARNet
from sdv.sampling import Condition
from sdv.sequential import PARSynthesizer

from core.engine.patches import load_libraries
from core.engine.studio_models import (
    STOPPED_AT_TIME_LIMIT,
    STOPPED_BY_CALLBACK,
    EpochCallback,
    _EpochEnd,
    _TrainingOptions,
    one_cpu_thread,
)
from core.errors import SamplingError

__all__ = ["SEQUENCE_SHAPE", "FreshKeys", "StudioPARModel", "StudioPARSynthesizer",
           "STOPPED_AT_TIME_LIMIT", "STOPPED_BY_CALLBACK"]

load_libraries()

#: ``studio_shape`` of a synthesizer that samples entities (``core.engine.generation``).
SEQUENCE_SHAPE = "sequence"

_NOT_SAVED = ("on_epoch", "should_cancel", "time_limit_start")
#: Sequences per learning step of PAR's network (deepecho: all of them, one step an epoch).
PAR_BATCH = 64


@dataclass(frozen=True)
class FreshKeys:
    """New entity keys that cannot equal a real one, made without keeping the real keys.

    Whole-number keys start at the next power of ten above the largest real key (real keys
    1..4,870 give 10,000, 10,001, ...); text keys are a prefix no real key starts with
    ("SYN-") and a number. Only the start or the prefix is kept in the model.

    Attributes:
        integer: The real keys are whole numbers.
        start: First number of whole-number keys.
        prefix: Text keys' prefix.
    """

    integer: bool
    start: int = 0
    prefix: str = "SYN-"

    @classmethod
    def for_keys(cls, keys: pd.Series) -> FreshKeys:
        """The fresh-key rule for these real keys."""
        values = keys.dropna()
        if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
            largest = int(values.max()) if len(values) else 0
            return cls(integer=True, start=10 ** len(str(max(largest, 0))))
        texts = values.astype(str)
        prefix, number = "SYN-", 1
        while texts.str.startswith(prefix).any():
            number += 1
            prefix = f"SYN{number}-"
        return cls(integer=False, prefix=prefix)

    def make(self, first: int, count: int) -> pd.Series:
        """Keys number ``first`` .. ``first + count - 1`` of a sampling run."""
        numbers = np.arange(first, first + count)
        if self.integer:
            return pd.Series(numbers + self.start, dtype="int64")
        return pd.Series([f"{self.prefix}{n:06d}" for n in numbers], dtype=object)


class StudioPARModel(_TrainingOptions, PARModel):
    """deepecho's ``PARModel`` with the studio's training loop options.

    The loop is deepecho 0.7's ``fit_sequences``; after each epoch's optimiser step the
    studio's epoch end (``core.engine.studio_models``) reports the loss and may end
    training (time limit, callback) or raise ``TrainingCancelled``.
    """

    def fit_sequences(self, sequences: list[dict], context_types: list[str],
                      data_types: list[str]) -> None:
        """PAR's training loop in mini-batches, with the studio's epoch end.

        deepecho takes one optimiser step per epoch over all sequences, so a minute of
        training is a few hundred small steps. Here an epoch is still one pass over every
        sequence, in shuffled batches of :data:`PAR_BATCH` sequences with a step each (the
        torch seed the studio sets fixes the order). After each epoch the studio's epoch
        end (``core.engine.studio_models``) reports the loss and may end training (time
        limit, callback) or raise ``TrainingCancelled``.
        """
        self._build(sequences, context_types, data_types)
        data = [self._data_to_tensor(sequence["data"]) for sequence in sequences]
        contexts = [self._context_to_tensor(sequence["context"]) for sequence in sequences]
        self._model = PARNet(self._data_dims, self._ctx_dims).to(self.device)
        optimizer = torch.optim.Adam(self._model.parameters(), lr=1e-3)
        self.loss_values = pd.DataFrame(columns=["Epoch", "Loss"])
        epoch_end = _EpochEnd(self, self.epochs)  # studio: the report after each epoch
        losses: list[dict[str, float]] = []
        count = len(data)
        with one_cpu_thread(self.device):  # studio: one thread on a CPU
            for epoch in range(self.epochs):
                order = torch.randperm(count).tolist() if count > PAR_BATCH else range(count)
                order = list(order)
                total = 0.0
                for first in range(0, count, PAR_BATCH):
                    chosen = order[first:first + PAR_BATCH]
                    X = torch.nn.utils.rnn.pack_sequence(  # noqa: N806 - the library's names
                        [data[i] for i in chosen], enforce_sorted=False).to(self.device)
                    C = (torch.stack([contexts[i] for i in chosen], dim=0).to(self.device)  # noqa: N806
                         if self._ctx_dims else None)
                    X_padded, seq_len = torch.nn.utils.rnn.pad_packed_sequence(X)  # noqa: N806
                    Y_padded, _ = torch.nn.utils.rnn.pad_packed_sequence(  # noqa: N806
                        self._model(X, C))
                    optimizer.zero_grad()
                    loss = self._compute_loss(X_padded[1:, :, :], Y_padded[:-1, :, :], seq_len)
                    loss.backward()
                    optimizer.step()
                    total += float(loss.item()) * len(chosen)
                losses.append({"Epoch": epoch, "Loss": total / max(count, 1)})
                self.loss_values = pd.DataFrame(losses, columns=["Epoch", "Loss"])
                if epoch_end.stop(epoch + 1):
                    break

    def _compute_loss(self, X_padded: torch.Tensor, Y_padded: torch.Tensor,  # noqa: N803
                      seq_len: Any) -> torch.Tensor:
        """The negative log-likelihood of the next events, over whole tensors at once.

        deepecho's loss loops over every sequence and column in Python (most of an epoch's
        time), and reads a number column's targets from the wrong end of the padded batch,
        so shorter sequences were taught the padding's zeros instead of their amounts and
        time gaps. Here each column's terms are computed for the whole batch and masked:
        the event columns over the events, the start/body/end token also over the end row.

        Args:
            X_padded: The inputs shifted by one step (the targets), steps x sequences x width.
            Y_padded: The network's outputs for them.
            seq_len: Each sequence's length with its start and end tokens.
        """
        steps = X_padded.shape[0]
        lengths = torch.as_tensor(seq_len, device=X_padded.device).unsqueeze(0)
        position = torch.arange(steps, device=X_padded.device).unsqueeze(1)
        events = (position < lengths - 2).to(X_padded.dtype)  # rows of real events
        through_end = (position < lengths - 1).to(X_padded.dtype)  # and the end token
        log_likelihood = X_padded.new_zeros(())
        for key, props in self._data_map.items():
            mask = through_end if key == "<TOKEN>" else events
            kind = props["type"]
            if kind in ("continuous", "timestamp", "datetime"):
                mu_idx, sigma_idx, missing_idx = props["indices"]
                sigma = torch.nn.functional.softplus(Y_padded[:, :, sigma_idx]).clamp_min(1e-4)
                terms = torch.distributions.Normal(Y_padded[:, :, mu_idx], sigma).log_prob(
                    X_padded[:, :, mu_idx])
                terms = terms + _missing_terms(X_padded[:, :, missing_idx],
                                               Y_padded[:, :, missing_idx])
            elif kind == "count":
                r_idx, p_idx, missing_idx = props["indices"]
                r = torch.nn.functional.softplus(Y_padded[:, :, r_idx]) * props["range"]
                terms = torch.distributions.NegativeBinomial(
                    r.clamp_min(1e-6), torch.sigmoid(Y_padded[:, :, p_idx]),
                    validate_args=False).log_prob(X_padded[:, :, r_idx] * props["range"])
                terms = terms + _missing_terms(X_padded[:, :, missing_idx],
                                               Y_padded[:, :, missing_idx])
            else:  # categorical, ordinal: the one-hot target's log-probability
                idx = list(props["indices"].values())
                log_softmax = torch.nn.functional.log_softmax(Y_padded[:, :, idx], dim=2)
                target = torch.argmax(X_padded[:, :, idx], dim=2, keepdim=True)
                terms = log_softmax.gather(dim=2, index=target).squeeze(2)
            log_likelihood = log_likelihood + (terms * mask).sum()
        return -log_likelihood / through_end.sum().clamp_min(1.0)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # object's own would hand out the live dict
        for name in (*_NOT_SAVED, "_activation"):
            state.pop(name, None)
        return state

    def set_device(self, device: torch.device) -> None:
        """Move the network (``core.engine.models`` pickles models on the CPU)."""
        self.device = torch.device(device)
        if getattr(self, "_model", None) is not None:
            self._model.to(self.device)


def _missing_terms(target: torch.Tensor, logit: torch.Tensor) -> torch.Tensor:
    """Log-likelihood of each value's missing flag (1: missing) given the network's logit."""
    log_sigmoid = torch.nn.functional.logsigmoid
    return target * log_sigmoid(logit) + (1.0 - target) * log_sigmoid(-logit)


class StudioPARSynthesizer(PARSynthesizer):
    """SDV's ``PARSynthesizer`` fitting a :class:`StudioPARModel`, sampling whole entities.

    Args:
        metadata: SDV ``Metadata`` with the table's ``sequence_key`` (and
            ``sequence_index``).
        on_epoch: Called after each epoch with the loss table; True ends training.
        should_cancel: Polled after each epoch; True raises ``TrainingCancelled``.
        time_limit: Seconds; training ends after the epoch that would run past it (0: none).
        time_limit_start: The ``time.monotonic()`` the limit counts from.
        **kwargs: SDV's ``PARSynthesizer`` arguments (``context_columns``, ``epochs``,
            ``sample_size``, ``cuda``, ...).
    """

    studio_shape = SEQUENCE_SHAPE

    def __init__(self, metadata: Any, *, on_epoch: EpochCallback | None = None,
                 should_cancel: Callable[[], bool] | None = None, time_limit: float = 0.0,
                 time_limit_start: float | None = None, **kwargs: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().__init__(metadata, **kwargs)
        self.on_epoch = on_epoch
        self.should_cancel = should_cancel
        self.time_limit = float(time_limit or 0.0)
        self.time_limit_start = time_limit_start
        self.fresh_keys_: FreshKeys | None = None
        self.entities_: int = 0
        self.mean_events_ = 0.0
        self._keys_issued = 0

    # ------------------------------------------------------------------ fitting

    @property
    def stopped_by(self) -> str | None:
        """Why the last fit ended before its last epoch (None: it ran them all)."""
        return getattr(getattr(self, "_model", None), "stopped_by", None)

    @property
    def loss_values(self) -> pd.DataFrame | None:
        """One row per finished epoch (``Epoch``, ``Loss``)."""
        model = getattr(self, "_model", None)
        return None if model is None else model.loss_values

    @loss_values.setter
    def loss_values(self, value: Any) -> None:  # SDV's mixin may assign it; the model owns it
        pass

    def fit(self, data: Mapping[str, pd.DataFrame]) -> StudioPARSynthesizer:
        """Learn the sequences of ``data["data"]`` (events ordered by key, then order)."""
        frame = data["data"]
        key = self._sequence_key[0]
        self.fresh_keys_ = FreshKeys.for_keys(frame[key])
        self.entities_ = int(frame[key].nunique())
        self.mean_events_ = len(frame) / max(self.entities_, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().fit({"data": frame})
        return self

    def _fit_sequence_columns(self, processed_table_data: pd.DataFrame) -> None:
        # SDV 2.0's PARSynthesizer._fit_sequence_columns, building the studio's PAR model.
        self._model = StudioPARModel(
            **self._model_kwargs, on_epoch=self.on_epoch, should_cancel=self.should_cancel,
            time_limit=self.time_limit, time_limit_start=self.time_limit_start)
        self._output_columns = list(processed_table_data.columns)
        self._data_columns = [
            column for column in processed_table_data.columns
            if column not in (self._sequence_key + self.context_columns
                              + list(self._extra_context_columns.keys()))]
        sequences = self._generate_sequences(processed_table_data)
        context_types, data_types = self._generate_context_and_data_types(processed_table_data)
        self._model.fit_sequences(sequences, context_types, data_types)

    def _generate_sequences(self, processed_table_data: pd.DataFrame) -> list[dict]:
        """SDV 2.0's ``_generate_sequences``, keeping each entity's events in their order.

        SDV asks deepecho to sort each sequence by the order column, but by then that
        column holds the gaps between events (SDV learns gaps), so every sequence was
        sorted by gap size: an account's opening landed anywhere and gaps always grew.
        The studio hands the events already ordered by key, then order column
        (``core.data.sequences.order_events``), and grouping keeps that order.
        """
        from deepecho.sequences import assemble_sequences

        sequences = assemble_sequences(
            processed_table_data, self._sequence_key,
            self.context_columns + list(self._extra_context_columns.keys()),
            self.segment_size, None, drop_sequence_index=False)
        id_context_columns = self._get_id_context_columns()
        if id_context_columns:
            dropped = {i for i, column in enumerate(self.context_columns)
                       if column in id_context_columns}
            for sequence in sequences:
                sequence["context"] = [value for i, value in enumerate(sequence["context"])
                                       if i not in dropped]
        return sequences

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in _NOT_SAVED:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.on_epoch = self.should_cancel = self.time_limit_start = None

    # ------------------------------------------------------------------ sampling

    def seed_sampling(self, seed: int) -> None:
        """Make the next samples reproducible (the context model's and the keys' state)."""
        self._keys_issued = 0
        self._context_synthesizer._set_random_state(int(seed))

    def reset_sampling(self) -> None:
        """Start sampling over."""
        self._context_synthesizer.reset_sampling()
        self._keys_issued = 0

    def sample_entities(self, entities: int,
                        fixed_context: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """``entities`` new entities with their events (fresh keys, in key order).

        Args:
            entities: How many entities.
            fixed_context: Context column -> value every new entity has.

        Raises:
            SamplingError: The context model could not draw entities with those values.
        """
        key = self._sequence_key[0]
        fixed = dict(fixed_context or {})
        if fixed:
            context = self._fixed_context(entities, fixed)
        else:
            context = self._context_synthesizer._sample_with_progress_bar(
                entities, output_file_path="disable", show_progress_bar=False)
        context = context.reset_index(drop=True)
        context[key] = np.arange(len(context))  # positions: one sequence each, in order
        # Sampling runs on the CPU, so a seed gives the same rows on every machine.
        self._model.set_device(torch.device("cpu"))
        with warnings.catch_warnings(), torch.no_grad(), one_cpu_thread("cpu"):
            warnings.simplefilter("ignore")
            frame = self._sample(context)
        for column, value in fixed.items():  # exactly the asked value, as it was conditioned
            frame[column] = value
        positions = frame[key].to_numpy(dtype=np.int64)
        fresh = self.fresh_keys_ or FreshKeys(integer=True)
        keys = fresh.make(self._keys_issued, len(context)).to_numpy()
        self._keys_issued += len(context)
        frame[key] = keys[positions]
        return frame

    def _fixed_context(self, entities: int, fixed: Mapping[str, Any]) -> pd.DataFrame:
        """Context rows drawn by the context model given ``fixed`` (as PAR's own code does)."""
        processed = self._process_context_columns(pd.DataFrame([dict(fixed)]))
        columns = set(self._context_synthesizer._model.columns)
        values = {name: processed.iloc[0][name] for name in fixed if name in columns}
        try:
            # SDV draws a progress bar on stderr; the studio reports its own progress.
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                sampled = self._context_synthesizer.sample_from_conditions(
                    [Condition(column_values=values, num_rows=entities)])
        except Exception as error:  # SDV's long texts
            raise SamplingError(
                f"PAR's context model could not draw entities with "
                f"{', '.join(f'{k} = {v!r}' for k, v in fixed.items())}: the value is probably "
                "not one it learned. Choose a value seen in the training data.") from error
        frame = sampled["data"] if isinstance(sampled, dict) else sampled
        return frame.reset_index(drop=True)


def par_fit_options(params: Mapping[str, Any], use_cuda: bool) -> dict[str, Any]:
    """SDV ``PARSynthesizer`` arguments for the catalogue's resolved ``params``."""
    return {"epochs": int(params.get("epochs", 128)),
            "sample_size": int(params.get("sample_size", 1)),
            "cuda": bool(use_cuda), "verbose": False}

