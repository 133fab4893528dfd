"""A plain-language verdict from the fidelity, utility and privacy numbers.

Each reading is ``good``, ``fair``, ``poor`` or ``not measured``; the numbers that decide it
live in :mod:`core.evaluation.thresholds` (shared with Compare's privacy guard and the
Evaluate page's badges). Utility is not measured without a target, or when models trained
on real data barely beat a model that learned nothing (by less than 0.05 macro-F1 or R²).

The verdict also carries :attr:`Verdict.warnings` (:func:`data_warnings`): plain sentences
with the numbers when the real data is too thin to trust the reading, when the sample was
rebalanced or conditioned on purpose (its class shares are then judged against what was asked
for), and naming each class the synthetic rows drop, shrink or multiply.

The privacy reading combines distances (copies, DCR share) with the attack risks
(:mod:`core.evaluation.attacks`) and names the differential-privacy ε when the model has one
(the rule: :mod:`core.evaluation.thresholds`). Without ε these are rules of thumb for a first
reading: a "good" privacy reading is evidence from these tests, not a formal guarantee.

Free-text columns (:mod:`core.evaluation.text`) join the privacy reading: a text model that
repeats training text lowers it to the text column's leak level, and the reason names the
column with both shares (synthetic texts and, by chance, unseen real texts). The reading, not
a warning alone, because it is what the headline, the report's first page and Compare's
privacy guard read: a copied complaint exposes its writer however private the table's other
columns are, so good table numbers must never hide it. A warning is added when the language
is so templated that the run check cannot see partial copying.

Event tables (``schema.sequence``, :mod:`core.evaluation.sequences`) are judged as sequences:
fidelity is the worse of the quality score and the weakest order score (lengths, transitions,
time between events, autocorrelation), since shuffled events keep every column's values and
only the order scores see them; usefulness is the entity-level check (one row per entity,
tested on held-out entities) when the target is an entity's label; privacy is the worse of
the row distances and the entity check (copied sequences beyond chance, per-entity DCR share).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.evaluation import glossary
from core.evaluation.fidelity import QualityResult
from core.evaluation.privacy import PrivacyResult
from core.evaluation.thresholds import (
    CLASS_SHARE_FACTOR,
    CLASS_SHARE_MIN_CHANGE,
    FIDELITY_FAIR,
    FIDELITY_GOOD,
    LEVELS,
    MAX_CLASSES_JUDGED,
    MIN_CLASS_ROWS,
    MIN_EXPECTED_FOR_DROP,
    MIN_EXPECTED_FOR_SHIFT,
    MIN_REAL_ENTITIES,
    MIN_REAL_ROWS,
    NOT_MEASURED,
    PRIVACY_FAIR,
    PRIVACY_GOOD,
    REPEATED_TABLE,
    UTILITY_FAIR,
    UTILITY_GOOD,
    attack_level,
    epsilon_strength,
    fidelity_level,
    privacy_level,
    sequence_level,
    sequence_privacy_level,
    utility_level,
)
from core.evaluation.utility import UtilityResult

if TYPE_CHECKING:
    from core.evaluation.attacks import AttackResult
    from core.evaluation.sequences import SequenceResult
    from core.evaluation.text import TextResult

__all__ = [
    "FIDELITY_FAIR",
    "FIDELITY_GOOD",
    "LEVELS",
    "PRIVACY_FAIR",
    "PRIVACY_GOOD",
    "UTILITY_FAIR",
    "UTILITY_GOOD",
    "Reading",
    "SampleDesign",
    "Verdict",
    "data_warnings",
    "make_verdict",
    "relations_reading",
    "sequence_warnings",
    "text_warnings",
]


@dataclass(frozen=True)
class Reading:
    """One aspect of the verdict.

    Attributes:
        aspect: ``fidelity``, ``utility`` or ``privacy`` (``relations`` for the pair score).
        level: One of :data:`LEVELS`.
        reason: One plain-language sentence computed from the numbers.
    """

    aspect: str
    level: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The three readings and a headline sentence.

    Attributes:
        fidelity: How alike the real and synthetic distributions are.
        utility: Whether models trained on synthetic data work on real data.
        privacy: Whether synthetic rows copy or hug training rows.
        headline: One sentence summarising the three.
        warnings: Plain sentences, with the numbers, on what makes this reading shaky or
            what it hides: thin data, a rebalanced sample, a class dropped or multiplied
            (:func:`data_warnings`). Empty when there is nothing to warn about.
    """

    fidelity: Reading
    utility: Reading
    privacy: Reading
    headline: str
    warnings: tuple[str, ...] = ()

    @property
    def readings(self) -> tuple[Reading, Reading, Reading]:
        """The readings in display order."""
        return (self.fidelity, self.utility, self.privacy)


def _fidelity(quality: QualityResult) -> Reading:
    score = quality.quality_score
    level = fidelity_level(score)
    if level == NOT_MEASURED:
        return Reading("fidelity", NOT_MEASURED, "SDMetrics could not score any column.")
    properties = quality.quality_properties.dropna(subset=["Score"])
    weakest = ""
    if len(properties) > 1:
        worst = properties.loc[properties["Score"].idxmin()]
        weakest = f"; weakest: {str(worst['Property']).lower()} at {worst['Score']:.0%}"
    describe = {
        "good": "the synthetic columns and their relations closely follow the real ones",
        "fair": "the overall shapes are there, but some columns or relations drift",
        "poor": "the synthetic data looks clearly different from the real data",
    }[level]
    return Reading("fidelity", level, f"Quality score {score:.0%}{weakest}: {describe}.")


def _sequence_fidelity(reading: Reading, sequence: SequenceResult | None) -> Reading:
    """The fidelity reading lowered to the weakest sequence order score's level."""
    weakest = None if sequence is None else sequence.weakest
    if weakest is None:
        return reading
    name, score = weakest
    level = sequence_level(score)
    scores = ", ".join(f"{glossary.name(key).lower()} {value:.0%}"
                       for key, value in sequence.scores.items())
    describe = {"good": "sequences follow the real ones",
                "fair": "sequences partly follow the real ones",
                "poor": "the sequences' order or timing differs clearly from the real ones"}[level]
    if reading.level != NOT_MEASURED:
        level = max(reading.level, level, key=LEVELS.index)
    sentence = (f"{reading.reason.rstrip('.')}. Sequences: {scores}; weakest "
                f"{glossary.name(name).lower()}: {describe}.")
    return Reading("fidelity", level, sentence)


def _utility(utility: UtilityResult | None, reason: str | None,
             per_entity: bool = False) -> Reading:
    if utility is None:
        why = reason or "no target column was chosen, so no model was trained"
        return Reading("utility", NOT_MEASURED, f"Not measured: {why.rstrip('.')}.")
    if utility.ratio is None or not utility.informative:
        return Reading("utility", NOT_MEASURED, utility.explanation)
    ratio = utility.ratio
    level = utility_level(ratio)
    if level == NOT_MEASURED:
        return Reading("utility", NOT_MEASURED, utility.explanation)
    label = glossary.name("macro_f1" if utility.metric == "macro_f1" else "r2").lower()
    describe = {
        "good": "about as useful as the real data for this prediction",
        "fair": "useful, but models trained on it do somewhat worse",
        "poor": "models trained on it do clearly worse on real data",
    }[level]
    trained = "synthetic entities" if per_entity else "synthetic data"
    tested = " from one row per entity, tested on held-out real entities" if per_entity else ""
    return Reading(
        "utility", level,
        f"Models trained on {trained} reach {ratio:.0%} of the real-data {label} "
        f"for '{utility.target}'{tested} ({utility.synthetic:.2f} vs {utility.real:.2f}): "
        f"{describe}.",
    )


#: Attack names in plain words, as the verdict and the report say them.
ATTACK_NAMES = {"singling_out": "singling out", "linkability": "linking",
                "inference": "inferring a hidden value", "membership": "telling members apart"}


def highest_attack(attacks: AttackResult | None) -> tuple[str, float] | None:
    """The attack most surely above chance and its judged risk, or None when none was measured.

    An attack is judged by the low end of its 95 % interval: what it demonstrably gained
    beyond the held-out baseline. Point estimates of small samples swing (a yes/no column
    guessed by an independent model read 0.07–0.18, interval from 0 to 0.38); a copy's low
    end is near 1.
    """
    if attacks is None:
        return None
    risks = [(name, getattr(attacks, name).ci[0]) for name in ATTACK_NAMES
             if getattr(attacks, name, None) is not None]
    risks = [(name, risk) for name, risk in risks if risk == risk]
    return max(risks, key=lambda item: item[1]) if risks else None


def _text_leak(level: str, text: TextResult | None) -> tuple[str, str]:
    """The privacy level after the text columns' leak check, and what to add to the reason."""
    worst = None if text is None else text.worst
    if worst is None:
        return level, ""
    if worst.leak_level in ("fair", "poor"):
        what = "memorises" if worst.leak_level == "poor" else "repeats some"
        rate, chance, words = worst.leak_rate, worst.holdout_leak_rate, 8
        if worst.templated:  # every text shares short runs: the long ones tell
            rate, chance = worst.long_run_rate, worst.holdout_long_run_rate
            words = worst.long_run_words
        sentence = (f". The text model {what} training text: {rate:.0%} of synthetic "
                    f"'{worst.column}' texts repeat {words} or more words in a row of a "
                    f"training text ({chance:.0%} of unseen real texts do, by chance)")
        if worst.exact_copy_rate - worst.holdout_exact_copy_rate > 0:
            sentence += f" and {worst.exact_copy_rate:.0%} copy a whole one"
        if LEVELS.index(worst.leak_level) > LEVELS.index(level):
            level = worst.leak_level
        return level, sentence
    names = ", ".join(f"'{name}'" for name in text.columns)
    return level, (f"; the text in {names} repeats no more training text than unseen real "
                   "texts do")


def _privacy(privacy: PrivacyResult | None, attacks: AttackResult | None = None,
             epsilon: float | None = None, text: TextResult | None = None) -> Reading:
    if privacy is None:
        return Reading("privacy", NOT_MEASURED, "Not measured: privacy was not computed.")
    share = privacy.dcr_share
    worst = highest_attack(attacks)
    level = privacy_level(privacy.exact_match_rate, share, privacy.holdout_exact_match_rate,
                          None if worst is None else worst[1])
    copies = f"{privacy.exact_match_rate:.1%} of rows copy a training row"
    if privacy.holdout_exact_match_rate >= 0.005:
        copies += f" ({privacy.holdout_exact_match_rate:.1%} expected by chance)"
    describe = {
        "good": "no sign of memorised rows",
        "fair": "some rows sit closer to the training data than new data would",
        "poor": "the synthesizer reproduces or hugs training rows",
    }[level]
    if worst is not None:
        name, risk = worst
        attacked = attack_level(risk)
        if attacked == "poor":
            describe = (f"an attacker gains a real edge by {ATTACK_NAMES[name]} "
                        f"(risk at least {risk:.2f})")
        elif attacked == "fair" and level == "fair":
            describe += (f"; the strongest attack, {ATTACK_NAMES[name]}, gains a little "
                         f"(at least {risk:.2f})")
        else:
            describe += "; no attack gains a clear edge over unseen rows"
    if privacy.holdout_exact_match_rate >= REPEATED_TABLE:
        describe += (f". The real table itself is mostly repeated rows "
                     f"({privacy.holdout_exact_match_rate:.0%} of unseen rows copy a training "
                     "row), so copies cannot show whether people's rows were memorised: any "
                     "row shared by few people is exposed")
    level, leaked = _text_leak(level, text)
    describe += leaked
    strength = epsilon_strength(epsilon)
    if strength is not None:
        describe += (f". Trained with differential privacy, ε = {epsilon:.2g}: a {strength} "
                     "formal guarantee")
        if strength == "weak":
            describe += " (above 10 it bounds little)"
    return Reading(
        "privacy", level, f"{copies.capitalize()} and the {glossary.name('dcr_share').lower()} "
        f"is {share:.0%} (50% ideal): {describe}.",
    )


def _sequence_privacy(reading: Reading, sequence: SequenceResult | None) -> Reading:
    """The privacy reading lowered to the entity check's level (copies, per-entity DCR)."""
    if sequence is None:
        return reading
    level = sequence_privacy_level(sequence.excess_copy_rate, sequence.entity_dcr_share)
    if level == NOT_MEASURED:
        return reading
    parts = []
    if sequence.copy_rate is not None:
        parts.append(f"{sequence.copy_rate:.1%} of synthetic sequences repeat a training "
                     f"sequence or a long run of one ({sequence.holdout_copy_rate or 0:.1%} of "
                     "held-out sequences do, by chance)")
    if sequence.entity_dcr_share is not None:
        parts.append(f"the {glossary.name('dcr_share').lower()} of whole entities is "
                     f"{sequence.entity_dcr_share:.0%}")
    describe = {"good": "no sign of memorised sequences",
                "fair": "some sequences sit closer to training entities than new ones would",
                "poor": "the synthesizer reproduces or hugs training sequences"}[level]
    if reading.level != NOT_MEASURED:
        level = max(reading.level, level, key=LEVELS.index)
    return Reading("privacy", level,
                   f"{reading.reason.rstrip('.')}. Per entity: {_join(parts)}: {describe}.")


def sequence_warnings(sequence: SequenceResult | None) -> tuple[str, ...]:
    """A sentence when too few real entities were compared for a steady sequence reading."""
    if sequence is None:
        return ()
    real = sequence.entities.get("real_train", 0) + sequence.entities.get("holdout", 0)
    if real >= MIN_REAL_ENTITIES:
        return ()
    return (f"The real table has only {real:,} entities (at least {MIN_REAL_ENTITIES:,} are "
            "needed for a steady reading of sequences): the sequence scores and the "
            "entity-level checks can swing from one run to the next.",)


def relations_reading(pair_score: float) -> Reading:
    """The reading of the column-pair similarity: are relations between columns kept?

    Read with the fidelity levels, like the quality score it is part of.
    """
    level = fidelity_level(pair_score)
    kept = {"good": "kept", "fair": "partly kept", "poor": "largely lost",
            NOT_MEASURED: "not measured (no pair could be scored)"}[level]
    return Reading("relations", level, f"Relations between columns are {kept}.")


def _headline(readings: tuple[Reading, ...]) -> str:
    poor = [r.aspect for r in readings if r.level == "poor"]
    fair = [r.aspect for r in readings if r.level == "fair"]
    measured = [r for r in readings if r.level != NOT_MEASURED]
    skipped = [r.aspect for r in readings if r.level == NOT_MEASURED]
    tail = f"; {_join(skipped)} not measured" if skipped else ""
    if not measured:
        return "Nothing could be measured on this data."
    if poor:
        verb = "is" if len(poor) == 1 else "are"
        return f"Not ready to share: {_join(poor)} {verb} poor{tail}."
    if fair:
        verb = "is" if len(fair) == 1 else "are"
        return f"Usable with care: {_join(fair)} {verb} only fair{tail}."
    if skipped:
        return f"Looks good on what was measured ({_join([r.aspect for r in measured])}){tail}."
    return "Looks good: faithful, useful and private on these tests."


def _join(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def make_verdict(
    quality: QualityResult,
    utility: UtilityResult | None,
    privacy: PrivacyResult | None,
    utility_reason: str | None = None,
    warnings: tuple[str, ...] = (),
    attacks: AttackResult | None = None,
    epsilon: float | None = None,
    text: TextResult | None = None,
    sequence: SequenceResult | None = None,
) -> Verdict:
    """Turn the numbers into three readings and a headline.

    Args:
        quality: SDMetrics quality result (fidelity).
        utility: TSTR/TRTR result, or None when not measured.
        privacy: Privacy result, or None when not measured.
        utility_reason: Why utility is None (shown in its reading); defaults to "no target".
        warnings: What :func:`data_warnings` found, carried with the verdict.
        attacks: The attack risks, or None when not measured.
        epsilon: The model's differential-privacy ε, or None.
        text: The text columns' scores (their leak check joins the privacy reading), or None.
        sequence: The sequence scores of an event table (they join fidelity and privacy;
            ``utility`` is then the entity-level check when the target is an entity's label),
            or None.
    """
    per_entity = sequence is not None and sequence.utility is not None and (
        sequence.utility is utility)
    readings = (_sequence_fidelity(_fidelity(quality), sequence),
                _utility(utility, utility_reason, per_entity),
                _sequence_privacy(_privacy(privacy, attacks, epsilon, text), sequence))
    return Verdict(*readings, headline=_headline(readings),
                   warnings=tuple(warnings) + text_warnings(text) + sequence_warnings(sequence))


def text_warnings(text: TextResult | None) -> tuple[str, ...]:
    """A sentence per text column whose language is too templated for the run check."""
    if text is None:
        return ()
    return tuple(
        f"Most unseen real texts in '{name}' ({result.holdout_leak_rate:.0%}) share runs of "
        "8 or more words with training texts (templated language), so only runs of "
        f"{result.long_run_words} or more words and whole copies show memorising: a text "
        "model copying shorter passages cannot be told from the template."
        for name, result in text.columns.items() if result.templated)


# --------------------------------------------------------------------------- warnings


@dataclass(frozen=True)
class SampleDesign:
    """How the synthetic rows were asked for (from the Generate page's options).

    Attributes:
        fixed_values: Column -> the value every row was conditioned on.
        class_shares: Class -> asked-for share of ``rebalanced_column`` (adds up to 1).
        rebalanced_column: The column whose class shares were set on purpose, if any.
    """

    fixed_values: Mapping[str, Any] = field(default_factory=dict)
    class_shares: Mapping[str, float] = field(default_factory=dict)
    rebalanced_column: str | None = None

    @property
    def rebalanced(self) -> bool:
        """True when the class shares of a column were set on purpose."""
        return self.rebalanced_column is not None and bool(self.class_shares)

    @property
    def plain(self) -> bool:
        """True for an ordinary sample: nothing fixed, nothing rebalanced."""
        return not self.fixed_values and not self.rebalanced


def _labels(series: pd.Series) -> pd.Series:
    """Values as class labels (text, like the Generate page's shares; missing named)."""
    return series.astype(object).where(series.notna(), "(missing)").astype(str)


def _shares_text(shares: Mapping[str, float]) -> str:
    return ", ".join(f"'{label}' {share:.1%}" for label, share in shares.items())


def _thin_data(real: pd.DataFrame, target: str | None, categorical: set[str]) -> list[str]:
    warnings: list[str] = []
    if len(real) < MIN_REAL_ROWS:
        warnings.append(
            f"The real table has only {len(real):,} rows (at least {MIN_REAL_ROWS:,} are "
            "needed for a steady reading): every score here can swing from one run to the "
            "next, so this verdict is unreliable."
        )
    if target is not None and target in categorical and target in real.columns:
        counts = _labels(real[target]).value_counts()
        thin = counts[counts < MIN_CLASS_ROWS]
        if len(thin) and len(counts) <= MAX_CLASSES_JUDGED:
            listed = _join([f"'{label}' ({count} row{'s' if count != 1 else ''})"
                            for label, count in thin.items()])
            noun = "Class" if len(thin) == 1 else "Classes"
            verb = "has" if len(thin) == 1 else "have"
            warnings.append(
                f"{noun} {listed} of the target '{target}' {verb} fewer than "
                f"{MIN_CLASS_ROWS} real rows: "
                f"{'its' if len(thin) == 1 else 'their'} share and the usefulness score are "
                "unreliable."
            )
    return warnings


def _share_changes(column: str, expected: Mapping[str, float], synthetic: pd.Series,
                   against: str) -> str | None:
    """One sentence naming the classes whose synthetic share is far from the expected one."""
    got = _labels(synthetic).value_counts(normalize=True)
    rows = len(synthetic)
    parts: list[str] = []
    for label, share in sorted(expected.items(), key=lambda item: -item[1]):
        have = float(got.get(label, 0.0))
        wanted = share * rows
        if have == 0.0 and wanted >= MIN_EXPECTED_FOR_DROP:
            parts.append(f"drops '{label}' (0.0% of synthetic rows vs {share:.1%} {against})")
        elif wanted >= MIN_EXPECTED_FOR_SHIFT and abs(have - share) >= CLASS_SHARE_MIN_CHANGE:
            if have * CLASS_SHARE_FACTOR <= share:
                parts.append(f"shrinks '{label}' to {have:.1%} of synthetic rows "
                             f"(vs {share:.1%} {against})")
            elif have >= share * CLASS_SHARE_FACTOR:
                parts.append(f"multiplies '{label}' by {have / share:.1f}: {have:.1%} of "
                             f"synthetic rows vs {share:.1%} {against}")
    if not parts:
        return None
    return f"In '{column}', the synthetic data {_join(parts)}."


def data_warnings(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str | None,
    sdtypes: Mapping[str, str],
    design: SampleDesign | None = None,
) -> tuple[str, ...]:
    """What makes this reading shaky, as plain sentences with the numbers.

    * Thin data: fewer than :data:`MIN_REAL_ROWS` real rows, or a target class with fewer
      than :data:`MIN_CLASS_ROWS` (counted over training and held-out rows).
    * A rebalanced or conditioned sample is said to be one: its rebalanced column is judged
      against the asked-for shares, its fixed columns not at all.
    * Each categorical column (at most :data:`MAX_CLASSES_JUDGED` classes, the target first)
      whose synthetic rows drop a class, or shrink or multiply its share by
      :data:`CLASS_SHARE_FACTOR` or more, is named with both shares.

    Args:
        real_train: The real rows the synthesizer trained on.
        holdout: Held-out real rows.
        synthetic: The synthetic rows.
        target: The target column, or None.
        sdtypes: Evaluation kind of each evaluated column.
        design: How the sample was asked for (plain when None).
    """
    design = design or SampleDesign()
    categorical = {name for name, kind in sdtypes.items() if kind in ("categorical", "boolean")}
    real = pd.concat([real_train, holdout], ignore_index=True)
    warnings = _thin_data(real, target, categorical)
    if design.fixed_values:
        fixed = _join([f"'{name}' = {value!r}" for name, value in design.fixed_values.items()])
        warnings.append(
            f"Every row of this sample was asked to have {fixed}: scores that compare with "
            "the real data are lower by design, and "
            f"{'that column is' if len(design.fixed_values) == 1 else 'those columns are'} "
            "not judged class by class."
        )
    if design.rebalanced:
        warnings.append(
            f"This sample was rebalanced on '{design.rebalanced_column}' on purpose (asked "
            f"for {_shares_text(design.class_shares)}): its class shares are judged against "
            "those asked-for shares, and scores that compare with the real data are lower "
            "by design."
        )
    ordered = sorted(categorical & set(synthetic.columns) & set(real_train.columns),
                     key=lambda name: (name != target, list(sdtypes).index(name)))
    for column in ordered:
        if column in design.fixed_values:
            continue
        if design.rebalanced and column == design.rebalanced_column:
            sentence = _share_changes(column, dict(design.class_shares), synthetic[column],
                                      "asked for")
        else:
            real_shares = _labels(real_train[column]).value_counts(normalize=True)
            if len(real_shares) > MAX_CLASSES_JUDGED:
                continue
            sentence = _share_changes(column, real_shares.to_dict(), synthetic[column],
                                      "of real rows")
        if sentence:
            warnings.append(sentence)
    return tuple(warnings)
