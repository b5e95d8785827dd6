"""Each team's digest on the fixed mirror: what is in it, what is left out, and that it fits Slack."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.blocks import validate_message
from bot.models import Invoice
from bot.reports.compute import MirrorData, ReportConfig
from bot.reports.data import load_mirror
from bot.reports.digests import DigestContext, build, leadership_figures
from bot.store import Store
from bot.textrender import render_text
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

LINKS = AppLinks.for_dc("eu", books_org_id="900")


@pytest.fixture
def data(tmp_path) -> MirrorData:
    with Store(tmp_path / "d.db") as store:
        fx.fill(store)
        return load_mirror(store)


@pytest.fixture
def ctx() -> DigestContext:
    return DigestContext(today=fx.TODAY, now=fx.NOW, tz=fx.TZ, config=ReportConfig(), links=LINKS)


def _text(message) -> str:  # type: ignore[no-untyped-def]
    return render_text(message, show_urls=False)


def test_finance_digest(data, ctx):
    [out] = build("finance", data, ctx)
    validate_message(out.message)
    text = _text(out.message)
    assert out.recipient == ""
    assert "Waiting for approval (1)" in text and "Bolt Ltd — A2 deal D10 · €6,000.00 · waiting 22h" in text
    assert "Won, not invoiced after 14 days (1)" in text
    assert "Went overdue (1)" in text and "INV-I2" in text and "INV-I3" not in text  # I3 was overdue before
    assert "Collected yesterday (2) · €3,000.00 + $2,000.00" in text
    assert "https://slack.com/archives/C0FINANCE1/p1700000000000100" in json.dumps(out.message.blocks)
    assert "books.zoho.eu/app/900#/invoices/I2" in json.dumps(out.message.blocks)


def test_sales_digest_per_owner(data, ctx):
    outs = build("sales", data, ctx)
    assert [(o.recipient, o.recipient_name) for o in outs] == [
        ("ann@example.com", "Ann Archer"),
        ("ben@example.com", "Ben Baker"),
    ]
    ann, ben = (_text(o.message) for o in outs)
    for o in outs:
        validate_message(o.message)
    assert "New tickets on your accounts (1)" in ann and "#6 Login fails" in ann  # T6, created yesterday
    assert "Overdue invoices (1)" in ann and "INV-I2" in ann
    assert "Handoffs missing fields (1)" in ann and "missing billing address" in ann
    assert "Overdue invoices (1)" in ben and "INV-I3" in ben
    assert "New tickets" not in ben and "Handoffs missing" not in ben  # empty sections are left out


def test_support_digest(data, ctx):
    [out] = build("support", data, ctx)
    validate_message(out.message)
    text = _text(out.message)
    assert "New customers handed over (1)" in text and "A2 deal D3" in text and "INV-9" in text
    assert "Open escalations (1)" in text and "#2 Trucks offline" in text
    assert "Open tickets and overdue invoices (2)" in text
    assert text.index("Acme GmbH · 2 open tickets · €5,000.00 overdue") < text.index("Bolt Ltd · 1 open ticket")


def test_leadership_digest_compares_month_to_date_with_last_month(data, ctx):
    f = leadership_figures(data, ctx)
    # 1–15 Oct: sold D2 + D11, invoiced I2, collected P2 · 1–15 Sep: sold D1, invoiced I1, nothing collected
    assert (f.this.sold, f.this.invoiced, f.this.collected) == (Decimal(6000), Decimal(5000), Decimal(3000))
    assert (f.last.sold, f.last.invoiced, f.last.collected) == (Decimal(10000), Decimal(10000), Decimal(0))
    assert (f.timing.count, f.timing.median) == (4, 3.0)
    assert f.other == ("USD",)
    [out] = build("leadership", data, ctx)
    validate_message(out.message)
    text = _text(out.message)
    assert "€6,000.00 (−40%)" in text and "€3,000.00 (new)" in text and "vs €10,000.00" in text
    assert out.chart is not None
    assert out.chart.series[1][1] == (Decimal(6000), Decimal(5000), Decimal(3000))


def test_an_empty_day_says_so_and_sales_sends_nothing(ctx):
    empty = MirrorData()
    for team in ("finance", "support"):
        [out] = build(team, empty, ctx)
        validate_message(out.message)
        assert "Nothing needs your attention today." in _text(out.message)
    assert build("sales", empty, ctx) == []


def test_long_lists_are_cut_with_a_count(data, ctx):
    due = fx.TODAY - timedelta(days=1)
    extra = [
        Invoice(
            id=f"X{n}",
            number=f"INV-X{n}",
            account_id="A1",
            status="sent",
            date=date(2026, 10, 1),
            due_date=due,
            currency="EUR",
            total=Decimal(100),
            balance=Decimal(100),
            customer_name="x" * 200,
        )
        for n in range(40)
    ]
    data.invoices.extend(extra)
    [out] = build("finance", data, replace(ctx, config=ReportConfig(list_limit=5)))
    validate_message(out.message)
    text = _text(out.message)
    assert "Went overdue (41)" in text and "… and 36 more" in text


def test_unknown_team_is_refused(data, ctx):
    with pytest.raises(ValueError, match="unknown digest team 'ops'"):
        build("ops", data, ctx)
