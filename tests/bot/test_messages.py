"""Messages people read (issue 11): Zoho error texts, advice said once, nothing time-bound stored."""

from __future__ import annotations

import httpx

from bot.errors import ZohoRateLimited, with_advice
from bot.zoho.transport import map_error


def _response(status: int, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(
        status, json=body, headers=headers or {}, request=httpx.Request("GET", "http://zoho/crm/v8/Deals")
    )


def test_server_error_names_status_code_and_attempts_readably():
    error = map_error("books", _response(500, {"code": 1, "message": "Internal error"}), attempts=4)
    assert "(HTTP 500, code 1, after 4 attempts)" in str(error)
    assert "500 1 after" not in str(error)
    plain = map_error("crm", _response(503, {}), attempts=1)
    assert "(HTTP 503, after 1 attempt)" in str(plain)


def test_rate_limit_advice_is_dropped_where_the_message_is_read_later():
    error = map_error("books", _response(429, {"code": 45, "message": "slow down"}, {"Retry-After": "1"}), attempts=4)
    assert isinstance(error, ZohoRateLimited)
    assert "try again in 1 s" in error.user_message()
    assert "try again" not in error.lasting_message().lower() and "429" in error.lasting_message()


def test_advice_is_said_once():
    said = with_advice("Could not search Zoho: Zoho CRM: rate-limited; try again in a minute")
    assert said.lower().count("try again") == 1
    assert with_advice("Zoho did not answer") == "Zoho did not answer. Try again in a minute."
