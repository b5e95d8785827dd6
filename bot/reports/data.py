"""Read the mirror (and the handoffs table) into `MirrorData` for the pure reports.

One read holds the store's lock for a consistent picture. Invoices and payments mirrored without a CRM account
get it through their Books customer's `zcrm_account_id`; tickets through their Desk account's CRM link.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlite_utils import Database

from bot.models import Account, Deal, Invoice, Payment, Ticket
from bot.reports.compute import HandoffRow, MirrorData
from bot.store import Store

M = TypeVar("M", bound=BaseModel)
_CHUNK = 500
HANDOFF_COLUMNS = ("deal_id, account_id, state, kind, missing, owner_email, plan, finance_channel, finance_ts, "
                   "document_number, approved_by, approved_at, created_at, updated_at")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Reading the whole mirror makes ~200,000 objects with no cycles: the cyclic collector would rescan the
    growing heap again and again (3× slower). Reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _json(value: str | None, default: Any) -> Any:
    try:
        found = json.loads(value or "")
    except ValueError:
        return default
    return found if isinstance(found, type(default)) else default


def _missing_label(entry: Any) -> str:
    """A missing field as the handoff feature stores it (`{"field": "billing_address", ...}`) or a bare name."""
    name = entry.get("field", "") if isinstance(entry, dict) else entry
    return str(name).replace("_", " ")


def handoff_from_row(row: Sequence[Any]) -> HandoffRow:
    missing = _json(row[4], [])
    return HandoffRow(
        deal_id=row[0], account_id=row[1] or "", state=row[2] or "", kind=row[3] or "invoice",
        missing=tuple(_missing_label(m) for m in missing), owner_email=(row[5] or "").strip().lower(),
        plan=_json(row[6], {}),
        finance_channel=row[7] or "", finance_ts=row[8] or "", document_number=row[9] or "",
        approved_by=row[10] or "", approved_at=_when(row[11]), created_at=_when(row[12]), updated_at=_when(row[13]),
    )


def read_handoffs(db: Database, where: str = "", params: Sequence[Any] = (), limit: int = -1) -> list[HandoffRow]:
    """Handoff rows, most recently changed first (`where` is SQL written here, values go in `params`)."""
    if not db["handoffs"].exists():
        return []
    sql = f"SELECT {HANDOFF_COLUMNS} FROM handoffs {where} ORDER BY updated_at DESC, deal_id LIMIT ?"
    return [handoff_from_row(r) for r in db.execute(sql, [*params, limit]).fetchall()]


def _models(db: Database, model: type[M], sql: str, params: Sequence[Any] = ()) -> list[M]:
    validate = model.model_validate_json
    return [validate(row[0]) for row in db.execute(sql, list(params)).fetchall()]


def _in_chunks(db: Database, model: type[M], sql: str, ids: Sequence[str]) -> list[M]:
    """`sql` holds `{marks}` for the ids; run it chunk by chunk."""
    out: list[M] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        out.extend(_models(db, model, sql.format(marks=", ".join("?" * len(chunk))), chunk))
    return out


def load_mirror(store: Store, *, account_ids: Sequence[str] | None = None, handoffs: bool = True) -> MirrorData:
    """Everything mirrored, or only what belongs to `account_ids` (then unlinked records are left out)."""
    with paused_gc(), store.transaction() as db:
        customers = {r[0]: r[1] or "" for r in db.execute("SELECT id, account_id FROM books_customers").fetchall()}
        desks = {r[0]: (r[1] or "", r[2] or "")
                 for r in db.execute("SELECT id, crm_account_id, name FROM desk_accounts").fetchall()}
        if account_ids is None:
            accounts = _models(db, Account, "SELECT data FROM accounts")
            deals = _models(db, Deal, "SELECT data FROM deals")
            invoices = _models(db, Invoice, "SELECT data FROM invoices")
            payments = _models(db, Payment, "SELECT data FROM payments")
            tickets = _models(db, Ticket, "SELECT data FROM tickets")
        else:
            ids = list(dict.fromkeys(account_ids))
            wanted = set(ids)
            cust = [c for c, a in customers.items() if a in wanted]
            desk = [d for d, (a, _) in desks.items() if a in wanted]
            accounts = _in_chunks(db, Account, "SELECT data FROM accounts WHERE id IN ({marks})", ids)
            deals = _in_chunks(db, Deal, "SELECT data FROM deals WHERE account_id IN ({marks})", ids)
            invoices = _in_chunks(db, Invoice, "SELECT data FROM invoices WHERE account_id IN ({marks})", ids)
            invoices += _in_chunks(db, Invoice, "SELECT data FROM invoices WHERE account_id = '' "
                                                "AND customer_id IN ({marks})", cust)
            payments = _in_chunks(db, Payment, "SELECT data FROM payments WHERE account_id IN ({marks})", ids)
            payments += _in_chunks(db, Payment, "SELECT data FROM payments WHERE account_id = '' "
                                                "AND customer_id IN ({marks})", cust)
            tickets = _in_chunks(db, Ticket, "SELECT data FROM tickets WHERE account_id IN ({marks})", ids)
            tickets += _in_chunks(db, Ticket, "SELECT data FROM tickets WHERE account_id = '' "
                                              "AND desk_account_id IN ({marks})", desk)
        rows = read_handoffs(db) if handoffs else []
    billed: list[Invoice | Payment] = [*invoices, *payments]
    for record in billed:
        if not record.account_id:
            record.account_id = customers.get(record.customer_id, "")
    for ticket in tickets:
        if not ticket.account_id:
            ticket.account_id = desks.get(ticket.desk_account_id, ("", ""))[0]
    if account_ids is not None:
        rows = [h for h in rows if h.account_id in set(account_ids)]
    return MirrorData(
        accounts={a.id: a for a in accounts}, deals=deals, invoices=invoices, payments=payments, tickets=tickets,
        handoffs=rows, desk_names={d: name for d, (_, name) in desks.items()},
    )


def accounts_owned_by(store: Store, email: str) -> list[str]:
    with store.transaction() as db:
        rows = db.execute("SELECT id FROM accounts WHERE owner_email = ? ORDER BY name, id",
                          [email.strip().lower()]).fetchall()
    return [r[0] for r in rows]


def handoffs_for(store: Store, email: str, approver: bool, recent: int) -> tuple[list[HandoffRow] | None,
                                                                                 list[HandoffRow]]:
    """(handoffs waiting for approval if `approver` else None, the most recent ones: every handoff for an
    approver, else those on deals the user owns)."""
    with store.transaction() as db:
        waiting = read_handoffs(db, "WHERE state = ?", ["ready"]) if approver else None
        if approver:
            latest = read_handoffs(db, limit=recent)
        elif email:
            latest = read_handoffs(db, "WHERE owner_email = ?", [email.strip().lower()], limit=recent)
        else:
            latest = []
    return waiting, latest


def deals_by_id(store: Store, ids: Sequence[str]) -> dict[str, Deal]:
    with store.transaction() as db:
        found = _in_chunks(db, Deal, "SELECT data FROM deals WHERE id IN ({marks})", list(dict.fromkeys(ids)))
    return {d.id: d for d in found}


def account_names(store: Store, ids: Sequence[str]) -> dict[str, str]:
    wanted = [i for i in dict.fromkeys(ids) if i]
    out: dict[str, str] = {}
    with store.transaction() as db:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            sql = f"SELECT id, name FROM accounts WHERE id IN ({', '.join('?' * len(chunk))})"
            out.update((r[0], r[1]) for r in db.execute(sql, chunk).fetchall())
    return out
