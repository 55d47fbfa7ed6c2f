"""Local and team mode: the server's address rule, and under AppTest the sign-in page, the
signed-in sidebar (who, role, only one's own choices), the no-role message, sign-out and
the audit entries they leave.

The demo data (analytics/demo.py) has Northside Psychology (Dana Whitfield, Marcus Ortega,
Priya Raman, Elena Brooks), Lindenhof Praxis and Southern Cross Therapy, four therapists
each.
"""

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.roles import RolesFileError
from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.storage.audit import entries
from analytics.storage.database import Database
from ui.auth import AUDIT_FAILED, NO_AUTH, roles_path
from ui.navigation import PAGES, visible_pages
from ui.serve import server_arguments

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")

ROLES = """
[users."dana@northside.example"]
role = "therapist"
therapist = "Dana Whitfield"

[users."lee@northside.example"]
role = "supervisor"
practices = ["Northside Psychology"]

[users."it@northside.example"]
role = "admin"

[users."gone@northside.example"]
role = "therapist"
therapist = "Someone Who Left"
"""

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a long random secret for tests only",
    "client_id": "contactload",
    "client_secret": "test-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


# --- the server's address rule ---------------------------------------------------------


def test_local_mode_is_pinned_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTLOAD_ROLES", raising=False)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    assert server_arguments(["--server.port", "8502", "--", "--db", "x.duckdb"]) == [
        "--server.port",
        "8502",
        "--server.address",
        "127.0.0.1",
        "--",
        "--db",
        "x.duckdb",
    ]
    assert server_arguments(["--server.address", "127.0.0.1"])[-1] == "127.0.0.1"


@pytest.mark.parametrize(
    ("argv", "environment", "address"),
    [
        (["--server.address", "0.0.0.0"], None, "0.0.0.0"),
        (["--server.address=192.168.1.20", "--", "--db", "x.duckdb"], None, "192.168.1.20"),
        ([], "0.0.0.0", "0.0.0.0"),
    ],
)
def test_local_mode_refuses_another_address(
    argv: list[str], environment: str | None, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTLOAD_ROLES", raising=False)
    if environment:
        monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", environment)
    else:
        monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    with pytest.raises(ContactLoadError) as caught:
        server_arguments(argv)
    assert str(caught.value) == (
        f"Local mode serves on 127.0.0.1 only, not {address}; give a roles file "
        "(-- --roles PATH) for team mode with sign-in to serve on another address."
    )


def test_team_mode_may_serve_elsewhere_with_a_valid_roles_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTLOAD_ROLES", raising=False)
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES, encoding="utf-8")
    argv = ["--server.address", "0.0.0.0", "--", "--roles", str(roles)]
    assert server_arguments(argv) == argv
    # The same through the environment.
    monkeypatch.setenv("CONTACTLOAD_ROLES", str(roles))
    assert server_arguments(["--server.address", "0.0.0.0"]) == ["--server.address", "0.0.0.0"]
    assert roles_path([]) == roles


def test_team_mode_refuses_a_broken_roles_file_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTLOAD_ROLES", raising=False)
    roles = tmp_path / "roles.toml"
    roles.write_text('[users."a@x.example"]\nrole = "owner"\n', encoding="utf-8")
    with pytest.raises(RolesFileError, match="has the unknown role 'owner'"):
        server_arguments(["--", "--roles", str(roles)])


def test_import_and_data_care_are_shown_to_local_mode_and_admins_only() -> None:
    everything = [page.url_path for page in PAGES]
    assert [page.url_path for page in visible_pages(LOCAL)] == everything
    assert [page.url_path for page in visible_pages(Scope.admin("a"))] == everything
    for scope in (Scope.supervisor("s", (1,)), Scope.therapist("t", (1,))):
        shown = [page.url_path for page in visible_pages(scope)]
        assert "import" not in shown and "data-care" not in shown
        assert len(shown) == len(everything) - 2


# --- team mode under AppTest -----------------------------------------------------------


@pytest.fixture
def team(demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo data and a roles file, in team mode; the copy's path."""
    db_path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, db_path)
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES, encoding="utf-8")
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    monkeypatch.setenv("CONTACTLOAD_ROLES", str(roles))
    return db_path


ISSUER = "https://id.northside.example"


def verified(email: str) -> dict[str, object]:
    """The claims of a sign-in whose provider vouches for the e-mail address."""
    return {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": f"sub-{email.lower()}",
        "email": email,
        "email_verified": True,
    }


def team_app(user: dict[str, object], *, auth: bool = True) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    if auth:
        app.secrets["auth"] = AUTH
    app.user = user
    app.run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def sidebar_options(app: AppTest, label: str) -> list[str]:
    widget = next(w for w in app.sidebar.multiselect if w.label == label)
    return list(widget.options)


def audit_rows(db_path: Path) -> list[tuple[str, str, str]]:
    """(identity, role, action) of every sign-in and sign-out entry, oldest first (making
    the demo data was audited too, as the local user's import and boundary edits)."""
    db = Database(db_path)
    try:
        frame = entries(db, LOCAL)
    finally:
        db.close()
    rows = zip(frame["identity"], frame["role"], frame["action"], strict=True)
    signs = [(str(i), str(r), str(a)) for i, r, a in rows if a in ("sign_in", "sign_out")]
    return signs[::-1]


def data_version(db_path: Path) -> int:
    db = Database(db_path)
    try:
        return db.data_version()
    finally:
        db.close()


def test_not_signed_in_sees_only_the_sign_in_button(team: Path) -> None:
    app = team_app({"is_logged_in": False})
    assert [button.label for button in app.button] == ["Sign in"]
    assert len(app.sidebar.multiselect) == 0
    assert len(app.metric) == 0
    assert audit_rows(team) == []


def test_team_mode_without_auth_secrets_says_what_to_add(team: Path) -> None:
    app = team_app(verified("it@northside.example"), auth=False)
    assert [error.value for error in app.error] == [NO_AUTH]
    assert len(app.metric) == 0


def test_a_therapist_sees_their_own_choices_and_is_audited_once(team: Path) -> None:
    version = data_version(team)
    app = team_app(verified("Dana@Northside.example"))
    sidebar_text = " ".join(str(markdown.value) for markdown in app.sidebar.markdown)
    assert "Dana@Northside.example" in sidebar_text
    assert "Therapist" in sidebar_text
    assert [button.label for button in app.sidebar.button] == ["Sign out"]
    # Only Dana Whitfield in the therapist filter, only her practice.
    therapists = sidebar_options(app, "Therapists")
    assert therapists == ["Dana Whitfield (America/New_York)"]
    assert sidebar_options(app, "Practices") == ["Northside Psychology"]
    db = Database(team)
    try:
        own = db.frame(
            "SELECT k.label FROM clients k JOIN therapists t USING (therapist_id) "
            "WHERE t.name = 'Dana Whitfield' ORDER BY k.label",
            [],
        )
    finally:
        db.close()
    assert sorted(sidebar_options(app, "Clients")) == sorted(own["label"])
    # The demo gives Dana about a twelfth of 150 clients: some, but far from all.
    assert 0 < len(own) < 50
    app.run()  # a rerun in the same browser session is not a second sign-in
    assert audit_rows(team) == [("Dana@Northside.example", "therapist", "sign_in")]
    # Signing in changes no figure, so cached measures stay valid.
    assert data_version(team) == version


def test_a_supervisor_picks_clients_by_key_not_label(team: Path) -> None:
    app = team_app(verified("lee@northside.example"))
    assert sidebar_options(app, "Practices") == ["Northside Psychology"]
    assert len(sidebar_options(app, "Therapists")) == 4
    clients = sidebar_options(app, "Clients")
    assert clients
    assert all(option.startswith("c-") for option in clients), clients[:3]


def test_an_unknown_identity_sees_the_message_and_nothing_else(team: Path) -> None:
    app = team_app(verified("stranger@example.org"))
    assert [warning.value for warning in app.warning] == [
        "You are signed in as stranger@example.org, but no role is set for you; ask an admin."
    ]
    assert len(app.metric) == 0
    assert len(app.sidebar.multiselect) == 0
    assert [button.label for button in app.button] == ["Sign out"]
    app.button(key="sign_out").click().run()
    assert not app.exception
    # Signed out: the next run (the browser's redirect) is the sign-in page, and both ends
    # are in the audit log.
    app.run()
    assert [button.label for button in app.button] == ["Sign in"]
    assert audit_rows(team) == [
        ("stranger@example.org", "none", "sign_in"),
        ("stranger@example.org", "none", "sign_out"),
    ]


def test_a_listed_identity_whose_names_match_nothing_sees_no_data(team: Path) -> None:
    app = team_app(verified("gone@northside.example"))
    assert [warning.value for warning in app.warning] == [
        "You are signed in as gone@northside.example, but your role names a therapist or "
        "practice this database does not hold; ask an admin to correct the roles file."
    ]
    assert len(app.metric) == 0
    assert len(app.sidebar.multiselect) == 0


def test_an_unverified_e_mail_is_not_an_identity(team: Path) -> None:
    # The provider says it never checked this address: only its subject id counts, and
    # the roles file does not list that.
    app = team_app(
        {
            "is_logged_in": True,
            "email": "it@northside.example",
            "email_verified": False,
            "sub": "4711",
        }
    )
    assert [warning.value for warning in app.warning] == [
        "You are signed in as 4711, but no role is set for you; ask an admin."
    ]
    assert len(app.metric) == 0


def test_an_admin_sees_everything_and_the_import_page(team: Path) -> None:
    app = team_app(verified("it@northside.example"))
    assert len(sidebar_options(app, "Practices")) == 3
    assert len(sidebar_options(app, "Therapists")) == 12
    # Labels, not keys, for admins.
    assert not any(option.startswith("c-") for option in sidebar_options(app, "Clients"))
    app.switch_page("pages/import_data.py").run()
    assert not app.exception
    assert app.title[0].value == "Import contacts and sessions"


def test_a_broken_roles_file_while_running_is_one_sentence(team: Path) -> None:
    Path(os.environ["CONTACTLOAD_ROLES"]).write_text(
        '[users."it@northside.example"]\nrole = "owner"\n', encoding="utf-8"
    )
    app = team_app(verified("it@northside.example"))
    assert len(app.error) == 1
    assert "has the unknown role 'owner'; use one of admin, supervisor, therapist." in str(
        app.error[0].value
    )
    assert len(app.metric) == 0


def test_a_therapist_cannot_open_the_import_page(team: Path) -> None:
    app = team_app(verified("dana@northside.example"))
    # The app never registers Import for a therapist, so there is no page to switch to.
    with pytest.raises(Exception, match="Could not find a navigation page"):
        app.switch_page("pages/import_data.py")


# --- who someone is: only what the provider vouches for --------------------------------


def audit_signs(db_path: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(identity, role, issuer, subject) of every sign-in entry, oldest first."""
    db = Database(db_path)
    try:
        frame = db.frame(
            "SELECT identity, role, issuer, subject FROM audit_log WHERE action = 'sign_in' "
            "ORDER BY entry_id",
            [],
        )
    finally:
        db.close()
    return list(frame.itertuples(index=False, name=None))


@pytest.mark.parametrize(
    "email_verified",
    ["missing", "False", "false", "true", "True", 1, 0, None],
    ids=lambda value: repr(value),
)
def test_an_e_mail_the_provider_does_not_vouch_for_is_not_an_identity(
    team: Path, email_verified: object
) -> None:
    # An attacker's account at the provider states the admin's address: without the
    # boolean true, only the provider's subject id counts, and the file does not list it.
    claims: dict[str, object] = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": "attacker-1",
        "email": "it@northside.example",
    }
    if email_verified != "missing":
        claims["email_verified"] = email_verified
    app = team_app(claims)
    assert [warning.value for warning in app.warning] == [
        "You are signed in as attacker-1, but no role is set for you; ask an admin."
    ]
    assert len(app.metric) == 0
    assert len(app.sidebar.multiselect) == 0
    # The log tells the attempt from the admin: the subject, not the address.
    assert audit_signs(team) == [("attacker-1", "none", ISSUER, "attacker-1")]


def test_a_verified_e_mail_signs_in_and_the_log_names_issuer_and_subject(team: Path) -> None:
    app = team_app(verified("it@northside.example"))
    assert len(sidebar_options(app, "Practices")) == 3
    assert audit_signs(team) == [
        ("it@northside.example", "admin", ISSUER, "sub-it@northside.example")
    ]


def roles_with(team: Path, extra: str) -> None:
    roles = Path(os.environ["CONTACTLOAD_ROLES"])
    roles.write_text(ROLES + extra, encoding="utf-8")


def test_a_tenant_that_verifies_its_addresses_is_trusted_without_the_claim(team: Path) -> None:
    # Microsoft Entra ID sends no email_verified; the roles file says this tenant's
    # addresses are its own.
    roles_with(team, f'\n[issuers."{ISSUER}"]\nemails_verified = true\n')
    claims = {"is_logged_in": True, "iss": ISSUER, "sub": "x1", "email": "lee@northside.example"}
    app = team_app(claims)
    assert sidebar_options(app, "Practices") == ["Northside Psychology"]
    # Another provider stating the same address is not trusted.
    other = {**claims, "iss": "https://elsewhere.example", "sub": "x2"}
    app = team_app(other)
    assert [warning.value for warning in app.warning] == [
        "You are signed in as x2, but no role is set for you; ask an admin."
    ]


def test_an_entry_may_name_the_provider_subject_entra_object_id_included(team: Path) -> None:
    entra = "https://login.microsoftonline.com/0b5c2f4e-tenant/v2.0"
    roles_with(
        team,
        f'\n[users."jo@northside.example"]\nrole = "therapist"\ntherapist = "Dana Whitfield"\n'
        f'issuer = "{entra}"\nsubject = "6f1d2c3b-oid"\n',
    )
    # No e-mail claim at all, a pairwise sub, and the tenant-wide object id.
    claims = {"is_logged_in": True, "iss": entra, "sub": "pairwise-77", "oid": "6f1d2c3b-oid"}
    app = team_app(claims)
    assert sidebar_options(app, "Therapists") == ["Dana Whitfield (America/New_York)"]
    # The same subject from another issuer is someone else.
    app = team_app({**claims, "iss": "https://elsewhere.example"})
    assert len(app.warning) == 1 and len(app.metric) == 0
    assert audit_signs(team) == [
        ("pairwise-77", "therapist", entra, "pairwise-77"),
        ("pairwise-77", "none", "https://elsewhere.example", "pairwise-77"),
    ]


# --- a sign-in the audit log cannot record ---------------------------------------------

FULL_DISK_SIGN_IN = """
import json, resource, signal, sys
from streamlit.testing.v1 import AppTest
from tests.test_auth import APP, AUTH, verified

app = AppTest.from_file(APP, default_timeout=60)
app.secrets["auth"] = AUTH
app.user = verified("it@northside.example")
# From here on no file may grow (a full disk): the audit entry cannot be written.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
app.run()
print(json.dumps({
    "exceptions": [exception.message for exception in app.exception],
    "errors": [error.value for error in app.error],
    "metrics": len(app.metric),
    "filters": len(app.sidebar.multiselect),
}))
"""


def test_a_sign_in_the_audit_log_cannot_record_is_refused_in_one_sentence(team: Path) -> None:
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SIGN_IN],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    # Fails closed: one sentence, no traceback, nothing of the dashboard.
    assert shown == {"exceptions": [], "errors": [AUDIT_FAILED], "metrics": 0, "filters": 0}
    # The admin's log (the server's stderr) says why.
    assert "Traceback" not in result.stderr
    logged = [line for line in result.stderr.splitlines() if "could not record" in line]
    assert len(logged) == 1, result.stderr
    assert (
        f"The audit log in {team} could not record the sign-in of it@northside.example "
        f"(issuer {ISSUER}, subject sub-it@northside.example): "
    ) in logged[0]
    assert "File too large" in logged[0]
    assert audit_rows(team) == []
