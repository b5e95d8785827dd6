"""Domain events raised by webhook intake and by reconciliation sync, and the dispatcher that delivers them.

Both paths (a Zoho webhook re-read through the API, or `MirrorSync` comparing with the previous mirror row)
raise the same events, so subscribers need not know where a change came from. Subscribers must be
idempotent: a lost webhook is caught by sync, and a replayed one is re-processed; notifications dedupe on a
key in the `notifications` table.

`publish` awaits every subscriber of the event's kind, in subscription order. If any raises, the others still
run and `publish` then raises `DispatchError` carrying every failure, so the inbox keeps the entry failed and
retries it (subscribers run again on retry; that is why they must be idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import DispatchError
from bot.models import Account, Deal, Invoice, Payment, Ticket

log = logging.getLogger(__name__)

Source = Literal["webhook", "sync"]


class Event(BaseModel):
    """Base of every event. `kind` is the class name; `source` says which path raised it."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str] = "Event"
    source: Source = "webhook"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.kind = cls.__name__

    @property
    def account_id(self) -> str:
        return ""


class DealChanged(Event):
    """A deal was created or changed (re-read from CRM). `previous_stage` is the mirror's stage before this
    change, None when the deal was not mirrored yet. Subscribers decide what a stage means (won, lost)."""

    deal: Deal
    previous_stage: str | None = None

    @property
    def account_id(self) -> str:
        return self.deal.account_id

    @property
    def stage_changed(self) -> bool:
        return self.previous_stage != self.deal.stage


class AccountChanged(Event):
    account: Account
    previous_owner_email: str | None = None

    @property
    def account_id(self) -> str:
        return self.account.id


class TicketOpened(Event):
    ticket: Ticket

    @property
    def account_id(self) -> str:
        return self.ticket.account_id


class TicketEscalated(Event):
    ticket: Ticket

    @property
    def account_id(self) -> str:
        return self.ticket.account_id


class TicketOverdue(Event):
    ticket: Ticket

    @property
    def account_id(self) -> str:
        return self.ticket.account_id


class InvoiceOverdue(Event):
    invoice: Invoice

    @property
    def account_id(self) -> str:
        return self.invoice.account_id


class InvoicePaid(Event):
    invoice: Invoice
    payment: Payment | None = None
    paid_at: datetime | None = None

    @property
    def account_id(self) -> str:
        return self.invoice.account_id


EVENT_TYPES: tuple[type[Event], ...] = (
    DealChanged,
    AccountChanged,
    TicketOpened,
    TicketEscalated,
    TicketOverdue,
    InvoiceOverdue,
    InvoicePaid,
)

Handler = Callable[[Event], Awaitable[None]]


class Dispatcher:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Handler]] = {}

    def subscribe(self, kind: type[Event] | str, handler: Handler) -> None:
        """Call `handler(event)` for every published event of `kind` (a class or its name)."""
        name = kind if isinstance(kind, str) else kind.kind
        handlers = self._subscribers.setdefault(name, [])
        if handler not in handlers:
            handlers.append(handler)

    def subscribers(self, kind: type[Event] | str) -> list[Handler]:
        name = kind if isinstance(kind, str) else kind.kind
        return list(self._subscribers.get(name, []))

    async def publish(self, event: Event) -> None:
        failures: list[tuple[str, BaseException]] = []
        for handler in self.subscribers(event.kind):
            try:
                await handler(event)
            except Exception as exc:  # every subscriber gets its turn; the inbox retries the failures
                name = getattr(handler, "__qualname__", repr(handler))
                log.warning("subscriber %s failed on %s: %s", name, event.kind, exc)
                failures.append((name, exc))
        if failures:
            raise DispatchError(event, failures)
