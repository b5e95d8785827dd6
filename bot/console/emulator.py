"""A local Slack Web API emulator: every method Throughline calls, with Slack's argument checks and error names.

It answers in Slack's shapes (`{"ok": true, ...}` or `{"ok": false, "error": "..."}`), records every call,
keeps a workspace (users, conversations, messages, threads, views, the Home tab, uploaded files), accepts posts
to response URLs at `/response/{token}` and publishes each change to subscribers (the console's live feed).

`strict=False` (the tests' and the demo's stand-in) accepts any channel, trigger and message id it has not seen;
`strict=True` (the console) answers `channel_not_found`, `invalid_trigger_id`, `message_not_found` … as Slack
would. Point `SLACK_API_URL` at `{base}/api/`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.console.checks import SlackError, check_message, check_unfurls, check_view, require
from bot.console.workspace import Conversation, Message, OpenView, ResponseContext, User
from bot.manifest import manifest_scopes

BOT_USER_ID = "UTHROUGHL1"
TEAM_ID = "T0DEMO0001"
APP_ID = "A0THROUGHL"
TEAM_DOMAIN = "demo"
MAX_VIEW_STACK = 3
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
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = field(
        default_factory=list, repr=False)

    # ---- the workspace, for the console and tests ---------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def add_user(self, user: User) -> User:
        with self._lock:
            self.users[user.id] = user
            if user.email:
                self.users_by_email[user.email.lower()] = user.id
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Conversation:
        with self._lock:
            conv = self.conversations.setdefault(channel_id, Conversation(channel_id, name, is_private=is_private))
            self.messages.setdefault(channel_id, [])
        return conv

    def dm_with(self, user_id: str) -> Conversation:
        """The app's direct-message conversation with a user (Slack's D… id), created on first use."""
        with self._lock:
            dm_id = "D" + user_id[1:]
            if dm_id not in self.conversations:
                name = self.users[user_id].name if user_id in self.users else user_id
                self.conversations[dm_id] = Conversation(dm_id, name, is_im=True, user=user_id)
                self.messages.setdefault(dm_id, [])
            return self.conversations[dm_id]

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def issue_trigger(self, user: str) -> str:
        """A trigger_id, as Slack puts in every interaction payload (views.open accepts it once, 3 s)."""
        trigger = f"{next(self._ts)}.{int(time.time())}.{hashlib.sha1(user.encode()).hexdigest()[:16]}"
        with self._lock:
            self.triggers[trigger] = (user, time.monotonic())
        return trigger

    def response_url(self, context: ResponseContext) -> str:
        token = f"R{next(self._ts):08d}{hashlib.sha1(str(time.time()).encode()).hexdigest()[:12]}"
        with self._lock:
            self.contexts[token] = context
        return f"{self.base_url.rstrip('/')}/response/{token}"

    def post(self, message: Message) -> Message:
        with self._lock:
            self.messages.setdefault(message.channel, []).append(message)
        self._publish({"type": "message", "message": message.to_json()})
        return message

    def find(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    def close_views(self, user: str, *, all_of_them: bool = False) -> None:
        with self._lock:
            stack = self.view_stacks.get(user, [])
            for view_id in (list(stack) if all_of_them else stack[-1:]):
                stack.remove(view_id)
                self.views.pop(view_id, None)
        self._publish({"type": "views", "user": user})

    def replace_view(self, user: str, view_id: str, view: Any) -> None:
        """`response_action: update` from a view submission: the submitted view shows the new one."""
        checked = check_view(view, kind="modal")
        with self._lock:
            current = self.views[view_id]
            current.view, current.hash = checked, _hash(checked)
        self._publish({"type": "views", "user": user})

    def push_view(self, user: str, view: Any) -> None:
        """`response_action: push` from a view submission."""
        checked = check_view(view, kind="modal")
        stack = self.view_stacks.get(user, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        opened = self._new_view(user, checked, root=stack[0] if stack else "", previous=stack[-1] if stack else "")
        with self._lock:
            self.view_stacks.setdefault(user, []).append(opened.id)
        self._publish({"type": "views", "user": user})

    def view_stack(self, user: str) -> list[OpenView]:
        with self._lock:
            return [self.views[v] for v in self.view_stacks.get(user, []) if v in self.views]

    def snapshot(self) -> dict[str, Any]:
        """Everything the console page shows (ephemeral messages carry who may see them)."""
        with self._lock:
            return {
                "users": [u.to_json() for u in self.users.values()],
                "conversations": [c.to_json() for c in self.conversations.values()],
                "messages": {cid: [m.to_json() for m in msgs] for cid, msgs in self.messages.items()},
                "homes": {user: v.view for user, v in self.homes.items()},
                "views": {user: [self.views[v].to_slack(TEAM_ID, APP_ID) for v in stack if v in self.views]
                          for user, stack in self.view_stacks.items()},
            }

    # ---- live updates -------------------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of change events, fed from whichever thread serves the API."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that loop is closed: the page went away with its server
                self.unsubscribe(queue)

    # ---- HTTP ---------------------------------------------------------------------------------------------

    def asgi_app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            Route("/response/{token}", self._response, methods=["POST"]),
            Route("/upload/{file_id}", self._upload, methods=["POST"]),
            Route("/files/{file_id}", self._file, methods=["GET"]),
        ])

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
        with self._lock:
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
        with self._lock:
            ctx.uses += 1
            if ctx.uses > RESPONSE_URL_USES:
                raise SlackError("used_url")
        if payload.get("delete_original"):
            if ctx.ts:
                self._delete(ctx.channel, ctx.ts)
            return
        blocks = check_message(payload)
        original = self.find(ctx.channel, ctx.ts) if ctx.ts else None
        if _truthy(payload.get("replace_original")) and original is not None:
            self._replace(original, str(payload.get("text") or ""), blocks, payload.get("attachments") or [])
            return
        public = payload.get("response_type") == "in_channel"
        message = self.post(Message(self.new_ts(), ctx.channel, BOT_USER_ID, str(payload.get("text") or ""), blocks,
                                    payload.get("attachments") or [], thread_ts=payload.get("thread_ts"),
                                    ephemeral_for=None if public else ctx.user, bot=True))
        if ctx.kind == "command" and ctx.ts is None:
            ctx.ts = message.ts

    def _replace(self, message: Message, text: str, blocks: list[dict[str, Any]],
                 attachments: list[dict[str, Any]]) -> None:
        with self._lock:
            message.text, message.blocks, message.attachments = text, blocks, attachments
            message.edited = message.ephemeral_for is None
        self._publish({"type": "message_changed", "message": message.to_json()})

    def _delete(self, channel: str, ts: str) -> bool:
        with self._lock:
            msgs = self.messages.get(channel, [])
            kept = [m for m in msgs if m.ts != ts]
            if len(kept) == len(msgs):
                return False
            self.messages[channel] = kept
        self._publish({"type": "message_deleted", "channel": channel, "ts": ts})
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
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        try:
            answer = handler(args)
        except SlackError as exc:
            # The console shows what Slack refused: a Block Kit mistake is seen, not lost in a log.
            self._publish({"type": "api_error", "method": method, "error": exc.error, "messages": exc.messages})
            return JSONResponse(exc.answer())
        headers = {"x-oauth-scopes": ",".join(self.granted_scopes)} if method == "auth.test" else None
        return JSONResponse(answer, headers=headers)

    # ---- Web API methods ----------------------------------------------------------------------------------

    def _channel(self, args: dict[str, Any], name: str = "channel") -> str:
        """The conversation a call names: a known one, or (a user id) the DM with that user."""
        channel = str(args.get(name) or "").strip()
        if not channel:
            raise SlackError("channel_not_found")
        override = self.channels.get(channel)
        if isinstance(override, str):
            raise SlackError(override)
        if channel[0] in "UW" and (channel in self.users or self.strict):
            if channel not in self.users:
                raise SlackError("channel_not_found")
            return self.dm_with(channel).id
        if channel not in self.conversations:
            if self.strict:
                raise SlackError("channel_not_found")
            self.conversations[channel] = Conversation(channel, channel.lower())
            self.messages.setdefault(channel, [])
        return channel

    def _user(self, args: dict[str, Any], name: str = "user") -> str:
        user = str(args.get(name) or "").strip()
        if not user:
            raise SlackError("user_not_found")
        if self.strict and user not in self.users:
            raise SlackError("user_not_found")
        return user

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Demo", "user": "throughline",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "BTHROUGHL1"}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        blocks = check_message(args)
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts and self.strict and self.find(channel, thread_ts) is None:
            raise SlackError("thread_not_found")
        message = self.post(Message(self.new_ts(), channel, BOT_USER_ID, str(args.get("text") or ""), blocks,
                                    args.get("attachments") or [], thread_ts=thread_ts, bot=True))
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_slack()}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = self._user(args)
        blocks = check_message(args)
        message = self.post(Message(self.new_ts(), channel, BOT_USER_ID, str(args.get("text") or ""), blocks,
                                    args.get("attachments") or [], thread_ts=args.get("thread_ts") or None,
                                    ephemeral_for=user, bot=True))
        return {"ok": True, "message_ts": message.ts}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "message_not_found")
        blocks = check_message(args, require_content="blocks" not in args and "attachments" not in args)
        message = self.find(channel, ts)
        if message is None or message.ephemeral_for:  # chat.update cannot edit ephemeral messages
            if self.strict or message is not None:
                raise SlackError("message_not_found")
            return {"ok": True, "channel": channel, "ts": ts,
                    "message": {"text": args.get("text", ""), "blocks": blocks}}
        if message.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        self._replace(message, str(args.get("text") or ""), blocks, args.get("attachments") or [])
        return {"ok": True, "channel": channel, "ts": ts, "text": message.text, "message": message.to_slack()}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "message_not_found")
        message = self.find(channel, ts)
        if message is not None and message.user != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        if not self._delete(channel, ts) and self.strict:
            raise SlackError("message_not_found")
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        unfurls = check_unfurls(args.get("unfurls"))
        if args.get("unfurl_id") and args.get("source"):
            return {"ok": True}  # composer unfurls preview before the message exists
        if not args.get("channel") or not args.get("ts"):
            raise SlackError("invalid_arguments", "[ERROR] channel and ts, or unfurl_id and source, are required")
        channel = self._channel(args)
        message = self.find(channel, str(args["ts"]))
        if message is None:
            if self.strict:
                raise SlackError("cannot_find_message")
            return {"ok": True}
        attachments = [{"is_app_unfurl": True, "app_unfurl_url": url, "from_url": url, **unfurl}
                       for url, unfurl in unfurls.items()]
        with self._lock:
            message.attachments = [a for a in message.attachments if a.get("app_unfurl_url") not in unfurls]
            message.attachments += attachments
        self._publish({"type": "message_changed", "message": message.to_json()})
        return {"ok": True}

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "message_ts", "message_not_found")
        if self.strict and self.find(channel, ts) is None:
            raise SlackError("message_not_found")
        return {"ok": True, "channel": channel,
                "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        override = self.channels.get(channel_id)
        if isinstance(override, str):
            raise SlackError(override)
        conv = self.conversations.get(channel_id)
        if conv is None and (self.strict or not channel_id):
            raise SlackError("channel_not_found")
        base = conv.to_slack() if conv else {"id": channel_id, "is_member": True}
        return {"ok": True, "channel": {**base, **(override or {})}}

    def _visible(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.get(channel, []) if m.ephemeral_for is None]

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        limit = max(1, min(int(args.get("limit") or 100), 999))
        top = [m for m in self._visible(channel) if not m.thread_ts or m.thread_ts == m.ts]
        newest = list(reversed(top))
        return {"ok": True, "messages": [m.to_slack() for m in newest[:limit]], "has_more": len(newest) > limit}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "thread_not_found")
        parent = self.find(channel, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [m for m in self._visible(channel) if m.thread_ts == ts and m.ts != ts]
        return {"ok": True, "messages": [parent.to_slack(), *(m.to_slack() for m in replies)], "has_more": False}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackError("invalid_arguments", "[ERROR] the app can open a DM with one user here")
        if self.strict and users[0] not in self.users:
            raise SlackError("user_not_found")
        return {"ok": True, "channel": self.dm_with(users[0]).to_slack()}

    def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": self.conversations[self._channel(args)].to_slack()}

    def _m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = require(args, "email", "users_not_found").lower()
        user_id = self.users_by_email.get(email)
        if not user_id:
            raise SlackError("users_not_found")
        user = self.users.get(user_id)
        return {"ok": True, "user": user.to_slack(TEAM_ID) if user else {"id": user_id, "profile": {"email": email}}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if user_id in self.users:
            return {"ok": True, "user": self.users[user_id].to_slack(TEAM_ID)}
        email = next((e for e, u in self.users_by_email.items() if u == user_id), None)
        if email is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": {"id": user_id, "profile": {"email": email}}}

    def _m_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "members": [u.to_slack(TEAM_ID) for u in self.users.values()],
                "response_metadata": {"next_cursor": ""}}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": group}

    def _take_trigger(self, args: dict[str, Any]) -> str:
        trigger = require(args, "trigger_id", "invalid_trigger_id")
        with self._lock:
            issued = self.triggers.pop(trigger, None)
        if issued is None:
            if self.strict:
                raise SlackError("invalid_trigger_id")
            return ""
        user, at = issued
        if time.monotonic() - at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        return user

    def _new_view(self, user: str, view: dict[str, Any], root: str = "", previous: str = "") -> OpenView:
        view_id = f"V{next(self._ts):010d}"
        opened = OpenView(view_id, user, view, _hash(view), root or view_id, previous)
        with self._lock:
            self.views[view_id] = opened
        return opened

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"), kind="modal")
        user = self._take_trigger(args)
        opened = self._new_view(user, view)
        with self._lock:
            self.view_stacks[user] = [opened.id]
        self._publish({"type": "views", "user": user})
        return {"ok": True, "view": opened.to_slack(TEAM_ID, APP_ID)}

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"), kind="modal")
        user = self._take_trigger(args)
        stack = self.view_stacks.get(user, [])
        if self.strict and not stack:
            raise SlackError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        opened = self._new_view(user, view, root=self.views[stack[0]].root_id if stack else "",
                                previous=stack[-1] if stack else "")
        with self._lock:
            self.view_stacks.setdefault(user, []).append(opened.id)
        self._publish({"type": "views", "user": user})
        return {"ok": True, "view": opened.to_slack(TEAM_ID, APP_ID)}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"))
        view_id = str(args.get("view_id") or "")
        external = str(args.get("external_id") or "")
        if not view_id and not external:
            raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
        current = self.views.get(view_id) or next(
            (v for v in self.views.values() if external and v.view.get("external_id") == external), None)
        if current is None:
            if self.strict:
                raise SlackError("not_found")
            return {"ok": True, "view": {"id": view_id or "V0", **view}}
        if args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        with self._lock:
            current.view, current.hash = view, _hash(view)
        self._publish({"type": "views", "user": current.user})
        return {"ok": True, "view": current.to_slack(TEAM_ID, APP_ID)}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args, "user_id")
        view = check_view(args.get("view"), kind="home")
        if len(json.dumps(view)) > 250_000:
            raise SlackError("invalid_arguments", "[ERROR] the view is over 250 kB")
        current = self.homes.get(user)
        if current is not None and args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        home = self._new_view(user, view)
        with self._lock:
            self.views.pop(home.id, None)
            self.homes[user] = home
        self._publish({"type": "home", "user": user})
        return {"ok": True, "view": home.to_slack(TEAM_ID, APP_ID)}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = require(args, "filename")
        length = str(args.get("length") or "")
        if not length.isdigit() or int(length) <= 0:
            raise SlackError("invalid_arguments", "[ERROR] length must be a positive number of bytes")
        file_id = f"F{next(self._ts):09d}"
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        with self._lock:
            self.files[file_id] = {"id": file_id, "name": filename, "title": filename, "mimetype": mimetype,
                                   "size": int(length), "alt_txt": args.get("alt_txt") or ""}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments", "[ERROR] files must be a non-empty array")
        if any(f.get("id") not in self.uploads or f.get("id") not in self.files for f in files):
            raise SlackError("file_not_found")
        shared: list[dict[str, Any]] = []
        with self._lock:
            for f in files:
                meta = self.files[f["id"]]
                meta.update(title=f.get("title") or meta["name"], size=len(self.uploads[f["id"]]),
                            url_private=f"{self.base_url}/files/{f['id']}")
                shared.append(dict(meta))
        channel_arg = args.get("channel_id") or args.get("channels")
        if channel_arg:
            channel = self._channel({"channel": str(channel_arg).split(",")[0]})
            thread_ts = str(args.get("thread_ts") or "") or None
            self.post(Message(self.new_ts(), channel, BOT_USER_ID, str(args.get("initial_comment") or ""),
                              thread_ts=thread_ts, files=shared, bot=True))
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"], "size": f["size"]} for f in shared]}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _hash(view: dict[str, Any]) -> str:
    return f"{int(time.time())}.{hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()[:12]}"
