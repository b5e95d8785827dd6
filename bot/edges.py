"""The HTTP edge every route shares: a body-size cap, no 5xx for anything a caller sends, and quiet logs.

`EdgeGuard` wraps the whole ASGI app (Slack, Zoho webhooks, /healthz):
- a body over MAX_BODY is answered 413 before it is read whole: a declared Content-Length over the cap is refused
  at once, and a streamed body is counted chunk by chunk and refused as soon as the count passes the cap;
- an exception escaping a route is answered 400 with one log line naming its type (no traceback, no body);
- every log line written while a request is handled goes through `QuietPerSource`: one line, no traceback, at
  most LINES_PER_MINUTE per caller address (access-log lines of answered requests count only when refused), so a
  flood of bad requests cannot flood the log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000
LINES_PER_MINUTE = 20
# Loggers whose lines come from handling a caller's request.
REQUEST_LOGGERS = (
    "bot.edges",
    "handlers.zoho_webhooks",
    "handlers.slack_events",
    "throughline.slack",
    "slack_bolt",
    "uvicorn.error",
    "uvicorn.access",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

caller: contextvars.ContextVar[str] = contextvars.ContextVar("throughline_caller", default="")


class QuietPerSource(logging.Filter):
    """One line per record (first line only, no traceback), at most `per_minute` lines per caller and minute.
    Records logged outside a request (no caller) pass untouched except for the one-line rule."""

    def __init__(self, per_minute: int = LINES_PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.clock = clock
        self._window: dict[str, tuple[int, int]] = {}  # caller -> (minute, lines so far)
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        access = record.name == "uvicorn.access"  # its formatter needs the record's args as they are
        if not access and (record.exc_info or record.exc_text):
            err = record.exc_info[1] if record.exc_info else None
            record.msg = f"{record.getMessage()} ({type(err).__name__ if err else 'error'})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        message = record.getMessage()
        if not access and "\n" in message:
            record.msg, record.args = message.split("\n", 1)[0][:500], None
        source = caller.get()
        if not source:
            return True
        if access:  # args: client, method, path, version, status; count refusals only
            args = record.args if isinstance(record.args, tuple) else ()
            if not (len(args) > 4 and isinstance(args[4], int) and args[4] >= 400):
                return True
        minute = int(self.clock() // 60)
        seen_minute, lines = self._window.get(source, (minute, 0))
        if seen_minute != minute:
            lines = 0
        if len(self._window) > 10_000:  # many callers: forget the old windows rather than grow
            self._window.clear()
        self._window[source] = (minute, lines + 1)
        if lines >= self.per_minute:
            self.suppressed += 1
            return False
        if lines + 1 == self.per_minute and not access:
            record.msg = f"{record.getMessage()} (further lines from {source} this minute are dropped)"
            record.args = None
        return True


def install_quiet_logs(per_minute: int = LINES_PER_MINUTE) -> QuietPerSource:
    """Attach a fresh `QuietPerSource` to every request logger, replacing the one a previous app attached (one
    app per process in production; each test's app starts with empty windows); answers it."""
    quiet = QuietPerSource(per_minute)
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, QuietPerSource)]:
            logger.removeFilter(old)
        logger.addFilter(quiet)
    return quiet


async def _answer(send: Send, status: int, error: str) -> None:
    body = json.dumps({"ok": False, "error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeGuard:
    """ASGI middleware: size cap and no unhandled exception reaching the server (see the module docstring)."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        max_body: int = MAX_BODY,
        on_too_large: Callable[[Scope], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.on_too_large = on_too_large  # e.g. record a refused Zoho delivery

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = caller.set(str(client[0]) if client else "?")
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            body = await self._read_capped(scope, receive)
            if body is None:
                log.warning(
                    "refused %s %s: body over the %s byte limit",
                    scope.get("method"),
                    scope.get("path"),
                    f"{self.max_body:,}",
                )
                await _answer(send, 413, f"body over the {self.max_body:,} byte limit")
                started = True
                if self.on_too_large is not None:
                    await self.on_too_large(scope)
                return
            await self.app(scope, _replay(body, receive), tracking_send)
        except Exception as exc:  # a bug or an input nobody foresaw: one line, a 4xx, never a traceback
            log.warning("could not handle %s %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__)
            if not started:
                await _answer(send, 400, "this request could not be handled")
        finally:
            caller.reset(token)

    async def _read_capped(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be over the cap. The usual request brings its whole
        body in its first message: that body is passed on as it is (no list, no copy)."""
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                declared = value.decode("latin-1").strip()
                if declared.isdigit() and int(declared) > self.max_body:
                    return None
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk: bytes = message.get("body") or b""
        size = len(chunk)
        if size > self.max_body:
            return None
        if not message.get("more_body"):
            return chunk
        chunks = [chunk]
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body") or b""
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect as the app would

    return again
