"""`/audit` and its buttons: the drift summary, one kind's findings page by page, and "Link" for a suggestion.

Only `[approvers] audit` (user ids, or members of user groups) may run it, page it or apply a link; everyone
else is refused and the refusal is written to the audit log. "Link" has a confirm dialog, but the server decides:
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
from bot.audit.drift import KINDS, FindingKind, counts
from bot.audit.service import AuditRun, AuditService
from bot.audit_log import AuditLog
from bot.deps import Deps
from bot.errors import ThroughlineError

log = logging.getLogger(__name__)

DETAILS_ACTION = re.compile(r"^audit_details_[a-z_]+$")
PAGE_ACTION = re.compile(r"^audit_page_(prev|next)$")
APPLY_ACTION = re.compile(r"^audit_apply_\d+$")
OUT_OF_DATE = "That button is out of date: run /audit again."
USAGE = "Use `/audit` to check CRM, Books and Desk for drift, or `/audit sync` to refresh the mirror first."


def register(app: AsyncApp) -> None:
    app.command("/audit")(audit_command)
    app.action(DETAILS_ACTION)(audit_details)
    app.action(PAGE_ACTION)(audit_page)
    app.action(APPLY_ACTION)(audit_apply)


def _service(deps: Deps) -> AuditService:
    return deps.audit


async def _allowed(deps: Deps, user_id: str) -> bool:
    return await deps.approvers.allowed(user_id, deps.structure.approvers.audit)


def _refusal(deps: Deps) -> blocks.Message:
    if not deps.structure.approvers.audit:
        return blocks.error_message("No one may run the drift audit yet: add Slack user or user-group ids to "
                                    "`[approvers] audit` in throughline.toml.")
    return blocks.error_message("Only the ops people in `[approvers] audit` may run the drift audit or apply its "
                                "suggestions. Ask one of them.")


async def _refuse(deps: Deps, respond: AsyncRespond, user: str, action: str, subject: str = "", *,
                  replace: bool = False) -> None:
    deps.audit_log.record(user, action, subject, outcome="refused",
                                            detail={"reason": "not in [approvers] audit"})
    await respond(response_type="ephemeral", replace_original=replace, **_refusal(deps).as_kwargs())


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


async def audit_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                        context: AsyncBoltContext) -> None:
    text = str(command.get("text") or "").strip().lower()
    if text not in ("", "sync"):
        await ack(response_type="ephemeral", **blocks.error_message(USAGE).as_kwargs())
        return
    await ack(response_type="ephemeral", **audit_blocks.working().as_kwargs())
    deps: Deps = context["deps"]
    user = str(command.get("user_id") or "")
    if not await _allowed(deps, user):
        await _refuse(deps, respond, user, "drift.audit", replace=True)  # over "Auditing…"
        return
    try:
        run = await _service(deps).run(user, sync="always" if text == "sync" else "auto")
    except ThroughlineError as exc:
        await respond(replace_original=True, **blocks.error_message(exc.user_message()).as_kwargs())
        return
    except Exception:
        log.exception("drift audit failed")
        await respond(replace_original=True, **blocks.error_message(
            "The audit failed on our side. It has been logged; try again.").as_kwargs())
        return
    deps.audit_log.record(user, "drift.audit", f"drift_run:{run.id}",
                                            detail={"counts": counts(run.findings), "notes": run.notes})
    message = audit_blocks.summary(run, tz=deps.structure.tz, now=deps.clock())
    await respond(response_type="ephemeral", replace_original=True, **message.as_kwargs())


def _parse_position(value: str) -> tuple[int, FindingKind, int] | None:
    parts = value.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in KINDS or not parts[2].isdigit():
        return None
    return int(parts[0]), cast(FindingKind, parts[1]), int(parts[2])


async def _load(deps: Deps, run_id: int) -> AuditRun | None:
    return await asyncio.to_thread(_service(deps).runs.load, run_id)


async def _show_page(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond,
                     context: AsyncBoltContext, *, replace: bool) -> None:
    await ack()
    deps: Deps = context["deps"]
    user = _user(body)
    parsed = _parse_position(str(action.get("value") or ""))
    run = await _load(deps, parsed[0]) if parsed else None
    if parsed is None or run is None:
        await respond(replace_original=False, **blocks.error_message(OUT_OF_DATE).as_kwargs())
        return
    if not await _allowed(deps, user):
        await _refuse(deps, respond, user, "drift.details", f"drift_run:{run.id}")
        return
    message = audit_blocks.details(run, parsed[1], parsed[2], tz=deps.structure.tz, now=deps.clock())
    await respond(response_type="ephemeral", replace_original=replace, **message.as_kwargs())


async def audit_details(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond,
                        context: AsyncBoltContext) -> None:
    await _show_page(ack, action, body, respond, context, replace=False)


async def audit_page(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond,
                     context: AsyncBoltContext) -> None:
    await _show_page(ack, action, body, respond, context, replace=True)


async def audit_apply(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
    await ack()
    deps: Deps = context["deps"]
    user = _user(body)
    run_part, _, finding_id = str(action.get("value") or "").partition(":")
    run = await _load(deps, int(run_part)) if run_part.isdigit() else None
    finding = run.finding(finding_id) if run else None
    if run is None or finding is None or finding.suggestion is None:
        await respond(replace_original=False, **blocks.error_message(OUT_OF_DATE).as_kwargs())
        return
    s = finding.suggestion
    subject = f"{'books_customer' if s.action == 'link_books_customer' else 'desk_account'}:{s.record_id}"
    if not await _allowed(deps, user):
        await _refuse(deps, respond, user, "drift.link", subject)
        return
    audit = AuditLog(deps.store, deps.clock)
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
    audit.record(user, "drift.link", subject, outcome=outcome, detail={**detail, "message": message})
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
