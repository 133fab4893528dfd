"""A wide loans-style table: 55 columns (30 numbers, 24 categories, a yes/no target).

Real credit tables are wide: a handful of amounts and rates, many counts from the credit
file (mostly zero), many small categories and a few large ones (state, sub-grade). This
generator builds such a table with relations a synthesizer should keep: the interest rate
follows the sub-grade, the instalment follows amount, rate and term, utilisation follows
balance over limit, regions follow states, and the default risk follows grade, debt-to-income,
utilisation, delinquencies and income. Same seed, same table (one seeded numpy generator).

Used by ``bench`` (the 10,000 x 55 table of issue #19) and by tests at a few hundred rows::

    from bench.wide import TARGET, make_wide_table
    frame = make_wide_table(rows=300, seed=1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TARGET", "make_wide_table"]

#: The yes/no column to predict (about one row in six is a default).
TARGET = "defaulted"

_GRADES = "ABCDEFG"
_STATES = (
    "CA TX NY FL IL PA OH GA NC MI NJ VA WA AZ MA TN IN MO MD WI CO MN SC AL LA KY OR OK CT "
    "UT IA NV AR MS KS NM NE ID WV HI NH ME MT RI DE SD ND AK VT WY"
).split()
_REGION = {
    **dict.fromkeys("CT ME MA NH RI VT NJ NY PA".split(), "northeast"),
    **dict.fromkeys("IL IN MI OH WI IA KS MN MO NE ND SD".split(), "midwest"),
    **dict.fromkeys("DE FL GA MD NC SC VA WV AL KY MS TN AR LA OK TX".split(), "south"),
    **dict.fromkeys("AZ CO ID MT NV NM UT WY AK CA HI OR WA".split(), "west"),
}
_PURPOSES = ("debt_consolidation", "credit_card", "home_improvement", "other",
             "major_purchase", "medical", "small_business", "car", "vacation", "moving",
             "house", "wedding")
_SECTORS = ("retail", "healthcare", "education", "manufacturing", "finance", "construction",
            "transport", "government", "hospitality", "technology", "agriculture", "legal",
            "energy", "media", "self_employed")


def _pick(rng: np.random.Generator, values: tuple | list, weights: np.ndarray | list,
          size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(np.asarray(values, dtype=object), size=size, p=weights / weights.sum())


def make_wide_table(rows: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A loans-style table of ``rows`` rows and 55 columns, the same for the same seed.

    Args:
        rows: Number of rows (at least 50).
        seed: Seed of the one random generator used.

    Returns:
        30 numeric columns (amounts, rates, counts; one with missing values where a
        borrower was never late), 24 categorical or yes/no columns and :data:`TARGET`.
    """
    if rows < 50:
        raise ValueError(f"make_wide_table needs at least 50 rows; got {rows}.")
    rng = np.random.default_rng(seed)
    n = rows

    # The borrower.
    age = np.clip(rng.normal(42, 12, n), 21, 80).round().astype(int)
    education = _pick(rng, ("high_school", "some_college", "bachelor", "master", "doctorate"),
                      [30, 25, 30, 12, 3], n)
    edu_bonus = pd.Series(education).map({"high_school": 0.0, "some_college": 0.1,
                                          "bachelor": 0.3, "master": 0.45,
                                          "doctorate": 0.6}).to_numpy()
    employment_type = _pick(rng, ("full_time", "part_time", "self_employed", "contract",
                                  "retired", "unemployed"), [62, 10, 11, 8, 7, 2], n)
    employment_years = np.where(
        np.isin(employment_type, ("retired", "unemployed")), 0,
        np.clip(rng.gamma(2.0, 3.5, n), 0, np.maximum(age - 18, 0)).round()).astype(int)
    annual_income = np.exp(rng.normal(10.8 + edu_bonus + 0.01 * employment_years, 0.45, n))
    annual_income = np.where(employment_type == "unemployed", annual_income * 0.25,
                             annual_income)
    annual_income = (annual_income / 100).round() * 100
    job_sector = _pick(rng, _SECTORS, [12, 11, 8, 9, 7, 8, 6, 7, 6, 7, 2, 2, 3, 2, 10], n)
    job_sector = np.where(employment_type == "self_employed", "self_employed", job_sector)
    marital_status = _pick(rng, ("single", "married", "divorced", "widowed"), [38, 46, 13, 3], n)
    dependents = np.clip(rng.poisson(np.where(marital_status == "married", 1.4, 0.5)), 0, 5)
    home_ownership = _pick(rng, ("rent", "mortgage", "own", "other"), [40, 45, 13, 2], n)
    older = age > 45
    home_ownership = np.where(older & (rng.random(n) < 0.25), "mortgage", home_ownership)
    housing_type = np.where(home_ownership == "rent",
                            _pick(rng, ("apartment", "house", "condo", "other"), [65, 20, 12, 3],
                                  n),
                            _pick(rng, ("apartment", "house", "condo", "other"), [10, 72, 15, 3],
                                  n))
    monthly_housing_payment = np.where(
        home_ownership == "own", rng.gamma(2, 120, n),
        annual_income / 12 * np.clip(rng.normal(0.25, 0.07, n), 0.08, 0.6)).round()
    years_at_address = np.clip(rng.exponential(4 + 0.08 * (age - 21), n), 0, 50).round(1)
    state = _pick(rng, _STATES, np.linspace(12, 0.4, len(_STATES)) ** 1.3, n)
    region = pd.Series(state).map(_REGION).to_numpy()
    car_owner = rng.random(n) < np.clip(0.55 + annual_income / 400_000, 0, 0.95)
    savings_balance = np.where(rng.random(n) < 0.18, 0.0,
                               np.exp(rng.normal(np.log(annual_income) - 2.2, 1.1))).round(-1)
    checking_balance = np.exp(rng.normal(np.log(annual_income) - 3.0, 0.8)).round()

    # The credit file.
    credit_history_years = np.clip(rng.normal(np.maximum(age - 20, 1) * 0.7, 3), 0.5,
                                   60).round(1)
    prior_default = rng.random(n) < 0.06
    delinquencies_2y = rng.poisson(np.where(prior_default, 1.2, 0.15))
    ever_late = (delinquencies_2y > 0) | (rng.random(n) < 0.35)
    months_since_last_delinquency = np.where(
        ever_late, np.clip(rng.gamma(1.5, 18, n), 1, 120).round(), np.nan)
    months_since_last_delinquency = np.where(delinquencies_2y > 0,
                                             np.minimum(months_since_last_delinquency, 24),
                                             months_since_last_delinquency)
    public_records = rng.poisson(np.where(prior_default, 0.5, 0.06))
    bankruptcy = (public_records > 0) & (rng.random(n) < 0.6)
    collections_12m = rng.poisson(0.03 + 0.3 * prior_default)
    inquiries_6m = rng.poisson(0.6 + 0.6 * (annual_income < 40_000))
    months_since_recent_inquiry = np.clip(rng.exponential(6 / (1 + inquiries_6m)), 0,
                                          24).round()
    total_accounts = (3 + rng.poisson(credit_history_years * 1.1)).astype(int)
    open_accounts = np.minimum(total_accounts, 1 + rng.binomial(total_accounts, 0.45))
    mortgage_accounts = np.where(home_ownership == "mortgage", 1 + rng.poisson(0.4, n),
                                 rng.poisson(0.05, n))
    num_active_bankcards = np.minimum(open_accounts, rng.poisson(2.5, n))
    credit_card_holder = num_active_bankcards > 0
    total_credit_limit = (annual_income * np.exp(rng.normal(-0.6, 0.5, n))
                          * (0.5 + 0.1 * open_accounts)).round(-2)
    revolving_utilization = np.clip(rng.beta(2, 3, n) + 0.25 * prior_default
                                    + 0.1 * (delinquencies_2y > 0), 0, 1.2).round(3)
    revolving_balance = (total_credit_limit * revolving_utilization * 0.6).round()
    bankcard_utilization = np.clip(revolving_utilization + rng.normal(0, 0.12, n), 0,
                                   1.3).round(3)
    credit_score = np.clip(
        rng.normal(700, 35, n) - 60 * revolving_utilization - 25 * delinquencies_2y
        - 40 * public_records - 50 * prior_default + 1.2 * credit_history_years
        - 8 * inquiries_6m, 300, 850).round().astype(int)

    # The loan.
    grade_index = np.clip(np.digitize(credit_score, [760, 720, 690, 660, 630, 600])
                          + rng.integers(-1, 2, n) * (rng.random(n) < 0.25), 0, 6)
    grade = np.array([_GRADES[g] for g in grade_index], dtype=object)
    sub_index = rng.integers(1, 6, n)
    sub_grade = np.array([f"{g}{s}" for g, s in zip(grade, sub_index, strict=True)],
                         dtype=object)
    interest_rate = (5.5 + 3.4 * grade_index + 0.65 * sub_index + rng.normal(0, 0.4, n)).round(2)
    purpose = _pick(rng, _PURPOSES, [45, 20, 8, 7, 5, 3, 3, 3, 2, 1.5, 1.5, 1], n)
    loan_amount = np.clip(annual_income * np.exp(rng.normal(-1.6, 0.5, n)), 1_000, 40_000)
    loan_amount = np.where(purpose == "small_business", loan_amount * 1.4, loan_amount)
    loan_amount = (np.clip(loan_amount, 1_000, 40_000) / 25).round() * 25
    term = np.where((loan_amount > 15_000) & (rng.random(n) < 0.6), "60 months",
                    np.where(rng.random(n) < 0.15, "60 months", "36 months"))
    months = np.where(term == "60 months", 60, 36)
    monthly_rate = interest_rate / 1200
    installment = (loan_amount * monthly_rate / (1 - (1 + monthly_rate) ** -months)).round(2)
    loan_to_income = (loan_amount / annual_income).round(3)
    other_debt = revolving_balance * 0.03 + mortgage_accounts * monthly_housing_payment * 0.1
    dti = np.clip((installment + other_debt + monthly_housing_payment * 0.3)
                  / (annual_income / 12) * 100 + rng.normal(0, 3, n), 0, 60).round(2)
    verification_status = np.where(
        loan_amount > 20_000, _pick(rng, ("verified", "source_verified", "not_verified"),
                                    [55, 30, 15], n),
        _pick(rng, ("verified", "source_verified", "not_verified"), [25, 35, 40], n))
    application_type = np.where(rng.random(n) < 0.07 + 0.1 * (marital_status == "married"),
                                "joint", "individual")
    has_cosigner = (application_type == "individual") & (rng.random(n) < 0.04
                                                         + 0.1 * (credit_score < 620))
    channel = _pick(rng, ("online", "branch", "broker", "phone"), [55, 25, 12, 8], n)
    channel = np.where((age > 65) & (rng.random(n) < 0.5), "branch", channel)
    initial_list_status = np.where(rng.random(n) < 0.7, "whole", "fractional")
    autopay = rng.random(n) < np.where(channel == "online", 0.7, 0.4)
    disbursement = np.where((purpose == "debt_consolidation") & (rng.random(n) < 0.3),
                            "direct_pay", "cash")
    application_month = _pick(rng, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                    "sep", "oct", "nov", "dec"),
                              [7, 7, 9, 9, 9, 8, 8, 9, 9, 9, 8, 8], n)

    # Who defaults: grade, debt load, utilisation, past trouble, income, term, autopay.
    logit = (-3.1 + 0.38 * grade_index + 0.035 * (dti - 18) + 1.1 * (revolving_utilization - 0.4)
             + 0.45 * delinquencies_2y + 0.7 * prior_default + 0.5 * bankruptcy
             - 0.5 * (np.log(annual_income) - 10.9) + 0.35 * (term == "60 months")
             - 0.3 * autopay + 0.25 * (employment_type == "unemployed")
             + 0.6 * (loan_to_income - 0.25) + rng.normal(0, 0.3, n))
    defaulted = rng.random(n) < 1 / (1 + np.exp(-logit))

    return pd.DataFrame({
        "age": age, "annual_income": annual_income, "employment_years": employment_years,
        "credit_score": credit_score, "loan_amount": loan_amount,
        "interest_rate": interest_rate, "installment": installment, "dti": dti,
        "revolving_balance": revolving_balance, "revolving_utilization": revolving_utilization,
        "open_accounts": open_accounts, "total_accounts": total_accounts,
        "delinquencies_2y": delinquencies_2y, "inquiries_6m": inquiries_6m,
        "public_records": public_records,
        "months_since_last_delinquency": months_since_last_delinquency,
        "mortgage_accounts": mortgage_accounts, "credit_history_years": credit_history_years,
        "total_credit_limit": total_credit_limit, "bankcard_utilization": bankcard_utilization,
        "months_since_recent_inquiry": months_since_recent_inquiry,
        "num_active_bankcards": num_active_bankcards, "collections_12m": collections_12m,
        "savings_balance": savings_balance, "checking_balance": checking_balance,
        "monthly_housing_payment": monthly_housing_payment, "dependents": dependents,
        "years_at_address": years_at_address, "loan_to_income": loan_to_income,
        "other_monthly_debt": other_debt.round(2),
        "term": term, "grade": grade, "sub_grade": sub_grade, "purpose": purpose,
        "home_ownership": home_ownership, "verification_status": verification_status,
        "state": state, "region": region, "employment_type": employment_type,
        "education": education, "marital_status": marital_status,
        "application_type": application_type, "initial_list_status": initial_list_status,
        "has_cosigner": np.where(has_cosigner, "yes", "no"), "channel": channel,
        "job_sector": job_sector, "housing_type": housing_type,
        "prior_default": prior_default, "autopay": autopay, "car_owner": car_owner,
        "bankruptcy": bankruptcy, "credit_card_holder": credit_card_holder,
        "application_month": application_month, "disbursement": disbursement,
        TARGET: defaulted,
    })


if __name__ == "__main__":  # python -m bench.wide [rows] [seed] > wide.csv
    import sys

    arguments = [int(value) for value in sys.argv[1:3]]
    make_wide_table(*arguments).to_csv(sys.stdout, index=False)
