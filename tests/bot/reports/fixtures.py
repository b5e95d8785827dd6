"""A small fixed mirror for reports, digests and the Home tab, with every expected number worked out by hand in the
tests that use it. "Today" is Thursday 15 Oct 2026 in Europe/Berlin (CEST, UTC+2)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.models import Account, BooksCustomer, Deal, DeskAccount, Invoice, Owner, Payment, Ticket
from bot.store import Store

TZ = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 10, 15)
NOW = datetime(2026, 10, 15, 6, 35, tzinfo=UTC)  # 08:35 in Berlin
ANN = Owner(id="u1", name="Ann Archer", email="ann@example.com")
BEN = Owner(id="u2", name="Ben Baker", email="Ben@Example.com")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def d(text: str) -> date:
    return date.fromisoformat(text)


def accounts() -> list[Account]:
    return [
        Account(id="A1", name="Acme GmbH", owner=ANN, currency="EUR"),
        Account(id="A2", name="Bolt Ltd", owner=BEN, currency="EUR"),
        Account(id="A3", name="Cobalt Inc", owner=ANN, currency="USD"),
        Account(id="A4", name="Dormant AG", owner=BEN, currency="EUR"),
        Account(id="A5", name="Echo SA", owner=ANN, currency="EUR"),
        Account(id="A6", name="Foxtrot BV", owner=ANN, currency="EUR"),
    ]


def _deal(
    id: str,
    account: str,
    owner: Owner,
    stage: str,
    amount: str,
    closing: str,
    *,
    currency: str = "EUR",
    kind: str = "New Business",
    created: str = "2026-08-01T09:00Z",
    modified: str | None = None,
) -> Deal:
    return Deal(
        id=id,
        name=f"{account} deal {id}",
        account_id=account,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        closing_date=d(closing),
        owner=owner,
        deal_type=kind,
        created_time=t(created),
        modified_time=t(modified or created),
    )


def deals() -> list[Deal]:
    return [
        _deal("D1", "A1", ANN, "Closed Won", "10000", "2026-09-10"),
        _deal("D2", "A1", ANN, "Closed Won", "5000", "2026-10-02"),
        _deal("D3", "A2", BEN, "Closed Won", "8000", "2026-09-20"),
        _deal("D4", "A2", BEN, "Closed Lost", "3000", "2026-09-25"),
        _deal("D5", "A3", ANN, "Closed Won", "7000", "2026-10-05", currency="USD"),
        _deal("D6", "A2", BEN, "Qualification", "2000", "2026-11-30"),
        _deal(
            "D7",
            "A4",
            BEN,
            "Closed Won",
            "4000",
            "2025-11-01",
            created="2025-10-01T09:00Z",
            modified="2025-11-01T09:00Z",
        ),
        _deal("D8", "A5", ANN, "Closed Won", "3000", "2025-10-20", created="2025-09-01T09:00Z"),
        _deal(
            "D9",
            "A5",
            ANN,
            "Negotiation/Review",
            "3300",
            "2026-10-30",
            kind="Existing Business",
            created="2026-09-01T09:00Z",
            modified="2026-10-01T09:00Z",
        ),
        _deal("D10", "A2", BEN, "Closed Won", "6000", "2026-09-25"),
        _deal("D11", "A1", ANN, "Closed Won", "1000", "2026-10-10"),
        _deal("D12", "A6", ANN, "Closed Won", "2500", "2025-09-01", created="2025-08-01T09:00Z"),
        _deal("D13", "A6", ANN, "Proposal/Price Quote", "900", "2026-12-01", created="2026-09-20T09:00Z"),
    ]


def _inv(
    id: str,
    account: str,
    deal: str,
    status: str,
    total: str,
    on: str,
    due: str,
    balance: str,
    *,
    currency: str = "EUR",
    customer: str = "",
    kind: str = "invoice",
) -> Invoice:
    return Invoice(
        id=id,
        number=f"INV-{id}",
        kind=kind,
        customer_id=customer,
        account_id=account,
        deal_id=deal,
        status=status,
        date=d(on),
        due_date=d(due),
        currency=currency,
        total=Decimal(total),
        balance=Decimal(balance),
    )


def invoices() -> list[Invoice]:
    return [
        _inv("I1", "A1", "D1", "paid", "10000", "2026-09-15", "2026-10-15", "0"),
        _inv("I1b", "A1", "D1", "sent", "500", "2026-09-30", "2026-10-30", "500"),
        _inv("I2", "A1", "D2", "sent", "5000", "2026-10-12", "2026-10-14", "5000"),
        # mirrored without a CRM account: found through the Books customer C2 (linked to A2)
        _inv("I3", "", "D3", "overdue", "8000", "2026-09-20", "2026-10-05", "8000", customer="C2"),
        _inv("I4", "A1", "", "draft", "999", "2026-10-10", "2026-11-10", "999"),
        _inv("I5", "A1", "", "void", "777", "2026-09-10", "2026-10-10", "0"),
        _inv("I6", "A3", "D5", "sent", "7000", "2026-10-06", "2026-11-05", "7000", currency="USD"),
        _inv("I7", "A4", "D7", "paid", "4000", "2025-11-05", "2025-12-05", "0"),
        _inv("E1", "A1", "D11", "sent", "1234", "2026-10-11", "2026-11-11", "0", kind="estimate"),
    ]


def payments() -> list[Payment]:
    return [
        Payment(id="P1", account_id="A1", amount=Decimal("10000"), date=d("2026-09-20"), currency="EUR"),
        Payment(id="P2", customer_id="C2", amount=Decimal("3000"), date=d("2026-10-14"), currency="EUR"),
        Payment(id="P3", account_id="A3", amount=Decimal("2000"), date=d("2026-10-14"), currency="USD"),
        Payment(id="P4", account_id="A4", amount=Decimal("4000"), date=d("2025-11-20"), currency="EUR"),
    ]


def _ticket(
    id: str,
    created: str,
    *,
    account: str = "",
    desk: str = "",
    closed: str | None = None,
    kind: str = "Open",
    escalated: bool = False,
    subject: str = "Help",
) -> Ticket:
    return Ticket(
        id=id,
        number=id[1:],
        subject=subject,
        status=kind,
        status_type=kind,
        account_id=account,
        desk_account_id=desk,
        is_escalated=escalated,
        created_time=t(created),
        modified_time=t(closed or created),
        closed_time=t(closed) if closed else None,
    )


def tickets() -> list[Ticket]:
    return [
        _ticket("T1", "2026-09-05T10:00Z", account="A1", closed="2026-09-06T10:00Z", kind="Closed"),
        _ticket("T2", "2026-10-01T08:00Z", account="A1", escalated=True, subject="Trucks offline"),
        # 00:30 on 1 Sep in Berlin, 31 Aug in UTC: counts in September; mirrored without a CRM account (DA2 → A2)
        _ticket("T3", "2026-08-31T22:30Z", desk="DA2", closed="2026-09-01T10:30Z", kind="Closed"),
        _ticket("T4", "2026-07-01T08:00Z", desk="DA2", kind="On Hold"),
        _ticket("T5", "2026-10-02T08:00Z", desk="DA9"),  # a Desk account not linked to CRM
        _ticket("T6", "2026-10-14T09:00Z", account="A1", subject="Login fails"),
        _ticket("T7", "2026-06-01T00:00Z", account="A1", closed="2026-09-10T06:00Z", kind="Closed"),
    ]


def handoff_rows() -> list[dict[str, object]]:
    def row(deal: str, account: str, state: str, updated: str, **extra: object) -> dict[str, object]:
        base: dict[str, object] = {
            "deal_id": deal,
            "account_id": account,
            "state": state,
            "kind": "invoice",
            "plan": "{}",
            "missing": "[]",
            "owner_email": "",
            "created_at": updated,
            "updated_at": updated,
        }
        return base | extra

    return [
        row(
            "D10",
            "A2",
            "ready",
            "2026-10-14T08:00:00+00:00",
            owner_email="ben@example.com",
            finance_channel="C0FINANCE1",
            finance_ts="1700000000.000100",
        ),
        row(
            "D11",
            "A1",
            "waiting",
            "2026-10-13T08:00:00+00:00",
            owner_email="ann@example.com",
            missing=json.dumps([{"field": "billing_address", "what": "No billing address", "where": "crm"}]),
        ),
        row("D3", "A2", "done", "2026-10-14T12:00:00+00:00", owner_email="ben@example.com", document_number="INV-9"),
        row("D2", "A1", "done", "2026-10-10T12:00:00+00:00", owner_email="ann@example.com"),
    ]


def fill(store: Store) -> None:
    store.upsert_accounts(accounts())
    store.upsert_deals(deals())
    store.upsert_books_customers([BooksCustomer(id="C2", name="Bolt Ltd", account_id="A2")])
    store.upsert_invoices(invoices())
    store.upsert_payments(payments())
    store.upsert_desk_accounts(
        [DeskAccount(id="DA2", name="Bolt", crm_account_id="A2"), DeskAccount(id="DA9", name="Stray Desk Co")]
    )
    store.upsert_tickets(tickets())
    store.handoffs.insert_many(handoff_rows())


@contextmanager
def filled(request: pytest.FixtureRequest, tmp_path: Path, *more: Callable[[Store], None]) -> Iterator[Store]:
    """A store on the engine the test is parametrized with ("sqlite" or "postgresql"), holding this mirror (`fill`)
    and what each of `more` adds."""
    where = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" else tmp_path / "r.db"
    with Store(where) as store:
        fill(store)
        for add in more:
            add(store)
        yield store
