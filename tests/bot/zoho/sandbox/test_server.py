from __future__ import annotations

import httpx

from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.server import start_in_thread


def test_start_in_thread_serves_and_stops() -> None:
    sb = Sandbox.seeded(accounts=5)
    base, stop = start_in_thread(sb)
    try:
        c = sb.credentials
        with httpx.Client(base_url=base, timeout=5) as http:
            token = http.post(
                "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token,
                },
            ).json()
            assert token["api_domain"] == base
            r = http.get(
                f"{token['api_domain']}/crm/v8/Accounts",
                params={"fields": "Account_Name"},
                headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"},
            )
            assert r.status_code == 200 and len(r.json()["data"]) == 5
    finally:
        stop()
    try:
        httpx.get(base, timeout=1)
        raise AssertionError("server still answering after stop()")
    except httpx.TransportError:
        pass
