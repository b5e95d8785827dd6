"""Per-account health aggregates kept at write time (`account_health`), so that renewals and the Home tab read one
small row per account instead of grouping every invoice, payment and ticket.

A row holds what does not depend on the day: the main currency (most common over counting invoices and payments,
ties A–Z), the outstanding balance, the totals of dated counting invoices with their first and last date, invoices
with an overdue status (count, balance, earliest due date), invoices with a due status that still owe something and
have a due date (count, balance, earliest and latest due date), open / open escalated / open past-due tickets, and
for customers going quiet: how many counting invoices, the latest payment date and ticket instant (created or changed),
the latest closing date of a won deal (also when renewals fall due) and of a closed deal, the latest deal instant
(created or changed).
What depends on the day is worked out when reading (bot/store/reports_accounts.py `health_summaries`): the 12-month
billing is the stored total when every dated invoice falls in the window, overdue invoices are those with an
overdue status plus the owing ones when all or none are past due; otherwise the reader asks the invoices.

Rows are kept right by the mirror's writes (bot/store/mirror.py): every upsert or delete of a deal, invoice, payment
or ticket recomputes the part of the rows its table feeds, for the accounts it belonged to before and after (records
mirrored without a CRM account, as a sync stores them all, reach it through their Books customer / Desk account,
looked up by id), and re-linking a Books customer or Desk account that such records reach recomputes both accounts.
The status and stage sets are the health rule's own (bot/account/health.py); a report whose rules count other ones
(`fits`, `deals_fit`) reads the records instead. Deals carry their CRM account themselves. Amounts are exact
decimal text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from bot.account.health import (
    CLOSED_STAGES,
    CLOSED_TICKET_TYPES,
    DUE_STATUSES,
    EXCLUDED_INVOICE_STATUSES,
    OVERDUE_STATUSES,
    WON_STAGES,
    HealthRules,
    main_code,
)
from bot.store.engine import chunks, marks
from bot.store.rows import UNITS_SCALE

# Set while a first sync loads the mirror (bot/store/indexes.py: the watermark holding the report indexes it builds
# after loading). Meanwhile writes keep no aggregates and readers ask the records; `rebuild` fills them at the end:
# one grouped pass instead of recomputing each account at every batch (the first sync's store CPU: ≈ 31 → 19 s).
LOADING = "sync:deferred_indexes"

# The upkeep reads the records mirrored without a CRM account through the covering indexes
# health_invoices_customer, health_payments_customer and health_tickets_desk (migration _m_rhealth_account_health).
# A first sync defers them with the other secondary indexes (bot/store/indexes.py): the upkeep is off while it loads.

COLUMNS = (
    "account_id", "currency", "outstanding", "billed", "first_billed", "last_billed", "late", "late_amount",
    "late_due", "owing", "owing_amount", "owing_due", "owing_last_due", "open_tickets", "escalated", "past_due",
    "invoices", "last_paid", "last_ticket", "invoice_codes", "payment_codes", "last_won", "last_deal", "last_closed",
)  # fmt: skip
# What each write recomputes (the rest of an account's row is kept): the part its table feeds.
PARTS = ("invoices", "payments", "tickets", "deals")
_PARTS_OF = {
    "invoices": ("invoices",), "payments": ("payments",), "tickets": ("tickets",), "deals": ("deals",),
    "books_customers": ("invoices", "payments"), "desk_accounts": ("tickets",),
}  # fmt: skip
_UNLINKED = "(x.account_id = '' OR x.account_id IS NULL)"
_ROWS_PER_INSERT = 40  # 24 columns each: well under any engine's parameter limit
# The tables whose writes change the aggregates, and how their rows reach a CRM account.
_LINKED = {"invoices": "customer_id", "payments": "customer_id", "tickets": "desk_account_id"}
_LINKS = {"books_customers": "account_id", "desk_accounts": "crm_account_id"}


def fits(rules: HealthRules) -> bool:
    """Whether `rules` count invoices and tickets as the stored aggregates do."""
    return (
        rules.excluded_invoice_statuses == EXCLUDED_INVOICE_STATUSES
        and rules.overdue_statuses == OVERDUE_STATUSES
        and rules.due_statuses == DUE_STATUSES
        and tickets_fit(rules)
    )


def tickets_fit(rules: HealthRules) -> bool:
    """Whether `rules` call tickets open as the stored ticket counts do."""
    return rules.closed_ticket_types == CLOSED_TICKET_TYPES


def deals_fit(rules: HealthRules) -> bool:
    """Whether `rules` call deals won and closed as the stored deal activity does (a configured vocabulary may add
    stages; the latest deal instant counts every deal whatever its stage)."""
    return rules.won_stages == WON_STAGES and rules.closed_stages == CLOSED_STAGES


# ---- which accounts a write touches ------------------------------------------------------------------------------


def closed_deal(alias: str, stages: Iterable[str]) -> tuple[str, list[str]]:
    """Deals bot.account.health.is_closed_deal calls closed, given its closed and won `stages`."""
    ordered = sorted(stages)
    listed = f"{alias}.stage_key IN ({marks(len(ordered))}) OR " if ordered else ""
    return f"({listed}{alias}.stage_key LIKE 'closed%')", ordered


def _stored(conn: Any, table: str, columns: str, ids: Iterable[str]) -> list[Any]:
    """`columns` of the rows of `table` with these ids (those mirrored already)."""
    out: list[Any] = []
    for chunk in chunks(sorted({i for i in ids if i})):
        out += conn.execute(f"SELECT {columns} FROM {table} WHERE id IN ({marks(len(chunk))})", chunk).fetchall()
    return out


def _resolve(conn: Any, table: str, ids: Iterable[str]) -> dict[str, str]:
    """Books customer (or Desk account) id → its CRM account id, for those linked."""
    column = "account_id" if table == "books_customers" else "crm_account_id"
    return {r[0]: r[1] for r in _stored(conn, table, f"id, {column}", ids) if r[1]}


def touched(conn: Any, table: str, rows: Sequence[dict[str, Any]] | None = None, ids: Iterable[str] = ()) -> set[str]:
    """The CRM accounts whose aggregates change when `rows` are upserted into `table` (or the records `ids` are
    deleted from it): those the records belong to now and, for rows already mirrored, before. Call it before the
    write."""
    new = list(rows or [])
    keys = [r["id"] for r in new] + list(ids)
    if table == "deals":  # a deal names its CRM account itself
        owners = {r[0] or "" for r in _stored(conn, table, "account_id", keys)}
        return (owners | {r.get("account_id") or "" for r in new}) - {""}
    if table in _LINKED:
        via = _LINKED[table]
        old = [(r[0] or "", r[1] or "") for r in _stored(conn, table, f"account_id, {via}", keys)]
        pairs = old + [(r.get("account_id") or "", r.get(via) or "") for r in new]
        owner_table = "books_customers" if via == "customer_id" else "desk_accounts"
        links = _resolve(conn, owner_table, [link for account, link in pairs if not account])
        return {account or links.get(link, "") for account, link in pairs} - {""}
    if table in _LINKS:  # a re-link moves the records mirrored without an account between the two accounts
        column = _LINKS[table]
        before = _resolve(conn, table, [r["id"] for r in new])
        moved = {r["id"]: (r.get(column) or "", before.get(r["id"], "")) for r in new}
        moved = {link: pair for link, pair in moved.items() if pair[0] != pair[1]}
        carrying: set[str] = set()  # those some record mirrored without an account reaches (none when new)
        for records in ("invoices", "payments") if table == "books_customers" else ("tickets",):
            via = _LINKED[records]
            for chunk in chunks(sorted(moved)):
                sql = f"SELECT DISTINCT x.{via} FROM {records} x WHERE x.{via} IN ({marks(len(chunk))}) AND {_UNLINKED}"
                carrying |= {r[0] for r in conn.execute(sql, chunk).fetchall()}
        return {account for link in carrying for account in moved[link]} - {""}
    return set()


# ---- recomputing the rows ------------------------------------------------------------------------------------------


def _units(units: int | None) -> Decimal:
    return Decimal(units or 0).scaleb(-UNITS_SCALE)


class _Sums:
    __slots__ = (
        "codes", "outstanding", "billed", "first", "last", "late", "late_amount", "late_due", "owing",
        "owing_amount", "owing_due", "owing_last", "tickets", "count", "last_paid", "last_ticket", "pay_codes",
        "last_won", "last_deal", "last_closed",
    )  # fmt: skip

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.outstanding = self.billed = self.late_amount = self.owing_amount = Decimal(0)
        self.first: str | None = None
        self.last: str | None = None
        self.late = self.owing = 0
        self.late_due: str | None = None
        self.owing_due: str | None = None
        self.owing_last: str | None = None
        self.tickets = [0, 0, 0]
        self.count = 0
        self.last_paid: str | None = None
        self.last_ticket: str | None = None
        self.pay_codes: dict[str, int] = {}
        self.last_won: str | None = None
        self.last_deal: str | None = None
        self.last_closed: str | None = None

    def invoices(
        self,
        status: str,
        code: str,
        n: int,
        owed: Decimal,
        billed: Decimal,
        first: str | None,
        last: str | None,
        first_due: str | None,
        owing: int,
        owing_amount: Decimal,
        owing_due: str | None,
        owing_last: str | None,
    ) -> None:
        """Add `n` invoices of one status and currency: their balance, the totals of those dated (first and last
        date), the earliest due date, and of those with a due date that owe something: how many, their balance,
        their earliest and latest due date."""
        if status in EXCLUDED_INVOICE_STATUSES:
            return
        if code:
            self.codes[code.upper()] = self.codes.get(code.upper(), 0) + n
        self.count += n
        self.outstanding += owed
        if first is not None and last is not None:
            self.billed += billed
            self.first = first if self.first is None or first < self.first else self.first
            self.last = last if self.last is None or last > self.last else self.last
        if status in OVERDUE_STATUSES:
            self.late += n
            self.late_amount += owed
            if first_due is not None and (self.late_due is None or first_due < self.late_due):
                self.late_due = first_due
        elif status in DUE_STATUSES and owing and owing_due is not None and owing_last is not None:
            self.owing += owing
            self.owing_amount += owing_amount
            self.owing_due = owing_due if self.owing_due is None or owing_due < self.owing_due else self.owing_due
            self.owing_last = owing_last if self.owing_last is None or owing_last > self.owing_last else self.owing_last

    def empty(self) -> bool:
        """Nothing that any figure counts (no row is kept)."""
        return not (self.codes or self.count or self.pay_codes or self.last_paid or any(self.tickets)) and (
            self.last_ticket is None and self.last_won is None and self.last_deal is None and self.last_closed is None
        )

    def row(self, account: str) -> list[Any]:
        code = _currency(self.codes, self.pay_codes)
        return [
            account, code, str(self.outstanding), str(self.billed), self.first, self.last, self.late,
            str(self.late_amount), self.late_due, self.owing, str(self.owing_amount), self.owing_due,
            self.owing_last, *self.tickets, self.count, self.last_paid, self.last_ticket,
            json.dumps(self.codes, sort_keys=True), json.dumps(self.pay_codes, sort_keys=True), self.last_won,
            self.last_deal, self.last_closed,
        ]  # fmt: skip


def _currency(invoice_codes: dict[str, int], payment_codes: dict[str, int]) -> str:
    """The main currency over counting invoices and payments (`main_code`)."""
    codes = dict(invoice_codes)
    for code, n in payment_codes.items():
        codes[code] = codes.get(code, 0) + n
    return main_code(codes)


_OWING = "x.due_date IS NOT NULL AND x.balance_units > 0"
# Per account, status and currency, summed as integer units (bot/store/rows.py); `inexact` counts the amounts
# that have none (too precise or too large), whose account is then added up invoice by invoice from exact text.
_GROUPS = (
    "x.status_key, x.currency, COUNT(*), SUM(x.balance_units), "
    "SUM(CASE WHEN x.date IS NOT NULL THEN x.total_units ELSE 0 END), "
    "SUM(CASE WHEN x.total_units IS NULL OR x.balance_units IS NULL THEN 1 ELSE 0 END), MIN(x.date), MAX(x.date), "
    f"MIN(x.due_date), SUM(CASE WHEN {_OWING} THEN 1 ELSE 0 END), "
    f"SUM(CASE WHEN {_OWING} THEN x.balance_units ELSE 0 END), MIN(CASE WHEN {_OWING} THEN x.due_date END), "
    f"MAX(CASE WHEN {_OWING} THEN x.due_date END)"
)
_ONE_BY_ONE = "x.status_key, x.currency, x.date, x.due_date, x.total, x.balance"


def records_of(
    conn: Any,
    table: str,
    ids: list[str],
    columns: str,
    params: list[Any],
    where: str = "",
    by: str | None = None,
    where_params: Sequence[Any] = (),
) -> list[Any]:
    """(account, `columns`…) over the records of `table` of the accounts `ids` (at most one IN list), those mirrored
    without an account found through the Books customers / Desk accounts linked to them (a sync stores every
    invoice, payment and ticket so: looked up by link, never scanned), grouped by account and `by` when given.
    `params` fill `columns`, `where_params` the condition `where` (" AND …") adds."""
    group = "" if by is None else f" GROUP BY x.account_id{by}"
    rows: list[Any] = conn.execute(
        f"SELECT x.account_id, {columns} FROM {table} x WHERE x.account_id IN ({marks(len(ids))}){where}{group}",
        [*params, *ids, *where_params],
    ).fetchall()
    owner = "books_customers" if table != "tickets" else "desk_accounts"
    links: dict[str, str] = {}
    sql = f"SELECT id, {_LINKS[owner]} FROM {owner} WHERE {_LINKS[owner]} IN ({marks(len(ids))})"
    links.update((r[0], r[1]) for r in conn.execute(sql, ids).fetchall())
    via = _LINKED[table]
    group = "" if by is None else f" GROUP BY x.{via}{by}"
    for chunk in chunks(sorted(links)):
        found = conn.execute(
            f"SELECT x.{via}, {columns} FROM {table} x WHERE x.{via} IN ({marks(len(chunk))}) AND {_UNLINKED}"
            f"{where}{group}",
            [*params, *chunk, *where_params],
        ).fetchall()
        rows += [(links[r[0]], *r[1:]) for r in found]
    return rows


def _invoices(conn: Any, ids: list[str], columns: str, group: bool) -> list[Any]:
    """Rows of `columns` over the counting kind of the accounts' invoices, grouped by status and currency or not."""
    by = ", x.status_key, x.currency" if group else None
    return records_of(conn, "invoices", ids, columns, [], " AND x.kind = 'invoice'", by)


def _sums(conn: Any, ids: list[str], parts: Iterable[str] = PARTS) -> dict[str, _Sums]:
    """The aggregates of the accounts `ids` (at most one IN list), from their records: only `parts` of them."""
    out: dict[str, _Sums] = {}
    groups = _invoices(conn, ids, _GROUPS, group=True) if "invoices" in parts else []
    inexact = {g[0] for g in groups if g[6]}
    for (
        account,
        status,
        code,
        n,
        owed,
        billed,
        _,
        first,
        last,
        first_due,
        owing,
        owing_units,
        owing_due,
        last_due,
    ) in groups:
        if not inexact or account not in inexact:
            s = out.setdefault(account, _Sums())
            s.invoices(status or "", code or "", int(n), _units(owed), _units(billed), first, last, first_due,
                       int(owing or 0), _units(owing_units), owing_due, last_due)  # fmt: skip
    one_by_one = _invoices(conn, sorted(inexact), _ONE_BY_ONE, group=False) if inexact else []
    for account, status, code, day, due, total, balance in one_by_one:
        s = out.setdefault(account, _Sums())
        owed = Decimal(balance or 0)
        owes = due is not None and owed > 0
        s.invoices(status or "", code or "", 1, owed, Decimal(total or 0), day, day, due, int(owes),
                   owed if owes else Decimal(0), due if owes else None, due if owes else None)  # fmt: skip
    pays = []
    if "payments" in parts:
        pays = records_of(conn, "payments", ids, "x.currency, COUNT(*), MAX(x.date)", [], by=", x.currency")
    for account, code, n, day in pays:
        s = out.setdefault(account, _Sums())
        if code:
            s.pay_codes[code.upper()] = s.pay_codes.get(code.upper(), 0) + int(n)
        if day is not None and (s.last_paid is None or day > s.last_paid):
            s.last_paid = day
    closed = sorted(CLOSED_TICKET_TYPES)
    shut = f"x.status_key NOT IN ({marks(len(closed))})"  # open; every ticket counts as activity
    counts = (
        f"SUM(CASE WHEN {shut} THEN 1 ELSE 0 END), SUM(CASE WHEN {shut} THEN x.escalated ELSE 0 END), "
        f"SUM(CASE WHEN {shut} THEN COALESCE(x.past_due, 0) ELSE 0 END), MAX(x.created_utc), MAX(x.modified_utc)"
    )
    tickets = records_of(conn, "tickets", ids, counts, [*closed, *closed, *closed], by="") if "tickets" in parts else []
    for account, n, escalated, past_due, created, modified in tickets:
        s = out.setdefault(account, _Sums())
        for k, v in enumerate((n, escalated, past_due)):
            s.tickets[k] += int(v or 0)
        for instant in (created, modified):
            if instant is not None and (s.last_ticket is None or instant > s.last_ticket):
                s.last_ticket = instant
    if "deals" in parts:
        for account, won, created, modified, closed in _deals(conn, ids):
            s = out.setdefault(account, _Sums())
            s.last_won = won
            s.last_deal = max((i for i in (created, modified) if i is not None), default=None)
            s.last_closed = closed
    return out


def _deals(conn: Any, ids: list[str]) -> list[Any]:
    """(account, latest closing date of a won deal, latest deal instant created, changed, latest closing date of a
    closed deal) as `bot.account.health.is_won_deal` / `is_closed_deal` count them, per account."""
    won = sorted(WON_STAGES)
    closed, shut = closed_deal("x", CLOSED_STAGES | WON_STAGES)
    sql = (
        f"SELECT x.account_id, MAX(CASE WHEN x.stage_key IN ({marks(len(won))}) THEN x.closing_date END), "
        f"MAX(x.created_utc), MAX(x.modified_utc), MAX(CASE WHEN {closed} THEN x.closing_date END) "
        f"FROM deals x WHERE x.account_id IN ({marks(len(ids))}) GROUP BY x.account_id"
    )
    return conn.execute(sql, [*won, *shut, *ids]).fetchall()  # type: ignore[no-any-return]


_COLUMNS_OF = {
    "invoices": [*range(2, 13), COLUMNS.index("invoices"), COLUMNS.index("invoice_codes")],
    "payments": [COLUMNS.index("last_paid"), COLUMNS.index("payment_codes")],
    "tickets": [*range(13, 16), COLUMNS.index("last_ticket")],
    "deals": [COLUMNS.index("last_won"), COLUMNS.index("last_deal"), COLUMNS.index("last_closed")],
}


def _merged(fresh: list[Any], stored: Any, parts: Sequence[str]) -> list[Any] | None:
    """`fresh` (a row with `parts` recomputed) with the other parts' columns from `stored` (None: no row), its
    main currency worked out again from both; None when nothing in it counts."""
    row = list(fresh)
    if stored is not None:
        for part in PARTS:
            if part not in parts:
                for k in _COLUMNS_OF[part]:
                    row[k] = stored[k]
    got = dict(zip(COLUMNS, row, strict=True))
    if not (got["invoices"] or got["invoice_codes"] != "{}" or got["payment_codes"] != "{}" or got["last_paid"]):
        if not (got["open_tickets"] or got["escalated"] or got["past_due"]) and got["last_ticket"] is None:
            if got["last_won"] is None and got["last_deal"] is None and got["last_closed"] is None:
                return None  # as `_Sums.empty`
    row[1] = _currency(json.loads(got["invoice_codes"]), json.loads(got["payment_codes"]))
    return row


def refresh(conn: Any, account_ids: Iterable[str], table: str = "") -> None:
    """Recompute the rows of these accounts (inside the caller's write transaction): the part that records of
    `table` feed from those records, the rest as stored (every part when no table is given). An account with
    nothing that counts keeps no row. `conn` needs only `execute` (a migration's works)."""
    parts = _PARTS_OF.get(table, PARTS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    for chunk in chunks(sorted({a for a in account_ids if a})):
        where = f"account_id IN ({marks(len(chunk))})"
        # The rows locked before their records are read: on PostgreSQL a concurrent write recomputing the same
        # accounts commits first, and what it committed is read below (SQLite has one writer). An account with no
        # row yet gets an empty one first, so that two writers of its first records queue here too (an empty row
        # is what no row means; it is replaced or deleted below).
        for start in range(0, len(chunk), _ROWS_PER_INSERT):
            few = chunk[start : start + _ROWS_PER_INSERT]
            conn.execute(
                f"INSERT INTO account_health ({', '.join(COLUMNS)}) VALUES "
                f"{', '.join(f'({marks(len(COLUMNS))})' for _ in few)} ON CONFLICT (account_id) DO NOTHING",
                [v for a in few for v in _Sums().row(a)],
            )
        conn.execute(f"UPDATE account_health SET account_id = account_id WHERE {where}", chunk)
        sums = _sums(conn, chunk, parts)
        rows = [sums[a].row(a) for a in chunk if a in sums and not sums[a].empty()]
        if len(parts) < len(PARTS):  # the other parts' columns as stored
            sql = f"SELECT {', '.join(COLUMNS)} FROM account_health WHERE {where}"
            stored = {r[0]: r for r in conn.execute(sql, chunk).fetchall()}
            if stored:  # accounts without a row have nothing in the other parts: their fresh row stands
                fresh = {r[0]: r for r in rows}
                rows = [r for r in rows if r[0] not in stored]
                for a, old in stored.items():
                    row = _merged(fresh.get(a) or _Sums().row(a), old, parts)
                    if row is not None:
                        rows.append(row)
        conn.execute(f"DELETE FROM account_health WHERE {where}", chunk)
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part = rows[start : start + _ROWS_PER_INSERT]
            values = ", ".join(f"({marks(len(COLUMNS))})" for _ in part)
            conn.execute(  # a row another writer created meanwhile (none existed to lock) is overwritten
                f"INSERT INTO account_health ({', '.join(COLUMNS)}) VALUES {values} "
                f"ON CONFLICT (account_id) DO UPDATE SET {updates}",
                [v for r in part for v in r],
            )


def loading(conn: Any) -> bool:
    """Whether a first sync is loading the mirror (then the aggregates are built when it ends, not at each write)."""
    return conn.execute("SELECT 1 FROM watermarks WHERE name = ?", [LOADING]).fetchone() is not None


def rebuild(conn: Any) -> None:
    """Every row afresh from the records (the end of a first sync's load; the migration's backfill)."""
    conn.execute("DELETE FROM account_health")
    refresh(conn, every_account(conn))


@contextmanager
def kept(
    conn: Any, table: str, rows: Sequence[dict[str, Any]] | None = None, ids: Iterable[str] = ()
) -> Iterator[None]:
    """Around a write to `table` (upserting `rows` or deleting the records `ids`), in its transaction: the rows of
    the accounts the records belong to before and after are recomputed once it is done (not while a first sync
    loads: `rebuild` at its end)."""
    if loading(conn):
        yield
        return
    accounts = touched(conn, table, rows, ids)
    yield
    refresh(conn, accounts, table)


def every_account(conn: Any) -> set[str]:
    """Every CRM account some deal, invoice, payment or ticket reaches (the migration's backfill)."""
    sql = (
        "SELECT account_id FROM invoices UNION SELECT account_id FROM payments UNION SELECT account_id FROM tickets "
        "UNION SELECT account_id FROM books_customers UNION SELECT crm_account_id FROM desk_accounts "
        "UNION SELECT account_id FROM deals"
    )
    return {r[0] for r in conn.execute(sql).fetchall() if r[0]}
