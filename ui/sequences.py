"""The screens' sequence parts: event histories on Data, Train, Generate, Evaluate, Compare.

A table whose rows are events of entities (an account's transactions, a ticker's daily
prices, a customer's app visits) is described by a :class:`core.data.schema.SequenceSpec`
on its schema. ``core`` suggests it (:func:`core.data.sequences.suggest_sequence`) and checks
it (:func:`core.data.sequences.check_sequence`); this module lets the user confirm or edit
it on the Data page and draws what the other pages say about it. The pages call it in a
line or two, so they stay lists of widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from core.data.schema import SequenceSpec
from core.data.sequences import (
    declare_sequence,
    order_events,
)
from core.data.sequences import entity_noun as core_entity_noun
from core.data.table import StudioTable
from core.errors import MetadataError
from ui import caching, state
from ui.widgets import md, user_errors

#: The order picker's choice for "the rows are already in order".
ROW_ORDER = "(row order)"

#: What an entity, an event and context are, for a student.
EXPLANATION = (
    "**Event histories (sequences).** Some tables are not a list of independent rows but "
    "stories: each **entity** (an account, a customer, a ticker) has several rows, its "
    "**events** (a deposit, a card purchase, a day's price), in an **order** (a timestamp or "
    "a step number). **Context** columns describe the entity itself and stay the same on all "
    "its rows (the account type, the customer segment). Confirmed as sequences, the studio "
    "learns whole histories: how many events an entity has, what tends to follow what and "
    "how long in between. The held-out part keeps whole entities apart, so no entity is "
    "both learned from and tested on."
)


# --------------------------------------------------------------------------- words


def entity_noun(key: str, count: int = 2) -> str:
    """The entities' name in plain words, from the key column ("account_id" → "accounts").

    Args:
        key: The entity column's name.
        count: How many: 1 gives the singular ("account").
    """
    plural = core_entity_noun(key)
    if count != 1:
        return plural
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


def count_entities(frame: pd.DataFrame, spec: SequenceSpec) -> int:
    """How many entities ``frame`` holds (0 when the key column is missing)."""
    return int(frame[spec.key].nunique()) if spec.key in frame.columns else 0


def shape_words(frame: pd.DataFrame, spec: SequenceSpec) -> str:
    """"Sequences of account_id: 400 accounts, 9,800 events"."""
    entities = count_entities(frame, spec)
    return (f"Sequences of {spec.key}: {entities:,} {entity_noun(spec.key, entities)}, "
            f"{len(frame):,} events")


def spec_words(spec: SequenceSpec) -> str:
    """"one row per event of each account_id, ordered by timestamp"."""
    order = f"ordered by {spec.index}" if spec.index else "in the order of the rows"
    words = f"one row per event of each {spec.key}, {order}"
    if spec.context:
        words += f"; context (the same on all of an entity's rows): {', '.join(spec.context)}"
    return words


def table_line(table: StudioTable) -> str:
    """The sidebar's line under the dataset's name: its shape, in sequences when it is one."""
    if table.schema.sequence is None:
        return table.shape_label
    return shape_words(table.frame, table.schema.sequence)


# --------------------------------------------------------------------------- core, once


def suggestion(table: StudioTable) -> SequenceSpec | None:
    """The studio's guess of the table's sequence description (None: independent rows)."""
    return caching.sequence_suggestion(table.fingerprint, table)


def issues(table: StudioTable, spec: SequenceSpec) -> list[Any]:
    """:func:`core.data.sequences.check_sequence` of ``spec`` on the table's rows."""
    return caching.sequence_issues(table.fingerprint, spec, table)


def issue_count(issue: Any) -> str:
    """"12 rows", "3 entities" or "1 column": how much of the table an issue touches."""
    count = int(getattr(issue, "count", 0) or 0)
    if not count:
        return ""
    unit = str(getattr(issue, "unit", "rows") or "rows")
    if count == 1:
        unit = {"entities": "entity", "rows": "row", "columns": "column"}.get(unit, unit)
    return f"{count:,} {unit}"


def errors_of(table: StudioTable) -> list[Any]:
    """The blocking problems of the table's confirmed sequence description."""
    spec = table.schema.sequence
    if spec is None:
        return []
    return [issue for issue in issues(table, spec) if issue.severity == "error"]


def why_not_trainable(table: StudioTable) -> str | None:
    """Why Train is off for this table's sequences (an error of the check), or None."""
    errors = errors_of(table)
    if not errors:
        return None
    listed = "; ".join(f"{issue.message} ({issue_count(issue)})" if issue_count(issue)
                       else issue.message for issue in errors)
    return (f"Train is off: the event histories have a problem to fix first. {listed} "
            "Fix it on the Data page (change the entity or order column, or treat the rows "
            "as independent).")


def show_issues(found: Sequence[Any], key: str) -> None:
    """Each issue with its count: errors in red (they block training), warnings in orange."""
    if not found:
        st.caption(":material/check_circle: No problems found in the event histories.")
        return
    with st.container(key=key):
        for issue in found:
            count = issue_count(issue)  # said once: most messages start with their number
            said = f"{int(getattr(issue, 'count', 0) or 0):,}" in issue.message
            text = (f"**{count}**: " if count and not said else "") + md(issue.message)
            if issue.severity == "error":
                st.error(text + " Training is off until this is fixed.",
                         icon=":material/error:")
            else:
                st.warning(text, icon=":material/warning:")


# --------------------------------------------------------------------------- Data page


def _spec_form(table: StudioTable, start: SequenceSpec, key: str) -> SequenceSpec | None:
    """Pickers for the entity, order and context columns, starting from ``start``.

    Returns:
        The edited description, or None when the picks cannot be one (the same column
        twice).
    """
    columns = [str(column) for column in table.frame.columns]
    suffix = f"{key}_{table.fingerprint}"
    left, right = st.columns(2)
    entity = left.selectbox(
        "Entity column (whose history each row belongs to)", columns,
        index=columns.index(start.key) if start.key in columns else 0,
        key=f"seq_key_{suffix}", help="The column that repeats on every event of one entity: "
        "an account number, a customer id, a ticker.")
    orders = [ROW_ORDER, *[c for c in columns if c != entity]]
    order = right.selectbox(
        "Order column (when each event happened)", orders,
        index=orders.index(start.index) if start.index in orders else 0,
        key=f"seq_index_{suffix}", help="A timestamp or step number that orders an entity's "
        f"events. {ROW_ORDER}: the rows are already in order within each entity.")
    index = None if order == ROW_ORDER else order
    others = [c for c in columns if c not in (entity, index)]
    detected = suggestion(table)
    offered = [c for c in (detected.context if detected and detected.key == entity else ())
               if c in others]
    default = [c for c in start.context if c in others] if start.key == entity else offered
    context = st.multiselect(
        "Context columns (the same on all of an entity's rows)", others, default=default,
        key=f"seq_context_{suffix}_{entity}",
        help="Describe the entity, not the event: learned once per entity. "
        + (f"Constant per {entity} here: {', '.join(offered)}." if offered else ""))
    return SequenceSpec(key=entity, index=index, context=tuple(context))


def declared(table: StudioTable, spec: SequenceSpec | None) -> StudioTable:
    """``table`` with ``spec`` as its sequence description (None: independent rows).

    The columns the previous description retyped (its key and order column) go back to
    what detection said first; :func:`core.data.sequences.declare_sequence` then types the
    new key as an identifier and the order column as a date or number.

    Raises:
        MetadataError: ``spec`` names a column twice or one the table does not have.
    """
    schema = table.schema
    previous = schema.sequence
    if previous is not None:
        for name in (previous.key, previous.index):
            if name is not None:
                try:
                    schema = schema.with_column(table.detected_schema.column(name))
                except KeyError:
                    pass
    return table.with_schema(declare_sequence(schema, spec, table.frame))


def _confirm(table: StudioTable, spec: SequenceSpec | None) -> None:
    """Store the user's choice on the dataset: ``spec`` (sequences) or None (independent)."""
    state.update_dataset(declared(table, spec))
    state.choose_sequence(table.fingerprint, spec)


def data_section(table: StudioTable) -> None:
    """The Data page's sequence part: the suggestion or the confirmed description, editable."""
    current = table.schema.sequence
    decided = state.chosen_sequence(table.fingerprint) is not None
    suggested = None if current is not None else suggestion(table)
    if current is None and (suggested is None or decided):
        with st.expander("Are these rows event histories? (sequences)",
                         icon=":material/timeline:"):
            st.markdown(EXPLANATION)
            if suggested is None:
                st.caption("The studio found no column that repeats per entity with another "
                           "ordering it, so it treats the rows as independent. If they are "
                           "events, pick the columns here.")
            # The check runs only once asked for: on a large table it takes a moment.
            if st.toggle("These rows are events: pick the columns",
                         key=f"seq_manual_{table.fingerprint}"):
                _editor(table, suggested or _first_guess(table),
                        confirm_label="Treat as sequences", key="manual",
                        offer_independent=False)
        return
    with st.container(border=True, key="sequence_panel"):
        if current is None:
            st.markdown(f":material/timeline: **This looks like event histories:** "
                        f"{md(spec_words(suggested))}. Confirm it, change the columns, or "
                        "treat the rows as independent.")
            st.caption(md(shape_words(table.frame, suggested)))
            with st.expander("What are entities, events and context?"):
                st.markdown(EXPLANATION)
            _editor(table, suggested, confirm_label="Confirm sequences", key="suggested",
                    offer_independent=True)
        else:
            st.markdown(f":material/timeline: **{md(shape_words(table.frame, current))}** — "
                        f"{md(spec_words(current))}.")
            show_issues(issues(table, current), key="sequence_issues")
            with st.expander("Change the sequence columns", icon=":material/edit:"):
                st.markdown(EXPLANATION)
                _editor(table, current, confirm_label="Save the sequence columns",
                        key="edit", offer_independent=True)


def _first_guess(table: StudioTable) -> SequenceSpec:
    """Where the manual pickers start when the studio found nothing: the first column."""
    return SequenceSpec(key=str(table.frame.columns[0]))


def _editor(table: StudioTable, start: SequenceSpec, *, confirm_label: str, key: str,
            offer_independent: bool) -> None:
    """The pickers, the check of what they describe, and the confirm buttons."""
    spec = _spec_form(table, start, key)
    st.caption(md(shape_words(table.frame, spec)))
    if spec != table.schema.sequence:  # the confirmed one's problems are listed above
        show_issues(issues(table, spec), key=f"sequence_issues_{key}")
    with st.container(horizontal=True):
        if st.button(confirm_label, key=f"seq_confirm_{key}", type="primary",
                     icon=":material/check:", disabled=spec == table.schema.sequence):
            with user_errors("setting the sequence columns"):
                _confirm(table, spec)
                state.flash("The rows are event histories: "
                            f"{md(shape_words(table.frame, spec))}.")
                st.rerun()
        if offer_independent and st.button("Treat rows as independent",
                                           key=f"seq_independent_{key}",
                                           icon=":material/table_rows:"):
            _confirm(table, None)
            state.flash("The rows are treated as independent (no sequences).", "info")
            st.rerun()


def adopted(table: StudioTable, shipped: SequenceSpec | None = None) -> StudioTable:
    """A newly loaded table with its sequence description.

    The user's earlier answer for the same rows wins; else a shipped sample's own
    (``shipped``) arrives confirmed, still editable.
    """
    chosen = state.chosen_sequence(table.fingerprint)
    spec = chosen[0] if chosen is not None else shipped
    if spec == table.schema.sequence:
        return table
    try:
        return declared(table, spec)
    except MetadataError:  # the columns changed since: the user picks again
        return table


# --------------------------------------------------------------------------- Train


def train_shape(table: StudioTable) -> None:
    """Train's line naming the data's shape and how the split keeps entities whole."""
    spec = table.schema.sequence
    if spec is None:
        return
    noun = entity_noun(spec.key)
    st.markdown(f":material/timeline: **{md(shape_words(table.frame, spec))}**; the split "
                f"holds out whole {md(noun)} (the held-out share of them), so no "
                f"{md(entity_noun(spec.key, 1))} is both learned from and tested on. Only "
                "synthesizers that learn whole histories are offered.")


# --------------------------------------------------------------------------- Generate


def entities_input(where: Any, spec: SequenceSpec, real_train: pd.DataFrame) -> int:
    """"How many accounts": the number of entities to generate.

    The training part's count by default, for a fair comparison.
    """
    known = max(count_entities(real_train, spec), 1)
    noun = entity_noun(spec.key)
    return int(where.number_input(
        f"How many {noun}", min_value=1, max_value=1_000_000, value=known,
        step=max(1, known // 10), key="gen_entities",
        help=f"Each {entity_noun(spec.key, 1)} gets a whole history of events; by default as "
        f"many as the real training part has ({known:,}), for a fair comparison."))


def context_conditions(spec: SequenceSpec, real_train: pd.DataFrame,
                       max_values: int = 20) -> dict[str, Any]:
    """Optional fixed values of context columns (e.g. only business accounts).

    Returns:
        ``{column: value}`` for the columns the user fixed (empty when none).
    """
    fixable = [c for c in spec.context
               if c in real_train.columns and real_train[c].nunique() <= max_values]
    fixed: dict[str, Any] = {}
    if not fixable:
        return fixed
    noun = entity_noun(spec.key)
    with st.expander("Conditions (optional)", icon=":material/filter_alt:"):
        st.markdown(f"**Fix context values**: every generated {entity_noun(spec.key, 1)} gets "
                    f"these values (e.g. only one kind of {md(noun)}); their events are "
                    "generated to fit.")
        for column in st.multiselect("Context columns to fix", fixable,
                                     key="gen_fix_context"):
            options = sorted(real_train[column].dropna().unique().tolist(), key=str)
            fixed[column] = st.selectbox(f"{column} =", options, key=f"gen_fix_ctx_{column}")
    return fixed


def preview(frame: pd.DataFrame, spec: SequenceSpec, rows: int = 200) -> pd.DataFrame:
    """The first ``rows`` events, sorted by entity then order (as the download is)."""
    if spec.key not in frame.columns or (spec.index and spec.index not in frame.columns):
        return frame.head(rows)
    return order_events(frame, spec).head(rows)


def per_entity(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """One row per entity (its first event) for sequences; the rows as they are otherwise."""
    spec = schema.sequence
    if spec is None or spec.key not in frame.columns:
        return frame
    return frame.drop_duplicates(spec.key)


def default_amount(record: Any, schema: Any, real_train: pd.DataFrame) -> str:
    """What drawing a model's default sample makes: "2,800 rows" or "420 accounts"."""
    spec = schema.sequence
    if spec is None:
        return f"{record.train_rows:,} rows"
    entities = count_entities(real_train, spec)
    return f"{entities:,} {entity_noun(spec.key, entities)}"


def sample_heading(frame: pd.DataFrame, spec: SequenceSpec) -> str:
    """"40 synthetic accounts, 812 events"."""
    entities = count_entities(frame, spec)
    return f"{entities:,} synthetic {entity_noun(spec.key, entities)}, {len(frame):,} events"


# --------------------------------------------------------------------------- Evaluate

_BADGES = {"good": ":green-badge[good]", "fair": ":orange-badge[fair]",
           "poor": ":red-badge[poor]", "not measured": ":gray-badge[not measured]"}
#: The Sequences tab's parts: (title, the result's sentence and skipped key, what to look for).
_PARTS = (
    ("Events per entity", "length", "Bars of the same height mean synthetic entities have as "
     "many events as real ones; a synthetic pile at one length means every story is as long."),
    ("Which event follows which", "transitions", "Each row is the current event, each column "
     "the next one (start and end included). Read the third panel: red cells are next events "
     "the synthetic data makes too common, blue ones too rare; white means kept."),
    ("Time between events", "gaps", "Look for the synthetic bars to cover the same waiting "
     "times as the real ones, including the long tail."),
    ("Averages per entity", "aggregates", "Each pair of bars is one per-entity number (events, "
     "counts per event type, totals): short or long orange bars are what the synthetic "
     "entities do less or more of."),
    ("Memory of past values", "autocorrelation", "Solid lines are real, dashed synthetic: a "
     "dashed line near zero where the solid one is high means the model forgot that a value "
     "depends on the ones just before."),
    ("Moving together", "cross_correlation", "Whether changes of series go up and down "
     "together in synthetic data as in real data: shown, not judged."),
)


def _sequence_metrics(found: Any) -> None:
    """The headline numbers of the sequence comparison, each with its term's meaning."""
    from core.evaluation import glossary

    cards = [(key, value) for key, value in (
        ("length_score", found.length_score), ("transition_score", found.transition_score),
        ("gap_score", found.gap_score), ("autocorrelation_score", found.autocorrelation_score))
        if value is not None]
    for column, (key, value) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(glossary.name(key), glossary.fmt(key, value), help=glossary.help_text(key))
    left, middle, right = st.columns(3)
    left.metric(glossary.name("copy_rate"), glossary.fmt("copy_rate", found.copy_rate),
                delta=None if found.holdout_copy_rate is None else
                f"unseen real sequences {glossary.fmt('copy_rate', found.holdout_copy_rate)}",
                delta_color="off", help=glossary.help_text("copy_rate"))
    middle.metric(glossary.name("entity_dcr_share"),
                  glossary.fmt("entity_dcr_share", found.entity_dcr_share),
                  help=glossary.help_text("entity_dcr_share"))
    right.metric(glossary.name("entity_utility_ratio"),
                 glossary.fmt("entity_utility_ratio", found.utility_ratio),
                 help=glossary.help_text("entity_utility_ratio"))


def draw_evaluation(result: Any) -> None:
    """Evaluate's Sequences tab: every part of the sequence comparison, sentence and chart.

    A part ``core`` did not measure says why instead of drawing an empty chart.
    """
    from core.evaluation import glossary
    from core.evaluation.charts import utility_figure
    from core.evaluation.sequences import (
        aggregates_figure,
        autocorrelation_figure,
        copy_figure,
        cross_correlation_figure,
        gap_figure,
        length_figure,
        transition_figure,
    )
    from core.evaluation.thresholds import sequence_level, sequence_privacy_level
    from ui.widgets import show_chart

    found = result.sequence
    if found is None:
        st.info(f"Not measured: {result.skipped.get('sequence', 'the rows are not sequences')}.",
                icon=":material/info:")
        return
    noun = entity_noun(found.key)
    counts = found.entities
    st.markdown(
        f"Each synthetic {md(entity_noun(found.key, 1))} is a whole story. Here the "
        f"{counts.get('synthetic', 0):,} synthetic {md(noun)} are compared with the "
        f"{counts.get('real_train', 0):,} real training {md(noun)} as stories: how many "
        "events, in which order, how far apart, and whether any story was copied. Held-out "
        f"real {md(noun)} ({counts.get('holdout', 0):,}) show what chance alone gives.")
    weakest = found.weakest
    order_level = sequence_level(None if weakest is None else weakest[1])
    privacy_level = sequence_privacy_level(found.excess_copy_rate, found.entity_dcr_share)
    st.markdown(f"**Order and timing:** {_BADGES.get(order_level, '')} · "
                f"**Copying:** {_BADGES.get(privacy_level, '')}",
                help=glossary.help_text("level"))
    _sequence_metrics(found)
    for note in found.notes:
        st.caption(md(note))
    drawers = {"length": length_figure, "transitions": transition_figure, "gaps": gap_figure,
               "aggregates": aggregates_figure, "autocorrelation": autocorrelation_figure,
               "cross_correlation": cross_correlation_figure}
    available = {"length": True, "transitions": found.transitions is not None,
                 "gaps": found.gaps is not None, "aggregates": not found.aggregates.empty,
                 "autocorrelation": found.autocorrelation_score is not None,
                 "cross_correlation": found.cross is not None}
    for title, part, look in _PARTS:
        st.subheader(title)
        if not available[part]:
            st.info(f"Not measured: {found.skipped.get(part, 'nothing to compare')}.",
                    icon=":material/info:")
            continue
        if found.sentences.get(part):
            st.markdown(md(glossary.plain(found.sentences[part])))
        show_chart(drawers[part](found), key=f"eval_seq_{part}")
        st.caption(look)
    st.subheader(f"Usefulness per {entity_noun(found.key, 1)}")
    if found.utility is None:
        st.info(f"Not measured: {found.skipped.get('entity_utility', 'no entity label')}.",
                icon=":material/info:")
    else:
        st.markdown(md(found.sentences.get("entity_utility", "")))
        show_chart(utility_figure(found.utility), key="eval_seq_utility")
        st.caption("Look for orange bars as tall as the blue ones: each pair is one model "
                   "trained on synthetic vs on real entities, tested on held-out real ones.")
    st.subheader(f"Privacy per {entity_noun(found.key, 1)}")
    if found.copy_rate is None:
        st.info(f"Not measured: {found.skipped.get('copies', 'nothing to compare')}.",
                icon=":material/info:")
    else:
        st.markdown(md(found.sentences.get("copies", "")))
        show_chart(copy_figure(found), key="eval_seq_copies")
        st.caption("Orange taller than blue means the model repeats training stories more "
                   "often than unseen real ones match them by chance.")
    if found.privacy is None:
        st.caption(f"Distances per entity not measured: "
                   f"{md(found.skipped.get('entity_distances', 'too few entities'))}.")
    else:
        st.markdown(md(glossary.plain(found.sentences.get("entity_distances", ""))))


__all__ = [
    "EXPLANATION",
    "ROW_ORDER",
    "adopted",
    "context_conditions",
    "count_entities",
    "data_section",
    "declared",
    "default_amount",
    "draw_evaluation",
    "entities_input",
    "entity_noun",
    "errors_of",
    "issue_count",
    "issues",
    "per_entity",
    "preview",
    "sample_heading",
    "shape_words",
    "show_issues",
    "spec_words",
    "suggestion",
    "table_line",
    "train_shape",
    "why_not_trainable",
]
