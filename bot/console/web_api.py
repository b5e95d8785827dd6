"""The Slack Web API methods Throughline calls, as the emulator answers them: `m_<method, dots as _>(args)`
returns Slack's answer or raises `SlackError` with Slack's error name. The state lives in `SlackEmulator`."""

from __future__ import annotations

import json
import mimetypes
import time
from typing import TYPE_CHECKING, Any

from bot.console.checks import SlackError, check_message, check_unfurls, check_view, require
from bot.console.workspace import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Conversation, Message, view_hash

if TYPE_CHECKING:
    from bot.console.emulator import SlackEmulator

MAX_VIEW_STACK = 3  # Slack: at most three views in a modal's stack


class WebApi:
    def __init__(self, emulator: SlackEmulator) -> None:
        self.em = emulator

    def _channel(self, args: dict[str, Any], name: str = "channel") -> str:
        """The conversation a call names: a known one, or (a user id) the DM with that user."""
        channel = str(args.get(name) or "").strip()
        if not channel:
            raise SlackError("channel_not_found")
        override = self.em.channels.get(channel)
        if isinstance(override, str):
            raise SlackError(override)
        if channel[0] in "UW" and (channel in self.em.users or self.em.strict):
            if channel not in self.em.users:
                raise SlackError("channel_not_found")
            return self.em.dm_with(channel).id
        if channel not in self.em.conversations:
            if self.em.strict:
                raise SlackError("channel_not_found")
            self.em.conversations[channel] = Conversation(channel, channel.lower())
            self.em.messages.setdefault(channel, [])
        return channel

    def _user(self, args: dict[str, Any], name: str = "user") -> str:
        user = str(args.get(name) or "").strip()
        if not user:
            raise SlackError("user_not_found")
        if self.em.strict and user not in self.em.users:
            raise SlackError("user_not_found")
        return user

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Demo",
            "user": "throughline",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "BTHROUGHL1",
        }

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        blocks = check_message(args)
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts and self.em.strict and self.em.find(channel, thread_ts) is None:
            raise SlackError("thread_not_found")
        message = self.em.post(
            Message(
                self.em.new_ts(),
                channel,
                BOT_USER_ID,
                str(args.get("text") or ""),
                blocks,
                args.get("attachments") or [],
                thread_ts=thread_ts,
                bot=True,
            )
        )
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_slack()}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = self._user(args)
        blocks = check_message(args)
        message = self.em.post(
            Message(
                self.em.new_ts(),
                channel,
                BOT_USER_ID,
                str(args.get("text") or ""),
                blocks,
                args.get("attachments") or [],
                thread_ts=args.get("thread_ts") or None,
                ephemeral_for=user,
                bot=True,
            )
        )
        return {"ok": True, "message_ts": message.ts}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "message_not_found")
        blocks = check_message(args, require_content="blocks" not in args and "attachments" not in args)
        message = self.em.find(channel, ts)
        if message is None or message.ephemeral_for:  # chat.update cannot edit ephemeral messages
            if self.em.strict or message is not None:
                raise SlackError("message_not_found")
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text", ""), "blocks": blocks},
            }
        if message.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        self.em.replace(message, str(args.get("text") or ""), blocks, args.get("attachments") or [])
        return {"ok": True, "channel": channel, "ts": ts, "text": message.text, "message": message.to_slack()}

    def m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "message_not_found")
        message = self.em.find(channel, ts)
        if message is not None and message.user != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        if not self.em.delete(channel, ts) and self.em.strict:
            raise SlackError("message_not_found")
        return {"ok": True, "channel": channel, "ts": ts}

    def m_chat_unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        unfurls = check_unfurls(args.get("unfurls"))
        if args.get("unfurl_id") and args.get("source"):
            return {"ok": True}  # composer unfurls preview before the message exists
        if not args.get("channel") or not args.get("ts"):
            raise SlackError("invalid_arguments", "[ERROR] channel and ts, or unfurl_id and source, are required")
        channel = self._channel(args)
        message = self.em.find(channel, str(args["ts"]))
        if message is None:
            if self.em.strict:
                raise SlackError("cannot_find_message")
            return {"ok": True}
        attachments = [
            {"is_app_unfurl": True, "app_unfurl_url": url, "from_url": url, **unfurl} for url, unfurl in unfurls.items()
        ]
        with self.em.lock:
            message.attachments = [a for a in message.attachments if a.get("app_unfurl_url") not in unfurls]
            message.attachments += attachments
        self.em.publish({"type": "message_changed", "message": message.to_json()})
        return {"ok": True}

    def m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "message_ts", "message_not_found")
        if self.em.strict and self.em.find(channel, ts) is None:
            raise SlackError("message_not_found")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        override = self.em.channels.get(channel_id)
        if isinstance(override, str):
            raise SlackError(override)
        conv = self.em.conversations.get(channel_id)
        if conv is None and (self.em.strict or not channel_id):
            raise SlackError("channel_not_found")
        base = conv.to_slack() if conv else {"id": channel_id, "is_member": True}
        return {"ok": True, "channel": {**base, **(override or {})}}

    def _visible(self, channel: str) -> list[Message]:
        with self.em.lock:
            return [m for m in self.em.messages.get(channel, []) if m.ephemeral_for is None]

    def m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        limit = max(1, min(int(args.get("limit") or 100), 999))
        top = [m for m in self._visible(channel) if not m.thread_ts or m.thread_ts == m.ts]
        newest = list(reversed(top))
        return {"ok": True, "messages": [m.to_slack() for m in newest[:limit]], "has_more": len(newest) > limit}

    def m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = require(args, "ts", "thread_not_found")
        parent = self.em.find(channel, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [m for m in self._visible(channel) if m.thread_ts == ts and m.ts != ts]
        return {"ok": True, "messages": [parent.to_slack(), *(m.to_slack() for m in replies)], "has_more": False}

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackError("invalid_arguments", "[ERROR] the app can open a DM with one user here")
        if self.em.strict and users[0] not in self.em.users:
            raise SlackError("user_not_found")
        return {"ok": True, "channel": self.em.dm_with(users[0]).to_slack()}

    def m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": self.em.conversations[self._channel(args)].to_slack()}

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = require(args, "email", "users_not_found").lower()
        user_id = self.em.users_by_email.get(email)
        if not user_id:
            raise SlackError("users_not_found")
        user = self.em.users.get(user_id)
        return {"ok": True, "user": user.to_slack(TEAM_ID) if user else {"id": user_id, "profile": {"email": email}}}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if user_id in self.em.users:
            return {"ok": True, "user": self.em.users[user_id].to_slack(TEAM_ID)}
        email = next((e for e, u in self.em.users_by_email.items() if u == user_id), None)
        if email is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": {"id": user_id, "profile": {"email": email}}}

    def m_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "members": [u.to_slack(TEAM_ID) for u in self.em.users.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.em.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": group}

    def _take_trigger(self, args: dict[str, Any]) -> str:
        trigger = require(args, "trigger_id", "invalid_trigger_id")
        with self.em.lock:
            issued = self.em.triggers.pop(trigger, None)
        if issued is None:
            if self.em.strict:
                raise SlackError("invalid_trigger_id")
            return ""
        user, at = issued
        if time.monotonic() - at > self.em.trigger_ttl:
            raise SlackError("expired_trigger_id")
        return user

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"), kind="modal")
        user = self._take_trigger(args)
        opened = self.em.new_view(user, view)
        with self.em.lock:
            self.em.view_stacks[user] = [opened.id]
        self.em.publish({"type": "views", "user": user})
        return {"ok": True, "view": opened.to_slack(TEAM_ID, APP_ID)}

    def m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"), kind="modal")
        user = self._take_trigger(args)
        stack = self.em.view_stacks.get(user, [])
        if self.em.strict and not stack:
            raise SlackError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        opened = self.em.new_view(
            user, view, root=self.em.views[stack[0]].root_id if stack else "", previous=stack[-1] if stack else ""
        )
        with self.em.lock:
            self.em.view_stacks.setdefault(user, []).append(opened.id)
        self.em.publish({"type": "views", "user": user})
        return {"ok": True, "view": opened.to_slack(TEAM_ID, APP_ID)}

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"))
        view_id = str(args.get("view_id") or "")
        external = str(args.get("external_id") or "")
        if not view_id and not external:
            raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
        current = self.em.views.get(view_id) or next(
            (v for v in self.em.views.values() if external and v.view.get("external_id") == external), None
        )
        if current is None:
            if self.em.strict:
                raise SlackError("not_found")
            return {"ok": True, "view": {"id": view_id or "V0", **view}}
        if args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        with self.em.lock:
            current.view, current.hash = view, view_hash(view)
        self.em.publish({"type": "views", "user": current.user})
        return {"ok": True, "view": current.to_slack(TEAM_ID, APP_ID)}

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args, "user_id")
        view = check_view(args.get("view"), kind="home")
        if len(json.dumps(view)) > 250_000:
            raise SlackError("invalid_arguments", "[ERROR] the view is over 250 kB")
        current = self.em.homes.get(user)
        if current is not None and args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        home = self.em.new_view(user, view)
        with self.em.lock:
            self.em.views.pop(home.id, None)
            self.em.homes[user] = home
        self.em.publish({"type": "home", "user": user})
        return {"ok": True, "view": home.to_slack(TEAM_ID, APP_ID)}

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = require(args, "filename")
        length = str(args.get("length") or "")
        if not length.isdigit() or int(length) <= 0:
            raise SlackError("invalid_arguments", "[ERROR] length must be a positive number of bytes")
        file_id = f"F{self.em.next_number():09d}"
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        with self.em.lock:
            self.em.files[file_id] = {
                "id": file_id,
                "name": filename,
                "title": filename,
                "mimetype": mimetype,
                "size": int(length),
                "alt_txt": args.get("alt_txt") or "",
            }
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.em.base_url}/upload/{file_id}"}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments", "[ERROR] files must be a non-empty array")
        if any(f.get("id") not in self.em.uploads or f.get("id") not in self.em.files for f in files):
            raise SlackError("file_not_found")
        shared: list[dict[str, Any]] = []
        with self.em.lock:
            for f in files:
                meta = self.em.files[f["id"]]
                meta.update(
                    title=f.get("title") or meta["name"],
                    size=len(self.em.uploads[f["id"]]),
                    url_private=f"{self.em.base_url}/files/{f['id']}",
                )
                shared.append(dict(meta))
        channel_arg = args.get("channel_id") or args.get("channels")
        if channel_arg:
            channel = self._channel({"channel": str(channel_arg).split(",")[0]})
            thread_ts = str(args.get("thread_ts") or "") or None
            self.em.post(
                Message(
                    self.em.new_ts(),
                    channel,
                    BOT_USER_ID,
                    str(args.get("initial_comment") or ""),
                    thread_ts=thread_ts,
                    files=shared,
                    bot=True,
                )
            )
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"], "size": f["size"]} for f in shared]}
