"""Synthetic Data Studio: the router. Each screen lives in app_pages/, all logic in core/."""

from pathlib import Path

import streamlit as st

from ui import presentation, sidebar, warmup

HERE = Path(__file__).parent

# A local icon: a Material icon name would make the browser fetch it from Google's servers.
st.set_page_config(page_title="Synthetic Data Studio",
                   page_icon=str(HERE / "ui/assets/icon.png"), layout="wide",
                   initial_sidebar_state=presentation.sidebar_state())

navigation = st.navigation(
    [
        st.Page(HERE / "app_pages/data.py", title="Data", icon=":material/table:", default=True),
        st.Page(HERE / "app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page(HERE / "app_pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
        st.Page(HERE / "app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page(HERE / "app_pages/compare.py", title="Compare", icon=":material/leaderboard:"),
        st.Page(HERE / "app_pages/privacy_budget.py", title="Privacy budget",
                icon=":material/shield_lock:"),
        st.Page(HERE / "app_pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    ],
    position=presentation.navigation_position(),
)
# On every run, whatever started it (a click, a reload, st.switch_page): a page switch
# cannot lose the style.
presentation.apply_style()
sidebar.render()
try:
    navigation.run()
finally:
    # After the page is drawn (pages may st.stop()), so importing SDV in the background
    # cannot delay the first paint.
    warmup.start()
