"""What Slack does when a person uses the console: builds the payload Slack would send (slash command, block
action, view submission, `link_shared`, `app_home_opened`), signs it, posts it to the app's `/slack/events`, and
applies the acknowledgement the way Slack's client does (ephemeral answers, `response_action`s, errors)."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from bot.console.checks import SlackError
from bot.console.emulator import SlackEmulator
from bot.console.workspace import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Message, ResponseContext
from bot.slack_requests import signed_headers

URL = re.compile(r"https?://[^\s<>|]+")


class ConsoleError(Exception):
    """Something the console page shows the person (a bad request from the page, not from the app)."""


class SlackSide:
    def __init__(
        self,
        emulator: SlackEmulator,
        app: httpx.AsyncClient,
        signing_secret: str,
        commands: Mapping[str, str],
        unfurl_domains: list[str],
        *,
        read_only_dm: bool = True,
    ) -> None:
        self.emulator = emulator
        self.app = app
        self.secret = signing_secret
        self.commands = commands  # "/account" → usage hint
        self.unfurl_domains = [d.lower() for d in unfurl_domains]
        self.read_only_dm = read_only_dm

    # ---- sending --------------------------------------------------------------------------------------------

    async def _send(self, body: str, content_type: str) -> httpx.Response:
        headers = signed_headers(body, self.secret, content_type=content_type)
        return await self.app.post("/slack/events", content=body, headers=headers)

    async def _send_payload(self, payload: dict[str, Any]) -> httpx.Response:
        return await self._send(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def _send_event(self, event: dict[str, Any]) -> httpx.Response:
        envelope = {
            "token": "legacy-unused",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "is_ext_shared_channel": False,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return await self._send(json.dumps(envelope), "application/json")

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.emulator.users.get(user_id)
        if user is None:
            raise ConsoleError(f"no such user {user_id!r}")
        return {
            "id": user.id,
            "username": user.name.lower().replace(" ", "."),
            "name": user.name.lower(),
            "team_id": TEAM_ID,
        }

    def _conversation(self, channel: str) -> tuple[str, str]:
        conv = self.emulator.conversations.get(channel)
        if conv is None:
            raise ConsoleError(f"no such conversation {channel!r}")
        return conv.id, ("directmessage" if conv.is_im else conv.name)

    def _ephemeral(self, channel: str, user: str, text: str) -> None:
        self.emulator.post(Message(self.emulator.new_ts(), channel, "USLACKBOT", text, ephemeral_for=user))

    # ---- the composer ---------------------------------------------------------------------------------------

    async def compose(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        text = text.strip()
        if not text:
            raise ConsoleError("nothing to send")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            return await self.command(user, channel, command, rest.strip())
        channel_id, _ = self._conversation(channel)
        self._user(user)
        if self.emulator.conversations[channel_id].is_im and self.read_only_dm:
            # manifest.yml: messages_tab_read_only_enabled — people may use commands there, not write
            self._ephemeral(
                channel_id,
                user,
                "Sending messages to this app has been turned off. Try a slash command such as `/account`.",
            )
            return {"ok": False, "error": "read-only messages tab"}
        slack_text = URL.sub(
            lambda m: f"<{m.group(0)}>", text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        )
        message = self.emulator.post(
            Message(self.emulator.new_ts(), channel_id, user, slack_text, thread_ts=thread_ts or None)
        )
        links = [u for u in URL.findall(text) if self._unfurls(u)]
        if links:
            event = {
                "type": "link_shared",
                "channel": channel_id,
                "is_bot_user_member": True,
                "user": user,
                "message_ts": message.ts,
                "thread_ts": thread_ts,
                "unfurl_id": f"C{secrets.token_hex(6)}",
                "source": "conversations_history",
                "event_ts": message.ts,
                "links": [{"domain": urlsplit(u).hostname or "", "url": u} for u in links[:5]],
            }
            reply = await self._send_event(event)
            if reply.status_code != 200:
                self._ephemeral(channel_id, user, f"Throughline could not unfurl the link (HTTP {reply.status_code}).")
        return {"ok": True, "ts": message.ts}

    def _unfurls(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.unfurl_domains)

    async def command(self, user: str, channel: str, command: str, text: str) -> dict[str, Any]:
        channel_id, channel_name = self._conversation(channel)
        who = self._user(user)
        if command not in self.commands:
            self._ephemeral(
                channel_id,
                user,
                f"`{command}` is not a valid command. In Slack, messages that start "
                "with “/” are interpreted as commands.",
            )
            return {"ok": False, "error": "not a command"}
        context = ResponseContext(channel=channel_id, user=user, kind="command")
        body = urlencode(
            {
                "token": "legacy-unused",
                "team_id": TEAM_ID,
                "team_domain": TEAM_DOMAIN,
                "channel_id": channel_id,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": who["username"],
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": self.emulator.response_url(context),
                "trigger_id": self.emulator.issue_trigger(user),
            }
        )
        reply = await self._send(body, "application/x-www-form-urlencoded")
        if reply.status_code != 200:
            self._ephemeral(
                channel_id, user, f'{command} failed with the error "dispatch_failed" (HTTP {reply.status_code})'
            )
            return {"ok": False, "error": "dispatch_failed"}
        if reply.content.strip():
            try:
                answer = reply.json()
            except ValueError:
                answer = {"text": reply.text}
            try:
                self.emulator.apply_response(context, answer)
            except SlackError as exc:
                self._ephemeral(channel_id, user, f'{command} failed with the error "{exc.error}"')
                return {"ok": False, "error": exc.error}
        return {"ok": True}

    # ---- interactions ---------------------------------------------------------------------------------------

    async def act(
        self, user: str, source: Mapping[str, Any], path: Mapping[str, Any], selected: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A click or choice on an interactive element. `source`: {"kind": "message", "channel", "ts"} or
        {"kind": "view", "view_id"} or {"kind": "home"}; `path`: {"attachment"?: i, "block": n, "action_id"}."""
        who = self._user(user)
        kind = source.get("kind")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": who,
            "api_app_id": APP_ID,
            "token": "legacy-unused",
            "is_enterprise_install": False,
            "trigger_id": self.emulator.issue_trigger(user),
        }
        if kind == "message":
            channel_id, channel_name = self._conversation(str(source.get("channel")))
            message = self.emulator.find(channel_id, str(source.get("ts")))
            if message is None or (message.ephemeral_for and message.ephemeral_for != user):
                raise ConsoleError("that message is gone")
            blocks = message.blocks
            if path.get("attachment") is not None:
                blocks = message.attachments[int(path["attachment"])].get("blocks") or []
            ephemeral = message.ephemeral_for is not None
            context = ResponseContext(channel=channel_id, user=user, ts=message.ts, kind="action")
            payload.update(
                container={
                    "type": "message",
                    "message_ts": message.ts,
                    "channel_id": channel_id,
                    "is_ephemeral": ephemeral,
                },
                channel={"id": channel_id, "name": channel_name},
                response_url=self.emulator.response_url(context),
                state={"values": {}},
            )
            if not ephemeral:
                payload["message"] = message.to_slack()
        elif kind in ("view", "home"):
            opened = (
                self.emulator.homes.get(user) if kind == "home" else self.emulator.views.get(str(source.get("view_id")))
            )
            if opened is None or opened.user != user:
                raise ConsoleError("that view is closed")
            blocks = opened.view.get("blocks") or []
            payload.update(container={"type": "view", "view_id": opened.id}, view=opened.to_slack(TEAM_ID, APP_ID))
        else:
            raise ConsoleError(f"unknown source {kind!r}")
        payload["actions"] = [_action(blocks, path, selected or {})]
        reply = await self._send_payload(payload)
        if reply.status_code != 200:
            return {"ok": False, "error": f"The app did not answer (HTTP {reply.status_code})."}
        return {"ok": True}

    async def submit(self, user: str, view_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        opened = self.emulator.views.get(view_id)
        if opened is None or opened.user != user:
            raise ConsoleError("that dialog is closed")
        view = opened.to_slack(TEAM_ID, APP_ID)
        view["state"] = {"values": dict(values)}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-unused",
            "trigger_id": self.emulator.issue_trigger(user),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        reply = await self._send_payload(payload)
        if reply.status_code != 200:
            return {"ok": False, "error": "We had some trouble connecting. Try again?"}
        answer = reply.json() if reply.content.strip() else {}
        action = answer.get("response_action")
        if action == "errors":
            return {"ok": False, "errors": answer.get("errors") or {}}
        try:
            if action == "update":
                self.emulator.replace_view(user, view_id, answer.get("view"))
            elif action == "push":
                self.emulator.push_view(user, answer.get("view"))
            else:
                self.emulator.close_views(user, all_of_them=action == "clear")
        except SlackError as exc:
            return {"ok": False, "error": f"The app answered with a view Slack refuses: {exc.error}"}
        return {"ok": True}

    async def close(self, user: str, view_id: str) -> dict[str, Any]:
        opened = self.emulator.views.get(view_id)
        if opened is None or opened.user != user:
            return {"ok": True}
        self.emulator.close_views(user, all_of_them=True)
        if opened.view.get("notify_on_close"):
            await self._send_payload(
                {
                    "type": "view_closed",
                    "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
                    "user": self._user(user),
                    "api_app_id": APP_ID,
                    "token": "legacy-unused",
                    "view": opened.to_slack(TEAM_ID, APP_ID),
                    "is_cleared": True,
                }
            )
        return {"ok": True}

    async def open_home(self, user: str) -> dict[str, Any]:
        self._user(user)
        channel = self.emulator.dm_with(user).id
        reply = await self._send_event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": channel,
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )
        return {"ok": reply.status_code == 200}


def _action(blocks: list[dict[str, Any]], path: Mapping[str, Any], selected: Mapping[str, Any]) -> dict[str, Any]:
    """The `actions[0]` Slack sends, built from the element as the app sent it (not as the page says it is)."""
    index = int(path.get("block", -1))
    if not 0 <= index < len(blocks):
        raise ConsoleError("that block is gone")
    block = blocks[index]
    action_id = str(path.get("action_id") or "")
    candidates = [block.get("accessory")] if block.get("accessory") else []
    candidates += list(block.get("elements") or [])
    if block.get("type") == "input" and block.get("element"):
        candidates.append(block["element"])
    element = next((e for e in candidates if isinstance(e, Mapping) and e.get("action_id") == action_id), None)
    if element is None:
        raise ConsoleError("that control is gone")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block.get("block_id") or f"b{index}",
        "type": element.get("type"),
        "action_ts": f"{time.time():.6f}",
    }
    kind = element.get("type")
    if kind == "button":
        action.update(text=element.get("text"), value=element.get("value", ""))
        for key in ("style", "url"):
            if key in element:
                action[key] = element[key]
    elif kind in ("static_select", "overflow", "radio_buttons"):
        value = str(selected.get("value") or "")
        option = next((o for o in _options(element) if o.get("value") == value), None)
        if option is None:
            raise ConsoleError("that option is gone")
        action["selected_option"] = option
    elif kind == "datepicker":
        action["selected_date"] = str(selected.get("date") or "")
    elif kind == "checkboxes":
        values = set(selected.get("values") or [])
        action["selected_options"] = [o for o in _options(element) if o.get("value") in values]
    return action


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options
