"""Privacy budget: what differential privacy's ε costs and buys, measured on this table."""

from __future__ import annotations

import streamlit as st

from core.data.table import StudioTable
from core.privacy_sweep import (
    DEFAULT_EPSILONS,
    FIT_SECONDS,
    SweepResult,
    epsilon_label,
    sweep_figure,
)
from ui import caching, related_work, state
from ui.widgets import job_progress, md, require_dataset, show_chart, user_errors

st.title("Privacy budget")
st.caption("A what-if: train the same synthesizer with stronger and weaker privacy promises "
           "and see what each one costs in quality and buys in safety.")
state.show_flash()

_EPSILONS = ", ".join(epsilon_label(e) for e in DEFAULT_EPSILONS)
with st.container(border=True, key="privacy_budget_explainer"):
    st.markdown(
        "**What ε means.** *Differential privacy* is a promise about how a model learns: "
        "while it trains, carefully measured noise is added, so that what it learns would "
        "be almost the same whether or not any one person's row was in the data. Nobody "
        "looking at the synthetic rows can then tell much about any single person.\n\n"
        "**ε (epsilon) is the privacy budget**: how much one person's row may change the "
        "model, at most. A **small ε** (such as 1) is a strong promise: more noise, so "
        "the synthetic data is usually less faithful. A **large ε** (such as 10) is a "
        "weaker promise with less noise. **ε = ∞** means no promise at all: ordinary "
        "training. δ is the tiny chance that the promise fails; the studio keeps it far "
        "below one in the number of rows."
    )
    st.markdown(
        f"**What the sweep does.** It trains TabularARGN (Quick preset) once for each "
        f"ε = {_EPSILONS}, each fit for at most {FIT_SECONDS} s, draws as many rows as it "
        "trained on, and scores every model on the same held-out real rows: quality, "
        "usefulness and four attacks (singling out, linking, inferring a value, telling "
        "members from non-members). It runs in the background and takes **about 2–4 "
        "minutes** on a 2-core computer. The models are kept, so running the same sweep "
        "again reuses them and takes seconds."
    )

if state.get_related() is not None:  # several related tables: the sweep takes one
    related_work.one_table_only("The privacy-budget sweep")
    st.stop()
if not require_dataset():
    st.caption("The sweep uses the dataset loaded on the Data page.")
    st.stop()
table: StudioTable = state.get_dataset()
runner = caching.job_runner()
st.markdown(f"Dataset: **{md(table.name)}** ({len(table.frame):,} rows)"
            + ("" if table.target else ". Choose a target on the Data page to include "
               "usefulness (the utility ratio)."))

job_id = state.get(state.SWEEP_JOB)
active = job_id is not None and runner.status(job_id).is_active
if st.button("Run the what-if sweep", type="primary", key="sweep_start", disabled=active,
             icon=":material/shield_lock:",
             help=f"Trains {len(DEFAULT_EPSILONS)} models (ε = {_EPSILONS}) in the background."):
    with user_errors("starting the what-if sweep"):
        state.put(state.SWEEP_JOB, runner.start_sweep(
            table, DEFAULT_EPSILONS, device=state.get_device_preference()))
        st.rerun()


@st.fragment(run_every=1.0)
def sweep_panel() -> None:
    """Poll the sweep job until it ends; keep its result in the session."""
    job = state.get(state.SWEEP_JOB)
    if job is None:
        return
    status = runner.status(job)
    if status.is_active:
        job_progress(runner, status, title="**Sweeping the privacy budget** in a background "
                     "worker", key="sweep_job", cancel_key="sweep_cancel")
        return
    state.pop(state.SWEEP_JOB)
    result = runner.result(job) if status.state == "done" else None
    if result:
        state.put(state.SWEEP_RESULT, result)
        state.flash("The what-if sweep finished.")
    else:
        state.flash(status.message or "The what-if sweep failed.", "error")
    st.rerun()


if state.get(state.SWEEP_JOB) is not None:
    sweep_panel()

saved = state.get(state.SWEEP_RESULT)
if not saved or saved.get("fingerprint") != table.fingerprint:
    st.stop()
result = SweepResult.from_dict(saved)

st.subheader("What the budget costs and buys")
st.info(result.summary(), icon=":material/lightbulb:")
if result.reused_all:
    st.caption("Every model of this sweep was already trained: it was reused, not "
               "trained again.")
show_chart(sweep_figure(result), key="sweep_curves")
st.caption("Left: quality (how closely the synthetic rows follow the real ones) and utility "
           "ratio (how well a model trained on them predicts real held-out rows, relative "
           "to one trained on real rows); higher is better. Right: each attack's risk, with "
           "its 95 % interval: what the synthetic rows add to an attacker's success over "
           "what held-out real rows give; lower is safer. ε = ∞ is drawn apart: no "
           "differential privacy.")
frame = result.as_frame()
st.dataframe(
    frame, hide_index=True, width="stretch",
    column_config={
        "ε spent": st.column_config.NumberColumn(
            "ε spent", format="%.2f", help="The ε the kept model actually used (at most the "
            "ε asked for); empty without differential privacy."),
        "quality": st.column_config.NumberColumn("quality", format="%.3f"),
        "utility ratio": st.column_config.NumberColumn("utility ratio", format="%.2f"),
        **{column: st.column_config.NumberColumn(column, format="%.3f")
           for column in frame.columns if column.endswith(" risk")},
        "exact copies": st.column_config.NumberColumn("exact copies", format="percent"),
        "DCR share": st.column_config.NumberColumn("DCR share", format="%.2f"),
        "fit s": st.column_config.NumberColumn("fit time (s)", format="%.1f"),
    },
)
st.caption(f"Each fit had a time limit of {result.fit_seconds} s (seed {result.seed}); "
           "the same split as on Train. A number computed on few rows moves from run to "
           "run: read small differences with care.")
