"""Who is looking: local mode's single user, or a signed-in team member and their scope.

Local mode (the default) has no sign-in: one person on this machine sees everything and
the server listens on 127.0.0.1 only (ui/serve.py refuses anything else). Team mode is on
when a roles file is given (``-- --roles PATH`` or $CONTACTLOAD_ROLES); people then sign
in with OpenID Connect through ``st.login`` (the ``[auth]`` section of
``.streamlit/secrets.toml``), and the roles file turns their identity into a ``Scope``
that every measure applies in SQL. Pages never decide what someone may see; they pass the
scope on.
"""

import logging
from pathlib import Path

import duckdb
import streamlit as st

from analytics.access.roles import Roles, SignIn, load_roles, roles_path, scope_for
from analytics.access.scope import Scope, local_user
from analytics.errors import ContactLoadError
from analytics.storage import audit
from analytics.storage.database import Database, first_line
from ui.state import database
from ui.viewer import VIEWER_SCOPE_KEY

log = logging.getLogger("contactload.auth")
"""The admin's log (the server's stderr): why a sign-in was refused."""

AUDITED_STATE_KEY = "audited_sign_in"

ROLE_NAMES = {
    "local": "Local mode",
    "admin": "Admin",
    "supervisor": "Supervisor",
    "therapist": "Therapist",
    "none": "No role",
}

NO_ROLE = "You are signed in as {identity}, but no role is set for you; ask an admin."
UNRESOLVED_ROLE = (
    "You are signed in as {identity}, but your role names a therapist or practice this "
    "database does not hold; ask an admin to correct the roles file."
)
AUDIT_FAILED = (
    "Signing in is refused for now because it could not be recorded in the audit log; "
    "ask an admin (the server's log says why)."
)
NO_AUTH = (
    "Team mode needs sign-in: add an [auth] section (redirect_uri, cookie_secret, "
    "client_id, client_secret, server_metadata_url) to .streamlit/secrets.toml, or start "
    "without --roles for local mode."
)


def team_mode() -> bool:
    """True when a roles file is configured."""
    return roles_path() is not None


def auth_configured() -> bool:
    """Whether the secrets hold an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        # No secrets file anywhere Streamlit looks.
        return False


@st.cache_data(show_spinner=False, max_entries=4)
def _roles(path: str, modified_ns: int) -> Roles:
    # Keyed by modification time, so an edited roles file applies on the next run.
    return load_roles(path)


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def current_roles(path: Path) -> Roles:
    """The roles file, read again whenever it changes."""
    return _roles(str(path.resolve()), _modified_ns(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _scope(
    _db: Database, db_path: str, version: int, _roles: Roles, roles_key: str, sign_in: SignIn
) -> Scope:
    # Names resolve again when stored data changes (a therapist imported after the roles
    # file was written) or the roles file does (roles_key carries its modification time).
    return scope_for(_db, _roles, sign_in)


def current_sign_in() -> SignIn:
    """What the identity provider's signed ID token says about the signed-in person.

    Its e-mail address identifies them only when the provider marks it verified (the
    boolean ``true``) or the roles file trusts the issuer's tenant (analytics.access.roles);
    otherwise only the provider's subject id counts, since anyone may type an address.
    """
    return SignIn.from_claims(st.user.to_dict())


def settle_viewer_scope() -> Scope:
    """Decide whose scope this run shows (sign-in first in team mode) and keep it in the
    session for ``ui.viewer.current_viewer_scope``.

    Stops the script (after drawing the sign-in page or the no-role message) unless the
    viewer may see the dashboard.
    """
    path = roles_path()
    if path is None:
        # Local mode: one user who sees everything, named by the OS account as on the
        # command line. (Tests of narrower views put a scope in the session state
        # beforehand; nothing a browser sends can.)
        stored = st.session_state.get(VIEWER_SCOPE_KEY)
        if isinstance(stored, Scope):
            return stored
        scope = local_user()
        st.session_state[VIEWER_SCOPE_KEY] = scope
        return scope
    if not auth_configured():
        st.error(NO_AUTH, icon=":material/lock:")
        st.stop()
    try:
        roles = current_roles(path)
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    if not st.user.get("is_logged_in"):
        sign_in_page()
        st.stop()
    sign_in = current_sign_in()
    db = database()
    if sign_in.subject:
        roles_key = f"{path.resolve()}@{_modified_ns(path)}"
        scope = _scope(db, str(db.path), db.data_version(), roles, roles_key, sign_in)
    else:
        scope = Scope.nobody("an account without a subject id")
    if st.session_state.get(AUDITED_STATE_KEY) != scope.identity:
        # Once per browser session (every new session after a sign-in starts here). No
        # entry, no entry: a sign-in the log cannot record is refused.
        st.session_state[VIEWER_SCOPE_KEY] = Scope.nobody(scope.identity)
        if not record_access(db, scope, "sign_in", f"as {scope.role}"):
            st.error(AUDIT_FAILED, icon=":material/error:")
            st.stop()
        st.session_state[AUDITED_STATE_KEY] = scope.identity
    st.session_state[VIEWER_SCOPE_KEY] = scope
    if scope.sees_nothing:
        no_role_page(scope, listed=roles.match(sign_in) is not None)
        st.stop()
    return scope


def record_access(db: Database, scope: Scope, action: str, detail: str = "") -> bool:
    """An audit entry for a sign-in or sign-out, on a cursor of its own; ``False`` (and
    the reason in the server's log) when it could not be written.

    Not in a ``db.transaction()``: that advances ``data_version``, and a sign-in changes
    no figure, so it must not expire every cached measure of every signed-in user.
    """
    try:
        with db.cursor() as cursor:
            audit.record(cursor, scope, action, detail)
    except (ContactLoadError, duckdb.Error) as error:
        log.error(
            "The audit log in %s could not record the %s of %s (issuer %s, subject %s): %s",
            db.path,
            action.replace("_", "-"),
            scope.identity,
            scope.issuer or "none",
            scope.subject or "none",
            first_line(error),
        )
        return False
    return True


def sign_in_page() -> None:
    """What team mode shows before sign-in: what this is, and one button."""
    st.title("Contact Load")
    st.write(
        "Time therapists spend with clients between sessions. This dashboard is shared by "
        "a team: sign in to see what your role allows."
    )
    if st.button("Sign in", key="sign_in", type="primary", icon=":material/login:"):
        st.login()


def no_role_page(scope: Scope, *, listed: bool) -> None:
    """An identity that may see nothing: one sentence and a way out, no data."""
    st.title("Contact Load")
    message = UNRESOLVED_ROLE if listed else NO_ROLE
    st.warning(message.format(identity=scope.identity), icon=":material/person_off:")
    sign_out_button(scope, sidebar=False)


def sign_out_button(scope: Scope, *, sidebar: bool) -> None:
    """Sign out (recorded in the audit log) and back to the sign-in page."""
    button = st.sidebar.button if sidebar else st.button
    if button("Sign out", key="sign_out", icon=":material/logout:"):
        record_access(database(), scope, "sign_out")  # signs out even if it cannot record
        st.session_state.pop(AUDITED_STATE_KEY, None)
        st.logout()
        st.stop()  # the browser is on its way out; draw nothing more


def signed_in_panel(scope: Scope) -> None:
    """Who is signed in, as what, and the sign-out button (team mode only)."""
    if scope.role == "local":
        return
    sidebar = st.sidebar
    sidebar.markdown(f"**{scope.identity}**  \n{ROLE_NAMES[scope.role]}")
    sign_out_button(scope, sidebar=True)
    sidebar.divider()
