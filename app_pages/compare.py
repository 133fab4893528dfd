"""Compare: race several synthesizers on the same data and split; one leaderboard."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import privacy_utility_figure
from core.comparison import selection_rule_text
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.catalogue import PRESETS, REGISTRY, synthesizers_for
from core.evaluation import glossary
from core.store.registry import ModelRecord
from ui import caching, related_work, state
from ui.widgets import (
    duration,
    generate_rows,
    job_progress,
    require_dataset,
    show_chart,
    user_errors,
)

# Kept in the workspace, so a reload finds the comparison (ui.state.SAVED).
COMPARE_JOB = state.COMPARE_JOB
COMPARE_RESULT = state.COMPARE_RESULT

st.title("Compare")
st.caption(
    "Train several synthesizers on the same real training rows, evaluate each against the "
    "same held-out rows, and rank them. Models already trained are reused."
)
state.show_flash()
if state.get_related() is not None:  # several related tables (ui/related_work.py)
    related_work.compare_page()
    st.stop()
if not require_dataset():
    st.stop()
table: StudioTable = state.get_dataset()
runner = caching.job_runner()

# Only candidates usable on this data's shape (sequences: those that learn histories).
options = [f"{key}:{preset}" for key in synthesizers_for(table.schema) for preset in PRESETS]


def use_recommended(record: ModelRecord, seed: int) -> None:
    """Hand the winner to Evaluate: its rows drawn again and their evaluation started.

    The comparison drew the model's rows with ``seed`` (as many as its training rows), so
    the same draw gives the same rows; their evaluation starts here in a job, so Evaluate
    opens on it with nothing to click. A large draw is a job too: Evaluate follows it.
    """
    sample = generate_rows(record, None, seed)
    if sample is None:  # drawn in a job: Evaluate follows it and evaluates its rows
        state.flash(f"Now using **{record.label}**: its rows are being drawn again.", "info")
        return
    real_train, holdout = caching.real_parts_for(table, record)
    state.put(state.EVALUATION_JOB, {
        "job_id": runner.start_evaluation(record, sample, real_train, holdout, seed=seed),
        "sample_key": sample.key, "error": None})
    state.flash(f"Now using **{record.label}**, with the {len(sample.frame):,} rows the "
                "comparison drew from it (same model, same seed).", "info")


def _label(option: str) -> str:
    key, preset = option.split(":")
    return f"{REGISTRY[key].title} · {preset}"


defaults = [option for option in ("gaussian_copula:quick", "gaussian_copula:balanced",
                                   "tvae:quick") if option in options]
chosen = st.multiselect(
    "Candidates", options,
    default=defaults or [f"{key}:quick" for key in synthesizers_for(table.schema)][:2],
    format_func=_label, key="compare_candidates",
    help="Each synthesizer with a preset. Deep models get the epochs the budget allows.",
)
left, right = st.columns(2)
budget = left.slider("Time budget (seconds, all candidates together)", 30, 1200, 180, 30,
                     key="compare_budget")
seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="compare_seed",
                          help="The fit's and the sample's seed, as on Train.")
test_size, split_seed = 0.3, 0
with st.expander("Honest split", icon=":material/call_split:"):
    # The same defaults as Train's, so a model trained there is the same request here.
    st.caption("The same split as on Train: with the same settings there, a model already "
               "trained is reused instead of trained again.")
    left, right = st.columns(2)
    test_size = left.slider("Held-out share", 0.1, 0.5, 0.3, 0.05, key="compare_test_size")
    split_seed = right.number_input("Split seed", 0, 2**31 - 1, 0, key="compare_split_seed")
split = SplitSpec(test_size=float(test_size), seed=int(split_seed), target=table.target)
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
                                      device=state.get_device_preference(), split=split)
        state.put(COMPARE_JOB, job_id)
        # The seed goes with the leaderboard: the recommended model's rows are drawn again
        # with it (same model + seed -> the rows the comparison evaluated).
        state.put(COMPARE_RESULT, {"seed": int(seed)})
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
        state.put(COMPARE_RESULT, {**(state.get(COMPARE_RESULT) or {}),
                                   "rows": runner.result(job), "fingerprint": table.fingerprint})
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
# Candidates the budget (or a good enough screening) left out are rows too, saying why.
skipped = [row for row in rows if row.get("status") == "skipped"]
if skipped:
    st.caption("Not run: " + "; ".join(
        f"**{row['title']} · {row['preset']}**, {row['reason'].removeprefix('skipped: ')}"
        for row in skipped) + ".")
columns = ["title", "preset", "status", "epochs", "quality", "utility_ratio",
           "exact_match_rate", "dcr_share", "attack_risk", "epsilon", "privacy", "fit_s", "score",
           "eligible", "reason"]
board = pd.DataFrame(rows).reindex(columns=columns)
# Leaderboard column → glossary term: the same name, meaning and format as on Evaluate.
_GLOSSARY_COLUMNS = {"quality": "quality_score", "utility_ratio": "utility_ratio",
                     "exact_match_rate": "exact_copies", "dcr_share": "dcr_share",
                     "attack_risk": "attack_risk", "epsilon": "epsilon"}


def _glossary_column(term: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(glossary.name(term), help=glossary.help_text(term),
                                         format=glossary.table_format(term))


st.dataframe(
    board, hide_index=True, width="stretch",
    column_config={
        "title": "synthesizer",
        "status": st.column_config.TextColumn(
            "status", help="ran: trained and evaluated here; reused: an already trained model "
            "was evaluated; skipped: not started (the 'why' column says why); failed."),
        "epochs": st.column_config.NumberColumn(
            "epochs", format="%d", help="Epochs the fit ran (deep models; early stopping or the "
            "time limit may end it before the planned number)."),
        **{column: _glossary_column(term) for column, term in _GLOSSARY_COLUMNS.items()},
        "fit_s": st.column_config.NumberColumn("fit time (s)", format="%.1f"),
        "score": st.column_config.NumberColumn("score", format="%.3f"),
        "reason": st.column_config.TextColumn("why", width="large"),
    },
)
show_chart(privacy_utility_figure(rows), key="compare_scatter")

if best is not None and best.get("model_id"):
    if st.button("Use the recommended model", key="compare_use", icon=":material/check:",
                 help="Make it the current model and open Evaluate with its rows."):
        record = caching.model_registry().get(best["model_id"])
        if record is None:
            st.error("That model is no longer stored; run the comparison again.")
        else:
            with user_errors("drawing the recommended model's rows"):
                state.put(state.CURRENT_MODEL, record)
                use_recommended(record, int(result.get("seed", 0)))
                st.switch_page("app_pages/evaluate.py")
