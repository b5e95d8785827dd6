"""The finance digest's won deals waiting for an invoice and yesterday's payments, counted and summed by SQL with
only the rows shown read, read exactly as over every record: many deals closing on the same days (ties at every cut,
ids that sort differently as text and as numbers), the lookback's and the waiting time's bounds to the day, invoices
that do not count (draft, void, estimates, undated, linked to another deal), payments of equal amounts written
differently, in other and missing currencies, for unknown accounts, and an amount without exact units. On both
engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import OperatingStructure
from bot.models import Deal, Invoice, Owner, Payment
from bot.reports.compute import ReportConfig, config_from, day_paid, waiting_deals
from bot.reports.data import digest_data, load_mirror, paid_summed, won_waiting
from bot.reports.digests import TIMING_DAYS, DigestContext, build
from bot.store import Store
from bot.store.reports_money import MoneyQueries
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
LINKS = AppLinks.for_dc("eu", books_org_id="900")
BO = Owner(id="u9", name="Bo Berg", email="bo@example.com")
# The invoice each deal gets (kind, status, dated): only the fifth counts
INVOICED = [("invoice", "draft", True), ("invoice", "void", True), ("estimate", "sent", True)]
INVOICED += [("invoice", "sent", False), ("invoice", "sent", True), (None, None, False)]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fx.filled(request, tmp_path, _crowd) as s:
        yield s


def _crowd(store: Store) -> None:
    config = config_from(STRUCTURE)
    lookback, after = config.not_invoiced_lookback_days, config.not_invoiced_after_days
    # Closing days around both bounds (the oldest day of the lookback, the last day waited long enough), three or
    # four deals each; ids "W9" and "W10" order differently as text and as numbers.
    offsets = [lookback + 1, lookback, lookback - 1, 60, 60, 40, after + 1, after, after - 1, 0]
    deals, invoices = [], []
    for n in range(34):
        closed = fx.TODAY - timedelta(days=offsets[n % len(offsets)])
        deals.append(
            Deal(id=f"W{n}", name=f"Deal {n}", account_id=("A1", "A2", "NOPE", "")[n % 4], account_name="Own name",
                 owner=BO, stage="Closed Won", amount=Decimal(n), currency=("EUR", "")[n % 2], closing_date=closed)
        )  # fmt: skip
        kind, status, dated = INVOICED[n % len(INVOICED)]
        if kind is not None:
            invoices.append(
                Invoice(id=f"WI{n}", account_id="A1", deal_id=f"W{n}", kind=kind, status=status,
                        date=closed + timedelta(days=3) if dated else None, currency="EUR", total=Decimal(5))
            )  # fmt: skip
    deals.append(
        Deal(id="W99", name="Lost", account_id="A1", stage="Closed Lost", closing_date=fx.TODAY - timedelta(60))
    )
    invoices.append(  # counting, but for another deal than the one it names in its number
        Invoice(id="WX", number="W5", account_id="A1", deal_id="elsewhere", status="sent", date=fx.TODAY,
                currency="EUR", total=Decimal(1))
    )  # fmt: skip
    store.upsert_deals(deals)
    store.upsert_invoices(invoices)
    paid = [("A1", "EUR", "5"), ("A2", "EUR", "5.00"), ("A1", "CHF", "5"), ("", "EUR", "5"), ("A1", "eur", "7.5")]
    paid += [("ZZ", "GBP", "0.5"), ("A2", "", "5"), ("A2", "", "3.25"), ("A1", "EUR", "-2"), ("A2", "GBP", "5.0")]
    day = fx.TODAY - timedelta(days=1)
    store.upsert_payments(
        [
            Payment(id=f"WP{n}", account_id=account, date=day, currency=code, amount=Decimal(amount))
            for n, (account, code, amount) in enumerate(paid)
        ]
    )


def _messages_agree(store: Store, config: ReportConfig, days: range) -> None:
    whole = load_mirror(store)
    for n in days:
        today = fx.TODAY + timedelta(days=n)
        now = datetime.combine(today, fx.NOW.timetz())
        for limit in (1, 2, 3, 4, 7, 8, 40):
            ctx = DigestContext(today=today, now=now, tz=fx.TZ, config=replace(config, list_limit=limit), links=LINKS)
            picked = digest_data(store, "finance", today, fx.TZ, ctx.config, TIMING_DAYS)
            assert isinstance(picked, type(whole))
            assert picked.waiting == waiting_deals(whole, today, ctx.config), (today, limit)
            assert picked.day_paid == day_paid(whole, ctx.yesterday, limit), (today, limit)
            assert build("finance", picked, ctx) == build("finance", whole, ctx), (today, limit)


def test_the_waiting_deals_and_payments_from_sql_read_as_from_every_record(store: Store):
    config = config_from(STRUCTURE)
    waiting = won_waiting(store, fx.TODAY, replace(config, list_limit=2))
    assert waiting.count > 10 and len(waiting.first) == 2  # the lists are cut: only their heads come from SQL
    oldest, waited = (
        fx.TODAY - timedelta(days=n) for n in (config.not_invoiced_lookback_days, config.not_invoiced_after_days)
    )
    total, rows = MoneyQueries(store.engine).waiting(config.rules, oldest.isoformat(), waited.isoformat(), 2)
    assert total == waiting.count and len(rows) > 2  # the whole first closing day, ties at the cut
    assert MoneyQueries(store.engine).payments_summed((fx.TODAY - timedelta(days=1)).isoformat(), 3) is not None
    _messages_agree(store, config, range(-2, 3))
    _messages_agree(store, replace(config, not_invoiced_after_days=0, not_invoiced_lookback_days=1), range(-1, 2))
    _messages_agree(store, replace(config, not_invoiced_after_days=30, not_invoiced_lookback_days=20), range(0, 1))


def test_a_payment_without_exact_units_sums_every_payment_in_python(store: Store):
    day = fx.TODAY - timedelta(days=1)
    store.upsert_payments([Payment(id="WQ", account_id="A1", date=day, currency="EUR", amount=Decimal("0.00001"))])
    assert MoneyQueries(store.engine).payments_summed(day.isoformat(), 3) is None
    assert paid_summed(store, day, 3) == day_paid(load_mirror(store, handoffs=False), day, 3)
    _messages_agree(store, config_from(STRUCTURE), range(0, 1))


def test_other_excluded_statuses_count_other_invoices(store: Store):
    config = config_from(STRUCTURE)
    drafts_count = replace(config, rules=replace(config.rules, excluded_invoice_statuses=frozenset({"void"})))
    assert won_waiting(store, fx.TODAY, drafts_count).count < won_waiting(store, fx.TODAY, config).count
    _messages_agree(store, drafts_count, range(0, 1))
