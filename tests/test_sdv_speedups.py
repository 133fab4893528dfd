"""The studio's replacements for slow SDV/rdt paths keep what the library computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rdt.transformers.numerical import ClusterBasedNormalizer

from core import sdv_speedups


def _three_modes(rows: int = 9_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    share = rows // 9
    values = np.concatenate([rng.normal(0, 1, 6 * share), rng.normal(20, 0.5, 2 * share),
                             rng.normal(60, 2, share)])
    return pd.DataFrame({"x": rng.permutation(values)})


def _fit_transform(frame: pd.DataFrame, seed: int) -> tuple[ClusterBasedNormalizer, pd.DataFrame]:
    np.random.seed(seed)
    normalizer = ClusterBasedNormalizer(max_clusters=10, missing_value_generation=None)
    normalizer.fit(frame, "x")
    return normalizer, normalizer.transform(frame)


def test_mode_normalisation_finds_the_modes_and_round_trips_exactly() -> None:
    sdv_speedups.apply()
    frame = _three_modes()
    normalizer, encoded = _fit_transform(frame, seed=1)
    components = encoded["x.component"].to_numpy().astype(int)
    means = normalizer._bgm_transformer.means_.ravel()[normalizer.valid_component_indicator]
    # Each row is assigned a mode near its value (the clear-cut modes leave no doubt).
    for centre in (20, 60):
        near = (frame["x"] - centre).abs().to_numpy() < 1
        assert np.abs(means[components[near]] - centre).max() < 3
    assert (encoded["x.normalized"].abs() <= 0.99).all()
    restored = normalizer.reverse_transform(encoded)["x"]
    np.testing.assert_allclose(restored, frame["x"], atol=1e-9)


def test_mode_normalisation_is_reproducible() -> None:
    sdv_speedups.apply()
    rng = np.random.default_rng(3)  # overlapping modes: a row's mode is a random draw
    frame = pd.DataFrame({"x": np.concatenate([rng.normal(0, 1, 3000),
                                               rng.normal(3, 1, 3000)])})
    first = _fit_transform(frame, seed=5)[1]
    assert first["x.component"].nunique() > 1  # the draw matters here
    pd.testing.assert_frame_equal(first, _fit_transform(frame, seed=5)[1])


def test_the_one_column_mixture_is_the_one_rdt_would_fit() -> None:
    """The 'diag' shortcut finds the same modes, weights and widths as rdt's 'full' mixture."""
    import warnings

    from sklearn.mixture import BayesianGaussianMixture

    sdv_speedups.apply()
    frame = _three_modes(2_000)
    normalizer, _ = _fit_transform(frame, seed=3)
    ours = normalizer._bgm_transformer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = BayesianGaussianMixture(
            n_components=10, weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001, random_state=ours.random_state,
        ).fit(frame[["x"]].to_numpy())
    np.testing.assert_allclose(ours.weights_, full.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.means_, full.means_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.ravel(ours.covariances_), np.ravel(full.covariances_),
                               rtol=1e-6, atol=1e-9)


def test_ctgan_draws_real_rows_of_the_conditioned_category_uniformly() -> None:
    from ctgan.data_sampler import DataSampler
    from ctgan.data_transformer import SpanInfo

    sdv_speedups.apply()
    rng = np.random.default_rng(4)
    labels = rng.choice(3, size=3_000, p=[0.7, 0.25, 0.05])
    data = np.zeros((3_000, 4))
    data[:, 0] = np.arange(3_000)  # a continuous column holding the row number
    data[np.arange(3_000), 1 + labels] = 1.0
    sampler = DataSampler(data, [[SpanInfo(1, "tanh")], [SpanInfo(3, "softmax")]],
                          log_frequency=True)
    np.random.seed(5)
    col = np.zeros(30_000, dtype=int)
    opt = np.repeat([0, 1, 2], 10_000)
    drawn = sampler.sample_data(data, len(col), col, opt)
    for category in range(3):
        rows = drawn[opt == category]
        assert (rows[:, 1 + category] == 1).all()  # only rows of the asked category
        members = np.flatnonzero(labels == category)
        counts = np.bincount(rows[:, 0].astype(int), minlength=3_000)[members]
        # Uniform among them: every member can come up, none is favoured.
        assert counts.sum() == 10_000 and counts.max() < 10 * counts.mean() + 10
        if len(members) < 300:
            assert (counts > 0).all()
