"""Column shapes copied from the data: an empirical marginal for SDV's Gaussian Copula.

SDV's Gaussian Copula fits a named curve (normal, beta, ...) to every numeric column. Real
columns are often not such curves: a count of support calls is mostly 0, 1 and 2; a monthly
charge has one bump per internet plan. A beta curve smooths those away (on our customers
sample the support-call column scored 0.58 on SDMetrics' shape test). ``gaussian_kde``
follows any shape but compares every sampled value with every training row, which takes
minutes and gigabytes on large tables.

:class:`EmpiricalUnivariate` instead keeps the column's own distribution, bounded in size:

* a column with at most :data:`DISCRETE_MAX_VALUES` distinct values keeps each value with
  its exact share (sampling gives back only real values, in their real proportions);
* any other column keeps :data:`KNOTS` quantiles and interpolates linearly between them,
  so sampled values follow the real histogram without copying rows.

Both directions are ``np.interp``/``np.searchsorted`` on at most a few thousand points, so
fitting and sampling cost about what the normal curve costs, at any row count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from copulas.univariate.base import BoundedType, ParametricType, Univariate
from copulas.utils import validate_random_state

from core.engine.patches import load_libraries

__all__ = ["DISCRETE_MAX_VALUES", "EMPIRICAL", "KNOTS", "EmpiricalUnivariate",
           "gaussian_copula"]

#: The studio's name for this marginal in the ``default_distribution`` parameter.
EMPIRICAL = "empirical"
#: Columns with at most this many distinct values are sampled as exact values and shares.
DISCRETE_MAX_VALUES = 50
#: Quantiles kept of any other column (its size in the model, whatever the row count).
KNOTS = 1001


class EmpiricalUnivariate(Univariate):
    """A column's own distribution (see the module docstring)."""

    PARAMETRIC = ParametricType.NON_PARAMETRIC
    BOUNDED = BoundedType.BOUNDED

    def __init__(self, random_state: Any = None) -> None:
        # Not Univariate.__init__: that one selects candidate curves we do not use.
        self.random_state = validate_random_state(random_state)
        self.selection_sample_size = None
        self.values: np.ndarray = np.empty(0)
        self.cumulative: np.ndarray = np.empty(0)
        self.discrete = False

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any) -> None:
        """Learn the distribution of ``X`` (missing values are ignored)."""
        data = np.asarray(X, dtype=float).ravel()
        data = data[np.isfinite(data)]
        if data.size == 0:
            data = np.zeros(1)
        if self._check_constant_value(data):
            self.fitted = True
            return
        unique, counts = np.unique(data, return_counts=True)
        if unique.size <= DISCRETE_MAX_VALUES:
            self.discrete = True
            self.values = unique
            self.cumulative = np.cumsum(counts) / counts.sum()
        else:
            self.discrete = False
            probabilities = np.linspace(0.0, 1.0, min(KNOTS, data.size))
            self.values = np.quantile(data, probabilities)
            self.cumulative = probabilities
        self.fitted = True

    # ------------------------------------------------------------------ both directions

    def _anchors(self) -> tuple[np.ndarray, np.ndarray]:
        """Strictly increasing (value, probability) points for the CDF.

        A value that holds a block of probability (a discrete value, or a tie among the
        quantiles) maps to the middle of its block, the usual mid-rank, so its rows sit
        in the middle of their share of the bell curve.
        """
        if self.discrete:
            lower = np.concatenate(([0.0], self.cumulative[:-1]))
            return self.values, (lower + self.cumulative) / 2
        unique, first, counts = np.unique(self.values, return_index=True, return_counts=True)
        middle = (self.cumulative[first] + self.cumulative[first + counts - 1]) / 2
        return unique, middle

    def cumulative_distribution(self, X: Any) -> np.ndarray:
        """The share of the data at or below each value of ``X`` (mid-rank for ties)."""
        self.check_fit()
        values, probabilities = self._anchors()
        return np.interp(np.asarray(X, dtype=float), values, probabilities)

    def percent_point(self, U: Any) -> np.ndarray:
        """The value at each probability of ``U`` (the inverse of the CDF)."""
        self.check_fit()
        quantiles = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
        if self.discrete:
            index = np.searchsorted(self.cumulative, quantiles, side="left")
            return self.values[np.minimum(index, self.values.size - 1)]
        return np.interp(quantiles, self.cumulative, self.values)

    def probability_density(self, X: Any) -> np.ndarray:
        """A histogram density between the kept points (copulas asks for it rarely)."""
        self.check_fit()
        values, probabilities = self._anchors()
        slopes = np.diff(probabilities) / np.maximum(np.diff(values), 1e-12)
        points = np.asarray(X, dtype=float)
        index = np.clip(np.searchsorted(values, points, side="right") - 1, 0, slopes.size - 1)
        inside = (points >= values[0]) & (points <= values[-1])
        return np.where(inside, slopes[index], 0.0)

    def sample(self, n_samples: int = 1) -> np.ndarray:
        """Draw ``n_samples`` values."""
        self.check_fit()
        generator = self.random_state if self.random_state is not None else np.random
        return self.percent_point(generator.uniform(size=n_samples))

    # ------------------------------------------------------------------ parameters

    def _get_params(self) -> dict[str, Any]:
        return {"values": self.values.tolist(), "cumulative": self.cumulative.tolist(),
                "discrete": self.discrete}

    def _set_params(self, params: dict[str, Any]) -> None:
        self.values = np.asarray(params["values"], dtype=float)
        self.cumulative = np.asarray(params["cumulative"], dtype=float)
        self.discrete = bool(params["discrete"])


def gaussian_copula(metadata: Any, **kwargs: Any) -> Any:
    """SDV's ``GaussianCopulaSynthesizer``, also accepting ``default_distribution="empirical"``.

    SDV validates distribution names against its own list, so the synthesizer is built
    with ``beta`` and then told to use :class:`EmpiricalUnivariate` for every column.
    """
    load_libraries()
    from sdv.single_table import GaussianCopulaSynthesizer

    empirical = kwargs.get("default_distribution") == EMPIRICAL
    if empirical:
        kwargs = {**kwargs, "default_distribution": "beta"}
    synthesizer = GaussianCopulaSynthesizer(metadata, **kwargs)
    if empirical:
        synthesizer.default_distribution = EMPIRICAL
        synthesizer._default_distribution = EmpiricalUnivariate
    return synthesizer
