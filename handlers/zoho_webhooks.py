"""Zoho webhook routes: `POST /zoho/crm`, `/zoho/books`, `/zoho/desk`.

Each delivery is checked (size, secret, shape), split into items with an identity, and stored in the inbox
before the answer goes back; the intake worker processes it in the background. Every refused delivery is
recorded as a `rejected` inbox row (`throughline inbox list --state rejected`).

Answers: 200 stored (replays too: `duplicates` counts them); 400 malformed body; 401 wrong or missing
secret; 413 body over 1 MB; 422 unknown CRM module or Books event; 503 when THROUGHLINE_WEBHOOK_SECRET is
not set. Desk is different on purpose: once the secret and JSON are good it always answers 200 — any other
answer counts as a failed delivery and 410 would delete the subscription — and unknown event types inside the
array are recorded as rejected rows one by one. Desk is never answered 410.

Desk validates a new subscription (Webhook.json) with a `GET` to the URL, then a `POST` if the `GET` fails, and
needs 200: `GET /zoho/desk` with the right secret answers 200 (401 without it), and a `POST` whose body is not an
event array (empty, an object, a form) answers 200 and stores nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route

from bot.deps import Deps
from bot.errors import DeliveryError, Refused
from bot.intake.deliveries import Parsed, books_items, crm_items, desk_items
from bot.intake.inbox import Inbox

log = logging.getLogger(__name__)
router = APIRouter()
MAX_BODY = 1_000_000
SECRET_HEADER = "X-Throughline-Secret"
_SECRET_HEADER_KEY = SECRET_HEADER.lower().encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Call:
    """What a delivery's handling reads from its ASGI request, taken in one pass over the headers (the hot path
    builds no Request, header or query objects)."""

    __slots__ = ("content_length", "content_type", "header_secret", "query_secret")

    def __init__(self, scope: Scope) -> None:
        self.content_type = self.header_secret = self.content_length = ""
        for name, value in scope.get("headers") or ():
            if name == b"content-type" and not self.content_type:
                self.content_type = value.decode("latin-1")
            elif name == _SECRET_HEADER_KEY and not self.header_secret:
                self.header_secret = value.decode("latin-1")
            elif name == b"content-length" and not self.content_length:
                self.content_length = value.decode("latin-1")
        self.query_secret = ""
        query = scope.get("query_string") or b""
        if query:  # the last `secret=` wins, as in Starlette's query_params
            for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if key == "secret":
                    self.query_secret = value

    @property
    def offered_secret(self) -> str:
        return self.query_secret or self.header_secret


async def _read(call: _Call, receive: Receive) -> bytes:
    declared = call.content_length.strip()
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, f"body of {declared} bytes is over the {MAX_BODY:,} byte limit")
    message = await receive()  # bot.edges hands the whole body over as one message; anything else is read on
    body: bytes = message.get("body") or b""
    if not message.get("more_body"):
        if len(body) > MAX_BODY:
            raise Refused(413, f"body is over the {MAX_BODY:,} byte limit")
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body") or b""
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"body is over the {MAX_BODY:,} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(content_type: str, raw: bytes) -> Any:
    ctype = content_type.split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "body is not UTF-8") from exc
    if ctype == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        except ValueError as exc:
            raise Refused(400, f"malformed form body: {exc}") from exc
    if not text.strip():
        raise Refused(400, "empty body: expected JSON")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Refused(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise Refused(400, "malformed JSON: nested too deeply") from exc


def _check_secret(deps: Deps, offered: str, body: Any, *, token_in_body: bool) -> None:
    expected = deps.settings.webhook_secret
    if not expected:
        raise Refused(
            503,
            "Zoho webhooks are off: set THROUGHLINE_WEBHOOK_SECRET and give the same value to "
            "Zoho as ?secret=… in the webhook URL (see README: Webhooks)",
        )
    if not offered and token_in_body and isinstance(body, dict):
        offered = str(body.get("token") or body.get("secret") or "")
    if not offered:
        raise Refused(401, f"missing webhook secret: pass ?secret=… or the {SECRET_HEADER} header")
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise Refused(401, "wrong webhook secret")


Answer = tuple[int, dict[str, Any]]


async def _reject(inbox: Inbox, source: str, raw: bytes | str | Any, status: int, message: str) -> Answer:
    log.warning("refused %s webhook: %s %s", source, status, message)
    authenticated = status not in (401, 503)  # no valid secret: anyone's request, nothing of it is kept
    await asyncio.to_thread(
        inbox.reject,
        source,
        raw if not isinstance(raw, bytes) else raw[:20_000],
        f"{status}: {message}",
        authenticated=authenticated,
    )
    return status, {"ok": False, "error": message}


def _unsecret(raw: bytes, deps: Deps) -> bytes:
    """The body with the webhook secret's value masked wherever it appears (the inbox masks secret fields too)."""
    secret = deps.settings.webhook_secret.encode()
    return raw.replace(secret, b"***") if secret else raw


async def _take(deps: Deps, call: _Call, receive: Receive, source: str, *, token_in_body: bool) -> Answer:
    intake = deps.intake
    inbox = intake.inbox
    raw = b""
    try:
        raw = await _read(call, receive)
        # CRM notifications may carry the secret as `token` inside the body; otherwise check before parsing.
        secret_first = not token_in_body or bool(call.offered_secret)
        if secret_first:
            _check_secret(deps, call.offered_secret, None, token_in_body=False)
        if source == "desk" and not raw.lstrip().startswith(b"["):  # Desk's validation POST: no events in it
            return 200, {"ok": True, "stored": 0, "validation": True}
        body = _parse(call.content_type, raw)
        if not secret_first:
            _check_secret(deps, "", body, token_in_body=True)
        parsed = _items(source, body, deps)
    except Refused as exc:
        return await _reject(inbox, source, _unsecret(raw, deps), exc.status, exc.reason)
    except DeliveryError as exc:
        return await _reject(inbox, source, _unsecret(raw, deps), exc.status, str(exc))
    except RecursionError:  # nesting deep enough to parse but not to walk
        return await _reject(inbox, source, _unsecret(raw, deps), 400, "body nested too deeply")
    try:
        # Durable before the 200, in one commit shared with the deliveries arriving meanwhile (group commit).
        stored = await inbox.add_delivery(
            source, [(identity, json.dumps(item)) for identity, item in parsed.items], parsed.rejected
        )
    except Exception:  # not stored, so not acknowledged: Zoho retries (Desk gets 503, never 410)
        log.exception("could not store a %s webhook", source)
        return 503, {"ok": False, "error": "could not store the delivery; retry later"}
    intake.kick()
    return 200, {
        "ok": True,
        "stored": stored,
        "duplicates": len(parsed.items) - stored,
        "rejected": len(parsed.rejected),
    }


class ZohoWebhook:
    """`POST /zoho/<source>` as a plain ASGI endpoint (still routed by FastAPI, behind bot.edges): the hot path of
    every delivery, so no per-request Request/Response objects or dependency solving. While it runs the intake
    worker stands back (`Intake.taking`), so acknowledgements come before background processing."""

    def __init__(self, source: str, *, token_in_body: bool = False) -> None:
        self.source = source
        self.token_in_body = token_in_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deps: Deps = scope["app"].state.deps
        intake = deps.intake
        intake.taking()
        try:
            status, answer = await _take(deps, _Call(scope), receive, self.source, token_in_body=self.token_in_body)
        finally:
            intake.taken()
        body = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def refuse_oversized(deps: Deps, request: Request) -> None:
    """The edge (bot.edges) answered 413 before the route read the body: record the refusal like any other."""
    source = request.url.path.rsplit("/", 1)[-1]
    try:
        _check_secret(deps, _Call(request.scope).offered_secret, None, token_in_body=False)
        authenticated = True
    except Refused:
        authenticated = False
    await asyncio.to_thread(
        deps.intake.inbox.reject, source, "", f"413: body over the {MAX_BODY:,} byte limit", authenticated=authenticated
    )


def _items(source: str, body: Any, deps: Deps) -> Parsed:
    if source == "crm":
        return crm_items(body)
    if source == "books":
        return books_items(body)
    return desk_items(body, org_id=deps.settings.zoho_desk_org_id)


# CRM notifications (watch) and workflow-rule webhooks for Deals and Accounts; Books workflow webhooks for
# invoices and customer payments; Desk's JSON array of events (never 410; 200 once stored, unknown types recorded).
router.routes.append(Route("/zoho/crm", ZohoWebhook("crm", token_in_body=True), methods=["POST"], name="zoho_crm"))
router.routes.append(Route("/zoho/books", ZohoWebhook("books"), methods=["POST"], name="zoho_books"))
router.routes.append(Route("/zoho/desk", ZohoWebhook("desk"), methods=["POST"], name="zoho_desk"))


@router.get("/zoho/desk")
async def zoho_desk_validation(request: Request) -> JSONResponse:
    """Desk's validation GET when a webhook is created or its URL changed: 200 with the right secret."""
    deps: Deps = request.app.state.deps
    try:
        _check_secret(deps, _Call(request.scope).offered_secret, None, token_in_body=False)
    except Refused as exc:
        log.warning("refused desk webhook validation: %s %s", exc.status, exc.reason)
        return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status)
    return JSONResponse({"ok": True, "validation": True})
