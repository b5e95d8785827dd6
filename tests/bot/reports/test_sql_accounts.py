"""Renewals, the support report, the sales and support digests and the Home tab as the bot builds them (per-account
SQL rows over typed columns, the health rule applied to `HealthFigures`) equal the same reports, digests and views
worked out from every record (the oracles: `retention.renewals`, `compute.support`, `digests.sales_picked` /
`support_picked`, `retention.account_health`), on both engines, over a seeded mirror of a few hundred accounts
plus the hand-made one of fixtures.py, for many dates."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.blocks import validate_message
from bot.config import OperatingStructure
from bot.models import Deal, Invoice, Ticket
from bot.reports.compute import config_from
from bot.reports.data import accounts_owned_by, digest_data, handoffs_for, load_mirror
from bot.reports.digests import TIMING_DAYS, DigestContext, build
from bot.reports.home import HomeInput, home_view, validate_view
from bot.reports.home_service import build_home
from bot.reports.periods import parse_period
from bot.reports.retention import account_health
from bot.reports.service import ReportRequest, render, report_card, run_report, run_report_on
from bot.store import MIGRATIONS, Store
from bot.store.migrations import _m_rmoney_money_columns, _m_rsup5_close_hours
from bot.store.rows import amount_units
from bot.zoho import parse
from bot.zoho.links import AppLinks
from bot.zoho.sandbox import Sandbox
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
LINKS = AppLinks.for_dc("eu", books_org_id="900")
SEEDED_TODAY = date(2026, 10, 15)


def _fill_seeded(store: Store, accounts: int) -> None:
    """The seeded sandbox's records as a sync mirrors them (CRM account ids stamped through Books and Desk), with
    a few made awkward: one amount finer than SQL's units, tickets and invoices mirrored without an account."""
    st = Sandbox.seeded(accounts=accounts, seed=11, today=SEEDED_TODAY).state
    crm_of_customer = {cid: c.get("zcrm_account_id") or "" for cid, c in st.books_contacts.items()}
    crm_of_desk = {did: ((d.get("zohoCRMAccount") or {}).get("id") or "") for did, d in st.desk_accounts.items()}
    store.upsert_accounts(parse.account_from_crm(r) for r in st.crm["Accounts"].values())
    store.upsert_deals(parse.deal_from_crm(r) for r in st.crm["Deals"].values())
    store.upsert_books_customers(parse.customer_from_books(r) for r in st.books_contacts.values())
    invoices = [
        parse.invoice_from_books(r, account_id=crm_of_customer.get(r["customer_id"], ""))
        for r in st.books_invoices.values()
    ]
    for n, i in enumerate(invoices):
        if n % 7 == 0:
            i.account_id = ""  # found through its Books customer
        if n % 11 == 0:
            i.total, i.balance = i.total + Decimal("0.00001"), i.balance + Decimal("0.00001") * (i.balance > 0)
    store.upsert_invoices(invoices)
    store.upsert_payments(
        parse.payment_from_books(r, account_id="" if n % 5 == 0 else crm_of_customer.get(r["customer_id"], ""))
        for n, r in enumerate(st.books_payments.values())
    )
    store.upsert_desk_accounts(parse.desk_account_from_desk(r) for r in st.desk_accounts.values())
    tickets: list[Ticket] = [parse.ticket_from_desk(r) for r in st.desk_tickets.values()]
    for n, t in enumerate(tickets):
        t.account_id = "" if n % 6 == 0 else crm_of_desk.get(t.desk_account_id, "")
    store.upsert_tickets(tickets)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fx.filled(request, tmp_path, lambda s: _fill_seeded(s, 120)) as s:
        yield s


DAYS = [SEEDED_TODAY + timedelta(days=n) for n in (-200, -45, -1, 0, 2, 30, 120)]
PERIODS = ("last 30 days", "this month", "last 3 months", "2026-09-01..2026-10-31", "ytd")


def test_renewals_and_support_reports_equal_the_reports_over_every_record(store: Store):
    whole = load_mirror(store, handoffs=False)
    at_risk = 0
    for today in DAYS:
        now = datetime.combine(today, fx.NOW.timetz())
        requests = [ReportRequest("renewals", None), ReportRequest("renewals", parse_period("2026-Q4", today))]
        requests += [ReportRequest("support", parse_period(p, today)) for p in PERIODS]
        for request in requests:
            got = run_report(store, STRUCTURE, request, now)
            assert got == run_report_on(whole, STRUCTURE, request, now), (today, request)
            validate_message(card := render(got, STRUCTURE))
            assert report_card(store, STRUCTURE, request, now) == card  # as /report makes it
            assert gc.isenabled()
            at_risk += len(getattr(got, "at_risk", []))
    assert at_risk > 0


def test_renewals_with_other_thresholds_and_no_renewal_types(store: Store):
    whole = load_mirror(store, handoffs=False)
    structure = STRUCTURE.model_copy(
        update={"reports": STRUCTURE.reports.model_copy(update={"renewal_deal_types": [], "quiet_days": 20})}
    )
    for today in DAYS[1:4]:
        now = datetime.combine(today, fx.NOW.timetz())
        request = ReportRequest("renewals", None)
        assert run_report(store, structure, request, now) == run_report_on(whole, structure, request, now)


def test_renewals_with_other_deal_stages(store: Store):
    """A vocabulary that adds won and closed stages: going quiet probes the deals instead of the stored activity."""
    whole = load_mirror(store, handoffs=False)
    structure = STRUCTURE.model_copy(
        update={"handoff": STRUCTURE.handoff.model_copy(update={"won_stage": "Negotiation/Review"})}
    )
    assert "negotiation/review" in config_from(structure).rules.won_stages
    quiet = 0
    for today in DAYS[1:5]:
        now = datetime.combine(today, fx.NOW.timetz())
        request = ReportRequest("renewals", None)
        got = run_report(store, structure, request, now)
        assert got == run_report_on(whole, structure, request, now), today
        quiet += len(getattr(got, "quiet", []))
    assert quiet > 0


def test_renewals_leave_out_in_sql_only_accounts_certainly_not_at_risk(store: Store):
    """Accounts with an invoice a few days overdue and no escalation, its balance exactly a quarter of the 12-month
    billing (itself included), a cent under and a cent over (amounts doubles round), with nothing billed, with a
    negative overdue balance, with billing partly before the window, or with an escalated ticket: the report equals
    the oracle, exactly a quarter is at risk and a cent under is not."""
    today = date(2026, 10, 15)
    cases = {  # account → (paid in the window, overdue balance): at risk when 3 × overdue ≥ paid
        "Q1": ("3000.03", "1000.01"), "Q2": ("3000.03", "1000.00"), "Q3": ("3000.03", "1000.02"),
        "Q4": ("0.3", "0.1"), "Q5": ("0.3", "0.09999"), "Q6": ("750000000000000", "250000000000000"),
        "Q7": ("92592591.75", "30864197.25"), "Q9": ("100", "-5"),
    }  # fmt: skip
    store.upsert_accounts(
        fx.Account(id=a, name=f"Quarter {a}", owner=fx.ANN, currency="EUR") for a in [*cases, "Q8", "QA", "QB"]
    )
    invoices = []
    for account, (paid, owed) in cases.items():
        invoices.append(fx._inv(f"{account}p", account, "", "paid", paid, "2026-06-01", "2026-07-01", "0"))
        invoices.append(fx._inv(f"{account}o", account, "", "overdue", owed, "2026-10-01", "2026-10-10", owed))
    invoices += [  # nothing billed in the window (the overdue one dated before it, due lately)
        fx._inv("Q8p", "Q8", "", "paid", "0", "2026-06-01", "2026-07-01", "0"),
        fx._inv("Q8o", "Q8", "", "overdue", "10", "2025-06-01", "2026-10-10", "10"),
    ]
    invoices += [  # billing partly before the window: Python asks the invoices
        fx._inv("QAp", "QA", "", "paid", "10000", "2025-01-01", "2025-02-01", "0"),
        fx._inv("QAq", "QA", "", "paid", "10000", "2026-06-01", "2026-07-01", "0"),
        fx._inv("QAo", "QA", "", "overdue", "10", "2026-10-01", "2026-10-10", "10"),
    ]
    invoices += [  # a small amount past due, and an escalated ticket
        fx._inv("QBp", "QB", "", "paid", "10000", "2026-06-01", "2026-07-01", "0"),
        fx._inv("QBo", "QB", "", "sent", "10", "2026-10-01", "2026-10-10", "10"),
    ]
    store.upsert_invoices(invoices)
    store.upsert_tickets([fx._ticket("TQB1", "2026-10-01T08:00:00Z", account="QB", escalated=True)])
    whole = load_mirror(store, handoffs=False)
    now = datetime.combine(today, fx.NOW.timetz())
    request = ReportRequest("renewals", None)
    got = run_report(store, STRUCTURE, request, now)
    assert got == run_report_on(whole, STRUCTURE, request, now)
    at_risk = {h.account.id for h in getattr(got, "at_risk", [])}
    assert {"Q1", "Q3", "Q4", "Q6", "Q7", "Q8", "QB"} <= at_risk
    assert not {"Q2", "Q5", "Q9", "QA"} & at_risk


@pytest.mark.parametrize("team", ["sales", "support"])
def test_sales_and_support_digests_equal_the_digests_over_every_record(store: Store, team: str):
    whole = load_mirror(store)
    sent = 0
    for today in DAYS:
        for limit in (3, 8):
            config = replace(config_from(STRUCTURE), list_limit=limit)
            now = datetime.combine(today, fx.NOW.timetz())
            ctx = DigestContext(today=today, now=now, tz=fx.TZ, config=config, links=LINKS)
            got = build(team, digest_data(store, team, today, fx.TZ, config, TIMING_DAYS), ctx)
            assert got == build(team, whole, ctx), (today, limit)
            for out in got:
                validate_message(out.message)
            sent += len(got)
    assert sent > 0


def _old_home(store: Store, email: str, approver: bool, now: datetime) -> dict[str, Any]:
    """The Home view as it was built before: every record of the owner's accounts decoded, health per snapshot."""
    mine = load_mirror(store, account_ids=accounts_owned_by(store, email), handoffs=False)
    waiting, recent = handoffs_for(store, email, approver, 10)
    mentioned = [*(waiting or []), *recent]
    rows = account_health(mine, now.astimezone(fx.TZ).date(), config_from(STRUCTURE))
    return home_view(
        HomeInput(
            email=email,
            accounts=rows,
            approvals=waiting,
            recent=recent,
            deals=store.records_by_id(Deal, [h.deal_id for h in mentioned]),
            now=now,
            tz=fx.TZ,
            links=LINKS,
            account_names=store.account_names([h.account_id for h in mentioned]),
        )
    )


def test_home_tab_equals_the_view_built_from_every_record(store: Store):
    with store.engine.read() as conn:
        owners = sorted({row[0] for row in conn.execute("SELECT owner_email FROM accounts").fetchall()})
    assert len(owners) > 2
    for today in DAYS[::2]:
        now = datetime.combine(today, fx.NOW.timetz())
        deps = SimpleNamespace(structure=STRUCTURE, store=store, links=LINKS, clock=lambda now=now: now)
        for email in [*owners, "nobody@example.com", ""]:
            for approver in (False, True):
                view = build_home(deps, email, approver)  # type: ignore[arg-type]
                validate_view(view)
                assert view == _old_home(store, email, approver, now), (today, email)


def test_amounts_become_exact_units_or_none():
    assert amount_units(Decimal("12.5")) == 125_000
    assert amount_units(Decimal("-0.0001")) == -1
    assert amount_units(Decimal("0.00001")) is None  # finer than a unit: summed from the exact text instead
    assert amount_units(Decimal("1e12")) is None  # too large to add up thousands of without overflow
    assert amount_units(None) is None


def test_the_migration_fills_the_health_columns_of_rows_mirrored_before(tmp_path: Path):
    path = tmp_path / "old.db"
    before = MIGRATIONS[: MIGRATIONS.index(_m_rmoney_money_columns)]  # total_units comes with the money columns
    invoice = Invoice(id="I9", status="sent", total=Decimal("10.25"), balance=Decimal("3.5"), currency="EUR")
    ticket = fx.tickets()[1]
    with Store(path, migrations=before) as old, old.transaction() as db:
        db.execute(
            "INSERT INTO invoices (id, status, data) VALUES (?, ?, ?)", ["I9", "sent", invoice.model_dump_json()]
        )
        db.execute("INSERT INTO tickets (id, data) VALUES (?, ?)", [ticket.id, ticket.model_copy(
            update={"is_overdue": True}).model_dump_json()])  # fmt: skip
        account, deal = fx.accounts()[1], fx.deals()[8]
        db.execute(
            "INSERT INTO accounts (id, name, name_norm, data) VALUES (?, ?, ?, ?)",
            [account.id, account.name, "bolt", account.model_dump_json()],
        )
        db.execute("INSERT INTO deals (id, data) VALUES (?, ?)", [deal.id, deal.model_dump_json()])
    with Store(path) as new, new.transaction() as db:
        inv = db.query("SELECT balance, total_units, balance_units FROM invoices").__next__()
        assert (inv["balance"], inv["total_units"], inv["balance_units"]) == ("3.5", 102_500, 35_000)
        assert next(db.query("SELECT past_due FROM tickets"))["past_due"] == 1
        assert next(db.query("SELECT owner_address FROM accounts"))["owner_address"] == "Ben@Example.com"
        row = next(db.query("SELECT type_key, name_key FROM deals"))
        assert (row["type_key"], row["name_key"]) == ("existing business", "a5 deal d9")


def test_the_migration_keeps_hours_to_close_of_tickets_mirrored_before(tmp_path: Path):
    path = tmp_path / "old.db"
    before = MIGRATIONS[: MIGRATIONS.index(_m_rsup5_close_hours)]
    created = datetime(2026, 9, 1, 22, 30, tzinfo=fx.TZ)  # in Berlin; closed 30.5 h later in UTC
    tickets = [
        Ticket(id="T1", created_time=created, closed_time=datetime(2026, 9, 3, 3, 0, tzinfo=UTC)),
        Ticket(id="T2", created_time=created),  # open: no hours
        Ticket(id="T3", closed_time=created),  # Desk gave no creation time: no hours
        Ticket(id="T4", created_time=created, closed_time=created - timedelta(minutes=5)),  # never negative
    ]
    with Store(path, migrations=before) as old, old.transaction() as db:
        for t in tickets:
            db.execute("INSERT INTO tickets (id, data) VALUES (?, ?)", [t.id, t.model_dump_json()])
    with Store(path) as new, new.transaction() as db:
        kept = {r["id"]: r["close_hours"] for r in db.query("SELECT id, close_hours FROM tickets")}
        index = next(db.query("SELECT sql FROM sqlite_master WHERE name = 'health_tickets_closed'"))["sql"]
    assert kept == {"T1": 30.5, "T2": None, "T3": None, "T4": 0.0}
    assert kept == {t.id: t.hours_to_close for t in tickets}
    assert "close_hours" in index and "created_utc" not in index  # the report reads its closed tickets from it
