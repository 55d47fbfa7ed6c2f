"""The roles file: every mistake is one sentence, and names resolve to the right ids in SQL.

The fixture database (tests/data/fixture_contacts.csv) holds Harbor Counseling (Dana Reyes,
Sam Okafor) and Lindenhof Praxis (Jonas Weber).
"""

from pathlib import Path

import pandas as pd
import pytest

from analytics.access.roles import (
    RoleEntry,
    Roles,
    RolesFileError,
    SignIn,
    load_roles,
    parse_roles,
    scope_for,
)
from analytics.access.scope import Scope
from analytics.storage.database import Database
from analytics.storage.sql import FALSE, query
from analytics.storage.store import add_contacts

ROOT = Path(__file__).resolve().parent.parent

ROLES_TOML = """
[users."Dana@Harbor.example"]
role = "therapist"
therapist = "Dana Reyes"

[users."jonas@lindenhof.example"]
role = "therapist"
therapist = "Jonas Weber"
practice = "Lindenhof Praxis"

[users."lee@harbor.example"]
role = "supervisor"
practices = ["Harbor Counseling", "Lindenhof Praxis"]

[users."it@harbor.example"]
role = "admin"

[users."auth0|4711"]
role = "supervisor"
practices = ["Harbor Counseling"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ids(db: Database, table: str, names: list[str]) -> tuple[int, ...]:
    """Ids looked up independently of roles.py, by exact stored name."""
    column = "practice_id" if table == "practices" else "therapist_id"
    frame = db.frame(
        f"SELECT {column} AS id FROM {table} WHERE list_contains(?, name) ORDER BY id", [names]
    )
    return tuple(int(value) for value in frame["id"])


def test_load_roles_reads_every_entry(tmp_path: Path) -> None:
    roles = load_roles(write(tmp_path, ROLES_TOML))
    assert roles.entries == (
        RoleEntry("dana@harbor.example", "therapist", therapist="Dana Reyes"),
        RoleEntry(
            "jonas@lindenhof.example",
            "therapist",
            therapist="Jonas Weber",
            practice="Lindenhof Praxis",
        ),
        RoleEntry(
            "lee@harbor.example",
            "supervisor",
            practices=("Harbor Counseling", "Lindenhof Praxis"),
        ),
        RoleEntry("it@harbor.example", "admin"),
        RoleEntry("auth0|4711", "supervisor", practices=("Harbor Counseling",)),
    )


def test_e_mail_identities_match_whatever_their_case_but_subjects_exactly(
    tmp_path: Path,
) -> None:
    roles = load_roles(write(tmp_path, ROLES_TOML))
    assert roles.find("DANA@harbor.EXAMPLE") is not None
    assert roles.find(" it@harbor.example ") is not None
    assert roles.find("auth0|4711") is not None
    assert roles.find("AUTH0|4711") is None
    assert roles.find("someone@else.example") is None


def test_the_example_roles_file_in_docs_is_valid() -> None:
    roles = load_roles(ROOT / "docs" / "roles.example.toml")
    assert {entry.role for entry in roles.entries} == {"admin", "supervisor", "therapist"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[users."a@x.example"]\nrole = "owner"\n',
            "a@x.example in roles.toml has the unknown role 'owner'; "
            "use one of admin, supervisor, therapist.",
        ),
        (
            '[users."a@x.example"]\nrole = "admin"\npractices = ["P"]\n',
            "a@x.example in roles.toml has the unknown key 'practices' for a admin; "
            "a admin takes only role, issuer, subject.",
        ),
        (
            '[users."a@x.example"]\nrole = "therapist"\ntherapist = "T"\npractise = "P"\n',
            "a@x.example in roles.toml has the unknown key 'practise' for a therapist; "
            "a therapist takes only role, therapist, practice, issuer, subject.",
        ),
        (
            '[users."a@x.example"]\ntherapist = "T"\n',
            "a@x.example in roles.toml has no role; set role to one of admin, supervisor, "
            "therapist.",
        ),
        (
            '[users."a@x.example"]\nrole = "therapist"\n',
            "a@x.example in roles.toml is a therapist but names none; "
            'set therapist = "their name as stored".',
        ),
        (
            '[users."a@x.example"]\nrole = "supervisor"\npractices = []\n',
            "a@x.example in roles.toml is a supervisor without practices; "
            'set practices = ["a practice name", ...].',
        ),
        (
            '[users."a@x.example"]\nrole = "supervisor"\npractices = "Harbor"\n',
            "a@x.example in roles.toml is a supervisor without practices; "
            'set practices = ["a practice name", ...].',
        ),
        (
            '[people."a@x.example"]\nrole = "admin"\n',
            "Unknown section 'people' in roles.toml; "
            'put every person under [users."their e-mail"].',
        ),
        (
            '[users]\n"a@x.example" = "admin"\n',
            'In roles.toml, a@x.example must be a table ([users."a@x.example"]) with a role.',
        ),
        (
            '[users."A@x.example"]\nrole = "admin"\n[users."a@x.example"]\nrole = "admin"\n',
            "a@x.example appears twice in roles.toml; keep one entry.",
        ),
        (
            '[users."auth0|1"]\nrole = "admin"\nsubject = "auth0|2"\n',
            "auth0|1 in roles.toml is a subject id already; give subject only in an entry "
            "keyed by an e-mail address.",
        ),
        (
            '[users."a@x.example"]\nrole = "admin"\nsubject = ""\n',
            "a@x.example in roles.toml has an empty or non-text subject.",
        ),
        (
            '[users."a@x.example"]\nrole = "admin"\nsubject = "s1"\n'
            '[users."b@x.example"]\nrole = "admin"\nsubject = "s1"\n',
            "The subject s1 appears twice in roles.toml; keep one.",
        ),
        (
            '[issuers."https://id.example"]\nemails_verified = "true"\n',
            '[issuers."https://id.example"] in roles.toml needs emails_verified = true or false.',
        ),
        (
            '[issuers."https://id.example"]\ntrust = true\n',
            "[issuers.\"https://id.example\"] in roles.toml has the unknown key 'trust'; it "
            "takes only emails_verified.",
        ),
    ],
)
def test_mistakes_are_one_sentence(text: str, message: str) -> None:
    with pytest.raises(RolesFileError) as caught:
        parse_roles(_toml(text), "roles.toml")
    assert str(caught.value) == message


def _toml(text: str) -> dict[str, object]:
    import tomllib

    return tomllib.loads(text)


def test_a_missing_or_broken_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(RolesFileError, match=r"does not exist; give the path"):
        load_roles(tmp_path / "nowhere.toml")
    with pytest.raises(RolesFileError, match=r"is not valid TOML"):
        load_roles(write(tmp_path, "[users\nrole ="))


def test_scope_for_resolves_names_to_ids(fixture_db: Database, tmp_path: Path) -> None:
    roles = load_roles(write(tmp_path, ROLES_TOML))
    # Dana Reyes is the only therapist of that name: her own id, nothing else.
    assert scope_for(fixture_db, roles, "dana@harbor.example") == Scope.therapist(
        "dana@harbor.example", ids(fixture_db, "therapists", ["Dana Reyes"])
    )
    assert scope_for(fixture_db, roles, "jonas@lindenhof.example") == Scope.therapist(
        "jonas@lindenhof.example", ids(fixture_db, "therapists", ["Jonas Weber"])
    )
    # Two practices listed: both ids (the fixture stores exactly these two).
    supervisor = scope_for(fixture_db, roles, "lee@harbor.example")
    assert supervisor == Scope.supervisor(
        "lee@harbor.example",
        ids(fixture_db, "practices", ["Harbor Counseling", "Lindenhof Praxis"]),
    )
    assert len(supervisor.practice_ids or ()) == 2
    assert scope_for(fixture_db, roles, "it@harbor.example") == Scope.admin("it@harbor.example")
    assert scope_for(fixture_db, roles, "auth0|4711").practice_ids == ids(
        fixture_db, "practices", ["Harbor Counseling"]
    )


def test_unknown_identities_and_names_see_nothing(fixture_db: Database) -> None:
    roles = Roles(
        (
            RoleEntry("ghost@x.example", "therapist", therapist="Nobody Here"),
            RoleEntry("wrong@x.example", "therapist", therapist="Dana Reyes", practice="Elsewhere"),
            RoleEntry("half@x.example", "supervisor", practices=("Harbor Counseling", "Nope")),
        )
    )
    for identity in ("stranger@x.example", "ghost@x.example", "wrong@x.example", "half@x.example"):
        scope = scope_for(fixture_db, roles, identity)
        assert scope == Scope.nobody(identity)
        assert scope.sees_nothing
        assert scope.fragment("c") == FALSE


def test_a_therapist_name_two_practices_share_needs_the_practice(fixture_db: Database) -> None:
    # A second Dana Reyes, in Lindenhof Praxis.
    add_contacts(
        fixture_db,
        pd.DataFrame(
            {
                "practice": ["Lindenhof Praxis"],
                "therapist": ["Dana Reyes"],
                "time_zone": ["Europe/Berlin"],
                "client": ["Hanna"],
                "started_at": ["2026-03-03T09:00:00+01:00"],
                "minutes": ["10"],
                "channel": ["email"],
                "category": ["scheduling"],
                "direction": ["client"],
            }
        ),
        source="fixture",
        file_name="second_dana.csv",
    )
    ambiguous = RoleEntry("dana@x.example", "therapist", therapist="Dana Reyes")
    assert scope_for(fixture_db, Roles((ambiguous,)), "dana@x.example").sees_nothing
    named = RoleEntry(
        "dana@x.example", "therapist", therapist="Dana Reyes", practice="Lindenhof Praxis"
    )
    lindenhof_dana = fixture_db.frame(
        "SELECT t.therapist_id FROM therapists t JOIN practices p USING (practice_id) "
        "WHERE t.name = 'Dana Reyes' AND p.name = 'Lindenhof Praxis'",
        [],
    )
    assert scope_for(fixture_db, Roles((named,)), "dana@x.example").therapist_ids == (
        int(lindenhof_dana["therapist_id"].iloc[0]),
    )


def test_a_therapist_scope_keeps_only_their_contacts(fixture_db: Database) -> None:
    roles = Roles((RoleEntry("sam@x.example", "therapist", therapist="Sam Okafor"),))
    scope = scope_for(fixture_db, roles, "sam@x.example")
    clients = fixture_db.frame(
        query(
            "SELECT DISTINCT k.label FROM contacts AS c JOIN clients AS k USING (client_id) "
            "WHERE {where} ORDER BY k.label",
            where=scope.fragment("c"),
        )
    )
    # By hand from fixture_contacts.csv: Sam Okafor's clients are Drew (4 contacts) and
    # Emery (2); nobody else's.
    assert list(clients["label"]) == ["Drew", "Emery"]


def test_a_sign_in_trusts_an_e_mail_only_when_the_provider_or_the_file_vouches(
    tmp_path: Path,
) -> None:
    roles = load_roles(
        write(
            tmp_path,
            ROLES_TOML
            + '[issuers."https://tenant.example"]\nemails_verified = true\n'
            + '[issuers."https://other.example"]\nemails_verified = false\n',
        )
    )
    assert roles.email_issuers == frozenset({"https://tenant.example"})
    admin = {"iss": "https://id.example", "sub": "s-9", "email": "IT@harbor.example"}
    cases = [
        ({**admin, "email_verified": True}, "it@harbor.example"),
        (admin, None),
        ({**admin, "email_verified": "true"}, None),
        ({**admin, "email_verified": "False"}, None),
        ({**admin, "email_verified": 1}, None),
        ({**admin, "iss": "https://tenant.example"}, "it@harbor.example"),
        ({**admin, "iss": "https://other.example"}, None),
        # a subject the file names matches whatever the e-mail says
        ({"iss": "https://id.example", "sub": "auth0|4711", "email": "x@y.example"}, "auth0|4711"),
    ]
    for claims, entry in cases:
        sign_in = SignIn.from_claims(claims)
        found = roles.match(sign_in)
        assert (found.identity if found else None) == entry, claims
    unverified = SignIn.from_claims(admin)
    assert roles.identity_of(unverified) == "s-9"
    assert SignIn.from_claims({"sub": " ", "oid": "o-1"}).subject == "o-1"


def test_scope_for_a_sign_in_carries_issuer_and_subject(
    fixture_db: Database, tmp_path: Path
) -> None:
    roles = load_roles(write(tmp_path, ROLES_TOML))
    sign_in = SignIn.from_claims(
        {
            "iss": "https://id.example",
            "sub": "s-1",
            "email": "it@harbor.example",
            "email_verified": True,
        }
    )
    assert scope_for(fixture_db, roles, sign_in) == Scope(
        role="admin", identity="it@harbor.example", issuer="https://id.example", subject="s-1"
    )
