"""The App Home tab (pure): the user's own accounts with health, the handoffs waiting for their approval (if they
approve), and recent handoffs. Built fresh each time the tab is opened; always within Slack's view limits
(100 blocks, 250 kB), worst accounts first when there are more than fit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.blocks import HEALTH_BADGES, context, header, safe, section, validate_message
from bot.models import Deal
from bot.money import format_money, format_time, relative_age
from bot.reports.compute import HandoffRow
from bot.reports.retention import AccountHealth
from bot.zoho.links import AppLinks

MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250_000
ACCOUNTS_SHOWN = 60
ROWS_PER_SECTION = 10
HANDOFFS_SHOWN = 10
LEVEL_ORDER = {"at_risk": 0, "watch": 1, "healthy": 2}
STATE_LABELS = {
    "waiting": "⏳ waiting for fields",
    "ready": "🟡 ready for approval",
    "approved": "✅ approved",
    "creating": "⚙️ creating",
    "done": "✅ invoiced",
    "failed": "⚠️ failed",
    "rejected": "⛔ rejected",
}


@dataclass(frozen=True)
class HomeInput:
    email: str  # "" when Slack would not tell us the user's email
    accounts: Sequence[AccountHealth]
    approvals: Sequence[HandoffRow] | None  # None: the user is not an approver
    recent: Sequence[HandoffRow]
    deals: Mapping[str, Deal]
    now: datetime
    tz: tzinfo
    links: AppLinks
    account_names: Mapping[str, str] = field(default_factory=dict)


def _account_line(row: AccountHealth, links: AppLinks) -> str:
    a, f = row.account, row.figures
    name = safe(a.name or a.id, 60)
    url = links.crm_account(a.id)
    parts = [HEALTH_BADGES[row.health.level].split(" ", 1)[0] + " " + (f"<{url}|{name}>" if url else name)]
    if row.health.reasons:
        parts.append(safe("; ".join(row.health.reasons[:2]), 140))
    if f.outstanding:
        parts.append(f"{format_money(f.outstanding, f.currency)} outstanding")
    if f.open_tickets:
        parts.append(f"{f.open_tickets} open tickets")
    return " · ".join(parts)


def _handoff_line(h: HandoffRow, inp: HomeInput, *, with_state: bool) -> str:
    deal = inp.deals.get(h.deal_id)
    deal_name = (deal.name if deal else "") or str(h.plan.get("deal_name") or "") or f"deal {h.deal_id}"
    account = inp.account_names.get(h.account_id) or str(h.plan.get("account_name") or "")
    url = inp.links.crm_deal(h.deal_id)
    label = safe(deal_name, 60)
    parts = [f"<{url}|{label}>" if url else label]
    if account:
        parts.append(safe(account, 50))
    if deal is not None and deal.amount is not None:
        parts.append(format_money(deal.amount, deal.currency))
    if with_state:
        parts.append(STATE_LABELS.get(h.state, safe(h.state, 20)))
    if h.state == "waiting" and h.missing:
        parts.append("missing " + safe(", ".join(h.missing), 120))
    when = h.updated_at or h.created_at
    if when:
        age = relative_age(when, inp.now)
        parts.append("just now" if age == "now" else f"{age} ago")
    if h.finance_channel and h.finance_ts and h.state in ("ready", "failed"):
        parts.append(f"<https://slack.com/archives/{h.finance_channel}/p{h.finance_ts.replace('.', '')}|review>")
    return " · ".join(parts)


def _rows(lines: Sequence[str]) -> list[dict[str, Any]]:
    return [section("\n".join(lines[i : i + ROWS_PER_SECTION])) for i in range(0, len(lines), ROWS_PER_SECTION)]


def home_view(inp: HomeInput) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("Throughline")]
    as_of = f"Updated {format_time(inp.now, inp.tz, now=inp.now)} ({getattr(inp.tz, 'key', inp.tz)})"
    blocks.append(context(f"{as_of} · `/account <name>` for one account · `/report` for figures"))
    if inp.approvals is not None:
        waiting = sorted(inp.approvals, key=lambda h: h.updated_at or inp.now)
        blocks.append(header(f"Waiting for your approval ({len(waiting)})"))
        lines = [_handoff_line(h, inp, with_state=False) for h in waiting[:HANDOFFS_SHOWN]]
        blocks += _rows(lines) if lines else [section("_Nothing is waiting for you._")]
        if len(waiting) > HANDOFFS_SHOWN:
            blocks.append(context(f"… and {len(waiting) - HANDOFFS_SHOWN} more in the finance channel"))
    ordered = sorted(
        inp.accounts,
        key=lambda r: (
            LEVEL_ORDER[r.health.level],
            -r.figures.overdue_amount,
            (r.account.name or "").casefold(),
            r.account.id,
        ),
    )
    blocks.append(header(f"Your accounts ({len(ordered)})"))
    if not inp.email:
        blocks.append(section("_Slack did not tell us your email address, so we cannot match you to a Zoho owner._"))
    elif not ordered:
        blocks.append(section(f"_No accounts in Zoho CRM are owned by {safe(inp.email, 100)}._"))
    else:
        counts = {level: sum(1 for r in ordered if r.health.level == level) for level in LEVEL_ORDER}
        blocks.append(context(" · ".join(f"{HEALTH_BADGES[lvl]}: {n}" for lvl, n in counts.items())))
        blocks += _rows([_account_line(r, inp.links) for r in ordered[:ACCOUNTS_SHOWN]])
        if len(ordered) > ACCOUNTS_SHOWN:
            rest = ordered[ACCOUNTS_SHOWN:]
            healthy = sum(r.health.level == "healthy" for r in rest)
            blocks.append(context(f"… and {len(rest)} more ({healthy} healthy): `/account <name>` shows any of them"))
    recent = list(inp.recent)[:HANDOFFS_SHOWN]
    if recent:
        blocks.append(header("Recent handoffs"))
        blocks += _rows([_handoff_line(h, inp, with_state=True) for h in recent])
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def validate_view(view: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first Slack limit a Home view breaks: the view's own (type, 100 blocks,
    250 kB, unique block and action ids) and each block's (through `validate_message`)."""
    if view.get("type") != "home":
        raise ValueError("view: type must be 'home'")
    blocks = list(view.get("blocks") or [])
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise ValueError(f"view: {len(blocks)} blocks, limit {MAX_VIEW_BLOCKS}")
    size = len(json.dumps(view, ensure_ascii=False).encode())
    if size > MAX_VIEW_BYTES:
        raise ValueError(f"view: {size} bytes, limit {MAX_VIEW_BYTES}")
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        ids = [block.get("block_id")] + [
            e.get("action_id") for e in block.get("elements") or [] if isinstance(e, Mapping)
        ]
        for i in ids:
            if i:
                if i in seen:
                    raise ValueError(f"view.blocks[{n}]: duplicate id {i!r}")
                seen.add(i)
        try:
            validate_message({"text": "home", "blocks": [block]})
        except ValueError as exc:
            raise ValueError(f"view.blocks[{n}]: {exc}") from exc
