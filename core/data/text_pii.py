"""Personal data inside free text: found, counted and replaced before a text model sees it.

A complaint or a note can name people and carry their e-mail, phone or account number.
The language model of a "generate text" column (``core.engine.text_model``) must never
learn those, so :func:`scrub_text_pii` replaces each one with a fake value of the same kind
first, and :func:`find_text_pii` tells the Data page what was found, with partly masked
examples so the screen does not show the real values again.

Why not Presidio: its analyzer finds names with a spaCy language model
(``en_core_web_lg``) that is installed by a download from outside the package registry
(``python -m spacy download``), which this studio cannot do offline. So the studio uses
patterns plus Faker's word lists:

* e-mail addresses, web addresses (``http(s)://`` or ``www.``), IBAN-like account numbers,
  US social security numbers (123-45-6789), card and account numbers (8 to 19 digits in a
  row, or 4-digit groups), phone numbers (``(555) 123-4567``, ``555.123.4567``, ``+1 ...``);
* person names: two capitalised words in a row where the first is one of Faker's first
  names and the second one of its last names ("Laura Chen"), or a title (Mr, Mrs, Ms, Miss,
  Mx, Dr) followed by one or two capitalised words ("Ms. Chen"). A capitalised word on its
  own ("Bank", "Monday", "Chase") is never taken for a name; a first name alone is missed.

Replacements are seeded and consistent: the same original gets the same fake everywhere
(a last name keeps its fake whether written "Laura Chen" or "Ms. Chen"), and the same seed
gives the same text. Numbers keep their layout (separators, length); fake SSNs start with
9, an area never issued; fake phone numbers use the fictional 555-01xx lines; fake e-mail
and web addresses use the reserved ``example`` domains. The work is a handful of compiled
regular expressions per column: a few thousand texts take a fraction of a second.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "PII_KINDS",
    "ScrubResult",
    "describe_text_pii",
    "find_text_pii",
    "scrub_text_pii",
]

#: Each kind the scrubber finds: (one, many) in plain words, in the order it is searched.
PII_KINDS: dict[str, tuple[str, str]] = {
    "email": ("e-mail address", "e-mail addresses"),
    "url": ("web address", "web addresses"),
    "iban": ("bank account number (IBAN)", "bank account numbers (IBAN)"),
    "ssn": ("social security number", "social security numbers"),
    "account": ("card or account number", "card or account numbers"),
    "phone": ("phone number", "phone numbers"),
    "name": ("name", "names"),
}

_MATCH_COLUMNS = ["kind", "label", "count", "rows", "examples"]
_MAX_EXAMPLES = 3

_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "url": re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    # 8-19 digits in a row, or a card written in 4-digit groups; dates (2024-03-15) and
    # amounts (1,250.00) have shorter groups and stay out.
    "account": re.compile(r"\b(?:\d{8,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)\b"),
    "phone": re.compile(
        r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}\b"),
}
_DIGIT_KINDS = {"iban", "ssn", "account", "phone"}  # each holds 4 digits in a row
_FOUR_DIGITS = re.compile(r"\d{4}")
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr)\b\.?"
_WORD = r"[A-Z][A-Za-z'-]*[a-z]\b"
# A run of capitalised words (titles included); the callback picks the names inside it.
_CAPITAL_RUN = re.compile(rf"\b(?:{_TITLE}|{_WORD})(?:[ \t]+(?:{_TITLE}|{_WORD}))+")
_IS_TITLE = re.compile(rf"^{_TITLE}$")
_TRAILING = ".,;:!?"
# Found values become one private-use character each (no pattern matches it) until every
# kind is searched, so a fake never gets found again as another kind; then fakes go in.
_SLOT_BASE = 0xE000
_SLOTS = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class ScrubResult:
    """A text column with its personal data replaced, and what was found.

    Attributes:
        text: The column, same index, each found value replaced by a fake of its kind
            (missing values stay missing).
        matches: What was found, as :func:`find_text_pii` returns it.
    """

    text: pd.Series
    matches: pd.DataFrame


# --------------------------------------------------------------------------- word lists


@functools.cache
def _name_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from faker.providers.person.en_US import Provider

    return tuple(Provider.first_names), tuple(Provider.last_names)


@functools.cache
def _name_sets() -> tuple[frozenset[str], frozenset[str]]:
    first, last = _name_lists()
    return frozenset(first), frozenset(last)


@functools.cache
def _first_names_like(name: str) -> tuple[str, ...]:
    """Fake first names of the same gender as ``name`` where Faker's lists tell it."""
    from faker.providers.person.en_US import Provider

    male, female = tuple(Provider.first_names_male), tuple(Provider.first_names_female)
    if name in female and name not in male:
        return female
    if name in male and name not in female:
        return male
    return _name_lists()[0]


# --------------------------------------------------------------------------- fakes


def _digest(seed: int, kind: str, original: str) -> int:
    data = f"{int(seed)}\x1f{kind}\x1f{original}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _pick(seed: int, role: str, original: str, options: tuple[str, ...]) -> str:
    index = _digest(seed, role, original) % len(options)
    choice = options[index]
    return options[(index + 1) % len(options)] if choice == original else choice


def _redigit(text: str, rng: random.Random, fixed: str = "") -> str:
    """``text`` with its digits replaced: ``fixed`` first, then random digits."""
    digits = iter(fixed)
    out = []
    for char in text:
        if char.isdigit():
            out.append(next(digits, None) or str(rng.randrange(10)))
        else:
            out.append(char)
    return "".join(out)


def _fake_value(kind: str, original: str, seed: int) -> str:
    rng = random.Random(_digest(seed, kind, original))
    if kind == "email":
        first, last = _name_lists()
        tld = rng.choice(("com", "org", "net"))
        return (f"{rng.choice(first).lower()}.{rng.choice(last).lower()}"
                f"{rng.randrange(10, 100)}@example.{tld}")
    if kind == "url":
        path = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
        return f"https://www.example.com/{path}"
    if kind == "iban":
        body = "".join(rng.choice("0123456789") if c.isalnum() else c for c in original[2:])
        return original[:2] + body
    if kind == "ssn":
        return _redigit(original, rng, fixed="9")  # area 9xx is never issued
    if kind == "phone":
        count = sum(c.isdigit() for c in original)
        prefix = "1" if count == 11 else ""
        area = f"{rng.randrange(2, 10)}{rng.randrange(10)}{rng.randrange(10)}"
        return _redigit(original, rng, fixed=f"{prefix}{area}55501")  # 555-01xx: fictional
    fake = _redigit(original, rng)  # card or account number: same layout, new digits
    return fake if fake != original else _redigit(original, random.Random(rng.random()))


# --------------------------------------------------------------------------- masking


def _mask(kind: str, value: str) -> str:
    """Enough of a found value to recognise its kind, not enough to read it."""
    if kind == "email":
        local, _, domain = value.partition("@")
        suffix = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{suffix}"
    if kind == "url":
        return re.sub(r"^((?:https?://)?(?:www\.)?.{0,2}).*$", r"\1***", value,
                      flags=re.IGNORECASE)
    if kind == "name":
        return " ".join(word if _IS_TITLE.match(word) else f"{word[:1]}***"
                        for word in value.split())
    if kind == "iban":
        return value[:2] + re.sub(r"[A-Z0-9]", "*", value[2:-2]) + value[-2:]
    # Numbers: every digit but the last two hidden.
    total = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for char in value:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - 2 else "*")
        else:
            out.append(char)
    return "".join(out)


# --------------------------------------------------------------------------- scanning


class _Found:
    """What one pass over a column found: counts, rows, first examples, per kind."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.rows: dict[str, set[object]] = {}
        self.examples: dict[str, list[str]] = {}

    def add(self, kind: str, value: str, row: object) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.rows.setdefault(kind, set()).add(row)
        shown = self.examples.setdefault(kind, [])
        masked = _mask(kind, value)
        if len(shown) < _MAX_EXAMPLES and masked not in shown:
            shown.append(masked)

    def table(self) -> pd.DataFrame:
        records = []
        for kind, (one, many) in PII_KINDS.items():
            count = self.counts.get(kind, 0)
            if count:
                records.append({
                    "kind": kind, "label": one if count == 1 else many, "count": count,
                    "rows": len(self.rows[kind]), "examples": ", ".join(self.examples[kind]),
                })
        return pd.DataFrame(records, columns=_MATCH_COLUMNS).astype(
            {"count": "int64", "rows": "int64"})


def _names_in_run(run: str, seed: int, replace: bool) -> tuple[str, list[str]]:
    """Find (and replace) the person names inside a run of capitalised words."""
    first_set, last_set = _name_sets()
    last_list = _name_lists()[1]
    parts = re.split(r"([ \t]+)", run)  # words at even positions, spaces at odd ones
    words = parts[0::2]
    found: list[str] = []

    def fake(index: int, role: str) -> None:
        if replace:
            word = words[index]
            options = _first_names_like(word) if role == "first" else last_list
            words[index] = _pick(seed, role, word, options)

    index = 0
    while index < len(words):
        word = words[index]
        nxt = words[index + 1] if index + 1 < len(words) else None
        if _IS_TITLE.match(word) and nxt is not None and not _IS_TITLE.match(nxt):
            after = words[index + 2] if index + 2 < len(words) else None
            if after is not None and not _IS_TITLE.match(after) and (
                    nxt in first_set or after in last_set):
                found.append(" ".join(words[index:index + 3]))
                fake(index + 1, "first")
                fake(index + 2, "last")
                index += 3
            else:
                found.append(f"{word} {nxt}")
                fake(index + 1, "last")
                index += 2
            continue
        if nxt is not None and word in first_set and nxt in last_set:
            found.append(f"{word} {nxt}")
            fake(index, "first")
            fake(index + 1, "last")
            index += 2
            continue
        index += 1
    parts[0::2] = words
    return "".join(parts), found


def _fill(match: re.Match[str], slots: list[str]) -> str:
    index = ord(match.group(0)) - _SLOT_BASE
    return slots[index] if index < len(slots) else match.group(0)


def _scan(series: pd.Series, seed: int, replace: bool) -> tuple[pd.Series, _Found]:
    """One pass per kind over the present values; found values are replaced or hidden."""
    found = _Found()
    present = series.notna().to_numpy()
    values: list[str] = [str(value) for value in series[present]]
    memo: dict[tuple[str, str], str] = {}
    fakes: dict[int, list[str]] = {}  # per text, the fake of each slot in order

    def substitute(kind: str, value: str, row: int) -> str:
        key = (kind, value)
        if replace and key not in memo:
            memo[key] = _fake_value(kind, value, seed)
        slots = fakes.setdefault(row, [])
        slots.append(memo.get(key, ""))
        return chr(_SLOT_BASE + len(slots) - 1)

    def on_match(kind: str, row: int) -> Callable[[re.Match[str]], str]:
        def callback(match: re.Match[str]) -> str:
            matched, tail = match.group(0), ""
            if kind == "url":
                stripped = matched.rstrip(_TRAILING)
                matched, tail = stripped, matched[len(stripped):]
            found.add(kind, matched, row)
            return substitute(kind, matched, row) + tail

        return callback

    def on_run(row: int) -> Callable[[re.Match[str]], str]:
        def callback(match: re.Match[str]) -> str:
            changed, names = _names_in_run(match.group(0), seed, replace)
            for name in names:
                found.add("name", name, row)
            return changed

        return callback

    # Cheap gates first: most texts hold no "@", no "://" and no run of 4 digits, so most
    # patterns never run on them (3,000 complaints: about 0.1 s instead of 0.4 s).
    with_digits = {row for row, value in enumerate(values) if _FOUR_DIGITS.search(value)}
    gates: dict[str, Callable[[int], bool]] = {
        "email": lambda row: "@" in values[row],
        "url": lambda row: "://" in values[row] or "www." in values[row].lower(),
    }
    passes = [(kind, pattern, on_match) for kind, pattern in _PATTERNS.items()]
    passes.append(("name", _CAPITAL_RUN, lambda _kind, row: on_run(row)))
    for kind, pattern, make in passes:
        gate = gates.get(kind, with_digits.__contains__ if kind in _DIGIT_KINDS else None)
        for row in range(len(values)):
            if gate is None or gate(row):
                values[row] = pattern.sub(make(kind, row), values[row])

    for row, slots in fakes.items():
        values[row] = _SLOTS.sub(lambda match, s=slots: _fill(match, s), values[row])
    result = series.astype(object).copy()
    if replace and values:
        column = result.to_numpy(copy=True)
        column[present] = values
        result = pd.Series(column, index=series.index, name=series.name, dtype=object)
    return result, found


# --------------------------------------------------------------------------- public


def find_text_pii(series: pd.Series) -> pd.DataFrame:
    """Count the personal data inside a text column, with masked examples.

    Args:
        series: A free-text column (missing values are skipped).

    Returns:
        One row per kind found, in :data:`PII_KINDS` order, with columns ``kind`` (a key of
        :data:`PII_KINDS`), ``label`` (plain words: "e-mail addresses"), ``count`` (values
        found), ``rows`` (texts holding at least one) and ``examples`` (up to three,
        partly masked: ``l***@e***.com``, ``L*** C***``, ``(***) ***-**67``). Empty when
        nothing was found.
    """
    return _scan(series, 0, replace=False)[1].table()


def scrub_text_pii(series: pd.Series, seed: int = 0) -> ScrubResult:
    """Replace the personal data inside a text column with fake values of the same kind.

    Args:
        series: A free-text column (missing values stay missing; other values become text).
        seed: Chooses the fakes; the same seed and original always give the same fake.

    Returns:
        The scrubbed column (same index) and what was found (see :func:`find_text_pii`).
    """
    text, found = _scan(series, seed, replace=True)
    return ScrubResult(text=text, matches=found.table())


def describe_text_pii(matches: pd.DataFrame) -> str:
    """One sentence for the Data page about what :func:`find_text_pii` found."""
    if matches.empty:
        return ("No names, e-mail addresses, phone, card or account numbers were found in "
                "this text.")
    parts = [f"{int(row['count']):,} {row['label']}" for row in matches.to_dict("records")]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (f"Found {listed}: they are replaced with fake ones before the model sees the "
            "text.")
