"""What the guided demo says at each step, built from the numbers the pages show.

Every sentence that states a result is templated from that result: the evaluation (its
verdict, quality, usefulness and privacy numbers), the planted-truth checks and the canary
check of :mod:`core.evaluation.planted`, the table and the model actually trained. Nothing
is asserted in advance: a poor result is said to be poor, with why and what to try. Numbers
are formatted as the verdict formats them (scores as whole percents, shares to one decimal),
so the presenter reads the same figures the audience sees.

Pure functions of plain values: no Streamlit, so ``tests/test_narration.py`` runs the demo
in-process and checks that no sentence contradicts the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.evaluation import glossary
from core.evaluation.planted import CanaryResult, PlantedCheck
from core.evaluation.thresholds import NOT_MEASURED

if TYPE_CHECKING:
    from core.data.table import StudioTable
    from core.evaluation import EvaluationResult

__all__ = [
    "LEARNED_THE_PATTERN",
    "data_narration",
    "evaluate_narration",
    "generate_narration",
    "next_try",
    "train_narration",
]

#: The closing line, said only when every check came through (tests look for it).
LEARNED_THE_PATTERN = "the model learned the pattern, not the people"

_RELATION_VERBS = {"weaker": "weakened", "stronger": "was exaggerated",
                   "reversed": "was reversed"}
_SHARE_VERBS = {"fewer": "shrank", "more": "grew"}


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- data


def data_narration(table: StudioTable) -> str:
    """Step 1: what the faked table contains, measured on the table itself."""
    truth = table.planted
    frame = table.frame
    rows = len(frame)
    parts = [f"**Step 1 of 4 — the real data.** {rows:,} rows, faked so every person is "
             "fictitious, but built like the real thing"]
    if truth is not None:
        relations = _join([words for _, _, words in truth.pairs])
        parts[0] += f": {relations}"
        if truth.target in frame.columns:
            share = float(pd.Series(frame[truth.target]).astype(float).mean())
            parts.append(f"`{truth.target}` is true for {share:.1%} of rows (the rare class)")
        if truth.outlier_positions and truth.outlier_column:
            count = len(truth.outlier_positions)
            parts.append(f"{count:,} rows ({count / rows:.1%}) were given a far larger "
                         f"`{truth.outlier_column}` than the rest (an outlier group)")
        if truth.canary_positions:
            parts.append(f"{_plural(len(truth.canary_positions), '*canary* row')} are "
                         "deliberately unusual, to catch copying")
    text = "; ".join(parts) + "."
    faked = [c.name for c in table.schema.columns if c.pii and c.action == "fake"]
    # Columns the studio turned into plain categories against SDV's guess (e.g. `state`).
    corrected = [c for c in table.schema.columns if not c.pii and c.action == "model"
                 and c.sdtype == "categorical" and c.detected_sdtype
                 and c.detected_sdtype != "categorical"]
    if faked:
        text += (f" Open **Metadata**: {_join([f'`{c}`' for c in faked])} hold personal data "
                 "and will be replaced by fake values")
        if corrected:
            text += (", and " + _join([f"`{c.name}` was corrected from '{c.detected_sdtype}' "
                                       "to a plain category" for c in corrected]))
        text += "."
    return text


# --------------------------------------------------------------------------- train


def _how_it_learns(synthesizer: str, params: Mapping[str, Any], target: str | None) -> str:
    if synthesizer == "gaussian_copula":
        shapes = ("each column's real shape" if params.get("default_distribution") == "empirical"
                  else "a smooth bell-curve-like shape for each column")
        together = (f"one table of how the columns move together for each class of `{target}`"
                    if params.get("per_class") and target else
                    "one table of how the columns move together")
        return f"learns {shapes} and {together}"
    epochs = params.get("epochs")
    rounds = f" for up to {int(epochs):,} rounds (epochs)" if epochs else ""
    return f"trains a neural network{rounds} to produce rows like the real ones"


def train_narration(synthesizer: str, title: str, preset: str, params: Mapping[str, Any],
                    target: str | None, test_size: float) -> str:
    """Step 2: the synthesizer and preset the demo actually trains, and the honest split.

    Args:
        synthesizer: Its key ("gaussian_copula").
        title: Its display name ("Gaussian Copula").
        preset: The preset trained.
        params: The resolved parameters trained (they say how it learns).
        target: The target column.
        test_size: Share of real rows held out.
    """
    return (f"**Step 2 of 4 — learn the data.** A {title} with the **{preset.capitalize()}** "
            f"preset {_how_it_learns(synthesizer, params, target)}. It only sees "
            f"{1 - test_size:.0%} of the rows; the other {test_size:.0%} are kept aside to "
            "test it fairly. Training runs in the background.")


# --------------------------------------------------------------------------- generate


def generate_narration(rows: int | None) -> str:
    """Step 3: drawing new rows (``rows`` once they are drawn)."""
    text = ("**Step 3 of 4 — invent new rows.** The model now draws brand-new rows. None is "
            "a real person, yet together they should look like the real table.")
    if rows:
        text += f" It drew {rows:,} rows."
    return text


# --------------------------------------------------------------------------- evaluate


def next_try(synthesizer: str, preset: str) -> str:
    """What to try after a poor result with this synthesizer and preset."""
    if synthesizer == "gaussian_copula" and preset == "quick":
        return ("train the **Balanced** preset: it keeps each column's real shape and learns "
                "the relations separately for each class of the target")
    if synthesizer == "gaussian_copula":
        return "try **TVAE** (Balanced preset), or fake more rows so the patterns are clearer"
    if preset == "quick":
        return ("train the **Balanced** preset (more rounds of training), or a **Gaussian "
                "Copula** with the Balanced preset")
    return "fake more rows, or try a **Gaussian Copula** with the Balanced preset"


def _planted_sentences(checks: Sequence[PlantedCheck]) -> tuple[list[str], list[str]]:
    """The planted-truth sentence, and the lessons of what was lost."""
    if not checks:
        return [], []
    kept = [c for c in checks if c.recovered]
    lost = [c for c in checks if not c.recovered]
    if not lost:
        sentence = (f"**Planted truth**: all {len(checks)} planted patterns came through, "
                    f"for example '{checks[0].name}' ({checks[0].synthetic:+.2f} in the "
                    f"synthetic rows against {checks[0].real:+.2f} in the real ones)."
                    if checks[0].kind == "relation" else
                    f"**Planted truth**: all {len(checks)} planted patterns came through.")
        return [sentence], []
    described = []
    for check in lost:
        if check.kind == "relation":
            verb = _RELATION_VERBS.get(check.change, "was lost")
            described.append(f"'{check.name}' {verb} ({check.real:+.2f} in the real rows, "
                             f"{check.synthetic:+.2f} in the synthetic ones)")
        else:
            verb = _SHARE_VERBS.get(check.change, "changed")
            described.append(f"the {check.name.split(':')[0]} {verb} ({check.real:.1%} of "
                             f"real rows, {check.synthetic:.1%} of synthetic ones)")
    sentence = (f"**Planted truth**: only {len(kept)} of {len(checks)} planted patterns came "
                f"through: {_join(described)}.")
    return [sentence], described


def _canary_sentence(canaries: CanaryResult | None) -> str | None:
    if canaries is None:
        return None
    if canaries.seen == 0:
        return "No canary landed in the part the model saw, so copying could not be tested."
    if canaries.near_copies == 0:
        return (f"None of the {canaries.seen} canaries the model saw reappears in the "
                "synthetic rows.")
    exact = f" ({canaries.exact_copies} exactly)" if canaries.exact_copies else ""
    return (f"**{canaries.near_copies} of the {canaries.seen} canaries** the model saw "
            f"reappear{exact}: it copied those unusual people.")


def evaluate_narration(
    evaluation: EvaluationResult | None,
    planted: Sequence[PlantedCheck] = (),
    canaries: CanaryResult | None = None,
    synthesizer: str = "gaussian_copula",
    preset: str = "balanced",
    title: str | None = None,
) -> list[str]:
    """Step 4: the verdict and the planted truth as sentences, each from a number shown.

    Args:
        evaluation: The Evaluate page's result (None while it is computed).
        planted: :func:`core.evaluation.planted.check_planted` on the same rows.
        canaries: :func:`core.evaluation.planted.canaries_of_table` on the same rows.
        synthesizer: Key of the model's synthesizer (for what to try next).
        preset: Its preset.
        title: The synthesizer's display name.

    Returns:
        Sentences in the order to say them; the last one is the lesson.
    """
    head = "**Step 4 of 4 — is it any good?**"
    if evaluation is None:
        return [head, "The rows are being scored against the real ones: are they faithful, "
                      "useful and private? The verdict appears below when it is ready."]
    verdict = evaluation.verdict
    sentences = [head, f"The verdict: *{verdict.headline}*"]
    sentences += [f"It warns: {warning}" for warning in verdict.warnings]
    levels = {r.aspect: r.level for r in verdict.readings}
    lessons: list[str] = []
    privacy_lessons = 0  # lessons about copying, which call for other advice

    quality = evaluation.quality.quality_score
    if levels["fidelity"] != NOT_MEASURED:
        sentences.append(f"**Fidelity** is {levels['fidelity']}: the quality score is "
                         f"{quality:.0%} (show **Distributions**: real against synthetic).")
        if levels["fidelity"] != "good":
            lessons.append("the synthetic columns drift from the real ones")

    utility = evaluation.utility
    if levels["utility"] != NOT_MEASURED and utility is not None and utility.ratio is not None:
        sentences.append(f"**Usefulness** is {levels['utility']}: a model trained on synthetic "
                         f"rows reaches {utility.ratio:.0%} of the score of one trained on real "
                         f"rows when predicting `{utility.target}` (show **Utility**).")
        if levels["utility"] != "good":
            lessons.append(f"what predicts `{utility.target}` was blurred")
    else:
        sentences.append("**Usefulness** was not measured.")

    privacy = evaluation.privacy
    if levels["privacy"] != NOT_MEASURED and privacy is not None:
        sentences.append(f"**Privacy** is {levels['privacy']}: {privacy.exact_match_rate:.1%} "
                         "of synthetic rows copy a training row and the "
                         f"{glossary.name('dcr_share').lower()} is {privacy.dcr_share:.0%} "
                         "(50% is ideal).")
        if levels["privacy"] != "good":
            lessons.append("rows sit closer to the training rows than new data would")
            privacy_lessons = 1
    planted_sentences, lost = _planted_sentences(planted)
    sentences += planted_sentences
    if lost:
        lessons.append("some planted patterns did not come through")
    canary = _canary_sentence(canaries)
    if canary:
        sentences.append(canary)
    if canaries is not None and canaries.near_copies > 0:
        lessons.append("unusual rows were copied")
        privacy_lessons += 1

    if not lessons:
        tested = canaries is not None and canaries.seen > 0
        sentences.append(f"The lesson: {LEARNED_THE_PATTERN}." if planted and tested else
                         "The lesson: every measured reading is good on these tests.")
    else:
        model = f"the {title or synthesizer} ({preset.capitalize()} preset)"
        if privacy_lessons == len(lessons):  # only copying: more data, less training
            fix = "more rows" + ("" if synthesizer == "gaussian_copula" else
                                 ", or fewer rounds of training")
        else:
            fix = next_try(synthesizer, preset)
        sentences.append(f"The lesson: {model} falls short here: {_join(lessons)}. "
                         f"What to try: {fix}.")
    return sentences
