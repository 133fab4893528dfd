"""Streamlit helpers the page scripts share: session state, caches, widgets, sidebar, demo.

The only UI code besides app.py and app_pages/. The page scripts are not in a folder named
``pages/``: Streamlit would switch to its legacy auto-navigation (docs/ARCHITECTURE.md).
"""
