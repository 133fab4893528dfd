"""Generating synthetic rows: plain, with fixed values, or rebalanced; and exporting them.

Sampling is seeded (the synthesizer's own random state, numpy, torch and the Faker
generators behind PII columns are all reset), so the same model, seed and request give
the same rows. Large requests are sampled in batches so the caller sees progress.

Free-text columns are written after the rows are sampled, by the text models the
synthesizer carries (``studio_text_models``, ``core.engine.text_model``), each from the
sampled rows' own columns: conditioned or rebalanced rows get text that follows them.
They are written before the faked personal-data columns are filled: the text models
learned text whose personal data was already replaced, and faked columns are independent
of every other column, so the order changes nothing but keeps text tied to modelled values.
"""

from __future__ import annotations

import io
import math
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.data.fake_values import add_fake_columns
from core.data.id_formats import make_ids
from core.data.schema import TABLE_NAME, TableSchema
from core.engine.patches import load_libraries
from core.errors import ParameterError, SamplingError
from core.progress import ProgressCallback, null_progress, scaled

__all__ = [
    "EXPORT_FORMATS",
    "FORMULA_STARTS",
    "GeneratedSample",
    "export_bytes",
    "generate",
    "guard_formula_cells",
    "max_entities",
    "validate_class_shares",
]

#: Download formats: name -> (file extension, MIME type).
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "CSV": ("csv", "text/csv"),
    "Parquet": ("parquet", "application/vnd.apache.parquet"),
    "Excel": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_EXCEL_MAX_ROWS = 1_048_575
_EXCEL_SHEET = "Sheet1"
#: First characters that make a spreadsheet read a CSV cell as a formula. Tab and carriage
#: return are included because some importers strip them before looking for the others.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BATCH_ROWS = 20_000
_MAX_ROWS = 5_000_000


@dataclass(frozen=True)
class GeneratedSample:
    """Synthetic rows and how they were made.

    Attributes:
        frame: The rows.
        model_id: The model that produced them.
        seed: Sampling seed.
        fixed_values: Column values every row was conditioned on.
        class_shares: Requested shares of each class of ``rebalanced_column``.
        rebalanced_column: The column that was rebalanced, if any.
        seconds: Time taken.
    """

    frame: pd.DataFrame
    model_id: str
    seed: int
    fixed_values: dict[str, Any] = field(default_factory=dict)
    class_shares: dict[str, float] = field(default_factory=dict)
    rebalanced_column: str | None = None
    seconds: float = 0.0

    @property
    def key(self) -> str:
        """Identifies the sample for caching evaluations of it."""
        parts = [self.model_id, str(self.seed), str(len(self.frame)),
                 repr(sorted(self.fixed_values.items())),
                 repr(sorted(self.class_shares.items())), str(self.rebalanced_column)]
        return "|".join(parts)


def _reset_randomness(synthesizer: Any, seed: int) -> None:
    from core.engine.training import seed_everything

    synthesizer.reset_sampling()
    seed_everything(seed)
    if hasattr(synthesizer, "seed_sampling"):  # core.engine.stratified
        synthesizer.seed_sampling(seed)
        return
    model = getattr(synthesizer, "_model", None)
    if model is not None and hasattr(model, "set_random_state"):
        synthesizer._set_random_state(seed)


def validate_class_shares(shares: Mapping[str, float]) -> dict[str, float]:
    """Check rebalancing shares: non-negative, at least one positive; normalise to 1.

    Raises:
        ParameterError: The shares cannot be used.
    """
    cleaned = {str(label): float(share) for label, share in shares.items()}
    if any(share < 0 or math.isnan(share) for share in cleaned.values()):
        raise ParameterError("Class shares cannot be negative.")
    total = sum(cleaned.values())
    if total <= 0:
        raise ParameterError("Give at least one class a share above zero.")
    return {label: share / total for label, share in cleaned.items() if share > 0}


def _typed_value(frame_dtype: Any, raw: Any, column: str) -> Any:
    """Convert a value typed in the UI ("1", "true") to the column's type."""
    if isinstance(raw, str):
        text = raw.strip()
        if pd.api.types.is_bool_dtype(frame_dtype):
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ParameterError(f"'{column}' is true/false; '{raw}' is neither.")
        if pd.api.types.is_integer_dtype(frame_dtype):
            try:
                return int(text)
            except ValueError:
                raise ParameterError(
                    f"'{column}' holds whole numbers; '{raw}' is not one."
                ) from None
        if pd.api.types.is_float_dtype(frame_dtype):
            try:
                return float(text)
            except ValueError:
                raise ParameterError(
                    f"'{column}' holds numbers; '{raw}' is not one."
                ) from None
    return raw


def generate(
    synthesizer: Any,
    model_id: str,
    rows: int,
    seed: int = 0,
    schema: TableSchema | None = None,
    real_example: pd.DataFrame | None = None,
    fixed_values: Mapping[str, Any] | None = None,
    rebalance_column: str | None = None,
    class_shares: Mapping[str, float] | None = None,
    progress: ProgressCallback | None = None,
) -> GeneratedSample:
    """Sample ``rows`` synthetic rows.

    For a sequence model (an event table's: ``studio_shape == "sequence"``) ``rows``
    counts **entities**: each new entity comes with its events, under a fresh key that is
    never a real one, sorted by key then order column; ``fixed_values`` and rebalancing
    apply to context columns only (constant per entity, e.g. only business accounts).

    Args:
        synthesizer: A fitted SDV synthesizer.
        model_id: Its registry id (recorded in the result).
        rows: How many rows (1 .. 5,000,000), or entities for a sequence model.
        seed: Sampling seed.
        schema: The schema it was trained with (to check condition columns).
        real_example: A few real rows, to convert typed condition values to column types.
        fixed_values: Column -> value that every row must have.
        rebalance_column: A categorical column whose class shares are set explicitly.
        class_shares: Class -> share for ``rebalance_column`` (normalised to 1).
        progress: Progress callback.

    Raises:
        ParameterError: Bad row count, unknown column, or a condition on a column that is
            not modelled (faked or dropped).
        SamplingError: The model could not produce rows meeting the conditions.
    """
    load_libraries()
    report = progress or null_progress
    if getattr(synthesizer, "studio_shape", "table") == "sequence":
        return _generate_entities(synthesizer, model_id, rows, seed, schema, real_example,
                                  fixed_values, rebalance_column, class_shares, report)
    if not 1 <= rows <= _MAX_ROWS:
        raise ParameterError(f"Rows must be between 1 and {_MAX_ROWS:,}; got {rows:,}.")
    fixed = dict(fixed_values or {})
    shares = validate_class_shares(class_shares) if class_shares else {}
    conditioned = list(fixed) + ([rebalance_column] if shares and rebalance_column else [])
    if schema is not None:
        allowed = set(schema.modelled_columns)
        for column in conditioned:
            if column not in allowed:
                raise ParameterError(
                    f"'{column}' cannot be conditioned on: only columns the model learned "
                    f"can be ({', '.join(sorted(allowed))})."
                )
    if real_example is not None:
        fixed = {column: _typed_value(real_example[column].dtype, value, column)
                 for column, value in fixed.items()}
    started = time.monotonic()
    _reset_randomness(synthesizer, seed)
    text_models = getattr(synthesizer, "studio_text_models", None) or {}
    # Writing text takes longer than sampling rows: give it most of the bar.
    rows_report = scaled(report, 0.0, 0.3) if text_models else report
    if not conditioned:
        frame = _sample_plain(synthesizer, rows, rows_report)
    else:
        frame = _sample_conditions(synthesizer, rows, fixed, rebalance_column, shares,
                                   real_example, rows_report)
    frame = _finished(frame, synthesizer, text_models, seed, schema, report)
    if schema is not None and schema.fake_specs:
        report(0.99, "Filling personal-data columns with fake values…")
        frame = add_fake_columns(frame, schema.fake_specs, schema.kept_columns, seed)
    report(1.0, f"Generated {len(frame):,} rows.")
    return GeneratedSample(
        frame=frame, model_id=model_id, seed=seed, fixed_values=fixed,
        class_shares=shares, rebalanced_column=rebalance_column if shares else None,
        seconds=time.monotonic() - started,
    )


def _finished(frame: pd.DataFrame, synthesizer: Any, text_models: Mapping[str, Any], seed: int,
              schema: TableSchema | None, report: ProgressCallback) -> pd.DataFrame:
    """Sampled rows made whole: their text written, ids in the real format, dates in zone.

    The text takes the progress bar from 30 % to 99 %.
    """
    if text_models:
        frame = _write_text(frame, text_models, seed, schema, scaled(report, 0.3, 0.99))
    frame = _ids_in_real_format(frame, synthesizer, seed)
    if schema is not None:
        frame = _in_their_zones(frame, schema)
    return frame


#: Entities per call to a sequence model (the progress bar moves between calls).
_BATCH_ENTITIES = 500


def max_entities(synthesizer: Any) -> int:
    """The most entities one request may ask of a sequence model.

    Bounded so that entities x the mean events per training entity stays within the row
    limit of plain sampling (5,000,000).
    """
    mean = float(getattr(synthesizer, "mean_events_", 0.0) or 1.0)
    return max(int(_MAX_ROWS / max(mean, 1.0)), 1)


def _generate_entities(synthesizer: Any, model_id: str, entities: int, seed: int,
                       schema: TableSchema | None, real_example: pd.DataFrame | None,
                       fixed_values: Mapping[str, Any] | None, rebalance_column: str | None,
                       class_shares: Mapping[str, float] | None,
                       report: ProgressCallback) -> GeneratedSample:
    """:func:`generate` for a sequence model: ``entities`` new entities with their events."""
    limit = max_entities(synthesizer)
    if not 1 <= entities <= limit:
        raise ParameterError(
            f"Entities must be between 1 and {limit:,} (each brings its events: about "
            f"{float(getattr(synthesizer, 'mean_events_', 1.0)):.0f} per entity); got "
            f"{entities:,}.")
    fixed = dict(fixed_values or {})
    shares = validate_class_shares(class_shares) if class_shares else {}
    sequence = schema.sequence if schema is not None else None
    context = list(sequence.context) if sequence is not None else list(
        getattr(synthesizer, "context", None) or getattr(synthesizer, "context_columns", []))
    conditioned = list(fixed) + ([rebalance_column] if shares and rebalance_column else [])
    for column in conditioned:
        if column not in context:
            allowed = (f"its context columns ({', '.join(context)})" if context else
                       "nothing: this model has no context columns (set some on the Data "
                       "page, e.g. an account type, and train again)")
            raise ParameterError(
                f"'{column}' cannot be fixed for new sequences: it changes from event to "
                f"event. Only values constant per entity can be fixed, that is {allowed}.")
    if real_example is not None:
        fixed = {column: _typed_value(real_example[column].dtype, value, column)
                 for column, value in fixed.items()}
    started = time.monotonic()
    _reset_randomness(synthesizer, seed)
    groups: list[tuple[dict[str, Any], int]] = [(fixed, entities)]
    if shares and rebalance_column is not None:
        groups = []
        for label, count in _apportion(entities, shares).items():
            value: Any = label
            if real_example is not None:
                value = _match_label(real_example[rebalance_column], label)
            groups.append(({**fixed, rebalance_column: value}, count))
    text_models = getattr(synthesizer, "studio_text_models", None) or {}
    rows_report = scaled(report, 0.0, 0.3) if text_models else report
    parts, done = [], 0
    for values, count in groups:
        for first in range(0, count, _BATCH_ENTITIES):
            size = min(_BATCH_ENTITIES, count - first)
            try:
                parts.append(synthesizer.sample_entities(size, values or None))
            except (ParameterError, SamplingError):
                raise
            except Exception as error:  # the libraries' long texts
                raise SamplingError(
                    f"The model could not generate sequences with {_describe(values)}: "
                    f"{str(error)[:200]}. Try a value seen in the training data."
                    if values else f"Generating sequences failed: {str(error)[:200]}."
                ) from error
            done += size
            rows_report(done / entities * 0.99, f"Generated {done:,} of {entities:,} "
                        "sequences…")
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame = _in_sequence_order(frame, synthesizer, sequence)
    frame = _finished(frame, synthesizer, text_models, seed, schema, report)
    if schema is not None and schema.fake_specs:
        report(0.99, "Filling personal-data columns with fake values…")
        order = [*schema.kept_columns,
                 *(c for c in frame.columns if c not in schema.kept_columns)]
        frame = add_fake_columns(frame, schema.fake_specs, order, seed)
        frame = _one_value_per_entity(frame, sequence, [name for name, _ in schema.fake_specs])
    key = sequence.key if sequence is not None else None
    count = int(frame[key].nunique()) if key in frame.columns else entities
    report(1.0, f"Generated {count:,} sequences ({len(frame):,} events).")
    return GeneratedSample(
        frame=frame, model_id=model_id, seed=seed, fixed_values=fixed, class_shares=shares,
        rebalanced_column=rebalance_column if shares else None,
        seconds=time.monotonic() - started)


def _one_value_per_entity(frame: pd.DataFrame, sequence: Any, faked: list[str]
                          ) -> pd.DataFrame:
    """A faked context column (an account holder's name) keeps one value per new entity."""
    if sequence is None:
        return frame
    constant = [c for c in faked if c in sequence.context and c in frame.columns]
    for column in constant:
        frame[column] = frame.groupby(sequence.key, sort=False)[column].transform("first")
    return frame


def _in_sequence_order(frame: pd.DataFrame, synthesizer: Any, sequence: Any) -> pd.DataFrame:
    """Events sorted by key, then order column (stable: equal times keep their order)."""
    key = sequence.key if sequence is not None else getattr(synthesizer, "key", None)
    index = sequence.index if sequence is not None else getattr(synthesizer, "index", None)
    columns = [c for c in (key, index) if c is not None and c in frame.columns]
    if not columns:
        return frame.reset_index(drop=True)
    return frame.sort_values(columns, kind="stable", na_position="last").reset_index(drop=True)


def _write_text(frame: pd.DataFrame, text_models: Mapping[str, Any], seed: int,
                schema: TableSchema | None, report: ProgressCallback) -> pd.DataFrame:
    """Fill each text column from the sampled rows, in batches, seeded per column."""
    frame = frame.copy()
    columns = list(text_models)
    for position, column in enumerate(columns):
        part = scaled(report, position / len(columns), (position + 1) / len(columns))
        part(0.0, f"Writing text for '{column}'…")

        def written(done: int, total: int, column: str = column,
                    part: ProgressCallback = part) -> None:
            part(done / max(total, 1), f"Writing text for '{column}': {done:,} of {total:,} "
                 "rows…")

        # Each column its own stream: adding a text column leaves the others' text as it was.
        column_seed = (int(seed) * 1_000_003 + zlib.crc32(column.encode())) % (2**63)
        texts = text_models[column].generate(frame, seed=column_seed, progress=written)
        frame[column] = texts.to_numpy(dtype=object)
    order = schema.kept_columns if schema is not None else list(frame.columns)
    return frame[[c for c in order if c in frame.columns]
                 + [c for c in frame.columns if c not in order]]


def _id_regexes(synthesizer: Any) -> dict[str, str]:
    """The real formats the model carries for its id columns (``core.engine.metadata``)."""
    data = getattr(synthesizer, "metadata_dict", None)  # core.engine.stratified
    if data is None:
        metadata = getattr(synthesizer, "metadata", None)
        data = metadata.to_dict() if hasattr(metadata, "to_dict") else {}
    columns = data.get("tables", {}).get(TABLE_NAME, {}).get("columns", {})
    return {name: info["regex_format"] for name, info in columns.items()
            if info.get("sdtype") == "id" and info.get("regex_format")}


def _ids_in_real_format(frame: pd.DataFrame, synthesizer: Any, seed: int) -> pd.DataFrame:
    """Replace SDV's ids with unique ids drawn at random in the real format.

    SDV enumerates a format from its start (CUST-000000, CUST-000001…), which gives back
    real ids numbered that way; its batches and per-class models even repeat values.
    Models trained without a format keep SDV's ids.
    """
    formats = {name: regex for name, regex in _id_regexes(synthesizer).items()
               if name in frame.columns}
    if not formats:
        return frame
    frame = frame.copy()
    for name, regex in formats.items():
        integer = pd.api.types.is_integer_dtype(frame[name])
        ids = make_ids(regex, len(frame), seed, name, integer=integer)
        if ids is not None:
            frame[name] = ids
    return frame


def _in_their_zones(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Give dates back in the zone the real column was written in (models work in UTC)."""
    zoned = [c for c in schema.columns if c.timezone and c.name in frame.columns
             and pd.api.types.is_datetime64_dtype(frame[c.name])]
    if not zoned:
        return frame
    frame = frame.copy()
    for column in zoned:
        frame[column.name] = frame[column.name].dt.tz_localize("UTC").dt.tz_convert(
            column.timezone)
    return frame


def _sample_plain(synthesizer: Any, rows: int, report: ProgressCallback) -> pd.DataFrame:
    parts = []
    done = 0
    while done < rows:
        batch = min(_BATCH_ROWS, rows - done)
        parts.append(synthesizer.sample(batch)["data"])
        done += batch
        report(done / rows * 0.99, f"Generated {done:,} of {rows:,} rows…")
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _sample_conditions(
    synthesizer: Any,
    rows: int,
    fixed: dict[str, Any],
    column: str | None,
    shares: dict[str, float],
    real_example: pd.DataFrame | None,
    report: ProgressCallback,
) -> pd.DataFrame:
    from sdv.sampling import Condition

    groups: list[tuple[dict[str, Any], int]] = []
    if shares and column is not None:
        counts = _apportion(rows, shares)
        for label, count in counts.items():
            value: Any = label
            if real_example is not None:
                value = _match_label(real_example[column], label)
            groups.append(({**fixed, column: value}, count))
    else:
        groups.append((fixed, rows))
    parts = []
    done = 0
    for values, count in groups:
        if count == 0:
            continue
        report(done / rows * 0.99, f"Generating rows with {_describe(values)}…")
        try:
            sampled = synthesizer.sample_from_conditions(
                [Condition(column_values=values, num_rows=count)], max_tries_per_batch=100
            )["data"]
        except Exception as error:  # SDV raises ValueError/others with long texts
            raise SamplingError(_explain_condition_failure(values, synthesizer, error)) from error
        if len(sampled) < count:
            raise SamplingError(_explain_condition_failure(values, synthesizer, None,
                                                           got=len(sampled), wanted=count))
        parts.append(sampled)
        done += count
    frame = pd.concat(parts, ignore_index=True)
    # Conditioned groups come out one after another: shuffle so files look natural.
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def _apportion(rows: int, shares: dict[str, float]) -> dict[str, int]:
    """Split ``rows`` by shares with counts that add up exactly (largest remainder)."""
    raw = {label: rows * share for label, share in shares.items()}
    counts = {label: int(math.floor(value)) for label, value in raw.items()}
    leftover = rows - sum(counts.values())
    for label in sorted(raw, key=lambda lab: raw[lab] - counts[lab], reverse=True)[:leftover]:
        counts[label] += 1
    return counts


def _match_label(series: pd.Series, label: str) -> Any:
    for value in series.dropna().unique():
        if str(value) == label:
            return value.item() if hasattr(value, "item") else value
    raise ParameterError(f"'{label}' is not a value of '{series.name}' in the training data.")


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{column} = {value!r}" for column, value in values.items())


def _explain_condition_failure(values: Mapping[str, Any], synthesizer: Any,
                               error: Exception | None, got: int = 0, wanted: int = 0) -> str:
    # The studio's deep synthesizers are subclasses named "Studio" + SDV's class name.
    kind = type(synthesizer).__name__.removeprefix("Studio").replace("Synthesizer", "")
    direct = {"GaussianCopula": "The Gaussian Copula conditions",
              "ClassStratified": "The Gaussian Copula conditions",
              "SequentialTrees": "The decision trees condition",
              "TabularARGN": "TabularARGN conditions"}
    how = (f"{direct[kind]} directly, so the value is probably outside what it learned."
           if kind in direct else
           f"{kind} cannot condition directly: it generates rows and keeps those that match "
           "(reject sampling), so rare or impossible values rarely appear.")
    amount = f" (got {got:,} of {wanted:,})" if wanted else ""
    return (f"The model could not generate enough rows with {_describe(values)}{amount}. "
            f"{how} Try a more common value, fewer rows, no exact numeric values (they almost "
            "never match), or a Gaussian Copula model.")


def export_bytes(frame: pd.DataFrame, fmt: str, *, excel_safe: bool = False) -> bytes:
    """Serialise rows for download.

    Excel files hold every text value as text, never as a formula or an error value: a
    synthetic category copied from hostile real data, such as ``=HYPERLINK(...)``, stays
    the visible string it was, without any added character.

    Args:
        frame: The rows.
        fmt: A key of :data:`EXPORT_FORMATS`.
        excel_safe: CSV only: put ``'`` before text cells that a spreadsheet would run as a
            formula (see :func:`guard_formula_cells`; numbers are left alone) and end rows
            with CRLF, as Excel and RFC 4180 do, so every cell holding a CR is quoted and
            cannot start a new, unguarded row. Off gives plain CSV. Parquet and Excel
            ignore it.

    Raises:
        ParameterError: Unknown format, or too many rows for Excel.
    """
    if fmt not in EXPORT_FORMATS:
        raise ParameterError(f"Unknown format '{fmt}'; choose {', '.join(EXPORT_FORMATS)}.")
    buffer = io.BytesIO()
    if fmt == "CSV":
        if excel_safe:
            # The csv module quotes a field only for line-end characters it writes itself.
            text = guard_formula_cells(frame).to_csv(index=False, lineterminator="\r\n")
        else:
            text = frame.to_csv(index=False)
        buffer.write(text.encode("utf-8"))
    elif fmt == "Parquet":
        frame.to_parquet(buffer, index=False)
    else:
        if len(frame) > _EXCEL_MAX_ROWS:
            raise ParameterError(
                f"Excel holds at most {_EXCEL_MAX_ROWS:,} rows per sheet; this sample has "
                f"{len(frame):,}. Download CSV or Parquet instead."
            )
        excel = frame.copy()
        for column in excel.columns:
            if isinstance(excel[column].dtype, pd.DatetimeTZDtype):
                excel[column] = excel[column].dt.tz_localize(None)
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            excel.to_excel(writer, sheet_name=_EXCEL_SHEET, index=False)
            _keep_strings_as_text(writer.sheets[_EXCEL_SHEET], excel)
    return buffer.getvalue()


def _is_text_column(dtype: Any) -> bool:
    """Object, string and category columns: the only ones whose cells can be strings."""
    return (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype))


def _keep_strings_as_text(sheet: Any, frame: pd.DataFrame) -> None:
    """Undo openpyxl's guess that a string is a formula (``=…``) or an error (``#N/A``).

    openpyxl decides a cell's type from its value when pandas assigns it; setting the type
    back to string makes it write the value as an inline string, which Excel shows as text.
    """
    text_columns = [position + 1 for position, dtype in enumerate(frame.dtypes)
                    if _is_text_column(dtype)]
    cells = [cell for row in sheet.iter_rows(min_row=1, max_row=1) for cell in row]
    for column in text_columns:
        cells.extend(cell for (cell,) in sheet.iter_rows(min_row=2, min_col=column,
                                                         max_col=column))
    for cell in cells:
        if cell.data_type in ("f", "e") and isinstance(cell.value, str):
            cell.data_type = "s"


def _guard_text(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def guard_formula_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Make rows safe to open as CSV in Excel, LibreOffice or Google Sheets.

    A text cell that starts with one of :data:`FORMULA_STARTS` (``=``, ``+``, ``-``, ``@``,
    tab, carriage return) gets a leading ``'``, which spreadsheets read as "this is text"
    and do not show. Only strings in object, string and category columns, and string column
    names, count as text cells: numbers are data, so ``-3`` in a numeric column is left as
    it is (the string ``"-3"`` in a text column is guarded). Missing values and every other
    cell are unchanged.

    Args:
        frame: The rows (not modified).

    Returns:
        ``frame`` itself when no cell needs guarding, else a copy with the guarded cells.
    """
    guarded: pd.DataFrame | None = None
    for position, dtype in enumerate(frame.dtypes):
        if not _is_text_column(dtype):
            continue
        values = frame.iloc[:, position].to_numpy(dtype=object)
        risky = [isinstance(value, str) and value.startswith(FORMULA_STARTS)
                 for value in values]
        if not any(risky):
            continue
        if guarded is None:
            guarded = frame.copy()
        guarded.isetitem(position, pd.Series([_guard_text(value) for value in values],
                                             index=frame.index, dtype=object))
    names = [_guard_text(name) for name in frame.columns]
    if names != list(frame.columns):
        guarded = frame.copy() if guarded is None else guarded
        guarded.columns = names
    return frame if guarded is None else guarded
