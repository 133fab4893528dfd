"""Glossary: every score and word the studio shows, in plain words (core/evaluation/glossary.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.evaluation import glossary
from core.evaluation.thresholds import (
    FIDELITY_FAIR,
    FIDELITY_GOOD,
    PRIVACY_FAIR,
    PRIVACY_GOOD,
    UTILITY_FAIR,
    UTILITY_GOOD,
)

SHOWN_AS = {"percent": "a percent (63%)", "number": "a number (0.63)", "none": ""}

st.title("Glossary")
st.caption("What each score and word on the Evaluate, Compare and report pages means. The "
           "same sentence is the tooltip next to the name in the studio; a score is always "
           "shown the same way, as a percent or as a number, never both.")

groups: dict[str, list[glossary.Term]] = {}
for term in glossary.TERMS.values():
    groups.setdefault(term.group, []).append(term)
for group, terms in groups.items():
    st.subheader(group)
    st.dataframe(pd.DataFrame([{
        "term": term.name, "what it means": term.meaning, "shown as": SHOWN_AS[term.unit],
        "also called": term.technical} for term in terms]), hide_index=True, width="stretch",
        key=f"glossary_{group}", column_config={
            "term": st.column_config.TextColumn("Term", width="medium"),
            "what it means": st.column_config.TextColumn("What it means", width="large"),
            "shown as": st.column_config.TextColumn("Shown as"),
            "also called": st.column_config.TextColumn(
                "Also called", help="The name in papers and other tools.")})

st.subheader("Two pair scores")
st.markdown(glossary.PAIR_SCORES_DIFFER)

st.subheader("Where good, fair and poor start")
st.markdown(
    f"- **{glossary.name('fidelity')}** (quality score, a column's score, relations kept): "
    f"good from {FIDELITY_GOOD:.0%}, fair from {FIDELITY_FAIR:.0%}, poor below.\n"
    f"- **{glossary.name('utility')}** (utility ratio): good from {UTILITY_GOOD:.0%}, fair from "
    f"{UTILITY_FAIR:.0%}, poor below.\n"
    f"- **{glossary.name('privacy')}**: good when exact copies beyond chance are at most "
    f"{PRIVACY_GOOD[0]:.0%} and the closer-to-training share at most {PRIVACY_GOOD[1]:.0%}; "
    f"fair up to {PRIVACY_FAIR[0]:.0%} and {PRIVACY_FAIR[1]:.0%}; poor beyond."
)
st.caption("These limits are rules of thumb for a first reading, not guarantees: a good "
           "privacy reading is not a formal privacy guarantee.")
