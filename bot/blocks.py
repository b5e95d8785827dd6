"""Block Kit primitives shared by every feature (pure: no I/O): `Message`, links into Zoho, text helpers,
building blocks, and `validate_message`, which checks Slack's limits. Links into the Zoho apps are built by
`bot.zoho.links.AppLinks`.

Every builder returns a `Message` whose blocks respect Slack's limits (see `validate_message`) and that
always carries a top-level `text` fallback. Text from Zoho is escaped (`&`, `<`, `>`) before it goes into
mrkdwn and clipped before it is escaped, so an entity or a link is never cut in half.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Block = dict[str, Any]

# ---- Slack limits (shared/slack.md) --------------------------------------------------------------------
MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL_LENGTH = 3000
ID_LENGTH = 255  # action_id, block_id
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
# Reported, not documented: whole messages refused as msg_blocks_too_long near 13k characters.
MESSAGE_TEXT_BUDGET = 12_000
FALLBACK_TEXT = 3000  # our own cap for the top-level text

NAME_CLIP = 80  # raw characters of a Zoho name in a list row

HEALTH_BADGES = {"healthy": "🟢 Healthy", "watch": "🟡 Watch", "at_risk": "🔴 At risk"}


@dataclass
class Message:
    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}

    def as_kwargs(self) -> dict[str, Any]:
        """For `respond(**m.as_kwargs())`, `chat_postMessage(channel=..., **m.as_kwargs())`."""
        return self.to_dict()


# ---- text helpers --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Collapse whitespace and cut to `limit` characters, marking the cut with …"""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def fit(mrkdwn: str, limit: int) -> str:
    """Cut escaped mrkdwn to `limit` on a line boundary; a lone overlong line is cut outside any entity
    or link."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    kept: list[str] = []
    used = 0
    for line in mrkdwn.split("\n"):
        if used + len(line) + 1 > limit - 2:
            break
        kept.append(line)
        used += len(line) + 1
    if kept:
        return "\n".join(kept) + "\n…"
    cut = mrkdwn[: limit - 1]
    cut = re.sub(r"&[a-z]*$", "", cut)
    cut = re.sub(r"<[^>]*$", "", cut)
    return cut + "…"


def safe(text: str, limit: int = NAME_CLIP) -> str:
    return escape(clip(text, limit))


def link(url: str | None, label: str) -> str:
    """`label` must be escaped already."""
    return f"<{url}|{label}>" if url else label


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or "—", "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, limit) or "—"}


def section(text: str | None, fields: Sequence[str] = ()) -> Block:
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = mrkdwn(text)
    if fields:
        block["fields"] = [mrkdwn(f, FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def fields(*items: str) -> Block:
    """A section of fields only (two columns)."""
    return section(None, items)


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS] if t]}


def button(text: str, action_id: str, value: str = "", *, style: str = "", url: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id}
    if value:
        element["value"] = value[:BUTTON_VALUE]
    if url:
        element["url"] = url
    if style:
        element["style"] = style
    return element


def error_message(text: str) -> Message:
    body = safe(text, 2000) or "Something went wrong."
    return Message(body, [section(f"⚠️ {body}")])


# ---- validation ----------------------------------------------------------------------------------------


def _check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{where}: {what}")


def _check_text(obj: Any, where: str, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> int:
    _check(isinstance(obj, Mapping) and obj.get("type") in kinds, where, f"must be a {' or '.join(kinds)} object")
    text = obj.get("text")
    _check(isinstance(text, str) and len(text) > 0, where, "text must be a non-empty string")
    _check(len(text) <= limit, where, f"text is {len(text)} characters, limit {limit}")
    return len(text)


def _check_element(el: Mapping[str, Any], where: str, action_ids: set[str]) -> int:
    size = 0
    if "text" in el and el.get("type") == "button":
        size += _check_text(el["text"], f"{where}.text", BUTTON_TEXT, ("plain_text",))
    if "action_id" in el:
        aid = el["action_id"]
        _check(
            isinstance(aid, str) and 0 < len(aid) <= ID_LENGTH,
            where,
            f"action_id over {ID_LENGTH} characters",
        )
        _check(aid not in action_ids, where, f"duplicate action_id {aid!r}")
        action_ids.add(aid)
    _check(len(str(el.get("value", ""))) <= BUTTON_VALUE, where, f"value over {BUTTON_VALUE} characters")
    _check(len(str(el.get("url", ""))) <= URL_LENGTH, where, f"url over {URL_LENGTH} characters")
    confirm = el.get("confirm")
    if confirm:
        for key, limit in CONFIRM_LIMITS.items():
            if key in confirm:
                _check_text(confirm[key], f"{where}.confirm.{key}", limit)
    return size


def validate_message(message: Message | Mapping[str, Any]) -> None:
    """Raise ValueError naming the first Slack limit the message breaks."""
    msg = message.to_dict() if isinstance(message, Message) else dict(message)
    text, blocks = msg.get("text"), msg.get("blocks") or []
    _check(isinstance(text, str) and bool(text.strip()), "text", "a top-level fallback text is required")
    _check(len(blocks) <= MAX_BLOCKS, "blocks", f"{len(blocks)} blocks, limit {MAX_BLOCKS}")
    total, block_ids, action_ids = 0, set(), set()  # type: ignore[var-annotated]
    for n, block in enumerate(blocks):
        where = f"blocks[{n}] ({block.get('type')})"
        bid = block.get("block_id")
        if bid is not None:
            _check(isinstance(bid, str) and 0 < len(bid) <= ID_LENGTH, where, f"block_id over {ID_LENGTH} chars")
            _check(bid not in block_ids, where, f"duplicate block_id {bid!r}")
            block_ids.add(bid)
        kind = block.get("type")
        if kind == "header":
            total += _check_text(block.get("text"), f"{where}.text", HEADER_TEXT, ("plain_text",))
        elif kind == "section":
            fields = block.get("fields") or []
            _check("text" in block or bool(fields), where, "a section needs text or fields")
            if "text" in block:
                total += _check_text(block["text"], f"{where}.text", SECTION_TEXT)
            _check(len(fields) <= MAX_FIELDS, where, f"{len(fields)} fields, limit {MAX_FIELDS}")
            for i, f in enumerate(fields):
                total += _check_text(f, f"{where}.fields[{i}]", FIELD_TEXT)
            if block.get("accessory"):
                total += _check_element(block["accessory"], f"{where}.accessory", action_ids)
        elif kind == "context":
            elements = block.get("elements") or []
            _check(
                0 < len(elements) <= CONTEXT_ELEMENTS,
                where,
                f"{len(elements)} elements, 1..{CONTEXT_ELEMENTS}",
            )
            for i, el in enumerate(elements):
                if el.get("type") in ("plain_text", "mrkdwn"):
                    total += _check_text(el, f"{where}.elements[{i}]", SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            _check(
                0 < len(elements) <= ACTIONS_ELEMENTS,
                where,
                f"{len(elements)} elements, 1..{ACTIONS_ELEMENTS}",
            )
            for i, el in enumerate(elements):
                total += _check_element(el, f"{where}.elements[{i}]", action_ids)
        elif kind != "divider":
            _check(kind is not None, where, "block without a type")
    _check(total <= MESSAGE_TEXT_BUDGET, "blocks", f"{total} characters of text, budget {MESSAGE_TEXT_BUDGET}")
