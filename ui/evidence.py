"""The Evaluate page's evidence sections: real-data ceiling, attacks, fairness, drivers, text.

Each function draws one part of an :class:`~core.evaluation.EvaluationResult` that
:func:`core.evaluation.evaluate_all` measured; the sentences come from ``core``, built from
the numbers. Kept out of the page script so the page stays a list of tabs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation import EvaluationResult, glossary
from core.evaluation.attacks import attack_figure
from core.evaluation.ceiling import CEILING_SCORES, ceiling_figure, discriminator_figure
from core.evaluation.fairness import fairness_figure, fairness_scores
from core.evaluation.importance import importance_figure
from core.evaluation.text import (
    LEAK_NGRAM,
    text_leak_figure,
    text_length_figure,
    text_words_figure,
)
from core.evaluation.thresholds import (
    ATTACK_RISK_FAIR,
    ATTACK_RISK_GOOD,
    TEXT_LEAK_FAIR,
    TEXT_LEAK_GOOD,
    epsilon_strength,
    fidelity_level,
    utility_level,
)
from ui import state
from ui.widgets import md, show_chart

# The ceiling's score names as the glossary calls them.
_CEILING_TERMS = {"quality_score": "quality_score", "column_shapes": "column_shapes",
                  "column_pair_score": "pair_score"}

#: What the privacy evidence cannot prove, said wherever it is shown.
PRIVACY_LIMITS = (
    "These attacks are four particular attacks on samples of the rows, not every attack "
    "there is: a low risk here is evidence, not proof. Only differential privacy (a "
    "privacy budget ε set before training) limits what any attack can learn, and only for "
    "what the model learned, not for columns faked or left out."
)


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def draw_ceiling(result: EvaluationResult) -> None:
    """The headline scores next to what real never-seen rows score, and the tell-apart AUC."""
    ceiling = result.ceiling
    st.subheader("Against real rows the model never saw")
    if ceiling is None:
        st.info(f"Not measured: {result.skipped.get('ceiling', 'no held-out rows')}.",
                icon=":material/info:")
        return
    st.markdown(
        f"Even new real rows differ from the training rows by chance. So each score is "
        f"also computed for **{ceiling.rows_compared:,} held-out real rows** (the "
        "ceiling), beside as many synthetic rows, both against the same training rows."
    )
    # The all-pairs score's ceiling is on the Correlations tab, beside that score: the
    # Quality tab speaks of strong-pair trends only (glossary.PAIR_SCORES_DIFFER).
    shown = [name for name in CEILING_SCORES if name != "column_pair_score"]
    columns = st.columns(len(shown) + 1)
    for column, name in zip(columns, shown, strict=False):
        key = _CEILING_TERMS[name]
        synthetic = ceiling.synthetic_at_holdout_size.get(name, math.nan)
        real = ceiling.holdout_ceiling.get(name, math.nan)
        column.metric(glossary.name(key), glossary.fmt(key, synthetic),
                      delta=f"ceiling {glossary.fmt(key, real)}", delta_color="off",
                      help=f"{glossary.help_text(key)} {glossary.help_text('holdout_ceiling')}")
    columns[-1].metric(glossary.name("discriminator_auc"),
                       _number(ceiling.discriminator_auc),
                       delta=f"real rows {_number(ceiling.holdout_discriminator_auc)}",
                       delta_color="off", help=glossary.help_text("discriminator_auc"))
    for name in shown:
        if ceiling.sentences.get(name):
            st.markdown(f"- {glossary.plain(ceiling.sentences[name])}")
    st.markdown(f"**{glossary.name('holdout_ceiling')}** — Each bar is a score: blue for the "
                "real rows the model never saw, orange for as many synthetic rows. Orange as "
                "tall as blue is as good as synthetic data can get.")
    show_chart(ceiling_figure(ceiling), key="eval_ceiling")
    st.markdown(f"**{glossary.name('discriminator_auc')}** — Each bar is how well a "
                "classifier tells those rows from the training rows: at the dashed 0.5 line it "
                "cannot tell them apart, which is the ideal; near 1 it always can.")
    show_chart(discriminator_figure(ceiling), key="eval_discriminator")
    if ceiling.sentences.get("discriminator"):
        st.markdown(glossary.plain(ceiling.sentences["discriminator"]))


def draw_pair_ceiling(result: EvaluationResult) -> None:
    """The all-pairs relation score of real rows the model never saw (Correlations tab)."""
    ceiling = result.ceiling
    if ceiling is not None and ceiling.sentences.get("column_pair_score"):
        st.markdown(glossary.plain(ceiling.sentences["column_pair_score"]),
                    help=glossary.help_text("holdout_ceiling"))


def draw_epsilon(result: EvaluationResult) -> None:
    """The model's differential-privacy budget, or that it has none."""
    strength = epsilon_strength(result.epsilon)
    if strength is None:
        st.caption(
            "This model was trained without differential privacy, so it carries no formal "
            "guarantee: the numbers below are the evidence. TabularARGN can be trained with "
            "a privacy budget ε on the Train page."
        )
        return
    delta = f", δ = {result.delta:.0e}" if result.delta else ""
    st.success(
        f"Trained with differential privacy: **ε = {result.epsilon:.2f}**{delta}, a "
        f"{strength} formal guarantee. {glossary.help_text('epsilon')}",
        icon=":material/shield:",
    )


def draw_attacks(result: EvaluationResult) -> None:
    """Singling out, linking, inference and membership, each beyond the held-out baseline."""
    st.subheader("Attacks")
    attacks = result.attacks
    if attacks is None:
        st.info(f"Not measured: {result.skipped.get('attacks', 'the attacks could not run')}.",
                icon=":material/info:")
        return
    st.markdown(
        "An attacker holding the synthetic rows tries four things. Each attack is run "
        "against real **training rows** and, as the baseline, against as many **held-out "
        "rows** the model never saw: the **risk** is how much more often it works on the "
        f"training rows (0 = no edge; up to {ATTACK_RISK_GOOD:.2f} reads good, up to "
        f"{ATTACK_RISK_FAIR:.2f} fair)."
    )
    show_chart(attack_figure(attacks), key="eval_attacks")
    for risk in attacks.risks:
        low, high = risk.ci
        st.markdown(f"- **{glossary.name(risk.name)}** — risk {_number(risk.risk)} "
                    f"(95 % interval {_number(low)}–{_number(high)}): {risk.sentence}",
                    help=glossary.help_text(risk.name))
    st.dataframe(pd.DataFrame([{
        "Attack": glossary.name(risk.name),
        "Risk": risk.risk,
        "Works on training rows": risk.attack_rate,
        "Works on held-out rows": risk.control_rate,
        "Random guessing": risk.baseline_rate,
        "Attacks": risk.attacks,
    } for risk in attacks.risks]), hide_index=True, width="stretch", column_config={
        "Risk": st.column_config.NumberColumn(format="%.2f",
                                              help=glossary.help_text("attack_risk")),
        "Works on training rows": st.column_config.NumberColumn(format="percent"),
        "Works on held-out rows": st.column_config.NumberColumn(format="percent"),
        "Random guessing": st.column_config.NumberColumn(
            format="percent", help="An attacker who guesses without the synthetic data: if "
            "the attack does no better, it learned nothing."),
    })
    for note in attacks.notes:
        st.caption(glossary.plain(note))
    st.caption(PRIVACY_LIMITS)


def _fairness_candidates(result: EvaluationResult) -> list[str]:
    return [c for c in result.evaluated_columns if c != result.target]


def draw_fairness(result: EvaluationResult, sample_key: str, schema: TableSchema,
                  real_train: pd.DataFrame, holdout: pd.DataFrame,
                  synthetic: pd.DataFrame) -> EvaluationResult:
    """Outcome rates per group and the models' fairness gaps; the user picks the columns.

    Returns:
        The evaluation, with fairness re-measured on the picked columns when they changed
        (kept in the session, so the report shows the same columns).
    """
    st.markdown(
        "Does the synthetic data treat groups of people (by sex, age, nationality, …) the "
        "way the real data does? For each **sensitive column**, the outcome is compared "
        "group by group, and the models of the Utility tab are checked for gaps between "
        "groups when trained on real vs on synthetic rows."
    )
    if result.target is None:
        st.info(f"Not measured: {result.skipped.get('fairness', 'no target was chosen')}.",
                icon=":material/info:")
        return result
    picked = st.multiselect(
        "Sensitive columns", _fairness_candidates(result),
        default=list(result.sensitive_columns), key=f"eval_sensitive_{sample_key}",
        help=glossary.help_text("sensitive_column") + " Suggested from column names and "
        "values; add or remove any.")
    if tuple(picked) != result.sensitive_columns:
        result = _refair(result, sample_key, picked, schema, real_train, holdout, synthetic)
    fairness = result.fairness
    if fairness is None:
        st.info(f"Not measured: {result.skipped.get('fairness', 'pick a sensitive column')}.",
                icon=":material/info:")
        return result
    st.markdown(f"Outcome: **{md(fairness.outcome)}**.")
    for column, judged in fairness.columns.items():
        st.markdown(f"#### {md(column)}")
        badge = (":red-badge[gap widened]" if judged.widened
                 else ":green-badge[no gap widened]")
        st.markdown(f"{badge} {glossary.plain(judged.sentence)}")
        show_chart(fairness_figure(fairness, column), key=f"eval_fair_{column}")
        gaps = []
        for key, values in (("demographic_parity", judged.demographic_parity),
                            ("equalized_odds", judged.equalized_odds)):
            if values is not None:
                gaps.append({"Gap": glossary.name(key), "Trained on real": values.get("real"),
                             "Trained on synthetic": values.get("synthetic")})
        if gaps:
            st.dataframe(pd.DataFrame(gaps), hide_index=True, width="stretch", column_config={
                "Trained on real": st.column_config.NumberColumn(format="%.2f"),
                "Trained on synthetic": st.column_config.NumberColumn(format="%.2f")})
        if judged.gap_note:
            st.caption(glossary.plain(judged.gap_note))
    if fairness.gaps_skipped:
        st.caption(glossary.plain(fairness.gaps_skipped))
    for note in fairness.notes:
        st.caption(glossary.plain(note))
    return result


def _refair(result: EvaluationResult, sample_key: str, picked: Sequence[str],
            schema: TableSchema, real_train: pd.DataFrame, holdout: pd.DataFrame,
            synthetic: pd.DataFrame) -> EvaluationResult:
    skipped = dict(result.skipped)
    fairness = None
    if not picked:
        skipped["fairness"] = "no sensitive column is picked"
    elif result.utility is None:
        return result
    else:
        with st.spinner("Comparing the groups…"):
            try:
                fairness = fairness_scores(real_train, holdout, synthetic, schema,
                                           result.target, list(picked), seed=result.seed)
                skipped.pop("fairness", None)
            except EvaluationError as error:
                skipped["fairness"] = str(error)
    updated = dataclasses.replace(result, fairness=fairness, sensitive_columns=tuple(picked),
                                  skipped=skipped)
    state.put_evaluation(sample_key, updated)
    return updated


def draw_drivers(result: EvaluationResult) -> None:
    """Which columns drive the models trained on real vs on synthetic rows."""
    st.markdown(
        "Does the synthetic data teach the same **drivers**? Each column's importance is how "
        "much a model's score on held-out real rows drops when that column is shuffled; "
        "the two models of the Utility tab are compared side by side."
    )
    importance = result.importance
    if importance is None:
        st.info(f"Not measured: {result.skipped.get('importance', 'no target was chosen')}.",
                icon=":material/info:")
        return
    left, right = st.columns(2)
    left.metric(glossary.name("rank_agreement"), _number(importance.rank_agreement),
                help=glossary.help_text("rank_agreement"))
    right.metric(f"Top {importance.top_k} drivers shared", f"{importance.top_overlap:.0%}"
                 if importance.top_overlap == importance.top_overlap else "–")
    st.markdown(glossary.plain(importance.sentence))
    show_chart(importance_figure(importance), key="eval_importance")
    table = importance.table[["column", "real", "synthetic", "real_rank", "synthetic_rank"]]
    st.dataframe(table.rename(columns={
        "column": "Column", "real": "Importance (trained on real)",
        "synthetic": "Importance (trained on synthetic)", "real_rank": "Rank (real)",
        "synthetic_rank": "Rank (synthetic)"}), hide_index=True, width="stretch",
        column_config={
            "Importance (trained on real)": st.column_config.NumberColumn(
                format="%.3f", help=glossary.help_text("importance")),
            "Importance (trained on synthetic)": st.column_config.NumberColumn(
                format="%.3f", help=glossary.help_text("importance"))})
    for note in importance.notes:
        st.caption(glossary.plain(note))


_TEXT_BADGES = {"good": ":green-badge[good]", "fair": ":orange-badge[fair]",
                "poor": ":red-badge[poor]", "not measured": ":gray-badge[not measured]"}


def _percent(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.0%}"


def draw_text(result: EvaluationResult) -> None:
    """Each free-text column: lengths, words, the text classifier and the leak check."""
    st.markdown(
        "Text columns are written by a text model trained on the real texts. Each is "
        "compared with the real training texts and, as the yardstick, with real texts the "
        "model never saw: how long the texts are, which words they use, whether a model "
        "reading them learns the same thing, and whether they **repeat real texts**."
    )
    text = result.text
    if text is None:
        st.info(f"Not measured: {result.skipped.get('text', 'no text column')}.",
                icon=":material/info:")
        return
    for note in text.notes:
        st.caption(note)
    for name, scored in text.columns.items():
        st.subheader(f"Text column '{md(name)}'")
        cards = st.columns(4)
        cards[0].metric("Length score", _percent(scored.length_score),
                        delta=f"unseen real texts {_percent(scored.length_score_holdout)}",
                        delta_color="off", help="100% minus the largest gap between the "
                        "real and synthetic spreads of words per text: 100% = same lengths.")
        cards[1].metric("Word overlap", _percent(scored.vocabulary_overlap),
                        delta=f"unseen real texts {_percent(scored.vocabulary_overlap_holdout)}",
                        delta_color="off", help="How far the synthetic texts use the real "
                        "words in the same proportions (100% = identical word counts). Real "
                        "texts the model never saw show the best to expect.")
        cards[2].metric("Text classifier ratio", _percent(scored.classifier_ratio),
                        help="A model reads the text to predict "
                        f"'{scored.classifier_column or 'a category'}': its score when it "
                        "learns from synthetic texts, as a share of its score when it learns "
                        "from real texts (both tested on unseen real texts).")
        cards[3].metric("Texts repeating training text", f"{scored.leak_rate:.1%}",
                        delta=f"unseen real texts {scored.holdout_leak_rate:.1%}",
                        delta_color="off", help=f"Share of synthetic texts that repeat "
                        f"{LEAK_NGRAM} or more words in a row of a training text. Real texts "
                        "the model never saw do it by chance; only the extra counts (up to "
                        f"{TEXT_LEAK_GOOD:.0%} reads good, up to {TEXT_LEAK_FAIR:.0%} fair).")
        st.markdown(f"**Copied text:** {_TEXT_BADGES.get(scored.leak_level, '')} — "
                    f"{md(scored.sentences.get('leak', ''))}")
        for key, level in (("length", fidelity_level(scored.length_score)),
                           ("vocabulary", fidelity_level(scored.vocabulary_overlap)),
                           ("classifier", utility_level(scored.classifier_ratio)
                            if scored.classifier_ratio is not None else "not measured")):
            st.markdown(f"- {_TEXT_BADGES.get(level, '')} {md(scored.sentences.get(key, ''))}")
        if scored.examples:
            st.markdown(f"**Synthetic texts that repeat training text** (the copied run in "
                        f"bold, {len(scored.examples)} shown):")
            for example in scored.examples:
                st.markdown(f"> {md(example.text[:example.start])}"
                            f"**{md(example.text[example.start:example.end])}**"
                            f"{md(example.text[example.end:])}  \n"
                            f"> — {example.words} words copied")
        left, right = st.columns(2)
        with left:
            show_chart(text_length_figure(scored), key=f"eval_text_length_{name}")
        with right:
            show_chart(text_leak_figure(scored), key=f"eval_text_leak_{name}")
        show_chart(text_words_figure(scored), key=f"eval_text_words_{name}")
        category = scored.classifier_column
        st.markdown("**Top words and word pairs, real vs synthetic**"
                    + (f" (per '{md(category)}')" if category else ""))
        st.dataframe(scored.top_words.rename(columns={
            "category": "Category", "kind": "What", "real": "Real texts",
            "synthetic": "Synthetic texts", "shared": "Shared"}), hide_index=True,
            width="stretch", column_config={
                "Shared": st.column_config.NumberColumn(
                    help="How many of the real top ones are in the synthetic list too.")})
        st.caption("Common English words (the, and, my, …) are left out of the top lists.")


__all__ = ["PRIVACY_LIMITS", "draw_attacks", "draw_ceiling", "draw_drivers", "draw_epsilon",
           "draw_fairness", "draw_pair_ceiling", "draw_text"]
