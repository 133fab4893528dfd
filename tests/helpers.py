"""Builders of small test tables and a poll for states (plain functions, any fixture scope)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def make_people(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """A table with the columns SDV's detection gets wrong (PII by name, ordinals, text)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "name": [fake.name() for _ in range(n)],
            "contact": [fake.email() for _ in range(n)],
            "ssn": [fake.ssn() for _ in range(n)],
            "state": rng.choice(["CA", "NY", "TX", "WA"], n),
            "age": rng.integers(18, 80, n),
            "support_calls": rng.integers(0, 8, n),
            "is_member": rng.integers(0, 2, n),
            "active": rng.choice([True, False], n),
            "income": rng.normal(50_000, 10_000, n).round(2),
            "job_title": [fake.job() for _ in range(n)],
            "comment": [fake.text(160) for _ in range(n)],
            "signed_up": pd.date_range("2020-01-01", periods=n, freq="D"),
            "churned": rng.random(n) < 0.2,
        }
    )


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()<>#+\-.!|$~:])")


def shown(markdown: str) -> str:
    """The text a reader sees for Markdown source: backslash escapes removed."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown)


def wait_until(condition: Callable[[], Any], what: str, timeout: float) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s.

    Tests wait on a state this way, never on a time window.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
