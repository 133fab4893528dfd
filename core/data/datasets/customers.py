"""The ``customers`` domain: telecom subscribers, with ``churned`` as the rare class."""

from __future__ import annotations

import functools

import numpy as np

from core.data.datasets.machinery import (
    _Built,
    _choice,
    _Context,
    _cut,
    _Domain,
    _mix,
    _standardize,
    _threshold_model,
)
from core.data.datasets.machinery import _Column as _C
from core.data.datasets.pii import _addresses, _emails, _full_names, _people
from core.data.fake_values import phone_numbers as _phones

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


_CUSTOMERS = _Domain(
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
)
