"""The audit trail: who did what to which record, and how it ended. Every feature writes here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store import Store


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    detail: dict[str, Any]


class AuditLog:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def record(self, actor: str, action: str, subject: str = "", outcome: str = "ok",
               detail: dict[str, Any] | None = None) -> None:
        """`actor` is a Slack user id or "system"; `subject` names the record ("deal:123")."""
        with self.store.transaction() as db:
            db["audit_log"].insert({  # type: ignore[union-attr]
                "at": self.clock().isoformat(), "actor": actor, "action": action, "subject": subject,
                "outcome": outcome, "detail": json.dumps(detail or {}, default=str)})

    def entries(self, subject: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
        where, params = [], []
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        sql = "SELECT id, at, actor, action, subject, outcome, detail FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self.store.transaction() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [AuditEntry(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]))
                for r in rows]
