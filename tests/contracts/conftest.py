"""Fixtures the contract tests share: a seeded sandbox, and Throughline's own Zoho clients talking to it through a
transport that records every request as sent (so the client's requests can be checked against the specs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.zoho.clients import ZohoClients, build_clients
from bot.zoho.endpoints import endpoints_for
from bot.zoho.sandbox import Sandbox
from bot.zoho.transport import RetryPolicy

URL = "http://sandbox.test"


class Recording(httpx.AsyncBaseTransport):
    """Passes every request to the sandbox and keeps it (the client's own requests, as sent)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox.seeded(accounts=25, seed=7)


@pytest.fixture
async def recorded(sb: Sandbox) -> AsyncIterator[tuple[ZohoClients, Recording]]:
    recording = Recording(httpx.ASGITransport(app=sb.asgi_app()))
    c = sb.credentials
    clients = build_clients(
        http=httpx.AsyncClient(transport=recording),
        endpoints=endpoints_for("com", URL, URL, URL),
        client_id=c.client_id,
        client_secret=c.client_secret,
        refresh_token=c.refresh_token,
        books_org_id=c.books_org_id,
        desk_org_id=c.desk_org_id,
        retry=RetryPolicy(attempts=1),
        owns_http=True,
    )
    yield clients, recording
    await clients.aclose()
