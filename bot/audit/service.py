"""The drift audit's use case: refresh the mirror if it is stale, read it, find drift, keep the run.

`AuditService.run(actor)` costs few Zoho calls: an incremental `MirrorSync` only when the mirror is older than
`max(sync.interval_minutes, MIN_FRESH_MINUTES)` (or never synced), then one CRM read of product lines per won
deal that has no invoice yet. Each run is stored in `drift_runs` so that Slack buttons can page through it and
apply its suggestions (`apply`, in `bot/audit/apply.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.audit.drift import Finding, MirrorData, find_drift, won_deals_needing_products
from bot.config import OperatingStructure
from bot.errors import ZohoError
from bot.models import Product
from bot.store import Store
from bot.sync import COMPLETED, MirrorSync, SyncReport
from bot.zoho.clients import ZohoClients
from bot.zoho.links import AppLinks

MIN_FRESH_MINUTES = 10
PRODUCT_READS = 4  # concurrent CRM reads of deal products
KEEP_RUNS = timedelta(days=30)
SyncMode = Literal["auto", "always", "never"]

_TABLES = ("accounts", "contacts", "deals", "books_customers", "invoices", "desk_accounts", "tickets")


@dataclass
class AuditRun:
    id: int
    at: datetime
    actor: str
    findings: list[Finding]
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # finding id → {state, by, at, message}
    notes: list[str] = field(default_factory=list)  # what the run could not do (sync failed, products unread)
    synced: SyncReport | None = None

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)


def load_mirror(store: Store) -> MirrorData:
    """Every mirrored record the audit looks at, as mirrored (links not resolved)."""
    got = store.load(_TABLES, resolve_links=False)
    return MirrorData(
        accounts=got.accounts,
        contacts=got.contacts,
        deals=got.deals,
        customers=got.customers,
        invoices=got.invoices,
        desk_accounts=got.desk_accounts,
        tickets=got.tickets,
        desk_links=store.desk_links(),
    )


def mirror_age(store: Store, now: datetime) -> timedelta | None:
    """Time since the last completed whole-mirror sync started; None when it never completed."""
    value = store.get_watermark(COMPLETED)
    return now - datetime.fromisoformat(value) if value else None


class AuditRuns:
    """The `drift_runs` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, at: datetime, actor: str, findings: list[Finding], notes: list[str]) -> int:
        return self.store.audit.save_drift_run(
            at, actor, [f.model_dump(mode="json") for f in findings], notes, forget_before=at - KEEP_RUNS
        )

    def load(self, run_id: int) -> AuditRun | None:
        row = self.store.audit.drift_run(run_id)
        if row is None:
            return None
        return AuditRun(
            id=row.id,
            at=row.at,
            actor=row.actor,
            findings=[Finding.model_validate(f) for f in row.findings],
            applied=row.applied,
            notes=row.notes,
        )

    def claim(self, run_id: int, finding_id: str, actor: str, at: datetime) -> dict[str, Any] | None:
        """Mark the finding as being applied; the existing mark instead when another click got there first."""
        return self.store.audit.claim_finding(run_id, finding_id, actor, at)

    def mark(self, run_id: int, finding_id: str, state: str, actor: str, at: datetime, message: str) -> None:
        self.store.audit.mark_finding(run_id, finding_id, state, actor, at, message)


async def read_products(zoho: ZohoClients, deal_ids: list[str]) -> tuple[dict[str, list[Product]], list[str]]:
    """Product lines per deal, a few reads at a time; deals whose read failed are left out (and named)."""
    limit = asyncio.Semaphore(PRODUCT_READS)
    found: dict[str, list[Product]] = {}
    failed: list[str] = []

    async def one(deal_id: str) -> None:
        async with limit:
            try:
                found[deal_id] = await zoho.crm.deal_products(deal_id)
            except ZohoError:
                failed.append(deal_id)

    await asyncio.gather(*(one(d) for d in deal_ids))
    return found, sorted(failed)


class AuditService:
    def __init__(
        self,
        store: Store,
        zoho: ZohoClients,
        structure: OperatingStructure,
        links: AppLinks,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.zoho, self.structure, self.links, self.clock = store, zoho, structure, links, clock
        self.runs = AuditRuns(store)

    def max_age(self) -> timedelta:
        return timedelta(minutes=max(self.structure.sync.interval_minutes, MIN_FRESH_MINUTES))

    async def refresh(self, mode: SyncMode = "auto") -> SyncReport | None:
        """Run the incremental mirror sync when asked to, or (auto) when the mirror is stale or never synced."""
        age = mirror_age(self.store, self.clock())
        if mode == "never" or (mode == "auto" and age is not None and age <= self.max_age()):
            return None
        return await MirrorSync(self.store, self.zoho, self.clock, tz=self.structure.tz).run()

    async def run(self, actor: str, *, sync: SyncMode = "auto", check_products: bool = True) -> AuditRun:
        """`check_products=False` (no Zoho credentials) leaves product lines unchecked."""
        notes: list[str] = []
        report = None
        try:
            report = await self.refresh(sync)
        except ZohoError as exc:
            notes.append(f"The mirror could not be refreshed ({exc.user_message()}); findings use what it holds.")
        data = await asyncio.to_thread(load_mirror, self.store)
        if not data.accounts:
            notes.append("The mirror holds no CRM accounts: run `throughline sync` first.")
        vocab = self.structure.vocabulary.effective()
        if "products" in self.structure.handoff.required and check_products:
            data.deal_products, failed = await read_products(self.zoho, won_deals_needing_products(data, vocab))
            if failed:
                notes.append(
                    f"Product lines of {len(failed)} won deal(s) could not be read from CRM; their "
                    "products were not checked."
                )
        findings = find_drift(data, vocab=vocab, handoff=self.structure.handoff, links=self.links)
        at = self.clock()
        run_id = await asyncio.to_thread(self.runs.save, at, actor, findings, notes)
        return AuditRun(id=run_id, at=at, actor=actor, findings=findings, notes=notes, synced=report)
