"""The studio's ctgan/rdt subclasses keep what the library computes; patches check versions."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from core.engine import patches
from core.engine.ctgan_parts import (
    ActivationLayout,
    BatchDataSampler,
    SampledClusterBasedNormalizer,
    SequentialDataTransformer,
)
from core.engine.studio_models import (
    STOPPED_AT_TIME_LIMIT,
    STOPPED_BY_CALLBACK,
    StudioCTGAN,
    StudioTVAE,
)


def _three_modes(rows: int = 9_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    share = rows // 9
    values = np.concatenate([rng.normal(0, 1, 6 * share), rng.normal(20, 0.5, 2 * share),
                             rng.normal(60, 2, share)])
    return pd.DataFrame({"x": rng.permutation(values)})


def _fit_transform(frame: pd.DataFrame, seed: int
                   ) -> tuple[SampledClusterBasedNormalizer, pd.DataFrame]:
    np.random.seed(seed)
    normalizer = SampledClusterBasedNormalizer(max_clusters=10, missing_value_generation=None)
    normalizer.fit(frame, "x")
    return normalizer, normalizer.transform(frame)


def test_mode_normalisation_finds_the_modes_and_round_trips_exactly() -> None:
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


def test_the_sequential_transform_gives_what_ctgans_process_pool_gives() -> None:
    from ctgan.data_transformer import DataTransformer

    frame = _mixed_frame(900)  # over 500 rows: ctgan would start its pool
    fitted = []
    for _ in range(2):
        np.random.seed(2)
        transformer = SequentialDataTransformer()
        transformer.fit(frame, ["kind"])
        fitted.append(transformer)
    assert isinstance(fitted[0]._column_transform_info_list[0].transform,
                      SampledClusterBasedNormalizer)
    ours = fitted[0].transform(frame)
    pool = DataTransformer._parallel_transform(fitted[1], frame,
                                               fitted[1]._column_transform_info_list)
    np.testing.assert_array_equal(ours, np.concatenate(pool, axis=1).astype(float))


def test_ctgan_draws_real_rows_of_the_conditioned_category_uniformly() -> None:
    from ctgan.data_transformer import SpanInfo

    rng = np.random.default_rng(4)
    labels = rng.choice(3, size=3_000, p=[0.7, 0.25, 0.05])
    data = np.zeros((3_000, 4))
    data[:, 0] = np.arange(3_000)  # a continuous column holding the row number
    data[np.arange(3_000), 1 + labels] = 1.0
    sampler = BatchDataSampler(data, [[SpanInfo(1, "tanh")], [SpanInfo(3, "softmax")]],
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
    # The row layout is a cache: a saved sampler does not carry it.
    import pickle

    assert pickle.loads(pickle.dumps(sampler))._row_layout is None


def _mixed_frame(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"amount": rng.lognormal(3, 1, rows),
                         "kind": rng.choice(["a", "b", "c"], rows, p=[0.7, 0.2, 0.1])})


def _train_ctgan(fit, frame: pd.DataFrame, discrete: list[str], epochs: int = 3,  # noqa: ANN001
                 **options) -> StudioCTGAN:  # noqa: ANN003
    model = StudioCTGAN(epochs=epochs, batch_size=60, pac=10, embedding_dim=16,
                        generator_dim=(32, 32), discriminator_dim=(32, 32), **options)
    model.set_random_state(7)
    fit(model, frame, discrete_columns=discrete)
    return model


@pytest.fixture
def ctgans_loop_on_the_studio_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """ctgan's own loops build the studio's transformer and sampler (as the copies do)."""
    from ctgan.synthesizers import ctgan as ctgan_module
    from ctgan.synthesizers import tvae as tvae_module

    monkeypatch.setattr(ctgan_module, "DataTransformer", SequentialDataTransformer)
    monkeypatch.setattr(ctgan_module, "DataSampler", BatchDataSampler)
    monkeypatch.setattr(tvae_module, "DataTransformer", SequentialDataTransformer)


@pytest.mark.usefixtures("ctgans_loop_on_the_studio_parts")
def test_ctgan_critic_step_without_autograd_trains_the_same_model() -> None:
    import torch
    from ctgan import CTGAN

    assert StudioCTGAN.fit is not CTGAN.fit  # the copy runs, not ctgan's loop
    frame = _mixed_frame().assign(score=np.random.default_rng(1).normal(0, 1, 300))
    # With a conditional vector, and without (no discrete column).
    for data, discrete in ((frame, ["kind"]), (frame[["amount", "score"]], [])):
        original = _train_ctgan(CTGAN.fit, data, discrete)
        studio = _train_ctgan(StudioCTGAN.fit, data, discrete)
        pd.testing.assert_frame_equal(original.loss_values, studio.loss_values)
        for before, after in zip(original._generator.state_dict().values(),
                                 studio._generator.state_dict().values(), strict=True):
            torch.testing.assert_close(before, after, rtol=1e-6, atol=1e-7)
        original.set_random_state(1)
        studio.set_random_state(1)
        pd.testing.assert_frame_equal(original.sample(50), studio.sample(50))


@pytest.mark.usefixtures("ctgans_loop_on_the_studio_parts")
def test_tvae_loop_trains_the_same_model_as_ctgans() -> None:
    import torch
    from ctgan import TVAE

    assert StudioTVAE.fit is not TVAE.fit
    models = []
    for fit in (TVAE.fit, StudioTVAE.fit):
        model = StudioTVAE(epochs=3, batch_size=60, embedding_dim=8, compress_dims=(16,),
                           decompress_dims=(16,))
        model.set_random_state(4)
        fit(model, _mixed_frame(), discrete_columns=["kind"])
        models.append(model)
    original, studio = models
    pd.testing.assert_frame_equal(original.loss_values, studio.loss_values)
    for before, after in zip(original.decoder.state_dict().values(),
                             studio.decoder.state_dict().values(), strict=True):
        torch.testing.assert_close(before, after)
    original.set_random_state(2)
    studio.set_random_state(2)
    pd.testing.assert_frame_equal(original.sample(40), studio.sample(40))


def test_ctgan_activation_in_one_step_matches_the_per_block_formula() -> None:
    import torch
    from ctgan.data_transformer import SpanInfo

    # A numeric column (value + 3 modes), a 4-category column, a 2-category column.
    info = [[SpanInfo(1, "tanh"), SpanInfo(3, "softmax")], [SpanInfo(4, "softmax")],
            [SpanInfo(2, "softmax")]]
    layout = ActivationLayout(info)
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

    assert StudioCTGAN._apply_activate is not CTGAN._apply_activate
    model = _train_ctgan(StudioCTGAN.fit, _mixed_frame(), ["kind"])
    sample = model.sample(500)
    assert set(sample["kind"]) <= {"a", "b", "c"} and sample["kind"].nunique() >= 2
    assert sample["amount"].notna().all()


def test_ctgan_activation_noise_is_gumbel_so_argmax_follows_the_logits() -> None:
    # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits). Wrong noise
    # (another law, or none) would make the shares differ from 60/30/10.
    import torch
    from ctgan.data_transformer import SpanInfo

    class Transformer:
        output_info_list = [[SpanInfo(3, "softmax")]]

    model = StudioCTGAN()
    model._transformer = Transformer()
    torch.manual_seed(0)
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1])).repeat(40_000, 1)
    picks = model._apply_activate(logits).argmax(dim=1)
    shares = torch.bincount(picks, minlength=3).double() / len(picks)
    torch.testing.assert_close(shares, torch.tensor([0.6, 0.3, 0.1], dtype=torch.double),
                               atol=0.01, rtol=0)


def _generator_weights(model):  # noqa: ANN001, ANN202
    return {name: value.clone() for name, value in model._generator.state_dict().items()}


def test_generator_average_changes_what_is_sampled_not_how_it_trains() -> None:
    import torch

    frame = _mixed_frame()
    plain = _train_ctgan(StudioCTGAN.fit, frame, ["kind"])
    averaged = _train_ctgan(StudioCTGAN.fit, frame, ["kind"], generator_average=0.9)
    # Same training: the averaging only watches the steps.
    pd.testing.assert_frame_equal(plain.loss_values, averaged.loss_values)
    # A vanishing decay keeps just the last step: the plain generator.
    last = _train_ctgan(StudioCTGAN.fit, frame, ["kind"], generator_average=1e-12)
    for name, value in _generator_weights(plain).items():
        torch.testing.assert_close(_generator_weights(last)[name], value)
    # A real average ends somewhere else, and still samples valid rows.
    differs = [name for name, value in _generator_weights(plain).items()
               if value.is_floating_point()
               and not torch.allclose(_generator_weights(averaged)[name], value)]
    assert differs
    assert set(averaged.sample(200)["kind"]) <= {"a", "b", "c"}


def test_an_epoch_callback_ends_training_normally_with_the_average_installed() -> None:
    import torch

    frame = _mixed_frame()
    two_epochs = _train_ctgan(StudioCTGAN.fit, frame, ["kind"], epochs=2, generator_average=0.9)
    seen = []

    def on_epoch(losses: pd.DataFrame) -> bool:
        seen.append(len(losses))
        return len(losses) == 2

    stopped = _train_ctgan(StudioCTGAN.fit, frame, ["kind"], epochs=5, generator_average=0.9,
                           on_epoch=on_epoch)
    assert seen == [1, 2] and stopped.stopped_by == STOPPED_BY_CALLBACK
    for name, value in _generator_weights(two_epochs).items():
        torch.testing.assert_close(_generator_weights(stopped)[name], value)
    assert two_epochs.stopped_by is None


def test_a_time_limit_ends_training_after_the_epoch_that_would_pass_it() -> None:
    import time

    # A limit already used up: the first epoch runs, then training ends.
    model = _train_ctgan(StudioCTGAN.fit, _mixed_frame(), ["kind"], epochs=50, time_limit=5,
                         time_limit_start=time.monotonic() - 10)
    assert len(model.loss_values) == 1 and model.stopped_by == STOPPED_AT_TIME_LIMIT
    tvae = StudioTVAE(epochs=50, batch_size=60, time_limit=5,
                      time_limit_start=time.monotonic() - 10)
    tvae.fit(_mixed_frame(), discrete_columns=["kind"])
    assert tvae.loss_values["Epoch"].nunique() == 1 and tvae.stopped_by == STOPPED_AT_TIME_LIMIT


def test_a_cancel_raises_out_of_the_fit() -> None:
    from core.errors import TrainingCancelled

    polls = []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) == 2

    with pytest.raises(TrainingCancelled):
        _train_ctgan(StudioCTGAN.fit, _mixed_frame(), ["kind"], epochs=50,
                     should_cancel=should_cancel)
    assert len(polls) == 2  # polled after each epoch, stopped at the second


# --------------------------------------------------------------------------- patches


def test_a_library_of_another_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches.metadata, "version",
                        lambda library: {"ctgan": "0.13.0"}.get(library, "2.0.0"))
    with pytest.raises(patches.LibraryVersionError, match=r"ctgan 0\.13\.0 is installed.*"
                       r"needs ctgan 0\.12\.1"):
        patches.require_version("ctgan")
    patches.require_version("sdv")  # 2.0.0 is in SDV's pinned 2.0 series
    monkeypatch.setattr(patches.metadata, "version", lambda library: "2.1.0")
    with pytest.raises(patches.LibraryVersionError, match=r"sdv 2\.1\.0 .* sdv 2\.0"):
        patches.require_version("sdv")
    # Before anything is patched: a process with the wrong ctgan does not start to train.
    monkeypatch.setattr(patches, "_applied", threading.Event())
    with pytest.raises(patches.LibraryVersionError):
        patches.load_libraries()


def test_the_installed_libraries_are_the_pinned_ones() -> None:
    from pathlib import Path

    requirements = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
    for library in ("ctgan", "rdt"):
        patches.require_version(library)
        assert f"{library}=={patches.PINNED[library][0]}" in requirements.splitlines()
    patches.require_version("sdv")


def test_the_faker_lookup_answers_as_rdt_does() -> None:
    import rdt.transformers.pii.anonymization as anonymization
    import sdv.metadata._single_table as single_table

    patches.load_libraries()
    assert single_table.is_faker_function is anonymization.is_faker_function
    assert anonymization.is_faker_function("email") and anonymization.is_faker_function("ssn")
    assert not anonymization.is_faker_function("not_a_faker_provider")
