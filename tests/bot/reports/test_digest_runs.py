"""Digest scheduling (time zones, DST), sending through the Slack stand-in, and never sending twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.config import parse_structure
from bot.deps import build_deps
from bot.reports.digest_runs import (
    DailyTrigger,
    DigestLedger,
    catch_up,
    digest_job,
    last_slot,
    next_slot,
    send_digest,
    slot_on,
)
from bot.scheduler import create_scheduler
from tests.bot.reports import fixtures as fx
from tests.conftest import FAST_RETRY

BERLIN = ZoneInfo("Europe/Berlin")
STRUCTURE = """
timezone = "Europe/Berlin"
[channels]
finance = "C0FINANCE1"
sales = "C0SALES001"
leadership = "C0LEADERS1"
[digests.finance]
time = 08:30:00
[digests.sales]
time = 06:00:00
[digests.support]
time = 08:00:00
enabled = false
[digests.leadership]
time = 08:30:00
timezone = "Europe/London"
"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def structure():  # type: ignore[no-untyped-def]
    return parse_structure(STRUCTURE)


@pytest.fixture
def ready(deps, clock):  # type: ignore[no-untyped-def]
    fx.fill(deps.store)
    clock.now = fx.NOW  # Thursday 15 Oct 2026, 08:35 in Berlin, 07:35 in London
    return deps


def posts(slack) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return slack.stub.calls_to("chat.postMessage")


# ---- when ----------------------------------------------------------------------------------------------------


def test_berlin_slots_move_with_daylight_saving():
    at = time(8, 30)
    # last Sunday of March 2026 is the 29th: CET (UTC+1) → CEST (UTC+2)
    assert slot_on(date(2026, 3, 28), at, BERLIN) == utc("2026-03-28T07:30")
    assert slot_on(date(2026, 3, 29), at, BERLIN) == utc("2026-03-29T06:30")
    # last Sunday of October 2026 is the 25th: back to CET
    assert slot_on(date(2026, 10, 24), at, BERLIN) == utc("2026-10-24T06:30")
    assert slot_on(date(2026, 10, 25), at, BERLIN) == utc("2026-10-25T07:30")
    assert next_slot(utc("2026-03-28T07:31"), at, BERLIN) == utc("2026-03-29T06:30")
    assert last_slot(utc("2026-10-25T07:29"), at, BERLIN) == utc("2026-10-24T06:30")


def test_a_time_in_the_gap_moves_forward_and_a_repeated_time_fires_once():
    at = time(2, 30)
    assert slot_on(date(2026, 3, 29), at, BERLIN) == utc("2026-03-29T01:30")  # 03:30 CEST: 02:30 never happens
    first = next_slot(utc("2026-10-25T00:00"), at, BERLIN)
    assert first == utc("2026-10-25T00:30")  # the first 02:30 (CEST) of the night the clocks go back
    assert next_slot(first + timedelta(microseconds=1), at, BERLIN) == utc("2026-10-26T01:30")


def test_the_trigger_walks_across_the_change_in_apscheduler(ready):
    scheduler = create_scheduler(ready)
    job = scheduler.get_job("digest-finance")
    assert isinstance(job.trigger, DailyTrigger)
    assert scheduler.get_job("digest-support") is None  # enabled = false
    assert scheduler.get_job("digest-catch-up") is not None
    fire, fired = None, []
    now = utc("2026-03-27T12:00")
    for _ in range(4):
        fire = job.trigger.get_next_fire_time(fire, now)
        fired.append(fire.astimezone(UTC))
    assert fired == [utc("2026-03-28T07:30"), utc("2026-03-29T06:30"), utc("2026-03-30T06:30"), utc("2026-03-31T06:30")]
    assert all(f.astimezone(BERLIN).time() == time(8, 30) for f in fired)
    london = scheduler.get_job("digest-leadership").trigger
    assert london.get_next_fire_time(None, utc("2026-10-24T12:00")) == utc("2026-10-25T08:30")  # GMT again


# ---- sending -------------------------------------------------------------------------------------------------


async def test_sent_once_and_never_again_after_a_restart(ready, slack, settings, structure, sandbox, clock):
    run = await send_digest(ready, "finance")
    assert run.sent == ["#C0FINANCE1"] and run.day == date(2026, 10, 15)
    [post] = posts(slack)
    assert post["channel"] == "C0FINANCE1" and "Finance digest" in post["text"]
    assert (await send_digest(ready, "finance")).skipped == ["#C0FINANCE1"]

    # A restart: a new process opens the same SQLite file and catches up what it thinks it missed.
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()))
    again = build_deps(settings, structure, http=http, clock=clock, retry=FAST_RETRY)
    try:
        assert again.store is not ready.store
        await catch_up(again)
        await digest_job(again, "finance")
    finally:
        await again.aclose()
    finance = [p for p in posts(slack) if p["channel"] == "C0FINANCE1"]
    assert len(finance) == 1
    assert DigestLedger(ready.store).states("finance", date(2026, 10, 15)) == {"": "sent"}


async def test_missed_digests_are_sent_on_start_within_the_grace_window_only(ready, slack, clock):
    # 08:35 Berlin: finance (08:30) is 5 minutes late and sales (06:00) 2 h 35 late, both within the default
    # 180 minutes; leadership (08:30 London) last came yesterday, 23 hours ago; support is turned off.
    runs = await catch_up(ready)
    assert sorted(r.team for r in runs) == ["finance", "sales"]
    assert {p["channel"] for p in posts(slack)} == {"C0FINANCE1", "C0SALES001"}
    assert len(posts(slack)) == 3  # finance, and Ann's and Ben's sales digests (no Slack users: the channel)

    # next day, 13:00 Berlin: finance was due 4 h 30 ago, sales 7 h ago, leadership (08:30 London) 3 h 30 ago
    clock.now = utc("2026-10-16T11:00")
    assert await catch_up(ready) == []
    assert len(posts(slack)) == 3


async def test_sales_digests_go_to_each_owner_directly(ready, slack):
    slack.stub.users_by_email["ann@example.com"] = "U0ANN0001"
    run = await send_digest(ready, "sales")
    assert sorted(run.sent) == ["ann@example.com", "ben@example.com"]
    assert {p["channel"]: "Sales digest" in p["text"] for p in posts(slack)} == {"U0ANN0001": True, "C0SALES001": True}
    assert DigestLedger(ready.store).states("sales", date(2026, 10, 15)) == {
        "ann@example.com": "sent",
        "ben@example.com": "sent",
    }


async def test_the_leadership_chart_is_uploaded_with_the_message(ready, slack, clock):
    clock.now = utc("2026-10-15T08:00")  # 09:00 London
    run = await send_digest(ready, "leadership")
    assert run.sent == ["#C0LEADERS1"]
    [post] = posts(slack)
    [complete] = slack.stub.calls_to("files.completeUploadExternal")
    assert complete["channel_id"] == "C0LEADERS1"
    assert complete["thread_ts"]  # in the digest's thread
    [png] = slack.stub.uploads.values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "Leadership digest" in post["text"]


async def test_a_send_slack_refused_is_retried_and_then_recorded(ready, slack):
    slack.stub.fail_next["chat.postMessage"] = "channel_not_found"
    run = await send_digest(ready, "finance")
    assert run.failed == ["#C0FINANCE1 (channel_not_found)"] and run.sent == []
    assert DigestLedger(ready.store).states("finance", date(2026, 10, 15)) == {"": "failed"}
    assert (await send_digest(ready, "finance")).sent == ["#C0FINANCE1"]


async def test_a_team_with_nowhere_to_send_is_reported(ready, slack):
    ready.structure.channels.support = ""
    run = await send_digest(ready, "support")
    assert run.undeliverable == ["#support"] and posts(slack) == []
