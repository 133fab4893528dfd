"""Related tables on the shipped bank database: ``python -m bench multitable``.

For each related synthesizer (HMA ``hma`` and TabularARGN's multi-table mode
``tabular_argn``), in a fresh process with a private temporary data directory (nothing
reused): the four bank tables (``sample_data/bank/``: branches, customers, accounts,
transactions) are detected with their declared keys (``core.engine.related_metadata``),
planned, trained, sampled and evaluated through ``core.related_workflow.run_related`` — the
path the CLI and the app's job take — and the table reports fit, sampling and evaluation
seconds, SDMetrics' multi-table quality and diagnostic scores, referential integrity (with
orphans), the cardinality score of each relationship, the usefulness ratio of predicting a
customer's churn from their accounts' and transactions' summaries, and whether faked names
stay one per person across tables.

``--multitable-quick`` is a smoke run: 120 customers and their rows, the Quick preset (said
in the section). The full run is for a quiet machine.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import peak_rss_mib, run_child, table

#: The related synthesizers benchmarked by default.
MULTITABLE_SYNTHESIZERS: tuple[str, ...] = ("hma", "tabular_argn")
#: Customers kept by a quick (smoke) run.
QUICK_CUSTOMERS = 120

HEADERS = ["synthesizer", "preset", "rows (train tables)", "fit s", "sample s", "evaluate s",
           "quality", "diagnostic", "keys that match (orphans)", "cardinality per relationship",
           "usefulness ratio (churn)", "PII one per person", "peak MiB"]


def measure(names: Sequence[str], quick: bool = False, timeout: float | None = None,
            log: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """One fresh-process run per synthesizer: ``{name: row}``."""
    say = log or (lambda message: None)
    options = {"timeout": timeout} if timeout else {}
    results = {}
    for name in names:
        say(f"multitable: bank / {name}…")
        results[name] = run_child("bench.multitable", {"synthesizer": name, "quick": quick},
                                  **options)
        say(f"  {results[name]}")
    return results


def _short(label: str) -> str:
    """"customers.customer_id → accounts.customer_id" → "customers→accounts"."""
    parent, child = label.split(" → ")
    return f"{parent.split('.')[0]}→{child.split('.')[0]}"


def rows_of(results: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The table's rows, one per synthesizer: every cell computed from ``results``."""
    rows: list[list[Any]] = []
    for name, row in results.items():
        if "error" in row:
            failed = (f"stopped after {row['timed_out_s']:,.0f} s" if "timed_out_s" in row
                      else f"failed: {row['error']}")
            rows.append([name, failed] + [None] * (len(HEADERS) - 2))
            continue
        section = row["multi_table"]
        orphans = sum(section["orphans"].values())
        cardinality = "; ".join(f"{_short(label)} {score:.2f}"
                                for label, score in section["cardinality_score"].items())
        utility = section.get("utility") or {}
        ratio = utility.get("ratio")
        pii = section.get("pii_consistency") or []
        judged = [p for p in pii if p["judged"]]
        pii_cell = ("–" if not judged else
                    "yes" if all(p["inconsistent_rows"] == 0 for p in judged)
                    else f"no ({sum(p['inconsistent_entities'] for p in judged):,} people)")
        rows.append([
            name, row["preset"], row["train_rows"], row["fit_s"], row["sample_s"],
            row["evaluate_s"], f"{section['quality_score']:.3f}",
            f"{section['diagnostic_score']:.3f}",
            f"{section['referential_integrity']:.1%} ({orphans:,})", cardinality,
            "–" if ratio is None else f"{ratio:.2f}", pii_cell, row.get("peak_mib"),
        ])
    return rows


def render(results: dict[str, dict[str, Any]], quick: bool = False,
           timeout: float | None = None) -> str:
    """The section's Markdown: what was run, how to read it, and the table."""
    limits = []
    if quick:
        limits.append(f"{QUICK_CUSTOMERS} customers and their rows, Quick preset")
    if timeout:
        limits.append(f"a run still going after {timeout:,.0f} s stopped")
    reduced = (" **Reduced run:** " + "; ".join(limits) + ". Not the full benchmark."
               if limits else "")
    return (
        "## Related tables: the bank database\n\n"
        "The shipped bank sample (branches → accounts ← customers, accounts → transactions; "
        "`sample_data/bank/`) through the related-tables workflow "
        "(`core.related_workflow.run_related`: split by customer with their accounts and "
        "transactions, 30 % held out; train; sample as many rows; evaluate), each "
        "synthesizer with its Balanced preset in a fresh process. *Quality* and "
        "*diagnostic* are SDMetrics' multi-table reports; *keys that match* is referential "
        "integrity (100 % = no orphan child row); *cardinality* is 1 − the largest gap "
        "between the real and synthetic distributions of children per parent; the "
        "*usefulness ratio* compares models predicting a customer's churn from their own "
        "columns and their accounts' and transactions' summaries, trained on synthetic vs "
        "real tables and tested on the held-out customers; *PII one per person* says "
        "whether each synthetic customer's fake name is the one on their accounts."
        + reduced + "\n\n" + table(HEADERS, rows_of(results))
    )


def section(args: Any) -> str:
    """``python -m bench multitable``: measure and render."""
    def log(message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    names = args.multitable_synthesizers or list(MULTITABLE_SYNTHESIZERS)
    results = measure(names, args.multitable_quick, args.multitable_timeout, log=log)
    return render(results, args.multitable_quick, args.multitable_timeout)


# --------------------------------------------------------------------------- the child


def bank_tables(quick: bool) -> tuple[Any, dict[str, Any]]:
    """The shipped bank sample as detected related tables (a quick run keeps fewer)."""
    import numpy as np

    from core.data.datasets import load_related_sample, related_sample
    from core.engine.related_metadata import detect_related

    sample = related_sample("bank")
    frames = load_related_sample("bank")
    if quick:
        customers = frames["customers"]
        keep = np.random.default_rng(0).choice(len(customers), QUICK_CUSTOMERS, replace=False)
        frames["customers"] = customers.iloc[np.sort(keep)].reset_index(drop=True)
        accounts = frames["accounts"]
        frames["accounts"] = accounts[accounts["customer_id"].isin(
            frames["customers"]["customer_id"])].reset_index(drop=True)
        transactions = frames["transactions"]
        frames["transactions"] = transactions[transactions["account_id"].isin(
            frames["accounts"]["account_id"])].reset_index(drop=True)
    related = detect_related(frames, name="bank", source="Sample dataset",
                             declared=sample.relationships, primary_keys=sample.primary_keys,
                             target=sample.target)
    return related, frames


def _measure(payload: dict[str, Any]) -> dict[str, Any]:
    """One synthesizer on the bank database: plan, fit, sample, evaluate."""
    from core.related_workflow import fit_related_in_process, plan_related, run_related
    from core.store.registry import ModelRegistry

    quick = bool(payload.get("quick"))
    related, frames = bank_tables(quick)
    preset = "quick" if quick else "balanced"
    request = plan_related(related, payload["synthesizer"], preset, seed=0)
    registry = ModelRegistry()
    started = time.perf_counter()
    run = run_related(related, request, registry, fit_related_in_process(registry), seed=0)
    return {
        "preset": preset, "train_rows": sum(len(frame) for frame in frames.values()),
        "fit_s": round(run.timings["fit_s"], 1), "sample_s": round(run.timings["sample_s"], 1),
        "evaluate_s": round(run.timings["evaluate_s"], 1),
        "wall_s": round(time.perf_counter() - started, 1),
        "multi_table": run.evaluation.as_dict(), "peak_mib": round(peak_rss_mib()),
    }


def main() -> None:
    """Run the measurement described on stdin in a private data directory."""
    payload = json.loads(sys.stdin.read())
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="studio_multitable_") as data_dir:
        os.environ["STUDIO_DATA_DIR"] = data_dir
        result = _measure(payload)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
