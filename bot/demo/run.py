"""`throughline demo`: the whole bot on the embedded sandbox, driven through its real HTTP entry point.

Starts the Zoho sandbox and a Slack stand-in on loopback ports, serves the real FastAPI + Bolt app, and sends
it correctly signed Slack requests, then prints what a user would see. No credentials, no network.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import httpx

from bot.app import create_app
from bot.config import Settings, parse_structure
from bot.demo.audit import AUDITOR, show_audit
from bot.demo.digests import show_digests
from bot.demo.feed import run_feed_demo
from bot.demo.handoff import demo_structure_toml, show_handoff
from bot.deps import build_deps
from bot.localserver import LocalServer, serving
from bot.slack_requests import command_body, signed_headers
from bot.slack_stub import SlackStub
from bot.textrender import write_message

DEMO_TZ = "Europe/Berlin"


class DemoSlackUser:
    """Sends slash commands into the app as Slack would, and collects what comes back."""

    def __init__(self, app_url: str, stub: SlackStub, stub_url: str, secret: str) -> None:
        self.app_url = app_url
        self.stub = stub
        self.stub_url = stub_url
        self.secret = secret
        self._n = 0

    async def command(self, http: httpx.AsyncClient, text: str) -> tuple[dict[str, Any], float, float | None]:
        """Returns (final message, ms to the acknowledgement, ms to the response-URL answer or None)."""
        self._n += 1
        token = f"demo-{self._n}"
        body = command_body("/account", text, response_url=f"{self.stub_url}/response/{token}")
        started = time.perf_counter()
        reply = await http.post(f"{self.app_url}/slack/events", content=body, headers=signed_headers(body, self.secret))
        ack_ms = (time.perf_counter() - started) * 1000
        reply.raise_for_status()
        ack = reply.json() if reply.content else {}
        if not _is_working(ack):
            return ack, ack_ms, None
        for _ in range(1000):
            answers = [r.args for r in self.stub.responses if r.method == token]
            if answers:
                return answers[-1], ack_ms, (time.perf_counter() - started) * 1000
            await asyncio.sleep(0.01)
        raise RuntimeError("no answer arrived through the response URL within 10 s")


def _is_working(message: dict[str, Any]) -> bool:
    return any(b.get("block_id") == "working" for b in message.get("blocks", []))


async def run_demo(*, json_out: bool, out: TextIO, accounts: int = 25) -> int:
    from bot.zoho.sandbox import Sandbox

    # Seeded for the demo's own day: from the machine's (UTC) date, between midnight in Berlin and in UTC the bot
    # saw an invoice one day further overdue than the seed meant, and its sync posted about it mid-feed.
    sandbox = Sandbox.seeded(accounts=accounts, seed=7, today=datetime.now(ZoneInfo(DEMO_TZ)).date())
    stub = SlackStub()
    secret = secrets.token_hex(16)
    webhook_secret = secrets.token_hex(16)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalServer(sandbox.asgi_app()) as zoho,
        LocalServer(stub.asgi_app()) as slack,
    ):
        settings = Settings(
            SLACK_BOT_TOKEN="xoxb-demo",
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=f"{slack.url}/api/",
            ZOHO_CLIENT_ID=sandbox.credentials.client_id,
            ZOHO_CLIENT_SECRET=sandbox.credentials.client_secret,
            ZOHO_REFRESH_TOKEN=sandbox.credentials.refresh_token,
            ZOHO_BOOKS_ORG_ID=sandbox.credentials.books_org_id,
            ZOHO_DESK_ORG_ID=sandbox.credentials.desk_org_id,
            ZOHO_ACCOUNTS_URL=zoho.url,
            ZOHO_API_URL=zoho.url,
            ZOHO_DESK_URL=zoho.url,
            THROUGHLINE_DB=str(Path(tmp) / "demo.db"),
            THROUGHLINE_CONFIG=str(Path(tmp) / "none.toml"),
            THROUGHLINE_WEBHOOK_SECRET=webhook_secret,
        )
        structure = parse_structure(demo_structure_toml(DEMO_TZ), source="demo")
        structure.approvers.audit = [AUDITOR]  # the demo's ops user may run /audit
        deps = build_deps(settings, structure)
        # The demo account as the sandbox holds it (the bot itself learns it only through the Zoho API).
        record = sandbox.state.crm["Accounts"][sandbox.state.demo_account_id]
        name, owner_email = record["Account_Name"], record["Owner"]["email"]
        # The Slack workspace knows the account owner by the same email as Zoho does.
        stub.users_by_email[owner_email.lower()] = "U0OWNER001"
        async with serving(create_app(deps)) as app_url:
            user = DemoSlackUser(app_url, stub, slack.url, secret)
            async with httpx.AsyncClient(timeout=15) as http:
                steps = [
                    (
                        name.split()[0].lower(),
                        "part of a name, lower case, not yet mirrored: CRM, Books and Desk are read concurrently",
                    ),
                    (name.upper(), "the same account again: answered from the mirror"),
                ]
                for text, what in steps:
                    calls_before = len(sandbox.calls)
                    message, ack_ms, answer_ms = await user.command(http, text)
                    calls = len(sandbox.calls) - calls_before
                    _print_step(out, text, what, message, ack_ms, answer_ms, calls, json_out)
                await show_handoff(http, app_url, sandbox, stub, slack.url, secret, webhook_secret, out, json_out)
                await show_audit(http, app_url, stub, slack.url, secret, out, json_out, lambda: len(sandbox.calls))
                await show_digests(deps, out, json_out)
                await run_feed_demo(
                    out,
                    http,
                    app_url,
                    sandbox,
                    stub,
                    structure.channels,
                    webhook_secret,
                    "D0OWNER001",
                    json_out=json_out,
                )
        await deps.aclose()
    out.write(
        "\n--- Try it yourself ---\n\n`make run` serves this same app on the sandbox with a Slack-like "
        "console at http://127.0.0.1:3000: type /account, click Create invoice, move deals in the Zoho panel.\n"
    )
    return 0


def _print_step(
    out: TextIO,
    text: str,
    what: str,
    message: dict[str, Any],
    ack_ms: float,
    answer_ms: float | None,
    calls: int,
    json_out: bool,
) -> None:
    out.write(f"\n$ /account {text}\n  ({what})\n")
    if answer_ms is None:
        out.write(f"  answered inside the acknowledgement in {ack_ms:.0f} ms, {calls} Zoho calls\n\n")
    else:
        out.write(
            f"  acknowledged in {ack_ms:.0f} ms; card through the response URL after {answer_ms:.0f} ms, "
            f"{calls} Zoho calls\n\n"
        )
    write_message(out, message, json_out=json_out)
