"""Composition root: `create_app(deps)` builds the FastAPI app with the Bolt app mounted on it; its lifespan is
`deps.start()` … `deps.aclose()`. Bolt gets the Deps injected into every request's context (read with
`bot.deps.deps_of`), the one error handler, and the Slack event de-duplication."""

from __future__ import annotations

import hmac
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
from bot.edges import EdgeGuard, install_quiet_logs
from handlers import zoho_webhooks
from handlers.slack_events import dedupe_slack_events, first_delivery_only, listener_failed, slack_door

log = logging.getLogger(__name__)


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the client we hand it (built
    # from the same variable) wins: true and harmless, so not worth a line at every start.
    return "`token` will be unused" not in record.getMessage()


def create_bolt(deps: Deps) -> AsyncApp:
    settings = deps.settings
    logging.getLogger("throughline.slack").addFilter(_not_the_token_warning)
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

    bolt.error(listener_failed)  # one log line and a 4xx, never a traceback or a 500
    bolt.use(first_delivery_only)  # a replayed signed request goes no further (the claim slack_door hands in)
    bolt.use(inject_deps)
    bolt.use(dedupe_slack_events)  # Slack Events API retries: one delivery per event_id
    handlers.register_all(bolt)
    return bolt


def create_app(deps: Deps, *, bolt: AsyncApp | None = None) -> FastAPI:
    bolt = bolt or create_bolt(deps)
    slack_handler = AsyncSlackRequestHandler(bolt)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        deps.start()  # the inbox worker, and approved handoffs a stop interrupted
        yield
        await deps.aclose()  # stops the worker (once) and closes what was opened

    api = FastAPI(title="Throughline", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api.state.deps = deps
    api.state.bolt = bolt
    api.state.quiet_logs = install_quiet_logs()

    async def too_large(scope: Any) -> None:
        if str(scope.get("path", "")) in ("/zoho/crm", "/zoho/books", "/zoho/desk"):
            await zoho_webhooks.refuse_oversized(deps, Request(scope))

    api.add_middleware(EdgeGuard, on_too_large=too_large)  # 1 MB cap on every route, no 5xx, quiet logs
    api.include_router(zoho_webhooks.router)

    if not deps.settings.socket_mode:
        # In Socket Mode Slack's requests arrive over the socket and carry no signature: an HTTP route taking them
        # would accept anyone's, so there is none.
        @api.post("/slack/events")
        async def slack_events(request: Request) -> Any:
            return await slack_door(request, slack_handler, deps)

    @api.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Up or down for anyone; the mirror and inbox figures only for a caller with the webhook secret."""
        offered = request.query_params.get("secret") or request.headers.get(zoho_webhooks.SECRET_HEADER) or ""
        try:
            counts = deps.store.counts()
            inbox = deps.intake.inbox.counts()
        except Exception as exc:
            log.warning("health check: the database does not answer (%s)", type(exc).__name__)
            return JSONResponse({"ok": False}, status_code=503)
        if not offered:
            return JSONResponse({"ok": True})
        expected = deps.settings.webhook_secret
        if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
            return JSONResponse({"ok": False, "error": "wrong secret"}, status_code=401)
        return JSONResponse({"ok": True, "mirror": counts, "inbox": inbox})

    return api
