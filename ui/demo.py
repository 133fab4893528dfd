"""The guided demo: the whole walk on a faked table, one narrated stop per page.

One button on the Data page starts it. Each page shows a banner with what to say and a
button for the next step; the presenter talks, then clicks. The walk (fake 3,000 loan
applicants with canaries → Quick Gaussian Copula in a background worker → generate →
evaluate) takes well under a minute on a laptop CPU.
"""

from __future__ import annotations

import streamlit as st

from core.data import datasets
from core.data.table import fingerprint_frame
from core.engine.training import TrainingRequest
from core.evaluation.planted import planted_truth
from core.workflow import plan_request
from ui import caching, state
from ui.widgets import generate_rows, train_in_background, user_errors

DEMO = "studio.demo"
SPEC = datasets.FakeSpec(domain="loans", rows=3000, correlation=0.8, rare_rate=0.12,
                         outlier_rate=0.03, canaries=8, seed=7)

NARRATION = {
    "data": (
        "**Step 1 of 4 — the real data.** 3,000 loan applicants, faked so everyone is "
        "fictitious, but built like the real thing: higher income goes with a higher credit "
        "score and fewer defaults, 12% defaulted, 3% earn far more than the rest, and 8 "
        "*canary* applicants are deliberately unusual. Open **Metadata**: names, SSNs, "
        "e-mails and addresses are personal data and will be replaced by fake values; the "
        "`state` column was corrected from 'address' to a plain category."
    ),
    "train": (
        "**Step 2 of 4 — learn the data.** A Gaussian Copula learns each column's shape and "
        "one table of how columns move together. It only sees 70% of the rows; the other "
        "30% are kept aside to test it fairly. Training runs in the background."
    ),
    "generate": (
        "**Step 3 of 4 — invent new rows.** The model now draws brand-new applicants. None "
        "is a real person, yet together they should look like the real table."
    ),
    "evaluate": (
        "**Step 4 of 4 — is it any good?** The verdict answers three questions: are the "
        "rows faithful, useful and private? Show **Distributions** (real vs synthetic), then "
        "**Utility** (a model trained on synthetic rows, tested on real ones), then "
        "**Planted truth**: the relations are recovered and no canary reappears — the model "
        "learned the pattern, not the people."
    ),
}


def active() -> bool:
    """True while the demo runs."""
    return st.session_state.get(DEMO) is not None


def _step() -> str:
    return st.session_state.get(DEMO, {}).get("step", "data")


def _go(step: str, page: str) -> None:
    st.session_state[DEMO] = {"step": step}
    st.switch_page(page)


def start() -> None:
    """Fake the demo table and open step 1."""
    frame = datasets.fake_dataset(SPEC)
    table = caching.studio_table(fingerprint_frame(frame), frame, "demo: loan applicants",
                                 "Guided demo (Faker, seed 7, 8 canaries)", (), "defaulted",
                                 planted_truth(SPEC))
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
    """What the demo trains: a Quick Gaussian Copula, seed 0, the default split."""
    return plan_request(state.get_dataset(), "gaussian_copula", "quick", seed=0)


def banner(page: str) -> None:
    """Show the narration and the next-step button when the demo is on ``page``."""
    if not active() or _step() != page:
        return
    with st.container(border=True, key="demo_banner"):
        st.markdown(f":material/co_present: {NARRATION[page]}")
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
                if left.button("Train a Quick Gaussian Copula", type="primary",
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
