"""Block Kit builders for `/account` (pure: no I/O).

Every builder returns a `Message` whose blocks respect Slack's limits (see `validate_message`) and that
always carries a top-level `text` fallback. Text from Zoho is escaped (`&`, `<`, `>`) before it goes into
mrkdwn and clipped before it is escaped, so an entity or a link is never cut in half.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from bot.health import AccountFigures, Health, is_open_ticket
from bot.lookup import Match
from bot.models import AccountSnapshot, Deal, Invoice, Ticket
from bot.money import format_date, format_money, format_time, relative_age

Block = dict[str, Any]

# ---- Slack limits (shared/slack.md) --------------------------------------------------------------------
MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL_LENGTH = 3000
ID_LENGTH = 255  # action_id, block_id
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
# Reported, not documented: whole messages refused as msg_blocks_too_long near 13k characters.
MESSAGE_TEXT_BUDGET = 12_000
FALLBACK_TEXT = 3000  # our own cap for the top-level text

LATEST = 5  # rows per list on the card
NAME_CLIP = 80  # raw characters of a Zoho name in a list row
PICK_ACTION = "account_pick_{}"
SHARE_ACTION = "account_share"

HEALTH_BADGES = {"healthy": "🟢 Healthy", "watch": "🟡 Watch", "at_risk": "🔴 At risk"}


@dataclass
class Message:
    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}

    def as_kwargs(self) -> dict[str, Any]:
        """For `respond(**m.as_kwargs())`, `chat_postMessage(channel=..., **m.as_kwargs())`."""
        return self.to_dict()


@dataclass(frozen=True)
class AppLinks:
    """Builds links into the Zoho apps; an empty base means "no link".

    crm_base: `https://crm.zoho.eu/crm` or org-specific `https://crm.zoho.com/crm/org123`.
    books_base: `https://books.zoho.com`; books_org_id is required for Books links.
    desk_base: `https://desk.zoho.com`; desk_portal (the portal name) is required for built Desk links,
    which are only a fallback for the `webUrl` Desk returns with each record.
    """

    crm_base: str = ""
    books_base: str = ""
    books_org_id: str = ""
    desk_base: str = ""
    desk_portal: str = ""

    @classmethod
    def for_dc(
        cls, dc: str = "com", *, crm_org: str = "", books_org_id: str = "", desk_portal: str = ""
    ) -> AppLinks:
        host = f"zohocloud.{dc}" if dc == "ca" else f"zoho.{dc}"
        crm = f"https://crm.{host}/crm" + (f"/{crm_org}" if crm_org else "")
        return cls(crm, f"https://books.{host}", books_org_id, f"https://desk.{host}", desk_portal)

    def crm_account(self, account_id: str) -> str | None:
        return _url(self.crm_base, f"/tab/Accounts/{quote(account_id, safe='')}") if account_id else None

    def crm_deal(self, deal_id: str) -> str | None:
        return _url(self.crm_base, f"/tab/Potentials/{quote(deal_id, safe='')}") if deal_id else None

    def books_customer(self, customer_id: str) -> str | None:
        return self._books(f"#/contacts/{quote(customer_id, safe='')}") if customer_id else None

    def books_invoice(self, invoice_id: str) -> str | None:
        return self._books(f"#/invoices/{quote(invoice_id, safe='')}") if invoice_id else None

    def desk_account(self, account_id: str, web_url: str = "") -> str | None:
        return _clean_url(web_url) or self._desk(f"accounts/details/{quote(account_id, safe='')}")

    def desk_ticket(self, ticket_id: str, web_url: str = "") -> str | None:
        return _clean_url(web_url) or self._desk(f"tickets/details/{quote(ticket_id, safe='')}")

    def _books(self, fragment: str) -> str | None:
        if not self.books_org_id:
            return None
        return _url(self.books_base, f"/app/{quote(self.books_org_id, safe='')}{fragment}")

    def _desk(self, path: str) -> str | None:
        if not self.desk_portal:
            return None
        return _url(self.desk_base, f"/agent/{quote(self.desk_portal, safe='')}/{path}")


def _clean_url(url: str) -> str | None:
    """A URL safe inside `<url|label>` and within Slack's length, else None."""
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > URL_LENGTH or re.search(r"[\s<>|]", url):
        return None
    return url


def _url(base: str, path: str) -> str | None:
    return _clean_url(base.rstrip("/") + path) if base else None


# ---- text helpers --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Collapse whitespace and cut to `limit` characters, marking the cut with …"""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def fit(mrkdwn: str, limit: int) -> str:
    """Cut escaped mrkdwn to `limit` on a line boundary; a lone overlong line is cut outside any entity
    or link."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    kept: list[str] = []
    used = 0
    for line in mrkdwn.split("\n"):
        if used + len(line) + 1 > limit - 2:
            break
        kept.append(line)
        used += len(line) + 1
    if kept:
        return "\n".join(kept) + "\n…"
    cut = mrkdwn[: limit - 1]
    cut = re.sub(r"&[a-z]*$", "", cut)
    cut = re.sub(r"<[^>]*$", "", cut)
    return cut + "…"


def _safe(text: str, limit: int = NAME_CLIP) -> str:
    return escape(clip(text, limit))


def _link(url: str | None, label: str) -> str:
    """`label` must be escaped already."""
    return f"<{url}|{label}>" if url else label


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or "—", "emoji": True}


def _mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, limit) or "—"}


def _section(text: str | None, fields: Sequence[str] = ()) -> Block:
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = _mrkdwn(text)
    if fields:
        block["fields"] = [_mrkdwn(f, FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    return block


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS] if t]}


def _button(text: str, action_id: str, value: str = "", *, style: str = "", url: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _plain(text, BUTTON_TEXT), "action_id": action_id}
    if value:
        button["value"] = value[:BUTTON_VALUE]
    if url:
        button["url"] = url
    if style:
        button["style"] = style
    return button


# Building blocks for other features' messages (each clips and escapes to Slack's limits).
section = _section
context = _context
button = _button
safe = _safe
link = _link
plain = _plain


def _quoted(query: str) -> str:
    return f"“{_safe(query, 100)}”"


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
    return f"\n_and {total - shown} more in {_link(url, app)}_"


def _deals_section(
    snap: AccountSnapshot, figs: AccountFigures, links: AppLinks, tz: tzinfo, cur: str
) -> Block:
    money = figs.deal_currency or cur
    head = (
        f"*Deals* · open pipeline *{format_money(figs.open_pipeline, money)}* ({figs.open_deals} open)"
        f" · won to date *{format_money(figs.won_to_date, money)}*"
    )
    if not snap.deals:
        return _section(f"{head}\n_No deals in Zoho CRM._")
    latest = sorted(snap.deals, key=_deal_order, reverse=True)[:LATEST]
    rows = [_deal_row(d, links, tz, money) for d in latest]
    more = _more(len(snap.deals), len(latest), links.crm_account(snap.account.id), "Zoho CRM")
    return _section("\n".join([head, *rows]) + more)


def _deal_order(deal: Deal) -> tuple[float, int]:
    return _ts(
        deal.modified_time or deal.created_time
    ), deal.closing_date.toordinal() if deal.closing_date else 0


def _deal_row(deal: Deal, links: AppLinks, tz: tzinfo, currency: str) -> str:
    parts = [
        _link(links.crm_deal(deal.id), _safe(deal.name or deal.id)),
        _safe(deal.stage or "—", 40),
        format_money(deal.amount, deal.currency or currency),
    ]
    if deal.closing_date:
        parts.append(f"closes {format_date(deal.closing_date, tz)}")
    return "• " + " · ".join(parts)


def _invoice_blocks(
    snap: AccountSnapshot, figs: AccountFigures, links: AppLinks, tz: tzinfo, cur: str
) -> list[Block]:
    money = figs.currency or cur
    if snap.books_customer is None and not snap.invoices:
        return [_section("*Invoices*\n_No customer in Zoho Books yet._")]
    overdue = f"{figs.overdue_count}" + (
        f" · {format_money(figs.overdue_amount, money)}" if figs.overdue_count else ""
    )
    fields = [
        f"*Invoiced*\n{format_money(figs.invoiced, money)}",
        f"*Collected*\n{format_money(figs.collected, money)}",
        f"*Outstanding*\n{format_money(figs.outstanding, money)}",
        f"*Overdue*\n{'⚠️ ' if figs.overdue_count else ''}{overdue}",
    ]
    latest = sorted(
        snap.invoices, key=lambda i: (i.date.toordinal() if i.date else 0, i.number), reverse=True
    )
    rows = [_invoice_row(i, links, tz, money) for i in latest[:LATEST]]
    customer_url = links.books_customer(snap.books_customer.id) if snap.books_customer else None
    body = "\n".join(rows) if rows else "_No invoices yet._"
    more = _more(len(latest), len(rows), customer_url, "Zoho Books")
    return [_section("*Invoices*", fields), _section(f"{body}{more}")]


def _invoice_row(inv: Invoice, links: AppLinks, tz: tzinfo, currency: str) -> str:
    money = inv.currency or currency
    label = _safe(inv.number or inv.reference_number or inv.id, 40)
    parts = [
        _link(links.books_invoice(inv.id), label),
        _safe(_label(inv.status), 30),
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
        return _section(f"{head}\n_No account in Zoho Desk._")
    if not snap.tickets:
        return _section(f"{head}\n_No tickets._")
    latest = sorted(snap.tickets, key=lambda t: (is_open_ticket(t), _ts(t.created_time)), reverse=True)[
        :LATEST
    ]
    rows = [_ticket_row(t, links, now) for t in latest]
    desk = snap.desk_account
    desk_url = links.desk_account(desk.id, desk.web_url) if desk else None
    return _section("\n".join([head, *rows]) + _more(len(snap.tickets), len(rows), desk_url, "Zoho Desk"))


def _ticket_row(ticket: Ticket, links: AppLinks, now: datetime) -> str:
    title = f"#{ticket.number} " if ticket.number else ""
    label = _safe(title + (ticket.subject or "(no subject)"))
    parts = [
        _link(links.desk_ticket(ticket.id, ticket.web_url), label),
        _safe(ticket.status or ticket.status_type or "—", 30),
    ]
    if ticket.priority:
        parts.append(_safe(ticket.priority, 20))
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
    blocks: list[Block] = [{"type": "header", "text": _plain(acc.name or f"Account {acc.id}", HEADER_TEXT)}]
    read = format_time(snap.read_at, tz, now=now)
    if snap.stale:
        why = f" ({_safe(snap.stale_reason, 300)})" if snap.stale_reason.strip() else ""
        blocks.append(_section(f"⚠️ *Zoho did not answer*{why} — showing data from {read}."))
    owner = owner_mention or _safe(acc.owner.name or acc.owner.email or "—")
    reasons = "".join(f"\n• {_safe(r, 200)}" for r in health.reasons[:6])
    blocks.append(_section(None, [f"*Owner*\n{owner}", f"*Health*\n{HEALTH_BADGES[health.level]}{reasons}"]))
    apps = _app_links(snap, links)
    if apps:
        blocks.append(_context(apps))
    blocks.append({"type": "divider"})
    blocks.append(_deals_section(snap, figures, links, tz, currency_fallback))
    blocks.extend(_invoice_blocks(snap, figures, links, tz, currency_fallback))
    blocks.append(_ticket_section(snap, figures, links, now))
    notes = [f"Read from Zoho at {read} ({_tz_name(tz)})"]
    if figures.mixed_currencies:
        notes.append("Amounts in several currencies are added as they are.")
    blocks.append(_context(*notes))
    if shareable:
        blocks.append({
            "type": "actions",
            "block_id": "account_actions",
            "elements": [_button("Share in channel", SHARE_ACTION, acc.id)],
        })  # fmt: skip
    return Message(_fallback(snap, health, figures, currency_fallback), blocks)


def shared_by(card: Message, user_id: str) -> Message:
    """The card as posted to the channel: no Share button, plus who shared it."""
    kept = [
        b for b in card.blocks if not (b.get("type") == "actions" and b.get("block_id") == "account_actions")
    ]
    if user_id:
        kept.append(_context(f"Shared by <@{user_id}>"))
    return Message(card.text, kept[:MAX_BLOCKS])


# ---- lookup answers ------------------------------------------------------------------------------------


def _pick_buttons(matches: Sequence[Match]) -> Block:
    names = [m.name for m in matches]
    buttons = []
    for n, m in enumerate(matches[:5]):
        label = m.name or m.id
        if names.count(m.name) > 1:  # same name twice: tell them apart by the end of the id
            label = f"{clip(label, BUTTON_TEXT - 8)} (…{m.id[-4:]})"
        buttons.append(_button(label, PICK_ACTION.format(n), m.id))
    return {"type": "actions", "block_id": "account_pick", "elements": buttons}


def pick_list(query: str, matches: Sequence[Match]) -> Message:
    intro = f"Several accounts match {_quoted(query)}:"
    blocks = [_section(intro)]
    if matches:
        blocks.append(_pick_buttons(matches))
    names = ", ".join(clip(m.name, 60) for m in matches[:5])
    return Message(escape(clip(f"Several accounts match “{query}”: {names}", FALLBACK_TEXT)), blocks)


def not_found(query: str, suggestions: Sequence[Match]) -> Message:
    text = f"No account matches {_quoted(query)} in Zoho CRM."
    if suggestions:
        blocks = [_section(f"{text} Did you mean:"), _pick_buttons(suggestions[:3])]
    else:
        blocks = [
            _section(
                f"{text}\nTry part of the name, a contact's email address, the web domain or the CRM id."
            )
        ]
    return Message(escape(clip(f"No account matches “{query}” in Zoho CRM.", FALLBACK_TEXT)), blocks)


def usage() -> Message:
    text = (
        "*Look up an account* across Zoho CRM, Books and Desk:\n"
        "• `/account acme` — by name; part of it or a typo is fine\n"
        "• `/account jane@acme.com` — by a contact's email address\n"
        "• `/account acme.com` — by web domain\n"
        "• `/account 4876876000000123456` — by CRM account id"
    )
    return Message("Use /account with a name, an email address, a domain or a CRM id.", [_section(text)])


def error_message(text: str) -> Message:
    body = _safe(text, 2000) or "Something went wrong."
    return Message(body, [_section(f"⚠️ {body}")])


WORKING_BLOCK_ID = "working"  # marks the placeholder that the card replaces through the response URL


def working(query: str) -> Message:
    text = f"Looking up {_quoted(query)} in Zoho CRM, Books and Desk…" if query.strip() else "Looking up…"
    return Message(text, [{**_context(f"⏳ {text}"), "block_id": WORKING_BLOCK_ID}])


# ---- validation ----------------------------------------------------------------------------------------


def _check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{where}: {what}")


def _check_text(obj: Any, where: str, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> int:
    _check(
        isinstance(obj, Mapping) and obj.get("type") in kinds, where, f"must be a {' or '.join(kinds)} object"
    )
    text = obj.get("text")
    _check(isinstance(text, str) and len(text) > 0, where, "text must be a non-empty string")
    _check(len(text) <= limit, where, f"text is {len(text)} characters, limit {limit}")
    return len(text)


def _check_element(el: Mapping[str, Any], where: str, action_ids: set[str]) -> int:
    size = 0
    if "text" in el and el.get("type") == "button":
        size += _check_text(el["text"], f"{where}.text", BUTTON_TEXT, ("plain_text",))
    if "action_id" in el:
        aid = el["action_id"]
        _check(
            isinstance(aid, str) and 0 < len(aid) <= ID_LENGTH,
            where,
            f"action_id over {ID_LENGTH} characters",
        )
        _check(aid not in action_ids, where, f"duplicate action_id {aid!r}")
        action_ids.add(aid)
    _check(len(str(el.get("value", ""))) <= BUTTON_VALUE, where, f"value over {BUTTON_VALUE} characters")
    _check(len(str(el.get("url", ""))) <= URL_LENGTH, where, f"url over {URL_LENGTH} characters")
    confirm = el.get("confirm")
    if confirm:
        for key, limit in CONFIRM_LIMITS.items():
            if key in confirm:
                _check_text(confirm[key], f"{where}.confirm.{key}", limit)
    return size


def validate_message(message: Message | Mapping[str, Any]) -> None:
    """Raise ValueError naming the first Slack limit the message breaks."""
    msg = message.to_dict() if isinstance(message, Message) else dict(message)
    text, blocks = msg.get("text"), msg.get("blocks") or []
    _check(isinstance(text, str) and bool(text.strip()), "text", "a top-level fallback text is required")
    _check(len(blocks) <= MAX_BLOCKS, "blocks", f"{len(blocks)} blocks, limit {MAX_BLOCKS}")
    total, block_ids, action_ids = 0, set(), set()  # type: ignore[var-annotated]
    for n, block in enumerate(blocks):
        where = f"blocks[{n}] ({block.get('type')})"
        bid = block.get("block_id")
        if bid is not None:
            _check(
                isinstance(bid, str) and 0 < len(bid) <= ID_LENGTH, where, f"block_id over {ID_LENGTH} chars"
            )
            _check(bid not in block_ids, where, f"duplicate block_id {bid!r}")
            block_ids.add(bid)
        kind = block.get("type")
        if kind == "header":
            total += _check_text(block.get("text"), f"{where}.text", HEADER_TEXT, ("plain_text",))
        elif kind == "section":
            fields = block.get("fields") or []
            _check("text" in block or bool(fields), where, "a section needs text or fields")
            if "text" in block:
                total += _check_text(block["text"], f"{where}.text", SECTION_TEXT)
            _check(len(fields) <= MAX_FIELDS, where, f"{len(fields)} fields, limit {MAX_FIELDS}")
            for i, f in enumerate(fields):
                total += _check_text(f, f"{where}.fields[{i}]", FIELD_TEXT)
            if block.get("accessory"):
                total += _check_element(block["accessory"], f"{where}.accessory", action_ids)
        elif kind == "context":
            elements = block.get("elements") or []
            _check(
                0 < len(elements) <= CONTEXT_ELEMENTS,
                where,
                f"{len(elements)} elements, 1..{CONTEXT_ELEMENTS}",
            )
            for i, el in enumerate(elements):
                if el.get("type") in ("plain_text", "mrkdwn"):
                    total += _check_text(el, f"{where}.elements[{i}]", SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            _check(
                0 < len(elements) <= ACTIONS_ELEMENTS,
                where,
                f"{len(elements)} elements, 1..{ACTIONS_ELEMENTS}",
            )
            for i, el in enumerate(elements):
                total += _check_element(el, f"{where}.elements[{i}]", action_ids)
        elif kind != "divider":
            _check(kind is not None, where, "block without a type")
    _check(
        total <= MESSAGE_TEXT_BUDGET, "blocks", f"{total} characters of text, budget {MESSAGE_TEXT_BUDGET}"
    )
