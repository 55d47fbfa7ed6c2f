"""A real headless Chromium imports a phone log on the Import page of a live server."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from test_browser import CHROMIUM, CHROMIUM_ARGS, page_url, serve, wait_for_render

from analytics.access.scope import LOCAL
from analytics.importing.phone_log import map_number
from analytics.storage.database import Database

pytestmark = pytest.mark.browser

SMS = Path(__file__).parent / "data" / "phone" / "sms.xml"


def test_a_phone_log_is_imported_in_the_browser(tmp_path: Path) -> None:
    db_path = tmp_path / "contactload.duckdb"
    db = Database(db_path)
    map_number(db, LOCAL, "Dr Vogel", "+49 171 5550142", "Anna", time_zone="Europe/Berlin")
    map_number(db, LOCAL, "Dr Vogel", "+49 30 5550 1999", "Ben")
    db.close()
    with serve(db_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(page_url(url, "import"))
        wait_for_render(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(SMS)
        # a phone log never says whose phone it is: the page asks, below the file
        page.get_by_text("sms.xml does not say whose calls and texts these are").wait_for(
            timeout=30_000
        )
        page.get_by_label("Therapist's name").fill("Dr Vogel")
        page.get_by_label("Therapist's name").press("Enter")
        page.get_by_text("1 number is mapped to no client").wait_for(timeout=30_000)
        # Anna 3 and Ben 2 texts at the default 2 min each
        page.get_by_text(
            "5 texts (10.0 min; texts estimated from their words", exact=False
        ).first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Import this log").click(timeout=30_000)
        page.get_by_text("5 contacts imported").wait_for(timeout=30_000)
        page.goto(page_url(url, "overview"))
        wait_for_render(page)
        page.get_by_text(
            "Minutes include texts and messages estimated from their words", exact=False
        ).wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
