"""Several replicas on one database (each test opens the store twice, as two processes would, on both engines):
inbox claims, compare-and-set handoffs, sent-once notifications and digests, and the scheduler's leader lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from bot.store import Store
from bot.store.inbox import NewEntry

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def _together(n: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` for i < n on n threads released at once."""
    start = threading.Barrier(n)

    def go(i: int) -> object:
        start.wait(10)
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_each_inbox_entry_is_claimed_by_one_replica(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    a.inbox.add([NewEntry("crm", f"e{i}", "{}") for i in range(300)], [], T0)
    replicas = [a, b, a, b]

    def drain(i: int) -> list[int]:
        store, got = replicas[i], []
        while batch := store.inbox.claim(f"r{i}", T0, T0 + LEASE, 7):
            got += [e.id for e in batch]
            store.inbox.mark_done([e.id for e in batch], T0)
        return got

    claimed = [ids for got in _together(4, drain) for ids in got]  # type: ignore[attr-defined]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 300
    assert a.inbox.counts()["done"] == 300


def test_a_claim_that_outlives_its_replica_expires_and_another_takes_the_entry(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    a.inbox.add([NewEntry("crm", "e1", "{}"), NewEntry("crm", "e2", "{}")], [], T0)
    [first, second] = a.inbox.claim("dead-replica", T0, T0 + LEASE, 10)  # then it dies: never marks them
    assert b.inbox.claim("live", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3), 10) == []
    taken = b.inbox.claim("live", T0 + LEASE, T0 + 2 * LEASE, 10)
    assert [e.identity for e in taken] == ["e1", "e2"]
    b.inbox.mark_done([first.id], T0 + LEASE)
    b.inbox.release("live", [second.id])  # given back: free at once, not after the lease
    assert [e.identity for e in a.inbox.claim("other", T0 + LEASE, T0 + 2 * LEASE, 10)] == ["e2"]


def test_a_failed_entry_is_claimed_again_only_after_its_backoff(store: Store):
    store.inbox.add([NewEntry("crm", "e1", "{}")], [], T0)
    [entry] = store.inbox.claim("r", T0, T0 + LEASE, 10)
    store.inbox.mark_failed(entry.id, "Zoho said no", T0, lambda attempts: T0 + timedelta(minutes=5))
    assert store.inbox.claim("r", T0 + timedelta(minutes=4), T0 + LEASE, 10) == []
    assert [e.attempts for e in store.inbox.claim("r", T0 + timedelta(minutes=5), T0 + LEASE, 10)] == [1]


def test_only_one_of_many_concurrent_handoff_approvals_wins(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    assert a.handoffs.create(
        {"deal_id": "D1", "state": "ready", "created_at": T0.isoformat(), "updated_at": T0.isoformat()}
    )
    assert not b.handoffs.create(
        {"deal_id": "D1", "state": "ready", "created_at": T0.isoformat(), "updated_at": T0.isoformat()}
    )
    results = _together(
        10,
        lambda i: (a, b)[i % 2].handoffs.update("D1", {"state": "approved", "approved_by": f"U{i}"}, expect=["ready"]),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    row = a.handoffs.get("D1")
    assert row is not None and row["version"] == 1 and row["approved_by"] == winners[0]["approved_by"]  # type: ignore[index]


def test_a_notification_and_a_digest_are_claimed_once_across_replicas(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    assert sum(bool(r) for r in _together(8, lambda i: (a, b)[i % 2].notifications.claim("k1", "C1", T0))) == 1
    day = date(2026, 3, 1)
    assert (
        sum(bool(r) for r in _together(8, lambda i: (a, b)[i % 2].notifications.claim_digest("finance", day, "", T0)))
        == 1
    )
    a.notifications.finish_digest("finance", day, "", state="failed", now=T0, channel="", ts="", error="boom")
    assert (
        sum(bool(r) for r in _together(8, lambda i: (a, b)[i % 2].notifications.claim_digest("finance", day, "", T0)))
        == 1
    )  # a failed send is retried by one replica only
    assert a.notifications.digest_states("finance", day) == {"": "sending"}


def test_drift_finding_claims_do_not_lose_each_other(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    run_id = a.audit.save_drift_run(T0, "U1", [], [], forget_before=T0 - timedelta(days=30))
    results = _together(8, lambda i: (a, b)[i % 2].audit.claim_finding(run_id, f"f{i}", f"U{i}", T0))
    assert results == [None] * 8
    run = a.audit.drift_run(run_id)
    assert run is not None and sorted(run.applied) == [f"f{i}" for i in range(8)]


def test_one_leader_at_a_time_and_another_takes_over_when_it_goes(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    first, second = a.leader_lock("scheduler"), b.leader_lock("scheduler")
    if a.engine.name == "sqlite":  # one serving process: always the leader
        assert first.check() and second.check()
        return
    assert first.check()
    assert not second.check()
    assert first.check()  # still leading
    first.release()  # as when its process dies: PostgreSQL ends the session's advisory lock
    assert second.check()
    assert not first.check()
    second.release()


def test_a_handoff_being_written_is_taken_over_only_when_its_writers_claim_expires(open_store: Callable[[], Store]):
    a, b = open_store(), open_store()
    a.handoffs.create(
        {"deal_id": "D1", "state": "approved", "created_at": T0.isoformat(), "updated_at": T0.isoformat()}
    )

    def claim(store: Store, at: datetime) -> dict | None:
        return store.handoffs.claim(
            "D1", {"state": "creating"}, expect=["approved"], expired_in=["creating"], at=at, until=at + LEASE
        )

    assert sum(r is not None for r in _together(6, lambda i: claim((a, b)[i % 2], T0))) == 1
    assert claim(b, T0 + timedelta(minutes=1)) is None  # its writer is alive (the claim holds)
    taken = claim(b, T0 + LEASE)  # the writer died: another replica finishes it
    assert taken is not None and taken["state"] == "creating"
    a.handoffs.update("D1", {"state": "done"}, expect=["creating"])
    assert claim(a, T0 + 10 * LEASE) is None  # done is never written again
