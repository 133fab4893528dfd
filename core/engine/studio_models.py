"""The studio's CTGAN, TVAE and CopulaGAN: SDV's and ctgan's classes, extended by subclassing.

SDV wraps ctgan: ``CTGANSynthesizer._fit`` builds a ``ctgan.CTGAN`` and calls its ``fit``,
which runs the training loop. SDV has no fit callback and ctgan's loops no hooks, so:

* :class:`StudioCTGANSynthesizer`, :class:`StudioTVAESynthesizer` and
  :class:`StudioCopulaGANSynthesizer` take the studio's training options as constructor
  arguments (``on_epoch``, ``should_cancel``, ``time_limit``, ``time_limit_start`` and, for
  the GANs, ``generator_average``) and override ``_fit`` to build the studio's models.
* :class:`StudioCTGAN` and :class:`StudioTVAE` run ctgan 0.12.1's training loops (copied,
  changes marked) on the faster parts of :mod:`core.engine.ctgan_parts`. After each epoch
  they report and may end training; the loop then ends and ``fit`` returns normally, so
  SDV's own ``fit`` finishes its bookkeeping. A cancel raises ``TrainingCancelled`` out of
  the fit.

CTGAN's loop has two changes besides the report. The critic step runs the generator
without autograd: ctgan back-propagates the critic's losses through the generator and then
zeroes those gradients unused, so the critic's gradients, every random draw and the trained
model are unchanged (a test compares losses and weights with ctgan's loop). And, when the
studio asks for it, the generator's weights are averaged (``generator_average``, see
:class:`core.engine.ctgan_parts.GeneratorAverage`): the one option that changes the model.

A saved model holds these classes by reference, so every process that unpickles it (the
server, the CLI, a worker, a Ray task) imports this module and samples with the same code.
The callbacks are left out of the pickle: a saved model holds no closure over a job.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
from ctgan.synthesizers._utils import _format_score
from ctgan.synthesizers.base import random_state
from ctgan.synthesizers.ctgan import CTGAN, Discriminator, Generator
from ctgan.synthesizers.tvae import TVAE, Decoder, Encoder, _loss_function
from sdv.single_table.copulagan import CopulaGANSynthesizer
from sdv.single_table.ctgan import (
    CTGANSynthesizer,
    TVAESynthesizer,
    _validate_no_category_dtype,
)
from sdv.single_table.utils import detect_discrete_columns
from threadpoolctl import threadpool_limits
from torch import optim
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from core.engine.ctgan_parts import (
    ActivationLayout,
    BatchDataSampler,
    GeneratorAverage,
    SequentialDataTransformer,
)
from core.engine.patches import load_libraries
from core.errors import TrainingCancelled

__all__ = [
    "STOPPED_AT_TIME_LIMIT",
    "STOPPED_BY_CALLBACK",
    "EpochCallback",
    "StudioCTGAN",
    "StudioCTGANSynthesizer",
    "StudioCopulaGANSynthesizer",
    "StudioTVAE",
    "StudioTVAESynthesizer",
    "one_cpu_thread",
    "synthesizer_class",
]

# The copied loops are ctgan 0.12.1's and the _fit methods SDV 2.0's: refuse other releases
# (and install the patches) however this module is reached, unpickling included.
load_libraries()

#: ``stopped_by`` when training ended at the time limit.
STOPPED_AT_TIME_LIMIT = "time_limit"
#: ``stopped_by`` when the ``on_epoch`` callback asked to stop (the studio: a loss plateau).
STOPPED_BY_CALLBACK = "on_epoch"

#: Called after each epoch with the model's ``loss_values``; True ends training there.
EpochCallback = Callable[[pd.DataFrame], bool]

# Options that belong to one fit in one process: a saved model leaves them out (a callback
# would pickle a closure over the job; a monotonic clock means nothing in another process).
_NOT_SAVED = ("on_epoch", "should_cancel", "time_limit_start")


class _TrainingOptions:
    """What the studio adds to a ctgan model's training loop (constructor arguments).

    Args:
        on_epoch: Called after each epoch with ``loss_values`` (all epochs so far);
            returning True ends training after this epoch.
        should_cancel: Polled after each epoch; True raises ``TrainingCancelled``.
        time_limit: Seconds; training ends after the epoch that would run past it
            (0: no limit).
        time_limit_start: The ``time.monotonic()`` the limit counts from (default: the
            start of ``fit``).
        **kwargs: The ctgan model's own arguments.

    Attributes:
        stopped_by: Why the last fit ended before its last epoch (None: it did not).
    """

    on_epoch: EpochCallback | None = None
    should_cancel: Callable[[], bool] | None = None
    time_limit_start: float | None = None
    stopped_by: str | None = None

    def __init__(self, *, on_epoch: EpochCallback | None = None,
                 should_cancel: Callable[[], bool] | None = None, time_limit: float = 0.0,
                 time_limit_start: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_epoch = on_epoch
        self.should_cancel = should_cancel
        self.time_limit = float(time_limit or 0.0)
        self.time_limit_start = time_limit_start

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for name in (*_NOT_SAVED, "_activation"):  # the activation layout is a cache
            state.pop(name, None)
        return state


@contextlib.contextmanager
def one_cpu_thread(device: Any) -> Iterator[None]:
    """Run a CPU fit's loop on one thread (torch's and the BLAS/OpenMP pools), then restore.

    The studio's networks are small (a batch of a few hundred rows, layers of 128-256), so
    two threads gain little and wait on each other at every matrix product: on the shared
    2-core machine an epoch of TVAE on a 7,000 x 55 table took 0.29 s of CPU on one
    thread, 0.45 s on two with sleeping idle threads and 10.9 s on two with spinning ones
    (OpenMP's default outside the app's workers) — 2 epochs in a 55 s limit instead of 100+.
    On a GPU nothing changes.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


class _EpochEnd:
    """Decides, after each epoch of one fit, whether training goes on."""

    def __init__(self, model: _TrainingOptions, epochs: int) -> None:
        self.model = model
        self.epochs = epochs
        self.start = (model.time_limit_start if model.time_limit_start is not None
                      else time.monotonic())
        self.first_epoch_end: float | None = None
        model.stopped_by = None

    def stop(self, epochs_done: int) -> bool:
        """Report the epoch; True ends training. Raises ``TrainingCancelled`` on a cancel."""
        model = self.model
        if self.first_epoch_end is None:
            self.first_epoch_end = time.monotonic()
        asked = bool(model.on_epoch(model.loss_values)) if model.on_epoch else False
        if model.should_cancel is not None and model.should_cancel():
            raise TrainingCancelled("Training was cancelled.")
        if model.time_limit and epochs_done < self.epochs:
            now = time.monotonic()
            # The first epoch's end starts this clock, so it runs one epoch late.
            per_epoch = (now - self.first_epoch_end) / max(epochs_done - 1, 1)
            if now - self.start + per_epoch > model.time_limit:
                model.stopped_by = STOPPED_AT_TIME_LIMIT
                return True
        if asked:
            model.stopped_by = STOPPED_BY_CALLBACK
        return asked


class StudioCTGAN(_TrainingOptions, CTGAN):
    """ctgan's CTGAN with the studio's loop, sampler, transformer and activation.

    Args:
        generator_average: Sample from a running average of the generator's weights with
            this decay (0: ctgan's last weights). Installed however training ends.
        **kwargs: :class:`_TrainingOptions` and ctgan's ``CTGAN`` arguments.
    """

    def __init__(self, *, generator_average: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generator_average = float(generator_average or 0.0)

    def _apply_activate(self, data: torch.Tensor) -> torch.Tensor:
        # One Gumbel draw and one padded softmax for all category blocks (ctgan_parts).
        cached = getattr(self, "_activation", None)
        if cached is None or cached[0] is not self._transformer:
            cached = self._activation = (
                self._transformer, ActivationLayout(self._transformer.output_info_list))
        return cached[1].gumbel_activate(data, tau=0.2)

    @random_state
    def fit(self, train_data: Any, discrete_columns: Any = (),  # noqa: C901, PLR0915
            epochs: int | None = None) -> None:
        """The training loop of ctgan 0.12.1's ``CTGAN.fit``, with the studio's changes marked."""
        self._validate_discrete_columns(train_data, discrete_columns)
        self._validate_null_data(train_data, discrete_columns)
        if epochs is None:
            epochs = self._epochs
        else:
            warnings.warn(
                "`epochs` argument in `fit` method has been deprecated and will be removed "
                "in a future version. Please pass `epochs` to the constructor instead",
                DeprecationWarning, stacklevel=2)

        self._transformer = SequentialDataTransformer()  # studio: the faster parts
        self._transformer.fit(train_data, discrete_columns)
        train_data = self._transformer.transform(train_data)
        self._data_sampler = BatchDataSampler(
            train_data, self._transformer.output_info_list, self._log_frequency)
        data_dim = self._transformer.output_dimensions
        self._generator = Generator(
            self._embedding_dim + self._data_sampler.dim_cond_vec(), self._generator_dim,
            data_dim).to(self._device)
        discriminator = Discriminator(
            data_dim + self._data_sampler.dim_cond_vec(), self._discriminator_dim,
            pac=self.pac).to(self._device)
        optimizerG = optim.Adam(  # noqa: N806 - the library's names
            self._generator.parameters(), lr=self._generator_lr, betas=(0.5, 0.9),
            weight_decay=self._generator_decay)
        optimizerD = optim.Adam(  # noqa: N806
            discriminator.parameters(), lr=self._discriminator_lr, betas=(0.5, 0.9),
            weight_decay=self._discriminator_decay)

        mean = torch.zeros(self._batch_size, self._embedding_dim, device=self._device)
        std = mean + 1
        self.loss_values = pd.DataFrame(columns=["Epoch", "Generator Loss",
                                                 "Distriminator Loss"])
        epoch_iterator = tqdm(range(epochs), disable=(not self._verbose))
        if self._verbose:
            description = "Gen. ({gen}) | Discrim. ({dis})"
            epoch_iterator.set_description(
                description.format(gen=_format_score(0), dis=_format_score(0)))

        steps_per_epoch = max(len(train_data) // self._batch_size, 1)
        # Studio: the generator average, and the report that may end training early.
        average = (GeneratorAverage(self._generator, self.generator_average)
                   if self.generator_average > 0 else None)
        epoch_end = _EpochEnd(self, epochs)
        try:
            for i in epoch_iterator:
                for _ in range(steps_per_epoch):
                    for _ in range(self._discriminator_steps):
                        fakez = torch.normal(mean=mean, std=std)
                        condvec = self._data_sampler.sample_condvec(self._batch_size)
                        if condvec is None:
                            c1, m1, col, opt = None, None, None, None
                            real = self._data_sampler.sample_data(
                                train_data, self._batch_size, col, opt)
                        else:
                            c1, m1, col, opt = condvec
                            c1 = torch.from_numpy(c1).to(self._device)
                            m1 = torch.from_numpy(m1).to(self._device)
                            fakez = torch.cat([fakez, c1], dim=1)
                            perm = np.arange(self._batch_size)
                            np.random.shuffle(perm)
                            real = self._data_sampler.sample_data(
                                train_data, self._batch_size, col[perm], opt[perm])
                            c2 = c1[perm]

                        # Studio: the critic step only updates the critic.
                        with torch.no_grad():
                            fake = self._generator(fakez)
                            fakeact = self._apply_activate(fake)

                        real = torch.from_numpy(real.astype("float32")).to(self._device)
                        if c1 is not None:
                            fake_cat = torch.cat([fakeact, c1], dim=1)
                            real_cat = torch.cat([real, c2], dim=1)
                        else:
                            real_cat = real
                            fake_cat = fakeact
                        # The gradient penalty differentiates the critic at points between
                        # real and fake rows: they must still require a gradient.
                        fake_cat.requires_grad_()
                        y_fake = discriminator(fake_cat)
                        y_real = discriminator(real_cat)
                        pen = discriminator.calc_gradient_penalty(
                            real_cat, fake_cat, self._device, self.pac)
                        loss_d = -(torch.mean(y_real) - torch.mean(y_fake))
                        optimizerD.zero_grad(set_to_none=False)
                        pen.backward(retain_graph=True)
                        loss_d.backward()
                        optimizerD.step()

                    fakez = torch.normal(mean=mean, std=std)
                    condvec = self._data_sampler.sample_condvec(self._batch_size)
                    if condvec is None:
                        c1, m1, col, opt = None, None, None, None
                    else:
                        c1, m1, col, opt = condvec
                        c1 = torch.from_numpy(c1).to(self._device)
                        m1 = torch.from_numpy(m1).to(self._device)
                        fakez = torch.cat([fakez, c1], dim=1)
                    fake = self._generator(fakez)
                    fakeact = self._apply_activate(fake)
                    if c1 is not None:
                        y_fake = discriminator(torch.cat([fakeact, c1], dim=1))
                    else:
                        y_fake = discriminator(fakeact)
                    cross_entropy = 0 if condvec is None else self._cond_loss(fake, c1, m1)
                    loss_g = -torch.mean(y_fake) + cross_entropy
                    optimizerG.zero_grad(set_to_none=False)
                    loss_g.backward()
                    optimizerG.step()
                    if average is not None:
                        average.update()

                generator_loss = loss_g.detach().cpu().item()
                discriminator_loss = loss_d.detach().cpu().item()
                epoch_loss_df = pd.DataFrame({"Epoch": [i], "Generator Loss": [generator_loss],
                                              "Discriminator Loss": [discriminator_loss]})
                if not self.loss_values.empty:
                    self.loss_values = pd.concat(
                        [self.loss_values, epoch_loss_df]).reset_index(drop=True)
                else:
                    self.loss_values = epoch_loss_df
                if self._verbose:
                    epoch_iterator.set_description(description.format(
                        gen=_format_score(generator_loss), dis=_format_score(discriminator_loss)))
                if epoch_end.stop(i + 1):
                    break
        finally:
            # Studio: however training ends (cancel included), the generator is the average.
            if average is not None:
                average.install()


class StudioTVAE(_TrainingOptions, TVAE):
    """ctgan's TVAE with the studio's loop and transformer, drawing categories when sampling.

    Args:
        **kwargs: :class:`_TrainingOptions` and ctgan's ``TVAE`` arguments.

    Attributes:
        draw_categories: Sample each category (and each number's mode) from the decoder's
            distribution instead of taking its likeliest value
            (:meth:`ActivationLayout.draw_categories`). True for models fitted now; a model
            saved before it existed unpickles without it and samples as it always did.
    """

    draw_categories: bool = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.draw_categories = True

    def sample(self, samples: int) -> Any:
        """Sample rows as ctgan 0.12.1's ``TVAE.sample``, drawing categories when asked to."""
        if not self.draw_categories:
            return super().sample(samples)
        return self._sample_drawn(samples)

    @random_state
    def _sample_drawn(self, samples: int) -> Any:
        self.decoder.eval()
        layout = ActivationLayout(self.transformer.output_info_list)
        data = []
        sigmas = None
        for _ in range(samples // self.batch_size + 1):
            mean = torch.zeros(self.batch_size, self.embedding_dim)
            noise = torch.normal(mean=mean, std=mean + 1).to(self._device)
            with torch.no_grad():
                fake, sigmas = self.decoder(noise)
                data.append(layout.draw_categories(fake).cpu().numpy())
        return self.transformer.inverse_transform(np.concatenate(data, axis=0)[:samples],
                                                  sigmas.detach().cpu().numpy())

    @random_state
    def fit(self, train_data: Any, discrete_columns: Any = ()) -> None:
        """The training loop of ctgan 0.12.1's ``TVAE.fit``, with the studio's changes marked."""
        self.transformer = SequentialDataTransformer()  # studio: the faster parts
        self.transformer.fit(train_data, discrete_columns)
        train_data = self.transformer.transform(train_data)
        dataset = TensorDataset(torch.from_numpy(train_data.astype("float32")).to(self._device))
        loader = DataLoader(dataset, batch_size=self.batch_size, shuffle=True, drop_last=False)

        data_dim = self.transformer.output_dimensions
        encoder = Encoder(data_dim, self.compress_dims, self.embedding_dim).to(self._device)
        self.decoder = Decoder(self.embedding_dim, self.decompress_dims, data_dim).to(self._device)
        optimizerAE = optim.Adam(  # noqa: N806 - the library's names
            list(encoder.parameters()) + list(self.decoder.parameters()),
            weight_decay=self.l2scale)

        self.loss_values = pd.DataFrame(columns=["Epoch", "Batch", "Loss"])
        iterator = tqdm(range(self.epochs), disable=(not self.verbose))
        if self.verbose:
            iterator_description = "Loss: {loss}"
            iterator.set_description(iterator_description.format(loss=_format_score(0)))

        epoch_end = _EpochEnd(self, self.epochs)  # studio: the report after each epoch
        for i in iterator:
            loss_values = []
            batch = []
            for id_, data in enumerate(loader):
                optimizerAE.zero_grad()
                real = data[0].to(self._device)
                mu, std, logvar = encoder(real)
                eps = torch.randn_like(std)
                emb = eps * std + mu
                rec, sigmas = self.decoder(emb)
                loss_1, loss_2 = _loss_function(
                    rec, real, sigmas, mu, logvar, self.transformer.output_info_list,
                    self.loss_factor)
                loss = loss_1 + loss_2
                loss.backward()
                optimizerAE.step()
                self.decoder.sigma.data.clamp_(0.01, 1.0)

                batch.append(id_)
                loss_values.append(loss.detach().cpu().item())

            epoch_loss_df = pd.DataFrame({"Epoch": [i] * len(batch), "Batch": batch,
                                          "Loss": loss_values})
            if not self.loss_values.empty:
                self.loss_values = pd.concat(
                    [self.loss_values, epoch_loss_df]).reset_index(drop=True)
            else:
                self.loss_values = epoch_loss_df
            if self.verbose:
                iterator.set_description(
                    iterator_description.format(loss=_format_score(loss.detach().cpu().item())))
            if epoch_end.stop(i + 1):
                break


# --------------------------------------------------------------------------- SDV's side


class _StudioSynthesizer:
    """Mixin for SDV's deep synthesizers: the studio's training options as arguments.

    Args:
        metadata: SDV ``Metadata``.
        on_epoch: See :class:`_TrainingOptions` (passed on to the model).
        should_cancel: See :class:`_TrainingOptions`.
        time_limit: See :class:`_TrainingOptions`.
        time_limit_start: See :class:`_TrainingOptions`.
        **kwargs: The SDV synthesizer's own arguments.
    """

    _model_class: type[_TrainingOptions]
    on_epoch: EpochCallback | None = None
    should_cancel: Callable[[], bool] | None = None
    time_limit_start: float | None = None

    def __init__(self, metadata: Any, *, on_epoch: EpochCallback | None = None,
                 should_cancel: Callable[[], bool] | None = None, time_limit: float = 0.0,
                 time_limit_start: float | None = None, **kwargs: Any) -> None:
        super().__init__(metadata, **kwargs)
        self._set_training_options(on_epoch, should_cancel, time_limit, time_limit_start)

    def _set_training_options(self, on_epoch: EpochCallback | None,
                              should_cancel: Callable[[], bool] | None, time_limit: float,
                              time_limit_start: float | None) -> None:
        self.on_epoch = on_epoch
        self.should_cancel = should_cancel
        self.time_limit = float(time_limit or 0.0)
        self.time_limit_start = time_limit_start

    def _model_options(self) -> dict[str, Any]:
        return {"on_epoch": self.on_epoch, "should_cancel": self.should_cancel,
                "time_limit": self.time_limit, "time_limit_start": self.time_limit_start}

    def _build_model(self) -> _TrainingOptions:
        return self._model_class(**self._model_kwargs, **self._model_options())

    @property
    def stopped_by(self) -> str | None:
        """Why the last fit ended before its last epoch (None: it ran them all)."""
        model = getattr(self, "_model", None)
        return getattr(model, "stopped_by", None)

    def get_parameters(self) -> dict[str, Any]:
        """SDV's parameters plus the studio's options (those of one fit left out)."""
        sdv_class = next(cls for cls in type(self).__mro__ if cls.__module__.startswith("sdv."))
        names = [name for name in inspect.signature(sdv_class.__init__).parameters
                 if name not in ("self", "metadata")]
        options = {name: value for name, value in self._model_options().items()
                   if name not in _NOT_SAVED}
        return {**{name: self.__dict__.get(name) for name in names}, **options}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in _NOT_SAVED:
            state.pop(name, None)
        return state


class StudioCTGANSynthesizer(_StudioSynthesizer, CTGANSynthesizer):
    """SDV's ``CTGANSynthesizer`` fitting a :class:`StudioCTGAN`.

    Args:
        metadata: SDV ``Metadata``.
        generator_average: See :class:`StudioCTGAN`.
        **kwargs: :class:`_StudioSynthesizer`'s and SDV's arguments.
    """

    _model_class = StudioCTGAN

    def __init__(self, metadata: Any, *, generator_average: float = 0.0, **kwargs: Any) -> None:
        super().__init__(metadata, **kwargs)
        self.generator_average = float(generator_average or 0.0)

    def _model_options(self) -> dict[str, Any]:
        return {**super()._model_options(),
                "generator_average": getattr(self, "generator_average", 0.0)}

    def _fit(self, processed_data: pd.DataFrame) -> None:
        # SDV 2.0's CTGANSynthesizer._fit, building the studio's CTGAN.
        _validate_no_category_dtype(processed_data)
        transformers = self._data_processor._hyper_transformer.field_transformers
        discrete_columns = detect_discrete_columns(self.metadata, processed_data, transformers)
        self._model = self._build_model()
        with warnings.catch_warnings(), one_cpu_thread(self._model._device):
            warnings.filterwarnings("ignore", message=".*Attempting to run cuBLAS.*")
            self._model.fit(processed_data, discrete_columns=discrete_columns)


class StudioTVAESynthesizer(_StudioSynthesizer, TVAESynthesizer):
    """SDV's ``TVAESynthesizer`` fitting a :class:`StudioTVAE`."""

    _model_class = StudioTVAE

    def _fit(self, processed_data: pd.DataFrame) -> None:
        # SDV 2.0's TVAESynthesizer._fit, building the studio's TVAE.
        _validate_no_category_dtype(processed_data)
        transformers = self._data_processor._hyper_transformer.field_transformers
        discrete_columns = detect_discrete_columns(self.metadata, processed_data, transformers)
        self._model = self._build_model()
        with one_cpu_thread(self._model._device):
            self._model.fit(processed_data, discrete_columns=discrete_columns)


class StudioCopulaGANSynthesizer(CopulaGANSynthesizer, StudioCTGANSynthesizer):
    """SDV's ``CopulaGANSynthesizer`` fitting a :class:`StudioCTGAN`.

    SDV's ``CopulaGANSynthesizer._fit`` reshapes the columns and then calls its parent's
    ``_fit``; with :class:`StudioCTGANSynthesizer` as that parent (the class order), it
    builds the studio's CTGAN.

    Args:
        metadata: SDV ``Metadata``.
        on_epoch: See :class:`_TrainingOptions`.
        should_cancel: See :class:`_TrainingOptions`.
        time_limit: See :class:`_TrainingOptions`.
        time_limit_start: See :class:`_TrainingOptions`.
        generator_average: See :class:`StudioCTGAN`.
        **kwargs: SDV's ``CopulaGANSynthesizer`` arguments.
    """

    def __init__(self, metadata: Any, *, on_epoch: EpochCallback | None = None,
                 should_cancel: Callable[[], bool] | None = None, time_limit: float = 0.0,
                 time_limit_start: float | None = None, generator_average: float = 0.0,
                 **kwargs: Any) -> None:
        # SDV's __init__ passes only its own arguments on to the studio's CTGAN synthesizer.
        super().__init__(metadata, **kwargs)
        self._set_training_options(on_epoch, should_cancel, time_limit, time_limit_start)
        self.generator_average = float(generator_average or 0.0)


_BY_SDV_NAME: dict[str, type[_StudioSynthesizer]] = {
    "CTGANSynthesizer": StudioCTGANSynthesizer,
    "TVAESynthesizer": StudioTVAESynthesizer,
    "CopulaGANSynthesizer": StudioCopulaGANSynthesizer,
}


def synthesizer_class(sdv_class_name: str) -> type[_StudioSynthesizer]:
    """The studio's subclass of the SDV deep synthesizer named ``sdv_class_name``.

    Raises:
        KeyError: SDV's class has no studio subclass (the Gaussian Copula needs none).
    """
    return _BY_SDV_NAME[sdv_class_name]
