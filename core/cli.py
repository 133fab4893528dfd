"""Command line: ``python -m core run --data SOURCE --synthesizer NAME --target COLUMN --out DIR``.

Runs the same workflow as the app (:mod:`core.workflow`: detection and corrections, PII
faked by default, honest split, training or reusing a stored model, sampling, evaluation)
and writes ``synthetic.csv``, ``report.html`` and ``metrics.json``. Progress goes to stderr;
on bad input the exit code is non-zero and stderr holds a one-line reason.
``--excel-safe-csv`` guards formula-like text cells of ``synthetic.csv`` for spreadsheets.

``--data`` may also be a database URL (``sqlite:///x.db``, ``duckdb:///x.duckdb``,
``postgresql://user@host/db`` or ``connection:<name>`` from ``.streamlit/secrets.toml``)
with exactly one of ``--table`` or ``--query``. Passwords come from ``STUDIO_DB_PASSWORD``,
``PGPASSWORD`` or the secrets file rather than the command line; they are never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import StudioError

if TYPE_CHECKING:
    from core.data.table import StudioTable

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see: python -m core run --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    from core.data.databases import DEFAULT_ROW_CAP, PASSWORD_ENV
    from core.engine.catalogue import PRESETS, REGISTRY

    parser = _Parser(prog="python -m core", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run", help="train, sample and evaluate one dataset",
        description="Train, sample and evaluate one dataset.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "databases:\n"
            "  --data sqlite:///bank.db --table loans\n"
            "  --data duckdb:///bank.duckdb --query \"SELECT * FROM loans WHERE amount > 0\"\n"
            "  --data postgresql://ann@db.example.com:5432/bank --table public.loans\n"
            "  --data connection:bank --table loans   ([connections.bank] in secrets.toml)\n"
            "Only one read-only SELECT runs. Give the password in the environment\n"
            f"({PASSWORD_ENV}, or PGPASSWORD for PostgreSQL) or in .streamlit/secrets.toml\n"
            "([database] password = \"...\"), not on the command line; it is never printed."
        ),
    )
    run.add_argument("--data", required=True, action="append",
                     help="CSV/TSV/TXT, Excel, Parquet or JSON file, a database URL "
                     "(then give --table or --query), or a shipped sample's name "
                     "(loans, bank_events, ...)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--table", help="database table to read, e.g. public.loans")
    source.add_argument("--query", help="read-only SELECT to run on the database")
    run.add_argument("--row-cap", type=int, default=DEFAULT_ROW_CAP,
                     help=f"read at most this many database rows (default {DEFAULT_ROW_CAP:,})")
    run.add_argument("--synthesizer", required=True, choices=[*REGISTRY, "hma", "auto"],
                     help="which synthesizer, or 'auto' to compare and keep the best; for "
                     "related tables hma, tabular_argn or auto")
    related = run.add_argument_group(
        "related tables", "give --data once per file, or a database with --tables; then "
        "--target is table.column and one CSV per table is written")
    related.add_argument("--tables", help="comma-separated tables of the --data database to "
                         "synthesize together, with the foreign keys its catalogue declares")
    related.add_argument("--relationship", action="append", metavar="PARENT.KEY=CHILD.FK",
                         help="a foreign key between two tables (repeatable), e.g. "
                         "customers.customer_id=accounts.customer_id")
    related.add_argument("--scale", type=float, help="related tables: synthetic root rows as "
                         "a multiple of the real training ones (default 1)")
    run.add_argument("--target", required=True,
                     help="column to predict for the utility test ('none' to skip it)")
    run.add_argument("--out", required=True, type=Path, help="output directory")
    run.add_argument("--rows", type=int, help="synthetic rows (default: real train size); for "
                     "an event table, entities (as --entities)")
    run.add_argument("--entities", type=int,
                     help="event tables: new entities to generate, each with its events "
                     "(default: as many as the model learned)")
    run.add_argument("--sequence-key",
                     help="event tables: the column naming each entity (account, customer, "
                     "ticker) whose rows form one sequence; 'none' treats rows as independent "
                     "(a shipped event sample declares its own)")
    run.add_argument("--sequence-index",
                     help="with --sequence-key: the column ordering each entity's events "
                     "(a time or step); default: the file's order")
    run.add_argument("--context-columns",
                     help="with --sequence-key: comma-separated columns constant per entity "
                     "(account type, segment), learned once per entity and fixable when "
                     "sampling; 'none' for none")
    run.add_argument("--seed", type=int, default=0, help="seed of split, fit and sampling")
    run.add_argument("--preset", choices=PRESETS, default="balanced")
    run.add_argument("--epochs", type=int, help="epochs for deep models (overrides preset)")
    run.add_argument("--budget", type=float,
                     help="seconds for the whole run; deep models get epochs to fit it "
                     "(auto: default 60, fast synthesizers first, slower ones only if they "
                     "are weak and time is left)")
    run.add_argument("--epsilon", type=float,
                     help="train with differential privacy within this budget ε (smaller = "
                     "stronger privacy, less faithful data; 1-10 is common); only "
                     "DP-capable synthesizers, which 'auto' then chooses among")
    run.add_argument("--delta", type=float,
                     help="with --epsilon: the small chance δ that the guarantee fails "
                     "(default: 1e-5, lower for more than 10,000 rows)")
    run.add_argument("--sensitive-columns",
                     help="comma-separated columns to judge fairness on (sex, age band, "
                     "nationality, ...); default: the ones suggested by name and value, "
                     "'none' to skip")
    run.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    run.add_argument("--sheet", help="Excel sheet to read (default: first with data)")
    run.add_argument("--excel-safe-csv", action="store_true",
                     help="put ' before text cells of synthetic.csv that start with =, +, -, "
                     "@, tab or CR, so spreadsheets show them instead of running them as "
                     "formulas, and end rows with CRLF (numbers are left alone; default: "
                     "plain CSV)")
    return parser


def _sensitive_columns(value: str | None, table: StudioTable) -> list[str] | None:
    """``--sensitive-columns``: None (suggest them), [] for 'none', else checked names."""
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    modelled = set(table.schema.modelled_columns)
    unknown = [name for name in names if name not in modelled]
    if unknown:
        raise StudioError(
            f"--sensitive-columns: {', '.join(repr(n) for n in unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not a modelled column of the data "
            f"(modelled: {', '.join(sorted(modelled))}).")
    return names


class _StderrProgress:
    """Prints "[ 42%] message" lines, at most one per message change."""

    def __init__(self) -> None:
        self._last = ("", -1)
        self._started = time.monotonic()

    def __call__(self, fraction: float, message: str) -> None:
        percent = int(fraction * 100)
        if (message, percent // 10) == self._last:
            return
        self._last = (message, percent // 10)
        elapsed = time.monotonic() - self._started
        sys.stderr.write(f"[{percent:3d}% {elapsed:5.0f}s] {message}\n")
        sys.stderr.flush()

    def log(self, message: str) -> None:
        """Print a free-form line."""
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Execute ``run``; returns the exit code."""
    run_started = time.monotonic()  # auto's budget counts from here, imports included
    from core.comparison import (
        AUTO_BUDGET_SECONDS,
        SELECTION_RULE,
        auto_compare,
        best_of,
        estimate_after_fit_seconds,
        leaderboard_rows,
        screening_weakness,
        selection_score,
    )
    from core.data import databases, loading
    from core.data.datasets import sample_dataset, sample_for_file, sample_keys
    from core.data.splitting import SplitSpec
    from core.engine.catalogue import check_shape, dp_capable, dp_synthesizers, get_spec
    from core.engine.device import resolve_device
    from core.engine.metadata import detect_table
    from core.evaluation.outputs import build_metrics, report_title_of, run_card, write_outputs
    from core.progress import scaled
    from core.store.registry import ModelRegistry
    from core.store.settings import get_settings
    from core.workflow import (
        check_target,
        fit_in_process,
        plan_request,
        run_model,
        train_rows,
    )

    progress = _StderrProgress()
    from core.related_cli import is_related_run, run_related_cli

    if is_related_run(args):
        return run_related_cli(args, progress)
    if args.synthesizer == "hma":
        raise StudioError("--synthesizer hma learns several related tables: give --data once "
                          "per table with --relationship parent.key=child.fk, or a database "
                          "URL with --tables.")
    args.data = args.data[0]
    if args.rows is not None and args.rows < 1:
        raise StudioError(f"--rows must be at least 1; got {args.rows}.")
    if args.entities is not None:
        if args.entities < 1:
            raise StudioError(f"--entities must be at least 1; got {args.entities}.")
        if args.rows is not None and args.rows != args.entities:
            raise StudioError("--rows and --entities both give the number of new entities of "
                              "an event table: give one of them.")
        args.rows = args.entities
    if args.budget is not None and args.budget <= 0:
        raise StudioError(f"--budget must be a positive number of seconds; got {args.budget}.")
    if args.epochs is not None:
        if args.synthesizer == "auto":
            raise StudioError("--epochs cannot be combined with 'auto' (it picks epochs by "
                              "--budget).")
        if not get_spec(args.synthesizer).deep:
            raise StudioError(f"--epochs applies to deep models; {args.synthesizer} has none.")
    _check_privacy(args, dp_capable, dp_synthesizers)
    privacy = ({} if args.epsilon is None
               else {"epsilon": args.epsilon, "delta": args.delta})
    device = resolve_device(args.device)
    shipped = None  # a shipped sample's own declarations (an event table's sequence)
    if databases.is_database_url(args.data):
        frame, name, source, notes = _read_database(args, progress)
    else:
        if args.table is not None or args.query is not None:
            raise StudioError("--table and --query apply only when --data is a database URL "
                              "(sqlite:///..., duckdb:///..., postgresql://...).")
        data_path = Path(args.data)
        if not data_path.is_file() and args.data in sample_keys():  # --data bank_events
            data_path = get_settings().sample_data_dir / sample_dataset(args.data).filename
        if not data_path.is_file():
            raise StudioError(f"No file at {args.data}. Check the path given to --data.")
        shipped = sample_for_file(data_path)
        progress(0.0, f"Reading {data_path.name}…")
        loaded = loading.load_table(data_path.read_bytes(), data_path.name, sheet=args.sheet,
                                    max_bytes=50 * 1024**3)
        frame, name, source, notes = loaded.frame, data_path.name, "command line", loaded.notes
    for note in notes:
        progress.log(f"  note: {note}")
    progress(0.02, "Detecting column types…")
    sequence = _sequence_spec(args, [str(c) for c in frame.columns],
                              shipped.sequence if shipped else None)
    table = detect_table(frame, name=name, source=source, notes=notes, sequence=sequence)
    _check_sequence(table, progress)
    if args.entities is not None and not table.schema.is_sequence:
        raise StudioError("--entities applies to event tables (give --sequence-key); use "
                          "--rows for independent rows.")
    target = None if args.target.lower() == "none" else args.target
    table = check_target(table, target)
    if target is None:
        table = table.with_target(None)
    for column in table.schema.columns:
        if column.note:
            progress.log(f"  {column.name}: {column.sdtype}, {column.action} — {column.note}")
    sensitive = _sensitive_columns(args.sensitive_columns, table)
    split = SplitSpec(seed=args.seed, target=table.target)
    registry = ModelRegistry()
    started = time.monotonic()

    if args.synthesizer == "auto":
        budget = args.budget if args.budget is not None else AUTO_BUDGET_SECONDS
        # The budget is the whole run's: reading and detecting are spent, writing the
        # outputs is kept aside.
        before = time.monotonic() - run_started
        outputs_reserve = _outputs_seconds(args.rows or train_rows(table, split),
                                           len(table.frame.columns))
        compare_budget = max(budget - before - outputs_reserve, 0.0)
        results = auto_compare(table, compare_budget, seed=args.seed, device=args.device,
                               split=split, rows=args.rows, registry=registry,
                               progress=progress, log=progress.log,
                               sensitive_columns=sensitive, **privacy)
        compare_seconds = time.monotonic() - started
        board = leaderboard_rows(results)
        for line in leaderboard_lines(board):
            progress.log(line)
        best = best_of(results)
        if best is None or best.record is None or best.evaluation is None:
            reasons = "; ".join(f"{r.request.synthesizer}: {r.reason}" for r in results)
            raise StudioError(f"No candidate finished: {reasons}")
        record, sample, evaluation = best.record, best.sample, best.evaluation
        timings = dict(best.timings)
        screened = [r for r in results if not r.slow]
        extra = {
            "selection": {
                "rule": SELECTION_RULE,
                "chosen": record.synthesizer,
                "candidates": [
                    {"synthesizer": r.request.synthesizer, "preset": r.request.preset,
                     "score": None if r.evaluation is None else round(r.score, 4),
                     "eligible": r.eligible, "reason": r.reason,
                     "seconds": round(r.seconds, 2), "title": r.label, "status": r.status,
                     "slow": r.slow, "needed_s": r.needed_s, "left_s": r.left_s,
                     "timings": dict(r.timings)}
                    for r in results
                ],
                "screening": {
                    "candidates": [r.request.synthesizer for r in screened],
                    "weakness": screening_weakness(screened),
                    "good_enough": screening_weakness(screened) is None,
                },
                "budget": {
                    "budget_s": budget,
                    "read_and_detect_s": round(before, 2),
                    "outputs_reserve_s": round(outputs_reserve, 2),
                    "compare_budget_s": round(compare_budget, 2),
                    "compare_s": round(compare_seconds, 2),
                    "after_fit_estimate_s": round(estimate_after_fit_seconds(
                        args.rows or train_rows(table, split),
                        len(table.schema.modelled_columns)), 2),
                    "spent_before_outputs_s": round(time.monotonic() - run_started, 2),
                },
            },
            "budget_s": budget,
        }
    else:
        check_shape(args.synthesizer, table.schema)
        overrides = {**({"epochs": args.epochs} if args.epochs is not None else {}),
                     **privacy} or None
        request = plan_request(table, args.synthesizer, args.preset, args.seed, args.device,
                               split, overrides=overrides, fit_budget=args.budget and
                               args.budget * 0.8)
        run_result = run_model(table, request, registry, fit_in_process(registry, device),
                               args.rows, args.seed, progress=scaled(progress, 0.05, 1.0),
                               log=progress.log, sensitive_columns=sensitive)
        record, sample, evaluation = run_result.record, run_result.sample, run_result.evaluation
        timings = dict(run_result.timings)
        extra = {"selection": {"score": round(selection_score(evaluation)[1], 4)}}
    timings["total_s"] = round(time.monotonic() - started, 3)
    metrics = build_metrics(record, sample, evaluation, len(table.frame), timings, extra)
    write_outputs(args.out, sample, evaluation, metrics, run_card(table, record, timings),
                  title=report_title_of(table, record), excel_safe=args.excel_safe_csv)
    progress(1.0, f"Wrote {args.out / 'synthetic.csv'}, report.html and metrics.json.")
    sys.stdout.write(f"{evaluation.verdict.headline}\n")
    return 0


def _column_list(value: str) -> list[str]:
    if value.strip().lower() == "none":
        return []
    return [name.strip() for name in value.split(",") if name.strip()]


def _sequence_spec(args: argparse.Namespace, columns: list[str], declared: Any) -> Any:
    """The sequence description from the flags, over the shipped sample's own (``declared``).

    Raises:
        StudioError: A flag names no column, the key is the order or a context column, or
            an order or context column is given without a key.
    """
    from core.data.schema import SequenceSpec

    key_flag = args.sequence_key
    if key_flag is not None and key_flag.strip().lower() == "none":
        if args.sequence_index is not None or args.context_columns is not None:
            raise StudioError("--sequence-key none treats rows as independent: drop "
                              "--sequence-index and --context-columns.")
        return None
    if key_flag is None and declared is None:
        if args.sequence_index is not None or args.context_columns is not None:
            raise StudioError("--sequence-index and --context-columns describe an event table: "
                              "give --sequence-key too (the column naming each entity).")
        return None
    key = key_flag if key_flag is not None else declared.key
    same = declared is not None and declared.key == key
    index = (args.sequence_index if args.sequence_index is not None
             else declared.index if same else None)
    if index is not None and index.strip().lower() == "none":
        index = None
    context = (_column_list(args.context_columns) if args.context_columns is not None
               else list(declared.context) if same else [])
    for flag, names in (("--sequence-key", [key]), ("--sequence-index", [index] if index else []),
                        ("--context-columns", context)):
        unknown = [name for name in names if name not in columns]
        if unknown:
            raise StudioError(
                f"{flag}: {', '.join(repr(n) for n in unknown)} "
                f"{'is' if len(unknown) == 1 else 'are'} not a column of the data (columns: "
                f"{', '.join(columns)}).")
    if index == key:
        raise StudioError(f"--sequence-index must differ from --sequence-key: '{key}' names "
                          "the entity, the order column orders its events (a time or step).")
    if key in context or (index is not None and index in context):
        which = key if key in context else index
        raise StudioError(f"--context-columns: '{which}' is already the entity key or the order "
                          "column; context columns are the other columns constant per entity.")
    if len(set(context)) != len(context):
        raise StudioError("--context-columns names a column twice.")
    return SequenceSpec(key=key, index=index, context=tuple(context))


def _check_sequence(table: StudioTable, progress: _StderrProgress) -> None:
    """Say what the studio does about an event table's issues; refuse what it cannot train.

    Raises:
        StudioError: The table cannot be trained as described (the message says why).
    """
    from core.data.sequences import check_sequence

    spec = table.schema.sequence
    if spec is None:
        return
    issues = check_sequence(table.frame, spec)
    errors = [issue.message for issue in issues if issue.severity == "error"]
    if errors:
        raise StudioError(" ".join(errors))
    for issue in issues:
        progress.log(f"  sequence: {issue.message}")
    context = f", context {', '.join(spec.context)}" if spec.context else ""
    progress.log(f"  sequence: entities '{spec.key}', order "
                 f"{repr(spec.index) if spec.index else 'the file order'}{context}")


def _check_privacy(args: argparse.Namespace, dp_capable: Any, dp_synthesizers: Any) -> None:
    """Refuse ``--epsilon``/``--delta`` that cannot be honoured, naming the fix.

    Raises:
        StudioError: A bad value, ``--delta`` alone, or a synthesizer without DP.
    """
    if args.epsilon is None:
        if args.delta is not None:
            raise StudioError("--delta applies only with --epsilon (the privacy budget); "
                              "give --epsilon too, or drop --delta.")
        return
    if not args.epsilon > 0:
        raise StudioError(f"--epsilon must be a positive number (1-10 is common); got "
                          f"{args.epsilon:g}.")
    if args.delta is not None and not 0 < args.delta < 1:
        raise StudioError(f"--delta must be between 0 and 1, e.g. 1e-5; got {args.delta:g}.")
    if args.synthesizer != "auto" and not dp_capable(args.synthesizer):
        raise StudioError(
            f"--epsilon needs a synthesizer that trains with differential privacy; "
            f"{args.synthesizer} does not. Use --synthesizer "
            f"{' or '.join(dp_synthesizers())}, or 'auto' (it then chooses among those), "
            "or drop --epsilon.")


def _outputs_seconds(rows: int, columns: int) -> float:
    """Seconds kept aside for writing synthetic.csv, report.html and metrics.json.

    Measured for 7,000 x 55 on 2 shared cores: 1.1 s, up to 3.8 s when they were busy.
    """
    return 2.0 + 4e-6 * rows * columns


def leaderboard_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The leaderboard as text lines (best first; skipped ones say why).

    Args:
        rows: :func:`core.comparison.leaderboard_rows`.
    """
    def number(value: float | None, decimals: int) -> str:
        return f"{'-':>7}" if value is None else f"{value:7.{decimals}f}"

    width = max([len(f"{r['title']} · {r['preset']}") for r in rows] + [11])
    lines = ["Leaderboard (best first):",
             f"  {'synthesizer':<{width}}  {'status':<7}  quality  utility  privacy  "
             f"{'seconds':>7}  why"]
    for row in rows:
        name = f"{row['title']} · {row['preset']}"
        mark = "  <- recommended" if row["recommended"] else ""
        lines.append(
            f"  {name:<{width}}  {row['status']:<7}  {number(row['quality'], 2)}  "
            f"{number(row['utility_ratio'], 2)}  {row['privacy'] or '-':<7}  "
            f"{number(row['seconds'], 0)}  {row['reason']}{mark}")
    return lines


def _read_database(args: argparse.Namespace, progress: _StderrProgress
                   ) -> tuple[Any, str, str, tuple[str, ...]]:
    """Read ``--table``/``--query`` from the ``--data`` URL: (frame, name, source, notes)."""
    from core.data import databases
    from core.progress import scaled

    if (args.table is None) == (args.query is None):
        raise StudioError("--data is a database URL: give exactly one of --table NAME or "
                          "--query \"SELECT ...\".")
    if args.row_cap is not None and args.row_cap < 1:
        raise StudioError(f"--row-cap must be at least 1; got {args.row_cap}.")
    secrets = databases.read_secrets()
    # The operator's own tool: switches that are set apply, unset ones allow what is named.
    source = databases.parse_source(args.data, secrets=secrets, policy=databases.database_policy(
        secrets=secrets, operator_tool=True))
    progress(0.0, f"Connecting to {source.display}…")
    what = databases.find_table(source, args.table) if args.table is not None else args.query
    loaded = databases.read_table(source, what, row_cap=args.row_cap,
                                  progress=scaled(progress, 0.0, 0.02))
    return loaded.frame, loaded.name, loaded.source, loaded.notes


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run; StudioErrors become one-line messages."""
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except StudioError as error:
        sys.stderr.write(f"error: {' '.join(str(error).split())}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return EXIT_FAILED
