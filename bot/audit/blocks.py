"""Block Kit for the drift audit (pure): the summary with counts, one kind's findings a page at a time.

Buttons carry `run_id:kind:start` (details, paging) or `run_id:finding_id` (apply a link); the server loads the
stored run, so nothing in a button is trusted beyond naming what was shown.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from bot.audit.drift import KIND_TITLES, KINDS, Finding, FindingKind, RecordRef, counts
from bot.audit.service import AuditRun
from bot.blocks import (
    CONFIRM_LIMITS,
    FALLBACK_TEXT,
    HEADER_TEXT,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT,
    Block,
    Message,
    button,
    clip,
    context,
    escape,
    fit,
    link,
    plain,
    safe,
    section,
)
from bot.money import format_time

DETAILS_ACTION = "audit_details"
PAGE_ACTION = "audit_page"  # audit_page_prev / audit_page_next
APPLY_ACTION = "audit_apply"  # audit_apply_<n>
PAGE_SIZE = 8
APP_NAMES = {"crm": "CRM", "books": "Books", "desk": "Desk"}


def _record(ref: RecordRef) -> str:
    label = f"{APP_NAMES[ref.app]} {ref.kind} {safe(ref.name or ref.id, 60)}"
    return link(ref.url or None, label)


def summary(run: AuditRun, *, tz: tzinfo, now: datetime) -> Message:
    total = len(run.findings)
    per_kind = counts(run.findings)
    title = "Drift audit: no drift found" if not total else f"Drift audit: {total} finding{'s' * (total != 1)}"
    blocks: list[Block] = [{"type": "header", "text": plain(title, HEADER_TEXT)}]
    synced = " · mirror synced first" if run.synced else ""
    blocks.append(
        context(f"CRM, Books and Desk as mirrored at {format_time(run.at, tz, now=now)}{synced} · run {run.id}")
    )
    for note in run.notes:
        blocks.append(section(f"⚠️ {safe(note, 500)}"))
    for kind in KINDS:
        n = per_kind[kind]
        if n:
            block = section(f"*{KIND_TITLES[kind]}* · {n}")
            block["accessory"] = button("Show", f"{DETAILS_ACTION}_{kind}", f"{run.id}:{kind}:0")
            blocks.append(block)
    clean = [KIND_TITLES[k] for k in KINDS if not per_kind[k]]
    if clean:
        blocks.append(context("✓ None: " + "; ".join(clean)))
    parts = ", ".join(f"{per_kind[k]} {KIND_TITLES[k].lower()}" for k in KINDS if per_kind[k])
    text = f"{title}." + (f" {parts}." if parts else "")
    return Message(escape(clip(text, FALLBACK_TEXT)), blocks)


def _confirm(finding: Finding) -> dict[str, Any]:
    s = finding.suggestion
    assert s is not None
    record = "Books customer" if s.action == "link_books_customer" else "Desk account"
    text = (
        f"Link {record} “{clip(s.record_name, 80)}” to CRM account “{clip(s.crm_account_name, 80)}”? "
        "Only that link changes; it is re-checked first and recorded in the audit log."
    )
    return {
        "title": plain("Link these records?", CONFIRM_LIMITS["title"]),
        "text": {"type": "plain_text", "text": clip(text, CONFIRM_LIMITS["text"])},
        "confirm": plain("Link", CONFIRM_LIMITS["confirm"]),
        "deny": plain("Cancel", CONFIRM_LIMITS["deny"]),
    }


def _state_line(state: dict[str, Any] | None, tz: tzinfo, now: datetime) -> str:
    if not state:
        return ""
    when = format_time(datetime.fromisoformat(state["at"]), tz, now=now) if state.get("at") else ""
    who = f"<@{state['by']}>" if state.get("by") else "someone"
    message = safe(state.get("message") or "", 300)
    if state.get("state") in ("applied", "already"):
        return f"\n✅ {message or 'Linked'} · {who}, {when}"
    if state.get("state") == "applying":
        return f"\n⏳ Being applied by {who} ({when})"
    return f"\n⚠️ {message} · {who}, {when}"


def _finding_block(finding: Finding, n: int, run: AuditRun, tz: tzinfo, now: datetime) -> Block:
    where = " · ".join(_record(r) for r in finding.records[:6])
    state = run.applied.get(finding.id)
    body = (
        f"*{safe(finding.what, 600)}*\n"
        + (f"Where: {where}\n" if where else "")
        + f"Fix: {safe(finding.fix, 600)}"
        + _state_line(state, tz, now)
    )
    block = section(fit(body, SECTION_TEXT))
    if finding.suggestion and (not state or state.get("state") == "failed"):
        apply = button("Link", f"{APPLY_ACTION}_{n}", f"{run.id}:{finding.id}", style="primary")
        apply["confirm"] = _confirm(finding)
        block["accessory"] = apply
    return block


def details(run: AuditRun, kind: FindingKind, start: int, *, tz: tzinfo, now: datetime, notice: str = "") -> Message:
    """One kind's findings from `start`: up to PAGE_SIZE of them, fewer if Slack's text budget runs out first,
    with Previous / Next (their values carry the position, so nothing is skipped)."""
    found = [f for f in run.findings if f.kind == kind]
    start = min(max(start, 0), max(len(found) - 1, 0))
    title = KIND_TITLES[kind]
    blocks: list[Block] = [{"type": "header", "text": plain(f"{title} ({len(found)})", HEADER_TEXT)}]
    if notice:
        blocks.append(section(safe(notice, 1000)))
    if not found:
        blocks.append(section("_None in this run._"))
    end, used = start, 0
    for finding in found[start : start + PAGE_SIZE]:
        block = _finding_block(finding, end - start, run, tz, now)
        size = len(block["text"]["text"])
        if end > start and used + size > MESSAGE_TEXT_BUDGET - 2000:
            break
        used += size
        blocks.append(block)
        end += 1
    blocks.append(context(f"Showing {start + 1}–{end} of {len(found)} · run {run.id}" if found else f"run {run.id}"))
    nav = []
    if start > 0:
        nav.append(button("Previous", f"{PAGE_ACTION}_prev", f"{run.id}:{kind}:{max(start - PAGE_SIZE, 0)}"))
    if end < len(found):
        nav.append(button("Next", f"{PAGE_ACTION}_next", f"{run.id}:{kind}:{end}"))
    if nav:
        blocks.append({"type": "actions", "block_id": "audit_pages", "elements": nav})
    shown = f" ({start + 1}–{end} shown)" if found else ""
    return Message(escape(clip(f"{title}: {len(found)}{shown}.", FALLBACK_TEXT)), blocks)


def notice(text: str) -> Message:
    body = safe(text, 2000) or "Done."
    return Message(body, [section(body)])


def working() -> Message:
    text = "Auditing CRM, Books and Desk for drift…"
    return Message(text, [{**context(f"⏳ {text}"), "block_id": "working"}])
