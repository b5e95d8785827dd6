"""`/account <name | email | CRM id>` and its buttons (pick one of several, share in channel).

Listeners stay thin: acknowledge first, let `AccountService` do the work, render its message. The answer comes
inside the acknowledgement when the mirror can give it; otherwise the user sees "Looking up…" at once and the
card replaces it through the response URL. A failure reaches the one Bolt error handler
(`handlers.slack_events.listener_failed`), which shows the user its message.

The mirror's answer is given by `answer_from_mirror`, a listener middleware, rather than by the listener: Bolt
runs a listener as a task and looks every 10 ms whether it has acknowledged, so an answer ready in 3 ms would
still wait for the next look. A listener middleware is awaited inline and its response goes back at once. It also
takes the request's replay claim (`handlers.slack_events.CLAIMED_WITH_ANSWER`) in the same store call as the read,
so a lookup costs one thread hop. Only a lookup that needs Zoho reaches the listener.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse

from bot import blocks
from bot.account import card as account_card
from bot.account.service import AccountAnswer, AccountService, MirrorCard
from bot.deps import deps_of
from bot.intake.slack_dedupe import RequestClaim
from handlers.slack_events import claim_of

PICK_ACTION = re.compile(r"^account_pick_\d+$")
SHARE_ACTION = "account_share"


def register(app: AsyncApp) -> None:
    app.command("/account", middleware=[answer_from_mirror])(account_command)
    app.action(PICK_ACTION)(account_pick)
    app.action(SHARE_ACTION)(account_share)


def _text(command: dict[str, Any]) -> str:
    return str(command.get("text") or "")[:500]


async def answer_from_mirror(
    ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> BoltResponse | None:
    """The acknowledgement carries the answer when the mirror alone gives it; otherwise on to `account_command`.
    One call on the store's quick lane, off the event loop: the replay claim, then the read. A replay gets nothing."""
    deps = deps_of(context)
    accounts = deps.accounts
    first, read = await deps.store.run_quick(_claimed_read, claim_of(context), accounts, _text(command))
    if not first:
        return BoltResponse(status=200, body="")  # a replayed request: the door answers it with nothing
    if read is None:
        await next()
        return None
    # The card is drawn here: pure Python gains nothing on a thread (the GIL), and the thread hop costs.
    ready = accounts.draw(read) if isinstance(read, MirrorCard) else read
    await ack(response_type="ephemeral", **ready.message.as_kwargs())
    return ack.response


def _claimed_read(
    claim: RequestClaim | None, accounts: AccountService, text: str
) -> tuple[bool, AccountAnswer | MirrorCard | None]:
    """(first delivery, what the mirror gives): the mirror is read only for the first delivery of the request."""
    if claim is not None and not claim.take():
        return False, None
    return True, accounts.read_from_mirror(text)


async def account_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """The mirror could not answer (`answer_from_mirror`): "Looking up…" at once, the card once Zoho answers."""
    text = _text(command)
    await ack(response_type="ephemeral", **account_card.working(text.strip()).as_kwargs())
    answer = await deps_of(context).accounts.answer(text, late=_replace_with(respond))
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
