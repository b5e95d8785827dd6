"""Where a message for a record's owner goes: a direct message to the owner's Slack user (found by their Zoho
email), else a fallback channel (#sales). Shared by the feed (`bot.feed.notify`) and the handoff."""

from __future__ import annotations

from collections import OrderedDict

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_users import SlackDirectory

MAX_DMS = 10_000  # DM channel ids remembered (most recently used); more owners than this just reopen theirs


class OwnerAnnouncer:
    def __init__(self, slack: AsyncWebClient, directory: SlackDirectory) -> None:
        self.slack = slack
        self.directory = directory
        self._dms: OrderedDict[str, str] = OrderedDict()  # Slack user id -> DM channel id

    async def destination(self, owner_email: str, fallback: str) -> tuple[str, bool]:
        """(channel, is_dm): the owner's DM when the owner is a Slack user, else `fallback` ("" for nowhere).
        Raises SlackApiError when Slack will not open the DM."""
        user = await self.directory.user_id_for(owner_email) if owner_email else None
        if not user:
            return fallback, False
        dm = self._dms.get(user)
        if dm is None:
            answer = await self.slack.conversations_open(users=user)
            dm = str((answer.get("channel") or {}).get("id") or user)
            self._dms[user] = dm
            if len(self._dms) > MAX_DMS:
                self._dms.popitem(last=False)
        else:
            self._dms.move_to_end(user)
        return dm, True
