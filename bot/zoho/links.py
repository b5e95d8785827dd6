"""Links into the Zoho apps' web pages (a CRM deal, a Books invoice, a Desk ticket), beside the API endpoints:
the same data centre decides both (`bot.zoho.endpoints.web_host`). Pure: builds strings, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot.zoho.endpoints import web_host

if TYPE_CHECKING:
    from bot.config import OperatingStructure, Settings

MAX_URL = 3000  # longer links are not shown (Slack's own limit for a URL in a message)


@dataclass(frozen=True)
class AppLinks:
    """Builds links into the Zoho apps; an empty base means "no link".

    crm_base: `https://crm.zoho.eu/crm` or org-specific `https://crm.zoho.com/crm/org123`.
    books_base: `https://books.zoho.com`; books_org_id is required for Books links.
    desk_base: `https://desk.zoho.com`; desk_portal (the portal name) is required for built Desk links,
    which are only a fallback for the `webUrl` Desk returns with each record.
    """

    crm_base: str = ""
    books_base: str = ""
    books_org_id: str = ""
    desk_base: str = ""
    desk_portal: str = ""

    @classmethod
    def for_dc(
        cls,
        dc: str = "com",
        *,
        crm_org: str = "",
        books_org_id: str = "",
        desk_portal: str = "",
        crm_url: str = "",
        books_url: str = "",
        desk_url: str = "",
    ) -> AppLinks:
        """The web addresses of data centre `dc` (hosts from `bot.zoho.endpoints.web_host`); a given
        `crm_url`/`books_url`/`desk_url` (an org-specific or proxied address) wins."""
        host = web_host(dc)
        crm = crm_url or f"https://crm.{host}/crm" + (f"/{crm_org}" if crm_org else "")
        return cls(
            crm, books_url or f"https://books.{host}", books_org_id, desk_url or f"https://desk.{host}", desk_portal
        )

    def crm_account(self, account_id: str) -> str | None:
        return _url(self.crm_base, f"/tab/Accounts/{quote(account_id, safe='')}") if account_id else None

    def crm_deal(self, deal_id: str) -> str | None:
        return _url(self.crm_base, f"/tab/Potentials/{quote(deal_id, safe='')}") if deal_id else None

    def books_customer(self, customer_id: str) -> str | None:
        return self._books(f"#/contacts/{quote(customer_id, safe='')}") if customer_id else None

    def books_invoice(self, invoice_id: str) -> str | None:
        return self._books(f"#/invoices/{quote(invoice_id, safe='')}") if invoice_id else None

    def desk_account(self, account_id: str, web_url: str = "") -> str | None:
        return _clean_url(web_url) or self._desk(f"accounts/details/{quote(account_id, safe='')}")

    def desk_ticket(self, ticket_id: str, web_url: str = "") -> str | None:
        return _clean_url(web_url) or self._desk(f"tickets/details/{quote(ticket_id, safe='')}")

    def _books(self, fragment: str) -> str | None:
        if not self.books_org_id:
            return None
        return _url(self.books_base, f"/app/{quote(self.books_org_id, safe='')}{fragment}")

    def _desk(self, path: str) -> str | None:
        if not self.desk_portal:
            return None
        return _url(self.desk_base, f"/agent/{quote(self.desk_portal, safe='')}/{path}")


def _clean_url(url: str) -> str | None:
    """A URL safe to show inside `<url|label>` markup (http(s), no spaces or markup characters), else None."""
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > MAX_URL or re.search(r"[\s<>|]", url):
        return None
    return url


def _url(base: str, path: str) -> str | None:
    return _clean_url(base.rstrip("/") + path) if base else None


def app_links(settings: Settings, structure: OperatingStructure) -> AppLinks:
    """The Zoho web links for this tenant: its data centre, or the addresses `[zoho]` gives."""
    z = structure.zoho
    return AppLinks.for_dc(
        settings.zoho_dc,
        books_org_id=settings.zoho_books_org_id,
        crm_url=z.crm_url,
        books_url=z.books_url,
        desk_url=z.desk_url,
    )
