"""Retries, limits, error mapping and OAuth against scripted Zoho answers (httpx.MockTransport)."""

import asyncio
import logging
import time
from urllib.parse import parse_qs

import httpx
import pytest

from bot.errors import (
    ZohoAuthError,
    ZohoNotFound,
    ZohoRateLimited,
    ZohoRequestError,
    ZohoUnavailable,
)
from bot.zoho.transport import RetryPolicy, ZohoLimits

from .fakes import API_DOMAIN, FakeZoho, crm_error, fake_clients, tiny_retry

ACCOUNT = {"id": "42", "Account_Name": "Zylker"}


def ok_account() -> httpx.Response:
    return httpx.Response(200, json={"data": [ACCOUNT]})


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# --- OAuth ------------------------------------------------------------------------------------------------


async def test_token_request_and_header_shape():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Accounts/42", ok_account())
    account = await clients.crm.get_account("42")
    assert account is not None and account.name == "Zylker"
    [token_request] = fake.token_requests
    assert str(token_request.url) == "https://accounts.zoho.eu/oauth/v2/token"
    form = parse_qs(token_request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
        "refresh_token": ["1000.refresh"],
    }
    assert "authorization" not in token_request.headers
    [api_request] = fake.requests
    assert api_request.headers["Authorization"] == "Zoho-oauthtoken 1000.token1"
    await clients.aclose()


async def test_api_domain_from_token_answer_is_used_for_crm_and_books():
    fake = FakeZoho(api_domain="https://www.zohoapis.com.au")
    clients = fake_clients(fake, dc="com.au")
    await clients.crm.get_account("42")
    await clients.books.get_customer("1")
    hosts = {r.url.host for r in fake.requests}
    assert hosts == {"www.zohoapis.com.au"}
    await clients.aclose()


async def test_api_override_beats_api_domain():
    fake = FakeZoho(api_domain="https://www.zohoapis.com")
    clients = fake_clients(fake, api_url="http://sandbox.local")
    await clients.crm.get_account("42")
    assert fake.requests[0].url.host == "sandbox.local"
    await clients.aclose()


async def test_twenty_concurrent_calls_make_one_token_request():
    fake = FakeZoho()
    fake.route("/crm/v8/Accounts/42", lambda r: ok_account())
    clients = fake_clients(fake, limits=ZohoLimits(crm_concurrency=20))
    results = await asyncio.gather(*(clients.crm.get_account("42") for _ in range(20)))
    assert all(a is not None for a in results)
    assert len(fake.token_requests) == 1 and clients.token_requests == 1
    await clients.aclose()


async def test_401_refreshes_once_and_retries_once():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Accounts/42", crm_error(401, "INVALID_TOKEN", "invalid oauth token"), ok_account())
    assert await clients.crm.get_account("42") is not None
    assert len(fake.token_requests) == 2
    assert fake.auth_headers == [
        "Zoho-oauthtoken 1000.token1",
        "Zoho-oauthtoken 1000.token2",
    ]
    assert clients.call_counts["crm"] == 2
    await clients.aclose()


async def test_second_401_is_an_auth_error_not_a_loop():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.route("/crm/v8/Accounts/42", lambda r: crm_error(401, "INVALID_TOKEN", "invalid oauth token"))
    with pytest.raises(ZohoAuthError) as info:
        await clients.crm.get_account("42")
    assert len(fake.requests) == 2 and len(fake.token_requests) == 2
    assert "refresh token" in str(info.value) and "ZOHO_DC" in str(info.value)
    await clients.aclose()


async def test_scope_mismatch_does_not_refresh():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Accounts/42", crm_error(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope"))
    with pytest.raises(ZohoAuthError) as info:
        await clients.crm.get_account("42")
    assert len(fake.token_requests) == 1
    assert "ZohoCRM.modules.ALL" in str(info.value)
    await clients.aclose()


async def test_bad_refresh_token_is_an_actionable_auth_error():
    fake = FakeZoho()
    fake.token_answers.append(httpx.Response(200, json={"error": "invalid_code"}))
    clients = fake_clients(fake)
    with pytest.raises(ZohoAuthError) as info:
        await clients.crm.get_account("42")
    assert "invalid_code" in str(info.value) and "self-client refresh token" in str(info.value)
    assert fake.requests == []
    await clients.aclose()


async def test_token_rate_limit_is_reported_as_rate_limit():
    fake = FakeZoho()
    fake.token_answers.append(
        httpx.Response(
            400,
            json={
                "error_description": "You have made too many requests continuously. Please try again after some time.",
                "error": "Access Denied",
            },
        )
    )
    clients = fake_clients(fake)
    with pytest.raises(ZohoRateLimited):
        await clients.desk.get_ticket("1")
    await clients.aclose()


async def test_token_refreshed_near_expiry_only():
    fake = FakeZoho()
    fake.route("/crm/v8/Accounts/42", lambda r: ok_account())
    clients = fake_clients(fake)
    now = [1000.0]
    clients.token_cache._clock = lambda: now[0]
    await clients.crm.get_account("42")
    now[0] += 3000  # 55 min later: still > 5 min before expiry
    await clients.crm.get_account("42")
    assert len(fake.token_requests) == 1
    now[0] += 400  # inside the 5-minute margin
    await clients.crm.get_account("42")
    assert len(fake.token_requests) == 2
    await clients.aclose()


async def test_tokens_and_secrets_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Accounts/42", crm_error(401, "INVALID_TOKEN", "x"), ok_account())
    await clients.crm.get_account("42")
    logged = caplog.text + repr(clients.token_cache)
    for secret in ("1000.token1", "1000.token2", "csecret", "1000.refresh"):
        assert secret not in logged
    await clients.aclose()


# --- retries ----------------------------------------------------------------------------------------------


async def test_429_honours_retry_after_then_succeeds():
    fake = FakeZoho()
    sleeps = Sleeps()
    clients = fake_clients(fake, retry=tiny_retry(sleep=sleeps))
    fake.script(
        "/crm/v8/Accounts/42",
        httpx.Response(429, headers={"Retry-After": "7"}, json={"code": "TOO_MANY_REQUESTS", "message": "slow"}),
        ok_account(),
    )
    assert await clients.crm.get_account("42") is not None
    assert sleeps.waits == [7.0]
    await clients.aclose()


async def test_retry_after_is_capped():
    fake = FakeZoho()
    sleeps = Sleeps()
    clients = fake_clients(fake, retry=tiny_retry(sleep=sleeps, max_retry_after=2.0))
    fake.script(
        "/books/v3/contacts/1",
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json={"code": 0, "contact": {"contact_id": "1", "contact_name": "Z"}}),
    )
    assert (await clients.books.get_customer("1")) is not None
    assert sleeps.waits == [2.0]
    await clients.aclose()


async def test_500_then_success_with_backoff():
    fake = FakeZoho()
    sleeps = Sleeps()
    clients = fake_clients(fake, retry=tiny_retry(sleep=sleeps))
    fake.script("/crm/v8/Accounts/42", crm_error(500, "INTERNAL_ERROR", "oops"), ok_account())
    assert await clients.crm.get_account("42") is not None
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] < 0.01
    assert clients.call_counts == {"crm": 2, "books": 0, "desk": 0}
    await clients.aclose()


async def test_429_exhausted_is_rate_limited_with_retry_after():
    fake = FakeZoho()
    clients = fake_clients(fake, retry=tiny_retry(attempts=3, max_retry_after=0.001))
    fake.route("/api/v1/tickets/1", lambda r: httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(ZohoRateLimited) as info:
        await clients.desk.get_ticket("1")
    assert info.value.retry_after == 30.0 and info.value.app == "desk"
    assert len(fake.requests) == 3
    await clients.aclose()


async def test_5xx_exhausted_is_unavailable():
    fake = FakeZoho()
    clients = fake_clients(fake, retry=tiny_retry(attempts=4))
    fake.route("/crm/v8/Accounts/42", lambda r: crm_error(503, "INTERNAL_ERROR", "down"))
    with pytest.raises(ZohoUnavailable) as info:
        await clients.crm.get_account("42")
    assert len(fake.requests) == 4 and info.value.status == 503
    assert "4 attempts" in str(info.value)
    await clients.aclose()


async def test_timeout_becomes_unavailable_after_retries():
    fake = FakeZoho()
    clients = fake_clients(fake, retry=tiny_retry(attempts=2))
    fake.script("/crm/v8/Accounts/42", httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"))
    with pytest.raises(ZohoUnavailable) as info:
        await clients.crm.get_account("42")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert "in time" in info.value.user_message()
    await clients.aclose()


async def test_timeout_then_success_on_get():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Accounts/42", httpx.ReadTimeout("slow"), ok_account())
    assert await clients.crm.get_account("42") is not None
    await clients.aclose()


async def test_create_is_not_resent_after_a_timeout_or_500():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/books/v3/invoices", httpx.ReadTimeout("slow"))
    with pytest.raises(ZohoUnavailable):
        await clients.books.create_invoice({"customer_id": "1"})
    fake.script("/books/v3/invoices", httpx.Response(500, json={"code": 1000, "message": "Internal error"}))
    with pytest.raises(ZohoUnavailable):
        await clients.books.create_invoice({"customer_id": "1"})
    assert len(fake.requests) == 2
    await clients.aclose()


async def test_create_is_resent_after_connect_error_and_429():
    fake = FakeZoho()
    clients = fake_clients(fake)
    created = httpx.Response(201, json={"code": 0, "invoice": {"invoice_id": "9", "status": "draft"}})
    fake.script("/books/v3/invoices", httpx.ConnectError("refused"), httpx.Response(429), created)
    invoice = await clients.books.create_invoice({"customer_id": "1"})
    assert invoice.id == "9" and invoice.status == "draft"
    await clients.aclose()


# --- error mapping ----------------------------------------------------------------------------------------


async def test_crm_invalid_data_names_the_field():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/crm/v8/Deals", crm_error(400, "INVALID_DATA", "invalid data", api_name="Amount"))
    with pytest.raises(ZohoRequestError) as info:
        await clients.crm.update("Deals", [{"id": "1", "Amount": "x"}])
    assert "Amount" in str(info.value) and info.value.code == "INVALID_DATA"
    assert info.value.details["api_name"] == "Amount"
    await clients.aclose()


async def test_crm_partial_update_raises_on_error_rows():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script(
        "/crm/v8/Deals",
        httpx.Response(
            207,
            json={
                "data": [
                    {"code": "SUCCESS", "details": {"id": "1"}, "message": "record updated", "status": "success"},
                    {
                        "code": "MANDATORY_NOT_FOUND",
                        "details": {"api_name": "Deal_Name"},
                        "message": "required",
                        "status": "error",
                    },
                ]
            },
        ),
    )
    with pytest.raises(ZohoRequestError) as info:
        await clients.crm.update("Deals", [{"id": "1"}, {"id": "2"}])
    assert "1 of 2" in str(info.value) and "Deal_Name" in str(info.value)
    await clients.aclose()


async def test_crm_update_chunks_of_100():
    fake = FakeZoho()
    clients = fake_clients(fake)

    def ok(request: httpx.Request) -> httpx.Response:
        import json

        rows = json.loads(request.content)["data"]
        return httpx.Response(
            200, json={"data": [{"code": "SUCCESS", "details": {"id": r["id"]}, "status": "success"} for r in rows]}
        )

    fake.route("/crm/v8/Deals", ok)
    results = await clients.crm.update("Deals", [{"id": str(i), "Stage": "Won"} for i in range(250)])
    assert len(results) == 250 and len(fake.requests) == 3
    assert all(r.method == "PUT" for r in fake.requests)
    await clients.aclose()


async def test_books_not_found_and_request_errors():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/books/v3/invoices/1", httpx.Response(404, json={"code": 1002, "message": "Invoice does not exist."}))
    assert await clients.books.get_invoice("1") is None
    fake.script("/books/v3/invoices", httpx.Response(400, json={"code": 4, "message": "Invalid value passed for rate"}))
    with pytest.raises(ZohoRequestError) as info:
        await clients.books.create_invoice({"customer_id": "1"})
    assert info.value.code == 4 and "rate" in str(info.value)
    await clients.aclose()


async def test_books_error_code_in_a_200_is_still_an_error():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/books/v3/contacts/1", httpx.Response(200, json={"code": 1002, "message": "Contact does not exist."}))
    with pytest.raises(ZohoNotFound):
        await clients.books.transport.get("/contacts/1")
    await clients.aclose()


async def test_books_sends_organization_id_and_desk_sends_org_header():
    fake = FakeZoho()
    clients = fake_clients(fake)
    await clients.books.get_customer("1")
    await clients.desk.get_ticket("2")
    books, desk = fake.requests
    assert books.url.params["organization_id"] == "777"
    assert desk.headers["orgId"] == "888" and str(desk.url) == "https://desk.zoho.eu/api/v1/tickets/2"
    await clients.aclose()


async def test_desk_errors():
    fake = FakeZoho()
    clients = fake_clients(fake)
    fake.script("/api/v1/tickets/1", httpx.Response(404, json={"errorCode": "RESOURCE_NOT_FOUND", "message": "gone"}))
    assert await clients.desk.get_ticket("1") is None
    fake.script("/api/v1/tickets/1", httpx.Response(400, json={"errorCode": "OAUTH_ORG_MISMATCH", "message": "x"}))
    with pytest.raises(ZohoAuthError) as auth:
        await clients.desk.get_ticket("1")
    assert "orgId" in str(auth.value)
    fake.script(
        "/api/v1/accounts",
        httpx.Response(
            422,
            json={
                "errorCode": "INVALID_DATA",
                "message": "bad",
                "errors": [{"fieldName": "/accountName", "errorType": "missing"}],
            },
        ),
    )
    with pytest.raises(ZohoRequestError) as bad:
        await clients.desk.create_account({})
    assert "accountName" in str(bad.value)
    await clients.aclose()


# --- limits -----------------------------------------------------------------------------------------------


def test_default_limits():
    limits = ZohoLimits()
    assert (limits.books_rate, limits.books_period) == (100, 60.0)
    assert limits.crm_concurrency == 5 and limits.desk_concurrency == 5
    assert RetryPolicy().attempts == 4


async def test_books_limiter_is_configured_per_org_and_throttles():
    fake = FakeZoho()
    fake.route("/books/v3/contacts/1", lambda r: httpx.Response(200, json={"code": 0, "contact": {"contact_id": "1"}}))
    clients = fake_clients(fake, limits=ZohoLimits(books_rate=3, books_period=0.3))
    limiter = clients.books.transport.limiter
    assert limiter is not None and (limiter.max_rate, limiter.time_period) == (3, 0.3)
    assert clients.crm.transport.limiter is None
    started = time.monotonic()
    await asyncio.gather(*(clients.books.get_customer("1") for _ in range(6)))
    assert time.monotonic() - started >= 0.15  # 3 burst, 3 more at 10 per second
    await clients.aclose()


async def test_crm_concurrency_cap():
    in_flight = 0
    peak = 0

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            if request.url.path.endswith("/token"):
                return httpx.Response(200, json={"access_token": "t", "expires_in": 3600, "api_domain": API_DOMAIN})
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return ok_account()

    from bot.zoho.clients import build_clients
    from bot.zoho.endpoints import endpoints_for

    clients = build_clients(
        httpx.AsyncClient(transport=Slow()),
        endpoints_for("eu"),
        "c",
        "s",
        "r",
        "1",
        "2",
        limits=ZohoLimits(crm_concurrency=3),
        owns_http=True,
    )
    await asyncio.gather(*(clients.crm.get_account("42") for _ in range(12)))
    assert peak == 3
    await clients.aclose()
