"""`throughline serve`: FastAPI + Bolt under uvicorn, Socket Mode when an app token is set."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import sqlite3

import aiohttp
import uvicorn
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import log_redaction
from bot.app import create_app, create_bolt
from bot.config import OperatingStructure, Settings
from bot.db_identity import check_org, identity_of
from bot.deps import Deps, build_deps
from bot.errors import ConfigError, StoreError
from bot.localserver import LocalServer
from bot.scheduler import create_scheduler

log = logging.getLogger(__name__)


def sandbox_settings(settings: Settings, base_url: str, credentials: object) -> Settings:
    """The same settings with every Zoho value pointed at a sandbox."""
    return settings.model_copy(
        update={
            "zoho_accounts_url": base_url,
            "zoho_api_url": base_url,
            "zoho_desk_url": base_url,
            "zoho_client_id": credentials.client_id,  # type: ignore[attr-defined]
            "zoho_client_secret": credentials.client_secret,  # type: ignore[attr-defined]
            "zoho_refresh_token": credentials.refresh_token,  # type: ignore[attr-defined]
            "zoho_books_org_id": credentials.books_org_id,  # type: ignore[attr-defined]
            "zoho_desk_org_id": credentials.desk_org_id,  # type: ignore[attr-defined]
        }
    )


def _open(settings: Settings, structure: OperatingStructure) -> Deps:
    try:
        return build_deps(settings, structure)
    except (StoreError, sqlite3.Error, OSError) as exc:
        raise ConfigError(
            f"{settings.db_path} cannot be used as the database ({str(exc).splitlines()[0]}); point it "
            "at a writable file (see README: Environment)",
            source="environment",
            key="THROUGHLINE_DB",
        ) from exc


async def check_slack_token(slack: AsyncWebClient) -> None:
    """`auth.test` at start: a wrong token stops here with the fix, not at the first message someone is owed."""
    try:
        await slack.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack refused the bot token ({exc.response.get('error')}): copy the Bot User OAuth Token "
            "(xoxb-…) from the Slack app's OAuth & Permissions page (see README: Slack app)",
            source="environment",
            key="SLACK_BOT_TOKEN",
        ) from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ConfigError(
            f"Slack did not answer auth.test ({type(exc).__name__}); check the network and SLACK_API_URL",
            source="environment",
            key="SLACK_API_URL",
        ) from exc


async def _warm_reports(deps: Deps) -> None:
    try:
        await deps.reports.warm()
    except Exception:  # the first /report will start the pool itself and say what is wrong
        log.warning("Could not start the report process ahead of the first /report", exc_info=True)


def settle_heap() -> None:
    """Move what start-up built (modules, the app, its clients: ≈ 95,000 objects that live as long as the
    process) out of the cyclic collector's reach. A full collection then scans only what requests and jobs
    allocate, instead of stopping the event loop for ≈ 90 ms each time reports or a sync trigger one."""
    gc.collect()
    gc.freeze()


async def run_server(
    settings: Settings, structure: OperatingStructure, *, host: str, port: int, sandbox_accounts: int = 0
) -> None:
    log_redaction.install()
    servers: list[LocalServer] = []
    try:
        if sandbox_accounts:
            from bot.zoho.sandbox import Sandbox

            log_redaction.keep_only_our_routes()
            sandbox = Sandbox.seeded(accounts=sandbox_accounts)
            zoho_server = LocalServer(sandbox.asgi_app())
            servers.append(zoho_server)
            settings = sandbox_settings(settings, zoho_server.start(), sandbox.credentials)
            log.info("Zoho sandbox with %d accounts on %s", sandbox_accounts, zoho_server.url)
            if not settings.slack_bot_token:
                from bot.slack_stub import SlackStub

                slack_server = LocalServer(SlackStub().asgi_app())
                servers.append(slack_server)
                secret = settings.slack_signing_secret or secrets.token_hex(16)
                settings = settings.model_copy(
                    update={
                        "slack_bot_token": "xoxb-local-stand-in",
                        "slack_signing_secret": secret,
                        "slack_api_url": f"{slack_server.start()}/api/",
                    }
                )
                log.warning(
                    "No SLACK_BOT_TOKEN: using a local Slack stand-in on %s (set SLACK_SIGNING_SECRET to "
                    "sign requests to it yourself)",
                    slack_server.url,
                )
        else:
            settings.require_zoho()
        settings.require_slack()
        deps = _open(settings, structure)
        try:
            check_org(deps.store, identity_of(settings))
            await check_slack_token(deps.slack)
        except BaseException:
            await deps.aclose()
            raise
        bolt = create_bolt(deps)
        api = create_app(deps, bolt=bolt)
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            await AsyncSocketModeHandler(bolt, settings.slack_app_token).connect_async()
            log.info("Connected to Slack in Socket Mode")
        scheduler = create_scheduler(deps)
        scheduler.start()
        server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="info"))
        warming = asyncio.create_task(_warm_reports(deps))
        settle_heap()
        try:
            await server.serve()
        finally:
            warming.cancel()
            scheduler.shutdown(wait=False)
    finally:
        for s in servers:
            s.stop()
