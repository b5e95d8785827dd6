from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.events import DealChanged, InvoiceOverdue, InvoicePaid, TicketEscalated, TicketOpened, TicketOverdue
from bot.intake.changes import (
    ChangeRecorder,
    detect_deal,
    detect_invoice,
    detect_ticket,
    event_body,
    event_from_body,
    event_identity,
)
from bot.models import Deal, DeskAccount, Invoice, Ticket
from bot.store import Store

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def _ticket(**kw) -> Ticket:
    base = dict(
        id="T1",
        subject="Broken",
        status="Open",
        status_type="Open",
        created_time=NOW - timedelta(hours=1),
        modified_time=NOW - timedelta(minutes=5),
    )
    return Ticket(**{**base, **kw})


def _invoice(**kw) -> Invoice:
    base = dict(
        id="I1",
        number="INV-1",
        status="sent",
        due_date=date(2025, 3, 20),
        total=Decimal(100),
        balance=Decimal(100),
        modified_time=NOW - timedelta(hours=2),
    )
    return Invoice(**{**base, **kw})


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_new_ticket_only_when_recent():
    assert kinds(detect_ticket(None, _ticket(), "webhook", NOW)) == ["TicketOpened"]
    old = _ticket(created_time=NOW - timedelta(days=30))
    assert detect_ticket(None, old, "sync", NOW) == []
    closed = _ticket(status="Closed", status_type="Closed")
    assert detect_ticket(None, closed, "webhook", NOW) == []
    # seen before (an older version): sync does not announce it again
    seen = _ticket(modified_time=NOW - timedelta(minutes=30))
    assert detect_ticket(seen, _ticket(), "sync", NOW) == []


def test_escalation_and_overdue_are_transitions():
    before = _ticket(modified_time=NOW - timedelta(hours=1), created_time=NOW - timedelta(days=5))
    after = _ticket(is_escalated=True, is_overdue=True, created_time=NOW - timedelta(days=5))
    assert kinds(detect_ticket(before, after, "sync", NOW)) == ["TicketEscalated", "TicketOverdue"]
    assert detect_ticket(after.model_copy(update={"modified_time": NOW - timedelta(hours=3)}), after, "sync", NOW) == []
    # the mirror already holds this very version (an /account lookup stored it first): still told
    assert kinds(detect_ticket(after, after, "sync", NOW)) == ["TicketEscalated", "TicketOverdue"]


def test_invoice_overdue_and_paid():
    overdue = _invoice(status="overdue", due_date=date(2025, 3, 1))
    assert kinds(detect_invoice(_invoice(modified_time=NOW - timedelta(days=3)), overdue, "sync", TODAY, NOW)) == [
        "InvoiceOverdue"
    ]
    assert (
        detect_invoice(
            overdue.model_copy(update={"modified_time": NOW - timedelta(days=3)}), overdue, "sync", TODAY, NOW
        )
        == []
    )
    paid = _invoice(status="paid", balance=Decimal(0))
    assert kinds(detect_invoice(_invoice(modified_time=NOW - timedelta(days=3)), paid, "webhook", TODAY, NOW)) == [
        "InvoicePaid"
    ]
    old_paid = paid.model_copy(update={"modified_time": NOW - timedelta(days=90)})
    assert detect_invoice(None, old_paid, "sync", TODAY, NOW) == []
    assert detect_invoice(None, _invoice(kind="estimate", status="overdue"), "sync", TODAY, NOW) == []


def test_deal_changed_always_from_webhook_and_from_sync_when_different():
    deal = Deal(id="D1", name="Big", stage="Closed Won", modified_time=NOW)
    prev = deal.model_copy(update={"stage": "Negotiation", "modified_time": NOW - timedelta(hours=1)})
    [event] = detect_deal(prev, deal, "sync")
    assert isinstance(event, DealChanged) and event.previous_stage == "Negotiation" and event.source == "sync"
    assert detect_deal(deal, deal, "sync") == []
    [again] = detect_deal(deal, deal, "webhook")
    assert again.previous_stage == "Closed Won" and not again.stage_changed
    assert detect_deal(None, deal, "sync")[0].previous_stage is None


def test_identities_are_stable_and_bodies_round_trip():
    deal = Deal(id="D1", name="Big", stage="Closed Won", modified_time=NOW)
    events = [
        DealChanged(deal=deal, previous_stage="x"),
        TicketOpened(ticket=_ticket()),
        TicketEscalated(ticket=_ticket()),
        TicketOverdue(ticket=_ticket(due_date=NOW)),
        InvoiceOverdue(invoice=_invoice()),
        InvoicePaid(invoice=_invoice(), source="sync"),
    ]
    identities = [event_identity(e) for e in events]
    assert len(set(identities)) == len(events)
    assert event_identity(DealChanged(deal=deal, previous_stage="y", source="sync")) == identities[0]
    for event in events:
        assert event_from_body(event_body(event)) == event


def test_recorder_links_accounts_and_dedupes_events(tmp_path):
    store = Store(tmp_path / "t.db")
    store.upsert_desk_accounts([DeskAccount(id="DA1", name="Acme", crm_account_id="A1")])
    recorder = ChangeRecorder(store, lambda: NOW)
    ticket = _ticket(desk_account_id="DA1")
    events = recorder.apply([ticket], store.upsert_tickets, "webhook")
    assert kinds(events) == ["TicketOpened"] and events[0].account_id == "A1"
    assert recorder.inbox.counts()["pending"] == 1
    recorder.apply([ticket], store.upsert_tickets, "sync")  # the same change seen by sync: no second event
    assert recorder.inbox.counts()["pending"] == 1
    store.close()


def test_a_ticket_of_a_desk_account_only_throughline_links_gets_its_crm_account(tmp_path):
    store = Store(tmp_path / "links.db")
    store.upsert_desk_accounts(
        [
            DeskAccount(id="D-zoho", name="Linked", crm_account_id="C-1"),
            DeskAccount(id="D-ours", name="Created by the handoff"),
        ]
    )
    store.record_desk_link("C-2", "D-ours", NOW)
    tickets = [
        _ticket(id="T1", desk_account_id="D-zoho"),
        _ticket(id="T2", desk_account_id="D-ours"),
        _ticket(id="T3", desk_account_id="D-nobody"),
    ]
    ChangeRecorder(store, lambda: NOW).link_accounts(tickets)
    assert [t.account_id for t in tickets] == ["C-1", "C-2", ""]
    store.close()
