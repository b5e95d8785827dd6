"""Reports over the mirror (pure): revenue, close → first invoice, support volume (retention: bot/reports/retention.py).

Every function takes a `MirrorData`, the dates it reports on and a `ReportConfig`; none does I/O or reads a clock.
The data is either the whole mirror (`bot.reports.data.load_mirror`) or, as the bot runs them, only the records the
report can use, picked by SQL over typed columns (`bot.reports.data.report_data`); both give the same report.

Definitions
- *Sold*: amounts of won deals (stage in the won labels), by closing date, owned by the deal's owner.
- *Invoiced*: totals of Books invoices that count (kind invoice, not void or draft), by invoice date. Owner: the
  owner of the deal the invoice is linked to (Books `zcrm_potential_id`), else of the account.
- *Collected*: Books customer payments, by payment date, owned by the account's owner.
- Amounts are added only within one currency. The org currency (`[reports] currency`, else the most common
  currency among those records) is reported in full; every other currency is totalled on its own. A record
  without a currency takes its account's, then the org's.
- *Close → first invoice*: for a won deal, days from its closing date to the earliest counting invoice linked to
  it (0 when invoiced on or before the close date). Median and 90th percentile use linear interpolation
  between closest ranks (the median of 2, 4 is 3; the p90 of 1..10 is 9.1).
- Datetimes (ticket times) count on the local date in the report's time zone.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from itertools import compress, groupby
from operator import itemgetter
from typing import Any

from bot.account.health import (
    DEFAULT_RULES,
    HealthRules,
    is_billed,
    is_open_ticket,
    is_overdue,
    is_won_deal,
    rules_from,
)
from bot.models import Account, Deal, Invoice, Payment, Ticket
from bot.reports.periods import Period, month_key

ZERO = Decimal(0)
NO_OWNER = "(no owner)"
WON_CANONICAL = ("won", "invoiced", "paid", "supported")  # stages a sold deal can be in


# ---- inputs --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffRow:
    """One row of the `handoffs` table (owned by the handoff feature; read here, never written)."""

    deal_id: str
    account_id: str = ""
    state: str = ""
    kind: str = "invoice"
    missing: tuple[str, ...] = ()
    owner_email: str = ""
    plan: dict[str, Any] = field(default_factory=dict)
    finance_channel: str = ""
    finance_ts: str = ""
    document_number: str = ""
    approved_by: str = ""
    approved_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class MirrorData:
    """The mirror as reports see it; invoices, payments and tickets carry their resolved CRM `account_id`."""

    accounts: dict[str, Account] = field(default_factory=dict)
    deals: list[Deal] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    handoffs: list[HandoffRow] = field(default_factory=list)
    desk_names: dict[str, str] = field(default_factory=dict)  # Desk account id → name, for unlinked tickets
    # The revenue amounts as SQL summed them (bot/reports/data.py `money_bookings`, resolved with the config's
    # org currency), covering every period asked of this data; None: find them in the records.
    bookings: list[Booking] | None = None
    # Won deals' timings as SQL found them for one `today` (bot/reports/data.py `won_timings`): every deal the
    # invoicing rules of this data may list; None: work them out from `deals` and `invoices`.
    timings: list[DealTiming] | None = None
    # Close → first invoice over one period as SQL worked it out for one `today` (bot/reports/data.py
    # `timing_figures`: the leadership digest's), for `timing_summary`; None: from `timings` or the records.
    timing: TimingSummary | None = None
    # The won deals `not_invoiced` lists for one `today`, as SQL counted them with the first `list_limit` (bot/reports
    # /data.py `won_waiting`: the finance digest's); None: from `timings` or the records.
    waiting: Waiting | None = None
    # One day's payments as SQL counted and summed them with the first `list_limit` (bot/reports/data.py
    # `paid_summed`: the finance digest's yesterday); None: from the records.
    day_paid: DayPaid | None = None

    def deals_by_id(self) -> dict[str, Deal]:
        return {d.id: d for d in self.deals}


@dataclass(frozen=True)
class ReportConfig:
    currency: str = ""
    renewal_term_days: int = 365
    renewal_window_days: int = 60
    renewal_deal_types: frozenset[str] = frozenset({"existing business", "renewal"})
    quiet_days: int = 60
    not_invoiced_after_days: int = 14
    not_invoiced_lookback_days: int = 180
    list_limit: int = 8
    rules: HealthRules = DEFAULT_RULES


def config_from(structure: Any, rules: HealthRules | None = None) -> ReportConfig:
    """The `[reports]` section, with label sets from the canonical vocabulary (`[vocabulary]` over Zoho's
    defaults): won = stages mapped to won, invoiced, paid or supported, plus `[handoff] won_stage`; closed adds
    lost and churned; invoices mapped to draft or void never count. The health rules' own sets stay in."""
    r = structure.reports
    vocab = structure.vocabulary.effective()
    stages, statuses = vocab.tables["crm_stages"], vocab.tables["books_invoice_statuses"]
    base = rules or rules_from(structure.health)
    won = (
        set(base.won_stages)
        | {structure.handoff.won_stage}
        | {label for label, canon in stages.items() if canon in WON_CANONICAL}
    )
    closed = set(base.closed_stages) | won | {label for label, canon in stages.items() if canon in ("lost", "churned")}
    excluded = set(base.excluded_invoice_statuses) | {
        label for label, canon in statuses.items() if canon in ("draft", "void")
    }
    return ReportConfig(
        currency=r.currency,
        renewal_term_days=r.renewal_term_days,
        renewal_window_days=r.renewal_window_days,
        renewal_deal_types=frozenset(t.strip().casefold() for t in r.renewal_deal_types),
        quiet_days=r.quiet_days,
        not_invoiced_after_days=r.not_invoiced_after_days,
        not_invoiced_lookback_days=r.not_invoiced_lookback_days,
        list_limit=r.list_limit,
        rules=replace(
            base,
            won_stages=frozenset(won),
            closed_stages=frozenset(closed),
            excluded_invoice_statuses=frozenset(excluded),
        ),
    )


# ---- helpers -------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    return _sorted_percentile(sorted(values), q)


def _sorted_percentile(ordered: Sequence[float], q: float) -> float:
    """`percentile` of values already in order (not empty)."""
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def local_date(value: datetime | None, tz: tzinfo | None) -> date | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # naive times are UTC, as in bot.money
    return aware.astimezone(tz).date() if tz else aware.date()


def org_currency(data: MirrorData, config: ReportConfig) -> str:
    """The configured currency, else the most common among won deals, invoices and payments (ties: A–Z)."""
    if config.currency:
        return config.currency.upper()
    counts: Counter[str] = Counter()
    counts.update(d.currency.upper() for d in data.deals if d.currency and is_won_deal(d, config.rules))
    counts.update(i.currency.upper() for i in data.invoices if i.currency and is_billed(i, config.rules))
    counts.update(p.currency.upper() for p in data.payments if p.currency)
    return most_common_currency(counts)


def most_common_currency(counts: Counter[str]) -> str:
    """The currency most records carry (ties: A–Z), else USD."""
    if not counts:
        return "USD"
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _currency(code: str, account: Account | None, org: str) -> str:
    return resolve_currency(code, account.currency if account else "", org)


def resolve_currency(code: str, account_currency: str, org: str) -> str:
    """A record's currency: its own, else its account's, else the org's."""
    return (code or account_currency or org).upper()


@dataclass(frozen=True)
class Owner:
    key: str  # lower-case email, or the name when there is no email
    name: str


def owner_of(name: str, email: str) -> Owner:
    email = email.strip().lower()
    if not (email or name):
        return Owner("", NO_OWNER)
    return Owner(email or name.strip().casefold(), name.strip() or email)


def deal_owner(deal: Deal) -> Owner:
    return owner_of(deal.owner.name, deal.owner.email)


def account_owner(account: Account | None) -> Owner:
    return owner_of(account.owner.name, account.owner.email) if account else Owner("", NO_OWNER)


def account_name(data: MirrorData, account_id: str, fallback: str = "") -> str:
    account = data.accounts.get(account_id)
    return account.name if account else (fallback or account_id or "(unknown account)")


# ---- revenue -------------------------------------------------------------------------------------------------


@dataclass
class Flows:
    sold: Decimal = ZERO
    invoiced: Decimal = ZERO
    collected: Decimal = ZERO

    @property
    def not_invoiced(self) -> Decimal:
        """Sold but not (yet) invoiced in the same span: sold − invoiced."""
        return self.sold - self.invoiced

    @property
    def not_collected(self) -> Decimal:
        return self.invoiced - self.collected

    def add(self, kind: str, amount: Decimal) -> None:
        setattr(self, kind, getattr(self, kind) + amount)


@dataclass(frozen=True)
class RevenueReport:
    period: Period
    currency: str
    total: Flows
    by_month: list[tuple[str, Flows]]  # every month of the period, in order
    by_owner: list[tuple[str, Flows]]  # sold, then invoiced, descending
    other_currencies: dict[str, Flows]
    counts: dict[str, int]  # won_deals, invoices, payments in the period (every currency)


@dataclass(slots=True)  # not frozen: hundreds per report or digest, and a frozen dataclass is slow to build
class Booking:
    """One sold, invoiced or collected amount, with its day, currency (resolved) and owner."""

    kind: str  # sold, invoiced or collected
    day: date  # SQL sums of a month: the month's first day in the period
    amount: Decimal
    code: str
    owner: Owner | None  # None: summed over owners (enough for `revenue_totals`, not for `revenue`)
    count: int = 1  # records whose amounts `amount` adds up (SQL sums a day's amounts per currency and owner)


def revenue_bookings(data: MirrorData, period: Period, config: ReportConfig, currency: str) -> Iterator[Booking]:
    """The amounts of the period (the SQL path, bot.reports.data.revenue_bookings, yields the same sums)."""
    if data.bookings is not None:
        yield from (b for b in data.bookings if b.day in period)
        return
    deals = data.deals_by_id()
    for d in data.deals:
        if (
            d.closing_date is not None
            and d.closing_date in period
            and is_won_deal(d, config.rules)
            and d.amount is not None
        ):
            yield Booking(
                "sold",
                d.closing_date,
                d.amount,
                _currency(d.currency, data.accounts.get(d.account_id), currency),
                deal_owner(d),
            )
    for i in data.invoices:
        if i.date is not None and i.date in period and is_billed(i, config.rules):
            account = data.accounts.get(i.account_id)
            owner = deal_owner(deals[i.deal_id]) if i.deal_id in deals else account_owner(account)
            yield Booking("invoiced", i.date, i.total, _currency(i.currency, account, currency), owner)
    for p in data.payments:
        if p.date is not None and p.date in period:
            account = data.accounts.get(p.account_id)
            yield Booking(
                "collected", p.date, p.amount, _currency(p.currency, account, currency), account_owner(account)
            )


def revenue(data: MirrorData, period: Period, config: ReportConfig = ReportConfig()) -> RevenueReport:
    currency = org_currency(data, config)
    return revenue_of(revenue_bookings(data, period, config, currency), period, currency)


def revenue_of(bookings: Iterable[Booking], period: Period, currency: str) -> RevenueReport:
    """Add the period's bookings up: in `currency` in full, every other currency on its own. An owner (keyed by
    email) is shown under the alphabetically first name their records carry."""
    total, other = Flows(), defaultdict[str, Flows](Flows)
    months = {key: Flows() for key in period.months()}
    owners: dict[str, Flows] = defaultdict(Flows)
    names: dict[str, str] = {}
    counts = Counter[str]()
    for b in bookings:
        if b.owner is None:
            raise ValueError("bookings summed over owners give totals only (revenue_totals)")
        counts[b.kind] += b.count
        if b.code != currency:
            other[b.code].add(b.kind, b.amount)
            continue
        total.add(b.kind, b.amount)
        months[month_key(b.day)].add(b.kind, b.amount)
        owners[b.owner.key].add(b.kind, b.amount)
        known = names.get(b.owner.key)
        if known is None or b.owner.name < known:
            names[b.owner.key] = b.owner.name
    by_owner = sorted(owners.items(), key=lambda kv: (-kv[1].sold, -kv[1].invoiced, names[kv[0]].casefold()))
    return RevenueReport(
        period=period,
        currency=currency,
        total=total,
        by_month=list(months.items()),
        by_owner=[(names[k], f) for k, f in by_owner],
        other_currencies=dict(sorted(other.items())),
        counts={"won_deals": counts["sold"], "invoices": counts["invoiced"], "payments": counts["collected"]},
    )


def revenue_totals(data: MirrorData, period: Period, config: ReportConfig) -> tuple[str, Flows, dict[str, Flows]]:
    """(org currency, the period's total in it, the totals in every other currency), as `revenue` adds them up:
    for figures that need no owner (the leadership digest)."""
    currency = org_currency(data, config)
    total, other = Flows(), defaultdict[str, Flows](Flows)
    for b in revenue_bookings(data, period, config, currency):
        (total if b.code == currency else other[b.code]).add(b.kind, b.amount)
    return currency, total, dict(sorted(other.items()))


# ---- close → first invoice -----------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: one per won deal a report lists (thousands); frozen ones are slow to build
class DealRef:
    """What the invoicing report shows of a deal (read from records or from typed columns alike)."""

    id: str
    name: str
    amount: Decimal | None
    currency: str  # upper case, as the store keeps it

    @classmethod
    def of(cls, deal: Deal) -> DealRef:
        return cls(deal.id, deal.name, deal.amount, deal.currency.upper())


@dataclass(slots=True)  # not frozen: thousands per report, and a frozen dataclass is slow to build
class DealTiming:
    deal: DealRef
    account_name: str
    owner: str
    closed: date
    first_invoice: date | None
    days: int | None  # close → first invoice; None while not invoiced
    waiting: int  # days since close (as of `today`)


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0, None, None)
        ordered = sorted(values)  # once for both
        return cls(len(values), _sorted_percentile(ordered, 0.5), _sorted_percentile(ordered, 0.9))


@dataclass(frozen=True)
class InvoicingReport:
    period: Period
    today: date
    overall: Spread
    by_month: list[tuple[str, Spread]]
    by_owner: list[tuple[str, Spread]]
    deals: list[DealTiming]  # won deals closed in the period, invoiced or not, by close date
    pending: int  # of those, not invoiced yet
    after_days: int
    not_invoiced: list[DealTiming]  # won deals (any period) closed ≥ after_days ago within the lookback


def first_invoices(data: MirrorData, rules: HealthRules = DEFAULT_RULES) -> dict[str, date]:
    """Deal id → date of its earliest counting invoice."""
    first: dict[str, date] = {}
    for i in data.invoices:
        if i.deal_id and i.date and is_billed(i, rules) and (i.deal_id not in first or i.date < first[i.deal_id]):
            first[i.deal_id] = i.date
    return first


def timing_of(deal: DealRef, account: str, owner: str, closed: date, invoiced: date | None, today: date) -> DealTiming:
    """A won deal closed on `closed` and first invoiced on `invoiced` (None: not yet), as of `today`."""
    days = max((invoiced - closed).days, 0) if invoiced else None
    return DealTiming(deal, account, owner, closed, invoiced, days, (today - closed).days)


def deal_timings(data: MirrorData, today: date, config: ReportConfig = ReportConfig()) -> list[DealTiming]:
    """Every won deal with a closing date, by close date (or those SQL found: `MirrorData.timings`)."""
    if data.timings is not None:
        return data.timings
    first = first_invoices(data, config.rules)
    out = [
        timing_of(
            DealRef.of(d),
            account_name(data, d.account_id, d.account_name),
            deal_owner(d).name,
            d.closing_date,
            first.get(d.id),
            today,
        )
        for d in data.deals
        if d.closing_date is not None and is_won_deal(d, config.rules)
    ]
    return sorted(out, key=lambda t: (t.closed, t.deal.id))


def not_invoiced(timings: Iterable[DealTiming], today: date, config: ReportConfig) -> list[DealTiming]:
    """Won deals with no invoice `not_invoiced_after_days` after closing (closed within the lookback), the
    longest waiting first."""
    oldest = today - timedelta(days=config.not_invoiced_lookback_days)
    late = [
        t
        for t in timings
        if t.first_invoice is None and oldest <= t.closed and t.waiting >= config.not_invoiced_after_days
    ]
    return sorted(late, key=lambda t: (-t.waiting, t.deal.id))


@dataclass(frozen=True)
class Waiting:
    """What a digest shows of `not_invoiced`: how many, and the first few (the longest waiting first)."""

    count: int
    first: list[DealTiming]


def waiting_deals(data: MirrorData, today: date, config: ReportConfig) -> Waiting:
    """`not_invoiced`'s count and first `list_limit` (or as SQL found them: `MirrorData.waiting`)."""
    if data.waiting is not None:
        return data.waiting
    late = not_invoiced(deal_timings(data, today, config), today, config)
    return Waiting(len(late), late[: config.list_limit])


@dataclass(frozen=True)
class TimingSummary:
    """What the leadership digest shows of the invoicing report: `overall` and how many are `not_invoiced`."""

    overall: Spread
    not_invoiced: int


def timing_summary(data: MirrorData, period: Period, today: date, config: ReportConfig) -> TimingSummary:
    """The invoicing report's `overall` spread and `len(not_invoiced)`, without its lists (or as SQL worked them
    out: `MirrorData.timing`)."""
    if data.timing is not None:
        return data.timing
    return timing_of_pairs(
        ((t.closed, t.first_invoice) for t in deal_timings(data, today, config)), period, today, config
    )


def timing_of_pairs(
    pairs: Iterable[tuple[date, date | None]], period: Period, today: date, config: ReportConfig
) -> TimingSummary:
    """`timing_summary` over won deals' (closing date, first invoice date or None)."""
    oldest = today - timedelta(days=config.not_invoiced_lookback_days)
    waited = today - timedelta(days=config.not_invoiced_after_days)  # closed by then: waiting long enough
    days: list[float] = []
    late = 0
    for closed, invoiced in pairs:
        if invoiced is None:
            late += oldest <= closed <= waited
        elif closed in period:
            days.append(float(max((invoiced - closed).days, 0)))
    return TimingSummary(Spread.of(days), late)


def invoicing(data: MirrorData, period: Period, today: date, config: ReportConfig = ReportConfig()) -> InvoicingReport:
    timings = deal_timings(data, today, config)
    start, end = period.start, period.end
    in_period = [t for t in timings if start <= t.closed <= end]
    done: list[float] = []  # close → first invoice of those invoiced, in deal order
    months: dict[str, list[float]] = {key: [] for key in period.months()}
    owners: dict[str, list[float]] = defaultdict(list)
    keys: dict[date, str] = {}  # closing day → month key: thousands of deals close on a few hundred days
    for t in in_period:
        if t.days is not None:
            days = float(t.days)
            months[keys.get(t.closed) or keys.setdefault(t.closed, month_key(t.closed))].append(days)
            owners[t.owner].append(days)
            done.append(days)
    by_owner = sorted(((o, Spread.of(v)) for o, v in owners.items()), key=lambda kv: (-kv[1].count, kv[0].casefold()))
    return InvoicingReport(
        period=period,
        today=today,
        overall=Spread.of(done),
        by_month=[(k, Spread.of(v)) for k, v in months.items()],
        by_owner=by_owner,
        deals=in_period,
        pending=len(in_period) - len(done),
        after_days=config.not_invoiced_after_days,
        not_invoiced=not_invoiced(timings, today, config),
    )


# ---- support volume ------------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a report holds thousands, and a frozen dataclass is slow to build
class SupportRow:
    key: str  # CRM account id, or "desk:<id>" for a Desk account not linked to CRM
    name: str
    opened: int  # tickets created in the period
    escalated: int  # of those, escalated
    open_now: int  # open right now (any creation date)
    closed: int  # tickets closed in the period
    median_hours_to_close: float | None  # over the tickets closed in the period


SupportCounts = tuple[str, str | None, int, int, int]  # key, name (None: read when shown), opened, escalated, open now
# The names of the customers whose counts carry none (CRM account ids), read when they are shown; an id missing from
# the answer is shown as itself (an account not mirrored).
Names = Callable[[list[str]], Mapping[str, str | None]]


RANK = itemgetter(2, 4, 3)  # opened, open now, escalated: the report's order, the most first


def _rank_ascending(c: SupportCounts) -> tuple[int, int, int]:
    return -c[2], -c[4], -c[3]


def in_rank_order(counts: Iterable[SupportCounts]) -> list[SupportCounts]:
    """Customers' counts in the report's order but for names."""
    return sorted(counts, key=RANK, reverse=True)


def rank_in(ranked: list[SupportCounts], more: Iterable[SupportCounts]) -> None:
    """Put a few more customers' counts in their places (`ranked` is in the report's order)."""
    for c in more:
        insort(ranked, c, key=_rank_ascending)


def _or_key(name: str | None, key: str) -> str:
    """A customer's name as SQL's `COALESCE(name, id)` gives it: an empty name stays empty."""
    return key if name is None else name


class SupportReport:
    """Customers with tickets opened in the period, open now or closed in it — the most opened first, then the most
    open now, the most escalated, by name (case-folded) and key — and the total over all of them.

    Made from every customer's counts already in that order but for names (`ranked`: SQL orders thousands of
    customers by their counts) and the (key, hours to close) of every ticket closed in the period (each key among
    the counts). The total is added up at once; `rows` puts names in order and makes a row per customer when first
    read (the CSV), `top` only for the first few (a card shows ten of ≈ 8,000 at 10,000 accounts). Counts without
    a name have theirs asked of `names` when their rows are first made: only the few a card shows (so read the rows
    while what `names` reads from is open)."""

    __slots__ = ("period", "total", "size", "_ranked", "_closed", "_rows", "_names")

    def __init__(
        self,
        period: Period,
        ranked: Sequence[SupportCounts],
        closed: Sequence[tuple[str, float]],
        names: Names | None = None,
    ) -> None:
        self.period = period
        self._ranked = ranked
        self._closed = closed
        self._names = names
        self._rows: list[SupportRow] | None = None
        # Customers with nothing opened nor open now come last; of those only the ones with tickets closed count.
        quiet = bisect_left(ranked, (0, 0), key=lambda c: (-c[2], -c[4]))
        closing = set(map(itemgetter(0), closed))
        self.size = quiet + sum(map(closing.__contains__, map(itemgetter(0), ranked[quiet:])))
        every = list(map(itemgetter(1), closed))
        self.total = SupportRow(
            "",
            "All customers",
            sum(map(itemgetter(2), ranked)),
            sum(map(itemgetter(3), ranked)),
            sum(map(itemgetter(4), ranked)),
            len(every),
            percentile(every, 0.5),
        )

    @property
    def rows(self) -> list[SupportRow]:
        if self._rows is None:
            self._rows = self._ordered(self._named(self._ranked), self._closed, every_row=True)
        return self._rows

    def top(self, limit: int) -> list[SupportRow]:
        """The first `limit` rows among customers with tickets opened or open now (those come first)."""
        ranked = self._ranked
        end = min(limit, len(ranked))
        while 0 < end < len(ranked) and RANK(ranked[end]) == RANK(ranked[end - 1]):
            end += 1  # to the end of the last group shown: names order it
        shown = ranked[:end]
        keys = {c[0] for c in shown}
        # thousands of closed tickets, a few shown: picked at C speed
        closed = list(compress(self._closed, map(keys.__contains__, map(itemgetter(0), self._closed))))
        return [r for r in self._ordered(self._named(shown), closed, every_row=False) if r.opened or r.open_now][:limit]

    def _named(self, counts: Sequence[SupportCounts]) -> Sequence[tuple[str, str, int, int, int]]:
        """`counts` with every name filled in (asked of `names` for those without)."""
        missing = [c[0] for c in counts if c[1] is None]
        if not missing:
            return counts  # type: ignore[return-value]  # every name is there
        assert self._names is not None, "counts without a name need `names`"
        found = self._names(missing)
        return [c if c[1] is not None else (c[0], _or_key(found.get(c[0]), c[0]), *c[2:]) for c in counts]  # type: ignore[misc]

    @staticmethod
    def _ordered(
        ranked: Sequence[tuple[str, str, int, int, int]], closed: Iterable[tuple[str, float]], *, every_row: bool
    ) -> list[SupportRow]:
        hours_of: dict[str, list[float]] = {}
        for key, spent in closed:
            hours_of.setdefault(key, []).append(spent)
        rows: list[SupportRow] = []
        for _, group in groupby(ranked, key=RANK):
            named = sorted((c[1].casefold(), c[0], c) for c in group)
            for _, _, (key, name, o, e, n) in named:
                hours = hours_of.get(key)
                if hours:
                    rows.append(SupportRow(key, name, o, e, n, len(hours), percentile(hours, 0.5)))
                elif o or n or not every_row:
                    rows.append(SupportRow(key, name, o, e, n, 0, None))
        return rows

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SupportReport):
            return NotImplemented
        return (self.period, self.total, self.rows) == (other.period, other.total, other.rows)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SupportReport(period={self.period!r}, total={self.total!r}, size={self.size})"


def _ticket_key(data: MirrorData, t: Ticket) -> tuple[str, str]:
    if t.account_id:
        return t.account_id, account_name(data, t.account_id)
    if t.desk_account_id:
        return f"desk:{t.desk_account_id}", data.desk_names.get(t.desk_account_id, f"Desk account {t.desk_account_id}")
    return "", "(no account)"


@dataclass(slots=True)  # thousands per report
class TicketStats:
    """One customer's tickets in a period: counted from records here, or by SQL (bot.reports.data)."""

    name: str
    opened: int = 0
    escalated: int = 0
    open_now: int = 0
    hours: list[float] = field(default_factory=list)  # created → closed, of tickets closed in the period


def support(
    data: MirrorData, period: Period, tz: tzinfo | None, config: ReportConfig = ReportConfig()
) -> SupportReport:
    stats: dict[str, TicketStats] = {}
    for t in data.tickets:
        key, name = _ticket_key(data, t)
        row = stats.setdefault(key, TicketStats(name))
        if local_date(t.created_time, tz) in period:
            row.opened += 1
            row.escalated += t.is_escalated
        if is_open_ticket(t, config.rules):
            row.open_now += 1
        elif (spent := t.hours_to_close) is not None and local_date(t.closed_time, tz) in period:
            row.hours.append(spent)
    return support_of(period, stats)


def support_of(period: Period, stats: dict[str, TicketStats]) -> SupportReport:
    counts = ((k, s.name, s.opened, s.escalated, s.open_now) for k, s in stats.items())
    return support_from(period, counts, {k: s.hours for k, s in stats.items()})


def support_from(period: Period, counts: Iterable[SupportCounts], hours_of: Mapping[str, list[float]]) -> SupportReport:
    """The report from each customer's (key, name, opened, escalated, open now), in any order, and hours to close
    (by key)."""
    return SupportReport(period, in_rank_order(counts), [(k, h) for k, hours in hours_of.items() for h in hours])


# ---- payments of a day (the finance digest) -----------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a day's payments are thousands, and a frozen dataclass is slow to build
class Paid:
    """One payment as the finance digest lists it."""

    amount: Decimal
    currency: str  # upper case, as the store keeps it
    account: str  # the account's name (`account_name`)


def payments_on(data: MirrorData, day: date) -> list[Paid]:
    """The payments made on `day`, the largest first."""
    paid = [
        Paid(p.amount, p.currency.upper(), account_name(data, p.account_id)) for p in data.payments if p.date == day
    ]
    return sorted(paid, key=paid_order)


@dataclass(frozen=True)
class DayPaid:
    """What a digest shows of a day's payments: how many, the total per currency (A–Z) and the first few."""

    count: int
    totals: dict[str, Decimal]
    first: list[Paid]  # in `paid_order`


def day_paid(data: MirrorData, day: date, limit: int) -> DayPaid:
    """The payments made on `day`: counted, summed per currency, the first `limit` (or as SQL found them:
    `MirrorData.day_paid`)."""
    if data.day_paid is not None:
        return data.day_paid
    return paid_summary(payments_on(data, day), limit)


def paid_summary(paid: Sequence[Paid], limit: int) -> DayPaid:
    """`DayPaid` of payments in `paid_order`: each currency's total added up one payment at a time from 0."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for p in paid:
        totals[p.currency] += p.amount
    return DayPaid(len(paid), dict(sorted(totals.items())), list(paid[:limit]))


def paid_order(p: Paid) -> tuple[Decimal, str, str]:
    """The largest first; equal amounts by account and currency (payments alike in all three read the same)."""
    return -p.amount, p.account, p.currency


# ---- overdue invoices (shared by digests and the home tab) ---------------------------------------------------


def overdue_invoices(data: MirrorData, today: date, rules: HealthRules = DEFAULT_RULES) -> list[Invoice]:
    """Overdue invoices, the longest overdue first."""
    found = [i for i in data.invoices if is_overdue(i, today, rules)]
    return sorted(found, key=lambda i: (i.due_date or today, i.id))
