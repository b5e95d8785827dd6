"""Zoho data centres: which accounts, API and Desk hosts serve a tenant, and the apps' web host (web_host).

One table, one place to fix when Zoho moves a host. Overrides (the sandbox, a proxy) always win.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import ConfigError

CRM_PATH = "/crm/v8"
BOOKS_PATH = "/books/v3"
DESK_PATH = "/api/v1"


@dataclass(frozen=True)
class ZohoEndpoints:
    """Base URLs (scheme + host, no trailing slash) for one Zoho tenant.

    `api_url_fixed` is True when api_url was given explicitly: the `api_domain` from the token answer is then
    ignored. Otherwise the token answer's `api_domain` wins once known (see `ZohoAuth`/`TokenCache`).
    """

    accounts_url: str
    api_url: str
    desk_url: str
    api_url_fixed: bool = False

    @property
    def token_url(self) -> str:
        return f"{self.accounts_url}/oauth/v2/token"

    @property
    def desk_base(self) -> str:
        return f"{self.desk_url}{DESK_PATH}"

    def api_host(self, api_domain: str | None) -> str:
        """The CRM/Books host: the token answer's `api_domain` unless api_url was overridden."""
        if api_domain and not self.api_url_fixed:
            return api_domain.rstrip("/")
        return self.api_url

    def crm_base(self, api_domain: str | None = None) -> str:
        return f"{self.api_host(api_domain)}{CRM_PATH}"

    def books_base(self, api_domain: str | None = None) -> str:
        return f"{self.api_host(api_domain)}{BOOKS_PATH}"


# dc -> (accounts host, API host, Desk host)
_DATA_CENTRES: dict[str, tuple[str, str, str]] = {
    "com": ("accounts.zoho.com", "www.zohoapis.com", "desk.zoho.com"),
    "eu": ("accounts.zoho.eu", "www.zohoapis.eu", "desk.zoho.eu"),
    "in": ("accounts.zoho.in", "www.zohoapis.in", "desk.zoho.in"),
    "com.au": ("accounts.zoho.com.au", "www.zohoapis.com.au", "desk.zoho.com.au"),
    "jp": ("accounts.zoho.jp", "www.zohoapis.jp", "desk.zoho.jp"),
    # Canada runs on zohocloud.ca, not zoho.ca (and never .com.cn). Desk host unconfirmed.
    "ca": ("accounts.zohocloud.ca", "www.zohoapis.ca", "desk.zohocloud.ca"),
    # Saudi Arabia: Desk host unconfirmed.
    "sa": ("accounts.zoho.sa", "www.zohoapis.sa", "desk.zoho.sa"),
    "com.cn": ("accounts.zoho.com.cn", "www.zohoapis.com.cn", "desk.zoho.com.cn"),
}

DATA_CENTRES: tuple[str, ...] = tuple(_DATA_CENTRES)


def web_host(dc: str) -> str:
    """The domain of the apps' web pages (crm.<host>, books.<host>, desk.<host>) in data centre `dc`."""
    key = dc.strip().lower().lstrip(".")
    return f"zohocloud.{key}" if key == "ca" else f"zoho.{key}"


def _strip(url: str) -> str:
    return url.rstrip("/")


def endpoints_for(
    dc: str,
    accounts_url: str | None = None,
    api_url: str | None = None,
    desk_url: str | None = None,
) -> ZohoEndpoints:
    """The endpoints for data centre `dc` (com, eu, in, com.au, jp, ca, sa, com.cn), overrides applied."""
    key = dc.strip().lower().lstrip(".")
    hosts = _DATA_CENTRES.get(key)
    if hosts is None:
        raise ConfigError(
            f"unknown Zoho data centre {dc!r}; use one of: {', '.join(DATA_CENTRES)}",
            source="environment",
            key="ZOHO_DC",
        )
    accounts_host, api_host, desk_host = hosts
    return ZohoEndpoints(
        accounts_url=_strip(accounts_url or f"https://{accounts_host}"),
        api_url=_strip(api_url or f"https://{api_host}"),
        desk_url=_strip(desk_url or f"https://{desk_host}"),
        api_url_fixed=api_url is not None,
    )
