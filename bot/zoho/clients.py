"""The three Zoho clients wired together: one httpx client, one token cache, one call counter."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from bot.zoho.auth import TokenCache
from bot.zoho.books import BooksClient
from bot.zoho.crm import CrmClient
from bot.zoho.desk import DeskClient
from bot.zoho.endpoints import ZohoEndpoints
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits


@dataclass
class ZohoClients:
    """CRM, Books and Desk sharing `http`, `token_cache` and `counter`.

    `call_counts` is API requests actually sent per app (retries included); `token_requests` the refreshes.
    Benchmarks read `counter.total` before and after a lookup (or `counter.reset()`).
    """

    http: httpx.AsyncClient
    crm: CrmClient
    books: BooksClient
    desk: DeskClient
    token_cache: TokenCache
    endpoints: ZohoEndpoints
    counter: CallCounter = field(default_factory=CallCounter)
    owns_http: bool = False

    @property
    def call_counts(self) -> dict[str, int]:
        return self.counter.snapshot()

    @property
    def token_requests(self) -> int:
        return self.token_cache.token_requests

    async def aclose(self) -> None:
        """Close the shared httpx client only when `build_clients` was told it owns it."""
        if self.owns_http:
            await self.http.aclose()


def build_clients(
    http: httpx.AsyncClient,
    endpoints: ZohoEndpoints,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    books_org_id: str,
    desk_org_id: str,
    limits: ZohoLimits = ZohoLimits(),
    retry: RetryPolicy = RetryPolicy(),
    *,
    owns_http: bool = False,
) -> ZohoClients:
    """Wire CRM, Books and Desk onto one injected `httpx.AsyncClient` and one process-wide token cache."""
    cache = TokenCache(
        http,
        token_url=endpoints.token_url,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
    )
    counter = CallCounter()
    common = {"endpoints": endpoints, "token_cache": cache, "counter": counter, "retry": retry, "limits": limits}
    return ZohoClients(
        http=http,
        crm=CrmClient(http, **common),  # type: ignore[arg-type]
        books=BooksClient(http, organization_id=books_org_id, **common),  # type: ignore[arg-type]
        desk=DeskClient(http, org_id=desk_org_id, **common),  # type: ignore[arg-type]
        token_cache=cache,
        endpoints=endpoints,
        counter=counter,
        owns_http=owns_http,
    )
