"""Evaluate for several related tables: the multi-table evaluation, drawn.

The Evaluate page calls :func:`evaluate_page` when the session holds related tables. The
numbers and sentences are :func:`core.evaluation.multi_table.evaluate_related`'s (through
:func:`core.related_workflow.evaluate_related_sample`, against the real split by root entity
the model was trained on), computed in a background job
(``JobRunner.start_related_evaluation``) as a single table's are; each table's columns are
drawn with the single-table Evaluate page's distribution chart, its distances with its
privacy chart.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from core.data.related import RelatedTables
from core.related_workflow import (
    record_related_scores,
    related_frames,
    related_parts,
    related_request_of,
)
from core.store.registry import ModelRecord
from ui import caching, state
from ui.related_work import (
    header,
    percent,
    require_related_model,
    sample_job_panel,
    sample_of,
    start_sample,
)
from ui.widgets import (
    download_button,
    evaluation_job,
    finished_job,
    job_progress,
    md,
    show_chart,
    user_errors,
)


def evaluate_page() -> None:
    """The Evaluate page for related tables: headline, relationships, tables, report."""
    related: RelatedTables = state.get_related()
    record = require_related_model(related)
    sample = sample_of(record)
    header(related)
    if sample is None:
        st.markdown(f"Model: **{md(record.label)}**. No synthetic tables from it yet.")
        if state.get(state.RELATED_SAMPLE_JOB) is not None:  # on their way
            sample_job_panel()
            st.stop()
        if st.button("Generate and evaluate", type="primary", key="related_eval_generate",
                     icon=":material/auto_awesome:"):
            with user_errors("starting to generate the tables"):
                start_sample(record)
                st.rerun()
        st.stop()
    sample_key = f"{record.model_id}:{sample['seed']}:{sample['scale']}"
    kept = state.get(state.RELATED_EVALUATION)
    if kept is None or kept["sample_key"] != sample_key:
        _evaluation_job(related, record, sample, sample_key)
        st.stop()
    _evaluation(related, record, kept["result"], kept, sample["tables"])


def _evaluation_job(related: RelatedTables, record: ModelRecord, sample: dict,
                    sample_key: str) -> None:
    """Start (once) and follow the evaluation job of the session's synthetic tables.

    Like a single table's: the evaluation runs in a worker, not in the server, and one that
    did not finish says why and waits for **Evaluate again** instead of starting by itself.
    """
    runner = caching.job_runner()
    evaluation_job(runner, state.RELATED_EVALUATION_JOB, sample_key,
                   lambda: runner.start_related_evaluation(
                       record, sample["tables"], related_frames(related),
                       seed=int(sample["seed"])),
                   lambda: _evaluation_panel(record), retry_key="related_eval_retry")


@st.fragment(run_every=1.0)
def _evaluation_panel(record: ModelRecord) -> None:
    """Follow the evaluation job; keep its result and the model's scores when it is done."""
    entry = state.get(state.RELATED_EVALUATION_JOB)
    if not entry or entry.get("job_id") is None:
        return
    runner = caching.job_runner()
    job_id = entry["job_id"]
    status = runner.status(job_id)
    if status.is_active:
        job_progress(runner, status, title="**Evaluating the synthetic tables** against the "
                     "real ones, in a background worker", key="related_eval_job",
                     cancel_key="related_eval_cancel")
        return
    result, problem = finished_job(
        runner, status, lambda result: hasattr(result, "integrity_fraction"),
        action="evaluate", failed="The evaluation failed.",
        unreadable="The evaluation's result could not be read back from the worker.")
    if problem is None:  # kept in the session now
        state.put(state.RELATED_EVALUATION, {"sample_key": entry["sample_key"],
                                             "result": result})
        state.pop(state.RELATED_EVALUATION_JOB)
        updated = record_related_scores(caching.model_registry(), record, result)
        if updated is not None:
            state.put(state.RELATED_MODEL, updated)
        st.rerun()
    # Kept, so the page does not start the same evaluation again by itself.
    state.put(state.RELATED_EVALUATION_JOB, {**entry, "job_id": None, "error": problem})
    st.rerun()


def _real_train(related: RelatedTables, record: ModelRecord, kept: dict
                ) -> Mapping[str, pd.DataFrame]:
    """The real training tables the charts compare with (split once, when first drawn)."""
    if "real_train" not in kept:
        train, _holdout, _schemas = related_parts(related_request_of(record),
                                                  related_frames(related))
        kept["real_train"] = train
    return kept["real_train"]


LEVEL_BADGES = {"good": ":green-badge[good]", "fair": ":orange-badge[fair]",
                "poor": ":red-badge[poor]", "not measured": ":gray-badge[not measured]"}


def _evaluation(related: RelatedTables, record: ModelRecord, result, kept: dict,
                synthetic: Mapping[str, pd.DataFrame]) -> None:
    """Draw a RelatedEvaluation: the headline first, then one tab per part."""
    levels = result.levels
    st.markdown(f"**{md(record.label)}** · "
                + " · ".join(f"{md(name)}: {len(frame):,} synthetic rows"
                             for name, frame in synthetic.items()))
    cols = st.columns(3)
    for column, (aspect, title, value, helptext) in zip(cols, (
            ("fidelity", "Quality", percent(result.quality_score),
             "SDMetrics' multi-table quality: each table's columns and pairs, and the "
             "relationships between tables (100% = identical)."),
            ("integrity", "Referential integrity", percent(result.integrity_fraction),
             "Share of synthetic child rows whose key points at a parent that exists. "
             "It must be 100%."),
            ("cardinality", "Children per parent", percent(result.cardinality_mean),
             "How alike the number of children per parent is in real and synthetic tables "
             "(averaged over the relationships; 100% = the same spread).")), strict=True):
        with column.container(border=True):
            st.metric(title, value, help=helptext)
            st.markdown(LEVEL_BADGES.get(levels.get(aspect, ""), ""))
    for sentence in result.sentences:
        st.markdown(f"- {md(sentence)}")
    for note in result.notes:
        st.caption(f":material/info: {md(note)}")
    names = ["Relationships", "Tables", "Usefulness", "Privacy", "Report"]
    tabs = dict(zip(names, st.tabs(names, key="related_eval_tab", on_change="rerun"),
                    strict=True))
    draw = {"Relationships": lambda: _relationships_tab(result),
            "Tables": lambda: _tables_tab(related, result,
                                          _real_train(related, record, kept), synthetic),
            "Usefulness": lambda: _usefulness_tab(result),
            "Privacy": lambda: _privacy_tab(result),
            "Report": lambda: _report_tab(related, record, result)}
    for name, tab in tabs.items():
        if tab.open:
            with tab:
                draw[name]()


def _relationships_tab(result) -> None:
    from core.evaluation.multi_table import cardinality_figure, integrity_figure

    st.markdown("For each relationship: do the synthetic child rows all point at a parent "
                "(integrity), and do parents have as many children as real ones do?")
    st.dataframe(pd.DataFrame([{
        "relationship": i.label, "synthetic child rows": i.child_rows, "orphans": i.orphans,
        "keys that match": i.fraction, "children per parent kept": c.score}
        for i, c in zip(result.integrity, result.cardinality, strict=True)]),
        hide_index=True, width="stretch", column_config={
            "keys that match": st.column_config.NumberColumn(format="percent"),
            "children per parent kept": st.column_config.NumberColumn(format="percent")})
    show_chart(integrity_figure(result), key="related_integrity")
    st.caption("Each chart counts how many children each parent row has, in real and "
               "synthetic tables: the two sets of bars should have the same shape.")
    for index, found in enumerate(result.cardinality):
        st.markdown(f"- {md(found.sentence)}")
        show_chart(cardinality_figure(result, found.label), key=f"related_cardinality_{index}")


def _tables_tab(related: RelatedTables, result, real_train: Mapping[str, pd.DataFrame],
                synthetic: Mapping[str, pd.DataFrame]) -> None:
    from core.evaluation.charts import distribution_figure

    name = st.selectbox("Table", list(result.tables), key="related_eval_table",
                        persist_state="page")
    view = result.tables[name]
    left, right = st.columns(2)
    left.metric("Column shapes", percent(view.column_shapes),
                help="Average column score of this table (100% = identical).")
    right.metric("Relations between columns kept", percent(view.pair_score),
                 help="How well each pair of columns keeps its real relation.")
    for part, why in view.skipped.items():
        st.caption(f"{part}: not measured — {md(why)}")
    if not view.columns:
        return
    st.dataframe(pd.DataFrame([{"column": c.column, "kind": c.sdtype, "score": c.score,
                                "what it means": c.explanation} for c in view.columns]),
                 hide_index=True, width="stretch", column_config={
                     "score": st.column_config.ProgressColumn(
                         format="percent", min_value=0.0, max_value=1.0)})
    by_name = {c.column: c for c in view.columns}
    column = st.selectbox("Column", list(by_name), key=f"related_eval_column_{name}")
    chosen = by_name[column]
    show_chart(distribution_figure(real_train[name], synthetic[name], column, chosen.sdtype,
                                   chosen.score), key=f"related_column_{name}_{column}")


def _usefulness_tab(result) -> None:
    from core.evaluation.charts import utility_figure

    if result.utility is None:
        st.info(md(f"Usefulness not measured: {result.utility_reason or 'no target chosen'}. "
                   "Pick a parent-level target on the Data page."), icon=":material/info:")
        return
    utility = result.utility
    table = result.target[0] if result.target else ""
    st.markdown(f"Models predict **{md(table)}.{md(utility.target)}** for each parent row "
                "from its own columns plus summaries of its children (how many, totals, "
                "averages): once trained on real tables, once on synthetic ones, both scored "
                "on held-out real rows. " + md(utility.explanation))
    cols = st.columns(3)
    cols[0].metric("Trained on real", f"{utility.real:.2f}" if utility.real is not None
                   else "–")
    cols[1].metric("Trained on synthetic", f"{utility.synthetic:.2f}"
                   if utility.synthetic is not None else "–")
    cols[2].metric("Synthetic ÷ real", percent(utility.ratio))
    show_chart(utility_figure(utility), key="related_utility")


def _privacy_tab(result) -> None:
    from core.evaluation.charts import dcr_figure

    st.markdown("For each table: exact copies of real training rows (beyond what held-out "
                "rows match by chance) and the share of synthetic rows closer to a training "
                "row than to a held-out one (50% is ideal).")
    st.dataframe(pd.DataFrame([{
        "table": name, "reading": view.privacy_level,
        "exact copies": None if view.privacy is None else view.privacy.exact_match_rate,
        "by chance (held-out)": None if view.privacy is None
        else view.privacy.holdout_exact_match_rate,
        "closer to training": None if view.privacy is None else view.privacy.dcr_share}
        for name, view in result.tables.items()]), hide_index=True, width="stretch",
        column_config={name: st.column_config.NumberColumn(format="percent") for name in
                       ("exact copies", "by chance (held-out)", "closer to training")})
    with_privacy = [name for name, view in result.tables.items() if view.privacy is not None]
    if with_privacy:
        name = st.selectbox("Distances of table", with_privacy, key="related_eval_privacy")
        show_chart(dcr_figure(result.tables[name].privacy), key=f"related_dcr_{name}")
    st.markdown("**Personal data across tables** — the same synthetic person keeps one fake "
                "name everywhere it appears (e.g. a customer's name and their accounts' "
                "holder name).")
    if not result.pii:
        st.caption("No personal-data column repeats across these tables.")
    for pair in result.pii:
        icon = ":material/check_circle:" if pair.consistent else ":material/error:"
        st.markdown(f"{icon} {md(pair.sentence)}")


def _report_tab(related: RelatedTables, record: ModelRecord, result) -> None:
    from core.evaluation.multi_table import related_report_html

    st.markdown("One HTML file with the scores, findings and charts; it opens offline in any "
                "browser.")
    download_button(
        st, "Download the HTML report",
        lambda: related_report_html(result, title=f"{related.name}: synthetic related tables "
                                    f"({record.label})"),
        key="related_report", type="primary", mime="text/html",
        file_name=f"report_{related.name.rsplit('.', 1)[0]}_{record.synthesizer}.html")
