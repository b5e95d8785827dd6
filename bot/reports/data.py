"""Read what the pure reports need from the store: the whole mirror (`load_mirror`, for tests and tools), or only
the records and figures a report or digest uses: picked or counted by the SQL in bot/store/reports.py,
bot/store/reports_accounts.py (`support_report`, `renewals_report`, `home_accounts`, the sales and support digests)
and bot/store/reports_money.py (`revenue_bookings`, `money_bookings`, `won_timings`, `invoicing_data`, `paid_on`,
the finance digest's `won_waiting` and `paid_summed` (counted, only the rows shown read), the leadership digest's
`timing_figures`: summed, no record decoded).

Each read is one snapshot on a reader connection. Invoices and payments mirrored without a CRM account get it
through their Books customer's `zcrm_account_id`; tickets through their Desk account's CRM link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any

from bot.account.health import INVOICED_WINDOW, HealthFigures, HealthRules, health_figures, owes_overdue, verdict
from bot.models import Deal
from bot.reports.compute import (
    Booking,
    DayPaid,
    DealRef,
    DealTiming,
    HandoffRow,
    MirrorData,
    Owner,
    Paid,
    ReportConfig,
    Spread,
    SupportReport,
    TimingSummary,
    Waiting,
    local_date,
    most_common_currency,
    owner_of,
    paid_summary,
    rank_in,
    resolve_currency,
    timing_of,
)
from bot.reports.digests import OwnerLists, Picked, SalesPicked, SupportPicked
from bot.reports.gc_pause import gc_paused
from bot.reports.periods import Period, month_to_date, same_days_last_month
from bot.reports.retention import (
    AccountHealth,
    AccountRef,
    AtRisk,
    Later,
    QuietAccount,
    RenewalDue,
    RenewalsReport,
    last_activity_of,
    renewals_of,
)
from bot.store import MirrorRecords, Store, health_summary
from bot.store import reports as q
from bot.store.reports_accounts import AccountQueries, AccountRow
from bot.store.reports_money import MoneyQueries
from bot.store.rows import UNITS_SCALE, utc_key

__all__ = ["account_names", "accounts_owned_by", "deals_by_id", "handoffs_for", "load_mirror"]
_LOADED = ("accounts", "deals", "invoices", "payments", "tickets")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _json(value: str | None, default: Any) -> Any:
    try:
        found = json.loads(value or "")
    except ValueError:
        return default
    return found if isinstance(found, type(default)) else default


def _missing_label(entry: Any) -> str:
    """A missing field as the handoff feature stores it (`{"field": "billing_address", ...}`) or a bare name."""
    name = entry.get("field", "") if isinstance(entry, dict) else entry
    return str(name).replace("_", " ")


def handoff_from_row(row: Mapping[str, Any]) -> HandoffRow:
    """A `handoffs` row, read by column name."""
    missing = _json(row["missing"], [])
    return HandoffRow(
        deal_id=row["deal_id"],
        account_id=row["account_id"] or "",
        state=row["state"] or "",
        kind=row["kind"] or "invoice",
        missing=tuple(_missing_label(m) for m in missing),
        owner_email=(row["owner_email"] or "").strip().lower(),
        plan=_json(row["plan"], {}),
        finance_channel=row["finance_channel"] or "",
        finance_ts=row["finance_ts"] or "",
        document_number=row["document_number"] or "",
        approved_by=row["approved_by"] or "",
        approved_at=_when(row["approved_at"]),
        created_at=_when(row["created_at"]),
        updated_at=_when(row["updated_at"]),
    )


def load_mirror(store: Store, *, account_ids: Sequence[str] | None = None, handoffs: bool = True) -> MirrorData:
    """Everything mirrored, or only what belongs to `account_ids` (then unlinked records are left out)."""
    got = store.load(_LOADED, account_ids=account_ids)
    rows = [handoff_from_row(r) for r in store.handoffs.rows()] if handoffs else []
    if account_ids is not None:
        wanted = set(account_ids)
        rows = [h for h in rows if h.account_id in wanted]
    return MirrorData(
        accounts={a.id: a for a in got.accounts},
        deals=got.deals,
        invoices=got.invoices,
        payments=got.payments,
        tickets=got.tickets,
        handoffs=rows,
        desk_names={d: name for d, (_, name) in got.desk_links.items()},
    )


def _mirror(got: MirrorRecords, handoffs: list[HandoffRow] | None = None) -> MirrorData:
    return MirrorData(
        accounts={a.id: a for a in got.accounts},
        deals=got.deals,
        invoices=got.invoices,
        payments=got.payments,
        tickets=got.tickets,
        handoffs=handoffs or [],
        desk_names={d: name for d, (_, name) in got.desk_links.items()},
    )


# ---- only what a report needs, picked by SQL -----------------------------------------------------------------
# Each report reads the union of conditions (bot/store/reports.py) selecting a superset of the records its pure
# rules keep, then runs on that small `MirrorData` exactly as it would on the whole mirror.


def with_org_currency(store: Store, config: ReportConfig) -> ReportConfig:
    """The config with its org currency settled over the whole mirror (a subset would count differently)."""
    if config.currency:
        return config
    counts = q.ReportQueries(store.engine).currency_counts(
        config.rules.won_stages, config.rules.excluded_invoice_statuses
    )
    return replace(config, currency=most_common_currency(counts))


def utc_bounds(first: date, last: date, tz: tzinfo | None) -> tuple[str, str]:
    """The UTC instants (as stored) from local midnight of `first` to local midnight after `last`: local dates
    are converted once per query, not per record."""
    zone = tz or UTC
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return utc_key(start) or "", utc_key(end) or ""


def _revenue(period: Period, config: ReportConfig) -> q.Wants:
    return q.revenue_wants(config.rules, period.start.isoformat(), period.end.isoformat())


def report_data(store: Store, wants: q.Wants, *, handoffs: bool = False) -> MirrorData:
    """The records `wants` selects (and the accounts and linked deals they need), as reports see them."""
    rows = [handoff_from_row(r) for r in store.handoffs.rows()] if handoffs else []
    got = q.ReportQueries(store.engine).select(
        wants, deal_ids=[h.deal_id for h in rows], account_ids=[h.account_id for h in rows]
    )
    return _mirror(got, rows)


def revenue_data(store: Store, period: Period, config: ReportConfig) -> MirrorData:
    return report_data(store, _revenue(period, config))


def invoicing_data(store: Store, period: Period, today: date, config: ReportConfig) -> MirrorData:
    """What the invoicing report uses: the won deals' timings, from SQL (no record decoded)."""
    with gc_paused():  # thousands of rows, no cycles
        return MirrorData(timings=won_timings(store, period, today, config))


def revenue_bookings(store: Store, period: Period, config: ReportConfig) -> list[Booking]:
    """The period's amounts summed by SQL (as `compute.revenue_bookings` finds them in records); `config`
    carries the org currency (`with_org_currency`)."""
    return money_bookings(store, [period], config)


def _exact(units: Any, exponent: int | None) -> Decimal:
    """A sum of amounts from its units (bot/store/rows.py `amount_units`): the Decimal that adding the amounts
    one by one from 0 gives (its exponent the smallest of theirs and 0's)."""
    return (Decimal(units).scaleb(-UNITS_SCALE)).quantize(Decimal(1).scaleb(min(exponent or 0, 0)))


def _day(month: str, first: date) -> date:
    """The first day of `month` (`YYYY-MM`) from `first` on."""
    return max(date(int(month[:4]), int(month[5:7]), 1), first)


def money_bookings(
    store: Store, periods: Sequence[Period], config: ReportConfig, *, owners: bool = True
) -> list[Booking]:
    """The amounts of `periods` (sold, invoiced, collected), summed by SQL per day (per month when there is one
    period: all `revenue` shows), currency and owner (or,
    without `owners`, over owners: enough for `compute.revenue_totals`), with currencies and owners resolved as
    `compute.revenue_bookings` resolves them; `config` carries the org currency (`with_org_currency`)."""
    ranges = [(p.start.isoformat(), p.end.isoformat()) for p in periods]
    # One period: each month's sum is dated on the month's first day in the period.
    monthly = len(periods) == 1
    got = MoneyQueries(store.engine).revenue(config.rules, ranges, owners=owners, by_month=monthly)
    org = config.currency
    known: dict[tuple[str, str], Owner] = {}
    days: dict[str, date] = {}
    out: list[Booking] = []
    for kind, rows in got.items():
        for day, code, account_currency, name, email, count, units, exponent, amount in rows:
            key = (name or "", email or "")
            owner = (known.get(key) or known.setdefault(key, owner_of(*key))) if owners else None
            if day not in days:
                days[day] = _day(day, periods[0].start) if monthly else date.fromisoformat(day)
            value = Decimal(amount) if amount is not None else _exact(units, exponent)
            code = resolve_currency(code or "", account_currency or "", org)
            out.append(Booking(kind, days[day], value, code, owner, int(count)))
    return out


def won_timings(store: Store, period: Period, today: date, config: ReportConfig) -> list[DealTiming]:
    """Won deals closed in `period`, or within the not-invoiced lookback up to today and not invoiced after
    `not_invoiced_after_days` (all that `compute.invoicing` lists), with their close → first invoice timings as of
    `today` (as `compute.deal_timings` works them out)."""
    first = min(period.start, today - timedelta(days=config.not_invoiced_lookback_days))
    rows = MoneyQueries(store.engine).won_deals(
        config.rules,
        first.isoformat(),
        max(period.end, today).isoformat(),
        keep_from=period.start.isoformat(),
        keep_to=period.end.isoformat(),
        waited_to=(today - timedelta(days=config.not_invoiced_after_days)).isoformat(),
    )
    rows.sort()  # by closing date, then id (unique)
    return _timings(rows, today)


def _day_parser() -> Callable[[str], date]:
    """ISO date text → its date, each text parsed once: closing and invoice days are a few hundred for thousands of
    deals."""
    days: dict[str, date] = {}

    def day(text: str) -> date:
        return days.get(text) or days.setdefault(text, date.fromisoformat(text))

    return day


def _timings(rows: Sequence[tuple[Any, ...]], today: date) -> list[DealTiming]:
    """`MoneyQueries.won_deals` rows as timings as of `today`, in their order."""
    owners: dict[tuple[str, str], str] = {}  # a few owners own every deal
    day = _day_parser()
    out = []
    for closed, deal_id, name, amount, currency, o_name, o_email, account, invoiced in rows:
        deal = DealRef(deal_id, name or "", Decimal(amount) if amount is not None else None, currency or "")
        owner = owners.get((o_name, o_email))
        if owner is None:
            owner = owners[(o_name, o_email)] = owner_of(o_name or "", o_email or "").name
        out.append(timing_of(deal, account, owner, day(closed), day(invoiced) if invoiced else None, today))
    return out


def won_waiting(store: Store, today: date, config: ReportConfig) -> Waiting:
    """The won deals not invoiced after `not_invoiced_after_days` within the lookback, as `compute.waiting_deals`
    finds them: counted by SQL, only the first `list_limit` (oldest closing date first, then id) made timings."""
    oldest = today - timedelta(days=config.not_invoiced_lookback_days)
    waited = today - timedelta(days=config.not_invoiced_after_days)  # closed by then: waiting long enough
    total, rows = MoneyQueries(store.engine).waiting(
        config.rules, oldest.isoformat(), waited.isoformat(), config.list_limit
    )
    rows.sort()  # by closing date, then id (unique): ids compared as Python does, whatever the engine's collation
    return Waiting(total, _timings(rows[: max(config.list_limit, 0)], today))


def timing_figures(store: Store, period: Period, today: date, config: ReportConfig) -> TimingSummary:
    """Close → first invoice over the won deals closed in `period`, and how many won deals wait for their first
    invoice (as `compute.timing_summary` works them out), from SQL: two dates per deal invoiced, the rest counted."""
    oldest = today - timedelta(days=config.not_invoiced_lookback_days)
    waited = today - timedelta(days=config.not_invoiced_after_days)  # not invoiced and closed by then: waiting
    rows, late = MoneyQueries(store.engine).won_closings(
        config.rules,
        keep_from=period.start.isoformat(),
        keep_to=period.end.isoformat(),
        waited_from=oldest.isoformat(),
        waited_to=waited.isoformat(),
    )
    day = _day_parser()
    spent = [float(max((day(i) - day(c)).days, 0)) for c, i in rows]
    return TimingSummary(Spread.of(spent), late)


def paid_on(store: Store, day: date) -> list[Paid]:
    """The payments made on `day`, as `compute.payments_on` lists them (no record decoded)."""
    return _in_paid_order(MoneyQueries(store.engine).payments_on(day.isoformat()))


def _in_paid_order(rows: Sequence[tuple[Any, ...]]) -> list[Paid]:
    """`MoneyQueries.payments_on` rows as `Paid`, in `paid_order` (largest first, then account, currency) by two
    stable sorts on C-level keys: thousands a day."""
    out = [Paid(Decimal(a), c or "", n) for a, c, n in rows]
    out.sort(key=attrgetter("account", "currency"))
    out.sort(key=attrgetter("amount"), reverse=True)
    return out


def paid_summed(store: Store, day: date, limit: int) -> DayPaid:
    """The payments made on `day` as `compute.day_paid` shows them: counted and summed per currency by SQL, only the
    first `limit` (and those tied with the last) made `Paid`; from every payment when an amount has no exact units."""
    got = MoneyQueries(store.engine).payments_summed(day.isoformat(), limit)
    if got is None:
        return paid_summary(paid_on(store, day), limit)
    sums, rows = got
    totals: dict[str, Decimal] = {}
    count = 0
    for code, n, units, exponent in sums:
        count += n
        key = code or ""
        totals[key] = totals[key] + _exact(units, exponent) if key in totals else _exact(units, exponent)
    return DayPaid(count, dict(sorted(totals.items())), _in_paid_order(rows)[:limit])


def support_report(store: Store, period: Period, tz: tzinfo | None, config: ReportConfig) -> SupportReport:
    """The support report from SQL counts (as `compute.support` counts records): local days become UTC bounds
    once; tickets mirrored without a CRM account count for their Desk account's."""
    with gc_paused():  # thousands of rows, no cycles
        return _support_report(store, period, tz, config)


def _support_report(store: Store, period: Period, tz: tzinfo | None, config: ReportConfig) -> SupportReport:
    start, end = utc_bounds(period.start, period.end, tz)
    got = AccountQueries(store.engine).ticket_counts(config.rules, start, end)
    extra: dict[str, list[Any]] = {}  # key → [name, opened, escalated, open now] of tickets without a CRM account
    keys: dict[str, str] = {}  # their Desk account id → that key
    for desk_id, link, account, desk_name, name, opened, escalated, open_now in got["unlinked"]:
        if account:
            key, label = account, account if name is None else name
        elif desk_id:
            key, label = f"desk:{desk_id}", (desk_name or "") if link is not None else f"Desk account {desk_id}"
        else:
            key, label = "", "(no account)"
        keys[desk_id or ""] = key
        counts = extra.setdefault(key, [label, 0, 0, 0])
        counts[1] += opened or 0
        counts[2] += escalated or 0
        counts[3] += open_now or 0
    closed = got["closed"]  # (CRM account, hours) of every ticket closed in the span
    closed += [(keys[desk_id or ""], spent) for desk_id, spent in got["closed_unlinked"]]
    ranked = got["linked"]  # in the report's order (SQL), but for names
    if extra:  # counted for a CRM account by their Desk account: added to its own tickets' counts, then placed
        for i in reversed(list(compress(range(len(ranked)), map(extra.__contains__, map(itemgetter(0), ranked))))):
            account, name, o, e, n = ranked.pop(i)
            _, more_o, more_e, more_n = extra[account]
            extra[account] = [name, o + more_o, e + more_e, n + more_n]
        rank_in(ranked, [(key, name, o, e, n) for key, (name, o, e, n) in extra.items()])
    return SupportReport(period, ranked, closed, store.account_names)  # names read for the rows shown


def _open_tickets_kept(store: Store, rules: HealthRules) -> bool:
    """The health aggregates hold each CRM account's open tickets as `rules` count them."""
    return health_summary.tickets_fit(rules) and not store.first_sync_loading()


def _summaries_ready(store: Store, rules: HealthRules) -> bool:
    """The per-account aggregates (`account_health`) answer for the health rule's own status sets, once a first
    sync has finished loading (it builds them at its end)."""
    return health_summary.fits(rules) and not store.first_sync_loading()


def health_of(
    store: Store,
    ids: Sequence[str],
    today: date,
    config: ReportConfig,
    overdue: list[Any] | None = None,
    tickets: list[Any] | None = None,
    refs: dict[str, AccountRow] | None = None,
) -> dict[str, AccountHealth]:
    """Health of the accounts `ids` (those mirrored; `refs`: their rows when the caller has them), from
    per-account SQL rows: the rule of bot/account/health.py applied to `HealthFigures`, no record decoded. With the
    health rule's own status sets, from the aggregates the mirror keeps (`account_health`)."""
    queries = AccountQueries(store.engine)
    if _summaries_ready(store, config.rules):
        day, since = today.isoformat(), (today - INVOICED_WINDOW).isoformat()
        found = queries.health_summaries(day, since, ids=list(refs or ids))
        return {h.account.id: h for h in _from_summaries(store, found, today, config)}
    refs = queries.accounts(ids) if refs is None else refs
    wanted = sorted(refs)
    since = (today - INVOICED_WINDOW).isoformat()
    rows = queries.health_rows(config.rules, wanted, today.isoformat(), since, overdue, tickets)
    figs = health_figures(
        wanted,
        today,
        config.rules,
        billed=rows["billed"],
        overdue=rows["overdue"],
        payment_codes=rows["payments"],
        tickets=rows["tickets"],
        account_currency={a: row[4] for a, row in refs.items()},
    )
    return {a: AccountHealth(AccountRef(*refs[a][:4]), verdict(f, config.rules), f) for a, f in figs.items()}


_ZERO = Decimal(0)


def _figures_of(row: Sequence[Any], today: date, amounts: dict[str, Decimal], days: dict[str, int]) -> HealthFigures:
    """The figures of an `AccountQueries.health_summaries` row of an account with a row in `account_health`, as far as
    the row tells them (the 12-month billing 0 and the overdue invoices as counted when the row leaves them to the
    records). `amounts`: amount text → its Decimal, `days`: due date → days overdue (thousands of rows repeat few of
    either, and parsing costs more than looking up)."""
    code, owed, billed, count, late_amount, owing_amount, first_due, n, esc, late = row[4:14]
    if (amount := amounts.get(late_amount)) is None:
        amount = amounts[late_amount] = Decimal(late_amount)
    if owing_amount is not None:
        amount += Decimal(owing_amount)
    billed_12m = _ZERO if billed is None else amounts.get(billed)
    if billed_12m is None:
        billed_12m = amounts[billed] = Decimal(billed)
    if (outstanding := amounts.get(owed)) is None:
        outstanding = amounts[owed] = Decimal(owed)
    if first_due is None:
        oldest = 0
    elif (oldest := days.get(first_due, -1)) < 0:
        oldest = days[first_due] = max((today - date.fromisoformat(first_due)).days, 0)
    return HealthFigures(code, billed_12m, outstanding, count or 0, amount, oldest, n, esc, late)


def _from_summaries(
    store: Store,
    rows: list[Any],
    today: date,
    config: ReportConfig,
    *,
    at_risk_only: bool = False,
    totals: Mapping[str, Decimal] | None = None,
) -> list[AccountHealth]:
    """Health from `AccountQueries.health_summaries` rows, in account id order, the records asked only for accounts
    whose invoices straddle the 12-month window or today (some owing invoices past due, some not). `at_risk_only`:
    only the accounts at risk, in no particular order (renewals sort them), each judged as its row is read.
    `totals`: the 12-month billing of the straddling accounts, when the caller asked already."""
    rules, day = config.rules, today.isoformat()
    since = (today - INVOICED_WINDOW).isoformat()
    out: list[AccountHealth] = []
    later: list[tuple[Any, HealthFigures]] = []  # judged after the loop (in id order, or once their invoices are read)
    straddle: dict[str, HealthFigures] = {}  # the 12-month window cuts through their invoices
    mixed: dict[str, HealthFigures] = {}  # some owing invoices past due, some not
    days: dict[str, int] = {}  # due date → days overdue (thousands of rows, few dates)
    amounts: dict[str, Decimal] = {}  # text → its Decimal: amounts repeat (zeros, list prices), parsing costs more
    for row in rows if at_risk_only else sorted(rows, key=lambda r: r[0]):
        account, name, owner, email, code, owed, billed, count = row[:8]
        if owed is None:  # nothing invoiced, paid or ticketed
            f = HealthFigures(code, _ZERO, _ZERO, 0, _ZERO, 0, 0, 0, 0)
        else:
            f = _figures_of(row, today, amounts, days)
            if billed is None:
                straddle[account] = f
            if count is None:
                mixed[account] = f
            elif at_risk_only and billed is not None:  # thousands of candidates: no second pass
                health = verdict(f, rules)
                if health.level == "at_risk":
                    out.append(AccountHealth(AccountRef(account, name, owner, email), health, f))
                continue
        later.append((row, f))
    queries = AccountQueries(store.engine)
    if straddle:
        if totals is None:
            totals = queries.billed_between(rules, list(straddle), since, day)
        for account, f in straddle.items():
            f.invoiced_12m = totals.get(account, _ZERO)
    if mixed:
        for f in mixed.values():  # recounted from the invoices that may be overdue
            f.overdue_count, f.overdue_amount, f.oldest_overdue_days = 0, _ZERO, 0
        for account, status, due, balance in queries.overdue_rows(rules, day):
            f = mixed.get(account)  # type: ignore[assignment]
            if f is not None:
                owing, due_on = Decimal(balance or 0), date.fromisoformat(due) if due else None
                if owes_overdue(status, due_on, owing, today, rules):
                    f.overdue_count += 1
                    f.overdue_amount += owing
                    f.oldest_overdue_days = max(f.oldest_overdue_days, max((today - due_on).days, 0) if due_on else 0)
    for row, f in later:
        health = verdict(f, rules)
        if not at_risk_only or health.level == "at_risk":
            out.append(AccountHealth(AccountRef(row[0], row[1], row[2], row[3]), health, f))
    return out


def _at_risk(store: Store, rows: list[Any], today: date, config: ReportConfig) -> AtRisk[Any]:
    """The accounts at risk among `AccountQueries.health_summaries(certain=…)` rows: those SQL found certainly at
    risk (the last column) wait in the list until read (a card reads ten of thousands: `AtRisk`); the rest are judged
    now (their overdue invoices asked when owing ones are some past due and some not). The 12-month billing of the
    accounts invoiced before the window too is asked now, once for all (the list may be read after the store closed,
    as the CLI does)."""
    sure: list[Any] = []
    unsure: list[Any] = []
    for row in rows:
        (sure if row[14] and row[7] is not None else unsure).append(row)
    rules = config.rules
    billed: dict[str, Decimal] = {}  # of the accounts invoiced before the 12 months too (one read for all)
    if straddle := [row[0] for row in rows if row[6] is None]:
        since = (today - INVOICED_WINDOW).isoformat()
        billed = AccountQueries(store.engine).billed_between(rules, straddle, since, today.isoformat())
    judged = _from_summaries(store, unsure, today, config, at_risk_only=True, totals=billed)
    amounts: dict[str, Decimal] = {}
    days: dict[str, int] = {}

    def ranks(rows: Sequence[Any]) -> list[tuple[Decimal, int]]:  # the order's first keys: overdue amount, escalations
        for text in {row[8] for row in rows}.difference(amounts):  # thousands of rows, fewer amounts
            amounts[text] = Decimal(text)
        return [(amounts[r[8]] if r[9] is None else amounts[r[8]] + Decimal(r[9]), r[12]) for r in rows]

    def build(row: Sequence[Any]) -> AccountHealth:
        f = _figures_of(row, today, amounts, days)
        if row[6] is None:
            f.invoiced_12m = billed.get(row[0], _ZERO)
        return AccountHealth(AccountRef(row[0], row[1], row[2], row[3]), verdict(f, rules), f)

    return AtRisk(judged, sure, ranks, build)


def renewals_report(
    store: Store, today: date, tz: tzinfo | None, config: ReportConfig, window: Period
) -> RenewalsReport:
    """The renewals report (as `retention.renewals` finds it over records), from SQL: renewals due and accounts
    going quiet are picked by queries, at-risk accounts are those with an invoice that may be overdue or enough
    open escalations, judged by the health rule on their SQL figures (those SQL finds certainly at risk only when
    read: `retention.AtRisk`). Only the last won deals read are decoded (`retention.Later`)."""
    with gc_paused():  # thousands of rows, no cycles
        return _renewals_report(store, today, tz, config, window)


def _renewals_report(
    store: Store, today: date, tz: tzinfo | None, config: ReportConfig, window: Period
) -> RenewalsReport:
    rules = config.rules
    queries = AccountQueries(store.engine)
    term = timedelta(days=config.renewal_term_days)
    summaries = _summaries_ready(store, rules)
    stored_deals = summaries and health_summary.deals_fit(rules)  # the aggregates' deal activity answers
    last: dict[str, tuple[str, str]] = {}
    # deal → (its JSON, its account's name, owner name, owner email), when the query gives them
    read: dict[str, tuple[str, ...]] = {}
    for account, deal, closed, *more in (queries.renewals_from_summaries if stored_deals else queries.renewals_due)(
        rules, (window.start - term).isoformat(), (window.end - term).isoformat(), config.renewal_deal_types
    ):
        last[account] = max(last.get(account, ("", "")), (closed, deal))
        if more:
            read[deal] = tuple(more)
    deals = {deal: got[0] for deal, got in read.items()}  # JSON decoded for the rows read (a card: ten)
    if missing := [deal for _, deal in last.values() if deal not in deals]:
        deals.update(queries.deal_data(missing))
    cutoff = today - timedelta(days=config.quiet_days - 1)  # activity on or after it: not quiet
    day, instant = cutoff.isoformat(), utc_bounds(cutoff, cutoff, tz)[0]
    if stored_deals:
        activity = queries.quiet_from_summaries(day, instant)
    else:
        probe = queries.quiet_probing_stages if summaries else queries.quiet_candidates
        activity = queries.last_activity(rules, probe(rules, day, instant))
    refs = queries.accounts([*(a for a, (_, deal) in last.items() if deal not in read), *activity])
    entries = []
    for account, (closed, deal) in last.items():
        when = date.fromisoformat(closed) + term
        ref = AccountRef(account, *read[deal][1:]) if deal in read else AccountRef(*refs[account][:4])
        entries.append((when, ref.name.casefold(), account, ref, deals[deal]))
    entries.sort(key=itemgetter(0, 1, 2))  # by due date, name and id: the report's order
    decode = Deal.model_validate_json
    due = Later(entries, lambda e: RenewalDue(e[3], decode(e[4]), e[0], (e[0] - today).days))
    quiet = []
    for account, (days, instants) in activity.items():
        seen = last_activity_of(days, instants, tz)
        if seen is not None and (today - seen).days >= config.quiet_days:
            quiet.append(QuietAccount(AccountRef(*refs[account][:4]), seen, (today - seen).days))
    enough = max(rules.escalated_at_risk, 1)  # only these can be at risk: an overdue invoice, or enough escalations
    if summaries:
        since = (today - INVOICED_WINDOW).isoformat()
        old = (today - timedelta(days=rules.overdue_days_at_risk)).isoformat()  # due before it: overdue too long
        rows = queries.health_summaries(
            today.isoformat(), since, escalations=enough, certain=(old, rules.overdue_share_at_risk)
        )
        return renewals_of(today, window, config, due, quiet, _at_risk(store, rows, today, config))
    overdue, tickets = queries.overdue_rows(rules, today.isoformat()), queries.open_ticket_rows(rules)
    counts: dict[str, int] = {}
    for account, _, escalated, _ in tickets:
        counts[account] = counts.get(account, 0) + escalated
    candidates = {row[0] for row in overdue if row[0]} | {a for a, n in counts.items() if n >= enough}
    health = health_of(store, sorted(candidates), today, config, overdue, tickets)
    at_risk = [h for h in health.values() if h.health.level == "at_risk"]
    return renewals_of(today, window, config, due, quiet, at_risk)


def home_accounts(store: Store, email: str, today: date, config: ReportConfig) -> list[AccountHealth]:
    """The health of every account `email` owns (the Home tab's list), from SQL."""
    if not email:
        return []
    queries = AccountQueries(store.engine)
    if _summaries_ready(store, config.rules):
        since = (today - INVOICED_WINDOW).isoformat()
        rows = queries.health_summaries(today.isoformat(), since, owner=email.strip().lower())
        return _from_summaries(store, rows, today, config)
    owned = {row[0]: row for row in queries.owned_by(email)}
    return list(health_of(store, list(owned), today, config, refs=owned).values())


def digest_data(store: Store, team: str, today: date, tz: tzinfo, config: ReportConfig, timing_days: int) -> Picked:
    """What a team's digest (bot/reports/digests.py) can use; `config` must carry the org currency
    (`with_org_currency`)."""
    with gc_paused():  # thousands of rows, no cycles
        return _digest_data(store, team, today, tz, config, timing_days)


def _digest_data(store: Store, team: str, today: date, tz: tzinfo, config: ReportConfig, timing_days: int) -> Picked:
    yesterday = today - timedelta(days=1)
    rules, day = config.rules, today.isoformat()
    if team == "finance":  # handoffs waiting for approval and invoices that went overdue: records; the rest: SQL
        ready = [handoff_from_row(r) for r in store.handoffs.rows(state="ready")]
        got = q.ReportQueries(store.engine).select(
            q.overdue_wants(rules, day, due_from=yesterday.isoformat()),
            deal_ids=[h.deal_id for h in ready],
            account_ids=[h.account_id for h in ready],
        )
        data = _mirror(got, ready)
        data.waiting = won_waiting(store, today, config)
        data.day_paid = paid_summed(store, yesterday, config.list_limit)
        return data
    elif team == "sales":
        return sales_digest_data(store, today, tz, config)
    elif team == "support":
        return support_digest_data(store, today, tz, config)
    elif team == "leadership":  # figures only: summed by SQL, no record read
        recent = Period(today - timedelta(days=timing_days - 1), today, "recent")
        return MirrorData(
            bookings=money_bookings(store, [month_to_date(today), same_days_last_month(today)], config, owners=False),
            timing=timing_figures(store, recent, today, config),
        )
    else:
        raise ValueError(f"unknown digest team {team!r}")


def _overdue(store: Store, today: date, config: ReportConfig) -> list[tuple[Any, ...]]:
    """The invoices overdue today (as `compute.overdue_invoices` finds them), in no order: (due date, else today;
    id, account, balance, currency)."""
    rules, day = config.rules, today.isoformat()
    late = rules.overdue_statuses  # overdue whatever their due date and balance (nearly all of them)
    return [
        (due or day, invoice, account, balance, code)
        for due, invoice, account, status, balance, code in AccountQueries(store.engine).overdue_invoices(rules, day)
        if status in late
        or owes_overdue(status, date.fromisoformat(due) if due else None, Decimal(balance or 0), today, rules)
    ]


def _overdue_lists(store: Store, today: date, config: ReportConfig) -> dict[str, tuple[int, list[str]]]:
    """Owner email (folded) → (how many invoices of their accounts are overdue today, the ids of the first
    `list_limit` of them, the longest overdue first (by due date, then id)). SQL counts them per owner and due date;
    only the ids of the first days are read. When a balance only Python can weigh is past due, every overdue
    invoice is read instead."""
    queries, limit, day = AccountQueries(store.engine), config.list_limit, today.isoformat()
    rows = queries.overdue_by_owner(config.rules, day)
    if rows is None:
        return _overdue_lists_of(store, today, config)
    totals: dict[str, int] = {}
    days: dict[str, list[tuple[str, int, str, str]]] = {}  # email → (due date, how many, least id, email as stored)
    for stored, due, n, least in rows:
        due, email = due or day, stored.strip()
        totals[email] = totals.get(email, 0) + n
        days.setdefault(email, []).append((due, n, least, stored))
    firsts: dict[str, list[tuple[str, str]]] = {email: [] for email in totals}  # (due date, id) that may show
    several: list[tuple[str, str]] = []  # (email as stored, due date) of days with more than one to read
    for email, found in days.items():
        left, last = limit, None
        for due, n, least, stored in sorted(found):
            if left <= 0 and due != last:  # every later day's invoices come after the first `limit`
                break
            if n == 1:
                firsts[email].append((due, least))
            else:
                several.append((stored, due))
            left, last = left - n, due
    if several:
        for stored, due, invoice in queries.overdue_ids(config.rules, day, several):
            firsts[stored.strip()].append((due, invoice))
    # a day without a due date is today's: read twice when today's holds several
    return {email: (total, [i for _, i in sorted(set(firsts[email]))[:limit]]) for email, total in totals.items()}


def _overdue_lists_of(store: Store, today: date, config: ReportConfig) -> dict[str, tuple[int, list[str]]]:
    """`_overdue_lists` from every overdue invoice."""
    owner_of = AccountQueries(store.engine).owners()
    overdue = _overdue(store, today, config)
    overdue.sort()  # longest overdue first (by due date, then id)
    out: dict[str, tuple[int, list[str]]] = {}
    for _, invoice, account, *_ in overdue:
        email = owner_of.get(account)
        if email is None:
            continue
        total, ids = out.get(email.strip(), (0, []))
        if len(ids) < config.list_limit:
            ids.append(invoice)
        out[email.strip()] = (total + 1, ids)
    return out


def sales_digest_data(store: Store, today: date, tz: tzinfo, config: ReportConfig) -> SalesPicked:
    """The sales digests' lists by SQL (as `digests.sales_picked` finds them in records): counted in full, only
    the rows a message shows decoded."""
    queries, limit = AccountQueries(store.engine), config.list_limit
    yesterday = today - timedelta(days=1)
    owners: dict[str, OwnerLists] = {}
    shown: dict[str, tuple[list[str], list[str]]] = {}  # email → (ticket ids, invoice ids) a message shows
    created = sorted(queries.tickets_created(*utc_bounds(yesterday, yesterday, tz)), reverse=True)  # newest first
    waiting = [h for h in map(handoff_from_row, store.handoffs.rows(state="waiting")) if h.missing]
    owner_of = queries.owners_of([account for _, _, account in created] + [h.account_id for h in waiting])

    def lists_of(email: str) -> OwnerLists:
        if email not in owners:
            owners[email], shown[email] = OwnerLists(), ([], [])
        return owners[email]

    for _, ticket, account in created:
        email = owner_of.get(account)
        if email is None:
            continue
        email = email.strip()
        lists_of(email).tickets_total += 1
        if len(shown[email][0]) < limit:
            shown[email][0].append(ticket)
    for email, (total, invoice_ids) in _overdue_lists(store, today, config).items():
        lists_of(email).overdue_total = total
        shown[email][1].extend(invoice_ids)
    for h in waiting:
        email = h.owner_email or owner_of.get(h.account_id, "").strip()
        if email:
            owners.setdefault(email, OwnerLists()).missing.append(h)
    tickets = {t.id: t for t in queries.records("tickets", [i for ids, _ in shown.values() for i in ids])}
    invoices = {i.id: i for i in queries.records("invoices", [i for _, ids in shown.values() for i in ids])}
    for email, (ticket_ids, invoice_ids) in shown.items():
        owners[email].tickets = [tickets[i] for i in ticket_ids if i in tickets]
        owners[email].overdue = [invoices[i] for i in invoice_ids if i in invoices]
    names = queries.owner_names(list(owners))
    linked = [r.account_id for r in [*tickets.values(), *invoices.values()]] + [h.account_id for h in waiting]
    data = MirrorData(
        accounts={a.id: a for a in queries.account_records(linked)},
        deals=queries.records("deals", [h.deal_id for h in waiting]),
    )
    return SalesPicked(owners, {e: names.get(e, e) for e in owners}, data)


def support_digest_data(store: Store, today: date, tz: tzinfo, config: ReportConfig) -> SupportPicked:
    """The support digest's lists by SQL (as `digests.support_picked` finds them in records): counted in full,
    only the rows the message shows decoded."""
    queries, limit = AccountQueries(store.engine), config.list_limit
    yesterday = today - timedelta(days=1)
    done = store.handoffs.rows(state="done", changed_around=(yesterday.isoformat(), yesterday.isoformat()))
    handed = [h for h in map(handoff_from_row, done) if local_date(h.updated_at, tz) == yesterday]
    escalations, newest = queries.open_escalations(config.rules, limit)
    escalated = queries.records("tickets", newest)
    by_id = {t.id: t for t in escalated}
    day = today.isoformat()
    if _summaries_ready(store, config.rules):
        found: list[tuple[str, int]] | None = queries.owing_with_open_tickets_kept(day)
    elif _open_tickets_kept(store, config.rules):
        found = queries.owing_with_open_tickets(config.rules, day)
    else:
        found = None
    if found is None:  # every overdue invoice read, each owing account's open tickets counted
        overdue = _overdue(store, today, config)
        owed = {account for _, _, account, _, _ in overdue if account}
        open_by = queries.open_tickets(config.rules, sorted(owed))
    else:  # SQL found the accounts owing with open tickets; the balances are read for those shown only
        open_by = dict(found)
    both = sorted((a for a in open_by if open_by[a]), key=lambda a: -open_by[a])
    least = open_by[both[limit - 1]] if 0 < limit <= len(both) else 0
    top = [a for a in both if open_by[a] >= least]  # only these can show: only their names are read
    names: dict[str, str] = {a: row[1] for a, row in queries.accounts(top).items()}
    top.sort(key=lambda a: (-open_by[a], (names[a] if a in names else a).casefold(), a))
    sums: dict[str, dict[str, Decimal]] = {a: {} for a in top[:limit]}  # overdue balance per currency
    if found is not None:
        overdue = [(None, None, *row) for row in queries.overdue_balances(config.rules, day, list(sums))]
    for _, _, account, balance, code in overdue:
        if account in sums:
            by_code, code = sums[account], (code or "").upper()
            by_code[code] = by_code.get(code, Decimal(0)) + Decimal(balance or 0)
    rows = [(a, open_by[a], dict(sorted(owed_by.items()))) for a, owed_by in sums.items()]
    linked = [t.account_id for t in escalated] + [h.account_id for h in handed] + [a for a, _, _ in rows]
    data = MirrorData(
        accounts={a.id: a for a in queries.account_records(linked)},
        deals=queries.records("deals", [h.deal_id for h in handed]),
    )
    return SupportPicked(handed, [by_id[i] for i in newest if i in by_id], escalations, rows, len(both), data)


def accounts_owned_by(store: Store, email: str) -> list[str]:
    return store.account_ids_owned_by(email)


def handoffs_for(
    store: Store, email: str, approver: bool, recent: int
) -> tuple[list[HandoffRow] | None, list[HandoffRow]]:
    """(handoffs waiting for approval if `approver` else None, the most recent ones: every handoff for an
    approver, else those on deals the user owns)."""
    waiting = [handoff_from_row(r) for r in store.handoffs.rows(state="ready")] if approver else None
    if approver:
        latest = store.handoffs.rows(limit=recent)
    elif email:
        latest = store.handoffs.rows(owner_email=email, limit=recent)
    else:
        latest = []
    return waiting, [handoff_from_row(r) for r in latest]


def deals_by_id(store: Store, ids: Sequence[str]) -> dict[str, Deal]:
    return store.records_by_id(Deal, ids)


def account_names(store: Store, ids: Sequence[str]) -> dict[str, str]:
    return store.account_names(ids)
