"""Sending digests: when (each team's time and time zone), where, and never twice.

Slots: a team's digest is due once per local day at its configured time. A time that does not exist that day
(the spring-forward gap) falls an hour later (02:30 → 03:30); a time that happens twice (the autumn fold)
fires at its first occurrence only. `DailyTrigger` gives APScheduler exactly these
instants, and the same functions decide what a restart has missed.

Never twice: before a message goes out, `(team, local day, recipient)` is claimed in `digest_sends` (one
SQLite transaction). A claim that exists is never sent again, even if the process died between the claim and
Slack's answer (a possibly lost digest is preferred to a duplicate); only a send Slack refused is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.config import DIGEST_TEAMS, OperatingStructure
from bot.reports.charts import revenue_chart
from bot.reports.compute import config_from
from bot.reports.data import digest_data, with_org_currency
from bot.reports.digests import TIMING_DAYS, DigestContext, Outgoing, build
from bot.store import Store
from bot.zoho.links import AppLinks

if TYPE_CHECKING:  # types only: `throughline digest --dry-run` never loads the Slack client (aiohttp)
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack_users import SlackDirectory


class DigestSource(Protocol):
    """What building a digest reads (`throughline digest --dry-run` gives just this)."""

    @property
    def structure(self) -> OperatingStructure: ...
    @property
    def store(self) -> Store: ...
    @property
    def links(self) -> AppLinks: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


class DigestDeps(DigestSource, Protocol):
    """What digests read and post with (the composition root's `Deps` has it; this module does not import it)."""

    @property
    def slack(self) -> AsyncWebClient: ...
    @property
    def directory(self) -> SlackDirectory: ...


log = logging.getLogger(__name__)


# ---- when ----------------------------------------------------------------------------------------------------


def slot_on(day: date, at: time, tz: tzinfo) -> datetime:
    """The instant (UTC) of the digest on local `day`. Kept in UTC: aware datetimes in one zone compare by wall
    clock, and one in the repeated hour compares unequal to every other zone's (PEP 495)."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def next_slot(start: datetime, at: time, tz: tzinfo) -> datetime:
    """The first slot at or after `start`."""
    start = start.astimezone(UTC)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while True:
        slot = slot_on(day, at, tz)
        if slot >= start:
            return slot
        day += timedelta(days=1)


def last_slot(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The latest slot at or before `now`."""
    now = now.astimezone(UTC)
    day = now.astimezone(tz).date() + timedelta(days=1)
    while True:
        slot = slot_on(day, at, tz)
        if slot <= now:
            return slot
        day -= timedelta(days=1)


class DailyTrigger(BaseTrigger):
    """APScheduler trigger firing at `at` local time in `tz` every day (see the module docstring for DST)."""

    def __init__(self, at: time, tz: tzinfo) -> None:
        self.at = at
        self.tz = tz

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        if previous_fire_time is not None:
            return next_slot(max(previous_fire_time + timedelta(microseconds=1), now), self.at, self.tz)
        return next_slot(now, self.at, self.tz)

    def __str__(self) -> str:
        return f"daily at {self.at:%H:%M} {getattr(self.tz, 'key', self.tz)}"


@dataclass(frozen=True)
class TeamSchedule:
    team: str
    channel: str  # "" when none is configured (sales may still reach owners directly)
    at: time
    tz: ZoneInfo
    enabled: bool


def schedules(structure: OperatingStructure) -> dict[str, TeamSchedule]:
    """The configured digests, with the channel and time zone defaults filled in."""
    out = {}
    for team, d in structure.digests.items():
        channel = d.channel or getattr(structure.channels, team, "")
        tz = ZoneInfo(d.timezone) if d.timezone else structure.tz
        out[team] = TeamSchedule(team, channel, d.time, tz, d.enabled)
    return out


def schedule_for(structure: OperatingStructure, team: str) -> TeamSchedule:
    """A team's schedule; a team with no `[digests.<team>]` entry uses 09:00 and `[channels]`."""
    if team not in DIGEST_TEAMS:
        raise ValueError(f"unknown digest team {team!r}; use one of {', '.join(DIGEST_TEAMS)}")
    found = schedules(structure).get(team)
    return found or TeamSchedule(team, getattr(structure.channels, team, ""), time(9, 0), structure.tz, True)


# ---- the ledger ----------------------------------------------------------------------------------------------


class DigestLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, team: str, day: date, recipient: str, now: datetime) -> bool:
        """True when this caller may send; a failed send may be claimed again."""
        return self.store.notifications.claim_digest(team, day, recipient, now)

    def finish(
        self,
        team: str,
        day: date,
        recipient: str,
        *,
        state: str,
        now: datetime,
        channel: str = "",
        ts: str = "",
        error: str = "",
    ) -> None:
        self.store.notifications.finish_digest(
            team, day, recipient, state=state, now=now, channel=channel, ts=ts, error=error
        )

    def states(self, team: str, day: date) -> dict[str, str]:
        return self.store.notifications.digest_states(team, day)


# ---- building and sending ------------------------------------------------------------------------------------


def build_outgoing(
    deps: DigestSource, team: str, now: datetime | None = None, day: date | None = None
) -> tuple[date, list[Outgoing]]:
    """(the local day, the team's digests) from the mirror as it is now (blocking: run it in a thread). `day`
    is the digest's local day, by default today's."""
    schedule = schedule_for(deps.structure, team)
    now = now or deps.clock()
    today = day or now.astimezone(schedule.tz).date()
    config = config_from(deps.structure)
    if team in ("finance", "leadership"):  # the digests that add amounts up in the org currency
        config = with_org_currency(deps.store, config)
    ctx = DigestContext(today=today, now=now, tz=schedule.tz, config=config, links=deps.links)
    data = digest_data(deps.store, team, today, schedule.tz, config, TIMING_DAYS)
    return today, build(team, data, ctx)


@dataclass
class DigestRun:
    team: str
    day: date
    sent: list[str] = field(default_factory=list)  # "#C123" or an owner's email
    skipped: list[str] = field(default_factory=list)  # already sent (or claimed) before
    failed: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)  # no channel and no Slack user

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        for name, items in (
            ("already sent", self.skipped),
            ("failed", self.failed),
            ("nowhere to send", self.undeliverable),
        ):
            if items:
                parts.append(f"{len(items)} {name}")
        return f"{self.team} digest for {self.day.isoformat()}: " + ", ".join(parts)


async def _destination(deps: DigestDeps, schedule: TeamSchedule, out: Outgoing) -> str:
    if out.team == "sales" and out.recipient:
        user = await deps.directory.user_id_for(out.recipient)
        if user:
            return user
    return schedule.channel


async def _post(deps: DigestDeps, channel: str, out: Outgoing, day: date) -> tuple[str, str]:
    import asyncio

    from slack_sdk.errors import SlackApiError, SlackRequestError

    answer = await deps.slack.chat_postMessage(
        channel=channel, unfurl_links=False, unfurl_media=False, **out.message.as_kwargs()
    )
    posted_channel, ts = str(answer.get("channel") or channel), str(answer.get("ts") or "")
    if out.chart is not None:
        try:
            currency = out.chart.title.rsplit("(", 1)[-1].rstrip(")")
            png = await asyncio.to_thread(revenue_chart, out.chart, currency)
            await deps.slack.files_upload_v2(
                channel=posted_channel,
                thread_ts=ts or None,
                file=png,
                filename=f"revenue-{day.isoformat()}.png",
                title=out.chart.title,
                alt_txt="Sold, invoiced and collected: month to date against last month",
            )
        except (SlackApiError, SlackRequestError, OSError, ValueError) as exc:
            log.warning("%s digest posted, but its chart could not be uploaded: %s", out.team, exc)
    return posted_channel, ts


async def send_digest(
    deps: DigestDeps, team: str, *, now: datetime | None = None, day: date | None = None
) -> DigestRun:
    """Build the team's digest for `day` (default: today, local) and send every part not sent yet."""
    import asyncio

    from slack_sdk.errors import SlackApiError, SlackRequestError

    schedule = schedule_for(deps.structure, team)
    now = now or deps.clock()
    local_day, outgoing = await asyncio.to_thread(build_outgoing, deps, team, now, day)
    day = local_day
    ledger = DigestLedger(deps.store)
    run = DigestRun(team, day)
    for out in outgoing:
        who = out.recipient or f"#{schedule.channel or team}"
        channel = await _destination(deps, schedule, out)
        if not channel:
            run.undeliverable.append(who)
            continue
        if not await asyncio.to_thread(ledger.claim, team, day, out.recipient, deps.clock()):
            run.skipped.append(who)
            continue
        try:
            posted, ts = await _post(deps, channel, out, day)
        except (SlackApiError, SlackRequestError) as exc:
            error = str(exc.response.get("error")) if isinstance(exc, SlackApiError) else str(exc)
            await asyncio.to_thread(
                ledger.finish, team, day, out.recipient, state="failed", now=deps.clock(), channel=channel, error=error
            )
            run.failed.append(f"{who} ({error})")
            continue
        await asyncio.to_thread(
            ledger.finish, team, day, out.recipient, state="sent", now=deps.clock(), channel=posted, ts=ts
        )
        run.sent.append(who)
    log.info(run.summary())
    return run


async def digest_job(deps: DigestDeps, team: str) -> None:
    """The scheduled run: the digest of the slot that just came (its local day, even if run a little late)."""
    schedule = schedule_for(deps.structure, team)
    now = deps.clock()
    try:
        day = last_slot(now, schedule.at, schedule.tz).astimezone(schedule.tz).date()
        await send_digest(deps, team, now=now, day=day)
    except Exception:
        log.exception("%s digest failed", team)


async def catch_up(deps: DigestDeps) -> list[DigestRun]:
    """Send each enabled digest whose latest slot passed while we were down, if within the grace window and
    not already sent; older misses are logged and dropped."""
    import asyncio

    now = deps.clock()
    grace = timedelta(minutes=deps.structure.reports.digest_grace_minutes)
    runs = []
    for schedule in schedules(deps.structure).values():
        if not schedule.enabled:
            continue
        slot = last_slot(now, schedule.at, schedule.tz)
        day = slot.astimezone(schedule.tz).date()
        states = await asyncio.to_thread(DigestLedger(deps.store).states, schedule.team, day)
        if states.get("") in ("sent", "sending") and schedule.team != "sales":
            continue
        if now - slot > grace:
            if not states:
                log.warning(
                    "%s digest of %s was missed (due %s, more than %s ago): not sent late",
                    schedule.team,
                    day,
                    slot.isoformat(),
                    grace,
                )
            continue
        try:
            runs.append(await send_digest(deps, schedule.team, now=now, day=day))
        except Exception:
            log.exception("catching up the %s digest failed", schedule.team)
    return runs


def add_digest_jobs(scheduler: Any, deps: DigestDeps) -> list[str]:
    """One job per enabled team digest, plus a one-off catch-up at start. Returns the job ids."""
    ids = []
    grace = max(deps.structure.reports.digest_grace_minutes * 60, 60)
    for schedule in schedules(deps.structure).values():
        if not schedule.enabled:
            continue
        job_id = f"digest-{schedule.team}"
        scheduler.add_job(
            digest_job,
            DailyTrigger(schedule.at, schedule.tz),
            args=[deps, schedule.team],
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
        )
        ids.append(job_id)
    if ids:
        scheduler.add_job(
            catch_up,
            "date",
            run_date=deps.clock() + timedelta(seconds=2),
            args=[deps],
            id="digest-catch-up",
            misfire_grace_time=grace,
        )
    return ids
