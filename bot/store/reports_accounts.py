"""Per-account queries behind renewals, the Home tab and the support and sales digests: SQL over typed columns
returns small rows (counts, dates, exact amounts as text) per account, and the rules stay in Python
(bot/account/health.py `health_figures`, `verdict`; bot/reports/retention.py). No `data` column is read here
except to decode the few records a message shows.

Records mirrored without a CRM account reach it through their Books customer (invoices, payments) or Desk account
(tickets), as in bot/store/reports.py. Label sets arrive folded; dates are ISO text and instants fixed-width UTC
text (bot/store/rows.py), so every comparison is a text comparison on either engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from bot.account.health import HealthRules
from bot.store.engine import Engine, chunks, marks
from bot.store.reports import BOOKS_ACCOUNT, DESK_ACCOUNT, _in, billed, overdue_candidates

AccountRow = tuple[str, str, str, str]  # id, name, owner name, owner email as given
_ACCOUNT = "a.id, COALESCE(a.name, ''), COALESCE(a.owner_name, ''), COALESCE(a.owner_address, '')"
_UNLINKED = "COALESCE(x.account_id, '') = ''"


def _closed(rules: HealthRules, alias: str) -> tuple[str, list[str]]:
    """Deals bot.health.is_closed_deal calls closed."""
    sql, params = _in(f"{alias}.stage_key", rules.closed_stages | rules.won_stages)
    return f"({sql} OR {alias}.stage_key LIKE 'closed%')", params


def _open_tickets(rules: HealthRules) -> tuple[str, list[str]]:
    return _in("x.status_key", rules.closed_ticket_types, negate=True)


class AccountQueries:
    """Reads on a reader connection, one snapshot per call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- accounts ----------------------------------------------------------------------------------------

    def owned_by(self, email: str) -> list[AccountRow]:
        """The accounts whose owner has this email (folded), by name."""
        sql = f"SELECT {_ACCOUNT} FROM accounts a WHERE a.owner_email = ? ORDER BY a.name, a.id"
        with self.engine.read() as conn:
            return [tuple(r) for r in conn.execute(sql, [email.strip().lower()]).fetchall()]  # type: ignore[misc]

    def _refs(self, conn: Any, ids: Iterable[str]) -> dict[str, AccountRow]:
        out: dict[str, AccountRow] = {}
        for chunk in chunks(sorted({i for i in ids if i})):
            sql = f"SELECT {_ACCOUNT} FROM accounts a WHERE a.id IN ({marks(len(chunk))})"
            out.update((r[0], tuple(r)) for r in conn.execute(sql, chunk).fetchall())
        return out

    def accounts(self, ids: Iterable[str]) -> dict[str, AccountRow]:
        with self.engine.read() as conn:
            return self._refs(conn, ids)

    # ---- health --------------------------------------------------------------------------------------------

    def health_rows(self, rules: HealthRules, ids: Sequence[str]) -> dict[str, Any]:
        """What `bot.account.health.health_figures` needs for the accounts `ids`: counting invoices (account,
        currency, date, due date, folded status, total, balance), payment currencies (account, currency, count),
        open-ticket counts (account, open, escalated, past due), and each account's own currency."""
        bill_sql, p_bill = billed(rules.excluded_invoice_statuses)
        open_sql, p_open = _open_tickets(rules)
        inv = "x.currency, x.date, x.due_date, x.status_key, x.total, x.balance"
        tic = "COUNT(*), SUM(x.escalated), SUM(COALESCE(x.past_due, 0))"
        out: dict[str, Any] = {"billed": [], "payments": [], "tickets": [], "currency": {}}
        with self.engine.read() as conn:

            def linked(key: str, sql: Callable[[str], str], params: list[Any]) -> None:
                for chunk in chunks(list(ids)):
                    out[key] += conn.execute(sql(marks(len(chunk))), [*chunk, *params]).fetchall()

            linked("billed", lambda m: f"SELECT x.account_id, {inv} FROM invoices x WHERE x.account_id IN ({m}) "
                   f"AND {bill_sql}", p_bill)  # fmt: skip
            linked("payments", lambda m: "SELECT x.account_id, x.currency, COUNT(*) FROM payments x "
                   f"WHERE x.account_id IN ({m}) GROUP BY x.account_id, x.currency", [])  # fmt: skip
            linked("tickets", lambda m: f"SELECT x.account_id, {tic} FROM tickets x WHERE x.account_id IN ({m}) "
                   f"AND {open_sql} GROUP BY x.account_id", p_open)  # fmt: skip
            # records mirrored without a CRM account: few; resolved through their Books customer or Desk account
            out["billed"] += conn.execute(
                f"SELECT c.account_id, {inv} FROM invoices x JOIN books_customers c ON c.id = x.customer_id "
                f"WHERE {_UNLINKED} AND {bill_sql}",
                p_bill,
            ).fetchall()
            out["payments"] += conn.execute(
                "SELECT c.account_id, x.currency, COUNT(*) FROM payments x JOIN books_customers c "
                f"ON c.id = x.customer_id WHERE {_UNLINKED} GROUP BY c.account_id, x.currency"
            ).fetchall()
            out["tickets"] += conn.execute(
                f"SELECT l.crm_account_id, {tic} FROM tickets x JOIN desk_accounts l ON l.id = x.desk_account_id "
                f"WHERE {_UNLINKED} AND {open_sql} GROUP BY l.crm_account_id",
                p_open,
            ).fetchall()
            for chunk in chunks(list(ids)):
                sql = f"SELECT a.id, a.currency FROM accounts a WHERE a.id IN ({marks(len(chunk))})"
                out["currency"].update((r[0], r[1]) for r in conn.execute(sql, chunk).fetchall())
        return out

    # ---- renewals ------------------------------------------------------------------------------------------

    def renewals_due(
        self, rules: HealthRules, closed_from: str, closed_to: str, renewal_types: Collection[str]
    ) -> list[tuple[str, str, str]]:
        """(account, deal id, closing date) of won deals closed from `closed_from` to `closed_to` of accounts
        whose last won deal closed by `closed_to` and that have no open renewal deal (`renewal_types` folded,
        or "renew" in the name; any open deal when there are no types). The caller picks each account's last."""
        won_x, p_won_x = _in("x.stage_key", rules.won_stages)
        won_y, p_won_y = _in("y.stage_key", rules.won_stages)
        shut, p_shut = _closed(rules, "z")
        kinds, p_kinds = _in("z.type_key", renewal_types)
        renewal = f"({kinds} OR z.name_key LIKE '%renew%')" if renewal_types else "1 = 1"
        sql = (
            "SELECT x.account_id, x.id, x.closing_date FROM deals x JOIN accounts a ON a.id = x.account_id "
            f"WHERE {won_x} AND x.closing_date BETWEEN ? AND ? "
            f"AND NOT EXISTS (SELECT 1 FROM deals y WHERE y.account_id = x.account_id AND {won_y} "
            "AND y.closing_date > ?) "
            f"AND NOT EXISTS (SELECT 1 FROM deals z WHERE z.account_id = x.account_id AND NOT {shut} AND {renewal})"
        )
        params = [*p_won_x, closed_from, closed_to, *p_won_y, closed_to, *p_shut, *p_kinds]
        with self.engine.read() as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]  # type: ignore[misc]

    def quiet_candidates(self, rules: HealthRules, day: str, instant: str) -> list[str]:
        """Customers (a won deal with a closing date, or a counting invoice) with no activity on or after local
        day `day` (`instant`: its start in UTC): no deal created, changed or closed, counting invoice dated,
        payment made or ticket created or changed since. Each probe is an index seek per account."""
        won, p_won = _in("x.stage_key", rules.won_stages)
        shut, p_shut = _closed(rules, "x")
        bill, p_bill = billed(rules.excluded_invoice_statuses)
        books = "FROM books_customers c JOIN {t} x ON x.customer_id = c.id WHERE c.account_id = a.id AND " + _UNLINKED
        desk = "FROM desk_accounts l JOIN tickets x ON x.desk_account_id = l.id WHERE l.crm_account_id = a.id AND "
        recent: list[tuple[str, list[Any]]] = [
            ("FROM tickets x WHERE x.account_id = a.id AND x.modified_utc >= ?", [instant]),
            ("FROM tickets x WHERE x.account_id = a.id AND x.created_utc >= ?", [instant]),
            ("FROM deals x WHERE x.account_id = a.id AND x.modified_utc >= ?", [instant]),
            ("FROM deals x WHERE x.account_id = a.id AND x.created_utc >= ?", [instant]),
            (f"FROM deals x WHERE x.account_id = a.id AND x.closing_date >= ? AND {shut}", [day, *p_shut]),
            (f"FROM invoices x WHERE x.account_id = a.id AND x.date >= ? AND {bill}", [day, *p_bill]),
            ("FROM payments x WHERE x.account_id = a.id AND x.date >= ?", [day]),
            (f"{books.format(t='invoices')} AND x.date >= ? AND {bill}", [day, *p_bill]),
            (f"{books.format(t='payments')} AND x.date >= ?", [day]),
            (f"{desk}{_UNLINKED} AND (x.modified_utc >= ? OR x.created_utc >= ?)", [instant, instant]),
        ]
        customer = (
            f"(EXISTS (SELECT 1 FROM deals x WHERE x.account_id = a.id AND {won} AND x.closing_date IS NOT NULL) "
            f"OR EXISTS (SELECT 1 FROM invoices x WHERE x.account_id = a.id AND {bill}) "
            f"OR EXISTS (SELECT 1 {books.format(t='invoices')} AND {bill}))"
        )
        where = " AND ".join(f"NOT EXISTS (SELECT 1 {sql})" for sql, _ in recent)
        params = [p for _, ps in recent for p in ps] + [*p_won, *p_bill, *p_bill]
        with self.engine.read() as conn:
            sql = f"SELECT a.id FROM accounts a WHERE {where} AND {customer}"
            return [r[0] for r in conn.execute(sql, params).fetchall()]

    def last_activity(self, rules: HealthRules, ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
        """Per account: (its latest activity dates, its latest activity instants in UTC), over deals (created,
        changed, closing date of closed deals), counting invoices, payments and tickets (created, changed)."""
        shut, p_shut = _closed(rules, "x")
        bill, p_bill = billed(rules.excluded_invoice_statuses)
        books = "JOIN books_customers c ON c.id = x.customer_id WHERE " + _UNLINKED + " AND c.account_id IN ({m})"
        desk = "JOIN desk_accounts l ON l.id = x.desk_account_id WHERE " + _UNLINKED + " AND l.crm_account_id IN ({m})"
        # (sql with {m} for the ids, parameters before the ids, after them, how many values after the id are dates)
        queries: list[tuple[str, list[Any], list[Any], int]] = [
            (
                f"SELECT x.account_id, MAX(CASE WHEN {shut} THEN x.closing_date END), MAX(x.created_utc), "
                "MAX(x.modified_utc) FROM deals x WHERE x.account_id IN ({m}) GROUP BY x.account_id",
                p_shut, [], 1,
            ),
            (
                "SELECT x.account_id, MAX(x.date) FROM invoices x WHERE x.account_id IN ({m}) AND " + bill
                + " GROUP BY x.account_id",
                [], p_bill, 1,
            ),
            (f"SELECT c.account_id, MAX(x.date) FROM invoices x {books} AND {bill} GROUP BY c.account_id", [], p_bill, 1),
            ("SELECT x.account_id, MAX(x.date) FROM payments x WHERE x.account_id IN ({m}) GROUP BY x.account_id",
             [], [], 1),
            (f"SELECT c.account_id, MAX(x.date) FROM payments x {books} GROUP BY c.account_id", [], [], 1),
            (
                "SELECT x.account_id, MAX(x.created_utc), MAX(x.modified_utc) FROM tickets x "
                "WHERE x.account_id IN ({m}) GROUP BY x.account_id",
                [], [], 0,
            ),
            (
                f"SELECT l.crm_account_id, MAX(x.created_utc), MAX(x.modified_utc) FROM tickets x {desk} "
                "GROUP BY l.crm_account_id",
                [], [], 0,
            ),
        ]  # fmt: skip
        out: dict[str, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
        with self.engine.read() as conn:
            for sql, before, after, dates in queries:
                for chunk in chunks(list(ids)):
                    found = conn.execute(sql.replace("{m}", marks(len(chunk))), [*before, *chunk, *after]).fetchall()
                    for row in found:
                        days, instants = out[row[0]]
                        days += [v for v in row[1 : 1 + dates] if v]
                        instants += [v for v in row[1 + dates :] if v]
        return out

    def at_risk_candidates(self, rules: HealthRules, today: str) -> tuple[set[str], list[tuple[str, int]]]:
        """(accounts with an invoice that may be overdue, (account, open escalated tickets) per account and
        Desk account as mirrored): only these can be at risk."""
        late, p_late = overdue_candidates(
            today, rules.excluded_invoice_statuses, rules.overdue_statuses, rules.due_statuses
        )
        open_sql, p_open = _open_tickets(rules)
        with self.engine.read() as conn:
            owing = conn.execute(
                f"SELECT DISTINCT {BOOKS_ACCOUNT} FROM invoices x LEFT JOIN books_customers c "
                f"ON c.id = x.customer_id WHERE {late}",
                p_late,
            ).fetchall()
            escalated = conn.execute(
                f"SELECT MAX({DESK_ACCOUNT}), COUNT(*) FROM tickets x LEFT JOIN desk_accounts l "
                f"ON l.id = x.desk_account_id WHERE x.escalated = 1 AND {open_sql} "
                "GROUP BY x.account_id, x.desk_account_id",
                p_open,
            ).fetchall()
        return {r[0] for r in owing if r[0]}, [(r[0], int(r[1])) for r in escalated if r[0]]
