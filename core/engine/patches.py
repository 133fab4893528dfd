"""Targeted fixes for slow paths in SDV 2.0 / rdt / ctgan (measured, not guessed).

Each patch keeps the library's behaviour and removes a cost that has nothing to do with
learning the data. :func:`apply` is idempotent and called before any SDV object is built.

1. ``rdt``'s ``is_faker_function`` builds a ``Faker`` with *all* ~100 locales on every
   call; SDV calls it while validating metadata with PII columns. The first build costs
   ~9 s per process (2,756 provider look-ups). We answer from an en_US ``Faker`` (every
   sdtype the studio offers exists there) and remember answers.
2. ctgan's ``DataTransformer.transform`` starts a joblib process pool for tables over 500
   rows. On a 2-core machine the pool start-up cost more than the work (13 s of a 40 s fit
   of a 700-row table); the sequential path gives identical output.
3. SDV warns that a ``datetime_format`` "could not be verified" for datetime64 columns;
   we set the format on purpose (it makes validation vectorised), so the warning is noise.
4. CTGAN/TVAE's mode-specific normalisation (rdt ``ClusterBasedNormalizer``) fits a
   10-component Bayesian Gaussian mixture per numeric column; it runs its full 100
   iterations, linear in rows: 31 s of a 10,000 x 20 table's fit went there. We fit the
   mixture on a seeded sample of at most 2,000 rows (a mode holding 0.5% of the rows, the
   smallest rdt keeps, still has ~10 of them) and then use it for every row as before.
   On one column a "full" covariance is its diagonal, so the mixture is fitted as
   ``diag``: the same model without a Cholesky per component per iteration (half the time).
5. The same transformer picks each row's mode with one ``np.random.choice`` call per row
   (12 s for that table). We draw the same distribution for all rows at once: an inverse
   CDF over each row's normalised mode probabilities, from numpy's global generator,
   which rdt seeds around every transform, so fits stay reproducible.
6. ctgan's ``DataSampler.sample_data`` picks each batch row's real training row with one
   ``np.random.choice`` per row. We draw the whole batch with one ``randint`` and one
   gather: a CTGAN epoch on that table went from 2.48 to 1.43 s.
7. CTGAN's critic step runs the generator with autograd on and back-propagates the
   critic's two losses through it, twice; the generator's gradients from that step are
   zeroed, unused, before the generator's own step. We run the generator's forward pass
   of the critic step without autograd. The critic's gradients, every random draw and so
   the trained model are unchanged (a test compares losses and weights with the original).
8. CTGAN's generator output goes through one Gumbel-softmax call per category block
   (~20 blocks on a 20-column table, each with its own noise draw and softmax) and one
   ``tanh`` per numeric value. We draw the noise for all blocks at once and take every
   block's softmax in one padded operation: the same function of the same distribution,
   with new random draws (a test checks the values against ctgan's per-block formula).

One option of the copied loop does change the model, and only when the studio asks for it:
``generator_average`` (see :func:`_ctgan_fit`).
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache

__all__ = ["apply", "load_libraries"]

_applied = threading.Event()
_lock = threading.Lock()


def load_libraries() -> None:
    """Import SDV, ctgan and rdt with the studio's patches applied (once per process).

    Every engine function that builds, fits, loads or samples an SDV object calls this
    first, so the server, the CLI, workers and Ray tasks sample alike.
    """
    apply()


def apply() -> None:
    """Install the patches once per process."""
    if _applied.is_set():
        return
    with _lock:
        if _applied.is_set():
            return
        _patch_is_faker_function()
        _patch_ctgan_transform()
        _patch_cluster_based_normalizer()
        _patch_ctgan_sample_data()
        _patch_ctgan_critic_step()
        _patch_ctgan_activation()
        warnings.filterwarnings(
            "ignore", message=r"The datetime format for column .* could not be verified"
        )
        _applied.set()


def _patch_is_faker_function() -> None:
    import rdt.transformers.pii.anonymization as anonymization
    import sdv.metadata._single_table as single_table
    from faker import Faker

    original = anonymization.is_faker_function
    english = Faker("en_US")

    @lru_cache(maxsize=512)
    def is_faker_function(function_name: str) -> bool:
        if hasattr(english, function_name):
            return True
        return bool(original(function_name))

    anonymization.is_faker_function = is_faker_function
    single_table.is_faker_function = is_faker_function


def _patch_ctgan_transform() -> None:
    from ctgan.data_transformer import DataTransformer

    DataTransformer._parallel_transform = DataTransformer._synchronous_transform


BGM_MAX_ROWS = 2_000


def _patch_cluster_based_normalizer() -> None:
    import numpy as np
    from rdt.transformers.numerical import ClusterBasedNormalizer, FloatFormatter

    def _fit(self: ClusterBasedNormalizer, data: object) -> None:
        from sklearn.mixture import BayesianGaussianMixture

        self._bgm_transformer = BayesianGaussianMixture(
            n_components=self.max_clusters,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            # One column: a 1x1 "full" covariance is its diagonal. Same fit, without a
            # Cholesky per component per iteration (half the time).
            covariance_type="diag",
            random_state=self._get_current_random_seed(),
        )
        FloatFormatter._fit(self, data)
        values = FloatFormatter._transform(self, data)
        if values.ndim > 1:
            values = values[:, 0]
        if len(values) > BGM_MAX_ROWS:
            rows = np.random.default_rng(self._get_current_random_seed() or 0).choice(
                len(values), BGM_MAX_ROWS, replace=False)
            values = values[np.sort(rows)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._bgm_transformer.fit(values.reshape(-1, 1))
        self.valid_component_indicator = self._bgm_transformer.weights_ > self.weight_threshold

    def _transform(self: ClusterBasedNormalizer, data: object) -> object:
        values = FloatFormatter._transform(self, data)
        model_missing_values = None
        if values.ndim > 1:
            values, model_missing_values = values[:, 0], values[:, 1]
        values = values.reshape((len(values), 1))
        valid = self.valid_component_indicator
        means = self._bgm_transformer.means_.reshape((1, self.max_clusters))[:, valid]
        stds = np.sqrt(self._bgm_transformer.covariances_).reshape((1, self.max_clusters))
        stds = stds[:, valid]
        normalized_values = (values - means) / (self.STD_MULTIPLIER * stds)
        probabilities = self._bgm_transformer.predict_proba(values)[:, valid] + 1e-6
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        cumulative = np.cumsum(probabilities, axis=1)
        draws = np.random.random_sample((len(values), 1))
        selected = np.minimum((cumulative < draws).sum(axis=1), valid.sum() - 1)
        normalized = np.clip(normalized_values[np.arange(len(values)), selected], -0.99, 0.99)
        rows = [normalized, selected]
        if self.null_transformer and self.null_transformer.models_missing_values():
            rows.append(model_missing_values)
        return np.stack(rows, axis=1)

    ClusterBasedNormalizer._fit = _fit
    ClusterBasedNormalizer._transform = _transform


def _patch_ctgan_sample_data() -> None:
    """Draw CTGAN's real rows for a batch in one step instead of one per row.

    ctgan picks, for each row of a batch, a random training row holding the conditioned
    category with ``np.random.choice`` in a Python loop: about a tenth of an epoch on a
    CPU. The rows of each (column, category) are laid out once in one array, so a batch is
    one ``randint`` and one gather. Same distribution: uniform among the matching rows.
    """
    import weakref

    import numpy as np
    from ctgan.data_sampler import DataSampler

    original = DataSampler.sample_data
    # Kept beside the sampler, not on it, so saved models do not grow by a row index.
    layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _layout(self: DataSampler) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        layout = layouts.get(self)
        if layout is None:
            widest = max(len(categories) for categories in self._rid_by_cat_cols)
            starts = np.zeros((len(self._rid_by_cat_cols), widest), dtype=np.int64)
            sizes = np.zeros_like(starts)
            parts, offset = [], 0
            for column, categories in enumerate(self._rid_by_cat_cols):
                for category, rows in enumerate(categories):
                    starts[column, category], sizes[column, category] = offset, len(rows)
                    parts.append(np.asarray(rows, dtype=np.int64))
                    offset += len(rows)
            layout = (np.concatenate(parts), starts, sizes)
            layouts[self] = layout
        return layout

    def sample_data(self: DataSampler, data: np.ndarray, n: int, col: object,
                    opt: object) -> np.ndarray:
        if col is None or not self._rid_by_cat_cols:
            return original(self, data, n, col, opt)
        rows, starts, sizes = _layout(self)
        col, opt = np.asarray(col), np.asarray(opt)
        picks = np.random.randint(0, sizes[col, opt])  # a sampled category always has rows
        return data[rows[starts[col, opt] + picks]]

    DataSampler.sample_data = sample_data


# The training loop below is ctgan 0.12.1's CTGAN.fit (pinned in requirements.txt) with
# the studio's changes marked. Another ctgan version keeps its own loop: the copy would
# silently drop whatever that version changed.
CTGAN_LOOP_VERSION = "0.12.1"


def _patch_ctgan_critic_step() -> None:
    """Install the copied loop: item 7 above, and the optional generator average."""
    import ctgan
    from ctgan.synthesizers import ctgan as ctgan_module

    if ctgan.__version__ != CTGAN_LOOP_VERSION:
        return
    fit = _ctgan_fit()
    fit._studio_original = ctgan_module.CTGAN.fit  # for the test that compares the two
    ctgan_module.CTGAN.fit = fit


# Set on the model (class) by the studio's trainer; 0 keeps ctgan's behaviour.
GENERATOR_AVERAGE_ATTRIBUTE = "_studio_generator_average"


class _GeneratorAverage:
    """An exponential moving average of a generator's weights (and batch-norm statistics).

    GAN training swings from step to step, so the last step's generator is a noisy pick;
    the average over the last few hundred steps is steadier and samples better (Yazici et
    al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019). On a
    10,000 x 20 table, CTGAN Balanced went from quality 0.80 to 0.85 with the same training.
    """

    def __init__(self, generator: object, decay: float) -> None:
        self.decay = decay
        # state_dict() tensors share memory with the live weights and statistics, which the
        # optimiser and batch norm update in place: pair them once, not on every step.
        self.pairs = [(value.clone(), value) for value in generator.state_dict().values()
                      if value.dtype.is_floating_point]

    def update(self) -> None:
        for average, live in self.pairs:
            average.lerp_(live, 1 - self.decay)

    def install(self) -> None:
        """Give the generator the averaged weights (the end of training, however it ends)."""
        for average, live in self.pairs:
            live.copy_(average)


def _ctgan_fit():  # noqa: C901, PLR0915 - a faithful copy of the library's loop
    import numpy as np
    import pandas as pd
    import torch
    from ctgan.data_sampler import DataSampler
    from ctgan.data_transformer import DataTransformer
    from ctgan.synthesizers._utils import _format_score
    from ctgan.synthesizers.base import random_state
    from ctgan.synthesizers.ctgan import Discriminator, Generator
    from torch import optim
    from tqdm import tqdm

    @random_state
    def fit(self, train_data, discrete_columns=(), epochs=None):  # noqa: ANN001, ANN202
        self._validate_discrete_columns(train_data, discrete_columns)
        self._validate_null_data(train_data, discrete_columns)
        if epochs is None:
            epochs = self._epochs
        else:
            warnings.warn(
                "`epochs` argument in `fit` method has been deprecated and will be removed "
                "in a future version. Please pass `epochs` to the constructor instead",
                DeprecationWarning, stacklevel=2)

        self._transformer = DataTransformer()
        self._transformer.fit(train_data, discrete_columns)
        train_data = self._transformer.transform(train_data)
        self._data_sampler = DataSampler(
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
        # Studio option (not in ctgan): sample from an average of the generator's weights.
        decay = float(getattr(self, GENERATOR_AVERAGE_ATTRIBUTE, 0.0) or 0.0)
        average = _GeneratorAverage(self._generator, decay) if decay > 0 else None
        # The studio's per-epoch hook may end training early (time limit, plateau): the
        # average is installed however the loop ends.
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

                        # The one change: the critic step only updates the critic.
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
                        # The gradient penalty differentiates the critic at points between real
                        # and fake rows: they must still require a gradient.
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
        finally:
            if average is not None:
                average.install()

    return fit


class ActivationLayout:
    """Where CTGAN's generator output has ``tanh`` values and softmax blocks, as indices.

    Attributes:
        tanh_columns: Output columns that get ``tanh``.
        softmax_columns: Output columns inside softmax blocks, block after block.
        padded: ``[blocks, widest]`` positions into ``softmax_columns``; a shorter block's
            padding points one past the end, at a column that is always ``-inf``.
        unpadded: For each softmax column, its position in the flattened ``padded``.
    """

    def __init__(self, output_info_list: list) -> None:
        import torch

        tanh, blocks, start = [], [], 0
        for column_info in output_info_list:
            for span in column_info:
                if span.activation_fn == "tanh":
                    tanh.extend(range(start, start + span.dim))
                elif span.activation_fn == "softmax":
                    blocks.append(list(range(start, start + span.dim)))
                else:
                    raise ValueError(f"Unexpected activation function {span.activation_fn}.")
                start += span.dim
        widest = max((len(block) for block in blocks), default=0)
        softmax = [column for block in blocks for column in block]
        padded, unpadded, position = [], [], 0
        for number, block in enumerate(blocks):
            padded.append(list(range(position, position + len(block)))
                          + [len(softmax)] * (widest - len(block)))
            unpadded.extend(number * widest + offset for offset in range(len(block)))
            position += len(block)
        self.tanh_columns = torch.tensor(tanh, dtype=torch.long)
        self.softmax_columns = torch.tensor(softmax, dtype=torch.long)
        self.padded = torch.tensor(padded, dtype=torch.long).reshape(len(blocks), widest)
        self.unpadded = torch.tensor(unpadded, dtype=torch.long)

    def activate(self, data: object, gumbels: object, tau: float) -> object:
        """``tanh`` on numeric values; ``softmax((logits + gumbels) / tau)`` per block.

        ``gumbels`` holds one Gumbel(0, 1) draw per softmax column (``softmax_columns``).
        """
        import torch

        rows, device = data.shape[0], data.device
        tanh, softmax = self.tanh_columns.to(device), self.softmax_columns.to(device)
        out = data.new_zeros(data.shape)
        if len(tanh):
            out = out.index_copy(1, tanh, torch.tanh(data[:, tanh]))
        if len(softmax):
            scaled = (data[:, softmax] + gumbels) / tau
            scaled = torch.cat([scaled, scaled.new_full((rows, 1), float("-inf"))], dim=1)
            blocks = scaled[:, self.padded.to(device)].softmax(dim=-1).reshape(rows, -1)
            out = out.index_copy(1, softmax, blocks[:, self.unpadded.to(device)])
        return out


def _patch_ctgan_activation() -> None:
    """One noise draw and one padded softmax for all of CTGAN's category blocks (item 8)."""
    import weakref

    import torch
    from ctgan.synthesizers.ctgan import CTGAN

    # Beside the transformer, not on it, so saved models are unchanged.
    layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _apply_activate(self: CTGAN, data: torch.Tensor) -> torch.Tensor:
        layout = layouts.get(self._transformer)
        if layout is None:
            layout = layouts[self._transformer] = ActivationLayout(
                self._transformer.output_info_list)
        shape = (data.shape[0], len(layout.softmax_columns))
        for _ in range(10):  # as ctgan: redraw the rare noise that makes a NaN
            # Gumbel(0, 1) for all blocks at once, as -log(-log(U)): the same law as torch's
            # -log(Exponential), and a third of the cost (``exponential_`` is slow on CPU).
            uniform = torch.rand(shape, dtype=data.dtype, device=data.device)
            gumbels = -torch.log(-torch.log(uniform))
            out = layout.activate(data, gumbels, tau=0.2)
            if not torch.isnan(out).any():
                return out
        raise ValueError("gumbel_softmax returning NaN.")

    _apply_activate._studio_original = CTGAN._apply_activate
    CTGAN._apply_activate = _apply_activate
