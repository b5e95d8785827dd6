"""The handoff's Zoho writes, exactly once: Books customer then document, Desk account then contact (side by side),
then the CRM write-back. Each is a step logged before and after it reaches Zoho (`HandoffRepo.step…`) and looks
for its result in Zoho before creating it, so a crash between any two writes creates nothing twice on resume."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from bot.audit_log import AuditLog
from bot.config import OperatingStructure
from bot.errors import ZohoRequestError
from bot.handoff import blocks as hb
from bot.handoff.repo import Handoff, HandoffRepo
from bot.models import Address
from bot.store import Store
from bot.zoho.clients import ZohoClients
from bot.zoho.writes import (
    DocumentLine,
    NewBooksCustomer,
    NewBooksDocument,
    NewDeskAccount,
    NewDeskContact,
    PaymentTerms,
    PostalAddress,
)

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


class HandoffWriter:
    def __init__(
        self,
        *,
        repo: HandoffRepo,
        store: Store,
        zoho: ZohoClients,
        structure: OperatingStructure,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo, self.store, self.zoho, self.structure, self.audit, self.clock = (
            repo,
            store,
            zoho,
            structure,
            audit,
            clock,
        )

    def _db(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Store work off the event loop."""
        return self.store.run(method, *args, **kwargs)

    async def _step(self, h: Handoff, name: str, work: Callable[[], Awaitable[str]]) -> str:
        logged = await self._db(self.repo.step, h.deal_id, name)
        if logged is not None and logged.state == "done":
            return logged.result_id
        await self._db(self.repo.step_started, h.deal_id, name)
        result = await work()
        await self._db(self.repo.step_done, h.deal_id, name, result)
        await self._db(self.audit.record, "system", f"handoff.write.{name}", f"deal:{h.deal_id}", "ok", {"id": result})
        return result

    async def write_all(self, h: Handoff) -> Handoff:
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
        same_name = [
            c
            for c in await books.find_customers(contact_name=plan.account_name)
            if c.name.casefold() == plan.account_name.casefold() and c.account_id in ("", plan.account_id)
        ]
        if same_name:
            return same_name[0].id
        return (
            await books.create_customer(
                NewBooksCustomer(
                    name=plan.account_name,
                    billing=_address(plan.billing),
                    first_name=plan.contact_first_name,
                    last_name=plan.contact_last_name or plan.contact_name,
                    email=plan.contact_email,
                    phone=plan.contact_phone,
                    has_contact=bool(plan.contact_name),
                    terms=_terms(plan.payment_terms),
                )
            )
        ).id

    async def _ensure_document(self, h: Handoff, customer_id: str) -> str:
        """The invoice or estimate: the one Books already holds for this deal (a create whose answer we lost),
        else a new draft. Its id and number go on the handoff as soon as they are known."""
        books, plan = self.zoho.books, h.plan
        lister = books.list_invoices if plan.kind == "invoice" else books.list_estimates
        found = [
            d
            for d in await lister(customer_id=customer_id, reference_number=plan.deal_id)
            if d.reference_number == plan.deal_id and d.status != "void"
        ]
        if found:
            document = found[0]
        else:
            document = await books.create_document(
                NewBooksDocument(
                    kind="invoice" if plan.kind == "invoice" else "estimate",
                    customer_id=customer_id,
                    reference_number=plan.deal_id,
                    day=self.clock().astimezone(self.structure.tz).date(),
                    lines=[
                        DocumentLine(
                            name=line.name, description=line.description, rate=line.rate, quantity=line.quantity
                        )
                        for line in plan.lines
                    ],
                    notes=f"Zoho CRM deal: {plan.deal_name}",
                    terms=_terms(plan.payment_terms),
                )
            )
        await self._db(
            self.repo.update, h.deal_id, document_id=document.id, document_number=document.number or document.id
        )
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
        account = await desk.create_account_for(NewDeskAccount(plan.account_name, _address(plan.billing)))
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
        created = await desk.create_contact_for(
            NewDeskContact(
                last_name=plan.contact_last_name or plan.contact_name or "Contact",
                account_id=desk_account_id,
                first_name=plan.contact_first_name,
                email=plan.contact_email,
                phone=plan.contact_phone,
            )
        )
        return str(created.get("id") or "")

    async def _write_back(self, h: Handoff, field: str, document_id: str) -> str:
        # This edit fires CRM's notification again; `consider` ignores deals whose handoff is done.
        await self.zoho.crm.update("Deals", [{"id": h.deal_id, field: document_id}])
        # The field is the org's own: re-read it, so a field that silently drops the value is named, not trusted.
        record = await self.zoho.crm.read_fields("Deals", h.deal_id, [field])
        if str((record or {}).get(field) or "") != document_id:
            raise ZohoRequestError(
                f"CRM accepted the write but the deal's {field} does not hold the Books document "
                f"id: check `[handoff] crm_invoice_field` names a single-line text field",
                app="crm",
            )
        return document_id


def _address(a: Address) -> PostalAddress:
    return PostalAddress(street=a.street, city=a.city, state=a.state, code=a.code, country=a.country)


def _terms(days: int | None) -> PaymentTerms | None:
    return None if days is None else PaymentTerms(days, hb.terms_label(days))
