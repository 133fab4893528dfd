"""Time to first paint and page switches, measured in headless Chromium.

Starts the studio as ``make run`` does (``python -m ui.serve``) on a free port with
a fresh data directory and times until it answers. Opens the app and times (from navigation
start) until the Data page's title is visible and the app is idle; then loads a sample,
trains a Quick Gaussian Copula (so a model is cached), and times each page switch until the
new page's title shows and the script has finished.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench.common import ROOT

CHROMIUM = "/usr/bin/chromium"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(runs: int = 3) -> dict:
    """Return first-paint and page-switch times (seconds, best and median of ``runs``)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="studio-bench-")
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "STUDIO_DATA_DIR": data_dir},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    launched = time.monotonic()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        # The first visit right after this is the slowest: nothing is cached anywhere.
        results: dict = {"server_ready_s": time.monotonic() - launched,
                         "first_paint_s": [], "switch_s": {}}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run", "--disable-quic"])
            for run in range(runs):
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                started = time.monotonic()
                page.goto(url)
                page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
                page.locator(IDLE).wait_for(timeout=60_000)
                results["first_paint_s"].append(time.monotonic() - started)
                if run == 0:
                    page.locator(".st-key-load_sample_customers button").click()
                    # Case-sensitive: the sidebar's "none loaded yet" must not count.
                    page.get_by_text(re.compile(r"^Loaded customers")).first.wait_for(
                        timeout=120_000)
                    page.locator(IDLE).wait_for(timeout=60_000)
                    _switch(page, "Train")
                    page.get_by_text("Gaussian Copula", exact=True).first.click()
                    page.locator(IDLE).wait_for(timeout=60_000)
                    page.get_by_text("Quick", exact=True).first.click()
                    page.locator(IDLE).wait_for(timeout=60_000)
                    page.locator(".st-key-train_start button").click()
                    page.get_by_text("Current model").first.wait_for(timeout=180_000)
                    for _ in range(2):
                        for title in ("Generate", "Evaluate", "Compare", "Train", "Data"):
                            results["switch_s"].setdefault(title, []).append(
                                _switch(page, title))
                # A returning visitor: same browser, Streamlit's scripts already cached.
                started = time.monotonic()
                page.goto(url)
                page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
                page.locator(IDLE).wait_for(timeout=60_000)
                results.setdefault("warm_paint_s", []).append(time.monotonic() - started)
                page.context.close()
            browser.close()
        return results
    finally:
        server.terminate()
        server.wait(timeout=20)


def _switch(page, title: str) -> float:
    started = time.monotonic()
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    page.locator(IDLE).wait_for(timeout=60_000)
    return time.monotonic() - started
