"""The emulated Slack workspace's records: users, conversations, messages, views, files (plain data, JSON-able)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "UTHROUGHL1"
TEAM_ID = "T0DEMO0001"
APP_ID = "A0THROUGHL"
TEAM_DOMAIN = "demo"


def view_hash(view: dict[str, Any]) -> str:
    """What views.update's `hash` compares: changes whenever the view does."""
    return f"{int(time.time())}.{hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()[:12]}"


@dataclass
class User:
    id: str
    name: str  # display name, as mentions show it
    real_name: str
    email: str = ""
    title: str = ""
    role: str = ""  # what the console's "Acting as" picker says about the person
    is_bot: bool = False

    def to_slack(self, team_id: str) -> dict[str, Any]:
        """The user object users.info / users.list answer."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name.lower().replace(" ", "."),
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "tz": "Europe/Berlin",
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "display_name": self.name,
                "title": self.title,
            },
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.real_name,
            "email": self.email,
            "title": self.title,
            "role": self.role,
            "is_bot": self.is_bot,
        }


@dataclass
class Conversation:
    id: str
    name: str
    is_im: bool = False
    is_private: bool = False
    user: str = ""  # the other person of a DM with the app

    def to_slack(self) -> dict[str, Any]:
        base: dict[str, Any] = {"id": self.id, "is_member": True, "is_archived": False}
        if self.is_im:
            return {**base, "is_im": True, "user": self.user}
        return {
            **base,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_private": self.is_private,
            "is_im": False,
        }

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "is_im": self.is_im, "user": self.user}


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    ephemeral_for: str | None = None  # "Only visible to you": the user who sees it
    files: list[dict[str, Any]] = field(default_factory=list)
    edited: bool = False
    bot: bool = False

    def to_slack(self) -> dict[str, Any]:
        """The message object conversations.history / replies answer."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = self.files
        if self.bot:
            out["bot_id"] = "BTHROUGHL1"
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.to_slack(), "channel": self.channel, "ephemeral_for": self.ephemeral_for}


@dataclass
class OpenView:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_id: str
    previous_id: str = ""

    def to_slack(self, team_id: str, app_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "app_id": app_id,
            "hash": self.hash,
            "root_view_id": self.root_id,
            "previous_view_id": self.previous_id or None,
            "state": {"values": {}},
            **self.view,
        }


@dataclass
class ResponseContext:
    """What a response URL is bound to: who asked, where, and which message `*_original` means."""

    channel: str
    user: str
    ts: str | None = None  # the original message (None until a slash command's first answer)
    kind: str = "command"  # command | action
    uses: int = 0
