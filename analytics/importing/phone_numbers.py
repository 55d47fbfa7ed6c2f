"""Phone numbers as Google's libphonenumber reads them: one E.164 form per line, or a reason.

A number in a phone log is written the way the phone showed it: nationally (``06 1234
5678`` in Rome, ``8 (495) 123-45-67`` in Moscow, ``030 12345678`` in Berlin) or
internationally (``+39 06 1234 5678``, ``0049 30 12345678``). Which leading digits are a
trunk prefix to drop (``0`` in Germany, ``8`` in Russia) and which belong to the number
(Italy's ``0``) differs by country, so the ``phonenumbers`` package (libphonenumber's
metadata for every region) decides, with the default region the user chooses for
numbers written without a country code. It gives the E.164 form (``+390612345678``) the
number's keyed hash is made from, so one line has one key however it is written, and it
says when a number is not valid (too short, too long, not in the region's numbering plan,
a sender name, a national number with no region chosen): such numbers are listed for
review with that reason and never keyed or mapped.

Before schema version 8 keys were made from an older written form (punctuation removed,
a leading ``0`` replaced by the country code); ``legacy_number_form`` rebuilds that form
only so that mappings made then can be found and re-keyed (see ``phone_log``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import phonenumbers

from analytics.access.scope import LOCAL, Scope
from analytics.errors import InvalidRecordError
from analytics.storage import audit
from analytics.storage.database import Database

REGION_SETTING = "phone_region"
"""Key of the stored default region in the ``settings`` table (a region code like ``DE``)."""

_WITHHELD = ("", "null", "-1", "-2", "-3")
"""How Android writes a withheld, private or unknown caller."""


@dataclass(frozen=True)
class ReadNumber:
    """One number as written, and what libphonenumber made of it.

    ``e164`` is set for a valid number; ``reason`` says why a number is not usable;
    neither is set for a withheld or empty one.
    """

    written: str | None
    e164: str | None = None
    international: str | None = None
    reason: str | None = None

    @property
    def withheld(self) -> bool:
        """No number at all (empty, ``null``, or Android's codes for a private caller)."""
        return self.e164 is None and self.reason is None


def region_choices() -> list[str]:
    """Every region code libphonenumber knows, sorted (``AD`` … ``ZW``)."""
    return sorted(phonenumbers.SUPPORTED_REGIONS)


def region_label(region: str) -> str:
    """``DE (+49)``: a region code with its country calling code, for pickers."""
    return f"{region} (+{phonenumbers.country_code_for_region(region)})"


def check_region(region: str | None) -> str | None:
    """A region code in upper case (``it`` → ``IT``), None for none; one sentence if unknown."""
    if region is None or not region.strip():
        return None
    code = region.strip().upper()
    if code == "UK":  # the name people use; ISO 3166 says GB
        code = "GB"
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidRecordError(
            f"Unknown region {region.strip()!r}; give a two-letter country code such as "
            "IT, DE, GB, US, FR, RU, BR or AU."
        )
    return code


def region_for_country_code(country_code: str | None) -> str | None:
    """The main region of a calling code (``49`` → ``DE``, ``1`` → ``US``, ``44`` → ``GB``),
    so the older ``--country-code`` option keeps working."""
    if country_code is None or not country_code.strip():
        return None
    digits = country_code.strip().lstrip("+")
    region = phonenumbers.region_code_for_country_code(int(digits)) if digits.isdigit() else "ZZ"
    if region == "ZZ":  # libphonenumber's "unknown region"
        raise InvalidRecordError(
            f"Unknown country calling code {country_code.strip()!r}; give one such as 49 or 1, "
            "or a region such as DE or US."
        )
    return str(region)


def choose_region(region: str | None, country_code: str | None) -> str | None:
    """The region a caller asked for: ``region`` if given, else the one of ``country_code``."""
    return check_region(region) or region_for_country_code(country_code)


def read_number(written: str | None, region: str | None) -> ReadNumber:
    """Parse one number as written, with ``region`` for national numbers; never raises."""
    if written is None or written.strip().lower() in _WITHHELD:
        return ReadNumber(written)
    if not any(ch.isalnum() for ch in written):
        return ReadNumber(written)
    text = written.strip()
    if region is None and text.startswith("00"):
        # With no region the international prefix is unknown; 00 is the one most of the
        # world dials (a chosen region decides otherwise: 011 in the US, 810 in Russia).
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        return ReadNumber(written, reason=_parse_reason(error, region, text.startswith("+")))
    if not phonenumbers.is_valid_number(parsed):
        return ReadNumber(written, reason=_invalid_reason(parsed))
    return ReadNumber(
        written,
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        international=phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
    )


def _parse_reason(
    error: phonenumbers.NumberParseException, region: str | None, international: bool
) -> str:
    kind = error.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if region is None and not international:
            return (
                "written without a country code and no default region is chosen "
                "(choose one: --region, or on the Import page)"
            )
        return "its country code is not one in use"
    if kind == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return "not a phone number (a sender name or a service code)"
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return "too long to be a phone number"
    return "too short to be a phone number"


def _invalid_reason(parsed: phonenumbers.PhoneNumber) -> str:
    region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    where = "" if region == "ZZ" else f" in {region_label(region)}"
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible == phonenumbers.ValidationResult.TOO_SHORT:
        return f"too short for a number{where}"
    if possible == phonenumbers.ValidationResult.TOO_LONG:
        return f"too long for a number{where}"
    if possible == phonenumbers.ValidationResult.INVALID_LENGTH:
        return f"not a valid length for a number{where}"
    if possible == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return "its country code is not one in use"
    if possible == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return f"too short for a full number{where} (the area code missing?)"
    return f"not a number in use{where} (a short code, or not in the numbering plan)"


def e164_number(written: str, region: str | None) -> ReadNumber:
    """A number a user typed (to map it): valid, or one sentence saying why not."""
    number = read_number(written, region)
    if number.withheld:
        raise InvalidRecordError(
            "That number is empty or withheld; give the number as the phone shows it."
        )
    if number.e164 is None:
        raise InvalidRecordError(f"{written.strip()} is not a valid phone number: {number.reason}.")
    return number


def legacy_number_form(number: str | None, country_code: str | None) -> str | None:
    """The written form keys were made from before schema 8 (only to find those keys).

    Spaces, dashes, dots, slashes and parentheses removed; ``00`` became ``+``; with a
    country code a leading ``0`` was replaced by it, and ten North-American digits gained
    ``+1``; letters were lower-cased. Wrong where the ``0`` belongs to the number (Italy),
    which is why it is no longer used.
    """
    if number is None:
        return None
    text = number.strip()
    if text.lower() in _WITHHELD:
        return None
    plus = text.startswith("+")
    digits = "".join(ch for ch in text if ch not in " \t-./()\u00a0+")
    if not digits:
        return None
    if not digits.isdigit():
        return text.lower()
    if plus:
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    code = (country_code or "").strip().lstrip("+")
    if code.isdigit():
        if digits.startswith("0"):
            return f"+{code}{digits[1:]}"
        if code == "1" and len(digits) == 10:
            return "+1" + digits
        if code == "1" and len(digits) == 11 and digits.startswith("1"):
            return "+" + digits
    return digits


def legacy_country_code(region: str | None, country_code: str | None) -> str | None:
    """The country code older imports completed national numbers with, as far as it can be
    told now: the one given, else the chosen region's."""
    if country_code and country_code.strip():
        return country_code.strip().lstrip("+")
    if region:
        return str(phonenumbers.country_code_for_region(region))
    return None


# Mappings made before schema 8 carry keys of the older written form ('legacy'). Where a
# number of this log is written so that its older form's key is mapped, the mapping moves
# to the E.164 key (the newest one wins where two older forms of one line were mapped),
# and every older key of a line now mapped by E.164 goes. A legacy key equal to an E.164
# key (numbers stored with +) only changes its mark.
_REKEY_SQL = (
    """
    UPDATE phone_numbers SET key_form = 'e164'
    WHERE therapist_id = $therapist_id AND key_form = 'legacy'
      AND number_key IN (SELECT number_key FROM phone_keys WHERE number_key IS NOT NULL)
    """,
    """
    CREATE OR REPLACE TEMP TABLE phone_rekeyed AS
    SELECT DISTINCT ON (k.number_key) k.number_key, k.number_hint, m.client_id, m.created_at
    FROM phone_keys AS k
    JOIN phone_numbers AS m
      ON m.therapist_id = $therapist_id AND m.key_form = 'legacy'
     AND m.number_key = k.legacy_key
    WHERE k.number_key IS NOT NULL
      AND k.number_key NOT IN (
          SELECT number_key FROM phone_numbers WHERE therapist_id = $therapist_id
      )
    ORDER BY k.number_key, m.created_at DESC
    """,
    """
    INSERT INTO phone_numbers (therapist_id, number_key, number_hint, client_id, created_at,
                               key_form)
    SELECT $therapist_id, number_key, number_hint, client_id, created_at, 'e164'
    FROM phone_rekeyed
    """,
    """
    DELETE FROM phone_numbers
    WHERE therapist_id = $therapist_id AND key_form = 'legacy'
      AND number_key IN (
          SELECT k.legacy_key FROM phone_keys AS k
          JOIN phone_numbers AS m
            ON m.therapist_id = $therapist_id AND m.key_form = 'e164'
           AND m.number_key = k.number_key
      )
    """,
)


def rekey_legacy(cursor: duckdb.DuckDBPyConnection, therapist_id: int) -> int:
    """Move the therapist's pre-schema-8 mappings met in the staged log (``phone_keys``:
    number, number_key, number_hint, legacy_key) to E.164 keys; how many moved."""
    (before,) = cursor.execute(
        "SELECT count(*) FROM phone_numbers WHERE therapist_id = ? AND key_form = 'legacy'",
        [therapist_id],
    ).fetchall()[0]
    if not before:
        return 0
    for statement in _REKEY_SQL:
        cursor.execute(statement, {"therapist_id": therapist_id})
    cursor.execute("DROP TABLE phone_rekeyed")
    (after,) = cursor.execute(
        "SELECT count(*) FROM phone_numbers WHERE therapist_id = ? AND key_form = 'legacy'",
        [therapist_id],
    ).fetchall()[0]
    return int(before) - int(after)


def default_region(db: Database) -> str | None:
    """The stored default region for national numbers (None until one is chosen)."""
    (value,) = db.row("SELECT max(value) FROM settings WHERE key = ?", [REGION_SETTING])
    return None if value is None or not str(value).strip() else str(value)


def set_default_region(db: Database, region: str | None, *, scope: Scope = LOCAL) -> str | None:
    """Store the default region (None clears it); installation-wide, audited."""
    scope.require_import()
    code = check_region(region)
    with db.transaction() as cursor:
        cursor.execute("DELETE FROM settings WHERE key = ?", [REGION_SETTING])
        if code is not None:
            cursor.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)", [REGION_SETTING, code]
            )
        audit.record(cursor, scope, "settings", f"{REGION_SETTING} = {code or 'none'}")
    return code
