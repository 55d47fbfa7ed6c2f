"""Who is looking on this run: the viewer's ``Scope`` as the session state holds it.

``ui.auth.settle_viewer_scope`` (called once per run by app.py) decides the scope, with
sign-in in team mode, and leaves it under ``VIEWER_SCOPE_KEY``; everything drawn after it
reads it back with ``current_viewer_scope``. Both ``ui.state`` and ``ui.auth`` need this,
so it lives here, importing neither.
"""

import streamlit as st

from analytics.access.roles import roles_path
from analytics.access.scope import Scope, local_user

VIEWER_SCOPE_KEY = "viewer_scope"
"""Where the viewer's ``Scope`` is kept in the session state (tests of narrower views put
one there beforehand; nothing a browser sends can)."""


def current_viewer_scope() -> Scope:
    """The scope ``settle_viewer_scope`` settled on this run: local mode's user, the
    signed-in person's scope in team mode, or nobody before sign-in."""
    value = st.session_state.get(VIEWER_SCOPE_KEY)
    if isinstance(value, Scope):
        return value
    return local_user() if roles_path() is None else Scope.nobody("not signed in")
