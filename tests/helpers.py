"""Builders of small test tables and a poll for states (plain functions, any fixture scope)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
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


_SAMPLE_ELSEWHERE = """
import sys
from core.data.schema import TableSchema
from core.engine.generation import generate
from core.engine.models import load_synthesizer
from core.store.registry import ModelRegistry

model_id, rows, seed, out = sys.argv[1:]
registry = ModelRegistry()
schema = TableSchema.from_fingerprint_dict(registry.get(model_id).schema)
sample = generate(load_synthesizer(registry, model_id), model_id, int(rows), seed=int(seed),
                  schema=schema)
sample.frame.to_csv(out, index=False)
"""


def sample_in_another_process(data_dir: Path, model_id: str, rows: int, seed: int,
                              out: Path, timeout: float = 600) -> pd.DataFrame:
    """Sample a stored model in a fresh Python process (as a worker or the CLI would).

    Returns the rows it wrote to ``out`` (a CSV), read back.
    """
    environment = {**os.environ, "STUDIO_DATA_DIR": str(data_dir)}
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SAMPLE_ELSEWHERE, model_id, str(rows), str(seed), str(out)],
        cwd=Path(__file__).resolve().parent.parent, env=environment, capture_output=True,
        text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return pd.read_csv(out)
