"""A local Slack Web API emulator: every method Throughline calls, with Slack's argument checks and error names.

It answers in Slack's shapes (`{"ok": true, ...}` or `{"ok": false, "error": "..."}`), records every call,
keeps a workspace (users, conversations, messages, threads, views, the Home tab, uploaded files), accepts posts
to response URLs at `/response/{token}` and publishes each change to subscribers (the console's live feed).

`strict=False` (the tests' and the demo's stand-in) accepts any channel, trigger and message id it has not seen;
`strict=True` (the console) answers `channel_not_found`, `invalid_trigger_id`, `message_not_found` … as Slack
would. Point `SLACK_API_URL` at `{base}/api/`. The methods themselves are in `bot.console.web_api`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.console.checks import SlackError, check_message, check_view
from bot.console.web_api import MAX_VIEW_STACK, WebApi
from bot.console.workspace import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    Conversation,
    Message,
    OpenView,
    ResponseContext,
    User,
    view_hash,
)
from bot.manifest import manifest_scopes

RESPONSE_URL_USES = 5
JSON_ARGS = ("blocks", "attachments", "view", "unfurls", "files")


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]


@dataclass
class SlackEmulator:
    """In-memory Slack: a user directory, user groups, conversations and every call received."""

    users_by_email: dict[str, str] = field(default_factory=dict)  # email → user id (besides `users`)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[SlackCall] = field(default_factory=list)
    responses: list[SlackCall] = field(default_factory=list)
    fail_next: dict[str, str] = field(default_factory=dict)  # method → error to answer once
    rate_limit_next: dict[str, int] = field(default_factory=dict)  # method → times to answer 429
    # What auth.test reports in `x-oauth-scopes` (default: everything manifest.yml asks for).
    granted_scopes: list[str] = field(default_factory=manifest_scopes)
    # conversations.info overrides: channel id → the error to answer (channel_not_found, …) or the channel fields
    # to answer (e.g. {"is_member": False, "is_private": True}).
    channels: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id → the bytes posted to its upload URL
    strict: bool = False
    trigger_ttl: float = 3.0  # Slack: a trigger_id is good for 3 seconds
    users: dict[str, User] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)  # conversation id → messages, oldest first
    views: dict[str, OpenView] = field(default_factory=dict)
    view_stacks: dict[str, list[str]] = field(default_factory=dict)  # user → open modal ids, bottom first
    homes: dict[str, OpenView] = field(default_factory=dict)  # user → published Home view
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, tuple[str, float]] = field(default_factory=dict)  # trigger id → (user, issued at)
    contexts: dict[str, ResponseContext] = field(default_factory=dict)  # response URL token → context
    base_url: str = ""
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    web_api: WebApi = field(init=False, repr=False)
    _subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = field(
        default_factory=list, repr=False
    )

    def __post_init__(self) -> None:
        self.web_api = WebApi(self)

    # ---- the workspace, for the console and tests ---------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            if user.email:
                self.users_by_email[user.email.lower()] = user.id
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Conversation:
        with self.lock:
            conv = self.conversations.setdefault(channel_id, Conversation(channel_id, name, is_private=is_private))
            self.messages.setdefault(channel_id, [])
        return conv

    def dm_with(self, user_id: str) -> Conversation:
        """The app's direct-message conversation with a user (Slack's D… id), created on first use."""
        with self.lock:
            dm_id = "D" + user_id[1:]
            if dm_id not in self.conversations:
                name = self.users[user_id].name if user_id in self.users else user_id
                self.conversations[dm_id] = Conversation(dm_id, name, is_im=True, user=user_id)
                self.messages.setdefault(dm_id, [])
            return self.conversations[dm_id]

    def next_number(self) -> int:
        """A number no other id of this emulator has used (timestamps, view, file and trigger ids)."""
        return next(self._ts)

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def issue_trigger(self, user: str) -> str:
        """A trigger_id, as Slack puts in every interaction payload (views.open accepts it once, 3 s)."""
        trigger = f"{next(self._ts)}.{int(time.time())}.{hashlib.sha1(user.encode()).hexdigest()[:16]}"
        with self.lock:
            self.triggers[trigger] = (user, time.monotonic())
        return trigger

    def response_url(self, context: ResponseContext) -> str:
        token = f"R{next(self._ts):08d}{hashlib.sha1(str(time.time()).encode()).hexdigest()[:12]}"
        with self.lock:
            self.contexts[token] = context
        return f"{self.base_url.rstrip('/')}/response/{token}"

    def post(self, message: Message) -> Message:
        with self.lock:
            self.messages.setdefault(message.channel, []).append(message)
        self.publish({"type": "message", "message": message.to_json()})
        return message

    def find(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    def close_views(self, user: str, *, all_of_them: bool = False) -> None:
        with self.lock:
            stack = self.view_stacks.get(user, [])
            for view_id in list(stack) if all_of_them else stack[-1:]:
                stack.remove(view_id)
                self.views.pop(view_id, None)
        self.publish({"type": "views", "user": user})

    def replace_view(self, user: str, view_id: str, view: Any) -> None:
        """`response_action: update` from a view submission: the submitted view shows the new one."""
        checked = check_view(view, kind="modal")
        with self.lock:
            current = self.views[view_id]
            current.view, current.hash = checked, view_hash(checked)
        self.publish({"type": "views", "user": user})

    def push_view(self, user: str, view: Any) -> None:
        """`response_action: push` from a view submission."""
        checked = check_view(view, kind="modal")
        stack = self.view_stacks.get(user, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        opened = self.new_view(user, checked, root=stack[0] if stack else "", previous=stack[-1] if stack else "")
        with self.lock:
            self.view_stacks.setdefault(user, []).append(opened.id)
        self.publish({"type": "views", "user": user})

    def view_stack(self, user: str) -> list[OpenView]:
        with self.lock:
            return [self.views[v] for v in self.view_stacks.get(user, []) if v in self.views]

    def snapshot(self) -> dict[str, Any]:
        """Everything the console page shows (ephemeral messages carry who may see them)."""
        with self.lock:
            return {
                "users": [u.to_json() for u in self.users.values()],
                "conversations": [c.to_json() for c in self.conversations.values()],
                "messages": {cid: [m.to_json() for m in msgs] for cid, msgs in self.messages.items()},
                "homes": {user: v.view for user, v in self.homes.items()},
                "views": {
                    user: [self.views[v].to_slack(TEAM_ID, APP_ID) for v in stack if v in self.views]
                    for user, stack in self.view_stacks.items()
                },
            }

    def new_view(self, user: str, view: dict[str, Any], root: str = "", previous: str = "") -> OpenView:
        view_id = f"V{self.next_number():010d}"
        opened = OpenView(view_id, user, view, view_hash(view), root or view_id, previous)
        with self.lock:
            self.views[view_id] = opened
        return opened

    # ---- live updates -------------------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of change events, fed from whichever thread serves the API."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self.lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self.lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def publish(self, event: dict[str, Any]) -> None:
        with self.lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that loop is closed: the page went away with its server
                self.unsubscribe(queue)

    # ---- HTTP ---------------------------------------------------------------------------------------------

    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{token}", self._response, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route("/files/{file_id}", self._file, methods=["GET"]),
            ]
        )

    async def _upload(self, request: Request) -> Response:
        """The upload URL files.getUploadURLExternal hands out (step 2 of files_upload_v2)."""
        file_id = request.path_params["file_id"]
        if file_id not in self.files:
            return PlainTextResponse("file_not_found", status_code=404)
        data = await request.body()
        if not data:
            form = await request.form()
            upload = next((v for v in form.values() if hasattr(v, "read")), None)
            data = await upload.read() if upload is not None else b""  # type: ignore[union-attr]
        with self.lock:
            self.uploads[file_id] = data
        return PlainTextResponse(f"OK - {len(data)}")

    async def _file(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        meta = self.files.get(file_id)
        if meta is None or file_id not in self.uploads:
            return PlainTextResponse("file_not_found", status_code=404)
        return Response(self.uploads[file_id], media_type=meta.get("mimetype") or "application/octet-stream")

    async def _response(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        token = request.path_params["token"]
        self.responses.append(SlackCall(token, payload))
        context = self.contexts.get(token)
        if context is None:
            if self.strict:
                return PlainTextResponse("expired_url", status_code=404)
            return PlainTextResponse("ok")
        try:
            self.apply_response(context, payload)
        except SlackError as exc:
            return PlainTextResponse(exc.error, status_code=400)
        return PlainTextResponse("ok")

    def apply_response(self, ctx: ResponseContext, payload: dict[str, Any]) -> None:
        with self.lock:
            ctx.uses += 1
            if ctx.uses > RESPONSE_URL_USES:
                raise SlackError("used_url")
        if payload.get("delete_original"):
            if ctx.ts:
                self.delete(ctx.channel, ctx.ts)
            return
        blocks = check_message(payload)
        original = self.find(ctx.channel, ctx.ts) if ctx.ts else None
        if _truthy(payload.get("replace_original")) and original is not None:
            self.replace(original, str(payload.get("text") or ""), blocks, payload.get("attachments") or [])
            return
        public = payload.get("response_type") == "in_channel"
        message = self.post(
            Message(
                self.new_ts(),
                ctx.channel,
                BOT_USER_ID,
                str(payload.get("text") or ""),
                blocks,
                payload.get("attachments") or [],
                thread_ts=payload.get("thread_ts"),
                ephemeral_for=None if public else ctx.user,
                bot=True,
            )
        )
        if ctx.kind == "command" and ctx.ts is None:
            ctx.ts = message.ts

    def replace(
        self, message: Message, text: str, blocks: list[dict[str, Any]], attachments: list[dict[str, Any]]
    ) -> None:
        with self.lock:
            message.text, message.blocks, message.attachments = text, blocks, attachments
            message.edited = message.ephemeral_for is None
        self.publish({"type": "message_changed", "message": message.to_json()})

    def delete(self, channel: str, ts: str) -> bool:
        with self.lock:
            msgs = self.messages.get(channel, [])
            kept = [m for m in msgs if m.ts != ts]
            if len(kept) == len(msgs):
                return False
            self.messages[channel] = kept
        self.publish({"type": "message_deleted", "channel": channel, "ts": ts})
        return True

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        try:
            if body:
                if request.headers.get("content-type", "").startswith("application/json"):
                    args.update(json.loads(body))
                else:
                    args.update(parse_qsl(body.decode()))
            for key in JSON_ARGS:
                if isinstance(args.get(key), str) and args[key]:
                    args[key] = json.loads(args[key])
        except ValueError:
            self.calls.append(SlackCall(method, args))
            return JSONResponse({"ok": False, "error": "invalid_json"})
        self.calls.append(SlackCall(method, args))
        if self.rate_limit_next.get(method):
            self.rate_limit_next[method] -= 1
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": "1"})
        if method in self.fail_next:
            return JSONResponse({"ok": False, "error": self.fail_next.pop(method)})
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or str(args.get("token", ""))
        if not token:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if not token.startswith(("xoxb-", "xoxp-")):
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        if method == "files.getUploadURLExternal" and not self.base_url:
            self.base_url = str(request.base_url).rstrip("/")
        handler = getattr(self.web_api, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        try:
            answer = handler(args)
        except SlackError as exc:
            # The console shows what Slack refused: a Block Kit mistake is seen, not lost in a log.
            self.publish({"type": "api_error", "method": method, "error": exc.error, "messages": exc.messages})
            return JSONResponse(exc.answer())
        headers = {"x-oauth-scopes": ",".join(self.granted_scopes)} if method == "auth.test" else None
        return JSONResponse(answer, headers=headers)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
