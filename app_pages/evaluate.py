"""Evaluate: is the synthetic data faithful, useful and private? With a one-file report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.table import StudioTable
from core.engine.generation import GeneratedSample
from core.evaluation import (
    EvaluationResult,
    correlation_heatmaps,
    dcr_figure,
    utility_figure,
)
from core.evaluation.outputs import report_title_of, run_card
from core.evaluation.planted import canaries_of_table, check_planted, nearest_synthetic
from core.evaluation.report import build_report
from core.evaluation.thresholds import fidelity_level
from core.evaluation.verdict import Reading, relations_reading
from core.jobs.status import cancelled_message
from core.store.registry import ModelRecord
from core.workflow import (
    model_schema,
    model_split,
    model_target,
    record_scores,
    run_timings,
)
from ui import caching, demo, state
from ui.widgets import (
    download_button,
    generate_rows,
    job_progress,
    require_dataset,
    require_model,
    sample_job_panel,
    show_chart,
    user_errors,
)

# (sample key, row) picked in the Record explorer, so the pick survives a visit to another
# tab (the explorer's table is not drawn while another tab is open).
EXPLORER_ROW = "studio.evaluate.explorer_row"
BADGES = {"good": ":green-badge[good]", "fair": ":orange-badge[fair]",
          "poor": ":red-badge[poor]", "not measured": ":gray-badge[not measured]"}


def show_reading(reading: Reading | str) -> None:
    """A reading (or the verdict's reading of an aspect), with its badge."""
    found = reading if isinstance(reading, Reading) else next(
        r for r in result.verdict.readings if r.aspect == reading)
    st.markdown(f"**Reading:** {BADGES.get(found.level, '')} — {found.reason}")


st.title("Evaluate")
st.caption(
    "Three questions: are the synthetic rows **faithful** to the real ones, **useful** for "
    "the same analysis, and **private** (not copies)? Each number says what it means."
)
state.show_flash()
if not require_dataset():
    st.stop()
table: StudioTable
record: ModelRecord
table, record = require_model()

schema = model_schema(record)
demo.banner("evaluate")
split = model_split(record)
real_train, holdout = caching.real_parts_for(table, record)
runner = caching.job_runner()
sample: GeneratedSample | None = state.get(state.SYNTHETIC)
if sample is None or sample.model_id != record.model_id:
    st.markdown(f"Model: **{record.label}**. No synthetic rows from it yet.")
    if state.get(state.SAMPLE_JOB) is not None:  # a large sample is on its way
        sample_job_panel()
        st.stop()
    if st.button(f"Generate {record.train_rows:,} rows and evaluate", type="primary",
                 key="eval_generate"):
        with user_errors("generating rows"):
            generate_rows(record)  # here, or in a job followed above
            st.rerun()
    st.stop()


@st.fragment(run_every=1.0)
def evaluation_panel() -> None:
    """Follow the evaluation job; keep its result and the model's scores when it is done."""
    entry = state.get(state.EVALUATION_JOB)
    if not entry or entry.get("job_id") is None:
        return
    job_id = entry["job_id"]
    status = runner.status(job_id)
    if status.is_active:
        job_progress(runner, status,
                     title=f"**Evaluating {len(sample.frame):,} synthetic rows** against "
                     f"{len(real_train):,} real training and {len(holdout):,} held-out rows, "
                     "in a background worker",
                     key="eval_job", cancel_key="eval_cancel")
        return
    kind, message = "error", status.message or "The evaluation failed."
    if status.state == "done":
        evaluation = runner.result(job_id)  # handed over once: kept in the session now
        if isinstance(evaluation, EvaluationResult):
            state.put_evaluation(entry["sample_key"], evaluation)
            state.pop(state.EVALUATION_JOB)
            updated = record_scores(caching.model_registry(), record, evaluation)
            if updated is not None:
                state.put(state.CURRENT_MODEL, updated)
            st.rerun()
        message = "The evaluation's result could not be read back from the worker."
    elif status.state == "cancelled":
        kind, message = "info", status.message or cancelled_message("evaluate")
    # Kept, so the page does not start the same evaluation again by itself.
    state.put(state.EVALUATION_JOB, {**entry, "job_id": None, "error": (kind, message)})
    st.rerun()


target = model_target(record)
result: EvaluationResult | None = state.get_evaluation(sample.key)
if result is None:
    # The full evaluation runs in a job worker: it takes the server's CPU from nobody.
    entry = state.get(state.EVALUATION_JOB)
    if entry and entry["sample_key"] != sample.key:  # for rows that are not current any more
        if entry.get("job_id"):
            runner.cancel(entry["job_id"])
        state.pop(state.EVALUATION_JOB)
        entry = None
    if entry is None:
        with user_errors("starting the evaluation"):
            entry = {"job_id": runner.start_evaluation(record, sample, real_train, holdout),
                     "sample_key": sample.key, "error": None}
            state.put(state.EVALUATION_JOB, entry)
    if entry is not None and entry.get("error"):
        kind, message = entry["error"]
        getattr(st, kind)(message, icon=":material/error:" if kind == "error" else None)
        if st.button("Evaluate again", type="primary", key="eval_retry",
                     icon=":material/refresh:"):
            state.pop(state.EVALUATION_JOB)
            st.rerun()
    elif entry is not None:
        evaluation_panel()
    st.stop()

st.markdown(
    f"**{record.label}** · {len(sample.frame):,} synthetic rows vs {len(real_train):,} real "
    f"training rows and {len(holdout):,} held-out real rows"
    + (f" · target **{target}**" if target else "")
)
if result.excluded_columns:
    st.caption("Not evaluated: " + "; ".join(
        f"{column} ({why})" for column, why in result.excluded_columns.items()))

tab_names = ["Verdict", "Distributions", "Correlations", "Quality", "Utility", "Privacy",
             "Record explorer", "Report"]
if table.planted is not None:
    tab_names.insert(6, "Planted truth")
# Keyed and stateful so a widget inside a tab (a column picker) reruns without jumping back
# to the first tab; a click on a tab reruns the script and only the open tab is computed and
# drawn. Pickers inside a tab keep their value while another tab is open.
tabs = dict(zip(tab_names, st.tabs(tab_names, key="eval_tab", on_change="rerun"),
                strict=True))


def _verdict() -> None:
    """The headline, one reading per aspect and the four key numbers."""
    st.subheader(result.verdict.headline)
    for reading in result.verdict.readings:
        st.markdown(f"**{reading.aspect.capitalize()}** {BADGES.get(reading.level, '')} — "
                    f"{reading.reason}")
    utility = result.utility
    cols = st.columns(4)
    cols[0].metric("Quality score", f"{result.quality.quality_score:.0%}",
                   help="SDMetrics: how alike column shapes and column pairs are (100% = "
                   "identical).")
    cols[1].metric("Utility ratio", "–" if utility is None or utility.ratio is None
                   else f"{utility.ratio:.2f}",
                   help="Score of models trained on synthetic data divided by models "
                   "trained on real data, both tested on held-out real rows (1.0 = as useful).")
    cols[2].metric("Exact copies", f"{result.privacy.exact_match_rate:.1%}",
                   help=result.privacy.explanations.get("exact_match", ""))
    cols[3].metric("DCR share", f"{result.privacy.dcr_share:.2f}",
                   help=result.privacy.explanations.get("dcr_share", ""))
    st.caption("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))


def _distributions() -> None:
    """Per-column scores, one column's chart, the six weakest side by side."""
    st.markdown(
        "Each column's real and synthetic values on one chart. The score is 1 minus the "
        "largest gap between the two (Kolmogorov–Smirnov) for numbers and dates, and 1 minus "
        "the total difference in category shares for categories: 100% means identical."
    )
    scores = pd.DataFrame([{"column": s.column, "kind": s.sdtype, "score": s.score,
                            "reading": fidelity_level(s.score), "what it means": s.explanation}
                           for s in result.columns])
    st.dataframe(scores, hide_index=True, width="stretch", column_config={
        "score": st.column_config.ProgressColumn("score", format="percent", min_value=0.0,
                                                 max_value=1.0)})
    names = [s.column for s in result.columns]  # worst first
    chosen = st.selectbox("Column", names, key="eval_column", persist_state="page")
    show_chart(result.column_figure(chosen), key="eval_column_chart")
    with st.expander("The six weakest columns side by side"):
        grid = st.columns(2)
        for index, name in enumerate(names[:6]):
            with grid[index % 2]:
                show_chart(result.column_figure(name), key=f"eval_worst_{index}")


def _correlations() -> None:
    """Real, synthetic and difference heatmaps; the pairs that changed most."""
    correlation = result.correlation
    st.markdown(correlation.explanation)
    show_reading(relations_reading(correlation.pair_score))
    st.metric("Column-pair similarity", f"{correlation.pair_score:.0%}",
              help="1 minus the average difference between real and synthetic pair "
              "strengths (100% = every relation kept).")
    show_chart(correlation_heatmaps(correlation), key="eval_heatmaps")
    if not correlation.worst_pairs.empty:
        st.markdown("**Relations the synthetic data changed most**")
        st.dataframe(correlation.worst_pairs, hide_index=True, width="stretch")


def _quality() -> None:
    """SDMetrics quality and diagnostic scores with their property charts."""
    quality = result.quality
    show_reading("fidelity")
    left, right = st.columns(2)
    left.metric("SDMetrics quality score", f"{quality.quality_score:.1%}")
    right.metric("SDMetrics diagnostic score", f"{quality.diagnostic_score:.1%}",
                 help="Validity checks: synthetic values in valid ranges and categories, "
                 "same structure. Should be close to 100%.")
    if quality.sample_note:
        st.caption(quality.sample_note)
    left.dataframe(quality.quality_properties, hide_index=True, width="stretch")
    right.dataframe(quality.diagnostic_properties, hide_index=True, width="stretch")
    for name in quality.property_names:
        figure = quality.figure(name)
        if figure is not None:
            show_chart(figure, key=f"eval_quality_{name}")


def _utility() -> None:
    """TSTR vs TRTR: models trained on synthetic vs real rows, scored on held-out rows."""
    show_reading("utility")
    utility = result.utility
    if utility is None:
        st.info(f"Utility not measured: {result.utility_reason}.", icon=":material/info:")
    else:
        st.markdown(
            f"Three models learn to predict **{utility.target}** ({utility.task}) once from "
            "real training rows (TRTR) and once from synthetic rows (TSTR); both are scored "
            "on the same held-out real rows. " + utility.explanation
        )
        cols = st.columns(3)
        metric_name = "macro-F1" if utility.metric == "macro_f1" else "R²"
        cols[0].metric(f"Real ({metric_name})", f"{utility.real:.3f}")
        cols[1].metric(f"Synthetic ({metric_name})", f"{utility.synthetic:.3f}")
        cols[2].metric("Ratio", "–" if utility.ratio is None else f"{utility.ratio:.2f}")
        show_chart(utility_figure(utility), key="eval_utility")
        st.dataframe(utility.table, hide_index=True, width="stretch")
        for note in utility.notes:
            st.caption(note)


def _privacy() -> None:
    """Exact copies, DCR and NNDR."""
    privacy = result.privacy
    show_reading("privacy")
    cols = st.columns(3)
    cols[0].metric("Exact copies of training rows", f"{privacy.exact_match_rate:.2%}",
                   help=privacy.explanations.get("exact_match", ""))
    cols[1].metric("DCR share", f"{privacy.dcr_share:.2f}",
                   help=privacy.explanations.get("dcr_share", ""))
    cols[2].metric("Median NNDR", f"{privacy.nndr_median:.2f}",
                   help=privacy.explanations.get("nndr", ""))
    for key in ("exact_match", "dcr", "dcr_share", "nndr"):
        if privacy.explanations.get(key):
            st.markdown(f"- {privacy.explanations[key]}")
    show_chart(dcr_figure(privacy), key="eval_dcr")


def _planted_truth() -> None:
    """What was planted in a faked table, recovered or not; canaries copied or not."""
    truth = table.planted
    st.markdown(
        "This table was faked, so we know what is in it: relations, a rare class, maybe "
        "an outlier group and **canaries** — a few deliberately unusual rows. A good "
        "synthesizer **recovers the structure** but **never reproduces a canary**: "
        "structure is learned, individual rows should not be."
    )
    checks = check_planted(truth, real_train, sample.frame)
    st.dataframe(pd.DataFrame([{
        "planted": c.name, "measured as": c.measure, "real": c.real,
        "synthetic": c.synthetic, "recovered": "✅ yes" if c.recovered else "❌ no",
        "what it means": c.explanation} for c in checks]), hide_index=True,
        width="stretch", column_config={
            "real": st.column_config.NumberColumn(format="%.3f"),
            "synthetic": st.column_config.NumberColumn(format="%.3f")})
    if truth.canary_positions:
        canary_result = canaries_of_table(table.frame, truth, schema, split, real_train,
                                          sample.frame)
        left, right = st.columns(2)
        left.metric("Canaries the model saw", canary_result.seen,
                    help="Only canaries in the training part can be memorised.")
        right.metric("Reappearing in synthetic data", canary_result.near_copies,
                     delta=None if not canary_result.exact_copies else
                     f"{canary_result.exact_copies} exact", delta_color="inverse")
        if canary_result.near_copies:
            st.warning(canary_result.explanation, icon=":material/warning:")
        else:
            st.success(canary_result.explanation, icon=":material/verified_user:")
        st.dataframe(pd.DataFrame([{
            "canary row": c.position, "in training part": c.in_training,
            "closest synthetic row": c.nearest_distance,
            "closest other real row": c.other_real_distance,
            "copied": "exactly" if c.exact else ("nearly" if c.near else "no")}
            for c in canary_result.checks]), hide_index=True, width="stretch")
    else:
        st.caption("No canaries were planted: fake a dataset with canaries to see "
                   "memorisation.")


def _explorer() -> None:
    """A real training row beside its nearest synthetic rows."""
    st.markdown(
        "Pick a real training row to see the synthetic rows closest to it. If one sits at "
        "distance 0 (or much closer than the neighbours of a row the model never saw), the "
        "model copied that person. Distances use the same scale as the privacy numbers."
    )
    shown = real_train.head(500)
    kept = st.session_state.get(EXPLORER_ROW)
    picked = st.dataframe(shown, key="explorer_rows", on_select="rerun",
                          selection_mode="single-row", height=240, width="stretch",
                          selection_default={"selection": {"rows": [kept[1]]}}
                          if kept and kept[0] == sample.key and kept[1] < len(shown) else None)
    selected = picked.selection.rows if picked is not None else []
    st.session_state[EXPLORER_ROW] = (sample.key, selected[0]) if selected else None
    row_index = selected[0] if selected else 0
    row = shown.iloc[[row_index]]
    neighbours, distances = nearest_synthetic(row, real_train, sample.frame, schema)
    comparison_row = holdout.sample(1, random_state=row_index)
    _, baseline = nearest_synthetic(comparison_row, real_train, sample.frame, schema)
    left, right = st.columns(2)
    left.metric("Closest synthetic row to this real row", f"{distances[0]:.3f}")
    right.metric("…to a held-out row the model never saw", f"{baseline[0]:.3f}",
                 help="The distance a row gets by chance. Much smaller on the left means "
                 "the model stayed close to this training row.")
    st.dataframe(neighbours.assign(distance=distances), width="stretch", hide_index=True)


def _report() -> None:
    """The one-file HTML report."""
    st.markdown(
        "One HTML file with the verdict, the scores, the key charts and a run card. It opens "
        "offline in any browser: send it to people who do not use this app."
    )
    card = run_card(table, record, run_timings(record, sample, result))

    def report_html() -> str:
        """Build the report when the button is clicked."""
        return build_report(result, card, title=report_title_of(table, record))

    download_button(
        st, "Download the HTML report", report_html, key="eval_report", type="primary",
        file_name=f"report_{table.name.rsplit('.', 1)[0]}_{record.synthesizer}.html",
        mime="text/html",
    )


DRAW = {"Verdict": _verdict, "Distributions": _distributions, "Correlations": _correlations,
        "Quality": _quality, "Utility": _utility, "Privacy": _privacy,
        "Planted truth": _planted_truth, "Record explorer": _explorer, "Report": _report}
for name, tab in tabs.items():
    if tab.open:
        with tab:
            DRAW[name]()
