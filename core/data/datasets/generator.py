"""The fake-data generator: :class:`FakeSpec`, the domain registry and :func:`fake_dataset`.

Each domain (columns, planted relations, builder) lives in its own module
(:mod:`~core.data.datasets.loans`, ``transactions``, ``customers``, ``patients``); the
machinery they share is :mod:`~core.data.datasets.machinery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.datasets.customers import _CUSTOMERS
from core.data.datasets.loans import _LOANS
from core.data.datasets.machinery import (
    MAX_CANARIES,
    MAX_OUTLIER_RATE,
    _check_fraction,
    _Context,
    _Domain,
    _is_int,
    _plant_canaries,
    _plant_outliers,
    _Steps,
    _with_missing,
)
from core.data.datasets.patients import _PATIENTS
from core.data.datasets.pii import _PII_LABELS
from core.data.datasets.transactions import _TRANSACTIONS
from core.errors import ParameterError
from core.progress import ProgressCallback, null_progress

DOMAINS: tuple[str, ...] = ("customers", "loans", "transactions", "patients")
"""The domain templates :func:`fake_dataset` knows."""

MIN_ROWS = 100
"""Fewest rows :func:`fake_dataset` makes."""

MAX_ROWS = 1_000_000
"""Most rows :func:`fake_dataset` makes."""

_RARE_RATE_RANGE = (0.001, 0.5)
_MISSING_RATE_RANGE = (0.0, 0.5)


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


# --------------------------------------------------------------------------------------
# Domain lookups
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Domain table
# --------------------------------------------------------------------------------------


_DOMAIN_TABLE: dict[str, _Domain] = {
    "loans": _LOANS,
    "transactions": _TRANSACTIONS,
    "customers": _CUSTOMERS,
    "patients": _PATIENTS,
}
