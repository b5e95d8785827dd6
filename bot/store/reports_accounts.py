"""Per-account queries behind renewals, the Home tab and the support and sales digests: SQL over typed columns
returns small rows (counts, dates, exact amounts as text) per account, and the rules stay in Python
(bot/account/health.py `health_figures`, `verdict`; bot/reports/retention.py). No `data` column is read here
except to decode the few records a message shows.

Records mirrored without a CRM account reach it through their Books customer (invoices, payments) or Desk account
(tickets), as in bot/store/reports.py. Label sets arrive folded; dates are ISO text and instants fixed-width UTC
text (bot/store/rows.py), so every comparison is a text comparison on either engine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import Any

from bot.account.health import HealthRules
from bot.models import Account
from bot.store.engine import Engine, chunks, marks, plain_rows
from bot.store.health_summary import closed_deal, records_of
from bot.store.reports import ReportQueries, _in, billed, overdue_candidates
from bot.store.reports_money import ACCOUNTS_INDEX
from bot.store.rows import UNITS, UNITS_SCALE

AccountRow = tuple[str, str, str, str, str]  # id, name, owner name, owner email as given, currency
_ACCOUNT = (
    "a.id, COALESCE(a.name, ''), COALESCE(a.owner_name, ''), COALESCE(a.owner_address, ''), COALESCE(a.currency, '')"
)
# The CRM account of a record, as BOOKS_ACCOUNT / DESK_ACCOUNT in bot/store/reports.py, but looking the link up only
# for the few records mirrored without one (a join would read the customer or Desk account of every row).
_BOOKS = (
    "CASE WHEN COALESCE(x.account_id, '') <> '' THEN x.account_id ELSE "
    "COALESCE((SELECT c.account_id FROM books_customers c WHERE c.id = x.customer_id), '') END"
)
_DESK = (
    "CASE WHEN COALESCE(x.account_id, '') <> '' THEN x.account_id ELSE "
    "COALESCE((SELECT l.crm_account_id FROM desk_accounts l WHERE l.id = x.desk_account_id), '') END"
)
# few rows (read through the account_id index, then joined to their customer or Desk account)
_UNLINKED = "(x.account_id = '' OR x.account_id IS NULL)"
ACCOUNT_NAMES_INDEX = "health_accounts_id"  # accounts (id, name, owner, currency): migration _m_rcare_health_columns
MANY = 500  # accounts looked up by id beyond which reading them all is cheaper
_NONE = Decimal(0)


def _closed(rules: HealthRules, alias: str) -> tuple[str, list[str]]:
    """Deals bot.health.is_closed_deal calls closed."""
    return closed_deal(alias, rules.closed_stages | rules.won_stages)


def _open_tickets(rules: HealthRules) -> tuple[str, list[str]]:
    return _in("x.status_key", rules.closed_ticket_types, negate=True)


# An account_health row `h` owes an invoice overdue on the day given: one with an overdue status, or the earliest of
# those owing with a due status past due (balances weighed exactly at write time).
_OVERDUE_NOW = "h.late > 0 OR (h.owing > 0 AND h.owing_due < ?)"
# Accounts that may be at risk (`health_summaries(escalations=…)`): an overdue invoice or that many open escalated
# tickets.
_CANDIDATE = f"a.id = h.account_id AND ({_OVERDUE_NOW} OR h.escalated >= ?)"
_REAL = "CAST({} AS DOUBLE PRECISION)"
_LATE = "h.owing > 0 AND h.owing_last_due < ?"  # every owing invoice past due: all of them overdue
_OWED = f"{_REAL.format('h.late_amount')} + CASE WHEN {_LATE} THEN {_REAL.format('h.owing_amount')} ELSE 0 END"


def _surely_at_risk(today: str, since: str, old: str, share: Decimal, escalations: int) -> tuple[str, list[Any]]:
    """A column: 1 for a candidate the health rule (bot/account/health.py `verdict`) certainly calls at risk from its
    row alone, else 0 (judged in Python). At risk: `escalations` (≥ 1 and the rule's threshold) open escalated tickets;
    or something overdue and any of: an escalated ticket, an invoice overdue since before `old`, no billing in the 12
    months (all dated from `since`: else Python asks the invoices), an overdue amount at least the `share` of a
    positive billing. That last by doubles, so only when the overdue amount adds no negative balance (no cancelling)
    and it reaches the share plus a billionth: parsing and roundings of doubles err by far less; nearer the line
    Python decides exactly. Accounts whose owing invoices are some past due and some not are left to Python (it
    counts their overdue invoices); so is a NULL anywhere."""
    billed = _REAL.format("h.billed")
    sql = (
        f"CASE WHEN h.escalated >= ? THEN 1 WHEN NOT ({_OVERDUE_NOW}) THEN 0 "
        "WHEN h.owing > 0 AND h.owing_due < ? AND h.owing_last_due >= ? THEN 0 "
        "WHEN h.escalated > 0 OR h.late_due < ? OR (h.owing > 0 AND h.owing_due < ?) OR h.first_billed IS NULL THEN 1 "
        f"WHEN NOT (h.first_billed >= ? AND h.last_billed <= ?) THEN 0 WHEN {billed} <= 0 THEN 1 "
    )
    params: list[Any] = [escalations, today, today, today, old, old, since, today]
    if share > 0:
        sql += f"WHEN {_REAL.format('h.late_amount')} >= 0 AND {_OWED} >= ? * {billed} THEN 1 "
        params += [today, float(share) * (1 + 1e-9)]
    return sql + "ELSE 0 END", params


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
        wanted = sorted({i for i in ids if i})
        if len(wanted) > MANY:  # one scan of a covering index beats thousands of lookups into the wide rows
            found = set(wanted)
            rows = conn.execute(f"SELECT {_ACCOUNT} FROM accounts a").fetchall()
            return {r[0]: tuple(r) for r in rows if r[0] in found}
        out: dict[str, AccountRow] = {}
        for chunk in chunks(wanted):
            sql = f"SELECT {_ACCOUNT} FROM accounts a WHERE a.id IN ({marks(len(chunk))})"
            out.update((r[0], tuple(r)) for r in conn.execute(sql, chunk).fetchall())
        return out

    def owners(self) -> dict[str, str]:
        """Account id → its owner's email (folded), of accounts that have one (every account: plain rows)."""
        with self.engine.read() as conn:
            return dict(plain_rows(conn, "SELECT a.id, a.owner_email FROM accounts a WHERE a.owner_email <> ''"))

    def accounts(self, ids: Iterable[str]) -> dict[str, AccountRow]:
        with self.engine.read() as conn:
            return self._refs(conn, ids)

    # ---- health --------------------------------------------------------------------------------------------

    def overdue_rows(self, rules: HealthRules, today: str, conn: Any = None) -> list[tuple[str, str, str, str]]:
        """(account, folded status, due date, balance) of every counting invoice that may be overdue `today`
        (few: one index range)."""
        late_sql, p_late = overdue_candidates(
            today, rules.excluded_invoice_statuses, rules.overdue_statuses, rules.due_statuses
        )
        sql = f"SELECT {_BOOKS}, x.status_key, x.due_date, x.balance FROM invoices x WHERE {late_sql}"
        if conn is not None:
            return [tuple(r) for r in conn.execute(sql, p_late).fetchall()]  # type: ignore[misc]
        with self.engine.read() as own:
            return [tuple(r) for r in own.execute(sql, p_late).fetchall()]  # type: ignore[misc]

    def health_rows(
        self,
        rules: HealthRules,
        ids: Sequence[str],
        today: str,
        since: str,
        overdue: list[Any] | None = None,
        tickets: list[Any] | None = None,
    ) -> dict[str, Any]:
        """What `bot.account.health.health_figures` needs for the accounts `ids`: per account and currency of
        its counting invoices (count, total of those dated from `since` to `today`, balance), exact Decimals;
        invoices that may be overdue (account, folded status, due date, balance); payment currencies (account,
        currency, count); open-ticket counts (account, open, escalated, past due). `overdue`, `tickets`:
        `overdue_rows`, `open_ticket_rows` when the caller has them (for many accounts one scan beats lookups)."""
        bill_sql, p_bill = billed(rules.excluded_invoice_statuses)
        open_sql, p_open = _open_tickets(rules)
        sums = (
            "x.currency, COUNT(*), SUM(CASE WHEN x.date >= ? AND x.date <= ? THEN x.total_units ELSE 0 END), "
            "SUM(x.balance_units), SUM(CASE WHEN x.total_units IS NULL OR x.balance_units IS NULL THEN 1 ELSE 0 END)"
        )
        tic = "COUNT(*), SUM(x.escalated), SUM(COALESCE(x.past_due, 0))"
        raw: list[Any] = []
        out: dict[str, Any] = {"billed": [], "overdue": [], "payments": [], "tickets": []}
        with self.engine.read() as conn:

            def linked(_: str, sql: str, before: list[Any], after: list[Any]) -> list[Any]:
                found: list[Any] = []
                for chunk in chunks(list(ids)):
                    found += conn.execute(sql.replace("{m}", marks(len(chunk))), [*before, *chunk, *after]).fetchall()
                return found

            def unlinked(sql: str, params: list[Any]) -> list[Any]:
                wanted = set(ids)
                return [r for r in conn.execute(sql, params).fetchall() if r[0] in wanted]

            books = "JOIN books_customers c ON c.id = x.customer_id WHERE " + _UNLINKED
            desk = "JOIN desk_accounts l ON l.id = x.desk_account_id WHERE " + _UNLINKED
            span = [since, today]
            raw += linked("billed", f"SELECT x.account_id, {sums}, 0 FROM invoices x WHERE x.account_id IN ({{m}}) "
                          f"AND {bill_sql} GROUP BY x.account_id, x.currency", span, p_bill)  # fmt: skip
            raw += unlinked(f"SELECT c.account_id, {sums}, 1 FROM invoices x {books} AND {bill_sql} "
                            "GROUP BY c.account_id, x.currency", [*span, *p_bill])  # fmt: skip
            wanted = set(ids)
            if overdue is None:
                overdue = self.overdue_rows(rules, today, conn)
            out["overdue"] = [r for r in overdue if r[0] in wanted]
            pay = "x.currency, COUNT(*) FROM payments x"
            out["payments"] = linked("payments", f"SELECT x.account_id, {pay} WHERE x.account_id IN ({{m}}) "
                                     "GROUP BY x.account_id, x.currency", [], [])  # fmt: skip
            out["payments"] += unlinked(f"SELECT c.account_id, {pay} {books} GROUP BY c.account_id, x.currency", [])
            if tickets is not None:
                out["tickets"] = [r for r in tickets if r[0] in wanted]
            else:
                out["tickets"] = linked("tickets", f"SELECT x.account_id, {tic} FROM tickets x WHERE x.account_id "
                                        f"IN ({{m}}) AND {open_sql} GROUP BY x.account_id", [], p_open)  # fmt: skip
                out["tickets"] += unlinked(f"SELECT l.crm_account_id, {tic} FROM tickets x {desk} AND {open_sql} "
                                           "GROUP BY l.crm_account_id", p_open)  # fmt: skip
            for account, code, n, units_12m, units_owed in self._exact(conn, raw, bill_sql, p_bill, since, today):
                out["billed"].append((account, code, n, units_12m, units_owed))
        return out

    def _exact(
        self, conn: Any, raw: list[Any], bill_sql: str, p_bill: list[str], since: str, today: str
    ) -> Iterable[tuple[str, str, int, Decimal, Decimal]]:
        """(account, currency, count, total in the span, balance) as Decimals: from the integer sums, or, for the
        rare group holding an amount too precise or too large for units, added up from the exact text."""
        scale = Decimal(UNITS)
        for account, code, n, units_12m, units_owed, inexact, unlinked in raw:
            if not inexact:
                yield account, code, n, Decimal(units_12m or 0) / scale, Decimal(units_owed or 0) / scale
                continue
            whose = f"{_UNLINKED} AND c.account_id = ?" if unlinked else "x.account_id = ?"
            rows = conn.execute(
                "SELECT x.date, x.total, x.balance FROM invoices x LEFT JOIN books_customers c ON c.id = x.customer_id "
                f"WHERE {whose} AND COALESCE(x.currency, '') = ? AND {bill_sql}",
                [account, code or "", *p_bill],
            ).fetchall()
            in_span = sum((Decimal(t or 0) for d, t, _ in rows if d is not None and since <= d <= today), Decimal(0))
            yield account, code, n, in_span, sum((Decimal(b or 0) for _, _, b in rows), Decimal(0))

    # ---- health from the per-account aggregates (bot/store/health_summary.py) ------------------------------

    def health_summaries(
        self,
        today: str,
        since: str,
        *,
        owner: str | None = None,
        ids: Sequence[str] | None = None,
        escalations: int | None = None,
        certain: tuple[str, Decimal] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Per account from its `account_health` row (bot/store/health_summary.py), as of `today`: (id, name, owner
        name, owner email as given, main currency else the account's, outstanding (None: no row), the 12-month
        billing from `since` (None: some invoices fall outside, ask `billed_between`), overdue invoices (count, None
        when some owing invoices are past due and some not: ask the invoices; balance of those with an overdue
        status, of the owing ones when all are past due; earliest due date), open, escalated, past-due tickets)
        of the accounts `owner` (folded email) owns, or with these `ids`, or (`escalations`) those that may be at
        risk: an overdue invoice or that many open escalated tickets, leaving out (`certain`: (the day invoices due
        before it are overdue long enough, the share of the 12-month billing)) those certainly not at risk: no
        escalated ticket, every overdue invoice due from that day, the billing known and the overdue amount below
        that share of it by a margin no rounding of doubles reaches (the rest are judged exactly in Python), each
        row then with a last column: 1 when the account is certainly at risk (`_surely_at_risk`), else 0. Only for
        rules `health_summary.fits`."""
        late = _LATE
        cols = (
            "a.id, COALESCE(a.name, ''), COALESCE(a.owner_name, ''), COALESCE(a.owner_address, ''), "
            "COALESCE(NULLIF(h.currency, ''), a.currency, ''), h.outstanding, "
            "CASE WHEN h.first_billed IS NULL THEN '0' WHEN h.first_billed >= ? AND h.last_billed <= ? THEN h.billed "
            "END, CASE WHEN h.owing > 0 AND h.owing_due < ? AND h.owing_last_due >= ? THEN NULL "
            f"ELSE h.late + CASE WHEN {late} THEN h.owing ELSE 0 END END, h.late_amount, "
            f"CASE WHEN {late} THEN h.owing_amount END, "
            f"CASE WHEN {late} AND (h.late_due IS NULL OR h.owing_due < h.late_due) THEN h.owing_due ELSE h.late_due "
            "END, h.open_tickets, h.escalated, h.past_due"
        )  # a column fewer (thousands of rows): the mixed case is a count of None
        params: list[Any] = [since, today, today, today, today, today, today]
        with self.engine.read() as conn:
            if escalations is not None:
                narrow = self.engine.covering(ACCOUNT_NAMES_INDEX)  # the candidates' names, not their wide rows
                if certain is None:
                    sql = f"SELECT {cols} FROM account_health h CROSS JOIN accounts a {narrow} WHERE {_CANDIDATE}"
                    return plain_rows(conn, sql, [*params, today, escalations])
                old, share = certain
                sure, p_sure = _surely_at_risk(today, since, old, share, escalations)
                sql = f"SELECT {cols}, {sure} FROM account_health h CROSS JOIN accounts a {narrow} WHERE {_CANDIDATE}"
                if share <= 0:
                    return plain_rows(conn, sql, [*params, *p_sure, today, escalations])
                # Cheap tests first (most candidates fail them), the doubles only for the few left. Certainly not at
                # risk: nothing escalated (so some invoice is overdue), none overdue since before `old`, the billing
                # all in the window (else Python asks the invoices), no owing invoices both past due and not, and a
                # non-negative overdue amount (no cancelling) under the share, less a billionth, of a positive
                # billing: parsing and two roundings of doubles err by far less. A NULL anywhere keeps the row.
                sql += (
                    " AND CASE WHEN h.escalated = 0 AND h.first_billed >= ? AND h.last_billed <= ? "
                    "AND (h.late_due IS NULL OR h.late_due >= ?) "
                    "AND NOT (h.owing > 0 AND h.owing_due < ? AND (h.owing_last_due >= ? OR h.owing_due < ?)) "
                    f"AND {_REAL.format('h.billed')} > 0 AND {_REAL.format('h.late_amount')} >= 0 "
                    f"AND {_OWED} < ? * {_REAL.format('h.billed')} THEN 0 ELSE 1 END = 1"
                )
                margin = float(share) * (1 - 1e-9)
                checks = [since, today, old, today, today, old, today, margin]
                return plain_rows(conn, sql, [*params, *p_sure, today, escalations, *checks])
            joined = f"SELECT {cols} FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id"
            if owner is not None:
                return conn.execute(f"{joined} WHERE a.owner_email = ?", [*params, owner]).fetchall()  # type: ignore[no-any-return]
            out: list[tuple[Any, ...]] = []
            for chunk in chunks(sorted({i for i in ids or () if i})):
                out += conn.execute(f"{joined} WHERE a.id IN ({marks(len(chunk))})", [*params, *chunk]).fetchall()
            return out

    def billed_between(self, rules: HealthRules, ids: Sequence[str], since: str, today: str) -> dict[str, Decimal]:
        """Account → the totals of its counting invoices dated from `since` to `today` (exact), for the accounts
        whose invoices are not all dated in that span (thousands on most days: long-standing customers): summed as
        integer units per account in SQL, invoice by invoice (from the exact text) only for an account with an
        amount too precise or too large for units."""
        bill_sql, p_bill = billed(rules.excluded_invoice_statuses)
        span = f" AND {bill_sql} AND x.date >= ? AND x.date <= ?"
        summed = "SUM(x.total_units), SUM(CASE WHEN x.total_units IS NULL THEN 1 ELSE 0 END)"
        each = "x.total_units, CASE WHEN x.total_units IS NULL THEN x.total END"
        out: dict[str, Decimal] = {}
        with self.engine.read() as conn:
            for chunk in chunks(sorted(set(ids))):
                inexact: set[str] = set()
                for account, units, loose in records_of(
                    conn, "invoices", chunk, summed, [], span, "", [*p_bill, since, today]
                ):  # an account's rows: its own invoices, and those of each Books customer linked to it
                    if loose:
                        inexact.add(account)
                    out[account] = out.get(account, _NONE) + Decimal(units or 0).scaleb(-UNITS_SCALE)
                if not inexact:
                    continue
                for account in inexact:
                    out[account] = _NONE
                for account, units, total in records_of(
                    conn, "invoices", sorted(inexact), each, [], span, None, [*p_bill, since, today]
                ):
                    value = Decimal(units).scaleb(-UNITS_SCALE) if units is not None else Decimal(total or 0)
                    out[account] += value
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

    def renewals_from_summaries(
        self, rules: HealthRules, closed_from: str, closed_to: str, renewal_types: Collection[str]
    ) -> list[tuple[str, str, str, str, str, str, str]]:
        """`renewals_due` from the accounts' health aggregates (only for rules `health_summary.fits` and `deals_fit`):
        the accounts whose last won deal closed from `closed_from` to `closed_to` (a range of one index), each
        with its won deals closed that day, unless an open renewal deal is there; each row with the deal as stored
        (JSON) and the account's name, owner name and owner email as given (no second read for either)."""
        won_x, p_won_x = _in("x.stage_key", rules.won_stages)
        shut, p_shut = _closed(rules, "z")
        kinds, p_kinds = _in("z.type_key", renewal_types)
        renewal = f"({kinds} OR z.name_key LIKE '%renew%')" if renewal_types else "1 = 1"
        narrow = self.engine.covering(ACCOUNT_NAMES_INDEX)
        sql = (
            "SELECT h.account_id, x.id, x.closing_date, x.data, COALESCE(a.name, ''), COALESCE(a.owner_name, ''), "
            f"COALESCE(a.owner_address, '') FROM account_health h CROSS JOIN accounts a {narrow} CROSS JOIN deals x "
            "WHERE h.last_won BETWEEN ? AND ? AND a.id = h.account_id AND x.account_id = h.account_id "
            f"AND x.closing_date = h.last_won AND {won_x} "
            f"AND NOT EXISTS (SELECT 1 FROM deals z WHERE z.account_id = h.account_id AND NOT {shut} AND {renewal})"
        )  # in this order: the accounts in the range, their names (a covering index), then their deals
        with self.engine.read() as conn:
            return plain_rows(conn, sql, [closed_from, closed_to, *p_won_x, *p_shut, *p_kinds])  # type: ignore[return-value]

    def deal_data(self, ids: Sequence[str]) -> dict[str, str]:
        """Deal id → its record as stored (JSON), for those mirrored: the last won deals of the renewals due, decoded
        only for the rows a message shows."""
        out: dict[str, str] = {}
        with self.engine.read() as conn:
            for chunk in chunks(sorted(set(ids))):
                sql = f"SELECT id, data FROM deals WHERE id IN ({marks(len(chunk))})"
                out.update(plain_rows(conn, sql, chunk))  # type: ignore[arg-type]
        return out

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

    def quiet_from_summaries(self, day: str, instant: str) -> dict[str, tuple[list[str], list[str]]]:
        """`quiet_candidates` with their `last_activity`, from the accounts' health aggregates alone
        (bot/store/health_summary.py keeps the latest activity of their deals, counting invoices, payments and
        tickets; only for rules `health_summary.fits` and `deals_fit`): one narrow row per account, no record
        probed."""
        sql = (
            "SELECT h.account_id, h.last_billed, h.last_paid, h.last_closed, h.last_ticket, h.last_deal "
            "FROM account_health h WHERE (h.invoices > 0 OR h.last_won IS NOT NULL) "
            "AND COALESCE(h.last_billed, '') < ? AND COALESCE(h.last_paid, '') < ? AND COALESCE(h.last_closed, '') < ? "
            "AND COALESCE(h.last_ticket, '') < ? AND COALESCE(h.last_deal, '') < ? "
            "AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = h.account_id)"
        )
        with self.engine.read() as conn:
            rows = plain_rows(conn, sql, [day, day, day, instant, instant])
        return {r[0]: ([d for d in r[1:4] if d], [i for i in r[4:] if i]) for r in rows}

    def quiet_probing_stages(self, rules: HealthRules, day: str, instant: str) -> list[str]:
        """`quiet_candidates` from the health aggregates for rules `health_summary.fits` whose deal stages differ
        from the stored ones (`deals_fit`): won and closed deals are probed, the rest of the activity is read."""
        won, p_won = _in("x.stage_key", rules.won_stages)
        shut, p_shut = _closed(rules, "x")
        sql = (
            "SELECT a.id FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id "
            "WHERE COALESCE(h.last_billed, '') < ? AND COALESCE(h.last_paid, '') < ? "
            "AND COALESCE(h.last_ticket, '') < ? AND COALESCE(h.last_deal, '') < ? "
            f"AND NOT EXISTS (SELECT 1 FROM deals x WHERE x.account_id = a.id AND x.closing_date >= ? AND {shut}) "
            "AND (COALESCE(h.invoices, 0) > 0 OR EXISTS (SELECT 1 "
            f"FROM deals x WHERE x.account_id = a.id AND {won} AND x.closing_date IS NOT NULL))"
        )
        with self.engine.read() as conn:
            return [r[0] for r in plain_rows(conn, sql, [day, day, instant, instant, day, *p_shut, *p_won])]

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
            (f"SELECT c.account_id, MAX(x.date) FROM invoices x {books} AND {bill} GROUP BY c.account_id",
             [], p_bill, 1),
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

    def open_ticket_rows(self, rules: HealthRules) -> list[tuple[str, int, int, int]]:
        """(account, open, open escalated, open past-due tickets) of every open ticket: per CRM account, then
        per CRM account of those mirrored without one (one scan; an account's rows add up)."""
        open_sql, p_open = _open_tickets(rules)
        counts = "COUNT(*), SUM(x.escalated), SUM(COALESCE(x.past_due, 0))"
        with self.engine.read() as conn:
            rows = conn.execute(
                f"SELECT x.account_id, {counts} FROM tickets x WHERE x.account_id <> '' AND {open_sql} "
                "GROUP BY x.account_id",
                p_open,
            ).fetchall()
            rows += conn.execute(
                f"SELECT l.crm_account_id, {counts} FROM tickets x JOIN desk_accounts l ON l.id = x.desk_account_id "
                f"WHERE {_UNLINKED} AND {open_sql} GROUP BY l.crm_account_id",
                p_open,
            ).fetchall()
        return [(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows if r[0]]

    # ---- digests -------------------------------------------------------------------------------------------

    def overdue_invoices(self, rules: HealthRules, today: str) -> list[tuple[Any, ...]]:
        """(due date, invoice id, account, folded status, balance, currency) of every counting invoice that may be
        overdue `today` (plain rows: thousands)."""
        late_sql, p_late = overdue_candidates(
            today, rules.excluded_invoice_statuses, rules.overdue_statuses, rules.due_statuses
        )
        sql = f"SELECT x.due_date, x.id, {_BOOKS}, x.status_key, x.balance, x.currency FROM invoices x WHERE {late_sql}"
        with self.engine.read() as conn:
            return plain_rows(conn, sql, p_late)

    def _overdue_sql(self, rules: HealthRules, today: str) -> tuple[str, list[Any], str, list[Any]]:
        """(rows (id, due, account, balance, code: its due date, CRM account, balance and currency) of the counting
        invoices overdue `today` as bot.account.health.owes_overdue decides, its parameters; a condition on `x` for
        those only Python can decide: a balance without exact units, its parameters). Overdue statuses whatever their
        due date and balance (read from health_invoices_status alone), then due statuses past due owing something."""
        bill, p_bill = billed(rules.excluded_invoice_statuses)
        late, p_late = _in("x.status_key", rules.overdue_statuses)
        due, p_due = _in("x.status_key", rules.due_statuses - rules.overdue_statuses)
        cols = f"x.id AS id, x.due_date AS due, {_BOOKS} AS account, x.balance AS balance, x.currency AS code"
        cols += " FROM invoices x"
        past = f"{bill} AND {due} AND x.due_date < ?"
        return (
            f"SELECT {cols} WHERE {bill} AND {late} UNION ALL SELECT {cols} WHERE {past} AND x.balance_units > 0",
            [*p_bill, *p_late, *p_bill, *p_due, today],
            f"{past} AND x.balance_units IS NULL AND x.balance IS NOT NULL",
            [*p_bill, *p_due, today],
        )

    def overdue_by_owner(self, rules: HealthRules, today: str) -> list[tuple[Any, ...]] | None:
        """Invoices overdue `today` per owner email (folded, as stored) of their accounts and due date: (email, due
        date or None, how many, the least id (text order)), or None when some balance only Python
        can weigh (ask `overdue_invoices`). A few thousand invoices become a few rows per owner and day."""
        overdue, params, unsure, p_unsure = self._overdue_sql(rules, today)
        accounts = self.engine.covering(ACCOUNTS_INDEX)  # (id, …, owner_email, …): not the wide rows
        sql = (
            f"SELECT a.owner_email, v.due, COUNT(*), MIN(v.id) FROM ({overdue}) v JOIN accounts a {accounts} "
            "ON a.id = v.account WHERE a.owner_email <> '' GROUP BY a.owner_email, v.due"
        )
        return self._unless_unsure(unsure, p_unsure, sql, params)

    def _unless_unsure(self, unsure: str, p_unsure: list[Any], sql: str, params: list[Any]) -> list[Any] | None:
        """`sql`'s rows, or None when an invoice matches `unsure` (a balance only Python can weigh)."""
        with self.engine.read() as conn:
            if conn.execute(f"SELECT 1 FROM invoices x WHERE {unsure} LIMIT 1", p_unsure).fetchone():
                return None
            return plain_rows(conn, sql, params)

    def overdue_ids(self, rules: HealthRules, today: str, days: Collection[tuple[str, str]]) -> list[tuple[str, ...]]:
        """(owner email as stored, due date (else `today`), id) of the invoices overdue `today` whose (owner email,
        due date) is one of `days` (as `overdue_by_owner` gives them)."""
        overdue, params, _, _ = self._overdue_sql(rules, today)
        accounts = self.engine.covering(ACCOUNTS_INDEX)
        emails, dates = sorted({e for e, _ in days}), sorted({d for _, d in days})
        sql = (
            f"SELECT a.owner_email, COALESCE(v.due, ?), v.id FROM ({overdue}) v JOIN accounts a {accounts} "
            f"ON a.id = v.account WHERE a.owner_email IN ({marks(len(emails))}) "
            f"AND COALESCE(v.due, ?) IN ({marks(len(dates))})"
        )
        with self.engine.read() as conn:
            rows = plain_rows(conn, sql, [today, *params, *emails, today, *dates])
        wanted = set(days)
        return [r for r in rows if (r[0], r[1]) in wanted]

    def owing_with_open_tickets(self, rules: HealthRules, today: str) -> list[tuple[str, int]] | None:
        """(CRM account, open tickets) of the accounts owing an invoice overdue `today` that have open tickets, the
        open tickets from the health aggregates (bot/store/health_summary.py: only while they are kept, for its
        closed ticket types), or None when some balance only Python can weigh (ask `overdue_invoices`)."""
        overdue, params, unsure, p_unsure = self._overdue_sql(rules, today)
        sql = (
            f"SELECT o.account, h.open_tickets FROM (SELECT DISTINCT v.account AS account FROM ({overdue}) v) o "
            "JOIN account_health h ON h.account_id = o.account WHERE h.open_tickets > 0 AND o.account <> ''"
        )
        return self._unless_unsure(unsure, p_unsure, sql, params)

    def owing_with_open_tickets_kept(self, today: str) -> list[tuple[str, int]]:
        """`owing_with_open_tickets` from the health aggregates alone (only while they are kept, for the health
        rule's own status sets and closed ticket types: bot/store/health_summary.py `fits`): an account owes an
        invoice overdue `today` when it has one with an overdue status, or one with a due status owing something
        whose due date has passed — the earliest such due date is kept, balances weighed exactly at write time.
        One small row per account instead of every overdue invoice and its Books customer."""
        sql = (
            "SELECT h.account_id, h.open_tickets FROM account_health h WHERE h.open_tickets > 0 "
            f"AND ({_OVERDUE_NOW}) AND h.account_id <> ''"
        )
        with self.engine.read() as conn:
            return [(r[0], int(r[1])) for r in plain_rows(conn, sql, [today])]

    def overdue_balances(self, rules: HealthRules, today: str, ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(CRM account, balance, currency) of the invoices of the accounts `ids` (a few) overdue `today`, as
        `owing_with_open_tickets` counts them; a balance without exact units is weighed here, exactly."""
        overdue, params, unsure, p_unsure = self._overdue_sql(rules, today)
        out: list[tuple[str, str, str]] = []
        with self.engine.read() as conn:
            for chunk in chunks(sorted(set(ids))):
                where = f"IN ({marks(len(chunk))})"
                sql = f"SELECT v.account, v.balance, v.code FROM ({overdue}) v WHERE v.account {where}"
                out += plain_rows(conn, sql, [*params, *chunk])  # type: ignore[arg-type]
                sql = f"SELECT {_BOOKS}, x.balance, x.currency FROM invoices x WHERE {unsure} AND {_BOOKS} {where}"
                out += [r for r in plain_rows(conn, sql, [*p_unsure, *chunk]) if Decimal(r[1]) > 0]
        return out

    def owners_of(self, ids: Iterable[str]) -> dict[str, str]:
        """Account id → its owner's email (folded), of these accounts that have one."""
        out: dict[str, str] = {}
        with self.engine.read() as conn:
            for chunk in chunks(sorted({i for i in ids if i})):
                sql = f"SELECT a.id, a.owner_email FROM accounts a WHERE a.id IN ({marks(len(chunk))})"
                out.update((r[0], r[1]) for r in conn.execute(sql, chunk).fetchall() if r[1])
        return out

    def tickets_created(self, start: str, end: str) -> list[tuple[Any, ...]]:
        """(created, ticket id, account) of tickets created from `start` to before `end` (UTC)."""
        sql = f"SELECT x.created_utc, x.id, {_DESK} FROM tickets x WHERE x.created_utc >= ? AND x.created_utc < ?"
        with self.engine.read() as conn:
            return plain_rows(conn, sql, [start, end])

    def owner_names(self, emails: Sequence[str]) -> dict[str, str]:
        """Folded owner email → the owner's name (else the email as given) on their accounts."""
        out: dict[str, str] = {}
        with self.engine.read() as conn:
            for chunk in chunks(sorted(set(emails))):
                sql = (
                    "SELECT a.owner_email, MAX(COALESCE(a.owner_name, '')), MAX(COALESCE(a.owner_address, '')) "
                    f"FROM accounts a WHERE a.owner_email IN ({marks(len(chunk))}) GROUP BY a.owner_email"
                )
                out.update((r[0], r[1] or r[2]) for r in conn.execute(sql, chunk).fetchall())
        return out

    def open_escalations(self, rules: HealthRules, limit: int) -> tuple[int, list[str]]:
        """(how many open escalated tickets, the ids of the `limit` newest: no creation time counts as newest)."""
        open_sql, p_open = _open_tickets(rules)
        where = f"FROM tickets x WHERE x.escalated = 1 AND {open_sql}"
        with self.engine.read() as conn:
            total = conn.execute(f"SELECT COUNT(*) {where}", p_open).fetchone()[0]
            newest = conn.execute(
                f"SELECT x.id {where} ORDER BY CASE WHEN x.created_utc IS NULL THEN 1 ELSE 0 END DESC, "
                "x.created_utc DESC, x.id LIMIT ?",
                [*p_open, limit],
            ).fetchall()
        return int(total), [r[0] for r in newest]

    def open_tickets(self, rules: HealthRules, ids: Sequence[str]) -> dict[str, int]:
        """Account → its open tickets (those mirrored without a CRM account through their Desk account)."""
        open_sql, p_open = _open_tickets(rules)
        wanted, out = set(ids), dict.fromkeys(ids, 0)
        with self.engine.read() as conn:
            rows: list[Any] = []
            for chunk in chunks(list(ids)):
                rows += plain_rows(
                    conn,
                    f"SELECT x.account_id, COUNT(*) FROM tickets x WHERE x.account_id IN ({marks(len(chunk))}) "
                    f"AND {open_sql} GROUP BY x.account_id",
                    [*chunk, *p_open],
                )
            rows += conn.execute(
                "SELECT l.crm_account_id, COUNT(*) FROM tickets x JOIN desk_accounts l ON l.id = x.desk_account_id "
                f"WHERE {_UNLINKED} AND {open_sql} GROUP BY l.crm_account_id",
                p_open,
            ).fetchall()
        for account, n in rows:
            if account in wanted:
                out[account] += int(n)
        return out

    def records(self, table: str, ids: Iterable[str]) -> list[Any]:
        """Decoded records of `table` (deals, invoices, payments, tickets) with these ids, their CRM account
        resolved: only what a message shows."""
        queries = ReportQueries(self.engine)
        with self.engine.read() as conn:
            return queries._by_ids(conn, table, "id", ids)

    def account_records(self, ids: Iterable[str]) -> list[Account]:
        queries = ReportQueries(self.engine)
        with self.engine.read() as conn:
            return queries._accounts(conn, ids)

    # ---- the support report --------------------------------------------------------------------------------

    def ticket_counts(self, rules: HealthRules, start: str, end: str) -> dict[str, Any]:
        """Tickets created from `start` to before `end` (UTC), those of them escalated, and tickets open now:
        `linked` per CRM account (id, None for its name, counts), the most opened first, then the most open now,
        the most escalated (the support report's order, but for names: ≈ 8,000 customers at 10,000 accounts, of
        which a card names a dozen, so names are read for those only); `unlinked` per Desk account of tickets
        mirrored without one (Desk id, the Desk account's id if mirrored, its CRM link and name, that account's
        name, counts); `closed`: (CRM account, hours to close) of tickets closed in the span, and
        `closed_unlinked`: (Desk id, hours) of those mirrored without a CRM account.
        Plain tuples: thousands of rows."""
        open_sql, p_open = _open_tickets(rules)
        created = "x.created_utc >= ? AND x.created_utc < ?"
        # Every ticket is read once, in account order: FILTER costs less than SUM(CASE …), and the rare escalated
        # flag is tested before the dates.
        counts = (
            f"COUNT(*) FILTER (WHERE {created}) AS opened, "
            f"COUNT(*) FILTER (WHERE x.escalated = 1 AND {created}) AS escalated, "
            f"COUNT(*) FILTER (WHERE {open_sql}) AS open_now"
        )
        p_counts = [start, end, start, end, *p_open]
        closed = (
            "FROM tickets x WHERE x.closed_utc >= ? AND x.closed_utc < ? "
            f"AND NOT ({open_sql}) AND x.close_hours IS NOT NULL"
        )
        p_closed = [start, end, *p_open]
        with self.engine.read() as conn:
            return {
                "linked": plain_rows(
                    conn,
                    f"SELECT x.account_id, NULL, {counts} FROM tickets x WHERE x.account_id <> '' "
                    "GROUP BY x.account_id ORDER BY opened DESC, open_now DESC, escalated DESC",
                    p_counts,
                ),
                "unlinked": conn.execute(
                    f"SELECT x.desk_account_id, l.id, l.crm_account_id, l.name, n.name, {counts} FROM tickets x "
                    "LEFT JOIN desk_accounts l ON l.id = x.desk_account_id LEFT JOIN accounts n "
                    f"ON n.id = l.crm_account_id WHERE {_UNLINKED} "
                    "GROUP BY x.desk_account_id, l.id, l.crm_account_id, l.name, n.name",
                    p_counts,
                ).fetchall(),
                "closed": plain_rows(
                    conn, f"SELECT x.account_id, x.close_hours {closed} AND x.account_id <> ''", p_closed
                ),
                "closed_unlinked": plain_rows(
                    conn, f"SELECT x.desk_account_id, x.close_hours {closed} AND {_UNLINKED}", p_closed
                ),
            }
