"""Data: load a sample, upload a file or fake a table; preview, profile, review metadata."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.charts import column_profile_figure
from core.data import databases, datasets, loading
from core.data.profiling import profile_table
from core.data.schema import (
    ACTION_LABELS,
    ACTIONS,
    BASE_SDTYPES,
    PII_SDTYPES,
    TEXT_SDTYPE,
    SequenceSpec,
    schema_from_records,
)
from core.data.table import StudioTable, fingerprint_frame
from core.data.text_pii import describe_text_pii, find_text_pii
from core.errors import MetadataError, StudioError
from core.evaluation.planted import PlantedTruth, planted_truth
from ui import caching, demo, related, state
from ui import sequences as sequence_ui
from ui.widgets import md, move_password_out_of_url, progress_bar, streamlit_secrets, user_errors

UPLOAD_DONE = "studio.data.upload_done"  # file_id of the last upload handled
UPLOAD_ERROR = "studio.data.upload_error"  # (file_id, message) of the last refused upload
EDITOR_VERSION = "studio.data.editor_version"
MAX_PROFILE_CHARTS = 24
# The metadata grid shows every row (no inner scroll) up to a cap. Its rows stay one line
# high (a grid's rows all share one height: wrapping the longest note made every row five
# lines tall), so the "why" notes are also listed in full under it.
GRID_ROW_PX = 35  # Streamlit's default row (and header) height
MAX_GRID_ROWS = 40
# Database source. Connection values hold the password but print as the redacted URL; no
# key holds a URL with a password in it as text (Connect moves it to the password field).
DB_OPTION = "Database"
DB_CONNECTED = "studio.data.db_connected"  # (DatabaseSource, tuple[TableRef, ...])
DB_ORIGIN = "studio.data.db_origin"  # (fingerprint, DatabaseSource) of a dataset read from a DB
DB_PREVIEW = "studio.data.db_preview"  # (what was previewed, frame)
_LOG = logging.getLogger("studio")

st.title("Data")
st.caption(
    "Bring a real table, pick a shipped sample, or fake one. Then check what each column is "
    "and decide what happens to personal data before anything is trained."
)
state.show_flash()
if not demo.active():
    with st.container(border=True):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(
            ":material/co_present: **New here, or presenting?** The guided demo walks through "
            "the whole studio on a faked loans table in under a minute, with something to say "
            "at each step."
        )
        demo.seed_input(right)
        if right.button("Start the guided demo", type="primary", key="demo_start"):
            with user_errors("starting the demo"):
                demo.start()
demo.banner("data")


def _adopt(frame: pd.DataFrame, name: str, source: str, notes: tuple[str, ...] = (),
           target: str | None = None, planted: PlantedTruth | None = None,
           recipe: dict[str, Any] | None = None, sequence: SequenceSpec | None = None) -> None:
    """Detect metadata and make this the session's dataset (only after everything worked).

    ``recipe`` rebuilds the table after a reload (see :func:`ui.state.set_dataset`). A
    target the user chose for the same rows before is kept; without a known ``target`` the
    studio's guess is marked as suggested until the user confirms or changes it. A sample's
    ``sequence`` (its event histories) arrives confirmed; so does one the user chose before.
    """
    fingerprint = fingerprint_frame(frame)
    chosen = state.chosen_target(fingerprint)
    with st.spinner("Detecting column types…"):
        table = caching.studio_table(fingerprint, frame, name, source, notes,
                                     target if chosen is None else chosen[0], planted,
                                     sequence)
    if chosen is not None and table.target != chosen[0]:
        try:
            table = table.with_target(chosen[0])
        except MetadataError:
            chosen = None  # that column is no longer modelled: back to a guess
    table = sequence_ui.adopted(table, sequence)
    state.set_dataset(table, recipe)
    if target is None and chosen is None:
        state.note_suggested_target(table)
    state.flash(f"Loaded **{md(name)}**: {table.shape_label}.")
    st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1
    st.rerun()


def _refuse(file_id: str, message: str, empty_columns: tuple[str, ...] = (),
            keep_picker: bool = False) -> None:
    """Remember why this upload was refused; the current dataset stays as it was.

    With ``keep_picker`` (a sheet of a workbook was refused) the upload stays open, so
    the sheet picker remains and another sheet can be chosen.
    """
    if not keep_picker:
        st.session_state[UPLOAD_DONE] = file_id
    st.session_state[UPLOAD_ERROR] = (file_id, message, empty_columns)


def _handle_upload(uploaded: UploadedFile) -> None:
    """Read an uploaded file; adopt it only if every step worked."""
    file_id, data = uploaded.file_id, uploaded.getvalue()
    sheet: str | None = None
    picked = False
    if uploaded.name.lower().endswith((".xlsx", ".xlsm")):
        try:
            sheets = loading.list_excel_sheets(data, uploaded.name, with_data=True)
        except StudioError as error:
            _refuse(file_id, str(error))
            return
        if len(sheets) > 1:
            # Only sheets with data are offered, so a pick cannot be a dead end; the picker
            # stays until a sheet loads (a refused sheet does not end the upload).
            sheet = st.selectbox("Sheet", sheets, key="upload_sheet")
            if not st.button("Load this sheet", key="upload_load_sheet", type="primary"):
                return
            picked = True
        elif sheets:
            sheet = sheets[0]
        # No sheet with data: sheet=None lets core refuse the workbook with its reason.
    report, bar = progress_bar(f"Reading {uploaded.name}…")
    try:
        loaded = loading.load_table(
            data, uploaded.name, sheet=sheet,
            drop_empty_columns=st.session_state.pop("upload_drop_empty", False),
            progress=report,
        )
    except loading.EmptyColumnsError as error:
        _refuse(file_id, str(error), tuple(error.columns))
        return
    except StudioError as error:
        _refuse(file_id, str(error), keep_picker=picked)
        return
    except Exception:  # noqa: BLE001 - a hostile file must never show a traceback
        _LOG.exception("Unexpected error reading %s", uploaded.name)
        _refuse(file_id, f"'{uploaded.name}' could not be read as a table. Check that it is a "
                "CSV, Excel, Parquet or JSON file and try again.")
        return
    finally:
        bar.empty()
    st.session_state[UPLOAD_DONE] = file_id
    st.session_state.pop(UPLOAD_ERROR, None)
    with user_errors(f"preparing {uploaded.name}"):
        _adopt(loaded.frame, uploaded.name, "Uploaded file", loaded.notes)


def _database_source() -> None:
    """Connect with a URL, pick a table or type a SELECT, preview, load with progress."""
    secrets = streamlit_secrets()
    st.caption(
        "SQLite, PostgreSQL or DuckDB, e.g. `sqlite:///data/bank.db`, "
        "`postgresql://ann@db.example.com:5432/bank`, `duckdb:///bank.duckdb`. Only one "
        "read-only SELECT ever runs. The password is never shown again, stored with models "
        "or written into reports."
    )
    policy = databases.database_policy(secrets=secrets)  # the operator's switches
    st.caption(policy.describe_reading())
    if not policy.can_read:
        return
    saved = databases.named_connections(secrets)
    saved_choice = None
    if saved:
        saved_choice = st.selectbox(
            "Saved connection", [None, *saved], key="db_saved",
            format_func=lambda name: "— type a URL —" if name is None else name,
            help="The [connections.<name>] entries of .streamlit/secrets.toml.",
        )
    if saved_choice is None:
        left, right = st.columns([3, 1])
        left.text_input("Database URL", key="db_url",
                        placeholder="postgresql://user@host:5432/dbname")
        right.text_input(
            "Password", type="password", key="db_password",
            help=f"Leave empty to use {databases.PASSWORD_ENV} (or PGPASSWORD) from the "
            "server's environment, or [database] password in .streamlit/secrets.toml.",
        )
    if st.button("Connect", key="db_connect", icon=":material/link:",
                 on_click=move_password_out_of_url, args=("db_url", "db_password")):
        st.session_state.pop(DB_CONNECTED, None)
        st.session_state.pop(DB_PREVIEW, None)
        text = f"connection:{saved_choice}" if saved_choice else st.session_state.get("db_url")
        try:
            db = databases.parse_source(text or "", secrets=secrets,
                                        password=st.session_state.get("db_password") or None)
            with st.spinner(f"Connecting to {db.display}…"):
                tables = databases.list_tables(db)
        except StudioError as error:
            st.error(md(error), icon=":material/error:")
            if state.get_dataset() is not None:
                st.caption(f"Still working with **{md(state.get_dataset().name)}**.")
            return
        st.session_state[DB_CONNECTED] = (db, tuple(tables))
    connected = st.session_state.get(DB_CONNECTED)
    if connected is None:
        return
    db, tables = connected
    st.caption(f":material/link: Connected to **{db.display}** · {len(tables)} tables and views")
    what: databases.TableRef | str
    if st.radio("Read", ["A table", "A SELECT query"], horizontal=True,
                key="db_mode") == "A table":
        if not tables:
            st.info("This database has no tables or views this user can read.",
                    icon=":material/info:")
            return
        by_label = {table.label: table for table in tables}
        what = by_label[st.selectbox("Table", list(by_label), key="db_table")]
    else:
        what = st.text_area(
            "SELECT query", key="db_query", placeholder="SELECT * FROM loans WHERE amount > 0",
            help="One SELECT (or WITH ... SELECT). Anything that could change the database "
            "(INSERT, UPDATE, DELETE, DROP, CREATE, ...; several statements) is refused.",
        )
    left, right = st.columns(2)
    row_cap = left.number_input(
        "Row cap", min_value=1, max_value=10_000_000, value=databases.DEFAULT_ROW_CAP,
        step=10_000, key="db_row_cap", help="Load at most this many rows.")
    preview_rows = right.number_input("Preview rows", min_value=1, max_value=1_000,
                                      value=databases.PREVIEW_ROWS, key="db_preview_rows")
    with st.container(horizontal=True):
        preview_clicked = st.button("Preview", key="db_preview", icon=":material/visibility:")
        load_clicked = st.button("Load", key="db_load", type="primary",
                                 icon=":material/download:")
    if preview_clicked:
        try:
            frame = databases.preview(db, what, int(preview_rows))
        except StudioError as error:
            st.session_state.pop(DB_PREVIEW, None)
            st.error(md(error), icon=":material/error:")
        else:
            st.session_state[DB_PREVIEW] = (str(what), frame)
    shown = st.session_state.get(DB_PREVIEW)
    if shown is not None and shown[0] == str(what):
        st.dataframe(shown[1], width="stretch", height=240)
        st.caption(f"Preview: first {len(shown[1]):,} rows.")
    if load_clicked:
        report, bar = progress_bar(f"Reading from {db.display}…")
        try:
            loaded = databases.read_table(db, what, row_cap=int(row_cap), progress=report)
        except StudioError as error:
            st.error(md(error), icon=":material/error:")
            if state.get_dataset() is not None:
                st.caption(f"Still working with **{md(state.get_dataset().name)}**.")
            return
        finally:
            bar.empty()
        with user_errors(f"preparing {loaded.name}"):
            st.session_state[DB_ORIGIN] = (fingerprint_frame(loaded.frame), db)
            _adopt(loaded.frame, loaded.name, loaded.source, loaded.notes)


# --------------------------------------------------------------------------- sources

source: str | None = None
if demo.active():  # the demo brings its own table: no picker, no sample cards
    st.caption(":material/co_present: The guided demo's table is loaded. End the demo to "
               "load your own data.")
else:
    # persist_state="session": Streamlit drops a widget's value when its page is not drawn,
    # so without it the choice fell back to "Sample dataset" after a visit to another page.
    source = st.radio(
        "Where does the data come from?",
        ["Sample dataset", "Upload a file", "Fake a dataset", DB_OPTION, related.SOURCE],
        horizontal=True,
        key=state.DATA_SOURCE,
        persist_state="session",
    )

if source is None:
    pass
elif source == "Sample dataset":
    samples = datasets.list_sample_datasets()
    columns = st.columns(min(len(samples), 4))  # rows of four cards
    for index, sample in enumerate(samples):
        with columns[index % len(columns)].container(border=True):
            st.markdown(f"**{sample.title}**")
            st.caption(f"{sample.rows:,} rows · target `{sample.target}`"
                       + (" · event histories" if sample.sequence is not None else ""))
            st.write(sample.description)
            if st.button("Load", key=f"load_sample_{sample.key}", type="primary"):
                with user_errors(f"loading the sample '{sample.title}'"):
                    frame = caching.sample_frame(sample.key)
                    _adopt(frame, sample.filename, f"Sample dataset: {sample.title}",
                           target=sample.target,
                           planted=planted_truth(sample.spec) if sample.spec else None,
                           recipe={"kind": "sample", "key": sample.key},
                           sequence=sample.sequence)

elif source == "Upload a file":
    st.caption(
        "CSV/TSV/TXT (delimiter and encoding detected), Excel (.xlsx), Parquet or JSON. "
        "Its rows are kept in this workspace's private folder on this server, so a reload "
        "brings them back; nothing is sent anywhere."
    )
    uploaded = st.file_uploader("Choose a file", key="upload_file")
    if uploaded is not None and st.session_state.get(UPLOAD_DONE) != uploaded.file_id:
        _handle_upload(uploaded)
    refused = st.session_state.get(UPLOAD_ERROR)
    if uploaded is not None and refused and refused[0] == uploaded.file_id:
        st.error(md(refused[1]), icon=":material/error:")
        if refused[2] and st.button("Load without the empty columns",
                                    key="upload_retry_drop_empty"):
            st.session_state["upload_drop_empty"] = True
            st.session_state.pop(UPLOAD_DONE, None)
            st.rerun()
        if state.get_dataset() is not None:
            st.caption(f"Still working with **{md(state.get_dataset().name)}**.")

elif source == DB_OPTION:
    _database_source()

elif source == related.SOURCE:
    related.data_source()

else:
    domain = st.selectbox(
        "Kind of data", datasets.DOMAINS, key="fake_domain",
        help="Each template has realistic columns, personal data and a target to predict.",
    )
    with st.form("fake_form"):
        left, right = st.columns(2)
        rows = left.number_input("Rows", min_value=100, max_value=1_000_000, value=2_000,
                                 step=1_000, key="fake_rows")
        seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=42,
                                  key="fake_seed", help="The same seed gives the same table.")
        pii_options = list(datasets.pii_columns_for(domain))
        pii = st.multiselect("Personal-data columns to include", pii_options,
                             default=pii_options, key="fake_pii")
        correlation = st.slider(
            "Strength of the planted relations", 0.0, 1.0, 0.7, 0.05, key="fake_correlation",
            help="0 = columns independent, 1 = strong relations (e.g. income → credit score).",
        )
        left, right = st.columns(2)
        rare_rate = left.slider(
            f"Share of the rare class ({datasets.target_column_for(domain)})",
            0.005, 0.5, 0.05, 0.005, key="fake_rare_rate", format="%.3f",
        )
        missing_rate = right.slider("Share of missing cells", 0.0, 0.5, 0.0, 0.01,
                                    key="fake_missing_rate")
        left, right = st.columns(2)
        outlier_rate = left.slider(
            "Share in an outlier group", 0.0, datasets.MAX_OUTLIER_RATE, 0.0, 0.01,
            key="fake_outlier_rate",
            help="A group of rows whose key amount is several times larger than usual.",
        )
        canaries = right.number_input(
            "Canary records", 0, datasets.MAX_CANARIES, 0, key="fake_canaries",
            help="Deliberately unusual rows. If one reappears in the synthetic data, the "
            "model memorised it (Evaluate → Planted truth).",
        )
        submitted = st.form_submit_button("Generate", type="primary", key="fake_generate")
    if submitted:
        spec = datasets.FakeSpec(
            domain=domain, rows=int(rows), pii_columns=tuple(pii), correlation=correlation,
            rare_rate=rare_rate, missing_rate=missing_rate, seed=int(seed),
            outlier_rate=outlier_rate, canaries=int(canaries),
        )
        with user_errors("faking the dataset"):
            spec.validate()
            report, bar = progress_bar("Generating…")
            frame = datasets.fake_dataset(spec, progress=report)
            bar.empty()
            _adopt(frame, f"fake {domain} (seed {int(seed)})",
                   f"Faked with Faker: {int(rows):,} rows, relations {correlation:.2f}, "
                   f"rare class {rare_rate:.1%}, missing {missing_rate:.0%}, outliers "
                   f"{outlier_rate:.0%}, {int(canaries)} canaries",
                   target=datasets.target_column_for(domain), planted=planted_truth(spec),
                   recipe={"kind": "fake", "spec": asdict(spec)})

# --------------------------------------------------------------------------- the dataset

if state.get_related() is not None:  # several related tables: their own review
    related.show_related(state.get_related())
    st.stop()
table: StudioTable | None = state.get_dataset()
if table is None:
    st.info("No dataset yet: load a sample, upload a file or fake one above.",
            icon=":material/info:")
    st.stop()

st.divider()
st.subheader(md(table.name))
st.caption(f"{table.source} · {table.shape_label}")
if state.target_is_suggested(table):
    st.caption(f":material/help: Target **{md(table.target)}** is suggested — change it or "
               "confirm it under the tabs below.")
for note in table.notes:
    st.caption(f":material/info: {note}")
sequence_ui.data_section(table)

# Stateful tabs: a click reruns the script and only the open tab is computed and drawn (the
# profile charts alone cost a second or two on every rerun). Pickers inside a tab keep their
# value while another tab is open (persist_state="page").
preview_tab, profile_tab, metadata_tab = st.tabs(
    ["Preview", "Profile", "Metadata"], key="data_tab", on_change="rerun")


def _preview(table: StudioTable) -> None:
    """The Preview tab: the first rows."""
    st.dataframe(table.frame.head(200), width="stretch", height=320)
    st.caption(f"First {min(200, len(table.frame)):,} of {len(table.frame):,} rows.")


def _profile(table: StudioTable) -> None:
    """The Profile tab: one row per column (type, missing, summary), a chart per column."""
    profiles = profile_table(table.frame)
    st.dataframe(
        pd.DataFrame(
            {
                "column": [p.name for p in profiles],
                "type": [p.kind for p in profiles],
                "missing": [p.missing_share for p in profiles],
                "distinct": [p.distinct for p in profiles],
                "summary": [p.summary for p in profiles],
            }
        ),
        column_config={
            "missing": st.column_config.ProgressColumn(
                "missing", format="percent", min_value=0.0, max_value=1.0
            ),
        },
        hide_index=True,
        width="stretch",
    )
    names = [str(c) for c in table.frame.columns]
    shown = names[:MAX_PROFILE_CHARTS]
    if len(names) > MAX_PROFILE_CHARTS:
        shown = st.multiselect("Columns to chart", names, default=shown, key="profile_columns",
                               persist_state="page")
    grid = st.columns(4)
    for index, name in enumerate(shown):
        with grid[index % 4]:
            st.plotly_chart(column_profile_figure(table.frame[name]), width="stretch",
                            key=f"profile_chart_{name}", config={"displayModeBar": False})


def metadata_grid_height(rows: int) -> int:
    """Pixels that show the header and ``rows`` rows without an inner scroll, up to a cap."""
    return GRID_ROW_PX * (1 + min(rows, MAX_GRID_ROWS)) + 3  # + 3: the grid's borders


def _metadata(table: StudioTable) -> None:
    """The Metadata tab: the editable types and actions, a one-column form, reset."""
    st.markdown(
        "What each column **is** (its type) and what happens to it. SDV guessed the types; "
        "the studio checked the guesses against the values and explains every change. "
        "Personal data (PII) is **faked** (replaced with realistic invented values), "
        "**dropped**, or **kept** (real values are learned and may reappear). "
        "**Generate text** is for free-text columns only: a small language model is trained "
        "here on this column and writes new text for each synthetic row."
    )
    version = st.session_state.get(EDITOR_VERSION, 0)
    records = pd.DataFrame(
        [
            {**record, "sdv_said": column.detected_sdtype}
            for record, column in zip(table.schema.to_records(), table.schema.columns,
                                      strict=True)
        ]
    )
    edited = st.data_editor(
        records,
        key=f"metadata_editor_{version}",
        hide_index=True,
        width="stretch",
        height=metadata_grid_height(len(records)),
        row_height=GRID_ROW_PX,
        column_order=("column", "sdtype", "pii", "action", "sdv_said", "note"),  # "why" last
        disabled=["column", "note", "sdv_said"],
        column_config={
            "column": st.column_config.TextColumn("column"),
            "sdtype": st.column_config.SelectboxColumn(
                "type", options=[*BASE_SDTYPES, TEXT_SDTYPE, *PII_SDTYPES], required=True
            ),
            "pii": st.column_config.CheckboxColumn("personal data"),
            "action": st.column_config.SelectboxColumn(
                "action", options=list(ACTIONS), required=True, format_func=ACTION_LABELS.get,
                help="model: learn it · fake: replace with Faker values · keep: learn real "
                "values · drop: leave out · generate text (free-text columns only): a small "
                "language model is trained here on this column and writes new text for each "
                "synthetic row",
            ),
            "sdv_said": st.column_config.TextColumn("SDV detected"),
            "note": st.column_config.TextColumn("why", width="large"),
        },
    )
    noted = [column for column in table.schema.columns if column.note]
    if noted:
        with st.container(border=True, key="metadata_notes"):
            st.markdown("**Why, in full**")
            st.markdown("\n".join(f"- **{md(column.name)}**: {md(column.note)}"
                                   for column in noted))
    edited_records = edited[["column", "sdtype", "pii", "action"]].to_dict("records")
    current_records = records[["column", "sdtype", "pii", "action"]].to_dict("records")
    if edited_records != current_records:
        try:
            new_schema = schema_from_records(table.schema, edited_records)
        except MetadataError as error:
            st.error(md(error), icon=":material/error:")
        else:
            state.update_dataset(table.with_schema(new_schema))
            st.rerun()

    with st.expander("Change one column", icon=":material/edit:"):
        column_name = st.selectbox("Column", [c.name for c in table.schema.columns],
                                   key="column_form_column", persist_state="page")
        current = table.schema.column(column_name)
        if current.note:
            st.caption(current.note)
        with st.form("column_form"):
            types = [*BASE_SDTYPES, TEXT_SDTYPE, *PII_SDTYPES]
            left, middle, right = st.columns(3)
            # Keyed per column (and edit round) so the inputs show that column's values.
            suffix = f"{column_name}_{version}"
            new_sdtype = left.selectbox("Type", types, key=f"column_form_sdtype_{suffix}",
                                        index=types.index(current.sdtype)
                                        if current.sdtype in types else 1)
            # "generate text" is offered for free-text columns only.
            actions = [a for a in ACTIONS if a != "generate" or current.sdtype == TEXT_SDTYPE]
            new_action = middle.selectbox("Action", actions, key=f"column_form_action_{suffix}",
                                          index=actions.index(current.action)
                                          if current.action in actions else 0,
                                          format_func=ACTION_LABELS.get)
            new_pii = right.checkbox("Personal data", value=current.pii,
                                     key=f"column_form_pii_{suffix}")
            if st.form_submit_button("Apply"):
                try:
                    new_schema = schema_from_records(
                        table.schema,
                        [{"column": column_name, "sdtype": new_sdtype, "action": new_action,
                          "pii": new_pii}],
                    )
                except MetadataError as error:
                    st.error(md(error), icon=":material/error:")
                else:
                    state.update_dataset(table.with_schema(new_schema))
                    st.session_state[EDITOR_VERSION] = version + 1
                    state.flash(f"Updated column **{column_name}**.")
                    st.rerun()

    if st.button("Reset to detected types", key="metadata_reset"):
        state.update_dataset(table.with_schema(table.detected_schema))
        st.session_state[EDITOR_VERSION] = version + 1
        st.rerun()

    _text_pii(table)
    faked = [c.name for c in table.schema.columns if c.action == "fake"]
    dropped = [c.name for c in table.schema.columns if c.action == "drop"]
    kept_pii = [c.name for c in table.schema.columns if c.action == "keep" and c.pii]
    if faked:
        st.caption(f":material/masks: Replaced with fake values: {', '.join(faked)}")
    if dropped:
        st.caption(f":material/delete: Dropped: {', '.join(dropped)}")
    if kept_pii:
        st.warning(
            f"Real personal data is kept in {', '.join(kept_pii)}: the synthesizer learns these "
            "values and can copy them into the synthetic data.", icon=":material/warning:"
        )


def _text_pii(table: StudioTable) -> None:
    """For each generated-text column, the personal data found inside it (masked)."""
    for name in table.schema.text_columns:
        matches = find_text_pii(table.frame[name])
        with st.container(border=True, key=f"text_pii_{name}"):
            st.markdown(f":material/edit_note: **{md(name)}** (generate text): "
                        f"{md(describe_text_pii(matches))}")
            if not matches.empty:
                st.dataframe(
                    matches[["label", "count", "rows", "examples"]],
                    column_config={
                        "label": st.column_config.TextColumn("found"),
                        "count": st.column_config.NumberColumn("how many"),
                        "rows": st.column_config.NumberColumn("in texts"),
                        "examples": st.column_config.TextColumn("examples (partly hidden)"),
                    },
                    hide_index=True, width="stretch",
                )


for tab, draw in ((preview_tab, _preview), (profile_tab, _profile), (metadata_tab, _metadata)):
    if tab.open:
        with tab:
            draw(table)

st.divider()
options = [None, *table.schema.modelled_columns]
suggested = state.target_is_suggested(table)
target = st.selectbox(
    "Target column (what a model would predict)",
    options,
    index=options.index(table.target) if table.target in options else 0,
    format_func=lambda value: "— none —" if value is None else value,
    key=f"target_select_{table.fingerprint}",
    help="Used to test usefulness: a model trained on synthetic data should predict this "
    "about as well as one trained on real data. The held-out test split is stratified on it.",
)
if target != table.target:
    with user_errors("setting the target"):
        state.update_dataset(table.with_target(target))
        state.choose_target(table.fingerprint, target)  # a pick is a confirmation
        st.rerun()
elif suggested:
    with st.container(border=True, key="target_suggested"):
        st.markdown(
            f":material/help: **Suggested — change it.** The studio guessed "
            f"**{md(table.target)}**: a column with a few classes (2 to 20), preferring names "
            "such as *default*, *fraud* or *churn*. If a model should predict another column, "
            "pick it above; if this one is right, confirm it."
        )
        st.button(f"Confirm {md(table.target)} as the target", key="target_confirm",
                  icon=":material/check:", on_click=state.choose_target,
                  args=(table.fingerprint, table.target))
