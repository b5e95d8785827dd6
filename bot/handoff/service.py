"""Closed won → plan → approve → execute: the handoff to finance and support, exactly once.

`consider(deal_id)` re-reads the deal from CRM, checks what finance needs and keeps one handoff record and one
#finance message per deal up to date (a replayed delivery changes nothing). `approve` moves ready → approved with
a compare-and-set, so of many concurrent clicks one wins. `execute` runs the Zoho writes as steps logged before and
after they reach Zoho; each step looks for its result in Zoho before creating it, so a crash between any two writes
followed by `resume()` creates nothing twice. A Zoho error leaves the handoff failed with the reason and a Retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvers import Approvers
from bot.audit_log import AuditLog
from bot.blocks import AppLinks, Message
from bot.config import OperatingStructure
from bot.errors import ZohoError, ZohoRequestError
from bot.events import DealChanged, Event
from bot.handoff import blocks as hb
from bot.handoff.plan import HandoffPlan, Line, PlanEdits, build_plan, missing
from bot.handoff.repo import OPEN_STATES, RESUMABLE_STATES, Handoff, HandoffRepo
from bot.models import Address, Deal
from bot.sent_once import SentOnce
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.clients import ZohoClients

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
    def __init__(self, *, store: Store, zoho: ZohoClients, slack: AsyncWebClient, structure: OperatingStructure,
                 links: AppLinks, directory: SlackDirectory, approvers: Approvers,
                 clock: Callable[[], datetime]) -> None:
        self.repo = HandoffRepo(store, clock)
        self.store = store
        self.zoho = zoho
        self.slack = slack
        self.structure = structure
        self.links = links
        self.directory = directory
        self.approvers = approvers
        self.audit = AuditLog(store, clock)
        self.once = SentOnce(store, clock)
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    def _db(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Store work (the handoff's rows, the audit trail) off the event loop."""
        return self.store.run(method, *args, **kwargs)

    def _lock(self, deal_id: str) -> asyncio.Lock:
        return self._locks.setdefault(deal_id, asyncio.Lock())

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
            created = await self._db(self.repo.create, Handoff(
                deal_id=deal_id, account_id=plan.account_id, state=state, kind=plan.kind, plan=plan, missing=gaps,
                owner_email=plan.owner.email, books_customer_id=plan.books_customer_id, created_at=now, updated_at=now))
            if created:
                await self._db(self.audit.record, "system", "handoff.opened", f"deal:{deal_id}", state,
                               {"source": source})
        elif existing.plan == plan and existing.missing == gaps and existing.finance_ts:
            return existing  # a replayed or unrelated delivery: nothing to say
        else:
            await self._db(self.repo.update, deal_id, expect=OPEN_STATES, state=state, kind=plan.kind, plan=plan,
                           missing=gaps)
            if existing.state != state:
                await self._db(self.audit.record, "system", f"handoff.{state}", f"deal:{deal_id}", "ok",
                               {"source": source})
        handoff = await self._db(self.repo.get, deal_id)
        assert handoff is not None
        await self._show(handoff)
        if gaps:
            await self._tell_owner_missing(handoff)
        return handoff

    async def _withdraw(self, h: Handoff, stage: str) -> Handoff | None:
        """The deal left the won stage before finance acted: nothing should be created from it any more."""
        now = stage or "without a stage"
        reason = f"The deal left {self.structure.handoff.won_stage} in Zoho CRM (it is now {now})."
        withdrawn = await self._db(self.repo.update, h.deal_id, expect=OPEN_STATES, state="rejected", rejected_by="",
                                   rejected_reason=reason)
        if withdrawn is None:
            return await self._db(self.repo.get, h.deal_id)
        await self._db(self.audit.record, "system", "handoff.withdrawn", f"deal:{h.deal_id}", "ok", {"stage": stage})
        await self._show(withdrawn)
        return withdrawn

    async def _read_plan(self, deal_id: str, edits: PlanEdits | None, deal: Deal | None = None) -> HandoffPlan | None:
        crm, books = self.zoho.crm, self.zoho.books
        deal = deal or await crm.get_deal(deal_id)
        if deal is None:
            return None
        account_read = crm.get_account(deal.account_id) if deal.account_id else _none()
        contact_read = crm.get_contact(deal.contact_id) if deal.contact_id else _none()
        customers_read = (books.find_customers(zcrm_account_id=deal.account_id) if deal.account_id else _empty())
        account, contact, products, customers = await asyncio.gather(
            account_read, contact_read, crm.deal_lines(deal_id), customers_read)
        customer = customers[0] if customers else None  # list rows carry payment_terms: no second read
        return build_plan(deal, account, contact, products, customer, self.structure.handoff, edits)

    # ---- approving ----------------------------------------------------------------------------------------

    async def approve(self, deal_id: str, user_id: str) -> Outcome:
        handoff = await self._db(self.repo.get, deal_id)
        if handoff is None:
            return Outcome(False, "This handoff no longer exists.")
        if not await self._may(user_id, "handoff.approve", deal_id, "create invoices"):
            return Outcome(False, hb.refusal("create invoices or estimates").text)
        won = await self._db(self.repo.update, deal_id, expect=("ready",), state="approved", approved_by=user_id,
                             approved_at=self.clock().isoformat())
        if won is None:
            current = await self._db(self.repo.get, deal_id)
            await self._db(self.audit.record, user_id, "handoff.approve", f"deal:{deal_id}", "already",
                           {"state": current.state if current else "gone"})
            return Outcome(False, _already(current))
        await self._db(self.audit.record, user_id, "handoff.approve", f"deal:{deal_id}", "ok",
                       {"total": str(won.plan.total)})
        await self.execute(deal_id)
        return Outcome(True)

    async def retry(self, deal_id: str, user_id: str) -> Outcome:
        if not await self._may(user_id, "handoff.retry", deal_id, "retry"):
            return Outcome(False, hb.refusal("retry a handoff").text)
        if await self._db(self.repo.update, deal_id, expect=("failed",), state="approved", error="") is None:
            return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
        await self._db(self.audit.record, user_id, "handoff.retry", f"deal:{deal_id}")
        await self.execute(deal_id)
        return Outcome(True)

    async def reject(self, deal_id: str, user_id: str, reason: str) -> Outcome:
        if not await self._may(user_id, "handoff.reject", deal_id, "reject"):
            return Outcome(False, hb.refusal("reject handoffs").text)
        rejected = await self._db(self.repo.update, deal_id, expect=("waiting", "ready", "failed"), state="rejected",
                                  rejected_by=user_id, rejected_reason=reason.strip()[:1500])
        if rejected is None:
            return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
        await self._db(self.audit.record, user_id, "handoff.reject", f"deal:{deal_id}", "ok",
                       {"reason": reason[:500]})
        await self._show(rejected)
        await self._tell_owner(rejected, hb.owner_outcome_note(rejected, self.links))
        return Outcome(True)

    async def edit(self, deal_id: str, user_id: str, billing: Address, terms: int | None, kind: str,
                   lines: list[Line] | None) -> Outcome:
        if not await self._may(user_id, "handoff.edit", deal_id, "edit"):
            return Outcome(False, hb.refusal("edit handoffs").text)
        async with self._lock(deal_id):
            handoff = await self._db(self.repo.get, deal_id)
            if handoff is None or handoff.state not in OPEN_STATES:
                return Outcome(False, _already(handoff))
            edits = PlanEdits(billing=billing if billing.one_line() else None, payment_terms=terms, kind=kind,
                              lines=lines)
            plan = await self._read_plan(deal_id, edits)
            if plan is None:
                return Outcome(False, "The deal is no longer in Zoho CRM.")
            gaps = missing(plan, list(self.structure.handoff.required))
            updated = await self._db(self.repo.update, deal_id, expect=OPEN_STATES,
                                     state="waiting" if gaps else "ready", kind=plan.kind, plan=plan, missing=gaps)
            if updated is None:
                return Outcome(False, _already(await self._db(self.repo.get, deal_id)))
            await self._db(self.audit.record, user_id, "handoff.edit", f"deal:{deal_id}", "ok",
                           edits.model_dump(mode="json"))
            await self._show(updated)
        return Outcome(True)

    async def may_open(self, deal_id: str, user_id: str, dialog: str) -> Outcome:
        """Whether `user_id` may open the approver-only `dialog` ("edit" or "reject"): checked, and a refusal
        audited, when the button is clicked rather than only on submit."""
        if await self._may(user_id, f"handoff.{dialog}.open", deal_id, f"open the {dialog} dialog"):
            return Outcome(True)
        return Outcome(False, hb.refusal(f"{dialog} handoffs").text)

    async def _may(self, user_id: str, action: str, deal_id: str, verb: str) -> bool:
        if await self.approvers.allowed(user_id, self.structure.approvers.invoice):
            return True
        await self._db(self.audit.record, user_id, action, f"deal:{deal_id}", "refused",
                       {"why": f"not an approver ({verb})"})
        return False

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
            await self._show(handoff)
            try:
                handoff = await self._write_all(handoff)
            except ZohoError as exc:
                failed = await self._db(self.repo.update, deal_id, state="failed", error=exc.lasting_message())
                await self._db(self.audit.record, "system", "handoff.failed", f"deal:{deal_id}", "error",
                               {"error": str(exc)})
                if failed:
                    await self._show(failed)
                return failed
            done = await self._db(self.repo.update, deal_id, state="done", error="")
            assert done is not None
            await self._db(self.audit.record, "system", "handoff.done", f"deal:{deal_id}", "ok",
                           {"document": done.document_number, "customer": done.books_customer_id})
            await self._show(done)
            await self._hand_over_to_support(done)
            await self._tell_owner(done, hb.owner_outcome_note(done, self.links))
            return done

    async def _step(self, h: Handoff, name: str, work: Callable[[], Awaitable[str]]) -> str:
        logged = await self._db(self.repo.step, h.deal_id, name)
        if logged is not None and logged.state == "done":
            return logged.result_id
        await self._db(self.repo.step_started, h.deal_id, name)
        result = await work()
        await self._db(self.repo.step_done, h.deal_id, name, result)
        await self._db(self.audit.record, "system", f"handoff.write.{name}", f"deal:{h.deal_id}", "ok",
                       {"id": result})
        return result

    async def _write_all(self, h: Handoff) -> Handoff:
        """Books (customer, then document) and Desk (account, then contact) run side by side: neither needs the
        other's ids. Each chain stops at its first error; the other still finishes, and Retry resumes both."""
        results = await asyncio.gather(self._books_chain(h), self._desk_chain(h), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        latest = await self._db(self.repo.get, h.deal_id)
        h = latest or h
        field = self.structure.handoff.crm_invoice_field
        if field:
            await self._step(h, "crm_writeback", lambda: self._write_back(h, field, h.document_id))
        return h

    async def _books_chain(self, h: Handoff) -> None:
        customer_id = await self._step(h, "books_customer", lambda: self._ensure_customer(h))
        await self._db(self.repo.update, h.deal_id, books_customer_id=customer_id)
        await self._step(h, "books_document", lambda: self._ensure_document(h, customer_id))

    async def _desk_chain(self, h: Handoff) -> None:
        desk_id = await self._step(h, "desk_account", lambda: self._ensure_desk_account(h))
        await self._db(self.repo.update, h.deal_id, desk_account_id=desk_id)
        contact_id = await self._step(h, "desk_contact", lambda: self._ensure_desk_contact(h, desk_id))
        await self._db(self.repo.update, h.deal_id, desk_contact_id=contact_id)

    async def _ensure_customer(self, h: Handoff) -> str:
        books, plan = self.zoho.books, h.plan
        found = await books.find_customers(zcrm_account_id=plan.account_id) if plan.account_id else []
        if found:
            return found[0].id
        try:
            return await books.import_crm_account(plan.account_id)
        except ZohoRequestError as exc:
            log.info("Books could not import CRM account %s (%s); creating the customer", plan.account_id, exc)
        # Books keeps customer names unique: one by this exact name (ours from a create whose answer was lost, or
        # one made by hand) is the customer, unless it belongs to another CRM account.
        same_name = [c for c in await books.find_customers(contact_name=plan.account_name)
                     if c.name.casefold() == plan.account_name.casefold() and c.account_id in ("", plan.account_id)]
        if same_name:
            return same_name[0].id
        person = {"first_name": plan.contact_first_name, "last_name": plan.contact_last_name or plan.contact_name,
                  "email": plan.contact_email, "phone": plan.contact_phone, "is_primary_contact": True}
        b = plan.billing
        address = {"address": b.street, "city": b.city, "state": b.state, "zip": b.code, "country": b.country}
        payload: dict[str, object] = {
            "contact_name": plan.account_name, "company_name": plan.account_name, "contact_type": "customer",
            "billing_address": address, "contact_persons": [person] if plan.contact_name else []}
        if plan.payment_terms is not None:
            payload["payment_terms"] = plan.payment_terms
            payload["payment_terms_label"] = hb.terms_label(plan.payment_terms)
        return (await books.create_contact(payload)).id

    async def _ensure_document(self, h: Handoff, customer_id: str) -> str:
        """The invoice or estimate: the one Books already holds for this deal (a create whose answer we lost),
        else a new draft. Its id and number go on the handoff as soon as they are known."""
        books, plan = self.zoho.books, h.plan
        lister = books.list_invoices if plan.kind == "invoice" else books.list_estimates
        found = [d for d in await lister(customer_id=customer_id, reference_number=plan.deal_id)
                 if d.reference_number == plan.deal_id and d.status != "void"]
        if found:
            document = found[0]
        else:
            payload: dict[str, object] = {
                "customer_id": customer_id, "reference_number": plan.deal_id,
                "date": self.clock().astimezone(self.structure.tz).date().isoformat(),
                "line_items": [{"name": line.name[:100], "description": line.description, "rate": float(line.rate),
                                "quantity": float(line.quantity)} for line in plan.lines],
                "notes": f"Zoho CRM deal: {plan.deal_name}"[:500],
            }
            if plan.payment_terms is not None and plan.kind == "invoice":  # estimates have no payment terms
                payload["payment_terms"] = plan.payment_terms
                payload["payment_terms_label"] = hb.terms_label(plan.payment_terms)
            create = books.create_invoice if plan.kind == "invoice" else books.create_estimate
            document = await create(payload)
        await self._db(self.repo.update, h.deal_id, document_id=document.id,
                       document_number=document.number or document.id)
        return document.id

    async def _ensure_desk_account(self, h: Handoff) -> str:
        """The Desk account: the one Throughline created for this CRM account before (its own record: Desk's API
        cannot set the CRM link), else one Zoho links to it (found by name), else a new one, recorded."""
        desk, plan = self.zoho.desk, h.plan
        created = await self._db(self.store.desk_link, plan.account_id)
        if created and await desk.get_account(created) is not None:
            return created
        found = await desk.find_account_for_crm(plan.account_id, plan.account_name)
        if found is not None:
            if not found.crm_account_id:  # ours from a create whose answer was lost, or a namesake Zoho never linked
                await self._db(self.store.record_desk_link, plan.account_id, found.id, self.clock())
            return found.id
        b = plan.billing
        payload = {k: v for k, v in {"accountName": plan.account_name, "street": b.street, "city": b.city,
                                     "state": b.state, "country": b.country, "code": b.code}.items() if v}
        account = await desk.create_account(payload)
        await self._db(self.store.record_desk_link, plan.account_id, account.id, self.clock())
        return account.id

    async def _ensure_desk_contact(self, h: Handoff, desk_account_id: str) -> str:
        plan = h.plan
        if not plan.contact_email:
            return ""
        desk = self.zoho.desk
        for contact in await desk.account_contacts(desk_account_id):
            if str(contact.get("email") or "").lower() == plan.contact_email.lower():
                return str(contact.get("id"))
        created = await desk.create_contact({"lastName": plan.contact_last_name or plan.contact_name or "Contact",
                                             "firstName": plan.contact_first_name, "email": plan.contact_email,
                                             "phone": plan.contact_phone, "accountId": desk_account_id})
        return str(created.get("id") or "")

    async def _write_back(self, h: Handoff, field: str, document_id: str) -> str:
        # This edit fires CRM's notification again; `consider` ignores deals whose handoff is done.
        await self.zoho.crm.update("Deals", [{"id": h.deal_id, field: document_id}])
        # The field is the org's own: re-read it, so a field that silently drops the value is named, not trusted.
        record = await self.zoho.crm.read_fields("Deals", h.deal_id, [field])
        if str((record or {}).get(field) or "") != document_id:
            raise ZohoRequestError(f"CRM accepted the write but the deal's {field} does not hold the Books document "
                                   f"id: check `[handoff] crm_invoice_field` names a single-line text field", app="crm")
        return document_id

    # ---- telling people -------------------------------------------------------------------------------------

    async def _show(self, h: Handoff) -> None:
        """Post the #finance message the first time, update it in place afterwards."""
        channel = h.finance_channel or self.structure.channels.finance
        if not channel:
            log.warning("handoff %s: [channels] finance is not configured, nothing posted", h.deal_id)
            return
        owner = await self.directory.mention_for(h.owner_email) if h.owner_email else None
        message = hb.finance_message(h, self.links, self.structure.tz, self.clock(), owner_mention=owner)
        try:
            if h.finance_ts:
                await self.slack.chat_update(channel=channel, ts=h.finance_ts, **message.as_kwargs())
                return
            posted = await self.slack.chat_postMessage(channel=channel, unfurl_links=False, **message.as_kwargs())
            await self._db(self.repo.update, h.deal_id, finance_channel=channel, finance_ts=str(posted["ts"]))
        except SlackApiError as exc:
            log.error("handoff %s: Slack refused the #finance message: %s", h.deal_id, exc.response.get("error"))

    async def _tell_owner_missing(self, h: Handoff) -> None:
        if not any(m.where == "crm" for m in h.missing):
            return  # only finance can close these gaps (Edit): nothing to ask of the deal owner
        key = "handoff-missing:" + h.deal_id + ":" + ",".join(sorted(m.field for m in h.missing))
        await self._tell_owner(h, hb.owner_missing_note(h.plan, h.missing, self.links), once=key)

    async def _tell_owner(self, h: Handoff, message: Message, *, once: str = "") -> None:
        """A direct message to the deal owner, or a post in #sales when the owner is not a Slack user."""
        user_id = await self.directory.user_id_for(h.owner_email) if h.owner_email else None
        channel = user_id or self.structure.channels.sales
        if not channel or (once and not await self._db(self.once.claim, once, channel)):
            return
        try:
            if user_id:
                opened = await self.slack.conversations_open(users=user_id)
                channel = opened["channel"]["id"]
            posted = await self.slack.chat_postMessage(channel=channel, unfurl_links=False, **message.as_kwargs())
            if once:
                await self._db(self.once.settle, once, str(posted["ts"]))
        except SlackApiError as exc:
            if once:
                await self._db(self.once.release, once)  # the next change or replay tries again
            log.error("handoff %s: could not tell the owner: %s", h.deal_id, exc.response.get("error"))

    async def _hand_over_to_support(self, h: Handoff) -> None:
        channel, key = self.structure.channels.support, f"handoff-support:{h.deal_id}"
        if not channel or not await self._db(self.once.claim, key, channel):
            return
        owner = await self.directory.mention_for(h.owner_email) if h.owner_email else None
        try:
            posted = await self.slack.chat_postMessage(channel=channel, unfurl_links=False,
                                                       **hb.support_handover(h, self.links, owner).as_kwargs())
            await self._db(self.once.settle, key, str(posted["ts"]))
            await self._db(self.repo.update, h.deal_id, support_ts=str(posted["ts"]))
        except SlackApiError as exc:
            await self._db(self.once.release, key)
            log.error("handoff %s: Slack refused the #support handover: %s", h.deal_id, exc.response.get("error"))



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
        "rejected": (f"Already rejected by <@{h.rejected_by}>." if h.rejected_by
                     else f"This handoff was withdrawn: {h.rejected_reason}"),
        "ready": "It is ready again; try once more.",
    }[h.state]


async def _none() -> None:
    return None


async def _empty() -> list:  # type: ignore[type-arg]
    return []
