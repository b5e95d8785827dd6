"""Reports and digests as the bot runs them (SQL over typed columns picks the records) give exactly what the same
rules give over the whole mirror, on the fixed mirror of tests/bot/reports/fixtures.py and around it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import OperatingStructure
from bot.reports.compute import config_from
from bot.reports.data import digest_data, load_mirror, utc_bounds, with_org_currency
from bot.reports.digests import TEAMS, TIMING_DAYS, DigestContext, build
from bot.reports.periods import parse_period
from bot.reports.service import KINDS, ReportRequest, run_report, run_report_on
from bot.store import MIGRATIONS, Store
from bot.store.migrations import _m_report_columns
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)
PERIODS = (
    "this month",
    "last month",
    "last 3 months",
    "2026-09-01..2026-10-31",
    "2026-08",
    "ytd",
    "last 30 days",
    "2025-01-01..2026-12-31",
)
DAYS = [fx.TODAY + timedelta(days=n) for n in (-400, -60, -30, -1, 0, 1, 20, 75, 300)]


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "r.db") as s:
        fx.fill(s)
        yield s


@pytest.mark.parametrize("kind", KINDS)
def test_every_report_from_sql_equals_the_report_over_the_whole_mirror(store: Store, kind: str):
    whole = load_mirror(store, handoffs=False)
    checked = 0
    for today in DAYS:
        now = datetime.combine(today, fx.NOW.timetz())
        periods = [None] if kind == "renewals" else []
        periods += [parse_period(p, today) for p in PERIODS]
        for period in periods:
            request = ReportRequest(kind, period)
            assert run_report(store, STRUCTURE, request, now) == run_report_on(whole, STRUCTURE, request, now)
            checked += 1
    assert checked >= len(DAYS)


@pytest.mark.parametrize("team", TEAMS)
def test_every_digest_from_sql_equals_the_digest_over_the_whole_mirror(store: Store, team: str):
    whole = load_mirror(store)
    config = with_org_currency(store, config_from(STRUCTURE))
    sent = 0
    for today in DAYS:
        now = datetime.combine(today, fx.NOW.timetz())
        ctx = DigestContext(today=today, now=now, tz=fx.TZ, config=config, links=AppLinks())
        picked = digest_data(store, team, today, fx.TZ, config, TIMING_DAYS)
        assert build(team, picked, ctx) == build(team, whole, ctx)
        sent += len(build(team, whole, ctx))
    assert sent > 0


def test_the_reports_read_only_what_they_need(store: Store):
    """Revenue for August 2026 needs no ticket and none of September's records."""
    from bot.reports.data import revenue_data

    data = revenue_data(store, parse_period("2026-08", fx.TODAY), config_from(STRUCTURE))
    assert data.tickets == [] and data.payments == [] and data.deals == [] and data.invoices == []
    september = revenue_data(store, parse_period("2026-09", fx.TODAY), config_from(STRUCTURE))
    assert {d.id for d in september.deals} == {"D1", "D3", "D10"}  # won and closed in September (D4 was lost)
    assert {i.id for i in september.invoices} == {"I1", "I1b", "I3"}  # I5 is void
    assert set(september.accounts) == {"A1", "A2"}


def test_local_days_become_utc_bounds_once():
    assert utc_bounds(date(2026, 9, 1), date(2026, 9, 30), fx.TZ) == (
        "2026-08-31T22:00:00.000000",
        "2026-09-30T22:00:00.000000",
    )
    assert utc_bounds(date(2026, 9, 1), date(2026, 9, 1), None) == (
        "2026-09-01T00:00:00.000000",
        "2026-09-02T00:00:00.000000",
    )


def test_the_migration_fills_the_typed_columns_of_rows_mirrored_before(tmp_path: Path):
    path = tmp_path / "old.db"
    before = MIGRATIONS[: MIGRATIONS.index(_m_report_columns)]
    with Store(path, migrations=before) as old, old.transaction() as db:
        for ticket in fx.tickets()[:2]:
            db.execute(
                "INSERT INTO tickets (id, desk_account_id, account_id, status_type, data) VALUES (?, ?, ?, ?, ?)",
                [ticket.id, ticket.desk_account_id, ticket.account_id, ticket.status_type, ticket.model_dump_json()],
            )
        deal = fx.deals()[0]
        db.execute(
            "INSERT INTO deals (id, account_id, stage, data) VALUES (?, ?, ?, ?)",
            [deal.id, deal.account_id, deal.stage, deal.model_dump_json()],
        )
    with Store(path) as new, new.transaction() as db:
        tickets = {r["id"]: r for r in db.query("SELECT * FROM tickets")}
        deals = list(db.query("SELECT * FROM deals"))
    assert tickets["T1"]["status_key"] == "closed" and tickets["T1"]["closed_utc"] == "2026-09-06T10:00:00.000000"
    assert tickets["T2"]["escalated"] == 1 and tickets["T2"]["created_utc"] == "2026-10-01T08:00:00.000000"
    assert deals[0]["stage_key"] == "closed won" and deals[0]["currency"] == "EUR"
    assert json.loads(deals[0]["data"])["id"] == "D1"
    assert datetime.fromisoformat(deals[0]["created_utc"]).replace(tzinfo=UTC) == fx.deals()[0].created_time
