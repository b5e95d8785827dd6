"""The shortcuts the sales and support digests and the org currency take in SQL give what the records give: overdue
invoices counted per owner and due date (owners spelled apart, due dates shared by several invoices, none at all),
the fall-back reads (a balance only Python can weigh, closed ticket types the health aggregates do not count), and
currencies counted as index ranges. On both engines, against the oracles over every record."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.account.health import is_billed, is_won_deal
from bot.config import OperatingStructure
from bot.models import Account, BooksCustomer, Deal, Invoice, Owner, Payment, Ticket
from bot.reports.compute import ReportConfig, config_from, payments_on
from bot.reports.data import digest_data, load_mirror, paid_on
from bot.reports.digests import TIMING_DAYS, DigestContext, build
from bot.store import Store
from bot.store.reports import ReportQueries
from bot.store.reports_accounts import AccountQueries
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
LINKS = AppLinks.for_dc("eu", books_org_id="900")
# Ann, her email stored with spaces around it (under the same name: which of two names an owner's digest carries is
# not settled alike by SQL and by the records, before or after this change)
SPELLED_APART = Owner(id="u3", name="Ann Archer", email="  ANN@example.com ")
CASS = Owner(id="u4", name="Cass Clay", email="cass@example.com")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fx.filled(request, tmp_path, _crowd) as s:
        yield s


def _crowd(store: Store) -> None:
    """Owners with many overdue invoices falling due on the same days (and some on none), one owner's email stored
    with spaces around it, open tickets on the owing accounts, records in other currencies and statuses."""
    store.upsert_accounts(
        [
            Account(id="B1", name="Birch Ltd", owner=SPELLED_APART, currency="EUR"),
            Account(id="B2", name="birch again", owner=CASS, currency="GBP"),
            Account(id="B3", name="Cedar plc", owner=CASS, currency="GBP"),
        ]
    )
    invoices = []
    for n in range(14):  # four a day: ties at every cut of the lists
        account = ("B1", "B2", "B3", "A1")[n % 4]
        due = None if n % 5 == 0 else fx.TODAY - timedelta(days=30 + n // 4)
        invoices.append(
            Invoice(
                id=f"Z{n:02d}",
                number=f"Z-{n}",
                account_id=account,
                status="overdue",
                date=fx.TODAY - timedelta(days=60),
                due_date=due,
                currency=("EUR", "gbp", "GBP")[n % 3],
                total=Decimal("100"),
                balance=Decimal(n + 1),
            )  # fmt: skip
        )
    for invoice, account in (("Z50", "B1"), ("Y01", "A1"), ("Y02", "A1")):  # Ann's longest overdue, one day
        invoices.append(
            Invoice(id=invoice, account_id=account, status="overdue", date=fx.TODAY - timedelta(days=130),
                    due_date=fx.TODAY - timedelta(days=100), currency="EUR", total=Decimal("9"), balance=Decimal("9"))
        )  # fmt: skip
    invoices.append(  # a due status past due, owing: overdue by its balance
        Invoice(id="Z90", account_id="B3", status="sent", date=fx.TODAY - timedelta(days=40),
                due_date=fx.TODAY - timedelta(days=10), currency="GBP", total=Decimal("50"), balance=Decimal("50"))
    )  # fmt: skip
    invoices.append(  # paid up: not overdue
        Invoice(id="Z91", account_id="B3", status="sent", date=fx.TODAY - timedelta(days=40),
                due_date=fx.TODAY - timedelta(days=10), currency="GBP", total=Decimal("50"), balance=Decimal("0"))
    )  # fmt: skip
    invoices += [
        Invoice(id="Z92", account_id="B2", status="draft", date=fx.TODAY, currency="JPY", total=Decimal("5")),
        Invoice(id="Z93", account_id="B2", status="paid", date=fx.TODAY, currency="", total=Decimal("5")),
        Invoice(id="Z94", account_id="B2", kind="estimate", status="sent", date=fx.TODAY, currency="CHF",
                total=Decimal("5")),
    ]  # fmt: skip
    store.upsert_invoices(invoices)
    store.upsert_payments(
        [
            Payment(id=f"ZP{n}", account_id="B1", amount=Decimal(n), date=fx.TODAY, currency=c)
            for n, c in enumerate(("CHF", "chf", "", "GBP"))
        ]  # fmt: skip
    )
    store.upsert_deals(
        [
            Deal(
                id="ZD1",
                name="Birch",
                account_id="B1",
                stage="Closed Won",
                amount=Decimal("9"),
                currency="SEK",
                closing_date=fx.TODAY,
            )
        ]  # fmt: skip
    )
    store.upsert_tickets(
        [
            Ticket(id=f"ZT{n}", subject="Help", status=s, status_type=s, account_id=a,
                   created_time=fx.NOW - timedelta(days=n), modified_time=fx.NOW - timedelta(days=n))
            for n, (a, s) in enumerate([("B1", "Open"), ("B1", "On Hold"), ("B2", "Open"), ("B3", "Closed"),
                                        ("B3", "On Hold"), ("B2", "Open")])
        ]
    )  # fmt: skip


def _check(store: Store, team: str, config: ReportConfig, days: int = 4) -> None:
    whole = load_mirror(store)
    for n in range(days):
        today = fx.TODAY + timedelta(days=n * 9)
        now = datetime.combine(today, fx.NOW.timetz())
        for limit in (1, 2, 3, 8):
            ctx = DigestContext(today=today, now=now, tz=fx.TZ, config=replace(config, list_limit=limit), links=LINKS)
            got = build(team, digest_data(store, team, today, fx.TZ, ctx.config, TIMING_DAYS), ctx)
            assert got == build(team, whole, ctx), (team, today, limit)


def test_overdue_invoices_per_owner_and_day_give_the_sales_digests(store: Store):
    config = config_from(STRUCTURE)
    rows = AccountQueries(store.engine).overdue_by_owner(config.rules, fx.TODAY.isoformat())
    assert rows is not None  # counted by SQL
    assert any(n > 1 for _, _, n, _ in rows) and any(due is None for _, due, _, _ in rows)
    assert {email for email, *_ in rows} >= {"  ann@example.com ", "ann@example.com"}
    _check(store, "sales", config)
    _check(store, "support", config)


def test_a_balance_only_python_can_weigh_reads_every_overdue_invoice(store: Store):
    store.upsert_invoices(
        [
            Invoice(
                id="Z95",
                account_id="B1",
                status="sent",
                date=fx.TODAY - timedelta(days=40),
                due_date=fx.TODAY - timedelta(days=10),
                currency="EUR",
                total=Decimal("1"),
                balance=Decimal("0.00001"),
            )
        ]  # fmt: skip
    )
    config = config_from(STRUCTURE)
    assert AccountQueries(store.engine).overdue_by_owner(config.rules, fx.TODAY.isoformat()) is None
    assert AccountQueries(store.engine).owing_with_open_tickets(config.rules, fx.TODAY.isoformat()) is None
    _check(store, "sales", config)
    _check(store, "support", config)


def test_the_aggregates_find_the_accounts_owing_with_open_tickets_as_the_invoices_do(store: Store):
    """Day by day around due dates: a due status owes from the day after its due date (not on it), only while it
    owes something (a balance too small for exact units too); an overdue status whatever its balance; an invoice
    mirrored without an account counts for its Books customer's; re-linking that customer moves it."""
    store.upsert_accounts(
        [Account(id=i, name=n, owner=CASS) for i, n in (("B4", "Dune"), ("B5", "Elm"), ("B6", "Fir"))]
    )
    store.upsert_books_customers([BooksCustomer(id="C9", name="Elm Books", account_id="B5")])
    store.upsert_invoices(
        [
            Invoice(id="W1", account_id="B4", status="sent", date=fx.TODAY, due_date=fx.TODAY + timedelta(days=3),
                    currency="EUR", total=Decimal("5"), balance=Decimal("0.00001")),
            Invoice(id="W2", account_id="B4", status="viewed", date=fx.TODAY, due_date=fx.TODAY + timedelta(days=1),
                    currency="EUR", total=Decimal("5"), balance=Decimal("0")),
            Invoice(id="W3", customer_id="C9", status="unpaid", date=fx.TODAY, due_date=fx.TODAY + timedelta(days=6),
                    currency="EUR", total=Decimal("5"), balance=Decimal("5")),
            Invoice(id="W4", account_id="B6", status="overdue", date=fx.TODAY, due_date=fx.TODAY + timedelta(days=9),
                    currency="EUR", total=Decimal("5"), balance=Decimal("0")),
        ]
    )  # fmt: skip
    store.upsert_tickets(
        [
            Ticket(id=f"WT{n}", subject="Help", status="Open", status_type="Open", account_id=a,
                   created_time=fx.NOW, modified_time=fx.NOW)
            for n, a in enumerate(["B4", "B5", "B5", "B6"])
        ]
    )  # fmt: skip
    queries, rules = AccountQueries(store.engine), config_from(STRUCTURE).rules

    def both(day: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]] | None]:
        return sorted(queries.owing_with_open_tickets_kept(day)), queries.owing_with_open_tickets(rules, day)

    seen = set()
    for n in range(-1, 12):
        day = (fx.TODAY + timedelta(days=n)).isoformat()
        kept, read = both(day)
        seen.update(a for a, _ in kept)
        if read is not None:  # W1's balance only Python weighs: the invoices' path gives up
            assert kept == sorted(read), day
        assert ("B4", 1) in kept if n > 3 else ("B4", 1) not in kept, day
        assert ("B5", 2) in kept if n > 6 else ("B5", 2) not in kept, day
        assert ("B6", 1) in kept, day  # an overdue status with nothing left to pay
    assert {"B4", "B5", "B6"} <= seen
    later = (fx.TODAY + timedelta(days=5)).isoformat()  # W1 owes a balance without exact units: weighed in Python
    assert [(a, Decimal(b), c) for a, b, c in queries.overdue_balances(rules, later, ["B4"])] == [
        ("B4", Decimal("0.00001"), "EUR")
    ]
    store.upsert_books_customers([BooksCustomer(id="C9", name="Elm Books", account_id="B4")])  # re-linked
    kept, _ = both((fx.TODAY + timedelta(days=7)).isoformat())
    assert ("B5", 2) not in kept and ("B4", 1) in kept
    _check(store, "support", config_from(STRUCTURE), days=3)


def test_other_invoice_statuses_find_the_accounts_owing_from_the_invoices(store: Store):
    """An account owing only by a "sent" invoice past due, with the most open tickets: listed first under the health
    rule's statuses, not at all when "sent" is not a due status (the aggregates count the rule's own)."""
    store.upsert_accounts([Account(id="B7", name="Gum", owner=CASS)])
    store.upsert_invoices(
        [Invoice(id="W7", account_id="B7", status="sent", date=fx.TODAY, due_date=fx.TODAY - timedelta(days=2),
                 currency="EUR", total=Decimal("5"), balance=Decimal("5"))]
    )  # fmt: skip
    store.upsert_tickets(
        [
            Ticket(id=f"WG{n}", subject="Help", status="Open", status_type="Open", account_id="B7",
                   created_time=fx.NOW, modified_time=fx.NOW)
            for n in range(5)
        ]
    )  # fmt: skip
    config = config_from(STRUCTURE)
    _check(store, "support", config, days=1)
    viewed_not_due = replace(config, rules=replace(config.rules, due_statuses=config.rules.due_statuses - {"sent"}))
    _check(store, "support", viewed_not_due)


def test_the_support_digest_lists_the_handoffs_done_yesterday_in_its_time_zone(store: Store):
    """Only yesterday's done handoffs are read (a day's margin around it as stored, the day decided locally):
    the first and last minutes of yesterday in Berlin, stored in UTC or another offset, in and just out."""
    yesterday = fx.TODAY - timedelta(days=1)  # 14 Oct 2026, CEST (UTC+2)
    times = {
        "H1": "2026-10-13T22:00:00+00:00",  # 00:00 on the 14th in Berlin: in
        "H2": "2026-10-13T21:59:59+00:00",  # 23:59:59 on the 13th: out
        "H3": "2026-10-14T21:59:00+00:00",  # 23:59 on the 14th: in
        "H4": "2026-10-14T22:00:00+00:00",  # 00:00 on the 15th: out
        "H5": "2026-10-15T04:30:00+05:30",  # 01:00 on the 15th: out
        "H6": "2026-10-14T23:30:00-05:00",  # 06:30 on the 15th: out
        "H7": "2026-10-14T09:00:00-10:00",  # 21:00 on the 14th: in, stored a day "later" than many
        "H8": "2025-10-14T12:00:00+00:00",  # a year before: out
        "H9": "2026-10-15T08:00:00+12:00",  # 22:00 on the 14th: in, written on the 15th
        "HA": "2026-10-13T23:30:00-01:00",  # 02:30 on the 14th: in, written on the 13th
    }
    store.handoffs.insert_many(
        [
            {"deal_id": deal, "account_id": "B1", "state": "done", "kind": "invoice", "plan": "{}", "missing": "[]",
             "owner_email": "", "created_at": at, "updated_at": at}
            for deal, at in times.items()
        ]
    )  # fmt: skip
    picked = digest_data(store, "support", fx.TODAY, fx.TZ, config_from(STRUCTURE), TIMING_DAYS)
    assert sorted(h.deal_id for h in picked.handed if h.deal_id in times) == ["H1", "H3", "H7", "H9", "HA"]
    assert yesterday.isoformat() == "2026-10-14"
    _check(store, "support", config_from(STRUCTURE), days=1)


def test_other_closed_ticket_types_count_open_tickets_from_the_tickets(store: Store):
    config = config_from(STRUCTURE)
    on_hold_closed = replace(config, rules=replace(config.rules, closed_ticket_types=frozenset({"closed", "on hold"})))
    _check(store, "support", on_hold_closed)


def _counted(store: Store) -> tuple[Counter[str], Counter[str]]:
    """(currency counts from SQL, counted over every record)."""
    rules, whole = config_from(STRUCTURE).rules, load_mirror(store, handoffs=False)
    want: Counter[str] = Counter()
    want.update(d.currency.upper() for d in whole.deals if d.currency and is_won_deal(d, rules))
    want.update(i.currency.upper() for i in whole.invoices if i.currency and is_billed(i, rules))
    want.update(p.currency.upper() for p in whole.payments if p.currency)
    return ReportQueries(store.engine).currency_counts(rules.won_stages, rules.excluded_invoice_statuses), want


def test_currencies_counted_as_ranges_equal_counting_every_record(store: Store):
    got, want = _counted(store)
    assert {"CHF", "SEK", "GBP"} <= set(want) and "JPY" not in want
    assert got == want


def test_currencies_counted_when_won_deals_mostly_carry_another_currency(store: Store):
    """The count worked out from the table's (that of the currency most won deals carry) stays exact when another
    currency has more invoices and payments, and with estimates, excluded or no statuses and no currency about."""
    day = fx.TODAY - timedelta(days=3)
    invoices = [
        Invoice(id=f"S{n}", account_id="B1", status=status, kind=kind, date=day, currency=currency, total=Decimal(1))
        for n, (status, kind, currency) in enumerate(
            [("sent", "invoice", "NOK")] * 9
            + [("void", "invoice", "NOK"), ("draft", "invoice", "NOK"), ("", "invoice", "NOK")]
            + [("sent", "estimate", "NOK"), ("sent", "estimate", "USD"), ("", "invoice", "USD")]
            + [("sent", "invoice", ""), ("paid", "invoice", ""), ("void", "invoice", "USD")]
        )
    ]
    store.upsert_invoices(invoices)
    store.upsert_payments(
        [
            Payment(id=f"SP{n}", account_id="B1", date=day, currency=("NOK", "")[n % 2], amount=Decimal(1))
            for n in range(7)
        ]
    )
    got, want = _counted(store)
    assert want["NOK"] >= 13 and max(want, key=lambda code: want[code]) != "NOK"  # deals carry other currencies
    assert got == want
    store.upsert_invoices(
        [i.model_copy(update={"id": f"T{n}", "currency": "NOK"}) for n, i in enumerate(invoices * 40)]
    )
    got, want = _counted(store)
    assert max(want, key=lambda code: want[code]) == "NOK"
    assert got == want


def test_a_days_payments_from_sql_are_listed_as_from_the_records(store: Store):
    """Equal amounts (written alike or not) are listed by account, then currency; an unknown account is named so."""
    day = fx.TODAY - timedelta(days=1)
    rows = [("B2", "GBP", "5"), ("B1", "EUR", "5.00"), ("B1", "CHF", "5"), ("", "EUR", "5"), ("A1", "EUR", "7.5")]
    rows += [("B3", "GBP", "5.0"), ("ZZ", "GBP", "0.5"), ("B1", "eur", "5")]
    store.upsert_payments(
        [
            Payment(id=f"PD{n}", account_id=account, date=day, currency=currency, amount=Decimal(amount))
            for n, (account, currency, amount) in enumerate(rows)
        ]
    )
    got = paid_on(store, day)
    assert len(got) >= len(rows)
    assert [(p.amount, p.currency, p.account) for p in got] == [
        (p.amount, p.currency, p.account) for p in payments_on(load_mirror(store, handoffs=False), day)
    ]
