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
    glossary,
    utility_figure,
)
from core.evaluation.charts import quality_property_figure
from core.evaluation.outputs import report_title_of, run_card
from core.evaluation.planted import canaries_of_table, check_planted, nearest_synthetic
from core.evaluation.report import build_report
from core.evaluation.thresholds import fidelity_level
from core.evaluation.verdict import Reading, relations_reading
from core.store.registry import ModelRecord
from core.workflow import (
    model_schema,
    model_split,
    model_target,
    record_scores,
    run_timings,
)
from ui import caching, demo, evidence, related_evaluation, state
from ui import sequences as sequence_ui
from ui.widgets import (
    download_button,
    evaluation_job,
    finished_job,
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
# The summary cards add a shape to colour and word (Material icons ship with Streamlit).
CARD_BADGES = {"good": ":green-badge[:material/check_circle: good]",
               "fair": ":orange-badge[:material/error: fair]",
               "poor": ":red-badge[:material/cancel: poor]",
               "not measured": ":gray-badge[:material/remove: not measured]"}


def show_reading(reading: Reading | str) -> None:
    """A reading (or the verdict's reading of an aspect), with its badge."""
    found = reading if isinstance(reading, Reading) else next(
        r for r in result.verdict.readings if r.aspect == reading)
    st.markdown(f"**Reading:** {BADGES.get(found.level, '')} — {glossary.plain(found.reason)}",
                help=glossary.help_text("level"))


st.title("Evaluate")
st.caption(
    "Three questions: are the synthetic rows **faithful** to the real ones, **useful** for "
    "the same analysis, and **private** (not copies)? Each number says what it means."
)
state.show_flash()
if state.get_related() is not None:  # several related tables (ui/related_evaluation.py)
    related_evaluation.evaluate_page()
    st.stop()
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
    if st.button(f"Generate {sequence_ui.default_amount(record, schema, real_train)} and "
                 "evaluate", type="primary", key="eval_generate"):
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
    evaluation, problem = finished_job(
        runner, status, lambda result: isinstance(result, EvaluationResult),
        action="evaluate", failed="The evaluation failed.",
        unreadable="The evaluation's result could not be read back from the worker.")
    if problem is None:  # kept in the session now
        state.put_evaluation(entry["sample_key"], evaluation)
        state.pop(state.EVALUATION_JOB)
        updated = record_scores(caching.model_registry(), record, evaluation)
        if updated is not None:
            state.put(state.CURRENT_MODEL, updated)
        st.rerun()
    # Kept, so the page does not start the same evaluation again by itself.
    state.put(state.EVALUATION_JOB, {**entry, "job_id": None, "error": problem})
    st.rerun()


target = model_target(record)
result: EvaluationResult | None = state.get_evaluation(sample.key)
if result is None:
    # The full evaluation runs in a job worker: it takes the server's CPU from nobody.
    evaluation_job(runner, state.EVALUATION_JOB, sample.key,
                   lambda: runner.start_evaluation(record, sample, real_train, holdout),
                   evaluation_panel, retry_key="eval_retry")
    st.stop()

st.markdown(
    f"**{record.label}** · {len(sample.frame):,} synthetic rows vs {len(real_train):,} real "
    f"training rows and {len(holdout):,} held-out real rows"
    + (f" · {'suggested ' if state.target_is_suggested(table) and target == table.target else ''}"
       f"target **{target}**" if target else "")
)
if result.excluded_columns:
    st.caption("Not evaluated: " + "; ".join(
        f"{column} ({why})" for column, why in result.excluded_columns.items()))

tab_names = ["Verdict", "Distributions", "Correlations", "Quality", "Utility", "Privacy",
             "Fairness", "Drivers", "Record explorer", "Report"]
if result.text is not None or "text" in result.skipped:  # the table has text columns
    tab_names.insert(tab_names.index("Drivers") + 1, "Text")
if table.planted is not None:
    tab_names.insert(tab_names.index("Record explorer"), "Planted truth")
if result.sequence is not None or "sequence" in result.skipped:  # events of entities
    tab_names.insert(1, "Sequences")
    # Measured per entity there: row-level fairness and drivers were not computed.
    tab_names = [name for name in tab_names
                 if not (name == "Fairness" and result.fairness is None
                         or name == "Drivers" and result.importance is None)]
# Keyed and stateful so a widget inside a tab (a column picker) reruns without jumping back
# to the first tab; a click on a tab reruns the script and only the open tab is computed and
# drawn. Pickers inside a tab keep their value while another tab is open.
tabs = dict(zip(tab_names, st.tabs(tab_names, key="eval_tab", on_change="rerun"),
                strict=True))


def _number_column(key: str, label: str | None = None, progress: bool = False):
    """A table column in its term's one format, with the term's meaning as its tooltip."""
    title = label or glossary.name(key)
    if progress:
        return st.column_config.ProgressColumn(title, format=glossary.table_format(key),
                                               min_value=0.0, max_value=1.0,
                                               help=glossary.help_text(key))
    return st.column_config.NumberColumn(title, format=glossary.table_format(key),
                                         help=glossary.help_text(key))


def _plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A core table with plain headers (the data's own names stay as they are)."""
    return frame.rename(columns=glossary.column_label)


# The summary cards: the aspect, its question, and its headline number's term.
CARDS = (("fidelity", "Do the rows look like the real ones?", "quality_score"),
         ("utility", "Do models trained on them work on real data?", "utility_ratio"),
         ("privacy", "Are real people's rows kept out?", "exact_copies"))


def _headline_value(key: str) -> float | None:
    if key == "quality_score":
        return result.quality.quality_score
    if key == "utility_ratio":
        return None if result.utility is None else result.utility.ratio
    return result.privacy.exact_match_rate


def _verdict() -> None:
    """The one-screen summary: the headline, three cards with their level, the warnings."""
    st.subheader(glossary.plain(result.verdict.headline))
    readings = {reading.aspect: reading for reading in result.verdict.readings}
    for column, (aspect, question, key) in zip(st.columns(3), CARDS, strict=True):
        reading = readings[aspect]
        with column.container(border=True):
            st.markdown(f"**{glossary.name(aspect)}** {CARD_BADGES.get(reading.level, '')}",
                        help=glossary.help_text(aspect))
            st.caption(question)
            st.metric(glossary.name(key), glossary.fmt(key, _headline_value(key)),
                      help=glossary.help_text(key))
            st.caption(glossary.plain(reading.reason))
    for warning in result.verdict.warnings:
        st.warning(glossary.plain(warning), icon=":material/warning:")
    st.caption("Each level is a first reading against fixed limits, not a guarantee. "
               "Hover over a name for its meaning; the Glossary page lists every term. "
               "Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))


def _distributions() -> None:
    """Per-column scores, one column's chart, the six weakest side by side."""
    st.markdown(
        "Each column's real and synthetic values on one chart. The column score is 100% "
        "minus the largest gap between the two for numbers and dates, and 100% minus the "
        "share of rows that would need another category for categories: 100% means identical."
    )
    scores = pd.DataFrame([{"column": s.column, "kind": s.sdtype, "score": s.score,
                            "reading": fidelity_level(s.score),
                            "what it means": glossary.plain(s.explanation)}
                           for s in result.columns])
    st.dataframe(scores, hide_index=True, width="stretch", column_config={
        "column": st.column_config.TextColumn("Column"),
        "kind": st.column_config.TextColumn("Kind", help="Number, date, category or yes/no: "
                                            "it decides how the column is compared."),
        "score": _number_column("column_score", progress=True),
        "reading": st.column_config.TextColumn("Reading", help=glossary.help_text("level")),
        "what it means": st.column_config.TextColumn("What it means")})
    names = [s.column for s in result.columns]  # worst first
    chosen = st.selectbox("Column", names, key="eval_column", persist_state="page")
    show_chart(result.column_figure(chosen), key="eval_column_chart")
    with st.expander("The six weakest columns side by side"):
        grid = st.columns(2)
        for index, name in enumerate(names[:6]):
            with grid[index % 2]:
                show_chart(result.column_figure(name), key=f"eval_worst_{index}")


def _correlations() -> None:
    """Real, synthetic and gap heatmaps; the pairs that changed most."""
    correlation = result.correlation
    st.markdown(glossary.plain(correlation.explanation))
    show_reading(relations_reading(correlation.pair_score))
    st.metric(glossary.name("pair_score"), glossary.fmt("pair_score", correlation.pair_score),
              help=glossary.help_text("pair_score"))
    evidence.draw_pair_ceiling(result)
    st.caption(glossary.PAIR_SCORES_DIFFER)
    show_chart(correlation_heatmaps(correlation), key="eval_heatmaps")
    st.caption("Read the third panel: a dark cell is a pair whose relation the synthetic data "
               "changed; white cells are pairs it kept.")
    if not correlation.worst_pairs.empty:
        st.markdown("**Relations the synthetic data changed most**")
        worst = correlation.worst_pairs.assign(
            measure=correlation.worst_pairs["measure"].map(glossary.measure_label))
        st.dataframe(_plain_table(worst), hide_index=True, width="stretch", column_config={
            "Measured as": st.column_config.TextColumn(help=glossary.help_text("relation")),
            "Real": _number_column("relation", "Real"),
            "Synthetic": _number_column("relation", "Synthetic"),
            "Gap": _number_column("relation_gap"),
            "Score": _number_column("pair_kept"),
            "Clearly related in real data": st.column_config.CheckboxColumn(
                help="Counted by the strong-pair trends score on the Quality tab.")})


# One sentence per Quality chart: what to look for.
QUALITY_CHARTS = {
    "Column Shapes": "Each bar is one column, worst on top: columns left of the dotted "
                     "'good' line are spread differently from the real data; see them on the "
                     "Distributions tab.",
    "Column Pair Trends": "Each bar is one pair of columns: only the coloured pairs (clearly "
                          "related in the real data) count towards the score; short coloured "
                          "bars are relations the synthetic data lost.",
    "Data Validity": "Each bar is the share of a column's synthetic values that are valid; "
                     "anything short of 100% means values outside the real range or "
                     "categories the real column never had.",
}
QUALITY_PARTS = {"Column Shapes": "column_shapes", "Column Pair Trends": "pair_trends",
                 "Data Validity": "data_validity", "Data Structure": "data_structure"}


def _quality() -> None:
    """SDMetrics' quality and validity scores, their parts, and a chart of each part."""
    quality = result.quality
    show_reading("fidelity")
    parts = dict(zip(quality.quality_properties["Property"],
                     quality.quality_properties["Score"], strict=True))
    shown = [("quality_score", quality.quality_score),
             ("column_shapes", parts.get("Column Shapes")),
             ("pair_trends", parts.get("Column Pair Trends")),
             ("diagnostic_score", quality.diagnostic_score)]
    for column, (key, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(glossary.name(key), glossary.fmt(key, value),
                      help=glossary.help_text(key))
    st.caption(glossary.PAIR_SCORES_DIFFER)
    for note in quality.notes:
        st.caption(glossary.plain(note))
    diagnostic = quality.diagnostic_properties
    st.caption("The validity score is the average of: " + "; ".join(
        f"{glossary.name(QUALITY_PARTS.get(part, 'data_validity')).lower()} "
        f"{glossary.fmt('diagnostic_score', score)}"
        for part, score in zip(diagnostic["Property"], diagnostic["Score"], strict=True)
        if part in QUALITY_PARTS) + ".")
    for name, sentence in QUALITY_CHARTS.items():
        figure = quality_property_figure(name, quality.details.get(name))
        if figure is not None:
            st.markdown(f"**{glossary.name(QUALITY_PARTS[name])}** — {sentence}")
            show_chart(figure, key=f"eval_quality_{name}")
    evidence.draw_ceiling(result)


def _utility() -> None:
    """Models trained on synthetic vs real rows, scored on the same held-out real rows."""
    show_reading("utility")
    utility = result.utility
    if utility is None:
        st.info(glossary.plain(f"Utility not measured: {result.utility_reason}."),
                icon=":material/info:")
    else:
        st.markdown(
            f"Three models learn to predict **{utility.target}** ({utility.task}) once from "
            "real training rows and once from synthetic rows; both are scored on the same "
            "held-out real rows. " + glossary.plain(utility.explanation)
        )
        metric = "macro_f1" if utility.metric == "macro_f1" else "r2"
        score = glossary.name(metric).lower()
        cols = st.columns(3)
        cols[0].metric(f"{glossary.name('trained_on_real')}: {score}",
                       glossary.fmt(metric, utility.real),
                       help=f"{glossary.help_text('trained_on_real')} "
                       f"{glossary.help_text(metric)}")
        cols[1].metric(f"{glossary.name('trained_on_synthetic')}: {score}",
                       glossary.fmt(metric, utility.synthetic),
                       help=f"{glossary.help_text('trained_on_synthetic')} "
                       f"{glossary.help_text(metric)}")
        cols[2].metric(glossary.name("utility_ratio"),
                       glossary.fmt("utility_ratio", utility.ratio),
                       help=glossary.help_text("utility_ratio"))
        show_chart(utility_figure(utility), key="eval_utility")
        st.caption("Look for orange bars as tall as the blue ones: a short orange bar is a "
                   "score the synthetic data could not teach the models.")
        table = utility.table.assign(metric=[
            glossary.name(m) if m in glossary.TERMS else m for m in utility.table["metric"]])
        st.dataframe(_plain_table(table), hide_index=True, width="stretch", column_config={
            "Score of": st.column_config.TextColumn(
                help="Which score the row compares; the Glossary page explains each."),
            "Trained on real": st.column_config.NumberColumn(
                format=glossary.table_format("macro_f1"),
                help=glossary.help_text("trained_on_real")),
            "Trained on synthetic": st.column_config.NumberColumn(
                format=glossary.table_format("macro_f1"),
                help=glossary.help_text("trained_on_synthetic")),
            "Synthetic ÷ real": _number_column("utility_ratio", "Synthetic ÷ real"),
            "Higher is better": st.column_config.CheckboxColumn(
                help="Ticked for scores where higher is better; for the average error "
                "lower is better, and the ratio is turned round so below 100% is worse.")})
        for note in utility.notes:
            st.caption(glossary.plain(note))


def _privacy() -> None:
    """Exact copies, closeness to training rows and the distance ratio."""
    privacy = result.privacy
    show_reading("privacy")
    evidence.draw_epsilon(result)
    st.subheader("Distances")
    cols = st.columns(3)
    for column, key, value in ((cols[0], "exact_copies", privacy.exact_match_rate),
                               (cols[1], "dcr_share", privacy.dcr_share),
                               (cols[2], "nndr", privacy.nndr_median)):
        label = glossary.name(key) if key != "nndr" else "Median " + glossary.name(key).lower()
        column.metric(label, glossary.fmt(key, value), help=glossary.help_text(key))
    for key in ("exact_match", "dcr", "dcr_share", "nndr"):
        if privacy.explanations.get(key):
            st.markdown(f"- {glossary.plain(privacy.explanations[key])}")
    show_chart(dcr_figure(privacy), key="eval_dcr")
    st.caption("Look at the left edge: orange piled up near 0, left of the blue, means "
               "synthetic rows sit on top of training rows (copying).")
    evidence.draw_attacks(result)


def _fairness() -> None:
    """Outcome rates per group and fairness gaps, on the columns the user picks."""
    evidence.draw_fairness(result, sample.key, schema, real_train, holdout, sample.frame)


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
        "synthetic": c.synthetic, "recovered": "yes" if c.recovered else "no",
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
                     help=glossary.help_text("canary"),
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
            for c in canary_result.checks]), hide_index=True, width="stretch", column_config={
                "closest synthetic row": _number_column("dcr", "closest synthetic row"),
                "closest other real row": _number_column("dcr", "closest other real row")})
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
    left.metric("Closest synthetic row to this real row", glossary.fmt("dcr", distances[0]),
                help=glossary.help_text("dcr"))
    right.metric("…to a held-out row the model never saw", glossary.fmt("dcr", baseline[0]),
                 help="The distance a row gets by chance. Much smaller on the left means "
                 "the model stayed close to this training row.")
    st.dataframe(neighbours.assign(distance=distances), width="stretch", hide_index=True,
                 column_config={"distance": _number_column("dcr", "distance")})


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
        "Fairness": _fairness, "Drivers": lambda: evidence.draw_drivers(result),
        "Text": lambda: evidence.draw_text(result),
        "Sequences": lambda: sequence_ui.draw_evaluation(result),
        "Planted truth": _planted_truth, "Record explorer": _explorer, "Report": _report}
for name, tab in tabs.items():
    if tab.open:
        with tab:
            DRAW[name]()
