"""Run benchmarks and write bench/RESULTS.md: ``python -m bench [section ...] [options]``.

Sections:
  synth    each sample dataset x each synthesizer: studio Balanced preset vs plain SDV
           defaults (fit/sample/evaluate time, peak memory, quality, utility, DCR share)
  public   public datasets bundled in scikit-learn and plotly (never tuned on): the #5 goal,
           quality >= 0.90 and TSTR ratio >= 0.90 with <= 60 s of fitting, vs plain SDV
  deep     a 10k x 20 table: Balanced CTGAN/TVAE vs SDV's 300-epoch defaults
  eval     full evaluation of a 100k x 30 table
  scaling  1k -> 1M rows: load, detection, Gaussian Copula fit, sample, evaluation, memory
  app      first paint and page switches in headless Chromium
  responsive  user B's page switches while user A's large evaluation runs (Chromium)
  peers    every studio synthesizer (Balanced), plain SDV Gaussian Copula, mostlyai-engine's
           TabularARGN and the real holdout, side by side on samples, public sets, a wide table
  privacy  every synthesizer's attack risks and holdout-relative scores on the samples, and
           quality, utility and attack risk against epsilon (the differential-privacy sweep)
  text     the complaints sample's text model: fit time and the text scores (length, words,
           text classifier, leak rate) against held-out real texts
  multitable  HMA and TabularARGN on the shipped bank database (related tables): fit time,
           quality, keys that match, children per parent, usefulness ratio
  sequences  PAR and TabularARGN on the three event samples: fit time, each sequence score,
           entity-level usefulness ratio, copy rate (--sequence-quick: a smoke run)

Each section writes bench/results/<section>.md; RESULTS.md is rebuilt from all of them.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys

from bench.common import ROOT, machine, ratio, run_child, table
from bench.multitable import MULTITABLE_SYNTHESIZERS
from bench.multitable import section as section_multitable
from bench.peers import PEER_DATASETS
from bench.peers import section as section_peers
from bench.privacy import PRIVACY_DATASETS
from bench.privacy import section as section_privacy
from bench.public import PUBLIC
from bench.sequences import SEQUENCE_DATASETS, SEQUENCE_SYNTHESIZERS
from bench.sequences import section as section_sequences
from bench.text import section as section_text

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTIONS_DIR = ROOT / "bench" / "results"
DATASETS = ("loans", "transactions", "customers")
SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae", "copula_gan")


def _log(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def _compare_rows(datasets: list[str], synthesizers: list[str], preset: str,
                  raw: list[dict] | None = None,
                  sdv_timeout: float | None = None) -> list[list]:
    """One table row per dataset x synthesizer; ``raw`` collects the studio's own results.

    With ``sdv_timeout``, a plain SDV fit still running after that many seconds is stopped:
    its row keeps the studio's figures and says "> N s" for SDV's fit time.
    """
    rows = []
    for dataset in datasets:
        for synthesizer in synthesizers:
            _log(f"{dataset} / {synthesizer}: studio {preset}…")
            studio = run_child("bench.synth_child", {"dataset": dataset, "variant": "studio",
                                                     "synthesizer": synthesizer,
                                                     "preset": preset})
            _log(f"{dataset} / {synthesizer}: plain SDV defaults…")
            sdv = run_child("bench.synth_child", {"dataset": dataset, "variant": "sdv",
                                                  "synthesizer": synthesizer},
                            **({"timeout": sdv_timeout} if sdv_timeout else {}))
            if raw is not None:
                raw.append(studio)
            if "timed_out_s" in sdv and "error" not in studio:
                limit = sdv["timed_out_s"]
                sdv = {"fit_s": f"> {limit:,.0f} (stopped)", "sample_s": None, "peak_mib": None,
                       "quality": None, "utility_ratio": None, "dcr_share": None,
                       "fit_ratio": f"< {studio['fit_s'] / limit:.3g}"}
            if "error" in studio or "error" in sdv:
                rows.append([dataset, synthesizer, studio.get("error", ""), sdv.get("error", "")]
                            + [None] * 11)
                continue
            epochs = f"{studio['epochs']}{' (early stop)' if studio['stopped_early'] else ''}" \
                if studio.get("epochs") else "–"
            rows.append([
                dataset, synthesizer,
                studio["fit_s"], sdv["fit_s"],
                sdv.get("fit_ratio") or ratio(studio["fit_s"], sdv["fit_s"]), epochs,
                studio["sample_s"], sdv["sample_s"],
                studio["evaluate_s"], studio["peak_mib"], sdv["peak_mib"],
                _pair(studio["quality"], sdv["quality"], digits=3),
                _pair(studio["utility_ratio"], sdv["utility_ratio"]),
                _pair(studio["dcr_share"], sdv["dcr_share"]),
            ])
            _log(f"  {rows[-1]}")
    return rows


def _pair(a: float | None, b: float | None, digits: int = 2) -> str:
    return " / ".join("–" if v is None else f"{v:.{digits}f}" for v in (a, b))


_COMPARE_HEADERS = ["dataset", "synthesizer", "fit s studio", "fit s SDV", "fit ratio",
                    "epochs run", "sample s studio", "sample s SDV", "eval s",
                    "peak MiB studio", "peak MiB SDV", "quality studio / SDV",
                    "utility ratio studio / SDV", "DCR share studio / SDV"]


def section_synth(args: argparse.Namespace) -> str:
    """Every sample dataset x synthesizer."""
    rows = _compare_rows(args.datasets or list(DATASETS),
                         args.synthesizers or list(SYNTHESIZERS), "balanced",
                         sdv_timeout=args.sdv_timeout)
    cap = (f" A plain SDV fit still running after {args.sdv_timeout:,.0f} s was stopped; its "
           "row says so and gives the fit ratio as an upper bound." if args.sdv_timeout else "")
    return (
        "## Synthesizers on the sample datasets: studio Balanced vs plain SDV\n\n"
        "Same training rows (70 %, stratified on the target) and the same evaluation for "
        "both. *Plain SDV* is what a notebook user writes: `Metadata.detect_from_dataframes` "
        "and the synthesizer's defaults (CTGAN/TVAE/CopulaGAN: 300 epochs, batch 500). "
        "*Studio* is the Balanced preset with the corrected metadata (PII faked, not "
        "learned). Utility ratio = TSTR/TRTR macro-F1; DCR share 0.5 is ideal. Each cell is "
        "one fresh process; fit time excludes importing the libraries." + cap + "\n\n"
        + table(_COMPARE_HEADERS, rows)
    )


def section_public(args: argparse.Namespace) -> str:
    """The quality/utility goal on public data the studio was not tuned on."""
    from bench.public import __doc__ as sources

    studio: list[dict] = []
    rows = _compare_rows([f"public:{name}" for name in args.public or list(PUBLIC)],
                         args.synthesizers or ["gaussian_copula"], "balanced", raw=studio)
    for row, result in zip(rows, studio, strict=True):
        row[0] = row[0].removeprefix("public:")
        if "error" in result:
            row.append("–")
            continue
        met = (result["quality"] >= 0.90 and (result["utility_ratio"] or 0) >= 0.90
               and result["fit_s"] <= 60)
        row.append(f"{'yes' if met else 'no'} (quality {result['quality']:.3f}, "
                   f"ratio {result['utility_ratio'] or 0:.3f})")
    note = sources.split("\n\n", 1)[1].strip()
    return (
        "## Public datasets: the quality and utility goal\n\n"
        "Goal: quality >= 0.90 and TSTR/TRTR macro-F1 ratio >= 0.90 with at most 60 s of "
        "fitting on a 2-core CPU, against plain SDV defaults. The studio was never tuned on "
        "these tables. " + note + "\n\n"
        + table([*_COMPARE_HEADERS, "goal met (studio)"], rows)
    )


def section_deep(args: argparse.Namespace) -> str:
    """The 10k x 20 deep-model target."""
    rows = _compare_rows(["wide10k"], args.synthesizers or ["ctgan", "tvae"], "balanced")
    return (
        "## Deep models on a 10,000 x 20 table: Balanced vs SDV's 300-epoch default\n\n"
        "Target: a Balanced CTGAN/TVAE fits in at most 60 s on a 2-core CPU with quality no "
        "worse than SDV's default (batch sizes suited to the data, all cores, early stop "
        "when the loss plateaus).\n\n" + table(_COMPARE_HEADERS, rows)
    )


def section_scaling(args: argparse.Namespace) -> str:
    """1k -> 1M rows."""
    rows = []
    for preset in args.presets or ["quick", "balanced"]:
        for size in args.sizes or [1_000, 10_000, 100_000, 1_000_000]:
            _log(f"scaling {size:,} rows, {preset}…")
            result = run_child("bench.scaling_child", {"rows": size, "preset": preset})
            if "error" in result:
                rows.append([f"{size:,}", preset, result["error"]] + [None] * 10)
                continue
            rows.append([f"{size:,}", preset, result["load_s"], result["detect_s"],
                         result["fit_s"], result["sample_s"], result["evaluate_s"],
                         result["privacy_s"], result["quality"], result["load_peak_mib"],
                         result["fit_peak_mib"], result["sample_peak_mib"],
                         result["evaluate_peak_mib"]])
            _log(f"  {rows[-1]}")
    return (
        "## Scaling: Gaussian Copula from 1,000 to 1,000,000 rows\n\n"
        "Fake loans table (16 columns, 5 of them PII faked after sampling). Steps: read the "
        "CSV (with progress), detect and correct metadata, fit (70 % train split), sample as "
        "many rows, full evaluation (privacy is part of it). Memory is the process's peak "
        "resident size after each step (MiB). Target: 1M rows load, fit and sample within "
        "8 GiB; full evaluation of 100k rows in at most 20 s.\n\n"
        + table(["rows", "preset", "load s", "detect s", "fit s", "sample s", "evaluate s",
                 "of which privacy s", "quality", "peak MiB load", "peak MiB fit",
                 "peak MiB sample", "peak MiB evaluate"], rows)
    )


def section_app(args: argparse.Namespace) -> str:
    """First paint and page switches."""
    from bench.app_start import measure

    result = measure(runs=args.runs)
    first = result["first_paint_s"]
    warm = result["warm_paint_s"]
    rows = [["server start until it answers (make run)", result["server_ready_s"],
             result["server_ready_s"]],
            ["Data (first visit after server start, cold browser)", first[0], first[0]],
            ["Data (first paint, cold browser)", min(first), statistics.median(first)],
            ["Data (first paint, browser cache warm)", min(warm), statistics.median(warm)]]
    for title, times in result["switch_s"].items():
        rows.append([f"switch to {title} (model cached)", min(times), statistics.median(times)])
    return (
        "## App start and page switches (headless Chromium)\n\n"
        "From navigation start until the page title is visible and the script has finished; "
        "the server is started as `make run` does. "
        "Targets: first paint at most 3 s; page switch with a cached model at most 1 s.\n\n"
        + table(["what", "best s", "median s"], rows)
    )


def section_responsive(args: argparse.Namespace) -> str:
    """Page switches while another user's evaluation runs."""
    from bench.responsive import PAGES, measure, summary

    rows_count = args.responsive_rows
    result = measure(rows=rows_count, in_server=not args.responsive_worker_only)
    modes = [("idle", "B alone"),
             ("worker", f"A's evaluation in a job worker ({result['worker_state']}, "
                        f"{result['worker_job_s']:.1f} s)")]
    if "server" in result:
        modes.append(("server", "A's Generate and evaluate on the Evaluate page "
                                f"({result['server_job_s']:.1f} s)"))
    rows = []
    for title in (*PAGES, None):
        row: list = [f"to {title}" if title else "every switch"]
        for key, _ in modes:
            count, median, worst = summary(result[key], title)
            row.append(None if median is None else
                       f"{median:.2f} / {worst:.2f} ({count})")
        rows.append(row)
    train_rows = result["train_rows"]
    return (
        "## Responsiveness: page switches while another user's evaluation runs\n\n"
        f"User A evaluates {train_rows:,} synthetic rows of a fake customers table "
        f"({rows_count:,} rows, {result['columns']} columns; {train_rows:,} real training "
        f"and {result['holdout_rows']:,} held-out rows, Quick Gaussian Copula): once through "
        "the job runner (a worker process), once by clicking *Generate N rows and evaluate* "
        "on the Evaluate page (whatever that page does: it now samples in a job and "
        "evaluates in a job, both in worker processes; before, both ran in the server "
        "process). "
        "Meanwhile user B, with the customers sample and a cached model, switches pages in "
        "headless Chromium, from the click until the new page's title shows and its script "
        "has finished (checked every 20 ms in the page); every switch started while A's "
        "work ran counts. Cells: median / "
        "worst seconds (switches). Target: under 1 s on a 2-core machine.\n\n"
        + table(["B's page switch", *(label for _, label in modes)], rows)
    )


def section_eval(args: argparse.Namespace) -> str:
    """Full evaluation of 100k x 30."""
    rows = []
    for run in range(args.runs):
        _log(f"evaluation 100k x 30, run {run + 1}…")
        result = run_child("bench.eval_child", {"rows": 100_000})
        if "error" in result:
            rows.append([run + 1, result["error"]] + [None] * 8)
            continue
        parts = result["parts"]
        rows.append([run + 1, result["wall_s"], result["cpu_s"], parts.get("columns"),
                     parts.get("correlations"), parts.get("quality"), parts.get("utility"),
                     parts.get("privacy"), result["peak_mib"]])
    return (
        "## Full evaluation of a 100,000 x 30 table\n\n"
        "`evaluate_all` (column shapes, relations, SDMetrics quality and diagnostic on a "
        "bounded sample, TSTR vs TRTR with three models, exact matches, DCR and NNDR) on 70k "
        "real training rows, 30k held-out rows and 70k synthetic rows. Target: at most 20 s "
        "on a 2-core CPU. Libraries imported beforehand.\n\n"
        + table(["run", "wall s", "CPU s", "columns s", "relations s", "SDMetrics s",
                 "utility s", "privacy s", "peak MiB"], rows)
    )


SECTIONS = {"synth": section_synth, "public": section_public, "deep": section_deep,
            "eval": section_eval, "scaling": section_scaling, "app": section_app,
            "responsive": section_responsive, "peers": section_peers,
            "privacy": section_privacy, "text": section_text,
            "multitable": section_multitable, "sequences": section_sequences}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run sections, rebuild RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", metavar="section",
                        help="sections to run (default: all)")
    parser.add_argument("--datasets", nargs="*", choices=DATASETS)
    parser.add_argument("--synthesizers", nargs="*", choices=SYNTHESIZERS)
    parser.add_argument("--public", nargs="*", choices=list(PUBLIC))
    parser.add_argument("--sizes", nargs="*", type=int)
    parser.add_argument("--presets", nargs="*", choices=["quick", "balanced", "best"])
    parser.add_argument("--runs", type=int, default=3, help="app section repetitions")
    parser.add_argument("--sdv-timeout", type=float, default=None, metavar="SECONDS",
                        help="synth section: stop a plain SDV fit after this long")
    parser.add_argument("--responsive-rows", type=int, default=300_000, metavar="ROWS",
                        help="responsive section: rows of user A's table")
    parser.add_argument("--responsive-worker-only", action="store_true",
                        help="responsive section: skip A's run through the Evaluate page")
    parser.add_argument("--peer-datasets", nargs="*", choices=PEER_DATASETS,
                        help="peers section: datasets (default: all)")
    parser.add_argument("--peer-synthesizers", nargs="*", metavar="NAME",
                        help="peers section: studio synthesizer keys and sdv_gaussian_copula, "
                             "mostlyai_argn, holdout (default: all)")
    parser.add_argument("--peer-max-rows", type=int, default=None, metavar="ROWS",
                        help="peers section: use at most this many rows of each dataset")
    parser.add_argument("--peer-fit-limit", type=float, default=None, metavar="SECONDS",
                        help="peers section: cap deep models' and TabularARGN's training time")
    parser.add_argument("--peer-timeout", type=float, default=None, metavar="SECONDS",
                        help="peers section: stop a run still going after this long")
    parser.add_argument("--privacy-datasets", nargs="*", choices=PRIVACY_DATASETS,
                        help="privacy section: datasets (default: all shipped samples)")
    parser.add_argument("--privacy-synthesizers", nargs="*", metavar="KEY",
                        help="privacy section: synthesizer keys (default: all; none given "
                             "skips the attacks table)")
    parser.add_argument("--privacy-epsilons", nargs="*", type=float, metavar="EPSILON",
                        help="privacy section: the sweep's epsilons, inf = no DP (default: "
                             "1 3 10 inf; none given skips the sweep)")
    parser.add_argument("--privacy-max-rows", type=int, default=None, metavar="ROWS",
                        help="privacy section: use at most this many rows of each dataset")
    parser.add_argument("--privacy-fit-limit", type=float, default=None, metavar="SECONDS",
                        help="privacy section: cap deep models' training time")
    parser.add_argument("--privacy-sweep-seconds", type=int, default=None, metavar="SECONDS",
                        help="privacy section: each sweep fit's time limit")
    parser.add_argument("--privacy-timeout", type=float, default=None, metavar="SECONDS",
                        help="privacy section: stop a run still going after this long")
    parser.add_argument("--text-synthesizers", nargs="*", metavar="KEY",
                        help="text section: table synthesizer keys (default: gaussian_copula "
                             "ctgan)")
    parser.add_argument("--text-max-rows", type=int, default=None, metavar="ROWS",
                        help="text section: use at most this many rows of the complaints")
    parser.add_argument("--text-seconds", type=float, default=None, metavar="SECONDS",
                        help="text section: the text model's time limit (a reduced run)")
    parser.add_argument("--text-epochs", type=int, default=None, metavar="EPOCHS",
                        help="text section: the text model's epochs (a reduced run)")
    parser.add_argument("--text-timeout", type=float, default=None, metavar="SECONDS",
                        help="text section: stop a run still going after this long")
    parser.add_argument("--multitable-synthesizers", nargs="*",
                        choices=MULTITABLE_SYNTHESIZERS,
                        help="multitable section: related synthesizers (default: hma "
                             "tabular_argn)")
    parser.add_argument("--multitable-quick", action="store_true",
                        help="multitable section: a smoke run (120 customers, Quick preset)")
    parser.add_argument("--multitable-timeout", type=float, default=None, metavar="SECONDS",
                        help="multitable section: stop a run still going after this long")
    parser.add_argument("--sequence-datasets", nargs="*", choices=SEQUENCE_DATASETS,
                        help="sequences section: event samples (default: all three)")
    parser.add_argument("--sequence-synthesizers", nargs="*", choices=SEQUENCE_SYNTHESIZERS,
                        help="sequences section: synthesizers (default: par tabular_argn)")
    parser.add_argument("--sequence-seconds", type=float, default=None, metavar="SECONDS",
                        help="sequences section: each fit's time limit (default: 60)")
    parser.add_argument("--sequence-max-entities", type=int, default=None, metavar="N",
                        help="sequences section: use at most this many entities per sample")
    parser.add_argument("--sequence-timeout", type=float, default=None, metavar="SECONDS",
                        help="sequences section: stop a run still going after this long")
    parser.add_argument("--sequence-quick", action="store_true",
                        help="sequences section: a smoke run (5 s fits, 60 entities)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    SECTIONS_DIR.mkdir(exist_ok=True)
    for name in args.sections or list(SECTIONS):
        _log(f"== {name}")
        text = SECTIONS[name](args)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        (SECTIONS_DIR / f"{name}.md").write_text(
            f"{text}\n\n_Measured {stamp} on: {machine()}._\n")
        print(text, flush=True)
    parts = ["# Benchmark results\n",
             "Written by `make bench` (`python -m bench`). Each section notes when and on "
             "which machine it was measured. Ratios compare the studio with plain SDV 2.0 "
             "defaults in the same run.\n"]
    for name in SECTIONS:
        path = SECTIONS_DIR / f"{name}.md"
        if path.exists():
            parts.append(path.read_text())
    RESULTS.write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
