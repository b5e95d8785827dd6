"""Who may approve an action: the `[approvers]` section of throughline.toml (`bot.config.Approvers`: Slack user
ids or user-group ids per group of actions) checked against Slack's user-group membership.

Group membership comes from `usergroups.users.list`, cached briefly so a burst of clicks asks Slack once.
If Slack cannot say, the answer is no (and the refusal says why): never approve on a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Approvers

GROUP_TTL_SECONDS = 300.0


Group = Literal["invoice", "audit"]


class ApprovalCheck:
    """`allowed(user, "invoice")`: is the user one of `[approvers] invoice`, directly or through a user group."""

    def __init__(
        self, slack: AsyncWebClient, approvers: Approvers, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.slack = slack
        self.approvers = approvers
        self.monotonic = monotonic
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group_id: str) -> frozenset[str]:
        cached = self._groups.get(group_id)
        if cached and self.monotonic() - cached[0] < GROUP_TTL_SECONDS:
            return cached[1]
        try:
            answer = await self.slack.usergroups_users_list(usergroup=group_id)
            users = frozenset(answer.get("users") or [])
        except SlackApiError:
            return cached[1] if cached else frozenset()
        self._groups[group_id] = (self.monotonic(), users)
        return users

    async def allowed(self, user_id: str, group: Group) -> bool:
        return await self.among(user_id, getattr(self.approvers, group))

    async def among(self, user_id: str, approvers: Sequence[str]) -> bool:
        if not user_id:
            return False
        if user_id in approvers:
            return True
        for entry in approvers:
            if entry.startswith("S") and user_id in await self.members(entry):
                return True
        return False
