"""Shared benchmark helpers: machine description, child-process measurements, tables."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """One line describing the machine and library versions."""
    import importlib.metadata as metadata

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError):
        pass
    versions = ", ".join(f"{name} {metadata.version(name)}"
                         for name in ("sdv", "sdmetrics", "torch", "pandas", "streamlit"))
    return (f"{cpu}, {len(os.sched_getaffinity(0))} cores{memory}; Python "
            f"{platform.python_version()}; {versions}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(module: str, payload: dict[str, Any], timeout: float = 7200) -> dict[str, Any]:
    """Run ``python -m <module>`` with a JSON payload on stdin; return its JSON reply.

    Each measurement gets a fresh process, so peak memory is its own and imports are
    paid the same way for the studio and for plain SDV. A child still running after
    ``timeout`` seconds is killed and reported as ``{"error": ..., "timed_out_s": timeout}``.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
           "OMP_WAIT_POLICY": "PASSIVE", "TQDM_DISABLE": "1"}
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", module], input=json.dumps(payload), capture_output=True,
            text=True, cwd=ROOT, env=env, timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        return {"error": f"did not finish in {timeout:,.0f} s", "timed_out_s": timeout}
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-5:]
        return {"error": " | ".join(tail) or f"exit {completed.returncode}",
                "wall_s": time.monotonic() - started}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable as plain text)."""
    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(studio: float | None, baseline: float | None) -> float | None:
    """studio / baseline, or None."""
    if studio is None or baseline in (None, 0):
        return None
    return studio / baseline
