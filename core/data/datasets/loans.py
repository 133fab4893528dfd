"""The ``loans`` domain: credit applicants, with ``defaulted`` as the rare class."""

from __future__ import annotations

import functools

import numpy as np

from core.data.datasets.machinery import (
    _Built,
    _choice,
    _Context,
    _cut,
    _dates,
    _Domain,
    _mix,
    _standardize,
    _threshold_model,
)
from core.data.datasets.machinery import _Column as _C
from core.data.datasets.pii import (
    _STATE_CODES,
    _STATE_WEIGHTS,
    _addresses,
    _emails,
    _full_names,
    _people,
)
from core.data.fake_values import phone_numbers as _phones
from core.data.fake_values import ssns as _ssns

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


_LOANS = _Domain(
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
)
