"""The dashboard's pages, in menu order: the single registry app.py navigates from."""

from typing import NamedTuple


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
)
