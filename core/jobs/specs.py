"""A job's inputs as data: training requests, comparison specs, sample and evaluation inputs.

The local runner writes them into the job's folder (private files, see
:mod:`core.jobs.folders`) and the worker reads them back; the Ray backend sends the same
data with the task. A sample's or an evaluation's inputs hold frames and Python values
(fixed values may be timestamps), so they are pickled rather than JSON; so is a what-if
sweep's spec (:func:`sweep_spec`), beside its table's rows.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.multi_table import RelatedRequest
from core.engine.training import TrainingRequest, schema_from_dict, schema_to_dict
from core.jobs.folders import (
    COMPARE_FILE,
    FRAME_FILE,
    INPUTS_FILE,
    REQUEST_FILE,
    write_private,
)
from core.jobs.status import read_status

if TYPE_CHECKING:
    from core.engine.generation import GeneratedSample
    from core.store.registry import ModelRecord

__all__ = [
    "compare_spec",
    "evaluation_inputs",
    "is_compare_job",
    "job_kind",
    "load_compare_request",
    "load_inputs",
    "load_job_request",
    "load_related_request",
    "load_sweep_request",
    "related_evaluation_inputs",
    "related_sample_inputs",
    "sample_inputs",
    "sweep_spec",
    "table_from_compare_spec",
    "write_compare_request",
    "write_inputs",
    "write_job_request",
    "write_related_request",
    "write_sweep_request",
]


def compare_spec(table: StudioTable, candidates: Sequence[tuple[str, str]],
                 budget: float | None, seed: int = 0, device: str = "auto",
                 split: SplitSpec | None = None) -> dict[str, Any]:
    """A comparison's settings and the table's description, as JSON-able data."""
    split = split or SplitSpec(target=table.target)
    return {
        "name": table.name, "source": table.source, "fingerprint": table.fingerprint,
        "target": table.target, "schema": schema_to_dict(table.schema),
        "candidates": [list(c) for c in candidates], "budget": budget, "seed": seed,
        "device": device, "split": split.to_dict(),
    }


def table_from_compare_spec(spec: dict[str, Any], frame: pd.DataFrame) -> StudioTable:
    """Rebuild the table a comparison runs on (inverse of :func:`compare_spec`)."""
    schema = schema_from_dict(spec["schema"])
    return StudioTable(frame=frame, name=spec["name"], source=spec["source"],
                       fingerprint=spec["fingerprint"], notes=(), schema=schema,
                       detected_schema=schema, target=spec["target"])


def sweep_spec(table: StudioTable, epsilons: Sequence[float | None], seed: int = 0,
               device: str = "auto", split: SplitSpec | None = None,
               fit_seconds: int | None = None, delta: float | None = None,
               epochs: int | None = None) -> dict[str, Any]:
    """A what-if sweep's settings and the table's description, as JSON-able data.

    The table's part is :func:`compare_spec`'s (:func:`table_from_compare_spec` reads it);
    ``fit_seconds`` None means :data:`core.privacy_sweep.FIT_SECONDS`, ``epochs`` None the
    preset's.
    """
    return {**compare_spec(table, [], None, seed, device, split),
            "epsilons": [None if e is None else float(e) for e in epsilons],
            "fit_seconds": fit_seconds, "delta": delta, "epochs": epochs}


def _write_frame(job_dir: Path, frame: pd.DataFrame) -> None:
    write_private(job_dir / FRAME_FILE, frame.to_pickle)


def _read_frame(job_dir: Path) -> pd.DataFrame:
    return pd.read_pickle(job_dir / FRAME_FILE)  # noqa: S301 - written by this app, 0600


def write_job_request(job_dir: Path, request: TrainingRequest, frame: pd.DataFrame) -> None:
    """Write a fit's inputs into its (new, private) folder."""
    write_private(job_dir / REQUEST_FILE, request.to_json())
    _write_frame(job_dir, frame)


def load_job_request(job_dir: Path) -> tuple[TrainingRequest, pd.DataFrame]:
    """Read a fit's inputs (the worker)."""
    request = TrainingRequest.from_json((job_dir / REQUEST_FILE).read_text())
    return request, _read_frame(job_dir)


def write_compare_request(job_dir: Path, spec: dict[str, Any], frame: pd.DataFrame) -> None:
    """Write a comparison's inputs (:func:`compare_spec` and the table's rows)."""
    write_private(job_dir / COMPARE_FILE, json.dumps(spec))
    _write_frame(job_dir, frame)


def is_compare_job(job_dir: Path) -> bool:
    """True if the folder holds a comparison rather than a fit."""
    return (job_dir / COMPARE_FILE).exists()


def load_compare_request(job_dir: Path) -> tuple[StudioTable, dict[str, Any]]:
    """Read a comparison's inputs (the worker)."""
    spec = json.loads((job_dir / COMPARE_FILE).read_text())
    return table_from_compare_spec(spec, _read_frame(job_dir)), spec


def write_sweep_request(job_dir: Path, spec: dict[str, Any], frame: pd.DataFrame) -> None:
    """Write a sweep's inputs (:func:`sweep_spec` and the table's rows)."""
    write_inputs(job_dir, {"sweep": spec})
    _write_frame(job_dir, frame)


def load_sweep_request(job_dir: Path) -> tuple[StudioTable, dict[str, Any]]:
    """Read a sweep's inputs (the worker)."""
    spec = load_inputs(job_dir)["sweep"]
    return table_from_compare_spec(spec, _read_frame(job_dir)), spec


def sample_inputs(record: ModelRecord, rows: int | None = None, seed: int = 0,
                  real_example: pd.DataFrame | None = None,
                  fixed_values: Mapping[str, Any] | None = None,
                  rebalance_column: str | None = None,
                  class_shares: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A sample job's inputs: the arguments of :func:`core.workflow.sample_model`."""
    return {"record": record, "rows": rows, "seed": seed, "real_example": real_example,
            "fixed_values": dict(fixed_values) if fixed_values else None,
            "rebalance_column": rebalance_column,
            "class_shares": dict(class_shares) if class_shares else None}


def evaluation_inputs(record: ModelRecord, sample: GeneratedSample, real_train: pd.DataFrame,
                      holdout: pd.DataFrame, seed: int = 0,
                      sensitive_columns: Sequence[str] | None = None) -> dict[str, Any]:
    """An evaluation job's inputs: the arguments of :func:`core.workflow.evaluate_sample`."""
    return {"record": record, "sample": sample, "real_train": real_train, "holdout": holdout,
            "seed": seed,
            "sensitive_columns": None if sensitive_columns is None else list(sensitive_columns)}


def related_sample_inputs(record: ModelRecord, scale: float = 1.0, seed: int = 0
                          ) -> dict[str, Any]:
    """A sample job's inputs for a related model (``record.shape == "related"``).

    The arguments of :func:`core.related_workflow.sample_related_model`; the job kind is
    "sample", like a single table's (:func:`core.jobs.execution.run_sample_job`).
    """
    return {"record": record, "scale": float(scale), "seed": int(seed)}


def related_evaluation_inputs(record: ModelRecord, synthetic: Mapping[str, pd.DataFrame],
                              frames: Mapping[str, pd.DataFrame], seed: int = 0
                              ) -> dict[str, Any]:
    """An evaluation job's inputs for a related model's tables.

    The synthetic tables and every real table's full rows: the job splits them by root
    entity as the model's request says (:func:`core.related_workflow.evaluate_related_sample`).
    """
    return {"record": record, "tables": dict(synthetic), "frames": dict(frames),
            "seed": int(seed)}


def write_related_request(job_dir: Path, request: RelatedRequest,
                          frames: Mapping[str, pd.DataFrame]) -> None:
    """Write a related-tables fit's inputs: the request (JSON) and every table's rows."""
    write_inputs(job_dir, {"related": request.to_json(), "frames": dict(frames)})


def load_related_request(job_dir: Path) -> tuple[RelatedRequest, dict[str, pd.DataFrame]]:
    """Read a related-tables fit's inputs (the worker)."""
    inputs = load_inputs(job_dir)
    return RelatedRequest.from_json(inputs["related"]), dict(inputs["frames"])


def write_inputs(job_dir: Path, inputs: dict[str, Any]) -> None:
    """Write a sample's or an evaluation's inputs (they hold real rows: a private file)."""
    write_private(job_dir / INPUTS_FILE,
                  lambda handle: pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL))


def load_inputs(job_dir: Path) -> dict[str, Any]:
    """Read a sample's or an evaluation's inputs (the worker)."""
    with (job_dir / INPUTS_FILE).open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - written by this app, 0600 in a 0700 folder


def job_kind(job_dir: Path) -> str:
    """What the job in ``job_dir`` does: its status says (else its input files do)."""
    status = read_status(job_dir)
    if status is not None and status.kind:
        return status.kind
    return "compare" if is_compare_job(job_dir) else "train"
