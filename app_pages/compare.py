"""Compare: race several synthesizers on the same data and split; one leaderboard."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import privacy_utility_figure
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.catalogue import PRESETS, REGISTRY
from core.workflow import selection_rule_text
from ui import caching, state
from ui.widgets import duration, job_progress, require_dataset, show_chart, user_errors

# Kept in the workspace, so a reload finds the comparison (ui.state.SAVED).
COMPARE_JOB = state.COMPARE_JOB
COMPARE_RESULT = state.COMPARE_RESULT

st.title("Compare")
st.caption(
    "Train several synthesizers on the same real training rows, evaluate each against the "
    "same held-out rows, and rank them. Models already trained are reused."
)
state.show_flash()
if not require_dataset():
    st.stop()
table: StudioTable = state.get_dataset()
runner = caching.job_runner()

options = [f"{key}:{preset}" for key in REGISTRY for preset in PRESETS]


def _label(option: str) -> str:
    key, preset = option.split(":")
    return f"{REGISTRY[key].title} · {preset}"


chosen = st.multiselect(
    "Candidates", options, default=["gaussian_copula:quick", "gaussian_copula:balanced",
                                    "tvae:quick"],
    format_func=_label, key="compare_candidates",
    help="Each synthesizer with a preset. Deep models get the epochs the budget allows.",
)
left, right = st.columns(2)
budget = left.slider("Time budget (seconds, all candidates together)", 30, 1200, 180, 30,
                     key="compare_budget")
seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="compare_seed")
st.caption(selection_rule_text()
           + ("" if table.target else " Choose a target on the Data page to include usefulness."))

job_id = state.get(COMPARE_JOB)
active = job_id is not None and runner.status(job_id).is_active
if st.button("Run the comparison", type="primary", key="compare_start",
             disabled=active or len(chosen) < 2, icon=":material/leaderboard:",
             help=None if len(chosen) >= 2 else "Pick at least two candidates."):
    with user_errors("starting the comparison"):
        candidates = [tuple(option.split(":")) for option in chosen]
        job_id = runner.start_compare(table, candidates, float(budget), seed=int(seed),
                                      device=state.get_device_preference(),
                                      split=SplitSpec(seed=int(seed), target=table.target))
        state.put(COMPARE_JOB, job_id)
        state.pop(COMPARE_RESULT)
        st.rerun()


@st.fragment(run_every=1.0)
def compare_panel() -> None:
    """Poll the comparison job until it ends."""
    job = state.get(COMPARE_JOB)
    if job is None:
        return
    status = runner.status(job)
    if status.is_active:
        def budget_used() -> None:
            if status.state == "running" and status.elapsed:
                st.caption(f"{duration(status.elapsed)} of a {budget} s budget")

        # Each candidate is trained, sampled and evaluated in the job's worker.
        job_progress(runner, status, title="**Comparing the candidates** in a background "
                     "worker", key="compare_job", cancel_key="compare_cancel",
                     details=budget_used)
        return
    state.pop(COMPARE_JOB)
    if status.state == "done":
        state.put(COMPARE_RESULT, {"rows": runner.result(job), "fingerprint": table.fingerprint})
        state.flash("Comparison finished.")
    else:
        state.flash(status.message or "The comparison failed.", "error")
    st.rerun()


if state.get(COMPARE_JOB) is not None:
    compare_panel()

result = state.get(COMPARE_RESULT)
if not result or result.get("fingerprint") != table.fingerprint or not result.get("rows"):
    st.stop()
rows = result["rows"]
best = next((row for row in rows if row["recommended"]), None)

st.subheader("Leaderboard")
if best is not None:
    st.success(
        f"Recommended: **{best['title']} · {best['preset']}** — {best['reason']}."
        + ("" if best["eligible"] else " No candidate passed the privacy guard; this is the "
           "best of them, use it with care."),
        icon=":material/star:",
    )
board = pd.DataFrame(rows)[["title", "preset", "quality", "utility_ratio", "exact_match_rate",
                            "dcr_share", "privacy", "fit_s", "score", "eligible", "reason"]]
st.dataframe(
    board, hide_index=True, width="stretch",
    column_config={
        "title": "synthesizer",
        "quality": st.column_config.NumberColumn("quality", format="%.2f"),
        "utility_ratio": st.column_config.NumberColumn("utility ratio", format="%.2f"),
        "exact_match_rate": st.column_config.NumberColumn("exact copies", format="percent"),
        "dcr_share": st.column_config.NumberColumn("DCR share", format="%.2f"),
        "fit_s": st.column_config.NumberColumn("fit time (s)", format="%.1f"),
        "score": st.column_config.NumberColumn("score", format="%.3f"),
        "reason": st.column_config.TextColumn("why", width="large"),
    },
)
show_chart(privacy_utility_figure(rows), key="compare_scatter")

if best is not None and best.get("model_id"):
    if st.button("Use the recommended model", key="compare_use", icon=":material/check:"):
        record = caching.model_registry().get(best["model_id"])
        if record is None:
            st.error("That model is no longer stored; run the comparison again.")
        else:
            state.put(state.CURRENT_MODEL, record)
            state.pop(state.SYNTHETIC)
            state.flash(f"Now using **{record.label}**. Generate or evaluate it next.")
            st.rerun()
