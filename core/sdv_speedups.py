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
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache

__all__ = ["apply"]

_applied = threading.Event()
_lock = threading.Lock()


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
