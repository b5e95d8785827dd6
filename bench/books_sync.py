"""Books part of the mirror sync on a large sandbox: Zoho calls and time for the first full read, for an
incremental read after 100 invoice changes (paid or voided), and for the six-hourly sweep of open invoices, reading
only the documented way (bot/zoho/books.py, bot/sync.py)."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.harness import Clock, environment, make_deps
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw

BOOKS_STREAMS = ("books_customers", "books_invoices", "books_payments", "books_paid_invoices")


def _books_calls(sandbox: Sandbox) -> Counter[str]:
    """Books calls by kind: list pages per resource, detail reads."""
    kinds: Counter[str] = Counter()
    for app, _method, path in sandbox.calls:
        if app != "books":
            continue
        parts = path.removeprefix("/books/v3/").split("/")
        kinds[parts[0] if len(parts) == 1 else f"{parts[0]} detail"] += 1
    return kinds


def _change_invoices(sandbox: Sandbox, count: int) -> None:
    """`count` changes as Books would make them: four in five paid (a payment is recorded), one in five voided."""
    st = sandbox.state
    open_ids = [i for i, inv in st.books_invoices.items() if inv["status"] in ("sent", "overdue")]
    for n, invoice_id in enumerate(open_ids[:count]):
        if n % 5 == 0:
            zw.update_invoice(st, invoice_id, status="void", balance=0.0)
        else:
            zw.pay_invoice(st, invoice_id)


async def run(accounts: int = 10_000, seed: int = 7, changes: int = 100) -> dict[str, Any]:
    sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
    results: dict[str, Any] = {
        "accounts": accounts,
        "invoices": len(sandbox.state.books_invoices),
        "payments": len(sandbox.state.books_payments),
    }
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            clock = Clock()
            deps = make_deps(env, Path(tmp) / "books.db", clock)
            sync = MirrorSync(deps.store, deps.zoho, clock)
            sandbox.calls.clear()
            started = time.perf_counter()
            await sync.run()
            results["full"] = {
                "seconds": round(time.perf_counter() - started, 1),
                "books_calls": dict(_books_calls(sandbox)),
            }
            print(f"books, first full sync: {results['full']}")
            clock.offset += timedelta(minutes=15)
            _change_invoices(sandbox, changes)
            sandbox.calls.clear()
            started = time.perf_counter()
            report = await sync.run()
            results["incremental"] = {
                "seconds": round(time.perf_counter() - started, 1),
                "books_calls": dict(_books_calls(sandbox)),
                "stored": {k: report.counts.get(k, 0) for k in BOOKS_STREAMS},
            }
            print(f"books, incremental sync after {changes} invoice changes: {results['incremental']}")
            clock.offset += timedelta(hours=6)  # the open-invoice sweep is due
            sandbox.calls.clear()
            started = time.perf_counter()
            report = await sync.run()
            results["sweep"] = {
                "seconds": round(time.perf_counter() - started, 1),
                "books_calls": dict(_books_calls(sandbox)),
                "stored": {k: report.counts.get(k, 0) for k in BOOKS_STREAMS},
            }
            print(f"books, six-hourly sweep: {results['sweep']}")
    return results
