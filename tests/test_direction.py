"""Who started a contact: a direction column, per-channel defaults at import, and what
billing says when neither was given.

tests/data/import/direction/ holds a Toggl Track detailed report (no direction, as every
time tracker writes) and a hand-kept log with a "Who started" column. Sam Lee works in New
York; every figure is worked out by hand, with the billing rules' defaults (online:
client-initiated portal work over 7 calendar days; telephone: each client-initiated call).
"""

from pathlib import Path

import pytest

from analytics import cli
from analytics.access.filters import ContactFilter
from analytics.importing.classify import (
    InvalidDirectionDefaultError,
    direction_defaults,
    parse_direction_defaults,
)
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.measures import billing
from analytics.storage.database import Database

DATA = Path(__file__).parent / "data" / "import" / "direction"
TOGGL = DATA / "toggl_between_sessions.csv"
WHO_STARTED = DATA / "contact_log_who_started.csv"
ZONE = "America/New_York"


def stored(db: Database) -> list[tuple[str, float, str, str, str]]:
    """(local start, minutes, channel, category, direction) of every contact, by start."""
    frame = db.frame(
        "SELECT strftime(local_started_at, '%Y-%m-%d %H:%M'), minutes, channel, category, "
        "direction FROM contacts ORDER BY local_started_at",
        [],
    )
    return [tuple(row) for row in frame.itertuples(index=False)]  # type: ignore[misc]


def episodes(db: Database) -> list[tuple[str, str, float, object, str]]:
    """(family, local start, minutes, code, status) of every episode."""
    frame = billing.episodes(db, ContactFilter())
    return [
        (family, str(start)[:16], float(minutes), None if code != code else code, status)
        for family, start, minutes, code, status in zip(
            frame["family"], frame["start"], frame["minutes"], frame["code"], frame["status"],
            strict=True,
        )
    ]  # fmt: skip


# -- parsing the defaults ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone=client,portal=client", (("phone", "client"), ("portal", "client"))),
        ("portal=in, phone = incoming", (("phone", "client"), ("portal", "client"))),
        ("email=out,text=Outgoing", (("email", "therapist"), ("text", "therapist"))),
        ("Portal=Client", (("portal", "client"),)),
        ("phone=eingehend", (("phone", "client"),)),
        ("", ()),
    ],
)
def test_direction_defaults_are_read(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    assert parse_direction_defaults(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fax=client", "'fax' is not a channel"),
        ("phone=sideways", "'sideways' is not a direction for phone"),
        ("phone", "'phone' is not CHANNEL=DIRECTION"),
        ("phone=client,phone=therapist", "phone is given as both"),
    ],
)
def test_wrong_defaults_get_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InvalidDirectionDefaultError, match=message):
        parse_direction_defaults(text)


def test_the_page_form_gives_the_same_defaults() -> None:
    assert direction_defaults([("portal", "client"), ("phone", "client")]) == (
        parse_direction_defaults("phone=client,portal=client")
    )


# -- a time tracker's export: no direction -------------------------------------------------


def test_without_a_direction_billing_names_the_real_cause(empty_db: Database) -> None:
    report = import_file(empty_db, TOGGL, file_name="t.csv", options=ImportOptions(time_zone=ZONE))
    assert (report.imported, report.direction_unknown) == (5, 5)
    assert episodes(empty_db) == []
    unknown = billing.unknown_direction(empty_db, ContactFilter())
    # Portal support 7 + portal homework 6 + phone support 12 + portal support 4 = 29 min
    # in 4 contacts; the e-mail about rescheduling is neither a billed channel nor category.
    assert unknown == billing.UnknownDirection(4, 29.0, ("phone", "portal"))
    sentence = unknown.sentence()
    assert sentence is not None
    assert sentence.startswith("Direction unknown for 4 phone and portal contacts (29 min)")
    assert "--direction-default portal=client,phone=client" in sentence
    assert "--map direction=COLUMN" in sentence


def test_per_channel_defaults_make_them_client_initiated(empty_db: Database) -> None:
    options = ImportOptions(
        time_zone=ZONE, direction_defaults=parse_direction_defaults("portal=client,phone=client")
    )
    report = import_file(empty_db, TOGGL, file_name="t.csv", options=options)
    assert report.direction_unknown == 1  # the e-mail: no default for e-mail
    assert [row[4] for row in stored(empty_db)] == [
        "client", "client", "client", "unknown", "client",
    ]  # fmt: skip
    # Online: Mon 4 May 18:00 (7) + Wed 6 May (6) = 13 min in the period 4 to 10 May ->
    # 98971; Mon 11 May 09:00 (4 min) is on the eighth date: its own period, under 5 min.
    # Telephone: the 12-minute call -> 98967. No sessions stored: exclusions unknown.
    assert episodes(empty_db) == [
        ("online", "2026-05-04 18:00", 13.0, "98971", "unknown"),
        ("telephone", "2026-05-07 14:00", 12.0, "98967", "unknown"),
        ("online", "2026-05-11 09:00", 4.0, None, "below threshold"),
    ]
    assert billing.unknown_direction(empty_db, ContactFilter()).sentence() is None


# -- a direction column ----------------------------------------------------------------


def test_a_direction_column_is_mapped_and_its_words_read(empty_db: Database) -> None:
    options = ImportOptions(
        time_zone=ZONE,
        mapping={"direction": "Who started"},
        direction_defaults=parse_direction_defaults("portal=client"),
    )
    report = import_file(empty_db, WHO_STARTED, file_name="w.csv", options=options)
    assert (report.imported, report.direction_unknown) == (7, 0)
    # in, out, Incoming, Outgoing, client, therapist; the empty cell takes the portal default.
    assert [(row[0], row[4]) for row in stored(empty_db)] == [
        ("2026-05-04 18:00", "client"),
        ("2026-05-05 08:30", "therapist"),
        ("2026-05-06 10:00", "client"),
        ("2026-05-06 16:00", "therapist"),
        ("2026-05-07 14:00", "client"),
        ("2026-05-07 15:00", "therapist"),
        ("2026-05-08 11:00", "client"),
    ]
    # Online, client-initiated portal work 4 to 10 May: 7 + 6 + 8 = 21 min -> 98972;
    # telephone: the client's 12-minute call -> 98967 (the therapist's call does not count).
    assert episodes(empty_db) == [
        ("online", "2026-05-04 18:00", 21.0, "98972", "unknown"),
        ("telephone", "2026-05-07 14:00", 12.0, "98967", "unknown"),
    ]


def test_without_the_mapping_the_column_is_not_guessed(empty_db: Database) -> None:
    report = import_file(
        empty_db, WHO_STARTED, file_name="w.csv", options=ImportOptions(time_zone=ZONE)
    )
    assert report.direction_unknown == 7
    # 7 + 3 + 6 + 5 + 12 + 9 + 8 = 50 minutes on portal and phone in counting categories.
    assert billing.unknown_direction(empty_db, ContactFilter()) == billing.UnknownDirection(
        7, 50.0, ("phone", "portal")
    )


def test_rules_counting_unknown_direction_need_no_warning(empty_db: Database) -> None:
    import_file(empty_db, TOGGL, file_name="t.csv", options=ImportOptions(time_zone=ZONE))
    with empty_db.transaction() as cursor:
        cursor.execute("UPDATE billing_rules SET direction = 'client_or_unknown'")
    assert billing.unknown_direction(empty_db, ContactFilter()).contacts == 0
    assert [episode[3] for episode in episodes(empty_db)] == ["98971", "98967", None]


# -- command line and pages -------------------------------------------------------------


def test_cli_direction_defaults_and_billing_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "contactload.duckdb")
    assert cli.main(["import", str(TOGGL), "--db", db, "--time-zone", ZONE]) == 0
    assert "5 contacts have no direction" in capsys.readouterr().out
    assert cli.main(["billing", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("Direction unknown for 4 phone and portal contacts")
    assert cli.main(["undo", "1", "--db", db]) == 0
    code = cli.main(
        ["import", str(TOGGL), "--db", db, "--time-zone", ZONE,
         "--direction-default", "portal=client", "--direction-default", "phone=incoming"]
    )  # fmt: skip
    assert code == 0
    assert "1 contacts have no direction" in capsys.readouterr().out
    assert cli.main(["billing", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "98971" in out and "98967" in out and "Direction unknown" not in out
    assert cli.main(["import", str(TOGGL), "--db", db, "--direction-default", "fax=client"]) == 1
    assert "'fax' is not a channel" in capsys.readouterr().err


def test_billing_page_says_direction_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    import_file(db, TOGGL, file_name="t.csv", options=ImportOptions(time_zone=ZONE))
    db.close()
    monkeypatch.setenv("CONTACTLOAD_DB", str(path))
    app = AppTest.from_file(str(Path(__file__).parent.parent / "app.py"), default_timeout=90)
    app.run()
    app.switch_page("pages/billing.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("Direction unknown for 4 phone and portal contacts" in w.value for w in app.warning)
    assert not any("Widen the period" in info.value for info in app.info)


def test_import_page_direction_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "contactload.duckdb"
    Database(path).close()
    monkeypatch.setenv("CONTACTLOAD_DB", str(path))
    app = AppTest.from_file(str(Path(__file__).parent.parent / "app.py"), default_timeout=90)
    app.run()
    app.switch_page("pages/import_data.py").run()
    app.selectbox(key="import_time_zone").set_value(ZONE)
    app.multiselect(key="import_direction_client").set_value(["portal", "phone"])
    app.file_uploader(key="import_files").set_value(
        ("toggl.csv", TOGGL.read_bytes(), "text/csv")
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("1 contacts have no direction" in caption.value for caption in app.caption)
    app.button(key="import_commit").click().run()
    assert not app.exception, [e.message for e in app.exception]
    db = Database(path)
    try:
        assert [row[4] for row in stored(db)] == [
            "client", "client", "client", "unknown", "client",
        ]  # fmt: skip
    finally:
        db.close()
