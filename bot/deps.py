"""The composition root's wiring: every service built once, eagerly, from settings and the operating structure
(no module globals). Only the entry points (bot/app.py, serve, console, CLIs, demo) and listeners import this;
services receive just the collaborators they use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.account.service import AccountService
from bot.announcer import OwnerAnnouncer
from bot.approvers import ApprovalCheck
from bot.audit.service import AuditService
from bot.audit_log import AuditLog
from bot.config import OperatingStructure, Settings
from bot.events import AccountChanged, DealChanged, Dispatcher
from bot.feed.notify import Notifier
from bot.feed.service import FeedService
from bot.feed.unfurls import Unfurler
from bot.handoff.service import HandoffService
from bot.intake.worker import Intake
from bot.reports.isolated import ReportProcesses
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.clients import ZohoClients, build_clients
from bot.zoho.endpoints import endpoints_for
from bot.zoho.links import AppLinks, app_links
from bot.zoho.transport import RetryPolicy, ZohoLimits


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """Everything a listener, route or job may use, built eagerly by `build_deps` (typed: mypy checks each use).

    `start()` starts the background work (the inbox worker, resuming interrupted handoffs); `aclose()` stops it
    and closes what was opened, once, however often it is called."""

    settings: Settings
    structure: OperatingStructure
    store: Store
    zoho: ZohoClients
    slack: AsyncWebClient
    http: httpx.AsyncClient
    links: AppLinks
    directory: SlackDirectory
    approval: ApprovalCheck
    audit_log: AuditLog
    events: Dispatcher
    accounts: AccountService
    handoffs: HandoffService
    audit: AuditService
    feed: FeedService
    intake: Intake
    reports: ReportProcesses
    unfurler: Unfurler
    clock: Callable[[], datetime] = utcnow
    _resuming: asyncio.Task[int] | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)

    def start(self) -> None:
        """Drain what the inbox holds from before, then wait for deliveries; approved handoffs that a stop
        interrupted finish now (their steps are idempotent)."""
        self.intake.start()
        self._resuming = asyncio.create_task(self.handoffs.resume())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resuming is not None:
            self._resuming.cancel()
        await self.intake.stop()
        await asyncio.to_thread(self.reports.close)
        await self.http.aclose()


def slack_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(token=settings.slack_bot_token or None, base_url=settings.slack_api_url)
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    return client


def build_deps(
    settings: Settings,
    structure: OperatingStructure,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
    slack: AsyncWebClient | None = None,
    retry: RetryPolicy | None = None,
    limits: ZohoLimits | None = None,
) -> Deps:
    """Wire the real dependencies. `http` is the one transport every Zoho client shares (tests and the
    sandbox hand in their own)."""
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    endpoints = endpoints_for(
        settings.zoho_dc,
        accounts_url=settings.zoho_accounts_url or None,
        api_url=settings.zoho_api_url or None,
        desk_url=settings.zoho_desk_url or None,
    )
    zoho = build_clients(
        http=http,
        endpoints=endpoints,
        client_id=settings.zoho_client_id,
        client_secret=settings.zoho_client_secret,
        refresh_token=settings.zoho_refresh_token,
        books_org_id=settings.zoho_books_org_id,
        desk_org_id=settings.zoho_desk_org_id,
        retry=retry or RetryPolicy(),
        limits=limits or ZohoLimits(),
    )
    store = Store(settings.store_location)
    slack = slack or slack_client(settings)
    directory = SlackDirectory(slack, store, clock)
    links = app_links(settings, structure)
    audit_log = AuditLog(store, clock)  # the one audit log every service and listener writes to
    events = Dispatcher()
    announcer = OwnerAnnouncer(slack, directory)  # "DM the owner, else #sales", for the feed and the handoff
    handoffs = HandoffService(
        store=store,
        zoho=zoho,
        slack=slack,
        structure=structure,
        links=links,
        directory=directory,
        announcer=announcer,
        audit=audit_log,
        clock=clock,
    )
    events.subscribe(DealChanged, handoffs.on_deal_changed)
    events.subscribe(AccountChanged, handoffs.on_account_changed)
    routing = structure.routing
    notifier = Notifier(
        slack,
        store,
        directory,
        clock,
        links,
        structure.tz,
        window=timedelta(seconds=routing.group_window_seconds),
        per_second=routing.per_channel_per_second,
        announcer=announcer,
    )
    feed = FeedService(store, structure, notifier, clock, zoho)
    feed.subscribe(events)
    return Deps(
        settings=settings,
        structure=structure,
        store=store,
        zoho=zoho,
        slack=slack,
        http=http,
        links=links,
        directory=directory,
        approval=ApprovalCheck(slack, structure.approvers),  # one group-membership cache
        audit_log=audit_log,
        events=events,
        accounts=AccountService(
            store=store, zoho=zoho, structure=structure, directory=directory, links=links, clock=clock
        ),
        handoffs=handoffs,
        audit=AuditService(store, zoho, structure, links, clock),
        feed=feed,
        intake=Intake(store, zoho, events, clock, tz=structure.tz),
        reports=ReportProcesses(),
        unfurler=Unfurler(store, zoho, structure, links, clock),
        clock=clock,
    )


def deps_of(context: Mapping[str, Any]) -> Deps:
    """The listener's typed view of what `bot.app.create_bolt` put in the Bolt context (mypy checks the calls)."""
    deps = context["deps"]
    assert isinstance(deps, Deps), "create_bolt injects Deps into every request's context"
    return deps
