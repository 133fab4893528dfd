"""The sidebar every page shares: current dataset, model, device and where jobs run."""

from __future__ import annotations

import streamlit as st

from ui import caching, presentation, state, warmup
from ui.widgets import md


def render() -> None:
    """Draw the shared sidebar."""
    with st.sidebar:
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
