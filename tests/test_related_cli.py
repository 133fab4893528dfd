"""``python -m core run`` on related tables: several files, relationships, one CSV per table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.cli import EXIT_BAD_INPUT, main
from tests.test_related_engine import tiny_bank


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bank_files")
    bank = tiny_bank(customers=50, seed=3)
    paths = {}
    for name in ("customers", "accounts", "transactions"):
        frame = bank.table(name).frame
        if name == "accounts":
            frame = frame.drop(columns=["branch_id"])
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["run", *[part for path in files.values() for part in ("--data", str(path))],
            "--synthesizer", "hma", "--preset", "quick", "--out", str(out), *extra]


LINKS = ("--relationship", "customers.customer_id=accounts.customer_id",
         "--relationship", "accounts.account_id=transactions.account_id")


def test_three_files_with_relationships_write_one_csv_per_table_report_and_metrics(
        files, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(_args(files, out, *LINKS, "--target", "customers.churned"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for name in ("customers", "accounts", "transactions"):
        frame = pd.read_csv(out / f"{name}.csv")
        assert len(frame) > 0
        assert list(frame.columns) == list(pd.read_csv(files[name], nrows=1).columns)
    assert "<html" in (out / "report.html").read_text(encoding="utf-8").lower()
    metrics = json.loads((out / "metrics.json").read_text())
    section = metrics["multi_table"]
    assert section["referential_integrity"] == 1.0
    assert set(section["cardinality_score"]) == {
        "customers.customer_id → accounts.customer_id",
        "accounts.account_id → transactions.account_id"}
    assert metrics["synthesizer"] == "hma" and metrics["shape"] == "related"
    assert metrics["tables"]["transactions"]["rows_synthetic"] > 0
    accounts = pd.read_csv(out / "accounts.csv")
    customers = pd.read_csv(out / "customers.csv")
    assert accounts.customer_id.isin(customers.customer_id).all()
    assert "referential integrity 100%" in captured.out


@pytest.mark.parametrize(("relationship", "words"), [
    ("customers.customer_id>accounts.customer_id", "not of the form parent.key=child.fk"),
    ("customers=accounts", "not of the form parent.key=child.fk"),
    ("clients.customer_id=accounts.customer_id", "there is no table 'clients'"),
    ("customers.customer_id=accounts.client", "has no column 'client'"),
])
def test_bad_relationships_are_refused_with_what_to_write(files, tmp_path, capsys,
                                                          relationship, words):
    code = main(_args(files, tmp_path / "out", "--relationship", relationship,
                      "--target", "none"))
    assert code == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert words in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_single_table_flags_and_targets_are_refused_for_several_tables(files, tmp_path, capsys):
    assert main(_args(files, tmp_path / "o", *LINKS, "--target", "churned")) == EXIT_BAD_INPUT
    assert "table.column" in capsys.readouterr().err
    assert main(_args(files, tmp_path / "o", *LINKS, "--target", "none",
                      "--rows", "10")) == EXIT_BAD_INPUT
    assert "--scale" in capsys.readouterr().err
    one = ["run", "--data", str(files["customers"]), "--synthesizer", "hma", "--target",
           "none", "--out", str(tmp_path / "o")]
    assert main(one) == EXIT_BAD_INPUT
    assert "several related tables" in capsys.readouterr().err
