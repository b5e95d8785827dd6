"""Who may approve an action: configured Slack user ids, or members of configured user groups.

Group membership comes from `usergroups.users.list`, cached briefly so a burst of clicks asks Slack once.
If Slack cannot say, the answer is no (and the refusal says why): never approve on a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

GROUP_TTL_SECONDS = 300.0


class Approvers:
    def __init__(self, slack: AsyncWebClient, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.slack = slack
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

    async def allowed(self, user_id: str, approvers: Sequence[str]) -> bool:
        if not user_id:
            return False
        if user_id in approvers:
            return True
        for entry in approvers:
            if entry.startswith("S") and user_id in await self.members(entry):
                return True
        return False
