"""Fake tabular datasets made with Faker and numpy, and the sample datasets shipped with the app.

Two things live here:

* :func:`fake_dataset` builds a realistic table for one of four domains (:data:`DOMAINS`):
  credit applicants (``loans``), card payments (``transactions``), telecom customers
  (``customers``) and hospital patients (``patients``). Each table mixes numbers,
  categories, booleans, a date and PII, has relations planted between its columns whose
  strength follows :attr:`FakeSpec.correlation`, a rare target class whose share is
  :attr:`FakeSpec.rare_rate`, and optional missing cells.
* :func:`list_sample_datasets` / :func:`load_sample_dataset` give the CSV files in
  ``sample_data/`` (written by ``scripts/make_sample_data.py`` from the same generator,
  and :func:`complaints_dataset` for the consumer complaints with free text).

The generator is deterministic: the same :class:`FakeSpec` always gives the same frame.
Every group of columns draws from its own numpy stream derived from the seed, so choosing
fewer PII columns does not change the other columns. Faker is called only a few thousand
times to fill small pools of real-looking names, streets, cities and companies; rows are
then combined from those pools with numpy, which is what makes a million rows fast.

Modules: :mod:`~core.data.datasets.generator` (:class:`FakeSpec`, :func:`fake_dataset`, the
domain lookups), one module per domain (:mod:`~core.data.datasets.loans`,
:mod:`~core.data.datasets.transactions`, :mod:`~core.data.datasets.customers`,
:mod:`~core.data.datasets.patients`), the machinery they share
(:mod:`~core.data.datasets.machinery`, :mod:`~core.data.datasets.pii`), the complaints
sample (:mod:`~core.data.datasets.complaints`), the three event tables with one sequence
per entity (:mod:`~core.data.datasets.bank_events`, :mod:`~core.data.datasets.market_prices`,
:mod:`~core.data.datasets.customer_journeys`), the bank database of related tables
(:mod:`~core.data.datasets.bank`) and the shipped samples (:mod:`~core.data.datasets.samples`:
single tables, and related ones in :data:`RELATED_SAMPLES`).
"""

from __future__ import annotations

from core.data.datasets.bank import bank_database
from core.data.datasets.bank_events import BankEventsSpec, bank_events_dataset
from core.data.datasets.complaints import ComplaintsSpec, complaints_dataset
from core.data.datasets.customer_journeys import CustomerJourneysSpec, customer_journeys_dataset
from core.data.datasets.generator import (
    DOMAINS,
    MAX_ROWS,
    MIN_ROWS,
    FakeSpec,
    column_descriptions,
    fake_dataset,
    id_column_for,
    pii_columns_for,
    planted_relations_for,
    target_column_for,
)
from core.data.datasets.machinery import (
    MAX_CANARIES,
    MAX_OUTLIER_RATE,
    OUTLIER_COLUMNS,
    canary_rows,
    outlier_rows,
)
from core.data.datasets.market_prices import MarketPricesSpec, market_prices_dataset
from core.data.datasets.samples import (
    RELATED_SAMPLES,
    RelatedSample,
    SampleDataset,
    list_related_samples,
    list_sample_datasets,
    load_related_sample,
    load_sample_dataset,
    read_generated_csv,
    related_sample,
    sample_dataset,
    sample_for_file,
    sample_keys,
)

__all__ = [
    "MAX_CANARIES",
    "MAX_OUTLIER_RATE",
    "OUTLIER_COLUMNS",
    "canary_rows",
    "outlier_rows",
    "BankEventsSpec",
    "ComplaintsSpec",
    "CustomerJourneysSpec",
    "DOMAINS",
    "MAX_ROWS",
    "MIN_ROWS",
    "FakeSpec",
    "MarketPricesSpec",
    "RELATED_SAMPLES",
    "RelatedSample",
    "SampleDataset",
    "bank_database",
    "bank_events_dataset",
    "column_descriptions",
    "complaints_dataset",
    "customer_journeys_dataset",
    "fake_dataset",
    "id_column_for",
    "list_related_samples",
    "list_sample_datasets",
    "load_related_sample",
    "load_sample_dataset",
    "market_prices_dataset",
    "pii_columns_for",
    "planted_relations_for",
    "read_generated_csv",
    "related_sample",
    "sample_dataset",
    "sample_for_file",
    "sample_keys",
    "target_column_for",
]
