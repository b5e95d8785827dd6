"""The renewals report's accounts at risk: SQL marks those certainly at risk (`health_summaries(certain=…)`'s last
column) and `retention.AtRisk` keeps them unbuilt until read, counted at once. The list read whole or by its first
rows equals the oracle's (`retention.renewals` over every record) on both engines, around every line the rule draws
(an overdue share exactly at the threshold and a cent or less either side, nothing billed, negative balances,
escalations at the threshold, days overdue at the limit), with ties in amount, escalations and names differing only
in case; and the first rows are made without building the rest."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.account.health import DEFAULT_RULES, INVOICED_WINDOW, Health, HealthFigures, verdict
from bot.config import OperatingStructure
from bot.models import BooksCustomer
from bot.reports.data import load_mirror
from bot.reports.retention import AccountHealth, AccountRef, AtRisk, Later, RenewalsReport
from bot.reports.service import ReportRequest, csv_rows, render, run_report, run_report_on
from bot.store import Store
from bot.store.reports_accounts import AccountQueries
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
TODAY = date(2026, 10, 15)
IN_WINDOW, DUE_LATELY = "2026-06-01", "2026-10-10"  # billed within the 12 months; overdue a few days

# account → (paid in the window, overdue balance): at risk when the overdue balance ≥ a quarter of both together
SHARES = {
    "S1": ("3000.03", "1000.01"),  # exactly a quarter
    "S2": ("3000.03", "1000.00"),  # a cent under
    "S3": ("3000.03", "1000.02"),  # a cent over
    "S4": ("3000000000.0000300004", "1000000000.00001"),  # a ten-billionth under, where doubles say "at least"
    "S5": ("3000000000.0000299996", "1000000000.00001"),  # a ten-billionth over, where doubles say "under"
    "S6": ("11", "4"),  # well over: certain in SQL
    "S7": ("11", "4"),  # the same amount: the order falls to escalations, then names
    "S8": ("100", "-5"),  # a negative overdue balance: never a share
    "S9": ("-100", "5"),  # negative billing: nothing billed
}


def _accounts_and_records(store: Store) -> None:
    names = {
        "S6": "acme", "S7": "Acme", "E3": "ACME", "E2": "Bolt", "N0": "Zed", "N1": "zed", "N2": "ZED", "D30": "Old 30",
        "D31": "Old 31", "M1": "Mixed", "E2b": "Bolt Two", "B1": "Billed Before",
    }  # fmt: skip
    ids = [*SHARES, *names]
    store.upsert_accounts(
        fx.Account(id=a, name=names.get(a, f"Share {a}"), owner=fx.ANN, currency="EUR") for a in dict.fromkeys(ids)
    )
    invoices = []
    for account, (paid, owed) in SHARES.items():
        invoices.append(fx._inv(f"{account}p", account, "", "paid", paid, IN_WINDOW, "2026-07-01", "0"))
        invoices.append(fx._inv(f"{account}o", account, "", "overdue", owed, IN_WINDOW, DUE_LATELY, owed))
    undated = fx._inv("N2o", "N2", "", "overdue", "10", IN_WINDOW, DUE_LATELY, "10")
    undated.date = None  # nothing billed at all (no dated invoice): certain in SQL
    invoices += [
        undated,
        # nothing billed in the 12 months: the overdue invoice dated before them (Python asks the invoices)
        fx._inv("N0o", "N0", "", "overdue", "10", "2025-06-01", DUE_LATELY, "10"),
        fx._inv("N1o", "N1", "", "sent", "10", "2025-06-01", DUE_LATELY, "10"),  # owing past due, a due status
        # overdue exactly the rule's 30 days (not at risk by age) and 31 days (at risk), small against the billing
        fx._inv("D30p", "D30", "", "paid", "10000", IN_WINDOW, "2026-07-01", "0"),
        fx._inv("D30o", "D30", "", "overdue", "10", IN_WINDOW, "2026-09-15", "10"),
        fx._inv("D31p", "D31", "", "paid", "10000", IN_WINDOW, "2026-07-01", "0"),
        fx._inv("D31o", "D31", "", "sent", "10", IN_WINDOW, "2026-09-14", "10"),
        # invoiced before the 12 months too, one invoice long overdue: certain in SQL, the billing asked in Python
        fx._inv("B1a", "B1", "", "paid", "10000", "2025-01-01", "2025-02-01", "0"),
        fx._inv("B1b", "B1", "", "paid", "500", IN_WINDOW, "2026-07-01", "0"),
        fx._inv("B1o", "B1", "", "overdue", "10", IN_WINDOW, "2026-08-01", "10"),
        # owing invoices some past due and some not (Python counts them), one long past due
        fx._inv("M1a", "M1", "", "sent", "10", IN_WINDOW, "2026-08-01", "10"),
        fx._inv("M1b", "M1", "", "sent", "10", IN_WINDOW, "2026-11-01", "10"),
        # escalations: two with a small overdue invoice, two without, three without
        fx._inv("E2p", "E2", "", "paid", "10000", IN_WINDOW, "2026-07-01", "0"),
        fx._inv("E2o", "E2", "", "overdue", "4", IN_WINDOW, DUE_LATELY, "4"),
    ]
    store.upsert_invoices(invoices)
    tickets = [fx._ticket(f"T{a}{n}", "2026-10-01T08:00:00Z", account=a, escalated=True) for a in ("E2", "E2b")
               for n in range(2)]  # fmt: skip
    tickets += [fx._ticket(f"TE3{n}", "2026-10-01T08:00:00Z", account="E3", escalated=True) for n in range(3)]
    tickets += [fx._ticket("TS7", "2026-10-01T08:00:00Z", account="S7", escalated=True)]  # with an overdue invoice
    store.upsert_tickets(tickets)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fx.filled(request, tmp_path, _accounts_and_records) as s:
        yield s


def _report(store: Store, today: date) -> RenewalsReport:
    got = run_report(store, STRUCTURE, ReportRequest("renewals", None), datetime.combine(today, fx.NOW.timetz()))
    assert isinstance(got, RenewalsReport)
    return got


def test_at_risk_around_every_line_of_the_rule_equals_the_oracle(store: Store):
    whole = load_mirror(store, handoffs=False)
    for today in (TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=40)):
        now = datetime.combine(today, fx.NOW.timetz())
        request = ReportRequest("renewals", None)
        oracle = run_report_on(whole, STRUCTURE, request, now)
        assert isinstance(oracle, RenewalsReport)
        for limit in (0, 1, 2, 3, 5, 10, 100):  # a fresh report each time: its first rows only, then the rest
            got = _report(store, today)
            assert got.at_risk[:limit] == list(oracle.at_risk)[:limit], (today, limit)
            assert len(got.at_risk) == len(oracle.at_risk)
            assert got == oracle
        assert render(_report(store, today), STRUCTURE) == render(oracle, STRUCTURE)
        assert csv_rows(_report(store, today)) == csv_rows(oracle)
    at_risk = [h.account.id for h in _report(store, TODAY).at_risk]
    assert {"S1", "S3", "S5", "S6", "S7", "S9", "N0", "N1", "N2", "D31", "B1", "M1", "E2", "E3"} <= set(at_risk)
    assert not {"S2", "S4", "S8", "D30", "E2b"} & set(at_risk)
    # 4 overdue each: the one with an escalation first; then names equal but for case, by id
    assert at_risk.index("S7") < at_risk.index("S6")


def _flags(store: Store, today: date) -> dict[str, int]:
    rules = DEFAULT_RULES
    since = (today - INVOICED_WINDOW).isoformat()
    old = (today - timedelta(days=rules.overdue_days_at_risk)).isoformat()
    rows = AccountQueries(store.engine).health_summaries(
        today.isoformat(), since, escalations=rules.escalated_at_risk, certain=(old, rules.overdue_share_at_risk)
    )
    return {row[0]: row[-1] for row in rows}


def test_sql_marks_certainly_at_risk_only_what_the_rule_calls_at_risk(store: Store):
    whole = load_mirror(store, handoffs=False)
    oracle = run_report_on(whole, STRUCTURE, ReportRequest("renewals", None), datetime.combine(TODAY, fx.NOW.timetz()))
    assert isinstance(oracle, RenewalsReport)
    flags = _flags(store, TODAY)
    at_risk = {h.account.id for h in oracle.at_risk}
    assert {a for a, sure in flags.items() if sure} <= at_risk
    # certain in SQL: well over the share, escalations at the threshold, escalated and overdue, nothing billed,
    # overdue a day past the limit
    sure = ("S6", "E3", "S7", "E2", "N2", "S9", "D31", "B1")
    assert {a: flags.get(a) for a in sure} == dict.fromkeys(sure, 1)
    # left to Python: the share within doubles' reach of the line either side, owing invoices some past due, billing
    # partly before the 12 months
    unsure = ("S1", "S4", "S5", "M1", "N0", "N1")
    assert {a: flags.get(a) for a in unsure} == dict.fromkeys(unsure, 0)
    assert 4 * float(SHARES["S4"][1]) >= float(SHARES["S4"][0]) + float(SHARES["S4"][1])  # doubles would say so


def _health(i: int, amount: str, escalated: int, name: str) -> AccountHealth:
    f = HealthFigures("EUR", Decimal(100), Decimal(amount), 1, Decimal(amount), 40, escalated, escalated, 0)
    return AccountHealth(AccountRef(f"A{i:03d}", name), verdict(f), f)


@pytest.mark.parametrize("seed", range(12))
def test_the_first_rows_equal_the_whole_order_and_build_only_what_may_show(seed: int):
    """Many ties in amount and escalations (names equal but for case, then ids): `[:k]` must reach the end of the
    group of the k-th row's rank, or a row of a later name would show."""
    rnd = random.Random(seed)
    rows = [
        _health(
            i, rnd.choice(["5", "5.00", "7", "12.5", "-1"]), rnd.choice([0, 1, 3]), rnd.choice(["b", "B", "a", "é"])
        )
        for i in range(80)
    ]
    whole = sorted(
        rows,
        key=lambda h: (
            -h.figures.overdue_amount,
            -h.figures.escalated_tickets,
            h.account.name.casefold(),
            h.account.id,
        ),
    )
    built: list[Any] = []

    def build(h: AccountHealth) -> AccountHealth:
        built.append(h)
        return h

    def ranks(found: Sequence[AccountHealth]) -> list[tuple[Decimal, int]]:
        return [(h.figures.overdue_amount, h.figures.escalated_tickets) for h in found]

    for limit in (0, 1, 3, 10, 79, 80, 200):
        cut = rnd.randrange(30)  # at least 50 rows wait to be made
        built.clear()
        listed = AtRisk(rows[:cut], rows[cut:], ranks, build)
        assert len(listed) == 80 and not built
        assert listed[:limit] == whole[:limit], limit
        if 0 < limit < 10:
            assert len(built) < len(rows) - cut  # not all of them made for a few rows
        assert list(listed) == whole and listed == whole and listed[5] == whole[5] and listed[-1] == whole[-1]
        assert listed[2:7] == whole[2:7]
    assert AtRisk(list(reversed(whole))) == whole  # a list already made: in order at once
    assert isinstance(whole[0].health, Health)


def test_a_later_list_makes_each_item_once_when_first_read():
    made: list[int] = []

    def make(n: int) -> str:
        made.append(n)
        return f"item {n}"

    items = Later(list(range(20)), make)
    whole = [f"item {n}" for n in range(20)]
    assert len(items) == 20 and not made
    assert items[:3] == whole[:3] and made == [0, 1, 2]
    assert items[-1] == whole[-1] and items[5:9:2] == whole[5:9:2] and items[18:40] == whole[18:40]
    with pytest.raises(IndexError):
        items[20]
    assert list(items) == whole and items == whole and whole == items and items != whole[:-1]
    assert sorted(made) == list(range(20))  # each made once, however often read


def test_renewals_due_read_by_first_rows_equal_the_oracle(store: Store):
    whole = load_mirror(store, handoffs=False)
    shown = 0
    for today in (TODAY - timedelta(days=300), TODAY, TODAY + timedelta(days=60), TODAY + timedelta(days=330)):
        now = datetime.combine(today, fx.NOW.timetz())
        oracle = run_report_on(whole, STRUCTURE, ReportRequest("renewals", None), now)
        assert isinstance(oracle, RenewalsReport)
        for limit in (0, 1, 2, 10):
            got = _report(store, today)
            assert isinstance(got.due, Later)
            assert got.due[:limit] == oracle.due[:limit] and len(got.due) == len(oracle.due)
            assert got == oracle
        shown += len(oracle.due)
    assert shown > 1


def test_the_12_month_billing_of_accounts_invoiced_before_it_too_is_exact(store: Store):
    """Summed per account as integer units in SQL, over its own invoices and those reaching it through a Books
    customer; an account with an amount units cannot hold is added up invoice by invoice from the exact text."""
    store.upsert_accounts(fx.Account(id=a, name=a, owner=fx.ANN, currency="EUR") for a in ("X", "Y", "Z"))
    store.upsert_books_customers([BooksCustomer(id=c, name=c, account_id=a) for c, a in (("CX", "X"), ("CY", "Y"))])
    store.upsert_invoices(
        [
            fx._inv("X0", "X", "", "paid", "900", "2025-01-01", "2025-02-01", "0"),  # before the window
            fx._inv("X1", "X", "", "paid", "100.25", IN_WINDOW, "2026-07-01", "0"),
            fx._inv("X2", "", "", "sent", "0.00001", IN_WINDOW, DUE_LATELY, "0.00001", customer="CX"),
            fx._inv("X3", "X", "", "void", "5", IN_WINDOW, "2026-07-01", "0"),  # counts nowhere
            fx._inv("Y1", "Y", "", "paid", "10.5", IN_WINDOW, "2026-07-01", "0"),
            fx._inv("Y2", "", "", "paid", "-0.5", "2026-09-01", "2026-10-01", "0", customer="CY"),
            fx._inv("Y3", "Y", "", "paid", "7", "2026-10-16", "2026-11-01", "0"),  # after today
            fx._inv("Z1", "Z", "", "paid", "7", "2025-01-01", "2025-02-01", "0"),  # nothing in the window
        ]
    )
    since = (TODAY - INVOICED_WINDOW).isoformat()
    got = AccountQueries(store.engine).billed_between(DEFAULT_RULES, ["X", "Y", "Z"], since, TODAY.isoformat())
    assert got == {"X": Decimal("100.25001"), "Y": Decimal("10")}
