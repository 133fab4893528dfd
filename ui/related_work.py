"""Train, Generate and Evaluate for several related tables (the pages' related parts).

Each page calls one function here when the session holds related tables
(:func:`ui.state.get_related`) instead of one table: :func:`train_page`,
:func:`generate_page`, :func:`evaluate_page`. The work is ``core``'s: the request, its
key and the estimate (:mod:`core.engine.multi_table`), the fit as a job of kind "related"
(``JobRunner.start_related``), sampling with keys intact as a job
(``JobRunner.start_related_sample``: HMA takes tens of seconds even on the bank sample, so
unlike a single table's small sample it is never drawn in the server), the multi-table
evaluation as a job and its report (:mod:`core.evaluation.multi_table`), and the
write-back into a new database (:func:`core.data.databases.writing.write_related`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from core.data.related import RelatedTables
from core.engine.generation import export_bytes
from core.engine.multi_table import (
    RELATED_PRESETS,
    estimate_related_seconds,
    related_cost_warning,
    related_training_key,
)
from core.related_workflow import (
    plan_related,
    related_frames,
    train_or_reuse_related,
)
from core.store.registry import ModelRecord
from ui import caching, state
from ui.widgets import (
    download_button,
    duration,
    finished_fit,
    finished_job,
    job_progress,
    md,
    move_password_out_of_url,
    progress_bar,
    streamlit_secrets,
    user_errors,
)

#: The related synthesizers: (title, when to pick it, how it works).
CARDS: dict[str, tuple[str, str, str]] = {
    "hma": (
        "HMA (SDV)",
        "A few tables, not too deep: learns each parent with a summary of its children.",
        "Hierarchical Modeling Algorithm: each table gets a Gaussian Copula. A parent's rows "
        "are learned together with numbers that describe its children (how many, and the "
        "shape of their columns), so a parent drawn later knows how many children to have "
        "and what they look like. It slows down quickly with every extra level of tables "
        "and with wide tables.",
    ),
    "tabular_argn": (
        "TabularARGN",
        "Deeper or larger schemas, or when HMA is too slow: a neural network per table.",
        "A neural network writes each table column by column; a child table is written with "
        "its parent's row as context, so the children fit their parent. It trains in "
        "epochs (progress, time limit) and handles larger tables than HMA.",
    ),
}


def _model_for(related: RelatedTables) -> ModelRecord | None:
    """The session's related model, if it was trained on these very tables."""
    record = state.get(state.RELATED_MODEL)
    return record if record is not None and record.data_fingerprint == related.fingerprint \
        else None


def require_related_model(related: RelatedTables) -> ModelRecord:
    """The related tables' current model; else a pointer to Train and the page stops."""
    record = _model_for(related)
    if record is None:
        st.info("Train a model of these related tables first (or pick a saved one).",
                icon=":material/info:")
        st.page_link("app_pages/train.py", label="Go to the Train page",
                     icon=":material/model_training:")
        st.stop()
    return record


def header(related: RelatedTables) -> None:
    """One line: the tables' name, size and target."""
    st.markdown(f"**{md(related.name)}** · {related.shape_label}"
                + (f" · target **{md('.'.join(related.target))}**" if related.target else ""))


# --------------------------------------------------------------------------- train


def train_page() -> None:
    """The Train page for related tables: synthesizer, settings, ETA, the job, models."""
    related: RelatedTables = state.get_related()
    registry = caching.model_registry()
    runner = caching.job_runner()
    header(related)
    job_id = state.get(state.RELATED_JOB)
    running = job_id is not None and runner.status(job_id).is_active

    st.subheader("1 · Synthesizer")
    cards = st.columns(len(CARDS))
    for column, (title, when, _) in zip(cards, CARDS.values(), strict=True):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{title}**")
            st.caption(when)
    synthesizer = st.radio("Synthesizer", list(CARDS), format_func=lambda k: CARDS[k][0],
                           horizontal=True, key="related_synthesizer",
                           label_visibility="collapsed")
    with st.container(border=True):
        st.markdown(f"**How {CARDS[synthesizer][0]} works.** {CARDS[synthesizer][2]}")

    st.subheader("2 · Settings")
    left, middle, right = st.columns(3)
    presets = list(RELATED_PRESETS[synthesizer])
    preset = left.radio("Preset", presets, index=0, horizontal=True, key="related_preset",
                        format_func=str.capitalize,
                        help="Quick: a first look. Balanced: better, slower. Best: the "
                        "library's full defaults, no time limit.")
    seed = middle.number_input("Seed", 0, 2**31 - 1, 0, key="related_seed",
                               help="Same seed + same settings → the same model and tables.")
    default_limit = int(RELATED_PRESETS[synthesizer][preset].get("time_limit") or 0)
    time_limit = right.number_input(
        "Time limit (seconds, 0 = none)", 0, 24 * 3600, default_limit, step=30,
        key=f"related_time_limit_{synthesizer}_{preset}",
        help="TabularARGN stops by then and keeps what it learned; HMA stops with a "
        "message (it cannot keep half a model).")
    overrides = {} if int(time_limit) == default_limit else {"time_limit": int(time_limit)}

    request = None
    with user_errors("checking the settings"):
        request = plan_related(related, synthesizer, preset, seed=int(seed),
                               device=state.get_device_preference(), overrides=overrides)
    if request is None:
        return
    cached = registry.get(related_training_key(request))
    estimate = 0.0
    if cached is not None:
        st.success(f"This exact model is already trained ({duration(cached.fit_seconds)}); "
                   "**Train** reuses it instantly.", icon=":material/bolt:")
    else:
        frames = related_frames(related)
        schemas = {table.name: table.schema for table in related.tables}
        shape = (synthesizer, request.params, frames, schemas, related.relationships,
                 1 - request.test_size)
        estimate = estimate_related_seconds(*shape, speed=caching.machine_speed())
        warning = related_cost_warning(*shape, speed=caching.machine_speed())
        startup = runner.startup_seconds_estimate()
        st.markdown(f":material/schedule: Estimated fit time: **about "
                    f"{duration(estimate + startup)}** ({len(related.tables)} tables, "
                    f"{sum(len(t.frame) for t in related.tables):,} rows, "
                    f"{len(related.relationships)} relationships; "
                    f"{1 - request.test_size:.0%} of the top-level rows train).")
        if warning:
            st.warning(md(warning), icon=":material/hourglass_top:")
    why_off = ("A fit of these tables is running: cancel it below or wait until it ends."
               if running else None)
    if st.button("Train", type="primary", key="related_train", icon=":material/play_arrow:",
                 disabled=why_off is not None, help=why_off):
        with user_errors("starting the training"):
            trained = train_or_reuse_related(
                request, related_frames(related), registry,
                fit=lambda request, _frames, _progress: runner.start_related(
                    related, request.synthesizer, request.preset if not overrides else preset,
                    seed=request.seed, device=request.device, test_size=request.test_size,
                    overrides=overrides, estimate_seconds=estimate))
            if trained.record is not None:
                state.put(state.RELATED_MODEL, trained.record)
                state.flash(f"Reused the trained model **{md(trained.record.label)}**.")
            else:
                state.put(state.RELATED_JOB, trained.job_id)
            st.rerun()

    if state.get(state.RELATED_JOB) is not None:
        _job_panel()
    _current_model(related)
    _models(related)


@st.fragment(run_every=1.0)
def _job_panel() -> None:
    """Follow the related fit until it ends; its model becomes the current one."""
    runner = caching.job_runner()
    job_id = state.get(state.RELATED_JOB)
    if job_id is None:
        return
    status = runner.status(job_id)
    if status.is_active:
        job_progress(runner, status, title="**Training the related tables** in a background "
                     "worker", key="related_job", cancel_key="related_cancel")
        return
    state.pop(state.RELATED_JOB)
    record, problem = finished_fit(caching.model_registry(), status)
    if record is not None:
        state.put(state.RELATED_MODEL, record)
        state.flash(f"Trained **{md(record.label)}** in {duration(record.fit_seconds)}.")
    elif problem is not None:
        state.flash(problem[1], problem[0])
    st.rerun()


def _current_model(related: RelatedTables) -> None:
    record = _model_for(related)
    if record is None:
        return
    st.subheader("Current model")
    with st.container(border=True):
        cols = st.columns(3)
        cols[0].metric("Synthesizer", CARDS.get(record.synthesizer, (record.synthesizer,))[0])
        cols[1].metric("Fit time", duration(record.fit_seconds))
        cols[2].metric("Training rows", f"{record.train_rows:,}")
        for note in record.notes:
            st.caption(f":material/info: {md(note)}")
        st.page_link("app_pages/generate.py", label="Generate synthetic tables",
                     icon=":material/arrow_forward:")


def _models(related: RelatedTables) -> None:
    """The stored models of these tables: pick one to use."""
    st.subheader("Models for these tables")
    records = caching.model_registry().list_for_data(related.fingerprint, shape="related")
    if not records:
        st.caption("None yet. Trained models are saved in this workspace and found again "
                   "when the same tables are loaded.")
        return
    _scores_table(records)
    by_id = {r.model_id: r for r in records}
    chosen = st.selectbox("Model", list(by_id), key="related_models_pick",
                          format_func=lambda mid: f"{by_id[mid].label} ({mid[:8]})")
    left, right = st.columns(2)
    if left.button("Use this model", key="related_models_use", icon=":material/check:"):
        state.put(state.RELATED_MODEL, by_id[chosen])
        st.rerun()
    if right.button("Delete", key="related_models_delete", icon=":material/delete:"):
        caching.model_registry().delete(chosen)
        current = state.get(state.RELATED_MODEL)
        if current is not None and current.model_id == chosen:
            state.pop(state.RELATED_MODEL)
        state.flash(f"Deleted **{md(by_id[chosen].label)}**.", "info")
        st.rerun()


def _scores_table(records: list[ModelRecord]) -> None:
    """One row per stored model: its fit time and the scores its evaluation recorded."""
    st.dataframe(pd.DataFrame([{
        "model": r.label, "fit time": duration(r.fit_seconds),
        "quality": r.scores.get("quality"),
        "referential integrity": r.scores.get("referential_integrity"),
        "children per parent": r.scores.get("cardinality"),
        "utility ratio": r.scores.get("utility_ratio")} for r in records]),
        hide_index=True, width="stretch", column_config={
            name: st.column_config.NumberColumn(format="percent") for name in
            ("quality", "referential integrity", "children per parent", "utility ratio")})
    st.caption("Empty cells: that model's tables have not been evaluated yet (Evaluate page).")


# --------------------------------------------------------------------------- generate


def tables_zip(tables: Mapping[str, pd.DataFrame], *, excel_safe: bool = True) -> bytes:
    """One ZIP holding one CSV per table (``customers.csv``, ``accounts.csv``, …)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in tables.items():
            archive.writestr(f"{name}.csv", export_bytes(frame, "CSV", excel_safe=excel_safe))
    return buffer.getvalue()


def generate_page() -> None:
    """The Generate page for related tables: scale, progress, previews, ZIP, write-back."""
    related: RelatedTables = state.get_related()
    record = require_related_model(related)
    header(related)
    st.markdown(f"Model: **{md(record.label)}**")
    left, right = st.columns(2)
    scale = left.number_input(
        "Scale", min_value=0.01, max_value=100.0, value=1.0, step=0.5, key="related_scale",
        help="1 makes as many top-level rows (e.g. customers) as the real training part; "
        "2 makes twice as many. Their children follow as the model learned.")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="related_gen_seed",
                              help="Same model + seed + scale → the same tables.")
    sampling = state.get(state.RELATED_SAMPLE_JOB) is not None
    if st.button("Generate", type="primary", key="related_generate",
                 icon=":material/auto_awesome:", disabled=sampling,
                 help="These tables are being generated: cancel below or wait."
                 if sampling else None):
        with user_errors("starting to generate the tables"):
            start_sample(record, float(scale), int(seed))
            st.rerun()
    if sampling:
        sample_job_panel()
    sample = sample_of(record)
    if sample is None:
        return
    tables = sample["tables"]
    st.divider()
    st.subheader(f"{len(tables)} synthetic tables")
    tabs = st.tabs([f"{md(name)} ({len(frame):,})" for name, frame in tables.items()])
    for tab, frame in zip(tabs, tables.values(), strict=True):
        with tab:
            st.dataframe(frame.head(200), width="stretch", height=280)
    excel_safe = st.checkbox("Excel-safe CSV", value=True, key="related_excel_safe",
                             help="Puts ' before text cells a spreadsheet would run as a "
                             "formula.")
    download_button(st, "Download all tables (ZIP of CSVs)",
                    lambda: tables_zip(tables, excel_safe=excel_safe), key="related_zip",
                    file_name=f"synthetic_{related.name.rsplit('.', 1)[0]}.zip",
                    mime="application/zip", type="primary")
    st.page_link("app_pages/evaluate.py", label="Evaluate these tables",
                 icon=":material/arrow_forward:")
    _write_back(related, tables)


def start_sample(record: ModelRecord, scale: float = 1.0, seed: int = 0) -> str:
    """Start generating ``record``'s tables in a background job; the session follows it."""
    job_id = caching.job_runner().start_related_sample(record, scale, seed)
    state.put(state.RELATED_SAMPLE_JOB, {"job_id": job_id, "model_id": record.model_id,
                                         "seed": int(seed), "scale": float(scale)})
    return job_id


@st.fragment(run_every=1.0)
def sample_job_panel() -> None:
    """Follow the job generating the related tables; its tables become the session's.

    The Generate and Evaluate pages both call it (as :func:`ui.widgets.sample_job_panel`
    for one table).
    """
    entry = state.get(state.RELATED_SAMPLE_JOB)
    if entry is None:
        return
    runner = caching.job_runner()
    status = runner.status(entry["job_id"])
    if status.is_active:
        job_progress(runner, status, title="**Generating the related tables** in a "
                     "background worker", key="related_sample_job",
                     cancel_key="related_sample_cancel")
        return
    state.pop(state.RELATED_SAMPLE_JOB)
    tables, problem = finished_job(
        runner, status, lambda result: isinstance(result, dict) and bool(result),
        action="sample", failed="Generating the tables failed.",
        unreadable="The generated tables could not be read back from the worker; generate "
        "them again.")
    if problem is None:  # kept in the session now
        state.put(state.RELATED_SAMPLE, {"model_id": entry["model_id"],
                                         "seed": entry["seed"], "scale": entry["scale"],
                                         "tables": dict(tables)})
        state.pop(state.RELATED_EVALUATION)
        rows = sum(len(frame) for frame in tables.values())
        state.flash(f"Generated {len(tables)} tables, {rows:,} rows in all "
                    f"({duration(status.wall_seconds)} in a background worker).")
    else:
        state.flash(problem[1], problem[0])
    st.rerun()


def percent(value: float | None) -> str:
    """A share as "97.5%" ("–" when unknown)."""
    return "–" if value is None or value != value else f"{value:.1%}"


def sample_of(record: ModelRecord) -> dict | None:
    """The session's generated tables of ``record``, or None."""
    sample = state.get(state.RELATED_SAMPLE)
    return sample if sample is not None and sample["model_id"] == record.model_id else None


def _write_back(related: RelatedTables, tables: Mapping[str, pd.DataFrame]) -> None:
    """All synthetic tables into a NEW database, keys declared, integrity checked."""
    from core.data import databases
    from core.data.databases.writing import write_related

    st.divider()
    st.subheader("Write to a database")
    st.caption("Creates every table in a new SQLite or DuckDB file (in an allowed folder) or "
               "in a new schema of a PostgreSQL database on an allowed server: parents first, "
               "with their primary and foreign keys declared. The database then checks that "
               "every key points at a row; if one does not, nothing is kept.")
    policy = databases.database_policy(secrets=streamlit_secrets())
    st.caption(policy.describe_writing())
    left, middle, right = st.columns([3, 1, 1])
    left.text_input("Database URL", key="related_db_out_url",
                    placeholder="sqlite:///synthetic_bank.db or postgresql://user@host/db")
    right.text_input("Password", type="password", key="related_db_out_password")
    schema = middle.text_input("New schema (PostgreSQL)", key="related_db_out_schema",
                               placeholder="synthetic_bank",
                               help="PostgreSQL only: the tables go into this new schema.")
    if st.button(f"Write {len(tables)} tables", key="related_db_write",
                 icon=":material/upload:", on_click=move_password_out_of_url,
                 args=("related_db_out_url", "related_db_out_password")):
        with user_errors("writing to the database"):
            destination = databases.parse_source(
                st.session_state.get("related_db_out_url") or "",
                secrets=streamlit_secrets(),
                password=st.session_state.get("related_db_out_password") or None)
            report, bar = progress_bar(f"Writing to {destination.display}…")
            try:
                written = write_related(tables, related, destination,
                                        schema=schema.strip() or None, progress=report)
            finally:
                bar.empty()
            st.success(
                f"Wrote {len(written.tables)} tables ({written.rows:,} rows) to "
                f"{md(written.destination)}"
                + (f", schema **{md(written.schema)}**" if written.schema else "")
                + f", with {written.foreign_keys} foreign keys declared. "
                f"Broken links: {written.broken_links}. {md(written.check)}",
                icon=":material/check_circle:")
            st.dataframe(pd.DataFrame([{"table": t.table.label, "rows": t.rows}
                                       for t in written.tables]), hide_index=True)


# --------------------------------------------------------------------------- one table


def one_table_only(what: str) -> None:
    """Say that ``what`` works on one table, and offer to continue with one of them alone."""
    related: RelatedTables = state.get_related()
    st.info(f"{what} works on **one table** at a time, and you have several related tables "
            f"loaded (**{md(related.name)}**: {', '.join(md(n) for n in related.names)}). "
            "To use it, continue with one of these tables on its own below, or load a single "
            "table on the Data page (**Sample dataset**, **Upload a file** or **Database**).",
            icon=":material/info:")
    default = related.target[0] if related.target else related.names[0]
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    name = left.selectbox("Table to use alone", related.names,
                          index=related.names.index(default), key="related_one_table")
    if right.button(f"Use {name} alone", key="related_one_table_use", type="primary",
                    icon=":material/table:"):
        table = related.table(name)
        state.set_dataset(table)
        state.flash(f"Now working on **{md(name)}** alone ({len(table.frame):,} rows). The "
                    "related tables were set aside: load them again on the Data page; their "
                    "trained models stay saved.", "info")
        st.rerun()
    st.caption("The related tables' own privacy is measured per table on the Evaluate page.")


# --------------------------------------------------------------------------- compare


def compare_page() -> None:
    """Compare for related tables: the stored models of these tables and their scores."""
    related: RelatedTables = state.get_related()
    header(related)
    st.info("Compare races synthesizers on one table at a time. For related tables, train "
            "HMA and TabularARGN on the Train page and evaluate each: the scores of every "
            "model of these tables are listed here side by side.", icon=":material/info:")
    records = caching.model_registry().list_for_data(related.fingerprint, shape="related")
    if not records:
        st.caption("No model of these tables yet.")
        return
    _scores_table(records)
