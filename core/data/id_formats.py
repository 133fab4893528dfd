r"""Identifiers in their real format: a pattern read from the real values, fresh values drawn.

A real id column such as ``CUST-000123``, ``A1B2C3`` or ``0012345678`` has a shape: fixed
text (``CUST-``), then runs of digits or letters of some length. :func:`derive_id_regex`
reads that shape from the real values and writes it as a small regular expression
(``CUST\-[0-9]{6}``); literal text is escaped, so no value can smuggle regex syntax in.
The expression is stored in the model's SDV metadata (``regex_format``, see
``core.engine.metadata``), and :func:`make_ids` draws fresh values from it after sampling.

Why not let SDV fill the column from the expression: its generator enumerates the pattern
from the start (``CUST-000000``, ``CUST-000001``…), which reproduces real ids that were
numbered the same way. Here values are drawn at random from the whole pattern, seeded,
and made unique; when more rows are asked for than the pattern holds, its last variable
part grows by a character until it holds them.

Only the dialect written here is read back (:func:`parse_id_regex`); anything else is
left to SDV.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["IdPart", "derive_id_regex", "id_space", "make_ids", "parse_id_regex"]

#: Longer ids are not given a pattern (the old behaviour stays): no real id format needs it.
MAX_ID_LENGTH = 64
#: At most this many parts (literal characters and runs) in one pattern.
MAX_PARTS = 24
#: The most common shape must cover this share of the values to be the format.
MIN_SHAPE_SHARE = 0.9
#: Values read to find the format (the shape of a few thousand ids is the shape of all).
_SAMPLE = 5000
#: An integer id column keeps at most this many digits (int64).
_MAX_INT_DIGITS = 18
#: The pattern must hold this many times the requested rows (few redraws for uniqueness).
_ROOM = 4

_CLASSES: dict[str, str] = {
    "[0-9]": "0123456789",
    "[1-9]": "123456789",
    "[A-Z]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "[a-z]": "abcdefghijklmnopqrstuvwxyz",
    "[A-Za-z]": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "[0-9A-Z]": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "[0-9a-z]": "0123456789abcdefghijklmnopqrstuvwxyz",
    "[0-9A-Za-z]": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "[0-9a-f]": "0123456789abcdef",
    "[0-9A-F]": "0123456789ABCDEF",
}


@dataclass(frozen=True)
class IdPart:
    """One part of an id pattern: fixed text, or a run of characters from a class.

    Attributes:
        literal: The fixed text ("" for a run).
        chars: The class a run draws from ("" for fixed text); a key of ``_CLASSES``.
        shortest: A run's fewest characters.
        longest: A run's most characters.
    """

    literal: str = ""
    chars: str = ""
    shortest: int = 0
    longest: int = 0

    def regex(self) -> str:
        """This part as regular-expression text."""
        if not self.chars:
            return re.escape(self.literal)
        if self.shortest == self.longest == 1:
            return self.chars
        if self.shortest == self.longest:
            return f"{self.chars}{{{self.shortest}}}"
        return f"{self.chars}{{{self.shortest},{self.longest}}}"

    def size(self) -> int:
        """How many different texts this part can be."""
        if not self.chars:
            return 1
        base = len(_CLASSES[self.chars])
        return sum(base**length for length in range(self.shortest, self.longest + 1))


def _char_kind(char: str) -> str:
    if "0" <= char <= "9":
        return "D"
    if "A" <= char <= "Z":
        return "U"
    if "a" <= char <= "z":
        return "L"
    return "X"  # anything else is fixed text


def _runs(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into runs of digits, upper or lower letters, and single other chars."""
    runs: list[tuple[str, str]] = []
    for char in text:
        kind = _char_kind(char)
        if runs and kind != "X" and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + char)
        else:
            runs.append((kind, char))
    return runs


def _shape(runs: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(text if kind == "X" else kind for kind, text in runs)


def _run_part(kind: str, texts: list[str], hexadecimal: str) -> IdPart:
    lengths = [len(text) for text in texts]
    if len(set(texts)) == 1 and kind != "D":
        return IdPart(literal=texts[0])  # a constant word: a prefix like CUST or INV
    if len(set(texts)) == 1 and kind == "D" and len(texts) > 1:
        return IdPart(literal=texts[0])  # a constant number such as a year
    chars = {"D": "[0-9]", "U": "[A-Z]", "L": "[a-z]"}[kind]
    if kind in ("U", "L") and hexadecimal:
        chars = hexadecimal
    return IdPart(chars=chars, shortest=min(lengths), longest=max(lengths))


def _digits_part(texts: list[str]) -> list[IdPart]:
    """Digit runs that never start with 0 keep a leading 1-9 (no zeros the data never had)."""
    shortest = min(len(t) for t in texts)
    longest = max(len(t) for t in texts)
    if any(t.startswith("0") for t in texts):
        return [IdPart(chars="[0-9]", shortest=shortest, longest=longest)]
    parts = [IdPart(chars="[1-9]", shortest=1, longest=1)]
    if longest > 1:
        parts.append(IdPart(chars="[0-9]", shortest=max(shortest - 1, 0), longest=longest - 1))
    return parts


def _hex_class(texts: list[str]) -> str:
    """``[0-9a-f]`` when the letters are all hex digits beside digits (uuids, hashes)."""
    joined = "".join(texts)
    letters = {c for c in joined if c.isalpha()}
    if not letters or not any(c.isdigit() for c in joined):
        return ""
    if letters <= set("abcdef"):
        return "[0-9a-f]"
    if letters <= set("ABCDEF"):
        return "[0-9A-F]"
    return ""


def _from_shapes(texts: list[str]) -> list[IdPart] | None:
    split = [_runs(text) for text in texts]
    shapes = pd.Series([_shape(runs) for runs in split])
    counts = shapes.value_counts()
    if counts.iloc[0] < MIN_SHAPE_SHARE * len(texts):
        return None
    shape = counts.index[0]
    chosen = [runs for runs, s in zip(split, shapes, strict=True) if s == shape]
    hexadecimal = _hex_class(texts)
    parts: list[IdPart] = []
    for position, kind in enumerate(shape):
        if kind not in ("D", "U", "L"):
            parts.append(IdPart(literal=kind))
            continue
        run_texts = [runs[position][1] for runs in chosen]
        if kind == "D" and len(set(run_texts)) > 1:
            parts.extend(_digits_part(run_texts))
        else:
            parts.append(_run_part(kind, run_texts, hexadecimal))
    return parts


def _positional_class(chars: set[str], hexadecimal: str) -> str | None:
    kinds = {_char_kind(c) for c in chars}
    if "X" in kinds:
        return None
    if hexadecimal and kinds & {"U", "L"}:
        return hexadecimal
    key = "".join(k for k in "DUL" if k in kinds)
    return {"D": "[0-9]", "U": "[A-Z]", "L": "[a-z]", "UL": "[A-Za-z]", "DU": "[0-9A-Z]",
            "DL": "[0-9a-z]", "DUL": "[0-9A-Za-z]"}[key]


def _from_positions(texts: list[str]) -> list[IdPart] | None:
    """Same-length ids whose runs differ (``a8Fk2Z``, uuids): one class per position."""
    if len({len(text) for text in texts}) != 1:
        return None
    hexadecimal = _hex_class(texts)
    parts: list[IdPart] = []
    for column in zip(*texts, strict=True):
        chars = set(column)
        if len(chars) == 1 and _char_kind(column[0]) == "X":
            parts.append(IdPart(literal=column[0]))
            continue
        chars_class = _positional_class(chars, hexadecimal)
        if chars_class is None:
            return None
        if parts and parts[-1].chars == chars_class:
            last = parts[-1]
            parts[-1] = IdPart(chars=chars_class, shortest=last.shortest + 1,
                               longest=last.longest + 1)
        else:
            parts.append(IdPart(chars=chars_class, shortest=1, longest=1))
    return parts


def _merged(parts: list[IdPart]) -> list[IdPart]:
    """Join neighbouring fixed texts into one part."""
    merged: list[IdPart] = []
    for part in parts:
        if merged and not part.chars and not merged[-1].chars:
            merged[-1] = IdPart(literal=merged[-1].literal + part.literal)
        else:
            merged.append(part)
    return merged


def derive_id_regex(series: pd.Series) -> tuple[str | None, str]:
    """The format of real ids as a regular expression, or None and the reason why not.

    Args:
        series: The real id column.

    Returns:
        ``(regex, "")`` or ``(None, reason)``; the reason is a plain sentence fragment
        ("ids are longer than 64 characters").
    """
    values = series.dropna()
    if values.empty:
        return None, "the column is empty"
    if len(values) > _SAMPLE:
        values = values.sample(_SAMPLE, random_state=0)
    if pd.api.types.is_bool_dtype(values):
        return None, "true/false values are not ids"
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float)
        if not np.all(np.mod(numbers, 1) == 0):
            return None, "the ids are not whole numbers"
        if (numbers < 0).any():
            return None, "some ids are negative"
        if numbers.max() >= 10.0**_MAX_INT_DIGITS:
            return None, f"the ids have more than {_MAX_INT_DIGITS} digits"
        digits = [str(int(number)) for number in numbers]
        # Only zero itself starts with 0 among whole numbers: it is no leading zero.
        parts = _digits_part([d for d in digits if d != "0"] or digits)
        return "".join(part.regex() for part in parts), ""
    texts = [str(value) for value in values]
    if max(len(text) for text in texts) > MAX_ID_LENGTH:
        return None, f"some ids are longer than {MAX_ID_LENGTH} characters"
    if not all(text.isprintable() and text for text in texts):
        return None, "some ids are empty or hold invisible characters"
    parts = _from_shapes(texts) or _from_positions(texts)
    if parts is None:
        return None, "the ids share no common pattern"
    parts = _merged(parts)
    if not any(part.chars for part in parts):
        return None, "every id is the same text"
    if len(parts) > MAX_PARTS:
        return None, f"the pattern would have more than {MAX_PARTS} parts"
    return "".join(part.regex() for part in parts), ""


_TOKEN = re.compile(r"\\(.)|(\[[^\]]+\])(?:\{(\d+)(?:,(\d+))?\})?|(.)", re.DOTALL)


def parse_id_regex(regex: str) -> tuple[IdPart, ...] | None:
    """Read back a pattern written by :func:`derive_id_regex` (None for any other regex)."""
    if not regex or len(regex) > 8 * MAX_ID_LENGTH:
        return None
    parts: list[IdPart] = []
    for match in _TOKEN.finditer(regex):
        escaped, chars, low, high, plain = match.groups()
        if chars is not None:
            if chars not in _CLASSES:
                return None
            shortest = int(low) if low is not None else 1
            longest = int(high) if high is not None else shortest
            if not 0 <= shortest <= longest <= MAX_ID_LENGTH:
                return None
            parts.append(IdPart(chars=chars, shortest=shortest, longest=longest))
        else:
            literal = escaped if escaped is not None else plain
            if literal in "[](){}*+?|^$." and escaped is None:
                return None  # regex syntax this dialect never writes unescaped
            parts.append(IdPart(literal=literal))
    return tuple(_merged(parts)) if any(p.chars for p in parts) else None


def id_space(parts: tuple[IdPart, ...]) -> int:
    """How many different ids a pattern can make."""
    total = 1
    for part in parts:
        total *= part.size()
    return total


def _with_room(parts: tuple[IdPart, ...], n: int, max_length: int) -> tuple[IdPart, ...]:
    """Grow the last run by a character at a time until the pattern holds ``n`` * room."""
    grown = list(parts)
    last = max(i for i, part in enumerate(grown) if part.chars)
    while id_space(tuple(grown)) < _ROOM * n and sum(p.longest or len(p.literal)
                                                     for p in grown) < max_length:
        part = grown[last]
        grown[last] = IdPart(chars=part.chars, shortest=part.shortest, longest=part.longest + 1)
    return tuple(grown)


def _draw_part(part: IdPart, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bytes (n, width) and a mask of the characters in use for one part."""
    if not part.chars:
        data = np.frombuffer(part.literal.encode("utf-8"), dtype=np.uint8)
        return np.broadcast_to(data, (n, data.size)), np.ones((n, data.size), dtype=bool)
    alphabet = np.frombuffer(_CLASSES[part.chars].encode("ascii"), dtype=np.uint8)
    width = part.longest
    if part.shortest == part.longest:
        lengths = np.full(n, width)
    else:
        # Each length in proportion to how many texts it holds: uniform over all texts.
        options = np.arange(part.shortest, part.longest + 1)
        weights = np.array([float(alphabet.size) ** int(k) for k in options])
        lengths = rng.choice(options, size=n, p=weights / weights.sum())
    data = alphabet[rng.integers(0, alphabet.size, size=(n, width))]
    return data, np.arange(width)[None, :] < lengths[:, None]


def _draw(parts: tuple[IdPart, ...], rng: np.random.Generator, n: int) -> np.ndarray:
    blocks = [_draw_part(part, rng, n) for part in parts]
    data = np.hstack([block for block, _ in blocks]) if blocks else np.zeros((n, 0), np.uint8)
    used = np.hstack([mask for _, mask in blocks])
    # Move the characters in use to the front of each row; the unused ones become the
    # zero bytes a fixed-width byte string drops at its end.
    order = np.argsort(~used, axis=1, kind="stable")
    data = np.where(np.take_along_axis(used, order, axis=1),
                    np.take_along_axis(data, order, axis=1), 0).astype(np.uint8)
    data = np.ascontiguousarray(data)
    raw = data.view(f"S{max(data.shape[1], 1)}").ravel()
    return np.char.decode(raw, "utf-8").astype(object)


def make_ids(regex: str, n: int, seed: int, column: str = "",
             integer: bool = False) -> np.ndarray | None:
    """``n`` unique ids in the format ``regex``, drawn at random (seeded), never enumerated.

    Args:
        regex: A pattern written by :func:`derive_id_regex`.
        n: How many.
        seed: Sampling seed; with ``column`` it fixes the values exactly.
        column: The column's name, so two id columns differ.
        integer: Return int64 numbers (the real column held whole numbers).

    Returns:
        The ids, or None when ``regex`` is not in this module's dialect.
    """
    parts = parse_id_regex(regex)
    if parts is None:
        return None
    if integer and not all(part.chars in ("", "[0-9]", "[1-9]") for part in parts):
        return None
    parts = _with_room(parts, n, _MAX_INT_DIGITS if integer else MAX_ID_LENGTH + 8)
    sequence = np.random.SeedSequence([int(seed), zlib.crc32(f"id:{column}".encode())])
    rng = np.random.default_rng(sequence)
    values = _draw(parts, rng, n)
    # Redraw repeats until every id is unique; the pattern holds >= 4 n ids, so the
    # repeats are a small share and a few rounds on them alone settle it.
    repeated = np.flatnonzero(pd.Series(values).duplicated().to_numpy())
    seen = set(np.delete(values, repeated))
    for _ in range(200):
        if repeated.size == 0:
            break
        fresh = _draw(parts, rng, repeated.size)
        still: list[int] = []
        for position, value in zip(repeated, fresh, strict=True):
            if value in seen:
                still.append(int(position))
            else:
                seen.add(value)
                values[position] = value
        repeated = np.array(still, dtype=int)
    if integer:
        return np.array(values, dtype=str).astype(np.int64)
    return values
