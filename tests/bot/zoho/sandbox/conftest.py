from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from bot.zoho.sandbox import Sandbox

TODAY = date(2026, 3, 4)


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox.seeded(accounts=25, seed=7, today=TODAY)


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.asgi_app()), base_url="http://sandbox") as c:
        yield c


async def fetch_token(client: httpx.AsyncClient, sb: Sandbox) -> str:
    c = sb.credentials
    r = await client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        },
    )
    return str(r.json()["access_token"])


@pytest.fixture
async def auth(client: httpx.AsyncClient, sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {await fetch_token(client, sb)}"}


@pytest.fixture
def books_params(sb: Sandbox) -> dict[str, str]:
    return {"organization_id": sb.credentials.books_org_id}


@pytest.fixture
def desk_headers(sb: Sandbox, auth: dict[str, str]) -> dict[str, str]:
    return {**auth, "orgId": sb.credentials.desk_org_id}
