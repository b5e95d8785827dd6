"""Handoff records and their write-ahead log in SQLite.

State changes are compare-and-set (`transition`): of several concurrent clicks exactly one moves a handoff
from ready to approved. Every Zoho write is logged before it is sent and after it succeeded (`zoho_writes`),
so a restart knows which steps are done and which must be checked in Zoho before being sent again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from bot.handoff.plan import HandoffPlan, Missing
from bot.store import Store

State = Literal["waiting", "ready", "approved", "creating", "done", "failed", "rejected"]
OPEN_STATES: tuple[State, ...] = ("waiting", "ready")
# A handoff in these states was approved and must finish: a restart resumes them.
RESUMABLE_STATES: tuple[State, ...] = ("approved", "creating")


class Handoff(BaseModel):
    deal_id: str
    account_id: str = ""
    state: State
    kind: str = "invoice"
    plan: HandoffPlan
    missing: list[Missing] = []
    owner_email: str = ""
    finance_channel: str = ""
    finance_ts: str = ""
    support_ts: str = ""
    books_customer_id: str = ""
    document_id: str = ""
    document_number: str = ""
    desk_account_id: str = ""
    desk_contact_id: str = ""
    error: str = ""
    approved_by: str = ""
    approved_at: str = ""
    rejected_by: str = ""
    rejected_reason: str = ""
    created_at: str
    updated_at: str
    version: int = 0


class WriteStep(BaseModel):
    key: str
    step: str
    state: Literal["started", "done"]
    result_id: str = ""


def _row(h: Handoff) -> dict[str, Any]:
    row = h.model_dump(exclude={"plan", "missing"})
    row["plan"] = h.plan.model_dump_json()
    row["missing"] = json.dumps([m.model_dump() for m in h.missing])
    return row


def _from_row(row: dict[str, Any]) -> Handoff:
    data = dict(row)
    data["plan"] = HandoffPlan.model_validate_json(data["plan"])
    data["missing"] = [Missing.model_validate(m) for m in json.loads(data["missing"])]
    return Handoff.model_validate(data)


class HandoffRepo:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def get(self, deal_id: str) -> Handoff | None:
        with self.store.transaction() as db:
            rows = list(db.query("SELECT * FROM handoffs WHERE deal_id = ?", [deal_id]))
        return _from_row(rows[0]) if rows else None

    def in_states(self, states: Iterable[State]) -> list[Handoff]:
        states = list(states)
        marks = ",".join("?" for _ in states)
        with self.store.transaction() as db:
            rows = list(db.query(f"SELECT * FROM handoffs WHERE state IN ({marks}) ORDER BY created_at", states))
        return [_from_row(r) for r in rows]

    def create(self, handoff: Handoff) -> bool:
        """Insert unless one exists for the deal; True when this call created it."""
        with self.store.transaction() as db:
            cursor = db.execute(
                f"INSERT OR IGNORE INTO handoffs ({', '.join(_row(handoff))}) VALUES "
                f"({', '.join('?' for _ in _row(handoff))})", list(_row(handoff).values()))
            return cursor.rowcount == 1

    def update(self, deal_id: str, *, expect: Iterable[State] | None = None, **changes: Any) -> Handoff | None:
        """Apply `changes` if the handoff is in one of `expect` (any state when None); the new record or None.

        The check and the write are one statement, so concurrent callers cannot both pass the check.
        """
        if "plan" in changes and isinstance(changes["plan"], HandoffPlan):
            changes["plan"] = changes["plan"].model_dump_json()
        if "missing" in changes and not isinstance(changes["missing"], str):
            changes["missing"] = json.dumps([m.model_dump() for m in changes["missing"]])
        changes["updated_at"] = self.clock().isoformat()
        sets = ", ".join(f"{k} = ?" for k in changes) + ", version = version + 1"
        sql = f"UPDATE handoffs SET {sets} WHERE deal_id = ?"
        params = [*changes.values(), deal_id]
        if expect is not None:
            expected = list(expect)
            sql += f" AND state IN ({','.join('?' for _ in expected)})"
            params += expected
        with self.store.transaction() as db:
            if db.execute(sql, params).rowcount != 1:
                return None
        return self.get(deal_id)

    # ---- write-ahead log of Zoho writes -------------------------------------------------------------------

    def step(self, deal_id: str, step: str) -> WriteStep | None:
        with self.store.transaction() as db:
            rows = list(db.query("SELECT key, step, state, result_id FROM zoho_writes WHERE key = ?",
                                 [f"{deal_id}:{step}"]))
        return WriteStep.model_validate(rows[0]) if rows else None

    def step_started(self, deal_id: str, step: str) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO zoho_writes (key, deal_id, step, state, started_at) VALUES (?,?,?,?,?)",
                       [f"{deal_id}:{step}", deal_id, step, "started", self.clock().isoformat()])

    def step_done(self, deal_id: str, step: str, result_id: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE zoho_writes SET state = 'done', result_id = ?, finished_at = ? WHERE key = ?",
                       [result_id, self.clock().isoformat(), f"{deal_id}:{step}"])
