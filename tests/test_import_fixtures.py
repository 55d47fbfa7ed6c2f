"""Every import fixture end to end, against numbers worked out by hand from the file's bytes.

Each file is imported into a fresh database with ``ImportOptions(therapist="Robin Sommer",
time_zone="Europe/Berlin")`` (the therapist for files that name none):
the therapists are new, so they get Berlin time, and every clock time in a file is Berlin
wall-clock time. All dates are after 29 March 2026, so Berlin is on summer time (CEST,
UTC+2): a contact at 00:10 local on 1 April is 22:10 UTC on 31 March, which is why months
and days are checked in local time (a UTC month or day would differ for such rows).

Per file the comment gives, row by row (header = row 1), the minutes and the category and
channel the default keyword rules (or the file's own category/channel columns) give, then
the per-client and per-day sums. Category/channel words: the free text the rules read is
Project + Task/Activity + Tags + Description/Notes (never the e-mail address).

tests/data/import/more/ holds three small fixtures written for these tests, because every
preset and quirk fixture lies in mid-April: contacts just before and after midnight at the
ends of March and April (12-hour and 24-hour clocks, month-first and day-first dates, and
date-only Harvest rows), so the local month of each row is actually tested.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from analytics.access.filters import ContactFilter
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.importing.text_encodings import UnreadableFileError
from analytics.measures.metrics import breakdown, totals
from analytics.storage.database import Database

IMPORT = Path(__file__).parent / "data" / "import"
PRESETS = IMPORT / "presets"
QUIRKS = IMPORT / "quirks"
MORE = IMPORT / "more"
BERLIN = ImportOptions(therapist="Robin Sommer", time_zone="Europe/Berlin")


@dataclass(frozen=True)
class Expected:
    """What importing one fixture must give, worked out by hand."""

    path: Path
    preset: str
    rows: int
    imported: int
    clients: dict[str, float]
    days: dict[str, float]
    months: dict[str, float]
    categories: dict[str, int]
    channels: dict[str, int]
    rejected: list[tuple[int, str | None, str]] = field(default_factory=list)
    """(row, column, message) of every reported problem; column None for a whole row."""
    untimed: int = 0
    """Contacts stored without a time of day (time_known = false)."""
    some_untimed_minutes: float = 0.0
    """Their minutes, when only some contacts are untimed (else 0 or the total)."""

    @property
    def total(self) -> float:
        return sum(self.clients.values())

    @property
    def untimed_minutes(self) -> float:
        return self.total if self.untimed == self.imported else self.some_untimed_minutes


FIXTURES: list[Expected] = [
    # --- presets ------------------------------------------------------------------------
    # toggl.csv (UTF-8 BOM; Duration h:mm:ss; all rows timed):
    #  2 Lena M.  04-13 09:05 00:10:00 = 10  "phone, scheduling" / Rescheduled ... appointment
    #                                        -> scheduling / phone
    #  3 Jonas K. 04-13 21:40 00:45:00 = 45  crisis, safety plan, call -> crisis / phone
    #  4 Lena M.  04-14 12:00 00:08:00 =  8  homework, worksheet, email -> homework / email
    #  5 Jonas K. 04-14 08:30 00:20:00 = 20  support call -> support / phone
    #  6 Mia S.   04-15 18:30 00:05:00 =  5  Check-in text -> check_in / text
    #  7 Mia S.   04-15 23:50 00:20:00 = 20  (ends 04-16 00:10) portal message about sleep
    #                                        diary -> homework / portal
    # Lena M.: 10 + 8 = 18; Jonas K.: 45 + 20 = 65; Mia S.: 5 + 20 = 25; total 108.
    # Days: 04-13 = 10 + 45 = 55; 04-14 = 8 + 20 = 28; 04-15 = 5 + 20 = 25 (starts the 15th).
    Expected(
        PRESETS / "toggl.csv",
        "toggl",
        rows=6,
        imported=6,
        clients={"Lena M.": 18, "Jonas K.": 65, "Mia S.": 25},
        days={"2026-04-13": 55, "2026-04-14": 28, "2026-04-15": 25},
        months={"2026-04": 108},
        categories={"scheduling": 1, "crisis": 1, "homework": 2, "support": 1, "check_in": 1},
        channels={"phone": 3, "email": 1, "text": 1, "portal": 1},
    ),
    # toggl_no_amount.csv (BOM, no Amount column):
    #  2 Sam R.   04-20 10:00 00:06:00 =  6    Cancelled appointment via email -> scheduling/email
    #  3 Sam R.   04-20 22:10 00:30:00 = 30    Emergency call, suicidal, crisis -> crisis / phone
    #  4 Alex P.  04-21 08:00 00:02:00 =  2    Reminder text -> reminder / text
    #  5 Alex P.  04-22 17:00 00:15:00 = 15    Homework review on Zoom -> homework / video
    #  6 Chris D. 04-23 12:30 00:07:30 =  7.5  Check in by phone -> check_in / phone
    # Sam R.: 6 + 30 = 36; Alex P.: 2 + 15 = 17; Chris D.: 7.5; total 60.5.
    Expected(
        PRESETS / "toggl_no_amount.csv",
        "toggl",
        rows=5,
        imported=5,
        clients={"Sam R.": 36, "Alex P.": 17, "Chris D.": 7.5},
        days={"2026-04-20": 36, "2026-04-21": 2, "2026-04-22": 15, "2026-04-23": 7.5},
        months={"2026-04": 60.5},
        categories={"scheduling": 1, "crisis": 1, "reminder": 1, "homework": 1, "check_in": 1},
        channels={"email": 1, "phone": 2, "text": 1, "video": 1},
    ),
    # clockify_us.csv (all quoted, CRLF, MM/DD/YYYY, 12-hour clock; minutes from
    # "Duration (h)", never the rounded "Duration (decimal)"):
    #  2 Taylor B.  04/15 02:30 PM = 14:30  0:25:00 = 25   Rescheduled appointment
    #                                                     -> scheduling / phone
    #  3 Riley C.   04/15 10:05 PM = 22:05  0:40:00 = 40   Crisis call -> crisis / phone
    #  4 Taylor B.  04/16 09:10 AM         0:07:00 =  7   Portal message re: worksheet
    #                                                     -> homework / portal
    #  5 Morgan D.  04/16 12:00 PM = noon  0:01:30 =  1.5 Appointment reminder text -> reminder/text
    #  6 Riley C.   04/17 12:15 AM = 00:15 0:20:00 = 20   Check-in, tag phone -> check_in / phone
    # Taylor B.: 25 + 7 = 32; Riley C.: 40 + 20 = 60; Morgan D.: 1.5; total 93.5.
    # Days: 04-15 = 25 + 40 = 65; 04-16 = 7 + 1.5 = 8.5; 04-17 = 20 (00:15 local is 22:15 UTC
    # on the 16th, so a UTC day would be wrong here).
    Expected(
        PRESETS / "clockify_us.csv",
        "clockify",
        rows=5,
        imported=5,
        clients={"Taylor B.": 32, "Riley C.": 60, "Morgan D.": 1.5},
        days={"2026-04-15": 65, "2026-04-16": 8.5, "2026-04-17": 20},
        months={"2026-04": 93.5},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "reminder": 1, "check_in": 1},
        channels={"phone": 3, "portal": 1, "text": 1},
    ),
    # clockify_eu.csv (DD/MM/YYYY, 24-hour, "Activity" column):
    #  2 Lena M.  15/04 14:30 0:12:00 = 12  Terminverschiebung per Telefon -> scheduling / phone
    #  3 Paul H.  15/04 22:10 0:55:00 = 55  Krise, Krisengespräch, Anruf -> crisis / phone
    #  4 Lena M.  16/04 08:00 0:05:00 =  5  Hausaufgaben, Arbeitsblatt, E-Mail -> homework / email
    #  5 Emma W.  17/04 19:45 0:03:00 =  3  Check-in, Nachfrage per SMS -> check_in / text
    # Lena M.: 12 + 5 = 17; Paul H.: 55; Emma W.: 3; total 75.
    Expected(
        PRESETS / "clockify_eu.csv",
        "clockify",
        rows=4,
        imported=4,
        clients={"Lena M.": 17, "Paul H.": 55, "Emma W.": 3},
        days={"2026-04-15": 67, "2026-04-16": 5, "2026-04-17": 3},
        months={"2026-04": 75},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "check_in": 1},
        channels={"phone": 2, "email": 1, "text": 1},
    ),
    # harvest.csv (ISO dates, no clock times; minutes = Hours x 60, never "Hours Rounded"):
    #  2 Jamie L. 04-13 0.25 h = 15  Scheduling, Moved appointment -> scheduling / other
    #  3 Casey N. 04-13 0.75 h = 45  Crisis phone call -> crisis / phone
    #  4 Jamie L. 04-14 0.1 h  =  6  Homework, worksheet -> homework / other
    #  5 Casey N. 04-15 0.05 h =  3  Check-in text -> check_in / text
    #  6 Drew P.  04-15 0.5 h  = 30  Support call -> support / phone
    # Jamie L.: 15 + 6 = 21; Casey N.: 45 + 3 = 48; Drew P.: 30; total 99.
    # (Hours Rounded would give Jamie 0.25 + 0.25 h = 30, Casey 0.75 + 0.25 h = 60.)
    Expected(
        PRESETS / "harvest.csv",
        "harvest",
        rows=5,
        imported=5,
        clients={"Jamie L.": 21, "Casey N.": 48, "Drew P.": 30},
        days={"2026-04-13": 60, "2026-04-14": 6, "2026-04-15": 33},
        months={"2026-04": 99},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "check_in": 1, "support": 1},
        channels={"other": 2, "phone": 2, "text": 1},
        untimed=5,
    ),
    # harvest_de.csv (DD.MM.YYYY, quoted decimal commas):
    #  2 Lena M.  13.04 "0,25" h = 15  Terminplanung, Termin verschoben -> scheduling / other
    #  3 Jonas K. 14.04 "1,0" h  = 60  Krisenintervention, Notfall, Anruf -> crisis / phone
    #  4 Lena M.  15.04 "0,1" h  =  6  Hausaufgaben, Arbeitsblatt per E-Mail -> homework / email
    #  5 Mia S.   16.04 "0,05" h =  3  Erinnerung, Terminerinnerung per SMS -> reminder / text
    # Lena M.: 15 + 6 = 21; Jonas K.: 60; Mia S.: 3; total 84.
    # (Hours Rounded would give Lena 0,25 + 0,25 h = 30 and Mia 0,25 h = 15.)
    Expected(
        PRESETS / "harvest_de.csv",
        "harvest",
        rows=4,
        imported=4,
        clients={"Lena M.": 21, "Jonas K.": 60, "Mia S.": 3},
        days={"2026-04-13": 15, "2026-04-14": 60, "2026-04-15": 6, "2026-04-16": 3},
        months={"2026-04": 84},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "reminder": 1},
        channels={"other": 1, "phone": 1, "email": 1, "text": 1},
        untimed=4,
    ),
    # kimai_en.csv (Duration "0:20" and "0:10:00"):
    #  2 Alex P.   04-13 09:00 0:20    = 20  Scheduling, Rescheduled by phone -> scheduling/phone
    #  3 Jordan K. 04-13 23:30 0:45    = 45  (To 00:15) Crisis call -> crisis / phone
    #  4 Alex P.   04-14 12:00 0:10:00 = 10  Homework, worksheet by email -> homework / email
    #  5 Riley C.  04-15 17:45 0:05:00 =  5  Check-in by text -> check_in / text
    # Alex P.: 20 + 10 = 30; Jordan K.: 45; Riley C.: 5; total 80.
    Expected(
        PRESETS / "kimai_en.csv",
        "kimai",
        rows=4,
        imported=4,
        clients={"Alex P.": 30, "Jordan K.": 45, "Riley C.": 5},
        days={"2026-04-13": 65, "2026-04-14": 10, "2026-04-15": 5},
        months={"2026-04": 80},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "check_in": 1},
        channels={"phone": 2, "email": 1, "text": 1},
    ),
    # kimai_de.csv (semicolons, German headers):
    #  2 Lena M.  04-13 08:30 0:15 = 15  Terminplanung, per Telefon verschoben -> scheduling/phone
    #  3 Jonas K. 04-13 20:00 0:50 = 50  Krisenintervention, Krisenanruf -> crisis / phone
    #  4 Mia S.   04-14 10:00 0:06 =  6  Hausaufgaben, Übungsblatt per E-Mail -> homework / email
    #  5 Lena M.  04-15 19:00 0:04 =  4  Check-in, Nachfrage per SMS -> check_in / text
    # Lena M.: 15 + 4 = 19; Jonas K.: 50; Mia S.: 6; total 75.
    Expected(
        PRESETS / "kimai_de.csv",
        "kimai",
        rows=4,
        imported=4,
        clients={"Lena M.": 19, "Jonas K.": 50, "Mia S.": 6},
        days={"2026-04-13": 65, "2026-04-14": 6, "2026-04-15": 4},
        months={"2026-04": 75},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "check_in": 1},
        channels={"phone": 2, "email": 1, "text": 1},
    ),
    # template.csv (explicit channel and category columns):
    #  2 Client A 04-13 09:00 10    phone  scheduling
    #  3 Client B 04-13 22:15 35    phone  crisis
    #  4 Client A 04-14 (no time) 5 email  reminder   <- time_known false
    #  5 Client C 04-14 16:30 12.5  portal homework
    #  6 Client B 04-15 08:45 7     text   check_in
    # Client A: 10 + 5 = 15; Client B: 35 + 7 = 42; Client C: 12.5; total 69.5.
    Expected(
        PRESETS / "template.csv",
        "template",
        rows=5,
        imported=5,
        clients={"Client A": 15, "Client B": 42, "Client C": 12.5},
        days={"2026-04-13": 45, "2026-04-14": 17.5, "2026-04-15": 7},
        months={"2026-04": 69.5},
        categories={"scheduling": 1, "crisis": 1, "reminder": 1, "homework": 1, "check_in": 1},
        channels={"phone": 2, "email": 1, "portal": 1, "text": 1},
        untimed=1,
        some_untimed_minutes=5,
    ),
    # custom_de.csv (semicolons, BOM, DD.MM.YYYY, "Dauer (Min.)" in minutes with "12,5"):
    #  2 Lena M.  15.04 09:10 15    Telefon Terminplanung
    #  3 Jonas K. 15.04 21:30 45    Telefon Krise
    #  4 Lena M.  16.04 12:00  5    E-Mail  Hausaufgabe
    #  5 Mia S.   16.04 18:00 12,5  Video   Unterstützung (no Ende: the duration is given)
    #  6 Mia S.   17.04 08:00  3    SMS     Erinnerung
    # Lena M.: 15 + 5 = 20; Jonas K.: 45; Mia S.: 12.5 + 3 = 15.5; total 80.5.
    Expected(
        PRESETS / "custom_de.csv",
        "custom",
        rows=5,
        imported=5,
        clients={"Lena M.": 20, "Jonas K.": 45, "Mia S.": 15.5},
        days={"2026-04-15": 60, "2026-04-16": 17.5, "2026-04-17": 3},
        months={"2026-04": 80.5},
        categories={"scheduling": 1, "crisis": 1, "homework": 1, "support": 1, "reminder": 1},
        channels={"phone": 2, "email": 1, "video": 1, "text": 1},
    ),
    # --- quirks (empty.csv, header_only.csv and all_ragged.csv are unreadable: see below) -
    # toggl_utf8_bom_crlf.csv (BOM, CRLF, one empty line at the end, therapist "Anna Müller"):
    #  2 Client 7  04-15 14:30 00:12:00 = 12   "crisis plan", tags phone, crisis -> crisis / phone
    #  3 Client 12 04-16 09:05 00:05:30 =  5.5 Email -> other / email
    #  4 Client 7  04-17 21:15 00:02:00 =  2   Text message, sms -> other / text
    # Client 7: 12 + 2 = 14; Client 12: 5.5; total 19.5.
    Expected(
        QUIRKS / "toggl_utf8_bom_crlf.csv",
        "toggl",
        rows=3,
        imported=3,
        clients={"Client 7": 14, "Client 12": 5.5},
        days={"2026-04-15": 12, "2026-04-16": 5.5, "2026-04-17": 2},
        months={"2026-04": 19.5},
        categories={"crisis": 1, "other": 2},
        channels={"phone": 1, "email": 1, "text": 1},
    ),
    # clockify_quoted_lf.csv (no Group column: default practice; row 2 has a quoted newline):
    #  2 Client 3 04/15 02:30 PM 00:15:00 = 15  Voicemail, then call back -> other / phone
    #  3 only 5 fields                           rejected (whole row)
    #  4 15 fields                               rejected (whole row)
    #  5 Client 4 04/17 11:00 PM 00:03:00 =  3  Text, sms -> other / text
    # Client 3: 15; Client 4: 3; total 18.
    Expected(
        QUIRKS / "clockify_quoted_lf.csv",
        "clockify",
        rows=4,
        imported=2,
        rejected=[
            (3, None, "Expected 14 fields but found 5."),
            (4, None, "Expected 14 fields but found 15."),
        ],
        clients={"Client 3": 15, "Client 4": 3},
        days={"2026-04-15": 15, "2026-04-17": 3},
        months={"2026-04": 18},
        categories={"other": 2},
        channels={"phone": 1, "text": 1},
    ),
    # excel_semicolon_cp1252.csv (Windows-1252, CRLF; "Dauer (h)" in hours with decimal comma;
    # no time column, so every contact is date-only; row 4 blank, row 6 ";;;;" all empty):
    #  2 Müller      15.04 0,25 h = 15  Café -> other / other
    #  3 Weiß; Anna  16.04 1,5 h  = 90  Sagte "später" -> other / other
    #  5 Müller      17.04 0,5 h  = 30  -> other / other
    # Müller: 15 + 30 = 45; Weiß; Anna: 90; total 135.
    Expected(
        QUIRKS / "excel_semicolon_cp1252.csv",
        "custom",
        rows=3,
        imported=3,
        clients={"Müller": 45, "Weiß; Anna": 90},
        days={"2026-04-15": 15, "2026-04-16": 90, "2026-04-17": 30},
        months={"2026-04": 135},
        categories={"other": 3},
        channels={"other": 3},
        untimed=3,
    ),
    # excel_unicode_text_utf16le.txt (UTF-16 LE, tabs; "Dauer" names no unit and has no ":",
    # so hours, decimal comma; no time column):
    #  2 Müller 15.04 0,25 h = 15  Café-Termin abgesagt -> scheduling / other
    #  3 Café   16.04 1,5 h  = 90  Rechnung € 12,50 -> other / other
    # Müller: 15; Café: 90; total 105.
    Expected(
        QUIRKS / "excel_unicode_text_utf16le.txt",
        "custom",
        rows=2,
        imported=2,
        clients={"Müller": 15, "Café": 90},
        days={"2026-04-15": 15, "2026-04-16": 90},
        months={"2026-04": 105},
        categories={"scheduling": 1, "other": 1},
        channels={"other": 2},
        untimed=2,
    ),
    # harvest_quoted_decimal_comma.csv (no First/Last Name: default therapist):
    #  2 Client 1 15.04 "0,25" h = 15  Phone, Rückruf -> other / phone
    #  3 Client 2 16.04 "1,5" h  = 90  Email -> other / email
    # Client 1: 15; Client 2: 90; total 105.
    Expected(
        QUIRKS / "harvest_quoted_decimal_comma.csv",
        "harvest",
        rows=2,
        imported=2,
        clients={"Client 1": 15, "Client 2": 90},
        days={"2026-04-15": 15, "2026-04-16": 90},
        months={"2026-04": 105},
        categories={"other": 2},
        channels={"phone": 1, "email": 1},
        untimed=2,
    ),
    # pipes_no_final_newline.csv (custom: date, client, note, minutes; no time column):
    #  2 Client 1 04-15 12            "a|b" -> other / other
    #  3 Client 2 04-16 "7,5" = 7.5   (decimal comma: the column's only unambiguous number)
    # Client 1: 12; Client 2: 7.5; total 19.5.
    Expected(
        QUIRKS / "pipes_no_final_newline.csv",
        "custom",
        rows=2,
        imported=2,
        clients={"Client 1": 12, "Client 2": 7.5},
        days={"2026-04-15": 12, "2026-04-16": 7.5},
        months={"2026-04": 19.5},
        categories={"other": 2},
        channels={"other": 2},
        untimed=2,
    ),
    # ragged_both_ways.csv (custom: date, client, minutes; no time column):
    #  2 A 04-01 10; 3 "B" two fields: rejected; 4 C 04-03 30; 5 five fields: rejected;
    #  6 blank; 7 E 04-05 50; 8 spaces only (not a row); 9 F 04-06 60.
    # A 10, C 30, E 50, F 60; total 150.
    Expected(
        QUIRKS / "ragged_both_ways.csv",
        "custom",
        rows=6,
        imported=4,
        rejected=[
            (3, None, "Expected 3 fields but found 2."),
            (5, None, "Expected 3 fields but found 5."),
        ],
        clients={"A": 10, "C": 30, "E": 50, "F": 60},
        days={"2026-04-01": 10, "2026-04-03": 30, "2026-04-05": 50, "2026-04-06": 60},
        months={"2026-04": 150},
        categories={"other": 4},
        channels={"other": 4},
        untimed=4,
    ),
    # --- more: month ends near midnight ------------------------------------------------
    # clockify_us_month_end.csv (MM/DD/YYYY: 03/31 and 04/30 prove month-first; 12-hour):
    #  2 Avery 03/31 11:45 PM = 23:45 0:30:00 = 30  Late call, Support -> support / phone
    #  3 Avery 04/01 12:10 AM = 00:10 0:20:00 = 20  Crisis call -> crisis / phone
    #  4 Blake 04/30 11:50 PM = 23:50 0:15:00 = 15  Rescheduled appointment -> scheduling/text
    #  5 Blake 05/01 12:05 AM = 00:05 0:10:00 = 10  Worksheet by email -> homework / email
    #  6 Casey 05/12 12:00 PM = noon  0:05:00 =  5  Appointment reminder text -> reminder/text
    # Avery: 30 + 20 = 50; Blake: 15 + 10 = 25; Casey: 5; total 80.
    # Local months: 2026-03 = 30; 2026-04 = 20 + 15 = 35; 2026-05 = 10 + 5 = 15.
    # (UTC months would be 03 = 30 + 20 = 50, 04 = 15 + 10 = 25, 05 = 5; and 05/12 read
    # day-first would be 5 December.)
    Expected(
        MORE / "clockify_us_month_end.csv",
        "clockify",
        rows=5,
        imported=5,
        clients={"Avery": 50, "Blake": 25, "Casey": 5},
        days={
            "2026-03-31": 30, "2026-04-01": 20, "2026-04-30": 15, "2026-05-01": 10,
            "2026-05-12": 5,
        },
        months={"2026-03": 30, "2026-04": 35, "2026-05": 15},
        categories={"support": 1, "crisis": 1, "scheduling": 1, "homework": 1, "reminder": 1},
        channels={"phone": 2, "text": 2, "email": 1},
    ),
    # clockify_eu_month_end.csv (DD/MM/YYYY: 31/03 and 30/04 prove day-first; 24-hour):
    #  2 Lena M. 31/03 23:40 0:25:00 = 25  Krise, Krisenanruf -> crisis / phone
    #  3 Lena M. 01/04 00:20 0:10:00 = 10  Termin verschoben per SMS -> scheduling / text
    #  4 Paul H. 30/04 23:59 0:05:00 =  5  Arbeitsblatt per E-Mail -> homework / email
    #  5 Paul H. 01/05 00:00 0:15:00 = 15  Rückruf wegen Terminabsage -> scheduling / phone
    #  6 Emma W. 05/06 09:00 0:07:00 =  7  (5 June) Check-in, Nachfrage per SMS -> check_in/text
    # Lena M.: 25 + 10 = 35; Paul H.: 5 + 15 = 20; Emma W.: 7; total 62.
    # Local months: 03 = 25; 04 = 10 + 5 = 15; 05 = 15; 06 = 7.
    Expected(
        MORE / "clockify_eu_month_end.csv",
        "clockify",
        rows=5,
        imported=5,
        clients={"Lena M.": 35, "Paul H.": 20, "Emma W.": 7},
        days={
            "2026-03-31": 25, "2026-04-01": 10, "2026-04-30": 5, "2026-05-01": 15,
            "2026-06-05": 7,
        },
        months={"2026-03": 25, "2026-04": 15, "2026-05": 15, "2026-06": 7},
        categories={"crisis": 1, "scheduling": 2, "homework": 1, "check_in": 1},
        channels={"phone": 2, "text": 2, "email": 1},
    ),
    # harvest_month_end.csv (date-only rows on month ends; a local midnight is 22:00 UTC the
    # day before, so the month must come from the local date):
    #  2 Jamie L. 2026-03-31 0.5 h  = 30  Crisis phone call -> crisis / phone
    #  3 Jamie L. 2026-04-01 0.2 h  = 12  Scheduling, appointment -> scheduling / other
    #  4 Casey N. 2026-04-30 0.05 h =  3  Check-in text -> check_in / text
    #  5 Casey N. 2026-05-01 1 h    = 60  Support call -> support / phone
    # Jamie L.: 30 + 12 = 42; Casey N.: 3 + 60 = 63; total 105.
    # Local months: 03 = 30; 04 = 12 + 3 = 15; 05 = 60.
    Expected(
        MORE / "harvest_month_end.csv",
        "harvest",
        rows=4,
        imported=4,
        clients={"Jamie L.": 42, "Casey N.": 63},
        days={"2026-03-31": 30, "2026-04-01": 12, "2026-04-30": 3, "2026-05-01": 60},
        months={"2026-03": 30, "2026-04": 15, "2026-05": 60},
        categories={"crisis": 1, "scheduling": 1, "check_in": 1, "support": 1},
        channels={"phone": 2, "other": 1, "text": 1},
        untimed=4,
    ),
]  # fmt: skip

UNREADABLE = ["empty.csv", "header_only.csv", "all_ragged.csv"]


def minutes_by(db: Database, by: str) -> dict[str, float]:
    """Minutes per client label, or per key of another breakdown (months are local)."""
    table = breakdown(db, ContactFilter(), by)
    key = "label" if by == "client" else "key"
    return dict(zip(table[key], table["minutes"], strict=True))


def contacts_by(db: Database, by: str) -> dict[str, int]:
    table = breakdown(db, ContactFilter(), by)
    return dict(zip(table["key"], table["contacts"], strict=True))


def minutes_by_local_day(db: Database) -> dict[str, float]:
    with db.cursor() as cursor:
        rows = cursor.execute(
            "SELECT strftime(local_started_at, '%Y-%m-%d'), sum(minutes) FROM contacts GROUP BY 1"
        ).fetchall()
    return {day: minutes for day, minutes in rows}


def approx(expected: dict[str, float]) -> object:
    return pytest.approx({key: float(value) for key, value in expected.items()})


def test_every_fixture_file_is_covered() -> None:
    listed = {expected.path for expected in FIXTURES}
    on_disk = {
        path
        for folder in (PRESETS, QUIRKS, MORE)
        for path in folder.iterdir()
        if not path.name.startswith(".")  # .gitattributes
    }
    assert on_disk - listed == {QUIRKS / name for name in UNREADABLE}


@pytest.mark.parametrize(
    "expected", FIXTURES, ids=[f"{e.path.parent.name}/{e.path.name}" for e in FIXTURES]
)
def test_fixture_imports_as_worked_out_by_hand(empty_db: Database, expected: Expected) -> None:
    report = import_file(empty_db, expected.path, file_name=expected.path.name, options=BERLIN)

    assert (report.preset, report.rows, report.imported, report.rejected) == (
        expected.preset,
        expected.rows,
        expected.imported,
        len({row for row, _, _ in expected.rejected}),
    )
    assert report.duplicates == 0
    assert [(e.row, e.column, e.message) for e in report.errors] == expected.rejected
    assert minutes_by(empty_db, "client") == approx(expected.clients)
    assert minutes_by_local_day(empty_db) == approx(expected.days)
    assert minutes_by(empty_db, "month") == approx(expected.months)
    assert sum(expected.months.values()) == pytest.approx(expected.total)
    assert sum(expected.days.values()) == pytest.approx(expected.total)
    assert contacts_by(empty_db, "category") == expected.categories
    assert contacts_by(empty_db, "channel") == expected.channels

    figures = totals(empty_db, ContactFilter())
    assert figures.contacts == expected.imported
    assert figures.minutes == pytest.approx(expected.total)
    assert figures.untimed_minutes == pytest.approx(expected.untimed_minutes)
    with empty_db.cursor() as cursor:
        row = cursor.execute(
            "SELECT count(*) FILTER (WHERE NOT time_known), bool_or(time_known) FROM contacts"
        ).fetchone()
    assert row is not None
    untimed, any_timed = row
    assert untimed == expected.untimed
    assert any_timed is (expected.untimed < expected.imported)
    if expected.preset == "harvest":
        assert any_timed is False
        assert figures.untimed_minutes == pytest.approx(figures.minutes)


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_quirk_files_store_nothing(empty_db: Database, name: str) -> None:
    with pytest.raises(UnreadableFileError):
        import_file(empty_db, QUIRKS / name, file_name=name, options=BERLIN)
    assert totals(empty_db, ContactFilter()).contacts == 0


def test_importing_every_preset_twice_adds_nothing(empty_db: Database) -> None:
    presets = [expected for expected in FIXTURES if expected.path.parent == PRESETS]
    first = [import_file(empty_db, e.path, file_name=e.path.name, options=BERLIN) for e in presets]
    assert [(r.imported, r.duplicates) for r in first] == [(e.imported, 0) for e in presets]
    before = totals(empty_db, ContactFilter())
    again = [import_file(empty_db, e.path, file_name=e.path.name, options=BERLIN) for e in presets]
    assert [(r.imported, r.duplicates) for r in again] == [(0, r.imported) for r in first]
    after = totals(empty_db, ContactFilter())
    assert (after.contacts, after.minutes) == (before.contacts, before.minutes)
    assert after.contacts == sum(e.imported for e in presets)
    assert after.minutes == pytest.approx(sum(e.total for e in presets))


@pytest.mark.parametrize(
    ("name", "column", "exact", "rounded"),
    [
        # Duration (h) 0:25:00 + 0:07:00 = 32 and 0:01:30 = 1.5; the rounded decimal column
        # says 0.42 + 0.12 h = 32.4 and 0.03 h = 1.8.
        ("clockify_us.csv", "Duration (h)", {"Taylor B.": 32, "Morgan D.": 1.5},
         {"Taylor B.": 32.4, "Morgan D.": 1.8}),
        # 0:12:00 + 0:05:00 = 17 and 0:55:00 = 55; decimal 0.20 + 0.08 h = 16.8, 0.92 h = 55.2.
        ("clockify_eu.csv", "Duration (h)", {"Lena M.": 17, "Paul H.": 55},
         {"Lena M.": 16.8, "Paul H.": 55.2}),
        # Hours 0.25 + 0.1 = 0.35 h = 21 and 0.75 + 0.05 = 0.8 h = 48;
        # Hours Rounded 0.25 + 0.25 h = 30 and 0.75 + 0.25 h = 60.
        ("harvest.csv", "Hours", {"Jamie L.": 21, "Casey N.": 48},
         {"Jamie L.": 30, "Casey N.": 60}),
        # "0,25" + "0,1" h = 21 and "0,05" h = 3; rounded "0,25" + "0,25" h = 30, "0,25" h = 15.
        ("harvest_de.csv", "Hours", {"Lena M.": 21, "Mia S.": 3},
         {"Lena M.": 30, "Mia S.": 15}),
    ],
)  # fmt: skip
def test_minutes_come_from_the_exact_duration_column(
    empty_db: Database,
    name: str,
    column: str,
    exact: dict[str, float],
    rounded: dict[str, float],
) -> None:
    report = import_file(empty_db, PRESETS / name, file_name=name, options=BERLIN)
    assert report.layout is not None
    assert report.layout.sources("duration") == (column,)
    minutes = minutes_by(empty_db, "client")
    assert {label: minutes[label] for label in exact} == approx(exact)
    assert {label: minutes[label] for label in rounded} != approx(rounded)


@pytest.mark.parametrize(
    ("path", "encoding", "labels"),
    [
        (QUIRKS / "excel_unicode_text_utf16le.txt", "utf-16-le", ["Café", "Müller"]),
        (QUIRKS / "excel_semicolon_cp1252.csv", "cp1252", ["Müller", "Weiß; Anna"]),
    ],
    ids=["utf-16", "windows-1252"],
)
def test_non_ascii_client_labels_survive_the_encoding(
    empty_db: Database, path: Path, encoding: str, labels: list[str]
) -> None:
    # The file really is in that encoding: the labels are not in it as UTF-8 bytes.
    raw = path.read_bytes()
    assert "Müller".encode() not in raw
    assert "Müller".encode(encoding) in raw
    import_file(empty_db, path, file_name=path.name, options=BERLIN)
    with empty_db.cursor() as cursor:
        rows = cursor.execute("SELECT label FROM clients ORDER BY label").fetchall()
    stored = [row[0] for row in rows]
    assert stored == labels


def test_non_ascii_therapist_name_survives_a_bom_and_crlf(empty_db: Database) -> None:
    path = QUIRKS / "toggl_utf8_bom_crlf.csv"
    import_file(empty_db, path, file_name=path.name, options=BERLIN)
    with empty_db.cursor() as cursor:
        names = cursor.execute("SELECT name, time_zone FROM therapists").fetchall()
    assert names == [("Anna Müller", "Europe/Berlin")]
