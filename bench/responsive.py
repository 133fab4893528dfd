"""User B's page switches while user A's large evaluation runs (headless Chromium).

Starts the studio as ``make run`` does (``python -m ui.serve``, fresh data directory). User
B loads the customers sample, trains a Quick Gaussian Copula and then switches between the
pages, timed from the click until the new page's title shows and the script has finished
(as the ``app`` section times them):

* **idle** — nothing else runs;
* **A's evaluation in a job worker** — the full evaluation of a fake customers table
  (``rows`` rows, 70 % of them as training rows and as many synthetic rows) started through
  the job runner (:meth:`core.jobs.local.LocalJobRunner.start_evaluation`), i.e. in a worker
  process on the same machine, as the pages do once they use it;
* **A's evaluation through the Evaluate page** (``in_server``) — user A fakes the same kind
  of table in the browser, trains a Quick Gaussian Copula and clicks *Generate N rows and
  evaluate*: whatever the Evaluate page does with it (it draws more than
  :data:`core.workflow.IN_PROCESS_SAMPLE_ROWS` rows in a sample job, then evaluates them in
  an evaluation job; before the pages used the job runner, both ran in the server process).

B switches for as long as A's work runs; each switch started while it ran counts.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.app_start import CHROMIUM, IDLE, _free_port
from bench.common import ROOT

PAGES = ("Generate", "Evaluate", "Compare", "Train", "Data")
_FAKE_SEED = 42
#: How often the browser checks whether the switch is over (milliseconds).
_POLL_MS = 20
# True once the main area's title is ``title`` and no script runs.
_SWITCHED_JS = """(title) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
    return [...document.querySelectorAll('[data-testid="stMain"] h1')]
        .some((heading) => heading.textContent.trim() === title);
}"""


def _switch(page: Any, title: str) -> float:
    """Click ``title`` in the navigation; seconds until its title shows and its run is over.

    Checked every :data:`_POLL_MS` ms in the page: a locator's wait backs off to 0.5 s
    between checks, which rounded every switch up to about 0.35, 0.85, 1.35 or 1.85 s.
    """
    started = time.monotonic()
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    page.wait_for_function(_SWITCHED_JS, arg=title, polling=_POLL_MS, timeout=60_000)
    return time.monotonic() - started


def _prepare_evaluation(rows: int, data_dir: Path) -> dict[str, Any]:
    """Everything A's evaluation needs, made in this process: model, rows, real parts."""
    from core.data.datasets import FakeSpec, fake_dataset, pii_columns_for, target_column_for
    from core.engine.metadata import detect_table
    from core.engine.models import load_synthesizer
    from core.engine.training import run_training
    from core.store.registry import ModelRegistry
    from core.store.settings import get_settings
    from core.workflow import model_parts, plan_request, sample_model

    settings = replace(get_settings(), data_dir=data_dir)
    frame = fake_dataset(FakeSpec(domain="customers", rows=rows, seed=_FAKE_SEED,
                                  pii_columns=tuple(pii_columns_for("customers"))))
    table = detect_table(frame, f"fake customers (seed {_FAKE_SEED})", "bench",
                         target=target_column_for("customers"))
    registry = ModelRegistry(settings)
    record = run_training(plan_request(table, "gaussian_copula", "quick"), table.frame,
                          registry=registry)
    real_train, holdout = model_parts(table, record)
    sample = sample_model(load_synthesizer(registry, record.model_id), record)
    return {"settings": settings, "record": record, "sample": sample,
            "real_train": real_train, "holdout": holdout}


def _start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "STUDIO_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.2)
    return server, url


def _open(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(url)
    page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
    page.locator(IDLE).wait_for(timeout=60_000)
    return page


def _train_quick_copula(page: Any) -> None:
    _switch(page, "Train")
    page.get_by_text("Gaussian Copula", exact=True).first.click()
    page.locator(IDLE).wait_for(timeout=60_000)
    page.get_by_text("Quick", exact=True).first.click()
    page.locator(IDLE).wait_for(timeout=60_000)
    page.locator(".st-key-train_start button").click()
    page.get_by_text("Current model").first.wait_for(timeout=600_000)
    page.locator(IDLE).wait_for(timeout=60_000)


def _switch_while(page: Any, busy: Any, at_least: int = 1) -> list[tuple[str, float]]:
    """Switch pages in turn while ``busy()`` (and at least ``at_least`` times).

    Returns:
        (page title, seconds) of each switch.
    """
    times: list[tuple[str, float]] = []
    while len(times) < at_least or busy():
        title = PAGES[len(times) % len(PAGES)]
        times.append((title, _switch(page, title)))
    return times


def measure(rows: int = 300_000, idle_switches: int = 15, in_server: bool = True) -> dict:
    """B's page switches ((page, seconds) pairs) idle and during A's work, and A's times."""
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    # A's job runner has a data directory of its own: a runner sweeps its jobs folder, and
    # the server's (its warm standby worker) must stay as the server left it.
    prepared = _prepare_evaluation(rows, Path(tempfile.mkdtemp(prefix="studio-bench-a-")))
    server, url = _start_server(data_dir)
    results: dict[str, Any] = {"rows": rows, "train_rows": len(prepared["real_train"]),
                               "holdout_rows": len(prepared["holdout"]),
                               "columns": len(prepared["real_train"].columns)}
    previous_standby = os.environ.get("STUDIO_STANDBY_WORKERS")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run", "--disable-quic"])
            user_b = _open(browser, url)
            user_b.locator(".st-key-load_sample_customers button").click()
            user_b.get_by_text(re.compile(r"^Loaded customers")).first.wait_for(timeout=120_000)
            user_b.locator(IDLE).wait_for(timeout=60_000)
            _train_quick_copula(user_b)
            _switch_while(user_b, lambda: False, at_least=len(PAGES))  # warm every page
            results["idle"] = _switch_while(user_b, lambda: False, at_least=idle_switches)

            # A's evaluation through the job runner: a worker process on this machine.
            from core.jobs.local import LocalJobRunner

            os.environ["STUDIO_STANDBY_WORKERS"] = "0"  # no extra warm-up load meanwhile
            runner = LocalJobRunner(prepared["settings"])
            started = time.monotonic()
            job = runner.start_evaluation(prepared["record"], prepared["sample"],
                                          prepared["real_train"], prepared["holdout"])
            results["worker"] = _switch_while(user_b, lambda: runner.status(job).is_active)
            status = runner.wait(job)
            results["worker_job_s"] = time.monotonic() - started
            results["worker_state"] = status.state
            if runner.result(job) is None:
                results["worker_state"] += " (no result)"

            if in_server:
                user_a = _open(browser, url)
                user_a.get_by_test_id("stRadioOption").filter(
                    has_text=re.compile(r"^\s*Fake a dataset\s*$")).click()
                user_a.locator(IDLE).wait_for(timeout=60_000)
                form = user_a.get_by_test_id("stForm")
                form.get_by_role("spinbutton", name="Rows").fill(str(rows))
                form.get_by_role("spinbutton", name="Seed").fill(str(_FAKE_SEED))
                user_a.locator(".st-key-fake_generate button").click()
                user_a.get_by_text(re.compile(r"^Loaded fake customers")).first.wait_for(
                    timeout=300_000)
                user_a.locator(IDLE).wait_for(timeout=120_000)
                _train_quick_copula(user_a)
                _switch(user_a, "Evaluate")
                user_a.locator(".st-key-eval_generate button").click()
                started = time.monotonic()
                verdict = user_a.get_by_text("Quality score").first

                def a_busy() -> bool:
                    return not (verdict.is_visible() and user_a.locator(IDLE).count() > 0)

                results["server"] = _switch_while(user_b, a_busy)
                verdict.wait_for(timeout=900_000)
                user_a.locator(IDLE).wait_for(timeout=900_000)
                results["server_job_s"] = time.monotonic() - started
            browser.close()
        return results
    finally:
        if previous_standby is None:
            os.environ.pop("STUDIO_STANDBY_WORKERS", None)
        else:
            os.environ["STUDIO_STANDBY_WORKERS"] = previous_standby
        server.terminate()
        server.wait(timeout=20)


def summary(times: list[tuple[str, float]], title: str | None = None
            ) -> tuple[int, float | None, float | None]:
    """(count, median, worst) of the switches to ``title`` (every page if None)."""
    chosen = [seconds for page, seconds in times if title is None or page == title]
    if not chosen:
        return 0, None, None
    return len(chosen), statistics.median(chosen), max(chosen)
