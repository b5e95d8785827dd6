"""Daily digests per team (pure builders): what each team needs to look at this morning.

- finance: handoffs waiting for approval, won deals not invoiced after N days, invoices that went overdue
  since yesterday, what was collected yesterday.
- sales: one digest per account owner: their accounts' new tickets (since yesterday), overdue invoices, and
  their handoffs waiting on missing fields.
- support: new customers handed over since yesterday, open escalations, customers with both open tickets and
  overdue invoices.
- leadership: sold, invoiced and collected month to date against the same days of last month (with a chart),
  and close → first invoice time over the last 90 days.

Empty sections are left out; lists are cut to `list_limit` rows with a count of the rest and where to see them.
"Yesterday" is the local day before `today` in the digest's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from bot.account.health import is_open_ticket, is_overdue
from bot.blocks import Message, escape
from bot.models import Invoice, Ticket
from bot.money import format_time, relative_age
from bot.reports.blocks import (
    Listing,
    context,
    days,
    fields,
    header,
    listing_blocks,
    money,
    plural,
    safe,
    waiting_listing,
)
from bot.reports.charts import ChartSeries
from bot.reports.compute import (
    Flows,
    HandoffRow,
    MirrorData,
    ReportConfig,
    Spread,
    account_name,
    day_paid,
    local_date,
    overdue_invoices,
    revenue_totals,
    timing_summary,
    waiting_deals,
)
from bot.reports.periods import Period, month_to_date, same_days_last_month
from bot.zoho.links import AppLinks

TEAMS = ("finance", "sales", "support", "leadership")
TITLES = {
    "finance": "Finance digest",
    "sales": "Sales digest",
    "support": "Support digest",
    "leadership": "Leadership digest",
}
TIMING_DAYS = 90  # leadership: close → first invoice over deals closed in this many days


@dataclass(frozen=True)
class DigestContext:
    today: date  # local date in the digest's time zone
    now: datetime
    tz: tzinfo
    config: ReportConfig
    links: AppLinks

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)


@dataclass(frozen=True)
class Outgoing:
    """One digest message. `recipient` is "" for the team channel, else the owner's email (sales)."""

    team: str
    recipient: str
    recipient_name: str
    message: Message
    chart: ChartSeries | None = None


def _message(
    team: str, ctx: DigestContext, listings: list[Listing], *, lead: list[dict] | None = None, who: str = ""
) -> Message:
    title = f"{TITLES[team]}{' · ' + who if who else ''} · {ctx.today:%a %d %b}"
    body = (lead or []) + listing_blocks(listings, ctx.config.list_limit)
    counts = ", ".join(f"{x.title.lower()}: {x.total}" for x in listings if x.total)
    if not body:
        body = [context("Nothing needs your attention today.")]
        counts = "nothing needs your attention today"
    blocks = [header(title), *body, context(f"As of {format_time(ctx.now, ctx.tz, now=ctx.now)} · Throughline")]
    return Message(escape(f"{title}: {counts}."[:2900]), blocks)


def _deal_label(h: HandoffRow, data: MirrorData, deals: dict) -> str:
    deal = deals.get(h.deal_id)
    name = (deal.name if deal else "") or str(h.plan.get("deal_name") or "") or f"deal {h.deal_id}"
    account = account_name(data, h.account_id, str(h.plan.get("account_name") or ""))
    return f"{safe(account, 50)} — {safe(name, 60)}"


def _handoff_amount(h: HandoffRow, deals: dict) -> str:
    deal = deals.get(h.deal_id)
    if deal is not None and deal.amount is not None:
        return " · " + money(deal.amount, deal.currency)
    return ""


def _finance_link(h: HandoffRow) -> str | None:
    if h.finance_channel and h.finance_ts:
        return f"https://slack.com/archives/{h.finance_channel}/p{h.finance_ts.replace('.', '')}"
    return None


def _books_invoices(links: AppLinks) -> str:
    if not links.books_org_id or not links.books_base:
        return "`/report invoicing`"
    return f"<{links.books_base.rstrip('/')}/app/{links.books_org_id}#/invoices|open Zoho Books>"


def _invoice_row(inv, data: MirrorData, ctx: DigestContext, *, due: bool = True) -> str:  # type: ignore[no-untyped-def]
    label = safe(inv.number or inv.id, 30)
    url = ctx.links.books_invoice(inv.id)
    number = f"<{url}|{label}>" if url else label
    parts = [number, safe(account_name(data, inv.account_id, inv.customer_name), 50), money(inv.balance, inv.currency)]
    if due and inv.due_date:
        parts.append(f"due {inv.due_date:%d %b} ({(ctx.today - inv.due_date).days} days)")
    return " · ".join(parts)


# ---- finance ---------------------------------------------------------------------------------------------


def finance(data: MirrorData, ctx: DigestContext) -> list[Outgoing]:
    deals = data.deals_by_id()
    ready = sorted((h for h in data.handoffs if h.state == "ready"), key=lambda h: h.updated_at or ctx.now)
    approvals = [
        f"{_deal_label(h, data, deals)}{_handoff_amount(h, deals)} · waiting "
        f"{relative_age(h.updated_at or h.created_at, ctx.now)}"
        + (f" · <{_finance_link(h)}|review>" if _finance_link(h) else "")
        for h in ready
    ]
    waiting = waiting_deals(data, ctx.today, ctx.config)
    went = [
        i
        for i in overdue_invoices(data, ctx.today, ctx.config.rules)
        if i.due_date is not None and ctx.yesterday <= i.due_date < ctx.today
    ]
    paid = day_paid(data, ctx.yesterday, ctx.config.list_limit)  # a listing shows no more: the rest are only counted
    collected = [f"{safe(p.account, 60)} · {money(p.amount, p.currency)}" for p in paid.first]
    listings = [
        Listing("Waiting for approval", approvals, len(approvals), more="see #finance"),
        waiting_listing(ctx.config.not_invoiced_after_days, waiting.first, waiting.count),
        Listing("Went overdue", [_invoice_row(i, data, ctx) for i in went], len(went), more=_books_invoices(ctx.links)),
        Listing(
            "Collected yesterday",
            collected,
            paid.count,
            more=_books_invoices(ctx.links),
            note=" + ".join(money(v, c) for c, v in paid.totals.items()),
        ),
    ]
    return [Outgoing("finance", "", "", _message("finance", ctx, listings))]


# ---- sales ----------------------------------------------------------------------------------------------


@dataclass
class OwnerLists:
    """One owner's sales digest: the first `list_limit` rows of each list, in order, and how many each holds."""

    tickets: list[Ticket] = field(default_factory=list)  # created yesterday, newest first
    tickets_total: int = 0
    overdue: list[Invoice] = field(default_factory=list)  # longest overdue first
    overdue_total: int = 0
    missing: list[HandoffRow] = field(default_factory=list)  # every handoff waiting on missing fields


@dataclass
class SalesPicked:
    """The sales digests before they are written: per owner (folded email) with something to see, the owners'
    names, and in `data` the records the rows name (their accounts, the handoffs' deals). Worked out from records
    (`sales_picked`) or by SQL (bot/reports/data.py `sales_digest_data`)."""

    owners: dict[str, OwnerLists]
    names: dict[str, str]
    data: MirrorData


def sales_picked(data: MirrorData, ctx: DigestContext) -> SalesPicked:
    """What the sales digests list, from records."""
    limit = ctx.config.list_limit
    owner_of = {a.id: a.owner.email.strip().lower() for a in data.accounts.values() if a.owner.email}
    names = {a.owner.email.strip().lower(): a.owner.name or a.owner.email for a in data.accounts.values()}
    owners: dict[str, OwnerLists] = defaultdict(OwnerLists)
    for t in sorted(data.tickets, key=lambda t: t.created_time or ctx.now, reverse=True):
        if t.account_id in owner_of and local_date(t.created_time, ctx.tz) == ctx.yesterday:
            lists = owners[owner_of[t.account_id]]
            lists.tickets_total += 1
            if len(lists.tickets) < limit:
                lists.tickets.append(t)
    for i in overdue_invoices(data, ctx.today, ctx.config.rules):
        if i.account_id in owner_of:
            lists = owners[owner_of[i.account_id]]
            lists.overdue_total += 1
            if len(lists.overdue) < limit:
                lists.overdue.append(i)
    for h in data.handoffs:
        if h.state == "waiting" and h.missing:
            email = h.owner_email or owner_of.get(h.account_id, "")
            if email:
                owners[email].missing.append(h)
                names.setdefault(email, email)
    return SalesPicked(dict(owners), {e: names.get(e, e) for e in owners}, data)


def _ticket_row(t: Ticket, data: MirrorData, ctx: DigestContext) -> str:
    label = safe(f"#{t.number} {t.subject}" if t.number else t.subject or "(no subject)", 80)
    url = ctx.links.desk_ticket(t.id, t.web_url)
    return f"{f'<{url}|{label}>' if url else label} · {safe(account_name(data, t.account_id), 50)}"


def sales(data: MirrorData | SalesPicked, ctx: DigestContext) -> list[Outgoing]:
    """One digest per account owner with something to see; owners are keyed by lower-case email."""
    picked = data if isinstance(data, SalesPicked) else sales_picked(data, ctx)
    records, deals = picked.data, picked.data.deals_by_id()
    out = []
    for email in sorted(picked.owners):
        lists, name = picked.owners[email], picked.names.get(email, email)
        tickets = [
            _ticket_row(t, records, ctx)
            + f"{' · ' + safe(t.priority, 20) if t.priority else ''}{' · 🔺 escalated' if t.is_escalated else ''}"
            for t in lists.tickets
        ]
        missing = [
            f"{_deal_label(h, records, deals)} · missing {safe(', '.join(h.missing), 200)}" for h in lists.missing
        ]
        listings = [
            Listing("New tickets on your accounts", tickets, lists.tickets_total, more="Zoho Desk"),
            Listing(
                "Overdue invoices",
                [_invoice_row(i, records, ctx) for i in lists.overdue],
                lists.overdue_total,
                more=_books_invoices(ctx.links),
            ),
            Listing("Handoffs missing fields", missing, len(missing), more="fix them in Zoho CRM"),
        ]
        out.append(Outgoing("sales", email, name, _message("sales", ctx, listings, who=name)))
    return out


# ---- support ---------------------------------------------------------------------------------------------


@dataclass
class SupportPicked:
    """The support digest before it is written: handoffs done yesterday, the first `list_limit` open escalations
    (newest first) of `escalations`, and of `both` accounts with open tickets and overdue invoices the first rows
    (account, open tickets, overdue balance per currency), most open tickets first; `data` holds the accounts
    and deals the rows name. From records (`support_picked`) or by SQL (bot/reports/data.py
    `support_digest_data`)."""

    handed: list[HandoffRow]
    escalated: list[Ticket]
    escalations: int
    both: list[tuple[str, int, dict[str, Decimal]]]
    accounts_both: int
    data: MirrorData


def support_picked(data: MirrorData, ctx: DigestContext) -> SupportPicked:
    """What the support digest lists, from records."""
    limit = ctx.config.list_limit
    handed = [h for h in data.handoffs if h.state == "done" and local_date(h.updated_at, ctx.tz) == ctx.yesterday]
    escalated = sorted(
        (t for t in data.tickets if t.is_escalated and is_open_ticket(t, ctx.config.rules)),
        key=lambda t: t.created_time or ctx.now,
        reverse=True,
    )
    open_by: dict[str, int] = defaultdict(int)
    for t in data.tickets:
        if t.account_id and is_open_ticket(t, ctx.config.rules):
            open_by[t.account_id] += 1
    owed: dict[str, list] = defaultdict(list)
    for i in data.invoices:
        if i.account_id in open_by and is_overdue(i, ctx.today, ctx.config.rules):
            owed[i.account_id].append(i)
    both = sorted(owed, key=lambda a: (-open_by[a], account_name(data, a).casefold(), a))
    rows = [(a, open_by[a], _sum_balance(owed[a])) for a in both[:limit]]
    return SupportPicked(handed, escalated[:limit], len(escalated), rows, len(both), data)


def support(data: MirrorData | SupportPicked, ctx: DigestContext) -> list[Outgoing]:
    picked = data if isinstance(data, SupportPicked) else support_picked(data, ctx)
    records, deals = picked.data, picked.data.deals_by_id()
    new_customers = [
        f"{_deal_label(h, records, deals)}{_handoff_amount(h, deals)}"
        + (f" · {safe(h.document_number, 30)}" if h.document_number else "")
        for h in picked.handed
    ]
    esc_rows = [
        f"{_ticket_row(t, records, ctx)} · {relative_age(t.created_time, ctx.now)} old" for t in picked.escalated
    ]
    both_rows = [
        f"{safe(account_name(records, a), 60)} · {plural(n, 'open ticket')} · "
        + " + ".join(money(v, c) for c, v in owed.items())
        + " overdue"
        for a, n, owed in picked.both
    ]
    listings = [
        Listing("New customers handed over", new_customers, len(new_customers), more="see #support"),
        Listing("Open escalations", esc_rows, picked.escalations, more="Zoho Desk"),
        Listing("Open tickets and overdue invoices", both_rows, picked.accounts_both, more="`/report renewals`"),
    ]
    return [Outgoing("support", "", "", _message("support", ctx, listings))]


def _sum_balance(invoices: list) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for i in invoices:
        out[(i.currency or "").upper()] += i.balance
    return dict(sorted(out.items()))


# ---- leadership ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadershipFigures:
    currency: str
    this: Flows
    last: Flows
    this_label: str
    last_label: str
    timing: Spread
    not_invoiced: int
    after_days: int
    other: tuple[str, ...]

    def chart_series(self) -> ChartSeries:
        cats = ("Sold", "Invoiced", "Collected")
        return ChartSeries(
            title=f"Month to date vs last month ({self.currency})",
            categories=cats,
            series=(
                (self.last_label, (self.last.sold, self.last.invoiced, self.last.collected)),
                (self.this_label, (self.this.sold, self.this.invoiced, self.this.collected)),
            ),
        )


def leadership_figures(data: MirrorData, ctx: DigestContext) -> LeadershipFigures:
    mtd, last = month_to_date(ctx.today), same_days_last_month(ctx.today)
    currency, now, now_other = revenue_totals(data, mtd, ctx.config)
    _, before, before_other = revenue_totals(data, last, ctx.config)
    recent = Period(ctx.today - timedelta(days=TIMING_DAYS - 1), ctx.today, f"last {TIMING_DAYS} days")
    timing = timing_summary(data, recent, ctx.today, ctx.config)
    other = tuple(sorted(set(now_other) | set(before_other)))
    return LeadershipFigures(
        currency,
        now,
        before,
        mtd.label,
        last.label,
        timing.overall,
        timing.not_invoiced,
        ctx.config.not_invoiced_after_days,
        other,
    )


def _change(now: Decimal, before: Decimal) -> str:
    if before == 0:
        return "" if now == 0 else " (new)"
    pct = (now - before) / before * 100
    return f" ({'+' if pct >= 0 else '−'}{abs(pct):.0f}%)"


def leadership(data: MirrorData, ctx: DigestContext) -> list[Outgoing]:
    f = leadership_figures(data, ctx)
    cur = f.currency

    def cell(name: str, now: Decimal, before: Decimal) -> str:
        return f"*{name}*\n{money(now, cur)}{_change(now, before)}\nvs {money(before, cur)}"

    lead = [
        context(f"{escape(f.this_label)} against {escape(f.last_label)}, in {cur}"),
        fields(
            cell("Sold", f.this.sold, f.last.sold),
            cell("Invoiced", f.this.invoiced, f.last.invoiced),
            cell("Collected", f.this.collected, f.last.collected),
            f"*Close → first invoice* (last {TIMING_DAYS} days)\nmedian {days(f.timing.median)}, "
            f"p90 {days(f.timing.p90)} over {f.timing.count} deals\n"
            f"{f.not_invoiced} won deals not invoiced after {f.after_days} days",
        ),
    ]
    if f.other:
        lead.append(context(f"Amounts in {', '.join(f.other)} are not added in: `/report revenue` lists them."))
    message = _message("leadership", ctx, [], lead=lead)
    return [Outgoing("leadership", "", "", message, chart=f.chart_series())]


Picked = MirrorData | SalesPicked | SupportPicked  # what `build` takes: records, or a digest SQL worked out

BUILDERS: dict[str, Callable[[Any, DigestContext], list[Outgoing]]] = {
    "finance": finance,
    "sales": sales,
    "support": support,
    "leadership": leadership,
}


def build(team: str, data: Picked, ctx: DigestContext) -> list[Outgoing]:
    if team not in BUILDERS:
        raise ValueError(f"unknown digest team {team!r}; use one of {', '.join(TEAMS)}")
    return BUILDERS[team](data, ctx)
