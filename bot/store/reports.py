"""The queries behind reports and digests: SQL over the typed columns picks the few records a report needs (and
counts what it can), so no report decodes the whole mirror. The rules themselves stay pure in bot/reports and
bot/health; each method here selects a superset of the records those rules would keep, never fewer.

Label sets arrive folded as bot.health folds them (`stage_key`, `status_key` hold the folded labels); dates are
ISO text and instants fixed-width UTC text (bot/store/rows.py), so comparisons are plain text comparisons on any
engine. Sums of money are in bot/store/reports_money.py (exact integer units; a float SUM would lose cents).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from bot.account.health import HealthRules
from bot.models import Account, Deal, Invoice, Payment, Ticket
from bot.store.engine import Engine, chunks, marks
from bot.store.mirror import MirrorRecords

# The CRM account a record belongs to: its own, else its Books customer's or Desk account's link.
BOOKS_ACCOUNT = "CASE WHEN COALESCE(x.account_id, '') <> '' THEN x.account_id ELSE COALESCE(c.account_id, '') END"
DESK_ACCOUNT = "CASE WHEN COALESCE(x.account_id, '') <> '' THEN x.account_id ELSE COALESCE(l.crm_account_id, '') END"
_FROM = {
    "deals": ("deals x", "COALESCE(x.account_id, '')"),
    "invoices": ("invoices x LEFT JOIN books_customers c ON c.id = x.customer_id", BOOKS_ACCOUNT),
    "payments": ("payments x LEFT JOIN books_customers c ON c.id = x.customer_id", BOOKS_ACCOUNT),
    "tickets": ("tickets x LEFT JOIN desk_accounts l ON l.id = x.desk_account_id", DESK_ACCOUNT),
}
_MODEL: dict[str, type[BaseModel]] = {"deals": Deal, "invoices": Invoice, "payments": Payment, "tickets": Ticket}


def _in(column: str, values: Collection[str], *, negate: bool = False) -> tuple[str, list[str]]:
    """`column IN (…)` (or NOT IN) with its parameters; an empty set matches nothing (or everything)."""
    if not values:
        return ("1 = 1" if negate else "1 = 0"), []
    return f"{column} {'NOT IN' if negate else 'IN'} ({marks(len(values))})", sorted(values)


def billed(excluded: Collection[str]) -> tuple[str, list[str]]:
    """Invoices that count (bot.health.is_billed)."""
    sql, params = _in("x.status_key", excluded, negate=True)
    return f"x.kind = 'invoice' AND {sql}", params


def overdue_candidates(
    today: str, excluded: Collection[str], overdue: Collection[str], due: Collection[str]
) -> tuple[str, list[str]]:
    """Invoices bot.health.is_overdue may call overdue (it checks the balance itself)."""
    bill, p1 = billed(excluded)
    late, p2 = _in("x.status_key", overdue)
    owing, p3 = _in("x.status_key", due)
    return f"{bill} AND ({late} OR ({owing} AND x.due_date < ?))", [*p1, *p2, *p3, today]


# ---- what a report reads: per table, conditions whose union `ReportQueries.select` reads ---------------------

Wants = dict[str, list[tuple[str, list[Any]]]]


def merge(*wants: Wants) -> Wants:
    out: Wants = {}
    for want in wants:
        for table, conditions in want.items():
            out.setdefault(table, []).extend(conditions)
    return out


def _won(rules: HealthRules, first: str, last: str, alias: str = "x") -> tuple[str, list[Any]]:
    sql, params = _in(f"{alias}.stage_key", rules.won_stages)
    return f"{sql} AND {alias}.closing_date BETWEEN ? AND ?", [*params, first, last]


def _open(rules: HealthRules) -> tuple[str, list[Any]]:
    return _in("x.status_key", rules.closed_ticket_types, negate=True)


def revenue_wants(rules: HealthRules, first: str, last: str) -> Wants:
    """Won deals closed, counting invoices dated and payments made from `first` to `last`."""
    bill, params = billed(rules.excluded_invoice_statuses)
    return {
        "deals": [_won(rules, first, last)],
        "invoices": [(f"{bill} AND x.date BETWEEN ? AND ?", [*params, first, last])],
        "payments": [("x.date BETWEEN ? AND ?", [first, last])],
    }


def overdue_wants(rules: HealthRules, today: str, *, due_from: str = "") -> Wants:
    """Invoices that may be overdue today (only those falling due from `due_from` on, when given)."""
    sql, params = overdue_candidates(today, rules.excluded_invoice_statuses, rules.overdue_statuses, rules.due_statuses)
    if due_from:
        sql, params = f"{sql} AND x.due_date >= ? AND x.due_date < ?", [*params, due_from, today]
    return {"invoices": [(sql, params)]}


def payments_wants(day: str) -> Wants:
    return {"payments": [("x.date = ?", [day])]}


def _currencies(table: str) -> str:
    """`WITH` the table `c(code)` of the distinct non-empty currencies of `table` (and a last NULL): each found by
    one seek in its currency index, after the one before."""
    return (
        f"WITH RECURSIVE c(code) AS (SELECT MIN(y.currency) FROM {table} y WHERE y.currency > '' UNION ALL "
        f"SELECT (SELECT MIN(y.currency) FROM {table} y WHERE y.currency > c.code) FROM c WHERE c.code IS NOT NULL)"
    )


class ReportQueries:
    """Reads for reports and digests; every method reads on a reader connection (one snapshot per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- records ----------------------------------------------------------------------------------------

    def _records(self, conn: Any, table: str, where: str, params: Sequence[Any]) -> list[Any]:
        source, account = _FROM[table]
        rows = conn.execute(f"SELECT x.data, {account} FROM {source} WHERE {where}", list(params)).fetchall()
        validate = _MODEL[table].model_validate_json
        out: list[Any] = []
        for data, account_id in rows:
            record: Any = validate(data)
            if not record.account_id:
                record.account_id = account_id
            out.append(record)
        return out

    def _by_ids(self, conn: Any, table: str, column: str, ids: Iterable[str]) -> list[Any]:
        out: list[Any] = []
        for chunk in chunks(sorted({i for i in ids if i})):
            out += self._records(conn, table, f"x.{column} IN ({marks(len(chunk))})", chunk)
        return out

    def _accounts(self, conn: Any, ids: Iterable[str]) -> list[Account]:
        out: list[Account] = []
        for chunk in chunks(sorted({i for i in ids if i})):
            sql = f"SELECT data FROM accounts WHERE id IN ({marks(len(chunk))})"
            out += [Account.model_validate_json(row[0]) for row in conn.execute(sql, chunk).fetchall()]
        return out

    def select(self, wanted: Wants, *, deal_ids: Iterable[str] = (), account_ids: Iterable[str] = ()) -> MirrorRecords:
        """The records of each table matching any of its `(where, params)` conditions (on `x`, the table), the
        deals with `deal_ids` or linked to a selected invoice, and every account those records (or
        `account_ids`) belong to, in one snapshot."""
        out = MirrorRecords()
        with self.engine.read() as conn:
            for table, conditions in wanted.items():
                if conditions:
                    where = " OR ".join(f"({sql})" for sql, _ in conditions)
                    params = [p for _, ps in conditions for p in ps]
                    setattr(out, table, self._records(conn, table, where, params))
            known = {d.id for d in out.deals}
            linked = set(deal_ids) | {i.deal_id for i in out.invoices}
            out.deals += self._by_ids(conn, "deals", "id", linked - known)
            owners = {r.account_id for table in _MODEL for r in getattr(out, table)}
            out.accounts = self._accounts(conn, owners | set(account_ids))
            if wanted.get("tickets"):  # Desk accounts name unlinked tickets; nothing else needs them
                out.desk_links = {
                    row[0]: (row[1] or "", row[2] or "")
                    for row in conn.execute("SELECT id, crm_account_id, name FROM desk_accounts").fetchall()
                }
        return out

    # ---- figures ----------------------------------------------------------------------------------------

    def currency_counts(self, won: Collection[str], excluded: Collection[str]) -> Counter[str]:
        """How many won deals, counting invoices and payments carry each currency (for the org currency).

        Invoices and payments (tens of thousands) are counted as index ranges, not row by row: their few
        currencies are found by seeking from one to the next (`_currencies`), then counted by ranges of the
        currency index (`report_money_invoice_currency`, `report_money_payment_currency`). The range of the
        currency most won deals carry (nearly always the most common: the longest range) is not read: its count
        is the table's (which SQLite counts by pages, not rows) less every other currency's and the records
        without one; only what of it does not count (excluded statuses, other kinds) is read."""
        won_sql, p_won = _in("x.stage_key", won)
        left_out, p_out = _in("x.status_key", excluded)
        counts: Counter[str] = Counter()
        with self.engine.read() as conn:
            sql = (
                f"SELECT x.currency, COUNT(*) FROM deals x WHERE {won_sql} AND COALESCE(x.currency, '') <> '' "
                "GROUP BY x.currency"
            )
            deals = {row[0]: int(row[1]) for row in conn.execute(sql, p_won).fetchall()}
            counts.update(deals)
            invoices = "FROM invoices x WHERE x.currency = ? AND x.kind"
            not_counting = (  # of one currency: other kinds (or none), excluded statuses or none
                f"SELECT (SELECT COUNT(*) {invoices} < 'invoice') + (SELECT COUNT(*) {invoices} > 'invoice') "
                f"+ (SELECT COUNT(*) {invoices} IS NULL) + (SELECT COUNT(*) {invoices} = 'invoice' AND {left_out}) "
                f"+ (SELECT COUNT(*) {invoices} = 'invoice' AND x.status_key IS NULL)"
            )
            for table, left in (("invoices", not_counting), ("payments", "")):
                codes = [row[0] for row in conn.execute(f"{_currencies(table)} SELECT c.code FROM c").fetchall()]
                codes = [code for code in codes if code is not None]
                if not codes:
                    continue
                derived = max(codes, key=lambda code: (deals.get(code, 0), code))
                without = f"(SELECT COUNT(*) FROM {table} x WHERE x.currency IS NULL OR x.currency = '')"
                rest = conn.execute(f"SELECT (SELECT COUNT(*) FROM {table}) - {without}").fetchone()[0]
                found: dict[str, int] = {}
                for code in codes:
                    if code != derived:
                        found[code] = int(
                            conn.execute(f"SELECT COUNT(*) FROM {table} x WHERE x.currency = ?", [code]).fetchone()[0]
                        )
                        rest -= found[code]
                found[derived] = int(rest)
                for code, n in found.items():
                    if left:
                        n -= int(conn.execute(left, [code, code, code, code, *p_out, code]).fetchone()[0])
                    if n:
                        counts[code] += n
        return counts

    # ---- revenue, counted without decoding a record ----------------------------------------------

    def _map(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> dict[str, Any]:
        return {row[0]: tuple(row[1:]) for row in conn.execute(sql, list(params)).fetchall()}

    def revenue_rows(self, rules: HealthRules, first: str, last: str) -> dict[str, Any]:
        """The period's amounts as rows: sold (won deals by closing date), invoiced (counting invoices by date),
        collected (payments by date), and the maps that resolve their accounts and owners. Every read is one
        covering index (no wide row is touched); links are resolved in Python (the maps are small)."""
        won_sql, p_won = _in("x.stage_key", rules.won_stages)
        bill_sql, p_bill = billed(rules.excluded_invoice_statuses)
        with self.engine.read() as conn:
            out: dict[str, Any] = {
                "sold": conn.execute(
                    "SELECT x.closing_date, x.amount, x.currency, x.account_id, x.owner_name, x.owner_email "
                    f"FROM deals x WHERE {won_sql} AND x.closing_date BETWEEN ? AND ? AND x.amount IS NOT NULL",
                    [*p_won, first, last],
                ).fetchall(),
                "invoiced": conn.execute(
                    "SELECT x.date, x.total, x.currency, x.account_id, x.customer_id, x.deal_id FROM invoices x "
                    f"WHERE {bill_sql} AND x.date BETWEEN ? AND ?",
                    [*p_bill, first, last],
                ).fetchall(),
                "collected": conn.execute(
                    "SELECT x.date, x.amount, x.currency, x.account_id, x.customer_id FROM payments x "
                    "WHERE x.date BETWEEN ? AND ?",
                    [first, last],
                ).fetchall(),
                "accounts": self._map(conn, "SELECT id, currency, owner_name, owner_email FROM accounts"),
                "customers": self._map(conn, "SELECT id, account_id FROM books_customers"),
                "deal_owners": self._map(conn, "SELECT id, owner_name, owner_email FROM deals"),
            }
        return out
