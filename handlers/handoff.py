"""The #finance handoff buttons and dialogs: Create (confirmed in Slack first), Edit, Reject, Retry.

Every listener acknowledges first. Who may act is decided before any listener runs, by the `ApproversOnly`
middleware (handlers/approval.py) attached to each of them, so no entry point can skip the check (the Edit and
Reject dialogs are refused to non-approvers when clicked, not only on submit); refusals and "already done" answers
go privately to the person who clicked.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps, deps_of
from bot.errors import InputError
from bot.handoff import blocks as hb
from bot.handoff.service import HandoffService, Outcome
from handlers.approval import ApproversOnly, Subject

log = logging.getLogger(__name__)


async def _clicked_deal(_deps: Deps, body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return f"deal:{_deal_id(actions[0])}"


async def _dialog_deal(_deps: Deps, body: dict[str, Any]) -> str:
    return f"deal:{(body.get('view') or {}).get('private_metadata') or ''}"


def _approvers(action: str, verb: str, may: str, subject: Subject = _clicked_deal) -> ApproversOnly:
    """Only `[approvers] invoice`; a refusal reads "Only configured approvers can <may>"."""
    return ApproversOnly("invoice", action, f"not an approver ({verb})", lambda _deps: hb.refusal(may), subject)


def register(app: AsyncApp) -> None:
    app.action(
        hb.CREATE, middleware=[_approvers("handoff.approve", "create invoices", "create invoices or estimates")]
    )(create_clicked)
    app.action(hb.RETRY, middleware=[_approvers("handoff.retry", "retry", "retry a handoff")])(retry_clicked)
    app.action(hb.EDIT, middleware=[_approvers("handoff.edit.open", "open the edit dialog", "edit handoffs")])(
        edit_clicked
    )
    app.action(hb.REJECT, middleware=[_approvers("handoff.reject.open", "open the reject dialog", "reject handoffs")])(
        reject_clicked
    )
    app.view(hb.EDIT_VIEW, middleware=[_approvers("handoff.edit", "edit", "edit handoffs", _dialog_deal)])(
        edit_submitted
    )
    app.view(hb.REJECT_VIEW, middleware=[_approvers("handoff.reject", "reject", "reject handoffs", _dialog_deal)])(
        reject_submitted
    )


def _service(context: AsyncBoltContext) -> HandoffService:
    return deps_of(context).handoffs


def _deal_id(action: dict[str, Any]) -> str:
    value = str(action.get("value") or "")
    return value if value.isdigit() else ""


async def _tell(respond: AsyncRespond, outcome: Outcome) -> None:
    if outcome.note:
        await respond(response_type="ephemeral", replace_original=False, text=outcome.note)


async def create_clicked(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    deal_id = _deal_id(action)
    if not deal_id:
        await respond(response_type="ephemeral", replace_original=False, text="That button is out of date.")
        return
    await _tell(respond, await _service(context).approve(deal_id, body["user"]["id"]))


async def retry_clicked(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    deal_id = _deal_id(action)
    if deal_id:
        await _tell(respond, await _service(context).retry(deal_id, body["user"]["id"]))


async def _open(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any], respond: AsyncRespond) -> None:
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        await respond(
            response_type="ephemeral",
            replace_original=False,
            text="Slack did not open the dialog in time; please click again.",
        )


async def edit_clicked(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    handoff = _service(context).repo.get(_deal_id(action))
    if handoff is None or handoff.state not in ("waiting", "ready"):
        await respond(response_type="ephemeral", replace_original=False, text="This handoff can no longer be edited.")
        return
    await _open(client, body, hb.edit_modal(handoff.plan), respond)


async def reject_clicked(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    handoff = _service(context).repo.get(_deal_id(action))
    if handoff is None or handoff.state not in ("waiting", "ready", "failed"):
        await respond(response_type="ephemeral", replace_original=False, text="This handoff can no longer be rejected.")
        return
    await _open(client, body, hb.reject_modal(handoff.plan), respond)


async def edit_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    try:
        billing, terms, kind, lines = hb.read_edit(view["state"]["values"])
    except InputError as exc:
        await ack(response_action="errors", errors=exc.fields or {"lines": str(exc)})
        return
    await ack()
    user = body["user"]["id"]
    outcome = await _service(context).edit(str(view.get("private_metadata") or ""), user, billing, terms, kind, lines)
    await _dm(client, user, outcome)


async def reject_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    reason = str(((view["state"]["values"].get("reason") or {}).get("value") or {}).get("value") or "").strip()
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why, so the deal owner can act on it."})
        return
    await ack()
    user = body["user"]["id"]
    await _dm(client, user, await _service(context).reject(str(view.get("private_metadata") or ""), user, reason))


async def _dm(client: AsyncWebClient, user_id: str, outcome: Outcome) -> None:
    """A dialog has no response URL: refusals reach the user as a direct message."""
    if not outcome.note:
        return
    try:
        opened = await client.conversations_open(users=user_id)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=outcome.note)
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", user_id, exc.response.get("error"))
