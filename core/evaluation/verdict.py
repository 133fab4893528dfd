"""A plain-language verdict from the fidelity, utility and privacy numbers.

Each reading is ``good``, ``fair``, ``poor`` or ``not measured``; the numbers that decide it
live in :mod:`core.evaluation.thresholds` (shared with Compare's privacy guard and the
Evaluate page's badges). Utility is not measured without a target, or when models trained
on real data barely beat a model that learned nothing (by less than 0.05 macro-F1 or R²).

These are rules of thumb for a first reading, not guarantees: a "good" privacy reading
is not a formal (e.g. differential) privacy guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.evaluation.fidelity import QualityResult
from core.evaluation.privacy import PrivacyResult
from core.evaluation.thresholds import (
    FIDELITY_FAIR,
    FIDELITY_GOOD,
    LEVELS,
    NOT_MEASURED,
    PRIVACY_FAIR,
    PRIVACY_GOOD,
    REPEATED_TABLE,
    UTILITY_FAIR,
    UTILITY_GOOD,
    fidelity_level,
    privacy_level,
    utility_level,
)
from core.evaluation.utility import UtilityResult

__all__ = [
    "FIDELITY_FAIR",
    "FIDELITY_GOOD",
    "LEVELS",
    "PRIVACY_FAIR",
    "PRIVACY_GOOD",
    "UTILITY_FAIR",
    "UTILITY_GOOD",
    "Reading",
    "Verdict",
    "make_verdict",
    "relations_reading",
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
    """

    fidelity: Reading
    utility: Reading
    privacy: Reading
    headline: str

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


def _utility(utility: UtilityResult | None, reason: str | None) -> Reading:
    if utility is None:
        why = reason or "no target column was chosen, so no model was trained"
        return Reading("utility", NOT_MEASURED, f"Not measured: {why.rstrip('.')}.")
    if utility.ratio is None or not utility.informative:
        return Reading("utility", NOT_MEASURED, utility.explanation)
    ratio = utility.ratio
    level = utility_level(ratio)
    if level == NOT_MEASURED:
        return Reading("utility", NOT_MEASURED, utility.explanation)
    label = "macro-F1" if utility.metric == "macro_f1" else "R²"
    describe = {
        "good": "about as useful as the real data for this prediction",
        "fair": "useful, but models trained on it do somewhat worse",
        "poor": "models trained on it do clearly worse on real data",
    }[level]
    return Reading(
        "utility", level,
        f"Models trained on synthetic data reach {ratio:.0%} of the real-data {label} "
        f"for '{utility.target}' ({utility.synthetic:.2f} vs {utility.real:.2f}): {describe}.",
    )


def _privacy(privacy: PrivacyResult | None) -> Reading:
    if privacy is None:
        return Reading("privacy", NOT_MEASURED, "Not measured: privacy was not computed.")
    share = privacy.dcr_share
    level = privacy_level(privacy.exact_match_rate, share, privacy.holdout_exact_match_rate)
    copies = f"{privacy.exact_match_rate:.1%} of rows copy a training row"
    if privacy.holdout_exact_match_rate >= 0.005:
        copies += f" ({privacy.holdout_exact_match_rate:.1%} expected by chance)"
    describe = {
        "good": "no sign of memorised rows",
        "fair": "some rows sit closer to the training data than new data would",
        "poor": "the synthesizer reproduces or hugs training rows",
    }[level]
    if privacy.holdout_exact_match_rate >= REPEATED_TABLE:
        describe += (f". The real table itself is mostly repeated rows "
                     f"({privacy.holdout_exact_match_rate:.0%} of unseen rows copy a training "
                     "row), so copies cannot show whether people's rows were memorised: any "
                     "row shared by few people is exposed")
    return Reading(
        "privacy", level, f"{copies.capitalize()} and the DCR share is {share:.0%} "
        f"(50% ideal): {describe}.",
    )


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
) -> Verdict:
    """Turn the numbers into three readings and a headline.

    Args:
        quality: SDMetrics quality result (fidelity).
        utility: TSTR/TRTR result, or None when not measured.
        privacy: Privacy result, or None when not measured.
        utility_reason: Why utility is None (shown in its reading); defaults to "no target".
    """
    readings = (_fidelity(quality), _utility(utility, utility_reason), _privacy(privacy))
    return Verdict(*readings, headline=_headline(readings))
