"""The dashboard's pages, in menu order: the single registry app.py navigates from."""

from typing import NamedTuple

from analytics.access.scope import Scope


class PageSpec(NamedTuple):
    """One page: its script, menu title, icon and URL path."""

    path: str
    title: str
    icon: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    PageSpec("pages/clients.py", "Clients", ":material/groups:", "clients"),
    PageSpec("pages/channels.py", "Channels & categories", ":material/forum:", "channels"),
    PageSpec("pages/compare.py", "Compare", ":material/compare_arrows:", "compare"),
    PageSpec("pages/boundaries.py", "Boundaries", ":material/rule:", "boundaries"),
    PageSpec("pages/billing.py", "Billing", ":material/receipt_long:", "billing"),
    PageSpec("pages/import_data.py", "Import", ":material/upload_file:", "import"),
    PageSpec("pages/data_care.py", "Data care", ":material/shield_lock:", "data-care"),
)

ADMIN_ONLY = frozenset({"import", "data-care"})
"""Pages (by url_path) that change everyone's data: shown to local mode and admins only."""


def visible_pages(scope: Scope) -> tuple[PageSpec, ...]:
    """The pages this viewer may open; the library refuses the actions anyway."""
    return tuple(page for page in PAGES if page.url_path not in ADMIN_ONLY or scope.may_import)
