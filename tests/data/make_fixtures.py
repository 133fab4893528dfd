"""Write the loader's test files: good tables in tests/data/, a hostile corpus in tests/data/bad/.

The outputs are committed; run this again only to change them::

    .venv/bin/python tests/data/make_fixtures.py

Everything is seeded and byte-for-byte reproducible (Excel files get fixed timestamps), so
re-running it on an unchanged script leaves ``git status`` clean. ``bad/README.md`` says
what the loader must do with each hostile file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
SEED = 20240601
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

CITIES = ["Zürich", "São Paulo", "Kraków", "Montréal", "Oslo", "Lima", "Nairobi", "Osaka"]
PURPOSES = ["car", "home", "education", "business", "medical"]


# --------------------------------------------------------------------------- helpers


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write text with "\\n" line ends whatever the platform."""
    path.write_bytes(text.encode(encoding))


def csv_line(values: list[object], sep: str = ",") -> str:
    """One delimited line, quoting fields that contain the separator, quotes or newlines."""
    out = []
    for value in values:
        text = "" if value is None else str(value)
        if any(mark in text for mark in (sep, '"', "\n", "\r")):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return sep.join(out) + "\n"


def workbook_bytes(workbook: Workbook) -> bytes:
    """Save a workbook with fixed timestamps so the file is reproducible."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2024-01-01T00:00:00Z\g<3>",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, data)
    return out.getvalue()


def parquet_bytes(table: pa.Table, row_group_size: int) -> bytes:
    """Write a Parquet file to memory."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- good files


def loans_rows(rng: random.Random, n: int) -> list[list[object]]:
    """Loan applications: id, age, income (some missing), city, term, purpose, approved."""
    rows = []
    for index in range(n):
        income = None if rng.random() < 0.05 else round(rng.gauss(52_000, 14_000), 2)
        rows.append(
            [
                1000 + index,
                rng.randint(18, 75),
                income,
                rng.choice(CITIES),
                rng.choice([12, 24, 36, 60]),
                rng.choice(PURPOSES),
                "yes" if rng.random() < 0.7 else "no",
            ]
        )
    return rows


def make_good(rng: random.Random) -> None:
    """The well-formed files, one per format and text dialect."""
    header = ["loan_id", "age", "income", "city", "term_months", "purpose", "approved"]
    rows = loans_rows(rng, 200)
    write_text(HERE / "loans_utf8.csv", csv_line(header) + "".join(csv_line(r) for r in rows))

    people = [
        ("José", "Málaga", 1987, "1234,50"),
        ("Jürgen", "München", 1990, "980,00"),
        ("Begoña", "Logroño", 1975, "15,75"),
        ("Hélène", "Besançon", 2001, "2500,10"),
        ("Núñez", "León", 1969, "42,00"),
        ("Müller", "Düsseldorf", 1983, "310,99"),
        ("François", "Orléans", 1995, "77,70"),
        ("Iñaki", "Donostia", 1979, "1,05"),
    ]
    text = "prénom;ville;année;montant\n" + "".join(";".join(map(str, p)) + "\n" for p in people)
    write_text(HERE / "accents_latin1.csv", text, encoding="latin-1")

    bom_rows = [
        [i, name, round(rng.uniform(0, 10), 1)]
        for i, name in enumerate(
            ["Zoë", "Ana", "Björk", "Chen", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivo"], start=1
        )
    ]
    (HERE / "bom_utf8.csv").write_bytes(
        b"\xef\xbb\xbf"
        + (csv_line(["id", "name", "score"]) + "".join(csv_line(r) for r in bom_rows)).encode()
    )

    pipe_rows = [
        [f"{last}, {first}", f"{city}, {country}", rng.randint(1, 99)]
        for (first, last), (city, country) in zip(
            [
                ("John", "Smith"),
                ("Mary", "Jones"),
                ("Ali", "Khan"),
                ("Li", "Wei"),
                ("Ana", "Silva"),
                ("Tom", "Berg"),
                ("Eva", "Novak"),
                ("Raj", "Patel"),
                ("Kim", "Park"),
                ("Lea", "Roth"),
                ("Sam", "Cole"),
                ("Ida", "Lund"),
            ],
            [("Paris", "FR"), ("Lyon", "FR"), ("Rome", "IT"), ("Oslo", "NO")] * 3,
            strict=True,
        )
    ]
    write_text(
        HERE / "pipes.txt",
        "name|city|amount\n" + "".join("|".join(map(str, r)) + "\n" for r in pipe_rows),
    )

    tab_rows = [
        [
            i,
            rng.choice(["red, dark", "blue", "green; pale", "white"]),
            f"size {rng.randint(1, 5)}, boxed",
            round(rng.uniform(1, 100), 2),
        ]
        for i in range(1, 13)
    ]
    write_text(
        HERE / "tabs.tsv",
        "id\tcolour\tdescription\tprice\n"
        + "".join("\t".join(map(str, r)) + "\n" for r in tab_rows),
    )

    quoted = [
        [1, "Doe, Jane", "Flat 1; Floor 2; Block C; Gate 4; Zone 5; Area 6", 10.5],
        [2, "Roe, Rick", "12 Main St, Apt 4; a; b; c; d; e", 20.25],
        [3, 'Said "Hi", left', "Line one\nLine two; x; y; z; w; v", 30.0],
        [4, "Plain", "a;b;c;d;e;f", 40.75],
        [5, "Comma, Many, Parts", "k;l;m;n;o;p", 50.0],
        [6, "Last", "q;r;s;t;u;v", 60.5],
    ]
    write_text(
        HERE / "quoted_commas.csv",
        csv_line(["id", "name", "address", "amount"]) + "".join(csv_line(r) for r in quoted),
    )

    book = Workbook()
    book.active.title = "Notes"  # left empty on purpose: sheet=None must skip it
    loans = book.create_sheet("Loans")
    loans.append(["loan_id", "opened", "amount", "approved", "city"])
    for index in range(20):
        loans.append(
            [
                500 + index,
                dt.datetime(2023, 1, 1) + dt.timedelta(days=7 * index),
                round(rng.uniform(1_000, 9_000), 2),
                index % 3 != 0,
                CITIES[index % len(CITIES)],
            ]
        )
    regions = book.create_sheet("Regions")
    regions.append(["region", "manager", "target"])
    for row in [
        ["North", "Ana", 120],
        ["South", "Bo", 95],
        ["East", "Chen", 80],
        ["West", "Dee", 110],
    ]:
        regions.append(row)
    (HERE / "two_sheets.xlsx").write_bytes(workbook_bytes(book))

    table = pa.table(
        {
            "id": pa.array(range(1, 101), pa.int64()),
            "score": pa.array([round(rng.uniform(0, 1), 4) for _ in range(100)], pa.float64()),
            "segment": pa.array([rng.choice(["a", "b", "c"]) for _ in range(100)], pa.string()),
            "active": pa.array([rng.random() < 0.5 for _ in range(100)], pa.bool_()),
            "joined": pa.array(
                [dt.datetime(2022, 1, 1) + dt.timedelta(hours=13 * i) for i in range(100)],
                pa.timestamp("us"),
            ),
        }
    )
    (HERE / "table.parquet").write_bytes(parquet_bytes(table, row_group_size=25))

    records = [
        {"id": 1, "name": "Ana", "age": 31, "city": "Oslo"},
        {"id": 2, "name": "Bo", "age": 45, "city": "Lima"},
        {"id": 3, "name": "Chen", "age": 28},
        {"id": 4, "name": "Dee", "age": 39, "city": "Kraków"},
        {"id": 5, "name": "Eli", "age": 52, "city": "Osaka"},
    ]
    write_text(HERE / "records.json", json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    write_text(
        HERE / "lines.jsonl",
        "".join(
            json.dumps(
                {"sensor": f"s{i % 3}", "reading": round(rng.uniform(10, 30), 2), "ok": i != 2},
                ensure_ascii=False,
            )
            + "\n"
            for i in range(6)
        )
        + "\n",
    )
    write_text(
        HERE / "columns.json",
        json.dumps(
            {
                "product": ["pen", "ink", "pad", "clip"],
                "price": [1.5, 3.0, 2.25, 0.1],
                "stock": [10, 0, 7, 250],
            },
            indent=2,
        )
        + "\n",
    )
    nested = [
        {
            "id": 1,
            "customer": {"name": "Ana", "address": {"city": "Oslo", "zip": "0150"}},
            "tags": ["new", "web"],
        },
        {
            "id": 2,
            "customer": {"name": "Bo", "address": {"city": "Lima", "zip": "15001"}},
            "tags": [],
        },
        {
            "id": 3,
            "customer": {"name": "Chen", "address": {"city": "Osaka", "zip": "530"}},
            "tags": ["vip"],
        },
    ]
    write_text(HERE / "nested.json", json.dumps(nested, indent=2) + "\n")


# --------------------------------------------------------------------------- hostile files


def make_bad(rng: random.Random) -> None:
    """The hostile corpus: each file exercises one refusal or one tolerated oddity."""
    BAD.mkdir(exist_ok=True)
    (BAD / "empty.csv").write_bytes(b"")
    write_text(BAD / "header_only.csv", "id,age,income\n")
    write_text(
        BAD / "one_column.csv",
        "name\n" + "".join(f"{n}\n" for n in ["Ana", "Bo", "Chen", "Dee", "Eli"]),
    )
    write_text(
        BAD / "duplicate_headers.csv",
        "id,name,age,name,income,id\n"
        + "".join(csv_line([i, f"n{i}", 20 + i, f"m{i}", 1000 * i, i]) for i in range(1, 6)),
    )
    write_text(
        BAD / "all_null_column.csv",
        "id,age,notes,income\n"
        + "".join(csv_line([i, 20 + i, None, 1000 * i]) for i in range(1, 9)),
    )
    write_text(BAD / "all_empty.csv", "a,b,c\n" + ",,\n" * 6)
    width = 5000
    wide = csv_line([f"c{i:04d}" for i in range(width)]) + "".join(
        csv_line([rng.randint(0, 9) for _ in range(width)]) for _ in range(3)
    )
    write_text(BAD / "wide_5000_columns.csv", wide)
    noise = bytearray(rng.getrandbits(8) for _ in range(4096))
    noise[10:14] = b"\x00\x00\x00\x00"
    (BAD / "binary.csv").write_bytes(bytes(noise))
    undecodable = "id,label\n" + "".join(f"{i},x\x01y\x02z\x03\n" for i in range(40))
    (BAD / "undecodable.csv").write_bytes(
        undecodable.encode("ascii").replace(b"x", b"\x81\x8d").replace(b"y", b"\x8f\x90")
    )
    good_parquet = (HERE / "table.parquet").read_bytes()
    (BAD / "truncated.parquet").write_bytes(good_parquet[: len(good_parquet) * 6 // 10])

    empty_book = Workbook()
    empty_book.active.title = "Sheet1"
    empty_book.create_sheet("Sheet2")
    (BAD / "empty_sheet.xlsx").write_bytes(workbook_bytes(empty_book))
    good_book = (HERE / "two_sheets.xlsx").read_bytes()
    (BAD / "corrupt.xlsx").write_bytes(good_book[: len(good_book) // 2])
    (BAD / "excel_renamed.csv").write_bytes(good_book)

    write_text(
        BAD / "one_class_target.csv",
        "age,income,defaulted\n"
        + "".join(
            csv_line([rng.randint(20, 70), rng.randint(20, 90) * 1000, "no"]) for _ in range(40)
        ),
    )
    write_text(
        BAD / "nan_target.csv",
        "age,income,churned\n"
        + "".join(
            csv_line(
                [
                    rng.randint(20, 70),
                    rng.randint(20, 90) * 1000,
                    rng.choice(["yes", "no"]) if index % 10 == 0 else None,
                ]
            )
            for index in range(40)
        ),
    )
    write_text(
        BAD / "html_script.csv",
        csv_line(["id", "<script>alert(1)</script>", "<b>bold</b>", "note"])
        + "".join(
            csv_line(
                [i, "<script>alert('x')</script>", f"<b>{i}</b>", '<img src=x onerror="alert(1)">']
            )
            for i in range(1, 6)
        ),
    )
    letters = "abcdefghijklmnopqrstuvwxyz "
    write_text(
        BAD / "long_strings.csv",
        "id,text,size\n"
        + "".join(
            csv_line([i, "".join(rng.choice(letters) for _ in range(50_000)), 50_000])
            for i in range(1, 5)
        ),
    )
    dates = [
        "2024-01-05",
        "05/01/2024",
        "Jan 5, 2024",
        "5.1.2024",
        "2024/01/05 13:45",
        "20240105",
        "January 5th 2024",
        "not a date",
        "",
    ]
    write_text(
        BAD / "mixed_dates.csv",
        "id,signed_up,amount\n"
        + "".join(csv_line([i, value, 10 * i]) for i, value in enumerate(dates, start=1)),
    )
    write_text(
        BAD / "ragged.csv",
        "id,name,age\n1,Ana,31\n2,Bo,45\n3,Chen,28\n4,Smith, John,42\n5,Eli,52\n",
    )
    write_text(BAD / "unclosed_quote.csv", 'id,name,age\n1,Ana,31\n2,"Bo,45\n3,Chen,28\n')
    write_text(
        BAD / "not_a_table.json",
        json.dumps({"name": "settings", "version": 3, "debug": True, "tags": ["a", "b"]}, indent=2)
        + "\n",
    )
    write_text(BAD / "broken.json", '[\n  {"id": 1, "name": "Ana"},\n  {"id": 2 "name": "Bo"}\n]\n')
    write_text(BAD / "blank_lines.csv", "\n\n   \n\n")
    write_text(
        BAD / "trailing_separators.csv",
        "id,age,city,\n" + "".join(csv_line([i, 20 + i, CITIES[i % 8], None]) for i in range(1, 6)),
    )
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        info = zipfile.ZipInfo("word/document.xml", date_time=FIXED_ZIP_TIME)
        archive.writestr(info, "<w:document>not a table</w:document>")
    (BAD / "wrong_extension.docx").write_bytes(docx.getvalue())


def main() -> None:
    """Write every fixture."""
    rng = random.Random(SEED)
    make_good(rng)
    make_bad(random.Random(SEED + 1))
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"Wrote fixtures in {HERE} ({total / 1024:.0f} KB in all).")


if __name__ == "__main__":
    main()
