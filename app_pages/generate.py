"""Generate: sample synthetic rows (optionally conditioned or rebalanced) and download them."""

from __future__ import annotations

import re

import streamlit as st

from core.data import databases
from core.data.table import StudioTable
from core.engine.generation import EXPORT_FORMATS, GeneratedSample, export_bytes
from core.errors import StudioError
from core.store.registry import ModelRecord
from core.workflow import IN_PROCESS_SAMPLE_ROWS, condition_columns, model_schema
from ui import caching, demo, presentation, related_work, state
from ui import sequences as sequence_ui
from ui.widgets import (
    download_button,
    generate_rows,
    generated_message,
    md,
    move_password_out_of_url,
    progress_bar,
    require_dataset,
    require_model,
    sample_job_panel,
    streamlit_secrets,
    user_errors,
)

st.title("Generate")
st.caption(
    "Draw new rows from the trained model. Every row is invented: no real row is copied "
    "on purpose (the Evaluate page checks whether any were anyway)."
)
state.show_flash()
if state.get_related() is not None:  # several related tables (ui/related_work.py)
    related_work.generate_page()
    st.stop()
if not require_dataset():
    st.stop()
table: StudioTable
record: ModelRecord
table, record = require_model()

st.markdown(f"Model: **{record.label}** · trained on {record.train_rows:,} real rows")
demo.banner("generate")
schema = model_schema(record)
real_train, _holdout = caching.real_parts_for(table, record)

left, right = st.columns(2)
if schema.sequence is not None:  # a sequence model draws entities, each a whole history
    rows = sequence_ui.entities_input(left, schema.sequence, real_train)
else:
    rows = left.number_input(
        "Rows to generate", min_value=1, max_value=5_000_000, value=record.train_rows,
        step=1000, key="gen_rows", help="By default as many as the real training part, for a "
        f"fair comparison. More than {IN_PROCESS_SAMPLE_ROWS:,} rows are generated in a "
        "background worker.",
    )
seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed",
                          help="Same model + seed + settings → the same rows.")

categorical = condition_columns(real_train, schema)
fixed_values: dict[str, object] = {}
shares: dict[str, float] = {}
rebalance_column: str | None = None
if schema.sequence is not None:
    fixed_values = sequence_ui.context_conditions(schema.sequence, real_train)
elif not presentation.is_on():
    with st.expander("Conditions (optional)", icon=":material/filter_alt:"):
        st.markdown(
            "**Fix values**: every generated row gets these values (e.g. only `state = CA`). "
            "**Rebalance**: choose how common each class is, e.g. more fraud cases to train a "
            "detector. Gaussian Copula, the decision trees and TabularARGN condition exactly; "
            "CTGAN/TVAE/CopulaGAN generate rows and keep the matching ones, which fails for very "
            "rare values."
        )
        fix_columns = st.multiselect("Columns to fix", categorical, key="gen_fix_columns")
        for column in fix_columns:
            options = sorted(real_train[column].dropna().unique().tolist(), key=str)
            fixed_values[column] = st.selectbox(f"{column} =", options, key=f"gen_fix_{column}")
        rebalance_options = [c for c in categorical if c not in fix_columns]
        if rebalance_options:
            default = table.target if table.target in rebalance_options else rebalance_options[0]
            rebalance_on = st.toggle("Rebalance a column's classes", key="gen_rebalance")
            if rebalance_on:
                rebalance_column = st.selectbox(
                    "Column", rebalance_options, key="gen_rebalance_col",
                    index=rebalance_options.index(default))
                real_shares = real_train[rebalance_column].astype(str).value_counts(normalize=True)
                cols = st.columns(min(len(real_shares), 4))
                for index, (label, share) in enumerate(real_shares.items()):
                    shares[label] = cols[index % len(cols)].number_input(
                        f"{label} (real: {share:.1%})", 0.0, 100.0, round(share * 100, 1), 1.0,
                        key=f"gen_share_{rebalance_column}_{label}", format="%.1f",
                    ) / 100

sampling = state.get(state.SAMPLE_JOB) is not None
if st.button("Generate", type="primary", key="gen_start", icon=":material/auto_awesome:",
             disabled=sampling):
    with user_errors("generating rows"):
        sample = generate_rows(
            record, int(rows), seed=int(seed), real_example=real_train,
            fixed_values=fixed_values or None, rebalance_column=rebalance_column,
            class_shares=shares or None,
        )
        if sample is not None:  # drawn here; a large sample is now a job (panel below)
            state.flash(generated_message(sample))
        st.rerun()
if sampling:
    sample_job_panel()

sample: GeneratedSample | None = state.get(state.SYNTHETIC)
if sample is None or sample.model_id != record.model_id:
    st.stop()

st.divider()
st.subheader(f"{len(sample.frame):,} synthetic rows" if schema.sequence is None
             else sequence_ui.sample_heading(sample.frame, schema.sequence))
details = [f"seed {sample.seed}"]
if sample.fixed_values:
    details.append("fixed: " + ", ".join(f"{k} = {v}" for k, v in sample.fixed_values.items()))
if sample.class_shares:
    details.append(f"rebalanced {sample.rebalanced_column}: " + ", ".join(
        f"{k} {v:.0%}" for k, v in sample.class_shares.items()))
st.caption(" · ".join(details))
st.dataframe(sample.frame.head(200) if schema.sequence is None
             else sequence_ui.preview(sample.frame, schema.sequence), width="stretch", height=320)
if table.target and table.target in sample.frame.columns:
    # Of entities for sequences (an entity-level flag), not of their events.
    real_share = sequence_ui.per_entity(real_train, schema)[table.target].astype(
        str).value_counts(normalize=True)
    synth_share = sequence_ui.per_entity(sample.frame, schema)[table.target].astype(
        str).value_counts(normalize=True)
    st.caption(
        f"Class shares of **{md(table.target)}**"
        + (" (the suggested target)" if state.target_is_suggested(table) else "") + " — real: "
        + ", ".join(f"{k} {v:.1%}" for k, v in real_share.items())
        + " · synthetic: " + ", ".join(f"{k} {v:.1%}" for k, v in synth_share.items())
    )

excel_safe = st.checkbox(
    "Excel-safe CSV", value=True, key="gen_excel_safe",
    help="Puts ' before CSV text cells starting with =, +, -, @, tab or CR, so a spreadsheet "
    "shows them instead of running them as formulas; numbers stay as they are.",
)
columns = st.columns(len(EXPORT_FORMATS))
for column, (fmt, (extension, mime)) in zip(columns, EXPORT_FORMATS.items(), strict=True):

    def payload(fmt: str = fmt, excel_safe: bool = excel_safe) -> bytes:
        """Build the file only when the button is clicked."""
        try:
            return export_bytes(sample.frame, fmt, excel_safe=excel_safe)
        except StudioError as error:
            return str(error).encode()

    disabled = fmt == "Excel" and len(sample.frame) > 1_048_575
    download_button(
        column, f"Download {fmt}", payload, key=f"gen_download_{extension}",
        file_name=f"synthetic_{table.name.rsplit('.', 1)[0]}.{extension}", mime=mime,
        disabled=disabled,
        help="Excel holds at most 1,048,575 rows; use CSV or Parquet." if disabled else None,
    )
st.page_link("app_pages/evaluate.py", label="Evaluate these rows", icon=":material/arrow_forward:")
if demo.active():  # the demo's step is to look at the rows, not to write them anywhere
    st.stop()

# --------------------------------------------------------------------------- write to a database

DB_ORIGIN = "studio.data.db_origin"  # set by the Data page: (fingerprint, DatabaseSource)
DB_SAME = "The database the data came from"
DB_OTHER = "Another database"


def _default_table_name(name: str) -> str:
    """``loans.csv`` → ``loans_synthetic``; ``public.loans`` → ``loans_synthetic``."""
    stem = re.sub(r"\.(csv|tsv|txt|xlsx|xlsm|parquet|pq|json|jsonl|ndjson)$", "", name,
                  flags=re.IGNORECASE)
    if "." in stem and " " not in stem:
        stem = stem.rsplit(".", 1)[-1]
    slug = re.sub(r"[^0-9A-Za-z]+", "_", stem).strip("_").lower() or "data"
    if slug[0].isdigit():
        slug = f"t_{slug}"
    return f"{slug[:50]}_synthetic"


st.divider()
st.subheader("Write to a database")
st.caption(
    "Save these rows as a new table in SQLite, PostgreSQL or DuckDB. An existing table is "
    "never overwritten unless you tick the box. This is the only place the studio writes "
    "to a database."
)
db_policy = databases.database_policy(secrets=streamlit_secrets())  # where writing is allowed
st.caption(db_policy.describe_writing())
origin = state.get(DB_ORIGIN)
origin_db = origin[1] if origin is not None and origin[0] == table.fingerprint else None
same_allowed = origin_db is not None and db_policy.writers_allowed  # read: new files only
destination_kind = st.radio("Where", [DB_SAME, DB_OTHER] if same_allowed else [DB_OTHER],
                            horizontal=True, key="gen_db_target")
if destination_kind == DB_SAME and origin_db is not None:
    st.caption(f"Writes to **{origin_db.display}**.")
else:
    db_left, db_right = st.columns([3, 1])
    db_left.text_input("Database URL", key="gen_db_url",
                       placeholder="sqlite:///synthetic.db or postgresql://user@host/dbname")
    db_right.text_input(
        "Password", type="password", key="gen_db_password",
        help=f"Leave empty to use {databases.PASSWORD_ENV} (or PGPASSWORD) from the server's "
        "environment, or [database] password in .streamlit/secrets.toml.",
    )
new_table = st.text_input("New table name", value=_default_table_name(table.name),
                          key="gen_db_table",
                          help="Letters, digits and _; optionally schema.table (PostgreSQL, "
                          "DuckDB).")
replace_table = st.checkbox("Replace the table if it already exists (its rows are lost)",
                            key="gen_db_replace")
if st.button(f"Write {len(sample.frame):,} rows", key="gen_db_write", icon=":material/upload:",
             on_click=move_password_out_of_url, args=("gen_db_url", "gen_db_password")):
    with user_errors("writing to the database"):
        if destination_kind == DB_SAME and origin_db is not None:
            destination = origin_db
        else:
            destination = databases.parse_source(
                st.session_state.get("gen_db_url") or "", secrets=streamlit_secrets(),
                password=st.session_state.get("gen_db_password") or None)
        db_report, db_bar = progress_bar(f"Writing to {destination.display}…")
        try:
            written = databases.write_table(destination, sample.frame, new_table,
                                            replace=replace_table, progress=db_report)
        finally:
            db_bar.empty()
        st.success(
            f"Wrote {written.rows:,} rows to table **{written.table.label}** in "
            f"{written.destination}" + (" (the old table was replaced)." if written.replaced
                                        else "."),
            icon=":material/check_circle:",
        )
