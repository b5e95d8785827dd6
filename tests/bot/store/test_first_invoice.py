"""Each deal's first counting invoice kept on the deal (bot/store/first_invoice.py) stays what the invoices say after
every kind of write: invoices before their deal, a date moved earlier and later, a status turning void, an estimate,
no date, an invoice re-linked from one deal to another, invoices deleted as stale by an account's snapshot, and a
first sync's deferred load (not kept meanwhile: readers ask the invoices; rebuilt at its end). The migration fills
deals mirrored before. On both engines; the reports read through it equal the whole mirror's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.models import Account, AccountSnapshot, Deal, Invoice
from bot.reports.compute import ReportConfig, first_invoices, invoicing, timing_summary
from bot.reports.data import invoicing_data, load_mirror, timing_figures, won_waiting
from bot.reports.periods import Period
from bot.store import MIGRATIONS, Store, first_invoice
from bot.store.migrations import _m_rmoney6_first_invoiced

DAY = date(2026, 10, 15)
RULES = ReportConfig().rules


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    where = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" else tmp_path / "k.db"
    with Store(where) as s:
        s.upsert_accounts([Account(id="A1", name="Alpha"), Account(id="A2", name="Beta")])
        yield s


def _deal(n: int, account: str = "A1") -> Deal:
    return Deal(id=f"D{n}", name=f"Deal {n}", account_id=account, stage="Closed Won", amount=Decimal(n),
                currency="EUR", closing_date=DAY - timedelta(days=20 * n))  # fmt: skip


def _invoice(id: str, deal: str, days: int | None, status: str = "sent", kind: str = "invoice") -> Invoice:
    return Invoice(id=id, account_id="A1", deal_id=deal, kind=kind, status=status, currency="EUR", total=Decimal(1),
                   date=None if days is None else DAY - timedelta(days=days))  # fmt: skip


def _kept(store: Store) -> dict[str, str]:
    rows = store.engine.all("SELECT id, first_invoiced FROM deals WHERE first_invoiced IS NOT NULL")
    return {r[0]: r[1] for r in rows}


def _agrees(store: Store) -> dict[str, str]:
    """The kept dates equal those the invoices give, and the reports read through them equal the whole mirror's."""
    whole = load_mirror(store, handoffs=False)
    want = {deal: day.isoformat() for deal, day in first_invoices(whole, RULES).items() if deal in whole.deals_by_id()}
    assert _kept(store) == want
    config, period = ReportConfig(currency="EUR"), Period(DAY - timedelta(days=120), DAY, "recent")
    assert invoicing(invoicing_data(store, period, DAY, config), period, DAY, config) == invoicing(
        whole, period, DAY, config
    )
    assert timing_figures(store, period, DAY, config) == timing_summary(whole, period, DAY, config)
    with store.engine.read() as conn:
        assert first_invoice.kept(conn, RULES)
    return want


def test_the_first_invoice_is_kept_through_every_write(store: Store):
    store.upsert_invoices([_invoice("I1", "D1", 5), _invoice("I2", "D1", 9, status="draft")])  # before its deal
    store.upsert_deals([_deal(n) for n in range(1, 6)])
    assert _agrees(store) == {"D1": (DAY - timedelta(days=5)).isoformat()}
    store.upsert_invoices([_invoice("I2", "D1", 9, status="sent"), _invoice("I3", "D2", None)])  # draft now counts
    assert _agrees(store)["D1"] == (DAY - timedelta(days=9)).isoformat() and "D2" not in _kept(store)
    store.upsert_invoices([_invoice("I2", "D1", 1), _invoice("I4", "D2", 3, kind="estimate")])  # moved later
    assert _agrees(store)["D1"] == (DAY - timedelta(days=5)).isoformat() and "D2" not in _kept(store)
    store.upsert_invoices([_invoice("I1", "D3", 7)])  # re-linked: D1 keeps I2's, D3 gets I1's
    assert _agrees(store) == {"D1": (DAY - timedelta(days=1)).isoformat(), "D3": (DAY - timedelta(days=7)).isoformat()}
    store.upsert_invoices([_invoice("I2", "D1", 1, status="void"), _invoice("I5", "D4", 2)])
    assert _agrees(store) == {"D3": (DAY - timedelta(days=7)).isoformat(), "D4": (DAY - timedelta(days=2)).isoformat()}
    store.upsert_deals([_deal(3, account="A2")])  # a deal written again keeps its first invoice
    assert _agrees(store)["D3"] == (DAY - timedelta(days=7)).isoformat()
    # A snapshot of A1 without I5 deletes it as stale (and keeps the rest)
    invoices = load_mirror(store, handoffs=False).invoices
    store.replace_account_snapshot(
        AccountSnapshot(account=Account(id="A1", name="Alpha"), deals=[_deal(n) for n in (1, 2, 4, 5)],
                        invoices=[i for i in invoices if i.id != "I5"], read_at=datetime.now(UTC))
    )  # fmt: skip
    assert _agrees(store) == {"D3": (DAY - timedelta(days=7)).isoformat()}


def test_a_first_sync_keeps_nothing_while_it_loads_and_rebuilds_at_its_end(store: Store):
    store.upsert_deals([_deal(n) for n in range(1, 4)])
    store.upsert_invoices([_invoice("I1", "D1", 5)])
    store.defer_report_indexes()  # SQLite: a first sync's load (PostgreSQL keeps its indexes: nothing deferred)
    store.upsert_invoices([_invoice("I1", "D2", 5), _invoice("I2", "D3", 8), _invoice("I3", "D9", 1)])
    store.upsert_deals([_deal(9)])
    config = ReportConfig(currency="EUR")
    loading = won_waiting(store, DAY, config)
    whole = load_mirror(store, handoffs=False)
    assert loading.count == len(invoicing(whole, Period(DAY, DAY, "today"), DAY, config).not_invoiced)
    recent = Period(DAY - timedelta(days=89), DAY, "recent")
    assert timing_figures(store, recent, DAY, config) == timing_summary(whole, recent, DAY, config)
    if store.first_sync_loading():
        with store.engine.read() as conn:
            assert not first_invoice.kept(conn, RULES)  # the readers ask the invoices meanwhile
        assert _kept(store) == {"D1": (DAY - timedelta(days=5)).isoformat()}  # stale while loading
    else:
        assert store.engine.name == "postgresql"
    store.restore_report_indexes()
    assert set(_agrees(store)) == {"D2", "D3", "D9"}
    assert won_waiting(store, DAY, config) == loading


def test_other_excluded_statuses_ask_the_invoices(store: Store):
    from dataclasses import replace

    store.upsert_deals([_deal(1), _deal(2)])
    store.upsert_invoices([_invoice("I1", "D1", 5, status="draft"), _invoice("I2", "D2", 5)])
    drafts_count = replace(ReportConfig(currency="EUR"), rules=replace(RULES, excluded_invoice_statuses=frozenset()))
    with store.engine.read() as conn:
        assert not first_invoice.kept(conn, drafts_count.rules)
    period = Period(DAY - timedelta(days=120), DAY, "recent")
    got = invoicing(invoicing_data(store, period, DAY, drafts_count), period, DAY, drafts_count)
    assert got == invoicing(load_mirror(store, handoffs=False), period, DAY, drafts_count)
    assert got.overall.count == 2
    figures = timing_figures(store, period, DAY, drafts_count)
    assert figures == timing_summary(load_mirror(store, handoffs=False), period, DAY, drafts_count)
    assert figures.overall.count == 2


def test_the_migration_fills_deals_mirrored_before(tmp_path: Path):
    path = tmp_path / "old.db"
    with (
        Store(path, migrations=MIGRATIONS[: MIGRATIONS.index(_m_rmoney6_first_invoiced)]) as old,
        old.transaction() as db,
    ):  # rows as written before (today's writes keep the new column)
        for deal in (_deal(1), _deal(2)):
            db.execute("INSERT INTO deals (id, stage_key, data) VALUES (?, 'closed won', ?)", [deal.id, "{}"])
        for i in (_invoice("I1", "D1", 5), _invoice("I2", "D1", 3), _invoice("I3", "D2", 4, "void")):
            db.execute(
                "INSERT INTO invoices (id, deal_id, kind, status_key, date, data) VALUES (?, ?, ?, ?, ?, ?)",
                [i.id, i.deal_id, i.kind, i.status, str(i.date), "{}"],
            )
    with Store(path) as new:
        assert _kept(new) == {"D1": (DAY - timedelta(days=5)).isoformat()}
