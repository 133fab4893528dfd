"""Column metadata: SDV's detection, corrected, and what to do with personal data.

SDV's ``Metadata.detect_from_dataframes`` is a good start but makes mistakes a user
should not have to know about: PII is inferred from column *names* only,
whole numbers with few values become ``ordinal`` (ordered by first appearance!),
booleans become categorical, and free-text or very high-cardinality columns are left
as categories that make CTGAN run for an hour. :func:`correct_detection` takes SDV's
answer (``core.engine.metadata`` runs SDV) and checks every column against its *values*,
writing the reason for each change into :attr:`ColumnSchema.note` so the user can see and
overrule it.

The result is a :class:`TableSchema`: one row per column with its sdtype, a PII flag and
an action (model it, replace it with Faker values, drop it, keep real values, or, for free
text, generate new text with a language model trained on the column).
:func:`to_sdv_metadata_dict` describes it as SDV metadata and :func:`prepare_training_frame`
applies it to the data (drops, date parsing).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.data.id_formats import derive_id_regex
from core.errors import MetadataError

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "BASE_SDTYPES",
    "PII_SDTYPES",
    "TABLE_NAME",
    "TEXT_SDTYPE",
    "ColumnSchema",
    "SequenceSpec",
    "TableSchema",
    "as_timestamps",
    "correct_detection",
    "prepare_training_frame",
    "schema_from_records",
    "suggest_target",
    "to_sdv_metadata_dict",
]

#: The single table's name inside SDV's metadata and data dicts.
TABLE_NAME = "data"

#: Types SDV learns from the data.
BASE_SDTYPES: tuple[str, ...] = ("numerical", "categorical", "boolean", "datetime", "id")

#: Kinds of personal or free-text data SDV can replace with Faker values, with a label.
PII_SDTYPES: dict[str, str] = {
    "name": "person name",
    "first_name": "first name",
    "last_name": "last name",
    "email": "email address",
    "phone_number": "phone number",
    "ssn": "social security number",
    "address": "full address",
    "street_address": "street address",
    "city": "city",
    "postcode": "postcode / ZIP",
    "administrative_unit": "state / province",
    "country_code": "country code",
    "credit_card_number": "card number",
    "iban": "bank account (IBAN)",
    "ipv4_address": "IPv4 address",
    "ipv6_address": "IPv6 address",
    "mac_address": "MAC address",
    "user_agent_string": "browser user agent",
    "license_plate": "licence plate",
    "company": "company name",
    "job": "job title",
    "sentence": "free text",
}

#: Free text (complaints, reviews, notes): neither a category SDV learns nor a Faker kind.
TEXT_SDTYPE = "text"

#: What happens to a column. ``model``: the synthesizer learns it. ``fake``: replaced by
#: Faker values of its kind (never learned). ``keep``: real values learned as categories
#: (they can reappear verbatim). ``drop``: removed from training and output. ``generate``
#: (free text only): a small language model is trained on the column, after the personal
#: data inside the text is replaced (``core.data.text_pii``), and writes new text per row.
ACTIONS: tuple[str, ...] = ("model", "fake", "keep", "drop", "generate")

#: How each action reads on screen.
ACTION_LABELS: dict[str, str] = {
    "model": "model", "fake": "fake", "keep": "keep", "drop": "drop",
    "generate": "generate text",
}

_LOCATION_SDTYPES = {"administrative_unit", "state_abbr", "country_code", "city", "postcode"}
_MIN_ROWS_FOR_TEXT_FLAG = 20
_TEXT_MEAN_LENGTH = 60
# Word-like free text (the "generate" default): at least this many characters and words per
# value on average, and mostly letters. A two-word name or a "SKU-10293" code stays out; a
# one-line note ("Called twice about the late fee, wants a refund") is in.
_WORDS_MEAN_LENGTH = 25
_WORDS_MEAN_COUNT = 5
_WORDS_LETTER_SHARE = 0.6
_WORDS_DISTINCT_SHARE = 0.2
_HIGH_CARDINALITY_SHARE = 0.5
_HIGH_CARDINALITY_MIN = 50
_HIGH_CARDINALITY_ABSOLUTE = 100
_CHECK_SAMPLE = 2000
_DEFAULT_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Value patterns for PII hidden behind an innocent name, or to confirm a name-based guess.
_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"),
    "ssn": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "credit_card_number": re.compile(r"^(\d[ -]?){12,18}\d$"),
    "phone_number": re.compile(r"^\+?[\d\s().-]{7,20}(\s*(x|ext\.?)\s*\d{1,6})?$"),
    "ipv4_address": re.compile(r"^(\d{1,3}\.){3}\d{1,3}$"),
    "iban": re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$"),
}
_PERSON_NAME = re.compile(r"^[A-Z][a-zA-Z'.-]+( [A-Z][a-zA-Z'.-]+){1,3}$")
_STREET_WORDS = re.compile(
    r"\b(?:st|street|ave|avenue|rd|road|blvd|lane|ln|dr|drive|way|court|ct|place|pl|suite|apt)\b",
    re.IGNORECASE,
)
_NAME_HINTS = {"name", "holder", "customer", "patient", "person", "applicant", "client", "owner"}
_JOB_HINTS = {"job", "title", "occupation", "position", "role", "profession"}
#: Words that make a unique "number" column contact data, not an id (phone_number, card_no).
_CONTACT_HINTS = {"phone", "mobile", "cell", "tel", "telephone", "fax", "ssn", "social", "card",
                  "iban", "email", "mail", "ip", "zip", "postcode", "postal", "passport",
                  "licence", "license", "tax"}
_COMPANY_HINTS = {"company", "employer", "merchant", "business", "organisation", "organization"}
_TARGET_HINTS = (
    "target", "label", "class", "outcome", "default", "fraud", "churn", "readmit",
    "survived", "approved", "y",
)


@dataclass(frozen=True)
class ColumnSchema:
    """What the studio knows and decided about one column.

    Attributes:
        name: Column name in the data.
        sdtype: SDV semantic type: one of :data:`BASE_SDTYPES`, a key of :data:`PII_SDTYPES`,
            or :data:`TEXT_SDTYPE` for free text.
        pii: Whether the column holds personal data.
        action: One of :data:`ACTIONS`.
        datetime_format: strftime format of a text date column, if known.
        timezone: The zone a date column's values are written in ("Europe/Paris", or "UTC"
            for text with UTC offsets), None for dates without one. Models see every date on
            one UTC time line; synthetic values are given back in this zone.
        detected_sdtype: What SDV's own detection said (for the "why" column).
        note: Plain-English reason for any correction or warning ("" if none).
    """

    name: str
    sdtype: str
    pii: bool = False
    action: str = "model"
    datetime_format: str | None = None
    timezone: str | None = None
    detected_sdtype: str = ""
    note: str = ""


@dataclass(frozen=True)
class SequenceSpec:
    """How the rows of an event table form one sequence per entity.

    Attributes:
        key: The column naming the entity each row belongs to (an account, a ticker, a
            customer); every entity's rows are one sequence.
        index: The column that orders an entity's rows (a timestamp or a step number), or
            None when the rows are already in order.
        context: Columns whose value is constant within an entity (account type, customer
            segment, an entity-level flag): learned once per entity, not per event.
    """

    key: str
    index: str | None = None
    context: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for keys, the registry and job files)."""
        return {"key": self.key, "index": self.index, "context": list(self.context)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SequenceSpec | None:
        """Inverse of :meth:`to_dict` (None stays None)."""
        if not data:
            return None
        return cls(key=data["key"], index=data.get("index"),
                   context=tuple(data.get("context") or ()))


@dataclass(frozen=True)
class TableSchema:
    """The reviewed metadata of one table.

    ``sequence`` is set when the rows are events of entities (:class:`SequenceSpec`): the
    split then keeps each entity on one side, and sequence synthesizers and the sequence
    evaluation apply.
    """

    columns: tuple[ColumnSchema, ...]
    primary_key: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    sequence: SequenceSpec | None = None

    @property
    def is_sequence(self) -> bool:
        """True when the rows are events of entities (``sequence`` is set)."""
        return self.sequence is not None

    def with_sequence(self, sequence: SequenceSpec | None) -> TableSchema:
        """Return a copy with the sequence description set (None: independent rows)."""
        return replace(self, sequence=sequence)

    def column(self, name: str) -> ColumnSchema:
        """Return the column called ``name`` (KeyError if absent)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def kept_columns(self) -> list[str]:
        """Columns that appear in the synthetic output (everything not dropped)."""
        return [column.name for column in self.columns if column.action != "drop"]

    @property
    def sdv_columns(self) -> list[str]:
        """Columns handed to SDV: everything kept except faked and generated-text ones."""
        return [c.name for c in self.columns if c.action not in ("drop", "fake", "generate")]

    @property
    def text_columns(self) -> list[str]:
        """Free-text columns a language model learns and writes (action ``generate``)."""
        return [c.name for c in self.columns if c.action == "generate"]

    @property
    def fake_specs(self) -> list[tuple[str, str]]:
        """``(column, kind)`` of every column filled with fake values after sampling."""
        return [(c.name, "sentence" if c.sdtype == TEXT_SDTYPE else c.sdtype)
                for c in self.columns if c.action == "fake"]

    @property
    def modelled_columns(self) -> list[str]:
        """Columns whose real values the table synthesizer learns (model or keep)."""
        return [c.name for c in self.columns if c.action in ("model", "keep") and c.sdtype != "id"]

    def with_column(self, updated: ColumnSchema) -> TableSchema:
        """Return a copy with one column replaced."""
        columns = tuple(updated if c.name == updated.name else c for c in self.columns)
        return replace(self, columns=columns)

    def to_records(self) -> list[dict[str, Any]]:
        """Rows for an editable table (one dict per column)."""
        return [
            {
                "column": c.name,
                "sdtype": c.sdtype,
                "pii": c.pii,
                "action": c.action,
                "note": c.note,
            }
            for c in self.columns
        ]

    @classmethod
    def from_fingerprint_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        """Rebuild the training-relevant schema a model record stores."""
        zones = data.get("timezones") or {}
        columns = tuple(
            ColumnSchema(name=name, sdtype=sdtype, pii=bool(pii), action=action,
                         datetime_format=datetime_format, timezone=zones.get(name))
            for name, sdtype, pii, action, datetime_format in data["columns"]
        )
        return cls(columns=columns, primary_key=data.get("primary_key"),
                   sequence=SequenceSpec.from_dict(data.get("sequence")))

    def fingerprint_dict(self) -> dict[str, Any]:
        """A JSON-able summary that changes whenever a training-relevant choice changes."""
        summary: dict[str, Any] = {
            "primary_key": self.primary_key,
            "columns": [
                [c.name, c.sdtype, c.pii, c.action, c.datetime_format] for c in self.columns
            ],
        }
        zones = {c.name: c.timezone for c in self.columns if c.timezone}
        if zones:  # only then, so models of tables without zones keep their ids
            summary["timezones"] = zones
        if self.sequence is not None:  # likewise: independent-row models keep their ids
            summary["sequence"] = self.sequence.to_dict()
        return summary


# --------------------------------------------------------------------------- detection


def _sample_strings(series: pd.Series) -> pd.Series:
    values = series.dropna()
    if len(values) > _CHECK_SAMPLE:
        values = values.sample(_CHECK_SAMPLE, random_state=0)
    return values.astype(str).str.strip()


def _share_matching(values: pd.Series, pattern: re.Pattern[str]) -> float:
    if values.empty:
        return 0.0
    return float(values.str.match(pattern).mean())


def _luhn_valid_share(values: pd.Series) -> float:
    def valid(text: str) -> bool:
        digits = [int(ch) for ch in text if ch.isdigit()]
        if not 13 <= len(digits) <= 19:
            return False
        total = 0
        for index, digit in enumerate(reversed(digits)):
            if index % 2 == 1:
                digit *= 2
                if digit > 9:
                    digit -= 9
            total += digit
        return total % 10 == 0

    if values.empty:
        return 0.0
    return float(values.map(valid).mean())


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {token for token in re.split(r"[^a-zA-Z]+", spaced.lower()) if token}


def _pii_from_values(name: str, series: pd.Series) -> str | None:
    """Guess a PII kind from the values (and, for names, the column name)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
        return None
    values = _sample_strings(series)
    if values.empty:
        return None
    if _share_matching(values, _PATTERNS["email"]) >= 0.8:
        return "email"
    if _share_matching(values, _PATTERNS["ssn"]) >= 0.8:
        return "ssn"
    if _share_matching(values, _PATTERNS["credit_card_number"]) >= 0.8:
        if _luhn_valid_share(values) >= 0.8:
            return "credit_card_number"
    if _share_matching(values, _PATTERNS["ipv4_address"]) >= 0.8:
        return "ipv4_address"
    if _share_matching(values, _PATTERNS["iban"]) >= 0.8:
        return "iban"
    unique_share = values.nunique() / len(values)
    digits_share = float(values.str.count(r"\d").mean() / max(values.str.len().mean(), 1))
    if (
        _share_matching(values, _PATTERNS["phone_number"]) >= 0.8
        and digits_share > 0.5
        and unique_share > 0.5
    ):
        return "phone_number"
    tokens = _tokens(name)
    if (
        tokens & _NAME_HINTS
        and _share_matching(values, _PERSON_NAME) >= 0.7
        and unique_share > 0.3
    ):
        return "name"
    starts_like_street = values.str.match(r"^\d{1,6} [A-Z][a-z]+").mean()
    has_street_word = values.str.contains(_STREET_WORDS).mean()
    if unique_share > 0.5 and (starts_like_street >= 0.7 or has_street_word >= 0.6):
        if values.str.contains(r"\d").mean() > 0.6:
            return "address"
    return None


def _confirm_name_based_pii(sdtype: str, series: pd.Series) -> bool:
    """Return True when the values agree with SDV's name-based PII guess."""
    values = _sample_strings(series)
    if values.empty:
        return True
    if sdtype in _PATTERNS:
        return _share_matching(values, _PATTERNS[sdtype]) >= 0.5
    if sdtype in {"first_name", "last_name", "name"}:
        return values.str.match(r"^[A-Za-z][A-Za-z' .-]*$").mean() >= 0.7
    return True


def _is_word_text(series: pd.Series) -> tuple[bool, str]:
    """Flag free text written in words (complaints, reviews, notes), with the reason.

    Thresholds, on a sample of the values: on average at least 25 characters and 5 words,
    at least 60 % letters among the non-space characters, and distinct values in more than
    a fifth of the rows. Codes, ids, names and addresses fail at least one of them.
    """
    values = series.dropna()
    rows = len(values)
    if rows < _MIN_ROWS_FOR_TEXT_FLAG or pd.api.types.is_numeric_dtype(values):
        return False, ""
    as_text = _sample_strings(values)
    unique = int(values.astype(str).nunique())
    if unique <= _WORDS_DISTINCT_SHARE * rows:
        return False, ""
    lengths = as_text.str.len()
    mean_length = float(lengths.mean())
    if mean_length < _WORDS_MEAN_LENGTH:
        return False, ""
    mean_words = float(as_text.str.count(r"\S+").mean())
    letters = as_text.str.count(r"[^\W\d_]").sum()
    visible = as_text.str.count(r"\S").sum()
    if mean_words < _WORDS_MEAN_COUNT or letters < _WORDS_LETTER_SHARE * max(visible, 1):
        return False, ""
    return True, (
        f"free text (on average {mean_words:.0f} words, {unique:,} distinct values): a small "
        "language model is trained here on this column and writes new text for each "
        "synthetic row; names, e-mails, phone and account numbers inside the text are "
        "replaced with fake ones first"
    )


def _is_free_text(series: pd.Series) -> tuple[bool, str]:
    """Flag long text or very high-cardinality categories, with the reason."""
    values = series.dropna()
    rows = len(values)
    if rows < _MIN_ROWS_FOR_TEXT_FLAG:
        return False, ""
    as_text = values.astype(str)
    unique = int(as_text.nunique())
    mean_length = float(as_text.str.len().mean())
    if mean_length >= _TEXT_MEAN_LENGTH and unique > 0.2 * rows:
        return True, (
            f"free text (average {mean_length:.0f} characters, {unique:,} distinct values): "
            "synthesizers learn categories, not sentences"
        )
    if unique >= _HIGH_CARDINALITY_ABSOLUTE or (
        unique >= _HIGH_CARDINALITY_MIN and unique >= _HIGH_CARDINALITY_SHARE * rows
    ):
        example = ", ".join(repr(v)[:30] for v in as_text.unique()[:2])
        return True, (
            f"{unique:,} distinct values in {rows:,} rows (e.g. {example}): each becomes its own "
            "category, which CTGAN turns into one output per value and can take an hour to fit"
        )
    return False, ""


def _fake_kind_for_text(name: str, series: pd.Series) -> str:
    tokens = _tokens(name)
    if tokens & _JOB_HINTS:
        return "job"
    if tokens & _COMPANY_HINTS:
        return "company"
    if tokens & _NAME_HINTS:
        return "name"
    return "sentence"


def _is_whole_number_series(series: pd.Series) -> bool:
    values = series.dropna()
    if values.empty or not pd.api.types.is_numeric_dtype(values):
        return False
    if pd.api.types.is_bool_dtype(values):
        return False
    return bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))


def correct_detection(frame: pd.DataFrame, detected: Mapping[str, Any]) -> TableSchema:
    """Correct SDV's detected metadata of ``frame`` with what the values say.

    Args:
        frame: The loaded table (validated: unique string column names, >= 2 columns).
        detected: SDV's metadata of the table (``core.engine.metadata.detect_schema``
            runs the detection, the only part that needs SDV).

    Returns:
        The proposed schema; every change from SDV's answer carries a note.
    """
    sdv_columns: dict[str, dict[str, Any]] = detected.get("columns", {})
    sdv_primary_key = detected.get("primary_key")
    columns: list[ColumnSchema] = []
    for name in frame.columns:
        info = sdv_columns.get(name, {"sdtype": "unknown"})
        columns.append(_correct_column(str(name), frame[name], info, sdv_primary_key))

    primary_key = None
    id_columns = [c for c in columns if c.sdtype == "id" and c.action != "drop"]
    for column in id_columns:
        series = frame[column.name]
        if series.is_unique and not series.isna().any():
            primary_key = column.name
            break
    return TableSchema(columns=tuple(columns), primary_key=primary_key)


def _correct_column(
    name: str, series: pd.Series, info: Mapping[str, Any], sdv_primary_key: str | None
) -> ColumnSchema:
    sdv_sdtype = str(info.get("sdtype", "unknown"))
    shown_sdv = "id (primary key)" if name == sdv_primary_key else sdv_sdtype
    base = ColumnSchema(name=name, sdtype=sdv_sdtype, detected_sdtype=shown_sdv)
    non_null = series.dropna()

    if non_null.empty:
        return replace(
            base, sdtype="categorical", action="drop",
            note="empty in every row: nothing to learn, dropped",
        )

    if pd.api.types.is_bool_dtype(series) or (
        series.dtype == object and non_null.map(type).eq(bool).all()
    ):
        note = "" if sdv_sdtype == "boolean" else "true/false values: modelled as a boolean"
        return replace(base, sdtype="boolean", note=note)

    # Name-based PII guesses from SDV: confirm against the values.
    if sdv_sdtype not in BASE_SDTYPES and sdv_sdtype not in ("ordinal", "unknown"):
        if sdv_sdtype in _LOCATION_SDTYPES:
            distinct = int(non_null.nunique())
            if distinct <= 100 or distinct < 0.05 * len(non_null):
                example = ", ".join(map(str, non_null.unique()[:3]))
                return replace(
                    base, sdtype="categorical",
                    note=(
                        f"SDV guessed '{sdv_sdtype}' from the column name, but it has only "
                        f"{distinct} distinct values (e.g. {example}): a category, not personal "
                        "data"
                    ),
                )
        if not _confirm_name_based_pii(sdv_sdtype, series):
            fallback = _base_type_for(series)
            return replace(
                base, sdtype=fallback,
                note=(
                    f"SDV guessed '{sdv_sdtype}' from the column name, but the values do not "
                    f"look like that: modelled as {fallback}"
                ),
            )
        sdtype = sdv_sdtype if sdv_sdtype in PII_SDTYPES else _closest_pii_kind(sdv_sdtype)
        return replace(
            base, sdtype=sdtype, pii=True, action="fake",
            note="personal data: replaced with realistic fake values (change to drop or keep)",
        )

    # Dates before any PII pattern: "2021-08-25" also matches the phone pattern, and a
    # column of per-row dates must stay a date (SDV said so, or the values parse as dates).
    if sdv_sdtype == "datetime" or pd.api.types.is_datetime64_any_dtype(series):
        return _with_zone(replace(base, sdtype="datetime",
                                  datetime_format=info.get("datetime_format")), series)
    if not pd.api.types.is_numeric_dtype(series):
        date_share = _mixed_format_dates_share(series)
        if date_share >= 0.9:
            return _with_zone(replace(
                base, sdtype="datetime",
                note=(f"{date_share:.0%} of values are dates, maybe written in different "
                      f"formats, that SDV read as '{sdv_sdtype}': modelled as dates"),
            ), series)

    # An id by name and by values ("account_number" 0012345678, "code" A0B0C0) before the
    # value-based guesses, which take such digits for phone numbers and codes for text.
    if _is_formatted_identifier(name, series):
        return replace(base, sdtype="id",
                       note="identifier: fresh unique values in the real format are generated")

    # PII hidden behind a neutral name (SDV only looks at names).
    pii_kind = _pii_from_values(name, series)
    if pii_kind is not None:
        return replace(
            base, sdtype=pii_kind, pii=True, action="fake",
            note=(
                f"values look like {_with_article(PII_SDTYPES[pii_kind])} (SDV judges PII by "
                "column name only and missed it): personal data, replaced with fake values"
            ),
        )

    if sdv_sdtype == "id" or name == sdv_primary_key:
        if _looks_like_identifier(name, series):
            return replace(
                base, sdtype="id",
                note="identifier: fresh unique values are generated, not learned",
            )

    if sdv_sdtype == "ordinal" or (sdv_sdtype == "id" and _is_whole_number_series(series)):
        distinct = int(non_null.nunique())
        if distinct <= 2:
            return replace(
                base, sdtype="categorical",
                note="a yes/no flag stored as numbers: modelled as a category",
            )
        return replace(
            base, sdtype="numerical",
            note=(
                f"whole numbers with {distinct} distinct values: SDV calls this 'ordinal' and "
                "orders it by first appearance; modelled as a number, rounded to whole values"
            ),
        )

    if pd.api.types.is_numeric_dtype(series):
        return replace(base, sdtype="numerical", note="" if sdv_sdtype == "numerical" else
                       "numbers: modelled as numerical")

    is_words, reason = _is_word_text(series)
    if is_words:
        return replace(base, sdtype=TEXT_SDTYPE, pii=False, action="generate",
                       note=f"{reason}. Or choose fake (invented sentences) or drop")
    is_text, reason = _is_free_text(series)
    if is_text:
        kind = _fake_kind_for_text(name, series)
        return replace(
            base, sdtype=kind, pii=False, action="fake",
            note=f"{reason}. Proposed: replace with fake {PII_SDTYPES[kind]} (or drop it)",
        )
    return replace(base, sdtype="categorical")


_UTC_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def _with_zone(column: ColumnSchema, series: pd.Series) -> ColumnSchema:
    """Note the zone of a date column: models use UTC, synthetic dates come back in it."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        zone = str(series.dt.tz)
    else:
        values = _sample_strings(series)
        if values.empty or values.str.strip().str.contains(_UTC_OFFSET).mean() < 0.9:
            return column
        offsets = values.str.strip().str.extract(f"({_UTC_OFFSET.pattern})")[0].nunique()
        zone = "UTC"
        if offsets > 1:
            note = (f"times are written with {offsets} different UTC offsets (a daylight-saving "
                    "change?): modelled on one UTC time line; synthetic times come out in UTC")
            return replace(column, timezone=zone,
                           note="; ".join(part for part in (column.note, note) if part))
    note = f"times in the {zone} zone: modelled in UTC, synthetic times given back in {zone}"
    return replace(column, timezone=zone,
                   note="; ".join(part for part in (column.note, note) if part))


def _with_article(label: str) -> str:
    return ("an " if label[0] in "aeiouAEIOU" else "a ") + label


def _closest_pii_kind(sdtype: str) -> str:
    aliases = {"state_abbr": "administrative_unit", "swift11": "iban", "swift8": "iban",
               "vin": "license_plate", "secondary_address": "street_address",
               "latitude": "address", "longitude": "address"}
    return aliases.get(sdtype, "sentence")


def _base_type_for(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numerical"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def _looks_like_identifier(name: str, series: pd.Series) -> bool:
    values = series.dropna()
    if values.empty:
        return False
    tokens = _tokens(name)
    named_like_id = bool(tokens & {"id", "key", "uuid", "guid", "code", "number", "no"}) or (
        name.lower().endswith("id")
    )
    unique_share = values.nunique() / len(values)
    return named_like_id and unique_share > 0.95


def _is_formatted_identifier(name: str, series: pd.Series) -> bool:
    """Named like an id (not like contact data), unique, and with a readable format."""
    if _tokens(name) & _CONTACT_HINTS or not _looks_like_identifier(name, series):
        return False
    return derive_id_regex(series)[0] is not None


def _mixed_format_dates_share(series: pd.Series) -> float:
    values = _sample_strings(series)
    if values.empty or values.str.len().mean() > 40:
        return 0.0
    # Cheap gate: dates contain digits and separators.
    if values.str.contains(r"\b\d{4}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2}\b").mean() < 0.9:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    return float(parsed.notna().mean())


# --------------------------------------------------------------------------- editing


def schema_from_records(
    original: TableSchema, records: Iterable[Mapping[str, Any]]
) -> TableSchema:
    """Apply the user's edits (rows of the editable table) to a schema.

    Args:
        original: The schema the table was built from.
        records: Rows with at least ``column``, ``sdtype``, ``pii`` and ``action``.

    Returns:
        The edited schema.

    Raises:
        MetadataError: An edit is invalid (unknown type or action, no column left, ...).
    """
    by_name = {str(r["column"]): r for r in records}
    columns: list[ColumnSchema] = []
    for column in original.columns:
        edit = by_name.get(column.name)
        if edit is None:
            columns.append(column)
            continue
        sdtype = str(edit.get("sdtype") or column.sdtype)
        action = str(edit.get("action") or column.action)
        pii = bool(edit.get("pii", column.pii))
        if sdtype not in BASE_SDTYPES and sdtype not in PII_SDTYPES and sdtype != TEXT_SDTYPE:
            raise MetadataError(
                f"Column '{column.name}': '{sdtype}' is not a type the studio knows. Pick one "
                f"of {', '.join(BASE_SDTYPES)}, {TEXT_SDTYPE} or a personal-data kind such as "
                "email or name."
            )
        if action == "model" and sdtype == TEXT_SDTYPE:
            action = "generate"  # free text is learned by the text model
        if action not in ACTIONS:
            raise MetadataError(
                f"Column '{column.name}': action '{action}' is unknown; use one of "
                f"{', '.join(ACTIONS)}."
            )
        if action == "generate" and sdtype != TEXT_SDTYPE:
            raise MetadataError(
                f"Column '{column.name}': 'generate text' is only for free text (sentences "
                "written in words). Set its type to text, or choose model, fake, keep or drop."
            )
        if action == "fake" and sdtype not in PII_SDTYPES and sdtype != TEXT_SDTYPE:
            raise MetadataError(
                f"Column '{column.name}': 'fake' needs a kind of fake value. Set its type to a "
                "personal-data kind (e.g. name, email, sentence) or choose 'model' or 'drop'."
            )
        if action == "model" and sdtype in PII_SDTYPES:
            # A PII kind cannot be learned; keeping real values is the explicit choice.
            action = "keep"
        changed = (sdtype, action, pii) != (column.sdtype, column.action, column.pii)
        note = column.note
        if changed:
            note = "changed by you"
            if action == "keep" and pii:
                note = (
                    "changed by you: real personal values are learned and can reappear in "
                    "the synthetic data"
                )
        columns.append(
            replace(
                column,
                sdtype=sdtype,
                action=action,
                pii=pii,
                note=note,
                datetime_format=column.datetime_format if sdtype == "datetime" else None,
                timezone=column.timezone if sdtype == "datetime" else None,
            )
        )
    edited = replace(original, columns=tuple(columns))
    if not edited.modelled_columns:
        raise MetadataError(
            "Every column is dropped, faked or free text, so there is nothing for a synthesizer "
            "to learn. Set at least one other column's action to 'model'."
        )
    if edited.primary_key and edited.column(edited.primary_key).sdtype != "id":
        edited = replace(edited, primary_key=None)
    return edited


# --------------------------------------------------------------------------- applying


def to_sdv_metadata_dict(schema: TableSchema) -> dict[str, Any]:
    """The SDV metadata as a plain dict (``core.engine.metadata.to_sdv_metadata`` loads it)."""
    columns: dict[str, dict[str, Any]] = {}
    for column in schema.columns:
        if column.action in ("drop", "fake", "generate"):
            # Faked columns are filled by core.data.fake_values, text by the text model.
            continue
        if column.sdtype == "datetime":
            # prepare_training_frame makes every date a datetime64; a format lets SDV
            # validate the column vectorised instead of guessing one per value (25x faster).
            # The frame is naive UTC (as_timestamps), so a zone directive would not apply.
            fmt = re.sub(r"%[zZ]", "", column.datetime_format or "").strip()
            columns[column.name] = {"sdtype": "datetime",
                                    "datetime_format": fmt or _DEFAULT_DATETIME_FORMAT}
        elif column.sdtype in BASE_SDTYPES:
            columns[column.name] = {"sdtype": column.sdtype}
        else:
            columns[column.name] = {"sdtype": "categorical"}
    table: dict[str, Any] = {"columns": columns}
    if schema.primary_key and schema.primary_key in columns:
        table["primary_key"] = schema.primary_key
    return {"tables": {TABLE_NAME: table}, "relationships": [], "METADATA_SPEC_VERSION": "V2"}



def as_timestamps(series: pd.Series, datetime_format: str | None = None) -> pd.Series:
    """Dates as naive UTC ``datetime64[ns]``, missing or unparseable as NaT.

    Zones are normalised to UTC: text with mixed offsets (a daylight-saving change) would
    otherwise parse to objects that neither a model nor a distance can use.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(series, errors="coerce", format=datetime_format or "mixed")
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype) and parsed.dtype == object:
            # Mixed offsets: the same instants, read as UTC.
            parsed = pd.to_datetime(series, errors="coerce", utc=True,
                                    format=datetime_format or "mixed")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(None)
    return parsed.astype("datetime64[ns]")


def prepare_training_frame(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Apply the schema to the data: drop columns, parse dates, tidy booleans and text.

    Args:
        frame: The loaded table.
        schema: Its reviewed schema.

    Returns:
        A new frame with exactly the non-dropped columns, in schema order.
    """
    prepared = frame[schema.kept_columns].copy()
    for column in schema.columns:
        if column.action == "drop":
            continue
        series = prepared[column.name]
        if column.action == "generate":
            # The text model reads strings; a missing text stays missing.
            prepared[column.name] = series.map(str, na_action="ignore").astype(object)
        elif column.sdtype == "datetime":
            # Models and distances need one time line: zones become UTC.
            prepared[column.name] = as_timestamps(series, column.datetime_format)
        elif column.sdtype == "boolean" and series.dtype == object:
            prepared[column.name] = series.map(
                lambda v: v if isinstance(v, bool) or pd.isna(v) else str(v).lower() == "true"
            ).astype("boolean")
        elif column.sdtype == "categorical" and pd.api.types.is_float_dtype(series):
            # 0.0/1.0 flags with missing values: keep them as labels, not floats.
            prepared[column.name] = series.astype("Int64").astype(object)
    return prepared


# --------------------------------------------------------------------------- targets


def suggest_target(frame: pd.DataFrame, schema: TableSchema) -> str | None:
    """Suggest the column a downstream model would predict (for the utility test).

    Prefers categorical/boolean columns with 2-20 classes whose name hints at an
    outcome (default, fraud, churn, label...), then any such column, last first.
    """
    candidates: list[tuple[int, int, str]] = []
    for position, column in enumerate(schema.columns):
        if column.action != "model" or column.sdtype not in ("categorical", "boolean"):
            continue
        distinct = frame[column.name].nunique(dropna=True)
        if not 2 <= distinct <= 20:
            continue
        hinted = any(hint == token or hint in column.name.lower() and len(hint) > 1
                     for hint in _TARGET_HINTS for token in _tokens(column.name))
        candidates.append((int(hinted), position, column.name))
    if not candidates:
        return None
    return max(candidates)[2]
