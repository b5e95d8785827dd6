"""The console's HTTP routes, mounted on the app's own FastAPI: the page, its static files, the workspace state,
a server-sent-events feed of changes, and the actions a person takes (each becomes what Slack or Zoho would send)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from bot.console.checks import SlackError
from bot.console.emulator import SlackEmulator
from bot.console.slack_side import ConsoleError, SlackSide
from bot.console.workspace import BOT_USER_ID
from bot.console.zoho_panel import ZohoPanel

STATIC = Path(__file__).parent / "static"
KEEP_ALIVE = 15.0
POLL = 0.5  # how soon an open stream notices the server is stopping


@dataclass
class ConsoleInfo:
    """What the page needs besides the workspace: who to start as, the picker's order, the manifest's commands."""

    starter: str
    picker: list[str]
    commands: list[dict[str, str]]
    channels: dict[str, str]  # team → channel id, from [channels]
    teams: list[str] = field(default_factory=list)  # digests the page may send now


def mount_console(
    api: FastAPI,
    emulator: SlackEmulator,
    slack: SlackSide,
    zoho: ZohoPanel,
    info: ConsoleInfo,
    send_digest: Callable[[str], Awaitable[str]] | None = None,
    closing: threading.Event | None = None,
) -> None:
    """`closing` is set when the server stops, so open event streams end and Ctrl-C stops at once."""
    closing = closing or threading.Event()

    router = APIRouter()

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise ConsoleError("the request body must be JSON") from exc
        if not isinstance(body, dict):
            raise ConsoleError("the request body must be a JSON object")
        return body

    async def guarded(work: Awaitable[dict[str, Any]]) -> JSONResponse:
        try:
            return JSONResponse(await work)
        except ConsoleError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        except SlackError as exc:
            return JSONResponse({"ok": False, "error": exc.error}, status_code=400)
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": f"bad request: {exc}"}, status_code=400)

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @router.get("/console/api/state")
    async def state() -> JSONResponse:
        snapshot = emulator.snapshot()
        return JSONResponse(
            {
                **snapshot,
                "bot_user": BOT_USER_ID,
                "starter": info.starter,
                "picker": info.picker,
                "commands": info.commands,
                "channels": info.channels,
                "stages": zoho.stages(),
                "digests": info.teams,
            }
        )

    @router.get("/console/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        queue = emulator.subscribe()

        async def events() -> AsyncIterator[str]:
            idle = 0.0
            try:
                yield "retry: 1000\n\n"
                while not closing.is_set() and not await request.is_disconnected():
                    try:
                        event = await asyncio.wait_for(queue.get(), POLL)
                    except TimeoutError:
                        idle += POLL
                        if idle >= KEEP_ALIVE:
                            idle = 0.0
                            yield ": keep-alive\n\n"
                        continue
                    idle = 0.0
                    yield f"data: {json.dumps(event)}\n\n"
            finally:
                emulator.unsubscribe(queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @router.get("/console/files/{file_id}")
    async def file(file_id: str) -> Response:
        meta = emulator.files.get(file_id)
        data = emulator.uploads.get(file_id)
        if meta is None or data is None:
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        return Response(data, media_type=meta.get("mimetype") or "application/octet-stream")

    @router.post("/console/api/compose")
    async def compose(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            return await slack.compose(
                str(b["user"]), str(b["channel"]), str(b.get("text") or ""), b.get("thread_ts") or None
            )

        return await guarded(work())

    @router.post("/console/api/act")
    async def act(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            return await slack.act(str(b["user"]), b["source"], b["path"], b.get("selected") or {})

        return await guarded(work())

    @router.post("/console/api/submit")
    async def submit(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            return await slack.submit(str(b["user"]), str(b["view_id"]), b.get("values") or {})

        return await guarded(work())

    @router.post("/console/api/close")
    async def close(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            return await slack.close(str(b["user"]), str(b["view_id"]))

        return await guarded(work())

    @router.post("/console/api/home")
    async def home(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            return await slack.open_home(str(b["user"]))

        return await guarded(work())

    @router.get("/console/api/zoho/accounts")
    async def accounts(q: str = "") -> JSONResponse:
        return JSONResponse({"ok": True, "accounts": zoho.search(q)})

    @router.post("/console/api/zoho/{action}")
    async def zoho_action(action: str, request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            if action == "deal_stage":
                result = await zoho.move_deal(str(b["deal_id"]), str(b["stage"]))
            elif action == "billing":
                result = await zoho.fill_billing(str(b["account_id"]), b.get("address") or {})
            elif action == "ticket_open":
                result = await zoho.open_ticket(str(b["account_id"]), str(b.get("subject") or ""))
            elif action == "ticket_escalate":
                result = await zoho.escalate_ticket(str(b["ticket_id"]))
            elif action == "invoice":
                result = await zoho.invoice(str(b["invoice_id"]), str(b["status"]))
            else:
                raise ConsoleError(f"unknown Zoho action {action!r}")
            account_id = str(b.get("account_id") or "")
            return {
                "ok": 200 <= int(result.get("status", 200)) < 300,
                **result,
                "account": zoho.account(account_id) if account_id else None,
            }

        return await guarded(work())

    @router.post("/console/api/digest")
    async def digest(request: Request) -> JSONResponse:
        async def work() -> dict[str, Any]:
            b = await body_of(request)
            team = str(b.get("team") or "")
            if send_digest is None or team not in info.teams:
                raise ConsoleError(f"no digest for {team!r}")
            return {"ok": True, "summary": await send_digest(team)}

        return await guarded(work())

    api.include_router(router)
    api.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
