"""Hostile labels in a real browser: shown as literal text, and no script of theirs runs."""

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from analytics.storage.database import Database
from analytics.storage.store import add_contacts
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, page_url, serve, wait_for_render
from tests.test_exports import HOSTILE_LABELS

pytestmark = pytest.mark.browser

IMG_PAYLOAD = '<img src=x onerror="window.__pwned=1">'


def test_hostile_labels_show_as_text_and_run_nothing(tmp_path: Path) -> None:
    assert IMG_PAYLOAD in HOSTILE_LABELS
    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    try:
        # the <img onerror> client is the busiest (60 minutes against 10), so the Clients
        # page's drill-down selects it first and shows its label as the chosen value
        add_contacts(
            db,
            pd.DataFrame(
                {
                    "practice": "Practice <b>bold</b>",
                    "therapist": "=1+1",
                    "time_zone": "UTC",
                    "client": list(HOSTILE_LABELS),
                    "started_at": [
                        f"2026-05-{day:02d}T09:00:00+00:00"
                        for day in range(4, 4 + len(HOSTILE_LABELS))
                    ],
                    "minutes": [60 if label == IMG_PAYLOAD else 10 for label in HOSTILE_LABELS],
                    "channel": "phone",
                    "category": "support",
                    "direction": "client",
                }
            ),
            source="test",
        )
    finally:
        db.close()
    with serve(path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(page_url(url, "clients"))
            wait_for_render(page)
            chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text="Client")
            chooser.wait_for(timeout=30_000)
            # the chosen client's label is literal text in the page, not an element
            assert chooser.get_by_role("combobox").input_value().startswith(IMG_PAYLOAD + " · ")
            assert page.locator('img[src="x"]').count() == 0
            # open the drop-down: every label is listed as text
            listbox = page.get_by_role("listbox")
            for _ in range(5):  # a click during a rerun can be lost; try again
                chooser.get_by_role("button", name="Open").click()
                try:
                    listbox.wait_for(timeout=5_000)
                    break
                except PlaywrightTimeout:
                    page.keyboard.press("Escape")
            listed = listbox.inner_text(timeout=10_000)
            for label in HOSTILE_LABELS:
                assert label.strip() in listed, label
            page.keyboard.press("Escape")
            page.wait_for_timeout(500)
            assert page.evaluate("() => window.__pwned === undefined")
            assert page.locator("script").filter(has_text="__pwned").count() == 0
            assert page.locator('[data-testid="stException"]').count() == 0
            assert dialogs == []

            # the Overview's export, generated on click by the live server, is formula-safe
            page.goto(page_url(url, "overview"))
            wait_for_render(page)
            button = page.get_by_role("button", name="Export contacts (CSV)")
            button.wait_for(timeout=30_000)
            with page.expect_download(timeout=30_000) as download:
                button.click()
            rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
            # 10 contacts: 9 of 10 minutes and the <img> client's 60 = 150 minutes
            assert len(rows) == len(HOSTILE_LABELS)
            assert sum(float(row["minutes"]) for row in rows) == 150
            assert {row["therapist"] for row in rows} == {"'=1+1"}
            assert "'+1+2" in {row["client"] for row in rows}
        finally:
            browser.close()
