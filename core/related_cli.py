r"""Command line for related tables: ``python -m core run`` with several tables.

Chosen by :func:`is_related_run` when ``--data`` is given more than once, or with
``--tables`` or ``--relationship``::

    python -m core run --data sqlite:///bank.db --tables customers,accounts,transactions \\
        --synthesizer hma --target customers.churned --out out/
    python -m core run --data customers.csv --data accounts.csv \\
        --relationship customers.customer_id=accounts.customer_id \\
        --synthesizer auto --target none --out out/

Databases go through the same guard as single tables (allowed folders and hosts, read-only
connections, passwords from the environment or the secrets file); their declared foreign
keys are read from the catalogue, ``--relationship`` adds more. The tables are checked
(:func:`core.data.related.check_related`) and repaired as the messages say; then the
related workflow (:mod:`core.related_workflow`) trains or reuses, samples, evaluates and
writes ``<table>.csv`` per table, ``report.html`` and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import StudioError

__all__ = ["RELATED_CHOICES", "is_related_run", "parse_relationship", "run_related_cli"]

#: ``--synthesizer`` values for related tables.
RELATED_CHOICES = ("hma", "tabular_argn", "auto")
_RELATIONSHIP = re.compile(r"^\s*([^.=\s]+)\.([^=]+?)\s*=\s*([^.=\s]+)\.([^=]+?)\s*$")


def is_related_run(args: argparse.Namespace) -> bool:
    """True when the arguments name several tables (repeated --data, --tables, --relationship)."""
    data = args.data if isinstance(args.data, list) else [args.data]
    return len(data) > 1 or bool(getattr(args, "tables", None)) or bool(
        getattr(args, "relationship", None))


def parse_relationship(text: str) -> Any:
    """``parent.key=child.fk`` -> a :class:`~core.data.related.Relationship` (source "user").

    Raises:
        StudioError: The text is not of that form (the message shows the form).
    """
    from core.data.related import Relationship

    match = _RELATIONSHIP.match(text or "")
    if match is None:
        raise StudioError(
            f"--relationship {text!r} is not of the form parent.key=child.fk, e.g. "
            "customers.customer_id=accounts.customer_id (the parent's primary key on the "
            "left, the child's column that refers to it on the right).")
    parent, parent_key, child, child_key = (part.strip() for part in match.groups())
    if parent == child:
        raise StudioError(f"--relationship {text!r} joins the table '{parent}' to itself; "
                          "related-table synthesis cannot model a self-reference.")
    return Relationship(parent, parent_key, child, child_key, source="user")


def _check_relationships(relationships: list[Any], frames: dict[str, Any]) -> None:
    for relationship in relationships:
        for table, column in ((relationship.parent, relationship.parent_key),
                              (relationship.child, relationship.child_key)):
            if table not in frames:
                raise StudioError(
                    f"--relationship {relationship.label}: there is no table '{table}'. "
                    f"Tables: {', '.join(frames)} (a file's table is its name without the "
                    "ending).")
            if column not in frames[table].columns:
                raise StudioError(
                    f"--relationship {relationship.label}: the table '{table}' has no column "
                    f"'{column}'. Its columns: {', '.join(map(str, frames[table].columns))}.")


def _target(text: str, frames: dict[str, Any]) -> tuple[str, str] | None:
    if text.strip().lower() == "none":
        return None
    table, dot, column = text.partition(".")
    if not dot or not table or not column:
        raise StudioError(f"--target {text!r}: with several tables, name the column as "
                          "table.column (e.g. customers.churned), or 'none' to skip the "
                          "usefulness test.")
    if table not in frames:
        raise StudioError(f"--target {text!r}: there is no table '{table}'. Tables: "
                          f"{', '.join(frames)}.")
    if column not in frames[table].columns:
        raise StudioError(f"--target {text!r}: the table '{table}' has no column '{column}'.")
    return table, column


def _refuse_single_table_flags(args: argparse.Namespace) -> None:
    given = [flag for flag, value in (
        ("--table", args.table), ("--query", args.query), ("--rows", args.rows),
        ("--epsilon", args.epsilon), ("--delta", args.delta),
        ("--sensitive-columns", args.sensitive_columns), ("--sheet", args.sheet),
        ("--sequence-key", getattr(args, "sequence_key", None)),
        ("--entities", getattr(args, "entities", None))) if value is not None]
    if given:
        raise StudioError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to one "
                          "table; with several tables use --tables, --relationship and "
                          "--scale (synthetic root rows as a multiple of the real ones).")
    if args.synthesizer not in RELATED_CHOICES:
        raise StudioError(f"--synthesizer {args.synthesizer} learns one table; for related "
                          f"tables choose {', '.join(RELATED_CHOICES)}.")
    if args.scale is not None and not args.scale > 0:
        raise StudioError(f"--scale must be a positive number (1 = as many root rows as the "
                          f"real training part); got {args.scale:g}.")


def _read_files(paths: list[str], progress: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    from core.data.related import read_related_files

    named = []
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise StudioError(f"No file at {text}. Check the paths given to --data.")
        named.append((path.name, path.read_bytes()))
    progress(0.0, f"Reading {len(named)} files…")
    return read_related_files(named, max_bytes=50 * 1024**3)


def _read_database(args: argparse.Namespace, progress: Any) -> Any:
    from core.data import databases
    from core.progress import scaled

    if len(args.data) != 1:
        raise StudioError("Give one database URL with --data (and its tables with --tables), "
                          "or several files, not both.")
    if args.row_cap is not None and args.row_cap < 1:
        raise StudioError(f"--row-cap must be at least 1; got {args.row_cap}.")
    secrets = databases.read_secrets()
    # The operator's own tool: switches that are set apply, unset ones allow what is named.
    source = databases.parse_source(args.data[0], secrets=secrets,
                                    policy=databases.database_policy(secrets=secrets,
                                                                     operator_tool=True))
    progress(0.0, f"Connecting to {source.display}…")
    names = [name.strip() for name in (args.tables or "").split(",") if name.strip()] or None
    return databases.read_related(source, names, row_cap=args.row_cap,
                                  progress=scaled(progress, 0.0, 0.03))


def run_related_cli(args: argparse.Namespace, progress: Any) -> int:
    """Run ``python -m core run`` on related tables; returns the exit code.

    Args:
        args: The parsed arguments (``args.data`` a list).
        progress: The CLI's stderr progress (``progress(fraction, message)``, ``.log``).

    Raises:
        StudioError: Bad input or a failed step (the message says what to do).
    """
    from core.data import databases
    from core.data.related import check_related, repair_related
    from core.engine.device import resolve_device
    from core.engine.related_metadata import detect_related
    from core.progress import scaled
    from core.related_workflow import (
        choose_related_synthesizer,
        fit_related_in_process,
        plan_related,
        related_metrics,
        run_related,
        write_related_outputs,
    )
    from core.store.registry import ModelRegistry

    started = time.monotonic()
    _refuse_single_table_flags(args)
    declared = [parse_relationship(text) for text in args.relationship or []]
    device = resolve_device(args.device)
    primary_keys = None
    if databases.is_database_url(args.data[0]):
        read = _read_database(args, progress)
        frames, notes, name = dict(read.frames), tuple(read.notes), read.name
        declared = [*read.relationships, *declared]
        primary_keys = dict(read.primary_keys)
        source = read.source
    else:
        if args.tables:
            raise StudioError("--tables names the tables of a database; with files each file "
                              "is a table (give --data once per file).")
        if any(databases.is_database_url(text) for text in args.data):
            raise StudioError("Give one database URL with --data, or several files, not both.")
        frames, notes = _read_files(args.data, progress)
        name, source = f"{len(frames)} files", "command line"
    for note in notes:
        progress.log(f"  note: {note}")
    _check_relationships(declared, frames)
    target = _target(args.target, frames)
    progress(0.04, "Detecting column types and keys…")
    related = detect_related(frames, name=name, source=source, declared=declared,
                             primary_keys=primary_keys, target=target)
    for issue in check_related(related):
        progress.log(f"  {issue.severity}: {issue.message}")
    related, repairs = repair_related(related)
    for line in repairs:
        progress.log(f"  repaired: {line}")
    for relationship in related.relationships:
        progress.log(f"  relationship: {relationship.label} ({relationship.source})")
    synthesizer = args.synthesizer
    if synthesizer == "auto":
        synthesizer, why = choose_related_synthesizer(related, args.preset, args.budget)
        progress.log(f"auto chose {why}")
    overrides = {"epochs": args.epochs} if args.epochs is not None else None
    if overrides and synthesizer != "tabular_argn":
        raise StudioError("--epochs applies to TabularARGN; HMA has no epochs.")
    request = plan_related(related, synthesizer, args.preset, seed=args.seed,
                           device=args.device, overrides=overrides)
    registry = ModelRegistry()
    run = run_related(related, request, registry, fit_related_in_process(registry, device),
                      scale=args.scale or 1.0, seed=args.seed,
                      progress=scaled(progress, 0.05, 1.0), log=progress.log)
    run.timings["total_s"] = round(time.monotonic() - started, 3)
    extra = {"selection": {"chosen": synthesizer,
                           **({"reason": why} if args.synthesizer == "auto" else {})}}
    metrics = related_metrics(run, related, extra)
    written = write_related_outputs(args.out, run, related, metrics,
                                    excel_safe=args.excel_safe_csv)
    progress(1.0, f"Wrote {', '.join(path.name for path in written)}, report.html and "
             f"metrics.json to {args.out}.")
    section = metrics["multi_table"]
    sys.stdout.write(
        f"{request.title}: quality {run.evaluation.quality_score:.2f}, referential integrity "
        f"{run.evaluation.integrity_fraction:.0%} over {len(related.relationships)} "
        f"relationship{'s' if len(related.relationships) != 1 else ''}"
        + (f", usefulness ratio {section['utility']['ratio']:.2f}"
           if isinstance(section.get("utility"), dict)
           and section["utility"].get("ratio") is not None else "") + ".\n")
    return 0
