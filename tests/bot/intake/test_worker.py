"""The inbox worker: woken by deliveries, draining in the background; the scheduler's safety net."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.intake import worker
from bot.intake.inbox import Inbox
from bot.intake.slack_dedupe import remember_event
from bot.scheduler import create_scheduler, intake_job
from bot.zoho.sandbox import webhooks as zw
from tests.feed_helpers import deliver, feed_structure, posts


@pytest.fixture
def structure():
    return feed_structure()


async def test_a_delivery_is_processed_in_the_background(app_client, deps, sandbox, slack):
    st = sandbox.state
    slack.stub.users_by_email["maria.lopez@example.com"] = "U0MARIA001"
    ticket = zw.open_ticket(st, st.desk_account_by_crm[st.demo_account_id], "Badge printer jammed")
    reply = await deliver(app_client, "desk", [zw.desk_event(st, "Ticket_Add", ticket)])
    assert reply.status_code == 200
    for _ in range(500):  # nobody drains by hand: the worker the delivery woke does it
        if posts(slack.stub):
            break
        await asyncio.sleep(0.01)
    assert [p["text"] for p in posts(slack.stub)] == ["New ticket for Northwind Logistics Inc."]
    await deps.intake.stop()


async def test_the_scheduler_drains_and_forgets_old_slack_event_ids(deps, clock):
    assert create_scheduler(deps).get_job("inbox-drain") is not None
    inbox = Inbox(deps.store, clock)
    inbox.add("mystery", "x1", "{}")
    remember_event(deps.store, "Ev-old", clock.now - timedelta(days=3))
    remember_event(deps.store, "Ev-new", clock.now)
    await intake_job(deps)
    [entry] = inbox.list()
    assert entry.state == "failed" and "no processor for a mystery entry" in entry.error
    assert remember_event(deps.store, "Ev-old", clock.now) is True  # pruned, so new again
    assert remember_event(deps.store, "Ev-new", clock.now) is False


async def test_stop_ends_the_worker_even_when_cancelled_as_it_wakes(deps):
    intake = deps.intake
    intake.start()
    for _ in range(500):  # until the worker has drained the empty inbox and waits to be woken
        await asyncio.sleep(0.01)
        if intake._wake is not None and not intake._wake.is_set():
            break
    task = intake._task
    assert task is not None and not task.done()
    intake.kick()  # a delivery wakes it in the same instant as shutdown cancels it
    stopping = asyncio.ensure_future(intake.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)  # a deadline, not a timing claim: the bug was a hang
    if not done:
        task.cancel()
    assert done and task.done(), "the worker kept looping after stop()"
    await stopping


async def test_stop_during_a_wait_returns_and_a_kick_starts_it_again(deps):
    intake = deps.intake
    intake.start()
    await asyncio.sleep(0.05)
    async with asyncio.timeout(10):
        await intake.stop()
    inbox = Inbox(deps.store, deps.clock)
    inbox.add("mystery", "after-restart", "{}")
    intake.kick()
    for _ in range(500):
        await asyncio.sleep(0.01)
        if inbox.counts()["failed"]:
            break
    assert inbox.counts()["failed"] == 1  # the restarted worker tried it
    await intake.stop()


async def test_the_worker_stands_back_while_deliveries_are_being_taken(deps, monkeypatch):
    """Acknowledgements first: while a delivery is being taken the worker does not start a batch (until the limit),
    and it starts once the delivery is answered."""
    monkeypatch.setattr(worker, "YIELD_LIMIT", 600.0)  # far beyond this test: only the answer can release it
    intake = deps.intake
    inbox = Inbox(deps.store, deps.clock)
    inbox.add("mystery", "waits", "{}")
    intake.taking()
    draining = asyncio.ensure_future(intake.drain())
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not draining.done() and inbox.counts()["pending"] == 1
    intake.taken()
    async with asyncio.timeout(30):  # a deadline, not a timing claim
        report = await draining
    assert report.failed == 1 and inbox.counts()["failed"] == 1


async def test_a_flood_that_never_pauses_still_gets_processed(deps, monkeypatch):
    monkeypatch.setattr(worker, "YIELD_LIMIT", 0.05)
    intake = deps.intake
    inbox = Inbox(deps.store, deps.clock)
    for i in range(3):
        inbox.add("mystery", f"flood-{i}", "{}")
    intake.taking()  # never answered: the worker still takes a batch once YIELD_LIMIT has passed
    async with asyncio.timeout(30):
        report = await intake.drain()
    assert report.failed == 3
    intake.taken()
