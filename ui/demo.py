"""The guided demo: the whole walk on a faked table, one narrated stop per page.

One button on the Data page starts it (with a seed beside it: another seed is another draw
of the same kind of table). Each page shows a banner with what to say and a button for the
next step; the presenter talks, then clicks. Every sentence that states a result is built
from the numbers on the page (:mod:`core.evaluation.narration`): a poor result is said to be
poor, with why and what to try. The walk (fake 3,000 loan applicants with canaries →
a Balanced Gaussian Copula in a background worker → generate → evaluate) takes well under a
minute on a 2-core CPU, and with the default seed it recovers every planted pattern
(measured in tests/test_narration.py).
"""

from __future__ import annotations

import streamlit as st

from core.data import datasets
from core.data.table import fingerprint_frame
from core.engine.catalogue import get_spec
from core.engine.training import TrainingRequest
from core.evaluation import narration
from core.evaluation.planted import canaries_of_table, check_planted, planted_truth
from core.workflow import model_schema, model_split, plan_request
from ui import caching, state
from ui.widgets import generate_rows, train_in_background, user_errors

DEMO = "studio.demo"
SEED = "demo_seed"  # the widget beside the start button: the seed of the draw
#: A seed measured to recover every planted pattern with the demo's model (see the table in
#: tests/test_narration.py's docstring); other seeds are other draws of the same table.
DEFAULT_SEED = 7
NAME = "demo: loan applicants"
#: What the demo trains: measured on this table, the Balanced Gaussian Copula (each column's
#: real shape, one copula per class of the target) keeps the planted relations in about a
#: second; the Quick one loses them (its bell curves and single copula blur the defaults).
SYNTHESIZER, PRESET = "gaussian_copula", "balanced"


def demo_spec(seed: int = DEFAULT_SEED) -> datasets.FakeSpec:
    """The demo's faked table for ``seed``."""
    return datasets.FakeSpec(domain="loans", rows=3000, correlation=0.8, rare_rate=0.12,
                             outlier_rate=0.03, canaries=8, seed=seed)


SPEC = demo_spec()


def active() -> bool:
    """True while the demo runs."""
    return st.session_state.get(DEMO) is not None


def step() -> str:
    """The page the demo is at: ``data``, ``train``, ``generate`` or ``evaluate``."""
    return (st.session_state.get(DEMO) or {}).get("step", "data")


def _go(step_name: str, page: str) -> None:
    st.session_state[DEMO] = {"step": step_name}
    st.switch_page(page)


def seed_input(container: st.delta_generator.DeltaGenerator | None = None) -> int:
    """The small "draw" number beside the start button; :func:`start` fakes with it."""
    where = container or st
    return int(where.number_input(
        "Draw (seed)", min_value=0, max_value=9_999, value=DEFAULT_SEED, step=1, key=SEED,
        help=f"Another number fakes another table of the same kind. {DEFAULT_SEED} is known "
             "to end well; others show what happens on a different draw.",
    ))


def start(seed: int | None = None) -> None:
    """Fake the demo table (``seed``, else the one picked beside the button) and open step 1."""
    seed = int(st.session_state.get(SEED, DEFAULT_SEED) if seed is None else seed)
    spec = demo_spec(seed)
    frame = datasets.fake_dataset(spec)
    table = caching.studio_table(fingerprint_frame(frame), frame, NAME,
                                 f"Guided demo (Faker, seed {seed}, {spec.canaries} canaries)",
                                 (), "defaulted", planted_truth(spec))
    state.set_dataset(table)
    st.session_state[DEMO] = {"step": "data"}
    st.rerun()


def stop() -> None:
    """End the demo (the loaded data and model stay)."""
    st.session_state.pop(DEMO, None)


def finish() -> None:
    """End the demo with a word on what stays (a callback: it runs before the rerun)."""
    stop()
    state.flash("Demo finished. Everything it made stays loaded to explore.")


def _train_request() -> TrainingRequest:
    """What the demo trains: :data:`SYNTHESIZER` with :data:`PRESET`, seed 0, default split."""
    return plan_request(state.get_dataset(), SYNTHESIZER, PRESET, seed=0)


def _model_words() -> str:
    """"Balanced Gaussian Copula": the preset and synthesizer :func:`_train_request` trains."""
    return f"{PRESET.capitalize()} {get_spec(SYNTHESIZER).title}"


def _current_sample():
    """The current model's record and rows, or None for either."""
    record = state.get(state.CURRENT_MODEL)
    sample = state.get(state.SYNTHETIC)
    if sample is None or record is None or sample.model_id != record.model_id:
        return record, None
    return record, sample


def _narration(page: str) -> str:
    """What to say on ``page``, from what the page shows now."""
    table = state.get_dataset()
    if page == "data":
        return narration.data_narration(table)
    if page == "train":
        request = _train_request()
        return narration.train_narration(request.synthesizer, get_spec(SYNTHESIZER).title,
                                         request.preset, request.params, table.target,
                                         request.split.test_size)
    record, sample = _current_sample()
    if page == "generate":
        return narration.generate_narration(len(sample.frame) if sample is not None else None)
    evaluation = state.get_evaluation(sample.key) if sample is not None else None
    checks, canaries = [], None
    if evaluation is not None and table.planted is not None:
        real_train, _ = caching.real_parts_for(table, record)
        checks = check_planted(table.planted, real_train, sample.frame)
        if table.planted.canary_positions:
            canaries = canaries_of_table(table.frame, table.planted, model_schema(record),
                                         model_split(record), real_train, sample.frame)
    synthesizer = record.synthesizer if record is not None else SYNTHESIZER
    said = narration.evaluate_narration(evaluation, checks, canaries, synthesizer,
                                        record.preset if record is not None else PRESET,
                                        title=get_spec(synthesizer).title)
    if evaluation is None:
        return " ".join(said)
    return " ".join(said[:-1]) + "\n\n" + said[-1]  # the lesson on a line of its own


def banner(page: str) -> None:
    """Show the narration and the next-step button when the demo is on ``page``."""
    if not active() or step() != page:
        return
    with st.container(border=True, key="demo_banner"):
        st.markdown(f":material/co_present: {_narration(page)}")
        left, right = st.columns([3, 1])
        right.button("End the demo", key="demo_stop", on_click=stop)
        if page == "data":
            if left.button("Next: train a model →", type="primary", key="demo_next"):
                _go("train", "app_pages/train.py")
        elif page == "train":
            record = state.get(state.CURRENT_MODEL)
            table = state.get_dataset()
            if record is not None and record.data_fingerprint == table.fingerprint:
                if left.button("Next: generate rows →", type="primary", key="demo_next"):
                    _go("generate", "app_pages/generate.py")
            elif state.get(state.CURRENT_JOB) is None:
                if left.button(f"Train a {_model_words()}", type="primary",
                               key="demo_train"):
                    train_in_background(_train_request(), table.frame)
                    st.rerun()
            else:
                left.caption("Training… the progress is below.")
        elif page == "generate":
            sample = state.get(state.SYNTHETIC)
            record = state.get(state.CURRENT_MODEL)
            if sample is not None and record is not None and sample.model_id == record.model_id:
                if left.button("Next: evaluate →", type="primary", key="demo_next"):
                    _go("evaluate", "app_pages/evaluate.py")
            elif state.get(state.SAMPLE_JOB) is not None:
                left.caption("Generating… the progress is below.")
            elif record is not None and left.button(
                f"Generate {record.train_rows:,} rows", type="primary", key="demo_generate"
            ):
                with user_errors("generating rows"):  # as the Generate page does
                    generate_rows(record)
                    st.rerun()
        elif page == "evaluate":
            left.button("Finish the demo", type="primary", key="demo_finish", on_click=finish)
