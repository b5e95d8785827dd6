"""OAuth, retries, limits and call counting against the sandbox (ASGI, and loopback for real timeouts)."""

import asyncio
import time

import httpx
import pytest

from bot.errors import ZohoAuthError, ZohoRateLimited, ZohoUnavailable
from bot.zoho.sandbox.server import start_in_thread
from bot.zoho.transport import ZohoLimits

from .conftest import sandbox_clients
from .fakes import tiny_retry


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# --- OAuth ------------------------------------------------------------------------------------------------


async def test_twenty_concurrent_calls_across_apps_one_token_request(sb):
    sb.faults.token_latency = 0.05  # make the race real: callers pile up while the refresh is in flight
    clients = sandbox_clients(sb, limits=ZohoLimits(crm_concurrency=20, books_concurrency=20, desk_concurrency=20))
    account_id = sb.state.demo_account_id
    calls = [clients.crm.get_account(account_id) for _ in range(10)]
    calls += [clients.books.find_customers(zcrm_account_id=account_id) for _ in range(5)]
    calls += [clients.desk.get_account(sb.state.desk_account_by_crm[account_id]) for _ in range(5)]
    results = await asyncio.gather(*calls)
    assert all(results)
    assert sb.token_requests == 1 and clients.token_requests == 1
    await clients.aclose()


async def test_expired_tokens_refresh_once_for_many_callers(sb, zoho):
    account_id = sb.state.demo_account_id
    await zoho.crm.get_account(account_id)
    sb.faults.expire_tokens()
    sb.calls.clear()
    results = await asyncio.gather(*(zoho.crm.get_account(account_id) for _ in range(10)))
    assert all(results)
    assert sb.token_requests == 2
    assert len(sb.calls) == zoho.call_counts["crm"] - 1  # every call counted; the first call is not in sb.calls


async def test_refresh_near_expiry(sb, zoho):
    now = [0.0]
    zoho.token_cache._clock = lambda: now[0]
    await zoho.crm.get_account(sb.state.demo_account_id)
    now[0] = 3000.0
    await zoho.books.get_customer(sb.state.books_contact_by_crm_account[sb.state.demo_account_id])
    assert sb.token_requests == 1
    now[0] = 3400.0  # within 5 minutes of the 3600 s expiry
    await zoho.desk.get_ticket(next(iter(sb.state.desk_tickets)))
    assert sb.token_requests == 2


async def test_second_401_is_auth_error(sb, zoho):
    sb.faults.force("desk", 401, times=2)
    with pytest.raises(ZohoAuthError) as info:
        await zoho.desk.get_ticket(next(iter(sb.state.desk_tickets)))
    assert info.value.app == "desk" and info.value.code == "INVALID_OAUTH"
    assert sb.token_requests == 2 and len(sb.calls) == 2
    assert "ZOHO_DC" in info.value.user_message()


async def test_bad_refresh_token(sb):
    clients = sandbox_clients(sb, refresh_token="1000.revoked")
    with pytest.raises(ZohoAuthError) as info:
        await clients.crm.get_account(sb.state.demo_account_id)
    assert "invalid_code" in str(info.value) and "refresh token" in str(info.value)
    assert sb.calls == []
    await clients.aclose()


async def test_token_endpoint_500_is_retried(sb, zoho):
    sb.faults.force("oauth", 500)
    assert await zoho.crm.get_account(sb.state.demo_account_id) is not None
    assert sb.token_requests == 2


async def test_token_endpoint_down_is_unavailable(sb, zoho):
    sb.faults.force("oauth", 500, times=10)
    with pytest.raises(ZohoUnavailable) as info:
        await zoho.crm.get_account(sb.state.demo_account_id)
    assert "accounts server" in str(info.value) and sb.token_requests == 4 and sb.calls == []
    assert info.value.__cause__ is not info.value


async def test_token_rate_limit_surfaces_as_rate_limited(sb, zoho):
    sb.faults.token_rate_limit = 0
    with pytest.raises(ZohoRateLimited) as info:
        await zoho.crm.get_account(sb.state.demo_account_id)
    assert "10 token requests" in str(info.value)


# --- retries ----------------------------------------------------------------------------------------------


async def test_429_with_retry_after_honoured_then_success(sb):
    sleeps = Sleeps()
    clients = sandbox_clients(sb, retry=tiny_retry(sleep=sleeps))
    sb.faults.force("books", 429, times=2, retry_after=3)
    customers = await clients.books.find_customers(zcrm_account_id=sb.state.demo_account_id)
    assert customers and sleeps.waits == [3.0, 3.0]
    assert clients.call_counts["books"] == 3 == len(sb.calls)
    await clients.aclose()


async def test_crm_429_without_retry_after_backs_off(sb):
    sleeps = Sleeps()
    clients = sandbox_clients(sb, retry=tiny_retry(sleep=sleeps))
    sb.faults.force("crm", 429)
    assert await clients.crm.get_account(sb.state.demo_account_id) is not None
    assert len(sleeps.waits) == 1 and sleeps.waits[0] < 0.01
    await clients.aclose()


async def test_500_then_success(sb, zoho):
    sb.faults.force("desk", 500)
    assert await zoho.desk.get_ticket(next(iter(sb.state.desk_tickets))) is not None
    assert zoho.call_counts["desk"] == 2


async def test_retries_exhausted(sb, zoho):
    sb.faults.force("crm", 503, times=10)
    with pytest.raises(ZohoUnavailable) as down:
        await zoho.crm.get_account(sb.state.demo_account_id)
    assert down.value.status == 503 and len(sb.calls) == 4
    sb.faults.clear()
    sb.faults.force("desk", 429, times=10, retry_after=0)
    with pytest.raises(ZohoRateLimited) as limited:
        await zoho.desk.get_ticket(next(iter(sb.state.desk_tickets)))
    assert limited.value.retry_after == 0 and limited.value.app == "desk"


async def test_post_is_not_retried_on_500(sb, zoho):
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    sb.faults.force("books", 500)
    with pytest.raises(ZohoUnavailable):
        await zoho.books.create_invoice({"customer_id": customer_id, "line_items": [{"name": "x", "rate": 1.0}]})
    assert len(sb.calls) == 1


async def test_timeout_over_loopback_is_unavailable(sb):
    base_url, stop = start_in_thread(sb)
    try:
        http = httpx.AsyncClient(timeout=httpx.Timeout(0.2, connect=2.0))
        clients = sandbox_clients(sb, http=http, base_url=base_url, retry=tiny_retry(attempts=2))
        await clients.crm.get_account(sb.state.demo_account_id)  # warm: token and connection
        sb.faults.latency = 1.0
        with pytest.raises(ZohoUnavailable) as info:
            await clients.crm.get_account(sb.state.demo_account_id)
        assert isinstance(info.value.__cause__, httpx.ReadTimeout)
        assert clients.call_counts["crm"] == 3
        sb.faults.latency = 0.0
        await clients.aclose()
    finally:
        stop()


# --- limits and counting ----------------------------------------------------------------------------------


def in_flight_meter(app, prefix: str):  # type: ignore[no-untyped-def]
    """Wrap the sandbox ASGI app to record the peak number of `prefix` requests being served at once."""
    meter = {"now": 0, "peak": 0}

    async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
        counted = scope["type"] == "http" and scope["path"].startswith(prefix)
        if counted:
            meter["now"] += 1
            meter["peak"] = max(meter["peak"], meter["now"])
        try:
            await app(scope, receive, send)
        finally:
            if counted:
                meter["now"] -= 1

    return wrapped, meter


async def test_crm_concurrency_cap_measured_in_flight(sb):
    sb.faults.latency = 0.03
    app, meter = in_flight_meter(sb.asgi_app(), "/crm/")
    clients = sandbox_clients(sb, app=app)  # default limits: 5 CRM calls in flight
    await asyncio.gather(*(clients.crm.get_account(sb.state.demo_account_id) for _ in range(20)))
    assert meter["peak"] == 5
    await clients.aclose()

    app, meter = in_flight_meter(sb.asgi_app(), "/crm/")
    clients = sandbox_clients(sb, app=app, limits=ZohoLimits(crm_concurrency=2))
    await asyncio.gather(*(clients.crm.get_account(sb.state.demo_account_id) for _ in range(8)))
    assert meter["peak"] == 2
    await clients.aclose()


async def test_books_rate_limiter(sb):
    clients = sandbox_clients(sb, limits=ZohoLimits(books_rate=4, books_period=0.4))
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    await clients.books.get_customer(customer_id)  # token first, so only the limiter is timed
    started = time.monotonic()
    await asyncio.gather(*(clients.books.get_customer(customer_id) for _ in range(8)))
    assert time.monotonic() - started >= 0.3  # 4 per 0.4 s: the second half has to wait
    await clients.aclose()


async def test_call_counts_match_what_zoho_served(sb, zoho):
    account_id = sb.state.demo_account_id
    await zoho.crm.get_account(account_id)
    await zoho.crm.account_deals(account_id)
    [customer] = await zoho.books.find_customers(zcrm_account_id=account_id)
    await zoho.books.list_invoices(customer_id=customer.id)
    await zoho.desk.account_tickets(sb.state.desk_account_by_crm[account_id])
    served = {app: sum(1 for c in sb.calls if c[0] == app) for app in ("crm", "books", "desk")}
    assert zoho.call_counts == served == {"crm": 2, "books": 2, "desk": 1}
    assert zoho.counter.total == 5
    zoho.counter.reset()
    assert zoho.counter.total == 0
