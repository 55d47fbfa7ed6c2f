"""Phone-log commands: ``phones list|map|unmap|region`` (which phone number is which client,
and the default region of numbers written without a country code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.cli.command import DB, KEYS, OUTPUT, Option, Shared, command, group, option
from analytics.cli.output import emit, shown_client

if TYPE_CHECKING:
    from analytics.cli.context import Context

LEGACY_MAPPINGS_NOTE = (
    "{count} mapping(s) marked 'before v8' were keyed from an older written form of the "
    "number: each is re-keyed when a phone log holding the number is imported again (or "
    "when the number is mapped again); until then calls and texts that write it "
    "differently may be listed as unmatched."
)

WHOSE_PHONE = Shared(
    "whose phone",
    (
        Option(("--therapist",), {"default": None, "help": "whose phone (required)"}),
        Option(("--practice",), {"default": None, "help": "the therapist's practice"}),
        Option(
            ("--region",),
            {"default": None, "help": "region of a number without a country code, e.g. IT"},
        ),
        Option(
            ("--country-code",),
            {"default": None, "help": "the region as its calling code, e.g. 39"},
        ),
    ),
)
"""The therapist whose phone it is, and how their numbers are written (map and unmap)."""

group(
    "phones",
    help="list, map or unmap the phone numbers of call and text logs; their default region",
)


@command(
    "phones",
    "list",
    help="the mapped numbers (last two digits) and clients",
    shared=(DB, KEYS, OUTPUT),
)
@option("--therapist", default=None, help="only this therapist")
@option("--practice", default=None, help="only this practice")
def list_numbers(ctx: Context) -> int:
    """``contactload phones list``: every mapped number (its last digits) and client."""
    from analytics.importing.phone_log import list_mappings

    table = list_mappings(ctx.db, ctx.scope)
    if ctx.args.therapist:
        table = table[table["therapist"] == ctx.args.therapist]
    if ctx.args.practice:
        table = table[table["practice"] == ctx.args.practice]
    rows = [
        {
            "therapist": str(therapist),
            "practice": str(practice),
            "number_hint": str(hint),
            "client": str(client),
            "client_key": str(client_key),
            "contacts": int(contacts),
            "minutes": float(minutes),
            "legacy": bool(legacy),
        }
        for therapist, practice, hint, client, client_key, contacts, minutes, legacy in zip(
            table["therapist"],
            table["practice"],
            table["number_hint"],
            table["client"],
            table["client_key"],
            table["contacts"],
            table["minutes"],
            table["legacy"],
            strict=True,
        )
    ]

    def text() -> str:
        shown = table.assign(
            client=shown_client(table, ctx.keys),
            number=["…" + hint for hint in table["number_hint"]],
            key=["before v8" if legacy else "E.164" for legacy in table["legacy"]],
        )
        lines = (
            shown[["therapist", "practice", "number", "client", "contacts", "minutes", "key"]]
            .round({"minutes": 1})
            .to_string(index=False)
        )
        legacy = int(table["legacy"].sum())
        return lines + (f"\n{LEGACY_MAPPINGS_NOTE.format(count=legacy)}" if legacy else "")

    emit(
        ctx,
        rows,
        text,
        empty="No phone numbers mapped yet; import a phone log to see its numbers, then "
        "map them with `contactload phones map NUMBER CLIENT`.",
    )
    return 0


@command("phones", "map", help="map a number to a client", shared=(DB, WHOSE_PHONE), creates=True)
@option("number", metavar="NUMBER")
@option("client", metavar="CLIENT", help="the client's label (new or known)")
@option(
    "--time-zone",
    default=None,
    help="IANA zone when the therapist is new (default: this machine's)",
)
def map_to_client(ctx: Context) -> int:
    """``contactload phones map NUMBER CLIENT``."""
    from analytics.importing.phone_log import map_number
    from analytics.importing.pipeline import local_time_zone

    args = ctx.args
    mapping = map_number(
        ctx.db,
        ctx.scope,
        args.therapist or "",  # none named: refused with a sentence naming --therapist
        args.number,
        args.client,
        practice=args.practice,
        time_zone=args.time_zone or local_time_zone(),
        country_code=args.country_code,
        region=args.region,
    )
    new = " (new client)" if mapping.created_client else ""
    print(
        f"Number ending {mapping.number_hint} mapped to {args.client.strip()}{new}; "
        "import the log again to add its calls and texts."
    )
    return 0


@command("phones", "unmap", help="forget a number's mapping", shared=(DB, WHOSE_PHONE))
@option("number", metavar="NUMBER")
def unmap(ctx: Context) -> int:
    """``contactload phones unmap NUMBER``."""
    from analytics.importing.phone_log import unmap_number

    args = ctx.args
    if unmap_number(
        ctx.db,
        ctx.scope,
        args.therapist or "",
        args.number,
        practice=args.practice,
        country_code=args.country_code,
        region=args.region,
    ):
        print("Mapping removed; contacts already imported from that number stay.")
        return 0
    print("That number was not mapped for this therapist; nothing changed.")
    return 0


@command(
    "phones",
    "region",
    help="show or set the default region of numbers written without a country code",
    shared=(DB,),
    creates=lambda args: args.region is not None,
)
@option("region", nargs="?", default=None, metavar="REGION", help="e.g. IT, DE, US; 'none' clears")
def region(ctx: Context) -> int:
    """``contactload phones region [REGION]``: show or store the default region."""
    from analytics.importing.phone_numbers import default_region, set_default_region

    chosen = ctx.args.region
    if chosen is not None:
        stored = set_default_region(
            ctx.db, None if chosen.strip().lower() == "none" else chosen, scope=ctx.scope
        )
        print(f"Default region: {stored or 'none'}.")
        return 0
    current = default_region(ctx.db)
    print(
        f"Default region: {current}."
        if current
        else "No default region: numbers written without a country code are listed as not "
        "valid; set one with `contactload phones region IT` (or DE, US...)."
    )
    return 0
