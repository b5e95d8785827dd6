"""The per-account health aggregates (`account_health`, bot/store/health_summary.py) stay equal to what the records
say after every kind of write, on both engines: updates, re-links of a record (the account it leaves is recomputed
too), re-links of a Books customer or Desk account that carries records mirrored without an account, deletions by
a whole-account snapshot, and the migration's backfill of a mirror filled before it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.account.health import figures
from bot.models import AccountSnapshot, BooksCustomer, Deal, DeskAccount, Payment
from bot.store import MIGRATIONS, Store, rows
from bot.store.engine import upsert_sql
from bot.store.health_summary import COLUMNS, _sums, every_account
from bot.store.migrations import _m_rhealth_account_health, _m_rrenew_deal_activity
from tests.bot.reports import fixtures as fx

READ_AT = datetime(2026, 10, 15, 7, 0, tzinfo=UTC)


def _stored(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.engine.read() as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM account_health").fetchall()
    return {r[0]: tuple(r) for r in rows}


def _from_records(store: Store) -> dict[str, tuple[Any, ...]]:
    """The rows worked out afresh from every record (what the backfill writes)."""
    with store.engine.read() as conn:
        accounts = sorted(every_account(conn))
        sums = _sums(conn, accounts)
    return {a: tuple(s.row(a)) for a, s in sums.items() if not s.empty()}


def _check(store: Store) -> dict[str, tuple[Any, ...]]:
    stored = _stored(store)
    assert stored == _from_records(store)
    return stored


def _row(store: Store, account: str) -> dict[str, Any]:
    return dict(zip(COLUMNS, _stored(store)[account], strict=True))


def test_the_aggregates_follow_updates_relinks_and_deletions(store: Store) -> None:
    fx.fill(store)
    a1 = _row(store, "A1")
    assert (a1["currency"], Decimal(a1["outstanding"]), a1["late"], a1["owing"]) == ("EUR", Decimal(5500), 0, 2)
    assert (a1["owing_due"], a1["owing_last_due"], a1["open_tickets"], a1["escalated"]) == (
        "2026-10-14", "2026-10-30", 2, 1,
    )  # fmt: skip
    assert (a1["invoices"], a1["last_billed"], a1["last_paid"], a1["last_ticket"]) == (
        3, "2026-10-12", "2026-09-20", "2026-10-14T09:00:00.000000",
    )  # fmt: skip
    a2 = _row(store, "A2")  # I3 and T4 reach A2 through Books customer C2 and Desk account DA2
    assert (a2["late"], Decimal(a2["late_amount"]), a2["late_due"], a2["open_tickets"]) == (
        1, Decimal(8000), "2026-10-05", 1,
    )  # fmt: skip
    _check(store)

    invoices = {i.id: i for i in fx.invoices()}
    store.upsert_invoices([invoices["I2"].model_copy(update={"status": "paid", "balance": Decimal(0)})])  # update
    assert _row(store, "A1")["owing"] == 1
    store.upsert_invoices([invoices["I1b"].model_copy(update={"account_id": "A3"})])  # re-linked from A1 to A3
    stored = _check(store)
    assert Decimal(stored["A1"][COLUMNS.index("outstanding")]) == 0
    assert stored["A3"][COLUMNS.index("owing")] == 2

    tickets = {t.id: t for t in fx.tickets()}
    store.upsert_tickets([tickets["T2"].model_copy(update={"status": "Closed", "status_type": "Closed"})])
    assert _row(store, "A1")["escalated"] == 0
    store.upsert_tickets([tickets["T6"].model_copy(update={"account_id": "", "desk_account_id": "DA2"})])
    _check(store)
    assert (_row(store, "A1")["open_tickets"], _row(store, "A2")["open_tickets"]) == (0, 2)

    # payments in USD outnumber A1's EUR invoices: the main currency follows
    store.upsert_payments([Payment(id=f"PX{n}", account_id="A1", amount=Decimal(1), currency="usd") for n in range(4)])
    assert _row(store, "A1")["currency"] == "USD"
    _check(store)


def test_relinking_a_books_customer_or_desk_account_moves_its_unlinked_records(store: Store) -> None:
    fx.fill(store)
    store.upsert_books_customers([BooksCustomer(id="C2", name="Bolt Ltd", account_id="A4")])
    store.upsert_desk_accounts([DeskAccount(id="DA9", name="Stray Desk Co", crm_account_id="A5")])
    stored = _check(store)
    assert stored["A4"][COLUMNS.index("late")] == 1  # I3 moved with C2
    assert stored["A2"][COLUMNS.index("late")] == 0
    assert stored["A5"][COLUMNS.index("open_tickets")] == 1  # T5 reached A5 through DA9
    store.upsert_desk_accounts([DeskAccount(id="DA2", name="Bolt", crm_account_id="")])  # unlinked: T4 reaches none
    stored = _check(store)
    a2 = dict(zip(COLUMNS, stored["A2"], strict=True))  # only A2's deals are left
    assert (a2["invoices"], a2["open_tickets"], a2["last_paid"], a2["last_ticket"]) == (0, 0, None, None)
    assert a2["last_deal"] is not None


def test_a_whole_account_snapshot_deletes_what_it_lacks(store: Store) -> None:
    fx.fill(store)
    account = fx.accounts()[1]  # A2: its invoice I3 and payment P2 through C2, its tickets through DA2
    snapshot = AccountSnapshot(
        account=account,
        books_customer=BooksCustomer(id="C2", name="Bolt Ltd", account_id="A2"),
        desk_account=DeskAccount(id="DA2", name="Bolt", crm_account_id="A2"),
        invoices=[],
        payments=[],
        tickets=[t for t in fx.tickets() if t.id == "T3"],
        read_at=READ_AT,
    )
    store.replace_account_snapshot(snapshot)
    stored = _check(store)
    a2 = dict(zip(COLUMNS, stored["A2"], strict=True))  # only T3 is left: closed, but activity for going quiet
    assert (a2["invoices"], a2["late"], a2["open_tickets"], a2["last_ticket"]) == (
        0,
        0,
        0,
        "2026-09-01T10:30:00.000000",
    )
    store.replace_account_snapshot(snapshot.model_copy(update={"invoices": [i for i in fx.invoices() if i.id == "I3"]}))
    assert _check(store)["A2"][COLUMNS.index("late")] == 1


def test_the_deal_activity_follows_updates_relinks_and_deletions(store: Store) -> None:
    """What going quiet reads of deals (won deals with a closing date, latest deal instant, latest closing date of
    a closed deal) follows every write of a deal: a stage change, a re-link (both accounts), a deletion."""
    fx.fill(store)
    a5 = _row(store, "A5")  # D8 won on 2025-10-20; D9 open, changed 2026-10-01
    assert (a5["last_won"], a5["last_closed"], a5["last_deal"]) == (
        "2025-10-20",
        "2025-10-20",
        "2026-10-01T09:00:00.000000",
    )
    deals = {d.id: d for d in fx.deals()}
    store.upsert_deals([deals["D9"].model_copy(update={"stage": "Closed Won"})])  # update: D9 closes, won
    assert (_row(store, "A5")["last_won"], _row(store, "A5")["last_closed"]) == ("2026-10-30", "2026-10-30")
    store.upsert_deals([deals["D9"].model_copy(update={"stage": "Closed Lost"})])  # lost: closed, not won
    assert (_row(store, "A5")["last_won"], _row(store, "A5")["last_closed"]) == ("2025-10-20", "2026-10-30")
    a6 = _stored(store).get("A6")
    won_a6 = None if a6 is None else a6[COLUMNS.index("last_won")]
    assert won_a6 is None or won_a6 < "2025-10-20"
    store.upsert_deals([deals["D8"].model_copy(update={"account_id": "A6"})])  # re-linked from A5 to A6
    stored = _check(store)
    assert stored["A5"][COLUMNS.index("last_won")] is None
    assert stored["A6"][COLUMNS.index("last_won")] == "2025-10-20"
    store.upsert_deals([deals["D8"].model_copy(update={"account_id": "", "closing_date": None})])  # no account now
    stored = _check(store)
    assert (None if stored.get("A6") is None else stored["A6"][COLUMNS.index("last_won")]) == won_a6
    store.upsert_deals(
        [Deal(id="DN", name="New", account_id="A9", stage="Closed Won", closing_date=fx.d("2026-01-02"))]
    )
    assert (_row(store, "A9")["last_won"], _row(store, "A9")["last_closed"]) == (
        "2026-01-02",
        "2026-01-02",
    )  # its first record

    account = fx.accounts()[4]  # A5: a whole-account snapshot without D9 deletes it
    assert account.id == "A5"
    store.replace_account_snapshot(AccountSnapshot(account=account, deals=[], read_at=READ_AT))
    stored = _check(store)
    assert stored.get("A5") is None or stored["A5"][COLUMNS.index("last_deal")] is None


def test_the_aggregates_give_the_card_figures(store: Store) -> None:
    """Outstanding, currency and tickets as the /account card's `figures` works them out from a snapshot."""
    fx.fill(store)
    for account in fx.accounts():
        snap = store.snapshot(account.id, READ_AT)
        assert snap is not None
        f = figures(snap, fx.TODAY)
        row = _stored(store).get(account.id)
        if row is None:
            assert (f.invoices, f.open_tickets) == (0, 0)
            continue
        got = dict(zip(COLUMNS, row, strict=True))
        assert (got["currency"] or account.currency, Decimal(got["outstanding"])) == (f.currency, f.outstanding)
        assert (got["open_tickets"], got["escalated"], got["past_due"]) == (
            f.open_tickets, f.escalated_tickets, f.past_due_tickets,
        )  # fmt: skip


@pytest.mark.parametrize("first_new", [_m_rhealth_account_health, _m_rrenew_deal_activity])
def test_the_migration_fills_the_aggregates_of_records_mirrored_before(location: str, first_new: Any) -> None:
    path = location
    before = MIGRATIONS[: MIGRATIONS.index(first_new)]
    with Store(path, migrations=before) as old, old.engine.write() as conn:  # rows as the writes before wrote them
        written: list[tuple[str, Callable[[Any], dict[str, Any]], list[Any]]] = [
            ("books_customers", rows.customer_row, [BooksCustomer(id="C2", name="Bolt Ltd", account_id="A2")]),
            ("desk_accounts", rows.desk_account_row, [DeskAccount(id="DA2", name="Bolt", crm_account_id="A2")]),
            ("deals", rows.deal_row, fx.deals()),
            ("invoices", rows.invoice_row, fx.invoices()),
            ("payments", rows.payment_row, fx.payments()),
            ("tickets", rows.ticket_row, fx.tickets()),
        ]
        for table, to_row, records in written:
            had = {d[0] for d in conn.execute(f"SELECT * FROM {table} WHERE 1 = 0").description}
            found = [{k: v for k, v in to_row(x).items() if k in had} for x in records]  # not the later columns
            conn.executemany(upsert_sql(table, list(found[0])), [list(f.values()) for f in found])
    with Store(path) as new:
        stored = _check(new)
        assert {"A1", "A2", "A3", "A4", "A5"} <= set(stored)
        assert stored["A5"][COLUMNS.index("last_closed")] == "2025-10-20"  # D8, its last closed deal


def test_two_writers_of_a_new_accounts_first_records_both_count(open_store: Callable[[], Store]) -> None:
    """Two stores (replicas, on PostgreSQL) write the first invoices of the same new account at once: the second
    waits for the first's row, so the stored row counts both (on SQLite the writers queue anyway)."""
    import threading
    import time

    first, second = open_store(), open_store()
    one = fx._inv("N1", "NEW", "", "sent", "1000", "2026-10-01", "2026-10-31", "1000")
    two = fx._inv("N2", "NEW", "", "sent", "250", "2026-10-02", "2026-11-01", "250")
    written, done = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with first.engine.write() as conn:
            first._upsert(conn, "invoices", [rows.invoice_row(one)])
            written.set()
            done.wait(5)  # the other writer is under way before this one commits
            time.sleep(0.3)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    written.wait(5)
    other = threading.Thread(target=lambda: (done.set(), second.upsert_invoices([two])))
    other.start()
    thread.join(10)
    other.join(10)
    row = _row(first, "NEW")
    assert (row["invoices"], Decimal(row["outstanding"])) == (2, Decimal(1250))
    _check(first)
