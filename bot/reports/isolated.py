"""Reports built in a child process, for the serving process: the kinds not yet counted by SQL (those outside
`SQL_COUNTED` in bot/reports/service.py; the others are built in the serving process, see handlers/report.py).

Those still decode thousands of records (renewals: every record of the accounts it may list) and run the
health rules in Python: in a thread that holds the GIL for seconds, so `/account` acknowledgements queue behind
it, and the models it leaves behind keep the serving process's memory high. A child process (forked from a clean
forkserver, one report per child) reads the database through its own connection (WAL: it never waits for the
writer) and hands back only the report. The pool starts on first use: once every kind is in `SQL_COUNTED`, no
child or forkserver is ever started.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from bot.config import OperatingStructure
from bot.reports.service import Report, ReportRequest, run_report
from bot.store import Store

WORKERS = 1  # reports at once; more would only share the same two cores


def build_report(db_path: str, structure: OperatingStructure, request: ReportRequest, now: datetime) -> Report:
    """In the child: open the database, build, close."""
    with Store(db_path) as store:
        return run_report(store, structure, request, now)


class ReportProcesses:
    """A small pool of report processes, started on first use; `close()` at shutdown."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["bot.reports.isolated"])  # children start with the modules imported
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, max_tasks_per_child=1)
        return self._pool

    async def run(
        self, db_path: str | Path, structure: OperatingStructure, request: ReportRequest, now: datetime
    ) -> Report:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), build_report, str(db_path), structure, request, now)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
