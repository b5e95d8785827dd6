"""`/account <name | email | CRM id>` and its buttons (pick one of several, share in channel).

Listeners stay thin: acknowledge first, let `AccountService` do the work, render its message. The answer comes
inside the acknowledgement when the mirror can give it; otherwise the user sees "Looking up…" at once and the
card replaces it through the response URL. A failure reaches the one Bolt error handler
(`handlers.slack_events.listener_failed`), which shows the user its message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot import blocks
from bot.account import card as account_card
from bot.account.service import AccountAnswer
from bot.deps import deps_of

PICK_ACTION = re.compile(r"^account_pick_\d+$")
SHARE_ACTION = "account_share"


def register(app: AsyncApp) -> None:
    app.command("/account")(account_command)
    app.action(PICK_ACTION)(account_pick)
    app.action(SHARE_ACTION)(account_share)


async def account_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    service = deps.accounts
    text = str(command.get("text") or "")[:500]
    ready = await deps.store.run(service.answer_from_mirror, text)  # SQLite off the event loop
    if ready is not None:
        await ack(response_type="ephemeral", **ready.message.as_kwargs())
        return
    await ack(response_type="ephemeral", **account_card.working(text.strip()).as_kwargs())
    answer = await service.answer(text, late=_replace_with(respond))
    await respond(response_type="ephemeral", replace_original=True, **answer.message.as_kwargs())


async def account_pick(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    account_id = str(action.get("value") or "")
    if not account_id.isdigit():
        await respond(
            replace_original=True, **blocks.error_message("That button is out of date: run /account again.").as_kwargs()
        )
        return
    answer = await deps_of(context).accounts.card(account_id, late=_replace_with(respond))
    await respond(response_type="ephemeral", replace_original=True, **answer.message.as_kwargs())


async def account_share(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    account_id = str(action.get("value") or "")
    if not account_id.isdigit():
        return
    answer = await deps_of(context).accounts.card(account_id, shareable=False)
    if answer.kind != "card":
        await respond(replace_original=False, **answer.message.as_kwargs())
        return
    user = (body.get("user") or {}).get("id", "")
    shared = account_card.shared_by(answer.message, user)
    await respond(response_type="in_channel", replace_original=False, **shared.as_kwargs())
    await respond(delete_original=True)


def _replace_with(respond: AsyncRespond) -> Callable[[AccountAnswer], Awaitable[None]]:
    """Where a card that Zoho was slow to give goes when it is ready: over the one already shown."""

    async def late(answer: AccountAnswer) -> None:
        await respond(response_type="ephemeral", replace_original=True, **answer.message.as_kwargs())

    return late
