"""The token endpoint's throttling (recognised by status and code, in any language), the back-off after it, one
shared refresh for concurrent callers, and scope errors that never cause a refresh."""

import asyncio

import httpx
import pytest

from bot.errors import ZohoAuthError, ZohoRateLimited
from bot.zoho.auth import is_throttled

from .fakes import FakeZoho, crm_error, fake_clients

ACCOUNT = {"id": "42", "Account_Name": "Zylker"}
# What the China data centre sends when throttling: the description is localised, the code is not.
THROTTLED_CN = {
    "error_description": "您连续发出了太多请求。请稍后再试。",
    "error": "Access Denied",
    "status": "failure",
}


def ok_account() -> httpx.Response:
    return httpx.Response(200, json={"data": [ACCOUNT]})


@pytest.mark.parametrize(
    ("status", "body", "throttled"),
    [
        (400, THROTTLED_CN, True),
        (429, {}, True),
        (400, {"error": "Access Denied"}, True),
        (200, {"error": "invalid_code"}, False),
        (400, {"error": "invalid_client", "status": "failure"}, False),
        (200, {"access_token": "x", "expires_in": 3600}, False),
    ],
)
def test_throttling_is_read_from_status_and_code(status, body, throttled):
    assert is_throttled(status, body) is throttled


async def test_no_token_call_during_backoff_then_one_after():
    fake = FakeZoho()
    fake.route("/crm/v8/Accounts/42", lambda r: ok_account())
    fake.token_answers.append(httpx.Response(400, json=THROTTLED_CN))
    clients = fake_clients(fake)
    now = [1000.0]
    clients.token_cache._clock = lambda: now[0]
    with pytest.raises(ZohoRateLimited) as first:
        await clients.crm.get_account("42")
    assert first.value.retry_after == 60
    for _ in range(3):  # inside the back-off: refused at once, nothing sent to the accounts server
        now[0] += 15
        with pytest.raises(ZohoRateLimited) as again:
            await clients.books.get_invoice("1")
        assert again.value.retry_after is not None and 0 < again.value.retry_after <= 60
    assert len(fake.token_requests) == 1 and fake.requests == []
    now[0] += 20  # 65 s after the throttle
    assert (await clients.crm.get_account("42")) is not None
    assert len(fake.token_requests) == 2
    await clients.aclose()


async def test_backoff_grows_while_throttling_goes_on():
    fake = FakeZoho()
    fake.token_answers.extend([httpx.Response(400, json=THROTTLED_CN), httpx.Response(400, json=THROTTLED_CN)])
    clients = fake_clients(fake)
    now = [0.0]
    clients.token_cache._clock = lambda: now[0]
    with pytest.raises(ZohoRateLimited):
        await clients.crm.get_account("42")
    now[0] += 61
    with pytest.raises(ZohoRateLimited) as second:
        await clients.crm.get_account("42")
    assert second.value.retry_after == 120 and len(fake.token_requests) == 2
    await clients.aclose()


async def test_concurrent_callers_share_one_refresh_and_its_failure():
    fake = FakeZoho()
    release = asyncio.Event()
    answers = iter([httpx.Response(400, json=THROTTLED_CN)])

    async def slow_token(request: httpx.Request) -> httpx.Response:
        fake.token_requests.append(request)
        await release.wait()
        return next(answers)

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/v2/token":
                return await slow_token(request)
            return fake.handler(request)

    fake.client = lambda: httpx.AsyncClient(transport=Transport())  # type: ignore[method-assign]
    clients = fake_clients(fake)
    calls = [asyncio.create_task(clients.crm.get_account("42")) for _ in range(8)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ZohoRateLimited) for r in results)
    assert len(fake.token_requests) == 1
    await clients.aclose()


@pytest.mark.parametrize(
    ("app", "path", "answer", "scope"),
    [
        (
            "crm",
            "/crm/v8/coql",
            crm_error(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL"),
            "ZohoCRM.coql.READ",
        ),
        (
            "books",
            "/books/v3/customerpayments",
            httpx.Response(401, json={"code": 57, "message": "You are not authorized to perform this operation"}),
            "ZohoBooks.customerpayments.READ",
        ),
        (
            "desk",
            "/api/v1/tickets/search",
            httpx.Response(401, json={"errorCode": "SCOPE_MISMATCH", "message": "The scope is not valid."}),
            "Desk.search.READ",
        ),
    ],
)
async def test_scope_errors_never_refresh_and_name_the_scope(app, path, answer, scope):
    fake = FakeZoho()
    fake.script(path, answer)
    clients = fake_clients(fake)
    with pytest.raises(ZohoAuthError) as info:
        if app == "crm":
            await clients.crm.coql("select id from Deals where id = 1")
        elif app == "books":
            await clients.books.list_payments(customer_id="1")
        else:
            await clients.desk.transport.get("/tickets/search", params={"_all": "x"})
    assert scope in str(info.value)
    assert len(fake.token_requests) == 1 and len(fake.requests) == 1  # no refresh, no second try
    await clients.aclose()
