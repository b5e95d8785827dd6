"""Local state: the one owner of every table and every SQL statement (features call typed methods).

    Store                 the facade: open once per process, share, `close()` when done
    ├─ mirror methods     bot/store/mirror.py   accounts, contacts, deals, Books, Desk; `load()` for reports/audit
    ├─ state methods      bot/store/state.py    account read times, watermarks, Slack users, Slack event ids
    ├─ .inbox             bot/store/inbox.py    webhook deliveries
    ├─ .handoffs          bot/store/handoffs.py handoffs and the write-ahead log of Zoho writes
    ├─ .audit             bot/store/audit.py    audit trail and drift-audit runs
    ├─ .notifications     bot/store/notifications.py  sent-once messages and the digest ledger
    └─ engine             bot/store/engine.py   connections and transactions: the only engine-specific code,
                          with the DDL in bot/store/migrations.py

Nothing here runs on the event loop by itself: async code calls `await store.run(method, *args)`, which runs
the method on the store's thread pool (`run_quick`: a lane of its own for short reads a person waits on). Reads
use a per-thread reader connection (WAL), so they never wait for the writer or each other; writes are serialised
on the one writer connection.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot.account.lookup import NameIndex
from bot.errors import StoreError
from bot.store.audit import AuditTables
from bot.store.engine import LeaderLock, SqliteEngine, open_engine, safe_location
from bot.store.handoffs import HandoffTables
from bot.store.inbox import InboxTable
from bot.store.indexes import DeferredIndexes
from bot.store.migrations import MIGRATIONS, Migration
from bot.store.mirror import MIRROR_TABLES, MirrorRecords, MirrorTables
from bot.store.notifications import NotificationTables
from bot.store.state import StateTables

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["MIGRATIONS", "MIRROR_TABLES", "Migration", "MirrorRecords", "Store"]

P = ParamSpec("P")
R = TypeVar("R")
THREADS = 4  # store work in flight at once from async code (readers run in parallel; writes queue on the lock)
# A lane of its own for short reads a person is waiting on (`run_quick`: /account's answer from the mirror), so a
# report, a sync or the Home tab occupying every `run` thread never queues them.
QUICK_THREADS = 2


class Store(MirrorTables, StateTables, DeferredIndexes):
    """The SQLite store. Open once per process and share; `close()` when done."""

    def __init__(self, path: str | Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.engine = open_engine(path)
        # The SQLite file, or the PostgreSQL URL (what a report's child process opens again).
        self.path: Path | str = path if self.engine.name == "postgresql" else Path(path)
        self._candidates: list[tuple[str, str]] | None = None
        self._name_index: NameIndex | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._quick: ThreadPoolExecutor | None = None
        try:
            self.migrate(migrations)
        except BaseException:
            self.engine.close()
            raise
        self.inbox = InboxTable(self.engine)
        self.handoffs = HandoffTables(self.engine)
        self.audit = AuditTables(self.engine)
        self.notifications = NotificationTables(self.engine)

    @property
    def db(self) -> Database:
        """sqlite-utils over the writer connection, for schema introspection in tests and tools only (SQLite)."""
        if not isinstance(self.engine, SqliteEngine):
            raise StoreError("sqlite-utils introspection needs the SQLite engine")
        return self.engine.db

    def close(self) -> None:
        if hasattr(self, "inbox"):
            self.inbox.close()
        for pool in (self._pool, self._quick):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._quick = None
        self.engine.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group several store calls of this thread into one transaction (nested blocks are savepoints)."""
        with self.engine.write():
            yield

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Group several reads of this thread into one snapshot: one transaction instead of one per read."""
        with self.engine.read():
            yield

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic change on the writer, for tests that set up rows the features never write themselves."""
        with self.engine.write():
            # sqlite-utils on SQLite; on PostgreSQL an object with `execute(sql, params)` only
            yield self.db if isinstance(self.engine, SqliteEngine) else self.engine.migration_db()

    async def run(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run store work off the event loop, on the store's threads."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="store")
        import asyncio  # here, not at the top: `throughline report` opens a store and never needs the event loop

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(method, *args, **kwargs))

    async def run_quick(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`run` for a short read a person is waiting on (milliseconds, no Zoho call), on threads that long work
        never uses. Each thread reads through its own connection, so it never waits for a report's reads either."""
        if self._quick is None:
            self._quick = ThreadPoolExecutor(QUICK_THREADS, thread_name_prefix="store-quick")
        import asyncio

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._quick, functools.partial(method, *args, **kwargs))

    # ---- schema --------------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.engine.read() as conn:
            if not self.engine.table_exists(conn, "schema_version"):
                return 0
            row = conn.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    @property
    def shared(self) -> bool:
        """Several processes may use this database at once (PostgreSQL). On SQLite one process serves, so a claim
        left by an earlier start belongs to a dead process and is free at once."""
        return self.engine.name != "sqlite"

    def leader_lock(self, name: str) -> LeaderLock:
        """Who among the replicas runs scheduled work `name` (SQLite: this one process, always)."""
        return self.engine.leader_lock(name)

    def database_state(self) -> tuple[str, str, int, int]:
        """(engine, where without any password, schema version, migrations this code knows), read from the
        database now: raises StoreError when it does not answer."""
        try:
            version = self.schema_version()
        except StoreError:
            raise
        except Exception as exc:  # the driver's own error: a dropped connection, a missing table
            raise StoreError(f"the database at {safe_location(self.engine.location)} does not answer: {exc}") from exc
        return self.engine.name, safe_location(self.engine.location), version, len(MIGRATIONS)

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> int:
        """Run the migrations this database has not seen yet, each atomically with its version bump (several
        processes starting at once: the engine's schema lock lets one run each, the others see it done)."""
        if self.schema_version() == len(migrations):
            return len(migrations)  # up to date (every start but the first): one read, never the writer's lock
        with self.engine.write() as conn:
            self.engine.lock_schema(conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.schema_version()
        if current > len(migrations):
            raise StoreError(
                f"{self.engine.location} has schema version {current}, newer than this code knows ({len(migrations)})"
            )
        for number in range(current + 1, len(migrations) + 1):
            with self.engine.write() as conn:
                self.engine.lock_schema(conn)
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                if row is not None and int(row[0]) >= number:
                    continue  # another process ran it meanwhile
                migrations[number - 1](self.engine.migration_db())
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        return len(migrations)
