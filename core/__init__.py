"""Synthetic Data Studio core: a typed library with no Streamlit dependency.

Import the submodules you need (``core.data.loading``, ``core.data.schema``, ...). Heavy
dependencies (SDV, torch, SDMetrics) are imported lazily inside the functions that use
them, so the app paints its first page fast.
"""

__version__ = "0.1.0"
