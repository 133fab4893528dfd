"""core.data.loading on real files: good fixtures, the hostile corpus in tests/data/bad/, limits.

The fixtures are written by tests/data/make_fixtures.py; tests/data/bad/README.md lists what
each hostile file must do.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from core.data.loading import (
    MAX_COLUMNS,
    SUPPORTED_EXTENSIONS,
    EmptyColumnsError,
    LoadedTable,
    TableBudgetError,
    check_table_budget,
    estimate_frame_bytes,
    list_excel_sheets,
    load_table,
    validate_table,
)
from core.errors import ConfigurationError, DataLoadError, DataValidationError, StudioError
from core.store.settings import get_settings

DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"


def load(path: Path, **options: object) -> LoadedTable:
    return load_table(path.read_bytes(), path.name, **options)


def notes_text(loaded: LoadedTable) -> str:
    return " ".join(loaded.notes).lower()


def xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parquet_of(table: pa.Table, **options: object) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- good files


def test_utf8_csv_loads_with_types_and_accents() -> None:
    loaded = load(DATA / "loans_utf8.csv")
    frame = loaded.frame
    assert loaded.file_format == "csv"
    assert loaded.source_name == "loans_utf8.csv"
    assert frame.shape == (200, 7)
    assert list(frame.columns) == [
        "loan_id",
        "age",
        "income",
        "city",
        "term_months",
        "purpose",
        "approved",
    ]
    assert frame["loan_id"].tolist()[:3] == [1000, 1001, 1002]
    assert frame["loan_id"].dtype == np.int64
    assert frame["income"].dtype == np.float64
    assert frame["income"].isna().any()  # missing incomes stay missing
    assert {"Zürich", "São Paulo", "Kraków", "Montréal"} <= set(frame["city"])
    assert set(frame["approved"]) == {"yes", "no"}  # text stays text
    assert isinstance(frame.index, pd.RangeIndex)
    assert "utf-8" in notes_text(loaded)
    assert "','" in notes_text(loaded)
    assert loaded.dropped_columns == ()


def test_latin1_semicolon_csv_keeps_accents_and_reads_decimal_commas() -> None:
    loaded = load(DATA / "accents_latin1.csv")
    frame = loaded.frame
    assert frame.shape == (8, 4)
    assert list(frame.columns) == ["prénom", "ville", "année", "montant"]
    assert frame["prénom"].tolist()[:3] == ["José", "Jürgen", "Begoña"]
    assert "Núñez" in set(frame["prénom"])
    assert "München" in set(frame["ville"])
    assert frame["année"].dtype == np.int64
    assert frame["montant"].dtype == np.float64
    assert frame["montant"].iloc[0] == pytest.approx(1234.5)
    text = notes_text(loaded)
    assert "latin-1" in text
    assert "not utf-8" in text
    assert "';'" in text
    assert "decimal" in text


def test_utf8_bom_does_not_reach_the_first_column_name() -> None:
    loaded = load(DATA / "bom_utf8.csv")
    assert list(loaded.frame.columns) == ["id", "name", "score"]
    assert not any("\ufeff" in column for column in loaded.frame.columns)
    assert loaded.frame["id"].tolist() == list(range(1, 11))
    assert loaded.frame["name"].iloc[0] == "Zoë"
    assert "byte-order mark" in notes_text(loaded)


def test_pipe_separated_txt_is_not_split_on_commas() -> None:
    loaded = load(DATA / "pipes.txt")
    assert list(loaded.frame.columns) == ["name", "city", "amount"]
    assert loaded.frame.shape == (12, 3)
    assert loaded.frame["name"].iloc[0] == "Smith, John"
    assert loaded.frame["city"].iloc[0] == "Paris, FR"
    assert "'|'" in notes_text(loaded)


def test_tab_separated_file() -> None:
    loaded = load(DATA / "tabs.tsv")
    assert list(loaded.frame.columns) == ["id", "colour", "description", "price"]
    assert loaded.frame.shape == (12, 4)
    assert loaded.frame["description"].str.endswith(", boxed").all()
    assert loaded.frame["price"].dtype == np.float64
    assert "tabs" in notes_text(loaded)


def test_quoted_delimiters_do_not_fool_the_sniffer() -> None:
    # Every address holds five ';' inside quotes; the real separator is ','.
    loaded = load(DATA / "quoted_commas.csv")
    frame = loaded.frame
    assert list(frame.columns) == ["id", "name", "address", "amount"]
    assert frame.shape == (6, 4)
    assert frame["name"].tolist()[:3] == ["Doe, Jane", "Roe, Rick", 'Said "Hi", left']
    assert frame["address"].iloc[0] == "Flat 1; Floor 2; Block C; Gate 4; Zone 5; Area 6"
    assert frame["address"].iloc[2] == "Line one\nLine two; x; y; z; w; v"
    assert frame["amount"].tolist() == [10.5, 20.25, 30.0, 40.75, 50.0, 60.5]
    assert "','" in notes_text(loaded)


def test_excel_sheets_are_listed_in_workbook_order() -> None:
    data = (DATA / "two_sheets.xlsx").read_bytes()
    assert list_excel_sheets(data, "two_sheets.xlsx") == ["Notes", "Loans", "Regions"]


def test_excel_without_sheet_reads_the_first_sheet_with_data() -> None:
    loaded = load(DATA / "two_sheets.xlsx")
    frame = loaded.frame
    assert loaded.file_format == "excel"
    assert loaded.sheet == "Loans"
    assert frame.shape == (20, 5)
    assert list(frame.columns) == ["loan_id", "opened", "amount", "approved", "city"]
    assert frame["loan_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(frame["opened"])
    assert frame["opened"].iloc[1] == pd.Timestamp("2023-01-08")
    assert frame["approved"].dtype == bool
    assert frame["city"].iloc[1] == "São Paulo"
    text = notes_text(loaded)
    assert "'loans'" in text
    assert "'notes'" in text  # says the empty sheet was skipped


def test_excel_reads_the_chosen_sheet() -> None:
    loaded = load(DATA / "two_sheets.xlsx", sheet="Regions")
    assert loaded.sheet == "Regions"
    assert loaded.frame.to_dict("list") == {
        "region": ["North", "South", "East", "West"],
        "manager": ["Ana", "Bo", "Chen", "Dee"],
        "target": [120, 95, 80, 110],
    }


def test_excel_unknown_sheet_lists_the_real_ones() -> None:
    with pytest.raises(DataLoadError, match="no sheet named 'Budget'") as caught:
        load(DATA / "two_sheets.xlsx", sheet="Budget")
    assert "'Loans'" in str(caught.value)
    assert "'Regions'" in str(caught.value)


def test_excel_chosen_empty_sheet_points_to_others() -> None:
    with pytest.raises(DataLoadError, match="'Notes'.*empty") as caught:
        load(DATA / "two_sheets.xlsx", sheet="Notes")
    assert "'Loans'" in str(caught.value)


def test_excel_error_cells_and_blank_rows() -> None:
    book = Workbook()
    sheet = book.active
    for row in ([], ["a", "b"], [1, "#N/A"], [2, 3.5], [None, None], [3, "#DIV/0!"]):
        sheet.append(row)
    loaded = load_table(xlsx_bytes(book), "errors.xlsx")
    assert loaded.frame["a"].tolist() == [1, 2, 3]
    assert loaded.frame["a"].dtype == np.int64  # the blank row did not turn it into floats
    assert loaded.frame["b"].isna().tolist() == [True, False, True]
    text = notes_text(loaded)
    assert "2 cells with an excel error" in text
    assert "1 completely empty row" in text


def test_parquet_loads_with_types_and_reports_progress_per_row_group() -> None:
    calls: list[float] = []
    loaded = load(DATA / "table.parquet", progress=lambda fraction, _: calls.append(fraction))
    frame = loaded.frame
    assert loaded.file_format == "parquet"
    assert frame.shape == (100, 5)
    assert list(frame.columns) == ["id", "score", "segment", "active", "joined"]
    assert frame["id"].tolist() == list(range(1, 101))
    assert frame["active"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(frame["joined"])
    assert len(calls) >= 6  # start, four row groups, end
    assert calls[-1] == 1.0


def test_json_records() -> None:
    loaded = load(DATA / "records.json")
    frame = loaded.frame
    assert loaded.file_format == "json"
    assert frame.shape == (5, 4)
    assert list(frame.columns) == ["id", "name", "age", "city"]
    assert pd.isna(frame.loc[frame["id"] == 3, "city"]).all()  # missing key -> missing value
    assert frame["city"].iloc[3] == "Kraków"


def test_json_lines() -> None:
    loaded = load(DATA / "lines.jsonl")
    assert loaded.frame.shape == (6, 3)
    assert list(loaded.frame.columns) == ["sensor", "reading", "ok"]
    assert loaded.frame["ok"].tolist() == [True, True, False, True, True, True]
    assert "json lines" in notes_text(loaded)


def test_json_file_that_is_really_json_lines() -> None:
    data = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'
    loaded = load_table(data, "export.json")
    assert loaded.frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    assert "json lines" in notes_text(loaded)


def test_json_column_oriented() -> None:
    loaded = load(DATA / "columns.json")
    assert loaded.frame.to_dict("list") == {
        "product": ["pen", "ink", "pad", "clip"],
        "price": [1.5, 3.0, 2.25, 0.1],
        "stock": [10, 0, 7, 250],
    }


@pytest.mark.parametrize("orient", ["columns", "split", "records", "index", "table"])
def test_json_written_by_pandas(orient: str) -> None:
    original = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    data = original.to_json(orient=orient).encode()
    loaded = load_table(data, f"{orient}.json")
    assert loaded.frame[["a", "b"]].to_dict("list") == original.to_dict("list")


def test_json_records_under_one_key() -> None:
    data = json.dumps({"count": 2, "results": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}).encode()
    loaded = load_table(data, "api.json")
    assert loaded.frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    assert "'results'" in notes_text(loaded)


def test_nested_json_is_flattened_and_lists_kept_as_text() -> None:
    loaded = load(DATA / "nested.json")
    frame = loaded.frame
    assert set(frame.columns) == {
        "id",
        "tags",
        "customer.name",
        "customer.address.city",
        "customer.address.zip",
    }
    assert frame["customer.address.city"].tolist() == ["Oslo", "Lima", "Osaka"]
    assert frame["customer.address.zip"].tolist() == ["0150", "15001", "530"]
    assert frame["tags"].tolist() == ['["new", "web"]', "[]", '["vip"]']
    text = notes_text(loaded)
    assert "parent.child" in text
    assert "'tags'" in text


def test_utf16_tab_text_as_excel_exports_it() -> None:
    data = "name\tage\nÅsa\t31\nBo\t45\n".encode("utf-16")
    loaded = load_table(data, "unicode.txt")
    assert loaded.frame.to_dict("list") == {"name": ["Åsa", "Bo"], "age": [31, 45]}
    assert "utf-16" in notes_text(loaded)


def test_comma_file_keeps_points_as_decimals_and_commas_as_text() -> None:
    loaded = load_table(b'a,b\n1.5,"2,5"\n3.5,"4,5"\n', "points.csv")
    assert loaded.frame["a"].tolist() == [1.5, 3.5]
    assert loaded.frame["b"].tolist() == ["2,5", "4,5"]  # only ';' files get decimal commas


@pytest.mark.parametrize("extension", SUPPORTED_EXTENSIONS)
def test_every_supported_extension_has_a_reader(extension: str) -> None:
    # An empty file reaches the format's reader and is refused by name, never as "unsupported".
    with pytest.raises(DataLoadError, match="empty") as caught:
        load_table(b"", f"file{extension}")
    assert "cannot read" not in str(caught.value)


# --------------------------------------------------------------------------- the hostile corpus

REFUSED = [
    ("empty.csv", DataLoadError, ["empty", "0 bytes"]),
    ("blank_lines.csv", DataLoadError, ["only blank lines"]),
    ("header_only.csv", DataValidationError, ["no data rows", "'id'", "'income'"]),
    ("one_column.csv", DataValidationError, ["only one column", "'name'", "at least two columns"]),
    (
        "duplicate_headers.csv",
        DataValidationError,
        ["duplicate", "'id' (columns 1, 6)", "'name' (columns 2, 4)", "rename"],
    ),
    ("all_null_column.csv", EmptyColumnsError, ["no values", "'notes'"]),
    ("all_empty.csv", DataValidationError, ["every column", "empty"]),
    ("wide_5000_columns.csv", DataValidationError, ["5,000 columns", f"{MAX_COLUMNS:,}"]),
    ("binary.csv", DataLoadError, ["does not look like a text table"]),
    ("excel_renamed.csv", DataLoadError, ["does not look like a text table", "excel", ".xlsx"]),
    ("undecodable.csv", DataLoadError, ["cannot be read as text", "utf-8", "csv utf-8"]),
    ("ragged.csv", DataLoadError, ["line 5", "4 values", "3 columns"]),
    ("unclosed_quote.csv", DataLoadError, ["quote", "never closed", "line 3"]),
    ("truncated.parquet", DataLoadError, ["incomplete parquet", "end is missing"]),
    ("empty_sheet.xlsx", DataLoadError, ["every sheet", "empty", "'sheet1'", "'sheet2'"]),
    ("corrupt.xlsx", DataLoadError, ["could not be opened as an excel workbook", "damaged"]),
    ("not_a_table.json", DataLoadError, ["not a table", "'version'", "list of records"]),
    ("broken.json", DataLoadError, ["not valid json", "line 3"]),
    (
        "wrong_extension.docx",
        DataLoadError,
        ["'.docx'", "supported formats", ".csv", ".xlsx", ".parquet", ".json"],
    ),
]


@pytest.mark.parametrize(("filename", "error", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_file_is_refused_with_a_plain_message(
    filename: str, error: type[StudioError], words: list[str]
) -> None:
    with pytest.raises(error) as caught:
        load(BAD / filename)
    assert type(caught.value) is error  # the exact class, not a sibling
    message = str(caught.value)
    assert filename in message  # names the file
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    # plain words: no traceback, no parser jargon, one short paragraph
    for jargon in ("Traceback", "tokenizing", "C error", "Error:", "dtype", "Errno", "\n"):
        assert jargon not in message, (jargon, message)
    assert len(message) < 400


def test_every_file_in_the_corpus_is_covered_and_documented() -> None:
    loadable = {name for name, *_ in LOADABLE}
    refused = {name for name, *_ in REFUSED}
    on_disk = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert on_disk == loadable | refused
    assert len(on_disk) >= 15
    readme = (BAD / "README.md").read_text()
    for name in on_disk:
        assert f"`{name}`" in readme, name


LOADABLE = [
    ("one_class_target.csv", (40, 3)),
    ("nan_target.csv", (40, 3)),
    ("html_script.csv", (5, 4)),
    ("long_strings.csv", (4, 3)),
    ("mixed_dates.csv", (9, 3)),
    ("trailing_separators.csv", (5, 3)),
]


@pytest.mark.parametrize(("filename", "shape"), LOADABLE, ids=[r[0] for r in LOADABLE])
def test_hostile_but_loadable_file_loads(filename: str, shape: tuple[int, int]) -> None:
    assert load(BAD / filename).frame.shape == shape


def test_one_class_target_is_loaded_as_is() -> None:
    frame = load(BAD / "one_class_target.csv").frame
    assert frame["defaulted"].unique().tolist() == ["no"]


def test_mostly_missing_target_is_kept() -> None:
    frame = load(BAD / "nan_target.csv").frame
    assert frame["churned"].notna().sum() == 4
    assert set(frame["churned"].dropna()) <= {"yes", "no"}


def test_html_stays_plain_data() -> None:
    frame = load(BAD / "html_script.csv").frame
    assert list(frame.columns) == ["id", "<script>alert(1)</script>", "<b>bold</b>", "note"]
    assert frame["<script>alert(1)</script>"].iloc[0] == "<script>alert('x')</script>"
    assert frame["<b>bold</b>"].tolist() == [f"<b>{i}</b>" for i in range(1, 6)]
    assert frame["note"].iloc[0] == '<img src=x onerror="alert(1)">'


def test_long_cells_are_kept_whole() -> None:
    frame = load(BAD / "long_strings.csv").frame
    assert frame["text"].str.len().tolist() == [50_000] * 4


def test_dates_are_never_parsed() -> None:
    frame = load(BAD / "mixed_dates.csv").frame
    assert frame["signed_up"].dtype == object
    assert frame["signed_up"].iloc[:3].tolist() == ["2024-01-05", "05/01/2024", "Jan 5, 2024"]
    assert pd.isna(frame["signed_up"].iloc[-1])


def test_trailing_separators_drop_the_ghost_column_with_a_note() -> None:
    loaded = load(BAD / "trailing_separators.csv")
    assert list(loaded.frame.columns) == ["id", "age", "city"]
    assert "neither a name nor any value" in notes_text(loaded)
    assert loaded.dropped_columns == ()


# --------------------------------------------------------------------------- empty columns


def test_empty_columns_error_carries_the_columns() -> None:
    with pytest.raises(EmptyColumnsError) as caught:
        load(BAD / "all_null_column.csv")
    assert caught.value.columns == ("notes",)
    assert isinstance(caught.value, DataValidationError)


def test_drop_empty_columns_drops_and_reports_them() -> None:
    loaded = load(BAD / "all_null_column.csv", drop_empty_columns=True)
    assert list(loaded.frame.columns) == ["id", "age", "income"]
    assert loaded.frame.shape == (8, 3)
    assert loaded.dropped_columns == ("notes",)
    assert "dropped 1 empty column: 'notes'" in notes_text(loaded)


def test_several_empty_columns_are_all_named() -> None:
    data = b"a,b,c,d\n1,,x,\n2,,y,\n"
    with pytest.raises(EmptyColumnsError, match="2 columns have no values") as caught:
        load_table(data, "gaps.csv")
    assert caught.value.columns == ("b", "d")


def test_dropping_empty_columns_must_leave_two() -> None:
    with pytest.raises(DataValidationError, match="only 1 column left"):
        load_table(b"a,b,c\n1,,\n2,,\n", "thin.csv", drop_empty_columns=True)


# --------------------------------------------------------------------------- other refusals


def test_size_limit_names_size_limit_and_setting() -> None:
    data = (DATA / "loans_utf8.csv").read_bytes()
    with pytest.raises(DataLoadError) as caught:
        load_table(data, "loans.csv", max_bytes=1024)
    message = str(caught.value)
    assert "7.5 KB" in message
    assert "1.0 KB" in message
    assert "server.maxUploadSize" in message
    assert ".streamlit/config.toml" in message


def test_default_size_limit_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        assert get_settings().max_upload_bytes == 1024 * 1024
        data = b"a,b\n" + b"1,2\n" * 300_000  # 1.1 MB
        with pytest.raises(DataLoadError, match=r"1\.1 MB.*1\.0 MB"):
            load_table(data, "big.csv")
        assert load_table(data[:500_000], "small.csv").frame.shape[1] == 2
    finally:
        monkeypatch.delenv("STUDIO_MAX_UPLOAD_MB")
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("data.xls", ["'.xls'", "save them as .xlsx"]),
        ("data.csv.gz", ["'.gz'", "supported formats"]),
        ("README", ["without an ending", "supported formats"]),
    ],
)
def test_unsupported_file_types(filename: str, words: list[str]) -> None:
    with pytest.raises(DataLoadError) as caught:
        load_table(b"a,b\n1,2\n", filename)
    for word in words:
        assert word.lower() in str(caught.value).lower()


def test_extension_is_case_insensitive() -> None:
    assert load_table(b"a,b\n1,2\n", "UPPER.CSV").frame.shape == (1, 2)


def test_ragged_row_later_in_a_big_file_names_its_line() -> None:
    lines = ["a,b,c"] + [f"{i},{i},{i}" for i in range(120_000)]
    lines[100_000] = "x,y,z,extra"
    with pytest.raises(DataLoadError, match=r"Line 100001 of 'big\.csv' has 4 values"):
        load_table("\n".join(lines).encode(), "big.csv")


def test_more_values_than_names_on_the_first_row_is_not_silently_cut() -> None:
    # pandas would drop the 4th value without a word when the first data row is the long one.
    with pytest.raises(DataLoadError, match="Line 2 .* 4 values"):
        load_table(b"a,b,c\n1,2,3,4\n5,6,7,8\n", "long_first_row.csv")


def test_excel_refusals() -> None:
    with pytest.raises(DataLoadError, match="damaged"):
        list_excel_sheets((BAD / "corrupt.xlsx").read_bytes(), "corrupt.xlsx")
    with pytest.raises(DataLoadError, match="empty"):
        list_excel_sheets(b"", "nothing.xlsx")
    with pytest.raises(DataLoadError, match=r"old-style Excel \(\.xls\)"):
        load_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xlsx")
    with pytest.raises(DataLoadError, match="give it the .csv ending"):
        load_table(b"a,b\n1,2\n", "text.xlsx")


def test_parquet_refusals() -> None:
    good = (DATA / "table.parquet").read_bytes()
    damaged = good[:4] + bytes(len(good) - 8) + good[-4:]  # right ends, zeroed middle
    with pytest.raises(DataLoadError, match="damaged"):
        load_table(damaged, "damaged.parquet")
    with pytest.raises(DataLoadError, match="not a Parquet file"):
        load_table(b"a,b\n1,2\n", "text.parquet")


def test_parquet_nested_and_index_columns() -> None:
    frame = pd.DataFrame(
        {"score": [1.0, 2.0], "tags": [["a"], ["b", "c"]]},
        index=pd.Index([10, 20], name="customer_id"),
    )
    loaded = load_table(frame.to_parquet(), "indexed.parquet")
    assert list(loaded.frame.columns) == ["customer_id", "score", "tags"]
    assert loaded.frame["customer_id"].tolist() == [10, 20]
    assert loaded.frame["tags"].tolist() == ['["a"]', '["b", "c"]']

    struct = pa.table({"id": [1, 2], "who": [{"name": "Ana", "age": 3}, {"name": "Bo", "age": 4}]})
    loaded = load_table(parquet_of(struct), "struct.pq")
    assert list(loaded.frame.columns) == ["id", "who.name", "who.age"]
    assert "parent.child" in notes_text(loaded)


def test_parquet_duplicate_field_names_are_refused() -> None:
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"])
    with pytest.raises(DataValidationError, match="duplicate column names: 'x'"):
        load_table(parquet_of(table), "dupes.parquet")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"[]", ["empty", "no rows"]),
        (b"[[1, 2], [3, 4]]", ["item 1", "a list, not a record"]),
        (b'[{"a": 1}, 5]', ["item 2", "single value"]),
        (b"42", ["single json value"]),
        (b'{"a": [1, 2], "b": [3]}', ["different lengths", "'a' has 2", "'b' has 1"]),
    ],
)
def test_json_shapes_that_are_not_tables(payload: bytes, words: list[str]) -> None:
    with pytest.raises(DataLoadError) as caught:
        load_table(payload, "shape.json")
    for word in words:
        assert word.lower() in str(caught.value).lower()


@pytest.mark.parametrize("filename", ["events.jsonl", "events.json"])
def test_json_lines_with_a_bad_line_names_it(filename: str) -> None:
    data = b'{"a": 1, "b": 2}\n{"a": 2, "b": 3}\n{"a": 2, "b": }\n'
    with pytest.raises(DataLoadError, match=rf"Line 3 of '{filename}' is not valid JSON"):
        load_table(data, filename)


# --------------------------------------------------------------------------- column names


def test_names_are_stripped_and_missing_names_get_positions() -> None:
    loaded = load_table(b" id ,,  score\n1,a,2\n3,b,4\n", "names.csv")
    assert list(loaded.frame.columns) == ["id", "column_2", "score"]
    text = notes_text(loaded)
    assert "removed spaces around 2 column names" in text
    assert "'column_2'" in text


def test_names_that_collide_after_stripping_are_duplicates() -> None:
    with pytest.raises(DataValidationError, match=r"'age' \(columns 1, 2\)"):
        load_table(b"age, age \n1,2\n", "spaces.csv")


def test_validate_table_cleans_names_without_touching_the_input() -> None:
    frame = pd.DataFrame([[1, 2, 3], [4, 5, 6]], columns=[0, " b ", None], index=[7, 8])
    cleaned, dropped = validate_table(frame, source_name="frame")
    assert list(cleaned.columns) == ["0", "b", "column_3"]
    assert isinstance(cleaned.index, pd.RangeIndex)
    assert cleaned.index.tolist() == [0, 1]
    assert dropped == ()
    assert list(frame.columns) == [0, " b ", None]  # input unchanged
    assert frame.index.tolist() == [7, 8]


def test_validate_table_refuses_duplicate_labels_in_a_frame() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(DataValidationError, match=r"'sheet' has duplicate column names: 'a'"):
        validate_table(frame, source_name="sheet")


def test_validate_table_limits_width() -> None:
    frame = pd.DataFrame(np.zeros((2, MAX_COLUMNS + 1)))
    with pytest.raises(DataValidationError, match="at most 1,000"):
        validate_table(frame, source_name="wide")
    ok, _ = validate_table(pd.DataFrame(np.ones((2, MAX_COLUMNS))), source_name="ok")
    assert ok.shape == (2, MAX_COLUMNS)


def test_validate_table_drop_empty_columns() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [None, None], "c": ["x", "y"]})
    cleaned, dropped = validate_table(frame, source_name="f", drop_empty_columns=True)
    assert list(cleaned.columns) == ["a", "c"]
    assert dropped == ("b",)


# --------------------------------------------------------------------------- big files


def write_big_csv(path: Path, rows: int) -> bytes:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": rng.normal(100, 20, rows).round(2),
            "group": rng.choice(["alpha", "beta", "gamma"], rows),
            "flag": rng.integers(0, 2, rows),
        }
    )
    frame.to_csv(path, index=False)
    return path.read_bytes()


def test_progress_rises_to_one_on_a_large_csv(tmp_path: Path) -> None:
    data = write_big_csv(tmp_path / "big.csv", 200_000)
    calls: list[tuple[float, str]] = []
    loaded = load_table(data, "big.csv", progress=lambda f, m: calls.append((f, m)))
    assert loaded.frame.shape == (200_000, 4)
    assert loaded.frame["id"].iloc[-1] == 199_999
    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert all(b > a for a, b in zip(fractions, fractions[1:], strict=False))
    assert len([f for f in fractions if 0.0 < f < 0.9]) >= 3  # real steps while reading
    assert all(isinstance(message, str) and message for _, message in calls)
    assert "200,000 rows" in calls[-1][1]


def test_chunks_that_disagree_on_a_type_give_one_text_column(tmp_path: Path) -> None:
    # Numbers for 120k rows, then a code with a letter: like pandas reading the whole file,
    # the column must be all text ('00007', not 7 mixed with 'A1').
    lines = ["code,value"] + [f"{i:05d},{i}" for i in range(120_000)] + ["A1,5"]
    loaded = load_table("\n".join(lines).encode(), "codes.csv")
    codes = loaded.frame["code"]
    assert codes.dtype == object
    assert codes.iloc[7] == "00007"
    assert codes.iloc[-1] == "A1"
    assert loaded.frame["value"].dtype == np.int64


@pytest.mark.slow
def test_a_million_row_csv_loads(tmp_path: Path) -> None:
    data = write_big_csv(tmp_path / "million.csv", 1_000_000)
    calls: list[float] = []
    loaded = load_table(data, "million.csv", progress=lambda f, _: calls.append(f))
    assert loaded.frame.shape == (1_000_000, 4)
    assert len(calls) > 10
    assert calls[-1] == 1.0


def test_docx_zip_is_refused_by_extension_before_content() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "a,b\n1,2\n")
    with pytest.raises(DataLoadError, match="'.zip' file"):
        load_table(buffer.getvalue(), "archive.zip")


def test_a_gzip_file_named_csv_says_what_it_is_and_how_to_fix_it() -> None:
    import gzip

    data = gzip.compress(b"a,b\n1,2\n3,4\n")
    with pytest.raises(DataLoadError, match="gzip-compressed.*gunzip"):
        load_table(data, "loans.csv")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_not_called_binary(encoding: str) -> None:
    text = "name,city,amount\nZoë,Köln,12.5\nRenée,Zürich,7\nJosé,Málaga,3\n"
    loaded = load_table(text.encode(encoding), "people.csv")
    assert list(loaded.frame["name"]) == ["Zoë", "Renée", "José"]
    assert loaded.frame["amount"].tolist() == [12.5, 7.0, 3.0]
    assert any("UTF-16" in note for note in loaded.notes)


# --------------------------------------------------------------------------- memory budget


def _budget_words(message: str, limit: str) -> None:
    """A budget refusal names the limit, the setting and where else it can be set."""
    assert limit in message
    assert "STUDIO_MAX_TABLE_MB" in message
    assert "max_table_mb under [studio] in .streamlit/secrets.toml" in message


def test_table_budget_check_passes_under_and_names_the_setting_over() -> None:
    check_table_budget(1_000, 1_000, source_name="t", limit_bytes=1_000_000)  # exactly: fine
    with pytest.raises(TableBudgetError) as caught:
        check_table_budget(1_001, 1_000, source_name="loans", limit_bytes=1_000_000)
    _budget_words(str(caught.value), "976.6 KB")
    assert "'loans' is too large to load: its 1,001 rows would take about 977.5 KB" in str(
        caught.value)
    assert caught.value.estimate_bytes == 1_001_000
    assert isinstance(caught.value, DataLoadError)  # pages already show DataLoadErrors


def test_csv_far_over_the_budget_is_refused_from_its_first_rows() -> None:
    rows = 200_000
    data = "id,label\n" + "".join(f"{i},label number {i}\n" for i in range(rows))
    with pytest.raises(TableBudgetError) as caught:
        load_table(data.encode(), "labels.csv", max_table_bytes=2 * 1024 * 1024)
    _budget_words(str(caught.value), "2.0 MB")
    assert "about" in str(caught.value)  # estimated from the part read
    assert 0 < caught.value.rows_read < rows // 2


def test_csv_reading_stops_at_the_budget() -> None:
    rows = 200_000
    data = ("id,label\n" + "".join(f"{i},label number {i}\n" for i in range(rows))).encode()
    whole = estimate_frame_bytes(load_table(data, "labels.csv").frame)
    with pytest.raises(TableBudgetError) as caught:
        load_table(data, "labels.csv", max_table_bytes=int(whole * 0.6))
    assert "reading stopped after" in str(caught.value)
    assert rows * 0.4 < caught.value.rows_read < rows * 0.8


def test_repeated_text_counts_once_so_a_table_that_fits_loads() -> None:
    rows = 200_000
    data = ("city,n\n" + "".join(f"{('Oslo', 'Lima', 'Kyiv')[i % 3]},{i}\n"
                                 for i in range(rows))).encode()
    frame = load_table(data, "cities.csv").frame
    shared, per_cell = estimate_frame_bytes(frame), frame.memory_usage(deep=True).sum()
    assert shared < per_cell / 3  # pandas' deep count charges every cell its own string
    budget = int((shared + per_cell) / 2)
    assert load_table(data, "cities.csv", max_table_bytes=budget).frame.shape == (rows, 2)


def test_parquet_over_the_budget_is_refused_before_its_rows_are_read() -> None:
    table = pa.table({"id": list(range(100_000)), "label": [f"row {i}" for i in range(100_000)]})
    data = parquet_of(table, row_group_size=10_000)
    with pytest.raises(TableBudgetError) as caught:
        load_table(data, "rows.parquet", max_table_bytes=1024 * 1024)
    _budget_words(str(caught.value), "1.0 MB")
    assert "its 100,000 rows" in str(caught.value)  # the footer's exact count
    assert caught.value.rows_read == 0
    assert load_table(data, "rows.parquet").frame.shape == (100_000, 2)


@pytest.mark.parametrize("layout", ["records.json", "lines.jsonl", "lines-named.json"])
def test_json_records_over_the_budget_are_refused_before_parsing_them_all(layout: str) -> None:
    records = [{"id": i, "label": f"label number {i}"} for i in range(50_000)]
    if layout == "records.json":
        data = json.dumps(records).encode()
    else:
        data = "\n".join(json.dumps(record) for record in records).encode()
    filename = layout.replace("-named", "")
    with pytest.raises(TableBudgetError) as caught:
        load_table(data, filename, max_table_bytes=2 * 1024 * 1024)
    _budget_words(str(caught.value), "2.0 MB")
    assert "about" in str(caught.value)
    assert caught.value.rows_read == 0
    assert load_table(data, filename).frame.shape == (50_000, 2)


def test_json_columns_over_the_budget_are_refused_once_built() -> None:
    data = json.dumps({"id": list(range(50_000)),
                       "label": [f"label number {i}" for i in range(50_000)]}).encode()
    with pytest.raises(TableBudgetError) as caught:
        load_table(data, "columns.json", max_table_bytes=1024 * 1024)
    _budget_words(str(caught.value), "1.0 MB")
    assert "its 50,000 rows" in str(caught.value)


def test_table_budget_setting_from_environment_and_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import core.store.settings as settings_module

    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("STUDIO_MAX_TABLE_MB", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().max_table_bytes == 1024 * 1024 * 1024  # the default
        secrets = tmp_path / ".streamlit" / "secrets.toml"
        secrets.parent.mkdir()
        secrets.write_text("[studio]\nmax_table_mb = 64\n")
        get_settings.cache_clear()
        assert get_settings().max_table_bytes == 64 * 1024 * 1024
        monkeypatch.setenv("STUDIO_MAX_TABLE_MB", "8")  # the environment wins
        get_settings.cache_clear()
        assert get_settings().max_table_mb == 8
        data = "id,label\n" + "".join(f"{i},label number {i}\n" for i in range(300_000))
        with pytest.raises(TableBudgetError, match=r"8\.0 MB"):
            load_table(data.encode(), "labels.csv")
        monkeypatch.setenv("STUDIO_MAX_TABLE_MB", "a lot")
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="STUDIO_MAX_TABLE_MB must be a whole"):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
