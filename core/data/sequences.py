"""Event tables: recognising the entity and order columns, checking them, ordering the rows.

An event table holds one row per event of an entity (an account's transactions, a ticker's
daily prices, a customer's app events). :class:`~core.data.schema.SequenceSpec` names the
entity key, the column that orders each entity's rows and the context columns that are
constant per entity. This module

* suggests such a description from the values (:func:`suggest_sequence`), conservatively:
  an ordinary table of independent rows gets None;
* applies a confirmed description to a schema (:func:`declare_sequence`): the key becomes an
  identifier, the order column a date or a number;
* checks a description against the data (:func:`check_sequence`), each finding a
  :class:`SequenceIssue` in plain words that says what the studio will do about it;
* puts the rows in sequence order (:func:`order_events`), the one ordering training and
  evaluation use.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.data.schema import SequenceSpec, TableSchema, as_timestamps
from core.errors import MetadataError

__all__ = [
    "MIN_ENTITIES",
    "SequenceIssue",
    "check_sequence",
    "declare_sequence",
    "entity_noun",
    "order_events",
    "order_values",
    "suggest_sequence",
]

#: Fewer entities than this cannot be split into training and held-out entities.
MIN_ENTITIES = 4

# Suggestion thresholds (conservative: a wrong suggestion costs the user more than none).
_SUGGEST_MIN_ENTITIES = 10  # fewer: more likely a category than an entity
_SUGGEST_MIN_MULTI_SHARE = 0.8  # share of entities with at least two rows
_SUGGEST_MIN_VARYING_SHARE = 0.8  # share of those whose order column takes several values
_SUGGEST_MAX_DUPLICATE_SHARE = 0.2  # events sharing their order value with another
_SUGGEST_STEP_INCREASING_SHARE = 0.95  # consecutive steps of an entity that go up
# Words that name an entity column ("account_id", "ticker", "customer", "device").
_ENTITY_WORDS = {
    "id", "key", "uuid", "guid", "account", "customer", "client", "user", "ticker", "symbol",
    "device", "sensor", "patient", "member", "entity", "subscriber", "household", "instrument",
    "machine", "station", "asset", "store", "vehicle", "portfolio", "policy", "contract",
}
_UTC_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class SequenceIssue:
    """One finding of :func:`check_sequence`.

    Attributes:
        kind: What was found: ``missing_columns``, ``key_is_index``, ``context_overlap``,
            ``missing_key``, ``missing_order``, ``unreadable_order``, ``few_entities``,
            ``single_event``, ``unsorted``, ``duplicate_order``, ``mixed_timezones``,
            ``step_gaps`` or ``context_varies``.
        severity: ``"error"`` (the studio cannot train on the table as described) or
            ``"warning"`` (it can; the message says what it does about it).
        count: How many rows, entities or columns are affected (see ``unit``).
        message: Plain words: the number, what it means and what the studio will do.
        unit: What ``count`` counts: ``"rows"``, ``"entities"`` or ``"columns"``.
        column: The column concerned, when there is one.
    """

    kind: str
    severity: str
    count: int
    message: str
    unit: str = "rows"
    column: str | None = None


# --------------------------------------------------------------------------- helpers


def entity_noun(key: str) -> str:
    """The plural word for the entities of ``key`` ("account_id" -> "accounts")."""
    words = [w for w in re.split(r"[^a-zA-Z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", key).lower())
             if w and w not in {"id", "key", "no", "number", "code", "uuid", "guid"}]
    if not words:
        return "entities"
    word = words[-1]
    if word.endswith("s"):
        return word
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def _one(noun: str) -> str:
    """The singular of :func:`entity_noun`'s plural ("accounts" -> "account")."""
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") else noun


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _entity_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of the entity values (-1 for missing) and the number of entities."""
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # mixed types cannot be compared: order them as text
        codes, uniques = pd.factorize(series.map(str, na_action="ignore"), sort=True)
    return codes.astype(np.int64), len(uniques)


def _is_whole_numbers(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return False
    values = series.dropna().to_numpy(dtype=float)
    return values.size > 0 and bool(np.all(np.mod(values, 1) == 0))


def order_values(series: pd.Series) -> tuple[np.ndarray, str] | None:
    """An order column as sortable float values (NaN when missing) and its kind.

    The kind is ``"datetime"`` (dates and times on one UTC time line, as
    :func:`core.data.schema.as_timestamps` reads them, in seconds) or ``"number"``.
    Returns None when the column is neither numbers nor dates.
    """
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan), "number"
    present = series.notna()
    stamps = as_timestamps(series)
    if not present.any() or stamps[present].isna().mean() > 0.1:
        return None
    seconds = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float) / 1e9
    seconds[stamps.isna().to_numpy()] = np.nan
    return seconds, "datetime"


def _within_entity_pairs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order grouped by entity (file order kept inside each) and which neighbours pair."""
    order = np.argsort(codes, kind="stable")
    grouped = codes[order]
    same = (grouped[1:] == grouped[:-1]) & (grouped[1:] >= 0)
    return order, same


# --------------------------------------------------------------------------- suggestion


def _key_candidates(frame: pd.DataFrame, schema: TableSchema) -> list[str]:
    from core.data.schema import _tokens  # the one tokenizer of column names

    names: list[str] = []
    for column in schema.columns:
        if column.name not in frame.columns or column.action in ("drop", "generate"):
            continue
        # Detection proposes faking a category with very many values (not personal data:
        # ``pii`` stays False); a repeating account number is exactly that.
        if column.pii or column.sdtype in ("numerical", "datetime", "boolean", "text"):
            continue
        series = frame[column.name]
        if pd.api.types.is_float_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if column.sdtype != "id" and not (_tokens(column.name) & _ENTITY_WORDS
                                          or column.name.lower().endswith("id")):
            continue
        names.append(column.name)
    return names


def _order_candidates(frame: pd.DataFrame, schema: TableSchema, key: str) -> list[str]:
    names = []
    for column in schema.columns:
        if column.name == key or column.name not in frame.columns or column.action == "drop":
            continue
        if column.sdtype == "datetime" or _is_whole_numbers(frame[column.name]):
            names.append(column.name)
    return names


def _order_score(values: np.ndarray, kind: str, order: np.ndarray,
                 same: np.ndarray, multi_entities: int) -> float | None:
    """How well a column orders the entities' rows (None: it does not)."""
    ordered = values[order]
    previous, current = ordered[:-1][same], ordered[1:][same]
    known = ~(np.isnan(previous) | np.isnan(current))
    if known.sum() == 0 or multi_entities == 0:
        return None
    differences = current[known] - previous[known]
    duplicate_share = float(np.mean(differences == 0))
    if duplicate_share > _SUGGEST_MAX_DUPLICATE_SHARE:
        return None
    if kind == "number":
        # A step: it goes up from one event to the next within almost every entity.
        if np.mean(differences > 0) < _SUGGEST_STEP_INCREASING_SHARE:
            return None
        return 1.0 - duplicate_share
    return 2.0 - duplicate_share  # dates are preferred to numbers


def suggest_sequence(frame: pd.DataFrame, schema: TableSchema) -> SequenceSpec | None:
    """Suggest how the rows form sequences, or None for a table of independent rows.

    A key is suggested when a column names entities (an identifier, or a category whose
    name says so: ``account_id``, ``ticker``, ``customer``), at least 10 entities, nearly
    all of them with two rows or more; and another column orders each entity's rows (a date
    that changes from event to event, or a whole-number step that goes up within every
    entity). Among several keys, the one with the fewest entities wins (sessions within a
    customer: the customer). Context: the modelled columns that hold one value per entity.

    Args:
        frame: The table.
        schema: Its detected or reviewed schema (personal-data, dropped and free-text
            columns never become the key).

    Returns:
        The suggestion for the user to confirm, or None.
    """
    rows = len(frame)
    if rows < 2 * _SUGGEST_MIN_ENTITIES:
        return None
    best: tuple[tuple[float, int], str, str] | None = None
    for key in _key_candidates(frame, schema):
        codes, entities = _entity_codes(frame[key])
        if entities < _SUGGEST_MIN_ENTITIES or entities > rows / 2:
            continue
        counts = np.bincount(codes[codes >= 0], minlength=entities)
        multi = int(np.sum(counts >= 2))
        if multi < _SUGGEST_MIN_MULTI_SHARE * entities:
            continue
        order, same = _within_entity_pairs(codes)
        for index in _order_candidates(frame, schema, key):
            read = order_values(frame[index])
            if read is None:
                continue
            values, kind = read
            if not _varies_within(values, codes, counts):
                continue
            score = _order_score(values, kind, order, same, multi)
            if score is None:
                continue
            rank = (score, -entities)
            if best is None or rank > best[0]:
                best = (rank, key, index)
    if best is None:
        return None
    _, key, index = best
    return SequenceSpec(key=key, index=index,
                        context=tuple(_constant_columns(frame, schema, key, index)))


def _varies_within(values: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> bool:
    """True when the column takes several values within most multi-row entities."""
    keep = (codes >= 0) & ~np.isnan(values)
    distinct = pd.Series(values[keep]).groupby(codes[keep]).nunique()
    multi = counts[distinct.index.to_numpy()] >= 2
    if not multi.any():
        return False
    return float(np.mean(distinct.to_numpy()[multi] > 1)) >= _SUGGEST_MIN_VARYING_SHARE


def _constant_columns(frame: pd.DataFrame, schema: TableSchema, key: str,
                      index: str | None) -> list[str]:
    """Modelled columns with one value per entity (missing counts as a value)."""
    names = [c.name for c in schema.columns
             if c.name not in (key, index) and c.name in frame.columns
             and c.action in ("model", "keep") and c.sdtype != "id"]
    if not names:
        return []
    present = frame[key].notna()
    distinct = frame.loc[present, names].groupby(frame.loc[present, key], sort=False,
                                                 dropna=True).nunique(dropna=False)
    return [name for name in names if bool((distinct[name] <= 1).all())]


# --------------------------------------------------------------------------- declaring


def declare_sequence(schema: TableSchema, spec: SequenceSpec | None,
                     frame: pd.DataFrame | None = None) -> TableSchema:
    """Apply a confirmed sequence description to a schema (None: independent rows).

    The key becomes an identifier (never learned as a category, never faked), the order
    column a date (or a number, for a step column), and the table's primary key is cleared
    when it is the key or the order column (both repeat in an event table).

    Args:
        schema: The table's schema.
        spec: The description, or None to go back to independent rows.
        frame: The rows, to tell a date order column from a numeric one when the schema
            does not say.

    Raises:
        MetadataError: A named column is not in the schema, or the key is also the order
            or a context column.
    """
    if spec is None:
        return schema.with_sequence(None)
    known = {c.name for c in schema.columns}
    named = [spec.key, *([spec.index] if spec.index else []), *spec.context]
    missing = [name for name in named if name not in known]
    if missing:
        raise MetadataError(
            f"The sequence names {', '.join(repr(m) for m in missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not in the table. Pick columns of the table."
        )
    if spec.index == spec.key or spec.key in spec.context or (spec.index in spec.context):
        raise MetadataError(
            "The entity key, the order column and the context columns must be different "
            "columns. Pick the order and context columns again."
        )
    noun = entity_noun(spec.key)
    key = schema.column(spec.key)
    schema = schema.with_column(replace(
        key, sdtype="id", pii=False, action="model", datetime_format=None, timezone=None,
        note=(f"entity key: the rows of each of the {noun} form one sequence; new "
              f"{noun} get fresh keys"),
    ))
    if spec.index is not None:
        column = schema.column(spec.index)
        is_date = column.sdtype == "datetime"
        if not is_date and frame is not None and spec.index in frame.columns:
            read = order_values(frame[spec.index])
            is_date = read is not None and read[1] == "datetime"
        sdtype = "datetime" if is_date else "numerical"
        schema = schema.with_column(replace(
            column, sdtype=sdtype, pii=False, action="model",
            datetime_format=column.datetime_format if is_date else None,
            timezone=column.timezone if is_date else None,
            note="; ".join(p for p in (f"orders the events of each of the {noun} (sequence "
                                       "order)",
                                       column.note if column.sdtype == sdtype else "") if p),
        ))
    if schema.primary_key in (spec.key, spec.index):
        schema = replace(schema, primary_key=None)
    return schema.with_sequence(spec)


# --------------------------------------------------------------------------- checking


def _structure_issues(frame: pd.DataFrame, spec: SequenceSpec) -> list[SequenceIssue]:
    named = [spec.key, *([spec.index] if spec.index else []), *spec.context]
    missing = [name for name in named if name not in frame.columns]
    if missing:
        return [SequenceIssue(
            "missing_columns", "error", len(missing),
            f"{', '.join(repr(m) for m in missing)} {'is' if len(missing) == 1 else 'are'} not "
            "in the table. Pick the entity key, order and context columns among its columns.",
            unit="columns", column=missing[0])]
    issues = []
    if spec.index is not None and spec.index == spec.key:
        issues.append(SequenceIssue(
            "key_is_index", "error", 1,
            f"'{spec.key}' is both the entity key and the order column. The order column "
            "must be another column that orders each entity's events (a time or a step "
            "number).", unit="columns", column=spec.key))
    overlap = [c for c in spec.context if c in (spec.key, spec.index)]
    if overlap:
        issues.append(SequenceIssue(
            "context_overlap", "error", len(overlap),
            f"{', '.join(repr(c) for c in overlap)} cannot be a context column: it is the "
            "entity key or the order column. Remove it from the context columns.",
            unit="columns", column=overlap[0]))
    return issues


def check_sequence(frame: pd.DataFrame, spec: SequenceSpec) -> list[SequenceIssue]:
    """Check a sequence description against the data, errors first.

    Args:
        frame: The event table (as loaded).
        spec: The entity key, order column and context columns to check.

    Returns:
        The findings; an empty list when the table is a clean event table. Errors block
        training; warnings say what the studio does about them.
    """
    issues = _structure_issues(frame, spec)
    if issues:
        return issues
    noun = entity_noun(spec.key)
    key = frame[spec.key]
    missing_key = int(key.isna().sum())
    if missing_key:
        issues.append(SequenceIssue(
            "missing_key", "warning", missing_key,
            f"{_plural(missing_key, 'row has', 'rows have')} no value in '{spec.key}', so "
            f"they belong to none of the {noun}: the studio leaves them out.",
            column=spec.key))
    kept = frame[key.notna()]
    codes, entities = _entity_codes(kept[spec.key])
    if kept.empty:
        return [SequenceIssue(
            "few_entities", "error", 0,
            f"'{spec.key}' is empty in every row, so the table holds no {noun}. Pick the "
            "column that names each entity as the key.", unit="entities", column=spec.key),
            *issues]
    counts = np.bincount(codes, minlength=entities) if entities else np.zeros(0, np.int64)
    if entities < MIN_ENTITIES:
        issues.append(SequenceIssue(
            "few_entities", "error", entities,
            f"Only {_plural(entities, 'value', 'different values')} of '{spec.key}' "
            f"({noun}): at least {MIN_ENTITIES} are needed to hold some {noun} out for "
            "testing and still train. Load more of them, or pick another entity key.",
            unit="entities", column=spec.key))
    single = int(np.sum(counts == 1))
    if single:
        issues.append(SequenceIssue(
            "single_event", "warning", single,
            f"{_plural(single, _one(noun), noun)} "
            f"{'has' if single == 1 else 'have'} a single event; "
            f"{'it is' if single == 1 else 'they are'} kept, but a sequence model learns "
            "little from them.", unit="entities", column=spec.key))
    if spec.index is not None:
        issues += _order_issues(kept, spec, codes, noun)
    issues += _context_issues(kept, spec, codes, noun)
    return sorted(issues, key=lambda issue: issue.severity != "error")


def _order_issues(frame: pd.DataFrame, spec: SequenceSpec, codes: np.ndarray,
                  noun: str) -> list[SequenceIssue]:
    index = spec.index
    assert index is not None
    series = frame[index]
    read = order_values(series)
    if read is None:
        return [SequenceIssue(
            "unreadable_order", "error", int(series.notna().sum()),
            f"'{index}' holds neither dates nor numbers, so it cannot order the events. "
            "Pick a time or step column as the order column, or none.", column=index)]
    values, kind = read
    issues: list[SequenceIssue] = []
    missing = int(np.isnan(values).sum())
    if missing:
        unreadable = int(np.isnan(values).sum() - series.isna().sum())
        extra = f" ({unreadable:,} of them could not be read as dates)" if unreadable else ""
        issues.append(SequenceIssue(
            "missing_order", "warning", missing,
            f"{_plural(missing, 'row has', 'rows have')} no value in '{index}'{extra}: "
            f"the studio keeps them at the end of their {_one(noun)}'s"
            " sequence, in file order.", column=index))
    order, same = _within_entity_pairs(codes)
    ordered = values[order]
    previous, current = ordered[:-1][same], ordered[1:][same]
    known = ~(np.isnan(previous) | np.isnan(current))
    pair_entities = codes[order][1:][same]
    backwards = known & (current < previous)
    if backwards.any():
        unsorted = int(np.unique(pair_entities[backwards]).size)
        issues.append(SequenceIssue(
            "unsorted", "warning", unsorted,
            f"The rows of {_plural(unsorted, _one(noun), noun)} "
            f"are not in '{index}' order in the file: the studio sorts the events by "
            f"'{spec.key}', then '{index}'.", unit="entities", column=index))
    # Duplicates: any two events of an entity with the same order value (sorted or not).
    valid = ~np.isnan(values)
    pairs = pd.DataFrame({"entity": codes[valid], "value": values[valid]})
    duplicated = int(pairs.duplicated().sum())
    if duplicated:
        issues.append(SequenceIssue(
            "duplicate_order", "warning", duplicated,
            f"{_plural(duplicated, 'event has', 'events have')} the same '{index}' as an "
            f"earlier event of the same {_one(noun)}: the "
            "studio keeps both, in file order.", column=index))
    if kind == "datetime":
        issues += _zone_issues(series, index)
    elif _is_whole_numbers(series):
        # Gaps in sequence order (sorted within each entity), whatever the file order.
        ranked = np.lexsort((np.where(np.isnan(values), np.inf, values), codes))
        steps, entity = values[ranked], codes[ranked]
        gaps_at = (entity[1:] == entity[:-1]) & (steps[1:] - steps[:-1] > 1)
        gaps_at &= ~np.isnan(steps[1:])
        if gaps_at.any():
            with_gaps = int(np.unique(entity[1:][gaps_at]).size)
            first = int(np.argmax(gaps_at))
            issues.append(SequenceIssue(
                "step_gaps", "warning", with_gaps,
                f"The step numbers in '{index}' skip values in "
                f"{_plural(with_gaps, _one(noun), noun)} "
                f"(e.g. {int(steps[first])} then {int(steps[first + 1])}): the studio keeps "
                "the steps as they are and orders by them; a missing step is not filled in.",
                unit="entities", column=index))
    return issues


def _zone_issues(series: pd.Series, index: str) -> list[SequenceIssue]:
    """Different UTC offsets, or times with and without one, in the order column."""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        return []
    text = series.dropna().astype(str).str.strip()
    if text.empty:
        return []
    offsets = text.str.extract(f"({_UTC_OFFSET.pattern})")[0]
    with_zone = int(offsets.notna().sum())
    distinct = int(offsets.dropna().str.replace(":", "").replace("Z", "+0000").nunique())
    if with_zone == 0 or (with_zone == len(text) and distinct <= 1):
        return []
    without = len(text) - with_zone
    if without:
        message = (f"{_plural(without, 'time in', 'times in')} '{index}' "
                   f"{'has' if without == 1 else 'have'} no time zone while "
                   f"{with_zone:,} {'has' if with_zone == 1 else 'have'} one: the studio puts "
                   "every time on one UTC time line and reads the ones without a zone as UTC.")
        count = without
    else:
        message = (f"The times in '{index}' are written with {distinct} different UTC offsets "
                   "(a daylight-saving change, or several zones): the studio puts every time on "
                   "one UTC time line before ordering, so events keep their true order.")
        count = with_zone
    return [SequenceIssue("mixed_timezones", "warning", count, message, column=index)]


def _context_issues(frame: pd.DataFrame, spec: SequenceSpec, codes: np.ndarray,
                    noun: str) -> list[SequenceIssue]:
    if not spec.context or frame.empty:
        return []
    distinct = frame[list(spec.context)].groupby(codes, sort=True).nunique(dropna=False)
    issues = []
    one = _one(noun)
    for column in spec.context:
        varying = distinct[column] > 1
        count = int(varying.sum())
        if not count:
            continue
        example_code = int(distinct.index[varying.to_numpy()][0])
        example = frame[spec.key].to_numpy()[np.argmax(codes == example_code)]
        values = frame.loc[codes == example_code, column].drop_duplicates().head(2).tolist()
        issues.append(SequenceIssue(
            "context_varies", "error", count,
            f"'{column}' is not constant within {_plural(count, one, noun)} (e.g. "
            f"{spec.key} = {example!r} has {values[0]!r} and {values[1]!r}), so it cannot be "
            f"a context column. Remove it from the context columns: it is then learned per "
            "event.", unit="entities", column=column))
    return issues


# --------------------------------------------------------------------------- ordering


def order_events(frame: pd.DataFrame, spec: SequenceSpec) -> pd.DataFrame:
    """The events in sequence order: by entity, then by the order column, stably.

    Rows without an entity key are left out; rows without an order value come last within
    their entity; ties keep their file order. The values themselves are not changed.

    Args:
        frame: The event table.
        spec: Its sequence description.

    Returns:
        A new frame with a fresh 0..n-1 index.

    Raises:
        MetadataError: The key or order column is not in the table, or the order column
            holds neither dates nor numbers.
    """
    for name in (spec.key, spec.index):
        if name is not None and name not in frame.columns:
            raise MetadataError(f"'{name}' is not a column of the table. Pick the sequence's "
                                "columns again on the Data page.")
    kept = frame[frame[spec.key].notna()]
    codes, _ = _entity_codes(kept[spec.key])
    if spec.index is None:
        order = np.argsort(codes, kind="stable")
    else:
        read = order_values(kept[spec.index])
        if read is None:
            raise MetadataError(
                f"'{spec.index}' holds neither dates nor numbers, so it cannot order the "
                "events. Pick a time or step column as the order column, or none.")
        values = np.where(np.isnan(read[0]), np.inf, read[0])
        order = np.lexsort((values, codes))  # lexsort is stable: ties keep file order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kept.iloc[order].reset_index(drop=True)
