"""The money reports' queries (revenue, close → first invoice): figures over typed columns, no `data` decoded.

Revenue comes back summed per (kind, day, currency, owner): amounts are added in SQL as exact integers
(`*_units`, amount × 10⁴, bot/store/rows.py), with the smallest exponent of each group so that the caller rebuilds
the very Decimal that adding the amounts one by one gives; the rare amount that is not a whole number of units
comes back on its own row, as text. Currencies and owners are resolved here by join (a record's account: its own,
else its Books customer's), folded and named by the pure rules in bot/reports/compute.py.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from typing import Any

from bot.account.health import HealthRules
from bot.store import first_invoice
from bot.store.engine import Engine, plain_rows
from bot.store.reports import _in, billed

# A Books record's CRM account: its own, else its customer's link (looked up only for the few without their own).
BOOKS_ACCOUNT = (
    "CASE WHEN COALESCE(x.account_id, '') <> '' THEN x.account_id ELSE "
    "COALESCE((SELECT c.account_id FROM books_customers c WHERE c.id = x.customer_id), '') END"
)
ACCOUNTS_INDEX = "report_accounts"  # accounts (id, currency, owner_name, owner_email, name): _m_report_columns
DEAL_OWNERS_INDEX = "report_deals_owner"  # deals (id, owner_name, owner_email): _m_report_columns
KEPT_FIRST = "x.first_invoiced"  # deal `x`'s first counting invoice as kept (bot/store/first_invoice.py)
UNKNOWN_ACCOUNT = "(unknown account)"  # shown for a record linked to no account (bot/reports/compute.py)


def _first_invoice(conn: Any, rules: HealthRules) -> tuple[str, list[Any], str, list[Any]]:
    """SQL for the date of won deal `x`'s first counting invoice and for it having none, each with its parameters:
    the date kept on the deal (bot/store/first_invoice.py) when it answers for `rules`, else the invoices probed."""
    if first_invoice.kept(conn, rules):
        return KEPT_FIRST, [], f"{KEPT_FIRST} IS NULL", []
    bill_sql, p_bill = _in("i.status_key", rules.excluded_invoice_statuses, negate=True)
    counting = f"FROM invoices i WHERE i.deal_id = x.id AND i.kind = 'invoice' AND {bill_sql} AND i.date IS NOT NULL"
    return f"(SELECT MIN(i.date) {counting})", p_bill, f"NOT EXISTS (SELECT 1 {counting})", p_bill


def merged(ranges: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """ISO day ranges (inclusive) with overlapping ones joined, so that no day is read twice."""
    out: list[tuple[str, str]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _account_shown(*fallbacks: str) -> str:
    """The account a record is shown under (as `compute.account_name`), for a query joining `accounts a`: the
    mirrored account's name, else the first of `fallbacks` (SQL expressions) not empty, else UNKNOWN_ACCOUNT."""
    given = "".join(f"NULLIF({f}, ''), " for f in fallbacks)
    return f"CASE WHEN a.id IS NULL THEN COALESCE({given}'{UNKNOWN_ACCOUNT}') ELSE COALESCE(a.name, '') END"


def _months(first: str, last: str, *, most: int = 24) -> list[tuple[str, str, str]] | None:
    """(`YYYY-MM`, first day, last day) of each calendar month of the ISO day range (inclusive), cut to it; None
    past `most` months (one scan grouping by month is then cheaper than a statement per month)."""
    year, month = int(first[:4]), int(first[5:7])
    out: list[tuple[str, str, str]] = []
    while f"{year:04d}-{month:02d}" <= last[:7]:
        key = f"{year:04d}-{month:02d}"
        end = f"{key}-{monthrange(year, month)[1]:02d}"
        out.append((key, max(first, f"{key}-01"), min(last, end)))
        if len(out) > most:
            return None
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


class MoneyQueries:
    """Reads for the revenue and invoicing reports and the finance and leadership digests (one snapshot each)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def revenue(
        self, rules: HealthRules, ranges: Sequence[tuple[str, str]], *, owners: bool = True, by_month: bool = False
    ) -> dict[str, list[tuple[Any, ...]]]:
        """Per kind (sold, invoiced, collected), rows of (day, currency, account currency when the record has
        none, owner name, owner email, count, units summed, smallest exponent, amount): summed rows carry no
        amount; a row with an amount (text) is one record whose amount has no exact units. Days in `ranges`
        (ISO, inclusive). Sold: won deals with an amount, by closing date; invoiced: counting invoices, owned by
        the linked deal's owner when that deal is mirrored, else by the account's; collected: payments.
        Without `owners`, owner name and email are NULL and nothing is joined but a record's account for its
        currency when it has none. `by_month`: summed per month (`YYYY-MM` in place of the day)."""
        won_sql, p_won = _in("x.stage_key", rules.won_stages)
        bill_sql, p_bill = billed(rules.excluded_invoice_statuses)
        # Summed by day over owners: invoices are grouped in their date index's order (day, kind, status,
        # currency), so summed as read, not sorted; the kind is then compared as an expression (a constant
        # column would be dropped from that order by SQLite, and the rows sorted).
        in_order = not owners and not by_month
        if in_order:
            status_sql, p_bill = _in("x.status_key", rules.excluded_invoice_statuses, negate=True)
            bill_sql = f"COALESCE(x.kind, '') = 'invoice' AND {status_sql}"
        accounts, deals = self.engine.covering(ACCOUNTS_INDEX), self.engine.covering(DEAL_OWNERS_INDEX)
        no_currency = "(x.currency = '' OR x.currency IS NULL)"
        # The account is joined only for its owner, unless the invoice's deal is mirrored; a record without a
        # currency looks its account's up (few do).
        if owners:
            invoice_source = (
                f"invoices x LEFT JOIN deals d {deals} ON COALESCE(x.deal_id, '') <> '' AND d.id = x.deal_id "
                f"LEFT JOIN accounts a {accounts} ON d.id IS NULL AND a.id = {BOOKS_ACCOUNT}"
            )
            invoice_owner = (
                "CASE WHEN d.id IS NULL THEN a.owner_name ELSE d.owner_name END, "
                "CASE WHEN d.id IS NULL THEN a.owner_email ELSE d.owner_email END"
            )
            payment_source = f"payments x LEFT JOIN accounts a {accounts} ON a.id = {BOOKS_ACCOUNT}"
        else:
            invoice_source, payment_source, invoice_owner = "invoices x", "payments x", ""
        # (FROM, conditions, their parameters, day, units, exponent, amount, the record's account, owner)
        kinds: dict[str, tuple[str, str, list[Any], str, str, str, str, str, str]] = {
            "sold": (
                "deals x",
                f"{won_sql} AND x.amount IS NOT NULL",
                p_won,
                "x.closing_date",
                "x.amount_units",
                "x.amount_exp",
                "x.amount",
                "x.account_id",
                "x.owner_name, x.owner_email",
            ),
            "invoiced": (
                invoice_source,
                f"{bill_sql} AND x.total IS NOT NULL",
                p_bill,
                "x.date",
                "x.total_units",
                "x.total_exp",
                "x.total",
                BOOKS_ACCOUNT,
                invoice_owner,
            ),
            "collected": (
                payment_source,
                "x.amount IS NOT NULL",
                [],
                "x.date",
                "x.amount_units",
                "x.amount_exp",
                "x.amount",
                BOOKS_ACCOUNT,
                "a.owner_name, a.owner_email",
            ),
        }
        out: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in kinds}
        with self.engine.read() as conn:
            for kind, (source, where, params, day, units, exponent, amount, account, owner) in kinds.items():
                when = f"substr({day}, 1, 7)" if by_month else day
                currency = f"(SELECT z.currency FROM accounts z {accounts} WHERE z.id = {account})"
                grouped = f", {owner}" if owners else ""
                shown = grouped or ", NULL, NULL"  # PostgreSQL groups by no constant
                # Records with a currency (nearly all) group by it; the few without (read through the currency
                # index) look their account's up: one lookup key less for every record to sort. By month, those
                # with a currency are read a month at a time (the month is then no key to work out and sort by).
                ordered = f"{when}, x.kind, x.status_key, x.currency" if in_order and kind == "invoiced" else ""
                variants = (
                    (
                        "COALESCE(x.currency, '') <> ''",
                        ordered or f"{when}, x.currency{grouped}",
                        f"{when}, x.currency, ''",
                        True,
                    ),
                    (no_currency, f"{when}, {currency}{grouped}", f"{when}, '', {currency}", False),
                )
                exact = f"CASE WHEN {units} IS NOT NULL THEN {exponent} END"
                sums = f"COUNT({units}), SUM({units}), MIN({exact}), NULL, COUNT(*)"
                for span in merged(ranges):  # one range scan each (an OR of ranges scans the whole index)
                    for has_currency, keys, head, monthly in variants:
                        picked = f"{where} AND {has_currency} AND {day} BETWEEN ? AND ?"
                        parts = _months(*span) if by_month and owners and monthly else None
                        if parts:  # a range scan per month: the month is known, not worked out and sorted per row
                            summed = []
                            for month, *part in parts:
                                summed += [
                                    (month, *row)
                                    for row in conn.execute(
                                        f"SELECT x.currency, ''{shown}, {sums} FROM {source} WHERE {picked} "
                                        # owner first: led by the currency, SQLite reads the currency index
                                        # (whole table) to skip the sort
                                        f"GROUP BY {owner}, x.currency",
                                        [*params, *part],
                                    ).fetchall()
                                ]
                        else:
                            summed = conn.execute(
                                f"SELECT {head}{shown}, {sums} FROM {source} WHERE {picked} GROUP BY {keys}",
                                [*params, *span],
                            ).fetchall()
                        out[kind] += [tuple(row[:-1]) for row in summed if row[-5]]
                        if any(row[-1] > row[-5] for row in summed):  # amounts without exact units: one row each
                            out[kind] += [
                                tuple(row)
                                for row in conn.execute(
                                    f"SELECT {head}{shown}, 1, NULL, NULL, {amount} FROM {source} "
                                    f"WHERE {picked} AND {units} IS NULL",
                                    [*params, *span],
                                ).fetchall()
                            ]
        return out

    def won_deals(
        self, rules: HealthRules, first: str, last: str, *, keep_from: str, keep_to: str, waited_to: str
    ) -> list[tuple[Any, ...]]:
        """Won deals closed from `keep_from` to `keep_to`, and those closed from `first` to `waited_to` not
        invoiced (`first`, `last`: the union's bounds): (closing date, id, name, amount, currency, owner name,
        owner email, account shown (the mirrored account's name, else the deal's own account name, else its
        account id, else "(unknown account)"), date of the first counting invoice linked to the deal (as
        bot.account.health.is_billed counts) or None). Plain rows, in no order."""
        won_sql, p_won = _in("x.stage_key", rules.won_stages)
        shown = self._won_shown()
        source = f"FROM deals x LEFT JOIN accounts a {self.engine.covering(ACCOUNTS_INDEX)} ON a.id = x.account_id"
        with self.engine.read() as conn:
            first_sql, p_first, none_sql, p_none = _first_invoice(conn, rules)
            # Each part its own range: the kept days with their first invoice, the days before and after them for
            # the deals not invoiced (whose first invoice is not looked up).
            waiting = (  # before (<) or after (>) the kept days, from `first` to `waited_to` and `last`
                f"{shown}, NULL {source} WHERE {won_sql} AND x.closing_date {{}} ? AND x.closing_date >= ? "
                f"AND x.closing_date <= ? AND {none_sql}"
            )
            upto = min(waited_to, last)
            parts = [  # in the order of their days (the caller sorts them by day: less to do)
                (waiting.format("<"), [*p_won, keep_from, first, upto, *p_none]),
                (
                    f"{shown}, {first_sql} {source} WHERE {won_sql} AND x.closing_date BETWEEN ? AND ?",
                    [*p_first, *p_won, max(first, keep_from), min(last, keep_to)],
                ),
                (waiting.format(">"), [*p_won, keep_to, first, upto, *p_none]),
            ]
            return [row for sql, params in parts for row in plain_rows(conn, sql, params)]

    def waiting(self, rules: HealthRules, oldest: str, waited: str, limit: int) -> tuple[int, list[tuple[Any, ...]]]:
        """Won deals closed from `oldest` to `waited` with no counting invoice linked (as `compute.not_invoiced`
        lists them): how many, and those of the first closing days holding the `limit` oldest (ties at the last
        day all in), as `won_deals` gives its rows, in no order. Counted per day in SQL; only those rows read."""
        won_sql, p_won = _in("x.stage_key", rules.won_stages)
        with self.engine.read() as conn:
            _, _, none_sql, p_bill = _first_invoice(conn, rules)
            where = f"WHERE {won_sql} AND x.closing_date BETWEEN ? AND ? AND {none_sql}"
            days = conn.execute(
                f"SELECT x.closing_date, COUNT(*) FROM deals x {where} GROUP BY x.closing_date",
                [*p_won, oldest, waited, *p_bill],
            ).fetchall()
            total, cut, left = 0, None, limit
            for day, n in sorted(map(tuple, days)):
                total += n
                if left > 0:
                    cut, left = day, left - n
            if cut is None:
                return total, []
            rows = plain_rows(
                conn,
                f"{self._won_shown()}, NULL FROM deals x LEFT JOIN accounts a "
                f"{self.engine.covering(ACCOUNTS_INDEX)} ON a.id = x.account_id {where}",
                [*p_won, oldest, cut, *p_bill],
            )
        return int(total), rows

    def _won_shown(self) -> str:
        """A won deal's columns as `won_deals` gives them, but its first invoice (for `deals x` and `accounts a`)."""
        return (
            "SELECT x.closing_date, x.id, x.name, x.amount, x.currency, x.owner_name, x.owner_email, "
            + _account_shown("x.account_name", "x.account_id")
        )

    def won_closings(
        self, rules: HealthRules, *, keep_from: str, keep_to: str, waited_from: str, waited_to: str
    ) -> tuple[list[tuple[str, str]], int]:
        """(closing date, date of the first counting invoice linked) of the won deals closed from `keep_from` to
        `keep_to` that are invoiced, and how many won deals closed from `waited_from` to `waited_to` are not."""
        won_sql, p_won = _in("x.stage_key", rules.won_stages)
        with self.engine.read() as conn:
            first_sql, p_first, none_sql, p_none = _first_invoice(conn, rules)
            where = f"FROM deals x WHERE {won_sql} AND x.closing_date BETWEEN ? AND ?"
            if first_sql != KEPT_FIRST:  # probing the invoices: each deal's first invoice looked up once
                invoiced = f"SELECT * FROM (SELECT x.closing_date, {first_sql} AS first {where}) AS won"
                invoiced += " WHERE first IS NOT NULL"
            else:
                invoiced = f"SELECT x.closing_date, {first_sql} {where} AND {first_sql} IS NOT NULL"
            rows = plain_rows(conn, invoiced, [*p_first, *p_won, keep_from, keep_to])
            late = conn.execute(
                f"SELECT COUNT(*) {where} AND {none_sql}", [*p_won, waited_from, waited_to, *p_none]
            ).fetchone()[0]
        return rows, int(late)

    def payments_on(self, day: str) -> list[tuple[Any, ...]]:
        """Payments made on `day`: (amount, currency, account shown: the mirrored account's name, else the CRM
        account id, else "(unknown account)")."""
        with self.engine.read() as conn:
            return plain_rows(conn, self._paid_sql(), [day])

    def _paid_sql(self, more: str = "") -> str:
        """`payments_on`'s statement (its parameter: the day), with the condition `more` (" AND …") added."""
        return (
            f"SELECT x.amount, x.currency, {_account_shown(BOOKS_ACCOUNT)} FROM payments x "
            f"LEFT JOIN accounts a {self.engine.covering(ACCOUNTS_INDEX)} ON a.id = {BOOKS_ACCOUNT} "
            f"WHERE x.date = ? AND x.amount IS NOT NULL{more}"
        )

    def payments_summed(self, day: str, limit: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
        """The payments made on `day` (as `payments_on`) per currency: (currency, count, units summed, smallest
        exponent), and those of the `limit` largest amounts (ties at the least of them all in): rows as
        `payments_on` gives them, in no order. None when some amount has no exact units (ask `payments_on`)."""
        where = "FROM payments x WHERE x.date = ? AND x.amount IS NOT NULL"
        with self.engine.read() as conn:
            sums = conn.execute(
                "SELECT x.currency, COUNT(*), COUNT(x.amount_units), SUM(x.amount_units), MIN(x.amount_exp) "
                f"{where} GROUP BY x.currency",
                [day],
            ).fetchall()
            if any(n != exact for _, n, exact, _, _ in sums):
                return None
            if limit <= 0:
                return [(code, n, units, exponent) for code, n, _, units, exponent in sums], []
            least = conn.execute(
                f"SELECT x.amount_units {where} ORDER BY x.amount_units DESC LIMIT 1 OFFSET ?", [day, limit - 1]
            ).fetchone()
            rows = plain_rows(conn, self._paid_sql(" AND x.amount_units >= ?" if least else ""), [day, *(least or ())])
        return [(code, n, units, exponent) for code, n, _, units, exponent in sums], rows
