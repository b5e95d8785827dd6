"""Routing rules (pure): which event reaches whom, and in which thread.

Default rules (`[routing]` in throughline.toml changes them):
- new ticket on an account with an open deal or a deal won within `recent_win_days` → the account owner;
- ticket escalated, ticket past due → #support and the owner;
- invoice overdue → the owner and #finance;  invoice paid → #finance and the handoff thread;
- deal won or lost → #sales.
A notice for a channel where the account's handoff was posted goes in that message's thread (#finance →
`finance_ts`, #support → `support_ts`), so the story of an account stays in one place. Each notice has a
`key` (event and destination): the notifier sends a key once, whichever path (webhook or sync) raised it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.account.health import is_closed_deal
from bot.config import OperatingStructure
from bot.events import DealChanged, Event, InvoiceOverdue, InvoicePaid, TicketEscalated, TicketOpened, TicketOverdue
from bot.models import Account, Deal

RECENT_CHANGE = timedelta(hours=48)
RECENT_CLOSE = timedelta(days=14)
OWNER = "owner"


@dataclass(frozen=True)
class HandoffThread:
    deal_id: str
    finance_channel: str = ""
    finance_ts: str = ""
    support_ts: str = ""


@dataclass(frozen=True)
class FeedContext:
    """What routing needs to know about the event's account, read from the mirror."""

    now: datetime
    account: Account | None = None
    deals: list[Deal] = field(default_factory=list)
    handoff: HandoffThread | None = None


@dataclass(frozen=True)
class Notice:
    key: str  # dedupe key: sent once
    kind: str  # new_ticket, ticket_escalated, ticket_overdue, invoice_overdue, invoice_paid, deal_won, deal_lost
    event: Event
    account_id: str
    account_name: str
    channel: str = ""  # a channel id; empty for the owner's DM (see owner_email)
    owner_email: str = ""
    thread_ts: str = ""
    fallback_channel: str = ""  # where an owner notice goes when the owner has no Slack user

    @property
    def destination(self) -> str:
        return self.channel or f"{OWNER}:{self.owner_email}"

    @property
    def group(self) -> tuple[str, str, str, str]:
        """Notices with the same group within the window become one message."""
        return (self.destination, self.thread_ts, self.account_id, self.kind)


def _fold(labels: list[str]) -> set[str]:
    return {label.strip().casefold() for label in labels}


def deal_outcome(deal: Deal, structure: OperatingStructure) -> str:
    """ "won", "lost" or "" for a deal's stage, by `[handoff] won_stage`, the vocabulary and `[routing] lost_stages`."""
    stage = deal.stage.strip().casefold()
    canonical = structure.vocabulary.canonical("crm_stages", deal.stage) or ""
    if stage == structure.handoff.won_stage.strip().casefold() or canonical == "won":
        return "won"
    if stage in _fold(structure.routing.lost_stages) or canonical == "lost":
        return "lost"
    return ""


def is_active_account(ctx: FeedContext, structure: OperatingStructure) -> bool:
    """An open deal, or a deal won within `recent_win_days` (by closing date, else last change)."""
    window = timedelta(days=structure.routing.recent_win_days)
    for deal in ctx.deals:
        outcome = deal_outcome(deal, structure)
        if not outcome and not is_closed_deal(deal):
            return True
        if outcome == "won":
            when = deal.closing_date or (deal.modified_time.date() if deal.modified_time else None)
            if when is not None and ctx.now.date() - when <= window:
                return True
    return False


def _subject(event: Event, ctx: FeedContext, structure: OperatingStructure) -> tuple[str, str] | None:
    """(kind, record key) for an event worth telling, else None."""
    routing = structure.routing
    match event:
        case TicketOpened():
            if routing.new_ticket_needs_active_account and not is_active_account(ctx, structure):
                return None
            return "new_ticket", f"ticket:{event.ticket.id}"
        case TicketEscalated():
            return "ticket_escalated", f"ticket:{event.ticket.id}"
        case TicketOverdue():
            return "ticket_overdue", f"ticket:{event.ticket.id}:{event.ticket.due_date or ''}"
        case InvoiceOverdue():
            return "invoice_overdue", f"invoice:{event.invoice.id}:{event.invoice.due_date or ''}"
        case InvoicePaid():
            return "invoice_paid", f"invoice:{event.invoice.id}"
        case DealChanged():
            outcome = deal_outcome(event.deal, structure)
            if not outcome or not _fresh_outcome(event, ctx.now):
                return None
            return f"deal_{outcome}", f"deal:{event.deal.id}:{event.deal.stage.strip().casefold()}"
    return None


def _fresh_outcome(event: DealChanged, now: datetime) -> bool:
    """Stage moved here now; or (the mirror already had the stage, e.g. from an /account lookup) the deal
    changed recently and closed recently. A won deal edited a year later is not news."""
    if event.stage_changed:
        return True
    deal = event.deal
    changed = deal.modified_time is not None and now - deal.modified_time <= RECENT_CHANGE
    closed = deal.closing_date is None or now.date() - deal.closing_date <= RECENT_CLOSE
    return changed and closed


def _targets(kind: str, structure: OperatingStructure) -> list[str]:
    routing = structure.routing
    return list(
        {
            "new_ticket": routing.new_ticket,
            "ticket_escalated": routing.ticket_escalated,
            "ticket_overdue": routing.ticket_overdue,
            "invoice_overdue": routing.invoice_overdue,
            "invoice_paid": routing.invoice_paid,
            "deal_won": routing.deal_won,
            "deal_lost": routing.deal_lost,
        }[kind]
    )


def _channel(target: str, structure: OperatingStructure) -> str:
    teams = structure.channels
    return {
        "sales": teams.sales,
        "finance": teams.finance,
        "support": teams.support,
        "leadership": teams.leadership,
    }.get(target, target if target[:1] in ("C", "G") else "")


def _thread(channel: str, ctx: FeedContext, structure: OperatingStructure) -> str:
    handoff = ctx.handoff
    if not structure.routing.use_handoff_threads or handoff is None or not channel:
        return ""
    if handoff.finance_ts and channel == (handoff.finance_channel or structure.channels.finance):
        return handoff.finance_ts
    if handoff.support_ts and channel == structure.channels.support:
        return handoff.support_ts
    return ""


def route(event: Event, ctx: FeedContext, structure: OperatingStructure) -> list[Notice]:
    """The notices one event produces (none when no rule applies or no destination is configured)."""
    subject = _subject(event, ctx, structure)
    if subject is None:
        return []
    kind, record = subject
    account_id = event.account_id or (ctx.account.id if ctx.account else "")
    account_name = ctx.account.name if ctx.account else _fallback_name(event)
    owner = ctx.account.owner.email if ctx.account else ""
    if not owner and isinstance(event, DealChanged):
        owner = event.deal.owner.email
    fallback = _channel(structure.routing.owner_fallback, structure) if structure.routing.owner_fallback else ""
    notices: list[Notice] = []
    seen: set[tuple[str, str]] = set()
    for target in _targets(kind, structure):
        if target == OWNER:
            if not owner and not fallback:
                continue
            notice = Notice(
                f"{kind}:{record}>{OWNER}",
                kind,
                event,
                account_id,
                account_name,
                owner_email=owner.lower(),
                fallback_channel=fallback,
                thread_ts=_thread(fallback, ctx, structure) if not owner else "",
            )
        elif target == "handoff":
            handoff = ctx.handoff
            channel = (handoff.finance_channel or structure.channels.finance) if handoff else ""
            if not (handoff and handoff.finance_ts and channel):
                continue
            notice = Notice(
                f"{kind}:{record}>{channel}",
                kind,
                event,
                account_id,
                account_name,
                channel=channel,
                thread_ts=handoff.finance_ts,
            )
        else:
            channel = _channel(target, structure)
            if not channel:
                continue
            notice = Notice(
                f"{kind}:{record}>{channel}",
                kind,
                event,
                account_id,
                account_name,
                channel=channel,
                thread_ts=_thread(channel, ctx, structure),
            )
        if (notice.destination, notice.thread_ts) in seen or notice.key in {n.key for n in notices}:
            continue
        seen.add((notice.destination, notice.thread_ts))
        notices.append(notice)
    return notices


def _fallback_name(event: Event) -> str:
    match event:
        case DealChanged():
            return event.deal.account_name
        case InvoiceOverdue() | InvoicePaid():
            return event.invoice.customer_name
    return ""
