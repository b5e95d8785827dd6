"""The demo's last step: `/audit` over the sandbox's seeded drift, one kind's details, and a suggested link applied.

Everything goes through the real app as signed Slack requests; answers arrive at the Slack stand-in's response URLs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

from bot.slack_requests import block_action_body, command_body, signed_headers
from bot.slack_stub import SlackStub
from bot.textrender import render_text, write_message

AUDITOR = "U0OPSAUDIT"  # the demo's ops user, in [approvers] audit


class _Slack:
    def __init__(self, http: httpx.AsyncClient, app_url: str, stub: SlackStub, stub_url: str, secret: str) -> None:
        self.http, self.app_url, self.stub, self.stub_url, self.secret = http, app_url, stub, stub_url, secret
        self._n = 0

    def _url(self) -> tuple[str, str]:
        self._n += 1
        token = f"audit-{self._n}"
        return token, f"{self.stub_url}/response/{token}"

    async def _send(self, body: str) -> None:
        reply = await self.http.post(
            f"{self.app_url}/slack/events", content=body, headers=signed_headers(body, self.secret)
        )
        reply.raise_for_status()

    async def _answer(self, token: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answers = [r.args for r in self.stub.responses if r.method == token]
            if answers:
                return answers[-1]
            await asyncio.sleep(0.01)
        raise RuntimeError("no answer arrived through the response URL within 30 s")

    async def command(self, text: str) -> dict[str, Any]:
        token, url = self._url()
        await self._send(command_body("/audit", text, response_url=url, user_id=AUDITOR))
        return await self._answer(token)

    async def click(self, action_id: str, value: str) -> dict[str, Any]:
        token, url = self._url()
        await self._send(block_action_body(action_id, value, response_url=url, user_id=AUDITOR))
        return await self._answer(token)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        if isinstance(block.get("accessory"), dict):
            found.append(block["accessory"])
        found.extend(e for e in block.get("elements") or [] if e.get("type") == "button")
    return found


async def show_audit(
    http: httpx.AsyncClient,
    app_url: str,
    stub: SlackStub,
    stub_url: str,
    signing_secret: str,
    out: TextIO,
    json_out: bool,
    zoho_calls: Callable[[], int] = lambda: 0,
) -> None:
    slack = _Slack(http, app_url, stub, stub_url, signing_secret)
    out.write("\n--- Drift audit ---\n\n$ /audit\n  (an ops user in [approvers] audit)\n")
    before = zoho_calls()
    summary = await slack.command("")
    out.write(
        f"  {zoho_calls() - before} Zoho calls: a sync of the mirror (incremental once it has run), then "
        "product lines of won deals not invoiced yet; the rest is read from the mirror\n\n"
    )
    write_message(out, summary, json_out=json_out)
    show = next((b for b in _buttons(summary) if b["action_id"] == "audit_details_books_not_linked"), None)
    if show is None:
        return
    out.write("\n[ Show ] on “Books customers not linked to CRM”:\n\n")
    details = await slack.click(show["action_id"], show["value"])
    write_message(out, details, json_out=json_out)
    link = next((b for b in _buttons(details) if b["action_id"].startswith("audit_apply_")), None)
    if link is None:
        return
    out.write("\n[ Link ] → Slack asks to confirm → confirmed; the server re-checks it with Zoho, then links:\n\n")
    applied = await slack.click(link["action_id"], link["value"])
    notice = next((b["text"]["text"] for b in applied.get("blocks") or [] if b.get("type") == "section"), "")
    out.write(render_text({"text": notice, "blocks": []}) + "\n")
