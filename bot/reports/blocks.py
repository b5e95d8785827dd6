"""Block Kit for reports and digests (pure). Tables are monospace code blocks; lists are cut with a count.

Every message keeps a top-level `text`, stays within Slack's limits (`bot.blocks.validate_message`) and escapes
text from Zoho before it goes into mrkdwn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.blocks import SECTION_TEXT, Block, Message, clip, context, escape, fields, header, safe, section
from bot.models import Account
from bot.money import format_money
from bot.reports.compute import (
    Flows,
    InvoicingReport,
    ReportConfig,
    RevenueReport,
    Spread,
    SupportReport,
)
from bot.reports.retention import AccountRef, RenewalsReport

SECTION = SECTION_TEXT
NAME = 28  # characters of a name in a table column


# ---- small builders (the Block Kit primitives are bot.blocks') -------------------------------------------------


def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


def days(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} d" if float(value).is_integer() else f"{value:.1f} d"


def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> str:
    """A monospace table in a code block; cells must be plain (they are escaped here)."""
    cells = [list(head), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = []
    for row in cells:
        parts = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
    body = escape("\n".join(lines))
    if len(body) > SECTION - 8:  # keep whole lines
        kept, used = [], 0
        for line in body.split("\n"):
            if used + len(line) + 1 > SECTION - 20:
                break
            kept.append(line)
            used += len(line) + 1
        body = "\n".join(kept + ["…"])
    return f"```{body}```"


@dataclass(frozen=True)
class Listing:
    """A titled list for a digest or report: rows are escaped mrkdwn; `total` counts every item, shown or not."""

    title: str
    rows: Sequence[str]
    total: int
    more: str = ""  # escaped mrkdwn pointing at the rest: a link or a command
    note: str = ""  # escaped mrkdwn after the title

    def text(self, limit: int) -> str:
        shown = list(self.rows[:limit])
        head = f"*{self.title}* ({self.total:,})" + (f" · {self.note}" if self.note else "")
        lines = [head, *(f"• {r}" for r in shown)]
        if self.total > len(shown):
            lines.append(f"_… and {self.total - len(shown):,} more_" + (f" — {self.more}" if self.more else ""))
        return "\n".join(lines)


def listing_blocks(
    listings: Sequence[Listing], limit: int, *, keep_empty: bool = False, empty: str = "_None._"
) -> list[Block]:
    out = []
    for item in listings:
        if item.total:
            out.append(section(_fit_rows(item, limit)))
        elif keep_empty:
            out.append(section(f"*{item.title}*\n{empty}"))
    return out


def _fit_rows(item: Listing, limit: int) -> str:
    """Fewer rows rather than a section cut mid-list."""
    while limit > 1 and len(item.text(limit)) > SECTION:
        limit -= 1
    return item.text(limit)


# ---- reports -------------------------------------------------------------------------------------------------


def _flows_fields(f: Flows, currency: str, counts: dict[str, int] | None = None) -> Block:
    c = counts or {}

    def count(key: str, word: str) -> str:
        return f"\n{plural(c.get(key, 0), word)}" if counts else ""

    return fields(
        f"*Sold*\n{money(f.sold, currency)}" + count("won_deals", "won deal"),
        f"*Invoiced*\n{money(f.invoiced, currency)}" + count("invoices", "invoice"),
        f"*Collected*\n{money(f.collected, currency)}" + count("payments", "payment"),
        f"*Gaps*\nSold − invoiced: {money(f.not_invoiced, currency)}\n"
        f"Invoiced − collected: {money(f.not_collected, currency)}",
    )


def _flow_rows(items: Sequence[tuple[str, Flows]], currency: str) -> list[list[str]]:
    return [
        [
            clip(k, NAME),
            money(f.sold, currency),
            money(f.invoiced, currency),
            money(f.collected, currency),
            money(f.not_invoiced, currency),
            money(f.not_collected, currency),
        ]
        for k, f in items
    ]


FLOW_HEAD = ("", "Sold", "Invoiced", "Collected", "Sold−invoiced", "Invoiced−collected")


def revenue_message(r: RevenueReport, *, limit: int = 10) -> Message:
    cur = r.currency
    blocks: list[Block] = [header(f"Revenue · {r.period.label}"), _flows_fields(r.total, cur, r.counts)]
    blocks.append(
        section("*By month*\n" + table(("Month", *FLOW_HEAD[1:]), _flow_rows(r.by_month, cur), right=range(1, 6)))
    )
    if r.by_owner:
        owners = _flow_rows(r.by_owner[:limit], cur)
        more = f"\n_… and {len(r.by_owner) - limit} more owners (all in the CSV)_" if len(r.by_owner) > limit else ""
        blocks.append(section("*By owner*\n" + table(("Owner", *FLOW_HEAD[1:]), owners, right=range(1, 6)) + more))
    notes = [
        f"Amounts in {cur}. Sold: won deals by closing date · invoiced: invoices (not draft or void) by "
        "invoice date · collected: payments by date."
    ]
    if r.other_currencies:
        other = "; ".join(
            f"{c}: sold {money(f.sold, c)}, invoiced {money(f.invoiced, c)}, collected {money(f.collected, c)}"
            for c, f in r.other_currencies.items()
        )
        notes.append(f"Not added in (other currencies): {other}")
    blocks.append(context(*notes))
    text = (
        f"Revenue, {r.period.label}: sold {money(r.total.sold, cur)}, invoiced {money(r.total.invoiced, cur)}, "
        f"collected {money(r.total.collected, cur)}."
    )
    return Message(escape(text), blocks)


def _spread_text(s: Spread) -> str:
    return f"median {days(s.median)}, p90 {days(s.p90)}" if s.count else "no invoiced deals"


def _timing_row(t: Any, currency_fallback: str = "") -> str:
    amount = money(t.deal.amount, t.deal.currency or currency_fallback)
    return (
        f"{safe(t.account_name, 50)} — {safe(t.deal.name, 60)} · {amount} · closed {t.waiting} days ago"
        f" · {safe(t.owner, 40)}"
    )


def not_invoiced_listing(r: InvoicingReport, limit: int | None = None) -> Listing:
    """The won deals not invoiced; only the first `limit` rows are formatted (a listing shows no more)."""
    return waiting_listing(r.after_days, r.not_invoiced[:limit], len(r.not_invoiced))


def waiting_listing(after_days: int, shown: Sequence[Any], total: int) -> Listing:
    """The won deals not invoiced after `after_days`: the timings `shown` of `total`."""
    return Listing(
        f"Won, not invoiced after {after_days} days",
        [_timing_row(t) for t in shown],
        total,
        more="`/report invoicing`",
    )


def invoicing_message(r: InvoicingReport, *, limit: int = 10) -> Message:
    o = r.overall
    blocks: list[Block] = [
        header(f"Close → first invoice · {r.period.label}"),
        fields(
            f"*Median*\n{days(o.median)}",
            f"*90th percentile*\n{days(o.p90)}",
            f"*Won deals invoiced*\n{o.count:,}",
            f"*Not invoiced yet*\n{r.pending:,}",
        ),
        section(
            "*By month closed*\n"
            + table(
                ("Month", "Deals", "Median", "p90"),
                [[k, str(s.count), days(s.median), days(s.p90)] for k, s in r.by_month],
                right=(1, 2, 3),
            )
        ),
    ]
    if r.by_owner:
        rows = [[clip(k, NAME), str(s.count), days(s.median), days(s.p90)] for k, s in r.by_owner[:limit]]
        blocks.append(section("*By owner*\n" + table(("Owner", "Deals", "Median", "p90"), rows, right=(1, 2, 3))))
    blocks += listing_blocks([not_invoiced_listing(r, limit)], limit, keep_empty=True)
    blocks.append(
        context(
            "Days from a won deal's closing date to its first invoice (Books invoices linked to the "
            "deal; draft and void do not count). Deals closed in the period."
        )
    )
    text = f"Close to first invoice, {r.period.label}: {_spread_text(o)}; {r.pending} not invoiced yet."
    return Message(escape(text), blocks)


def support_message(r: SupportReport, config: ReportConfig | None = None, *, limit: int = 10) -> Message:
    t = r.total
    blocks: list[Block] = [
        header(f"Support · {r.period.label}"),
        fields(
            f"*Tickets opened*\n{t.opened:,}",
            f"*Escalated*\n{t.escalated:,}",
            f"*Open now*\n{t.open_now:,}",
            f"*Median time to close*\n{hours(t.median_hours_to_close)} ({plural(t.closed, 'ticket')})",
        ),
    ]
    top = r.top(limit)
    if top:
        rows = [
            [clip(x.name, NAME), str(x.opened), str(x.escalated), str(x.open_now), hours(x.median_hours_to_close)]
            for x in top
        ]
        more = f"\n_… and {r.size - len(top)} more customers (all in the CSV)_" if r.size > len(top) else ""
        blocks.append(
            section(
                "*Customers with the most tickets*\n"
                + table(("Customer", "Opened", "Escal.", "Open", "To close"), rows, right=(1, 2, 3, 4))
                + more
            )
        )
    else:
        blocks.append(section("_No tickets in this period._"))
    blocks.append(
        context(
            "Opened and escalated: tickets created in the period · open now: not closed, any age · "
            "time to close: median over tickets closed in the period."
        )
    )
    text = f"Support, {r.period.label}: {t.opened} tickets opened, {t.escalated} escalated, {t.open_now} open now."
    return Message(escape(text), blocks)


def _owner(account: Account | AccountRef) -> str:
    if isinstance(account, AccountRef):
        return account.owner_name or account.owner_email
    return account.owner.name or account.owner.email


def renewals_listings(r: RenewalsReport, limit: int | None = None) -> list[Listing]:
    """The three lists, each with its first `limit` rows written out (all when None): no more can show."""
    due = []
    for x in r.due[:limit]:
        when = f"in {x.days} days" if x.days > 0 else ("today" if x.days == 0 else f"{-x.days} days ago")
        due.append(
            f"{safe(x.account.name, 60)} · due {x.due:%d %b %Y} ({when}) · last won "
            f"{safe(x.last_won.name, 50)} {money(x.last_won.amount, x.last_won.currency)}"
            f" · {safe(x.account.owner_name or x.account.owner_email, 40)}"
        )
    quiet = [
        f"{safe(q.account.name, 60)} · last activity {q.last_activity:%d %b %Y} ({q.days} days)"
        f" · {safe(q.account.owner_name or q.account.owner_email, 40)}"
        for q in r.quiet[:limit]
    ]
    risk = [
        f"{safe(h.account.name, 60)} · {safe('; '.join(h.health.reasons[:2]), 160)} · {safe(_owner(h.account), 40)}"
        for h in r.at_risk[:limit]
    ]
    return [
        Listing(
            "Up for renewal, no open renewal deal",
            due,
            len(r.due),
            more="`/report renewals`",
            note=escape(r.window.label),
        ),
        Listing(
            "Going quiet", quiet, len(r.quiet), more="`/report renewals`", note=f"no activity for {r.quiet_days}+ days"
        ),
        Listing("At risk", risk, len(r.at_risk), more="`/report renewals`", note="by the health rule"),
    ]


def renewals_message(r: RenewalsReport, config: ReportConfig | None = None, *, limit: int = 10) -> Message:
    blocks: list[Block] = [header(f"Renewals and retention · {r.today:%d %b %Y}")]
    blocks += listing_blocks(renewals_listings(r, limit), limit, keep_empty=True)
    blocks.append(
        context(
            "Renewal: the last won deal's closing date plus the renewal term · going quiet: customers "
            "with no deal, invoice, payment or ticket activity · at risk: see README, Account health."
        )
    )
    text = f"Renewals: {len(r.due)} up for renewal, {len(r.quiet)} going quiet, {len(r.at_risk)} at risk."
    return Message(text, blocks)
