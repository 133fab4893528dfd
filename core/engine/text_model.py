"""A language model for one free-text column, trained from scratch on the user's own text.

No model is downloaded: :class:`TextModel` is a small recurrent network (a GRU) that learns
one column's text character by character, the way MOSTLY AI's "LSTM from scratch" does.

**Why characters.** A character model needs no tokenizer and no vocabulary built outside
the data, copes with any language, spelling, number or code in the text, and its output
layer stays small (the column's distinct characters, at most :data:`MAX_VOCABULARY`), so
a CPU learns a few thousand complaint-like texts to readable sentences in about a minute.
A word model would spend most of its time on a large output layer and could never write
a word it had not seen; a subword vocabulary would need a tokenizer trained first.

**What conditions it.** Each row's other learned columns (``schema.modelled_columns`` of
the table synthesizer: categories, yes/no, numbers, dates), so a complaint about a
mortgage reads like one. Categories keep their :data:`MAX_CATEGORIES` most frequent values
(the rest become one "other" value), numbers and dates with more distinct values become
:data:`NUMBER_BINS` quantile bins, and a missing value is a value of its own. Each column
gets a small learned embedding; their concatenation starts the network's memory and is
fed beside every character, so the row's context is never forgotten in a long text.
Identifiers, faked personal data and other text columns do not condition it: they are
drawn at random after sampling and carry nothing the text depends on.

**Missing text** is the empty sequence (start, then end): the network learns how often a
row of each context has no text, and an empty generated text comes back missing.

Training uses teacher forcing (the real previous character is the input at every step)
with truncated back-propagation (one update per window of 64 characters, the memory
carried across windows: a long text gives several updates, so a minute on a CPU is
hundreds of updates rather than dozens), Adam and gradient clipping; it is seeded (torch
and numpy), runs on one CPU thread like the other CPU fits
(``core.engine.studio_models.one_cpu_thread``) or on the GPU when the device is one, reports
each epoch, polls the cancel check every step and stops at the time limit keeping what it
learned. Sampling always runs on the CPU with a seeded
``torch.Generator``, so the same model and seed write the same text on every machine. The
pickled model holds its weights and vocabularies only (no callbacks): under a megabyte.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.errors import TrainingCancelled

__all__ = [
    "MAX_CATEGORIES",
    "MAX_VOCABULARY",
    "NUMBER_BINS",
    "STOPPED_AT_TIME_LIMIT",
    "ContextEncoder",
    "TextEpochCallback",
    "TextModel",
    "hidden_size_for",
    "torch_device",
]

#: Most distinct characters kept; rarer ones are learned as one "unknown" symbol, never written.
MAX_VOCABULARY = 300
#: Most values of a category column that condition the text; the rest are "other".
MAX_CATEGORIES = 30
#: Quantile bins of a number or date column with more distinct values than this.
NUMBER_BINS = 5
#: ``TextModel.stopped_by`` when training ended at the time limit.
STOPPED_AT_TIME_LIMIT = "time_limit"

#: Called after each epoch with (epochs done, epochs planned, mean loss per character).
TextEpochCallback = Callable[[int, int, float], None]

_PAD, _BOS, _EOS, _UNK = 0, 1, 2, 3
#: Quantiles of the training texts' lengths kept for writing (see TextModel.generate).
_LENGTH_QUANTILES = 101
#: Characters that end a sentence: past its drawn length, a text ends at the next one.
_SENTENCE_ENDS = ".!?"
#: ...or, with no sentence end in sight, once it is this many times its drawn length.
_OVERRUN = 1.25
_SPECIALS = 4
_NOT_SAVED = ("on_epoch", "should_cancel", "_network")


def torch_device(kind: str) -> str:
    """The torch device a text fit runs on for a studio device kind ("cuda", "mps", "cpu")."""
    import torch

    if kind == "cuda" and torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if kind == "mps" and mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class ContextEncoder:
    """Turns a row's other columns into small integer codes the network embeds.

    Args:
        frame: The training rows' conditioning columns.
        max_categories: Most values kept per category column.
        bins: Quantile bins for numbers and dates with many values.

    Attributes:
        columns: The conditioning columns, in order.
        cardinalities: Codes per column (values, plus "other" and "missing").
    """

    def __init__(self, frame: pd.DataFrame, max_categories: int = MAX_CATEGORIES,
                 bins: int = NUMBER_BINS) -> None:
        self.columns: list[str] = []
        self._kinds: dict[str, str] = {}
        self._values: dict[str, dict[str, int]] = {}
        self._edges: dict[str, np.ndarray] = {}
        self.cardinalities: list[int] = []
        for name in frame.columns:
            series = frame[name]
            distinct = series.dropna().unique()
            if len(distinct) == 0:
                continue  # all missing: says nothing about the text
            numeric = (pd.api.types.is_numeric_dtype(series)
                       and not pd.api.types.is_bool_dtype(series))
            timeline = pd.api.types.is_datetime64_any_dtype(series)
            if (numeric or timeline) and len(distinct) > bins:
                values = _as_numbers(series).dropna().to_numpy()
                edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
                self._kinds[name] = "bins"
                self._edges[name] = edges
                size = len(edges) + 1
            else:
                counts = series.dropna().astype(str).value_counts(sort=True)
                kept = sorted(counts.index[:max_categories],
                              key=lambda value: (-counts[value], value))
                self._kinds[name] = "values"
                self._values[name] = {value: index for index, value in enumerate(kept)}
                size = len(kept)
            self.columns.append(name)
            self.cardinalities.append(size + 2)  # + "other" + "missing"

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes of shape (rows, columns); a column absent from ``frame`` reads as missing."""
        codes = np.zeros((len(frame), len(self.columns)), dtype=np.int64)
        for position, name in enumerate(self.columns):
            size = self.cardinalities[position]
            missing, other = size - 1, size - 2
            if name not in frame.columns:
                codes[:, position] = missing
                continue
            series = frame[name].reset_index(drop=True)
            absent = series.isna().to_numpy()
            if self._kinds[name] == "bins":
                numbers = _as_numbers(series).to_numpy(dtype=float)
                column = np.digitize(np.nan_to_num(numbers), self._edges[name])
            else:
                lookup = self._values[name]
                column = np.array([lookup.get(str(value), other) for value in series],
                                  dtype=np.int64)
            codes[:, position] = np.where(absent, missing, column)
        return codes


def _as_numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert(None)
        stamps = series.astype("datetime64[ns]")
        return pd.Series(np.where(stamps.isna(), np.nan, stamps.astype("int64") / 1e9),
                         index=series.index)
    return pd.to_numeric(series, errors="coerce").astype(float)


def _network_class() -> type:
    """The torch module (built lazily: importing this file does not import torch)."""
    import torch
    from torch import nn

    class _CharNetwork(nn.Module):
        def __init__(self, vocabulary: int, cardinalities: list[int], embedding: int,
                     context_size: int, hidden: int) -> None:
            super().__init__()
            self.characters = nn.Embedding(vocabulary, embedding, padding_idx=_PAD)
            self.context = nn.ModuleList(nn.Embedding(size, context_size)
                                         for size in cardinalities)
            width = context_size * len(cardinalities)
            self.start = nn.Linear(width, hidden) if width else None
            self.gru = nn.GRU(embedding + width, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocabulary)
            self.hidden = hidden

        def context_vector(self, codes: torch.Tensor) -> torch.Tensor:
            if not len(self.context):
                return codes.new_zeros((codes.shape[0], 0), dtype=torch.float32)
            return torch.cat([table(codes[:, i]) for i, table in enumerate(self.context)], 1)

        def initial_state(self, context: torch.Tensor) -> torch.Tensor:
            if self.start is None:
                return context.new_zeros((1, context.shape[0], self.hidden))
            return torch.tanh(self.start(context)).unsqueeze(0)

        def forward(self, tokens: torch.Tensor, context: torch.Tensor,
                    state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            steps = tokens.shape[1]
            inputs = torch.cat([self.characters(tokens),
                                context.unsqueeze(1).expand(-1, steps, -1)], 2)
            output, state = self.gru(inputs, state)
            return self.out(output), state

    return _CharNetwork


class TextModel:
    """A character-level GRU for one text column, conditioned on the row's other columns.

    Args:
        epochs: Most passes over the texts.
        hidden_size: The GRU's memory size (None: chosen from the amount of text, 64 to 192).
        batch_size: Texts learned together.
        window: Characters per training step (longer texts take several steps).
        max_chars: Longest text learned and written; longer texts are learned up to it.
        max_vocabulary: Most distinct characters kept.
        learning_rate: Adam's step size.
        temperature: Sampling temperature (below 1: safer, more repetitive text).
        on_epoch: Called after each epoch (not saved with the model).
        should_cancel: Polled every step; True raises ``TrainingCancelled`` (not saved).
        time_limit: Seconds of training (0: no limit); it ends at the first step past it.
        seed: Seed of the weights and the batch order.

    Attributes:
        epochs_run: Whole epochs finished by the last fit.
        steps_run: Updates made by the last fit (one per window of each batch of texts).
        losses: Mean loss per character of each finished epoch (nats).
        stopped_by: ``STOPPED_AT_TIME_LIMIT`` when the time limit ended the fit, else None.
        fit_seconds: Seconds the last fit took.
    """

    def __init__(self, *, epochs: int = 20, hidden_size: int | None = None,
                 batch_size: int = 32, window: int = 64, max_chars: int = 500,
                 max_vocabulary: int = MAX_VOCABULARY, learning_rate: float = 3e-3,
                 temperature: float = 0.8, on_epoch: TextEpochCallback | None = None,
                 should_cancel: Callable[[], bool] | None = None, time_limit: float = 0.0,
                 seed: int = 0) -> None:
        self.epochs = max(int(epochs), 1)
        self.hidden_size = hidden_size
        self.batch_size = max(int(batch_size), 1)
        self.window = max(int(window), 1)
        self.max_chars = max(int(max_chars), 1)
        self.max_vocabulary = max(int(max_vocabulary), 1)
        self.learning_rate = float(learning_rate)
        self.temperature = float(temperature)
        self.on_epoch = on_epoch
        self.should_cancel = should_cancel
        self.time_limit = float(time_limit or 0.0)
        self.seed = int(seed)
        self.embedding_size = 48
        self.context_size = 8
        self.characters: list[str] = []
        self.encoder: ContextEncoder | None = None
        self.epochs_run = 0
        self.steps_run = 0
        self.losses: list[float] = []
        self.stopped_by: str | None = None
        self.fit_seconds = 0.0
        self._weights: dict[str, Any] | None = None
        self._network: Any = None

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the weights (on the CPU) and vocabularies, never the fit's callbacks."""
        if self._network is not None:
            self._weights = {name: value.detach().cpu().clone()
                             for name, value in self._network.state_dict().items()}
        state = self.__dict__.copy()
        for name in _NOT_SAVED:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore; the network is rebuilt from the weights on first use."""
        self.__dict__.update(state)
        self.on_epoch = self.should_cancel = None
        self._network = None

    # ------------------------------------------------------------------ fitting

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` has run."""
        return self._weights is not None or self._network is not None

    def _build(self) -> Any:
        assert self.encoder is not None
        return _network_class()(len(self.characters) + _SPECIALS, self.encoder.cardinalities,
                                self.embedding_size, self.context_size, int(self.hidden_size))

    def _encode_texts(self, texts: pd.Series) -> list[list[int]]:
        lookup = {char: index + _SPECIALS for index, char in enumerate(self.characters)}
        encoded = []
        for value in texts:
            text = "" if _is_missing(value) else str(value)[: self.max_chars]
            encoded.append([_BOS, *(lookup.get(char, _UNK) for char in text), _EOS])
        return encoded

    def fit(self, texts: pd.Series, context: pd.DataFrame | None = None,
            device: str = "cpu", time_limit_start: float | None = None) -> TextModel:
        """Learn the texts, each conditioned on its row of ``context``.

        Args:
            texts: One text per row (missing or empty: the row has no text).
            context: The same rows' conditioning columns (None: unconditioned).
            device: "cpu", "cuda" or "mps" (see :func:`torch_device`).
            time_limit_start: The ``time.monotonic()`` the time limit counts from
                (default: now).

        Raises:
            TrainingCancelled: ``should_cancel`` returned True.
        """
        import torch

        from core.engine.studio_models import one_cpu_thread

        started = time.monotonic()
        clock_start = time_limit_start if time_limit_start is not None else started
        texts = texts.reset_index(drop=True)
        context = (context.reset_index(drop=True) if context is not None
                   else pd.DataFrame(index=range(len(texts))))
        counts = Counter(char for value in texts if not _is_missing(value)
                         for char in str(value)[: self.max_chars])
        ranked = sorted(counts, key=lambda char: (-counts[char], char))
        self.characters = sorted(ranked[: self.max_vocabulary])
        self.encoder = ContextEncoder(context)
        sequences = self._encode_texts(texts)
        # How long the texts are, kept as 101 quantiles: writing draws a length from them,
        # so a briefly trained model does not end its texts early.
        written = np.array([len(s) - 2 for s in sequences if len(s) > 2], dtype=float)
        self.lengths_ = (np.quantile(written, np.linspace(0, 1, _LENGTH_QUANTILES)).round()
                         if len(written) else None)
        codes = self.encoder.encode(context)
        if self.hidden_size is None:
            self.hidden_size = hidden_size_for(sum(len(s) for s in sequences))
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        network = self._build().to(device)
        self._network = network
        self._weights = None
        optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        loss_function = torch.nn.CrossEntropyLoss(ignore_index=_PAD, reduction="sum")
        lengths = np.array([len(s) for s in sequences])
        self.epochs_run, self.losses, self.stopped_by = 0, [], None
        steps = 0
        with one_cpu_thread(device):
            network.train()
            for epoch in range(self.epochs):
                total_loss, total_chars = 0.0, 0
                for batch in _length_batches(lengths, self.batch_size, rng):
                    tokens = _padded([sequences[i] for i in batch]).to(device)
                    conditions = torch.as_tensor(codes[batch], device=device)
                    state = None
                    # Truncated back-propagation: one update per window of characters, the
                    # memory carried on, so long texts give many updates per pass.
                    for begin in range(0, tokens.shape[1] - 1, self.window):
                        if self.should_cancel is not None and self.should_cancel():
                            raise TrainingCancelled("Training was cancelled.")
                        # At least one step, so a model stopped at once still writes text.
                        if (self.time_limit and steps
                                and time.monotonic() - clock_start > self.time_limit):
                            self.stopped_by = STOPPED_AT_TIME_LIMIT
                            break
                        inputs = tokens[:, begin:begin + self.window]
                        targets = tokens[:, begin + 1:begin + self.window + 1]
                        chars = int((targets != _PAD).sum())
                        if not chars:
                            break
                        context_vector = network.context_vector(conditions)
                        if state is None:
                            state = network.initial_state(context_vector)
                        logits, state = network(inputs[:, : targets.shape[1]], context_vector,
                                                state)
                        state = state.detach()
                        loss = loss_function(logits.reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1))
                        optimiser.zero_grad()
                        (loss / chars).backward()
                        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                        optimiser.step()
                        total_loss += loss.item()
                        total_chars += chars
                        steps += 1
                    if self.stopped_by is not None:
                        break
                if self.stopped_by is not None:
                    break
                self.epochs_run = epoch + 1
                self.losses.append(total_loss / max(total_chars, 1))
                if self.on_epoch is not None:
                    self.on_epoch(self.epochs_run, self.epochs, self.losses[-1])
        self.steps_run = steps
        network.eval()
        self._network = network.to("cpu")  # sampling runs on the CPU, on every machine
        self.fit_seconds = time.monotonic() - started
        return self

    # ------------------------------------------------------------------ sampling

    def _cpu_network(self) -> Any:
        if self._network is None:
            if self._weights is None:
                raise ValueError("The text model must be fitted before it can write text.")
            network = self._build()
            network.load_state_dict(self._weights)
            network.eval()
            self._network = network
        return self._network

    def generate(self, context: pd.DataFrame | None, seed: int = 0,
                 temperature: float | None = None, batch_size: int = 1024,
                 progress: Callable[[int, int], None] | None = None) -> pd.Series:
        """Write one text per row of ``context`` (same model, rows and seed: same text).

        Args:
            context: The sampled rows (their conditioning columns are read by name).
            seed: Sampling seed.
            temperature: Override of the model's temperature.
            batch_size: Rows written at once (part of what fixes the output).
            progress: Called with (rows done, rows) after each batch.

        Returns:
            The texts, index 0..rows-1; a row whose text came out empty is missing.
        """
        import torch

        from core.engine.studio_models import one_cpu_thread

        network = self._cpu_network()
        assert self.encoder is not None
        rows = len(context) if context is not None else 0
        codes = self.encoder.encode(context if context is not None else pd.DataFrame())
        heat = max(float(temperature if temperature is not None else self.temperature), 1e-3)
        generator = torch.Generator(device="cpu").manual_seed(int(seed) % (2**63))
        vocabulary = len(self.characters) + _SPECIALS
        blocked = torch.zeros(vocabulary, dtype=torch.bool)
        blocked[[_PAD, _BOS, _UNK]] = True
        texts: list[Any] = []
        with torch.no_grad(), one_cpu_thread("cpu"):
            for begin in range(0, rows, max(int(batch_size), 1)):
                part = torch.as_tensor(codes[begin:begin + batch_size])
                texts.extend(self._write(network, part, heat, generator, blocked))
                if progress is not None:
                    progress(len(texts), rows)
        return pd.Series(texts, dtype=object, name=None)

    def _write(self, network: Any, codes: Any, heat: float, generator: Any,
               blocked: Any) -> list[Any]:
        import torch

        count = codes.shape[0]
        context = network.context_vector(codes)
        state = network.initial_state(context)
        token = torch.full((count, 1), _BOS, dtype=torch.long)
        finished = torch.zeros(count, dtype=torch.bool)
        written = []
        # Each text gets a length drawn from the training texts' lengths: once begun it may
        # not end before it (a few epochs leave the end-of-text guess too eager: texts came
        # out half as long as the real ones) and ends at the first sentence end after it
        # (at the latest at 1.25 times it).
        # Whether a row has a text at all stays the model's guess from its context (an end
        # at the first step). Models saved without the lengths write as they always did.
        lengths = getattr(self, "lengths_", None)
        target = (None if lengths is None else torch.as_tensor(lengths, dtype=torch.float32)[
            torch.randint(len(lengths), (count,), generator=generator)])
        ends = torch.zeros(len(self.characters) + _SPECIALS, dtype=torch.bool)
        for char in _SENTENCE_ENDS:
            if char in self.characters:
                ends[self.characters.index(char) + _SPECIALS] = True
        for step in range(self.max_chars):  # at most max_chars characters; then it ends
            logits, state = network(token, context, state)
            logits = logits[:, -1, :].masked_fill(blocked, float("-inf"))
            if target is not None and step > 0:
                logits[step < target, _EOS] = float("-inf")
            probabilities = torch.softmax(logits / heat, dim=1)
            previous = token[:, 0]
            token = torch.multinomial(probabilities, 1, generator=generator)
            if target is not None and step > 0:
                over = ((step >= target) & ends[previous]) | (step >= _OVERRUN * target)
                token[over, 0] = _EOS
            token[finished] = _PAD
            written.append(token[:, 0].clone())
            finished |= token[:, 0] == _EOS
            if bool(finished.all()):
                break
        steps = torch.stack(written, 1).tolist()
        out: list[Any] = []
        for row in steps:
            chars = []
            for index in row:
                if index in (_EOS, _PAD):
                    break
                chars.append(self.characters[index - _SPECIALS])
            text = "".join(chars)
            out.append(text if text.strip() else np.nan)
        return out


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
        or (isinstance(value, str) and not value.strip())


def hidden_size_for(characters: int) -> int:
    """A GRU size that learns this much text in about a minute on one CPU thread."""
    if characters < 50_000:
        return 64
    if characters < 300_000:
        return 128
    return 192


def _length_batches(lengths: np.ndarray, size: int, rng: np.random.Generator) -> list[Any]:
    """Batches of texts of similar length (little padding), in a seeded random order."""
    jitter = rng.uniform(0, 8, size=len(lengths))
    order = np.argsort(lengths + jitter, kind="stable")
    batches = [order[start:start + size] for start in range(0, len(order), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _padded(sequences: list[list[int]]) -> Any:
    import torch

    width = max(len(s) for s in sequences)
    tokens = torch.full((len(sequences), width), _PAD, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        tokens[row, : len(sequence)] = torch.as_tensor(sequence)
    return tokens
