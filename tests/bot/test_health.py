from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.account.health import Health, HealthFigures, HealthRules, assess, figures, is_closed_deal, is_overdue, verdict
from bot.models import Account, AccountSnapshot, BooksCustomer, Deal, Invoice, Payment, Ticket

TODAY = date(2025, 6, 30)
D = Decimal


def snap(invoices=(), tickets=(), deals=(), payments=()) -> AccountSnapshot:  # type: ignore[no-untyped-def]
    return AccountSnapshot(
        account=Account(id="a1", name="Acme", currency="USD"),
        books_customer=BooksCustomer(id="b1", name="Acme", currency="USD"),
        invoices=list(invoices),
        tickets=list(tickets),
        deals=list(deals),
        payments=list(payments),
        read_at=datetime(2025, 6, 30, tzinfo=UTC),
    )


def inv(
    id: str,
    status: str,
    total: str,
    balance: str,
    *,
    due_days_ago: int = -10,
    date_days_ago: int = 20,
    kind: str = "invoice",
) -> Invoice:
    return Invoice(
        id=id,
        status=status,
        total=D(total),
        balance=D(balance),
        currency="USD",
        kind=kind,
        date=TODAY - timedelta(days=date_days_ago),
        due_date=TODAY - timedelta(days=due_days_ago),
    )


def ticket(id: str, status_type: str = "Open", *, escalated: bool = False, overdue: bool = False) -> Ticket:
    return Ticket(id=id, status_type=status_type, is_escalated=escalated, is_overdue=overdue)


def test_overdue_definition() -> None:
    assert is_overdue(inv("1", "overdue", "10", "0", due_days_ago=-5), TODAY)  # Books says so
    assert is_overdue(inv("2", "sent", "10", "10", due_days_ago=1), TODAY)
    assert is_overdue(inv("3", "Partially_Paid", "10", "4", due_days_ago=1), TODAY)
    assert not is_overdue(inv("4", "sent", "10", "10", due_days_ago=0), TODAY)  # due today is not late
    assert not is_overdue(inv("5", "sent", "10", "0", due_days_ago=5), TODAY)  # nothing left to pay
    assert not is_overdue(inv("6", "paid", "10", "0", due_days_ago=5), TODAY)
    assert not is_overdue(inv("7", "draft", "10", "10", due_days_ago=5), TODAY)
    assert not is_overdue(inv("8", "overdue", "10", "10", kind="estimate"), TODAY)


def test_figures_hand_computed() -> None:
    s = snap(
        invoices=[
            inv("1", "paid", "1000.00", "0", date_days_ago=400),  # older than 12 months
            inv("2", "sent", "2000.00", "2000.00", due_days_ago=10),  # overdue 10 days
            inv("3", "partially_paid", "500.00", "200.00", due_days_ago=-5),  # not yet due
            inv("4", "void", "999.00", "999.00"),
            inv("5", "draft", "50.00", "50.00"),
            inv("6", "overdue", "300.00", "300.00", due_days_ago=45),
        ],
        payments=[Payment(id="p1", amount=D("1000.00")), Payment(id="p2", amount=D("300.00"))],
        deals=[
            Deal(id="d1", name="a", stage="Negotiation", amount=D("5000")),
            Deal(id="d2", name="b", stage="Qualification", amount=None),
            Deal(id="d3", name="c", stage="Closed Won", amount=D("1000")),
            Deal(id="d4", name="d", stage="Closed Lost", amount=D("7000")),
            Deal(id="d5", name="e", stage="Closed-Lost to Competition", amount=D("1")),
            Deal(id="d6", name="f", stage="closed won", amount=D("250.50")),
        ],
        tickets=[
            ticket("t1"),
            ticket("t2", escalated=True),
            ticket("t3", "On Hold", overdue=True),
            ticket("t4", "Closed", escalated=True, overdue=True),
        ],
    )
    f = figures(s, TODAY)
    assert (f.open_deals, f.open_pipeline) == (2, D("5000"))
    assert (f.won_deals, f.won_to_date) == (2, D("1250.50"))
    assert f.invoices == 4
    assert f.invoiced == D("3800.00")  # 1000 + 2000 + 500 + 300
    assert f.invoiced_12m == D("2800.00")
    assert f.collected == D("1300.00")
    assert f.outstanding == D("2500.00")  # 0 + 2000 + 200 + 300
    assert (f.overdue_count, f.overdue_amount, f.oldest_overdue_days) == (2, D("2300.00"), 45)
    assert (f.open_tickets, f.on_hold_tickets, f.escalated_tickets, f.past_due_tickets) == (3, 1, 1, 1)
    assert f.currency == "USD" and not f.mixed_currencies


def test_healthy() -> None:
    s = snap(
        invoices=[inv("1", "paid", "100", "0"), inv("2", "sent", "100", "100", due_days_ago=-3)],
        tickets=[ticket("t1"), ticket("t2", "Closed", escalated=True)],
    )
    assert assess(s, TODAY).level == "healthy"
    assert assess(s, TODAY).reasons == []


def test_watch_one_recent_small_overdue_invoice() -> None:
    # 100 overdue of 1000 invoiced this year = 10 %, 5 days late
    s = snap(invoices=[inv("1", "paid", "900", "0"), inv("2", "sent", "100", "100", due_days_ago=5)])
    h = assess(s, TODAY)
    assert h.level == "watch"
    assert h.reasons == ["1 invoice overdue ($100.00)"]


def test_watch_by_tickets() -> None:
    assert assess(snap(tickets=[ticket("t", escalated=True)]), TODAY).reasons == ["1 escalated ticket"]
    assert assess(snap(tickets=[ticket("t", overdue=True)]), TODAY).reasons == ["1 ticket past due"]
    five = snap(tickets=[ticket(str(n)) for n in range(4)] + [ticket("h", "On Hold")])
    assert assess(five, TODAY).level == "watch"
    assert assess(five, TODAY).reasons == ["5 open tickets"]
    four = snap(tickets=[ticket(str(n)) for n in range(4)])
    assert assess(four, TODAY).level == "healthy"


def test_at_risk_invoice_over_30_days() -> None:
    s = snap(invoices=[inv("1", "paid", "10000", "0"), inv("2", "sent", "100", "100", due_days_ago=31)])
    h = assess(s, TODAY)
    assert h.level == "at_risk"
    assert h.reasons == ["1 invoice overdue ($100.00), oldest 31 days"]
    exactly_30 = snap(invoices=[inv("1", "paid", "10000", "0"), inv("2", "sent", "100", "100", due_days_ago=30)])
    assert assess(exactly_30, TODAY).level == "watch"


def test_at_risk_escalation_with_overdue_invoice() -> None:
    s = snap(
        invoices=[inv("1", "paid", "10000", "0"), inv("2", "sent", "100", "100", due_days_ago=3)],
        tickets=[ticket("t", escalated=True)],
    )
    h = assess(s, TODAY)
    assert h.level == "at_risk"
    assert h.reasons == ["1 escalated ticket", "1 invoice overdue ($100.00)"]


def test_at_risk_overdue_share_of_billing() -> None:
    # 250 overdue of 1000 invoiced in 12 months = exactly 25 %
    s = snap(invoices=[inv("1", "paid", "750", "0"), inv("2", "sent", "250", "250", due_days_ago=2)])
    h = assess(s, TODAY)
    assert h.level == "at_risk"
    assert h.reasons == ["1 invoice overdue ($250.00), 25% of 12-month billing"]
    below = snap(invoices=[inv("1", "paid", "751", "0"), inv("2", "sent", "249", "249", due_days_ago=2)])
    assert assess(below, TODAY).level == "watch"


def test_at_risk_three_escalations() -> None:
    h = assess(snap(tickets=[ticket(str(n), escalated=True) for n in range(3)]), TODAY)
    assert (h.level, h.reasons) == ("at_risk", ["3 escalated tickets"])
    two = assess(snap(tickets=[ticket(str(n), escalated=True) for n in range(2)]), TODAY)
    assert two.level == "watch"


def test_reasons_worst_first() -> None:
    s = snap(
        invoices=[inv("1", "overdue", "4200", "4200", due_days_ago=40, date_days_ago=70)],
        tickets=[ticket("a", overdue=True), ticket("b", escalated=True)],
    )
    h = assess(s, TODAY)
    assert h.level == "at_risk"
    assert h.reasons == [
        "1 invoice overdue ($4,200.00), oldest 40 days, 100% of 12-month billing",
        "1 escalated ticket",
        "1 ticket past due",
    ]


def test_configurable_vocabulary() -> None:
    rules = HealthRules(won_stages=frozenset({"Gewonnen"}), closed_stages=frozenset({"Gewonnen", "Verloren"}))
    deals = [
        Deal(id="1", name="a", stage="Gewonnen", amount=D(5)),
        Deal(id="2", name="b", stage="Offen", amount=D(7)),
    ]
    f = figures(snap(deals=deals), TODAY, rules)
    assert (f.won_to_date, f.open_pipeline) == (D(5), D(7))
    assert is_closed_deal(Deal(id="x", name="x", stage="verloren"), rules)
    strict = HealthRules(open_tickets_watch=2)
    assert assess(snap(tickets=[ticket("1"), ticket("2")]), TODAY, strict).level == "watch"


def test_empty_snapshot() -> None:
    s = AccountSnapshot(account=Account(id="a", name="A"), read_at=datetime(2025, 1, 1, tzinfo=UTC))
    f = figures(s, TODAY)
    assert f.invoiced == 0 and f.currency == "" and f.open_tickets == 0
    assert assess(s, TODAY).level == "healthy"


def test_reasons_at_risk_first_then_the_rest_each_in_the_rules_order() -> None:
    """Over a grid of figures: the reasons that put the account at risk come first, then the others, each group
    in the rule's order (overdue invoices, escalations, past-due tickets, open tickets)."""
    seen = set()
    for overdue, days, billed, escalated, past_due, open_now in itertools.product(
        (0, 1, 2), (0, 31), (D(0), D(100), D(10000)), (0, 1, 3), (0, 2), (0, 5)
    ):
        f = HealthFigures("EUR", billed, D(0), overdue, D(300) * overdue, days, open_now, escalated, past_due)
        listed: list[tuple[bool, str]] = []
        if overdue:
            severe = days > 30 or billed <= 0 or D(300) * overdue >= billed / 4
            listed.append((severe, "invoice"))
        if escalated:
            listed.append((escalated >= 3 or overdue > 0, "escalated ticket"))
        if past_due:
            listed.append((False, "past due"))
        if open_now >= 5:
            listed.append((False, "open tickets"))
        expected = [w for s, w in listed if s] + [w for s, w in listed if not s]
        h = verdict(f)
        assert len(h.reasons) == len(expected)
        assert all(word in reason for word, reason in zip(expected, h.reasons, strict=True)), (f, h)
        assert h.level == ("at_risk" if any(s for s, _ in listed) else "watch" if listed else "healthy")
        seen.add(h.level)
    assert seen == {"at_risk", "watch", "healthy"}


def test_the_reasons_are_phrased_from_what_was_judged() -> None:
    """`verdict` decides the level at once and phrases the reasons when first read, from the figures it judged:
    equal to the reasons given outright."""
    f = HealthFigures("EUR", D(1000), D(800), 2, D(800), 45, 6, 1, 1)
    h = verdict(f)
    assert h.level == "at_risk"
    expected = [
        "2 invoices overdue (€800.00), oldest 45 days, 80% of 12-month billing",
        "1 escalated ticket",
        "1 ticket past due",
        "6 open tickets",
    ]
    assert h == Health("at_risk", expected) and h.reasons == expected
    assert h != Health("watch", expected)
    assert verdict(HealthFigures("EUR", D(0), D(0), 0, D(0), 0, 0, 0, 0)) == Health("healthy")
    assert repr(Health("healthy")) == "Health(level='healthy', reasons=[])"
