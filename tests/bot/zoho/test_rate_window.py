"""The Books limit as a sliding window: never more than `max_rate` calls in any `period`, on a fake clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.zoho.rate_window import SlidingWindowLimiter
from bot.zoho.transport import ZohoLimits

from .fakes import FakeZoho, fake_clients


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def busiest_window(starts: list[float], period: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + period) for s in starts)


async def test_never_more_than_the_rate_in_any_window():
    time = FakeTime()
    limiter = SlidingWindowLimiter(100, 60, clock=time, sleep=time.sleep)
    starts: list[float] = []

    async def call(spread: float) -> None:
        async with limiter:
            starts.append(time())
        time.now += spread  # work between calls moves the clock too

    for _ in range(150):  # a sync spreading its calls; then a burst of lookups and handoffs
        await call(0.25)
    await asyncio.gather(*(call(0) for _ in range(150)))
    assert len(starts) == 300
    assert busiest_window(starts, 60) == 100
    # A token bucket would have let the first 100 through and then 100 more in the same minute.
    assert busiest_window(starts[:200], 60) <= 100


async def test_waiters_wait_only_until_the_oldest_call_leaves_the_window():
    time = FakeTime()
    limiter = SlidingWindowLimiter(3, 10, clock=time, sleep=time.sleep)
    for _ in range(3):  # at 0, 2 and 4 s
        await limiter.acquire()
        time.now += 2
    await limiter.acquire()  # at 6 s: waits until the first leaves the window at 10 s
    assert time.sleeps == [pytest.approx(4)]
    assert limiter.in_window() == 3  # the calls at 2, 4 and 10 s


def test_rejects_a_window_that_allows_nothing():
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 60)


async def test_books_calls_share_one_window_per_org():
    fake = FakeZoho()
    fake.route("/books/v3/contacts/1", lambda r: httpx.Response(200, json={"code": 0, "contact": {"contact_id": "1"}}))
    fake.route(
        "/books/v3/invoices",
        lambda r: httpx.Response(200, json={"code": 0, "invoices": [], "page_context": {"has_more_page": False}}),
    )
    clients = fake_clients(fake, limits=ZohoLimits(books_rate=100, books_period=60))
    limiter = clients.books.transport.limiter
    assert isinstance(limiter, SlidingWindowLimiter) and (limiter.max_rate, limiter.time_period) == (100, 60)
    assert clients.crm.transport.limiter is None
    await asyncio.gather(clients.books.get_customer("1"), clients.books.list_invoices(customer_id="1"))
    assert limiter.in_window() == clients.call_counts["books"] == 2
    await clients.aclose()


async def test_lookups_handoffs_and_sync_share_the_books_window(deps):
    window = deps.zoho.books.transport.limiter
    assert isinstance(window, SlidingWindowLimiter)
    assert deps.accounts.zoho.books.transport.limiter is window  # /account
    assert deps.handoffs.zoho.books.transport.limiter is window  # the handoff's writes
    assert deps.audit.zoho.books.transport.limiter is window  # the drift audit; the scheduler's sync uses deps.zoho
