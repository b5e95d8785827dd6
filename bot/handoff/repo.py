"""Handoff records and their write-ahead log in SQLite.

State changes are compare-and-set (`transition`): of several concurrent clicks exactly one moves a handoff
from ready to approved. Every Zoho write is logged before it is sent and after it succeeded (`zoho_writes`),
so a restart knows which steps are done and which must be checked in Zoho before being sent again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
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
        row = self.store.handoffs.get(deal_id)
        return _from_row(row) if row else None

    def in_states(self, states: Iterable[State]) -> list[Handoff]:
        return [_from_row(r) for r in self.store.handoffs.in_states(states)]

    def open_for_account(self, account_id: str) -> list[Handoff]:
        """The account's handoffs still waiting or ready (a change to the account can change their plan)."""
        return [_from_row(r) for r in self.store.handoffs.of_account(account_id, OPEN_STATES)]

    def create(self, handoff: Handoff) -> bool:
        """Insert unless one exists for the deal; True when this call created it."""
        return self.store.handoffs.create(_row(handoff))

    def update(self, deal_id: str, *, expect: Iterable[State] | None = None, **changes: Any) -> Handoff | None:
        """Apply `changes` if the handoff is in one of `expect` (any state when None); the new record or None.

        The check and the write are one statement, so concurrent callers cannot both pass the check.
        """
        if "plan" in changes and isinstance(changes["plan"], HandoffPlan):
            changes["plan"] = changes["plan"].model_dump_json()
        if "missing" in changes and not isinstance(changes["missing"], str):
            changes["missing"] = json.dumps([m.model_dump() for m in changes["missing"]])
        changes["updated_at"] = self.clock().isoformat()
        row = self.store.handoffs.update(deal_id, changes, list(expect) if expect is not None else None)
        return _from_row(row) if row else None

    def claim_for_writing(self, deal_id: str, lease: timedelta) -> Handoff | None:
        """approved → creating, or a creating one whose writer's claim ran out (its replica died): the handoff,
        now this caller's to write for `lease`; None when another holds it or it is not to be written."""
        now = self.clock()
        # One process on SQLite: a claim from an earlier start is a dead one's (in-process, the service's lock
        # already keeps two writers of one handoff apart), so a restart resumes at once.
        expired_by = now if self.store.shared else datetime.max.replace(tzinfo=UTC)
        row = self.store.handoffs.claim(
            deal_id,
            {"state": "creating", "updated_at": now.isoformat()},
            expect=["approved"],
            expired_in=["creating"],
            at=expired_by,
            until=now + lease,
        )
        return _from_row(row) if row else None

    # ---- write-ahead log of Zoho writes -------------------------------------------------------------------

    def step(self, deal_id: str, step: str) -> WriteStep | None:
        row = self.store.handoffs.step(f"{deal_id}:{step}")
        return WriteStep.model_validate(row) if row else None

    def step_started(self, deal_id: str, step: str) -> None:
        self.store.handoffs.step_started(f"{deal_id}:{step}", deal_id, step, self.clock())

    def step_done(self, deal_id: str, step: str, result_id: str) -> None:
        self.store.handoffs.step_done(f"{deal_id}:{step}", result_id, self.clock())
