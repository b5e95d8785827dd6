"""The money reports from SQL (bot/store/reports_money.py) on both engines: amounts summed as exact integers give the
very Decimals (value and exponent) that adding the records one by one gives, whatever the amounts look like, and
owners and currencies resolve as the pure rules resolve them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import OperatingStructure
from bot.models import Account, BooksCustomer, Deal, Invoice, Owner, Payment
from bot.reports.compute import config_from, revenue, revenue_of
from bot.reports.data import digest_data, load_mirror, money_bookings, revenue_bookings, with_org_currency
from bot.reports.digests import TIMING_DAYS, DigestContext, build, leadership_figures
from bot.reports.periods import Period, parse_period
from bot.reports.service import ReportRequest, csv_rows, run_report, run_report_on
from bot.store import MIGRATIONS, Store
from bot.store.migrations import _m_rmoney_money_columns
from bot.store.reports_money import merged
from bot.store.rows import amount_exponent, amount_units
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
ANN = Owner(id="u1", name="Ann Archer", email="ann@example.com")
ANN_AGAIN = Owner(id="u1", name="Ann A.", email=" ANN@example.com")  # same person, another spelling
NOBODY = Owner(id="", name="", email="")


def test_amount_units_are_exact_or_absent():
    def units(value):
        return amount_units(value), amount_exponent(value)

    assert units(Decimal("12.50")) == (125000, -2)
    assert units(Decimal("1E+3")) == (10000000, 3)
    assert units(Decimal("-0.0001")) == (-1, -4)
    assert units(Decimal("0.00001")) == (None, -5)  # not a whole number of units: summed as text
    assert units(Decimal("100000000000")) == (None, 0)  # too large to sum thousands of in 64 bits
    assert units(None) == (None, None)


def test_overlapping_ranges_are_read_once():
    assert merged([("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-10-05"), ("2026-12-01", "2026-12-02")]) == [
        ("2026-09-01", "2026-10-31"),
        ("2026-12-01", "2026-12-02"),
    ]


def _tricky(store: Store) -> None:
    """Amounts with every exponent, some without exact units, records without a currency or an account, an
    invoice whose deal is not mirrored, one owner under two spellings."""
    day = date(2026, 10, 12)
    store.upsert_accounts(
        [
            Account(id="M1", name="Money One", owner=ANN_AGAIN, currency="usd"),
            Account(id="M2", name="Money Two", owner=NOBODY, currency=""),
        ]
    )
    store.upsert_books_customers([BooksCustomer(id="MC1", name="Money One", account_id="M1")])
    store.upsert_deals(
        [
            Deal(id="MD1", name="Sub-cent", account_id="M1", stage="Closed Won", amount=Decimal("0.00001"),
                 currency="EUR", closing_date=day, owner=ANN),
            Deal(id="MD2", name="Round", account_id="M1", stage="Closed Won", amount=Decimal("1E+3"),
                 currency="", closing_date=day, owner=ANN_AGAIN),
            Deal(id="MD3", name="Huge", account_id="M9", account_name="Gone Ltd", stage="Closed Won",
                 amount=Decimal("123456789012.345"), currency="EUR", closing_date=day - timedelta(days=40)),
            Deal(id="MD4", name="Negative", account_id="M2", stage="Closed Won", amount=Decimal("-5.125"),
                 currency="", closing_date=day, owner=NOBODY),
        ]
    )  # fmt: skip
    store.upsert_invoices(
        [
            Invoice(id="MI1", customer_id="MC1", deal_id="MD-not-mirrored", status="sent", date=day,
                    currency="", total=Decimal("10.10")),
            Invoice(id="MI2", account_id="M1", deal_id="MD2", status="paid", date=day, currency="EUR",
                    total=Decimal("0.123456")),
            Invoice(id="MI3", account_id="M2", status="overdue", date=day, due_date=day, currency="GBP",
                    total=Decimal("7"), balance=Decimal("7")),
        ]
    )  # fmt: skip
    store.upsert_payments(
        [
            Payment(id="MP1", customer_id="MC1", amount=Decimal("10.1"), date=day, currency=""),
            Payment(id="MP2", account_id="M2", amount=Decimal("0.000001"), date=day, currency="EUR"),
            Payment(id="MP3", account_id="M9", amount=Decimal("3.30"), date=fx.TODAY - timedelta(days=1)),
            Payment(id="MP4", account_id="M1", amount=Decimal("3.30"), date=fx.TODAY - timedelta(days=1)),
        ]
    )


@pytest.fixture
def money(store: Store) -> Store:
    fx.fill(store)
    _tricky(store)
    return store


PERIODS = ("2026-10", "last 3 months", "ytd", "2026-10-12", "2025-01-01..2026-12-31", "this month")


def test_revenue_and_invoicing_from_sql_are_the_whole_mirrors_to_the_last_digit(money: Store):
    whole = load_mirror(money, handoffs=False)
    checked = 0
    for today in (fx.TODAY, fx.TODAY + timedelta(days=20), date(2026, 10, 12)):
        now = datetime.combine(today, fx.NOW.timetz())
        for text in PERIODS:
            for kind in ("revenue", "invoicing"):
                request = ReportRequest(kind, parse_period(text, today))
                sql, records = run_report(money, STRUCTURE, request, now), run_report_on(whole, STRUCTURE, request, now)
                assert sql == records
                assert csv_rows(sql) == csv_rows(records)  # the same text: exponents too, not only values
                checked += 1
    assert checked == 36


def test_sums_keep_the_exponent_adding_one_by_one_gives(money: Store):
    config = with_org_currency(money, config_from(STRUCTURE))
    period = parse_period("2026-10-12", fx.TODAY)
    report = revenue_of(revenue_bookings(money, period, config), period, config.currency)
    assert report == revenue(load_mirror(money, handoffs=False), period, config)
    usd = report.other_currencies["USD"]
    assert str(usd.sold) == "1000" and str(usd.invoiced) == "10.10" and str(usd.collected) == "10.1"
    assert report.counts["won_deals"] >= 3
    # one owner, two spellings: listed once, under the alphabetically first name
    assert [name for name, _ in report.by_owner].count("Ann A.") == 1
    assert "Ann Archer" not in [name for name, _ in report.by_owner]


def test_totals_summed_over_owners_match_and_cannot_pass_for_a_report(money: Store):
    config = with_org_currency(money, config_from(STRUCTURE))
    period = Period(date(2026, 10, 1), date(2026, 10, 15), "mtd")
    summed = money_bookings(money, [period], config, owners=False)
    assert all(b.owner is None for b in summed)
    with pytest.raises(ValueError, match="totals only"):
        revenue_of(summed, period, config.currency)


@pytest.mark.parametrize("team", ["finance", "leadership"])
def test_the_money_digests_from_sql_are_the_whole_mirrors(money: Store, team: str):
    whole = load_mirror(money)
    config = with_org_currency(money, config_from(STRUCTURE))
    for today in [fx.TODAY + timedelta(days=n) for n in (-30, -3, 0, 1, 17, 60)]:
        now = datetime.combine(today, fx.NOW.timetz())
        for list_limit in (1, 8):
            ctx = DigestContext(today, now, fx.TZ, replace(config, list_limit=list_limit), AppLinks())
            picked = digest_data(money, team, today, fx.TZ, ctx.config, TIMING_DAYS)
            assert build(team, picked, ctx) == build(team, whole, ctx)
            if team == "leadership":
                assert leadership_figures(picked, ctx) == leadership_figures(whole, ctx)


def test_the_migration_fills_the_money_columns_of_rows_mirrored_before(tmp_path: Path):
    path = tmp_path / "old.db"
    before = MIGRATIONS[: MIGRATIONS.index(_m_rmoney_money_columns)]
    deal = Deal(id="D1", name="Big one", account_name="Acme", stage="Closed Won", amount=Decimal("12.50"))
    invoice = Invoice(id="I1", total=Decimal("0.00001"))
    payment = Payment(id="P1", amount=Decimal("1E+3"))
    with Store(path, migrations=before) as old, old.transaction() as db:
        for table, record in (("deals", deal), ("invoices", invoice), ("payments", payment)):
            db.execute(f"INSERT INTO {table} (id, data) VALUES (?, ?)", [record.id, record.model_dump_json()])
    with Store(path) as new, new.transaction() as db:
        deals = list(db.query("SELECT name, account_name, amount_units, amount_exp FROM deals"))
        invoices = list(db.query("SELECT total_units, total_exp FROM invoices"))
        payments = list(db.query("SELECT amount_units, amount_exp FROM payments"))
    assert deals == [{"name": "Big one", "account_name": "Acme", "amount_units": 125000, "amount_exp": -2}]
    assert invoices == [{"total_units": None, "total_exp": -5}]
    assert payments == [{"amount_units": 10000000, "amount_exp": 3}]
