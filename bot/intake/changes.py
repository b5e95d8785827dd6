"""What a changed record means: the events raised when a record read from Zoho replaces its mirror row.

Webhook processing and reconciliation sync both call `ChangeRecorder.apply(...)`: it reads the previous mirror
rows, stores the new ones and, in the same transaction, writes the events as inbox entries of source "event"
(published later by the intake worker, retried on failure). Each event has an identity (`event_identity`);
the inbox keeps one entry per identity, so the same change seen by a webhook and by sync, or a replayed
webhook, raises it once.

Rules (pure, `detect_*`), for a record that just changed (`prev` = mirror row before, None if never seen):
- DealChanged: always from a webhook (Zoho said it changed); from sync when the row is new or differs.
- TicketOpened: the ticket is open and was created within `new_ticket_window` (a ticket first seen long
  after it was opened is not "new").
- TicketEscalated / TicketOverdue: open and escalated / past due, and the previous row was not — or the
  previous row is this very version (an /account lookup may have stored it before intake saw it).
- InvoiceOverdue: overdue by `bot.account.health.is_overdue`, and the previous row was not (or is this version).
- InvoicePaid: status paid and the previous row was not (or is this version); a paid invoice never seen
  before counts only when it changed within `new_ticket_window`.
The first sync of a stream (no watermark yet) stores a baseline and raises nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from bot.account.health import is_open_ticket, is_overdue
from bot.events import (
    EVENT_TYPES,
    AccountChanged,
    DealChanged,
    Event,
    InvoiceOverdue,
    InvoicePaid,
    Source,
    TicketEscalated,
    TicketOpened,
    TicketOverdue,
)
from bot.intake.inbox import Inbox
from bot.models import Account, Deal, Invoice, Ticket
from bot.store import Store
from bot.store.engine import chunks

M = TypeVar("M", bound=BaseModel)
EVENT_SOURCE = "event"
EVENTS_BY_KIND: dict[str, type[Event]] = {t.kind: t for t in EVENT_TYPES}
NEW_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class ChangeRules:
    new_window: timedelta = NEW_WINDOW  # how recent a "new ticket" (or a first-seen paid invoice) must be
    overdue_scan_days: int = 7  # sync looks back this far for invoices and tickets that fell overdue


def _same_version(prev: Any, cur: Any) -> bool:
    return prev is not None and prev.modified_time is not None and prev.modified_time == cur.modified_time


def _recent(when: datetime | None, now: datetime, window: timedelta) -> bool:
    return when is not None and now - when <= window


def detect_deal(prev: Deal | None, cur: Deal, source: Source) -> list[Event]:
    if source == "sync" and prev is not None and prev == cur:
        return []
    return [DealChanged(deal=cur, previous_stage=prev.stage if prev else None, source=source)]


def detect_account(prev: Account | None, cur: Account, source: Source) -> list[Event]:
    if source == "sync" and prev is not None and prev == cur:
        return []
    return [AccountChanged(account=cur, previous_owner_email=prev.owner.email if prev else None, source=source)]


def detect_ticket(
    prev: Ticket | None, cur: Ticket, source: Source, now: datetime, rules: ChangeRules = ChangeRules()
) -> list[Event]:
    if not is_open_ticket(cur):
        return []
    events: list[Event] = []
    fresh = prev is None or _same_version(prev, cur)
    if _recent(cur.created_time, now, rules.new_window) and (fresh or source == "webhook"):
        events.append(TicketOpened(ticket=cur, source=source))
    was_open = prev is not None and is_open_ticket(prev)
    if cur.is_escalated and (fresh or not (was_open and prev is not None and prev.is_escalated)):
        events.append(TicketEscalated(ticket=cur, source=source))
    if cur.is_overdue and (fresh or not (was_open and prev is not None and prev.is_overdue)):
        events.append(TicketOverdue(ticket=cur, source=source))
    return events


def detect_invoice(
    prev: Invoice | None, cur: Invoice, source: Source, today: date, now: datetime, rules: ChangeRules = ChangeRules()
) -> list[Event]:
    if cur.kind != "invoice":
        return []
    fresh = prev is None or _same_version(prev, cur)
    if is_overdue(cur, today) and (fresh or not is_overdue(prev, today)):  # type: ignore[arg-type]
        return [InvoiceOverdue(invoice=cur, source=source)]
    if cur.status.casefold() == "paid":
        if prev is None:
            return (
                [InvoicePaid(invoice=cur, source=source)] if _recent(cur.modified_time, now, rules.new_window) else []
            )
        if fresh or prev.status.casefold() != "paid":
            return [InvoicePaid(invoice=cur, source=source)]
    return []


def event_identity(event: Event) -> str:
    """One inbox entry per identity: the same change raised twice (webhook and sync, replays) is kept once."""
    match event:
        case DealChanged():
            return f"DealChanged:{event.deal.id}:{_version(event.deal)}"
        case AccountChanged():
            return f"AccountChanged:{event.account.id}:{_version(event.account)}"
        case TicketOpened() | TicketEscalated():
            return f"{event.kind}:{event.ticket.id}"
        case TicketOverdue():
            due = event.ticket.due_date.isoformat() if event.ticket.due_date else ""
            return f"TicketOverdue:{event.ticket.id}:{due}"
        case InvoiceOverdue():
            return f"InvoiceOverdue:{event.invoice.id}:{event.invoice.due_date or ''}"
        case InvoicePaid():
            return f"InvoicePaid:{event.invoice.id}"
    raise ValueError(f"no identity rule for {event.kind}")


def _version(model: Deal | Account) -> str:
    return model.modified_time.isoformat() if model.modified_time else model.model_dump_json()[-64:]


def event_body(event: Event) -> dict[str, Any]:
    return {"kind": event.kind, "event": event.model_dump(mode="json")}


def event_from_body(body: Any) -> Event:
    """Rebuild an event from its inbox body; ValueError if it is not one."""
    if not isinstance(body, dict) or body.get("kind") not in EVENTS_BY_KIND:
        raise ValueError(f"not an event body: {str(body)[:200]}")
    return EVENTS_BY_KIND[body["kind"]].model_validate(body.get("event") or {})


# ---- the I/O side: previous rows, account links, event entries ----------------------------------------------

_TABLES = (Deal, Account, Ticket, Invoice)  # the kinds whose changes raise events


class ChangeRecorder:
    def __init__(
        self, store: Store, clock: Callable[[], datetime], tz: Any = None, rules: ChangeRules = ChangeRules()
    ) -> None:
        self.store = store
        self.clock = clock
        self.tz = tz
        self.rules = rules
        self.inbox = Inbox(store, clock)

    def previous(self, model: type[M], ids: Sequence[str]) -> dict[str, M]:
        return self.store.records_by_id(model, ids) if ids else {}

    def link_accounts(self, records: Iterable[Ticket | Invoice]) -> None:
        """Fill `account_id` (the CRM account) from the mirror's Desk accounts and Books customers (a Desk account
        Zoho does not link: the CRM account Throughline created it for, from `desk_links`)."""
        records = [r for r in records if not r.account_id]
        desk = {r.desk_account_id for r in records if isinstance(r, Ticket) and r.desk_account_id}
        books = {r.customer_id for r in records if isinstance(r, Invoice) and r.customer_id}
        if not desk and not books:
            return
        by_customer, by_desk = self.store.crm_accounts_of(books_customer_ids=books, desk_account_ids=desk)
        for r in records:
            if isinstance(r, Ticket):
                r.account_id = by_desk.get(r.desk_account_id, "")
            else:
                r.account_id = by_customer.get(r.customer_id, "")

    def detect(self, records: Sequence[Any], previous: dict[str, Any], source: Source) -> list[Event]:
        now = self.clock()
        today = (now.astimezone(self.tz) if self.tz else now).date()
        events: list[Event] = []
        for cur in records:
            prev = previous.get(cur.id)
            if isinstance(cur, Deal):
                events += detect_deal(prev, cur, source)
            elif isinstance(cur, Account):
                events += detect_account(prev, cur, source)
            elif isinstance(cur, Ticket):
                events += detect_ticket(prev, cur, source, now, self.rules)
            elif isinstance(cur, Invoice):
                events += detect_invoice(prev, cur, source, today, now, self.rules)
        return events

    def apply(
        self, records: Sequence[Any], save: Callable[[list[Any]], None], source: Source, *, raise_events: bool = True
    ) -> list[Event]:
        """Store `records` with `save` and record the events they raise, atomically. Answers the events."""
        records = list(records)
        if not records:
            return []
        kind = type(records[0])
        if kind in (Ticket, Invoice):
            self.link_accounts(records)
        with self.store.atomic():
            previous = self.previous(kind, [r.id for r in records]) if kind in _TABLES else {}
            save(records)
            events = self.detect(records, previous, source) if raise_events else []
            self.record(events)
        return events

    def record(self, events: Sequence[Event], *, publish: bool = True) -> int:
        """Queue events for publishing; answers how many were new (an identity seen before is skipped). With
        publish=False they are only marked as seen (a baseline: true before we started, not news)."""
        if not events:
            return 0
        items = [(event_identity(e), json.dumps(event_body(e))) for e in events]
        return self.inbox.add_many(EVENT_SOURCE, items, state="pending" if publish else "done")

    def overdue_scan(self, *, publish: bool = True) -> int:
        """Invoices and tickets that fell overdue by the calendar alone (Zoho may not touch them when that
        happens): those due within the last `overdue_scan_days`, raised as sync events; answers how many were
        raised. With publish=False (the first sync) they are marked as seen instead, so what was overdue before
        we started is not news. Read and recorded `SCAN_CHUNK` records at a time: a large org has thousands due
        in a week, and holding them all (records, events, their JSON) set the serving process's peak memory."""
        now = self.clock()
        today = (now.astimezone(self.tz) if self.tz else now).date()
        since = today - timedelta(days=self.rules.overdue_scan_days)
        start = now - timedelta(days=self.rules.overdue_scan_days)
        raised = 0
        for ids in chunks(self.store.invoice_ids_due_between(since, today), SCAN_CHUNK):
            invoices = _in_order(self.store.records_by_id(Invoice, ids), ids)
            self.link_accounts(invoices)
            events: list[Event] = [InvoiceOverdue(invoice=i, source="sync") for i in invoices if is_overdue(i, today)]
            self.record(events, publish=publish)
            raised += len(events)
        for ids in chunks(self.store.open_ticket_ids_due_between(start, now), SCAN_CHUNK):
            tickets = _in_order(self.store.records_by_id(Ticket, ids), ids)
            self.link_accounts(tickets)
            events = [
                TicketOverdue(ticket=t.model_copy(update={"is_overdue": True}), source="sync")
                for t in tickets
                if is_open_ticket(t) and t.due_date and start <= t.due_date < now  # still so when read again
            ]
            self.record(events, publish=publish)
            raised += len(events)
        return raised if publish else 0


SCAN_CHUNK = 500  # records the overdue scan reads, and events it records, at a time


def _in_order(found: dict[str, M], ids: Sequence[str]) -> list[M]:
    """`found` in the order of `ids` (the order the scan read them in), leaving out those gone since."""
    return [found[i] for i in ids if i in found]
