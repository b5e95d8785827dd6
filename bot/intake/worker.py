"""The intake worker: drains the inbox in the background, re-reads each record through the Zoho API, stores it,
records the events it raises, and publishes events to the dispatcher.

Sources: `crm`, `books`, `desk` (webhook items, see `bot.intake.deliveries`) and `event` (an event waiting to be
published, written by webhook processing or by sync). An entry that raises stays in the inbox as failed with
its error and is retried with backoff (`bot.intake.inbox.backoff`). One worker task per process, started by the app's
lifespan and woken (`kick()`) after every delivery; the scheduler drains too, as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.events import Dispatcher
from bot.intake.changes import EVENT_SOURCE, ChangeRecorder, ChangeRules, event_from_body
from bot.intake.inbox import Inbox, InboxEntry
from bot.store import Store
from bot.zoho.clients import ZohoClients

log = logging.getLogger(__name__)
IDLE_WAKE = timedelta(seconds=30)  # the worker looks at the inbox at least this often
CONCURRENCY = 8  # entries processed at once (Zoho re-reads and Slack posts overlap; each channel keeps its pace)
# While deliveries are being taken the worker waits before each batch, at most this long: acknowledgements first
# (Zoho counts a slow answer as a failed delivery), and still one batch per wait under a flood that never pauses.
YIELD_LIMIT = 2.0
QUIET = 0.1  # seconds without a new delivery that count as a pause in the flow


@dataclass
class DrainReport:
    done: int = 0
    failed: int = 0


class Intake:
    def __init__(
        self,
        store: Store,
        zoho: ZohoClients,
        events: Dispatcher,
        clock: Callable[[], datetime],
        *,
        tz: Any = None,
        rules: ChangeRules = ChangeRules(),
    ) -> None:
        self.store = store
        self.zoho = zoho
        self.events = events
        self.clock = clock
        self.inbox = Inbox(store, clock)
        self.changes = ChangeRecorder(store, clock, tz, rules)
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._taking = 0  # deliveries being taken right now (the webhook routes count them)
        self._last_arrival = 0.0  # time.monotonic() of the latest

    # ---- processing ------------------------------------------------------------------------------------------

    async def process(self, entry: InboxEntry) -> None:
        """Handle one entry; raises when it failed (the caller keeps it failed for a retry)."""
        body = entry.json()
        if entry.source == EVENT_SOURCE:
            await self.events.publish(event_from_body(body))
            return
        kind = body.get("kind") if isinstance(body, dict) else None
        if entry.source == "crm" and kind == "record":
            await self._crm(str(body["module"]), str(body["id"]))
        elif entry.source == "desk" and kind == "ticket":
            await self._ticket(str(body["id"]))
        elif entry.source == "desk" and kind == "desk_account":
            account = await self.zoho.desk.get_account(str(body["id"]))
            if account:
                await self.store.run(self.store.upsert_desk_accounts, [account])
        elif entry.source == "desk" and kind == "ignored":
            return
        elif entry.source == "books" and kind == "invoice":
            await self._invoice(str(body["id"]))
        elif entry.source == "books" and kind == "payment":
            await self._payment(body)
        else:
            raise ValueError(f"no processor for a {entry.source} entry of kind {kind!r}")

    async def _crm(self, module: str, record_id: str) -> None:
        if module == "Deals":
            deal = await self.zoho.crm.get_deal(record_id)
            if deal:  # None: deleted in CRM since; nothing to tell
                await self.store.run(self.changes.apply, [deal], self.store.upsert_deals, "webhook")
        elif module == "Accounts":
            account = await self.zoho.crm.get_account(record_id)
            if account:
                await self.store.run(self.changes.apply, [account], self.store.upsert_accounts, "webhook")
        else:
            raise ValueError(f"unknown CRM module {module!r}")

    async def _ticket(self, ticket_id: str) -> None:
        ticket = await self.zoho.desk.get_ticket(ticket_id)
        if ticket is None:
            return
        save = self.store.upsert_tickets
        if await self.store.run(self._apply_if_parent, ticket, save, "desk_accounts", ticket.desk_account_id):
            return
        desk_account = await self.zoho.desk.get_account(ticket.desk_account_id)
        await self.store.run(self._apply_with_parent, ticket, save, self.store.upsert_desk_accounts, desk_account)

    async def _invoice(self, invoice_id: str) -> None:
        invoice = await self.zoho.books.get_invoice(invoice_id)
        if invoice is None:
            return
        save = self.store.upsert_invoices
        if await self.store.run(self._apply_if_parent, invoice, save, "books_customers", invoice.customer_id):
            return
        customer = await self.zoho.books.get_customer(invoice.customer_id)
        await self.store.run(self._apply_with_parent, invoice, save, self.store.upsert_books_customers, customer)

    def _apply_if_parent(self, record: Any, save: Callable[[list[Any]], None], table: str, parent_id: str) -> bool:
        """Store `record` (and its events) when the record it belongs to is mirrored or it names none: one trip
        to the store's threads for the usual case. False when that record must be read from Zoho first."""
        if parent_id and not self.store.has_record(table, parent_id):
            return False
        self.changes.apply([record], save, "webhook")
        return True

    def _apply_with_parent(
        self, record: Any, save: Callable[[list[Any]], None], save_parent: Callable[[list[Any]], None], parent: Any
    ) -> None:
        if parent:
            save_parent([parent])
        self.changes.apply([record], save, "webhook")

    async def _payment(self, body: dict[str, Any]) -> None:
        # The payment's detail is where Books documents the invoices it was applied to (list rows lack them).
        payment = await self.zoho.books.get_payment(str(body["id"])) if body.get("id") else None
        if payment is not None:
            await self.store.run(self.store.upsert_payments, [payment])
        invoice_ids = body.get("invoice_ids") or (payment.invoice_ids if payment else [])
        for invoice_id in dict.fromkeys(invoice_ids):
            await self._invoice(str(invoice_id))

    # ---- standing back while deliveries arrive ----------------------------------------------------------------

    def taking(self) -> None:
        """A delivery is being taken (read, checked, stored): the worker stands back (see `_make_way`)."""
        self._taking += 1
        self._last_arrival = time.monotonic()

    def taken(self) -> None:
        self._taking = max(self._taking - 1, 0)

    async def _make_way(self) -> None:
        """Before each batch: wait while deliveries are being taken or arrived within QUIET, at most YIELD_LIMIT.
        The worker's Zoho re-reads and writes would otherwise take the event loop and the writer from the
        deliveries waiting for their 200; a lone delivery's processing starts QUIET after its answer."""
        deadline = 0.0
        while self._taking or time.monotonic() - self._last_arrival < QUIET:
            now = time.monotonic()
            if not deadline:
                deadline = now + YIELD_LIMIT
            elif now >= deadline:
                return
            await asyncio.sleep(QUIET)

    # ---- draining --------------------------------------------------------------------------------------------

    async def drain(self, limit: int = 10_000) -> DrainReport:
        """Process every entry due now (entries added meanwhile too), each at most once per call."""
        report = DrainReport()
        gate = asyncio.Semaphore(CONCURRENCY)
        store = self.store

        async def one(entry: InboxEntry, done: list[int], failed_ids: list[int]) -> None:
            async with gate:
                try:
                    await self.process(entry)
                except Exception as exc:  # kept with its error; retried with backoff
                    log.warning("inbox entry %s (%s %s) failed: %s", entry.id, entry.source, entry.identity, exc)
                    failed_ids.append(entry.id)
                    await store.run(self.inbox.mark_failed, entry.id, f"{type(exc).__name__}: {exc}")
                    report.failed += 1
                else:
                    done.append(entry.id)

        async with self._lock:
            seen: set[int] = set()
            while report.done + report.failed < limit:
                await self._make_way()
                # Claimed, not just read: other replicas draining the same inbox skip these (bot/store/inbox.py).
                claimed = await store.run(self.inbox.claim, 2 * CONCURRENCY)
                due = [e for e in claimed if e.id not in seen]
                if not due:
                    break
                seen.update(e.id for e in due)
                done: list[int] = []
                failed_ids: list[int] = []
                try:
                    await asyncio.gather(*(one(e, done, failed_ids) for e in due))
                finally:  # the batch's successes settle in one commit, even when the drain is cancelled
                    if done:
                        await asyncio.shield(store.run(store.inbox.mark_done, done, self.clock()))
                        report.done += len(done)
                    untouched = [e.id for e in due if e.id not in done and e.id not in failed_ids]
                    if untouched:  # cancelled mid-batch: give them back rather than wait out the lease
                        await asyncio.shield(store.run(self.inbox.release, untouched))
        return report

    # ---- the background worker -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def kick(self) -> None:
        """Wake the worker (starting it in the running loop if needed)."""
        if self._task is None or self._task.done():
            self.start()
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="throughline-intake")

    async def stop(self) -> None:
        """End the worker; returns once it has (a drain in progress is cancelled, its entries stay pending)."""
        self._stopping = True  # even a cancellation lost in a race cannot keep the loop going
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the store itself failed: log, wait, try again
                log.exception("inbox drain failed")
            wait = IDLE_WAKE
            due = await self.store.run(self.inbox.next_due)
            if due is not None:
                wait = max(min(due - self.clock(), IDLE_WAKE), timedelta(0))
            # Not `asyncio.wait_for`: on 3.11 it swallows a cancellation that arrives as the wake-up completes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait.total_seconds(), 0.05)):
                    await self._wake.wait()
