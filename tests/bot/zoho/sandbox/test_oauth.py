from __future__ import annotations

import httpx

from bot.zoho.sandbox import Sandbox

from .conftest import fetch_token


async def test_refresh_answers_zoho_shape_with_own_base_url(client: httpx.AsyncClient, sb: Sandbox) -> None:
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
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"access_token", "expires_in", "api_domain", "token_type"}
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    assert body["api_domain"] == "http://sandbox"
    assert "refresh_token" not in body
    assert sb.token_requests == 1
    assert sb.calls == []  # the token endpoint is not an API call


async def test_bad_credentials_answer_200_with_error(client: httpx.AsyncClient, sb: Sandbox) -> None:
    c = sb.credentials
    base = {
        "grant_type": "refresh_token",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "refresh_token": c.refresh_token,
    }
    r = await client.post("/oauth/v2/token", data={**base, "client_secret": "nope"})
    assert r.status_code == 200 and r.json() == {"error": "invalid_client"}
    r = await client.post("/oauth/v2/token", data={**base, "refresh_token": "1000.revoked"})
    assert r.status_code == 200 and r.json() == {"error": "invalid_code"}
    assert sb.token_requests == 2


async def test_each_app_answers_its_own_401(client: httpx.AsyncClient, sb: Sandbox) -> None:
    bad = {"Authorization": "Zoho-oauthtoken 1000.unknown.token"}
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name"}, headers=bad)
    assert r.status_code == 401
    assert r.json() == {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
    r = await client.get("/books/v3/invoices", params={"organization_id": sb.credentials.books_org_id}, headers=bad)
    assert r.status_code == 401 and r.json()["code"] == 14  # 57 is Books' scope error: never a token problem
    r = await client.get("/api/v1/tickets", headers={**bad, "orgId": sb.credentials.desk_org_id})
    assert r.status_code == 401 and r.json()["errorCode"] == "INVALID_OAUTH"


async def test_missing_header_and_wrong_scheme(client: httpx.AsyncClient, sb: Sandbox) -> None:
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name"})
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    r = await client.get("/api/v1/tickets", headers={"orgId": sb.credentials.desk_org_id})
    assert r.status_code == 401 and r.json()["errorCode"] == "UNAUTHORIZED"
    token = await fetch_token(client, sb)
    r = await client.get(
        "/crm/v8/Accounts", params={"fields": "Account_Name"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


async def test_expired_tokens_refuse_until_refreshed(client: httpx.AsyncClient, sb: Sandbox) -> None:
    old = {"Authorization": f"Zoho-oauthtoken {await fetch_token(client, sb)}"}
    params = {"fields": "Account_Name", "per_page": 1}
    assert (await client.get("/crm/v8/Accounts", params=params, headers=old)).status_code == 200
    sb.faults.expire_tokens()
    r = await client.get("/crm/v8/Accounts", params=params, headers=old)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"
    new = {"Authorization": f"Zoho-oauthtoken {await fetch_token(client, sb)}"}
    assert (await client.get("/crm/v8/Accounts", params=params, headers=new)).status_code == 200
    assert (await client.get("/crm/v8/Accounts", params=params, headers=old)).status_code == 401


async def test_only_ten_live_tokens(client: httpx.AsyncClient, sb: Sandbox) -> None:
    tokens = [await fetch_token(client, sb) for _ in range(11)]
    params = {"fields": "Account_Name", "per_page": 1}
    first = await client.get(
        "/crm/v8/Accounts", params=params, headers={"Authorization": f"Zoho-oauthtoken {tokens[0]}"}
    )
    last = await client.get(
        "/crm/v8/Accounts", params=params, headers={"Authorization": f"Zoho-oauthtoken {tokens[-1]}"}
    )
    assert first.status_code == 401 and last.status_code == 200


async def test_opt_in_token_rate_limit(client: httpx.AsyncClient, sb: Sandbox) -> None:
    sb.faults.token_rate_limit = 2
    await fetch_token(client, sb)
    await fetch_token(client, sb)
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
    assert r.status_code == 400 and r.json()["error"] == "Access Denied"
