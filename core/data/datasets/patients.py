"""The ``patients`` domain: hospital stays, with ``readmitted`` as the rare class."""

from __future__ import annotations

import functools

import numpy as np

from core.data.datasets.machinery import (
    _Built,
    _choice,
    _Context,
    _dates,
    _Domain,
    _mix,
    _standardize,
    _threshold_model,
)
from core.data.datasets.machinery import _Column as _C
from core.data.datasets.pii import _addresses, _emails, _full_names, _people
from core.data.fake_values import ssns as _ssns


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


_PATIENTS = _Domain(
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
)
