"""Plain words for every score and term the studio shows: one owner for names and formats.

Each :class:`Term` has a plain name (shown on cards, tables and charts), a one-line meaning
(shown as the tooltip next to it and on the Glossary page), the textbook name people meet
elsewhere (shown only on the Glossary page) and the one format its numbers take: a score is
either a percent (63%) or a number (0.63) everywhere, never both. The data and the keys of
metrics.json keep their technical names; only what is shown changes.

:func:`plain` rewrites a sentence computed elsewhere (a verdict's reason, an explanation)
so its technical words read as the plain names.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PAIR_SCORES_DIFFER",
    "TERMS",
    "Term",
    "column_label",
    "fmt",
    "help_text",
    "measure_label",
    "name",
    "plain",
    "table_format",
    "term",
]

Unit = Literal["percent", "number", "none"]


@dataclass(frozen=True)
class Term:
    """One score or word the studio shows.

    Attributes:
        key: Stable key (a metrics.json key or the measure's code name where one exists).
        name: Plain name shown on screen.
        meaning: One sentence a student can follow; the tooltip next to the name.
        technical: The name in papers and other tools (only on the Glossary page).
        unit: ``percent`` (0..1 shown as 63%), ``number`` (shown as 0.63) or ``none``.
        decimals: Digits after the point in that unit.
        aliases: Technical spellings :func:`plain` replaces with the plain name.
        group: The Glossary page's section.
    """

    key: str
    name: str
    meaning: str
    technical: str = ""
    unit: Unit = "none"
    decimals: int = 0
    aliases: tuple[str, ...] = ()
    group: str = "Words"


_TERMS: tuple[Term, ...] = (
    # ------------------------------------------------------------------ the three questions
    Term("fidelity", "Fidelity", "Do the synthetic rows look like the real ones, column by "
         "column and pair by pair?", group="The three questions"),
    Term("utility", "Utility", "Is the synthetic data useful for the same analysis: do models "
         "trained on it predict as well on real rows?", "usefulness", group="The three questions"),
    Term("privacy", "Privacy", "Are the synthetic rows new rows rather than copies of, or "
         "near copies of, real people's rows?", group="The three questions"),
    Term("level", "Reading (good / fair / poor)", "A first reading of a score against fixed "
         "limits: a rule of thumb, not a guarantee.", group="The three questions"),
    # ------------------------------------------------------------------ fidelity
    Term("quality_score", "Quality score", "How alike the synthetic and real data are: the "
         "average of column shapes and strong-pair trends (100% = identical).",
         "SDMetrics quality score", "percent", group="Fidelity"),
    Term("column_shapes", "Column shapes", "How closely each synthetic column's values are "
         "spread like the real column's, averaged over the columns (100% = identical).",
         "SDMetrics Column Shapes", "percent", aliases=("Column Shapes",), group="Fidelity"),
    Term("column_score", "Column score", "For one column: 100% minus the largest gap between "
         "the real and synthetic distributions (numbers, dates), or minus the share of rows "
         "that would need another category (categories).",
         "KS complement / TV complement", "percent",
         aliases=("KS complement", "TV complement", "KSComplement", "TVComplement"),
         group="Fidelity"),
    Term("pair_score", "Relations kept, all pairs", "How well every pair of columns keeps the "
         "strength of its real relation, averaged over all pairs, related or not (100% = "
         "every relation kept).", "mean correlation / association similarity", "percent",
         aliases=("pair score", "column-pair similarity"), group="Fidelity"),
    Term("pair_trends", "Strong-pair trends", "How well the pairs of columns that are clearly "
         "related in the real data keep their relation, computed by SDMetrics; part of the "
         "quality score (100% = kept).", "SDMetrics Column Pair Trends", "percent",
         aliases=("Column Pair Trends",), group="Fidelity"),
    Term("relation", "Relation strength", "How strongly two columns go together: a "
         "correlation from −1 to 1 for two numbers, an association from 0 to 1 when a "
         "category is involved (0 = unrelated).", "Spearman / Pearson correlation, Cramér's V, "
         "correlation ratio", "number", 2, group="Fidelity"),
    Term("relation_gap", "Gap", "How far the synthetic relation strength is from the real one "
         "(0 = the same).", "absolute difference", "number", 2,
         aliases=("abs_diff", "abs diff"), group="Fidelity"),
    Term("pair_kept", "Kept", "How much of one pair's real relation the synthetic data keeps "
         "(100% = the same strength).", "pair similarity", "percent", group="Fidelity"),
    Term("diagnostic_score", "Validity score", "Basic checks: synthetic values stay within "
         "the real ranges and categories and the table keeps its columns; should be near "
         "100%.", "SDMetrics diagnostic score", "percent", group="Fidelity"),
    Term("data_validity", "Data validity", "The share of each column's synthetic values that "
         "are valid: within the real range, or a category the real column has.",
         "SDMetrics Data Validity", "percent", aliases=("Data Validity",), group="Fidelity"),
    Term("data_structure", "Data structure", "Whether the synthetic table has the same "
         "columns as the real one (100% = same).", "SDMetrics Data Structure", "percent",
         aliases=("Data Structure",), group="Fidelity"),
    # ------------------------------------------------------------------ utility
    Term("utility_ratio", "Utility ratio", "The prediction score of models trained on "
         "synthetic rows divided by that of models trained on real rows, both tested on the "
         "same unseen real rows (100% = as useful as the real data).", "TSTR / TRTR ratio",
         "percent", group="Utility"),
    Term("trained_on_real", "Trained on real", "Models trained on the real training rows and "
         "tested on real rows they never saw: the yardstick.", "TRTR (train real, test real)",
         aliases=("TRTR", "trtr"), group="Utility"),
    Term("trained_on_synthetic", "Trained on synthetic", "The same models trained on the "
         "synthetic rows and tested on the same unseen real rows.",
         "TSTR (train synthetic, test real)", aliases=("TSTR", "tstr"), group="Utility"),
    Term("macro_f1", "Balanced prediction score", "How well a model predicts each class on "
         "unseen real rows, every class counting equally so a missed rare class shows "
         "(0 to 1, 1 = perfect).", "macro-F1", "number", 2,
         aliases=("macro-F1", "macro F1", "macro_f1"), group="Utility"),
    Term("r2", "Variation explained", "The share of the target's ups and downs a model "
         "predicts on unseen real rows (1 = perfect, 0 = no better than always guessing the "
         "average).", "R² (coefficient of determination)", "number", 2, aliases=("R²",),
         group="Utility"),
    Term("balanced_accuracy", "Balanced accuracy", "The share of rows predicted right, "
         "averaged over the classes so each class counts equally (0 to 1).",
         "balanced accuracy", "number", 2, aliases=("balanced_accuracy",), group="Utility"),
    Term("roc_auc", "Ranking score", "For a yes/no target: how often a model ranks a random "
         "'yes' row above a random 'no' row (0.5 = guessing, 1 = perfect).", "ROC-AUC",
         "number", 2, aliases=("ROC-AUC", "roc_auc"), group="Utility"),
    Term("accuracy", "Accuracy", "The share of rows predicted right; it hides a missed rare "
         "class, so it is never judged alone (0 to 1).", "accuracy", "number", 2,
         group="Utility"),
    Term("mae", "Average error", "The average size of a prediction's error, in the target's "
         "own units (lower is better).", "mean absolute error (MAE)", "number", 2,
         aliases=("Mean abs. error",), group="Utility"),
    Term("held_out", "Held-out rows", "Real rows set aside before training: neither the "
         "synthesizer nor the test models ever saw them.", "holdout / test set",
         group="Utility"),
    # ------------------------------------------------------------------ privacy
    Term("exact_copies", "Exact copies", "The share of synthetic rows identical to a "
         "training row; compare it with how often unseen real rows match one by chance.",
         "exact match rate", "percent", 1, aliases=("exact matches",), group="Privacy"),
    Term("dcr_share", "Closer-to-training share", "The share of synthetic rows that are "
         "closer to a training row than to a real row the model never saw: 50% is ideal, "
         "near 100% means the rows hug the training data.", "DCR share", "percent",
         aliases=("DCR share",), group="Privacy"),
    Term("dcr", "Distance to the closest training row", "How different a row is from the "
         "most similar training row, on one scale for every column (0 = identical).",
         "DCR (distance to closest record)", "number", 3, aliases=("DCR",), group="Privacy"),
    Term("nndr", "Distance ratio", "A row's distance to its closest training row divided by "
         "the distance to its second closest: near 0 it points at one specific person, near "
         "1 it sits among many.", "NNDR (nearest-neighbour distance ratio)", "number", 2,
         aliases=("NNDR", "nearest/second-nearest distance ratio"), group="Privacy"),
    Term("canary", "Canary", "A deliberately unusual row planted in a faked table: a good "
         "synthesizer never reproduces it, because it learns patterns, not people.",
         group="Privacy"),
    Term("attack_risk", "Attack risk", "How much more often an attacker holding the synthetic "
         "data succeeds against the real training rows than against real rows the model never "
         "saw (0 = no edge, 1 = always).", "anonymeter risk (attack vs control)", "number", 2,
         group="Privacy"),
    Term("singling_out", "Singling out", "Can an attacker write a rule from the synthetic "
         "data (such as 'age 67, ZIP 10115') that fits exactly one real person?",
         "singling-out risk", "number", 2, aliases=("singling-out",), group="Privacy"),
    Term("linkability", "Linking", "Can an attacker who holds two halves of a person's "
         "record (say, from two other sources) join them through the synthetic data?",
         "linkability risk", "number", 2, group="Privacy"),
    Term("inference", "Inferring a hidden value", "Can an attacker who knows some of a "
         "person's columns guess a hidden one (say, income) from the synthetic data better "
         "than from real rows the model never saw?", "attribute inference risk", "number", 2,
         group="Privacy"),
    Term("membership", "Telling members apart", "Can an attacker tell, from the synthetic "
         "data, whether a given person's row was used for training?",
         "membership inference risk", "number", 2, aliases=("membership inference",),
         group="Privacy"),
    Term("epsilon", "Privacy budget (ε)", "A mathematical limit on how much any one person's "
         "row can change what the model learned: smaller is stronger (1 strong, 10 "
         "moderate, above 10 weak). Only models trained with differential privacy have one.",
         "differential privacy ε (epsilon)", "number", 2, aliases=("epsilon",),
         group="Privacy"),
    Term("delta", "Failure chance (δ)", "The small chance that the privacy budget's "
         "guarantee does not hold; set far below one in the number of rows.",
         "differential privacy δ (delta)", group="Privacy"),
    # ------------------------------------------------------------------ sequences
    Term("length_score", "Sequence lengths", "How alike the number of events per entity "
         "(account, customer, ticker) is in synthetic and real data (100% = identical).",
         "KS complement of sequence lengths", "percent", group="Sequences"),
    Term("transition_score", "Event order", "How alike the chances of each kind of event "
         "following another are, counting the first and last events (100% = identical).",
         "1 − total variation distance of transition pairs", "percent", group="Sequences"),
    Term("gap_score", "Time between events", "How alike the waiting times between an "
         "entity's consecutive events are in synthetic and real data (100% = identical).",
         "KS complement of inter-event times", "percent", group="Sequences"),
    Term("autocorrelation_score", "Memory of past values", "How alike the link between an "
         "entity's number and its next few values (autocorrelation) is in synthetic and real "
         "sequences (100% = identical).", "autocorrelation similarity at lags 1–5", "percent",
         aliases=("autocorrelation score",), group="Sequences"),
    Term("cross_correlation", "Moving together", "How much the changes (returns) of two "
         "series go up and down together: between entities observed on the same days, or "
         "between two numeric columns.", "cross-series correlation of returns", "number", 2,
         group="Sequences"),
    Term("copy_rate", "Copied sequences", "The share of synthetic sequences that repeat a "
         "whole training sequence or a long run of its events; compare it with how often "
         "unseen real sequences do so by chance.", "sequence copy rate", "percent", 1,
         group="Sequences"),
    Term("entity_dcr_share", "Closer-to-training share, per entity", "The closer-to-training "
         "share measured on one row per entity (its counts, totals, time span and context) "
         "instead of on single events: 50% is ideal.", "entity-level DCR share", "percent",
         group="Sequences"),
    Term("entity_utility_ratio", "Usefulness per entity", "Models predicting an entity's "
         "label (such as a laundering flag) from one row per entity: the score of those "
         "trained on synthetic entities as a share of those trained on real ones, both tested "
         "on unseen real entities.", "entity-level TSTR / TRTR", "percent",
         group="Sequences"),
    # ------------------------------------------------------------------ against real data
    Term("holdout_ceiling", "Real-data ceiling", "The same score for real rows the model never "
         "saw, at the same size: what a perfect synthesizer could reach, since even new real "
         "rows differ from the training rows by chance.", "holdout baseline", "percent",
         group="Fidelity"),
    Term("discriminator_auc", "Tell-apart score", "How well a classifier tells synthetic rows "
         "from real ones (0.5 = it cannot, the ideal; 1.0 = trivially).",
         "discriminator AUC (detection)", "number", 2, aliases=("discriminator AUC",),
         group="Fidelity"),
    # ------------------------------------------------------------------ related tables
    Term("referential_integrity", "Keys that match", "The share of rows in a child table "
         "whose link (foreign key) points at a row that exists in its parent table; must be "
         "100%: a row pointing nowhere is an orphan.", "referential integrity", "percent", 1,
         aliases=("referential integrity",), group="Related tables"),
    Term("orphans", "Orphans", "Child rows whose link points at a parent row that does not "
         "exist (an account of a customer who is not there).", "orphan rows",
         group="Related tables"),
    Term("cardinality_score", "Children per parent kept", "How alike the number of child rows "
         "per parent is in the real and synthetic tables (how many accounts each customer "
         "has): 100% minus the largest gap between the two distributions.",
         "cardinality shape similarity (KS complement)", "percent",
         aliases=("cardinality score", "Cardinality"), group="Related tables"),
    Term("pii_consistency", "Same person, same fake value", "The share of child rows whose "
         "fake personal value (a name, an e-mail) equals the one their parent row has, where "
         "the real tables repeat it: one synthetic person keeps one fake name everywhere.",
         "cross-table PII consistency", "percent", 1, group="Related tables"),
    Term("related_utility_ratio", "Utility from linked rows", "The utility ratio of models "
         "that predict a parent table's column (a customer's churn) from its own columns and "
         "summaries of its child rows (counts, averages, shares), trained on synthetic vs "
         "real tables and tested on the same unseen real rows.",
         "TSTR / TRTR on aggregated child features", "percent", group="Related tables"),
    # ------------------------------------------------------------------ bias, drivers
    Term("sensitive_column", "Sensitive column", "A column describing a protected trait, "
         "such as sex, age band, race or nationality, whose groups should be treated alike.",
         "protected attribute", group="Bias and drivers"),
    Term("demographic_parity", "Outcome gap between groups", "The largest difference between "
         "groups in how often a model predicts the outcome (0 = every group alike).",
         "demographic parity difference", "number", 2,
         aliases=("demographic parity difference",), group="Bias and drivers"),
    Term("equalized_odds", "Error gap between groups", "The largest difference between groups "
         "in how often a model is right about the outcome, for rows that have it and rows "
         "that do not (0 = every group alike).", "equalized odds difference", "number", 2,
         aliases=("equalized odds difference",), group="Bias and drivers"),
    Term("rank_agreement", "Same drivers", "How alike the columns that drive a model's "
         "predictions are when it learns from synthetic vs real data (1 = same order, 0 = "
         "unrelated).", "rank correlation of permutation importances", "number", 2,
         group="Bias and drivers"),
    Term("importance", "Importance", "How much a model's score on unseen real rows drops when "
         "one column's values are shuffled: the more it drops, the more the model relies on "
         "that column.", "permutation importance", "number", 3, group="Bias and drivers"),
)

#: Every term by key, in the Glossary page's order.
TERMS: dict[str, Term] = {t.key: t for t in _TERMS}

#: Why the two pair scores differ, in one sentence (Correlations and Quality tabs).
PAIR_SCORES_DIFFER = (
    "Two pair scores answer two questions: *Relations kept, all pairs* (Correlations tab) "
    "averages every pair of columns, and the many unrelated pairs that stay unrelated lift "
    "it, while *Strong-pair trends* (Quality tab, from SDMetrics) counts only the pairs "
    "clearly related in the real data and compares category pairs by how often each "
    "combination occurs, so it is stricter and usually lower."
)

# Names of the measures and columns the studio's tables carry, for display only.
_COLUMN_LABELS = {
    "column": "Column", "kind": "Kind", "score": "Score", "reading": "Reading",
    "column_1": "First column", "column_2": "Second column", "measure": "Measured as",
    "real": "Real", "synthetic": "Synthetic", "abs_diff": "Gap",
    "related_in_real": "Clearly related in real data", "model": "Model", "metric": "Score of",
    "trtr": "Trained on real", "tstr": "Trained on synthetic", "ratio": "Synthetic ÷ real",
    "higher_is_better": "Higher is better", "Property": "Part", "Score": "Score",
}
_MEASURES = {
    "spearman": "rank correlation", "pearson": "correlation",
    "cramers_v": "association (two categories)",
    "correlation_ratio": "association (number and category)",
}


def term(key: str) -> Term:
    """The term with this key (KeyError names the unknown key)."""
    return TERMS[key]


def name(key: str) -> str:
    """The plain name of a term."""
    return TERMS[key].name


def help_text(key: str) -> str:
    """The one-line meaning of a term: the tooltip next to its name."""
    return TERMS[key].meaning


def fmt(key: str, value: float | None) -> str:
    """A value in its term's one format (``63%`` or ``0.63``); ``–`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    found = TERMS[key]
    if found.unit == "percent":
        return f"{value:.{found.decimals}%}"
    if found.unit == "number":
        return f"{value:.{found.decimals}f}"
    return str(value)


def table_format(key: str) -> str:
    """The format of a term's 0..1 values in ``st.column_config.NumberColumn``.

    A percent term shows as a percent (``"percent"``), a number term as a number: the same
    unit as :func:`fmt`, so a table never shows 0.63 where a card shows 63%.
    """
    found = TERMS[key]
    return "percent" if found.unit == "percent" else f"%.{found.decimals}f"


def column_label(column: str) -> str:
    """A table column's plain header (``abs_diff`` → ``Gap``); unknown names unchanged."""
    return _COLUMN_LABELS.get(column, column)


def measure_label(measure: str) -> str:
    """The plain name of a relation measure (``cramers_v`` → ``association ...``)."""
    return _MEASURES.get(measure, measure.replace("_", " "))


@functools.cache
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    replacements: dict[str, str] = {}
    for found in _TERMS:
        for alias in found.aliases:
            replacements[alias.lower()] = found.name[0].lower() + found.name[1:]
    for code, label in _MEASURES.items():
        replacements.setdefault(code.replace("_", " "), label.split(" (")[0])
    words = sorted(replacements, key=len, reverse=True)  # longest first: "DCR share" > "DCR"
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])",
                         re.IGNORECASE)
    return pattern, replacements


def plain(text: str) -> str:
    """A sentence with its technical words replaced by the glossary's plain names.

    ``"the DCR share is 87%"`` → ``"the closer-to-training share is 87%"``.
    """
    pattern, replacements = _pattern()

    def swap(match: re.Match[str]) -> str:
        word = replacements[match.group(1).lower()]
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?":
            word = word[0].upper() + word[1:]
        return word

    return pattern.sub(swap, text)
