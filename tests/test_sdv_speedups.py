"""The studio's replacements for slow SDV/rdt paths keep what the library computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdt.transformers.numerical import ClusterBasedNormalizer

from core.engine import patches as sdv_speedups


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


def _mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"amount": rng.lognormal(3, 1, 300),
                         "kind": rng.choice(["a", "b", "c"], 300, p=[0.7, 0.2, 0.1])})


def _train_ctgan(fit, frame: pd.DataFrame, discrete: list[str], epochs: int = 3,  # noqa: ANN001
                 average: float = 0.0, model_class: type | None = None):  # noqa: ANN202
    from ctgan import CTGAN

    model = (model_class or CTGAN)(epochs=epochs, batch_size=60, pac=10, embedding_dim=16,
                                   generator_dim=(32, 32), discriminator_dim=(32, 32))
    setattr(model, sdv_speedups.GENERATOR_AVERAGE_ATTRIBUTE, average)
    model.set_random_state(7)
    fit(model, frame, discrete_columns=discrete)
    return model


def test_ctgan_critic_step_without_autograd_trains_the_same_model() -> None:
    import torch
    from ctgan import CTGAN

    sdv_speedups.apply()
    # requirements.txt pins the ctgan whose loop is copied; another version is not patched.
    assert hasattr(CTGAN.fit, "_studio_original"), "ctgan is not the pinned version"
    frame = _mixed_frame().assign(score=np.random.default_rng(1).normal(0, 1, 300))
    # With a conditional vector, and without (no discrete column).
    for data, discrete in ((frame, ["kind"]), (frame[["amount", "score"]], [])):
        original = _train_ctgan(CTGAN.fit._studio_original, data, discrete)
        patched = _train_ctgan(CTGAN.fit, data, discrete)
        pd.testing.assert_frame_equal(original.loss_values, patched.loss_values)
        for before, after in zip(original._generator.state_dict().values(),
                                 patched._generator.state_dict().values(), strict=True):
            torch.testing.assert_close(before, after, rtol=1e-6, atol=1e-7)
        original.set_random_state(1)
        patched.set_random_state(1)
        pd.testing.assert_frame_equal(original.sample(50), patched.sample(50))


def test_ctgan_activation_in_one_step_matches_the_per_block_formula() -> None:
    import torch
    from ctgan.data_transformer import SpanInfo

    # A numeric column (value + 3 modes), a 4-category column, a 2-category column.
    info = [[SpanInfo(1, "tanh"), SpanInfo(3, "softmax")], [SpanInfo(4, "softmax")],
            [SpanInfo(2, "softmax")]]
    layout = sdv_speedups.ActivationLayout(info)
    generator = torch.Generator().manual_seed(0)
    data = torch.randn(64, 10, generator=generator, requires_grad=True)
    gumbels = -torch.empty(64, 9).exponential_(generator=generator).log()
    out = layout.activate(data, gumbels, tau=0.2)

    reference = torch.cat([
        torch.tanh(data[:, 0:1]),
        ((data[:, 1:4] + gumbels[:, 0:3]) / 0.2).softmax(dim=1),
        ((data[:, 4:8] + gumbels[:, 3:7]) / 0.2).softmax(dim=1),
        ((data[:, 8:10] + gumbels[:, 7:9]) / 0.2).softmax(dim=1),
    ], dim=1)
    torch.testing.assert_close(out, reference)
    # Every block sums to one; gradients reach the generator's output unchanged.
    torch.testing.assert_close(out[:, 4:8].sum(dim=1), torch.ones(64))
    weights = torch.randn(64, 10, generator=generator)
    (grad,) = torch.autograd.grad((out * weights).sum(), data)
    (expected,) = torch.autograd.grad((reference * weights).sum(), data)
    torch.testing.assert_close(grad, expected)


def test_ctgan_with_the_one_step_activation_samples_real_categories() -> None:
    from ctgan import CTGAN

    sdv_speedups.apply()
    assert hasattr(CTGAN._apply_activate, "_studio_original")
    model = _train_ctgan(CTGAN.fit, _mixed_frame(), ["kind"])
    sample = model.sample(500)
    assert set(sample["kind"]) <= {"a", "b", "c"} and sample["kind"].nunique() >= 2
    assert sample["amount"].notna().all()


def test_ctgan_activation_noise_is_gumbel_so_argmax_follows_the_logits() -> None:
    # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits). Wrong noise
    # (another law, or none) would make the shares differ from 60/30/10.
    import torch
    from ctgan.data_transformer import SpanInfo
    from ctgan.synthesizers.ctgan import CTGAN

    sdv_speedups.apply()

    class Transformer:
        output_info_list = [[SpanInfo(3, "softmax")]]

    class Model:
        _transformer = Transformer()

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1])).repeat(40_000, 1)
    picks = CTGAN._apply_activate(Model(), logits).argmax(dim=1)
    shares = torch.bincount(picks, minlength=3).double() / len(picks)
    torch.testing.assert_close(shares, torch.tensor([0.6, 0.3, 0.1], dtype=torch.double),
                               atol=0.01, rtol=0)



def _generator_weights(model):  # noqa: ANN001, ANN202
    return {name: value.clone() for name, value in model._generator.state_dict().items()}


def test_generator_average_changes_what_is_sampled_not_how_it_trains() -> None:
    import torch
    from ctgan import CTGAN

    sdv_speedups.apply()
    frame = _mixed_frame()
    plain = _train_ctgan(CTGAN.fit, frame, ["kind"])
    averaged = _train_ctgan(CTGAN.fit, frame, ["kind"], average=0.9)
    # Same training: the averaging only watches the steps.
    pd.testing.assert_frame_equal(plain.loss_values, averaged.loss_values)
    # A vanishing decay keeps just the last step: the plain generator.
    last = _train_ctgan(CTGAN.fit, frame, ["kind"], average=1e-12)
    for name, value in _generator_weights(plain).items():
        torch.testing.assert_close(_generator_weights(last)[name], value)
    # A real average ends somewhere else, and still samples valid rows.
    differs = [name for name, value in _generator_weights(plain).items()
               if value.is_floating_point()
               and not torch.allclose(_generator_weights(averaged)[name], value)]
    assert differs
    assert set(averaged.sample(200)["kind"]) <= {"a", "b", "c"}


def test_generator_average_is_installed_when_the_studio_stops_training_early() -> None:
    import torch
    from ctgan import CTGAN

    sdv_speedups.apply()

    class Stop(Exception):
        pass

    class StopsAfterTwoEpochs(CTGAN):
        # How core.engine.training ends a fit at its time limit: raising from the epoch report.
        def _get_loss_values(self):  # noqa: ANN202
            return self.__dict__.get("loss_values")

        def _set_loss_values(self, value) -> None:  # noqa: ANN001
            self.__dict__["loss_values"] = value
            if value is not None and len(value) == 2:
                raise Stop

        loss_values = property(_get_loss_values, _set_loss_values)

    frame = _mixed_frame()
    two_epochs = _train_ctgan(CTGAN.fit, frame, ["kind"], epochs=2, average=0.9)
    models = []

    def fit_and_keep(model, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        models.append(model)
        CTGAN.fit(model, *args, **kwargs)

    with pytest.raises(Stop):
        _train_ctgan(fit_and_keep, frame, ["kind"], epochs=5, average=0.9,
                     model_class=StopsAfterTwoEpochs)
    for name, value in _generator_weights(two_epochs).items():
        torch.testing.assert_close(_generator_weights(models[0])[name], value)
