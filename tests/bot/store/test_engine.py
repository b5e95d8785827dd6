"""The store package: every SQL statement lives in bot/store; readers never wait for the writer; one writer."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Account, Owner
from bot.store import Store

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b"
    r"|\bCREATE (TABLE|INDEX)\b|PRAGMA "
)


def test_no_sql_outside_the_store_package():
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("bot/store/", "bot/zoho/sandbox/")):  # the sandbox is a stand-in for Zoho, not ours
            continue
        offenders += [f"{rel}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if SQL.search(line)]
        if ".transaction()" in path.read_text():
            offenders.append(f"{rel}: uses store.transaction() (for tests only)")
    assert offenders == []


def test_engine_specific_sql_stays_in_the_engine_and_the_migrations():
    sqlite_only = re.compile(
        r"INSERT OR |OR IGNORE|OR REPLACE|sqlite_master|PRAGMA|AUTOINCREMENT|rowid|INDEXED BY", re.I
    )
    found = []
    for path in sorted((ROOT / "bot" / "store").glob("*.py")):
        if path.name in ("engine.py", "migrations.py"):
            continue
        found += [
            f"{path.name}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if sqlite_only.search(line)
        ]
    assert found == []


def _account(id: str, name: str) -> Account:
    return Account(id=id, name=name, owner=Owner(id="1", name="Ann", email="ann@example.com"), modified_time=T0)


def test_a_reader_does_not_wait_for_a_writer_and_sees_only_committed_rows(store: Store):
    store.upsert_accounts([_account("1", "Committed Ltd")])
    writing = threading.Event()
    release = threading.Event()

    def long_write() -> None:
        with store.atomic():
            store.upsert_accounts([_account("2", "Uncommitted Ltd")])
            writing.set()
            release.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert writing.wait(10)
        seen: list[list[str]] = []
        reader = threading.Thread(target=lambda: seen.append([a.name for a in store.get_accounts(["1", "2"])]))
        reader.start()
        reader.join(10)  # a deadline, not a timing claim: with one shared lock this would wait for `release`
        assert not reader.is_alive(), "the reader waited for the writer"
        assert seen == [["Committed Ltd"]]
    finally:
        release.set()
        writer.join()
    assert [a.name for a in store.get_accounts(["1", "2"])] == ["Committed Ltd", "Uncommitted Ltd"]


def test_reads_inside_a_write_see_that_write(store: Store):
    with store.atomic():
        store.upsert_accounts([_account("1", "Own Write Ltd")])
        assert store.get_account("1") is not None


def test_a_failed_atomic_block_leaves_nothing(store: Store):
    with pytest.raises(RuntimeError), store.atomic():
        store.upsert_accounts([_account("1", "Rolled Back Ltd")])
        with store.atomic():  # a savepoint inside
            store.set_watermark("x", "1")
        raise RuntimeError("boom")
    assert store.get_account("1") is None and store.get_watermark("x") is None


def test_writes_from_many_threads_are_serialised(store: Store):
    def write(n: int) -> None:
        for i in range(20):
            store.upsert_accounts([_account(f"{n}-{i}", f"Account {n} {i}")])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts()["accounts"] == 160


async def test_run_keeps_store_work_off_the_event_loop(store: Store):
    loop_thread = threading.get_ident()
    ran_on: list[int] = []

    def work() -> int:
        ran_on.append(threading.get_ident())
        return store.counts()["accounts"]

    assert await store.run(work) == 0
    assert ran_on and ran_on[0] != loop_thread


async def test_a_quick_read_never_queues_behind_long_work_on_every_store_thread(store: Store):
    """/account's reads (`run_quick`) have threads of their own: reports filling every `run` thread don't hold them."""
    from bot.store import THREADS

    store.set_watermark("sync", "done")
    release = threading.Event()
    started = threading.Semaphore(0)

    def long_report() -> None:
        started.release()
        release.wait(10)

    busy = [asyncio.ensure_future(store.run(long_report)) for _ in range(THREADS)]
    try:
        for _ in range(THREADS):
            assert await asyncio.to_thread(started.acquire, True, 10)
        # A deadline, not a timing claim: queued behind the reports this would wait for `release`.
        assert await asyncio.wait_for(store.run_quick(store.get_watermark, "sync"), 10) == "done"
        assert not any(task.done() for task in busy)
    finally:
        release.set()
        await asyncio.gather(*busy)


def test_reads_grouped_by_reading_share_one_snapshot(store: Store):
    """Inside `reading()` every read sees the database as at the first one: a write committed meanwhile (by
    another thread) shows only afterwards."""
    store.set_watermark("sync", "1")
    with store.reading():
        assert store.get_watermark("sync") == "1"
        writer = threading.Thread(target=store.set_watermark, args=("sync", "2"))
        writer.start()
        writer.join(10)
        assert store.get_watermark("sync") == "1"
    assert store.get_watermark("sync") == "2"


def test_handoff_rows_are_read_by_name(store: Store):
    store.handoffs.insert_many(
        [
            {
                "deal_id": "D1",
                "state": "ready",
                "owner_email": "ann@example.com",
                "finance_ts": "1.2",
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-02T00:00:00+00:00",
            }
        ]
    )
    [row] = store.handoffs.rows(state="ready")
    assert (row["deal_id"], row["owner_email"], row["finance_ts"], row["kind"]) == (
        "D1",
        "ann@example.com",
        "1.2",
        "invoice",
    )
    assert store.handoffs.update("D1", {"state": "approved"}, expect=["waiting"]) is None
    moved = store.handoffs.update("D1", {"state": "approved"}, expect=["ready"])
    assert moved is not None and moved["state"] == "approved" and moved["version"] == 1
    with pytest.raises(ValueError):
        store.handoffs.update("D1", {"state; DROP TABLE handoffs": "x"}, expect=None)


def test_an_account_card_snapshot_with_nothing_linked_reads_on_both_engines(store: Store):
    """An empty `IN ()` is SQLite-only: a snapshot of an account with no Books or Desk link must still read."""
    store.upsert_accounts([_account("1", "Lonely Ltd")])
    snapshot = store.snapshot("1", T0)
    assert snapshot is not None and snapshot.account.name == "Lonely Ltd"
    assert store.get_accounts([]) == [] and store.account_names([]) == {}
