"""The `/account` card and the lookup answers around it (pick list, suggestions, usage) (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from bot.account.health import AccountFigures, Health, is_open_ticket
from bot.account.lookup import Match
from bot.blocks import (
    BUTTON_TEXT,
    FALLBACK_TEXT,
    HEADER_TEXT,
    HEALTH_BADGES,
    MAX_BLOCKS,
    Block,
    Message,
    button,
    clip,
    context,
    escape,
    link,
    plain,
    safe,
    section,
)
from bot.models import AccountSnapshot, Deal, Invoice, Ticket
from bot.money import format_date, format_money, format_time, relative_age
from bot.zoho.links import AppLinks

LATEST = 5  # rows per list on the card
PICK_ACTION = "account_pick_{}"
SHARE_ACTION = "account_share"


def _quoted(query: str) -> str:
    return f"“{safe(query, 100)}”"


def _label(status: str) -> str:
    text = status.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "—"


def _ts(value: datetime | None) -> float:
    if value is None:
        return 0.0
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


# ---- the account card ----------------------------------------------------------------------------------


def _more(total: int, shown: int, url: str | None, app: str) -> str:
    if total <= shown:
        return ""
    return f"\n_and {total - shown} more in {link(url, app)}_"


def _deals_section(snap: AccountSnapshot, figs: AccountFigures, links: AppLinks, tz: tzinfo, cur: str) -> Block:
    money = figs.deal_currency or cur
    head = (
        f"*Deals* · open pipeline *{format_money(figs.open_pipeline, money)}* ({figs.open_deals} open)"
        f" · won to date *{format_money(figs.won_to_date, money)}*"
    )
    if not snap.deals:
        return section(f"{head}\n_No deals in Zoho CRM._")
    latest = sorted(snap.deals, key=_deal_order, reverse=True)[:LATEST]
    rows = [_deal_row(d, links, tz, money) for d in latest]
    more = _more(len(snap.deals), len(latest), links.crm_account(snap.account.id), "Zoho CRM")
    return section("\n".join([head, *rows]) + more)


def _deal_order(deal: Deal) -> tuple[float, int]:
    return _ts(deal.modified_time or deal.created_time), deal.closing_date.toordinal() if deal.closing_date else 0


def _deal_row(deal: Deal, links: AppLinks, tz: tzinfo, currency: str) -> str:
    parts = [
        link(links.crm_deal(deal.id), safe(deal.name or deal.id)),
        safe(deal.stage or "—", 40),
        format_money(deal.amount, deal.currency or currency),
    ]
    if deal.closing_date:
        parts.append(f"closes {format_date(deal.closing_date, tz)}")
    return "• " + " · ".join(parts)


def _invoice_blocks(snap: AccountSnapshot, figs: AccountFigures, links: AppLinks, tz: tzinfo, cur: str) -> list[Block]:
    money = figs.currency or cur
    if snap.books_customer is None and not snap.invoices:
        return [section("*Invoices*\n_No customer in Zoho Books yet._")]
    overdue = f"{figs.overdue_count}" + (f" · {format_money(figs.overdue_amount, money)}" if figs.overdue_count else "")
    fields = [
        f"*Invoiced*\n{format_money(figs.invoiced, money)}",
        f"*Collected*\n{format_money(figs.collected, money)}",
        f"*Outstanding*\n{format_money(figs.outstanding, money)}",
        f"*Overdue*\n{'⚠️ ' if figs.overdue_count else ''}{overdue}",
    ]
    latest = sorted(snap.invoices, key=lambda i: (i.date.toordinal() if i.date else 0, i.number), reverse=True)
    rows = [_invoice_row(i, links, tz, money) for i in latest[:LATEST]]
    customer_url = links.books_customer(snap.books_customer.id) if snap.books_customer else None
    body = "\n".join(rows) if rows else "_No invoices yet._"
    more = _more(len(latest), len(rows), customer_url, "Zoho Books")
    return [section("*Invoices*", fields), section(f"{body}{more}")]


def _invoice_row(inv: Invoice, links: AppLinks, tz: tzinfo, currency: str) -> str:
    money = inv.currency or currency
    label = safe(inv.number or inv.reference_number or inv.id, 40)
    parts = [
        link(links.books_invoice(inv.id), label),
        safe(_label(inv.status), 30),
        format_money(inv.total, money),
    ]
    if 0 < inv.balance < inv.total:
        parts.append(f"{format_money(inv.balance, money)} open")
    if inv.due_date:
        parts.append(f"due {format_date(inv.due_date, tz)}")
    return "• " + " · ".join(parts)


def _ticket_section(snap: AccountSnapshot, figs: AccountFigures, links: AppLinks, now: datetime) -> Block:
    head = (
        f"*Tickets* · {figs.open_tickets} open · {figs.on_hold_tickets} on hold"
        f" · {'🔺 ' if figs.escalated_tickets else ''}{figs.escalated_tickets} escalated"
    )
    if snap.desk_account is None and not snap.tickets:
        return section(f"{head}\n_No account in Zoho Desk._")
    if not snap.tickets:
        return section(f"{head}\n_No tickets._")
    latest = sorted(snap.tickets, key=lambda t: (is_open_ticket(t), _ts(t.created_time)), reverse=True)[:LATEST]
    rows = [_ticket_row(t, links, now) for t in latest]
    desk = snap.desk_account
    desk_url = links.desk_account(desk.id, desk.web_url) if desk else None
    return section("\n".join([head, *rows]) + _more(len(snap.tickets), len(rows), desk_url, "Zoho Desk"))


def _ticket_row(ticket: Ticket, links: AppLinks, now: datetime) -> str:
    title = f"#{ticket.number} " if ticket.number else ""
    label = safe(title + (ticket.subject or "(no subject)"))
    parts = [
        link(links.desk_ticket(ticket.id, ticket.web_url), label),
        safe(ticket.status or ticket.status_type or "—", 30),
    ]
    if ticket.priority:
        parts.append(safe(ticket.priority, 20))
    if ticket.is_escalated:
        parts.append("escalated")
    parts.append(relative_age(ticket.created_time, now))
    return "• " + " · ".join(parts)


def _app_links(snap: AccountSnapshot, links: AppLinks) -> str:
    found = [(links.crm_account(snap.account.id), "Zoho CRM")]
    if snap.books_customer:
        found.append((links.books_customer(snap.books_customer.id), "Zoho Books"))
    if snap.desk_account:
        found.append((links.desk_account(snap.desk_account.id, snap.desk_account.web_url), "Zoho Desk"))
    shown = [f"<{url}|{name}>" for url, name in found if url]
    return "Open in " + " · ".join(shown) if shown else ""


def _tz_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", "") or tz)


def _fallback(snap: AccountSnapshot, health: Health, figs: AccountFigures, cur: str) -> str:
    text = (
        f"{snap.account.name or snap.account.id}: {HEALTH_BADGES[health.level].split(' ', 1)[1]}. "
        f"Deals: {figs.open_deals} open ({format_money(figs.open_pipeline, figs.deal_currency or cur)}). "
        f"Invoices: {format_money(figs.outstanding, figs.currency or cur)} outstanding, "
        f"{figs.overdue_count} overdue. "
        f"Tickets: {figs.open_tickets} open, {figs.escalated_tickets} escalated."
    )
    if snap.stale:
        text = "⚠️ Zoho did not answer, showing older data. " + text
    return escape(clip(text, FALLBACK_TEXT - 100))


def account_card(
    snapshot: AccountSnapshot,
    health: Health,
    figures: AccountFigures,
    *,
    owner_mention: str | None,
    tz: tzinfo,
    now: datetime,
    links: AppLinks,
    currency_fallback: str = "USD",
    shareable: bool = True,
) -> Message:
    """The `/account` card. `owner_mention` is `<@U…>` when the owner is a known Slack user."""
    snap, acc = snapshot, snapshot.account
    blocks: list[Block] = [{"type": "header", "text": plain(acc.name or f"Account {acc.id}", HEADER_TEXT)}]
    read = format_time(snap.read_at, tz, now=now)
    if snap.stale:
        why = f" ({safe(snap.stale_reason, 300)})" if snap.stale_reason.strip() else ""
        blocks.append(section(f"⚠️ *Zoho did not answer*{why} — showing data from {read}."))
    owner = owner_mention or safe(acc.owner.name or acc.owner.email or "—")
    reasons = "".join(f"\n• {safe(r, 200)}" for r in health.reasons[:6])
    blocks.append(section(None, [f"*Owner*\n{owner}", f"*Health*\n{HEALTH_BADGES[health.level]}{reasons}"]))
    apps = _app_links(snap, links)
    if apps:
        blocks.append(context(apps))
    blocks.append({"type": "divider"})
    blocks.append(_deals_section(snap, figures, links, tz, currency_fallback))
    blocks.extend(_invoice_blocks(snap, figures, links, tz, currency_fallback))
    blocks.append(_ticket_section(snap, figures, links, now))
    notes = [f"Read from Zoho at {read} ({_tz_name(tz)})"]
    if figures.mixed_currencies:
        notes.append("Amounts in several currencies are added as they are.")
    blocks.append(context(*notes))
    if shareable:
        blocks.append({
            "type": "actions",
            "block_id": "account_actions",
            "elements": [button("Share in channel", SHARE_ACTION, acc.id)],
        })  # fmt: skip
    return Message(_fallback(snap, health, figures, currency_fallback), blocks)


def shared_by(card: Message, user_id: str) -> Message:
    """The card as posted to the channel: no Share button, plus who shared it."""
    kept = [b for b in card.blocks if not (b.get("type") == "actions" and b.get("block_id") == "account_actions")]
    if user_id:
        kept.append(context(f"Shared by <@{user_id}>"))
    return Message(card.text, kept[:MAX_BLOCKS])


# ---- lookup answers ------------------------------------------------------------------------------------


def _pick_buttons(matches: Sequence[Match]) -> Block:
    names = [m.name for m in matches]
    buttons = []
    for n, m in enumerate(matches[:5]):
        label = m.name or m.id
        if names.count(m.name) > 1:  # same name twice: tell them apart by the end of the id
            label = f"{clip(label, BUTTON_TEXT - 8)} (…{m.id[-4:]})"
        buttons.append(button(label, PICK_ACTION.format(n), m.id))
    return {"type": "actions", "block_id": "account_pick", "elements": buttons}


def pick_list(query: str, matches: Sequence[Match]) -> Message:
    intro = f"Several accounts match {_quoted(query)}:"
    blocks = [section(intro)]
    if matches:
        blocks.append(_pick_buttons(matches))
    names = ", ".join(clip(m.name, 60) for m in matches[:5])
    return Message(escape(clip(f"Several accounts match “{query}”: {names}", FALLBACK_TEXT)), blocks)


def not_found(query: str, suggestions: Sequence[Match]) -> Message:
    text = f"No account matches {_quoted(query)} in Zoho CRM."
    if suggestions:
        blocks = [section(f"{text} Did you mean:"), _pick_buttons(suggestions[:3])]
    else:
        blocks = [section(f"{text}\nTry part of the name, a contact's email address, the web domain or the CRM id.")]
    return Message(escape(clip(f"No account matches “{query}” in Zoho CRM.", FALLBACK_TEXT)), blocks)


def usage() -> Message:
    text = (
        "*Look up an account* across Zoho CRM, Books and Desk:\n"
        "• `/account acme` — by name; part of it or a typo is fine\n"
        "• `/account jane@acme.com` — by a contact's email address\n"
        "• `/account acme.com` — by web domain\n"
        "• `/account 4876876000000123456` — by CRM account id"
    )
    return Message("Use /account with a name, an email address, a domain or a CRM id.", [section(text)])


WORKING_BLOCK_ID = "working"  # marks the placeholder that the card replaces through the response URL


def working(query: str) -> Message:
    text = f"Looking up {_quoted(query)} in Zoho CRM, Books and Desk…" if query.strip() else "Looking up…"
    return Message(text, [{**context(f"⏳ {text}"), "block_id": WORKING_BLOCK_ID}])
