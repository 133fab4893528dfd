"""Shared fixtures: an isolated data directory per test session and small real tables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Models, jobs and the registry of a test run never touch the developer's data."""
    data_dir = tmp_path_factory.mktemp("studio_data")
    os.environ["STUDIO_DATA_DIR"] = str(data_dir)
    from core.store.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture
def people() -> pd.DataFrame:
    """A 600-row table with the columns SDV's detection gets wrong."""
    from tests.helpers import make_people

    return make_people()
