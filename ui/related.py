"""The Data page's related-tables parts: load several tables, see and correct their keys.

Several related tables (customers -> accounts -> transactions) come from several files at
once, a database schema (its foreign keys read from the catalogue) or the shipped bank
sample. They become a :class:`core.data.related.RelatedTables` in the session
(:func:`ui.state.set_related`), drawn as a diagram the user corrects: each table's primary
key, relationships added or removed, the problems :func:`core.data.related.check_related`
finds and the repair :func:`core.data.related.repair_related` makes, and the target a
usefulness test predicts. Train, Generate and Evaluate are in :mod:`ui.related_work`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.data import databases
from core.data.databases.reading import list_base_tables, read_related
from core.data.related import (
    RelatedTables,
    Relationship,
    check_related,
    read_related_files,
    repair_related,
)
from core.data.table import StudioTable
from core.errors import StudioError
from ui import caching, state
from ui.widgets import md, move_password_out_of_url, progress_bar, streamlit_secrets, user_errors

#: The Data page's source option for several related tables.
SOURCE = "Several related tables"
FROM_FILES = "Several files"
FROM_DATABASE = "A database schema"
FROM_SAMPLE = "The bank sample"
#: (source, tuple of TableRef) of the related-tables database connection.
DB_CONNECTED = "studio.related.db_connected"
NO_KEY = "— none —"
_LOG = logging.getLogger("studio")

EXPLANATION = (
    "Related tables are tables that point at each other. Each table has a **primary key**: "
    "a column whose value is different on every row, so it names the row (a customer id). "
    "A **foreign key** is a column in another table that holds those names, so each of its "
    "rows points at one row of the first table (an account's customer id). The table that "
    "is pointed at is the **parent** (customers); the table that points is the **child** "
    "(accounts): one customer can have several accounts. The studio learns how many "
    "children each parent has and what they look like, and keeps every key pointing at a "
    "row that exists."
)


# --------------------------------------------------------------------------- the diagram


def _dot_text(text: object) -> str:
    """Text made safe inside a double-quoted DOT string (quotes, backslashes, new lines)."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", " ", str(text))
    return cleaned.replace("\\", "\\\\").replace('"', '\\"')


def relationship_dot(related: RelatedTables) -> str:
    """The relationship diagram as a Graphviz DOT string.

    One box per table (its name, primary key and row count), one arrow per relationship
    from parent to child, labelled with the child's key. Nodes are named ``t0``, ``t1``, …
    so no table name ever becomes DOT syntax; every label is escaped.
    """
    ids = {name: f"t{index}" for index, name in enumerate(related.names)}
    lines = ["digraph related {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", '
             'fillcolor="#eef2ff", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for table in related.tables:
        key = table.schema.primary_key
        label = (f"{_dot_text(table.name)}\\nkey: {_dot_text(key) if key else 'none'}"
                 f"\\n{len(table.frame):,} rows")
        lines.append(f'  {ids[table.name]} [label="{label}"];')
    for link in related.relationships:
        if link.parent in ids and link.child in ids:
            label = (_dot_text(link.child_key) if link.child_key == link.parent_key
                     else f"{_dot_text(link.parent_key)} = {_dot_text(link.child_key)}")
            lines.append(f'  {ids[link.parent]} -> {ids[link.child]} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines)


def dataset_line(related: RelatedTables) -> str:
    """"bank · 4 tables · 12,400 rows": the sidebar's line for related tables."""
    rows = sum(len(table.frame) for table in related.tables)
    return f"{related.name} · {len(related.tables)} tables · {rows:,} rows"


# --------------------------------------------------------------------------- loading


def adopt(frames: dict[str, pd.DataFrame], *, name: str, source: str,
          notes: tuple[str, ...] = (), declared: tuple[Relationship, ...] = (),
          primary_keys: dict[str, str] | None = None,
          target: tuple[str, str] | None = None,
          recipe: dict[str, str] | None = None) -> None:
    """Detect the tables' types and relationships; make them the session's related tables.

    ``recipe`` reloads the same rows after a browser reload (a shipped sample's key);
    without one the workspace keeps a private copy (:func:`ui.state.set_related`).
    """
    from core.engine.related_metadata import detect_related

    report, bar = progress_bar("Detecting column types and relationships…")
    try:
        related = detect_related(frames, name=name, source=source, declared=declared,
                                 primary_keys=primary_keys, target=target, notes=notes,
                                 progress=report)
    finally:
        bar.empty()
    state.set_related(related, recipe)
    state.flash(f"Loaded **{md(name)}**: {related.shape_label}.")
    st.rerun()


def _files_source() -> None:
    """Several files at once; each file is one table named after it."""
    st.caption("Pick all the files at once (CSV, Excel, Parquet or JSON): each file is one "
               "table, named after the file. The studio looks for the columns that join them.")
    uploaded = st.file_uploader("Choose the files", accept_multiple_files=True,
                                key="related_files")
    if not uploaded:
        return
    if len(uploaded) < 2:
        st.info("Pick at least two files: one table alone has no relationships. For one "
                "table, use **Upload a file**.", icon=":material/info:")
        return
    if not st.button(f"Load these {len(uploaded)} tables", key="related_files_load",
                     type="primary", icon=":material/upload:"):
        return
    report, bar = progress_bar("Reading the files…")
    try:
        frames, notes = read_related_files([(file.name, file.getvalue()) for file in uploaded],
                                           progress=report)
    except StudioError as error:
        st.error(md(error), icon=":material/error:")
        st.caption("Nothing was loaded: fix or leave out that file and try again.")
        return
    except Exception:  # noqa: BLE001 - a hostile file must never show a traceback
        _LOG.exception("Unexpected error reading related files")
        st.error("One of the files could not be read as a table. Check that each is a CSV, "
                 "Excel, Parquet or JSON file.", icon=":material/error:")
        return
    finally:
        bar.empty()
    with user_errors("preparing the tables"):
        adopt(frames, name=f"{len(frames)} files", source="Uploaded files", notes=notes)


def _database_connect() -> tuple[databases.DatabaseSource, tuple] | None:
    """The connection form (saved connection, or URL and password); the connection or None."""
    secrets = streamlit_secrets()
    policy = databases.database_policy(secrets=secrets)
    st.caption(policy.describe_reading())
    if not policy.can_read:
        return None
    saved = databases.named_connections(secrets)
    saved_choice = None
    if saved:
        saved_choice = st.selectbox(
            "Saved connection", [None, *saved], key="related_db_saved",
            format_func=lambda name: "— type a URL —" if name is None else name)
    if saved_choice is None:
        left, right = st.columns([3, 1])
        left.text_input("Database URL", key="related_db_url",
                        placeholder="sqlite:///data/bank.db")
        right.text_input("Password", type="password", key="related_db_password",
                         help=f"Leave empty to use {databases.PASSWORD_ENV} (or PGPASSWORD) "
                         "from the server's environment.")
    if st.button("Connect", key="related_db_connect", icon=":material/link:",
                 on_click=move_password_out_of_url,
                 args=("related_db_url", "related_db_password")):
        st.session_state.pop(DB_CONNECTED, None)
        text = (f"connection:{saved_choice}" if saved_choice
                else st.session_state.get("related_db_url"))
        try:
            db = databases.parse_source(
                text or "", secrets=secrets,
                password=st.session_state.get("related_db_password") or None)
            with st.spinner(f"Connecting to {db.display}…"):
                tables = list_base_tables(db)
        except StudioError as error:
            st.error(md(error), icon=":material/error:")
            return None
        st.session_state[DB_CONNECTED] = (db, tuple(tables))
    return st.session_state.get(DB_CONNECTED)


def _database_source() -> None:
    """A database schema: pick its tables; the foreign keys come from the catalogue."""
    st.caption("SQLite, PostgreSQL or DuckDB. Only reading ever runs. The foreign keys the "
               "database declares are read from its catalogue; the studio adds the ones it "
               "finds from names and values, and you can correct them below.")
    connected = _database_connect()
    if connected is None:
        return
    db, tables = connected
    st.caption(f":material/link: Connected to **{md(db.display)}** · {len(tables)} tables")
    if len(tables) < 2:
        st.info("This database has fewer than two tables this user can read.",
                icon=":material/info:")
        return
    labels = [table.label for table in tables]
    chosen = st.multiselect("Tables", labels, default=labels[:20], key="related_db_tables",
                            help="The tables to synthesize together.")
    row_cap = st.number_input("Row cap per table", min_value=1, max_value=10_000_000,
                              value=databases.DEFAULT_ROW_CAP, step=10_000,
                              key="related_db_row_cap")
    if not st.button("Load these tables", key="related_db_load", type="primary",
                     icon=":material/download:", disabled=len(chosen) < 2,
                     help=None if len(chosen) >= 2 else "Pick at least two tables."):
        return
    report, bar = progress_bar(f"Reading from {db.display}…")
    try:
        loaded = read_related(db, [t for t in tables if t.label in chosen],
                              row_cap=int(row_cap), progress=report)
    except StudioError as error:
        st.error(md(error), icon=":material/error:")
        return
    finally:
        bar.empty()
    with user_errors("preparing the tables"):
        adopt(dict(loaded.frames), name=loaded.name, source=loaded.source,
              notes=tuple(loaded.notes), declared=tuple(loaded.relationships),
              primary_keys=dict(loaded.primary_keys))


def _sample_source() -> None:
    """The shipped related samples (the bank: customers -> accounts -> transactions)."""
    from core.data import datasets

    for sample in datasets.list_related_samples():
        with st.container(border=True):
            st.markdown(f"**{sample.title}**")
            st.caption(f"{len(sample.tables)} tables: {', '.join(sample.tables)}"
                       + (f" · target `{'.'.join(sample.target)}`" if sample.target else ""))
            st.write(sample.description)
            if st.button("Load", key=f"related_load_{sample.key}", type="primary"):
                with user_errors(f"loading the sample '{sample.title}'"):
                    frames = caching.related_sample_frames(sample.key)
                    adopt(dict(frames), name=sample.key, source=f"Sample dataset: {sample.title}",
                          declared=tuple(sample.relationships),
                          primary_keys=dict(sample.primary_keys), target=sample.target,
                          recipe={"kind": "sample", "key": sample.key})


def data_source() -> None:
    """The Data page's "Several related tables" source."""
    st.caption(EXPLANATION)
    where = st.radio("From", [FROM_SAMPLE, FROM_FILES, FROM_DATABASE], horizontal=True,
                     key="related_from")
    if where == FROM_FILES:
        _files_source()
    elif where == FROM_DATABASE:
        _database_source()
    else:
        _sample_source()


# --------------------------------------------------------------------------- review


def _as_key(table: StudioTable, column: str, role: str) -> StudioTable:
    """``table`` with ``column`` typed as an identifier (a key is never faked or dropped)."""
    current = table.schema.column(column)
    if current.sdtype == "id" and current.action == "model":
        return table
    return table.with_schema(table.schema.with_column(replace(
        current, sdtype="id", pii=False, action="model",
        note=f"{role} chosen by you: kept as a key, so synthetic rows join up")))


def _with_primary_key(table: StudioTable, column: str | None) -> StudioTable:
    """``table`` with ``column`` as its primary key (typed as an id), or none."""
    if column is not None:
        table = _as_key(table, column, "primary key")
    return table.with_schema(replace(table.schema, primary_key=column))


def _keys_editor(related: RelatedTables) -> None:
    """Each table's primary key; add a relationship; remove one."""
    st.markdown("**Primary keys** — the column that names each row of a table.")
    grid = st.columns(min(len(related.tables), 4))
    for index, table in enumerate(related.tables):
        options = [NO_KEY, *[str(c) for c in table.frame.columns]]
        current = table.schema.primary_key or NO_KEY
        picked = grid[index % len(grid)].selectbox(
            md(table.name), options, index=options.index(current) if current in options else 0,
            key=f"related_pk_{related.fingerprint}_{index}")
        if picked != current:
            chosen = None if picked == NO_KEY else picked
            state.update_related(related.with_table(_with_primary_key(table, chosen)))
            st.rerun()

    st.markdown("**Relationships** — which child column points at which parent key.")
    if related.relationships:
        st.dataframe(pd.DataFrame([{
            "parent": r.parent, "parent key": r.parent_key, "child": r.child,
            "child key": r.child_key, "found by": r.source} for r in related.relationships]),
            hide_index=True, width="stretch")
        labels = [r.label for r in related.relationships]
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        gone = left.selectbox("Relationship to remove", labels, key="related_remove_pick")
        if right.button("Remove", key="related_remove", icon=":material/link_off:"):
            kept = tuple(r for r in related.relationships if r.label != gone)
            state.update_related(related.with_relationships(kept))
            state.flash(f"Removed {md(gone)}.", "info")
            st.rerun()
    else:
        st.caption("No relationships yet: add one below.")
    with st.expander("Add a relationship", icon=":material/add_link:"):
        left, right = st.columns(2)
        parent = left.selectbox("Parent table", related.names, key="related_add_parent")
        child = right.selectbox("Child table", related.names, key="related_add_child",
                                index=min(1, len(related.names) - 1))
        parent_table, child_table = related.table(parent), related.table(child)
        parent_columns = [str(c) for c in parent_table.frame.columns]
        key_default = parent_table.schema.primary_key
        parent_key = left.selectbox(
            "Parent key", parent_columns, key=f"related_add_parent_key_{parent}",
            index=parent_columns.index(key_default) if key_default in parent_columns else 0)
        child_columns = [str(c) for c in child_table.frame.columns]
        child_key = right.selectbox(
            "Child key (points at the parent key)", child_columns,
            key=f"related_add_child_key_{child}",
            index=child_columns.index(parent_key) if parent_key in child_columns else 0)
        if st.button("Add", key="related_add", icon=":material/add_link:"):
            link = Relationship(parent, parent_key, child, child_key, source="user")
            if any(r.to_dict() == link.to_dict() for r in related.relationships):
                st.info("That relationship is already there.", icon=":material/info:")
            else:
                updated = related
                if parent_table.schema.primary_key != parent_key:
                    updated = updated.with_table(_with_primary_key(parent_table, parent_key))
                updated = updated.with_table(_as_key(updated.table(child), child_key,
                                                     "foreign key"))
                state.update_related(updated.with_relationships(
                    (*related.relationships, link)))
                state.flash(f"Added {md(link.label)}.")
                st.rerun()


def _issues(related: RelatedTables) -> None:
    """What check_related finds, and the repair it describes."""
    issues = check_related(related)
    if not issues:
        st.success("Keys checked: every child row points at a parent that exists, every "
                   "primary key is unique, and there is no cycle.",
                   icon=":material/verified:")
        return
    st.markdown("**Problems with the keys**")
    for issue in issues:
        where = f"{issue.table}.{issue.column}" if issue.column else issue.table
        text = f"**{md(where)}** · {issue.rows:,} rows — {md(issue.message)}"
        if issue.severity == "error":
            st.error(text, icon=":material/error:")
        else:
            st.warning(text, icon=":material/warning:")
    if st.button("Repair as described", key="related_repair", icon=":material/build:",
                 help="Does exactly what each message above says; the original tables are "
                 "not changed on disk."):
        with user_errors("repairing the keys"):
            repaired, notes = repair_related(related)
            state.update_related(replace(repaired, notes=tuple(related.notes) + tuple(notes)))
            state.flash("Repaired: " + " ".join(md(note) for note in notes)
                        if notes else "Nothing needed repairing.")
            st.rerun()


def _target(related: RelatedTables) -> None:
    """The table.column a usefulness test predicts (a parent's, from its children)."""
    parents = [name for name in related.names if related.children_of(name)] or related.names
    options: list[tuple[str, str] | None] = [None]
    for name in parents:
        options.extend((name, column) for column in related.table(name).schema.modelled_columns)
    current = related.target if related.target in options else None
    picked = st.selectbox(
        "Target (what a model would predict)", options, index=options.index(current),
        format_func=lambda value: "— none —" if value is None else f"{value[0]}.{value[1]}",
        key=f"related_target_{related.fingerprint}",
        help="A column of a parent table, e.g. whether a customer churned. The usefulness "
        "test predicts it from the parent's own columns plus summaries of its children "
        "(how many accounts, total and average amounts), once trained on real and once on "
        "synthetic tables, both scored on held-out real customers.")
    if picked != related.target:
        state.update_related(replace(related, target=picked))
        st.rerun()


def show_related(related: RelatedTables) -> None:
    """The loaded related tables: diagram, keys editor, problems, target, previews."""
    st.divider()
    st.subheader(md(related.name))
    st.caption(f"{related.source} · {related.shape_label}")
    for note in related.notes:
        st.caption(f":material/info: {md(note)}")
    with st.expander("What are primary keys, foreign keys, parents and children?",
                     icon=":material/help:"):
        st.markdown(EXPLANATION)
    st.graphviz_chart(relationship_dot(related), width="stretch")
    st.caption("Each box is a table with its primary key and row count; each arrow goes "
               "from a parent to its child and is labelled with the key that joins them.")
    with st.container(border=True, key="related_editor"):
        _keys_editor(related)
    _issues(related)
    _target(related)
    tabs = st.tabs([md(name) for name in related.names])
    for tab, table in zip(tabs, related.tables, strict=True):
        with tab:
            st.dataframe(table.frame.head(100), width="stretch", height=240)
            st.caption(f"First {min(100, len(table.frame)):,} of {len(table.frame):,} rows · "
                       f"{len(table.frame.columns)} columns · primary key "
                       f"{md(table.schema.primary_key or 'none')}")
