"""What every fake domain shares: the column and domain records, seeded streams, the helpers.

Here live the building blocks of :func:`~core.data.datasets.generator.fake_dataset`: the
per-stream random generators and Faker pools, the planted relations (:func:`_mix`,
:func:`_threshold_model`), the rare class (:func:`_rare_class`), missing cells
(:func:`_with_missing`), and the planted outlier group and canary rows.
"""

from __future__ import annotations

import functools
import math
import numbers
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from core.errors import ParameterError
from core.progress import ProgressCallback

if TYPE_CHECKING:
    from core.data.datasets.generator import FakeSpec

_Kind = Literal["id", "int", "float", "bool", "category", "text", "date", "datetime"]


# --------------------------------------------------------------------------------------
# Domain schemas
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    kind: _Kind
    description: str
    pii: bool = False


# A builder returns the non-PII columns, and one maker per PII column (called only for the
# PII columns the spec asks for, each as its own progress step).
_Built = tuple[dict[str, np.ndarray], dict[str, Callable[[], np.ndarray]]]


@dataclass(frozen=True)
class _Domain:
    name: str
    target: str
    columns: tuple[_Column, ...]
    relations: tuple[str, ...]
    builder: Callable[[_Context], _Built]
    steps: int  # progress steps the builder reports before the PII columns

    @property
    def id_column(self) -> str:
        return next(c.name for c in self.columns if c.kind == "id")

    @property
    def pii(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)


# --------------------------------------------------------------------------------------
# Planted outliers and canaries
# --------------------------------------------------------------------------------------


#: Column scaled up in the planted outlier group, and by how much.
OUTLIER_COLUMNS: dict[str, tuple[str, float]] = {
    "loans": ("annual_income", 6.0),
    "transactions": ("amount", 8.0),
    "customers": ("monthly_charges", 4.0),
    "patients": ("bmi", 1.8),
}
MAX_OUTLIER_RATE = 0.2
MAX_CANARIES = 50


def outlier_rows(spec: FakeSpec) -> np.ndarray:
    """Positions of the planted outlier group (empty when ``outlier_rate`` is 0)."""
    count = int(round(spec.outlier_rate * spec.rows))
    if count == 0:
        return np.array([], dtype=np.int64)
    rng = _rng(spec.seed, f"{spec.domain}:outlier-rows")
    eligible = spec.rows - spec.canaries  # canaries stay distinct
    return np.sort(rng.choice(eligible, size=min(count, eligible), replace=False))


def canary_rows(spec: FakeSpec) -> np.ndarray:
    """Positions of the canary records: the last ``spec.canaries`` rows."""
    return np.arange(spec.rows - spec.canaries, spec.rows, dtype=np.int64)


def _plant_outliers(df: pd.DataFrame, spec: FakeSpec, rng: np.random.Generator) -> None:
    column, factor = OUTLIER_COLUMNS[spec.domain]
    rows = outlier_rows(spec)
    values = df[column].to_numpy(dtype=float, copy=True)
    values[rows] *= factor * rng.uniform(0.9, 1.1, size=len(rows))
    df[column] = values.round(2) if pd.api.types.is_float_dtype(df[column]) else values


def _plant_canaries(df: pd.DataFrame, spec: FakeSpec, domain: _Domain,
                    rng: np.random.Generator) -> None:
    """Make the last rows distinctive: every number just beyond its column's range."""
    positions = canary_rows(spec)
    base = rng.integers(0, spec.rows - spec.canaries, size=len(positions))
    numeric = [c.name for c in domain.columns
               if c.name not in (domain.id_column, domain.target) and not c.pii
               and pd.api.types.is_numeric_dtype(df[c.name])
               and not pd.api.types.is_bool_dtype(df[c.name])]
    for offset, (position, source) in enumerate(zip(positions, base, strict=True)):
        for column in df.columns:
            if column == domain.id_column:
                continue
            value = df.loc[source, column]
            if pd.isna(value):  # canaries are complete rows
                value = df[column].dropna().iloc[0]
            df.loc[position, column] = value
        for column in numeric:
            top = float(np.nanmax(df[column].to_numpy(dtype=float)[: spec.rows - spec.canaries]))
            unusual = top * (1.05 + 0.02 * offset) + 1  # just above the real range
            df.loc[position, column] = (round(unusual)
                                        if pd.api.types.is_integer_dtype(df[column])
                                        else round(unusual, 2))
        df.loc[position, domain.target] = True


# --------------------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------------------


class _Steps:
    """Counts steps and forwards them to a progress callback."""

    def __init__(self, progress: ProgressCallback, total: int) -> None:
        self._progress = progress
        self._total = total
        self._done = 0

    def __call__(self, message: str) -> None:
        fraction = min(self._done / self._total, 1.0)
        self._done += 1
        self._progress(fraction, f"{message} ({min(self._done, self._total)}/{self._total})")

    def finish(self) -> None:
        self._progress(1.0, "Done")


@dataclass
class _Context:
    """What a domain builder gets: the spec, the rows, progress steps and Faker pools."""

    spec: FakeSpec
    n: int
    steps: _Steps

    @property
    def r(self) -> float:
        return float(self.spec.correlation)

    def rng(self, stream: str) -> np.random.Generator:
        return _rng(self.spec.seed, f"{self.spec.domain}:{stream}")

    def pool(self, name: str, method: str, size: int) -> np.ndarray:
        """Return ``size`` values of ``faker.<method>()``, seeded by the spec and ``name``."""
        seed = _derived_seed(self.spec.seed, f"{self.spec.domain}:faker:{name}")
        return np.array(_faker_pool(seed, method, size), dtype=object)

    def pool_size(self, floor: int, cap: int) -> int:
        """A pool big enough for variety, small enough that Faker stays fast (~0.1 ms a call)."""
        return int(min(cap, max(floor, self.n // 4)))


@functools.lru_cache(maxsize=64)
def _faker_pool(seed: int, method: str, size: int) -> tuple[str, ...]:
    """Call Faker ``size`` times (cached: a pure function of its arguments)."""
    from faker import Faker  # heavy import, only when PII is asked for

    fake = Faker("en_US")
    fake.seed_instance(seed)
    make = getattr(fake, method)
    return tuple(make() for _ in range(size))


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator for one named group of columns."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def _derived_seed(seed: int, stream: str) -> int:
    state = np.random.SeedSequence([int(seed), zlib.crc32(stream.encode())]).generate_state(1)
    return int(state[0])


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_fraction(name: str, value: object, low: float, high: float) -> None:
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and low <= float(value) <= high
    )
    if not ok:
        raise ParameterError(
            f"{name} must be a number between {low:g} and {high:g} (got {value!r})."
        )


def _with_missing(
    values: np.ndarray | pd.Series, rng: np.random.Generator, rate: float
) -> pd.Series:
    series = pd.Series(values)
    mask = rng.random(len(series)) < rate
    if not mask.any():
        return series
    if series.dtype == bool:
        series = series.astype(object)
    return series.mask(mask)


def _standardize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def _mix(r: float, signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Blend a standard-normal signal with noise so the result correlates ``r`` with it."""
    r = min(max(r, 0.0), 1.0)
    return r * signal + math.sqrt(1.0 - r * r) * noise


def _rare_class(latent: np.ndarray, rate: float) -> np.ndarray:
    """Mark the ``rate`` share of rows with the highest latent score ``True``."""
    n = latent.shape[0]
    k = min(max(1, round(rate * n)), n - 1)
    flags = np.zeros(n, dtype=bool)
    flags[np.argpartition(-latent, k - 1)[:k]] = True
    return flags


def _threshold_model(
    rng: np.random.Generator, score: np.ndarray, strength: float, rate: float
) -> np.ndarray:
    """A logistic latent-variable model: ``strength`` log-odds per SD of ``score``."""
    latent = strength * _standardize(score) + rng.logistic(size=score.shape[0])
    return _rare_class(latent, rate)


def _choice(
    rng: np.random.Generator, labels: Sequence[str], probs: Sequence[float], n: int
) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    idx = rng.choice(len(labels), size=n, p=p / p.sum())
    return np.asarray(labels, dtype=object)[idx]


def _cut(z: np.ndarray, labels: Sequence[str], shares: Sequence[float]) -> np.ndarray:
    """Label rows by quantile bands of ``z`` (lowest ``shares[0]`` get ``labels[0]``...)."""
    edges = np.quantile(z, np.cumsum(shares)[:-1])
    return np.asarray(labels, dtype=object)[np.searchsorted(edges, z, side="right")]


def _dates(rng: np.random.Generator, start: str, end: str, n: int) -> np.ndarray:
    first = np.datetime64(start, "D")
    span = int((np.datetime64(end, "D") - first).astype(int)) + 1
    days = rng.integers(0, span, size=n)
    return (first + days.astype("timedelta64[D]")).astype("datetime64[ns]")
