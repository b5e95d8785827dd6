"""Block Kit → readable terminal text, for `throughline demo` (pure).

Headers are underlined, mrkdwn loses its markers (`*bold*` → bold), links become `label (url)` (or just the
label with `show_urls=False`), mentions such as `<@U123>` stay as they are, section fields are laid out in
two columns, context lines are indented (and dimmed with `color=True`), buttons read `[ Share in channel ]`.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from itertools import zip_longest
from typing import Any, Protocol, TextIO

DIM, BOLD, RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"
WIDTH = 100
COLUMN = 48

_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")


class _HasDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _link(match: re.Match[str], show_urls: bool) -> str:
    target, label = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), "")
    if target.startswith(("@", "#", "!")):  # user, channel and special mentions stay as Slack writes them
        return match.group(0)
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if not label:
        return target
    return f"{label} ({target})" if show_urls else label


def mrkdwn_to_text(text: str, *, show_urls: bool = True, color: bool = False) -> str:
    """Slack mrkdwn → plain text."""
    out = _LINK.sub(lambda m: _link(m, show_urls), text)
    out = _BOLD.sub((lambda m: f"{BOLD}{m.group(1)}{RESET}") if color else (lambda m: m.group(1)), out)
    out = _ITALIC.sub(lambda m: m.group(1), out)
    out = _STRIKE.sub(lambda m: m.group(1), out)
    out = out.replace("```", "").replace("`", "")
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Any, show_urls: bool, color: bool) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text") or "")
    return mrkdwn_to_text(text, show_urls=show_urls, color=color) if obj.get("type") == "mrkdwn" else text


def _columns(fields: list[str]) -> list[str]:
    lines: list[str] = []
    for left, right in zip_longest(fields[0::2], fields[1::2], fillvalue=""):
        left_lines = [w for line in left.split("\n") for w in (textwrap.wrap(line, COLUMN - 2) or [""])]
        right_lines = right.split("\n") if right else []
        for a, b in zip_longest(left_lines, right_lines, fillvalue=""):
            pad = " " * max(COLUMN - len(_ANSI.sub("", a)), 1)
            lines.append(f"{a}{pad}{b}".rstrip())
    return lines


def _button(element: Mapping[str, Any]) -> str:
    label = str((element.get("text") or {}).get("text") or element.get("action_id") or "button")
    return f"[ {label} ]"


def _render_block(block: Mapping[str, Any], show_urls: bool, color: bool) -> Iterable[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text_of(block.get("text"), show_urls, color)
        yield f"{BOLD}{title}{RESET}" if color else title
        yield "=" * min(max(len(title), 3), WIDTH)
    elif kind == "section":
        if block.get("text"):
            yield from _text_of(block["text"], show_urls, color).split("\n")
        fields = [_text_of(f, show_urls, color) for f in block.get("fields") or []]
        if fields:
            yield from _columns(fields)
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping) and accessory.get("type") == "button":
            yield _button(accessory)
    elif kind == "divider":
        yield "─" * 40
    elif kind == "context":
        parts = [_text_of(e, show_urls, color) for e in block.get("elements") or [] if e.get("type") != "image"]
        line = "  " + "  ·  ".join(p for p in parts if p)
        yield f"{DIM}{line}{RESET}" if color else line
    elif kind == "actions":
        buttons = [_button(e) for e in block.get("elements") or [] if e.get("type") == "button"]
        if buttons:
            yield " ".join(buttons)
    elif kind == "image":
        yield f"[image: {block.get('alt_text') or ''}]"


def render_text(message: Mapping[str, Any] | _HasDict, *, show_urls: bool = True, color: bool = False) -> str:
    """A Slack message (a `Message` or a dict with `text` and `blocks`) as terminal text."""
    msg = message if isinstance(message, Mapping) else message.to_dict()
    blocks = msg.get("blocks") or []
    if not blocks:
        return mrkdwn_to_text(str(msg.get("text") or ""), show_urls=show_urls, color=color)
    lines: list[str] = []
    for block in blocks:
        rendered = list(_render_block(block, show_urls, color))
        if block.get("type") in ("section", "actions", "context") and lines and lines[-1] != "":
            lines.append("")
        lines.extend(rendered)
    return "\n".join(lines).rstrip()


def write_message(out: TextIO, message: Mapping[str, Any], *, json_out: bool = False, indent: str = "") -> None:
    """A message for a terminal: readable text, or with `json_out` its `text` and Block Kit `blocks` as JSON."""
    if json_out:
        out.write(json.dumps({"text": message.get("text"), "blocks": message.get("blocks")}, indent=2) + "\n")
    else:
        out.write(indent + render_text(message).replace("\n", "\n" + indent) + "\n")
