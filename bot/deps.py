"""The dependencies every listener and job receives, built once at start-up (no module globals)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import AccountService
from bot.approvers import Approvers
from bot.audit.service import AuditService
from bot.audit_log import AuditLog
from bot.blocks import AppLinks
from bot.config import OperatingStructure, Settings
from bot.events import DealChanged, Dispatcher
from bot.feed.service import register_feed
from bot.handoff.service import HandoffService
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.clients import ZohoClients, build_clients
from bot.zoho.endpoints import endpoints_for
from bot.zoho.transport import RetryPolicy, ZohoLimits


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    structure: OperatingStructure
    store: Store
    zoho: ZohoClients
    slack: AsyncWebClient
    http: httpx.AsyncClient
    accounts: AccountService
    handoffs: HandoffService
    audit: AuditService
    approvers: Approvers
    audit_log: AuditLog
    directory: SlackDirectory
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, object] = field(default_factory=dict)
    events: Dispatcher = field(default_factory=Dispatcher)

    async def aclose(self) -> None:
        intake = self.extras.get("intake")  # the inbox worker (bot.intake.worker), if one was started
        if intake is not None and hasattr(intake, "stop"):
            await intake.stop()
        reports = self.extras.get("report_processes")  # bot.reports.isolated, if a report was built
        if reports is not None and hasattr(reports, "close"):
            await asyncio.to_thread(reports.close)
        await self.http.aclose()


def slack_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(token=settings.slack_bot_token or None, base_url=settings.slack_api_url)
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    return client


def app_links(settings: Settings, structure: OperatingStructure) -> AppLinks:
    dc = settings.zoho_dc
    return AppLinks(
        crm_base=structure.zoho.crm_url or f"https://crm.zoho{'cloud' if dc == 'ca' else ''}.{dc}/crm",
        books_base=structure.zoho.books_url or f"https://books.zoho{'cloud' if dc == 'ca' else ''}.{dc}",
        books_org_id=settings.zoho_books_org_id,
        desk_base=structure.zoho.desk_url or f"https://desk.zoho{'cloud' if dc == 'ca' else ''}.{dc}",
    )


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
    endpoints = endpoints_for(settings.zoho_dc, accounts_url=settings.zoho_accounts_url or None,
                              api_url=settings.zoho_api_url or None, desk_url=settings.zoho_desk_url or None)
    zoho = build_clients(http=http, endpoints=endpoints, client_id=settings.zoho_client_id,
                         client_secret=settings.zoho_client_secret, refresh_token=settings.zoho_refresh_token,
                         books_org_id=settings.zoho_books_org_id, desk_org_id=settings.zoho_desk_org_id,
                         retry=retry or RetryPolicy(), limits=limits or ZohoLimits())
    store = Store(settings.store_location)
    slack = slack or slack_client(settings)
    directory = SlackDirectory(slack, store, clock)
    links = app_links(settings, structure)
    accounts = AccountService(store=store, zoho=zoho, structure=structure, directory=directory, links=links,
                              clock=clock)
    approvers = Approvers(slack)  # one group-membership cache for every approval check
    handoffs = HandoffService(store=store, zoho=zoho, slack=slack, structure=structure, links=links,
                              directory=directory, approvers=approvers, clock=clock)
    audit = AuditService(store, zoho, structure, links, clock)
    deps = Deps(settings=settings, structure=structure, store=store, zoho=zoho, slack=slack, http=http,
                accounts=accounts, handoffs=handoffs, audit=audit, approvers=approvers,
                audit_log=AuditLog(store, clock), directory=directory, clock=clock)
    deps.events.subscribe(DealChanged, handoffs.on_deal_changed)
    register_feed(deps)
    return deps
