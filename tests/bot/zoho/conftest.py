"""Fixtures: a seeded Zoho sandbox and the three connectors talking HTTP to it over ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.zoho.clients import ZohoClients, build_clients
from bot.zoho.endpoints import endpoints_for
from bot.zoho.sandbox import Sandbox
from bot.zoho.transport import RetryPolicy, ZohoLimits

from .fakes import tiny_retry

SANDBOX_URL = "http://sandbox.test"


def sandbox_clients(
    sb: Sandbox,
    *,
    app=None,  # type: ignore[no-untyped-def]
    retry: RetryPolicy | None = None,
    limits: ZohoLimits | None = None,
    refresh_token: str | None = None,
    base_url: str = SANDBOX_URL,
    http: httpx.AsyncClient | None = None,
) -> ZohoClients:
    http = http or httpx.AsyncClient(transport=httpx.ASGITransport(app=app or sb.asgi_app()))
    creds = sb.credentials
    return build_clients(
        http=http,
        endpoints=endpoints_for("com", accounts_url=base_url, api_url=base_url, desk_url=base_url),
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=refresh_token or creds.refresh_token,
        books_org_id=creds.books_org_id,
        desk_org_id=creds.desk_org_id,
        limits=limits or ZohoLimits(),
        retry=retry or tiny_retry(),
        owns_http=True,
    )


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox.seeded(accounts=25, seed=7)


@pytest.fixture
async def zoho(sb: Sandbox) -> AsyncIterator[ZohoClients]:
    clients = sandbox_clients(sb)
    yield clients
    await clients.aclose()
