"""The supervision report (``output/report.py``, ``contactload report``, the Overview's button):
figures worked out by hand on the fixture, suppression, scope, escaping, no external
resources, and a real headless Chromium that opens the file offline and prints it to PDF."""

import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.cli import main
from analytics.measures.metrics import totals
from analytics.output.report import (
    EmptyReportError,
    UnknownNameError,
    minutes_text,
    report_filter,
    supervision_report,
)
from analytics.policy.agreements import BoundarySetting
from analytics.policy.writes import save_setting
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.settings import set_setting
from analytics.storage.store import add_contacts

ROOT = Path(__file__).resolve().parent.parent
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
GENERATED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def march_report(db: Database, scope: Scope = LOCAL, **names: str) -> str:
    filters = report_filter(db, scope, *MARCH, **names)
    return supervision_report(db, filters, generated_at=GENERATED)


def text_of(document: str) -> str:
    """The report's visible text, one space between cells (tags and styles dropped)."""
    document = re.sub(r"<style>.*?</style>", " ", document, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", document))


def row_cells(document: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    for row in re.findall(r"<tr>(.*?)</tr>", document, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row starts with {first_cell!r}")


# --- figures ---------------------------------------------------------------------------------


def test_totals_are_the_hand_checked_march_figures(fixture_db: Database) -> None:
    document = march_report(fixture_db)
    expected = totals(fixture_db, ContactFilter(start=MARCH[0], end=MARCH[1]))
    # March by local date: Dana 20+15+25+10+30+5+40+10+15 = 170 min in 9 contacts (the
    # 31 Mar 23:30 New York contact is March; 2 and 6 April are not); Sam 15+20+5+10+25 = 75
    # in 5 (7 April out); Jonas 30+20+15+10+5+15+20 = 115 in 7 (00:30 on 1 April Berlin is
    # April). 170 + 75 + 115 = 360 min = 6.0 h in 21 contacts; 7 clients (Avery, Blake,
    # Casey, Drew, Emery, Finn, Greta).
    assert (expected.minutes, expected.contacts, expected.active_clients) == (360, 21, 7)
    assert row_cells(document, "Time with clients between sessions")[1] == "6.0 h"
    assert row_cells(document, "Minutes")[1] == "360 min (6.0 h)"
    assert row_cells(document, "Contacts")[1] == "21"
    assert row_cells(document, "Active clients")[1] == "7"
    # 360 min / 7 clients / (31 days / 7) = 360 / 31 = 11.61 min per client per week
    assert row_cells(document, "Minutes per active client per week")[1] == "11.6 min"
    assert minutes_text(expected.minutes_per_active_client_week) == "11.6 min"
    # Crisis: Avery 30 + 40 (Dana), Finn 20 (Jonas) = 90 min, 90 / 360 = 25.0 % of minutes
    assert row_cells(document, "Crisis")[1:] == ["90 min (1.5 h)", "0 min", "25.0 % of minutes"]
    # The previous period is the 31 days before: 29 Jan - 28 Feb, with no contacts.
    assert "previous period (29 Jan 2026 – 28 Feb 2026)" in document
    assert row_cells(document, "Contacts")[2] == "0"


def test_breakdowns_and_weeks_are_hand_checked(fixture_db: Database) -> None:
    document = march_report(fixture_db)
    # Phone in March: Dana 20 + 30 + 40, Sam 15, Jonas 20 + 15 = 140 min in 6 contacts;
    # 140 / 360 = 38.9 %.
    assert row_cells(document, "Phone") == ["Phone", "6", "140 min (2.3 h)", "38.9 %"]
    # Support: Avery 25 (9 Mar) + 15 (31 Mar), Sam 20, Jonas 30 = 90 min in 4; 25.0 %.
    assert row_cells(document, "Support") == ["Support", "4", "90 min (1.5 h)", "25.0 %"]
    # Week of Monday 9 March (local): Dana 25 + 30 + 5 + 40 (Sun 15th), Sam 20 = 120 min, 5.
    assert row_cells(document, "09 Mar 2026") == ["09 Mar 2026", "5", "120 min (2.0 h)"]
    # Week of 30 March: Dana 15 (31st), Sam 25, Jonas 15 (30 Mar 18:30 CEST) = 55 min in 3.
    assert row_cells(document, "30 Mar 2026") == ["30 Mar 2026", "3", "55 min"]
    assert document.count("<svg") == 3  # channel bars, category bars, weekly stacked bars
    # The weekly chart stacks that week by category: support Avery 25 + Sam 20 = 45 min,
    # crisis Avery 30 + 40 = 70 min, homework Casey 5 min (45 + 70 + 5 = 120).
    weekly_svg = document.split('<section id="weekly">')[1].split("</svg>")[0]
    assert "<title>09 Mar 2026 Support: 45 min</title>" in weekly_svg
    assert "<title>09 Mar 2026 Crisis: 70 min (1.2 h)</title>" in weekly_svg
    assert "<title>09 Mar 2026 Homework: 5 min</title>" in weekly_svg
    # The channel bars carry the same minutes as the table.
    channel_svg = document.split('<section id="breakdowns">')[1].split("</svg>")[0]
    assert ">Phone</text>" in channel_svg and ">140 min (2.3 h)</text>" in channel_svg


def test_every_section_is_present_with_the_notes(fixture_db: Database) -> None:
    document = march_report(fixture_db)
    for section in ("totals", "breakdowns", "weekly", "compliance", "comparison"):
        assert f'<section id="{section}">' in document
    text = text_of(document)
    for heading in (
        "Totals",
        "Breakdowns by channel and category",
        "Load per week",
        "Boundary compliance and alerts",
        "Weeks over the weekly cap",
        "Out-of-policy contacts",
        "Drift alerts",
        "Comparisons",
    ):
        assert heading in text
    assert "Period 01 Mar 2026 – 31 Mar 2026 (31 days" in text
    assert "Generated 2026-11-28 12:00 UTC for local (local)" in text
    assert "Estimates." in text and "Privacy." in text
    assert "@media print" in document and "size: A4" in document
    assert "break-before: page" in document


def test_a_suppressed_comparison_cell_says_why(fixture_db: Database) -> None:
    set_setting(fixture_db, "min_group_clients", 3)
    document = march_report(fixture_db)
    # k = 3: Dana has 3 clients in March (shown), Sam (Drew, Emery) and Jonas (Finn, Greta)
    # 2 each (hidden). Dana: 170 min / 3 clients / (31 / 7 weeks) = 12.80 min.
    dana = row_cells(document, "Dana Reyes (Harbor Counseling)")
    assert dana[1:3] == ["3", "12.8 min"]
    sam = row_cells(document, "Sam Okafor (Harbor Counseling)")
    assert sam[1] == "–" and sam[-1] == "hidden: fewer than 3 clients"
    # By practice: Lindenhof (2 clients) is hidden; exactly one hidden group beside a shown
    # total would give it away, so Harbor (5 clients) is hidden too.
    assert row_cells(document, "Lindenhof Praxis")[-1] == "hidden: fewer than 3 clients"
    assert row_cells(document, "Harbor Counseling")[-1] == (
        "hidden: suppressed so a hidden group cannot be worked out from the total"
    )


def test_compliance_figures_and_weeks_over_cap_are_hand_checked(empty_db: Database) -> None:
    contacts = pd.read_csv(
        ROOT / "tests" / "data" / "compliance" / "caps.csv", dtype=str, keep_default_na=False
    )
    add_contacts(empty_db, contacts, source="fixture")
    save_setting(
        empty_db,
        BoundarySetting(
            "Nora Quinn", "Harbor Counseling", None, date(2026, 1, 1), weekly_cap_minutes=60
        ),
        changed_by="test",
    )
    document = march_report(empty_db)
    # Ada's weeks (New York, crisis left out of the cap): week of 2 Mar 30 + 25 + 10 + the
    # reminder at 03:30 UTC on 9 Mar, which is Sun 8 Mar 23:30 EDT (DST began that day),
    # 10 = 75 -> over by 15; 9 Mar 40 (+ 25 crisis) -> under; 16 Mar 50 + 30 = 80 -> over by
    # 20; 23 Mar 80 -> over by 20. 15 + 20 + 20 = 55 min. Ben stays at 20 min a week.
    assert row_cells(document, "Clients with a cap")[1] == "2"
    assert row_cells(document, "Clients over their cap at least once")[1] == "1"
    assert row_cells(document, "Client-weeks over a cap")[1] == "3"
    assert row_cells(document, "Minutes above weekly caps")[1] == "55 min"
    # After hours: only the Sunday 23:30 reminder, 10 of 300 + 70 = 370 min = 2.7 %.
    assert row_cells(document, "After hours")[1] == "10 min, 2.7 % of minutes"
    # Ada's Wed 4 Mar 11:00 email answered Thu 5 Mar 09:00: 22 hours (the crisis call on
    # 13 Mar has no answer), so median and 90th percentile are both 22.0 h.
    assert row_cells(document, "Reply time, median")[1] == "22.0 h"
    weeks = [
        cells
        for row in re.findall(r"<tr>(.*?)</tr>", document, flags=re.S)
        if (cells := [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)])
        and cells[0] == "Ada"
    ]
    assert weeks == [
        ["Ada", "Nora Quinn", "23 Mar 2026", "80 min (1.3 h)", "60 min (1.0 h)", "20 min"],
        ["Ada", "Nora Quinn", "16 Mar 2026", "80 min (1.3 h)", "60 min (1.0 h)", "20 min"],
        ["Ada", "Nora Quinn", "02 Mar 2026", "75 min (1.2 h)", "60 min (1.0 h)", "15 min"],
    ]


# --- safety ----------------------------------------------------------------------------------


def test_no_external_resource_is_loaded(fixture_db: Database) -> None:
    document = march_report(fixture_db)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", document, flags=re.I)
    assert "http://" not in document and "https://" not in document
    assert "<script" not in document.lower()
    assert "<link" not in document.lower() and "@import" not in document
    assert "url(" not in document
    for tag in ("<img", "<iframe", "<object", "<embed", "<base", "<form"):
        assert tag not in document.lower()


def test_hostile_names_are_escaped(empty_db: Database) -> None:
    hostile = pd.DataFrame(
        {
            "practice": ["<b>Practice</b>"] * 2,
            "therapist": ["=1+1"] * 2,
            "time_zone": ["Etc/UTC"] * 2,
            "client": ["<script>alert(1)</script>", '=HYPERLINK("x")'],
            "started_at": ["2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"],
            "minutes": ["10", "20"],
            "channel": ["phone", "text"],
            "category": ["support", "support"],
            "direction": ["client", "client"],
        }
    )
    add_contacts(empty_db, hostile, source="test")
    # A cap of 5 min a week puts both clients in "weeks over cap" and phone-only makes the
    # text contact out of policy, so their labels show in those tables.
    save_setting(
        empty_db,
        BoundarySetting(
            "=1+1",
            "<b>Practice</b>",
            None,
            date(2026, 1, 1),
            weekly_cap_minutes=5,
            allowed_channels=("phone",),
        ),
        changed_by="test",
    )
    document = march_report(empty_db, therapist="=1+1")
    assert "<script" not in document.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;b&gt;Practice&lt;/b&gt;" in document and "<b>" not in document
    assert "=HYPERLINK(&quot;x&quot;)" in document
    assert "Therapist: =1+1." in text_of(document)
    assert row_cells(document, "&lt;script&gt;alert(1)&lt;/script&gt;")[1] == "=1+1"


# --- scope -----------------------------------------------------------------------------------


def test_a_therapist_sees_only_their_own_names(fixture_db: Database) -> None:
    (dana,) = fixture_db.row("SELECT therapist_id FROM therapists WHERE name = 'Dana Reyes'", [])
    document = march_report(fixture_db, Scope.therapist("dana@example.org", (int(dana),)))
    text = text_of(document)
    assert "Dana Reyes" in text
    for other in ("Sam Okafor", "Jonas Weber", "Lindenhof", "Drew", "Finn"):
        assert other not in text
    # Dana's March alone: 170 min in 9 contacts (see the totals test).
    assert row_cells(document, "Minutes")[1] == "170 min (2.8 h)"
    with pytest.raises(UnknownNameError, match="no therapist called 'Sam Okafor'"):
        march_report(
            fixture_db, Scope.therapist("dana@example.org", (int(dana),)), therapist="Sam Okafor"
        )


def test_supervisors_see_client_keys_never_labels(demo_db_path: Path) -> None:
    db = Database(demo_db_path)
    try:
        labels = set(db.frame("SELECT label FROM clients", [])["label"])
        keys = set(db.frame("SELECT client_key FROM clients", [])["client_key"])
        filters = ContactFilter(start=date(2026, 9, 1), end=date(2026, 11, 27))
        local = supervision_report(db, filters)
        supervised = supervision_report(db, filters.with_scope(Scope.supervisor("sup", (1,))))
    finally:
        db.close()
    cells = set(re.findall(r"<td>([^<]*)</td>", local))
    assert cells & labels, "the demo's weeks over cap should name clients for local mode"
    supervised_cells = set(re.findall(r"<td>([^<]*)</td>", supervised))
    assert not supervised_cells & labels
    assert supervised_cells & keys
    assert "pseudonymous keys" in supervised


def test_an_empty_period_is_one_sentence(fixture_db: Database) -> None:
    with pytest.raises(EmptyReportError, match=r"^No contacts match between 2025-01-01 and"):
        supervision_report(fixture_db, ContactFilter(start=date(2025, 1, 1), end=date(2025, 1, 31)))


# --- command line ----------------------------------------------------------------------------


def copy_fixture(fixture_db_path: Path, tmp_path: Path) -> Path:
    for item in fixture_db_path.parent.iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path / fixture_db_path.name


def test_cli_writes_the_report_and_audits_it(
    fixture_db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = copy_fixture(fixture_db_path, tmp_path)
    out = tmp_path / "march.html"
    argv = ["report", "--db", str(db_path), "--from", "2026-03-01", "--to", "2026-03-31"]
    assert main([*argv, "--practice", "Lindenhof Praxis", "--out", str(out)]) == 0
    assert "Wrote the supervision report" in capsys.readouterr().out
    document = out.read_text(encoding="utf-8")
    # Lindenhof in March is Jonas alone: 115 min in 7 contacts (see the totals test).
    assert row_cells(document, "Minutes")[1] == "115 min (1.9 h)"
    assert "Practice: Lindenhof Praxis." in text_of(document)
    db = Database(db_path)
    log = audit.entries(db, LOCAL)
    db.close()
    assert list(log["action"]) == ["report", "import"]  # newest first; the fixture's import
    assert "2026-03-01 to 2026-03-31" in log["detail"][0] and "march.html" in log["detail"][0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--therapist", "Nobody"], "There is no therapist called 'Nobody'"),
        (["--practice", "Nowhere"], "There is no practice called 'Nowhere'"),
        (["--from", "2025-01-01", "--to", "2025-01-31"], "No contacts match between 2025-01-01"),
        (["--from", "2026-03-31", "--to", "2026-03-01"], "The period starts on 2026-03-31"),
    ],
)
def test_cli_refuses_in_one_sentence(
    fixture_db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    db_path = copy_fixture(fixture_db_path, tmp_path)
    out = tmp_path / "report.html"
    argv = ["report", "--db", str(db_path), "--from", "2026-03-01", "--to", "2026-03-31"]
    assert main([*argv, *extra, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"contactload: {message}")
    assert error.count("\n") == 1 and "Traceback" not in error
    assert not out.exists()


def test_cli_reports_an_unwritable_file_in_one_sentence(
    fixture_db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = copy_fixture(fixture_db_path, tmp_path)
    out = tmp_path / "missing-folder" / "report.html"
    argv = ["report", "--db", str(db_path), "--from", "2026-03-01", "--to", "2026-03-31"]
    assert main([*argv, "--out", str(out)]) == 1
    assert "could not be written" in capsys.readouterr().err


# --- dashboard -------------------------------------------------------------------------------


def test_overview_offers_the_report_download(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_DB", str(demo_db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    buttons = [
        button
        for button in app.get("download_button")
        if button.proto.label == "Download supervision report"
    ]
    assert len(buttons) == 1
    # The button calls the library function with the sidebar's filter: all data by default.
    db = Database(demo_db_path)
    try:
        document = supervision_report(db, ContactFilter())
        expected = totals(db, ContactFilter())
    finally:
        db.close()
    assert row_cells(document, "Contacts")[1] == f"{expected.contacts:,}"


# --- a real browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_chromium_renders_the_file_offline_and_prints_it(
    demo_db_path: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    db = Database(demo_db_path)
    try:
        document = supervision_report(
            db, ContactFilter(start=date(2026, 9, 1), end=date(2026, 11, 27))
        )
    finally:
        db.close()
    path = tmp_path / "report.html"
    path.write_text(document, encoding="utf-8")
    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(offline=True)

            def only_files(route: Route) -> None:
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", only_files)
            page = context.new_page()
            page.goto(path.as_uri())
            charts = page.locator("svg.chart")
            assert charts.count() == 3
            for index in range(3):
                box = charts.nth(index).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 100
            assert page.locator("svg.chart rect").count() > 20  # bars were drawn
            pdf = page.pdf(format="A4", print_background=True)
            # A4 is 210 mm wide; less 2 x 15 mm margins that leaves 180 mm = 680 CSS px:
            # in print media nothing may be wider, or the printout would cut it off.
            page.set_viewport_size({"width": 680, "height": 1000})
            page.emulate_media(media="print")
            assert page.evaluate("document.documentElement.scrollWidth") <= 680
        finally:
            browser.close()
    assert blocked == []
    assert pdf.startswith(b"%PDF")
    # One page for the header and totals, then one per section at least: 5 or more pages.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 5


@pytest.mark.browser
def test_the_dashboard_button_downloads_the_report(demo_db_path: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS, copy_of, serve, wait_for_render

    db_path = copy_of(demo_db_path, tmp_path)
    with serve(db_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{url}/")
            wait_for_render(page)
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name="Download supervision report").click()
            saved = tmp_path / "downloaded.html"
            download.value.save_as(saved)
            name = download.value.suggested_filename
        finally:
            browser.close()
    document = saved.read_text(encoding="utf-8")
    # The sidebar's default period is the whole demo year, 365 days ending 27 Nov 2026.
    assert name == "supervision-2025-11-28-2026-11-27.html"
    assert "Supervision report, 28 Nov 2025 – 27 Nov 2026" in document
    db = Database(db_path)
    log = audit.entries(db, LOCAL)
    db.close()
    # newest first: the download, after the demo data's own audited import and settings
    assert log["action"][0] == "report" and list(log["action"]).count("report") == 1
    assert name in log["detail"][0]
