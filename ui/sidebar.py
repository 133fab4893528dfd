"""The sidebar every page shares: workspace, current dataset, model, device, where jobs run.

It runs before every page, so it is also where a session joins its workspace
(:func:`ui.workspace.ensure`): a reload or a bookmark brings the workspace back before the
page draws.
"""

from __future__ import annotations

import streamlit as st

from ui import caching, presentation, state, warmup, workspace
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
        if table is None:
            st.caption("**Dataset:** none loaded yet")
        else:
            st.markdown(f"**Dataset:** {md(table.name)}", help=md(table.source))
            st.caption(f"{table.shape_label} · target: {table.target or '—'}")
        model = state.get(state.CURRENT_MODEL)
        if model is None:
            st.caption("**Model:** none trained yet")
        else:
            st.markdown(f"**Model:** {model.label}")
        device = warmup.device_if_known()
        preference = state.get_device_preference()
        shown = device or "detecting…"
        if preference == "cpu" and device and not device.startswith("CPU"):
            shown = f"CPU (forced; {device} available)"
        st.markdown(f"**Device:** {shown}")
        where, warning = caching.job_backend()
        st.markdown(f"**Jobs run on:** {where}")
        if warning:
            st.warning(warning, icon=":material/cloud_off:")
        st.divider()
        presentation.controls()
    presentation.apply_style()
