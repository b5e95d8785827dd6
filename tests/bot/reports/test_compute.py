"""Every report's numbers on the fixed mirror (tests/bot/reports/fixtures.py), worked out by hand."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from bot.blocks import validate_message
from bot.config import OperatingStructure, parse_structure
from bot.reports.blocks import invoicing_message, renewals_message, revenue_message, support_message
from bot.reports.compute import (
    RANK,
    MirrorData,
    ReportConfig,
    SupportReport,
    SupportRow,
    config_from,
    in_rank_order,
    invoicing,
    org_currency,
    percentile,
    revenue,
    support,
    support_from,
)
from bot.reports.data import load_mirror
from bot.reports.periods import Period, parse_period
from bot.reports.retention import renewals
from bot.store import Store
from tests.bot.reports import fixtures as fx

SEP_OCT = Period(date(2026, 9, 1), date(2026, 10, 31), "Sep–Oct 2026")
E = Decimal


@pytest.fixture
def data(tmp_path) -> MirrorData:
    with Store(tmp_path / "r.db") as store:
        fx.fill(store)
        return load_mirror(store)


def test_loader_resolves_accounts_through_books_and_desk_links(data):
    by_id = {i.id: i for i in data.invoices}
    assert by_id["I3"].account_id == "A2"  # through Books customer C2
    assert {p.id: p.account_id for p in data.payments}["P2"] == "A2"
    tickets = {t.id: t.account_id for t in data.tickets}
    assert tickets["T3"] == "A2" and tickets["T5"] == ""  # DA2 → A2; DA9 links nowhere
    assert [h.deal_id for h in data.handoffs][:1] == ["D3"]  # most recently changed first
    assert next(h for h in data.handoffs if h.deal_id == "D11").missing == ("billing address",)


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([2, 4], 0.5) == 3
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


def test_org_currency_is_configured_or_the_most_common(data):
    assert org_currency(data, ReportConfig()) == "EUR"
    assert org_currency(data, ReportConfig(currency="usd")) == "USD"
    assert org_currency(MirrorData(), ReportConfig()) == "USD"


def test_revenue_by_month_and_owner_with_gaps(data):
    r = revenue(data, SEP_OCT)
    assert r.currency == "EUR"
    # sold: D1 10,000 + D3 8,000 + D10 6,000 (Sep); D2 5,000 + D11 1,000 (Oct). D4 lost, D5 in USD.
    # invoiced: I1 10,000 + I1b 500 + I3 8,000 (Sep); I2 5,000 (Oct). I4 draft, I5 void, E1 an estimate.
    # collected: P1 10,000 (Sep); P2 3,000 (Oct).
    assert (r.total.sold, r.total.invoiced, r.total.collected) == (E(30000), E(23500), E(13000))
    assert (r.total.not_invoiced, r.total.not_collected) == (E(6500), E(10500))
    months = {k: (f.sold, f.invoiced, f.collected) for k, f in r.by_month}
    assert months == {"2026-09": (E(24000), E(18500), E(10000)), "2026-10": (E(6000), E(5000), E(3000))}
    owners = {k: (f.sold, f.invoiced, f.collected) for k, f in r.by_owner}
    # I3 is Ben's through its deal D3; P2 Ben's through account A2 (reached via Books customer C2)
    assert owners == {"Ann Archer": (E(16000), E(15500), E(10000)), "Ben Baker": (E(14000), E(8000), E(3000))}
    assert [k for k, _ in r.by_owner] == ["Ann Archer", "Ben Baker"]
    usd = r.other_currencies["USD"]
    assert (usd.sold, usd.invoiced, usd.collected) == (E(7000), E(7000), E(2000))  # D5, I6, P3
    assert r.counts == {"won_deals": 6, "invoices": 5, "payments": 3}


def test_revenue_month_keys_cover_the_whole_period_even_when_empty(data):
    r = revenue(data, Period(date(2026, 7, 1), date(2026, 8, 31), "summer"))
    assert [k for k, _ in r.by_month] == ["2026-07", "2026-08"]
    assert r.total.sold == 0 and r.by_owner == []


def test_close_to_first_invoice(data):
    r = invoicing(data, SEP_OCT, fx.TODAY, ReportConfig(not_invoiced_after_days=14, not_invoiced_lookback_days=180))
    # D1 closed 10 Sep, first invoice I1 15 Sep: 5 · D3 20 Sep → I3 20 Sep: 0 · D2 2 Oct → I2 12 Oct: 10
    # D5 5 Oct → I6 6 Oct: 1 · D10 and D11 not invoiced yet
    timings = {t.deal.id: t.days for t in r.deals}
    assert timings == {"D1": 5, "D3": 0, "D10": None, "D2": 10, "D5": 1, "D11": None}
    assert (r.overall.count, r.overall.median, r.overall.p90) == (4, 3.0, pytest.approx(8.5))
    assert r.pending == 2
    months = {k: (s.count, s.median, s.p90) for k, s in r.by_month}
    assert months["2026-09"] == (2, 2.5, pytest.approx(4.5))
    assert months["2026-10"] == (2, 5.5, pytest.approx(9.1))
    owners = {k: (s.count, s.median, s.p90) for k, s in r.by_owner}
    assert owners == {"Ann Archer": (3, 5.0, pytest.approx(9.0)), "Ben Baker": (1, 0.0, 0.0)}
    # D10 waits 20 days (≥ 14); D11 only 5; D8 (Oct 2025) is older than the 180-day lookback
    assert [(t.deal.id, t.waiting) for t in r.not_invoiced] == [("D10", 20)]


def test_support_volume_per_customer(data):
    r = support(data, SEP_OCT, fx.TZ)
    rows = {row.key: row for row in r.rows}
    a1 = rows["A1"]  # T1, T2, T6 opened; T2 escalated; T2, T6 open; T1 (24 h) and T7 (2,430 h) closed in period
    assert (a1.opened, a1.escalated, a1.open_now, a1.closed) == (3, 1, 2, 2)
    assert a1.median_hours_to_close == pytest.approx(1227.0)
    a2 = rows["A2"]  # T3 opened 00:30 on 1 Sep in Berlin (31 Aug UTC), closed after 12 h; T4 on hold since July
    assert (a2.opened, a2.escalated, a2.open_now, a2.closed, a2.median_hours_to_close) == (1, 0, 1, 1, 12.0)
    stray = rows["desk:DA9"]
    assert (stray.name, stray.opened, stray.open_now) == ("Stray Desk Co", 1, 1)
    assert [row.key for row in r.rows] == ["A1", "A2", "desk:DA9"]
    t = r.total
    assert (t.opened, t.escalated, t.open_now, t.closed, t.median_hours_to_close) == (5, 1, 4, 3, 24.0)


def test_support_counts_the_local_day_not_the_utc_day(data):
    august = support(data, Period(date(2026, 8, 1), date(2026, 8, 31), "Aug"), fx.TZ)
    assert all(row.key != "A2" or row.opened == 0 for row in august.rows)  # T3 is September in Berlin


def test_renewals_quiet_and_at_risk(data):
    r = renewals(data, fx.TODAY, fx.TZ, ReportConfig())
    # window: 16 Aug – 14 Dec 2026. A6 (D12, 1 Sep 2025) is due 1 Sep 2026, its open deal is New Business;
    # A4 (D7, 1 Nov 2025) due 1 Nov 2026; A5 has an open Existing Business deal (D9): not listed.
    assert [(x.account.id, x.due, x.days) for x in r.due] == [
        ("A6", date(2026, 9, 1), -44),
        ("A4", date(2026, 11, 1), 17),
    ]
    # A4's last activity is payment P4 on 20 Nov 2025
    assert [(q.account.id, q.last_activity, q.days) for q in r.quiet] == [("A4", date(2025, 11, 20), 329)]
    # A2: €8,000 overdue is all it billed in 12 months · A1: €5,000 overdue and an escalated ticket
    assert [h.account.id for h in r.at_risk] == ["A2", "A1"]


def test_renewals_with_a_period_and_any_open_deal_counting(data):
    r = renewals(
        data,
        fx.TODAY,
        fx.TZ,
        ReportConfig(renewal_deal_types=frozenset()),
        window=parse_period("2026-09..2026-11", fx.TODAY),
    )
    assert [x.account.id for x in r.due] == ["A4"]  # A6 now has a renewal deal: any open deal counts


def test_config_reads_the_reports_section_and_the_vocabulary():
    structure = parse_structure(
        '[reports]\ncurrency = "gbp"\nquiet_days = 30\n[handoff]\nwon_stage = "Signed"\n'
        '[vocabulary.crm_stages]\n"Signed" = "won"\n"Paid Up" = "paid"\n"Gone" = "churned"\n'
    )
    config = config_from(structure)
    assert config.currency == "GBP" and config.quiet_days == 30
    assert {"signed", "paid up", "closed won"} <= config.rules.won_stages
    assert {"signed", "gone"} <= config.rules.closed_stages


def test_every_report_renders_within_slack_limits(data):
    config = config_from(OperatingStructure())
    messages = [
        revenue_message(revenue(data, SEP_OCT, config)),
        invoicing_message(invoicing(data, SEP_OCT, fx.TODAY, config)),
        support_message(support(data, SEP_OCT, fx.TZ, config)),
        renewals_message(renewals(data, fx.TODAY, fx.TZ, config)),
    ]
    for message in messages:
        validate_message(message)
    assert "€30,000.00" in messages[0].text and "€23,500.00" in messages[0].text
    assert "USD" in str(messages[0].blocks[-1])  # other currencies are named, not added in
    assert "median 3 d" in messages[1].text
    assert "5 tickets opened" in messages[2].text
    assert "2 up for renewal, 1 going quiet, 2 at risk" in messages[3].text


def test_a_large_report_still_fits(data):
    many = MirrorData(
        accounts=dict(data.accounts),
        deals=list(data.deals) * 400,
        invoices=list(data.invoices) * 400,
        tickets=list(data.tickets) * 400,
        payments=list(data.payments),
    )
    validate_message(revenue_message(revenue(many, parse_period("2017..2026", fx.TODAY))))
    validate_message(support_message(support(many, SEP_OCT, fx.TZ)))


def _support_rows_in_full(counts: list[tuple[str, str, int, int, int]], hours_of: dict[str, list[float]]) -> list:
    """The support report's rows as first written: every customer judged and sorted on its own."""
    rows = []
    for key, name, o, e, n in counts:
        hours = hours_of.get(key, [])
        if hours or o or n:
            rows.append(SupportRow(key, name, o, e, n, len(hours), percentile(hours, 0.5)))
    return sorted(rows, key=lambda r: (-r.opened, -r.open_now, -r.escalated, r.name.casefold(), r.key))


@pytest.mark.parametrize("seed", range(12))
def test_support_rows_named_when_read_and_the_top_few_agree_with_every_row(seed: int):
    rnd = random.Random(seed)
    names = ["Acme", "acme", "Ärzte AG", "Bolt", "bolt ", "Zeta", "ß Corp", "SS Corp", "", "Ω"]
    counts, hours_of = [], {}
    for i in range(rnd.randint(0, 60)):
        o = rnd.choice([0, 0, 1, 1, 2, 3, 7])
        e = rnd.randint(0, o)
        n = rnd.choice([0, 0, 1, 2])
        key = f"K{rnd.randint(0, 999):03d}-{i}"
        counts.append((key, rnd.choice(names), o, e, n))
        if rnd.random() < 0.5:
            hours_of[key] = [round(rnd.uniform(0, 900), 2) for _ in range(rnd.choice([1, 1, 2, 3, 4]))]
        elif rnd.random() < 0.2:
            hours_of[key] = []  # a customer with tickets, none closed in the period
    period = Period(date(2026, 9, 1), date(2026, 9, 30), "Sep")
    report = support_from(period, list(counts), hours_of)
    expected = _support_rows_in_full(counts, hours_of)
    every = [h for hs in hours_of.values() for h in hs]
    assert report.rows == expected
    assert report.size == len(expected)
    total = report.total
    assert (total.opened, total.escalated, total.open_now) == tuple(sum(c[i] for c in counts) for i in (2, 3, 4))
    assert (total.closed, total.median_hours_to_close) == (len(every), percentile(every, 0.5))
    busy = [r for r in expected if r.opened or r.open_now]
    for limit in range(len(counts) + 3):
        assert support_from(period, list(counts), hours_of).top(limit) == busy[:limit]
    assert support_from(period, counts, hours_of) == report  # equal by what they say, however made
    message = support_message(report, limit=10)
    validate_message(message)
    shown = min(10, len(busy))
    more = f"… and {len(expected) - shown} more customers"
    assert (more in str(message)) == (0 < shown < len(expected))


@pytest.mark.parametrize("seed", range(8))
def test_support_names_are_read_only_for_the_rows_shown(seed: int):
    """Counts from SQL carry no name: a card asks only for the customers up to the end of the last group it shows,
    the rows (the CSV) for every one; an account not mirrored is shown as its id, an empty name stays empty."""
    rnd = random.Random(seed)
    mirrored = {f"A{i}": rnd.choice(["Acme", "acme", "Ärzte AG", "", "ß Corp", "SS Corp", "Zeta"]) for i in range(80)}
    counts, named, hours_of = [], [], {}
    for i in range(rnd.randint(1, 80)):
        o, n = rnd.choice([0, 1, 1, 2, 3]), rnd.choice([0, 0, 1, 2])
        e = rnd.randint(0, o)
        key = f"A{i}" if rnd.random() < 0.8 else f"X{i}"  # X…: not mirrored
        counts.append((key, None, o, e, n))
        named.append((key, mirrored.get(key, key), o, e, n))
        if rnd.random() < 0.3:
            hours_of[key] = [rnd.uniform(0, 100)]
    asked: list[list[str]] = []

    def names(ids: list[str]) -> dict[str, str]:
        asked.append(list(ids))
        return {i: mirrored[i] for i in ids if i in mirrored}

    period = Period(date(2026, 9, 1), date(2026, 9, 30), "Sep")
    closed = [(k, h) for k, hs in hours_of.items() for h in hs]
    ranked = in_rank_order(counts)
    expected = support_from(period, named, hours_of)
    for limit in (1, 3, 10):
        asked.clear()
        assert SupportReport(period, ranked, closed, names).top(limit) == expected.top(limit)
        end = min(limit, len(ranked))
        while end < len(ranked) and RANK(ranked[end]) == RANK(ranked[end - 1]):
            end += 1
        assert len(asked) == 1 and sorted(asked[0]) == sorted(c[0] for c in ranked[:end])
    asked.clear()
    lazy = SupportReport(period, ranked, closed, names)
    assert asked == []  # nothing read until rows are
    assert lazy.rows == expected.rows and lazy == expected and lazy.total == expected.total
    assert len(asked) == 1 and sorted(asked[0]) == sorted(c[0] for c in counts)
