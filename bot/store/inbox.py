"""The webhook inbox table (`inbox`): every delivery stored before it is acknowledged (see bot.intake.inbox for
the states and the retry policy, which the feature decides and passes in)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.engine import Engine, Row, insert_new_sql

STATES = ("pending", "failed", "done", "rejected")
_COLUMNS = "id, source, identity, received_at, body, state, attempts, next_attempt_at, error, processed_at"
_NEW = insert_new_sql(
    "inbox", ["source", "identity", "received_at", "body", "state", "processed_at"], key=["source", "identity"]
)


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


@dataclass(frozen=True)
class NewEntry:
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


Added = tuple[list[bool], list[int]]
_Waiting = tuple[Sequence[NewEntry], Sequence[Refusal], datetime, "asyncio.Future[Added]"]


class InboxTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Deliveries commit on a thread of their own: a 200 never queues behind the worker's store work.
        self._committing: ThreadPoolExecutor | None = None
        self._waiting: list[_Waiting] = []
        self._committer: asyncio.Task[None] | None = None
        self.group_commits = 0  # transactions `add_durably` has committed (fewer than deliveries under load)

    async def add_durably(self, entries: Sequence[NewEntry], refusals: Sequence[Refusal], at: datetime) -> Added:
        """`add`, sharing one commit with the deliveries that arrive meanwhile (group commit): while a commit is
        being written, the next ones queue and then go in together. Returns once this delivery is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Added] = loop.create_future()
        self._waiting.append((entries, refusals, at, done))
        committer = self._committer
        if committer is None or committer.done() or committer.get_loop() is not loop:
            self._committer = loop.create_task(self._commit_waiting(), name="inbox-group-commit")
        return await done

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                if self._committing is None:
                    self._committing = ThreadPoolExecutor(1, thread_name_prefix="inbox-commit")
                work = [(e, r, at) for e, r, at, _ in batch]
                results = await asyncio.get_running_loop().run_in_executor(self._committing, self._add_batch, work)
            except BaseException as exc:  # the commit failed: nobody's delivery is durable
                for *_, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (*_, waiter), result in zip(batch, results, strict=True):
                if waiter.done():
                    continue
                if isinstance(result, Exception):
                    waiter.set_exception(result)
                else:
                    waiter.set_result(result)

    def _add_batch(
        self, batch: Sequence[tuple[Sequence[NewEntry], Sequence[Refusal], datetime]]
    ) -> list[Added | Exception]:
        """Every delivery of the batch in one transaction; each in its own savepoint, so one that fails (and is
        answered with an error) does not undo the others."""
        out: list[Added | Exception] = []
        with self.engine.write():
            for entries, refusals, at in batch:
                try:
                    out.append(self.add(entries, refusals, at))
                except Exception as exc:
                    out.append(exc)
        self.group_commits += 1
        return out

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
        if self._committing is not None:
            self._committing.shutdown(wait=True)
            self._committing = None

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
