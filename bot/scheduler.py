"""Scheduled jobs (APScheduler, in the serving event loop): the incremental mirror sync."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.deps import Deps
from bot.errors import ThroughlineError
from bot.sync import MirrorSync

log = logging.getLogger(__name__)


async def sync_job(deps: Deps) -> None:
    try:
        report = await MirrorSync(deps.store, deps.zoho, deps.clock).run()
        log.info("mirror sync: %s", report.counts)
    except ThroughlineError as exc:
        # The next run starts from the same watermarks, so nothing is lost; say what failed.
        log.warning("mirror sync failed, will retry at the next interval: %s", exc.user_message())


def create_scheduler(deps: Deps) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=deps.structure.tz)
    minutes = deps.structure.sync.interval_minutes
    if minutes:
        scheduler.add_job(sync_job, "interval", minutes=minutes, args=[deps], id="mirror-sync",
                          max_instances=1, coalesce=True, next_run_time=deps.clock() + timedelta(seconds=5),
                          misfire_grace_time=minutes * 60)
    return scheduler
