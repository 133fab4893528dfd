"""Empirical column shapes for the Gaussian Copula (core/engine/marginals.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from core.data.schema import TABLE_NAME
from core.engine.catalogue import build_synthesizer, resolve_params
from core.engine.marginals import DISCRETE_MAX_VALUES, KNOTS, EmpiricalUnivariate


def _counts(rng: np.random.Generator, size: int) -> np.ndarray:
    """Support calls: mostly 0, some 1 and 2, a few more (a shape no smooth curve has)."""
    return rng.choice([0, 1, 2, 3, 6], size=size, p=[0.55, 0.25, 0.12, 0.05, 0.03])


def _bimodal(rng: np.random.Generator, size: int) -> np.ndarray:
    """Monthly charges: one bump per internet plan."""
    plan = rng.random(size) < 0.4
    return np.where(plan, rng.normal(25, 3, size), rng.normal(90, 8, size))


def test_a_count_column_comes_back_with_its_exact_values_and_shares():
    rng = np.random.default_rng(0)
    real = _counts(rng, 4_000)
    marginal = EmpiricalUnivariate(random_state=1)
    marginal.fit(real)
    assert marginal.discrete
    drawn = marginal.sample(40_000)
    assert set(np.unique(drawn)) == {0, 1, 2, 3, 6}
    for value in (0, 1, 2, 3, 6):
        assert np.mean(drawn == value) == pytest.approx(np.mean(real == value), abs=0.01)


def test_a_two_bump_column_keeps_both_bumps_and_new_values():
    rng = np.random.default_rng(1)
    real = _bimodal(rng, 5_000)
    marginal = EmpiricalUnivariate(random_state=2)
    marginal.fit(real)
    assert not marginal.discrete
    drawn = marginal.sample(5_000)
    assert ks_2samp(real, drawn).statistic < 0.04
    assert np.mean((drawn > 40) & (drawn < 60)) < 0.02  # the valley between bumps stays empty
    assert np.isin(drawn, real).mean() < 0.05  # interpolated, not copied
    assert drawn.min() >= real.min() and drawn.max() <= real.max()


def test_cdf_and_inverse_agree_and_ties_sit_in_the_middle_of_their_share():
    marginal = EmpiricalUnivariate()
    marginal.fit(np.array([0.0] * 60 + [1.0] * 40))
    assert marginal.cdf(np.array([0.0, 1.0])) == pytest.approx([0.3, 0.8])
    assert list(marginal.ppf(np.array([0.1, 0.59, 0.61, 0.99]))) == [0.0, 0.0, 1.0, 1.0]

    continuous = EmpiricalUnivariate()
    continuous.fit(np.random.default_rng(3).gamma(2.0, 10.0, 20_000))
    grid = np.linspace(0.01, 0.99, 99)
    assert continuous.cdf(continuous.ppf(grid)) == pytest.approx(grid, abs=2e-3)


def test_model_size_is_bounded_whatever_the_row_count():
    marginal = EmpiricalUnivariate()
    marginal.fit(np.random.default_rng(4).normal(size=300_000))
    assert marginal.values.size == KNOTS
    few = EmpiricalUnivariate()
    few.fit(np.arange(DISCRETE_MAX_VALUES + 1, dtype=float))
    assert not few.discrete


def test_a_constant_or_empty_column_does_not_break_fitting():
    constant = EmpiricalUnivariate()
    constant.fit(np.full(50, 7.0))
    assert set(constant.sample(10)) == {7.0}
    missing = EmpiricalUnivariate()
    missing.fit(np.array([np.nan, 1.0, 2.0, np.nan, 2.0]))
    assert set(np.unique(missing.sample(200))) == {1.0, 2.0}


def _table(rows: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    churned = rng.random(rows) < 0.25
    calls = np.where(churned, _counts(rng, rows) + 1, _counts(rng, rows))
    return pd.DataFrame({"support_calls": calls, "monthly_charges": _bimodal(rng, rows),
                         "churned": churned})


def _metadata(frame: pd.DataFrame):
    from sdv.metadata import Metadata

    return Metadata.load_from_dict({"tables": {TABLE_NAME: {"columns": {
        "support_calls": {"sdtype": "numerical"},
        "monthly_charges": {"sdtype": "numerical"},
        "churned": {"sdtype": "boolean"}}}}})


@pytest.mark.parametrize("per_class", [False, True])
def test_balanced_gaussian_copula_keeps_count_and_bump_shapes(per_class):
    frame = _table()
    params = resolve_params("gaussian_copula", "balanced", {"per_class": per_class})
    assert params["default_distribution"] == "empirical"
    synthesizer = build_synthesizer("gaussian_copula", _metadata(frame), params, use_gpu=False,
                                    class_column="churned" if per_class else None)
    synthesizer.fit({TABLE_NAME: frame})
    synthesizer = pickle.loads(pickle.dumps(synthesizer))  # models are stored pickled
    sample = synthesizer.sample(3_000)[TABLE_NAME]
    real_shares = frame["support_calls"].value_counts(normalize=True)
    synthetic_shares = sample["support_calls"].value_counts(normalize=True)
    assert set(synthetic_shares.index) <= set(real_shares.index)
    assert (synthetic_shares.reindex(real_shares.index, fill_value=0) - real_shares).abs().max() \
        < 0.03
    assert ks_2samp(frame["monthly_charges"], sample["monthly_charges"]).statistic < 0.05


def test_beta_smooths_a_count_column_that_empirical_keeps():
    """Why Balanced changed: the same table with SDV's beta curves loses the zeros' share."""
    frame = _table()
    shares = {}
    for distribution in ("beta", "empirical"):
        params = resolve_params("gaussian_copula", "quick",
                                {"default_distribution": distribution})
        synthesizer = build_synthesizer("gaussian_copula", _metadata(frame), params,
                                        use_gpu=False)
        synthesizer.fit({TABLE_NAME: frame})
        sample = synthesizer.sample(3_000)[TABLE_NAME]
        shares[distribution] = abs((sample["support_calls"] == 0).mean()
                                   - (frame["support_calls"] == 0).mean())
    assert shares["empirical"] < 0.03 < shares["beta"]
