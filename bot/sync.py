"""Mirror sync: read what changed in CRM, Books and Desk since each watermark and store it.

The first run reads everything; later runs pass the watermark to Zoho (`If-Modified-Since`; Books' documented
newest-first sorts, open-invoice filters and payment dates, see bot/zoho/books.py; Desk's ticket search by
`modifiedTimeRange`) so they ask only for what changed. A watermark moves
only after its whole stream was stored, so an interrupted sync repeats work rather than losing it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.intake.changes import ChangeRecorder
from bot.models import Payment
from bot.store import Store
from bot.zoho.books import PAYMENT_LOOKBACK
from bot.zoho.clients import ZohoClients

# Zoho's clocks and ours disagree a little, and records saved during a read may carry an earlier time:
# re-read a small overlap rather than miss them. Upserts make the overlap harmless.
OVERLAP = timedelta(minutes=2)
COMPLETED = "sync:completed"
# Streams whose changes raise events (bot.intake.changes), exactly as a webhook for the same change would.
EVENT_STREAMS = frozenset({"crm_accounts", "crm_deals", "books_invoices", "books_paid_invoices", "desk_tickets"})
# Books cannot list invoices by modification: every open invoice is read on a sweep, this often (a watermark);
# in between, new invoices and those new payments were applied to are read (and Books webhooks report the rest).
BOOKS_SWEEP = "sync:books_open_sweep"
OPEN_SWEEP_EVERY = timedelta(hours=6)
SWEEP_ALWAYS_UNDER = 400  # open invoices: two list pages, cheap enough to sweep on every sync
SWEEP_LOOKBACK = timedelta(days=30)  # payments' look-back on a sweep (a payment entered with an older date)

# Pages are stored in batches of at least this many records, one transaction each. An insert touches a leaf page
# of every index of its table; with one 200-row page per transaction, each commit rewrote (WAL, then checkpoint)
# nearly a page per row once the indexes outgrew the page, and the store's time grew 17x for 10x the rows.
# A bigger batch rewrites each touched page once for many rows; this size holds the writer well under a second.
STORE_BATCH = 2000

Progress = Callable[[str, int], None]
Saver = Callable[[list[Any]], None]


@dataclass
class SyncReport:
    counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events: int = 0  # events raised (queued in the inbox for the feed and the handoff)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stream (read and stored)


class MirrorSync:
    def __init__(
        self,
        store: Store,
        zoho: ZohoClients,
        clock: Callable[[], datetime],
        *,
        tz: Any = None,
        raise_events: bool = True,
    ) -> None:
        self.store = store
        self.zoho = zoho
        self.clock = clock
        # After storing a page, compare with the previous mirror rows and queue the events a webhook would
        # have raised; the first sync of a stream is a baseline and raises none.
        self.changes = ChangeRecorder(store, clock, tz) if raise_events else None
        self._paid_invoices: set[str] = set()

    async def _since(self, name: str) -> datetime | None:
        value = await self.store.run(self.store.get_watermark, f"sync:{name}")
        return datetime.fromisoformat(value) - OVERLAP if value else None

    def _save_payments(self, payments: list[Payment]) -> None:
        """Store payments, noting the invoices of those that are new or were re-applied (their invoices changed)."""
        known = self.store.records_by_id(Payment, [p.id for p in payments])
        for p in payments:
            before = known.get(p.id)
            if before is None or before.invoice_ids != p.invoice_ids or before.amount != p.amount:
                self._paid_invoices.update(p.invoice_ids)
        self.store.upsert_payments(payments)

    def _open_invoice_ids(self) -> list[str]:
        """Mirrored invoices that can still change (Books is asked again about any that left its open lists)."""
        return self.store.open_invoice_ids()

    def _invoice_numbers(self) -> Callable[[list[str]], dict[str, str]]:
        """Invoice number -> id for the mirrored invoices, read once per sync (payments name invoices by number)."""
        by_number = self.store.invoice_ids_by_number()
        return lambda numbers: {n: by_number[n] for n in numbers if n in by_number}

    async def _invoices(self, since: datetime | None, sweep: bool) -> AsyncIterator[list[Any]]:
        # Every read of the mirror runs on the store's threads (at 10,000 accounts this one and the invoice numbers
        # below decode ~45,000 rows: a quarter of a second the event loop would otherwise stand still).
        open_ids = await self.store.run(self._open_invoice_ids) if sweep else []
        async for page in self.zoho.books.iter_invoices(modified_since=since, open_ids=open_ids, sweep=sweep):
            yield page

    async def _payments(self, since: datetime | None, sweep: bool) -> AsyncIterator[list[Any]]:
        resolve = await self.store.run(self._invoice_numbers)
        lookback = SWEEP_LOOKBACK if sweep else PAYMENT_LOOKBACK
        async for page in self.zoho.books.iter_payments(modified_since=since, resolve=resolve, lookback=lookback):
            yield page

    def _start(self) -> tuple[bool, bool]:
        """(first sync ever, sweep Books' open invoices this time)."""
        with self.store.reading():
            first_ever = self.store.get_watermark(COMPLETED) is None
            last_sweep = self.store.get_watermark(BOOKS_SWEEP)
            sweep = (
                not last_sweep
                or self.clock() - datetime.fromisoformat(last_sweep) >= OPEN_SWEEP_EVERY
                or len(self._open_invoice_ids()) <= SWEEP_ALWAYS_UNDER
            )
        return first_ever, sweep

    async def run(self, progress: Progress | None = None) -> SyncReport:
        report = SyncReport(started_at=self.clock())
        crm, books, desk = self.zoho.crm, self.zoho.books, self.zoho.desk
        first_ever, sweep = await self.store.run(self._start)
        self._paid_invoices = set()
        streams: list[tuple[str, Callable[[datetime | None], AsyncIterator[list[Any]]], Saver]]
        streams = [
            ("crm_accounts", lambda s: crm.iter_accounts(modified_since=s), self.store.upsert_accounts),
            ("crm_contacts", lambda s: crm.iter_contacts(modified_since=s), self.store.upsert_contacts),
            ("crm_deals", lambda s: crm.iter_deals(modified_since=s), self.store.upsert_deals),
            ("books_customers", lambda s: books.iter_customers(modified_since=s), self.store.upsert_books_customers),
            ("books_invoices", lambda s: self._invoices(s, sweep), self.store.upsert_invoices),
            ("books_payments", lambda s: self._payments(s, sweep), self._save_payments),
            # The invoices new payments were applied to, read again (a watermark-less first sync read them all).
            (
                "books_paid_invoices",
                lambda s: books.read_invoices(sorted(self._paid_invoices) if s else []),
                self.store.upsert_invoices,
            ),
            ("desk_accounts", lambda s: desk.iter_accounts(modified_since=s), self.store.upsert_desk_accounts),
            ("desk_tickets", lambda s: desk.iter_tickets(modified_since=s), self.store.upsert_tickets),
        ]
        # A first sync loads every record: the report indexes are built after it rather than entry by entry
        # (bot/store/indexes.py); a later sync first builds any that an interrupted first sync left pending.
        if first_ever:
            await self.store.run(self.store.defer_report_indexes)
        else:
            await self.store.run(self.store.restore_report_indexes)
        try:
            await self._streams(streams, report, progress)
        finally:
            await self.store.run(self.store.restore_report_indexes)
        if sweep and report.started_at is not None:
            await self.store.run(self.store.set_watermark, BOOKS_SWEEP, report.started_at.isoformat())
        if self.changes is not None:  # what fell overdue by the calendar alone (the first sync: a baseline)
            report.events += await self.store.run(self.changes.overdue_scan, publish=not first_ever)
        report.finished_at = self.clock()
        started = report.started_at.isoformat() if report.started_at else ""
        await self.store.run(self.store.set_watermark, COMPLETED, started)
        return report

    async def _streams(
        self,
        streams: list[tuple[str, Callable[[datetime | None], AsyncIterator[list[Any]]], Saver]],
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        for name, read, save in streams:
            started, timer = self.clock(), time.perf_counter()
            total = 0
            since = await self._since(name)
            baseline = since is None

            async def store(batch: list[Any], name: str = name, save: Saver = save, baseline: bool = baseline) -> None:
                # Stored on the store's threads: a sync never holds the event loop.
                if self.changes is not None and name in EVENT_STREAMS:
                    events = await self.store.run(self.changes.apply, batch, save, "sync", raise_events=not baseline)
                    report.events += len(events)
                else:
                    await self.store.run(save, batch)

            batch: list[Any] = []
            async for page in read(since):
                batch.extend(page)
                if len(batch) >= STORE_BATCH:
                    await store(batch)
                    total += len(batch)
                    batch = []
                    if progress:
                        progress(name, total)
            if batch:
                await store(batch)
                total += len(batch)
                if progress:
                    progress(name, total)
            await self.store.run(self.store.set_watermark, f"sync:{name}", started.isoformat())
            report.counts[name] = total
            report.seconds[name] = time.perf_counter() - timer


def summarise(report: SyncReport) -> Iterable[str]:
    for name, count in report.counts.items():
        yield f"{name.replace('_', ' ')}: {count}"
