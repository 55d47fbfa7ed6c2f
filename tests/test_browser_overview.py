"""A real headless Chromium on a live server: the Overview's "last month" (the billable and
unpaid split and the top five clients, one click from their timeline), and the Boundaries
editor (it follows the sidebar, starts from what is in force today, and asks before a
change dated in the past rewrites judged weeks; cancelling changes nothing).

The demo data here ends today, so "last month" always holds a month of contacts. Expected
figures come from the library on a copy of the same file, worked out before the server
opens it.
"""

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL
from analytics.demo import demo_boundaries, generate_demo
from analytics.measures import glance
from analytics.policy import boundary_edits
from analytics.policy.agreements import BoundarySetting
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, page_url, serve, wait_for_render

pytestmark = pytest.mark.browser

TODAY = date.today()
PAST_FROM = TODAY - timedelta(days=91)  # the change the test dates in the past
LATER_ROW = TODAY - timedelta(days=35)  # a stored default that replaces it from then on


@pytest.fixture(scope="module")
def demo_today(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Demo data ending today, a later default for the first therapist, and the figures
    the pages must show, computed on a copy before any server opens the file."""
    folder = tmp_path_factory.mktemp("overview-browser")
    path = folder / "contactload.duckdb"
    db = Database(path)
    try:
        generate_demo(db, end=TODAY)
        demo_boundaries(db)
        therapist, practice, zone, tid = db.row(
            "SELECT t.name, p.name, t.time_zone, t.therapist_id FROM therapists AS t "
            "JOIN practices AS p USING (practice_id) ORDER BY t.therapist_id LIMIT 1",
            [],
        )
        other, other_zone, other_id = db.row(
            "SELECT name, time_zone, therapist_id FROM therapists "
            "ORDER BY therapist_id DESC LIMIT 1",
            [],
        )
        save_setting(
            db,
            BoundarySetting(therapist, practice, None, LATER_ROW, weekly_cap_minutes=500),
            "seed",
        )
        in_force = boundary_edits.own_setting_in_force(
            db, LOCAL, therapist, None, TODAY, practice=practice
        )
        zones = tuple(db.frame("SELECT time_zone FROM therapists", [])["time_zone"])
        last_month = glance.preset_period("last_month", glance.local_today(zones))
        assert last_month is not None
        month = ContactFilter(start=last_month.start, end=last_month.end)
        split = glance.paid_split(db, month)
        top = glance.top_clients(db, month)
        preview = boundary_edits.preview_setting(
            db,
            BoundarySetting(therapist, practice, None, PAST_FROM, weekly_cap_minutes=1),
            today=TODAY,
            scope=LOCAL,
        )
        hours = db.frame(
            "SELECT therapist_id, starts, ends FROM working_hours AS w WHERE weekday = 0 "
            "AND effective_from = (SELECT max(effective_from) FROM working_hours "
            "WHERE therapist_id = w.therapist_id AND effective_from <= current_date) "
            "ORDER BY starts",
            [],
        )
        rows_before = db.row("SELECT count(*) FROM boundaries", [])[0]
    finally:
        db.close()

    def monday(therapist_id: int) -> str:
        mine = hours[hours["therapist_id"] == therapist_id]
        return ", ".join(
            f"{s:%H:%M}-{e:%H:%M}" for s, e in zip(mine["starts"], mine["ends"], strict=True)
        )

    return {
        "path": path,
        "therapist": therapist,
        "zone": zone,
        "other": other,
        "other_zone": other_zone,
        "other_monday": monday(other_id) or "09:00-17:00",
        "monday": monday(tid) or "09:00-17:00",
        "cap_today": in_force.weekly_cap_minutes if in_force else None,
        "split": split,
        "top": top,
        "preview": preview,
        "rows_before": rows_before,
    }


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        yield context.new_page()
        browser.close()


def expect_metric(page: Page, label: str, value: str) -> None:
    """Wait (through reruns) until the card ``label`` shows ``value``."""
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    expect(card.locator('[data-testid="stMetricValue"]')).to_have_text(value, timeout=30_000)


def set_date(page: Page, label: str, day: date) -> None:
    """Type a date into Streamlit's segmented date field (year, month, day)."""
    for part, text in (("year", f"{day:%Y}"), ("month", f"{day:%m}"), ("day", f"{day:%d}")):
        segment = page.get_by_role("spinbutton", name=f"{part}, {label}", exact=True).first
        segment.click()
        page.keyboard.type(text)


def date_shown(page: Page, label: str) -> date:
    """The date a segmented date field shows."""
    parts = [
        page.get_by_role("spinbutton", name=f"{part}, {label}", exact=True).first.inner_text()
        for part in ("year", "month", "day")
    ]
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


def choose_therapist_in_sidebar(page: Page, name: str, zone: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').nth(1)
    box.click()
    page.keyboard.type(name)  # the list is long: narrow it to the one therapist
    page.get_by_role("option", name=f"{name} ({zone})").click()
    page.keyboard.press("Escape")
    wait_for_render(page)


def test_last_month_shows_the_split_and_the_top_clients(
    demo_today: dict[str, Any], browser_page: Page, tmp_path: Path
) -> None:
    page = browser_page
    served = tmp_path / "contactload.duckdb"
    shutil.copy(demo_today["path"], served)
    split = demo_today["split"]
    top = demo_today["top"]
    with serve(served) as url:
        page.goto(page_url(url, "overview"))
        wait_for_render(page)
        page.get_by_role("combobox", name="Period").click()
        page.get_by_role("option", name="Last month").click()
        wait_for_render(page)
        expect(page).to_have_url(f"{url}/?period=last_month")
        expect_metric(page, "Time with clients between sessions", f"{split.minutes / 60:,.1f} h")
        expect_metric(
            page, "Billable under the billing rules", f"{split.billable_minutes / 60:,.1f} h"
        )
        expect_metric(page, "Unpaid", f"{split.unpaid_minutes / 60:,.1f} h")
        assert split.billable_minutes > 0 and split.unpaid_minutes > 0
        links = page.locator('[data-testid="stPageLink"]')
        expect(links).to_have_count(len(top))
        # expect() retries: the previous period's links stay on screen until the rerun
        # reaches them (the weekly chart now renders before the top clients).
        for number, client in enumerate(top.itertuples()):
            name = re.escape(f"{client.label} · {client.therapist}")
            expect(links.nth(number)).to_have_text(re.compile(rf"{name}\s*$"))
        over = int(top["over_cap"].sum())
        expect(page.get_by_text("over cap", exact=False)).to_have_count(over)
        # One click from the busiest client to their timeline, still on last month.
        links.first.click()
        wait_for_render(page)
        page.locator("h1").filter(has_text="Clients").wait_for(timeout=30_000)
        first = top.iloc[0]
        drilldown = page.get_by_role("combobox", name="Client", exact=True)
        expect(drilldown).to_have_value(f"{first['label']} · {first['client_key']}", timeout=30_000)
        expect(page).to_have_url(f"{url}/clients?period=last_month")
        # The address opens the same view in a new visit.
        page.goto(f"{url}/?period=last_month")
        wait_for_render(page)
        expect_metric(page, "Unpaid", f"{split.unpaid_minutes / 60:,.1f} h")


def test_the_editor_follows_the_sidebar_prefills_and_asks_before_rewriting(
    demo_today: dict[str, Any], browser_page: Page, tmp_path: Path
) -> None:
    page = browser_page
    served = tmp_path / "contactload.duckdb"
    shutil.copy(demo_today["path"], served)
    preview = demo_today["preview"]
    therapist = demo_today["therapist"]
    with serve(served) as url:
        page.goto(page_url(url, "boundaries"))
        wait_for_render(page)
        # The sidebar picks the therapist; the editor and its working hours follow.
        choose_therapist_in_sidebar(page, demo_today["other"], demo_today["other_zone"])
        monday = page.get_by_role("textbox", name="Monday", exact=True)
        expect(monday).to_have_value(demo_today["other_monday"])
        editor = page.locator('[data-testid="stSelectbox"]').filter(has_text="Therapist")
        expect(editor.get_by_role("combobox")).to_have_value(re.compile(demo_today["other"]))
        page.goto(page_url(url, "boundaries"))  # a new visit, nobody chosen
        wait_for_render(page)
        choose_therapist_in_sidebar(page, therapist, demo_today["zone"])
        expect(editor.get_by_role("combobox")).to_have_value(re.compile(therapist))
        expect(monday).to_have_value(demo_today["monday"])
        # Prefilled with the default in force today, from today.
        cap = page.get_by_role("spinbutton", name="Weekly cap per client (minutes)", exact=True)
        expect(cap).to_have_value(f"{demo_today['cap_today']:.2f}")
        assert date_shown(page, "In force from") == TODAY

        # Dated in the past: a warning naming the weeks it rewrites, and the later row.
        def propose() -> None:
            set_date(page, "In force from", PAST_FROM)
            cap.fill("1")
            page.get_by_role("button", name="Save boundary").click()
            wait_for_render(page)

        propose()
        warning = page.locator('[data-testid="stAlert"]').filter(has_text="before today")
        expect(warning).to_contain_text(
            f"This rewrites {preview.weeks_changed} past weeks: "
            f"{preview.more_over} more weeks over cap."
        )
        expect(warning).to_contain_text(f"A row from {LATER_ROW} replaces this from that date on.")
        assert preview.weeks_changed > 0
        page.get_by_role("button", name="Cancel").click()
        wait_for_render(page)
        expect(warning).to_have_count(0)
        propose()
        page.get_by_role("button", name="Rewrite the past and save").click()
        wait_for_render(page)
        expect(
            page.get_by_text("Saved. The figures beside it now use this agreement.")
        ).to_be_visible()
    db = Database(served)
    try:
        rows = db.frame(
            "SELECT t.name, b.effective_from, b.weekly_cap_minutes FROM boundaries AS b "
            "JOIN therapists AS t USING (therapist_id) WHERE b.client_id IS NULL "
            "AND b.effective_from = ?",
            [PAST_FROM],
        )
        (count,) = db.row("SELECT count(*) FROM boundaries", [])
    finally:
        db.close()
    # Cancelling stored nothing; confirming stored exactly one row, for the chosen therapist.
    assert count == demo_today["rows_before"] + 1
    assert list(rows["name"]) == [therapist]
    assert list(rows["weekly_cap_minutes"]) == [1.0]
