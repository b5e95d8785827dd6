"""Composition root: `create_app(deps)` builds the FastAPI app with the Bolt app mounted on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext

import handlers
from bot.deps import Deps
from bot.intake.worker import intake_for
from handlers import zoho_webhooks
from handlers.slack_events import dedupe_slack_events

log = logging.getLogger(__name__)


def create_bolt(deps: Deps) -> AsyncApp:
    settings = deps.settings
    bolt = AsyncApp(
        name="throughline",
        signing_secret=settings.slack_signing_secret or None,
        client=deps.slack,
        # Socket Mode has no HTTP signatures; everywhere else every request is verified.
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("throughline.slack"),
    )

    async def inject_deps(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["deps"] = deps
        return await next()

    bolt.use(inject_deps)
    bolt.use(dedupe_slack_events)  # Slack Events API retries: one delivery per event_id
    handlers.register_all(bolt)
    return bolt


def create_app(deps: Deps, *, bolt: AsyncApp | None = None) -> FastAPI:
    bolt = bolt or create_bolt(deps)
    slack_handler = AsyncSlackRequestHandler(bolt)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        intake_for(deps).start()  # drain what the inbox holds from before, then wait for deliveries
        # Approved handoffs that a stop interrupted finish now (their steps are idempotent).
        resuming = asyncio.create_task(deps.handoffs.resume())
        yield
        resuming.cancel()
        await intake_for(deps).stop()
        await deps.aclose()

    api = FastAPI(title="Throughline", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api.state.deps = deps
    api.state.bolt = bolt
    api.include_router(zoho_webhooks.router)

    if not deps.settings.socket_mode:
        # In Socket Mode Slack's requests arrive over the socket and carry no signature: an HTTP route taking them
        # would accept anyone's, so there is none.
        @api.post("/slack/events")
        async def slack_events(request: Request) -> Any:
            return await slack_handler.handle(request)

    @api.get("/healthz")
    async def healthz() -> JSONResponse:
        counts = deps.store.counts()
        return JSONResponse({"ok": True, "mirror": counts})

    return api
