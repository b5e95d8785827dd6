"""Mirror sync: read what changed in CRM, Books and Desk since each watermark and store it.

The first run reads everything; later runs pass the watermark to Zoho (`If-Modified-Since`,
`last_modified_time`, Desk's newest-first ticket order) so they ask only for what changed. A watermark moves
only after its whole stream was stored, so an interrupted sync repeats work rather than losing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.store import Store
from bot.zoho.clients import ZohoClients

# Zoho's clocks and ours disagree a little, and records saved during a read may carry an earlier time:
# re-read a small overlap rather than miss them. Upserts make the overlap harmless.
OVERLAP = timedelta(minutes=2)
COMPLETED = "sync:completed"

Progress = Callable[[str, int], None]


@dataclass
class SyncReport:
    counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class MirrorSync:
    def __init__(self, store: Store, zoho: ZohoClients, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.zoho = zoho
        self.clock = clock

    def _since(self, name: str) -> datetime | None:
        value = self.store.get_watermark(f"sync:{name}")
        return datetime.fromisoformat(value) - OVERLAP if value else None

    async def run(self, progress: Progress | None = None) -> SyncReport:
        report = SyncReport(started_at=self.clock())
        crm, books, desk = self.zoho.crm, self.zoho.books, self.zoho.desk
        streams: list[tuple[str, Callable[[datetime | None], AsyncIterator[list[Any]]], Callable[[list[Any]], None]]]
        streams = [
            ("crm_accounts", lambda s: crm.iter_accounts(modified_since=s), self.store.upsert_accounts),
            ("crm_contacts", lambda s: crm.iter_contacts(modified_since=s), self.store.upsert_contacts),
            ("crm_deals", lambda s: crm.iter_deals(modified_since=s), self.store.upsert_deals),
            ("books_customers", lambda s: books.iter_customers(modified_since=s), self.store.upsert_books_customers),
            ("books_invoices", lambda s: books.iter_invoices(modified_since=s), self.store.upsert_invoices),
            ("books_payments", lambda s: books.iter_payments(modified_since=s), self.store.upsert_payments),
            ("desk_accounts", lambda s: desk.iter_accounts(modified_since=s), self.store.upsert_desk_accounts),
            ("desk_tickets", lambda s: desk.iter_tickets(stop_before=s), self.store.upsert_tickets),
        ]
        for name, read, save in streams:
            started = self.clock()
            total = 0
            async for page in read(self._since(name)):
                save(page)
                total += len(page)
                if progress:
                    progress(name, total)
            self.store.set_watermark(f"sync:{name}", started.isoformat())
            report.counts[name] = total
        report.finished_at = self.clock()
        self.store.set_watermark(COMPLETED, report.started_at.isoformat() if report.started_at else "")
        return report


def summarise(report: SyncReport) -> Iterable[str]:
    for name, count in report.counts.items():
        yield f"{name.replace('_', ' ')}: {count}"
