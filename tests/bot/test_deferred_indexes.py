"""A first sync builds the mirror's secondary indexes after loading (bot/store/indexes.py): the schema after it is
exactly the migrations' schema, reports and lookups made while the indexes are away give the same answers, an
interrupted first sync (or restore) leaves them to the next sync, and PostgreSQL keeps its indexes throughout."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from bot.reports.data import load_mirror
from bot.reports.periods import parse_period
from bot.reports.service import ReportRequest, run_report, run_report_on
from bot.store import MIRROR_TABLES, Store
from bot.store.indexes import DEFERRED, KEPT
from bot.sync import COMPLETED, MirrorSync
from tests.bot.reports import fixtures as fx
from tests.bot.reports.test_sql_accounts import DAYS, STRUCTURE, _fill_seeded
from tests.bot.store.test_health_summary import _check, _stored


def _indexes(store: Store) -> dict[str, str]:
    with store.engine.read() as conn:
        return dict(store.engine.index_definitions(conn, MIRROR_TABLES))


def _lookups(store: Store) -> list[object]:
    """What the /account card, the feed and the Home tab read from the mirror by something other than the id."""
    records = store.load()
    ids = sorted(a.id for a in records.accounts)[:8]
    emails = sorted({c.email for c in records.contacts if c.email})[:5]
    owners = sorted({a.owner.email for a in records.accounts if a.owner.email})[:3]
    domains = sorted({e.rpartition("@")[2] for e in emails})
    some = store.load(account_ids=ids)  # in no stated order: compared as sets
    return [
        {table: sorted(getattr(some, table), key=lambda r: r.id) for table in ("accounts", "deals", "invoices")},
        {table: sorted(getattr(some, table), key=lambda r: r.id) for table in ("payments", "tickets", "contacts")},
        [store.accounts_by_contact_email(e) for e in emails],
        [store.accounts_by_domain(d) for d in domains],
        [store.account_ids_owned_by(o) for o in owners],
        [store.deals_of_account(i) for i in ids],
        store.crm_accounts_of(
            books_customer_ids=[c.id for c in records.customers], desk_account_ids=[d.id for d in records.desk_accounts]
        ),
    ]


def test_report_indexes_dropped_and_built_again_exactly(tmp_path: Path):
    with Store(tmp_path / "m.db") as store:
        fx.fill(store)
        _fill_seeded(store, 60)
        schema = _indexes(store)
        whole = load_mirror(store, handoffs=False)
        looked_up = _lookups(store)
        dropped = store.defer_report_indexes()
        assert dropped and all(name.startswith(("report_", "health_", "idx_")) for name in dropped)
        assert set(_indexes(store)) == KEPT  # queries name these with INDEXED BY: never dropped; the rest all are
        assert set(dropped) == set(schema) - KEPT
        assert store.defer_report_indexes() == []  # twice: nothing more to drop, nothing forgotten
        assert store.first_sync_loading()
        assert _lookups(store) == looked_up  # what /account and the Home tab read: the same, from the tables
        kept = _stored(store)
        late = fx._inv("LOAD1", "A1", "", "overdue", "700", "2026-10-01", "2026-10-05", "700")
        store.upsert_invoices([late])  # written while a first sync loads: no aggregates kept meanwhile
        assert _stored(store) == kept
        whole = load_mirror(store, handoffs=False)
        for today in DAYS[1:4]:  # reports made meanwhile: the same answers, read without the indexes
            now = datetime.combine(today, fx.NOW.timetz())
            for kind in ("renewals", "revenue", "invoicing", "support"):
                request = ReportRequest(kind, None if kind == "renewals" else parse_period("last 3 months", today))
                assert run_report(store, STRUCTURE, request, now) == run_report_on(whole, STRUCTURE, request, now)
        assert sorted(store.restore_report_indexes()) == sorted(dropped)
        assert _indexes(store) == schema
        assert store.get_watermark(DEFERRED) is None and not store.first_sync_loading()
        assert _check(store) != kept  # built from every record when the load ended, the late invoice counted
        assert store.restore_report_indexes() == []


async def test_a_first_sync_ends_with_the_migrations_schema(deps, tmp_path: Path):
    if deps.store.engine.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps its indexes")
    with Store(tmp_path / "fresh.db") as fresh:
        schema = _indexes(fresh)
    assert _indexes(deps.store) == schema
    await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
    assert _indexes(deps.store) == schema
    assert deps.store.get_watermark(DEFERRED) is None
    assert _check(deps.store)  # the health aggregates, built at the end of the load, equal the records'


async def test_indexes_an_interrupted_first_sync_left_are_built_by_the_next(deps):
    if deps.store.engine.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps its indexes")
    schema = _indexes(deps.store)
    assert deps.store.defer_report_indexes()  # as a first sync does, then the process ended
    deps.store.set_watermark(COMPLETED, deps.clock().isoformat())
    await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
    assert _indexes(deps.store) == schema


def test_postgresql_keeps_its_indexes(postgres):
    with Store(postgres.new_database()) as store:
        assert store.defer_report_indexes() == []
        assert store.restore_report_indexes() == []


def test_a_restore_cut_off_half_way_is_finished_by_the_next(tmp_path: Path):
    with Store(tmp_path / "m.db") as store:
        fx.fill(store)
        _fill_seeded(store, 20)
        schema = _indexes(store)
        dropped = store.defer_report_indexes()
        pending = dict(json.loads(store.get_watermark(DEFERRED) or "[]"))
        with store.engine.write() as conn:  # the first few built, each in its own transaction, then the process ended
            for name in dropped[:3]:
                conn.execute(pending[name])
        assert store.first_sync_loading()  # the aggregates are still not kept: the load has not ended
        assert sorted(store.restore_report_indexes()) == sorted(dropped)
        assert _indexes(store) == schema
        assert not store.first_sync_loading()
        assert _check(store)
