from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from bot.events import TicketOpened
from bot.feed.notify import Notifier
from bot.feed.rules import Notice
from bot.models import Ticket


def _notice(n: int, *, channel: str = "C0SUPPORT1", owner: str = "", fallback: str = "", account: str = "A1") -> Notice:
    event = TicketOpened(ticket=Ticket(id=f"T{n}", number=str(n), subject=f"Issue {n}", account_id=account))
    return Notice(
        f"new_ticket:ticket:T{n}>{channel or 'owner'}",
        "new_ticket",
        event,
        account,
        "Acme",
        channel=channel,
        owner_email=owner,
        fallback_channel=fallback,
    )


@pytest.fixture
def notifier(deps):
    return Notifier(
        deps.slack,
        deps.store,
        deps.accounts.directory,
        deps.clock,
        deps.accounts.links,
        deps.structure.tz,
        window=timedelta(minutes=10),
        per_second=100,
    )


async def test_each_key_is_posted_once(notifier, slack):
    sent = await notifier.send(_notice(1))
    assert sent is not None and sent.ts and not sent.grouped
    assert await notifier.send(_notice(1)) is None
    assert len(slack.stub.calls_to("chat.postMessage")) == 1
    assert await notifier.sent(_notice(1).key)


async def test_a_burst_about_one_account_becomes_one_message(notifier, slack, clock):
    first = await notifier.send(_notice(1))
    clock.advance(minutes=2)
    second = await notifier.send(_notice(2))
    third = await notifier.send(_notice(3))
    other_account = await notifier.send(_notice(4, account="A2"))
    assert second.grouped and third.grouped and second.ts == first.ts == third.ts
    assert not other_account.grouped
    updates = slack.stub.calls_to("chat.update")
    assert len(updates) == 2 and updates[-1]["ts"] == first.ts
    assert updates[-1]["text"] == "3 new tickets for Acme in 2 minutes"
    assert len(slack.stub.calls_to("chat.postMessage")) == 2
    clock.advance(minutes=11)  # the window has passed: a new message
    later = await notifier.send(_notice(5))
    assert not later.grouped and later.ts != first.ts


async def test_a_slack_failure_releases_the_key_for_a_retry(notifier, slack):
    slack.stub.fail_next["chat.postMessage"] = "channel_not_found"
    with pytest.raises(SlackApiError):
        await notifier.send(_notice(1))
    assert not await notifier.sent(_notice(1).key)
    assert (await notifier.send(_notice(1))) is not None
    assert len(slack.stub.calls_to("chat.postMessage")) == 2  # the refused one and the retry


async def test_owner_dm_and_fallback(notifier, slack):
    slack.stub.users_by_email["maria@example.com"] = "U0MARIA001"
    dm = await notifier.send(_notice(1, channel="", owner="maria@example.com", fallback="C0SALES001"))
    assert dm.channel == "D0MARIA001"
    assert slack.stub.calls_to("conversations.open") == [{"users": "U0MARIA001"}]
    nobody = await notifier.send(_notice(2, channel="", owner="ghost@example.com", fallback="C0SALES001", account="A2"))
    assert nobody.channel == "C0SALES001"
    assert await notifier.send(_notice(3, channel="", owner="ghost@example.com", account="A3")) is None
    assert len(slack.stub.calls_to("chat.postMessage")) == 2
