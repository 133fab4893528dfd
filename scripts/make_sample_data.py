"""Write the sample datasets in ``sample_data/`` and their README, reproducibly.

Every file is made by :func:`core.data.datasets.fake_dataset` (the complaints table by
:func:`core.data.datasets.complaints_dataset`) from the seeded spec kept in the sample
registry (:func:`core.data.datasets.list_sample_datasets`), so the registry, the files
and the README cannot drift apart. Run it with ``make sample-data`` or::

    .venv/bin/python scripts/make_sample_data.py [--out DIR]

After writing, each file is read back with :func:`core.data.datasets.load_sample_dataset`'s
rules and compared with the generated frame.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a plain script, not installed
    sys.path.insert(0, str(PROJECT_ROOT))

import pandas as pd  # noqa: E402

from core.data.datasets import (  # noqa: E402
    RelatedSample,
    SampleDataset,
    column_descriptions,
    id_column_for,
    list_related_samples,
    list_sample_datasets,
    pii_columns_for,
    planted_relations_for,
    read_generated_csv,
)
from core.data.datasets.bank import (  # noqa: E402
    BANK_COLUMNS,
    BANK_RELATIONS,
    read_bank_csv,
    write_bank_sqlite,
)
from core.data.datasets.bank_events import BANK_EVENTS_RELATIONS  # noqa: E402
from core.data.datasets.complaints import (  # noqa: E402
    COMPLAINTS_COLUMNS,
    COMPLAINTS_RELATIONS,
)
from core.data.datasets.customer_journeys import CUSTOMER_JOURNEYS_RELATIONS  # noqa: E402
from core.data.datasets.market_prices import MARKET_PRICES_RELATIONS  # noqa: E402
from core.data.datasets.samples import _columns_of  # noqa: E402
from core.data.text_pii import find_text_pii  # noqa: E402

# The complaints' text is about 1 MB of the total.
MAX_TOTAL_BYTES = 4 * 1024 * 1024
# The related samples (CSV files and the SQLite file) have a budget of their own.
MAX_RELATED_BYTES = 2 * 1024 * 1024
# So do the event tables (one sequence per entity).
MAX_SEQUENCE_BYTES = 2 * 1024 * 1024
_SEQUENCE_RELATIONS = {"bank_events": BANK_EVENTS_RELATIONS,
                       "market_prices": MARKET_PRICES_RELATIONS,
                       "customer_journeys": CUSTOMER_JOURNEYS_RELATIONS}


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or set(series.dropna().unique()) <= {True, False}:
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        has_time = (series.dropna().dt.normalize() != series.dropna()).any()
        return "date-time" if has_time else "date"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna().mod(1).eq(0).all()
        return "integer (blank = missing)" if whole else "decimal"
    return "category" if series.nunique() <= 60 else "text"


def _section(sample: SampleDataset, df: pd.DataFrame, size: int) -> str:
    assert sample.spec is not None
    domain = sample.spec.domain
    descriptions = column_descriptions(domain)
    pii = set(pii_columns_for(domain))
    key_column = id_column_for(domain)
    target = df[sample.target]
    eligible = df.drop(columns=[key_column, sample.target])
    facts = [
        f"- Rows: {len(df):,}; columns: {df.shape[1]}; size: {size / 1024:,.0f} KB",
        f"- Target: `{sample.target}` — {target.mean():.1%} `True` ({int(target.sum()):,} rows)",
        f"- Row id: `{key_column}` (never missing); missing cells elsewhere: "
        f"{eligible.isna().to_numpy().mean():.1%}",
        f"- PII columns (fake values): {', '.join(f'`{c}`' for c in df.columns if c in pii)}",
        f"- Generator: `fake_dataset(FakeSpec(domain={domain!r}, rows={sample.spec.rows}, "
        f"correlation={sample.spec.correlation}, rare_rate={sample.spec.rare_rate}, "
        f"missing_rate={sample.spec.missing_rate}, seed={sample.spec.seed}))`",
    ]
    rows = [f"| `{column}` | {_kind(df[column])} | {'yes' if column in pii else ''} "
            f"| {descriptions[column]} |" for column in df.columns]
    return _layout(sample, facts, planted_relations_for(domain), rows)


def _layout(sample: SampleDataset, facts: list[str], relations: tuple[str, ...] | list[str],
            rows: list[str]) -> str:
    """One file's README section: heading, description, facts, planted relations, columns."""
    return "\n".join([
        f"## `{sample.filename}` — {sample.title}",
        "",
        sample.description,
        "",
        *facts,
        "",
        "Planted relations:",
        "",
        *[f"- {relation}" for relation in relations],
        "",
        "| Column | Type | PII | Description |",
        "| --- | --- | --- | --- |",
        *rows,
    ])


def _complaints_section(sample: SampleDataset, df: pd.DataFrame, size: int) -> str:
    assert sample.text_spec is not None
    spec = sample.text_spec
    words = df["complaint_text"].str.split().str.len()
    found = find_text_pii(df["complaint_text"])
    planted = ", ".join(f"{row['count']} {row['label']}" for row in found.to_dict("records"))
    counts = df["product"].value_counts()
    facts = [
        f"- Rows: {len(df):,}; columns: {df.shape[1]}; size: {size / 1024:,.0f} KB",
        f"- Target: `{sample.target}` — {1 - df[sample.target].mean():.1%} `False` "
        f"({int((~df[sample.target]).sum()):,} rows); or `product` "
        f"({len(counts)} classes, {counts.iloc[-1] / len(df):.0%} to "
        f"{counts.iloc[0] / len(df):.0%} each)",
        "- Row id: `complaint_id` (never missing); no missing cells",
        f"- Free text: `complaint_text`, {int(words.min())} to {int(words.max())} words "
        f"(median {int(words.median())}); the studio's scrubbing finds {planted} in it",
        f"- Generator: `complaints_dataset(ComplaintsSpec(rows={spec.rows}, seed={spec.seed}, "
        f"pii_share={spec.pii_share}))`",
    ]
    descriptions = {c.name: c.description for c in COMPLAINTS_COLUMNS}
    rows = [f"| `{column}` | {'free text' if column == 'complaint_text' else _kind(df[column])} "
            f"|  | {descriptions[column]} |" for column in df.columns]
    return _layout(sample, facts, COMPLAINTS_RELATIONS, rows)


def _sequence_section(sample: SampleDataset, df: pd.DataFrame, size: int) -> str:
    assert sample.event_spec is not None and sample.sequence is not None
    sequence = sample.sequence
    lengths = df.groupby(sequence.key).size()
    entities = df.groupby(sequence.key)[sample.target].first()
    spec = sample.event_spec
    settings = ", ".join(f"{name}={value!r}" for name, value in vars(spec).items())
    if pd.api.types.is_bool_dtype(entities):
        target = (f"`{sample.target}` (one value per {sequence.key}) — {entities.mean():.1%} "
                  f"`True` ({int(entities.sum()):,} of {len(entities):,})")
    else:
        counts = entities.value_counts()
        target = (f"`{sample.target}` (one value per {sequence.key}) — {len(counts)} classes, "
                  f"{counts.min()} to {counts.max()} of {len(entities):,} each")
    facts = [
        f"- Rows: {len(df):,}; columns: {df.shape[1]}; size: {size / 1024:,.0f} KB; no "
        "missing cells",
        f"- Sequences: entity key `{sequence.key}` ({len(lengths):,} entities, "
        f"{int(lengths.min())} to {int(lengths.max())} rows each, median "
        f"{int(lengths.median())}), ordered by `{sequence.index}`; context columns (one value "
        f"per entity): {', '.join(f'`{c}`' for c in sequence.context)}",
        f"- Target: {target}",
        "- Rows are sorted by the entity key, then the order column; times have no zone",
        "- PII columns: none (every id is invented)",
        f"- Generator: `{type(spec).__name__}({settings})` in "
        f"`core/data/datasets/{sample.domain}.py` (numpy only, seeded)",
    ]
    descriptions = {c.name: c.description for c in _columns_of(sample.domain)}
    rows = [f"| `{column}` | {'identifier' if column == sequence.key else _kind(df[column])} "
            f"|  | {descriptions[column]} |" for column in df.columns]
    return _layout(sample, facts, _SEQUENCE_RELATIONS[sample.domain], rows)


def _size(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size >= 1024 else f"{size:,} bytes"


def _related_section(sample: RelatedSample, frames: dict[str, pd.DataFrame],
                     sizes: dict[str, int]) -> str:
    """The README section of a related sample: its tables, keys and planted relations."""
    table_name, column = sample.target or ("", "")
    target = frames[table_name][column] if sample.target else None
    lines = [
        f"## `{sample.directory}/` and `{sample.database}` — {sample.title}",
        "",
        sample.description,
        "",
        "- Tables: " + ", ".join(f"`{sample.directory}/{name}.csv` ({len(frames[name]):,} "
                                  f"rows, {_size(sizes[name])})"
                                  for name in sample.tables),
        f"- The same tables in one SQLite file, `{sample.database}` "
        f"({_size(sizes['database'])}), with PRIMARY KEY and FOREIGN KEY declared",
        "- Primary keys: " + ", ".join(f"`{name}.{key}`"
                                       for name, key in sample.primary_keys.items()),
        "- Foreign keys: " + ", ".join(f"`{r.child}.{r.child_key}` → `{r.parent}.{r.parent_key}`"
                                       for r in sample.relationships),
    ]
    if target is not None:
        lines.append(f"- Target: `{table_name}.{column}` — {target.mean():.1%} `True` "
                     f"({int(target.sum()):,} rows)")
    fraud = frames["transactions"]["is_fraud"]
    lines += [
        f"- Also: `transactions.is_fraud` — {fraud.mean():.1%} `True` ({int(fraud.sum()):,} rows)",
        f"- Generator: `bank_database(seed={sample.seed})` (numpy only: the same rows on "
        "every machine)",
        "",
        "Planted relations:",
        "",
        *[f"- {relation}" for relation in BANK_RELATIONS],
    ]
    for name in sample.tables:
        lines += ["", f"### `{name}`", "", "| Column | Type | PII | Description |",
                  "| --- | --- | --- | --- |"]
        for described in BANK_COLUMNS[name]:
            lines.append(f"| `{described.name}` | {_kind(frames[name][described.name])} | "
                         f"{'yes' if described.pii else ''} | {described.description} |")
    return "\n".join(lines)


def _write_related(sample: RelatedSample, out: Path) -> tuple[str, int]:
    """Write one related sample's CSV files and SQLite file; return its section and size."""
    frames = sample.generate()
    folder = out / sample.directory
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name in sample.tables:
        path = folder / f"{name}.csv"
        frames[name].to_csv(path, index=False, lineterminator="\n")
        pd.testing.assert_frame_equal(read_bank_csv(str(path), name), frames[name])
        sizes[name] = path.stat().st_size
        print(f"wrote {path} ({len(frames[name]):,} rows, {sizes[name] / 1024:,.0f} KB)")
    database = out / sample.database
    write_bank_sqlite(frames, str(database))
    sizes["database"] = database.stat().st_size
    print(f"wrote {database} ({sizes['database'] / 1024:,.0f} KB)")
    return _related_section(sample, frames, sizes), sum(sizes.values())


def _readme(sections: list[str], license_text: str) -> str:
    return "\n".join(
        [
            "# Sample datasets",
            "",
            "Small, ready-to-use tables for trying Synthetic Data Studio: pick one on the "
            "**Data** page. All rows are fake — generated by this project with Faker and numpy "
            "(`core/data/datasets/`); every person, card, SSN, e-mail, phone number and address "
            "is fictitious.",
            "",
            "Each table has a boolean target with a rare class, mixed column types (numbers, "
            "categories, flags, dates) and PII columns to practise the drop / replace / keep "
            "choices. The state column of `loans.csv` is a US state code, not PII (SDV's "
            "detector wrongly flags any column named `state`). `complaints.csv` adds a "
            "free-text column to practise the *generate text* action: a small language model "
            "trained on the column writes new complaints. The bank database (`bank/` and "
            "`bank.sqlite`) is four related tables joined by foreign keys, to practise "
            "synthesizing several tables with their keys intact. Three event tables "
            "(`bank_events.csv`, `market_prices.csv`, `customer_journeys.csv`) hold one "
            "sequence of rows per entity (an account, a ticker, a customer) with context "
            "columns constant per entity, to practise sequence synthesizers; their target is "
            "a column of the entity, not of the row.",
            "",
            "Regenerate the files and this README (byte for byte the same) with "
            "`make sample-data` or `python scripts/make_sample_data.py`.",
            "",
            "## License",
            "",
            f"{license_text}. You may use, copy and modify these files for any purpose, "
            "without asking and without attribution "
            "(<https://creativecommons.org/publicdomain/zero/1.0/>).",
            "",
            *[section + "\n" for section in sections],
        ]
    )


def _for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Write whole-number columns that have blanks as ``35``, not ``35.0``."""
    out = df.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values) and values.isna().any():
            present = values.dropna()
            if present.mod(1).eq(0).all():
                out[column] = values.astype("Int64")
    return out


def _check_round_trip(path: Path, df: pd.DataFrame, domain: str) -> None:
    """Read the file back as the app does and insist it equals what was generated."""
    loaded = read_generated_csv(path, domain)
    pd.testing.assert_frame_equal(loaded, df, check_dtype=True)


def main(argv: list[str] | None = None) -> int:
    """Write every sample dataset and the README; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "sample_data",
        help="directory to write to (default: sample_data/)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    sections: list[str] = []
    total = 0
    sequence_total = 0
    licenses = set()
    for sample in list_sample_datasets():
        if sample.spec is None and sample.text_spec is None and sample.event_spec is None:
            raise SystemExit(f"{sample.key}: the registry has no generator spec")
        df = sample.generate()
        if len(df) != sample.rows or sample.target not in df.columns:
            raise SystemExit(f"{sample.key}: registry says {sample.rows} rows / {sample.target}")
        path = out / sample.filename
        _for_csv(df).to_csv(path, index=False, lineterminator="\n")
        _check_round_trip(path, df, sample.domain)
        size = path.stat().st_size
        licenses.add(sample.license)
        if sample.event_spec is not None:
            sequence_total += size
            sections.append(_sequence_section(sample, df, size))
            print(f"wrote {path} ({len(df):,} rows, {size / 1024:,.0f} KB, "
                  f"{df[sample.sequence.key].nunique():,} sequences)")
            continue
        total += size
        make = _section if sample.spec is not None else _complaints_section
        sections.append(make(sample, df, size))
        print(
            f"wrote {path} ({len(df):,} rows, {size / 1024:,.0f} KB, "
            f"{sample.target} = {df[sample.target].mean():.1%})"
        )

    related_total = 0
    for related in list_related_samples():
        section, size = _write_related(related, out)
        sections.append(section)
        related_total += size
        licenses.add(related.license)

    readme = out / "README.md"
    readme.write_text(_readme(sections, " / ".join(sorted(licenses))), encoding="utf-8")
    print(f"wrote {readme}; total data {total / 1024 / 1024:.2f} MB")
    if total > MAX_TOTAL_BYTES:
        print(f"error: sample data is {total:,} bytes, over the {MAX_TOTAL_BYTES:,} budget")
        return 1
    if sequence_total > MAX_SEQUENCE_BYTES:
        print(f"error: event tables are {sequence_total:,} bytes, over the "
              f"{MAX_SEQUENCE_BYTES:,} budget")
        return 1
    if related_total > MAX_RELATED_BYTES:
        print(f"error: related samples are {related_total:,} bytes, over the "
              f"{MAX_RELATED_BYTES:,} budget")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
