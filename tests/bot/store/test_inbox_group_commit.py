"""Group commit of webhook deliveries (bot/store/inbox.py `add_durably`), on both engines: concurrent deliveries
share a transaction, each (source, identity) is stored once with the first delivery that carried it, and one
delivery that cannot be stored fails alone."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.inbox import NewEntry

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _real(path: Path) -> str:
    return os.path.realpath(path)


async def test_concurrent_deliveries_share_commits_and_each_key_is_stored_once(store: Store):
    assert await store.inbox.add_durably([NewEntry("desk", "k0", '{"n": -1}')], [], T0) == ([True], [])
    # 40 deliveries at once: k0 was stored before; k1…k24 arrive twice (the second time a replay in the same batch)
    deliveries = [[NewEntry("desk", f"k{i % 25}", f'{{"n": {i}}}')] for i in range(40)]
    results = await asyncio.gather(*(store.inbox.add_durably(d, [], T0) for d in deliveries))
    added = [r[0][0] for r in results]
    assert added == [False] + [True] * 24 + [False] * 15
    assert store.inbox.group_commits == 2  # the first delivery, then the forty together
    rows = {e.identity: e.body for e in store.inbox.list(limit=100)}
    assert len(rows) == 25 and rows["k0"] == '{"n": -1}' and rows["k3"] == '{"n": 3}'  # the first one kept
    # a later replay of the whole lot is recognised as such
    again = await asyncio.gather(*(store.inbox.add_durably(d, [], T0) for d in deliveries[:5]))
    assert [r[0][0] for r in again] == [False] * 5
    assert store.inbox.counts()["pending"] == 25


async def test_a_delivery_that_cannot_be_stored_fails_alone(store: Store):
    good, bad, other = (
        [NewEntry("books", "a", "{}")],
        [NewEntry("books", "b", None)],  # type: ignore[arg-type]  # NOT NULL: refused by the database
        [NewEntry("books", "c", "{}"), NewEntry("books", "a", "{}")],
    )
    results = await asyncio.gather(
        *(store.inbox.add_durably(d, [], T0) for d in (good, bad, other)), return_exceptions=True
    )
    assert results[0] == ([True], [])
    assert isinstance(results[1], Exception)
    assert results[2] == ([True, False], [])
    assert sorted(e.identity for e in store.inbox.list()) == ["a", "c"]


async def test_the_wal_is_on_disk_before_a_delivery_is_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """SQLite runs WAL with synchronous=NORMAL; a delivery's commit is followed by an fdatasync of the WAL (what
    synchronous=FULL adds) before its answer, and the WAL's directory entry is synced once."""
    synced: list[str] = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync

    def recording(real):
        def sync(fd: int) -> None:
            real(fd)
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))

        return sync

    monkeypatch.setattr(os, "fdatasync", recording(real_fdatasync))
    monkeypatch.setattr(os, "fsync", recording(real_fsync))
    store = Store(tmp_path / "inbox.db")
    try:
        folder = _real(tmp_path)
        wal = os.path.join(folder, "inbox.db-wal")
        await store.inbox.add_durably([NewEntry("desk", "x", "{}")], [], T0)
        assert synced.count(wal) == 1 and synced.count(folder) == 1
        await asyncio.gather(*(store.inbox.add_durably([NewEntry("desk", f"y{i}", "{}")], [], T0) for i in range(5)))
        assert synced.count(wal) == store.inbox.group_commits == 2
        assert synced.count(folder) == 1
    finally:
        store.close()
