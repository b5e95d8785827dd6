from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.blocks import validate_message
from bot.events import DealChanged, InvoiceOverdue, InvoicePaid, TicketOpened
from bot.feed.blocks import account_unfurl, deal_unfurl, invoice_unfurl, notice_message, ticket_unfurl
from bot.feed.rules import Notice
from bot.models import Account, Deal, Invoice, Owner, Ticket
from bot.textrender import render_text
from bot.zoho.links import AppLinks

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LINKS = AppLinks.for_dc("com", books_org_id="700", desk_portal="acme")
LONG = "A <very> & long " * 40


def _ticket(n: int) -> Ticket:
    return Ticket(
        id=f"T{n}",
        number=str(n),
        subject=LONG if n == 1 else f"Issue {n}",
        priority="High",
        status="Open",
        status_type="Open",
        account_id="A1",
    )


def _notice(event, kind="new_ticket", name="Acme & Sons") -> Notice:
    return Notice(f"{kind}:{id(event)}", kind, event, "A1", name, channel="C1")


def test_single_notices_are_valid_and_escaped():
    events = [
        (TicketOpened(ticket=_ticket(1)), "new_ticket"),
        (
            InvoiceOverdue(
                invoice=Invoice(
                    id="I1",
                    number="INV-1",
                    total=Decimal(900),
                    balance=Decimal(400),
                    currency="EUR",
                    due_date=date(2025, 3, 1),
                    status="overdue",
                )
            ),
            "invoice_overdue",
        ),
        (InvoicePaid(invoice=Invoice(id="I2", number="INV-2", total=Decimal(900), currency="USD")), "invoice_paid"),
        (
            DealChanged(
                deal=Deal(
                    id="D1",
                    name="Big",
                    stage="Closed Won",
                    amount=Decimal(12000),
                    currency="USD",
                    owner=Owner(name="Maria"),
                ),
                previous_stage="Negotiation",
                source="sync",
            ),
            "deal_won",
        ),
    ]
    for event, kind in events:
        message = notice_message([_notice(event, kind)], LINKS, NOW.date())
        validate_message(message)
        assert "Acme &amp; Sons" in message.blocks[0]["text"]["text"]
    overdue = render_text(notice_message([_notice(events[1][0], "invoice_overdue")], LINKS, NOW.date()).to_dict())
    assert "€400.00 outstanding" in overdue and "9 days ago" in overdue
    assert "&lt;very&gt;" in notice_message([_notice(events[0][0])], LINKS, NOW.date()).blocks[0]["text"]["text"]


def test_a_burst_is_one_grouped_message():
    notices = [_notice(TicketOpened(ticket=_ticket(n))) for n in range(1, 15)]
    message = notice_message(notices[:3], LINKS, NOW.date(), span=timedelta(minutes=10))
    validate_message(message)
    assert message.text == "3 new tickets for Acme & Sons in 10 minutes"
    big = notice_message(notices, LINKS, NOW.date(), span=timedelta(seconds=5))
    validate_message(big)
    assert "_and 4 more_" in big.blocks[0]["text"]["text"] and "in 1 minute" in big.text


def test_unfurl_cards_are_valid_and_hide_money_when_asked():
    account = Account(id="A1", name=LONG, owner=Owner(email="m@x.com"))
    deal = Deal(
        id="D1",
        name="Big",
        stage="Closed Won",
        amount=Decimal(5000),
        currency="USD",
        account_id="A1",
        account_name="Acme",
    )
    invoice = Invoice(id="I1", number="INV-1", total=Decimal(5), balance=Decimal(5), currency="USD")
    cards = [
        account_unfurl(account, [deal], [_ticket(2)], [invoice], LINKS, NOW.date(), show_money=True),
        account_unfurl(account, [deal], [], [invoice], LINKS, NOW.date(), show_money=False),
        deal_unfurl(deal, LINKS, UTC, show_money=True),
        deal_unfurl(deal, LINKS, UTC, show_money=False),
        invoice_unfurl(invoice, LINKS, NOW.date(), UTC),
        ticket_unfurl(_ticket(1), LINKS, NOW, UTC),
    ]
    for card in cards:
        validate_message({"text": "unfurl", **card})
    assert "Outstanding $5.00" in str(cards[0]) and "Outstanding" not in str(cards[1])
    assert "$5,000.00" in str(cards[2]) and "$5,000.00" not in str(cards[3])
