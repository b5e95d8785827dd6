"""`/report` cards built in a child process, for the serving process.

Every report is computed by SQL over typed columns (100–700 ms at 10,000 accounts), but part of that is Python
(grouping, the health rules, rendering the card) that holds the GIL. In a thread of the serving process it makes
the other threads queue for the GIL at every SQLite call they make (a `/account` answer makes a dozen), so
`/account`'s p95 grew 4–6× while reports were built back to back. A child process (forked from a forkserver with
the report modules preloaded) reads the database through its own connection (WAL: it never waits for the writer;
PostgreSQL: a pool of its own), builds and renders the card, and hands back only the message: the serving process
keeps its GIL and its memory. `serve` warms the pool at start (`warm`): the forkserver imports the report modules
and a first child waits, so the first `/report` costs what the others do.

A child builds reports one after another (`REPORTS_PER_CHILD`, then a fresh one): reports read SQL, not the whole
mirror, and a child stays at ≈ 39 MB over dozens of them at 10,000 accounts. A child per report (when a report read
the whole mirror and its memory had to go) meant a fork and an exit every report: with reports back to back that
churn alone raised `/account`'s busy ÷ idle p95 from 1.16–1.31 to 1.43–1.56 (bench/contention.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from bot.blocks import Message
from bot.config import OperatingStructure
from bot.reports.service import ReportRequest, report_card
from bot.store import Store

WORKERS = 1  # reports at once; more would only share the same two cores
REPORTS_PER_CHILD = 200  # then a fresh child: whatever a long life gathers (fragments, caches) goes with it


def build_card(db_path: str, structure: OperatingStructure, request: ReportRequest, now: datetime) -> Message:
    """In the child: open the database, build the report and its card, close."""
    with Store(db_path) as store:
        return report_card(store, structure, request, now)


def _ready() -> int:
    """Nothing to do: the warm-up task (the child it starts goes on to build reports)."""
    return multiprocessing.current_process().pid or 0


class ReportProcesses:
    """A small pool of report processes, started on first use; `close()` at shutdown."""

    def __init__(self, workers: int = WORKERS, reports_per_child: int = REPORTS_PER_CHILD) -> None:
        self.workers = workers
        self.reports_per_child = reports_per_child  # tasks (the warm-up is one) before a fresh child
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["bot.reports.isolated"])  # children start with the modules imported
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, max_tasks_per_child=self.reports_per_child
            )
        return self._pool

    async def run(
        self, db_path: str | Path, structure: OperatingStructure, request: ReportRequest, now: datetime
    ) -> Message:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), build_card, str(db_path), structure, request, now)

    async def warm(self) -> None:
        """Start the forkserver (it imports the report modules, ≈ 0.5 s) and a first child now, off the request
        path, instead of on the first `/report`."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor(), _ready)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
