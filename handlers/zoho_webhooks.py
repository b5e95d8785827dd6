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
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.deps import Deps
from bot.errors import DeliveryError, Refused
from bot.intake.deliveries import Parsed, books_items, crm_items, desk_items
from bot.intake.inbox import Inbox

log = logging.getLogger(__name__)
router = APIRouter()
MAX_BODY = 1_000_000
SECRET_HEADER = "X-Throughline-Secret"


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, f"body of {declared} bytes is over the {MAX_BODY:,} byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"body is over the {MAX_BODY:,} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(request: Request, raw: bytes) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
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


def _check_secret(deps: Deps, request: Request, body: Any, *, token_in_body: bool) -> None:
    expected = deps.settings.webhook_secret
    if not expected:
        raise Refused(
            503,
            "Zoho webhooks are off: set THROUGHLINE_WEBHOOK_SECRET and give the same value to "
            "Zoho as ?secret=… in the webhook URL (see README: Webhooks)",
        )
    offered = request.query_params.get("secret") or request.headers.get(SECRET_HEADER) or ""
    if not offered and token_in_body and isinstance(body, dict):
        offered = str(body.get("token") or body.get("secret") or "")
    if not offered:
        raise Refused(401, f"missing webhook secret: pass ?secret=… or the {SECRET_HEADER} header")
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise Refused(401, "wrong webhook secret")


async def _reject(inbox: Inbox, source: str, raw: bytes | str | Any, status: int, message: str) -> JSONResponse:
    log.warning("refused %s webhook: %s %s", source, status, message)
    authenticated = status not in (401, 503)  # no valid secret: anyone's request, nothing of it is kept
    await asyncio.to_thread(
        inbox.reject,
        source,
        raw if not isinstance(raw, bytes) else raw[:20_000],
        f"{status}: {message}",
        authenticated=authenticated,
    )
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def _unsecret(raw: bytes, deps: Deps) -> bytes:
    """The body with the webhook secret's value masked wherever it appears (the inbox masks secret fields too)."""
    secret = deps.settings.webhook_secret.encode()
    return raw.replace(secret, b"***") if secret else raw


async def _take(request: Request, source: str, *, token_in_body: bool = False) -> JSONResponse:
    deps: Deps = request.app.state.deps
    intake = deps.intake
    inbox = intake.inbox
    raw = b""
    try:
        raw = await _read(request)
        # CRM notifications may carry the secret as `token` inside the body; otherwise check before parsing.
        secret_first = not token_in_body or bool(
            request.query_params.get("secret") or request.headers.get(SECRET_HEADER)
        )
        if secret_first:
            _check_secret(deps, request, None, token_in_body=False)
        if source == "desk" and not raw.lstrip().startswith(b"["):  # Desk's validation POST: no events in it
            return JSONResponse({"ok": True, "stored": 0, "validation": True})
        body = _parse(request, raw)
        if not secret_first:
            _check_secret(deps, request, body, token_in_body=True)
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
        return JSONResponse({"ok": False, "error": "could not store the delivery; retry later"}, status_code=503)
    intake.kick()
    return JSONResponse(
        {"ok": True, "stored": stored, "duplicates": len(parsed.items) - stored, "rejected": len(parsed.rejected)}
    )


async def refuse_oversized(deps: Deps, request: Request) -> None:
    """The edge (bot.edges) answered 413 before the route read the body: record the refusal like any other."""
    source = request.url.path.rsplit("/", 1)[-1]
    try:
        _check_secret(deps, request, None, token_in_body=False)
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


@router.post("/zoho/crm")
async def zoho_crm(request: Request) -> JSONResponse:
    """CRM notifications (watch) and workflow-rule webhooks for Deals and Accounts."""
    return await _take(request, "crm", token_in_body=True)


@router.post("/zoho/books")
async def zoho_books(request: Request) -> JSONResponse:
    """Books workflow webhooks for invoices and customer payments."""
    return await _take(request, "books")


@router.get("/zoho/desk")
async def zoho_desk_validation(request: Request) -> JSONResponse:
    """Desk's validation GET when a webhook is created or its URL changed: 200 with the right secret."""
    deps: Deps = request.app.state.deps
    try:
        _check_secret(deps, request, None, token_in_body=False)
    except Refused as exc:
        log.warning("refused desk webhook validation: %s %s", exc.status, exc.reason)
        return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status)
    return JSONResponse({"ok": True, "validation": True})


@router.post("/zoho/desk")
async def zoho_desk(request: Request) -> JSONResponse:
    """Desk webhook: a JSON array of events. Never 410; 200 once stored, unknown event types recorded."""
    return await _take(request, "desk")
