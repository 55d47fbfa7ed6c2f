"""The charts tell the truth: Monday ticks, month axes without clock times, partial weeks and
months marked and counting only their days, hover texts in the user's words, a sentence for
a chart with nothing to draw, the rank chart following the measure, at most five lines.

Figures are read as Plotly JSON, from the chart functions and from the pages under AppTest.
Hand-made frames below: 2026-03-02 and 2026-11-09 are Mondays.
"""

import base64
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter, Period
from analytics.domain import CATEGORIES, CATEGORY_LABELS
from analytics.measures.caps import weekly_cap_totals
from analytics.measures.compare import MEASURES, ranked_by
from analytics.measures.metrics import trend
from analytics.storage.database import Database
from analytics.storage.store import add_contacts
from ui import charts
from ui.chart_time import days_inside, round_step, time_ticks

ROOT = Path(__file__).resolve().parent.parent
CAPS_CSV = ROOT / "tests" / "data" / "compliance" / "caps.csv"
INTERNAL_CODES = ("check_in", "late_cancelled", "no_show", "=", "None", "True", "False")


def figure_of(chart: charts.Chart) -> dict[str, Any]:
    """The chart as Plotly JSON (what the browser receives)."""
    assert isinstance(chart, charts.go.Figure), chart
    return json.loads(chart.to_json())


def values(array: Any) -> list[Any]:
    """A trace's array as a list: Plotly 7 writes numeric arrays as base64 typed arrays."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def hover_texts(figure: dict[str, Any]) -> list[str]:
    """Every hover template and custom text of a figure's traces."""
    texts: list[str] = []
    for trace in figure["data"]:
        texts.append(str(trace.get("hovertemplate", "")))
        texts.extend(str(item) for item in pd.Series(trace.get("customdata", [])).to_numpy())
    return texts


def weekly_trend(weeks: list[str], minutes: list[float]) -> pd.DataFrame:
    """A ``metrics.trend`` frame for support alone."""
    return pd.DataFrame(
        {
            "period": pd.to_datetime(weeks),
            "key": "support",
            "minutes": minutes,
            "contacts": [1, 3, 2][: len(weeks)],
        }
    )


# --- time axes -------------------------------------------------------------------------------


def test_weekly_ticks_sit_on_the_monday_of_each_bar_and_hover_names_it() -> None:
    frame = weekly_trend(["2026-11-02", "2026-11-09", "2026-11-16"], [30, 144, 20])
    figure = figure_of(charts.weekly_minutes(frame))
    axis = figure["layout"]["xaxis"]
    assert axis["tickvals"] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert axis["ticktext"] == ["2 Nov<br>2026", "9 Nov", "16 Nov"]
    assert all(date.fromisoformat(tick).weekday() == 0 for tick in axis["tickvals"])
    (bars,) = [trace for trace in figure["data"] if trace["type"] == "bar"]
    assert [day[:10] for day in bars["x"]] == axis["tickvals"]  # each bar on its tick
    # "Support · 144 min · week of 9 Nov 2026", not "category=Support / Minutes=144"
    assert bars["hovertemplate"].startswith("Support · %{y:,.0f} min · week of %{x|%-d %b %Y}")
    assert bars["customdata"][1][0] == "3 contacts" and bars["customdata"][0][0] == "1 contact"


@pytest.mark.parametrize(
    ("starts", "bucket", "values", "labels"),
    [
        (["2026-11-01"], "month", ["2026-11-01"], ["Nov<br>2026"]),
        (
            ["2025-11-01", "2025-12-01", "2026-01-01"],
            "month",
            ["2025-11-01", "2025-12-01", "2026-01-01"],
            ["Nov<br>2025", "Dec", "Jan<br>2026"],
        ),
        (
            ["2025-12-29", "2026-01-05"],
            "week",
            ["2025-12-29", "2026-01-05"],
            ["29 Dec<br>2025", "5 Jan<br>2026"],
        ),
        # 53 weeks: every fifth Monday named, 11 labels (at most 12).
        (list(pd.date_range("2025-11-24", periods=53, freq="7D")), "week", None, None),
    ],
)  # fmt: skip
def test_time_ticks_name_days_and_months_never_clock_times(
    starts: list[Any], bucket: str, values: list[str] | None, labels: list[str] | None
) -> None:
    ticks, texts = time_ticks(starts, bucket)  # type: ignore[arg-type]
    if values is not None:
        assert (ticks, texts) == (values, labels)
    assert 1 <= len(ticks) <= 12
    assert not any(":" in text for text in texts)
    if bucket == "week":
        assert all(date.fromisoformat(tick).weekday() == 0 for tick in ticks)
    else:
        assert all(tick.endswith("-01") for tick in ticks)


def test_a_single_month_is_named_not_zoomed_to_milliseconds() -> None:
    trend_frame = pd.DataFrame(
        {
            "month": ["2026-11", "2026-11"],
            "group": ["North", "All practices"],
            "is_total": [False, True],
            "minutes_per_client_week": [24.4, 16.7],
        }
    )
    figure = figure_of(charts.comparison_trend(trend_frame, MEASURES[0]))
    axis = figure["layout"]["xaxis"]
    assert axis["tickvals"] == ["2026-11-01"] and axis["ticktext"] == ["Nov<br>2026"]
    assert axis["hoverformat"] == "%b %Y"
    assert axis["range"] == ["2026-10-16", "2026-11-17"]  # half a month either side
    assert all("%H" not in text for text in hover_texts(figure))


def test_secondary_axis_ticks_are_round() -> None:
    weeks = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-11-02", "2026-11-09"]),
            "contact_minutes": [1929.0, 2080.0],
            "scheduled_hours": [72.7, 41.0],
            "attended_hours": [60.0, 35.0],
            "per_session_hour": [26.5, 50.7],
        }
    )
    layout = figure_of(charts.weekly_session_load(weeks))["layout"]
    # 72.7 h / 5 ticks = 14.5 -> a step of 20, up to 80
    assert (layout["yaxis2"]["dtick"], layout["yaxis2"]["range"]) == (20, [0, 80])
    assert layout["yaxis2"]["tickformat"] == ",.0f"
    assert [round_step(value) for value in (0.0, 4.0, 9.0, 72.7, 1234.0)] == [1, 1, 2, 20, 500]


# --- partial weeks and months -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "bucket", "period", "expected"),
    [
        (date(2026, 3, 2), "week", Period(date(2026, 3, 4), date(2026, 3, 17)), (5, 7)),
        (date(2026, 3, 16), "week", Period(date(2026, 3, 4), date(2026, 3, 17)), (2, 7)),
        (date(2026, 3, 9), "week", Period(date(2026, 3, 4), date(2026, 3, 17)), (7, 7)),
        (date(2025, 11, 1), "month", Period(date(2025, 11, 28), date(2026, 11, 27)), (3, 30)),
        (date(2026, 2, 1), "month", Period(date(2025, 11, 28), date(2026, 11, 27)), (28, 28)),
        (date(2026, 11, 1), "month", Period(date(2025, 11, 28), date(2026, 11, 27)), (27, 30)),
    ],
)
def test_days_of_a_bucket_inside_the_period(
    start: date, bucket: str, period: Period, expected: tuple[int, int]
) -> None:
    assert days_inside(start, bucket, period) == expected  # type: ignore[arg-type]


@pytest.fixture
def caps_db(tmp_path: Path) -> Iterator[Database]:
    """tests/data/compliance/caps.csv with a weekly cap of 40 minutes for Nora Quinn."""
    db = Database(tmp_path / "caps.duckdb")
    contacts = pd.read_csv(CAPS_CSV, dtype=str, keep_default_na=False)
    add_contacts(db, contacts, source="fixture", file_name="caps.csv")
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO boundaries (boundary_id, therapist_id, client_id, effective_from, "
            "weekly_cap_minutes) SELECT 1, therapist_id, NULL, DATE '2026-01-01', 40 "
            "FROM therapists WHERE name = 'Nora Quinn'"
        )
    yield db
    db.close()


def test_the_overrun_line_of_a_partial_week_counts_only_its_days(caps_db: Database) -> None:
    # Wed 03-04 .. Tue 03-17 (worked out in tests/test_compliance.py): the week of 03-02 has
    # 45 minutes in the period (Ada's Mon 30 is before it), 5 beyond the cap of 40; the
    # whole week (75) would have drawn 35. The week of 03-16 has Ada's Mon 50: 10 beyond.
    period = Period(date(2026, 3, 4), date(2026, 3, 17))
    filters = ContactFilter(start=period.start, end=period.end)
    figure = figure_of(
        charts.weekly_minutes(
            trend(caps_db, filters, "category"), caps=weekly_cap_totals(caps_db, filters),
            period=period,
        )
    )  # fmt: skip
    bars: dict[str, float] = {}
    for trace in figure["data"]:
        if trace["type"] == "bar" and trace["x"] != [None]:
            for day, minutes in zip(trace["x"], values(trace["y"]), strict=True):
                bars[day[:10]] = bars.get(day[:10], 0) + minutes
    assert bars == {"2026-03-02": 45, "2026-03-09": 100, "2026-03-16": 50}
    over = next(t for t in figure["data"] if t.get("name") == "Minutes beyond agreed caps")
    assert [day[:10] for day in over["x"]] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert values(over["y"]) == [5, 0, 10]
    assert all(y <= bars[day[:10]] for day, y in zip(over["x"], values(over["y"]), strict=True))
    # The partial weeks are hatched, lighter and open-marked; the legend and hover say so.
    hatched = {
        day[:10]
        for trace in figure["data"]
        if trace["type"] == "bar" and trace["marker"].get("pattern", {}).get("shape") == "/"
        for day in trace["x"]
        if day is not None
    }
    assert hatched == {"2026-03-02", "2026-03-16"}
    names = [trace.get("name") for trace in figure["data"]]
    assert "Hatched: partial week: only its days in the period" in names
    assert over["customdata"] == [
        " (partial week: 5 of 7 days in the period)",
        "",
        " (partial week: 2 of 7 days in the period)",
    ]


def test_partial_months_are_marked_on_month_lines() -> None:
    months = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-11-01", "2025-12-01", "2026-01-01"]),
            "key": "phone",
            "minutes": [120.0, 2400.0, 600.0],
            "contacts": [2, 40, 10],
        }
    )
    period = Period(date(2025, 11, 28), date(2026, 1, 10))
    figure = figure_of(charts.trend_lines(months, "channel", "Phone", "month", period))
    line, opened, legend = figure["data"]
    assert line["name"] == "Phone" and line["hovertemplate"].startswith("Phone · %{y:,.0f} min")
    assert [day[:10] for day in opened["x"]] == ["2025-11-01", "2026-01-01"]
    assert opened["showlegend"] is False and opened["legendgroup"] == "Phone"
    assert legend["name"] == "Open marker: partial month: only its days in the period"
    assert line["customdata"][0][1] == " (partial month: 3 of 30 days in the period)"


# --- nothing to draw, ranks, series ------------------------------------------------------------


def test_a_chart_with_nothing_to_draw_is_a_sentence() -> None:
    empty = pd.DataFrame({"period": [], "key": [], "minutes": [], "contacts": []})
    for chart in (
        charts.weekly_minutes(empty),
        charts.trend_lines(empty, "channel", "Minutes", "month"),
        charts.load_heatmap(pd.DataFrame({"weekday": [], "hour": [], "minutes": []})),
    ):
        assert isinstance(chart, charts.NothingToDraw)
        assert (chart.sentence.endswith(".") and "No" in chart.sentence) or "None" in chart.sentence
    hidden = pd.DataFrame(
        {"month": ["2026-11"], "group": ["All"], "is_total": [True], "crisis_share": [None]}
    )
    sentence = charts.comparison_trend(hidden, MEASURES[3])
    assert isinstance(sentence, charts.NothingToDraw)
    assert "every month is hidden" in sentence.sentence


def test_percentile_ranks_follow_the_chosen_measure() -> None:
    table = pd.DataFrame(
        {
            "group": ["Ann", "Ben", "Cat", "Dan", "Eve", "All"],
            "is_total": [False, False, False, False, False, True],
            "suppressed": [False, False, False, False, True, False],
            "minutes_per_client_week": [10.0, 40.0, 20.0, 30.0, None, 25.0],
            "crisis_share": [0.1, 0.3, 0.2, 0.3, None, 0.2],
        }
    )
    # crisis share: 0.1 rank 1, 0.2 rank 2, 0.3 and 0.3 share ranks 3 and 4 (3.5);
    # 100 x (r - 1) / (4 - 1): Ann 0, Cat 33.3, Ben and Dan 83.3. Eve is hidden.
    ranks = ranked_by(table, MEASURES[3])
    assert dict(zip(ranks["group"], ranks["percentile_rank"].round(1), strict=True)) == {
        "Ann": 0.0, "Ben": 83.3, "Cat": 33.3, "Dan": 83.3,
    }  # fmt: skip
    figure = figure_of(charts.percentile_ranks(table, "therapist", MEASURES[3]))
    (bars,) = figure["data"]
    assert bars["y"] == ["Ann", "Cat", "Ben", "Dan"]
    assert [round(x, 1) for x in values(bars["x"])] == [0.0, 33.3, 83.3, 83.3]
    assert "crisis share" in figure["layout"]["title"]["text"]
    assert [round(v, 1) for v in values(bars["customdata"])] == [10.0, 20.0, 30.0, 30.0]  # in %
    # minutes per active client per week: 10, 40, 20, 30 -> 0, 100, 33.3, 66.7
    minutes = ranked_by(table, MEASURES[0])
    assert list(minutes["percentile_rank"].round(1)) == [0.0, 100.0, 33.3, 66.7]


def test_a_busy_line_chart_draws_at_most_five_series() -> None:
    weeks = pd.to_datetime(["2026-11-02", "2026-11-09"])
    frame = pd.DataFrame(
        [
            {"period": week, "key": key, "minutes": float(10 * (index + 1)), "contacts": 1}
            for index, key in enumerate(CATEGORIES)
            for week in weeks
        ]
    )
    figure = figure_of(charts.trend_lines(frame, "category", "Minutes per week"))
    named = [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]
    # the five busiest (other, homework, crisis, support, check-ins), in display order
    assert named == [CATEGORY_LABELS[key] for key in CATEGORIES[2:]]
    chosen = figure_of(charts.trend_lines(frame, "category", "Minutes", shown=["reminder"]))
    assert [trace["name"] for trace in chosen["data"]] == ["Reminders & confirmations"]


# --- the pages, under AppTest ------------------------------------------------------------------


@pytest.fixture
def demo_copy(demo_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    return path


def open_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def shown_figure(app: AppTest, key: str) -> dict[str, Any]:
    """The Plotly JSON of the chart drawn with ``key``."""
    for chart in app.get("plotly_chart"):
        if key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart {key}")


def test_overview_weekly_chart_on_mondays_with_honest_partial_weeks(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_copy, monkeypatch, "pages/overview.py")
    # Wed 28 Oct .. Fri 27 Nov 2026: the weeks of 26 Oct and 23 Nov are partial.
    app.date_input(key="filter_period").set_value((date(2026, 10, 28), date(2026, 11, 27))).run()
    assert not app.exception
    figure = shown_figure(app, "weekly_chart")
    axis = figure["layout"]["xaxis"]
    assert axis["tickvals"] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
    ]
    assert not any(":" in text for text in axis["ticktext"])
    bars: dict[str, float] = {}
    for trace in figure["data"]:
        if trace["type"] == "bar" and trace["x"] != [None]:
            for day, minutes in zip(trace["x"], values(trace["y"]), strict=True):
                bars[day[:10]] = bars.get(day[:10], 0) + minutes
    db = Database(demo_copy)
    try:
        in_period = db.frame(
            "SELECT CAST(date_trunc('week', local_started_at) AS DATE) AS week, "
            "sum(minutes) AS minutes FROM contacts WHERE local_started_at >= DATE '2026-10-28' "
            "AND local_started_at < DATE '2026-11-28' GROUP BY 1 ORDER BY 1",
            [],
        )
    finally:
        db.close()
    assert bars == pytest.approx(
        {f"{week:%Y-%m-%d}": minutes for week, minutes in in_period.itertuples(index=False)}
    )
    over = next(t for t in figure["data"] if t.get("name") == "Minutes beyond agreed caps")
    assert all(y <= bars[day[:10]] for day, y in zip(over["x"], values(over["y"]), strict=True))
    assert "Hatched: partial week: only its days in the period" in [
        trace.get("name") for trace in figure["data"]
    ]
    for text in hover_texts(figure):
        assert not any(code in text for code in INTERNAL_CODES), text


def test_compare_rank_chart_follows_the_measure(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_copy, monkeypatch, "pages/compare.py")
    app.segmented_control(key="compare_by").set_value("practice").run()
    first = shown_figure(app, "compare_rank_chart")
    app.selectbox(key="compare_measure").set_value(MEASURES[3]).run()
    assert not app.exception
    crisis = shown_figure(app, "compare_rank_chart")
    assert "crisis share" in crisis["layout"]["title"]["text"]
    assert "minutes per active client per week" in first["layout"]["title"]["text"]
    db = Database(demo_copy)
    try:
        shares = db.frame(
            "SELECT p.name, sum(minutes) FILTER (WHERE category = 'crisis') / sum(minutes) "
            "AS share FROM contacts JOIN practices AS p USING (practice_id) GROUP BY 1",
            [],
        )
    finally:
        db.close()
    # three practices, ranked by their crisis share: 0, 50, 100 from the lowest
    order = list(shares.sort_values("share")["name"])
    (bars,) = crisis["data"]
    assert bars["y"] == order and values(bars["x"]) == [0, 50, 100]
    trend = shown_figure(app, "compare_trend_chart")
    assert "Crisis share" in trend["layout"]["title"]["text"]


def test_channels_page_draws_five_lines_and_offers_the_rest(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_copy, monkeypatch, "pages/channels.py")
    picker = app.multiselect(key="category_trend_lines")
    assert len(picker.value) == 5 and len(picker.options) == 7
    figure = shown_figure(app, "category_trend_chart")
    lines = [trace for trace in figure["data"] if trace.get("showlegend", True)]
    assert len([trace for trace in lines if not trace["name"].startswith("Open")]) == 5
    picker.set_value(["crisis", "support"]).run()
    figure = shown_figure(app, "category_trend_chart")
    named = {trace["name"] for trace in figure["data"] if trace.get("showlegend", True)}
    assert {"Crisis", "Support"} <= named and "Homework" not in named


def test_charts_with_nothing_to_draw_are_sentences_on_the_page(
    caps_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # caps.csv: one therapist with two clients, fewer than 11: every group and month hidden.
    path = caps_db.path
    caps_db.close()
    app = open_page(path, monkeypatch, "pages/compare.py")
    infos = [info.value for info in app.info]
    assert any("every month is hidden" in info for info in infos), infos
    assert any("No therapist has a value" in info for info in infos), infos
    assert not app.get("plotly_chart")


@pytest.mark.parametrize(
    "page", ["overview", "channels", "clients", "compare", "billing"]
)  # fmt: skip
def test_every_chart_speaks_the_users_words_and_dates(
    page: str, demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_db_path, monkeypatch, f"pages/{page}.py")
    if page == "clients":
        # The busiest client's timeline and cap chart (weeks of the whole year).
        app.selectbox(key="client_drilldown").set_value(app.dataframe[0].value["client_key"][0])
        app.run()
        assert not app.exception
    if page == "billing":
        app.run()  # the month-by-month tab is drawn with the others
    shown = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert shown
    for figure in shown:
        for text in hover_texts(figure):
            assert not any(code in text for code in INTERNAL_CODES), text
            if figure["layout"].get("xaxis", {}).get("type") == "date":
                assert "%{x}" not in text, text  # a date always with its format, no clock
        axis = figure["layout"].get("xaxis", {})
        if axis.get("type") == "date" and "tickvals" in axis:
            assert not any(":" in text for text in axis["ticktext"])
            assert len(axis["tickvals"]) <= 12
        in_legend = [
            trace for trace in figure["data"]
            if trace.get("showlegend", True) and not str(trace.get("name", "")).startswith(
                ("Hatched", "Open marker")
            )
        ]  # fmt: skip
        if figure["layout"]["title"]["text"].endswith("over time") or "per month" in str(
            figure["layout"]["title"]["text"]
        ):
            assert len(in_legend) <= charts.MAX_SERIES


def test_the_comparison_trend_starts_with_the_total_and_the_fullest_lines() -> None:
    trend_frame = pd.DataFrame(
        {
            "month": ["2026-09", "2026-10", "2026-11"] * 7,
            "group": [name for name in ["All", "A", "B", "C", "D", "E", "F"] for _ in range(3)],
            "is_total": [True] * 3 + [False] * 18,
            # A: one month only (a lone dot, highest); B..F: three months, means 5, 4, 3, 2, 1
            "minutes_per_client_week": [
                9, 9, 9, None, None, 99, *[m for m in (5, 4, 3, 2, 1) for _ in range(3)]
            ],
        }
    )  # fmt: skip
    assert charts.default_groups(trend_frame, "minutes_per_client_week") == [
        "All", "B", "C", "D", "E",
    ]  # fmt: skip
    figure = figure_of(charts.comparison_trend(trend_frame, MEASURES[0]))
    lines = [trace for trace in figure["data"] if trace.get("showlegend", True)]
    assert [trace["name"] for trace in lines] == ["All", "B", "C", "D", "E"]
    assert lines[0]["line"]["dash"] == "dash"


def test_a_clients_timeline_legend_holds_at_most_five_series() -> None:
    at = pd.to_datetime([f"2026-11-{day:02d} 10:00" for day in range(2, 9)])
    timeline = pd.DataFrame(
        {
            "local_started_at": at,
            "minutes": [float(minutes) for minutes in (7, 6, 5, 4, 3, 2, 1)],
            "channel": ["phone", "email", "text", "portal", "video", "other", "text"],
            "category": list(CATEGORIES),
            "direction": ["client", "therapist", "unknown", "client", "client", "client", "client"],
        }
    )
    sessions = pd.DataFrame(
        {
            "local_started_at": pd.to_datetime(["2026-11-02 09:00", "2026-11-09 09:00"]),
            "minutes": [50.0, 50.0],
            "status": ["attended", "late_cancelled"],
        }
    )
    figure = figure_of(charts.client_timeline(timeline, sessions))
    names = [trace["name"] for trace in figure["data"]]
    # the four busiest categories (scheduling 7 .. support 4) and the sessions as one series
    assert names == [
        "Scheduling", "Reminders & confirmations", "Check-ins", "Support",
        "Sessions (colour: status)",
    ]  # fmt: skip
    texts = hover_texts(figure)
    assert "Late-cancelled" in texts and "started by the therapist" in str(texts)
    for text in texts:
        assert not any(code in text for code in INTERNAL_CODES), text
    chosen = figure_of(charts.client_timeline(timeline, None, ["crisis"]))
    assert [trace["name"] for trace in chosen["data"]] == ["Crisis"]


def test_a_long_timeline_has_its_ticks_on_mondays() -> None:
    timeline = pd.DataFrame(
        {
            "local_started_at": pd.to_datetime(["2026-08-13 10:00", "2026-11-27 16:30"]),
            "minutes": [5.0, 8.0],
            "channel": ["phone", "text"],
            "category": ["support", "scheduling"],
            "direction": ["client", "therapist"],
        }
    )
    axis = figure_of(charts.client_timeline(timeline))["layout"]["xaxis"]
    # Mondays from 10 Aug to 23 Nov: 16 of them, every second one named
    assert axis["tickvals"][:3] == ["2026-08-10", "2026-08-24", "2026-09-07"]
    assert all(date.fromisoformat(tick).weekday() == 0 for tick in axis["tickvals"])
    assert axis["ticktext"][0] == "10 Aug<br>2026"
