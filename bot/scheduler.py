"""Scheduled jobs (APScheduler, in the serving event loop): the incremental mirror sync, digests, the CRM watch
renewal and the inbox safety net.

With several replicas on one PostgreSQL database every replica runs this scheduler, but only the leader (the one
holding the store's leader lock, a PostgreSQL advisory lock) runs the scheduled work; every replica drains the
inbox (its entries are claimed one replica at a time). A follower tries for the lock every LEADER_CHECK, so when
the leader dies (its session ends and PostgreSQL frees the lock) another takes over within that time. On SQLite
the one process is always the leader.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.deps import Deps
from bot.errors import ThroughlineError
from bot.intake import crm_watch
from bot.intake.slack_dedupe import prune_event_ids
from bot.reports.digest_runs import add_digest_jobs, catch_up
from bot.sync import MirrorSync

log = logging.getLogger(__name__)
LEADER_CHECK = timedelta(seconds=15)
EVERY_REPLICA = frozenset({"inbox-drain", "handoff-resume", "leader-check"})  # the others run on the leader only


class Leadership:
    """Whether this replica leads now; the first check after another replica's leader died takes over."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.lock = deps.store.leader_lock("scheduler")
        self.leading: bool | None = None  # not checked yet

    async def check(self) -> bool:
        was = self.leading
        now = await self.deps.store.run(self.lock.check)
        self.leading = now
        if now != was:
            log.info("scheduler: this replica %s", "leads (runs scheduled work)" if now else "follows")
        if now and was is False:  # took over from a leader that went: send what it may have missed
            with contextlib.suppress(Exception):
                await catch_up(self.deps)
        return now


def leader_only(func: Callable[..., Awaitable[Any]], leadership: Leadership) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if not await leadership.check():
            return None
        return await func(*args, **kwargs)

    return run


async def sync_job(deps: Deps) -> None:
    try:
        report = await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
        log.info("mirror sync: %s", report.counts)
        if report.events:
            deps.intake.kick()  # publish what sync found (the feed, the handoff)
    except ThroughlineError as exc:
        # The next run starts from the same watermarks, so nothing is lost; say what failed.
        log.warning("mirror sync failed, will retry at the next interval: %s", exc.user_message())


async def intake_job(deps: Deps) -> None:
    """Safety net for the inbox worker: process whatever is due (retries after backoff, replays), and forget
    Slack event ids old enough that Slack no longer retries them."""
    try:
        report = await deps.intake.drain()
        if report.done or report.failed:
            log.info("inbox: %d processed, %d failed (kept for retry)", report.done, report.failed)
        prune_event_ids(deps.store, deps.clock())
    except Exception:
        log.exception("inbox drain failed; the next run retries")


async def handoff_resume_job(deps: Deps) -> None:
    """Finish handoffs whose writer stopped mid-way: another replica that died (its claim expired), or this
    one's last start. Every replica runs it; each handoff is claimed by one (bot/handoff/repo.py)."""
    try:
        await deps.handoffs.resume()
    except Exception:
        log.exception("resuming handoffs failed; the next run retries")


async def crm_watch_job(deps: Deps) -> None:
    """Renew the CRM notification channel a day before Zoho drops it."""
    try:
        if await crm_watch.renew_if_due(deps.zoho.crm, deps.store, deps.settings.webhook_secret, deps.clock):
            log.info("CRM notification channel renewed")
    except ThroughlineError as exc:
        log.warning("could not renew the CRM notification channel (retrying within the hour): %s", exc.user_message())


def create_scheduler(deps: Deps) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=deps.structure.tz)
    minutes = deps.structure.sync.interval_minutes
    if minutes:
        scheduler.add_job(
            sync_job,
            "interval",
            minutes=minutes,
            args=[deps],
            id="mirror-sync",
            max_instances=1,
            coalesce=True,
            next_run_time=deps.clock() + timedelta(seconds=5),
            misfire_grace_time=minutes * 60,
        )
    scheduler.add_job(
        intake_job,
        "interval",
        minutes=1,
        args=[deps],
        id="inbox-drain",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=60,
    )
    scheduler.add_job(
        handoff_resume_job,
        "interval",
        minutes=1,
        args=[deps],
        id="handoff-resume",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=60,
    )
    scheduler.add_job(
        crm_watch_job,
        "interval",
        hours=1,
        args=[deps],
        id="crm-watch-renewal",
        max_instances=1,
        coalesce=True,
        next_run_time=deps.clock() + timedelta(seconds=30),
    )
    add_digest_jobs(scheduler, deps)  # each team's daily digest, and a catch-up of any missed while down
    leadership = Leadership(deps)
    for job in scheduler.get_jobs():
        if job.id not in EVERY_REPLICA:
            job.modify(func=leader_only(job.func, leadership))
    scheduler.add_job(
        leadership.check,
        "interval",
        seconds=LEADER_CHECK.total_seconds(),
        id="leader-check",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
