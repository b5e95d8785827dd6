"""Read the mirror (and the handoffs table) into `MirrorData` for the pure reports.

One read snapshot (`Store.load`, on a reader connection) gives a consistent picture. Invoices and payments
mirrored without a CRM account get it through their Books customer's `zcrm_account_id`; tickets through their
Desk account's CRM link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.models import Deal
from bot.reports.compute import HandoffRow, MirrorData
from bot.store import Store, paused_gc

__all__ = ["account_names", "accounts_owned_by", "deals_by_id", "handoffs_for", "load_mirror", "paused_gc"]
_LOADED = ("accounts", "deals", "invoices", "payments", "tickets")


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


def handoff_from_row(row: Mapping[str, Any]) -> HandoffRow:
    """A `handoffs` row, read by column name."""
    missing = _json(row["missing"], [])
    return HandoffRow(
        deal_id=row["deal_id"], account_id=row["account_id"] or "", state=row["state"] or "",
        kind=row["kind"] or "invoice", missing=tuple(_missing_label(m) for m in missing),
        owner_email=(row["owner_email"] or "").strip().lower(), plan=_json(row["plan"], {}),
        finance_channel=row["finance_channel"] or "", finance_ts=row["finance_ts"] or "",
        document_number=row["document_number"] or "", approved_by=row["approved_by"] or "",
        approved_at=_when(row["approved_at"]), created_at=_when(row["created_at"]),
        updated_at=_when(row["updated_at"]),
    )


def load_mirror(store: Store, *, account_ids: Sequence[str] | None = None, handoffs: bool = True) -> MirrorData:
    """Everything mirrored, or only what belongs to `account_ids` (then unlinked records are left out)."""
    got = store.load(_LOADED, account_ids=account_ids)
    rows = [handoff_from_row(r) for r in store.handoffs.rows()] if handoffs else []
    if account_ids is not None:
        wanted = set(account_ids)
        rows = [h for h in rows if h.account_id in wanted]
    return MirrorData(
        accounts={a.id: a for a in got.accounts}, deals=got.deals, invoices=got.invoices, payments=got.payments,
        tickets=got.tickets, handoffs=rows, desk_names={d: name for d, (_, name) in got.desk_links.items()},
    )


def accounts_owned_by(store: Store, email: str) -> list[str]:
    return store.account_ids_owned_by(email)


def handoffs_for(store: Store, email: str, approver: bool, recent: int) -> tuple[list[HandoffRow] | None,
                                                                                 list[HandoffRow]]:
    """(handoffs waiting for approval if `approver` else None, the most recent ones: every handoff for an
    approver, else those on deals the user owns)."""
    waiting = [handoff_from_row(r) for r in store.handoffs.rows(state="ready")] if approver else None
    if approver:
        latest = store.handoffs.rows(limit=recent)
    elif email:
        latest = store.handoffs.rows(owner_email=email, limit=recent)
    else:
        latest = []
    return waiting, [handoff_from_row(r) for r in latest]


def deals_by_id(store: Store, ids: Sequence[str]) -> dict[str, Deal]:
    return store.records_by_id(Deal, ids)


def account_names(store: Store, ids: Sequence[str]) -> dict[str, str]:
    return store.account_names(ids)
