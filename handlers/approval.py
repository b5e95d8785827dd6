"""Approver-only listeners: one Bolt listener middleware decides who may act, before any listener runs.

An `ApproversOnly(...)` is attached to each guarded listener (`middleware=[...]`). Someone outside the configured
`[approvers] <group>` (user ids, or members of user groups) is acknowledged, refused privately (an ephemeral
message; a dialog, which has no response URL, gets a direct message) and the refusal is written to the one audit
log with the action and subject the allowed path would have written. The listener itself never runs, so no entry
point can skip the check.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.approvers import Group
from bot.blocks import Message
from bot.deps import Deps, deps_of

log = logging.getLogger(__name__)

Subject = Callable[[Deps, dict[str, Any]], Awaitable[str]]


def user_of(body: dict[str, Any]) -> str:
    """The Slack user behind a click, a dialog or a slash command."""
    user = body.get("user")
    return str((user.get("id") if isinstance(user, dict) else user) or body.get("user_id") or "")


async def no_subject(_deps: Deps, _body: dict[str, Any]) -> str:
    return ""


@dataclass(frozen=True)
class ApproversOnly:
    group: Group
    action: str  # the audit-log action a refusal is recorded under, e.g. "handoff.approve"
    why: str
    refusal: Callable[[Deps], Message]
    subject: Subject = no_subject
    working: Callable[[], Message] | None = None  # a command's first answer, which the refusal then replaces

    async def __call__(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        deps = deps_of(context)
        user = user_of(body)
        if await deps.approval.allowed(user, self.group):
            await next()
            return None
        subject = await self.subject(deps, body)
        await deps.store.run(deps.audit_log.record, user, self.action, subject, "refused", {"why": self.why})
        message = self.refusal(deps)
        if self.working is not None:
            await ack(response_type="ephemeral", **self.working().as_kwargs())
        else:
            await ack()
        if context.response_url and context.respond is not None:
            await context.respond(
                response_type="ephemeral", replace_original=self.working is not None, **message.as_kwargs()
            )
        else:
            await _direct_message(context, user, message)
        return ack.response


async def _direct_message(context: AsyncBoltContext, user: str, message: Message) -> None:
    try:
        opened = await context.client.conversations_open(users=user)
        await context.client.chat_postMessage(channel=opened["channel"]["id"], **message.as_kwargs())
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", user, exc.response.get("error"))
