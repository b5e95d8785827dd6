"""A local stand-in for Slack's Web API and response URLs, for the demo and the tests.

It answers the Web API methods Throughline calls in Slack's shapes (`{"ok": true, ...}` or
`{"ok": false, "error": "..."}`), records every call, and accepts posts to response URLs at
`/response/{token}`. Point `SLACK_API_URL` at `{base}/api/`.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.manifest import manifest_scopes

BOT_USER_ID = "UTHROUGHL1"
TEAM_ID = "T0DEMO0001"


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]


@dataclass
class SlackStub:
    """In-memory Slack: a user directory (email → user id), user groups, and every call received."""

    users_by_email: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[SlackCall] = field(default_factory=list)
    responses: list[SlackCall] = field(default_factory=list)
    fail_next: dict[str, str] = field(default_factory=dict)  # method → error to answer once
    rate_limit_next: dict[str, int] = field(default_factory=dict)  # method → times to answer 429
    # What auth.test reports in `x-oauth-scopes` (default: everything manifest.yml asks for).
    granted_scopes: list[str] = field(default_factory=manifest_scopes)
    # conversations.info: channel id → the error to answer (channel_not_found, …) or the channel fields to answer
    # (e.g. {"is_member": False, "is_private": True}); other ids are public channels the bot is in.
    channels: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    # files_upload_v2: file id → the bytes posted to its upload URL
    uploads: dict[str, bytes] = field(default_factory=dict)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def asgi_app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            Route("/response/{token}", self._response, methods=["POST"]),
            Route("/upload/{file_id}", self._upload, methods=["POST"]),
        ])

    async def _upload(self, request: Request) -> Response:
        """The upload URL files.getUploadURLExternal hands out (step 2 of files_upload_v2)."""
        self.uploads[request.path_params["file_id"]] = await request.body()
        return Response(f"OK - {len(self.uploads[request.path_params['file_id']])}", media_type="text/plain")

    async def _response(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        self.responses.append(SlackCall(request.path_params["token"], payload))
        return Response("ok", media_type="text/plain")

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        if body:
            if request.headers.get("content-type", "").startswith("application/json"):
                args.update(json.loads(body))
            else:
                args.update(parse_qsl(body.decode()))
        for key in ("blocks", "attachments", "view", "unfurls"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        self.calls.append(SlackCall(method, args))
        if self.rate_limit_next.get(method):
            self.rate_limit_next[method] -= 1
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429,
                                headers={"Retry-After": "1"})
        if method in self.fail_next:
            return JSONResponse({"ok": False, "error": self.fail_next.pop(method)})
        if method == "files.getUploadURLExternal":  # the upload URL points back at this stand-in
            file_id = f"F{next(self._ts):09d}"
            return JSONResponse({"ok": True, "file_id": file_id,
                                 "upload_url": f"{str(request.base_url).rstrip('/')}/upload/{file_id}"})
        if method == "auth.test":  # Slack tells the granted scopes in a response header
            return JSONResponse(self._answer(method, args), headers={"x-oauth-scopes": ",".join(self.granted_scopes)})
        return JSONResponse(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://demo.slack.com/", "team": "Demo", "user": "throughline",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "BTHROUGHL1"}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = args.get("ts") or f"{int(time.time())}.{next(self._ts):06d}"
            answer: dict[str, Any] = {"ok": True, "channel": args.get("channel", ""), "ts": ts,
                                      "message": {"text": args.get("text", ""), "blocks": args.get("blocks", [])}}
            if method == "chat.postEphemeral":
                answer = {"ok": True, "message_ts": ts}
            return answer
        if method == "users.lookupByEmail":
            user_id = self.users_by_email.get(str(args.get("email", "")).lower())
            if not user_id:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user_id, "profile": {"email": args["email"]}}}
        if method == "users.info":
            user = str(args.get("user", ""))
            email = next((e for e, u in self.users_by_email.items() if u == user), None)
            if email is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user, "profile": {"email": email}}}
        if method == "files.completeUploadExternal":
            files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files") or []
            missing = [f.get("id") for f in files if f.get("id") not in self.uploads]
            if not files or missing:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", ""),
                                           "size": len(self.uploads[f["id"]])} for f in files]}
        if method == "usergroups.users.list":
            group = self.usergroups.get(str(args.get("usergroup", "")))
            if group is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": group}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0][1:]}}
        if method in ("views.open", "views.update", "views.publish"):
            return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **(args.get("view") or {})}}
        if method in ("chat.unfurl", "chat.delete", "conversations.join"):
            return {"ok": True}
        if method == "conversations.info":
            known = self.channels.get(str(args.get("channel", "")))
            if isinstance(known, str):
                return {"ok": False, "error": known}
            return {"ok": True, "channel": {"id": args.get("channel"), "is_member": True, **(known or {})}}
        return {"ok": False, "error": "unknown_method"}
