"""Refresh the README's screenshots: ``.venv/bin/python docs/screenshots.py [NAME.png...]``
(all of them, or only those named).

Starts the dashboard on demo data in a temporary folder, opens each page in Debian's
headless Chromium and saves a PNG beside this file.
"""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SHOTS = {
    "?period=last_month": "overview.png",  # the month at a glance
    "clients": "clients.png",
    "channels": "channels.png",
    "compare": "compare.png",
    "boundaries": "boundaries.png",
    "billing": "billing.png",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    """Build demo data, serve it, and photograph every page."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "contactload.duckdb"
        contactload = str(Path(sys.executable).parent / "contactload")
        subprocess.run([contactload, "demo", "--db", str(db), "--end", "2026-11-27"], check=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--", "--db", str(db)],
            cwd=ROOT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health").read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                wanted = set(sys.argv[1:]) or set(SHOTS.values())
                for url_path, name in SHOTS.items():
                    if name not in wanted:
                        continue
                    page.goto(f"{url}/{url_path}")
                    page.wait_for_selector("h1", timeout=30_000)
                    page.wait_for_timeout(4_000)
                    page.wait_for_function(  # tables still loading show as grey skeletons
                        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                        timeout=30_000,
                    )
                    page.wait_for_timeout(1_000)
                    page.screenshot(path=str(Path(__file__).parent / name), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
