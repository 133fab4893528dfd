"""The launcher `make run` uses: preloads what the pages import, never torch or SDV."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ui.serve import ROOT, page_dependencies


def test_page_dependencies_cover_what_the_data_page_imports_and_skip_streamlit():
    names = page_dependencies()
    assert {"pandas", "core.charts", "core.data.datasets", "core.data.loading",
            "core.data.profiling"} <= set(names)
    assert not [name for name in names if name.split(".")[0] in {"streamlit", "ui", "app_pages"}]


def test_page_dependencies_follow_the_pages(tmp_path: Path):
    (tmp_path / "app_pages").mkdir()
    (tmp_path / "app.py").write_text("import streamlit as st\nfrom ui import x\n")
    (tmp_path / "app_pages" / "one.py").write_text(
        "from __future__ import annotations\nimport json\nfrom email import message\n"
        "def f():\n    import sqlite3\n")
    # Top-level imports only: a page's lazy import inside a function stays lazy.
    assert page_dependencies(tmp_path) == ["email", "email.message", "json"]


def test_preload_imports_the_pages_libraries_but_not_torch_or_sdv():
    # A fresh interpreter: other tests import torch into this one.
    code = (
        "import json, sys\n"
        "from ui.serve import preload\n"
        "done = preload()\n"
        "print(json.dumps({'done': done, 'loaded': sorted(m for m in ('pandas', 'plotly', "
        "'core.charts', 'torch', 'sdv', 'sdmetrics', 'sklearn') if m in sys.modules)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == ["core.charts", "pandas", "plotly"]
    assert "core.errors" in report["done"]
    assert "core.errors.StudioError" not in report["done"]  # a class, not a module


def test_the_launcher_refuses_to_serve_with_an_empty_signing_key(tmp_path, monkeypatch, capsys):
    from core.store.settings import get_settings
    from ui.serve import main

    (tmp_path / "secret.key").write_bytes(b"")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STUDIO_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        assert main([]) == 1
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "holds 0 bytes" in capsys.readouterr().err


def test_the_background_warm_up_and_a_first_detection_import_sdv_without_deadlock():
    # The server's warm-up thread and a page detecting a schema import SDV at the same time;
    # importlib raised _DeadlockError in the thread when both imported it unguarded.
    script = (
        "import threading, sys\n"
        "errors = []\n"
        "threading.excepthook = lambda args: errors.append(repr(args.exc_value))\n"
        "from ui import warmup\n"
        "from core.engine.metadata import detect_table\n"
        "from tests.helpers import make_people\n"
        "warmup.start()\n"
        "table = detect_table(make_people(50), 'people.csv', 'test')\n"
        "[t.join() for t in threading.enumerate() if t.name == 'studio-warmup']\n"
        "from core.engine.device import detect_device\n"
        "print(len(table.schema.columns), detect_device.cache_info().currsize, errors)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["14", "1", "[]"], done.stdout + done.stderr[-2000:]
