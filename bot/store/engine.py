"""The one place that knows the database engine (SQLite): connections, pragmas, transactions.

Everything else in `bot.store` writes SQL both SQLite and PostgreSQL accept: `?` parameters (translated here
when another driver wants `%s`), `INSERT … ON CONFLICT (…) DO NOTHING`, `… DO UPDATE SET c = excluded.c`, no
`INSERT OR IGNORE`/`REPLACE`, no `rowid`. Only the DDL in `migrations.py` and this module are engine-specific.

Concurrency: WAL, one writer connection behind a lock (SQLite allows one writer at a time anyway) and one
read-only connection per reader thread, so readers never wait for the writer or for each other. A read made
while the same thread holds the writer (inside `write()`) uses the writer, so it sees its own changes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import StoreError

if TYPE_CHECKING:
    from sqlite_utils import Database

Row = sqlite3.Row
IN_CHUNK = 500  # ids per `IN (...)`, well under any engine's bound-parameter limit


def marks(n: int) -> str:
    return ", ".join("?" * n)


def chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield list(ids[start : start + IN_CHUNK])


def upsert_sql(table: str, columns: Sequence[str], key: Sequence[str] = ("id",)) -> str:
    """Insert or update by `key` (standard `ON CONFLICT … DO UPDATE`, SQLite ≥ 3.24 and PostgreSQL)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING")
    )


def insert_new_sql(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """Insert unless a row with the same `key` exists (rowcount tells which)."""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )


class Engine:
    """SQLite in WAL mode: a writer connection (serialised) and per-thread reader connections."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.memory = str(path) == ":memory:"
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        try:
            self.writer = self._connect()
            self.writer.execute("PRAGMA journal_mode=WAL")
            self.writer.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the local database {self.path}: {exc}") from exc
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        """sqlite-utils over the writer: what migrations are given, and schema introspection in tests (imported
        on first use: most processes never need it)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self.writer)
        return self._db

    def _connect(self, *, reader: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if reader:
            conn.execute("PRAGMA query_only=ON")
        return conn

    # ---- transactions --------------------------------------------------------------------------------------

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic change on the writer; nested blocks (same thread) become savepoints."""
        with self._write_lock:
            depth = self._depth()
            self._local.depth = depth + 1
            try:
                if depth == 0:
                    self.writer.execute("BEGIN IMMEDIATE")
                    try:
                        yield self.writer
                    except BaseException:
                        if self.writer.in_transaction:
                            self.writer.execute("ROLLBACK")
                        raise
                    self.writer.execute("COMMIT")
                else:
                    name = f"sp{depth}"
                    self.writer.execute(f"SAVEPOINT {name}")
                    try:
                        yield self.writer
                    except BaseException:
                        self.writer.execute(f"ROLLBACK TO SAVEPOINT {name}")
                        self.writer.execute(f"RELEASE SAVEPOINT {name}")
                        raise
                    self.writer.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._local.depth = depth

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs, never waiting for the writer."""
        if self._depth() or self.memory:
            with self._write_lock:
                yield self.writer
            return
        conn = self._reader()
        if conn.in_transaction:  # nested read on this thread: same snapshot
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if conn is None:
            if self._closed:
                raise StoreError(f"the local database {self.path} is closed")
            conn = self._connect(reader=True)
            self._local.reader = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self.writer.close()

    # ---- helpers -------------------------------------------------------------------------------------------

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.read() as conn:
            return conn.execute(sql, list(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self.read() as conn:
            row: Row | None = conn.execute(sql, list(params)).fetchone()
            return row

    def table_exists(self, conn: sqlite3.Connection, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return conn.execute(sql, [table]).fetchone() is not None
