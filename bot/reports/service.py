"""`/report` and `throughline report`: read the request, run the report over the mirror, render it or its CSV.

revenue [period]     sold, invoiced, collected by month and owner (default: this month)
invoicing [period]   close → first invoice, and won deals not invoiced (default: last 3 months)
support [period]     tickets per customer (default: last 30 days)
renewals [period]    renewals due (default: the renewal window around today), quiet and at-risk accounts
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.blocks import Message, section
from bot.config import OperatingStructure
from bot.errors import ReportUsageError
from bot.models import Account
from bot.reports.blocks import invoicing_message, renewals_message, revenue_message, support_message
from bot.reports.compute import (
    InvoicingReport,
    MirrorData,
    ReportConfig,
    RevenueReport,
    SupportReport,
    config_from,
    invoicing,
    revenue,
    revenue_of,
    support,
)
from bot.reports.data import (
    invoicing_data,
    renewals_report,
    revenue_bookings,
    support_report,
    with_org_currency,
)
from bot.reports.gc_pause import gc_paused
from bot.reports.periods import Period, parse_period
from bot.reports.retention import AccountRef, RenewalsReport, renewal_window, renewals
from bot.store import Store

KINDS = ("revenue", "invoicing", "support", "renewals")
DEFAULT_PERIODS = {"revenue": "this month", "invoicing": "last 3 months", "support": "last 30 days"}
Report = RevenueReport | InvoicingReport | SupportReport | RenewalsReport


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    period: Period | None  # None: renewals over the configured window


def usage_text() -> str:
    return (
        "*Reports* from the local mirror of Zoho CRM, Books and Desk:\n"
        "• `/report revenue [period]` — sold, invoiced, collected by month and owner\n"
        "• `/report invoicing [period]` — close → first invoice; won deals not invoiced\n"
        "• `/report support [period]` — tickets per customer\n"
        "• `/report renewals [period]` — renewals due, accounts going quiet, accounts at risk\n"
        "Periods: `this month`, `last month`, `2026-Q3`, `2026-10`, `ytd`, `last 30 days`, "
        "`2026-01-01..2026-03-31`"
    )


def usage() -> Message:
    return Message(
        "Use /report revenue, invoicing, support or renewals, with an optional period.", [section(usage_text())]
    )


def parse_request(text: str, now: datetime, structure: OperatingStructure) -> ReportRequest:
    words = " ".join((text or "").split())
    if not words:
        raise ReportUsageError("Which report? revenue, invoicing, support or renewals.")
    kind, _, rest = words.partition(" ")
    kind = kind.lower()
    matches = [k for k in KINDS if k.startswith(kind)] if len(kind) >= 3 else []
    if len(matches) != 1:
        raise ReportUsageError(f"There is no “{kind[:40]}” report: use revenue, invoicing, support or renewals.")
    kind = matches[0]
    today = now.astimezone(structure.tz).date()
    if kind == "renewals" and not rest.strip():
        return ReportRequest(kind, None)
    return ReportRequest(kind, parse_period(rest, today, default=DEFAULT_PERIODS.get(kind, "this month")))


def run_report(store: Store, structure: OperatingStructure, request: ReportRequest, now: datetime) -> Report:
    """Blocking (SQL picks the records the report needs; the rules run on those): call it through `store.run`."""
    tz = structure.tz
    today = now.astimezone(tz).date()
    if request.kind == "support":  # neither support nor renewals shows an amount in the org currency
        return support_report(store, _period(request), tz, config_from(structure))
    if request.kind == "renewals":
        config = config_from(structure)
        return renewals_report(store, today, tz, config, request.period or renewal_window(today, config))
    if request.kind == "revenue":
        config = with_org_currency(store, config_from(structure))
        period = _period(request)
        return revenue_of(revenue_bookings(store, period, config), period, config.currency)
    config = config_from(structure)  # the invoicing report adds no amounts up: it needs no org currency
    data = invoicing_data(store, _period(request), today, config)
    return run_report_on(data, structure, request, now, config)


def report_card(store: Store, structure: OperatingStructure, request: ReportRequest, now: datetime) -> Message:
    """The report's card (blocking, as `run_report`). The cyclic collector waits until the report is dropped:
    re-enabled while the report's thousands of rows were alive, its next pass would walk them all to find nothing
    (5–10% of a report's CPU at 10,000 accounts)."""
    with gc_paused():
        report = run_report(store, structure, request, now)
        message = render(report, structure)
        del report  # freed by reference counting, before the collector runs again
    return message


def run_report_on(
    data: MirrorData,
    structure: OperatingStructure,
    request: ReportRequest,
    now: datetime,
    config: ReportConfig | None = None,
) -> Report:
    config = config or config_from(structure)
    tz = structure.tz
    today = now.astimezone(tz).date()
    if request.kind == "revenue":
        return revenue(data, _period(request), config)
    if request.kind == "invoicing":
        return invoicing(data, _period(request), today, config)
    if request.kind == "support":
        return support(data, _period(request), tz, config)
    return renewals(data, today, tz, config, window=request.period)


def _period(request: ReportRequest) -> Period:
    assert request.period is not None  # only renewals may go without one
    return request.period


def render(report: Report, structure: OperatingStructure) -> Message:
    limit = max(structure.reports.list_limit, 10)
    if isinstance(report, RevenueReport):
        return revenue_message(report, limit=limit)
    if isinstance(report, InvoicingReport):
        return invoicing_message(report, limit=limit)
    if isinstance(report, SupportReport):
        return support_message(report, limit=limit)
    return renewals_message(report, limit=limit)


# ---- CSV -----------------------------------------------------------------------------------------------------


def _num(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def csv_rows(report: Report) -> list[list[str]]:
    """Every row of the report (no list is cut), first row the header."""
    if isinstance(report, RevenueReport):
        head = ["section", "key", "currency", "sold", "invoiced", "collected", "not_invoiced", "not_collected"]
        rows = [head]
        groups: list[tuple[str, list[Any]]] = [
            ("month", report.by_month),
            ("owner", report.by_owner),
            ("total", [("all", report.total)]),
        ]
        for name, items in groups:
            rows += [
                [
                    name,
                    k,
                    report.currency,
                    *(_num(v) for v in (f.sold, f.invoiced, f.collected, f.not_invoiced, f.not_collected)),
                ]
                for k, f in items
            ]
        rows += [
            [
                "other_currency",
                code,
                code,
                *(_num(v) for v in (f.sold, f.invoiced, f.collected, f.not_invoiced, f.not_collected)),
            ]
            for code, f in report.other_currencies.items()
        ]
        return rows
    if isinstance(report, InvoicingReport):
        head = [
            "deal_id",
            "deal",
            "account",
            "owner",
            "amount",
            "currency",
            "closed",
            "first_invoice",
            "days_to_invoice",
            "days_since_close",
            "flagged_not_invoiced",
        ]
        flagged = {t.deal.id for t in report.not_invoiced}
        seen: dict[str, Any] = {t.deal.id: t for t in report.deals}
        seen.update({t.deal.id: t for t in report.not_invoiced})
        return [head] + [
            [
                t.deal.id,
                t.deal.name,
                t.account_name,
                t.owner,
                _num(t.deal.amount),
                t.deal.currency,
                t.closed.isoformat(),
                t.first_invoice.isoformat() if t.first_invoice else "",
                _num(t.days),
                str(t.waiting),
                "yes" if t.deal.id in flagged else "",
            ]
            for t in seen.values()
        ]
    if isinstance(report, SupportReport):
        head = ["account_id", "customer", "opened", "escalated", "open_now", "closed", "median_hours_to_close"]
        return [head] + [
            [
                r.key,
                r.name,
                str(r.opened),
                str(r.escalated),
                str(r.open_now),
                str(r.closed),
                _num(r.median_hours_to_close),
            ]
            for r in [*report.rows, report.total]
        ]
    head = ["list", "account_id", "account", "owner", "date", "days", "detail"]
    rows = [head]
    rows += [
        [
            "renewal_due",
            x.account.id,
            x.account.name,
            x.account.owner_email,
            x.due.isoformat(),
            str(x.days),
            f"last won: {x.last_won.name} {_num(x.last_won.amount)} {x.last_won.currency}",
        ]
        for x in report.due
    ]
    rows += [
        [
            "going_quiet",
            q.account.id,
            q.account.name,
            q.account.owner_email,
            q.last_activity.isoformat(),
            str(q.days),
            "",
        ]
        for q in report.quiet
    ]
    rows += [
        ["at_risk", h.account.id, h.account.name, _owner_email(h.account), "", "", "; ".join(h.health.reasons)]
        for h in report.at_risk
    ]
    return rows


def _owner_email(account: Account | AccountRef) -> str:
    return account.owner_email if isinstance(account, AccountRef) else account.owner.email
