"""Block Kit for feed notices (one, or a group about one account) and for unfurled Zoho links (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

from bot.account.health import days_overdue, is_open_ticket
from bot.blocks import Message, clip, context, escape, fit, link, safe, section
from bot.events import DealChanged, Event, InvoiceOverdue, InvoicePaid, TicketEscalated, TicketOpened, TicketOverdue
from bot.feed.rules import Notice
from bot.models import Account, Deal, Invoice, Ticket
from bot.money import format_date, format_money
from bot.zoho.links import AppLinks

GROUP_LINES = 10
TITLES = {
    "new_ticket": (":ticket:", "New ticket", "new tickets"),
    "ticket_escalated": (":rotating_light:", "Ticket escalated", "tickets escalated"),
    "ticket_overdue": (":hourglass:", "Ticket past due", "tickets past due"),
    "invoice_overdue": (":warning:", "Invoice overdue", "invoices overdue"),
    "invoice_paid": (":white_check_mark:", "Invoice paid", "invoices paid"),
    "deal_won": (":trophy:", "Deal won", "deals won"),
    "deal_lost": (":x:", "Deal lost", "deals lost"),
}


def _ticket_line(t: Ticket, links: AppLinks) -> str:
    label = f"#{safe(t.number or t.id, 20)} {safe(t.subject or 'No subject', 120)}"
    extra = " · ".join(p for p in (t.priority and safe(t.priority, 20), t.status and safe(t.status, 30)) if p)
    return link(links.desk_ticket(t.id, t.web_url), label) + (f" ({extra})" if extra else "")


def _invoice_line(inv: Invoice, links: AppLinks, today: date, tz: tzinfo | None, overdue: bool) -> str:
    label = link(links.books_invoice(inv.id), safe(inv.number or inv.id, 40))
    if overdue:
        days = days_overdue(inv, today)
        ago = f" ({days} day{'s' if days != 1 else ''} ago)" if days > 0 else ""
        due = format_date(inv.due_date, tz)
        return f"{label}: {format_money(inv.balance, inv.currency)} outstanding, due {due}{ago}"
    return f"{label}: {format_money(inv.total, inv.currency)} paid in full"


def _deal_line(deal: Deal, links: AppLinks) -> str:
    amount = f" · {format_money(deal.amount, deal.currency)}" if deal.amount is not None else ""
    owner = f" · owner {safe(deal.owner.name or deal.owner.email, 60)}" if deal.owner.name or deal.owner.email else ""
    return f"{link(links.crm_deal(deal.id), safe(deal.name or deal.id, 100))} ({safe(deal.stage, 40)}){amount}{owner}"


def item_line(event: Event, links: AppLinks, today: date, tz: tzinfo | None = None) -> str:
    """One line of mrkdwn describing the event's record."""
    match event:
        case TicketOpened() | TicketEscalated() | TicketOverdue():
            return _ticket_line(event.ticket, links)
        case InvoiceOverdue():
            return _invoice_line(event.invoice, links, today, tz, overdue=True)
        case InvoicePaid():
            return _invoice_line(event.invoice, links, today, tz, overdue=False)
        case DealChanged():
            return _deal_line(event.deal, links)
    return escape(event.kind)


def _account(notice: Notice, links: AppLinks) -> str:
    name = safe(notice.account_name or "an unknown account", 80)
    return f"*{link(links.crm_account(notice.account_id), name)}*" if notice.account_id else f"*{name}*"


def _window(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 1)
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes < 120 else f"{minutes // 60} hours"


def notice_message(
    notices: Sequence[Notice], links: AppLinks, today: date, tz: tzinfo | None = None, span: timedelta | None = None
) -> Message:
    """One notice, or several of one kind about one account ("3 new tickets for Acme in 10 minutes")."""
    first = notices[0]
    emoji, one, many = TITLES.get(first.kind, (":bell:", first.kind.replace("_", " "), first.kind))
    account = _account(first, links)
    plain_account = clip(first.account_name or "an unknown account", 80)
    if len(notices) == 1:
        head = f"{emoji} *{one}* for {account}"
        text = f"{one} for {plain_account}"
        body = item_line(first.event, links, today, tz)
    else:
        within = f" in {_window(span)}" if span is not None else ""
        head = f"{emoji} *{len(notices)} {many}* for {account}{within}"
        text = f"{len(notices)} {many} for {plain_account}{within}"
        lines = [f"• {item_line(n.event, links, today, tz)}" for n in notices[:GROUP_LINES]]
        if len(notices) > GROUP_LINES:
            lines.append(f"_and {len(notices) - GROUP_LINES} more_")
        body = "\n".join(lines)
    blocks = [section(fit(f"{head}\n{body}", 3000))]
    via = "found by sync" if first.event.source == "sync" else ""
    if via:
        blocks.append(context(f"_{via}_"))
    return Message(text=text, blocks=blocks)


# ---- unfurls ------------------------------------------------------------------------------------------------


def _money(show: bool, amount: object, currency: str) -> str:
    return format_money(amount, currency) if show else "_(amounts shown in finance channels)_"  # type: ignore[arg-type]


def account_unfurl(
    account: Account,
    deals: Sequence[Deal],
    tickets: Sequence[Ticket],
    invoices: Sequence[Invoice],
    links: AppLinks,
    today: date,
    *,
    show_money: bool,
) -> dict[str, object]:
    open_tickets = [t for t in tickets if is_open_ticket(t)]
    escalated = sum(1 for t in open_tickets if t.is_escalated)
    owner = safe(account.owner.name or account.owner.email or "no owner", 60)
    lines = [
        f"*{link(links.crm_account(account.id), safe(account.name, 100))}* · owner {owner}",
        f"{len(deals)} deal{'s' if len(deals) != 1 else ''} · {len(open_tickets)} open ticket"
        f"{'s' if len(open_tickets) != 1 else ''}" + (f" ({escalated} escalated)" if escalated else ""),
    ]
    if show_money:
        outstanding = [i for i in invoices if i.kind == "invoice" and i.balance > 0]
        if outstanding:
            currency = outstanding[0].currency
            lines.append(
                f"Outstanding {format_money(sum((i.balance for i in outstanding), start=0), currency)}"
                f" on {len(outstanding)} invoice{'s' if len(outstanding) != 1 else ''}"
            )
    return {"blocks": [section("\n".join(lines)), context("Zoho CRM account · via Throughline")]}


def deal_unfurl(deal: Deal, links: AppLinks, tz: tzinfo | None, *, show_money: bool) -> dict[str, object]:
    fields = [
        f"*Stage*\n{safe(deal.stage or '—', 60)}",
        f"*Closing*\n{format_date(deal.closing_date, tz)}",
        f"*Owner*\n{safe(deal.owner.name or deal.owner.email or '—', 60)}",
    ]
    if show_money:
        fields.append(f"*Amount*\n{format_money(deal.amount, deal.currency)}")
    head = f"*{link(links.crm_deal(deal.id), safe(deal.name, 100))}*"
    if deal.account_name:
        head += f" · {link(links.crm_account(deal.account_id), safe(deal.account_name, 80))}"
    return {"blocks": [section(head, fields), context("Zoho CRM deal · via Throughline")]}


def invoice_unfurl(inv: Invoice, links: AppLinks, today: date, tz: tzinfo | None) -> dict[str, object]:
    fields = [
        f"*Status*\n{safe(inv.status.replace('_', ' ') or '—', 40)}",
        f"*Total*\n{format_money(inv.total, inv.currency)}",
        f"*Balance*\n{format_money(inv.balance, inv.currency)}",
        f"*Due*\n{format_date(inv.due_date, tz)}",
    ]
    head = f"*{link(links.books_invoice(inv.id), 'Invoice ' + safe(inv.number or inv.id, 40))}*"
    if inv.customer_name:
        head += f" · {safe(inv.customer_name, 80)}"
    return {"blocks": [section(head, fields), context("Zoho Books invoice · via Throughline")]}


def ticket_unfurl(t: Ticket, links: AppLinks, now: datetime, tz: tzinfo | None) -> dict[str, object]:
    flags = " · ".join(f for f, on in (("escalated", t.is_escalated), ("past due", t.is_overdue)) if on)
    fields = [
        f"*Status*\n{safe(t.status or '—', 40)}",
        f"*Priority*\n{safe(t.priority or '—', 30)}",
        f"*Opened*\n{format_date(t.created_time, tz)}",
    ]
    if flags:
        fields.append(f"*Flags*\n{flags}")
    head = f"*{_ticket_line(t, links)}*" if not t.web_url else _ticket_line(t, links)
    return {"blocks": [section(head, fields), context("Zoho Desk ticket · via Throughline")]}
