"""The studio against its peers, side by side in one run (``python -m bench peers``).

Each dataset gets one row per contender, each measured in a fresh process
(``bench/peers_child.py``, which says how each contender is run): every studio synthesizer
in ``core.engine.catalogue.REGISTRY`` with its Balanced preset, plain SDV Gaussian Copula,
mostlyai-engine's TabularARGN with its own defaults, and the real held-out rows scored as if
they were a synthetic sample (the ceiling). Ratios are read against the studio's pick: the
studio row that ``core.workflow``'s selection rule recommends for that dataset.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import ratio, run_child, table
from bench.peers_child import PEERS
from bench.public import PUBLIC

#: Datasets of the peers section: the shipped samples, the public sets, the wide table.
PEER_DATASETS: tuple[str, ...] = ("loans", "transactions", "customers", *PUBLIC, "wide")
_PEER_TITLES = {"sdv_gaussian_copula": "plain SDV Gaussian Copula (defaults)",
                "mostlyai_argn": "mostlyai-engine TabularARGN (defaults)",
                "holdout": "real holdout (ceiling)"}

HEADERS = ["dataset", "contender", "fit s", "sample s", "quality", "utility ratio",
           "DCR share", "exact copies", "peak MiB", "privacy guard", "fit / pick",
           "quality / pick", "utility / pick", "peak MiB / pick"]


def contenders() -> list[str]:
    """Every studio synthesizer registered now, then the peers."""
    from core.engine.catalogue import REGISTRY

    return [*REGISTRY, *PEERS]


def _child_key(dataset: str) -> str:
    return f"public:{dataset}" if dataset in PUBLIC else dataset


def measure(datasets: Sequence[str], names: Sequence[str] | None = None,
            max_rows: int | None = None, fit_limit: float | None = None,
            timeout: float | None = None,
            log: Callable[[str], None] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Run every contender on every dataset; ``{dataset: {contender: result}}``.

    Args:
        datasets: Names from :data:`PEER_DATASETS`.
        names: Contenders (default: :func:`contenders`).
        max_rows: Use at most this many rows of each dataset (a seeded draw).
        fit_limit: Cap, in seconds, on the studio deep models' time limit and on TabularARGN's
            ``max_training_time`` (default: each one's own).
        timeout: Stop a run still going after this many seconds (its row says so).
        log: Progress lines.
    """
    say = log or (lambda message: None)
    known = contenders()
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise ValueError(f"unknown contender(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(known)}")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for dataset in datasets:
        results[dataset] = {}
        for name in names or known:
            say(f"peers: {dataset} / {name}…")
            payload = {"dataset": _child_key(dataset), "contender": name,
                       "max_rows": max_rows, "fit_limit": fit_limit}
            result = run_child("bench.peers_child", payload,
                               **({"timeout": timeout} if timeout else {}))
            results[dataset][name] = result
            say(f"  {result}")
    return results


def studio_pick(rows: dict[str, dict[str, Any]]) -> str | None:
    """The studio row the selection rule recommends (eligible first, then score).

    The key of ``core.comparison.best_of``, over the studio synthesizers that ran.
    """
    scored = [(name, result) for name, result in rows.items()
              if name not in PEERS and result.get("score") is not None]
    if not scored:
        return None
    return max(scored, key=lambda item: (item[1]["eligible"], item[1]["score"]))[0]


def _title(name: str) -> str:
    if name in _PEER_TITLES:
        return _PEER_TITLES[name]
    from core.engine.catalogue import REGISTRY

    return f"{REGISTRY[name].title} (studio Balanced)" if name in REGISTRY else name


def table_rows(results: dict[str, dict[str, dict[str, Any]]]) -> list[list[Any]]:
    """The Markdown table's rows: every cell computed from ``results``."""
    rows: list[list[Any]] = []
    for dataset, by_name in results.items():
        pick_name = studio_pick(by_name)
        pick = by_name.get(pick_name, {}) if pick_name else {}
        for name, result in by_name.items():
            title = _title(name)
            limit = result.get("fit_limit_s")
            if limit and (result.get("fit_s") or 0) >= 0.9 * limit:  # the cap ended the fit
                title += f" (fit capped at {limit:,.0f} s)"
            if name == pick_name:
                title += " **= pick**"
            if "not_installed" in result:
                rows.append([dataset, title, f"not installed ({result['not_installed']})"]
                            + [None] * (len(HEADERS) - 3))
                continue
            if "timed_out_s" in result:
                rows.append([dataset, title, f"stopped after {result['timed_out_s']:,.0f} s"]
                            + [None] * (len(HEADERS) - 3))
                continue
            if "error" in result:
                rows.append([dataset, title, f"failed: {result['error']}"]
                            + [None] * (len(HEADERS) - 3))
                continue
            exact = result["exact_match_rate"]
            rows.append([
                dataset, title, result.get("fit_s"), result.get("sample_s"),
                f"{result['quality']:.3f}",
                None if result["utility_ratio"] is None else f"{result['utility_ratio']:.2f}",
                f"{result['dcr_share']:.2f}", f"{exact:.2%}",
                f"{result['peak_mib']:,.0f}",
                "passes" if result["eligible"] else "fails",
                _ratio_cell(result.get("fit_s"), pick.get("fit_s")),
                _ratio_cell(result["quality"], pick.get("quality")),
                _ratio_cell(result["utility_ratio"], pick.get("utility_ratio")),
                _ratio_cell(result["peak_mib"], pick.get("peak_mib")),
            ])
    return rows


def _ratio_cell(value: float | None, pick: float | None) -> str | None:
    share = ratio(value, pick)
    return None if share is None else f"{share:.2f}"


def render(results: dict[str, dict[str, dict[str, Any]]], max_rows: int | None = None,
           fit_limit: float | None = None, timeout: float | None = None) -> str:
    """The section's Markdown: what was run, how to read it, and the table."""
    limits = []
    if max_rows:
        limits.append(f"at most {max_rows:,} rows of each dataset (a seeded draw)")
    if fit_limit:
        limits.append(f"fits capped at {fit_limit:,.0f} s (studio deep models' time limit, "
                      "TabularARGN's max_training_time; rows the cap stopped say 'fit capped')")
    if timeout:
        limits.append(f"a run still going after {timeout:,.0f} s stopped")
    reduced = (" **Reduced run:** " + "; ".join(limits) + ". Not the full benchmark."
               if limits else "")
    return (
        "## The studio against its peers, side by side\n\n"
        "Every contender on the same split (70 % train, stratified on the target, seed 0) "
        "and scored by the studio's own evaluation against the same held-out rows. "
        "*Studio* rows are every synthesizer in the catalogue with its Balanced preset. "
        "*Plain SDV Gaussian Copula* is SDV's metadata detection and defaults on the raw "
        "training rows. *TabularARGN* is `mostlyai.engine.TabularARGN()` with the library's "
        "own defaults (seeded), `fit` on the raw training rows and `sample`, as its README "
        "shows; 'not installed' when the package is missing. *Real holdout* is real rows no "
        "model saw, scored as if they were a synthetic sample: the ceiling every score is "
        "read against. A sample cannot be its own held-out reference, so half the held-out "
        "rows (15 % of the table) play the sample and the other half the unseen rows; with "
        "fewer rows, its quality and utility ratio are lower bounds of the ceiling. "
        "*Pick* is the studio row the studio's selection rule recommends (privacy guard "
        "first, then the mean of quality and utility ratio); '/ pick' columns divide a "
        "row's value by the pick's. Utility ratio = train-on-synthetic / train-on-real "
        "score on the held-out rows; DCR share 0.5 is ideal, 1.0 = every row hugs a "
        "training row; exact copies = synthetic rows identical to a training row. Each "
        "row is one fresh process; fit time excludes importing the libraries; peak MiB is "
        "the process's peak resident memory (libraries, fit, sample and evaluation)."
        + reduced + "\n\n" + table(HEADERS, table_rows(results))
    )


def section(args: Any) -> str:
    """``python -m bench peers``: measure and render."""
    def log(message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    results = measure(args.peer_datasets or list(PEER_DATASETS), args.peer_synthesizers,
                      max_rows=args.peer_max_rows, fit_limit=args.peer_fit_limit,
                      timeout=args.peer_timeout, log=log)
    return render(results, args.peer_max_rows, args.peer_fit_limit, args.peer_timeout)
