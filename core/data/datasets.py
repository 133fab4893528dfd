"""Fake tabular datasets made with Faker and numpy, and the sample datasets shipped with the app.

Two things live here:

* :func:`fake_dataset` builds a realistic table for one of four domains (:data:`DOMAINS`):
  credit applicants (``loans``), card payments (``transactions``), telecom customers
  (``customers``) and hospital patients (``patients``). Each table mixes numbers,
  categories, booleans, a date and PII, has relations planted between its columns whose
  strength follows :attr:`FakeSpec.correlation`, a rare target class whose share is
  :attr:`FakeSpec.rare_rate`, and optional missing cells.
* :func:`list_sample_datasets` / :func:`load_sample_dataset` give the CSV files in
  ``sample_data/`` (written by ``scripts/make_sample_data.py`` from the same generator).

The generator is deterministic: the same :class:`FakeSpec` always gives the same frame.
Every group of columns draws from its own numpy stream derived from the seed, so choosing
fewer PII columns does not change the other columns. Faker is called only a few thousand
times to fill small pools of real-looking names, streets, cities and companies; rows are
then combined from those pools with numpy, which is what makes a million rows fast.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from core.data.fake_values import card_numbers as _card_numbers
from core.data.fake_values import digit_block as _digit_block
from core.data.fake_values import fixed_width as _fixed_width
from core.data.fake_values import phone_numbers as _phones
from core.data.fake_values import ssns as _ssns
from core.errors import DataLoadError, ParameterError
from core.progress import ProgressCallback, null_progress
from core.store.settings import get_settings

__all__ = [
    "MAX_CANARIES",
    "MAX_OUTLIER_RATE",
    "OUTLIER_COLUMNS",
    "canary_rows",
    "outlier_rows",
    "DOMAINS",
    "MAX_ROWS",
    "MIN_ROWS",
    "FakeSpec",
    "SampleDataset",
    "column_descriptions",
    "fake_dataset",
    "id_column_for",
    "list_sample_datasets",
    "load_sample_dataset",
    "pii_columns_for",
    "planted_relations_for",
    "read_generated_csv",
    "target_column_for",
]

DOMAINS: tuple[str, ...] = ("customers", "loans", "transactions", "patients")
"""The domain templates :func:`fake_dataset` knows."""

MIN_ROWS = 100
"""Fewest rows :func:`fake_dataset` makes."""

MAX_ROWS = 1_000_000
"""Most rows :func:`fake_dataset` makes."""

_RARE_RATE_RANGE = (0.001, 0.5)
_MISSING_RATE_RANGE = (0.0, 0.5)

_Kind = Literal["id", "int", "float", "bool", "category", "text", "date", "datetime"]


# --------------------------------------------------------------------------------------
# Public configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeSpec:
    """What :func:`fake_dataset` should make (immutable, so it can key caches).

    Attributes:
        domain: One of :data:`DOMAINS`.
        rows: Number of rows, 100 to 1,000,000.
        pii_columns: PII columns to include; ``None`` means all PII columns of the domain
            (see :func:`pii_columns_for`), ``()`` means none.
        correlation: Strength of the planted relations, 0 (columns independent) to 1.
        rare_rate: Share of the rare class of the domain's target (for example the default
            rate of ``loans``), 0.001 to 0.5.
        missing_rate: Share of cells set missing in every column except the id and the
            target, 0 to 0.5.
        seed: Random seed (a non-negative integer); the same spec always gives the same rows.
        outlier_rate: Share of rows in a planted outlier group (the domain's key amount
            several times larger than usual), 0 to 0.2.
        canaries: Number of "canary" records (0 to 50): distinctive rows at the end of the
            table, complete and unlike any other, whose reappearance in synthetic data
            shows memorisation (see :mod:`core.evaluation.planted`).
    """

    domain: str = "loans"
    rows: int = 2000
    pii_columns: tuple[str, ...] | None = None
    correlation: float = 0.7
    rare_rate: float = 0.05
    missing_rate: float = 0.0
    seed: int = 42
    outlier_rate: float = 0.0
    canaries: int = 0

    def validate(self) -> None:
        """Check every field.

        Raises:
            ParameterError: A field is out of range; the message names the field and the
                allowed values.
        """
        if self.domain not in DOMAINS:
            raise ParameterError(
                f"domain must be one of {', '.join(DOMAINS)} (got {self.domain!r})."
            )
        if not _is_int(self.rows) or not MIN_ROWS <= self.rows <= MAX_ROWS:
            raise ParameterError(
                f"rows must be a whole number between {MIN_ROWS:,} and {MAX_ROWS:,} "
                f"(got {self.rows!r})."
            )
        if self.pii_columns is not None:
            if isinstance(self.pii_columns, str) or not isinstance(self.pii_columns, Sequence):
                raise ParameterError(
                    "pii_columns must be a tuple of column names, () for none or None for all "
                    f"(got {self.pii_columns!r})."
                )
            allowed = pii_columns_for(self.domain)
            unknown = [c for c in self.pii_columns if c not in allowed]
            if unknown:
                raise ParameterError(
                    f"pii_columns must be PII columns of the {self.domain!r} domain "
                    f"({', '.join(allowed)}); {', '.join(map(repr, unknown))} is not one."
                )
        _check_fraction("correlation", self.correlation, 0.0, 1.0)
        _check_fraction("rare_rate", self.rare_rate, *_RARE_RATE_RANGE)
        _check_fraction("missing_rate", self.missing_rate, *_MISSING_RATE_RANGE)
        if not _is_int(self.seed) or self.seed < 0:
            raise ParameterError(f"seed must be a non-negative whole number (got {self.seed!r}).")
        _check_fraction("outlier_rate", self.outlier_rate, 0.0, MAX_OUTLIER_RATE)
        if not _is_int(self.canaries) or not 0 <= self.canaries <= MAX_CANARIES:
            raise ParameterError(
                f"canaries must be a whole number between 0 and {MAX_CANARIES} "
                f"(got {self.canaries!r})."
            )
        if self.canaries >= self.rows // 10:
            raise ParameterError(
                f"canaries ({self.canaries}) must be under a tenth of the rows ({self.rows:,})."
            )


@dataclass(frozen=True)
class SampleDataset:
    """A CSV file shipped in ``sample_data/``.

    Attributes:
        key: Short identifier passed to :func:`load_sample_dataset`.
        title: Human title for pickers.
        description: One or two sentences on what the rows are and what to predict.
        filename: File name inside the sample data directory.
        target: The column to predict (a boolean with a rare ``True`` class).
        rows: Number of rows in the file.
        license: License of the file.
        spec: The generator settings that wrote the file (``None`` if it was not generated).
    """

    key: str
    title: str
    description: str
    filename: str
    target: str
    rows: int
    license: str
    spec: FakeSpec | None = field(default=None, compare=False)


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


def _domain(name: str) -> _Domain:
    try:
        return _DOMAIN_TABLE[name]
    except KeyError:
        raise ParameterError(
            f"domain must be one of {', '.join(DOMAINS)} (got {name!r})."
        ) from None


def pii_columns_for(domain: str) -> tuple[str, ...]:
    """Return the PII columns a domain can include, in table order.

    Args:
        domain: One of :data:`DOMAINS`.

    Returns:
        The PII column names, e.g. ``("name", "ssn", "email", "phone", "address")`` for loans.

    Raises:
        ParameterError: The domain is unknown.
    """
    return _domain(domain).pii


def target_column_for(domain: str) -> str:
    """Return the boolean target column of a domain.

    Args:
        domain: One of :data:`DOMAINS`.

    Returns:
        ``"defaulted"`` (loans), ``"is_fraud"`` (transactions), ``"churned"`` (customers) or
        ``"readmitted"`` (patients).

    Raises:
        ParameterError: The domain is unknown.
    """
    return _domain(domain).target


def id_column_for(domain: str) -> str:
    """Return the row id column of a domain (never PII, never missing).

    Args:
        domain: One of :data:`DOMAINS`.

    Returns:
        For example ``"application_id"`` for loans.

    Raises:
        ParameterError: The domain is unknown.
    """
    return _domain(domain).id_column


def column_descriptions(domain: str) -> dict[str, str]:
    """Return a data dictionary for a domain: column name to a one-line description.

    Args:
        domain: One of :data:`DOMAINS`.

    Returns:
        Every column the domain can have (PII included), in table order.

    Raises:
        ParameterError: The domain is unknown.
    """
    return {c.name: c.description for c in _domain(domain).columns}


def planted_relations_for(domain: str) -> tuple[str, ...]:
    """Describe, in plain words, the relations :func:`fake_dataset` plants in a domain.

    Args:
        domain: One of :data:`DOMAINS`.

    Returns:
        One sentence per relation.

    Raises:
        ParameterError: The domain is unknown.
    """
    return _domain(domain).relations


# --------------------------------------------------------------------------------------
# Generation entry point
# --------------------------------------------------------------------------------------


def fake_dataset(spec: FakeSpec, progress: ProgressCallback | None = None) -> pd.DataFrame:
    """Generate a realistic fake table for ``spec.domain``.

    Args:
        spec: What to make; see :class:`FakeSpec`.
        progress: Optional ``progress(fraction, message)``, called with fractions rising
            to 1.0 and messages like ``"Generating names (3/9)"``.

    Returns:
        A frame with ``spec.rows`` rows: the id column first, the target last. Integers
        are ``int64``, flags ``bool``, categories and PII ``object`` strings, dates
        ``datetime64[ns]``. Columns that received missing cells become ``float64``
        (integers), ``object`` (flags, holding ``True``/``False``/``NaN``) or keep their
        dtype with ``NaN``/``NaT``.

    Raises:
        ParameterError: A field of ``spec`` is invalid.
    """
    spec.validate()
    domain = _domain(spec.domain)
    wanted_pii = domain.pii if spec.pii_columns is None else tuple(spec.pii_columns)
    # the builder's steps, one per PII column, missing values, assembly
    steps = _Steps(progress or null_progress, domain.steps + len(set(wanted_pii)) + 2)
    ctx = _Context(spec=spec, n=int(spec.rows), steps=steps)
    data, pii_makers = domain.builder(ctx)
    for name in domain.pii:
        if name in wanted_pii:
            steps(f"Generating {_PII_LABELS[name]}")
            data[name] = pii_makers[name]()

    steps("Adding missing values")
    columns: dict[str, np.ndarray | pd.Series] = {}
    for column in domain.columns:
        if column.pii and column.name not in wanted_pii:
            continue
        values = data[column.name]
        if column.name not in (domain.id_column, domain.target) and spec.missing_rate > 0:
            values = _with_missing(values, ctx.rng(f"missing:{column.name}"), spec.missing_rate)
        columns[column.name] = values

    steps("Assembling the table")
    df = pd.DataFrame(columns)
    if spec.outlier_rate > 0:
        _plant_outliers(df, spec, ctx.rng("outliers"))
    if spec.canaries:
        _plant_canaries(df, spec, domain, ctx.rng("canaries"))
    steps.finish()
    return df


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


# --- PII helpers ------------------------------------------------------------------------

_PII_LABELS = {
    "name": "names",
    "ssn": "social security numbers",
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "address": "street addresses",
    "card_number": "card numbers",
    "cardholder_name": "cardholder names",
    "merchant": "merchant names",
}

_EMAIL_CLEAN = re.compile(r"[^a-z]")


@dataclass
class _People:
    """Per-row name parts drawn from Faker pools (index arrays into small pools)."""

    first: np.ndarray
    middle: np.ndarray
    last: np.ndarray
    first_key: np.ndarray
    last_key: np.ndarray


def _people(ctx: _Context, n: int) -> _People:
    rng = ctx.rng("people")
    firsts = ctx.pool("first_names", "first_name", ctx.pool_size(200, 3000))
    lasts = ctx.pool("last_names", "last_name", ctx.pool_size(200, 3000))
    fi = rng.integers(0, firsts.size, size=n)
    li = rng.integers(0, lasts.size, size=n)
    letters = np.array([f"{c}. " for c in "ABCDEFGHIJKLMNOPRSTW"] + [""], dtype=object)
    mid_idx = np.where(rng.random(n) < 0.35, rng.integers(0, letters.size - 1, size=n), -1)
    first_keys = np.array([_EMAIL_CLEAN.sub("", s.lower()) for s in firsts], dtype=object)
    last_keys = np.array([_EMAIL_CLEAN.sub("", s.lower()) for s in lasts], dtype=object)
    return _People(
        first=firsts[fi],
        middle=letters[mid_idx],
        last=lasts[li],
        first_key=first_keys[fi],
        last_key=last_keys[li],
    )


def _full_names(people: _People) -> np.ndarray:
    return np.array(
        [f"{f} {m}{la}" for f, m, la in zip(people.first, people.middle, people.last, strict=True)],
        dtype=object,
    )


def _emails(ctx: _Context, people: _People) -> np.ndarray:
    n = people.first.size
    rng = ctx.rng("email")
    free = ctx.pool("free_domains", "free_email_domain", 60)
    company = ctx.pool("company_domains", "domain_name", ctx.pool_size(100, 800))
    domains = np.where(
        rng.random(n) < 0.8,
        free[rng.integers(0, free.size, size=n)],
        company[rng.integers(0, company.size, size=n)],
    )
    pattern = rng.integers(0, 4, size=n)
    number = np.where(rng.random(n) < 0.75, rng.integers(1, 10_000, size=n), -1)
    out = []
    for f, la, p, num, dom in zip(
        people.first_key, people.last_key, pattern, number, domains, strict=True
    ):
        suffix = "" if num < 0 else str(num)
        if p == 0:
            local = f"{f}.{la}{suffix}"
        elif p == 1:
            local = f"{f[:1]}{la}{suffix}"
        elif p == 2:
            local = f"{f}{la}{suffix}"
        else:
            local = f"{f}_{la[:1]}{suffix}"
        out.append(f"{local}@{dom}")
    return np.array(out, dtype=object)


def _addresses(ctx: _Context, n: int, states: np.ndarray | None = None) -> np.ndarray:
    rng = ctx.rng("address")
    streets = ctx.pool("streets", "street_name", ctx.pool_size(200, 1500))
    cities = ctx.pool("cities", "city", ctx.pool_size(200, 1200))
    if states is None:
        states = _choice(rng, _STATE_CODES, _STATE_WEIGHTS, n)
    numbers_ = rng.integers(1, 10_000, size=n)
    numbers_ = np.where(rng.random(n) < 0.5, numbers_ // 10 + 1, numbers_)
    apartment_pool = np.array([""] + [f" Apt. {i}" for i in range(1, 1000)], dtype=object)
    apartments = apartment_pool[
        np.where(rng.random(n) < 0.2, rng.integers(1, apartment_pool.size, size=n), 0)
    ]
    zips = _fixed_width(n, _digit_block(rng.integers(1001, 99_951, size=n), 5))
    street = streets[rng.integers(0, streets.size, size=n)]
    city = cities[rng.integers(0, cities.size, size=n)]
    return np.array(
        [
            f"{num} {st}{apt}, {ci}, {sta} {zi}"
            for num, st, apt, ci, sta, zi in zip(
                numbers_, street, apartments, city, states, zips, strict=True
            )
        ],
        dtype=object,
    )


# US states and DC, weighted by population (2020 census, millions).
_STATES_POP = {
    "CA": 39.5, "TX": 29.1, "FL": 21.5, "NY": 20.2, "PA": 13.0, "IL": 12.8, "OH": 11.8,
    "GA": 10.7, "NC": 10.4, "MI": 10.1, "NJ": 9.3, "VA": 8.6, "WA": 7.7, "AZ": 7.2,
    "MA": 7.0, "TN": 6.9, "IN": 6.8, "MD": 6.2, "MO": 6.2, "WI": 5.9, "CO": 5.8, "MN": 5.7,
    "SC": 5.1, "AL": 5.0, "LA": 4.7, "KY": 4.5, "OR": 4.2, "OK": 4.0, "CT": 3.6, "UT": 3.3,
    "IA": 3.2, "NV": 3.1, "AR": 3.0, "MS": 3.0, "KS": 2.9, "NM": 2.1, "NE": 2.0, "ID": 1.8,
    "WV": 1.8, "HI": 1.5, "NH": 1.4, "ME": 1.4, "RI": 1.1, "MT": 1.1, "DE": 1.0, "SD": 0.9,
    "ND": 0.8, "AK": 0.7, "DC": 0.7, "VT": 0.6, "WY": 0.6,
}  # fmt: skip
_STATE_CODES = tuple(_STATES_POP)
_STATE_WEIGHTS = tuple(_STATES_POP.values())


# --------------------------------------------------------------------------------------
# loans
# --------------------------------------------------------------------------------------

_LOAN_PURPOSES = {
    "debt_consolidation": 0.38, "credit_card": 0.20, "home_improvement": 0.12, "car": 0.09,
    "small_business": 0.05, "medical": 0.05, "education": 0.04, "vacation": 0.03, "other": 0.04,
}  # fmt: skip
_RISKY_PURPOSES = ("small_business", "medical", "vacation")


def _build_loans(ctx: _Context) -> _Built:
    n, r, steps = ctx.n, ctx.r, ctx.steps
    rng = ctx.rng("loans")
    out: dict[str, np.ndarray] = {"application_id": np.arange(1, n + 1, dtype=np.int64)}

    steps("Generating applicants' age and income")
    age = np.clip(np.round(21 + rng.gamma(4.0, 5.5, size=n)), 21, 80).astype(np.int64)
    z_age = _standardize(age)
    employment = np.floor(rng.beta(2.0, 2.5, size=n) * (age - 18)).astype(np.int64)
    z_inc = _mix(0.45 * r, _standardize(0.6 * z_age + 0.4 * _standardize(employment)),
                 rng.standard_normal(n))  # fmt: skip
    income = np.clip(np.round(np.exp(np.log(58_000) + 0.55 * z_inc), -2), 12_000, 2_000_000)
    out.update(age=age, annual_income=income.astype(np.int64), employment_years=employment)

    steps("Generating credit scores and loans")
    z_cs = _mix(r, z_inc, rng.standard_normal(n))
    credit = np.clip(np.round(690 + 75 * z_cs), 300, 850).astype(np.int64)
    z_loan = _mix(r, z_inc, rng.standard_normal(n))
    loan = np.clip(np.round(np.exp(np.log(14_000) + 0.7 * z_loan) / 250) * 250, 1_000, 250_000)
    purpose = _choice(rng, tuple(_LOAN_PURPOSES), tuple(_LOAN_PURPOSES.values()), n)
    z_home = _mix(0.8 * r, _standardize(0.7 * z_age + 0.5 * z_inc), rng.standard_normal(n))
    home = _cut(z_home, ("rent", "mortgage", "own"), (0.42, 0.46, 0.12))
    state = _choice(rng, _STATE_CODES, _STATE_WEIGHTS, n)
    out.update(
        credit_score=credit,
        loan_amount=loan.astype(np.int64),
        loan_purpose=purpose,
        home_ownership=home,
        state=state,
        application_date=_dates(rng, "2019-01-01", "2024-12-31", n),
    )

    steps("Planting the default risk")
    debt_to_income = _standardize(np.log(loan / income))
    risk = (
        -1.0 * _standardize(credit)
        + 0.55 * debt_to_income
        - 0.35 * z_inc
        + 0.6 * np.isin(purpose, _RISKY_PURPOSES)
        - 0.2 * _standardize(employment)
    )
    out["defaulted"] = _threshold_model(rng, risk, 3.0 * r, ctx.spec.rare_rate)

    people = functools.cache(lambda: _people(ctx, n))
    return out, {
        "name": lambda: _full_names(people()),
        "ssn": lambda: _ssns(ctx.rng("ssn"), n),
        "email": lambda: _emails(ctx, people()),
        "phone": lambda: _phones(ctx.rng("phone"), n),
        "address": lambda: _addresses(ctx, n, states=state),
    }


# --------------------------------------------------------------------------------------
# transactions
# --------------------------------------------------------------------------------------

# category: (share of legit payments, share of fraud payments, median amount, online share)
_MERCHANT_CATEGORIES = {
    "grocery": (0.22, 0.04, 45.0, 0.08),
    "gas_station": (0.13, 0.06, 40.0, 0.0),
    "restaurant": (0.17, 0.03, 32.0, 0.10),
    "online_retail": (0.13, 0.27, 60.0, 0.97),
    "electronics": (0.05, 0.24, 180.0, 0.45),
    "travel": (0.04, 0.16, 350.0, 0.70),
    "entertainment": (0.08, 0.06, 45.0, 0.40),
    "health": (0.06, 0.02, 70.0, 0.10),
    "apparel": (0.07, 0.08, 65.0, 0.35),
    "home_improvement": (0.05, 0.04, 90.0, 0.20),
}
_COUNTRIES = ("US", "CA", "MX", "GB", "DE", "FR", "BR", "IN", "CN", "JP")
_COUNTRY_LEGIT = (0.94, 0.02, 0.01, 0.008, 0.005, 0.005, 0.003, 0.003, 0.003, 0.003)
_COUNTRY_FRAUD = (0.40, 0.06, 0.08, 0.08, 0.06, 0.06, 0.08, 0.06, 0.10, 0.02)
# Relative weight of each hour of the day (0-23) for legit and fraudulent payments.
_HOUR_LEGIT = np.array([
    1, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 3, 4.5, 5, 5.5, 6.5,
    8, 7, 6, 6, 6.5, 7.5, 8, 7.5, 6, 4.5, 3, 2,
])  # fmt: skip
_HOUR_FRAUD = np.array([
    6, 7, 7.5, 7, 6, 4, 2, 1.5, 1, 1, 1, 1,
    1.2, 1.2, 1, 1, 1, 1.2, 1.5, 2, 2.5, 3, 4, 5,
])  # fmt: skip


def _build_transactions(ctx: _Context) -> _Built:
    n, s, steps = ctx.n, ctx.r, ctx.steps
    rng = ctx.rng("transactions")
    out: dict[str, np.ndarray] = {"transaction_id": np.arange(1, n + 1, dtype=np.int64)}

    steps("Choosing fraudulent payments")
    fraud = np.zeros(n, dtype=bool)
    k = min(max(1, round(ctx.spec.rare_rate * n)), n - 1)
    fraud[rng.choice(n, size=k, replace=False)] = True
    # Each fraud row follows the fraud signature with probability `s`, else looks legit.
    signature = fraud & (rng.random(n) < s)

    steps("Generating cardholders")
    n_holders = max(20, n // 6)
    holder = rng.integers(0, n_holders, size=n)
    holder_age = np.clip(np.round(18 + rng.gamma(4.0, 6.5, size=n_holders)), 18, 90)
    out["customer_age"] = holder_age[holder].astype(np.int64)

    steps("Generating amounts, merchants and places")
    cats = tuple(_MERCHANT_CATEGORIES)
    legit_p = np.array([v[0] for v in _MERCHANT_CATEGORIES.values()])
    fraud_p = np.array([v[1] for v in _MERCHANT_CATEGORIES.values()])
    cat_idx = rng.choice(len(cats), size=n, p=legit_p / legit_p.sum())
    cat_idx[signature] = rng.choice(len(cats), size=int(signature.sum()), p=fraud_p / fraud_p.sum())
    medians = np.array([v[2] for v in _MERCHANT_CATEGORIES.values()])[cat_idx]
    online_p = np.array([v[3] for v in _MERCHANT_CATEGORIES.values()])[cat_idx]
    online_p = np.where(signature, np.maximum(online_p, 0.85), online_p)
    is_online = rng.random(n) < online_p
    amount = medians * np.exp(0.8 * rng.standard_normal(n))
    amount = np.where(signature, amount * np.exp(1.3 + 0.4 * rng.standard_normal(n)), amount)
    amount = np.clip(np.round(amount, 2), 0.5, 25_000.0)

    country = _choice(rng, _COUNTRIES, _COUNTRY_LEGIT, n)
    country[signature] = _choice(rng, _COUNTRIES, _COUNTRY_FRAUD, int(signature.sum()))
    distance = np.exp(np.log(8.0) + 1.0 * rng.standard_normal(n))
    distance = np.where(signature, distance * np.exp(2.5 + 0.5 * rng.standard_normal(n)), distance)
    distance = np.where(country != "US", distance + rng.uniform(800, 9_000, size=n), distance)
    out.update(
        amount=amount,
        merchant_category=np.asarray(cats, dtype=object)[cat_idx],
        country=country,
        is_online=is_online,
        distance_from_home=np.round(distance, 1),
    )

    steps("Generating timestamps")
    hour = rng.choice(24, size=n, p=_HOUR_LEGIT / _HOUR_LEGIT.sum())
    hour[signature] = rng.choice(24, size=int(signature.sum()), p=_HOUR_FRAUD / _HOUR_FRAUD.sum())
    seconds = rng.integers(0, 3600, size=n)
    day = _dates(rng, "2024-01-01", "2024-12-31", n)
    out["transaction_time"] = day + (hour * 3600 + seconds).astype("timedelta64[s]")
    out["hour"] = hour.astype(np.int64)
    out["is_fraud"] = fraud

    def merchants() -> np.ndarray:
        per_category = max(5, min(150, n // 200))
        companies = ctx.pool("companies", "company", per_category * len(cats))
        slot = ctx.rng("merchant").integers(0, per_category, size=n)
        return companies[cat_idx * per_category + slot]

    return out, {
        "card_number": lambda: _card_numbers(ctx.rng("card_number"), n_holders)[holder],
        "cardholder_name": lambda: _full_names(_people(ctx, n_holders))[holder],
        "merchant": merchants,
    }


# --------------------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------------------

_SNAPSHOT = np.datetime64("2024-12-31", "D")
_PAYMENT_METHODS = {
    "electronic_check": 0.34, "mailed_check": 0.23, "bank_transfer": 0.22, "credit_card": 0.21
}  # fmt: skip
_INTERNET = {"fiber_optic": (0.44, 82.0), "dsl": (0.34, 55.0), "none": (0.22, 22.0)}


def _build_customers(ctx: _Context) -> _Built:
    n, r, steps = ctx.n, ctx.r, ctx.steps
    rng = ctx.rng("customers")
    out: dict[str, np.ndarray] = {"customer_id": np.arange(1, n + 1, dtype=np.int64)}

    steps("Generating tenure and contracts")
    age = np.clip(np.round(18 + rng.gamma(5.0, 5.5, size=n)), 18, 85).astype(np.int64)
    short = rng.random(n) < 0.35
    tenure = np.where(
        short,
        np.ceil(rng.exponential(6.0, size=n)),
        rng.integers(1, 73, size=n),
    )
    tenure = np.clip(tenure, 1, 72).astype(np.int64)
    z_ten = _standardize(tenure)
    contract = _cut(
        _mix(r, z_ten, rng.standard_normal(n)),
        ("month-to-month", "one_year", "two_year"),
        (0.55, 0.24, 0.21),
    )
    signup = _SNAPSHOT - (np.round(tenure * 30.44) + rng.integers(0, 28, size=n)).astype(
        "timedelta64[D]"
    )
    out.update(
        age=age,
        tenure_months=tenure,
        contract=contract,
        signup_date=signup.astype("datetime64[ns]"),
    )

    steps("Generating charges and billing")
    services = tuple(_INTERNET)
    svc_idx = rng.choice(len(services), size=n, p=[v[0] for v in _INTERNET.values()])
    base = np.array([v[1] for v in _INTERNET.values()])[svc_idx]
    monthly = np.clip(np.round(base + rng.normal(0, 12, size=n), 2), 18.25, 118.75)
    expected = tenure * monthly
    shuffled = rng.permutation(expected)
    total = expected**r * shuffled ** (1.0 - r) * np.exp(rng.normal(0, 0.03, size=n))
    payment = _choice(rng, tuple(_PAYMENT_METHODS), tuple(_PAYMENT_METHODS.values()), n)
    calls = rng.poisson(1.3, size=n).astype(np.int64)
    out.update(
        internet_service=np.asarray(services, dtype=object)[svc_idx],
        monthly_charges=monthly,
        total_charges=np.round(total, 2),
        payment_method=payment,
        paperless_billing=rng.random(n) < 0.6,
        num_support_calls=calls,
    )

    steps("Planting churn")
    risk = (
        -1.0 * z_ten
        + 0.7 * _standardize(calls)
        + 0.9 * (contract == "month-to-month")
        + 0.3 * (payment == "electronic_check")
        + 0.3 * _standardize(monthly)
    )
    out["churned"] = _threshold_model(rng, risk, 3.0 * r, ctx.spec.rare_rate)

    people = functools.cache(lambda: _people(ctx, n))
    return out, {
        "name": lambda: _full_names(people()),
        "email": lambda: _emails(ctx, people()),
        "phone": lambda: _phones(ctx.rng("phone"), n),
        "address": lambda: _addresses(ctx, n),
    }


# --------------------------------------------------------------------------------------
# patients
# --------------------------------------------------------------------------------------


def _build_patients(ctx: _Context) -> _Built:
    n, r, steps = ctx.n, ctx.r, ctx.steps
    rng = ctx.rng("patients")
    out: dict[str, np.ndarray] = {"patient_id": np.arange(1, n + 1, dtype=np.int64)}

    steps("Generating age, sex and body mass")
    age = np.clip(np.round(rng.normal(58, 17, size=n)), 18, 95).astype(np.int64)
    z_age = _standardize(age)
    sex = _choice(rng, ("F", "M"), (0.52, 0.48), n)
    bmi = np.clip(np.round(rng.normal(28.5, 5.5, size=n), 1), 15.0, 60.0)
    z_bmi = _standardize(bmi)
    out.update(age=age, sex=sex, bmi=bmi)

    steps("Generating blood pressure, cholesterol and history")
    z_bp = _mix(r, _standardize(0.6 * z_age + 0.5 * z_bmi), rng.standard_normal(n))
    bp = np.clip(np.round(128 + 17 * z_bp), 85, 220).astype(np.int64)
    z_chol = _mix(0.5 * r, _standardize(0.4 * z_age + 0.5 * z_bmi), rng.standard_normal(n))
    cholesterol = np.clip(np.round(200 + 38 * z_chol), 110, 400).astype(np.int64)
    diabetic = _threshold_model(rng, 0.6 * z_bmi + 0.5 * z_age, 2.5 * r, 0.15)
    smoker = rng.random(n) < 0.17
    visits = rng.poisson(1.4 * np.exp(r * (0.45 * z_age + 0.6 * diabetic - 0.1))).astype(np.int64)
    stay = np.clip(np.round(rng.gamma(2.0, 2.2 * np.exp(0.25 * r * z_age))), 1, 60)
    out.update(
        systolic_bp=bp,
        cholesterol=cholesterol,
        diabetic=diabetic,
        smoker=smoker,
        num_prior_visits=visits,
        length_of_stay=stay.astype(np.int64),
        admission_date=_dates(rng, "2020-01-01", "2024-12-31", n),
    )

    steps("Planting readmissions")
    risk = (
        0.5 * z_age
        + 0.7 * _standardize(visits)
        + 0.5 * diabetic
        + 0.3 * _standardize(bp)
        + 0.3 * _standardize(stay)
        + 0.2 * smoker
    )
    out["readmitted"] = _threshold_model(rng, risk, 3.0 * r, ctx.spec.rare_rate)

    people = functools.cache(lambda: _people(ctx, n))
    return out, {
        "name": lambda: _full_names(people()),
        "ssn": lambda: _ssns(ctx.rng("ssn"), n),
        "email": lambda: _emails(ctx, people()),
        "address": lambda: _addresses(ctx, n),
    }


# --------------------------------------------------------------------------------------
# Domain table
# --------------------------------------------------------------------------------------

_C = _Column
_DOMAIN_TABLE: dict[str, _Domain] = {
    "loans": _Domain(
        name="loans",
        target="defaulted",
        columns=(
            _C("application_id", "id", "Row id of the loan application (1, 2, ...)."),
            _C("name", "text", "Applicant's full name (fictitious).", pii=True),
            _C("ssn", "text", "US Social Security number, format 123-45-6789 (fake).", pii=True),
            _C("email", "text", "Applicant's e-mail address (fake).", pii=True),
            _C("phone", "text", "US phone number, format (555) 123-4567 (fake).", pii=True),
            _C("address", "text", "Street address, city, state and ZIP (fake).", pii=True),
            _C("age", "int", "Applicant's age in years, 21-80."),
            _C("annual_income", "int", "Yearly income in US dollars (rounded to 100)."),
            _C("employment_years", "int", "Years with the current employer."),
            _C("credit_score", "int", "FICO-like credit score, 300-850."),
            _C("loan_amount", "int", "Amount asked for in US dollars (multiple of 250)."),
            _C("loan_purpose", "category", "What the loan is for (debt_consolidation, car...)."),
            _C("home_ownership", "category", "rent, mortgage or own."),
            _C("state", "category", "Two-letter US state code (not PII: a region)."),
            _C("application_date", "date", "Day the application was filed, 2019-2024."),
            _C("defaulted", "bool", "Target: the applicant later defaulted (rare class)."),
        ),
        relations=(
            "Higher annual_income goes with a higher credit_score (Pearson ~0.9 x correlation).",
            "loan_amount grows with annual_income.",
            "defaulted is more likely with a low credit_score, a high loan_amount / "
            "annual_income ratio, low income, short employment and small_business, medical "
            "or vacation purposes.",
            "Older, richer applicants own or have a mortgage more often than they rent.",
        ),
        builder=_build_loans,
        steps=3,
    ),
    "transactions": _Domain(
        name="transactions",
        target="is_fraud",
        columns=(
            _C("transaction_id", "id", "Row id of the card payment (1, 2, ...)."),
            _C("card_number", "text", "16-digit card number with a valid Luhn digit.", pii=True),
            _C("cardholder_name", "text", "Name on the card (fictitious).", pii=True),
            _C("merchant", "text", "Merchant name (fake company).", pii=True),
            _C("amount", "float", "Payment amount in US dollars."),
            _C("merchant_category", "category", "Kind of merchant (grocery, travel...)."),
            _C("hour", "int", "Hour of day of the payment, 0-23."),
            _C("country", "category", "ISO country code where the payment was made."),
            _C("is_online", "bool", "The card was not present (online payment)."),
            _C("distance_from_home", "float", "Kilometres between the payment and home."),
            _C("customer_age", "int", "Cardholder's age in years."),
            _C("transaction_time", "datetime", "Date and time of the payment in 2024."),
            _C("is_fraud", "bool", "Target: the payment was fraudulent (rare class)."),
        ),
        relations=(
            "Fraudulent payments are several times larger, happen at night, far from home, "
            "abroad, online and at electronics, online-retail or travel merchants; the share "
            "of fraud rows showing this signature equals correlation.",
            "amount depends on merchant_category; distance_from_home is large abroad.",
            "hour is the hour of transaction_time; each cardholder (about 6 payments each) "
            "keeps one card_number and age.",
        ),
        builder=_build_transactions,
        steps=4,
    ),
    "customers": _Domain(
        name="customers",
        target="churned",
        columns=(
            _C("customer_id", "id", "Row id of the subscriber (1, 2, ...)."),
            _C("name", "text", "Customer's full name (fictitious).", pii=True),
            _C("email", "text", "Customer's e-mail address (fake).", pii=True),
            _C("phone", "text", "US phone number (fake).", pii=True),
            _C("address", "text", "Street address, city, state and ZIP (fake).", pii=True),
            _C("age", "int", "Customer's age in years."),
            _C("tenure_months", "int", "Months as a customer, 1-72."),
            _C("monthly_charges", "float", "Current monthly bill in US dollars."),
            _C("total_charges", "float", "Billed so far in US dollars."),
            _C("contract", "category", "month-to-month, one_year or two_year."),
            _C("payment_method", "category", "electronic_check, mailed_check, ..."),
            _C("internet_service", "category", "fiber_optic, dsl or none."),
            _C("num_support_calls", "int", "Calls to support in the last year."),
            _C("paperless_billing", "bool", "Bills are e-mailed, not posted."),
            _C("signup_date", "date", "Day the customer signed up (tenure before 2024-12-31)."),
            _C("churned", "bool", "Target: the customer left (rare class)."),
        ),
        relations=(
            "total_charges is about tenure_months x monthly_charges (exactly so at "
            "correlation 1, unrelated at 0).",
            "Longer tenure goes with longer contracts.",
            "churned is more likely with short tenure, many support calls, a month-to-month "
            "contract, electronic checks and high monthly charges.",
            "monthly_charges depends on internet_service; signup_date follows tenure_months.",
        ),
        builder=_build_customers,
        steps=3,
    ),
    "patients": _Domain(
        name="patients",
        target="readmitted",
        columns=(
            _C("patient_id", "id", "Row id of the hospital stay (1, 2, ...)."),
            _C("name", "text", "Patient's full name (fictitious).", pii=True),
            _C("ssn", "text", "US Social Security number (fake).", pii=True),
            _C("email", "text", "Patient's e-mail address (fake).", pii=True),
            _C("address", "text", "Street address, city, state and ZIP (fake).", pii=True),
            _C("age", "int", "Patient's age in years, 18-95."),
            _C("sex", "category", "F or M."),
            _C("bmi", "float", "Body-mass index, kg/m2."),
            _C("systolic_bp", "int", "Systolic blood pressure, mmHg."),
            _C("cholesterol", "int", "Total cholesterol, mg/dL."),
            _C("diabetic", "bool", "The patient has diabetes."),
            _C("smoker", "bool", "The patient smokes."),
            _C("num_prior_visits", "int", "Hospital visits in the previous year."),
            _C("length_of_stay", "int", "Days in hospital for this stay."),
            _C("admission_date", "date", "Day of admission, 2020-2024."),
            _C("readmitted", "bool", "Target: readmitted within 30 days (rare class)."),
        ),
        relations=(
            "systolic_bp rises with age and bmi.",
            "cholesterol and diabetes rise with age and bmi; prior visits rise with age "
            "and diabetes.",
            "readmitted is more likely for older patients with more prior visits, diabetes, "
            "high blood pressure, long stays and smoking.",
        ),
        builder=_build_patients,
        steps=3,
    ),
}
del _C


# --------------------------------------------------------------------------------------
# Shipped samples
# --------------------------------------------------------------------------------------

_SAMPLE_LICENSE = "CC0-1.0 (public domain; generated by this project, all people are fictitious)"

_SAMPLES: tuple[SampleDataset, ...] = (
    SampleDataset(
        key="loans",
        title="Loan applicants (default risk)",
        description=(
            "5,000 fictitious credit applicants with income, credit score, loan details and "
            "PII; predict `defaulted` (about 12 % True). About 2 % of cells are missing."
        ),
        filename="loans.csv",
        target="defaulted",
        rows=5000,
        license=_SAMPLE_LICENSE,
        spec=FakeSpec(
            domain="loans",
            rows=5000,
            correlation=0.7,
            rare_rate=0.12,
            missing_rate=0.02,
            seed=2024,
        ),  # fmt: skip
    ),
    SampleDataset(
        key="transactions",
        title="Card payments (fraud, imbalanced)",
        description=(
            "8,000 fictitious card payments with amount, merchant, time and place; predict "
            "`is_fraud`, a rare class of about 2 % with a planted fraud signature."
        ),
        filename="transactions.csv",
        target="is_fraud",
        rows=8000,
        license=_SAMPLE_LICENSE,
        spec=FakeSpec(domain="transactions", rows=8000, correlation=0.8, rare_rate=0.02, seed=2024),
    ),
    SampleDataset(
        key="customers",
        title="Telecom customers (churn)",
        description=(
            "4,000 fictitious subscribers with tenure, contract, charges and PII; predict "
            "`churned` (about 25 % True)."
        ),
        filename="customers.csv",
        target="churned",
        rows=4000,
        license=_SAMPLE_LICENSE,
        spec=FakeSpec(domain="customers", rows=4000, correlation=0.7, rare_rate=0.25, seed=2024),
    ),
)


def list_sample_datasets() -> list[SampleDataset]:
    """Return the sample datasets shipped in ``sample_data/``, in display order."""
    return list(_SAMPLES)


def _sample(key: str) -> SampleDataset:
    for sample in _SAMPLES:
        if sample.key == key:
            return sample
    keys = ", ".join(s.key for s in _SAMPLES)
    raise ParameterError(f"Unknown sample dataset {key!r}; choose one of {keys}.")


def load_sample_dataset(key: str) -> pd.DataFrame:
    """Read a shipped sample dataset with the dtypes the generator gave it.

    See :func:`read_generated_csv` for the dtypes.

    Args:
        key: One of the keys from :func:`list_sample_datasets`.

    Returns:
        The table.

    Raises:
        ParameterError: ``key`` is not a sample dataset.
        DataLoadError: The file is missing or unreadable (run ``make sample-data``).
    """
    sample = _sample(key)
    domain = sample.spec.domain if sample.spec else key
    return read_generated_csv(get_settings().sample_data_dir / sample.filename, domain)


def read_generated_csv(path: str | Path, domain: str) -> pd.DataFrame:
    """Read a CSV written from :func:`fake_dataset` back with the generator's dtypes.

    Dates are parsed to ``datetime64[ns]``, flags are ``bool`` (``object`` if a flag has
    missing cells), PII such as card numbers, SSNs and ZIP codes stay strings, integers
    are ``int64`` (``float64`` when a column has missing cells). Columns the domain does
    not know are left as pandas reads them.

    Args:
        path: The CSV file.
        domain: The domain the file was generated for (one of :data:`DOMAINS`).

    Returns:
        The table.

    Raises:
        ParameterError: The domain is unknown.
        DataLoadError: The file is missing, unreadable or a flag column holds other values.
    """
    path = Path(path)
    kinds = {c.name: c.kind for c in _domain(domain).columns}
    text_columns = {name: "object" for name, kind in kinds.items() if kind in ("text", "category")}
    try:
        df = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise DataLoadError(
            f"Sample file {path} is missing; run `make sample-data` to write it."
        ) from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DataLoadError(f"Could not read {path}: {error}") from error
    for name in df.columns:
        kind = kinds.get(name)
        if kind in ("date", "datetime"):
            df[name] = pd.to_datetime(df[name], format="ISO8601").astype("datetime64[ns]")
        elif kind == "bool":
            df[name] = _as_flags(df[name], name, path)
        elif kind in ("int", "id") and not df[name].isna().any():
            df[name] = df[name].astype(np.int64)
        elif kind in ("int", "float"):
            df[name] = df[name].astype(float)
    return df


def _as_flags(series: pd.Series, name: str, path: Path) -> pd.Series:
    if series.dtype == bool:
        return series
    mapping = {"True": True, "False": False, True: True, False: False}
    flags = series.map(mapping, na_action="ignore")
    if flags.isna().sum() != series.isna().sum():
        raise DataLoadError(f"Column {name!r} of {path} should hold True/False only.")
    if flags.isna().any():
        return flags.astype(object)
    return flags.astype(bool)
