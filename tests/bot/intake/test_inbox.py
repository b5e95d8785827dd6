import asyncio
from datetime import timedelta

import pytest

from bot.intake.inbox import MAX_ATTEMPTS, MAX_BACKOFF, Inbox, backoff
from bot.store import Store


@pytest.fixture
def inbox(tmp_path, clock):
    store = Store(tmp_path / "inbox.db")
    yield Inbox(store, clock)
    store.close()


def test_a_replayed_identity_is_stored_once(inbox):
    assert inbox.add("desk", "Ticket_Add:1:100", {"a": 1}) is True
    assert inbox.add("desk", "Ticket_Add:1:100", {"a": 1}) is False
    assert inbox.add("books", "Ticket_Add:1:100", {"a": 1}) is True  # unique per source
    assert inbox.add_many("desk", [("Ticket_Add:1:100", "{}"), ("Ticket_Add:2:100", "{}")]) == 1
    assert inbox.counts()["pending"] == 3


def test_failure_is_kept_with_its_error_and_retried_after_backoff(inbox, clock):
    inbox.add("crm", "x", "{}")
    entry = inbox.pending()[0]
    failed = inbox.mark_failed(entry.id, "ZohoUnavailable: 503")
    assert failed.state == "failed" and failed.error == "ZohoUnavailable: 503" and failed.attempts == 1
    assert failed.next_attempt_at == clock.now + backoff(1)
    assert inbox.pending() == []  # not due yet
    clock.advance(seconds=backoff(1).total_seconds())
    assert [e.id for e in inbox.pending()] == [entry.id]
    inbox.mark_done(entry.id)
    done = inbox.get(entry.id)
    assert done.state == "done" and done.error == "" and done.attempts == 2


def test_backoff_grows_and_gives_up(inbox, clock):
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(30) == MAX_BACKOFF
    inbox.add("crm", "x", "{}")
    entry_id = inbox.pending()[0].id
    for _ in range(MAX_ATTEMPTS):
        last = inbox.mark_failed(entry_id, "boom")
    assert last.next_attempt_at is None  # no more automatic tries; `inbox replay` still works
    clock.advance(days=2)
    assert inbox.pending() == []
    assert inbox.replay(entry_id) is True
    assert [e.id for e in inbox.pending()] == [entry_id]


def test_replay_failed_and_rejected_rows(inbox):
    inbox.add("crm", "a", "{}")
    inbox.add("crm", "b", "{}")
    for entry in inbox.pending():
        inbox.mark_failed(entry.id, "boom")
    rejected = inbox.reject("desk", b"not json", "400: malformed JSON")
    assert inbox.replay(rejected) is False
    assert inbox.get(rejected).state == "rejected"
    assert inbox.replay_failed() == 2
    assert {e.identity for e in inbox.pending()} == {"a", "b"}
    assert [e.id for e in inbox.list("rejected")] == [rejected]
    assert inbox.get(10_000) is None


def test_next_due(inbox, clock):
    assert inbox.next_due() is None
    inbox.add("crm", "a", "{}")
    inbox.mark_failed(inbox.pending()[0].id, "boom")
    assert inbox.next_due() == clock.now + timedelta(seconds=30)


async def test_concurrent_deliveries_share_a_commit_and_are_durable_when_answered(tmp_path, clock):
    store = Store(tmp_path / "group.db")
    inbox = Inbox(store, clock)
    stored = await asyncio.gather(
        *(
            inbox.add_delivery(
                "desk",
                [(f"Ticket_Add:{n}:1", {"n": n}), (f"Ticket_Add:{n}:2", {"n": n})],
                [({"event": "junk"}, "not an event object")] if n % 5 == 0 else [],
            )
            for n in range(40)
        )
    )
    assert stored == [2] * 40
    assert 1 <= store.inbox.group_commits < 40  # deliveries that waited together went in together
    other = Store(tmp_path / "group.db")  # another connection sees every delivery that was answered
    try:
        assert other.inbox.counts() == {"pending": 80, "failed": 0, "done": 0, "rejected": 8}
    finally:
        other.close()
    assert await inbox.add_delivery("desk", [("Ticket_Add:0:1", "{}")], []) == 0  # a replay: stored once
    store.close()
