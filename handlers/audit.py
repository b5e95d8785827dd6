"""`/audit` and its buttons: the drift summary, one kind's findings page by page, and "Link" for a suggestion.

Only `[approvers] audit` (user ids, or members of user groups) may run it, page it or apply a link; everyone
else is refused by the `ApproversOnly` middleware (handlers/approval.py) and the refusal is written to the audit
log. "Link" has a confirm dialog, but the server decides:
it re-checks the suggestion against Zoho before writing (bot/audit/apply.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot import blocks
from bot.audit import blocks as audit_blocks
from bot.audit.apply import apply_suggestion
from bot.audit.drift import KINDS, FindingKind, Suggestion, counts
from bot.audit.service import AuditRun, AuditService
from bot.deps import Deps, deps_of
from bot.errors import ThroughlineError
from handlers.approval import ApproversOnly, Subject

log = logging.getLogger(__name__)

DETAILS_ACTION = re.compile(r"^audit_details_[a-z_]+$")
PAGE_ACTION = re.compile(r"^audit_page_(prev|next)$")
APPLY_ACTION = re.compile(r"^audit_apply_\d+$")
OUT_OF_DATE = "That button is out of date: run /audit again."
USAGE = "Use `/audit` to check CRM, Books and Desk for drift, or `/audit sync` to refresh the mirror first."


def register(app: AsyncApp) -> None:
    app.command(
        "/audit", middleware=[ApproversOnly("audit", "drift.audit", WHY, _refusal, working=audit_blocks.working)]
    )(audit_command)
    app.action(DETAILS_ACTION, middleware=[_approvers("drift.details", _run_subject)])(audit_details)
    app.action(PAGE_ACTION, middleware=[_approvers("drift.details", _run_subject)])(audit_page)
    app.action(APPLY_ACTION, middleware=[_approvers("drift.link", _link_subject)])(audit_apply)


WHY = "not in [approvers] audit"


def _approvers(action: str, subject: Subject) -> ApproversOnly:
    return ApproversOnly("audit", action, WHY, _refusal, subject)


async def _run_subject(_deps: Deps, body: dict[str, Any]) -> str:
    run_id = str(((body.get("actions") or [{}])[0]).get("value") or "").split(":")[0]
    return f"drift_run:{run_id}" if run_id.isdigit() else ""


async def _link_subject(deps: Deps, body: dict[str, Any]) -> str:
    """The record the refused link would have written, as the allowed path records it."""
    run_part, _, finding_id = str(((body.get("actions") or [{}])[0]).get("value") or "").partition(":")
    run = await _load(deps, int(run_part)) if run_part.isdigit() else None
    finding = run.finding(finding_id) if run else None
    if finding is None or finding.suggestion is None:
        return f"drift_run:{run_part}" if run_part.isdigit() else ""
    return _link_record(finding.suggestion)


def _link_record(s: Suggestion) -> str:
    return f"{'books_customer' if s.action == 'link_books_customer' else 'desk_account'}:{s.record_id}"


def _service(deps: Deps) -> AuditService:
    return deps.audit


def _refusal(deps: Deps) -> blocks.Message:
    if not deps.structure.approvers.audit:
        return blocks.error_message(
            "No one may run the drift audit yet: add Slack user or user-group ids to "
            "`[approvers] audit` in throughline.toml."
        )
    return blocks.error_message(
        "Only the ops people in `[approvers] audit` may run the drift audit or apply its suggestions. Ask one of them."
    )


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


async def audit_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    text = str(command.get("text") or "").strip().lower()
    if text not in ("", "sync"):
        await ack(response_type="ephemeral", **blocks.error_message(USAGE).as_kwargs())
        return
    await ack(response_type="ephemeral", **audit_blocks.working().as_kwargs())
    deps = deps_of(context)
    user = str(command.get("user_id") or "")
    # A failure reaches the one Bolt error handler (handlers/slack_events.py), which replaces "Auditing…".
    run = await _service(deps).run(user, sync="always" if text == "sync" else "auto")
    await deps.store.run(
        deps.audit_log.record,
        user,
        "drift.audit",
        f"drift_run:{run.id}",
        detail={"counts": counts(run.findings), "notes": run.notes},
    )
    message = audit_blocks.summary(run, tz=deps.structure.tz, now=deps.clock())
    await respond(response_type="ephemeral", replace_original=True, **message.as_kwargs())


def _parse_position(value: str) -> tuple[int, FindingKind, int] | None:
    parts = value.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in KINDS or not parts[2].isdigit():
        return None
    return int(parts[0]), cast(FindingKind, parts[1]), int(parts[2])


async def _load(deps: Deps, run_id: int) -> AuditRun | None:
    return await asyncio.to_thread(_service(deps).runs.load, run_id)


async def _show_page(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
    *,
    replace: bool,
) -> None:
    await ack()
    deps = deps_of(context)
    parsed = _parse_position(str(action.get("value") or ""))
    run = await _load(deps, parsed[0]) if parsed else None
    if parsed is None or run is None:
        await respond(replace_original=False, **blocks.error_message(OUT_OF_DATE).as_kwargs())
        return
    message = audit_blocks.details(run, parsed[1], parsed[2], tz=deps.structure.tz, now=deps.clock())
    await respond(response_type="ephemeral", replace_original=replace, **message.as_kwargs())


async def audit_details(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await _show_page(ack, action, body, respond, context, replace=False)


async def audit_page(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await _show_page(ack, action, body, respond, context, replace=True)


async def audit_apply(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    deps = deps_of(context)
    user = _user(body)
    run_part, _, finding_id = str(action.get("value") or "").partition(":")
    run = await _load(deps, int(run_part)) if run_part.isdigit() else None
    finding = run.finding(finding_id) if run else None
    if run is None or finding is None or finding.suggestion is None:
        await respond(replace_original=False, **blocks.error_message(OUT_OF_DATE).as_kwargs())
        return
    s = finding.suggestion
    subject = _link_record(s)
    earlier = await asyncio.to_thread(_service(deps).runs.claim, run.id, finding.id, user, deps.clock())
    if earlier is not None:
        text = "Already done." if earlier.get("state") != "applying" else "Someone is applying this link right now."
        await _rerender(deps, respond, run.id, finding.id, text)
        return
    detail = {"run": run.id, "finding": finding.id, "crm_account_id": s.crm_account_id, "score": s.score}
    try:
        result = await apply_suggestion(deps.zoho, deps.store, s)
    except ThroughlineError as exc:
        outcome, message = "failed", f"Zoho refused or failed: {exc.user_message()} Nothing else was changed."
    except Exception:
        log.exception("applying a drift suggestion failed")
        outcome, message = "failed", "Applying the link failed on our side; it has been logged."
    else:
        outcome, message = result.outcome, result.message
    await asyncio.to_thread(_service(deps).runs.mark, run.id, finding.id, outcome, user, deps.clock(), message)
    await deps.store.run(
        deps.audit_log.record, user, "drift.link", subject, outcome=outcome, detail={**detail, "message": message}
    )
    await _rerender(deps, respond, run.id, finding.id, ("✅ " if outcome in ("applied", "already") else "⚠️ ") + message)


async def _rerender(deps: Deps, respond: AsyncRespond, run_id: int, finding_id: str, notice: str) -> None:
    run = await _load(deps, run_id)
    finding = run.finding(finding_id) if run else None
    if run is None or finding is None:
        await respond(replace_original=False, **audit_blocks.notice(notice).as_kwargs())
        return
    same_kind = [f.id for f in run.findings if f.kind == finding.kind]
    start = same_kind.index(finding.id) // audit_blocks.PAGE_SIZE * audit_blocks.PAGE_SIZE
    message = audit_blocks.details(run, finding.kind, start, tz=deps.structure.tz, now=deps.clock(), notice=notice)
    await respond(response_type="ephemeral", replace_original=True, **message.as_kwargs())
