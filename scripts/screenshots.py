"""Take screenshots of the app for the README: ``python scripts/screenshots.py [out_dir]``.

Starts the app on a free port with a throw-away data directory, walks Data → Train
(Quick Gaussian Copula) → Generate → Evaluate in headless Chromium, and saves one PNG per
page (``docs/screenshot.png`` is the Evaluate page).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _settle(page) -> None:
    time.sleep(0.5)  # let the click reach the server before waiting for idle
    page.locator(IDLE).wait_for(timeout=120_000)
    time.sleep(1.5)  # charts draw after the script ends


def main(out_dir: Path) -> None:
    """Walk the app and save screenshots into ``out_dir``."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env={**os.environ, "STUDIO_DATA_DIR": tempfile.mkdtemp()},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            _settle(page)
            page.locator(".st-key-load_sample_loans button").click()
            _settle(page)
            page.screenshot(path=out_dir / "data.png", full_page=True)
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Train").click()
            _settle(page)
            page.get_by_text("Quick", exact=True).first.click()
            _settle(page)
            page.screenshot(path=out_dir / "train.png", full_page=True)
            page.locator(".st-key-train_start button").click()
            page.get_by_text("Current model").first.wait_for(timeout=180_000)
            _settle(page)
            page.screenshot(path=out_dir / "train_done.png", full_page=True)
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Evaluate").click()
            _settle(page)
            page.locator(".st-key-eval_generate button").click()
            page.get_by_text("Quality score").first.wait_for(timeout=180_000)
            _settle(page)
            page.screenshot(path=out_dir / "evaluate.png")
            page.get_by_role("tab", name="Distributions").click()
            _settle(page)
            page.screenshot(path=out_dir / "distributions.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "shots")
