"""The webhook inbox table (`inbox`): every delivery stored before it is acknowledged (see bot.intake.inbox for
the states and the retry policy, which the feature decides and passes in)."""

from __future__ import annotations

import functools
import json
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # asyncio is imported where a delivery is added: `throughline report` loads this module too
    import asyncio

from bot.store.engine import Engine, Row, chunks, insert_new_sql, marks

STATES = ("pending", "failed", "done", "rejected")
_COLUMNS = "id, source, identity, received_at, body, state, attempts, next_attempt_at, error, processed_at"
_NEW_COLUMNS = ["source", "identity", "received_at", "body", "state", "processed_at"]
_NEW = insert_new_sql("inbox", _NEW_COLUMNS, key=["source", "identity"])
_ROWS_PER_INSERT = 150  # × 6 parameters: under SQLite's historical limit of 999 bound parameters


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_rows_sql(n: int) -> str:
    """`_NEW` for `n` rows in one statement."""
    one = "(" + ", ".join("?" * len(_NEW_COLUMNS)) + ")"
    return (
        f"INSERT INTO inbox ({', '.join(_NEW_COLUMNS)}) VALUES {', '.join([one] * n)} "
        "ON CONFLICT (source, identity) DO NOTHING"
    )


class _Replayed(Exception):
    """Some of the batch's keys were stored before (a replay): the batch is written again, looking them up first."""


class _Raced(Exception):
    """Another writer (a PostgreSQL replica) stored one of the batch's keys between our read and our insert."""


@dataclass(frozen=True)
class InboxEntry:
    id: int
    source: str
    identity: str
    received_at: datetime
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str
    processed_at: datetime | None

    def json(self) -> Any:
        return json.loads(self.body)


def _when(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _entry(r: Row) -> InboxEntry:
    return InboxEntry(
        int(r["id"]),
        r["source"],
        r["identity"],
        datetime.fromisoformat(r["received_at"]),
        r["body"],
        r["state"],
        int(r["attempts"]),
        _when(r["next_attempt_at"]),
        r["error"] or "",
        _when(r["processed_at"]),
    )


class NewEntry(NamedTuple):  # a tuple, not a dataclass: one is built per item of every delivery
    source: str
    identity: str
    body: str
    state: str = "pending"  # or "done": a baseline, marked as seen and never processed


@dataclass(frozen=True)
class Refusal:
    source: str
    body: str
    error: str
    identity: str
    counted: bool  # one row per source, status and minute whose `attempts` counts the refusals


def _settle(settled: Sequence[tuple[asyncio.Future[Added], Added | Exception]]) -> None:
    for waiter, result in settled:
        if waiter.done():  # its request was cancelled (the caller went away)
            continue
        if isinstance(result, Exception):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)


def _fsync(path: str, *, data_only: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        (os.fdatasync if data_only and hasattr(os, "fdatasync") else os.fsync)(fd)
    finally:
        os.close(fd)


Added = tuple[list[bool], list[int]]
Delivery = tuple[Sequence[NewEntry], Sequence[Refusal], datetime]
_Waiting = tuple[Sequence[NewEntry], Sequence[Refusal], datetime, "asyncio.Future[Added]"]
_STOP = None  # put on the queue: the committing thread ends


class InboxTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Deliveries commit on a thread of their own, which takes whatever has queued as soon as its previous
        # commit is written: the batches never wait for the event loop, and a 200 never queues behind the worker.
        self._queue: queue.SimpleQueue[list[_Waiting] | None] = queue.SimpleQueue()
        # What each event loop gathered during its current iteration, handed over at its end in one piece.
        self._gathering: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}
        self._committer: threading.Thread | None = None
        self._committer_lock = threading.Lock()
        self.group_commits = 0  # transactions `add_durably` has committed (fewer than deliveries under load)
        self._synced_dir = False

    async def add_durably(self, entries: Sequence[NewEntry], refusals: Sequence[Refusal], at: datetime) -> Added:
        """`add`, sharing one commit with the deliveries that arrive meanwhile (group commit): while a commit is
        being written, the next ones queue and then go in together. Returns once this delivery is committed."""
        import asyncio

        loop = asyncio.get_running_loop()
        done: asyncio.Future[Added] = loop.create_future()
        gathered = self._gathering.get(loop)
        if gathered is None:  # the first of this loop iteration: hand them over once it has run
            gathered = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathered.append((entries, refusals, at, done))
        return await done

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """One hand-over (and at most one wake-up of the committing thread) per loop iteration, not per delivery."""
        gathered = self._gathering.pop(loop, None)
        if gathered:
            if self._committer is None:
                self._start_committer()
            self._queue.put(gathered)

    def _start_committer(self) -> None:
        with self._committer_lock:
            if self._committer is None:
                self._committer = threading.Thread(target=self._commit_queued, name="inbox-commit", daemon=True)
                self._committer.start()

    def _commit_queued(self) -> None:
        """The committing thread: each round, every delivery queued so far in one transaction (and one fsync)."""
        try:
            self._commit_rounds()
        finally:  # ended by close(), or by something no delivery should wait on: the next hand-over starts another
            with self._committer_lock:
                if self._committer is threading.current_thread():
                    self._committer = None

    def _commit_rounds(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = list(first)
            while not self._queue.empty():
                more = self._queue.get_nowait()
                if more is _STOP:
                    self._queue.put(_STOP)  # after this batch
                    break
                batch += more
            stopping: BaseException | None = None
            try:
                results: list[Added | Exception] = self._add_batch([(e, r, at) for e, r, at, _ in batch])
            except Exception as exc:  # the commit failed: nobody's delivery is durable
                results = [exc] * len(batch)
            except BaseException as exc:  # answered with an error all the same, then the thread ends
                results, stopping = [RuntimeError("the inbox's committing thread stopped")] * len(batch), exc
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Added], Added | Exception]]] = {}
            for (*_, waiter), result in zip(batch, results, strict=True):
                by_loop.setdefault(waiter.get_loop(), []).append((waiter, result))
            for loop, settled in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle, settled)
                except RuntimeError:  # that loop is closed: nobody waits for these answers any more
                    pass
            if stopping is not None:
                raise stopping

    def _add_batch(self, batch: Sequence[Delivery]) -> list[Added | Exception]:
        """Every delivery of the batch in one transaction. Deliveries without refusals (the usual kind) go in with
        one multi-row INSERT; if that fails, or some delivery has refusals, each delivery is written in its own
        savepoint instead, so one that fails (and is answered with an error) does not undo the others."""
        out: list[Added | Exception] = []
        if not any(refusals for _, refusals, _ in batch):
            try:
                try:
                    with self.engine.write() as conn:
                        out = list(self._insert_together(conn, batch, replays=False))
                except _Replayed:  # rolled back; now with a look-up of what is stored already
                    with self.engine.write() as conn:
                        out = list(self._insert_together(conn, batch, replays=True))
            except Exception:  # find out which delivery it was, one savepoint each
                out = []
        if not out:
            with self.engine.write():
                for entries, refusals, at in batch:
                    try:
                        out.append(self.add(entries, refusals, at))
                    except Exception as exc:
                        out.append(exc)
        self._sync_log()
        self.group_commits += 1
        return out

    def _sync_log(self) -> None:
        """Make the commit just written survive a power cut, not only a crash of this process.

        The SQLite writer runs WAL with `synchronous=NORMAL` (bot/store/engine.py): a commit is in the OS's cache,
        and the WAL reaches the disk only at the next checkpoint. What `synchronous=FULL` adds in WAL mode is an
        fsync of the WAL after each commit; the deliveries' commits do exactly that here (one fsync per group
        commit, before any of its deliveries is answered), without making every other write of the process wait
        for the disk. PostgreSQL's commit is durable by itself (`synchronous_commit` on, its default)."""
        if self.engine.name != "sqlite" or getattr(self.engine, "memory", False):
            return
        location = str(self.engine.location)
        for path in (f"{location}-wal", location):  # the WAL; the database itself if it is not in WAL mode
            try:  # fdatasync where there is one, as SQLite's own sync does on Linux
                _fsync(path, data_only=True)
            except FileNotFoundError:
                continue
            if not self._synced_dir:  # a new WAL file's name must reach the disk too (SQLite's DIRSYNC)
                _fsync(os.path.dirname(os.path.abspath(location)))
                self._synced_dir = True
            return

    def _insert_together(self, conn: Any, batch: Sequence[Delivery], *, replays: bool) -> list[Added]:
        """The batch's entries in as few statements as possible (the committing thread gives the event loop the GIL
        at every statement and every row it reads back): one multi-row insert, preceded by a look-up of the keys
        already stored when the batch may hold replays. New means: not stored before, and the first of the batch
        with its key. Raises _Replayed (no look-up) or _Raced (after one) when the insert skipped some rows."""
        keys: dict[tuple[str, str], list[Any]] = {}
        out: list[Added] = []
        for entries, _, at in batch:
            now = at.isoformat()
            added = []
            for e in entries:
                key = (e.source, e.identity)
                added.append(key not in keys)
                keys.setdefault(key, [e.source, e.identity, now, e.body, e.state, now if e.state == "done" else None])
            out.append((added, []))
        stored = self._existing(conn, keys) if replays else set()
        rows = [row for key, row in keys.items() if key not in stored]
        inserted = 0
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            cur = conn.execute(_insert_rows_sql(len(chunk)), [value for row in chunk for value in row])
            inserted += cur.rowcount
        if inserted != len(rows):
            raise (_Raced if replays else _Replayed)(f"{len(rows) - inserted} of {len(rows)} inbox keys were stored")
        if stored:
            for (entries, _, _), (added, _) in zip(batch, out, strict=True):
                added[:] = [new and (e.source, e.identity) not in stored for e, new in zip(entries, added, strict=True)]
        return out

    def _existing(self, conn: Any, keys: dict[tuple[str, str], Any]) -> set[tuple[str, str]]:
        """Those of `keys` already in the inbox (replays), one indexed look-up per source and chunk."""
        by_source: dict[str, list[str]] = {}
        for source, identity in keys:
            by_source.setdefault(source, []).append(identity)
        found: set[tuple[str, str]] = set()
        for source, identities in by_source.items():
            for chunk in chunks(identities):
                rows = conn.execute(
                    f"SELECT identity FROM inbox WHERE source = ? AND identity IN ({marks(len(chunk))})",
                    [source, *chunk],
                ).fetchall()
                found.update((source, r[0]) for r in rows)
        return found

    def add(
        self, entries: Sequence[NewEntry], refusals: Sequence[Refusal], at: datetime
    ) -> tuple[list[bool], list[int]]:
        """Store deliveries (new or not, per entry) and refusals (their ids) in one transaction: durable when this
        returns."""
        now = at.isoformat()
        with self.engine.write() as conn:
            added = [
                conn.execute(
                    _NEW, [e.source, e.identity, now, e.body, e.state, now if e.state == "done" else None]
                ).rowcount
                == 1
                for e in entries
            ]
            ids = [self._refuse(conn, r, now) for r in refusals]
        return added, ids

    def _refuse(self, conn: Any, r: Refusal, now: str) -> int:
        if r.counted:
            sql = insert_new_sql(
                "inbox",
                ["source", "identity", "received_at", "body", "state", "error", "attempts"],
                key=["source", "identity"],
            )
            conn.execute(sql, [r.source, r.identity, now, "", "rejected", r.error, 0])
            conn.execute(
                "UPDATE inbox SET attempts = attempts + 1 WHERE source = ? AND identity = ?", [r.source, r.identity]
            )
            row = conn.execute(
                "SELECT id FROM inbox WHERE source = ? AND identity = ?", [r.source, r.identity]
            ).fetchone()
            return int(row[0])
        cur = conn.execute(
            "INSERT INTO inbox (source, identity, received_at, body, state, error) VALUES (?, ?, ?, ?, 'rejected', ?) "
            "RETURNING id",
            [r.source, r.identity, now, r.body, r.error],
        )
        return int(cur.fetchone()[0])

    def close(self) -> None:
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            self._queue.put(_STOP)
            committer.join()

    def due(self, at: datetime, limit: int) -> list[InboxEntry]:
        """Pending entries, and failed ones whose backoff has passed; oldest first."""
        rows = self.engine.all(
            f"SELECT {_COLUMNS} FROM inbox WHERE state = 'pending' "
            "OR (state = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?) "
            "ORDER BY id LIMIT ?",
            [at.isoformat(), limit],
        )
        return [_entry(r) for r in rows]

    def claim(
        self, owner: str, at: datetime, until: datetime, limit: int, *, expired_by: datetime | None = None
    ) -> list[InboxEntry]:
        """Take up to `limit` due entries (as `due`) that nobody holds, or whose holder's claim ran out, for
        `owner` until `until`; oldest first. On PostgreSQL rows another replica is claiming are skipped, not
        waited for; the claim condition is repeated outside the subquery so two claimers never both get a row."""
        now, expired = at.isoformat(), (expired_by or at).isoformat()
        free = (
            "(state = 'pending' OR (state = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?)) "
            "AND (claimed_until IS NULL OR claimed_until <= ?)"
        )
        with self.engine.write() as conn:
            rows = conn.execute(
                f"UPDATE inbox SET claimed_by = ?, claimed_until = ? WHERE id IN (SELECT id FROM inbox WHERE {free} "
                f"ORDER BY id LIMIT ?{self.engine.skip_locked}) AND {free} RETURNING {_COLUMNS}",
                [owner, until.isoformat(), now, expired, limit, now, expired],
            ).fetchall()
        return sorted((_entry(r) for r in rows), key=lambda e: e.id)

    def release(self, owner: str, entry_ids: Sequence[int]) -> None:
        """Give back claims not worked on (a stopping worker), so the next drain takes them at once."""
        with self.engine.write() as conn:
            conn.executemany(
                "UPDATE inbox SET claimed_by = '', claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                [[i, owner] for i in entry_ids],
            )

    def next_due(self) -> datetime | None:
        row = self.engine.one("SELECT min(next_attempt_at) FROM inbox WHERE state = 'failed'")
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def mark_done(self, entry_ids: Sequence[int], at: datetime) -> None:
        """Several entries in one commit (the worker settles a batch at once)."""
        with self.engine.write() as conn:
            conn.executemany(
                "UPDATE inbox SET state = 'done', attempts = attempts + 1, error = NULL, "
                "next_attempt_at = NULL, processed_at = ?, claimed_by = '', claimed_until = NULL WHERE id = ?",
                [[at.isoformat(), i] for i in entry_ids],
            )

    def mark_failed(self, entry_id: int, error: str, at: datetime, retry_at: Any) -> int | None:
        """Record a failed try; `retry_at(attempts)` says when to try again (None: never). Answers the attempts."""
        with self.engine.write() as conn:
            row = conn.execute("SELECT attempts FROM inbox WHERE id = ?", [entry_id]).fetchone()
            if row is None:
                return None
            attempts = int(row[0]) + 1
            retry = retry_at(attempts)
            conn.execute(
                "UPDATE inbox SET state = 'failed', attempts = ?, error = ?, next_attempt_at = ?, "
                "processed_at = ?, claimed_by = '', claimed_until = NULL WHERE id = ?",
                [attempts, error, retry.isoformat() if retry else None, at.isoformat(), entry_id],
            )
        return attempts

    def list(self, state: str | None = None, limit: int = 50) -> list[InboxEntry]:
        sql = f"SELECT {_COLUMNS} FROM inbox"
        params: list[Any] = []
        if state:
            sql += " WHERE state = ?"
            params.append(state)
        sql += " ORDER BY id DESC LIMIT ?"
        return [_entry(r) for r in self.engine.all(sql, [*params, limit])]

    def get(self, entry_id: int) -> InboxEntry | None:
        row = self.engine.one(f"SELECT {_COLUMNS} FROM inbox WHERE id = ?", [entry_id])
        return _entry(row) if row else None

    def replay(self, entry_id: int) -> bool:
        with self.engine.write() as conn:
            cur = conn.execute(
                "UPDATE inbox SET state = 'pending', next_attempt_at = NULL, claimed_until = NULL "
                "WHERE id = ? AND state != 'rejected'",
                [entry_id],
            )
            return cur.rowcount == 1

    def replay_failed(self) -> int:
        with self.engine.write() as conn:
            cur = conn.execute(
                "UPDATE inbox SET state = 'pending', next_attempt_at = NULL, claimed_until = NULL "
                "WHERE state = 'failed'"
            )
            return int(cur.rowcount)

    def counts(self) -> dict[str, int]:
        rows = self.engine.all("SELECT state, count(*) FROM inbox GROUP BY state")
        return {state: 0 for state in STATES} | {r[0]: int(r[1]) for r in rows}
