"""Slack Events API retries: Slack re-sends an event it thinks we missed (with `X-Slack-Retry-Num`). This
middleware lets only the first delivery of each `event_id` through — keyed on the event id alone, so a first
delivery that happens to carry a retry header is never dropped. Registered once, in `bot.app.create_bolt`.

`slack_door` stands in front of Bolt on `POST /slack/events`: signature first, then a parse and shape check
Bolt's listeners can rely on, then replay protection. Anything refused is one log line and a 4xx. Replay
protection is a durable claim of the signed request (`RequestClaim`), handed to Bolt in the request's context and
taken by `first_delivery_only`, the first of our Bolt middlewares, before any listener or listener middleware
runs; except for the commands in `CLAIMED_WITH_ANSWER`, whose listener middleware takes the claim in the same store
call as its read-only answer (one thread hop instead of two) and answers nothing unless the request is the first.
Whatever happens inside Bolt, the door answers a request whose claim is not the first with an empty 200.

`listener_failed` is Bolt's one error handler (`app.error`): what a listener lets escape becomes one log line and,
where someone can be told, the user-facing message; listeners have no try/except of their own for that."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.blocks import error_message
from bot.deps import Deps, deps_of
from bot.errors import Refused, ThroughlineError
from bot.intake.slack_dedupe import RequestClaim, remember_event
from bot.store import Store

log = logging.getLogger(__name__)


async def dedupe_slack_events(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> Any:
    event_id = body.get("event_id") if isinstance(body, dict) and body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        deps = deps_of(context)
        if not await asyncio.to_thread(remember_event, deps.store, event_id, deps.clock()):
            return BoltResponse(status=200, body="")  # a retry of an event already taken
    return await next()


# ---- the /slack/events door: everything Bolt would trip over is answered here first ------------------------------

REPLAY_WINDOW_SECONDS = 300  # Slack's own: a request older than five minutes is refused


def check_signature(signing_secret: str, raw: bytes, timestamp: str, signature: str, now: float) -> None:
    """Raise Refused(401) unless the request is signed with our secret within Slack's window. Done before
    any parsing, so an unsigned body is never parsed nor logged."""
    if not (timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise Refused(401, "X-Slack-Request-Timestamp is outside the five-minute window")
    if not signature.startswith("v0=") or not SignatureVerifier(signing_secret).is_valid(raw, timestamp, signature):
        raise Refused(401, "invalid X-Slack-Signature")


def parse_signed(raw: bytes, content_type: str) -> dict[str, Any]:
    """Parse a signed body as Bolt will, refusing (400) what Bolt's listeners cannot take: a body that is not an
    object, and the shapes Slack never sends (`block_actions` without actions, a view without a type, an
    `event_callback` without an event)."""
    try:
        body = parse_body(raw.decode("utf-8"), content_type.split(";")[0].strip().lower() or None)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"malformed body ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise Refused(400, "the body is not a JSON object or a form")
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        raise Refused(400, "`type` is not a string")
    if kind in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and all(isinstance(a, dict) for a in actions)):
            raise Refused(400, f"{kind} without actions")
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not (
            isinstance(view, dict)
            and isinstance(view.get("type"), str)
            and isinstance(view.get("callback_id", ""), str)
        ):
            raise Refused(400, f"{kind} without a view type")
    if kind == "event_callback":
        event = body.get("event")
        if not (isinstance(event, dict) and isinstance(event.get("type"), str)):
            raise Refused(400, "event_callback without an event")
    if kind in (
        "block_actions",
        "interactive_message",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
    ) and not isinstance(body.get("user"), dict):
        raise Refused(400, f"{kind} without a user")
    for key in ("user", "team", "channel", "container", "view", "message", "enterprise"):
        if key in body and body[key] is not None and not isinstance(body[key], dict | str):
            raise Refused(400, f"`{key}` is neither an object nor an id")
    return body


def request_digest(signature: str, timestamp: str, raw: bytes) -> str:
    return hashlib.sha256(signature.encode() + b"\n" + timestamp.encode() + b"\n" + raw).hexdigest()


CLAIM = "request_claim"  # the Bolt context key of the request's RequestClaim (absent in Socket Mode)
# Slash commands whose listener middleware takes the claim itself, in the same store call as a read-only answer
# (handlers.account.answer_from_mirror). Such a middleware answers nothing, and writes nothing, unless the claim is
# the first; the door checks the claim again before anything goes back.
CLAIMED_WITH_ANSWER = frozenset({"/account"})


def request_claim(store: Store, signature: str, timestamp: str, raw: bytes, at: datetime) -> RequestClaim:
    """Slack's signature has no nonce: the same signed request could be sent again within the window. Each signed
    request is taken once (its digest kept durably with the Events API ids), so a replay never writes twice."""
    return RequestClaim(store, "request:" + request_digest(signature, timestamp, raw), at)


def claim_of(context: AsyncBoltContext) -> RequestClaim | None:
    claim = context.get(CLAIM)
    return claim if isinstance(claim, RequestClaim) else None


async def taken_first(claim: RequestClaim) -> bool:
    """Take the claim (a durable write, off the event loop) unless it was taken already; whether it is the first."""
    if not claim.decided:
        await asyncio.to_thread(claim.take)
    return claim.first


async def first_delivery_only(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> Any:
    """The first of our Bolt middlewares: a replayed signed request goes no further."""
    claim = claim_of(context)
    command = body.get("command") if isinstance(body, dict) else None
    if claim is not None and command not in CLAIMED_WITH_ANSWER and not await taken_first(claim):
        return BoltResponse(status=200, body="")
    return await next()


async def slack_door(request: Request, handler: AsyncSlackRequestHandler, deps: Deps) -> Response:
    """Verify and parse before Bolt sees the request, and answer a replay with nothing; nothing here answers 5xx."""
    raw = await request.body()  # at most bot.edges.MAX_BODY: the edge refused anything larger
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    try:
        check_signature(deps.settings.slack_signing_secret, raw, timestamp, signature, time.time())
        parse_signed(raw, request.headers.get("content-type", ""))
    except Refused as exc:
        log.warning("refused Slack request: %s %s", exc.status, exc.reason)
        return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status)
    claim = request_claim(deps.store, signature, timestamp, raw, deps.clock())
    try:
        response: Response = await handler.handle(request, addition_context_properties={CLAIM: claim})
    except Exception as exc:  # anything Bolt could not take: one line, a 4xx
        log.warning("Slack request not handled: %s", type(exc).__name__)
        response = JSONResponse({"ok": False, "error": "this request could not be handled"}, status_code=400)
    if not await taken_first(claim):  # taken inside Bolt already, but for what Bolt answered by itself
        log.warning("ignored a replayed Slack request (same signature, timestamp and body)")
        return Response(status_code=200)
    if response.status_code >= 500:
        return JSONResponse({"ok": False, "error": "this request could not be handled"}, status_code=400)
    return response


UNEXPECTED = "Something went wrong on our side. It has been logged; try again."


async def listener_failed(
    error: Exception, body: dict[str, Any], response: BoltResponse | None, context: AsyncBoltContext
) -> BoltResponse | None:
    """Bolt's one error handler (`app.error`): whatever a listener lets escape becomes one log line naming the
    error (never the body or a traceback) and, where there is someone to tell, the user-facing message: our own
    errors' `user_message()`, anything else a plain "went wrong on our side". Not yet acknowledged: a slash
    command gets the message as its answer, anything else a 400; acknowledged: the message goes through the
    response URL (replacing a command's "working…" answer, beside a clicked message)."""
    kind = (body.get("type") or body.get("command")) if isinstance(body, dict) else None
    ours = isinstance(error, ThroughlineError)
    detail = f": {error.lasting_message()[:200]}" if isinstance(error, ThroughlineError) else ""
    log.warning("Slack %s not handled: %s%s", str(kind or "request")[:40], type(error).__name__, detail)
    message = error_message(error.user_message() if isinstance(error, ThroughlineError) else UNEXPECTED)
    command = isinstance(body, dict) and "command" in body
    if response is not None:  # not acknowledged yet
        if command and ours:
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", **message.as_kwargs()}),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        return BoltResponse(status=400, body="")
    if context.response_url and context.respond is not None:
        try:
            await context.respond(response_type="ephemeral", replace_original=command, **message.as_kwargs())
        except Exception as exc:  # the response URL expired or Slack is down: the log line above stands
            log.warning("could not tell the user about the failure: %s", type(exc).__name__)
    return None
