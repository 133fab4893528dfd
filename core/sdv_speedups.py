"""Targeted fixes for slow paths in SDV 2.0 / rdt / ctgan (measured, not guessed).

Each patch keeps the library's behaviour and removes a cost that has nothing to do with
learning the data. :func:`apply` is idempotent and called before any SDV object is built.

1. ``rdt``'s ``is_faker_function`` builds a ``Faker`` with *all* ~100 locales on every
   call; SDV calls it while validating metadata with PII columns. The first build costs
   ~9 s per process (2,756 provider look-ups). We answer from an en_US ``Faker`` (every
   sdtype the studio offers exists there) and remember answers.
2. ctgan's ``DataTransformer.transform`` starts a joblib process pool for tables over 500
   rows. On a 2-core machine the pool start-up cost more than the work (13 s of a 40 s fit
   of a 700-row table); the sequential path gives identical output.
3. SDV warns that a ``datetime_format`` "could not be verified" for datetime64 columns;
   we set the format on purpose (it makes validation vectorised), so the warning is noise.
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache

__all__ = ["apply"]

_applied = threading.Event()
_lock = threading.Lock()


def apply() -> None:
    """Install the patches once per process."""
    if _applied.is_set():
        return
    with _lock:
        if _applied.is_set():
            return
        _patch_is_faker_function()
        _patch_ctgan_transform()
        warnings.filterwarnings(
            "ignore", message=r"The datetime format for column .* could not be verified"
        )
        _applied.set()


def _patch_is_faker_function() -> None:
    import rdt.transformers.pii.anonymization as anonymization
    import sdv.metadata._single_table as single_table
    from faker import Faker

    original = anonymization.is_faker_function
    english = Faker("en_US")

    @lru_cache(maxsize=512)
    def is_faker_function(function_name: str) -> bool:
        if hasattr(english, function_name):
            return True
        return bool(original(function_name))

    anonymization.is_faker_function = is_faker_function
    single_table.is_faker_function = is_faker_function


def _patch_ctgan_transform() -> None:
    from ctgan.data_transformer import DataTransformer

    DataTransformer._parallel_transform = DataTransformer._synchronous_transform
