"""The ``transactions`` domain: card payments, with ``is_fraud`` as the rare class."""

from __future__ import annotations

import numpy as np

from core.data.datasets.machinery import _Built, _choice, _Context, _dates, _Domain
from core.data.datasets.machinery import _Column as _C
from core.data.datasets.pii import _full_names, _people
from core.data.fake_values import card_numbers as _card_numbers

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


_TRANSACTIONS = _Domain(
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
)
