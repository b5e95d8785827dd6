"""Account health and the figures on the account card (pure).

Health rule, evaluated on one `AccountSnapshot` and the date `today` (in the business time zone):

Definitions
- An *invoice* is a Books record with kind "invoice" whose status is not void or draft (estimates and
  void/draft invoices count nowhere).
- An invoice is *overdue* when its Books status is "overdue", or when its status is sent, viewed,
  partially_paid or unpaid and `due_date < today` and `balance > 0`. Its *days overdue* are
  `today - due_date` (0 if it has no due date). The *overdue amount* is the sum of overdue balances.
- *Invoiced in the last 12 months* is the sum of totals of invoices dated within the 365 days up to today.
- A ticket is *open* when its Desk status type is not Closed (so Open and On Hold both count); it is
  *escalated* when open and `is_escalated`; *past due* when open and `is_overdue` (Desk's isOverDue).

Levels (the first that applies)
- **at_risk** if any of: an invoice more than 30 days overdue; at least one escalated ticket together with
  any overdue invoice; an overdue amount ≥ 25 % of the amount invoiced in the last 12 months (when nothing
  was invoiced in that window, any overdue amount counts); 3 or more escalated tickets.
- **watch** if any of: an overdue invoice; an escalated ticket; a past-due ticket; 5 or more open tickets.
- **healthy** otherwise.

`reasons` are short phrases naming every condition found, worst first. Amounts are summed as Decimals in
the snapshot's main invoice currency; records in other currencies are summed in too and flagged by
`AccountFigures.mixed_currencies`. Labels compare case-insensitively. Stage and status vocabularies and
thresholds live in `HealthRules` so configuration can replace them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bot.models import AccountSnapshot, Deal, Invoice, Ticket
from bot.money import format_money

if TYPE_CHECKING:
    from bot.config import Health as HealthSection

Level = Literal["healthy", "watch", "at_risk"]

# Books invoice statuses
OVERDUE_STATUSES = frozenset({"overdue"})
DUE_STATUSES = frozenset({"sent", "viewed", "partially_paid", "unpaid"})
EXCLUDED_INVOICE_STATUSES = frozenset({"void", "draft"})
# CRM deal stages (besides these, any stage whose label starts with "Closed" is closed)
WON_STAGES = frozenset({"closed won"})
CLOSED_STAGES = frozenset({"closed won", "closed lost", "closed-lost to competition", "closed lost to competition"})
# Desk ticket status types
CLOSED_TICKET_TYPES = frozenset({"closed"})
ON_HOLD_TICKET_TYPES = frozenset({"on hold"})

OVERDUE_DAYS_AT_RISK = 30
OVERDUE_SHARE_AT_RISK = Decimal("0.25")
ESCALATED_AT_RISK = 3
OPEN_TICKETS_WATCH = 5
INVOICED_WINDOW = timedelta(days=365)


def _fold(labels: Iterable[str]) -> frozenset[str]:
    return frozenset(label.strip().casefold() for label in labels)


@dataclass(frozen=True)
class HealthRules:
    """Vocabulary and thresholds; the defaults are the module constants."""

    overdue_statuses: frozenset[str] = OVERDUE_STATUSES
    due_statuses: frozenset[str] = DUE_STATUSES
    excluded_invoice_statuses: frozenset[str] = EXCLUDED_INVOICE_STATUSES
    won_stages: frozenset[str] = WON_STAGES
    closed_stages: frozenset[str] = CLOSED_STAGES
    closed_ticket_types: frozenset[str] = CLOSED_TICKET_TYPES
    on_hold_ticket_types: frozenset[str] = ON_HOLD_TICKET_TYPES
    overdue_days_at_risk: int = OVERDUE_DAYS_AT_RISK
    overdue_share_at_risk: Decimal = OVERDUE_SHARE_AT_RISK
    escalated_at_risk: int = ESCALATED_AT_RISK
    open_tickets_watch: int = OPEN_TICKETS_WATCH

    def __post_init__(self) -> None:
        for name in (
            "overdue_statuses", "due_statuses", "excluded_invoice_statuses", "won_stages", "closed_stages",
            "closed_ticket_types", "on_hold_ticket_types",
        ):  # fmt: skip
            object.__setattr__(self, name, _fold(getattr(self, name)))


def rules_from(section: HealthSection) -> HealthRules:
    """The rules with `[health]`'s thresholds (the `/account` card and the reports apply the same ones)."""
    return HealthRules(
        overdue_days_at_risk=section.overdue_days_at_risk,
        open_tickets_watch=section.open_tickets_watch,
        escalated_at_risk=section.escalations_at_risk,
    )


DEFAULT_RULES = HealthRules()


# What `verdict` found besides the figures themselves, as bits: the reasons are phrased from them when read.
_OLD, _UNBILLED, _SHARE, _ESCALATED_SEVERE, _MANY_OPEN = 1, 2, 4, 8, 16
_OVERDUE_SEVERE = _OLD | _UNBILLED | _SHARE
_NOTHING = Decimal(0)


class Health:
    """A level and its `reasons`: short phrases naming every condition found, worst first. `verdict` leaves the
    phrasing (counts, money, shares) until the reasons are first read, from the figures it judged (which must not
    change meanwhile: reports hold them beside the health): reports judge thousands of accounts and show the
    reasons of a few, and each object more is work for the cyclic collector. Equal when level and reasons are."""

    __slots__ = ("level", "_reasons", "_found", "_figures")

    def __init__(
        self,
        level: Level,
        reasons: list[str] | None = None,
        found: int = 0,
        figures: AccountFigures | HealthFigures | None = None,
    ) -> None:
        self.level = level
        self._reasons = [] if reasons is None and figures is None else reasons
        self._found = found
        self._figures = figures

    @property
    def reasons(self) -> list[str]:
        if self._reasons is None:
            assert self._figures is not None
            self._reasons = _phrased(self._found, self._figures)
        return self._reasons

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Health):
            return NotImplemented
        return self.level == other.level and self.reasons == other.reasons

    __hash__ = None  # type: ignore[assignment]  # as a dataclass holding a list: not hashable

    def __repr__(self) -> str:
        return f"Health(level={self.level!r}, reasons={self.reasons!r})"


@dataclass(frozen=True)
class AccountFigures:
    currency: str  # main invoice currency ("" if nothing says)
    deal_currency: str
    open_deals: int
    open_pipeline: Decimal
    won_deals: int
    won_to_date: Decimal
    invoices: int
    invoiced: Decimal
    invoiced_12m: Decimal
    collected: Decimal
    outstanding: Decimal
    overdue_count: int
    overdue_amount: Decimal
    oldest_overdue_days: int
    open_tickets: int  # not closed, on hold included
    on_hold_tickets: int
    escalated_tickets: int
    past_due_tickets: int
    mixed_currencies: bool = False


# ---- classification ------------------------------------------------------------------------------------


def is_billed(invoice: Invoice, rules: HealthRules = DEFAULT_RULES) -> bool:
    return invoice.kind == "invoice" and invoice.status.casefold() not in rules.excluded_invoice_statuses


def is_overdue(invoice: Invoice, today: date, rules: HealthRules = DEFAULT_RULES) -> bool:
    if not is_billed(invoice, rules):
        return False
    return owes_overdue(invoice.status.casefold(), invoice.due_date, invoice.balance, today, rules)


def owes_overdue(status: str, due: date | None, balance: Decimal, today: date, rules: HealthRules) -> bool:
    """Whether a counting invoice with this folded status, due date and balance is overdue `today`."""
    if status in rules.overdue_statuses:
        return True
    return status in rules.due_statuses and due is not None and due < today and balance > 0


def days_overdue(invoice: Invoice, today: date) -> int:
    return max((today - invoice.due_date).days, 0) if invoice.due_date else 0


def is_closed_deal(deal: Deal, rules: HealthRules = DEFAULT_RULES) -> bool:
    stage = deal.stage.strip().casefold()
    return stage in rules.closed_stages or stage in rules.won_stages or stage.startswith("closed")


def is_won_deal(deal: Deal, rules: HealthRules = DEFAULT_RULES) -> bool:
    return deal.stage.strip().casefold() in rules.won_stages


def _ticket_type(ticket: Ticket) -> str:
    return (ticket.status_type or ticket.status).strip().casefold()


def is_open_ticket(ticket: Ticket, rules: HealthRules = DEFAULT_RULES) -> bool:
    return _ticket_type(ticket) not in rules.closed_ticket_types


def is_on_hold_ticket(ticket: Ticket, rules: HealthRules = DEFAULT_RULES) -> bool:
    return _ticket_type(ticket) in rules.on_hold_ticket_types


def _main_currency(codes: Iterable[str]) -> tuple[str, bool]:
    counts = Counter(c.upper() for c in codes if c)
    if not counts:
        return "", False
    return counts.most_common(1)[0][0], len(counts) > 1


# ---- figures -------------------------------------------------------------------------------------------


def figures(snapshot: AccountSnapshot, today: date, rules: HealthRules | None = None) -> AccountFigures:
    """The card's numbers; see the module docstring for the definitions."""
    rules = rules or DEFAULT_RULES
    billed = [i for i in snapshot.invoices if is_billed(i, rules)]
    overdue = [i for i in billed if is_overdue(i, today, rules)]
    open_deals = [d for d in snapshot.deals if not is_closed_deal(d, rules)]
    won = [d for d in snapshot.deals if is_won_deal(d, rules)]
    tickets = [t for t in snapshot.tickets if is_open_ticket(t, rules)]
    customer_currency = snapshot.books_customer.currency if snapshot.books_customer else ""
    currency, mixed = _main_currency([i.currency for i in billed] + [p.currency for p in snapshot.payments])
    deal_currency, deals_mixed = _main_currency(d.currency for d in snapshot.deals)
    since = today - INVOICED_WINDOW
    return AccountFigures(
        currency=currency or customer_currency or snapshot.account.currency,
        deal_currency=deal_currency or snapshot.account.currency or currency or customer_currency,
        open_deals=len(open_deals),
        open_pipeline=sum((d.amount or Decimal(0) for d in open_deals), Decimal(0)),
        won_deals=len(won),
        won_to_date=sum((d.amount or Decimal(0) for d in won), Decimal(0)),
        invoices=len(billed),
        invoiced=sum((i.total for i in billed), Decimal(0)),
        invoiced_12m=sum((i.total for i in billed if i.date and since <= i.date <= today), Decimal(0)),
        collected=sum((i.total - i.balance for i in billed), Decimal(0)),  # paid against these invoices
        outstanding=sum((i.balance for i in billed), Decimal(0)),
        overdue_count=len(overdue),
        overdue_amount=sum((i.balance for i in overdue), Decimal(0)),
        oldest_overdue_days=max((days_overdue(i, today) for i in overdue), default=0),
        open_tickets=len(tickets),
        on_hold_tickets=sum(1 for t in tickets if is_on_hold_ticket(t, rules)),
        escalated_tickets=sum(1 for t in tickets if t.is_escalated),
        past_due_tickets=sum(1 for t in tickets if t.is_overdue),
        mixed_currencies=mixed or deals_mixed,
    )


# ---- health --------------------------------------------------------------------------------------------


def assess(
    snapshot: AccountSnapshot,
    today: date,
    rules: HealthRules | None = None,
    *,
    figs: AccountFigures | None = None,
) -> Health:
    """Apply the documented rule. Pass `figs` when already computed for the same snapshot and day."""
    rules = rules or DEFAULT_RULES
    return verdict(figs or figures(snapshot, today, rules), rules)


def verdict(f: AccountFigures | HealthFigures, rules: HealthRules | None = None) -> Health:
    """The documented rule over an account's figures (the whole card's, or the part of them SQL works out). The
    level is decided here from the figures alone; the reasons are phrased from what was found when first read
    (`_phrased`): those that put the account at risk first, each group in the rule's order."""
    rules = rules or DEFAULT_RULES
    found = 0
    severe = mild = False
    overdue = f.overdue_count
    if overdue:
        billed = f.invoiced_12m
        if f.oldest_overdue_days > rules.overdue_days_at_risk:
            found = _OLD
        if billed <= _NOTHING:  # a Decimal: no int converted at each of thousands of calls
            found |= _UNBILLED
        elif f.overdue_amount >= rules.overdue_share_at_risk * billed:
            found |= _SHARE
        severe, mild = found != 0, found == 0
    escalated = f.escalated_tickets
    if escalated:
        if escalated >= rules.escalated_at_risk or overdue > 0:
            found |= _ESCALATED_SEVERE
            severe = True
        else:
            mild = True
    if f.past_due_tickets:
        mild = True
    if f.open_tickets >= rules.open_tickets_watch:
        found |= _MANY_OPEN
        mild = True
    if not (severe or mild):
        return Health("healthy", [])
    return Health("at_risk" if severe else "watch", None, found, f)  # positional: thousands of calls


def _phrased(found: int, f: AccountFigures | HealthFigures) -> list[str]:
    """The reasons of what `verdict` found in these figures (one string per reason, no sorting)."""
    overdue, amount, billed, days = f.overdue_count, f.overdue_amount, f.invoiced_12m, f.oldest_overdue_days
    escalated, past_due, open_now, currency = f.escalated_tickets, f.past_due_tickets, f.open_tickets, f.currency
    severe: list[str] = []
    mild: list[str] = []
    if overdue:
        phrase = f"{overdue} invoice{'' if overdue == 1 else 's'} overdue ({format_money(amount, currency)})"
        if found & _OLD:
            phrase += f", oldest {days} days"
        if found & _UNBILLED:
            phrase += ", nothing billed in 12 months"
        elif found & _SHARE:
            phrase += f", {amount / billed:.0%} of 12-month billing"
        (severe if found & _OVERDUE_SEVERE else mild).append(phrase)
    if escalated:
        phrase = f"{escalated} escalated ticket{'' if escalated == 1 else 's'}"
        (severe if found & _ESCALATED_SEVERE else mild).append(phrase)
    if past_due:
        mild.append(f"{past_due} ticket{'' if past_due == 1 else 's'} past due")
    if found & _MANY_OPEN:
        mild.append(f"{open_now} open tickets")
    return severe + mild


# ---- many accounts at once (reports, digests, the Home tab) --------------------------------------------


@dataclass(slots=True)  # not frozen: reports build thousands
class HealthFigures:
    """The part of `AccountFigures` the health rule and the account lists read, worked out for many accounts at
    once from rows SQL picked (bot/store/reports_accounts.py) instead of from snapshots."""

    currency: str
    invoiced_12m: Decimal
    outstanding: Decimal
    overdue_count: int
    overdue_amount: Decimal
    oldest_overdue_days: int
    open_tickets: int
    escalated_tickets: int
    past_due_tickets: int

    @classmethod
    def of(cls, f: AccountFigures) -> HealthFigures:
        return cls(
            f.currency,
            f.invoiced_12m,
            f.outstanding,
            f.overdue_count,
            f.overdue_amount,
            f.oldest_overdue_days,
            f.open_tickets,
            f.escalated_tickets,
            f.past_due_tickets,
        )


@dataclass(slots=True)
class _Tally:
    codes: dict[str, int] = field(default_factory=dict)  # currency → records (a dict: thousands of tallies)
    invoiced_12m: Decimal = Decimal(0)
    outstanding: Decimal = Decimal(0)
    overdue_count: int = 0
    overdue_amount: Decimal = Decimal(0)
    oldest: int = 0
    open_tickets: int = 0
    escalated: int = 0
    past_due: int = 0


def health_figures(
    ids: Iterable[str],
    today: date,
    rules: HealthRules,
    *,
    billed: Iterable[tuple[str, str | None, int, Decimal, Decimal]],
    overdue: Iterable[tuple[str, str, str | None, str | None]],
    payment_codes: Iterable[tuple[str, str | None, int]],
    tickets: Iterable[tuple[str, int, int, int]],
    account_currency: Mapping[str, str | None] | None = None,
) -> dict[str, HealthFigures]:
    """`HealthFigures` per account id, as `figures` defines them, from rows SQL worked out: `billed` (account,
    currency, count, total invoiced in the 12 months up to `today`, balance) of its counting invoices per currency,
    `overdue` (account, folded status, due date, balance) of counting invoices that may be overdue, `payment_codes`
    (account, currency, count) and `tickets` (account, then counts of its open, open escalated and open past-due
    tickets). Rows of other accounts are ignored. The main currency is the most common; between equally common
    ones the first A–Z (SQL rows have no order to break the tie by), else the account's own."""
    out: dict[str, _Tally] = {i: _Tally() for i in ids}
    for account, code, n, invoiced_12m, outstanding in billed:
        t = out.get(account)
        if t is not None:
            if code:
                t.codes[code.upper()] = t.codes.get(code.upper(), 0) + n
            t.invoiced_12m += invoiced_12m
            t.outstanding += outstanding
    for account, status, due, balance in overdue:
        t = out.get(account)
        if t is None:
            continue
        owed, due_on = Decimal(balance or 0), date.fromisoformat(due) if due else None
        if owes_overdue(status, due_on, owed, today, rules):
            t.overdue_count += 1
            t.overdue_amount += owed
            t.oldest = max(t.oldest, max((today - due_on).days, 0) if due_on else 0)
    for account, code, n in payment_codes:
        t = out.get(account)
        if t is not None and code:
            t.codes[code.upper()] = t.codes.get(code.upper(), 0) + n
    for account, open_now, escalated, past_due in tickets:
        t = out.get(account)
        if t is not None:
            t.open_tickets += open_now
            t.escalated += escalated
            t.past_due += past_due
    fallback = account_currency or {}
    return {
        account: HealthFigures(
            main_code(t.codes) or fallback.get(account) or "",
            t.invoiced_12m,
            t.outstanding,
            t.overdue_count,
            t.overdue_amount,
            t.oldest,
            t.open_tickets,
            t.escalated,
            t.past_due,
        )
        for account, t in out.items()
    }


def main_code(counts: dict[str, int]) -> str:
    """The most common currency code of these counts, between equally common ones the first A–Z; "" for none."""
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else ""
