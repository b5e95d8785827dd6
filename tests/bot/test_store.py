from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.errors import StoreError
from bot.models import (
    Account,
    AccountSnapshot,
    Address,
    BooksCustomer,
    Contact,
    Deal,
    DeskAccount,
    Invoice,
    Owner,
    Payment,
    Ticket,
)
from bot.store import MIGRATIONS, Store

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ACC = "4876876000000100001"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "t.db")
    yield s
    s.close()


def account(id: str = ACC, name: str = "Acme Inc", website: str = "https://www.acme.com/", **kw: object) -> Account:
    return Account(
        id=id,
        name=name,
        website=website,
        owner=Owner(id="1", name="Ann Owner", email="Ann@Example.com"),
        billing=Address(street="1 Main St", city="Springfield", country="US"),
        currency="USD",
        modified_time=T0,
        **kw,  # type: ignore[arg-type]
    )


def full_snapshot() -> AccountSnapshot:
    return AccountSnapshot(
        account=account(),
        contacts=[Contact(id="c1", account_id=ACC, first_name="Jo", email="Jo@Acme.com")],
        deals=[
            Deal(
                id="d1",
                name="Big deal",
                account_id=ACC,
                stage="Closed Won",
                amount=Decimal("12500.10"),
                closing_date=date(2025, 2, 1),
                modified_time=T0,
            ),
            Deal(id="d2", name="Next deal", account_id=ACC, stage="Negotiation", amount=Decimal("3000")),
        ],
        books_customer=BooksCustomer(id="b1", name="Acme", account_id=ACC, currency="USD"),
        invoices=[
            Invoice(
                id="i1",
                number="INV-1",
                customer_id="b1",
                account_id=ACC,
                deal_id="d1",
                status="sent",
                date=date(2025, 2, 2),
                due_date=date(2025, 3, 4),
                total=Decimal("12500.10"),
                balance=Decimal("12500.10"),
                currency="USD",
            ),
        ],
        payments=[Payment(id="p1", customer_id="b1", amount=Decimal("100.5"), date=date(2025, 2, 10))],
        desk_account=DeskAccount(id="k1", name="Acme", crm_account_id=ACC),
        tickets=[Ticket(id="t1", subject="Broken", desk_account_id="k1", status_type="Open", created_time=T0)],
        read_at=T0,
    )


def test_open_sets_wal_and_schema(tmp_path: Path) -> None:
    s = Store(tmp_path / "a.db")
    assert s.db.journal_mode == "wal"
    assert s.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert s.schema_version() == len(MIGRATIONS)
    names = set(s.db.table_names())
    for table in (
        "accounts",
        "contacts",
        "deals",
        "books_customers",
        "invoices",
        "payments",
        "desk_accounts",
        "tickets",
        "account_fetches",
        "watermarks",
        "slack_users",
        "schema_version",
    ):
        assert table in names
    assert any("account_id" in idx.columns for idx in s.db["invoices"].indexes)  # type: ignore[union-attr]
    s.close()


def test_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    s = Store(path)
    s.upsert_accounts([account()])
    s.close()
    s = Store(path)
    s = Store(path)  # twice, still one version row and the data
    assert s.schema_version() == len(MIGRATIONS)
    assert s.db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
    assert s.get_account(ACC) == account()
    s.close()


def test_migration_upgrades_older_version(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Store(path, migrations=MIGRATIONS[:1])
    assert old.schema_version() == 1
    assert "watermarks" not in old.db.table_names()
    with old.transaction() as db:  # a row as version 1 wrote it (today's upsert writes columns added since)
        a = account()
        db.execute(
            "INSERT INTO accounts (id, name, name_norm, owner_email, data) VALUES (?, ?, ?, ?, ?)",
            [a.id, a.name, a.name.lower(), a.owner.email, a.model_dump_json()],
        )
    old.close()

    calls: list[int] = []

    def m3_extra(db: Database) -> None:
        calls.append(1)
        db.execute("CREATE TABLE extra (id TEXT PRIMARY KEY)")

    new = Store(path, migrations=(*MIGRATIONS, m3_extra))
    assert new.schema_version() == len(MIGRATIONS) + 1
    assert {"watermarks", "slack_users", "extra"} <= set(new.db.table_names())
    assert new.get_account(ACC) is not None
    with new.transaction() as db:  # the reports' columns were filled from `data` by their migration
        assert db.execute("SELECT owner_name FROM accounts").fetchone()[0] == account().owner.name
    new.close()
    again = Store(path, migrations=(*MIGRATIONS, m3_extra))
    assert calls == [1]
    again.close()


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "f.db"

    def broken(db: Database) -> None:
        db.execute("CREATE TABLE half (id TEXT)")
        raise sqlite3.OperationalError("boom")

    with pytest.raises(sqlite3.OperationalError):
        Store(path, migrations=(*MIGRATIONS, broken))
    s = Store(path)
    assert s.schema_version() == len(MIGRATIONS)
    assert "half" not in s.db.table_names()
    s.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    Store(path, migrations=(*MIGRATIONS, lambda db: None)).close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_models_round_trip_exactly(store: Store) -> None:
    snap = full_snapshot()
    store.replace_account_snapshot(snap)
    got = store.snapshot(ACC, T0)
    assert got == snap
    assert got is not None and got.invoices[0].total == Decimal("12500.10")
    assert isinstance(got.invoices[0].date, date) and got.deals[0].modified_time == T0


def test_snapshot_joins_through_links(store: Store) -> None:
    store.upsert_accounts([account(), account(id="other", name="Other")])
    store.upsert_books_customers([BooksCustomer(id="b1", name="Acme", account_id=ACC)])
    store.upsert_invoices(
        [
            Invoice(id="via-customer", customer_id="b1"),  # no account_id: found through the customer
            Invoice(id="via-account", account_id=ACC, customer_id="zz"),
            Invoice(id="foreign", customer_id="b9", account_id="other"),
        ]
    )
    store.upsert_payments([Payment(id="p1", customer_id="b1"), Payment(id="p2", customer_id="b9")])
    store.upsert_desk_accounts([DeskAccount(id="k1", name="Acme", crm_account_id=ACC)])
    store.upsert_tickets(
        [
            Ticket(id="t-desk", desk_account_id="k1"),
            Ticket(id="t-acc", account_id=ACC),
            Ticket(id="t-other", desk_account_id="k9"),
        ]
    )
    store.upsert_deals([Deal(id="d1", name="x", account_id=ACC), Deal(id="d2", name="y", account_id="other")])
    store.upsert_contacts([Contact(id="c1", account_id=ACC)])
    snap = store.snapshot(ACC, T0)
    assert snap is not None
    assert snap.books_customer is not None and snap.books_customer.id == "b1"
    assert {i.id for i in snap.invoices} == {"via-customer", "via-account"}
    assert [p.id for p in snap.payments] == ["p1"]
    assert snap.desk_account is not None and snap.desk_account.id == "k1"
    assert {t.id for t in snap.tickets} == {"t-desk", "t-acc"}
    assert [d.id for d in snap.deals] == ["d1"] and [c.id for c in snap.contacts] == ["c1"]
    assert snap.read_at == T0 and not snap.stale
    assert store.snapshot("missing", T0) is None


def test_replace_removes_stale_rows(store: Store) -> None:
    store.replace_account_snapshot(full_snapshot())
    store.upsert_deals([Deal(id="gone", name="old", account_id=ACC)])
    store.upsert_invoices([Invoice(id="gone-inv", customer_id="b1")])
    store.upsert_tickets([Ticket(id="gone-t", desk_account_id="k1")])
    store.upsert_deals([Deal(id="keep-other", name="x", account_id="other")])
    snap = full_snapshot()
    snap.deals = snap.deals[:1]
    snap.read_at = datetime(2025, 3, 2, tzinfo=UTC)
    store.replace_account_snapshot(snap)
    got = store.snapshot(ACC, T0)
    assert got is not None
    assert [d.id for d in got.deals] == ["d1"]
    assert [i.id for i in got.invoices] == ["i1"]
    assert [t.id for t in got.tickets] == ["t1"]
    assert store.db.execute("SELECT count(*) FROM deals WHERE id = 'keep-other'").fetchone()[0] == 1
    assert store.fetched_at(ACC) == datetime(2025, 3, 2, tzinfo=UTC)


def test_replace_is_atomic_and_refuses_stale(store: Store) -> None:
    store.replace_account_snapshot(full_snapshot())
    stale = full_snapshot()
    stale.deals, stale.stale = [], True
    with pytest.raises(StoreError):
        store.replace_account_snapshot(stale)
    assert store.counts()["deals"] == 2


def test_upsert_updates_in_place(store: Store) -> None:
    store.upsert_accounts([account()])
    store.upsert_accounts([account(name="Acme Renamed")])
    assert store.counts()["accounts"] == 1
    assert store.get_account(ACC).name == "Acme Renamed"  # type: ignore[union-attr]


def test_candidates_cached_and_invalidated(store: Store) -> None:
    store.upsert_accounts([account()])
    first = store.account_candidates()
    assert first == [(ACC, "Acme Inc")]
    assert store.account_candidates() is first  # served from memory
    store.upsert_accounts([account(id="2", name="Beta")])
    assert store.account_candidates() == [(ACC, "Acme Inc"), ("2", "Beta")]


def test_ten_thousand_accounts_in_one_batch(store: Store) -> None:
    store.upsert_accounts(account(id=str(10**18 + n), name=f"Company {n}", website="") for n in range(10_000))
    assert store.counts()["accounts"] == 10_000
    assert len(store.account_candidates()) == 10_000
    ids = [str(10**18 + n) for n in (5, 9999, 42)]
    assert [a.id for a in store.get_accounts(ids + ["nope"])] == ids
    assert len(store.get_accounts([str(10**18 + n) for n in range(1200)])) == 1200  # chunked IN


def test_accounts_by_contact_email_and_domain(store: Store) -> None:
    store.upsert_accounts([account(), account(id="2", name="Beta", website="beta.io"), account(id="3", name="G")])
    store.upsert_contacts(
        [
            Contact(id="c1", account_id=ACC, email="Jo@Acme.com"),
            Contact(id="c2", account_id="2", email="x@gmail.com"),
            Contact(id="c3", account_id="3", email="y@gmail.com"),
            Contact(id="c4", account_id="3", email="z@acme.com"),
        ]
    )
    assert [a.id for a in store.accounts_by_contact_email(" JO@acme.COM ")] == [ACC]
    assert store.accounts_by_contact_email("none@acme.com") == []
    assert [a.id for a in store.accounts_by_domain("acme.com")] == [ACC, "3"]
    assert [a.id for a in store.accounts_by_domain("https://www.beta.io/x")] == ["2"]
    assert store.accounts_by_domain("gmail.com") == []


def test_fetches_watermarks_and_slack_users(store: Store) -> None:
    assert store.fetched_at(ACC) is None
    store.mark_fetched(ACC, T0)
    store.mark_fetched(ACC, T0.replace(hour=10))
    assert store.fetched_at(ACC) == T0.replace(hour=10)
    assert store.get_watermark("crm") is None
    store.set_watermark("crm", "a")
    store.set_watermark("crm", "b")
    assert store.get_watermark("crm") == "b"
    assert store.slack_user_for("ann@example.com") is None
    store.remember_slack_user("Ann@Example.com", "U1", T0)
    assert store.slack_user_for("ann@example.com") == ("U1", T0)
    store.remember_slack_user("nobody@example.com", None, T0)
    assert store.slack_user_for("nobody@example.com") == (None, T0)


def test_counts(store: Store) -> None:
    store.replace_account_snapshot(full_snapshot())
    assert store.counts() == {
        "accounts": 1,
        "contacts": 1,
        "deals": 2,
        "books_customers": 1,
        "invoices": 1,
        "payments": 1,
        "desk_accounts": 1,
        "tickets": 1,
    }


def test_shared_across_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            store.upsert_accounts([account(id=f"t{n}-{i}", name=f"T {n} {i}") for i in range(50)])
            store.snapshot(f"t{n}-0", T0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.counts()["accounts"] == 400


def test_desk_links_record_which_desk_account_throughline_created(tmp_path: Path) -> None:
    s = Store(tmp_path / "links.db")
    at = datetime(2026, 3, 4, 10, tzinfo=UTC)
    assert s.desk_link("crm-1") is None and s.desk_links() == {}
    s.record_desk_link("crm-1", "desk-9", at)
    s.record_desk_link("crm-2", "desk-7", at)
    s.record_desk_link("crm-1", "desk-10", at)  # re-created after the first was deleted in Desk
    assert s.desk_link("crm-1") == "desk-10"
    assert s.desk_links() == {"desk-10": "crm-1", "desk-7": "crm-2"}
    s.close()
    assert Store(tmp_path / "links.db").desk_link("crm-2") == "desk-7"  # survives a restart
