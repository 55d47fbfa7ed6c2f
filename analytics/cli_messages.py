"""``contactload addresses list|map|unmap`` and the import report of mailboxes and chats.

E-mail addresses and WhatsApp chat names reach a client only through a mapping, as phone
numbers do (``contactload phones``): ``addresses map ADDRESS CLIENT --therapist NAME``
stores a keyed hash of the address (an @ makes it an e-mail address, else it is a chat or
a chat member's name), never the address. analytics/cli.py registers the command.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from analytics.cli_commands import cli_scope, command_database, keys_option, shown_client

if TYPE_CHECKING:
    from analytics.importing.conversations import MessageReport


def add_addresses_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    db_option: argparse.ArgumentParser,
) -> None:
    """The ``addresses`` command and its actions."""
    addresses = commands.add_parser(
        "addresses",
        help="list, map or unmap the e-mail addresses and WhatsApp chat names of clients",
    )
    actions = addresses.add_subparsers(dest="action", required=True, metavar="ACTION")
    whose = argparse.ArgumentParser(add_help=False)
    whose.add_argument("--therapist", default=None, help="whose mailbox or chats (required)")
    whose.add_argument("--practice", default=None, help="the therapist's practice")
    listing = actions.add_parser(
        "list", parents=[db_option, keys_option()], help="the mapped addresses (hints) and clients"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    mapping = actions.add_parser(
        "map", parents=[db_option, whose], help="map an address or chat name to a client"
    )
    mapping.add_argument("address", metavar="ADDRESS", help="an e-mail address or a chat name")
    mapping.add_argument("client", metavar="CLIENT", help="the client's label (new or known)")
    mapping.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone when the therapist is new (default: this machine's)",
    )
    unmapping = actions.add_parser(
        "unmap", parents=[db_option, whose], help="forget an address's or chat's mapping"
    )
    unmapping.add_argument("address", metavar="ADDRESS")


def run_addresses(args: argparse.Namespace) -> int:
    """``contactload addresses list|map|unmap``."""
    from analytics.importing.addresses import (
        list_address_mappings,
        map_address,
        unmap_address,
    )
    from analytics.importing.pipeline import local_time_zone

    db = command_database(args, create=args.action == "map")
    scope = cli_scope()
    if args.action == "list":
        table = list_address_mappings(db, scope)
        if args.json:
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
            print(json.dumps(rows, indent=2))
            return 0
        if table.empty:
            print(
                "No addresses mapped yet; import a mailbox or chat export to see its "
                "addresses, then map them with `contactload addresses map ADDRESS CLIENT`."
            )
            return 0
        shown = table.assign(client=shown_client(table, args.keys))
        print(
            shown[["therapist", "practice", "kind", "address_hint", "client"]].to_string(
                index=False
            )
        )
        return 0
    therapist = args.therapist or ""
    if args.action == "map":
        mapping = map_address(
            db, scope, therapist, args.address, args.client, practice=args.practice,
            time_zone=args.time_zone or local_time_zone(),
        )  # fmt: skip
        new = " (new client)" if mapping.created_client else ""
        print(
            f"{'Address' if mapping.kind == 'email' else 'Chat'} {mapping.address_hint} mapped "
            f"to {args.client.strip()}{new}; import the file again to add its messages."
        )
        return 0
    if unmap_address(db, scope, therapist, args.address, practice=args.practice):
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
