"""The sidebar every page shares: workspace, current dataset, model, device, where jobs run.

It runs before every page, so it is also where a session joins its workspace
(:func:`ui.workspace.ensure`): a reload or a bookmark brings the workspace back before the
page draws.
"""

from __future__ import annotations

import streamlit as st

from core.engine.catalogue import REGISTRY
from core.jobs.status import STAGE_QUEUED, JobStatus, queue_stage
from ui import caching, presentation, state, warmup, workspace
from ui import sequences as sequence_ui
from ui.widgets import md

WORKSPACE_NOTICE = (
    "This workspace lives in the page's link: a reload or a bookmark brings back its data, "
    "models and running training. **Whoever has the link sees and changes this "
    "workspace** — share it on purpose (a class's link), not by accident."
)


def render() -> None:
    """Join the session's workspace, then draw the shared sidebar."""
    workspace.ensure()
    with st.sidebar:
        st.markdown("### Workspace")
        st.caption(WORKSPACE_NOTICE)
        st.button("New private workspace", key="workspace_new", on_click=workspace.start_new,
                  icon=":material/add_circle:",
                  help="Start empty in a workspace of your own (a new link). This one stays "
                  "as it is; its link still opens it.")
        st.markdown("### Session")
        table = state.get_dataset()
        related_tables = state.get_related()
        if related_tables is not None:  # several related tables instead of one
            from ui.related import dataset_line

            st.markdown(f"**Dataset:** {md(dataset_line(related_tables))}",
                        help=md(related_tables.source))
            links = len(related_tables.relationships)
            st.caption(f"{links} relationship{'' if links == 1 else 's'} · target: "
                       + (".".join(related_tables.target) if related_tables.target else "—"))
        elif table is None:
            st.caption("**Dataset:** none loaded yet")
        else:
            st.markdown(f"**Dataset:** {md(table.name)}", help=md(table.source))
            st.caption(f"{md(sequence_ui.table_line(table))} · target: {table.target or '—'}")
        model = state.get(state.CURRENT_MODEL) or state.get(state.RELATED_MODEL)
        if model is None:
            st.caption("**Model:** none trained yet")
        else:
            st.markdown(f"**Model:** {model.label}")
            if getattr(model, "privacy_label", None):  # records pickled before DP have none
                st.caption(f":material/shield_lock: {model.privacy_label}")
        device = warmup.device_if_known()
        preference = state.get_device_preference()
        shown = device or "detecting…"
        if preference == "cpu" and device and not device.startswith("CPU"):
            shown = f"CPU (forced; {device} available)"
        st.markdown(f"**Device:** {shown}")
        jobs = running_jobs()
        if jobs:
            runner = caching.job_runner()
            if any(runner.status(job_id).is_active for job_id, _, _ in jobs):
                jobs_panel()
            else:  # ended, not yet collected by its page: no need to poll
                draw_jobs([(runner.status(job_id), page, name) for job_id, page, name in jobs])
        where, warning = caching.job_backend()
        st.markdown(f"**Jobs run on:** {where}")
        if warning:
            st.warning(warning, icon=":material/cloud_off:")
        st.divider()
        presentation.controls()


#: The session's job keys, in the order shown: (key, the page that follows the job, its name).
_JOB_PAGES = (
    (state.CURRENT_JOB, "app_pages/train.py", "Train"),
    (state.COMPARE_JOB, "app_pages/compare.py", "Compare"),
    (state.SAMPLE_JOB, "app_pages/generate.py", "Generate"),
    (state.EVALUATION_JOB, "app_pages/evaluate.py", "Evaluate"),
    (state.RELATED_JOB, "app_pages/train.py", "Train"),
)


def running_jobs() -> list[tuple[str, str, str]]:
    """The session's jobs as (job id, owning page, page name); only state reads, no I/O."""
    jobs = []
    for key, page, name in _JOB_PAGES:
        value = state.get(key)
        job_id = value.get("job_id") if isinstance(value, dict) else value
        if job_id:
            jobs.append((job_id, page, name))
    return jobs


def job_line(status: JobStatus) -> str:
    """What a job does, in a few words ("Training TVAE", "Comparing the candidates")."""
    if status.kind == "train":
        title = REGISTRY[status.synthesizer].title if status.synthesizer in REGISTRY else ""
        return f"Training {title}".strip()
    if status.kind == "related":
        return "Training the related tables"
    return {"compare": "Comparing the candidates", "sample": "Generating rows",
            "evaluate": "Evaluating the rows"}.get(status.kind, "A background job")


def draw_jobs(jobs: list[tuple[JobStatus, str, str]]) -> None:
    """One line per job (what it does, its stage or progress) and a link to its page."""
    with st.container(border=True, key="sidebar_jobs"):
        for status, page, name in jobs:
            st.markdown(f"**{job_line(status)}**")
            if status.is_active:
                queued = status.state == "queued"
                stage = (queue_stage(status.queue_position) if queued and status.queue_position
                         else STAGE_QUEUED if queued else status.stage)
                fraction = None if queued else status.measured_fraction
                if fraction is None:
                    st.caption(md(stage))
                else:
                    st.progress(float(fraction), text=md(stage))
            elif status.state == "done":
                st.caption(f"Finished: open {name} to see it.")
            else:
                st.caption(md(status.message or f"Ended ({status.state})."))
            st.page_link(page, label=f"Open {name}", icon=":material/arrow_forward:")


@st.fragment(run_every=1.0)
def jobs_panel() -> None:
    """The session's jobs while one is queued or running, redrawn each second.

    Drawn only while a job is active, so an idle page does not poll; each second it reads
    the jobs' statuses (a small file each). Once none is active, one full run draws the
    last lines and stops the polling.
    """
    runner = caching.job_runner()
    jobs = [(runner.status(job_id), page, name) for job_id, page, name in running_jobs()]
    draw_jobs(jobs)
    if not any(status.is_active for status, _, _ in jobs):
        st.rerun()
