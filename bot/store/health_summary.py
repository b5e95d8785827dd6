"""Per-account health aggregates kept at write time (`account_health`), so that renewals and the Home tab read one
small row per account instead of grouping every invoice, payment and ticket.

A row holds what does not depend on the day: the main currency (most common over counting invoices and payments,
ties A–Z), the outstanding balance, the totals of dated counting invoices with their first and last date, invoices
with an overdue status (count, balance, earliest due date), invoices with a due status that still owe something and
have a due date (count, balance, earliest and latest due date), and open / open escalated / open past-due tickets.
What depends on the day is worked out when reading (bot/store/reports_accounts.py `health_summaries`): the 12-month
billing is the stored total when every dated invoice falls in the window, overdue invoices are those with an
overdue status plus the owing ones when all or none are past due; otherwise the reader asks the invoices.

Rows are kept right by the mirror's writes (bot/store/mirror.py): every upsert or delete of an invoice, payment or
ticket recomputes the rows of the accounts it belonged to before and after (records mirrored without a CRM account
reach it through their Books customer / Desk account), and re-linking a Books customer or Desk account recomputes
the accounts its unlinked records move between. The status sets are the health rule's own (bot/account/health.py);
a report whose rules count other statuses (`fits`) reads the records instead. Amounts are exact decimal text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from bot.account.health import (
    CLOSED_TICKET_TYPES,
    DUE_STATUSES,
    EXCLUDED_INVOICE_STATUSES,
    OVERDUE_STATUSES,
    HealthRules,
)
from bot.store.engine import chunks, marks
from bot.store.rows import UNITS_SCALE

COLUMNS = (
    "account_id", "currency", "outstanding", "billed", "first_billed", "last_billed", "late", "late_amount",
    "late_due", "owing", "owing_amount", "owing_due", "owing_last_due", "open_tickets", "escalated", "past_due",
)  # fmt: skip
_UNLINKED = "(x.account_id = '' OR x.account_id IS NULL)"
_ROWS_PER_INSERT = 40  # 16 columns each: well under any engine's parameter limit
# The tables whose writes change the aggregates, and how their rows reach a CRM account.
_LINKED = {"invoices": "customer_id", "payments": "customer_id", "tickets": "desk_account_id"}
_LINKS = {
    "books_customers": ("account_id", ("invoices", "payments")),
    "desk_accounts": ("crm_account_id", ("tickets",)),
}


def fits(rules: HealthRules) -> bool:
    """Whether `rules` count invoices and tickets as the stored aggregates do."""
    return (
        rules.excluded_invoice_statuses == EXCLUDED_INVOICE_STATUSES
        and rules.overdue_statuses == OVERDUE_STATUSES
        and rules.due_statuses == DUE_STATUSES
        and rules.closed_ticket_types == CLOSED_TICKET_TYPES
    )


# ---- which accounts a write touches ------------------------------------------------------------------------------


def _resolve(conn: Any, table: str, ids: Iterable[str]) -> dict[str, str]:
    """Books customer (or Desk account) id → its CRM account id, for those linked."""
    column = "account_id" if table == "books_customers" else "crm_account_id"
    out: dict[str, str] = {}
    for chunk in chunks(sorted({i for i in ids if i})):
        sql = f"SELECT id, {column} FROM {table} WHERE id IN ({marks(len(chunk))})"
        out.update((r[0], r[1]) for r in conn.execute(sql, chunk).fetchall() if r[1])
    return out


def touched(conn: Any, table: str, rows: Sequence[dict[str, Any]] | None = None, ids: Iterable[str] = ()) -> set[str]:
    """The CRM accounts whose aggregates change when `rows` are upserted into `table` (or the records `ids` are
    deleted from it): those the records belong to now and, for rows already mirrored, before. Call it before the
    write."""
    new = list(rows or [])
    if table in _LINKED:
        via = _LINKED[table]
        keys = [r["id"] for r in new] + list(ids)
        old: list[tuple[str, str]] = []
        for chunk in chunks(keys):
            sql = f"SELECT account_id, {via} FROM {table} WHERE id IN ({marks(len(chunk))})"
            old += [(r[0] or "", r[1] or "") for r in conn.execute(sql, chunk).fetchall()]
        pairs = old + [(r.get("account_id") or "", r.get(via) or "") for r in new]
        owner_table = "books_customers" if via == "customer_id" else "desk_accounts"
        links = _resolve(conn, owner_table, [link for account, link in pairs if not account])
        return {account or links.get(link, "") for account, link in pairs} - {""}
    if table in _LINKS:  # a re-link moves the records mirrored without an account between accounts
        column, tables = _LINKS[table]
        via = _LINKED[tables[0]]
        unlinked: set[str] = set()
        for records in tables:
            sql = f"SELECT DISTINCT x.{via} FROM {records} x WHERE {_UNLINKED}"
            unlinked |= {r[0] for r in conn.execute(sql).fetchall() if r[0]}
        moved = [r for r in new if r["id"] in unlinked]
        if not moved:
            return set()
        before = _resolve(conn, table, [r["id"] for r in moved])
        out = set()
        for r in moved:
            if (r.get(column) or "") != before.get(r["id"], ""):
                out |= {r.get(column) or "", before.get(r["id"], "")}
        return out - {""}
    return set()


# ---- recomputing the rows ------------------------------------------------------------------------------------------


def _units(units: int | None, text: str | None) -> Decimal:
    return Decimal(units).scaleb(-UNITS_SCALE) if units is not None else Decimal(text or 0)


class _Sums:
    __slots__ = (
        "codes", "outstanding", "billed", "first", "last", "late", "late_amount", "late_due", "owing",
        "owing_amount", "owing_due", "owing_last", "tickets",
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

    def invoice(self, status: str, code: str, day: str | None, due: str | None, total: Decimal, owed: Decimal) -> None:
        if status in EXCLUDED_INVOICE_STATUSES:
            return
        if code:
            self.codes[code.upper()] = self.codes.get(code.upper(), 0) + 1
        self.outstanding += owed
        if day is not None:
            self.billed += total
            self.first = day if self.first is None or day < self.first else self.first
            self.last = day if self.last is None or day > self.last else self.last
        if status in OVERDUE_STATUSES:
            self.late += 1
            self.late_amount += owed
            if due is not None and (self.late_due is None or due < self.late_due):
                self.late_due = due
        elif status in DUE_STATUSES and due is not None and owed > 0:
            self.owing += 1
            self.owing_amount += owed
            self.owing_due = due if self.owing_due is None or due < self.owing_due else self.owing_due
            self.owing_last = due if self.owing_last is None or due > self.owing_last else self.owing_last

    def row(self, account: str) -> list[Any]:
        code = min(self.codes.items(), key=lambda kv: (-kv[1], kv[0]))[0] if self.codes else ""
        return [
            account, code, str(self.outstanding), str(self.billed), self.first, self.last, self.late,
            str(self.late_amount), self.late_due, self.owing, str(self.owing_amount), self.owing_due,
            self.owing_last, *self.tickets,
        ]  # fmt: skip


def _sums(conn: Any, ids: list[str]) -> dict[str, _Sums]:
    """The aggregates of the accounts `ids` (at most one IN list), from their records."""
    wanted = set(ids)
    out: dict[str, _Sums] = {}
    m = marks(len(ids))
    # the exact text of a total only when it has no units: SQLite reads the wide row for those alone
    cols = (
        "x.status_key, x.currency, x.date, x.due_date, x.total_units, CASE WHEN x.total_units IS NULL THEN x.total "
        "END, x.balance_units, x.balance"
    )
    rows = conn.execute(
        f"SELECT x.account_id, {cols} FROM invoices x WHERE x.account_id IN ({m}) AND x.kind = 'invoice'", ids
    ).fetchall()
    rows += [
        r
        for r in conn.execute(
            f"SELECT c.account_id, {cols} FROM invoices x JOIN books_customers c ON c.id = x.customer_id "
            f"WHERE {_UNLINKED} AND x.kind = 'invoice'"
        ).fetchall()
        if r[0] in wanted
    ]
    for account, status, code, day, due, total_units, total, balance_units, balance in rows:
        s = out.get(account) or out.setdefault(account, _Sums())
        s.invoice(status or "", code or "", day, due, _units(total_units, total), _units(balance_units, balance))
    pays = conn.execute(
        f"SELECT x.account_id, x.currency, COUNT(*) FROM payments x WHERE x.account_id IN ({m}) "
        "GROUP BY x.account_id, x.currency",
        ids,
    ).fetchall()
    pays += [
        r
        for r in conn.execute(
            "SELECT c.account_id, x.currency, COUNT(*) FROM payments x JOIN books_customers c ON c.id = x.customer_id "
            f"WHERE {_UNLINKED} GROUP BY c.account_id, x.currency"
        ).fetchall()
        if r[0] in wanted
    ]
    for account, code, n in pays:
        s = out.get(account) or out.setdefault(account, _Sums())
        if code:
            s.codes[code.upper()] = s.codes.get(code.upper(), 0) + int(n)
    closed = sorted(CLOSED_TICKET_TYPES)
    shut = f"x.status_key NOT IN ({marks(len(closed))})"
    counts = "COUNT(*), SUM(x.escalated), SUM(COALESCE(x.past_due, 0))"
    tickets = conn.execute(
        f"SELECT x.account_id, {counts} FROM tickets x WHERE x.account_id IN ({m}) AND {shut} GROUP BY x.account_id",
        [*ids, *closed],
    ).fetchall()
    tickets += [
        r
        for r in conn.execute(
            f"SELECT l.crm_account_id, {counts} FROM tickets x JOIN desk_accounts l ON l.id = x.desk_account_id "
            f"WHERE {_UNLINKED} AND {shut} GROUP BY l.crm_account_id",
            closed,
        ).fetchall()
        if r[0] in wanted
    ]
    for account, n, escalated, past_due in tickets:
        s = out.get(account) or out.setdefault(account, _Sums())
        for k, v in enumerate((n, escalated, past_due)):
            s.tickets[k] += int(v or 0)
    return out


def refresh(conn: Any, account_ids: Iterable[str]) -> None:
    """Recompute the rows of these accounts from their records (inside the caller's write transaction); an account
    with no invoice, payment or ticket keeps no row. `conn` needs only `execute` (a migration's works)."""
    for chunk in chunks(sorted({a for a in account_ids if a})):
        sums = _sums(conn, chunk)
        conn.execute(f"DELETE FROM account_health WHERE account_id IN ({marks(len(chunk))})", chunk)
        rows = [sums[a].row(a) for a in chunk if a in sums]
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part = rows[start : start + _ROWS_PER_INSERT]
            values = ", ".join(f"({marks(len(COLUMNS))})" for _ in part)
            conn.execute(
                f"INSERT INTO account_health ({', '.join(COLUMNS)}) VALUES {values}", [v for r in part for v in r]
            )


def every_account(conn: Any) -> set[str]:
    """Every CRM account some invoice, payment or ticket reaches (the migration's backfill)."""
    sql = (
        "SELECT account_id FROM invoices UNION SELECT account_id FROM payments UNION SELECT account_id FROM tickets "
        "UNION SELECT account_id FROM books_customers UNION SELECT crm_account_id FROM desk_accounts"
    )
    return {r[0] for r in conn.execute(sql).fetchall() if r[0]}
