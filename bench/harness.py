"""Shared set-up for benchmarks: a sandbox on a loopback port, the Slack stand-in, and the real app."""

from __future__ import annotations

import asyncio
import gc
import secrets
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.app import create_app
from bot.config import OperatingStructure, Settings
from bot.deps import Deps, build_deps
from bot.localserver import LocalServer
from bot.slack_requests import command_body, signed_headers
from bot.slack_stub import SlackStub
from bot.zoho.sandbox import Sandbox
from bot.zoho.transport import ZohoLimits

# The sandbox is ours: lift the Books per-minute limiter so a 10,000-account sync is not throttled to Zoho's pace.
BENCH_LIMITS = ZohoLimits(books_rate=1_000_000, books_period=1.0)


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Env:
    sandbox: Sandbox
    zoho_url: str
    stub: SlackStub
    slack_url: str
    secret: str


@asynccontextmanager
async def environment(sandbox: Sandbox) -> AsyncIterator[Env]:
    # The sandbox's seeded records stand in for Zoho, which a real `serve` never holds in its heap: keep the cyclic
    # collector from rescanning them, so the figures are the app's and not the benchmark's (the app leaves GC alone).
    gc.freeze()
    stub = SlackStub()
    for record in sandbox.state.crm["Accounts"].values():
        email = (record.get("Owner") or {}).get("email")
        if email:
            stub.users_by_email[email.lower()] = "U" + str(abs(hash(email)) % 10**9).zfill(9)
    with LocalServer(sandbox.asgi_app()) as zoho, LocalServer(stub.asgi_app()) as slack:
        yield Env(sandbox, zoho.url, stub, slack.url, secrets.token_hex(16))


WEBHOOK_SECRET = "bench-webhook-secret"


def make_deps(
    env: Env, db: Path, clock: Clock, structure: OperatingStructure | None = None, *, database_url: str = ""
) -> Deps:
    creds = env.sandbox.credentials
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=env.secret,
        SLACK_API_URL=f"{env.slack_url}/api/",
        ZOHO_CLIENT_ID=creds.client_id,
        ZOHO_CLIENT_SECRET=creds.client_secret,
        ZOHO_REFRESH_TOKEN=creds.refresh_token,
        ZOHO_BOOKS_ORG_ID=creds.books_org_id,
        ZOHO_DESK_ORG_ID=creds.desk_org_id,
        ZOHO_ACCOUNTS_URL=env.zoho_url,
        ZOHO_API_URL=env.zoho_url,
        ZOHO_DESK_URL=env.zoho_url,
        THROUGHLINE_DB=str(db),
        THROUGHLINE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        THROUGHLINE_DATABASE_URL=database_url,
    )
    return build_deps(
        settings,
        structure or OperatingStructure(timezone="Europe/Berlin"),
        clock=clock,
        limits=BENCH_LIMITS,
        http=httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)),
    )


class SlackCaller:
    """Signed slash commands into the app in-process (ASGI), so the time measured is the server's own."""

    def __init__(self, deps: Deps, env: Env) -> None:
        self.app = create_app(deps)
        self.env = env
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench")
        self._n = 0
        self._prefix = secrets.token_hex(4)

    async def command(
        self, text: str, *, name: str = "/account", poll: float = 0.002
    ) -> tuple[dict[str, Any], float, float | None]:
        """(final message, ms to the acknowledgement, ms until the response-URL answer or None). A "working"
        acknowledgement is followed by looking for the answer every `poll` seconds."""
        self._n += 1
        token = f"{self._prefix}-{self._n}"
        body = command_body(name, text, response_url=f"{self.env.slack_url}/response/{token}")
        started = time.perf_counter()
        reply = await self.http.post("/slack/events", content=body, headers=signed_headers(body, self.env.secret))
        ack_ms = (time.perf_counter() - started) * 1000
        message = reply.json()
        if not any(b.get("block_id") == "working" for b in message.get("blocks", [])):
            return message, ack_ms, None
        while True:
            got = [r.args for r in self.env.stub.responses if r.method == token]
            if got:
                return got[-1], ack_ms, (time.perf_counter() - started) * 1000
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"no answer for {name} {text!r}")
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        await self.http.aclose()


def percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def summary(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   (n={len(values)})"
