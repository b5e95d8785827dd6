"""Closed won → plan → approve → execute: the handoff to finance and support, exactly once.

`consider(deal_id)` re-reads the deal from CRM, checks what finance needs and keeps one handoff record and one
#finance message per deal up to date (a replayed delivery changes nothing). `approve` moves ready → approved with
a compare-and-set, so of many concurrent clicks one wins. `execute` runs the Zoho writes as steps logged before and
after they reach Zoho; each step looks for its result in Zoho before creating it, so a crash between any two writes
followed by `resume()` creates nothing twice. A Zoho error leaves the handoff failed with the reason and a Retry.
Who may approve, edit, reject or retry is decided before the service is called (handlers/approval.py).

This module is the state machine; the Zoho writes are `bot.handoff.writes.HandoffWriter`'s and the Slack posts
(#finance, the owner, #support) `bot.handoff.posts.HandoffPoster`'s.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.announcer import OwnerAnnouncer
from bot.audit_log import AuditLog
from bot.config import OperatingStructure
from bot.errors import ZohoError
from bot.events import AccountChanged, DealChanged, Event
from bot.handoff import blocks as hb
from bot.handoff.plan import HandoffPlan, Line, PlanEdits, build_plan, missing
from bot.handoff.posts import HandoffPoster
from bot.handoff.repo import OPEN_STATES, RESUMABLE_STATES, Handoff, HandoffRepo
from bot.handoff.writes import HandoffWriter
from bot.models import Address, Deal
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.clients import ZohoClients
from bot.zoho.links import AppLinks

P = ParamSpec("P")
R = TypeVar("R")
# How long a replica holds a handoff it is writing to Zoho; one that dies mid-way leaves it to another replica's
# `resume` after this (the write-ahead log and the check-before-create keep a taken-over handoff from duplicating).
WRITE_LEASE = timedelta(minutes=2)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What the person who clicked should see (privately); empty when the shared message says it all."""

    ok: bool
    note: str = ""


class HandoffService:
    def __init__(
        self,
        *,
        store: Store,
        zoho: ZohoClients,
        slack: AsyncWebClient,
        structure: OperatingStructure,
        links: AppLinks,
        directory: SlackDirectory,
        announcer: OwnerAnnouncer,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = HandoffRepo(store, clock)
        self.store = store
        self.zoho = zoho
        self.structure = structure
        self.links = links
        self.audit = audit
        self.writes = HandoffWriter(
            repo=self.repo, store=store, zoho=zoho, structure=structure, audit=audit, clock=clock
        )
        self.posts = HandoffPoster(
            repo=self.repo,
            store=store,
            slack=slack,
            structure=structure,
            links=links,
            directory=directory,
            announcer=announcer,
            clock=clock,
        )
        self.clock = clock
        # One lock per deal while anyone holds or waits for it; forgotten (garbage) once nobody does.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _db(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Store work (the handoff's rows, the audit trail) off the event loop."""
        return self.store.run(method, *args, **kwargs)

    def _lock(self, deal_id: str) -> asyncio.Lock:
        lock = self._locks.get(deal_id)
        if lock is None:
            lock = self._locks[deal_id] = asyncio.Lock()
        return lock

    # ---- hearing about the deal ---------------------------------------------------------------------------

    async def on_deal_changed(self, event: Event) -> None:
        """Subscriber for webhook and sync deal events: only deals at the won stage (or already handed off)."""
        if not isinstance(event, DealChanged):
            return
        known: Handoff | None = None
        if event.deal.stage != self.structure.handoff.won_stage:
            known = await self._db(self.repo.get, event.deal.id)
        if event.deal.stage == self.structure.handoff.won_stage or known:
            # The event's deal was just re-read from CRM by whoever raised it: no need to read it again.
            await self.consider(event.deal.id, source=event.source, deal=event.deal)

    async def on_account_changed(self, event: Event) -> None:
        """Subscriber for account events: the account carries the billing address a waiting handoff may lack, so
        its open handoffs are planned again from CRM (a fix there turns "waiting" into "ready" in the same message)."""
        if not isinstance(event, AccountChanged) or not event.account.id:
            return
        for handoff in await self._db(self.repo.open_for_account, event.account.id):
            await self.consider(handoff.deal_id, source=event.source)

    async def consider(self, deal_id: str, *, source: str = "webhook", deal: Deal | None = None) -> Handoff | None:
        async with self._lock(deal_id):
            return await self._consider(deal_id, source, deal)

    async def _consider(self, deal_id: str, source: str, deal: Deal | None = None) -> Handoff | None:
        existing = await self._db(self.repo.get, deal_id)
        if existing is not None and existing.state not in OPEN_STATES:
            return existing  # approved, being created, done or rejected: CRM edits no longer change it
        plan = await self._read_plan(deal_id, existing.plan.edits if existing else None, deal)
        if plan is None:
            return existing
        won = self.structure.handoff.won_stage
        if existing is None and plan.stage != won:
            return None
        if existing is not None and plan.stage != won:
            return await self._withdraw(existing, plan.stage)
        gaps = missing(plan, list(self.structure.handoff.required))
        state = "waiting" if gaps else "ready"
        now = self.clock().isoformat()
        if existing is None:
            created = await self._db(
                self.repo.create,
                Handoff(
                    deal_id=deal_id,
                    account_id=plan.account_id,
                    state=state,
                    kind=plan.kind,
                    plan=plan,
                    missing=gaps,
                    owner_email=plan.owner.email,
                    books_customer_id=plan.books_customer_id,
                    created_at=now,
                    updated_at=now,
                ),
            )
            if created:
                await self._db(
                    self.audit.record, "system", "handoff.opened", f"deal:{deal_id}", state, {"source": source}
                )
        elif existing.plan == plan and existing.missing == gaps and existing.finance_ts:
            return existing  # a replayed or unrelated delivery: nothing to say
        else:
            await self._db(
                self.repo.update, deal_id, expect=OPEN_STATES, state=state, kind=plan.kind, plan=plan, missing=gaps
            )
            if existing.state != state:
                await self._db(
                    self.audit.record, "system", f"handoff.{state}", f"deal:{deal_id}", "ok", {"source": source}
                )
        handoff = await self._db(self.repo.get, deal_id)
        assert handoff is not None
        await self.posts.show(handoff)
        if gaps:
            await self.posts.tell_owner_missing(handoff)
        return handoff

    async def _withdraw(self, h: Handoff, stage: str) -> Handoff | None:
        """The deal left the won stage before finance acted: nothing should be created from it any more."""
        now = stage or "without a stage"
        reason = f"The deal left {self.structure.handoff.won_stage} in Zoho CRM (it is now {now})."
        withdrawn = await self._db(
            self.repo.update, h.deal_id, expect=OPEN_STATES, state="rejected", rejected_by="", rejected_reason=reason
        )
        if withdrawn is None:
            return await self._db(self.repo.get, h.deal_id)
        await self._db(self.audit.record, "system", "handoff.withdrawn", f"deal:{h.deal_id}", "ok", {"stage": stage})
        await self.posts.show(withdrawn)
        return withdrawn

    async def _read_plan(self, deal_id: str, edits: PlanEdits | None, deal: Deal | None = None) -> HandoffPlan | None:
        crm, books = self.zoho.crm, self.zoho.books
        deal = deal or await crm.get_deal(deal_id)
        if deal is None:
            return None
        account_read = crm.get_account(deal.account_id) if deal.account_id else _none()
        contact_read = crm.get_contact(deal.contact_id) if deal.contact_id else _none()
        customers_read = books.find_customers(zcrm_account_id=deal.account_id) if deal.account_id else _empty()
        account, contact, products, customers = await asyncio.gather(
            account_read, contact_read, crm.deal_lines(deal_id), customers_read
        )
        customer = customers[0] if customers else None  # list rows carry payment_terms: no second read
        return build_plan(deal, account, contact, products, customer, self.structure.handoff, edits)

    # ---- approving ----------------------------------------------------------------------------------------

    async def approve(self, deal_id: str, user_id: str) -> Outcome:
        handoff = await self._db(self.repo.get, deal_id)
        if handoff is None:
            return Outcome(False, "This handoff no longer exists.")
        won = await self._db(
            self.repo.update,
            deal_id,
            expect=("ready",),
            state="approved",
            approved_by=user_id,
            approved_at=self.clock().isoformat(),
        )
        if won is None:
            current = await self._db(self.repo.get, deal_id)
            await self._db(
                self.audit.record,
                user_id,
                "handoff.approve",
                f"deal:{deal_id}",
                "already",
                {"state": current.state if current else "gone"},
            )
            return Outcome(False, _already(current))
        await self._db(
            self.audit.record, user_id, "handoff.approve", f"deal:{deal_id}", "ok", {"total": str(won.plan.total)}
        )
        await self.execute(deal_id)
        return Outcome(True)

    async def retry(self, deal_id: str, user_id: str) -> Outcome:
        if await self._db(self.repo.update, deal_id, expect=("failed",), state="approved", error="") is None:
            return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
        await self._db(self.audit.record, user_id, "handoff.retry", f"deal:{deal_id}")
        await self.execute(deal_id)
        return Outcome(True)

    async def reject(self, deal_id: str, user_id: str, reason: str) -> Outcome:
        rejected = await self._db(
            self.repo.update,
            deal_id,
            expect=("waiting", "ready", "failed"),
            state="rejected",
            rejected_by=user_id,
            rejected_reason=reason.strip()[:1500],
        )
        if rejected is None:
            return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
        await self._db(self.audit.record, user_id, "handoff.reject", f"deal:{deal_id}", "ok", {"reason": reason[:500]})
        await self.posts.show(rejected)
        await self.posts.tell_owner(rejected, hb.owner_outcome_note(rejected, self.links))
        return Outcome(True)

    async def edit(
        self, deal_id: str, user_id: str, billing: Address, terms: int | None, kind: str, lines: list[Line] | None
    ) -> Outcome:
        async with self._lock(deal_id):
            handoff = await self._db(self.repo.get, deal_id)
            if handoff is None or handoff.state not in OPEN_STATES:
                return Outcome(False, _already(handoff))
            edits = PlanEdits(
                billing=billing if billing.one_line() else None, payment_terms=terms, kind=kind, lines=lines
            )
            plan = await self._read_plan(deal_id, edits)
            if plan is None:
                return Outcome(False, "The deal is no longer in Zoho CRM.")
            gaps = missing(plan, list(self.structure.handoff.required))
            updated = await self._db(
                self.repo.update,
                deal_id,
                expect=OPEN_STATES,
                state="waiting" if gaps else "ready",
                kind=plan.kind,
                plan=plan,
                missing=gaps,
            )
            if updated is None:
                return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
            await self._db(
                self.audit.record, user_id, "handoff.edit", f"deal:{deal_id}", "ok", edits.model_dump(mode="json")
            )
            await self.posts.show(updated)
        return Outcome(True)

    # ---- doing it -----------------------------------------------------------------------------------------

    async def resume(self) -> int:
        """Finish every approved handoff that a stop interrupted; the count resumed."""
        pending = await self._db(self.repo.in_states, RESUMABLE_STATES)
        for handoff in pending:
            await self.execute(handoff.deal_id)
        return len(pending)

    async def execute(self, deal_id: str) -> Handoff | None:
        async with self._lock(deal_id):
            handoff = await self._db(self.repo.claim_for_writing, deal_id, WRITE_LEASE)
            if handoff is None:
                return await self._db(self.repo.get, deal_id)
            await self.posts.show(handoff)
            try:
                handoff = await self.writes.write_all(handoff)
            except ZohoError as exc:
                failed = await self._db(self.repo.update, deal_id, state="failed", error=exc.lasting_message())
                await self._db(
                    self.audit.record, "system", "handoff.failed", f"deal:{deal_id}", "error", {"error": str(exc)}
                )
                if failed:
                    await self.posts.show(failed)
                return failed
            done = await self._db(self.repo.update, deal_id, state="done", error="")
            assert done is not None
            await self._db(
                self.audit.record,
                "system",
                "handoff.done",
                f"deal:{deal_id}",
                "ok",
                {"document": done.document_number, "customer": done.books_customer_id},
            )
            await self.posts.show(done)
            await self.posts.hand_over_to_support(done)
            await self.posts.tell_owner(done, hb.owner_outcome_note(done, self.links))
            return done


def _already(h: Handoff | None) -> str:
    if h is None:
        return "This handoff no longer exists."
    who = f"<@{h.approved_by}>" if h.approved_by else "someone"
    return {
        "waiting": "This deal is still missing fields; it cannot be created yet.",
        "approved": f"Already approved by {who}; it is being created.",
        "creating": f"Already approved by {who}; it is being created.",
        "done": f"Already created ({h.document_number}) by {who}.",
        "failed": "The last attempt failed; use Retry.",
        "rejected": (
            f"Already rejected by <@{h.rejected_by}>."
            if h.rejected_by
            else f"This handoff was withdrawn: {h.rejected_reason}"
        ),
        "ready": "It is ready again; try once more.",
    }[h.state]


async def _none() -> None:
    return None


async def _empty() -> list:  # type: ignore[type-arg]
    return []
