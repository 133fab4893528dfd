"""Evaluate: compare synthetic with real data."""

import streamlit as st

from pages.shared.ui import require_dataset

st.title("Evaluate")
if require_dataset():
    st.info("Train a model first: this page arrives with the next release.", icon=":material/info:")
