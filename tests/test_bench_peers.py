"""The peers benchmark's machinery (``python -m bench peers``) on tiny tables, fastest rows only.

No timing is asserted: only that every row is measured in its own process, scored by the
studio's evaluation, that the pick follows the selection rule and that a missing library or
a stopped run is said as such, never given a number.
"""

from __future__ import annotations

import pytest

from bench.peers import HEADERS, measure, render, studio_pick, table_rows


def _cells(markdown: str) -> list[dict[str, str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(headers, (cell.strip() for cell in line.strip("|").split("|")),
                     strict=True)) for line in lines[1:]]


@pytest.fixture(scope="module")
def tips_results():
    return measure(["tips"], ["gaussian_copula", "sdv_gaussian_copula", "holdout"])


def test_fast_rows_are_measured_and_read_against_the_pick(tips_results):
    rows = tips_results["tips"]
    assert set(rows) == {"gaussian_copula", "sdv_gaussian_copula", "holdout"}
    for name, result in rows.items():
        assert "error" not in result, (name, result)
        assert 0 < result["quality"] <= 1 and 0 <= result["dcr_share"] <= 1
        assert 0 <= result["exact_match_rate"] <= 1 and result["peak_mib"] > 0
    # Same split for every contender; the holdout row plays half of the held-out rows.
    assert {r["rows_train"] for r in rows.values()} == {170}
    assert rows["gaussian_copula"]["sample_rows"] == 170
    assert rows["holdout"]["sample_rows"] == 37 and rows["holdout"]["fit_s"] is None
    assert studio_pick(rows) == "gaussian_copula"  # the only studio row

    cells = {row["contender"]: row for row in _cells(render(tips_results))}
    pick = cells["Gaussian Copula (studio Balanced) **= pick**"]
    assert pick["quality / pick"] == pick["utility / pick"] == pick["fit / pick"] == "1.00"
    sdv = cells["plain SDV Gaussian Copula (defaults)"]
    expected = rows["sdv_gaussian_copula"]["quality"] / rows["gaussian_copula"]["quality"]
    assert sdv["quality / pick"] == f"{expected:.2f}"
    holdout = cells["real holdout (ceiling)"]
    assert holdout["fit s"] == "–" and holdout["quality"] == f"{rows['holdout']['quality']:.3f}"


def test_wide_table_row_with_a_row_cap():
    results = measure(["wide"], ["gaussian_copula"], max_rows=200)
    result = results["wide"]["gaussian_copula"]
    assert "error" not in result, result
    assert result["rows_train"] == 140 and result["columns"] == 55
    assert "at most 200 rows" in render(results, max_rows=200)


def test_unknown_contender_is_refused():
    with pytest.raises(ValueError, match="unknown contender"):
        measure(["tips"], ["no_such_synthesizer"])


def _scored(quality: float, eligible: bool, score: float) -> dict:
    return {"quality": quality, "utility_ratio": 0.9, "dcr_share": 0.5, "exact_match_rate": 0.0,
            "eligible": eligible, "score": score, "fit_s": 2.0, "sample_s": 0.1,
            "peak_mib": 500.0}


def test_pick_passes_the_privacy_guard_first_and_missing_peers_get_no_numbers():
    results = {"loans": {
        "ctgan": _scored(0.99, eligible=False, score=0.99),
        "gaussian_copula": _scored(0.90, eligible=True, score=0.90),
        "sdv_gaussian_copula": _scored(0.99, eligible=True, score=0.99),  # a peer: never picked
        "mostlyai_argn": {"not_installed": "mostlyai-engine"},
        "tvae": {"error": "did not finish in 60 s", "timed_out_s": 60},
    }}
    assert studio_pick(results["loans"]) == "gaussian_copula"
    rows = {row[1]: row for row in table_rows(results)}
    assert all(len(row) == len(HEADERS) for row in rows.values())
    argn = rows["mostlyai-engine TabularARGN (defaults)"]
    assert argn[2] == "not installed (mostlyai-engine)" and set(argn[3:]) == {None}
    tvae = next(row for title, row in rows.items() if title.startswith("TVAE"))
    assert tvae[2] == "stopped after 60 s" and set(tvae[3:]) == {None}
    ctgan = next(row for title, row in rows.items() if title.startswith("CTGAN"))
    assert ctgan[9] == "fails" and ctgan[11] == "1.10"  # quality 0.99 / the pick's 0.90
