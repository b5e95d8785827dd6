"""The one place that knows the database engine (SQLite or PostgreSQL): connections, pragmas, transactions.

Everything else in `bot.store` writes SQL both SQLite and PostgreSQL accept: `?` parameters (translated here
when another driver wants `%s`), `INSERT … ON CONFLICT (…) DO NOTHING`, `… DO UPDATE SET c = excluded.c`, no
`INSERT OR IGNORE`/`REPLACE`, no `rowid`. Only the DDL in `migrations.py` and this module are engine-specific.

SQLite (`SqliteEngine`): WAL, one writer connection behind a lock (SQLite allows one writer at a time anyway)
and one read-only connection per reader thread, so readers never wait for the writer or for each other. A read
made while the same thread holds the writer (inside `write()`) uses the writer, so it sees its own changes.

PostgreSQL (`PostgresEngine`, `THROUGHLINE_DATABASE_URL`): the same SQL text through psycopg 3 and a connection
pool, so several replicas share one database. Claims use `skip_locked`/`for_update` (empty on SQLite), scheduled
work a `leader_lock` (an advisory lock; SQLite: always the leader).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bot.errors import StoreError

if TYPE_CHECKING:
    from sqlite_utils import Database

Row = Any  # sqlite3.Row or PgRow: by position and by column name (`dict(row)` works on both)
IN_CHUNK = 500  # ids per `IN (...)`, well under any engine's bound-parameter limit
# The SQLite writer's page cache (KiB; SQLite's default is 2,000). A mirror write touches a leaf of every index of
# its table; at 10,000 accounts a table's indexes outgrow 2 MB and each insert re-read pages (a full sync's store
# time grew 15-17x for 10x the rows). A first sync now builds the report indexes after loading (bot/store/indexes.py),
# so it writes through fewer: replayed at 10,000 accounts, 8 MB and 16 MB read and wrote the same bytes in the same
# CPU time (without the deferral too: the same CPU, 1.5x the reads). It fills only as used, and stays for the
# process's life; building those indexes sorts in memory of about this size: every MB here is a MB of serve's peak.
WRITER_CACHE_KIB = 8_192


def marks(n: int) -> str:
    """`n` placeholders for `IN (…)`; none gives `IN (NULL)`, which matches nothing on both engines (PostgreSQL
    refuses an empty `IN ()`). Never use it in `NOT IN`."""
    return ", ".join("?" * n) if n else "NULL"


def chunks(ids: Sequence[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def plain_rows(conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row as a plain tuple, by position only: reports that read thousands of rows skip building a
    `sqlite3.Row` for each (about half a microsecond a row); PostgreSQL's rows are tuples already."""
    if isinstance(conn, sqlite3.Connection):
        cursor = conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params).fetchall()
    return [tuple(r) for r in conn.execute(sql, list(params)).fetchall()]


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


class Engine(ABC):
    """What the store's tables need from an engine; `open_engine` picks one from the location."""

    name: ClassVar[str]
    location: str
    # Appended to a SELECT that picks rows to claim: other claimers skip rows one is taking (PostgreSQL);
    # SQLite has one writer at a time, so nothing to add.
    skip_locked: ClassVar[str] = ""
    # Appended to a SELECT whose row is read, changed and written back in one transaction (PostgreSQL: lock it
    # so a concurrent replica waits; SQLite: the one writer already excludes everyone).
    for_update: ClassVar[str] = ""

    @abstractmethod
    def write(self) -> Any:
        """Context manager: one atomic change; nested blocks (same thread) become savepoints."""

    @abstractmethod
    def read(self) -> Any:
        """Context manager: a consistent snapshot for several SELECTs."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def table_exists(self, conn: Any, table: str) -> bool: ...

    @abstractmethod
    def migration_db(self) -> Any:
        """What a migration is given: an object with `execute(sql)` (sqlite-utils' Database on SQLite)."""

    def lock_schema(self, conn: Any) -> None:  # noqa: B027 (nothing to do on SQLite: BEGIN IMMEDIATE serialises)
        """Inside a migration's transaction: keep other processes from migrating at the same time."""

    def leader_lock(self, name: str) -> LeaderLock:
        return AlwaysLeader()

    def covering(self, index: str) -> str:
        """Written after a joined table: read it through `index`, which holds every column the query uses of it.
        SQLite's planner prefers the primary key for an equality join and then reads the wide row; PostgreSQL
        picks a covering index on its own."""
        return ""

    def index_definitions(self, conn: Any, tables: Sequence[str]) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the secondary indexes on `tables` that may be dropped for a bulk load and
        created again after it. PostgreSQL: none, nothing is deferred there (its planner needs no named index)."""
        return []

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.read() as conn:
            return list(conn.execute(sql, list(params)).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self.read() as conn:
            return conn.execute(sql, list(params)).fetchone()


class LeaderLock:
    """Who runs scheduled work: `check()` answers whether this process leads now (taking the lead when free)."""

    def check(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        pass


class AlwaysLeader(LeaderLock):
    """SQLite: one serving process, always the leader."""

    def check(self) -> bool:
        return True


def open_engine(location: str | Path) -> Engine:
    """`postgresql://…` (or `postgres://…`) opens PostgreSQL; anything else is a SQLite file path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(text)
    return SqliteEngine(location)


class SqliteEngine(Engine):
    """SQLite in WAL mode: a writer connection (serialised) and per-thread reader connections."""

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(path)
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
            self.writer.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the local database {self.path}: {exc}") from exc
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        """sqlite-utils over the writer, for schema introspection in tests and tools (imported on first use: the
        serving process never needs it, and it loads numpy)."""
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

    def table_exists(self, conn: sqlite3.Connection, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return conn.execute(sql, [table]).fetchone() is not None

    def migration_db(self) -> _SqliteMigrationDb:
        return _SqliteMigrationDb(self.writer)

    def index_definitions(self, conn: Any, tables: Sequence[str]) -> list[tuple[str, str]]:
        sql = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks(len(tables))}) ORDER BY name"
        )
        return [(str(row[0]), str(row[1])) for row in conn.execute(sql, list(tables)).fetchall()]

    def covering(self, index: str) -> str:
        return f"INDEXED BY {index}"


class _SqliteMigrationDb:
    """What a migration gets on SQLite: `execute(ddl)` on the writer, inside the migration's transaction (as on
    PostgreSQL; not sqlite-utils, which would load numpy into the serving process at its first start)."""

    def __init__(self, writer: sqlite3.Connection) -> None:
        self.writer = writer

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> sqlite3.Cursor:
        return self.writer.execute(sql, params or ())


# ---- PostgreSQL ------------------------------------------------------------------------------------------------
# The same SQL text as SQLite: `?` becomes psycopg's `%s` here (a literal `%` is doubled), rows answer by position
# and by column name like sqlite3.Row, and the migrations' DDL is translated for the few types that differ.

_DDL = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", re.I), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),  # SQLite's INTEGER holds 64 bits
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),  # SQLite's REAL is 8 bytes; PostgreSQL's is 4
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
)
_LEADER_CHECK_SECONDS = 15.0


def pg_sql(sql: str) -> str:
    return _pg_sql_cached(sql)


@functools.lru_cache(maxsize=2048)
def _pg_sql_cached(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def pg_ddl(sql: str) -> str:
    for pattern, replacement in _DDL:
        sql = pattern.sub(replacement, sql)
    return sql


class PgRow(tuple):  # type: ignore[type-arg]
    """A result row by position (`row[0]`) and by column name (`row["id"]`, `dict(row)`), as sqlite3.Row."""

    _names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = tuple(c.name for c in cursor.description or ())

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._names = names
        return row

    return make


class PgConnection:
    """A psycopg connection that takes `?` parameters, as the store's SQL is written."""

    def __init__(self, conn: Any) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self.raw.cursor(row_factory=_row_factory)
        return cur.execute(pg_sql(sql), list(params) if params else None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cur = self.raw.cursor(row_factory=_row_factory)
        cur.executemany(pg_sql(sql), [list(r) for r in rows])
        return cur


class _PgMigrationDb:
    """What a migration gets on PostgreSQL: `execute(ddl)` on the migration's own transaction."""

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = engine

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.engine.write() as conn:
            return conn.execute(pg_ddl(sql), params)


class PostgresEngine(Engine):
    """PostgreSQL through a psycopg 3 connection pool: writes from many threads and processes at once (row
    locks, not one writer), READ COMMITTED writes whose compare-and-set statements re-check their WHERE after a
    lock wait, and REPEATABLE READ read-only snapshots for reads."""

    name = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"
    # Connections: one per thread working at once, so a quick read (/account) never waits for a connection that
    # reports hold: the store's threads (4) + its quick lane (2) + the inbox committer (1) + asyncio's default
    # executor (Slack replay claims; min(32, cores + 4)), with room to spare. Opened on demand, from one.
    POOL = 16

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.location = url
        self.path = Path(url.split("?")[0].rsplit("/", 1)[-1] or "postgres")  # a name for messages only
        self.memory = False
        self.url = url
        self._local = threading.local()
        self._psycopg = psycopg
        try:
            self.pool = ConnectionPool(
                url, min_size=1, max_size=self.POOL, open=True, timeout=30, kwargs={"autocommit": False}
            )
            self.pool.wait(timeout=30)
        except Exception as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {safe_location(url)}: {exc}") from exc

    def _conn(self) -> PgConnection | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def write(self) -> Iterator[PgConnection]:
        current = self._conn()
        if current is not None:  # nested: a savepoint on this thread's transaction
            with current.raw.transaction():
                yield current
            return
        try:
            with self.pool.connection() as raw:
                conn = PgConnection(raw)
                self._local.conn = conn
                try:
                    with raw.transaction():
                        yield conn
                finally:
                    self._local.conn = None
        except self._psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {safe_location(self.url)} failed: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        current = self._conn()
        if current is not None:  # a read inside a write sees that write
            yield current
            return
        with self.pool.connection() as raw:
            conn = PgConnection(raw)
            self._local.conn = conn
            try:
                with raw.transaction():
                    raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield conn
            finally:
                self._local.conn = None

    def close(self) -> None:
        self.pool.close()

    def table_exists(self, conn: Any, table: str) -> bool:
        return conn.execute("SELECT to_regclass(?) IS NOT NULL", [table]).fetchone()[0] is True

    def migration_db(self) -> Any:
        return _PgMigrationDb(self)

    def lock_schema(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(?)", [_lock_key("throughline:schema")])

    def leader_lock(self, name: str) -> LeaderLock:
        return PgLeaderLock(self.url, _lock_key(f"throughline:leader:{name}"))

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        self.one("SELECT 1")


class PgLeaderLock(LeaderLock):
    """A session-level advisory lock on a connection of its own: PostgreSQL releases it when that connection
    ends, so a leader that dies (even `kill -9`) frees it at once, and one cut off from the network within the
    TCP keepalive below; the others try again at every `check()`."""

    def __init__(self, url: str, key: int) -> None:
        self.url = url
        self.key = key
        self._conn: Any = None
        self._lock = threading.Lock()

    def check(self) -> bool:
        import psycopg

        with self._lock:
            try:
                if self._conn is not None and not self._conn.closed:
                    self._conn.execute("SELECT 1")  # still connected, so still holding it
                    return True
                self._conn = psycopg.connect(
                    self.url,
                    autocommit=True,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                )
                held = self._conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()[0]
                if not held:
                    self._conn.close()
                    self._conn = None
                return bool(held)
            except psycopg.Error:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                return False

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    import hashlib

    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def safe_location(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
