from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.config import Channels, OperatingStructure, Routing, parse_structure
from bot.errors import ConfigError
from bot.events import DealChanged, InvoiceOverdue, InvoicePaid, TicketEscalated, TicketOpened, TicketOverdue
from bot.feed.rules import FeedContext, HandoffThread, deal_outcome, route
from bot.models import Account, Deal, Invoice, Owner, Ticket

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
SALES, FINANCE, SUPPORT = "C0SALES001", "C0FINANCE1", "C0SUPPORT1"
ACME = Account(id="A1", name="Acme", owner=Owner(name="Maria", email="Maria@Example.com"))
OPEN_DEAL = Deal(id="D1", name="Renewal", account_id="A1", stage="Negotiation/Review")
WON_LONG_AGO = Deal(id="D2", name="Old", account_id="A1", stage="Closed Won", closing_date=date(2023, 1, 1))
TICKET = Ticket(id="T1", number="7", subject="Down", account_id="A1", status_type="Open")
INVOICE = Invoice(
    id="I1",
    number="INV-1",
    account_id="A1",
    deal_id="D1",
    status="overdue",
    total=Decimal(5),
    balance=Decimal(5),
    due_date=date(2025, 3, 1),
)


def structure(**routing) -> OperatingStructure:
    return OperatingStructure(
        channels=Channels(sales=SALES, finance=FINANCE, support=SUPPORT), routing=Routing(**routing)
    )


def ctx(deals=(OPEN_DEAL,), handoff=None, account=ACME) -> FeedContext:
    return FeedContext(now=NOW, account=account, deals=list(deals), handoff=handoff)


def where(notices) -> list[tuple[str, str]]:
    return [(n.channel or f"owner:{n.owner_email}", n.thread_ts) for n in notices]


def test_new_ticket_goes_to_the_owner_of_an_active_account():
    notices = route(TicketOpened(ticket=TICKET), ctx(), structure())
    assert where(notices) == [("owner:maria@example.com", "")]
    assert notices[0].kind == "new_ticket" and notices[0].fallback_channel == SALES
    recent_win = WON_LONG_AGO.model_copy(update={"closing_date": date(2025, 2, 1)})
    assert route(TicketOpened(ticket=TICKET), ctx(deals=[recent_win]), structure())
    assert route(TicketOpened(ticket=TICKET), ctx(deals=[WON_LONG_AGO]), structure()) == []
    assert route(TicketOpened(ticket=TICKET), ctx(deals=[]), structure()) == []
    assert route(TicketOpened(ticket=TICKET), ctx(deals=[]), structure(new_ticket_needs_active_account=False))


def test_escalated_and_overdue_tickets_go_to_support_and_the_owner():
    for event in (TicketEscalated(ticket=TICKET), TicketOverdue(ticket=TICKET)):
        assert where(route(event, ctx(deals=[]), structure())) == [(SUPPORT, ""), ("owner:maria@example.com", "")]


def test_invoice_overdue_to_owner_and_finance_paid_to_finance_and_the_handoff_thread():
    assert where(route(InvoiceOverdue(invoice=INVOICE), ctx(), structure())) == [
        ("owner:maria@example.com", ""),
        (FINANCE, ""),
    ]
    paid = InvoicePaid(invoice=INVOICE.model_copy(update={"status": "paid"}))
    assert where(route(paid, ctx(), structure())) == [(FINANCE, "")]  # no handoff message: top level
    thread = HandoffThread("D1", FINANCE, "111.222", "333.444")
    assert where(route(paid, ctx(handoff=thread), structure())) == [(FINANCE, "111.222")]  # one post, in the thread
    elsewhere = HandoffThread("D1", "C0DEALROOM", "555.666")
    assert where(route(paid, ctx(handoff=elsewhere), structure())) == [(FINANCE, ""), ("C0DEALROOM", "555.666")]


def test_notices_about_an_account_with_a_handoff_go_in_its_threads():
    thread = HandoffThread("D1", FINANCE, "111.222", "333.444")
    assert where(route(TicketEscalated(ticket=TICKET), ctx(handoff=thread), structure())) == [
        (SUPPORT, "333.444"),
        ("owner:maria@example.com", ""),
    ]
    assert where(route(TicketEscalated(ticket=TICKET), ctx(handoff=thread), structure(use_handoff_threads=False))) == [
        (SUPPORT, ""),
        ("owner:maria@example.com", ""),
    ]


def test_deal_won_or_lost_goes_to_sales_once_per_stage():
    won = Deal(id="D1", name="Big", account_id="A1", stage="Closed Won", modified_time=NOW)
    notices = route(DealChanged(deal=won, previous_stage="Negotiation/Review"), ctx(), structure())
    assert where(notices) == [(SALES, "")] and notices[0].kind == "deal_won"
    lost = won.model_copy(update={"stage": "Closed Lost"})
    assert route(DealChanged(deal=lost, previous_stage="Proposal"), ctx(), structure())[0].kind == "deal_lost"
    assert route(DealChanged(deal=OPEN_DEAL, previous_stage="Qualification"), ctx(), structure()) == []
    # a won deal edited long after it closed is not news
    old = won.model_copy(update={"closing_date": date(2024, 1, 1), "modified_time": NOW})
    assert route(DealChanged(deal=old, previous_stage="Closed Won"), ctx(), structure()) == []


def test_configured_routes_channels_and_fallbacks():
    custom = structure(invoice_overdue=["C0COLLECT1", "leadership"], owner_fallback="")
    assert where(route(InvoiceOverdue(invoice=INVOICE), ctx(), custom)) == [("C0COLLECT1", "")]  # no leadership set
    nobody = Account(id="A1", name="Acme")
    assert route(TicketOpened(ticket=TICKET), ctx(account=nobody), custom) == []
    assert where(route(TicketOpened(ticket=TICKET), ctx(account=nobody), structure())) == [("owner:", "")]


def test_stage_vocabulary_and_bad_routes():
    s = structure()
    s.vocabulary.crm_stages["Gewonnen"] = "won"
    assert deal_outcome(Deal(id="1", name="x", stage="gewonnen"), s) == "won"
    assert deal_outcome(Deal(id="1", name="x", stage="Closed-Lost to Competition"), s) == "lost"
    with pytest.raises(ConfigError) as err:
        parse_structure('[routing]\nnew_ticket = ["#sales"]')
    assert err.value.key == "routing.new_ticket"
    assert parse_structure('[routing]\nnew_ticket = ["owner", "C0ABCDEF12"]').routing.new_ticket[1] == "C0ABCDEF12"


def test_one_window_of_group_keys():
    a, b = route(TicketEscalated(ticket=TICKET), ctx(), structure())
    other = route(TicketEscalated(ticket=TICKET.model_copy(update={"id": "T2"})), ctx(), structure())[0]
    assert a.group == other.group and a.key != other.key and a.group != b.group
