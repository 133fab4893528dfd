"""Uploads that are small on disk but huge once read: each is refused or read within bounds.

The workbooks are written here as raw sheet XML in a zip (a few KB to a few MB, never
committed). The big ones are loaded in a child process whose peak memory (its high-water
mark) is reported back, so the ceiling is measured for the load alone. No test measures
time: the work is bounded structurally instead (the row where reading stopped, the rows
read before a refusal).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from openpyxl import Workbook

from core.data.loading import TableBudgetError, list_excel_sheets, load_table
from core.errors import DataLoadError, DataValidationError

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PEAK_CEILING_MB = 500

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# One cell style besides the default: a grey fill, as "format these rows" writes it.
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="1" borderId="0" xfId="0" applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def workbook_xml(sheets: dict[str, Iterable[str]], dimension: str | None = None,
                 shared_strings: list[str] | None = None) -> bytes:
    """An .xlsx whose sheets hold the given ``<row>`` XML chunks, written as they come."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    if shared_strings is not None:
        overrides += (f'<Override PartName="/xl/sharedStrings.xml" '
                      f'ContentType="{_TYPE}.sharedStrings+xml"/>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"))
        archive.writestr("_rels/.rels", (
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/officeDocument"'
            ' Target="xl/workbook.xml"/></Relationships>'))
        sheet_list = "".join(
            f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, start=1))
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheet_list}</sheets></workbook>'))
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{_PKG}">{rels}<Relationship Id="rId{len(names) + 1}" '
            f'Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
        archive.writestr("xl/styles.xml", _STYLES)
        if shared_strings is not None:
            items = "".join(f"<si><t>{text}</t></si>" for text in shared_strings)
            archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}">{items}</sst>')
        for i, name in enumerate(names, start=1):
            with archive.open(f"xl/worksheets/sheet{i}.xml", "w") as sheet:
                tag = f'<dimension ref="{dimension}"/>' if dimension else ""
                sheet.write(f'<worksheet xmlns="{_MAIN}">{tag}<sheetData>'.encode())
                for chunk in sheets[name]:
                    sheet.write(chunk.encode())
                sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def small_table(rows: int = 5) -> str:
    """A header (a, b, c) and ``rows - 1`` rows of numbers, as sheet XML."""
    header = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{c.lower()}</t></is></c>' for c in "ABC")
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r * 10 + k}</v></c>'
                                   for k, c in enumerate("ABC")) + "</row>"
        for r in range(2, rows + 1))
    return f'<row r="1">{header}</row>{body}'


def numbered_rows(first: int, last: int, template: str, step: int = 10_000) -> Iterable[str]:
    """``template.format(r=n)`` for n in first..last, in chunks (bombs are written lazily)."""
    for start in range(first, last + 1, step):
        yield "".join(template.format(r=r) for r in range(start, min(start + step, last + 1)))


def load_in_child(path: Path, **env: str) -> dict:
    """Load ``path`` with load_table in a fresh interpreter; its outcome and peak memory."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from core.data.loading import load_table\n"
        "path = Path(sys.argv[1])\n"
        "try:\n"
        "    loaded = load_table(path.read_bytes(), path.name)\n"
        "    result = {'shape': list(loaded.frame.shape), 'notes': list(loaded.notes),\n"
        "              'columns': list(loaded.frame.columns),\n"
        "              'first': loaded.frame.iloc[0].tolist()}\n"
        "except Exception as error:\n"
        "    result = {'error': type(error).__name__, 'message': str(error),\n"
        "              'rows_read': getattr(error, 'rows_read', None)}\n"
        # VmHWM is this program's own peak: ru_maxrss also keeps the forked parent's.
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
        "result['peak_mb'] = peak / 1024\n"
        "print(json.dumps(result, default=str))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=900, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- bombs


def test_width_bomb_is_refused_at_its_first_row_in_little_memory(tmp_path: Path) -> None:
    # 8,000 rows with one value each in column XFD (16,384): 41 KB on disk, and gigabytes
    # once every row is padded out to its last column.
    path = tmp_path / "width_bomb.xlsx"
    path.write_bytes(workbook_xml(
        {"Sheet1": numbered_rows(1, 8_000, '<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>')},
        dimension="A1"))
    assert path.stat().st_size < 64 * 1024

    result = load_in_child(path)

    assert result.get("error") == DataValidationError.__name__, result
    message = result["message"]
    assert "column XFD (column 16,384)" in message
    assert "row 1;" in message  # refused at the first value, not after the whole sheet
    assert "at most 1,000 columns" in message
    assert result["peak_mb"] < PEAK_CEILING_MB


@pytest.mark.parametrize(
    ("rows", "template"),
    [
        (1_000_000, '<row r="{r}" s="1" customFormat="1"/>'),
        (100_000, '<row r="{r}">' + "".join(f'<c r="{c}{{r}}" s="1"/>' for c in "ABCDEFGHIJ")
         + "</row>"),
    ],
    ids=["formatted-rows", "formatted-empty-cells"],
)
def test_formatted_rows_bomb_loads_the_table_and_stops_reading_early(
    tmp_path: Path, rows: int, template: str
) -> None:
    # A 5-row table, then formatting without values down to row 1,000,000 (or empty styled
    # cells in ten columns of 100,000 rows): minutes of parsing before, for no data.
    path = tmp_path / "formatted_bomb.xlsx"
    path.write_bytes(workbook_xml(
        {"Sheet1": [small_table(5), *numbered_rows(6, rows, template)]},
        dimension=f"A1:J{rows}"))

    result = load_in_child(path)

    assert result.get("shape") == [4, 3], result
    assert result["columns"] == ["a", "b", "c"]
    assert result["first"] == [20, 21, 22]
    stopped = [note for note in result["notes"] if note.startswith("Stopped reading at row")]
    assert stopped, result["notes"]
    assert "nothing after row 5 holds a value" in stopped[0]
    where = int(re.search(r"row ([\d,]+):", stopped[0]).group(1).replace(",", ""))
    assert where <= 5 + 100_000  # at most the idle limit past the data...
    assert where < rows  # ...so the formatting below it was never read
    assert result["peak_mb"] < PEAK_CEILING_MB


def test_large_sheet_is_refused_at_the_memory_budget_named_with_its_setting(
    tmp_path: Path,
) -> None:
    # 200,000 legitimate rows (about 60 MB as a table) against a 16 MB budget set in the
    # environment: refused from the first rows read, not after the whole sheet.
    total = 200_000
    template = ('<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>1.5</v></c>'
                '<c r="C{r}" t="inlineStr"><is><t>row {r}</t></is></c>'
                '<c r="D{r}"><v>7</v></c><c r="E{r}"><v>2.25</v></c></row>')
    path = tmp_path / "many_rows.xlsx"
    path.write_bytes(workbook_xml({"Data": [small_table(1), *numbered_rows(2, total, template)]}))

    result = load_in_child(path, STUDIO_MAX_TABLE_MB="16")

    assert result.get("error") == TableBudgetError.__name__, result
    message = result["message"]
    assert "16.0 MB" in message
    assert "STUDIO_MAX_TABLE_MB" in message
    assert "max_table_mb under [studio] in .streamlit/secrets.toml" in message
    assert 0 < result["rows_read"] < total // 4
    assert result["peak_mb"] < PEAK_CEILING_MB


# --------------------------------------------------------------------------- in process


def _rows_sheet(total: int) -> bytes:
    template = ('<row r="{r}"><c r="A{r}"><v>{r}</v></c>'
                '<c r="B{r}" t="inlineStr"><is><t>text {r}</t></is></c>'
                '<c r="C{r}"><v>0.5</v></c></row>')
    return workbook_xml({"Data": [small_table(1), *numbered_rows(2, total, template)]})


def test_sheet_under_twice_the_budget_is_read_up_to_the_budget_and_stopped() -> None:
    total = 30_000
    data = _rows_sheet(total)
    with pytest.raises(TableBudgetError) as far_over:
        load_table(data, "rows.xlsx", max_table_bytes=1024 * 1024)
    whole = far_over.value.estimate_bytes  # the estimate for the whole sheet
    assert "about" in str(far_over.value)

    limit = int(whole * 0.7)  # over the budget, but not twice over: read until the budget
    with pytest.raises(TableBudgetError) as caught:
        load_table(data, "rows.xlsx", max_table_bytes=limit)
    assert "reading stopped after" in str(caught.value)
    assert total * 0.5 < caught.value.rows_read < total * 0.9
    assert caught.value.limit_bytes == limit

    loaded = load_table(data, "rows.xlsx", max_table_bytes=whole * 2)
    assert loaded.frame.shape == (total - 1, 3)


def test_sheet_of_only_formatting_is_given_up_on_and_the_next_sheet_is_read() -> None:
    data = workbook_xml({
        "Formatting": numbered_rows(1, 1_000_000, '<row r="{r}" s="1" customFormat="1"/>'),
        "Data": [small_table(4)],
    })
    assert list_excel_sheets(data, "book.xlsx") == ["Formatting", "Data"]
    assert list_excel_sheets(data, "book.xlsx", with_data=True) == ["Data"]

    loaded = load_table(data, "book.xlsx")
    assert loaded.sheet == "Data"
    assert loaded.frame.shape == (3, 3)

    with pytest.raises(DataLoadError) as caught:
        load_table(data, "book.xlsx", sheet="Formatting")
    message = str(caught.value)
    assert "'Formatting' of 'book.xlsx' is empty" in message
    assert "first 100,000 empty rows and cells" in message  # says how far it looked
    assert "'Data'" in message


def test_value_past_the_column_limit_is_refused_where_it_is() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Wide")
    sheet.append([f"c{i}" for i in range(1, 1001)])  # exactly the limit: fine
    sheet.append(list(range(1000)))
    sheet.append([*range(1000), "one too many"])
    buffer = io.BytesIO()
    book.save(buffer)

    with pytest.raises(DataValidationError) as caught:
        load_table(buffer.getvalue(), "wide.xlsx")
    message = str(caught.value)
    assert "column ALM (column 1,001)" in message
    assert "sheet 'Wide', row 3" in message


def test_shared_text_over_the_budget_is_refused_before_it_is_read() -> None:
    # Excel keeps text in one shared list that openpyxl reads whole: 30,000 pieces of text
    # (1.3 MB of XML) are refused from the list's declared size against a 2 MB budget.
    texts = [f"a distinct piece of text number {i}" for i in range(30_000)]
    template = '<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="s"><v>{s}</v></c></row>'
    rows = "".join(template.format(r=i + 2, s=i) for i in range(len(texts)))
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>' \
        '<c r="B1" t="inlineStr"><is><t>text</t></is></c></row>'
    data = workbook_xml({"Texts": [header, rows]}, shared_strings=texts)

    with pytest.raises(TableBudgetError) as caught:
        load_table(data, "texts.xlsx", max_table_bytes=2 * 1024 * 1024)
    message = str(caught.value)
    assert "its shared text" in message
    assert "2.0 MB" in message
    assert "STUDIO_MAX_TABLE_MB" in message
    assert caught.value.rows_read == 0

    loaded = load_table(data, "texts.xlsx")
    assert loaded.frame.shape == (30_000, 2)
    assert loaded.frame["text"].iloc[-1] == texts[-1]


# --------------------------------------------------------------------------- still loads


def test_wide_but_legal_sheet_still_loads() -> None:
    # A guard rather than a bomb: 300 columns × 50 rows must load exactly as before.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Wide")
    sheet.append([f"c{j}" for j in range(300)])
    for i in range(50):
        sheet.append([i * 1000 + j for j in range(300)])
    buffer = io.BytesIO()
    book.save(buffer)

    loaded = load_table(buffer.getvalue(), "wide.xlsx")

    assert loaded.frame.shape == (50, 300)
    assert loaded.frame["c299"].tolist() == [i * 1000 + 299 for i in range(50)]
    assert not any("stopped" in note.lower() for note in loaded.notes)


def test_committed_excel_fixture_still_loads_every_sheet_with_data() -> None:
    data = (DATA / "two_sheets.xlsx").read_bytes()
    assert list_excel_sheets(data, "two_sheets.xlsx", with_data=True) == ["Loans", "Regions"]
    loans = load_table(data, "two_sheets.xlsx")
    assert loans.frame.shape == (20, 5)
    assert str(loans.frame["opened"].dtype).startswith("datetime64")
    regions = load_table(data, "two_sheets.xlsx", sheet="Regions")
    assert regions.frame["target"].tolist() == [120, 95, 80, 110]
