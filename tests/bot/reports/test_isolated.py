"""The report process pool `serve` warms at start: a child is waiting before the first `/report`, and the card it
builds is the one this process would build."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.config import OperatingStructure
from bot.reports.isolated import ReportProcesses
from bot.reports.service import parse_request, render, run_report
from bot.store import Store
from tests.bot.reports import fixtures as fx

STRUCTURE = OperatingStructure(timezone=fx.TZ.key)


async def _live_children(processes: ReportProcesses, gone: Sequence[int] = ()) -> list[int]:
    """The pool's live children once none of `gone` is among them (a child leaves after its last task and the
    pool forks its successor)."""
    assert processes._pool is not None
    alive: list[int] = []
    for _ in range(400):
        alive = [pid for pid, p in dict(processes._pool._processes or {}).items() if p.is_alive()]
        if alive and not set(alive) & set(gone):
            return alive
        await asyncio.sleep(0.05)
    return alive


def _card_and_request(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "r.db"
    with Store(db) as store:
        fx.fill(store)
        now = datetime.combine(fx.TODAY, fx.NOW.timetz())
        request = parse_request("renewals", now, STRUCTURE)
        expected = render(run_report(store, STRUCTURE, request, now), STRUCTURE)
    return db, now, request, expected


async def test_warm_leaves_a_child_waiting_that_builds_the_cards(tmp_path: Path):
    db, now, request, expected = _card_and_request(tmp_path)
    processes = ReportProcesses()
    try:
        await processes.warm()
        waiting = await _live_children(processes)
        assert len(waiting) == 1  # ready before any /report came
        for _ in range(3):
            card = await processes.run(db, STRUCTURE, request, now)
            assert card.blocks == expected.blocks and card.text == expected.text
        assert await _live_children(processes) == waiting  # the same child built them all: no fork per report
    finally:
        processes.close()


async def test_a_child_is_replaced_after_its_reports(tmp_path: Path):
    db, now, request, expected = _card_and_request(tmp_path)
    processes = ReportProcesses(reports_per_child=2)
    try:
        await processes.warm()
        waiting = await _live_children(processes)
        card = await processes.run(db, STRUCTURE, request, now)  # its second task: it leaves after it
        assert card.blocks == expected.blocks
        # the next card is built by a fresh child (forked as the old one left, or for this card: the pool decides)
        assert (await processes.run(db, STRUCTURE, request, now)).blocks == expected.blocks
        after = await _live_children(processes, gone=waiting)
        assert len(after) == 1 and after != waiting
    finally:
        processes.close()
