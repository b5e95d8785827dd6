"""Slack's argument checks for what the app sends (pure): the error names Slack answers with.

Block limits come from `bot.blocks.validate_message` (the project's own reading of Slack's limits); this adds
what Slack checks around it: block counts per surface, known block types, text length, view shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks import validate_message

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MAX_TEXT = 40_000  # chat.postMessage truncates past this; longer is refused as msg_too_long
VIEW_TITLE = 24
MESSAGE_BLOCK_TYPES = {
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "input",
    "file",
    "header",
    "video",
    "rich_text",
    "markdown",
}
VIEW_BLOCK_TYPES = MESSAGE_BLOCK_TYPES - {"file", "markdown"}


class SlackError(Exception):
    """An answer `{"ok": false, "error": name}`; `messages` go in `response_metadata.messages`."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _blocks_of(value: Any, pointer: str) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if not isinstance(value, list) or not all(isinstance(b, Mapping) for b in value):
        raise SlackError("invalid_blocks_format", f"[ERROR] must be an array of block objects [json-pointer:{pointer}]")
    return [dict(b) for b in value]


def _check_blocks(blocks: list[dict[str, Any]], pointer: str, limit: int, kinds: set[str]) -> None:
    if len(blocks) > limit:
        raise SlackError("invalid_blocks", f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    for n, block in enumerate(blocks):
        if block.get("type") not in kinds:
            raise SlackError(
                "invalid_blocks", f"[ERROR] unsupported type: {block.get('type')!r} [json-pointer:{pointer}/{n}/type]"
            )
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        bid = block.get("block_id")
        if isinstance(bid, str) and bid in seen:
            raise SlackError("invalid_blocks", f"[ERROR] duplicate block_id {bid!r} [json-pointer:{pointer}/{n}]")
        if isinstance(bid, str):
            seen.add(bid)
    # validate_message checks at most 50 blocks at a time; a view's 100 go in two halves
    for start in range(0, len(blocks), MESSAGE_BLOCKS):
        try:
            validate_message({"text": "fallback", "blocks": blocks[start : start + MESSAGE_BLOCKS]})
        except ValueError as exc:
            name = "msg_blocks_too_long" if "budget" in str(exc) else "invalid_blocks"
            raise SlackError(name, f"[ERROR] {exc} [json-pointer:{pointer}]") from exc


def check_message(args: Mapping[str, Any], *, require_content: bool = True) -> list[dict[str, Any]]:
    """The checks chat.postMessage / postEphemeral / update make; answers the blocks."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        raise SlackError("invalid_arguments", "[ERROR] text must be a string [json-pointer:/text]")
    blocks = _blocks_of(args.get("blocks"), "/blocks")
    attachments = args.get("attachments")
    if require_content and not (text or blocks or attachments):
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    _check_blocks(blocks, "/blocks", MESSAGE_BLOCKS, MESSAGE_BLOCK_TYPES)
    return blocks


def check_view(view: Any, *, kind: str | None = None) -> dict[str, Any]:
    """views.open / update / push / publish: a view object Slack accepts."""
    if not isinstance(view, Mapping):
        raise SlackError("invalid_arguments", "[ERROR] view must be an object [json-pointer:/view]")
    view_type = view.get("type")
    if view_type not in ("modal", "home") or (kind and view_type != kind):
        raise SlackError(
            "invalid_arguments", f"[ERROR] view type must be {kind or 'modal or home'} [json-pointer:/view/type]"
        )
    if view_type == "modal":
        for key, required in (("title", True), ("submit", False), ("close", False)):
            value = view.get(key)
            if value is None and not required:
                continue
            if not (
                isinstance(value, Mapping)
                and value.get("type") == "plain_text"
                and isinstance(value.get("text"), str)
                and 0 < len(value["text"]) <= VIEW_TITLE
            ):
                raise SlackError(
                    "invalid_arguments",
                    f"[ERROR] must be plain_text of 1..{VIEW_TITLE} characters [json-pointer:/view/{key}]",
                )
    blocks = _blocks_of(view.get("blocks"), "/view/blocks")
    _check_blocks(blocks, "/view/blocks", VIEW_BLOCKS, VIEW_BLOCK_TYPES)
    has_input = False
    for n, block in enumerate(blocks):
        if block.get("type") == "input":
            has_input = True
            label = block.get("label")
            if not (isinstance(label, Mapping) and label.get("text")) or not isinstance(block.get("element"), Mapping):
                raise SlackError(
                    "invalid_arguments",
                    f"[ERROR] an input needs a label and an element [json-pointer:/view/blocks/{n}]",
                )
    if view_type == "modal" and has_input and view.get("submit") is None:
        raise SlackError("invalid_arguments", "[ERROR] a modal with inputs needs submit [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata") or "")) > 3000:
        raise SlackError(
            "invalid_arguments", "[ERROR] private_metadata over 3000 characters [json-pointer:/view/private_metadata]"
        )
    return dict(view)


def check_unfurls(unfurls: Any) -> dict[str, Any]:
    if unfurls is None or unfurls == "":
        raise SlackError("missing_unfurls")
    if not isinstance(unfurls, Mapping) or not unfurls:
        raise SlackError("invalid_unfurls_format")
    for url, unfurl in unfurls.items():
        if not isinstance(unfurl, Mapping):
            raise SlackError("invalid_unfurls_format", f"[ERROR] unfurl for {url} must be an object")
        _check_blocks(
            _blocks_of(unfurl.get("blocks"), f"/unfurls/{url}/blocks"),
            f"/unfurls/{url}/blocks",
            MESSAGE_BLOCKS,
            MESSAGE_BLOCK_TYPES,
        )
    return dict(unfurls)


def require(args: Mapping[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value is None or str(value).strip() == "":
        raise SlackError(error, f"[ERROR] missing required field: {name}")
    return str(value)
