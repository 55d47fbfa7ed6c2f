"""Mailbox and chat commands: ``addresses list|map|unmap`` (which e-mail address or WhatsApp
chat is which client) and the lines that report what importing a mailbox or chat did.

E-mail addresses and WhatsApp chat names reach a client only through a mapping, as phone
numbers do (``contactload phones``): ``addresses map ADDRESS CLIENT --therapist NAME``
stores a keyed hash of the address (an @ makes it an e-mail address, else it is a chat or
a chat member's name), never the address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.cli.command import DB, KEYS, OUTPUT, Option, Shared, command, group, option
from analytics.cli.output import emit, shown_client

if TYPE_CHECKING:
    from analytics.cli.context import Context
    from analytics.importing.conversations import MessageReport

WHOSE_MAILBOX = Shared(
    "whose mailbox",
    (
        Option(("--therapist",), {"default": None, "help": "whose mailbox or chats (required)"}),
        Option(("--practice",), {"default": None, "help": "the therapist's practice"}),
    ),
)
"""The therapist whose mailbox or chats it is (map and unmap)."""

group(
    "addresses",
    help="list, map or unmap the e-mail addresses and WhatsApp chat names of clients",
)


@command(
    "addresses",
    "list",
    help="the mapped addresses (hints) and clients",
    shared=(DB, KEYS, OUTPUT),
)
def list_addresses(ctx: Context) -> int:
    """``contactload addresses list``: every mapped address (its hint) and client."""
    from analytics.importing.addresses import list_address_mappings

    table = list_address_mappings(ctx.db, ctx.scope)
    rows = [
        {
            "therapist": str(therapist),
            "practice": str(practice),
            "kind": str(kind),
            "address_hint": str(hint),
            "client": str(client),
            "client_key": str(key),
        }
        for therapist, practice, kind, hint, client, key in zip(
            table["therapist"], table["practice"], table["kind"],
            table["address_hint"], table["client"], table["client_key"], strict=True,
        )
    ]  # fmt: skip

    def text() -> str:
        shown = table.assign(client=shown_client(table, ctx.keys))
        return shown[["therapist", "practice", "kind", "address_hint", "client"]].to_string(
            index=False
        )

    emit(
        ctx,
        rows,
        text,
        empty="No addresses mapped yet; import a mailbox or chat export to see its "
        "addresses, then map them with `contactload addresses map ADDRESS CLIENT`.",
    )
    return 0


@command(
    "addresses",
    "map",
    help="map an address or chat name to a client",
    shared=(DB, WHOSE_MAILBOX),
    creates=True,
)
@option("address", metavar="ADDRESS", help="an e-mail address or a chat name")
@option("client", metavar="CLIENT", help="the client's label (new or known)")
@option(
    "--time-zone",
    default=None,
    help="IANA zone when the therapist is new (default: this machine's)",
)
def map_to_client(ctx: Context) -> int:
    """``contactload addresses map ADDRESS CLIENT``."""
    from analytics.importing.addresses import map_address
    from analytics.importing.pipeline import local_time_zone

    args = ctx.args
    mapping = map_address(
        ctx.db,
        ctx.scope,
        args.therapist or "",  # none named: refused with a sentence naming --therapist
        args.address,
        args.client,
        practice=args.practice,
        time_zone=args.time_zone or local_time_zone(),
    )
    new = " (new client)" if mapping.created_client else ""
    print(
        f"{'Address' if mapping.kind == 'email' else 'Chat'} {mapping.address_hint} mapped "
        f"to {args.client.strip()}{new}; import the file again to add its messages."
    )
    return 0


@command(
    "addresses", "unmap", help="forget an address's or chat's mapping", shared=(DB, WHOSE_MAILBOX)
)
@option("address", metavar="ADDRESS")
def unmap(ctx: Context) -> int:
    """``contactload addresses unmap ADDRESS``."""
    from analytics.importing.addresses import unmap_address

    args = ctx.args
    if unmap_address(ctx.db, ctx.scope, args.therapist or "", args.address, practice=args.practice):
        print("Mapping removed; contacts already imported from it stay.")
        return 0
    print("That address was not mapped for this therapist; nothing changed.")
    return 0


def print_message_report(report: MessageReport) -> None:
    """What importing a mailbox or chat export did, in lines for the terminal."""
    verb = "would import" if report.dry_run else "imported"
    print(
        f"{report.file}: {report.describe()}. {verb.capitalize()} "
        f"{report.describe_import()}, {report.duplicates:,} already stored, "
        f"{report.rejected:,} not readable"
        + (f" (batch {report.batch_id})." if report.batch_id else ".")
    )
    for note in report.notes:
        print(f"  {note}")
    if report.left_out:
        print(
            "  Left out: "
            + "; ".join(f"{reason}: {count:,}" for reason, count in report.left_out.items())
            + "."
        )
    if report.repeated:
        print(f"  {report.repeated:,} messages appear twice in the file and count once.")
    for error in report.errors[:20]:
        print(f"  message {error.row}: {error.message}")
    if report.unmatched:
        print(
            f"  Addresses mapped to no client ({len(report.unmatched):,}); their messages were "
            "not stored (map them with `contactload addresses map ADDRESS CLIENT`, then "
            "import the file again):"
        )
        for item in report.unmatched[:50]:
            print(f"    {item.address}: {item.messages:,} messages")
