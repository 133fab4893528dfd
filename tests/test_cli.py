"""The headless command: outputs, documented keys, clear errors, and auto's budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.__main__ import main
from core.comparison import auto_candidates

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = ROOT / "sample_data" / "customers.csv"


def test_run_writes_the_three_files_with_documented_keys(tmp_path):
    out = tmp_path / "out"
    code = main(["run", "--data", str(CUSTOMERS), "--synthesizer", "gaussian_copula",
                 "--target", "churned", "--out", str(out), "--preset", "quick",
                 "--rows", "1000", "--seed", "3"])
    assert code == 0
    synthetic = pd.read_csv(out / "synthetic.csv")
    assert len(synthetic) == 1000
    real_columns = pd.read_csv(CUSTOMERS, nrows=1).columns
    assert set(synthetic.columns) <= set(real_columns)
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("synthesizer", "params", "seed", "device", "rows_real", "rows_synthetic",
                "quality_score", "diagnostic_score", "utility", "privacy", "timings",
                "versions"):
        assert key in metrics, key
    assert metrics["synthesizer"] == "gaussian_copula" and metrics["seed"] == 3
    assert metrics["rows_real"] == 4000 and metrics["rows_synthetic"] == 1000
    assert 0.5 < metrics["quality_score"] <= 1 and 0.5 < metrics["diagnostic_score"] <= 1
    utility = metrics["utility"]
    assert utility["task"] == "classification" and utility["metric"] == "macro_f1"
    assert set(utility) >= {"real", "synthetic", "ratio", "per_model"}
    assert len(utility["per_model"]) == 3 and 0 < utility["ratio"] < 1.5
    privacy = metrics["privacy"]
    assert set(privacy) >= {"exact_match_rate", "dcr_share", "nndr_median", "attacks",
                            "epsilon"}
    assert privacy["exact_match_rate"] < 0.01 and 0.3 < privacy["dcr_share"] < 0.7
    assert set(privacy["attacks"]) == {"singling_out", "linkability", "inference", "membership"}
    for attack in privacy["attacks"].values():
        low, high = attack["ci"]
        assert 0 <= low <= attack["risk"] <= high <= 1
    assert privacy["epsilon"] is None  # not a differentially private model
    fidelity = metrics["fidelity"]
    assert 0.5 < fidelity["holdout_ceiling"]["quality_score"] <= 1
    assert 0.0 <= fidelity["discriminator_auc"] <= 1.0
    assert metrics["fairness"]["columns"].keys() == {"age"}  # suggested by name
    assert -1 <= metrics["importance_agreement"]["rank_agreement"] <= 1
    assert set(metrics["timings"]) >= {"fit_s", "sample_s", "evaluate_s"}
    assert {"sdv", "sdmetrics", "torch"} <= set(metrics["versions"])
    report = (out / "report.html").read_text()
    assert "customers.csv" in report and report.count("<html") == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--synthesizer", "gan9000"], "invalid choice: 'gan9000'"),
        (["--target", "not_a_column"], "'not_a_column' is not in the data"),
        (["--data", "missing.csv"], "No file at missing.csv"),
        (["--epochs", "5"], "--epochs applies to deep models"),
        (["--device", "cuda"], "asked for 'cuda'"),
        (["--rows", "0"], "--rows must be at least 1"),
        (["--sensitive-columns", "age,shoe_size"], "'shoe_size' is not a modelled column"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(tmp_path, arguments, expected):
    base = {"--data": str(CUSTOMERS), "--synthesizer": "gaussian_copula",
            "--target": "churned", "--out": str(tmp_path / "out")}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[flag] = value
    command = [sys.executable, "-m", "core", "run"]
    for flag, value in base.items():
        command += [flag, value]
    # CUDA hidden, so "--device cuda" is refused on a machine that has a GPU too.
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                               env=environment)
    assert completed.returncode != 0
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ") and expected in last_line
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_auto_compares_candidates_within_the_budget(tmp_path):
    out = tmp_path / "auto"
    budget = 30
    code = main(["run", "--data", str(CUSTOMERS), "--synthesizer", "auto", "--target",
                 "churned", "--out", str(out), "--budget", str(budget)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    selection = metrics["selection"]
    names = [c["synthesizer"] for c in selection["candidates"]]
    fast, slow = auto_candidates()
    assert names == [key for key, _ in fast + slow]  # skipped ones are listed, with why
    assert selection["chosen"] in names and metrics["synthesizer"] == selection["chosen"]
    finished = [c for c in selection["candidates"] if c["score"] is not None]
    assert finished and max(finished, key=lambda c: (c["eligible"], c["score"]))[
        "synthesizer"] == selection["chosen"]
    assert metrics["budget_s"] == budget
    for candidate in selection["candidates"]:  # a candidate that did not finish says why
        assert candidate["score"] is not None or candidate["reason"], candidate


def test_auto_says_which_candidates_it_skipped_and_why(tmp_path, capsys):
    data = tmp_path / "customers_small.csv"
    pd.read_csv(CUSTOMERS, nrows=600).to_csv(data, index=False)
    out = tmp_path / "auto"
    # A budget one candidate already overruns: the first runs (auto must answer), no other.
    code = main(["run", "--data", str(data), "--synthesizer", "auto", "--target", "churned",
                 "--out", str(out), "--budget", "1"])
    assert code == 0
    printed = capsys.readouterr().err
    selection = json.loads((out / "metrics.json").read_text())["selection"]
    first, *others = selection["candidates"]
    assert first["status"] == "ran" and selection["chosen"] == first["synthesizer"]
    assert others and all(c["status"] == "skipped" and c["score"] is None for c in others)
    for candidate in others:
        assert (candidate["reason"].startswith("skipped: not enough budget left: needs ~")
                or candidate["reason"] == "skipped: screening was good enough"), candidate
        if "budget" in candidate["reason"]:
            assert candidate["needed_s"] > candidate["left_s"]
    assert not selection["screening"]["good_enough"] or any(
        c["reason"] == "skipped: screening was good enough" for c in others if c["slow"])
    budget = selection["budget"]
    assert budget["budget_s"] == 1 and budget["compare_budget_s"] == 0
    assert budget["read_and_detect_s"] > 0 and budget["after_fit_estimate_s"] > 0
    # The printed leaderboard names every candidate with its status and reason.
    board = printed[printed.index("Leaderboard"):]
    for candidate in selection["candidates"]:
        line = next(line for line in board.splitlines() if candidate["title"] in line)
        assert candidate["status"] in line and candidate["reason"] in line
