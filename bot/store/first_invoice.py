"""Each deal's first counting invoice kept at write time (`deals.first_invoiced`), so that the invoicing report and
the finance and leadership digests read a deal's close → first invoice from the deal's own index entry instead of
probing the invoices linked to it, deal by deal (≈ 2 µs a deal, thousands of deals a report).

`first_invoiced` is the earliest date of the invoices linked to the deal (`deal_id`) that count as the health rule
counts them (bot/account/health.py `is_billed`: kind invoice, status not excluded, dated), NULL when none does. Every
upsert or delete of invoices recomputes it for the deals they were linked to before and after the write (a re-link
moves an invoice between two deals); an upsert of deals recomputes it for those deals (a deal mirrored after its
invoices). Like the health aggregates (bot/store/health_summary.py) it is not kept while a first sync loads the
mirror (`health_summary.LOADING`: the indexes the upkeep reads through are deferred) and is rebuilt at its end; a
reader whose rules count other invoices (`fits`), or that finds a first sync loading (`kept`), asks the invoices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.account.health import EXCLUDED_INVOICE_STATUSES, HealthRules
from bot.store import health_summary
from bot.store.engine import chunks, marks

_EXCLUDED = sorted(EXCLUDED_INVOICE_STATUSES)
# The first counting invoice of deal `deals.id` (its parameters: _EXCLUDED)
FIRST = (
    "(SELECT MIN(i.date) FROM invoices i WHERE i.deal_id = deals.id AND i.kind = 'invoice' "
    f"AND i.status_key NOT IN ({marks(len(_EXCLUDED))}) AND i.date IS NOT NULL)"
)


def fits(rules: HealthRules) -> bool:
    """Whether `rules` count the invoices `first_invoiced` counts."""
    return rules.excluded_invoice_statuses == EXCLUDED_INVOICE_STATUSES


def kept(conn: Any, rules: HealthRules) -> bool:
    """Whether `first_invoiced` answers for `rules` now (not while a first sync loads)."""
    return fits(rules) and not health_summary.loading(conn)


def _touched(conn: Any, table: str, rows: Sequence[dict[str, Any]], ids: Iterable[str]) -> set[str]:
    """The deals whose first invoice may change when `rows` are upserted into `table` or `ids` deleted from it (read
    before the write): upserted deals; for invoices, the deals they are linked to before and after."""
    if table == "deals":
        return {r["id"] for r in rows}
    if table != "invoices":
        return set()
    keys = [r["id"] for r in rows] + list(ids)
    found = {r.get("deal_id") or "" for r in rows}
    for chunk in chunks(keys):
        sql = f"SELECT deal_id FROM invoices WHERE id IN ({marks(len(chunk))})"
        found |= {r[0] or "" for r in conn.execute(sql, chunk).fetchall()}
    return found - {""}


def refresh(conn: Any, deal_ids: Iterable[str], for_update: str = "") -> None:
    """Recompute `first_invoiced` of these deals, inside the caller's write transaction (`for_update`: the engine's,
    so that on PostgreSQL a concurrent writer of the same deals commits first and what it wrote is read). Rows whose
    value stands are not written."""
    for chunk in chunks(sorted(set(deal_ids))):
        where = f"id IN ({marks(len(chunk))})"
        if for_update:
            conn.execute(f"SELECT id FROM deals WHERE {where}{for_update}", chunk).fetchall()
        conn.execute(
            f"UPDATE deals SET first_invoiced = {FIRST} WHERE {where} "
            f"AND COALESCE(first_invoiced, '') <> COALESCE({FIRST}, '')",
            [*_EXCLUDED, *chunk, *_EXCLUDED],
        )


def rebuild(conn: Any) -> None:
    """Every deal's afresh from the invoices (the end of a first sync's load; the migration's backfill)."""
    conn.execute(
        f"UPDATE deals SET first_invoiced = {FIRST} WHERE COALESCE(first_invoiced, '') <> COALESCE({FIRST}, '')",
        [*_EXCLUDED, *_EXCLUDED],
    )


@contextmanager
def upkeep(
    conn: Any, table: str, rows: Sequence[dict[str, Any]] = (), ids: Iterable[str] = (), for_update: str = ""
) -> Iterator[None]:
    """Around a write to `table` (upserting `rows` or deleting the records `ids`), in its transaction: the deals'
    first invoices are recomputed once it is done (not while a first sync loads: `rebuild` at its end)."""
    if table not in ("deals", "invoices") or health_summary.loading(conn):
        yield
        return
    deals = _touched(conn, table, rows, ids)
    yield
    refresh(conn, deals, for_update)
