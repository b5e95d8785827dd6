from __future__ import annotations

import time

import httpx
import pytest

from bot.zoho.sandbox import Sandbox


async def test_latency_applies_to_api_calls_not_tokens(
    client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox
) -> None:
    sb.faults.latency = 0.2
    started = time.monotonic()
    await client.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 1}, headers=auth)
    assert time.monotonic() - started >= 0.2
    c = sb.credentials
    started = time.monotonic()
    await client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        },
    )
    assert time.monotonic() - started < 0.2


async def test_forced_429_retry_after_per_app(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    sb.faults.force("books", 429, retry_after=3)
    r = await client.get("/books/v3/invoices", params=books_params, headers=auth)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3" and isinstance(r.json()["code"], int)
    r = await client.get("/books/v3/invoices", params=books_params, headers=auth)
    assert r.status_code == 200  # used up

    sb.faults.force("desk", 429)
    r = await client.get("/api/v1/tickets", headers={**auth, "orgId": sb.credentials.desk_org_id})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and "errorCode" in r.json()

    sb.faults.force("crm", 429, retry_after=5)
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name"}, headers=auth)
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert r.json()["code"] == "TOO_MANY_REQUESTS" and r.json()["status"] == "error"


@pytest.mark.parametrize(
    ("app", "path", "key", "value"),
    [
        ("crm", "/crm/v8/Deals", "code", "INTERNAL_ERROR"),
        ("books", "/books/v3/invoices", "code", 1),
        ("desk", "/api/v1/tickets", "errorCode", "INTERNAL_SERVER_ERROR"),
    ],
)
async def test_forced_500_bodies(
    client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox, app: str, path: str, key: str, value: object
) -> None:
    sb.faults.force(app, 500, times=2)
    for _ in range(2):
        r = await client.get(path, headers=auth)
        assert r.status_code == 500 and r.json()[key] == value
    assert (await client.get(path, headers=auth)).status_code != 500


async def test_path_filter_oauth_fault_calls_and_clear(
    client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox
) -> None:
    sb.faults.force("crm", 503, path_contains="/Deals")
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 1}, headers=auth)
    assert r.status_code == 200
    r = await client.get("/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 1}, headers=auth)
    assert r.status_code == 503
    assert sb.calls == [("crm", "GET", "/crm/v8/Accounts"), ("crm", "GET", "/crm/v8/Deals")]

    sb.faults.force("oauth", 500)
    c = sb.credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "refresh_token": c.refresh_token,
    }
    assert (await client.post("/oauth/v2/token", data=form)).status_code == 500
    assert (await client.post("/oauth/v2/token", data=form)).status_code == 200

    sb.faults.force("crm", 500, times=5)
    sb.faults.latency = 1.0
    sb.faults.clear()
    assert sb.faults.latency == 0 and not sb.faults.forced
    with pytest.raises(ValueError):
        sb.faults.force("slack", 500)
