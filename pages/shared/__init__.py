"""Streamlit helpers shared by the page scripts (the only UI code outside pages/*.py)."""
