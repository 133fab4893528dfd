"""Free-text columns: lengths, words, a text classifier and the leak check.

A text column (action "generate": a text model writes it after the table is sampled) is
never seen by the table scores; :func:`text_scores` judges each one on its own, comparing the
synthetic texts with the real training texts, and with real held-out texts as the yardstick:

* **Length** — words per text, real vs synthetic: ``length_score`` = 1 − the largest gap
  between the two cumulative distributions (the Kolmogorov–Smirnov statistic), as the
  column-shape score of a number column. 1 = same spread of lengths.
* **Vocabulary** — ``vocabulary_overlap`` = the weighted Jaccard similarity of the two word
  frequency distributions, Σ min(p_real, p_syn) / Σ max(p_real, p_syn) over every word (1 =
  the same words in the same proportions, 0 = no word shared). Rare words make two samples
  of the same language differ by chance, so the same number for held-out real texts of equal
  size is given beside it (``vocabulary_overlap_holdout``, the ceiling). ``real_word_share``
  is the share of synthetic words that occur in the training texts at all. Top words and top
  word pairs (common English words left out) are listed per category of the label column.
* **Classifier** — a TF-IDF (words and word pairs) + logistic-regression model learns to
  predict a categorical column from the text: once from synthetic texts, once from real
  training texts, both scored on the same held-out real texts. ``classifier_ratio`` =
  macro-F1 (each class weighs the same) of the first ÷ the second. The column is the target
  when it is categorical (2 to :data:`~core.evaluation.thresholds.MAX_CLASSES_JUDGED`
  classes) and the real texts predict it, else the categorical column the real texts
  predict best (of the :data:`MAX_LABEL_CANDIDATES` with the fewest classes): a complaint's
  text tells its product, rarely whether the answer was on time. Not measured when the real
  texts barely predict any (macro-F1 less than 0.05 above a blind guess: the commonest class
  always, or classes at random): the ratio would be noise.
* **Leak check** — ``leak_rate`` = share of synthetic texts that repeat a run of at least
  :data:`LEAK_NGRAM` (8) consecutive words (lower-cased, punctuation ignored) of some
  training text; ``holdout_leak_rate`` is the same share for held-out real texts, which the
  model never saw: templated language ("I am writing to dispute a charge on my account")
  shares runs by chance, and only the excess over that baseline is memorising. Texts shorter
  than 8 words cannot repeat a run; whole-text copies are counted as well
  (``exact_copy_rate`` against ``holdout_exact_copy_rate``). Where most held-out texts share
  8-word runs (templated language: the complaints sample's held-out texts all do), the excess
  at 8 words can hide a model that copies long passages, so runs longer than 95 % of the
  held-out texts' longest copied runs count too (:func:`long_run_words`: ``long_run_rate``
  against ``holdout_long_run_rate``, judged at the low end of the difference's 95 % interval
  because the length is fitted on those held-out texts). The judgement
  (:func:`~core.evaluation.thresholds.text_leak_level`) takes the largest excess. Up to
  :data:`MAX_EXAMPLES` synthetic texts with the longest copied run marked are kept, and
  nothing else of the training row. A run may be stitched from two overlapping training
  8-word runs of different texts; it is still training text reproduced.

**Speed and bounds.** The training texts' 8-word runs are hashed (a 64-bit hash of the word
ids, collisions negligible at these sizes) into one sorted array: building it and looking up
every synthetic run is linear in the words read (plus one sort). At most
:data:`LEAK_TRAIN_TEXTS` training texts (50,000) are hashed and :data:`LEAK_TEXTS` synthetic
and held-out texts (10,000 each) checked; lengths, words and the classifier use at most
:data:`TEXT_ROWS` texts per side (5,000), all seeded samples. A few thousand texts take about
a second.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    MISSING_LABEL,
    as_labels,
    evaluation_sdtype,
    sample_rows,
    single_threaded_native_code,
)
from core.evaluation.thresholds import (
    MAX_CLASSES_JUDGED,
    NOT_MEASURED,
    TEXT_TEMPLATED,
    fidelity_level,
    text_leak_level,
    utility_level,
)
from core.progress import ProgressCallback, null_progress

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "LEAK_NGRAM",
    "LEAK_TEXTS",
    "LEAK_TRAIN_TEXTS",
    "MAX_EXAMPLES",
    "TEXT_ROWS",
    "LONG_RUN_QUANTILE",
    "LeakCounts",
    "LeakExample",
    "TextColumnResult",
    "TextResult",
    "leak_check",
    "long_run_words",
    "text_columns_of",
    "text_leak_figure",
    "text_length_figure",
    "text_scores",
    "text_words_figure",
    "tokens",
]

#: A synthetic text "leaks" when it repeats this many consecutive words of a training text.
LEAK_NGRAM = 8
#: Texts per side for lengths, words and the classifier (seeded samples beyond it).
TEXT_ROWS = 5_000
#: Training texts whose runs are hashed for the leak check (seeded sample beyond it).
LEAK_TRAIN_TEXTS = 50_000
#: Synthetic and held-out texts checked for leaks (seeded samples beyond it).
LEAK_TEXTS = 10_000
#: Leaking synthetic texts kept as examples.
MAX_EXAMPLES = 5
#: Characters of an example kept around its copied run.
EXAMPLE_CHARS = 400
#: Words and word pairs listed per category, and categories listed.
TOP_WORDS = 10
TOP_CATEGORIES = 6
#: Label columns whose real-text classifier is tried when the target is not categorical.
MAX_LABEL_CANDIDATES = 5
#: The real-trained classifier must beat a blind guess by this much macro-F1 for the ratio
#: to mean anything (as utility's ``MIN_SKILL``).
MIN_TEXT_SKILL = 0.05
#: Fewest texts with a label on each side for the classifier test.
MIN_CLASSIFIER_TEXTS = 20
#: Templated language: a copied run counts as long beyond this quantile of the held-out
#: texts' longest copied runs (:func:`long_run_words`).
LONG_RUN_QUANTILE = 0.95
_Z95 = 1.959963984540054

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: Fixed odd 64-bit multipliers, one per position of a run (the hash of a run of word ids).
_MULTIPLIERS = (np.random.default_rng(20_231_123).integers(1, 2**62, size=LEAK_NGRAM,
                                                           dtype=np.int64) * 2 + 1
                ).astype(np.uint64)


def tokens(text: str) -> list[str]:
    """The words of a text, lower-cased, punctuation left out (``"Don't!"`` → ``["don't"]``)."""
    return _WORD.findall(text.lower())


def text_columns_of(schema: TableSchema) -> list[str]:
    """The columns a text model writes (``schema.text_columns``; action "generate")."""
    found = getattr(schema, "text_columns", None)
    if found is not None:
        return list(found)
    return [column.name for column in schema.columns if column.action == "generate"]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LeakExample:
    """One synthetic text that repeats training text, with the copied run located.

    Attributes:
        text: The synthetic text (cut to about :data:`EXAMPLE_CHARS` characters around the
            run, "…" where cut). Nothing of the training row is kept.
        start: Where the copied run starts in ``text`` (characters).
        end: Where it ends.
        words: Length of the copied run in words.
    """

    text: str
    start: int
    end: int
    words: int

    def marked(self, before: str = "[", after: str = "]") -> str:
        """The text with the copied run between ``before`` and ``after``."""
        return (self.text[:self.start] + before + self.text[self.start:self.end] + after
                + self.text[self.end:])


@dataclass(frozen=True, eq=False)
class TextColumnResult:
    """The scores of one text column (see the module docstring for each).

    Attributes:
        column: The text column.
        length_score: 1 − KS statistic of words per text, synthetic vs training (0..1).
        vocabulary_overlap: Weighted Jaccard of word frequencies, synthetic vs training.
        classifier_ratio: Macro-F1 trained on synthetic ÷ trained on real texts, or None.
        leak_rate: Share of synthetic texts repeating ≥ :data:`LEAK_NGRAM` training words.
        holdout_leak_rate: The same share for held-out real texts (the chance baseline).
        exact_copy_rate: Share of synthetic texts identical (same words) to a training text.
        holdout_exact_copy_rate: The same share for held-out real texts.
        leak_level: good / fair / poor (:func:`~core.evaluation.thresholds.text_leak_level`).
        examples: Up to :data:`MAX_EXAMPLES` leaking synthetic texts, longest run first.
        long_run_words: The copied-run length that counts as long (:func:`long_run_words`):
            8, or more where unseen real texts share longer runs by chance.
        long_run_rate: Share of synthetic texts copying a run that long.
        holdout_long_run_rate: The same share for held-out real texts.
        long_run_excess: The first minus the second at the low end of its 95 % interval
            (the threshold is fitted on the held-out texts, so chance is allowed for).
        length_score_holdout: ``length_score`` of held-out real texts (the ceiling).
        vocabulary_overlap_holdout: ``vocabulary_overlap`` of as many held-out real texts.
        real_word_share: Share of synthetic words that occur in the training texts.
        mean_words: Mean words per text: ``real`` (training) and ``synthetic``.
        missing_share: Share of missing texts: ``real`` and ``synthetic``.
        classifier_column: The column the classifier predicts, or None.
        classifier_real: Its macro-F1 trained on real texts (None when not trained).
        classifier_synthetic: Its macro-F1 trained on synthetic texts.
        classifier_reason: Why the ratio is None, in plain words.
        top_words: Per category: ``category``, ``kind`` ("words" or "word pairs"),
            ``real`` and ``synthetic`` (the top ones, commas between), ``shared`` (how many
            of the real top ones the synthetic list has).
        word_shares: The commonest real words with their share of words, real vs synthetic.
        lengths: Words per text of the compared samples: ``real`` and ``synthetic``.
        rows: Texts compared: ``real_train``, ``holdout``, ``synthetic`` (lengths and
            words) and ``leak_train``, ``leak_synthetic``, ``leak_holdout``.
        sentences: Plain sentences: ``length``, ``vocabulary``, ``classifier``, ``leak``.
    """

    column: str
    length_score: float
    vocabulary_overlap: float
    classifier_ratio: float | None
    leak_rate: float
    holdout_leak_rate: float
    exact_copy_rate: float
    holdout_exact_copy_rate: float
    leak_level: str
    examples: tuple[LeakExample, ...]
    long_run_words: int
    long_run_rate: float
    holdout_long_run_rate: float
    long_run_excess: float
    length_score_holdout: float
    vocabulary_overlap_holdout: float
    real_word_share: float
    mean_words: dict[str, float]
    missing_share: dict[str, float]
    classifier_column: str | None
    classifier_real: float | None
    classifier_synthetic: float | None
    classifier_reason: str | None
    top_words: pd.DataFrame
    word_shares: pd.DataFrame
    lengths: dict[str, np.ndarray]
    rows: dict[str, int]
    sentences: dict[str, str] = field(default_factory=dict)

    @property
    def excess_leak_rate(self) -> float:
        """The judged excess: the largest of runs, whole copies and long runs beyond chance."""
        values = (self.leak_rate - self.holdout_leak_rate,
                  self.exact_copy_rate - self.holdout_exact_copy_rate, self.long_run_excess)
        return max([0.0, *(v for v in values if v == v)])

    @property
    def templated(self) -> bool:
        """True when most unseen real texts share runs with training texts by chance."""
        return self.holdout_leak_rate >= TEXT_TEMPLATED

    def as_dict(self) -> dict[str, Any]:
        """metrics.json's entry: the four headline scores first, then the extras."""
        def number(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or value != value else round(float(value), digits)

        return {
            "length_score": number(self.length_score),
            "vocabulary_overlap": number(self.vocabulary_overlap),
            "classifier_ratio": number(self.classifier_ratio),
            "leak_rate": number(self.leak_rate, 5),
            "holdout_leak_rate": number(self.holdout_leak_rate, 5),
            "excess_leak_rate": number(self.excess_leak_rate, 5),
            "exact_copy_rate": number(self.exact_copy_rate, 5),
            "holdout_exact_copy_rate": number(self.holdout_exact_copy_rate, 5),
            "long_run_words": self.long_run_words,
            "long_run_rate": number(self.long_run_rate, 5),
            "holdout_long_run_rate": number(self.holdout_long_run_rate, 5),
            "leak_ngram": LEAK_NGRAM,
            "leak_level": self.leak_level,
            "leak_examples": len(self.examples),
            "length_score_holdout": number(self.length_score_holdout),
            "vocabulary_overlap_holdout": number(self.vocabulary_overlap_holdout),
            "real_word_share": number(self.real_word_share),
            "mean_words": {k: number(v, 2) for k, v in self.mean_words.items()},
            "classifier_column": self.classifier_column,
            "classifier_real": number(self.classifier_real),
            "classifier_synthetic": number(self.classifier_synthetic),
            "classifier_reason": self.classifier_reason,
            "rows": dict(self.rows),
        }


@dataclass(frozen=True, eq=False)
class TextResult:
    """The scores of every text column.

    Attributes:
        columns: Column name → its :class:`TextColumnResult`, in schema order.
        notes: Plain notes (columns that could not be scored, and why).
    """

    columns: dict[str, TextColumnResult]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """metrics.json's ``text``: ``{column: {length_score, vocabulary_overlap, ...}}``."""
        return {name: result.as_dict() for name, result in self.columns.items()}

    @property
    def worst(self) -> TextColumnResult | None:
        """The column whose leak reads worst (largest excess among equals), or None."""
        from core.evaluation.thresholds import LEVELS

        judged = [r for r in self.columns.values() if r.leak_level != NOT_MEASURED]
        if not judged:
            return None
        return max(judged, key=lambda r: (LEVELS.index(r.leak_level), r.excess_leak_rate))


# --------------------------------------------------------------------------- the parts


def _texts(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as text (missing dropped), index kept to find the row's labels."""
    values = frame[column]
    present = values[values.notna()]
    return present.astype(str)


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    if not len(real) or not len(synthetic):
        return math.nan
    from scipy.stats import ks_2samp

    return float(1.0 - ks_2samp(real, synthetic).statistic)


def _weighted_jaccard(first: Counter[str], second: Counter[str]) -> float:
    total_first, total_second = sum(first.values()), sum(second.values())
    if not total_first or not total_second:
        return math.nan
    low = high = 0.0
    for word in first.keys() | second.keys():
        a, b = first.get(word, 0) / total_first, second.get(word, 0) / total_second
        low += min(a, b)
        high += max(a, b)
    return low / high if high else math.nan


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _top(token_lists: Iterable[list[str]], stop: frozenset[str]) -> tuple[list[str], list[str]]:
    """The top content words and word pairs (neither word a common English word)."""
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for words_of in token_lists:
        content = [w for w in words_of if w not in stop and not w.isdigit()]
        words.update(content)
        pairs.update(f"{a} {b}" for a, b in zip(words_of, words_of[1:], strict=False)
                     if a not in stop and b not in stop and not a.isdigit() and not b.isdigit())
    return ([w for w, _ in words.most_common(TOP_WORDS)],
            [p for p, _ in pairs.most_common(TOP_WORDS)])


def _top_words_table(real: pd.Series, synthetic: pd.Series, real_labels: pd.Series | None,
                     synthetic_labels: pd.Series | None, stop: frozenset[str]) -> pd.DataFrame:
    """Top words and word pairs, real vs synthetic, for all texts and per category."""
    groups: list[tuple[str, pd.Series, pd.Series]] = [("(all texts)", real, synthetic)]
    if real_labels is not None and synthetic_labels is not None:
        for label in real_labels.value_counts().index[:TOP_CATEGORIES]:
            groups.append((str(label), real[real_labels == label],
                           synthetic[synthetic_labels == label]))
    rows = []
    for category, real_group, synthetic_group in groups:
        real_words, real_pairs = _top(real_group, stop)
        syn_words, syn_pairs = _top(synthetic_group, stop)
        for kind, mine, theirs in (("words", real_words, syn_words),
                                   ("word pairs", real_pairs, syn_pairs)):
            rows.append({"category": category, "kind": kind, "real": ", ".join(mine),
                         "synthetic": ", ".join(theirs) or "(no synthetic text)",
                         "shared": len(set(mine) & set(theirs))})
    return pd.DataFrame(rows, columns=["category", "kind", "real", "synthetic", "shared"])


def _word_shares(real: Counter[str], synthetic: Counter[str], stop: frozenset[str],
                 top: int = 15) -> pd.DataFrame:
    real_total, syn_total = sum(real.values()) or 1, sum(synthetic.values()) or 1
    common = [w for w, _ in real.most_common() if w not in stop and not w.isdigit()][:top]
    return pd.DataFrame({"word": common,
                         "real": [real[w] / real_total for w in common],
                         "synthetic": [synthetic.get(w, 0) / syn_total for w in common]})


# --------------------------------------------------------------------------- the leak check


def _run_hashes(token_lists: Sequence[list[str]], vocabulary: dict[str, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of every run of :data:`LEAK_NGRAM` words, the text of each and its position.

    Words are numbered through ``vocabulary`` (grown as needed, shared by all sides).
    """
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    flat = np.fromiter((vocabulary.setdefault(w, len(vocabulary)) for t in token_lists
                        for w in t), dtype=np.int64, count=int(lengths.sum()))
    windows = len(flat) - LEAK_NGRAM + 1
    if windows <= 0:
        empty = np.empty(0, dtype=np.int64)
        return np.empty(0, dtype=np.uint64), empty, empty
    ids = flat.astype(np.uint64)
    hashes = np.zeros(windows, dtype=np.uint64)
    for offset, multiplier in enumerate(_MULTIPLIERS):
        hashes += ids[offset:offset + windows] * multiplier  # wraps modulo 2**64
    owner = np.repeat(np.arange(len(token_lists)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(flat)) - np.repeat(starts, lengths)
    inside = owner[:windows] == owner[LEAK_NGRAM - 1:]  # the run stays within one text
    return hashes[inside], owner[:windows][inside], position[:windows][inside]


def _example(text: str, first_word: int, words: int) -> LeakExample:
    spans = [match.span() for match in _WORD.finditer(text)]
    begin, end = spans[first_word][0], spans[first_word + words - 1][1]
    left = max(0, begin - EXAMPLE_CHARS // 4)
    right = min(len(text), max(end, left + EXAMPLE_CHARS))
    prefix, suffix = ("…" if left else ""), ("…" if right < len(text) else "")
    cut = prefix + text[left:right] + suffix
    shift = len(prefix) - left
    return LeakExample(cut, begin + shift, end + shift, words)


@dataclass(frozen=True)
class LeakCounts:
    """What the leak check found in one set of texts.

    Attributes:
        rate: Share of texts (with words) repeating ≥ :data:`LEAK_NGRAM` training words.
        copy_rate: Share of texts whose words equal a training text's.
        longest: Per text with words, its longest copied run in words (0: none).
        examples: Up to :data:`MAX_EXAMPLES` texts with their longest copied run located.
    """

    rate: float
    copy_rate: float
    longest: np.ndarray
    examples: tuple[LeakExample, ...] = ()


def _longest_runs(owner: np.ndarray, position: np.ndarray, texts: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per text: the longest chain of copied runs in words (0: none) and where it starts.

    ``owner`` and ``position`` are the copied runs' text and first word, in text order.
    """
    longest = np.zeros(texts, dtype=np.int64)
    first = np.zeros(texts, dtype=np.int64)
    if not len(owner):
        return longest, first
    starts = np.ones(len(owner), dtype=bool)
    starts[1:] = (owner[1:] != owner[:-1]) | (position[1:] != position[:-1] + 1)
    chain = np.cumsum(starts) - 1
    words = np.bincount(chain) + LEAK_NGRAM - 1
    chain_owner, chain_first = owner[starts], position[starts]
    # Longest chain per text: sort by text, then length (the first, longest, wins).
    order = np.lexsort((-words, chain_owner))
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = chain_owner[order][1:] != chain_owner[order][:-1]
    best = order[keep]
    longest[chain_owner[best]] = words[best]
    first[chain_owner[best]] = chain_first[best]
    return longest, first


def leak_check(training: Sequence[str], others: Sequence[Sequence[str]],
               examples_of: int | None = 0) -> list[LeakCounts]:
    """Which texts of each set repeat a run of training text, and whole-text copies.

    Args:
        training: The training texts.
        others: Text sets to check (e.g. synthetic, then held-out).
        examples_of: Index in ``others`` whose leaking texts are kept as examples (None:
            none), longest copied run first.

    Returns:
        One :class:`LeakCounts` per set (rates NaN for a set without a word).
    """
    vocabulary: dict[str, int] = {}
    train_tokens = [tokens(t) for t in training]
    train_hashes = np.unique(_run_hashes(train_tokens, vocabulary)[0])
    whole = {" ".join(t) for t in train_tokens if t}
    results = []
    for index, texts in enumerate(others):
        token_lists = [tokens(t) for t in texts]
        worded = np.array([bool(t) for t in token_lists], dtype=bool)
        if not worded.any():
            results.append(LeakCounts(math.nan, math.nan, np.zeros(0, dtype=np.int64)))
            continue
        hashes, owner, position = _run_hashes(token_lists, vocabulary)
        if len(train_hashes) and len(hashes):
            found = np.searchsorted(train_hashes, hashes)
            found[found == len(train_hashes)] = 0
            hit = train_hashes[found] == hashes
        else:
            hit = np.zeros(len(hashes), dtype=bool)
        longest, first = _longest_runs(owner[hit], position[hit], len(token_lists))
        copies = sum(" ".join(t) in whole for t in token_lists if t)
        found_examples: tuple[LeakExample, ...] = ()
        if examples_of is not None and index == examples_of:
            ranked = sorted(np.flatnonzero(longest).tolist(), key=lambda i: (-longest[i], i))
            found_examples = tuple(_example(texts[i], int(first[i]), int(longest[i]))
                                   for i in ranked[:MAX_EXAMPLES])
        results.append(LeakCounts(float((longest > 0).sum() / worded.sum()),
                                  float(copies / worded.sum()), longest[worded],
                                  found_examples))
    return results


def long_run_words(holdout_longest: np.ndarray) -> int:
    """The run length that counts as long: beyond what most unseen real texts copy by chance.

    :data:`LEAK_NGRAM`, or one more word than the :data:`LONG_RUN_QUANTILE` quantile of the
    held-out texts' longest copied runs when that is longer (templated language).
    """
    if not len(holdout_longest):
        return LEAK_NGRAM
    return max(LEAK_NGRAM, int(np.quantile(holdout_longest, LONG_RUN_QUANTILE)) + 1)


def _low_end_excess(synthetic: np.ndarray, holdout: np.ndarray) -> float:
    """Synthetic minus held-out share, at the low end of its 95 % interval (0: not above).

    Two proportions, normal approximation with the pooled share.
    """
    if not len(synthetic) or not len(holdout):
        return math.nan
    first, second = float(synthetic.mean()), float(holdout.mean())
    pooled = (synthetic.sum() + holdout.sum()) / (len(synthetic) + len(holdout))
    error = math.sqrt(pooled * (1 - pooled) * (1 / len(synthetic) + 1 / len(holdout)))
    return max(0.0, first - second - _Z95 * error)


# --------------------------------------------------------------------------- the classifier


def _label_candidates(schema: TableSchema, frames: Sequence[pd.DataFrame],
                      target: str | None) -> list[str]:
    """Categorical modelled columns with 2 to MAX_CLASSES_JUDGED classes, target first."""
    found = []
    for column in schema.columns:
        name = column.name
        if name not in schema.modelled_columns or any(name not in f.columns for f in frames):
            continue
        if evaluation_sdtype(column) not in ("categorical", "boolean"):
            continue
        classes = as_labels(frames[0][name]).nunique(dropna=True)
        if 2 <= classes <= MAX_CLASSES_JUDGED:
            found.append((name != target, classes, name))
    return [name for _, _, name in sorted(found)]


class _TextFeatures:
    """TF-IDF of words and word pairs, learned from one side's texts only.

    Fitted once per side: the real side's features serve every label column tried.
    """

    def __init__(self, texts: pd.Series) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(token_pattern=_WORD.pattern, ngram_range=(1, 2),
                                          min_df=2, max_features=20_000, sublinear_tf=True,
                                          dtype=np.float32)
        self.position = pd.Series(np.arange(len(texts)), index=texts.index)
        try:
            self.matrix = self.vectorizer.fit_transform(texts)
        except ValueError:  # every word below min_df: too few texts for a vocabulary
            self.matrix = None

    def score(self, texts: pd.Series, labels: np.ndarray, test: pd.Series,
              test_labels: np.ndarray, seed: int) -> float:
        """Macro-F1 on ``test`` of a logistic regression fitted on ``texts`` (a subset)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import f1_score

        classes = np.unique(labels)
        if self.matrix is None or len(classes) < 2:  # nothing to learn: the commonest class
            values, counts = np.unique(labels, return_counts=True)
            predicted = np.full(len(test), values[np.argmax(counts)], dtype=object)
        else:
            model = LogisticRegression(C=4.0, max_iter=300, class_weight="balanced",
                                       random_state=seed)
            with single_threaded_native_code():
                model.fit(self.matrix[self.position[texts.index].to_numpy()], labels)
                predicted = model.predict(self.vectorizer.transform(test))
        return float(f1_score(test_labels, predicted, labels=np.unique(test_labels),
                              average="macro", zero_division=0))


def _chance_f1(labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Macro-F1 of the best blind guess: the commonest class always, or classes at random.

    Random guessing scores about 1/k on k classes (a class-balanced model that learned
    nothing guesses like that), always guessing the commonest class less; both are chance.
    """
    from sklearn.metrics import f1_score

    values, counts = np.unique(labels, return_counts=True)
    guess = np.full(len(test_labels), values[np.argmax(counts)], dtype=object)
    majority = float(f1_score(test_labels, guess, labels=np.unique(test_labels),
                              average="macro", zero_division=0))
    _, test_counts = np.unique(test_labels, return_counts=True)
    shares, uniform = test_counts / test_counts.sum(), 1.0 / len(test_counts)
    at_random = max(float(np.mean(shares)),  # guessing at the real shares
                    float(np.mean(2 * shares * uniform / (shares + uniform))))  # uniformly
    return max(majority, at_random)


def _labelled(texts: pd.Series, frame: pd.DataFrame, column: str) -> tuple[pd.Series, np.ndarray]:
    labels = as_labels(frame.loc[texts.index, column])
    keep = labels.notna().to_numpy()
    return texts[keep], labels[keep].astype(str).to_numpy(dtype=object)


@dataclass
class _Classifier:
    column: str | None = None
    real: float | None = None
    synthetic: float | None = None
    ratio: float | None = None
    reason: str | None = None


def _classifier_test(real: pd.Series, holdout: pd.Series, synthetic: pd.Series,
                     frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                     candidates: list[str], target: str | None, seed: int) -> _Classifier:
    """Train on synthetic / real texts, test on held-out texts, for the chosen column."""
    if not candidates:
        return _Classifier(reason="no category column (2 to "
                                  f"{MAX_CLASSES_JUDGED} classes) to predict from the text")
    real_frame, holdout_frame, synthetic_frame = frames
    tried: list[tuple[float, str, float, Any, float]] = []
    pool = candidates[:MAX_LABEL_CANDIDATES + (candidates[0] == target)]
    features = _TextFeatures(real)
    for column in pool:
        train_texts, train_labels = _labelled(real, real_frame, column)
        test_texts, test_labels = _labelled(holdout, holdout_frame, column)
        if len(train_texts) < MIN_CLASSIFIER_TEXTS or len(test_texts) < MIN_CLASSIFIER_TEXTS:
            continue
        score = features.score(train_texts, train_labels, test_texts, test_labels, seed)
        chance = _chance_f1(train_labels, test_labels)
        tried.append((score - chance, column, score, (test_texts, test_labels), chance))
        if column == target and score - chance >= MIN_TEXT_SKILL:
            break  # the target is told by the text: no need to look further
    if not tried:
        return _Classifier(reason=f"fewer than {MIN_CLASSIFIER_TEXTS} labelled real texts "
                                  "on each side")
    skill, column, real_score, (test_texts, test_labels), chance = max(
        tried, key=lambda item: (item[1] == target and item[0] >= MIN_TEXT_SKILL, item[0]))
    syn_texts, syn_labels = _labelled(synthetic, synthetic_frame, column)
    if len(syn_texts) < 2:
        return _Classifier(column, real_score, None, None,
                           f"the synthetic rows have almost no text with a '{column}' value")
    syn_score = _TextFeatures(syn_texts).score(syn_texts, syn_labels, test_texts,
                                                test_labels, seed)
    if skill < MIN_TEXT_SKILL:
        return _Classifier(column, real_score, syn_score, None,
                           f"even the real texts barely predict '{column}' (score "
                           f"{real_score:.2f}, guessing blindly {chance:.2f}), so the comparison "
                           "would be noise")
    return _Classifier(column, real_score, syn_score,
                       syn_score / real_score if real_score > 0 else None, None)


# --------------------------------------------------------------------------- scoring


def _sentences(result: dict[str, Any]) -> dict[str, str]:
    column = result["column"]
    out = {}
    length = result["length_score"]
    out["length"] = (
        f"Texts in '{column}' have {result['mean_words']['synthetic']:.0f} words on average "
        f"in the synthetic rows and {result['mean_words']['real']:.0f} in the real ones; the "
        f"length score is {length:.0%} ({fidelity_level(length)}; unseen real texts score "
        f"{result['length_score_holdout']:.0%})." if length == length else
        f"No synthetic text in '{column}' to compare lengths.")
    overlap = result["vocabulary_overlap"]
    out["vocabulary"] = (
        f"The synthetic texts use the real words in similar proportions at {overlap:.0%} "
        f"(unseen real texts: {result['vocabulary_overlap_holdout']:.0%}, the best to "
        f"expect); {result['real_word_share']:.0%} of their words occur in the real texts."
        if overlap == overlap else "No words to compare.")
    ratio, label = result["classifier_ratio"], result["classifier_column"]
    if ratio is not None:
        out["classifier"] = (
            f"A model that reads the text to predict '{label}' reaches {ratio:.0%} of the "
            f"real-text score when it learns from synthetic texts "
            f"({result['classifier_synthetic']:.2f} vs {result['classifier_real']:.2f}, "
            f"{utility_level(ratio)}).")
    else:
        out["classifier"] = f"Text classifier not measured: {result['classifier_reason']}."
    leak, base = result["leak_rate"], result["holdout_leak_rate"]
    copies, copy_base = result["exact_copy_rate"], result["holdout_exact_copy_rate"]
    level = result["leak_level"]
    verdicts = {"good": "no sign that the text model memorises training texts",
                "fair": "the text model repeats some training text",
                "poor": "the text model memorises training texts",
                NOT_MEASURED: "not judged"}
    sentence = (
        f"{leak:.1%} of synthetic texts repeat a run of {LEAK_NGRAM} or more words of a "
        f"training text ({base:.1%} of unseen real texts do, by chance)")
    if copies > 0 or copy_base > 0:
        sentence += f"; {copies:.1%} copy a whole training text ({copy_base:.1%} by chance)"
    sentence += f": {verdicts[level]}."
    if base >= TEXT_TEMPLATED:
        sentence += (f" Most unseen real texts share such runs too (templated language), so "
                     f"runs of {result['long_run_words']} or more words count instead: "
                     f"{result['long_run_rate']:.1%} of synthetic texts copy one "
                     f"({result['holdout_long_run_rate']:.1%} of unseen real texts).")
    out["leak"] = sentence
    return out


def _score_column(column: str, real_train: pd.DataFrame, holdout: pd.DataFrame,
                  synthetic: pd.DataFrame, candidates: list[str], target: str | None,
                  seed: int, stop: frozenset[str]) -> TextColumnResult:
    real_all, holdout_all, syn_all = (_texts(f, column) for f in (real_train, holdout, synthetic))
    # Lengths and words at equal sizes: held-out and synthetic texts against training texts.
    size = min(len(holdout_all), len(syn_all), TEXT_ROWS)
    real = sample_rows(real_all.to_frame(), TEXT_ROWS, seed)[column]
    holdout_sample = sample_rows(holdout_all.to_frame(), size, seed + 1)[column]
    syn_sample = sample_rows(syn_all.to_frame(), size, seed + 2)[column]
    real_tokens = real.map(tokens)
    holdout_tokens = holdout_sample.map(tokens)
    syn_tokens = syn_sample.map(tokens)
    lengths = {side: values.map(len).to_numpy(dtype=float) for side, values in
               (("real", real_tokens), ("holdout", holdout_tokens), ("synthetic", syn_tokens))}
    real_counts = Counter(w for t in real_tokens for w in t)
    holdout_counts = Counter(w for t in holdout_tokens for w in t)
    syn_counts = Counter(w for t in syn_tokens for w in t)
    syn_words = sum(syn_counts.values())
    known = sum(n for w, n in syn_counts.items() if w in real_counts)

    # The classifier reads bounded samples of each side, with their rows' labels.
    classifier = _classifier_test(
        real, sample_rows(holdout_all.to_frame(), TEXT_ROWS, seed + 3)[column],
        sample_rows(syn_all.to_frame(), TEXT_ROWS, seed + 4)[column],
        (real_train, holdout, synthetic), candidates, target, seed)
    real_labels = syn_labels = None
    if classifier.column is not None:
        real_labels = as_labels(real_train.loc[real.index, classifier.column]).fillna(
            MISSING_LABEL)
        syn_labels = as_labels(synthetic.loc[syn_sample.index, classifier.column]).fillna(
            MISSING_LABEL)

    leak_train = sample_rows(real_all.to_frame(), LEAK_TRAIN_TEXTS, seed + 5)[column]
    leak_syn = sample_rows(syn_all.to_frame(), LEAK_TEXTS, seed + 6)[column]
    leak_holdout = sample_rows(holdout_all.to_frame(), LEAK_TEXTS, seed + 7)[column]
    synthetic_leaks, holdout_leaks = leak_check(
        leak_train.tolist(), [leak_syn.tolist(), leak_holdout.tolist()], examples_of=0)
    leak, copies, examples = (synthetic_leaks.rate, synthetic_leaks.copy_rate,
                              synthetic_leaks.examples)
    base, copy_base = holdout_leaks.rate, holdout_leaks.copy_rate
    long_words = long_run_words(holdout_leaks.longest)
    long_synthetic = synthetic_leaks.longest >= long_words
    long_holdout = holdout_leaks.longest >= long_words
    long_excess = _low_end_excess(long_synthetic, long_holdout)
    leak_level = text_leak_level(leak, base, copies, copy_base, long_excess)

    fields: dict[str, Any] = {
        "column": column,
        "length_score": _ks_complement(lengths["real"], lengths["synthetic"]),
        "vocabulary_overlap": _weighted_jaccard(real_counts, syn_counts),
        "classifier_ratio": classifier.ratio,
        "leak_rate": leak, "holdout_leak_rate": base,
        "exact_copy_rate": copies, "holdout_exact_copy_rate": copy_base,
        "leak_level": leak_level, "examples": examples,
        "long_run_words": long_words,
        "long_run_rate": float(long_synthetic.mean()) if len(long_synthetic) else math.nan,
        "holdout_long_run_rate": float(long_holdout.mean()) if len(long_holdout) else math.nan,
        "long_run_excess": long_excess,
        "length_score_holdout": _ks_complement(lengths["real"], lengths["holdout"]),
        "vocabulary_overlap_holdout": _weighted_jaccard(real_counts, holdout_counts),
        "real_word_share": known / syn_words if syn_words else math.nan,
        "mean_words": {"real": float(np.mean(lengths["real"])) if len(real) else math.nan,
                       "synthetic": float(np.mean(lengths["synthetic"]))
                       if len(syn_sample) else math.nan},
        "missing_share": {"real": float(real_train[column].isna().mean()),
                          "synthetic": float(synthetic[column].isna().mean())},
        "classifier_column": classifier.column,
        "classifier_real": classifier.real,
        "classifier_synthetic": classifier.synthetic,
        "classifier_reason": classifier.reason,
        "top_words": _top_words_table(real_tokens, syn_tokens, real_labels, syn_labels, stop),
        "word_shares": _word_shares(real_counts, syn_counts, stop),
        "lengths": {"real": lengths["real"], "synthetic": lengths["synthetic"]},
        "rows": {"real_train": len(real), "holdout": len(holdout_sample),
                 "synthetic": len(syn_sample), "leak_train": len(leak_train),
                 "leak_synthetic": len(leak_syn), "leak_holdout": len(leak_holdout)},
    }
    fields["sentences"] = _sentences(fields)
    return TextColumnResult(**fields)


def text_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    target: str | None = None,
) -> TextResult | None:
    """Score every text column (see the module docstring); None without text columns.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows it never saw.
        synthetic: Generated rows (text filled in by the text model).
        schema: The reviewed schema: its text columns are scored.
        seed: Seed of every sample and model.
        progress: Called with (fraction, message).
        target: The target column, predicted from the text when it is categorical.

    Raises:
        EvaluationError: A text column is missing from one of the frames, or no real or
            synthetic text is there to compare.
    """
    report = progress or null_progress
    columns = text_columns_of(schema)
    if not columns:
        return None
    for name, frame in (("real training", real_train), ("held-out", holdout),
                        ("synthetic", synthetic)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise EvaluationError(
                f"The {name} data lacks the text column(s) {', '.join(map(repr, missing))}. "
                "Generate the synthetic rows again with the model trained on this schema.")
    stop = _stop_words()
    candidates = _label_candidates(schema, (real_train, holdout, synthetic), target)
    results: dict[str, TextColumnResult] = {}
    notes: list[str] = []
    for index, column in enumerate(columns):
        report(index / len(columns), f"Comparing the texts of '{column}'…")
        if real_train[column].notna().sum() == 0 or holdout[column].notna().sum() == 0:
            notes.append(f"'{column}' has no real text to compare with: not scored.")
            continue
        if synthetic[column].notna().sum() == 0:
            notes.append(f"The synthetic rows have no text in '{column}': not scored. "
                         "Generate again with a model whose text column was trained.")
            continue
        results[column] = _score_column(column, real_train, holdout, synthetic, candidates,
                                        target, seed, stop)
    report(1.0, "Texts compared.")
    if not results:
        raise EvaluationError(" ".join(notes) or "No text column could be scored.")
    return TextResult(results, tuple(notes))


# --------------------------------------------------------------------------- figures


def _layout(figure: go.Figure, title: str, height: int = 320) -> go.Figure:
    figure.update_layout(
        title={"text": title, "font": {"size": 14}}, template="plotly_white", height=height,
        margin={"l": 40, "r": 20, "t": 50, "b": 40}, barmode="group",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1})
    return figure


def text_length_figure(result: TextColumnResult) -> go.Figure:
    """Words per text, real training vs synthetic texts, as shares of texts per bin."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    real, synthetic = result.lengths["real"], result.lengths["synthetic"]
    both = np.concatenate([real, synthetic]) if len(real) + len(synthetic) else np.zeros(1)
    high = max(float(np.quantile(both, 0.995)), 1.0)
    edges = np.linspace(0, high + 1, 31)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure()
    for name, values, colour in (("Real", real, REAL_COLOUR),
                                 ("Synthetic", synthetic, SYNTHETIC_COLOUR)):
        counts, _ = np.histogram(np.clip(values, 0, edges[-1]), bins=edges)
        figure.add_bar(x=centres, y=counts / max(len(values), 1), name=name,
                       marker_color=colour, opacity=0.75)
    figure.update_xaxes(title="words per text")
    figure.update_yaxes(title="share of texts", tickformat=".0%")
    return _layout(figure, f"'{result.column}': words per text (length score "
                           f"{result.length_score:.0%})").update_layout(barmode="overlay",
                                                                        bargap=0.05)


def text_words_figure(result: TextColumnResult) -> go.Figure:
    """The commonest real words: their share of all words, real vs synthetic."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    shares = result.word_shares.iloc[::-1]
    figure = go.Figure()
    figure.add_bar(y=shares["word"], x=shares["real"], name="Real", orientation="h",
                   marker_color=REAL_COLOUR)
    figure.add_bar(y=shares["word"], x=shares["synthetic"], name="Synthetic",
                   orientation="h", marker_color=SYNTHETIC_COLOUR)
    figure.update_xaxes(title="share of all words", tickformat=".1%")
    return _layout(figure, f"'{result.column}': the commonest real words (overlap "
                           f"{result.vocabulary_overlap:.0%})", height=420)


def text_leak_figure(result: TextColumnResult) -> go.Figure:
    """Texts repeating training text: synthetic vs unseen real texts (the chance level)."""
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    labels = [f"repeat {LEAK_NGRAM}+ words in a row", "copy a whole text"]
    figure = go.Figure()
    figure.add_bar(x=labels, y=[result.holdout_leak_rate, result.holdout_exact_copy_rate],
                   name="Unseen real texts (chance)", marker_color=REAL_COLOUR)
    figure.add_bar(x=labels, y=[result.leak_rate, result.exact_copy_rate],
                   name="Synthetic texts", marker_color=SYNTHETIC_COLOUR)
    figure.update_yaxes(title="share of texts", tickformat=".0%", range=[0, 1.05])
    return _layout(figure, f"'{result.column}': texts that repeat training text "
                           f"({result.leak_level})")
