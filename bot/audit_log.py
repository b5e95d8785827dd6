"""The audit trail: who did what to which record, and how it ended. Every feature writes here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.store import Store
from bot.store.audit import AuditEntry

__all__ = ["AuditEntry", "AuditLog"]


class AuditLog:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def record(
        self, actor: str, action: str, subject: str = "", outcome: str = "ok", detail: dict[str, Any] | None = None
    ) -> None:
        """`actor` is a Slack user id or "system"; `subject` names the record ("deal:123")."""
        self.store.audit.record(self.clock(), actor, action, subject, outcome, detail or {})

    def entries(self, subject: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
        return self.store.audit.entries(subject, action, limit)
