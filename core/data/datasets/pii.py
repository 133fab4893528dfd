"""Personal-data columns for the fake domains: names, e-mails and addresses from Faker pools.

Faker fills small seeded pools (:meth:`~core.data.datasets.machinery._Context.pool`); rows
are combined from them with numpy. Numbers such as SSNs and card numbers come from
:mod:`core.data.fake_values`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.data.datasets.machinery import _choice, _Context
from core.data.fake_values import digit_block as _digit_block
from core.data.fake_values import fixed_width as _fixed_width

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
